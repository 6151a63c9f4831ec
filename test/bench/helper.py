#!/usr/bin/python3
"""Number crunching for hitl's benchmarks (test/bench/*.sh).

Run with the system interpreter, /usr/bin/python3, which has scikit-learn
(Debian's python3-sklearn).  Subcommands:

  digits SRC                 digits.csv -> stdout as id,f0..f63,truth,is_test
                             (is_test: row number % 4 == 0, 0-based)
  synthetic N D K SEED       deterministic Gaussian classes -> stdout, same
                             layout (is_test: id % 5 == 0, i.e. 20%)
  evaluate ...               scikit-learn reference fits, timed, and the
                             comparison table with hitl's figures
  median X...                median of numbers
  latency FILE...            p50/p95/mean/stddev (ms) of pgbench --log files
  latency-summary FILE       latency.sh's runs (total to_train train score
                             rows per line) -> p50 p95 max of total, medians
                             of the others
  plan-check REL FILE        EXPLAIN (FORMAT JSON) must not Seq Scan REL nor
                             Sort anything fed by REL; exit 1 otherwise
"""
import csv
import json
import math
import os
import statistics
import sys
import time


def fmt(x, spec):
    return "n/a" if x is None else format(x, spec)


# ---------------------------------------------------------------------------
# datasets


def cmd_digits(args):
    src = args[0]
    out = csv.writer(sys.stdout, lineterminator="\n")
    with open(src, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        nfeat = len(header) - 1
        out.writerow(["id"] + ["f%d" % j for j in range(nfeat)] + ["truth", "is_test"])
        for rownum, row in enumerate(reader):
            out.writerow([rownum] + row[:nfeat] + [row[nfeat], "t" if rownum % 4 == 0 else "f"])


def cmd_synthetic(args):
    import numpy as np

    n, d, k, seed = (int(a) for a in args)
    rng = np.random.default_rng(seed)
    # class centroids close enough that the classes overlap (accuracy well
    # below 100%, so that log-loss means something), then per-feature scales
    # and offsets spanning three orders of magnitude, so that standardization
    # matters
    centroids = rng.normal(0.0, 0.28, size=(k, d))
    y = rng.integers(0, k, size=n)
    x = centroids[y] + rng.normal(0.0, 1.0, size=(n, d))
    scales = 10.0 ** rng.uniform(-1.0, 2.0, size=d)
    offsets = rng.normal(0.0, 10.0, size=d)
    x = x * scales + offsets
    w = sys.stdout.write
    w(",".join(["id"] + ["f%d" % j for j in range(d)] + ["truth", "is_test"]) + "\n")
    for i in range(n):
        w("%d,%s,%d,%s\n" % (i, ",".join("%.9g" % v for v in x[i]), y[i],
                             "t" if i % 5 == 0 else "f"))


def read_dataset(path):
    import numpy as np

    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    nfeat = len(header) - 3
    ids = np.array([int(r[0]) for r in rows])
    x = np.array([[float(v) for v in r[1:1 + nfeat]] for r in rows])
    y = np.array([int(r[1 + nfeat]) for r in rows])
    test = np.array([r[2 + nfeat] == "t" for r in rows])
    return ids, x, y, test


# ---------------------------------------------------------------------------
# scikit-learn reference and comparison


def sk_fit(solver, x, y, c, reps):
    """Fit StandardScaler + LogisticRegression reps times; median time."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    times = []
    model = None
    for _ in range(reps):
        model = make_pipeline(StandardScaler(),
                              LogisticRegression(C=c, solver=solver, max_iter=10000))
        t0 = time.perf_counter()
        model.fit(x, y)
        times.append((time.perf_counter() - t0) * 1000.0)
    return model, times


def sk_objective(model, x, y, c):
    """0.5 ||W||^2 + C * sum of log-losses, on the standardized rows."""
    from sklearn.metrics import log_loss

    lr = model[-1]
    p = model.predict_proba(x)
    return float(0.5 * (lr.coef_ ** 2).sum() + c * log_loss(y, p, labels=lr.classes_, normalize=False))


def cmd_evaluate(args):
    """evaluate NAME DATA.csv PROBA.csv RUNS.tsv VERSION.json C REPS RESULT.json"""
    import numpy as np
    from sklearn.metrics import accuracy_score, log_loss

    name, data, proba_path, runs_path, version_path, c, reps, result_path = args
    c = float(c)
    reps = int(reps)
    ids, x, y, test = read_dataset(data)
    xtr, ytr = x[~test], y[~test]
    xte, yte = x[test], y[test]
    classes = np.unique(ytr)

    # hitl: probabilities of the test rows from hitl.predict_proba
    by_id = {}
    with open(proba_path, newline="") as f:
        for row in csv.reader(f):
            by_id[int(row[0])] = json.loads(row[1])
    hp = np.array([[by_id[i][str(k)] for k in classes] for i in ids[test]])
    h_acc = float(accuracy_score(yte, classes[hp.argmax(axis=1)]))
    h_ll = float(log_loss(yte, hp, labels=classes))

    # hitl: timings of the cold-start runs, and the warm-start retrain
    cold, warm = [], []
    with open(runs_path) as f:
        for line in f:
            kind, train_ms, wall_ms, iters = line.split()
            (cold if kind == "cold" else warm).append((float(train_ms), float(wall_ms), int(iters)))
    with open(version_path) as f:
        hv = json.load(f)
    h_train = statistics.median(r[0] for r in cold)
    h_wall = statistics.median(r[1] for r in cold)

    res = {"dataset": name, "n_train": int(len(ytr)), "n_test": int(len(yte)),
           "n_features": int(x.shape[1]), "n_classes": int(len(classes)), "C": c,
           "hitl": {"train_ms_median": h_train, "wall_ms_median": h_wall,
                    "train_ms_runs": [r[0] for r in cold], "wall_ms_runs": [r[1] for r in cold],
                    "iterations": cold[-1][2], "objective": hv.get("objective"),
                    "warm_train_ms": warm[-1][0] if warm else None,
                    "warm_wall_ms": warm[-1][1] if warm else None,
                    "warm_iterations": warm[-1][2] if warm else None,
                    "test_accuracy": h_acc, "test_log_loss": h_ll}}
    for solver in ("lbfgs", "newton-cg"):
        model, times = sk_fit(solver, xtr, ytr, c, reps)
        p = model.predict_proba(xte)
        res[solver] = {"fit_ms_median": statistics.median(times), "fit_ms_runs": times,
                       "iterations": int(np.max(model[-1].n_iter_)),
                       "objective": sk_objective(model, xtr, ytr, c),
                       "test_accuracy": float(accuracy_score(yte, model.predict(xte))),
                       "test_log_loss": float(log_loss(yte, p, labels=model[-1].classes_))}
    for solver in ("lbfgs", "newton-cg"):
        s = res[solver]
        s["ratio_train_ms"] = h_train / s["fit_ms_median"]
        s["ratio_wall_ms"] = h_wall / s["fit_ms_median"]
        s["delta_accuracy_pp"] = 100.0 * (h_acc - s["test_accuracy"])
        s["log_loss_rel_diff_pct"] = 100.0 * (h_ll - s["test_log_loss"]) / s["test_log_loss"]
        s["objective_rel_diff_pct"] = (None if hv.get("objective") is None else
                                       100.0 * (hv["objective"] - s["objective"]) / s["objective"])
        s["target_met"] = bool(abs(s["delta_accuracy_pp"]) <= 0.5 and abs(s["log_loss_rel_diff_pct"]) <= 1.0)

    h, lb, nc = res["hitl"], res["lbfgs"], res["newton-cg"]
    print("== train: %s: %d train rows, %d test rows, %d features, %d classes, C = %g ==" % (
        name, res["n_train"], res["n_test"], res["n_features"], res["n_classes"], c))
    print("%-34s %14s %14s %14s" % ("", "hitl", "sklearn lbfgs", "sklearn newton-cg"))
    print("%-34s %14.1f %14.1f %14.1f" % ("fit time, median ms (train_ms)", h_train,
                                         lb["fit_ms_median"], nc["fit_ms_median"]))
    print("%-34s %14.1f %14s %14s" % ("  psql wall time of hitl.train, ms", h_wall, "", ""))
    print("%-34s %14d %14d %14d" % ("iterations", h["iterations"], lb["iterations"], nc["iterations"]))
    print("%-34s %14s %14.6g %14.6g" % ("objective 0.5|W|^2 + C*sum(loss)",
                                        fmt(h["objective"], ".6g"), lb["objective"], nc["objective"]))
    print("%-34s %14.4f %14.4f %14.4f" % ("test accuracy", h_acc, lb["test_accuracy"], nc["test_accuracy"]))
    print("%-34s %14.5f %14.5f %14.5f" % ("test log-loss", h_ll, lb["test_log_loss"], nc["test_log_loss"]))
    print("ratios (hitl vs sklearn, same run):%14s %14s %14s" % ("", "vs lbfgs", "vs newton-cg"))
    print("%-34s %14s %14.2f %14.2f" % ("  time: train_ms / fit", "", lb["ratio_train_ms"], nc["ratio_train_ms"]))
    print("%-34s %14s %14.2f %14.2f" % ("  time: psql wall / fit", "", lb["ratio_wall_ms"], nc["ratio_wall_ms"]))
    print("%-34s %14s %+14.3f %+14.3f" % ("  accuracy difference, pp", "", lb["delta_accuracy_pp"], nc["delta_accuracy_pp"]))
    print("%-34s %14s %+14.3f %+14.3f" % ("  log-loss relative difference, %", "", lb["log_loss_rel_diff_pct"], nc["log_loss_rel_diff_pct"]))
    print("%-34s %14s %14s %14s" % ("  objective relative difference, %", "",
                                    fmt(lb["objective_rel_diff_pct"], "+.2e"), fmt(nc["objective_rel_diff_pct"], "+.2e")))
    print("%-34s %14s %14s %14s" % ("  target (|dacc| <= 0.5 pp, |dll| <= 1%)", "",
                                    "met" if lb["target_met"] else "NOT MET", "met" if nc["target_met"] else "NOT MET"))
    if h["warm_train_ms"] is not None:
        print("hitl warm-start retrain on the same labels: train_ms %.1f, psql wall %.1f ms, %d iterations" % (
            h["warm_train_ms"], h["warm_wall_ms"], h["warm_iterations"]))
    print("runs: hitl cold train_ms %s; sklearn lbfgs ms %s; newton-cg ms %s" % (
        " ".join("%.1f" % v for v in h["train_ms_runs"]),
        " ".join("%.1f" % v for v in lb["fit_ms_runs"]),
        " ".join("%.1f" % v for v in nc["fit_ms_runs"])))
    with open(result_path, "w") as f:
        json.dump(res, f, indent=1)


# ---------------------------------------------------------------------------
# statistics and plans


def percentile(sorted_values, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return float("nan")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def cmd_median(args):
    print("%.1f" % statistics.median(float(a) for a in args))


def cmd_latency(args):
    # pgbench --log: client_id transaction_no time_us script_no epoch epoch_us
    values = []
    for path in args:
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 3:
                    values.append(int(fields[2]) / 1000.0)
    values.sort()
    if not values:
        sys.exit("no transactions in %s" % " ".join(args))
    print("%d %.3f %.3f %.3f %.3f" % (len(values), percentile(values, 50), percentile(values, 95),
                                     statistics.mean(values),
                                     statistics.pstdev(values)))


def cmd_latency_summary(args):
    rows = []
    with open(args[0]) as f:
        for line in f:
            fields = line.split()
            if fields:
                rows.append([float(v) for v in fields])
    if not rows:
        sys.exit("no runs in %s" % args[0])
    total = sorted(r[0] for r in rows)
    med = [statistics.median(r[j] for r in rows) for j in range(1, 5)]
    print("%.1f %.1f %.1f %.1f %.1f %.1f %d" % (percentile(total, 50), percentile(total, 95),
                                                total[-1], med[0], med[1], med[2], med[3]))


def cmd_plan_check(args):
    rel, path = args
    with open(path) as f:
        plan = json.load(f)[0]["Plan"]
    problems = []

    def walk(node):
        """Returns whether the subtree reads rel."""
        reads = node.get("Relation Name") == rel
        if node.get("Node Type") == "Seq Scan" and reads:
            problems.append("Seq Scan on %s" % rel)
        for child in node.get("Plans", []):
            reads = walk(child) or reads
        if node.get("Node Type") in ("Sort", "Incremental Sort") and reads:
            problems.append("%s over rows of %s (key %s)" % (node["Node Type"], rel,
                                                              ", ".join(node.get("Sort Key", []))))
        return reads

    walk(plan)
    if problems:
        print("FAIL: " + "; ".join(problems))
        sys.exit(1)
    print("ok: no Seq Scan on %s and no Sort over its rows" % rel)


def main():
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    cmds = {"digits": cmd_digits, "synthetic": cmd_synthetic, "evaluate": cmd_evaluate,
            "median": cmd_median, "latency": cmd_latency,
            "latency-summary": cmd_latency_summary, "plan-check": cmd_plan_check}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
