#!/usr/bin/env python3
"""test/bench/calibration.py: the data sets of test/bench/calibration.sh and
scikit-learn's side of it.

  calibration.py rows NAME
      The rows of data set NAME as CSV for COPY: id, features (a float8[]
      literal), truth, label (the truth on the labeled rows, empty on the
      held-out ones).
  calibration.py evaluate NAME C HITL_CSV
      Fit make_pipeline(StandardScaler(), LogisticRegression(C)) on the
      labeled rows of NAME (uncalibrated), and print one line of JSON: the
      held-out rows, and the ECE (15 equal-width bins of the confidence, the
      largest probability) of scikit-learn's and of hitl's confidences
      (HITL_CSV: id, prediction, confidence as hitl.score wrote them).

Data sets (the labeled rows are the same for both sides):
  digits   test/data/digits.csv, 1797 rows, 10 classes; row % 10 == 0 labeled
  vehicle  test/data/vehicle.csv, 846 rows, 4 classes; row % 4 == 0 labeled
  two      the digits 3 and 8 only, 357 rows, 2 classes; row % 5 == 0 labeled
"""
import csv
import json
import os
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
BINS = 15


def load(name):
    """(ids, X, y as strings, labeled mask) of data set name"""
    if name in ("digits", "two"):
        path, label, every = os.path.join(DATA, "digits.csv"), "digit", 10
    elif name == "vehicle":
        path, label, every = os.path.join(DATA, "vehicle.csv"), "Class", 4
    else:
        sys.exit("unknown data set " + name)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if name == "two":
        rows = [r for r in rows if r[label] in ("3", "8")]
        every = 5
    feats = [k for k in rows[0].keys() if k != label]
    X = np.array([[float(r[k]) for k in feats] for r in rows])
    y = np.array([r[label] for r in rows])
    ids = np.arange(1, len(rows) + 1)
    labeled = (ids - 1) % every == 0
    return ids, X, y, labeled


def ece(conf, right):
    """expected calibration error, 15 equal-width bins, the last closed"""
    b = np.minimum((conf * BINS).astype(int), BINS - 1)
    total = 0.0
    for j in range(BINS):
        m = b == j
        if m.any():
            total += m.sum() / len(conf) * abs(right[m].mean() - conf[m].mean())
    return total


def rows(name):
    ids, X, y, labeled = load(name)
    w = csv.writer(sys.stdout)
    for i in range(len(ids)):
        w.writerow([ids[i], "{" + ",".join(repr(v) for v in X[i]) + "}", y[i],
                    y[i] if labeled[i] else ""])


def evaluate(name, C, hitl_csv):
    ids, X, y, labeled = load(name)
    held = ~labeled
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=10000))
    model.fit(X[labeled], y[labeled])
    proba = model.predict_proba(X[held])
    pred = model.classes_[proba.argmax(axis=1)]
    sk = ece(proba.max(axis=1), (pred == y[held]).astype(float))
    truth = dict(zip(ids.tolist(), y.tolist()))
    hconf, hright = [], []
    with open(hitl_csv, newline="") as f:
        for r in csv.reader(f):
            i = int(r[0])
            hconf.append(float(r[2]))
            hright.append(1.0 if r[1] == truth[i] else 0.0)
    h = ece(np.array(hconf), np.array(hright))
    print(json.dumps({"name": name, "classes": len(set(y)), "labeled": int(labeled.sum()),
                      "held_out": int(held.sum()), "hitl_rows": len(hconf),
                      "sklearn_ece": sk, "hitl_ece": h,
                      "sklearn_accuracy": float((pred == y[held]).mean()),
                      "hitl_accuracy": float(np.mean(hright))}))


if __name__ == "__main__":
    if sys.argv[1] == "rows":
        rows(sys.argv[2])
    elif sys.argv[1] == "evaluate":
        evaluate(sys.argv[2], float(sys.argv[3]), sys.argv[4])
    else:
        sys.exit(__doc__)
