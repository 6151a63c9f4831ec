#!/usr/bin/env bash
#
# test/bench/train.sh: hitl.train against scikit-learn's LogisticRegression on
# the same labeled rows, with the same standardization (StandardScaler) and
# the same C, in one run:
#
#   digits     test/data/digits.csv, 1797 x 64, 10 classes; row number % 4 == 0
#              (0-based) is held out as the test set
#   synthetic  100,000 x 50, 5 classes, Gaussian classes with features on
#              different scales (numpy seed 20240601); id % 5 == 0 (20%) held out
#
# hitl: the table holds every row, labels NULL on the test rows; the model has
# {"cv_folds": 0}, so hitl.train does a single fit, as sklearn's fit does.
# Each timed hitl.train is a cold start (the model is dropped and created
# again before it: a second train on the same model would warm-start, and is
# reported separately).  Timings: train_ms from hitl.model_versions (read,
# standardize, fit, training metrics) and psql's wall time of
# `SELECT hitl.train(...)`.  scikit-learn: wall time of
# make_pipeline(StandardScaler(), LogisticRegression(C, max_iter=10000)).fit
# with lbfgs (the default) and newton-cg.  Test accuracy and log-loss of hitl
# come from hitl.predict_proba on the test rows.
#
# Usage: bash test/bench/train.sh        (as root or a user with the packages)
#   HITL_BENCH_TRAIN_REPS_DIGITS (default 5), HITL_BENCH_TRAIN_REPS_SYNTHETIC (3),
#   HITL_BENCH_STRICT=1 to exit 1 when the accuracy/log-loss target is missed.

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

C=1.0
REPS_DIGITS=${HITL_BENCH_TRAIN_REPS_DIGITS:-5}
REPS_SYNTHETIC=${HITL_BENCH_TRAIN_REPS_SYNTHETIC:-3}

bench_up hitl_bench_train
bench_header "hitl benchmark: training, hitl vs scikit-learn $("$BENCH_PYTHON" -c 'import sklearn; print(sklearn.__version__)')"
echo "reproduce: bash test/bench/train.sh"
echo

# train_dataset NAME CSV REPS: load, time hitl, compare with scikit-learn
train_dataset() {
	local name=$1 data=$2 reps=$3
	local table="bench_$name" model="train_$name"
	local header cols features nfeat rep version row
	local runs="$BENCH_WORK/$name.runs" proba="$BENCH_WORK/$name.proba.csv"
	local vjson="$BENCH_WORK/$name.version.json"

	header="$(head -n 1 "$data")"
	IFS=, read -r -a cols <<<"$header"
	nfeat=$((${#cols[@]} - 3))
	features="$(printf '%s,' "${cols[@]:1:nfeat}")"
	features="{${features%,}}"
	bench_sql "DROP TABLE IF EXISTS $table CASCADE" \
		"CREATE TABLE $table (id bigint PRIMARY KEY, $(printf '%s float8, ' "${cols[@]:1:nfeat}") truth integer NOT NULL, is_test boolean NOT NULL, label integer)" >/dev/null
	hitl_psql -c "\\copy $table (${header}) FROM pstdin WITH (FORMAT csv, HEADER true)" <"$data" ||
		bench_die "loading $name failed"
	bench_sql "VACUUM ANALYZE $table" >/dev/null

	: >"$runs"
	for ((rep = 1; rep <= reps; rep++)); do
		bench_sql "SELECT hitl.drop_model(name) FROM hitl.models WHERE name = '$model'" \
			"UPDATE $table SET label = NULL WHERE label IS NOT NULL" \
			"SELECT hitl.create_model('$model', '$table', 'label', '$features'::name[], options => '{\"cv_folds\": 0, \"C\": $C}')" \
			"UPDATE $table SET label = truth WHERE NOT is_test" \
			"VACUUM ANALYZE $table" "CHECKPOINT" >/dev/null || bench_die "preparing $name failed"
		bench_time "SELECT hitl.train('$model')"
		version=$BENCH_OUT
		row="$(bench_sql "SELECT train_ms, metrics->>'iterations' FROM hitl.model_versions WHERE model = '$model' AND version = $version")"
		echo "cold ${row%%|*} $BENCH_MS ${row##*|}" >>"$runs"
	done

	# probabilities and metrics of the (last) cold-start version
	hitl_psql -c "\\copy (SELECT id, hitl.predict_proba('$model', t) FROM $table t WHERE is_test ORDER BY id) TO pstdout WITH (FORMAT csv)" >"$proba" ||
		bench_die "predict_proba on $name failed"
	bench_sql "SELECT metrics FROM hitl.model_versions WHERE model = '$model' AND version = $version" >"$vjson"

	# warm start: train again on the same labels
	bench_time "SELECT hitl.train('$model')"
	row="$(bench_sql "SELECT train_ms, metrics->>'iterations' FROM hitl.model_versions WHERE model = '$model' AND version = $BENCH_OUT")"
	echo "warm ${row%%|*} $BENCH_MS ${row##*|}" >>"$runs"

	bench_py evaluate "$name" "$data" "$proba" "$runs" "$vjson" "$C" "$reps" "$BENCH_WORK/$name.result.json"
	echo
}

echo "preparing the data sets ..."
bench_py digits "$BENCH_DIR/../data/digits.csv" >"$BENCH_WORK/digits.csv"
bench_py synthetic 100000 50 5 20240601 >"$BENCH_WORK/synthetic.csv"
echo

train_dataset digits "$BENCH_WORK/digits.csv" "$REPS_DIGITS"
train_dataset synthetic "$BENCH_WORK/synthetic.csv" "$REPS_SYNTHETIC"

echo "== train: summary (ratios measured side by side in this run; times are medians, ms) =="
printf '%-10s %9s %9s %9s %9s %8s %8s %8s %8s %10s %s\n' dataset "hitl" "hitl wall" "lbfgs" "newton-cg" \
	"h/lbfgs" "wall/lb" "h/ncg" "dacc pp" "dlogloss%" target
missed=0
for name in digits synthetic; do
	line="$("$BENCH_PYTHON" -c '
import json, sys
r = json.load(open(sys.argv[1]))
h, s, n = r["hitl"], r["lbfgs"], r["newton-cg"]
print("%.1f %.1f %.1f %.1f %.2f %.2f %.2f %+.3f %+.3f %s" % (
    h["train_ms_median"], h["wall_ms_median"], s["fit_ms_median"], n["fit_ms_median"],
    s["ratio_train_ms"], s["ratio_wall_ms"], n["ratio_train_ms"],
    s["delta_accuracy_pp"], s["log_loss_rel_diff_pct"], "met" if s["target_met"] else "NOT-MET"))' \
		"$BENCH_WORK/$name.result.json")"
	read -r a b c d e f g h i j <<<"$line"
	printf '%-10s %9s %9s %9s %9s %8s %8s %8s %8s %10s %s\n' "$name" "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" "$i" "$j"
	[[ $j == met ]] || missed=1
done
echo "(hitl = train_ms of hitl.model_versions, hitl wall = psql wall time of SELECT hitl.train(); lbfgs and"
echo " newton-cg = scikit-learn StandardScaler + LogisticRegression fit; h/lbfgs = hitl / lbfgs, wall/lb ="
echo " hitl wall / lbfgs, h/ncg = hitl / newton-cg; dacc, dlogloss: hitl minus lbfgs on the test rows;"
echo " target: test accuracy within 0.5 pp and test log-loss within 1% of scikit-learn's)"

bench_done
if [[ $missed == 1 && ${HITL_BENCH_STRICT:-0} == 1 ]]; then
	bench_die "accuracy/log-loss target missed"
fi
