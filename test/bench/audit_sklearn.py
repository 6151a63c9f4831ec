#!/usr/bin/python3
"""The audit benchmark's data and scikit-learn side (test/bench/audit.sh).

  prepare NAME SRC N OUT DRAWS
                             read a data set (digits, vehicle: dense; fortunes:
                             text), keep its first N rows, flip 5% of the
                             labels at random (seed 11) to another class, and
                             write OUT as CSV: id, features ({...} array or
                             text), label (flipped), truth.  Prints K (the
                             flipped rows) and scikit-learn's precision: the
                             share of flipped rows among the K rows of lowest
                             out-of-fold self-confidence of LogisticRegression
                             (max_iter 1000; dense features standardized, text
                             as tf-idf) with 5-fold cross_val_predict, for the
                             folds of StratifiedKFold's seed 0, then the median
                             and the range over seeds 0 to DRAWS - 1 (the folds alone
                             move it by several points).
"""
import csv
import random
import sys

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def read(name, src, n):
    with open(src, newline='') as f:
        rows = list(csv.reader(f))
    head, rows = rows[0], rows[1:]
    if name == 'fortunes':
        return [r[2] for r in rows[:n]], [r[1] for r in rows[:n]]
    rows = rows[:n]
    return [[float(v) for v in r[:-1]] for r in rows], [r[-1] for r in rows]


def main():
    _, _, name, src, n, out, draws = sys.argv
    x, truth = read(name, src, int(n))
    rng = random.Random(11)
    classes = sorted(set(truth))
    flip = set(rng.sample(range(len(truth)), round(0.05 * len(truth))))
    label = [rng.choice([c for c in classes if c != t]) if i in flip else t
             for i, t in enumerate(truth)]
    with open(out, 'w', newline='') as f:
        w = csv.writer(f)
        for i in range(len(truth)):
            feat = x[i] if name == 'fortunes' else '{' + ','.join(repr(v) for v in x[i]) + '}'
            w.writerow([i + 1, feat, label[i], truth[i]])
    if name == 'fortunes':
        clf = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
        data = x
    else:
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        data = np.array(x)
    y = np.array(label)
    order = sorted(set(label))
    k = len(flip)
    precision = []
    for seed in range(int(draws)):
        proba = cross_val_predict(clf, data, y,
                                  cv=StratifiedKFold(5, shuffle=True, random_state=seed),
                                  method='predict_proba')
        self_conf = proba[np.arange(len(y)), [order.index(v) for v in label]]
        lowest = np.argsort(self_conf, kind='stable')[:k]
        precision.append(sum(1 for i in lowest if i in flip) / k)
    print(k, '%.3f' % precision[0], '%.3f' % float(np.median(precision)),
          '%.3f-%.3f' % (min(precision), max(precision)))


if __name__ == '__main__':
    main()
