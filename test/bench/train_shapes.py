#!/usr/bin/python3
"""
train_shapes.py: the scikit-learn side of test/bench/train_shapes.sh.

    train_shapes.py DATA.csv PROBA.csv HITL.txt C REPS FIT.txt

DATA.csv is helper.py synthetic's output (id, features, truth, is_test);
PROBA.csv hitl.predict_proba of the test rows (id, json); HITL.txt one line
per cold hitl.train: "train_ms wall_ms iterations solver"; FIT.txt
fit_only's line: "fit_ms iterations solver".  Fits
StandardScaler + LogisticRegression(C, lbfgs, max_iter=10000) on the
training rows REPS times, and prints one line: classes, features, training
rows, hitl's solver, iterations and median train_ms, the fit alone,
scikit-learn's median fit ms and iterations, the ratios, and both test
accuracies and log-losses, then "met" or "NOT-MET" for the time target
(ratio <= 0.5), the same for the fit alone, and the quality target
(accuracy within 0.5 points, log-loss within 1%).
"""

import csv
import json
import statistics
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from helper import read_dataset  # noqa: E402


def main():
    data, proba_path, hitl_path, c, reps, fit_path = sys.argv[1:7]
    c, reps = float(c), int(reps)
    ids, x, y, test = read_dataset(data)
    xtr, ytr, xte, yte = x[~test], y[~test], x[test], y[test]
    classes = np.unique(ytr)

    by_id = {}
    with open(proba_path, newline="") as f:
        for row in csv.reader(f):
            by_id[int(row[0])] = json.loads(row[1])
    hp = np.array([[by_id[i][str(k)] for k in classes] for i in ids[test]])
    h_acc = accuracy_score(yte, classes[hp.argmax(axis=1)])
    h_ll = log_loss(yte, hp, labels=classes)
    runs = [line.split() for line in open(hitl_path) if line.strip()]
    h_ms = statistics.median(float(r[0]) for r in runs)
    fit_ms = float(open(fit_path).read().split()[0])

    times = []
    for _ in range(reps):
        model = make_pipeline(StandardScaler(),
                              LogisticRegression(C=c, solver="lbfgs", max_iter=10000))
        t0 = time.perf_counter()
        model.fit(xtr, ytr)
        times.append((time.perf_counter() - t0) * 1000.0)
    s_ms = statistics.median(times)
    p = model.predict_proba(xte)
    s_acc = accuracy_score(yte, model.predict(xte))
    s_ll = log_loss(yte, p, labels=model[-1].classes_)
    ratio = h_ms / s_ms
    fit_ratio = fit_ms / s_ms
    quality = abs(h_acc - s_acc) * 100 <= 0.5 and abs(h_ll / s_ll - 1) <= 0.01
    print("%3d %4d %6d %-7s %5s %9.1f %9.1f %9.1f %5d %6.2f %6.2f %7.4f %7.4f %8.5f %8.5f %-7s %-7s %s" % (
        len(classes), x.shape[1], len(ytr), runs[-1][3], runs[-1][2], h_ms, fit_ms, s_ms,
        int(np.max(model[-1].n_iter_)), ratio, fit_ratio, h_acc, s_acc, h_ll, s_ll,
        "met" if ratio <= 0.5 else "NOT-MET", "met" if fit_ratio <= 0.5 else "NOT-MET",
        "met" if quality else "NOT-MET"))


if __name__ == "__main__":
    main()
