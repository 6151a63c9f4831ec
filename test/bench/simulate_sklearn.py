#!/usr/bin/python3
"""The simulation benchmark's data and scikit-learn side (test/bench/simulate.sh).

  digits SRC OUT             write digits.csv (64 pixel columns, digit) as CSV
                             rows: id, {features}, label
  synth N OUT                N rows of make_classification (20 features, 10
                             informative, 4 classes, seed 0), same CSV shape
  compare DIR STRATEGIES INITIAL BATCH BUDGET C TOL MAX_ITER
                             replay the campaign of hitl.simulate with
                             scikit-learn on the splits hitl exported
                             (DIR/split_R.csv: row, part, label, {features},
                             one file per repeat R from 1) and compare with
                             hitl's curves (DIR/curves.csv: strategy, repeat,
                             round, labels, accuracy).  Each round, as in
                             hitl: StandardScaler fitted on the labeled rows,
                             LogisticRegression(C, tol, lbfgs, max_iter) from
                             zero, held-out accuracy, macro F1, log-loss and
                             ECE, then the strategy's batch from the pool in
                             hitl's order (margin: the smallest p1 - p2 first,
                             ties to the earlier row; random: numpy's
                             default_rng(1000 * repeat + 1)).  Prints per
                             strategy: repeats, hitl's mean AULC, scikit-
                             learn's, their difference, the largest
                             difference of one repeat, the largest difference
                             of the seed round's accuracy (the same rows on
                             both sides: the fits agree), and the seconds of
                             the scikit-learn loop.
"""
import csv
import os
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.preprocessing import StandardScaler

from calibration import ece  # the same 15-bin ECE as hitl's (calibrate.c)


def write_rows(out, X, y):
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        for i, (x, label) in enumerate(zip(X, y)):
            w.writerow([i + 1, "{" + ",".join(repr(float(v)) for v in x) + "}", label])


def digits(src, out):
    X, y = [], []
    with open(src) as f:
        r = csv.reader(f)
        next(r)
        for row in r:
            X.append([float(v) for v in row[:-1]])
            y.append(row[-1])
    write_rows(out, X, y)


def synth(n, out):
    X, y = make_classification(n_samples=n, n_features=20, n_informative=10, n_redundant=4,
                               n_classes=4, n_clusters_per_class=2, class_sep=1.0,
                               flip_y=0.02, random_state=0)
    write_rows(out, X, ["c%d" % v for v in y])


def read_split(path):
    parts, labels, X = [], [], []
    with open(path) as f:
        for row in csv.reader(f):
            parts.append(row[1])
            labels.append(row[2])
            X.append([float(v) if v != "NULL" else np.nan for v in row[3].strip("{}").split(",")])
    return np.array(parts), np.array(labels), np.array(X)


def aulc(labels, acc):
    labels = np.asarray(labels, dtype=float)
    acc = np.asarray(acc)
    return np.sum(np.diff(labels) * (acc[1:] + acc[:-1]) / 2) / (labels[-1] - labels[0])


def pick(strategy, proba, m, rng):
    if strategy == "random":
        return rng.choice(len(proba), size=m, replace=False)
    p = np.sort(proba, axis=1)
    if strategy == "margin":
        score = 1 - (p[:, -1] - p[:, -2])
    elif strategy == "least_confidence":
        score = 1 - p[:, -1]
    else:
        q = np.clip(proba, 1e-300, 1)
        score = -(proba * np.log(q)).sum(axis=1) / np.log(proba.shape[1])
    return np.argsort(-score, kind="stable")[:m]


def curve(strategy, repeat, parts, y, X, k, initial, batch, budget, C, tol, max_iter):
    test = np.where(parts == "test")[0]
    lab = list(np.where(parts == "seed")[0])
    avail = list(np.where(parts == "pool")[0])
    rng = np.random.default_rng(1000 * repeat + 1)
    labels, accs = [], []
    while True:
        sc = StandardScaler().fit(X[lab])
        model = LogisticRegression(C=C, tol=tol, max_iter=max_iter)
        model.fit(sc.transform(X[lab]), y[lab])
        proba = model.predict_proba(sc.transform(X[test]))
        yt = y[test]
        acc = accuracy_score(yt, proba.argmax(axis=1))
        f1_score(yt, proba.argmax(axis=1), average="macro")
        log_loss(yt, proba, labels=list(range(k)))
        ece(proba.max(axis=1), proba.argmax(axis=1) == yt)
        labels.append(len(lab))
        accs.append(acc)
        if len(lab) >= budget or not avail:
            break
        pp = model.predict_proba(sc.transform(X[avail]))
        picked = [int(i) for i in pick(strategy, pp, min(batch, budget - len(lab)), rng)]
        chosen = set(picked)
        lab += [avail[i] for i in picked]
        avail = [a for i, a in enumerate(avail) if i not in chosen]
    return labels, accs, accs[0]


def compare(d, strategies, initial, batch, budget, C, tol, max_iter):
    warnings.simplefilter("ignore", ConvergenceWarning)
    hitl = {}
    with open(os.path.join(d, "curves.csv")) as f:
        for s, r, rnd, labels, acc in csv.reader(f):
            hitl.setdefault((s, int(r)), []).append((int(rnd), int(labels), float(acc)))
    repeats = sorted({r for (_, r) in hitl})
    splits = {r: read_split(os.path.join(d, "split_%d.csv" % r)) for r in repeats}
    for s in strategies.split(","):
        t0 = time.perf_counter()
        ours, theirs, first = [], [], []
        for r in repeats:
            parts, labels, X = splits[r]
            classes = sorted(set(labels), key=lambda v: v.encode())
            y = np.array([classes.index(v) for v in labels])
            lab, acc, acc0 = curve(s, r, parts, y, X, len(classes), initial, batch, budget, C, tol,
                                   max_iter)
            theirs.append(aulc(lab, acc))
            pts = sorted(hitl[(s, r)])
            ours.append(aulc([p[1] for p in pts], [p[2] for p in pts]))
            first.append(abs(pts[0][2] - acc0))
        secs = time.perf_counter() - t0
        ours, theirs = np.array(ours), np.array(theirs)
        print("%s %d %.4f %.4f %.4f %.4f %.4f %.2f" % (s, len(repeats), ours.mean(), theirs.mean(),
                                                    ours.mean() - theirs.mean(),
                                                    np.abs(ours - theirs).max(), max(first), secs))


def main():
    cmd = sys.argv[1]
    if cmd == "digits":
        digits(sys.argv[2], sys.argv[3])
    elif cmd == "synth":
        synth(int(sys.argv[2]), sys.argv[3])
    elif cmd == "compare":
        compare(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]),
                float(sys.argv[7]), float(sys.argv[8]), int(sys.argv[9]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
