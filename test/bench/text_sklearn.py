#!/usr/bin/python3
"""The scikit-learn side of hitl's text benchmark (test/bench/text.sh).

Run with the system interpreter, /usr/bin/python3, which has scikit-learn
(Debian's python3-sklearn).  Subcommands:

  vectorize TERMS.csv DIR SPEC...
        TERMS.csv holds one row per document, exported from PostgreSQL:
        id, truth, is_test (t/f), the JSON array of hitl.text_terms(...).
        Each SPEC is NAME:SIGNED:BUCKETS:MAXID; for each, the documents with
        id <= MAXID (0: all) are vectorized exactly as hitl does (below) and
        saved as DIR/NAME.npz (X, every row) and DIR/NAME.meta.npz (ids,
        labels, test mask).  Prints one line per SPEC: NAME and the
        milliseconds of reading the terms file and of vectorizing.
  fit ALGO DIR/NAME REPS WIDTH OUT.json [HITL_PRED.csv]
        ALGO naive_bayes or logistic; after an untimed fit on a sample of
        the training rows, fits REPS times on them (median time), predicts
        every row once (timed), test accuracy, and
        the agreement with hitl's predictions of the test rows (id,
        prediction) when given.  WIDTH: "full" (every bucket a column) or
        "vocabulary" (only the buckets the training rows use, which are the
        parameters hitl keeps; for logistic regression the optimum is the
        same, since an all-zero column keeps a zero weight under L2).
        Naive Bayes is always fitted on every bucket: its smoothing counts
        them all, as hitl's does.
  fitonly ALGO DIR/NAME WIDTH      one fit, nothing else (for peak RSS)
  load DIR/NAME                    only load the matrix (baseline RSS)
  rss-sample PIDFILE OUT           wait for a pid in PIDFILE, then sample
        /proc/PID/status every 5 ms until the process is gone; OUT gets the
        largest RssAnon, VmRSS and RssShmem seen (kB) and the samples taken
  record FILE KEY=VALUE...         write a JSON object (VALUE: a number, a
        space-separated list of numbers, or a string)
  summary DIR                      the summary tables from DIR/*.json

The vectorizing is scikit-learn's HashingVectorizer over hitl's own terms
(analyzer = the identity), which hashes each term with MurmurHash3_x86_32,
seed 0, into |h| mod BUCKETS with the sign of h (alternate_sign: logistic
only; naive Bayes counts are unsigned), then per cell sign(c) * (1 + ln|c|),
then TfidfTransformer(smooth_idf=True, norm='l2') fitted on every row of the
table: hitl's pipeline.  MultinomialNB(alpha=1.0) and
LogisticRegression(C=1.0, max_iter=1000) (lbfgs) are what hitl's
naive_bayes and logistic are.
"""
import csv
import glob
import json
import os
import statistics
import sys
import time

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

csv.field_size_limit(1 << 30)


def ms_since(t0):
    return (time.perf_counter() - t0) * 1000.0


# ---------------------------------------------------------------------------
# vectorizing


def vectorize(docs, signed, buckets):
    import numpy as np
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

    hv = HashingVectorizer(analyzer=lambda terms: terms, n_features=buckets,
                           alternate_sign=signed, norm=None)
    x = hv.transform(docs).tocsr()
    x.sum_duplicates()
    x.eliminate_zeros()
    x.data = np.sign(x.data) * (1.0 + np.log(np.abs(x.data)))
    tfidf = TfidfTransformer(sublinear_tf=False, smooth_idf=True, norm="l2")
    return tfidf.fit_transform(x).tocsr()


def cmd_vectorize(args):
    import numpy as np
    import scipy.sparse as sp

    terms_path, out_dir = args[0], args[1]
    t0 = time.perf_counter()
    ids, labels, test, docs = [], [], [], []
    with open(terms_path, newline="") as f:
        for row in csv.reader(f):
            ids.append(int(row[0]))
            labels.append(row[1])
            test.append(row[2] == "t")
            docs.append(json.loads(row[3]))
    load_ms = ms_since(t0)
    ids = np.array(ids, dtype=np.int64)
    labels = np.array(labels)
    test = np.array(test)
    vectorize(docs[:100], True, 1024)  # imports and first calls: not timed
    for spec in args[2:]:
        name, signed, buckets, maxid = spec.split(":")
        signed, buckets, maxid = signed == "1", int(buckets), int(maxid)
        keep = np.ones(len(ids), dtype=bool) if maxid == 0 else ids <= maxid
        sub = docs if maxid == 0 else [d for d, k in zip(docs, keep) if k]
        t0 = time.perf_counter()
        x = vectorize(sub, signed, buckets)
        vec_ms = ms_since(t0)
        sp.save_npz(os.path.join(out_dir, name + ".npz"), x, compressed=False)
        np.savez(os.path.join(out_dir, name + ".meta.npz"), ids=ids[keep], labels=labels[keep],
                 test=test[keep])
        print("%s %.1f %.1f %d %d" % (name, load_ms, vec_ms, x.shape[0], x.nnz))


def load_set(prefix):
    import numpy as np
    import scipy.sparse as sp

    x = sp.load_npz(prefix + ".npz").tocsr()
    meta = np.load(prefix + ".meta.npz")
    return x, meta["ids"], meta["labels"], meta["test"]


def make_model(algo):
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import MultinomialNB

    if algo == "naive_bayes":
        return MultinomialNB(alpha=1.0)
    if algo == "logistic":
        return LogisticRegression(C=1.0, max_iter=1000)
    sys.exit("unknown algorithm %s" % algo)


def training_matrix(algo, x, test, width):
    """The training rows, and the columns kept (None: all)."""
    import numpy as np

    xtr = x[~test]
    if algo == "logistic" and width == "vocabulary":
        cols = np.unique(xtr.indices)
        return xtr[:, cols], cols
    return xtr, None


def cmd_fit(args):
    import numpy as np

    algo, prefix, reps, width, out = args[:5]
    hitl_pred = args[5] if len(args) > 5 else None
    reps = int(reps)
    x, ids, labels, test = load_set(prefix)
    xtr, cols = training_matrix(algo, x, test, width)
    ytr = labels[~test]
    # one untimed fit on a sample first: the first fit in a process pays for
    # lazy imports and fresh memory
    step = max(1, xtr.shape[0] // 500)
    make_model(algo).fit(xtr[::step], ytr[::step])
    times = []
    model = None
    for _ in range(reps):
        model = make_model(algo)
        t0 = time.perf_counter()
        model.fit(xtr, ytr)
        times.append(ms_since(t0))
    xall = x if cols is None else x[:, cols]
    t0 = time.perf_counter()
    pred = model.predict(xall)
    predict_ms = ms_since(t0)
    acc = float(np.mean(pred[test] == labels[test]))
    res = {"algorithm": algo, "width": width, "rows": int(x.shape[0]),
           "train_rows": int(xtr.shape[0]), "test_rows": int(test.sum()),
           "columns": int(xtr.shape[1]), "nnz_train": int(xtr.nnz),
           "fit_ms": times, "predict_ms": predict_ms, "accuracy": acc}
    if algo == "logistic":
        res["iterations"] = int(np.max(model.n_iter_))
    if hitl_pred:
        by_id = {}
        with open(hitl_pred, newline="") as f:
            for row in csv.reader(f):
                by_id[int(row[0])] = row[1]
        test_ids = ids[test]
        same = [by_id.get(int(i)) == p for i, p in zip(test_ids, pred[test])]
        res["agreement"] = float(np.mean(same))
        res["hitl_accuracy_check"] = float(np.mean([by_id.get(int(i)) == y for i, y in
                                                    zip(test_ids, labels[test])]))
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    print("%s %s: fit %s ms (median %.1f), predict %d rows %.1f ms, test accuracy %.5f%s" % (
        algo, width, " ".join("%.1f" % t for t in times), statistics.median(times),
        x.shape[0], predict_ms, acc,
        "" if not hitl_pred else ", same prediction as hitl on %.2f%% of the test rows" % (
            100.0 * res["agreement"])))


def cmd_fitonly(args):
    algo, prefix, width = args
    x, _, labels, test = load_set(prefix)
    xtr, _ = training_matrix(algo, x, test, width)
    t0 = time.perf_counter()
    make_model(algo).fit(xtr, labels[~test])
    print("%.1f" % ms_since(t0))


def cmd_load(args):
    x, _, _, _ = load_set(args[0])
    print(x.nnz)


# ---------------------------------------------------------------------------
# memory of a backend


def read_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(value.split()[0])
    return out


def cmd_rss_sample(args):
    pidfile, out = args
    deadline = time.time() + 60
    pid = None
    while pid is None:
        try:
            with open(pidfile) as f:
                text = f.read().strip()
            if text:
                pid = int(text.split()[0])
        except (OSError, ValueError):
            pass
        if pid is None:
            if time.time() > deadline:
                sys.exit("no pid in %s" % pidfile)
            time.sleep(0.005)
    peak = {"RssAnon": 0, "VmRSS": 0, "RssShmem": 0}
    samples = 0
    while True:
        try:
            st = read_status(pid)
        except (OSError, ValueError):
            break
        samples += 1
        for k in peak:
            peak[k] = max(peak[k], st.get(k, 0))
        time.sleep(0.005)
    peak["samples"] = samples
    with open(out, "w") as f:
        json.dump(peak, f)


# ---------------------------------------------------------------------------
# records and the summary


def cmd_record(args):
    path = args[0]
    rec = {}
    for kv in args[1:]:
        key, _, value = kv.partition("=")
        parts = value.split()
        try:
            nums = [float(p) for p in parts]
            rec[key] = nums if len(parts) != 1 else nums[0]
        except ValueError:
            rec[key] = value
    with open(path, "w") as f:
        json.dump(rec, f, indent=1)


def med(v):
    if isinstance(v, list):
        return statistics.median(v) if v else None
    return v


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def f(x, spec=".1f"):
    return "n/a" if x is None else format(x, spec)


def load_json(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except OSError:
        return None


def cmd_summary(args):
    d = args[0]
    ok = True

    def part_table(title, part, configs):
        nonlocal ok
        rows = []
        for cfg in configs:
            h = load_json(os.path.join(d, "hitl-%s-%s.json" % (part, cfg)))
            s = load_json(os.path.join(d, "sk-%s-%s.json" % (part, cfg)))
            if h is not None and s is not None:
                rows.append((cfg, h, s, load_json(os.path.join(d, "skfull-%s-%s.json" % (part, cfg)))))
        if not rows:
            return
        print(title)
        print("%-18s %10s %10s %10s %8s %9s %8s %9s" % (
            "training", "hitl", "hitl wall", "sk fit", "hitl/fit", "sk vec", "h/(v+f)", "iter h/sk"))
        for cfg, h, s, full in rows:
            tr, fit, vec = med(h["train_ms"]), med(s["fit_ms"]), s["vectorize_ms"]
            iters = "-" if "iterations" not in s else "%d/%d" % (h["iterations"], s["iterations"])
            print("%-18s %10s %10s %10s %8s %9s %8s %9s" % (
                cfg, f(tr), f(med(h["train_wall_ms"])), f(fit), f(ratio(tr, fit), ".2f"), f(vec),
                f(ratio(tr, vec + fit), ".2f"), iters))
            if full is not None:
                ffit = med(full["fit_ms"])
                print("%-18s %10s %10s %10s %8s %9s %8s %9s" % (
                    "  sk on 2^18 cols", "", "", f(ffit), f(ratio(tr, ffit), ".2f"), "",
                    f(ratio(tr, vec + ffit), ".2f"), "-/%d" % full["iterations"]))
        print("%-18s %10s %10s %10s %8s %9s %8s %8s %8s %7s %6s" % (
            "scoring", "hitl", "unchanged", "sk pred", "h/pred", "h/(v+p)", "acc hitl", "acc sk",
            "d pp", "same %", "1.5pp"))
        for cfg, h, s, _ in rows:
            sc, sc0, pred, vec = med(h["score_ms"]), med(h["score_nochange_ms"]), s["predict_ms"], s["vectorize_ms"]
            dpp = 100.0 * (h["accuracy"] - s["accuracy"])
            within = abs(dpp) <= 1.5
            ok = ok and within
            print("%-18s %10s %10s %10s %8s %9s %8.5f %8.5f %+8.3f %7s %6s" % (
                cfg, f(sc), f(sc0), f(pred), f(ratio(sc, pred), ".1f"), f(ratio(sc, vec + pred), ".2f"),
                h["accuracy"], s["accuracy"], dpp, f(100.0 * s["agreement"], ".2f") if "agreement" in s else "n/a",
                "met" if within else "NOT"))
        print()

    print("== text: summary (ms; medians where repeated; every ratio measured side by side in this run) ==")
    print()
    part_table("(a) fortunes: 11,249 training rows, 3,749 held out, 43 classes", "fortunes",
               ["nb-unigrams", "nb-bigrams", "logistic-unigrams", "logistic-bigrams"])
    syn = load_json(os.path.join(d, "synthetic.json")) or {}
    part_table("(b) synthetic: %s rows, %s labeled, 8 classes" % (
        f(syn.get("rows"), ",.0f"), f(syn.get("labeled"), ",.0f")), "synthetic",
        ["nb-unigrams", "logistic-unigrams"])
    print("hitl = train_ms of hitl.train (cv_folds 0; reading, tokenizing every row for the idf, fitting),")
    print("hitl wall = psql's time of it; sk fit = scikit-learn's fit on the same features; sk vec =")
    print("scikit-learn's vectorizing of the terms exported with hitl.text_terms (hashing, tf, idf over")
    print("every row; tokenizing is not in it); h/(v+f) = hitl / (sk vec + sk fit); iter = L-BFGS")
    print("iterations.  Scoring: hitl = hitl.score writing every row, unchanged = hitl.score again (every")
    print("row read, tokenized and predicted, nothing written); sk pred = predict on every row; acc = test")
    print("accuracy; d pp = hitl minus scikit-learn (target: within 1.5 pp); same % = test rows both")
    print("predict the same class")
    print()

    mems = sorted(glob.glob(os.path.join(d, "mem-*.json")))
    if mems:
        print("(c) peak memory of training (MB), fresh backend / fresh process per line")
        print("%-30s %10s %9s %9s %9s %9s %9s %10s %10s %9s" % (
            "training", "nnz", "hitl ms", "VmHWM 0", "VmHWM 1", "dVmHWM", "dShmem",
            "dAnon pk", "sk RSS pk", "sk dRSS"))
        for path in mems:
            m = load_json(path)
            print("%-30s %10s %9s %9s %9s %9s %9s %10s %10s %9s" % (
                m["label"], f(m.get("nnz"), ",.0f"), f(m.get("wall_ms")),
                f(m["hwm_before"] / 1024), f(m["hwm_after"] / 1024),
                f((m["hwm_after"] - m["hwm_before"]) / 1024),
                f((m["shmem_after"] - m["shmem_before"]) / 1024),
                f((m["anon_peak"] - m["anon_before"]) / 1024),
                f(m.get("sk_rss") and m["sk_rss"] / 1024),
                f(m.get("sk_rss") and (m["sk_rss"] - m["sk_rss_load"]) / 1024)))
        print("VmHWM 0/1 = the backend's VmHWM before and after hitl.train; dShmem = growth of RssShmem (shared")
        print("buffers the backend touched: the table it read); dAnon pk = largest RssAnon sampled every 5 ms")
        print("during the session minus RssAnon before: hitl's own memory.  sk RSS pk = scikit-learn's maximum")
        print("resident set (/usr/bin/time -v) of a process that loads the vectorized matrix and fits once;")
        print("sk dRSS = that minus the same process only loading the matrix")
        print()

    incs = [load_json(os.path.join(d, "inc-%s.json" % p)) for p in ("fortunes", "synthetic")]
    incs = [i for i in incs if i]
    if incs:
        print("(d) incremental naive Bayes after one label UPDATE, against a full hitl.train on the same labels")
        print("%-12s %9s %12s %12s %8s %12s %12s %8s %s" % (
            "table", "labeled", "inc train_ms", "full train_ms", "ratio", "inc wall", "full wall",
            "ratio", "same counts"))
        for i in incs:
            it, ft = med(i["inc_train_ms"]), med(i["full_train_ms"])
            iw, fw = med(i["inc_wall_ms"]), med(i["full_wall_ms"])
            print("%-12s %9s %12s %12s %8s %12s %12s %8s %s" % (
                i["table"], f(i.get("labeled"), ",.0f"), f(it), f(ft), f(ratio(it, ft), ".4f"),
                f(iw), f(fw), f(ratio(iw, fw), ".4f"), i.get("same_counts", "?")))
        print("inc = hitl.train(m, true) (metrics->>'incremental' = 'true', 1 change); full = hitl.train(m)")
        print("right after, on the same labels; same counts: the two versions' class_counts and count_index")
        print("equal and counts within 1e-9.  wall = psql's time of the statement (loading the current version")
        print("and storing the new one included)")
    if not ok:
        print()
        print("TARGET MISSED: an accuracy difference above 1.5 pp")
        sys.exit(1)


def main():
    cmds = {"vectorize": cmd_vectorize, "fit": cmd_fit, "fitonly": cmd_fitonly, "load": cmd_load,
            "rss-sample": cmd_rss_sample, "record": cmd_record, "summary": cmd_summary}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
