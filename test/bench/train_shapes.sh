#!/usr/bin/env bash
#
# test/bench/train_shapes.sh: cold training of dense logistic regression,
# hitl against scikit-learn's LogisticRegression (lbfgs, same C, the same
# standardization), over a grid of shapes:
#
#   classes {2, 5, 10, 30} x features {10, 50, 200}, 25,000 rows of
#   Gaussian classes (helper.py synthetic, numpy seed 20261206 + shape),
#   id % 5 == 0 (20%) held out: 20,000 training rows.
#
# For each shape hitl.train runs cold (the model dropped and created again
# before each timed run, with {"cv_folds": 0}, so one fit as sklearn's fit),
# and the line gives hitl's solver (metrics->>'solver': newton or lbfgs),
# its iterations, its median train_ms (read, standardize, fit, training
# metrics), scikit-learn's median fit time (StandardScaler +
# LogisticRegression(C=1, max_iter=10000), one BLAS thread as hitl) and
# iterations, the ratio, and the test accuracy and log-loss of both.  The
# targets: ratio <= 0.5 ("time"), accuracy within 0.5 points and log-loss
# within 1% ("quality").  hitl fits to its default tol (the largest
# gradient component over C n at most 1e-8 for Newton, 1e-5 for L-BFGS:
# metrics->>'tol'), scikit-learn to its own (1e-4 on the gradient of
# sum(loss) + |w|^2 / (2 C) in scikit-learn 1.2, 1e-4 / n on hitl's scale,
# or scipy's relative decrease of the objective 2.2e-9, whichever first).
#
# train_ms also counts reading 20,000 rows through SPI, standardizing them
# and the training metrics.  To tell the solver from that, fit_ms is the fit
# alone: test/bench/fit_only.c, built from src/ here, standardizes the same
# training rows as hitl and times logreg_solve (hitl's defaults, cold,
# median of the same number of runs), and fit_ratio = fit_ms / sk_ms.
#
# Usage: bash test/bench/train_shapes.sh    (as root or a user with the packages)
#   HITL_BENCH_SHAPES_REPS (default 3): cold runs per shape, for both.
#   HITL_BENCH_SHAPES_CLASSES, HITL_BENCH_SHAPES_FEATURES: the grid
#   (default "2 5 10 30" and "10 50 200").
#   HITL_BENCH_SHAPES_ROWS (default 25000): rows per data set, 80% trained on.

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

C=1.0
REPS=${HITL_BENCH_SHAPES_REPS:-3}
CLASSES=${HITL_BENCH_SHAPES_CLASSES:-"2 5 10 30"}
FEATURES=${HITL_BENCH_SHAPES_FEATURES:-"10 50 200"}
ROWS=${HITL_BENCH_SHAPES_ROWS:-25000}

bench_up hitl_bench_shapes
SRC="$BENCH_DIR/../../src"
cc -O2 -Wall -Wextra -DHITL_STANDALONE -I"$SRC" -o "$BENCH_WORK/fit_only" "$BENCH_DIR/fit_only.c" \
	"$SRC/logreg_solve.c" "$SRC/logreg_lbfgs.c" "$SRC/lbfgs.c" "$SRC/logreg.c" "$SRC/scaler.c" \
	"$SRC/metrics.c" "$SRC/numeric_alloc.c" -llapack -lblas -lm || bench_die "building fit_only failed"
bench_header "hitl benchmark: training by shape, hitl vs scikit-learn $("$BENCH_PYTHON" -c 'import sklearn; print(sklearn.__version__)') lbfgs"
echo "reproduce: bash test/bench/train_shapes.sh"
echo

# run_shape K D: load the data set, time hitl, compare with scikit-learn
run_shape() {
	local k=$1 d=$2 table="shape_${1}_${2}" model="shape_${1}_${2}"
	local data="$BENCH_WORK/$table.csv" proba="$BENCH_WORK/$table.proba.csv"
	local runs="$BENCH_WORK/$table.runs" header features rep version row

	bench_py synthetic "$ROWS" "$d" "$k" $((20261206 + 1000 * k + d)) >"$data"
	header="$(head -n 1 "$data")"
	features="$(seq -s, -f 'f%g' 0 $((d - 1)))"
	bench_sql "DROP TABLE IF EXISTS $table CASCADE" \
		"CREATE TABLE $table (id bigint PRIMARY KEY, $(seq -s, -f 'f%g float8' 0 $((d - 1))), truth integer NOT NULL, is_test boolean NOT NULL, label integer)" >/dev/null
	hitl_psql -c "\\copy $table (${header}) FROM pstdin WITH (FORMAT csv, HEADER true)" <"$data" ||
		bench_die "loading $table failed"
	bench_sql "VACUUM ANALYZE $table" >/dev/null

	: >"$runs"
	for ((rep = 1; rep <= REPS; rep++)); do
		bench_sql "SELECT hitl.drop_model(name) FROM hitl.models WHERE name = '$model'" \
			"UPDATE $table SET label = NULL WHERE label IS NOT NULL" \
			"SELECT hitl.create_model('$model', '$table', 'label', '{$features}'::name[], options => '{\"cv_folds\": 0, \"C\": $C}')" \
			"UPDATE $table SET label = truth WHERE NOT is_test" \
			"VACUUM ANALYZE $table" "CHECKPOINT" >/dev/null || bench_die "preparing $table failed"
		bench_time "SELECT hitl.train('$model')"
		version=$BENCH_OUT
		row="$(bench_sql "SELECT train_ms, metrics->>'iterations', metrics->>'solver' FROM hitl.model_versions WHERE model = '$model' AND version = $version")"
		IFS='|' read -r a b c <<<"$row"
		echo "$a $BENCH_MS $b $c" >>"$runs"
	done
	hitl_psql -c "\\copy (SELECT id, hitl.predict_proba('$model', t) FROM $table t WHERE is_test ORDER BY id) TO pstdout WITH (FORMAT csv)" >"$proba" ||
		bench_die "predict_proba on $table failed"
	"$BENCH_WORK/fit_only" "$data" "$C" "$REPS" >"$runs.fit" || bench_die "fit_only on $table failed"
	"$BENCH_PYTHON" "$BENCH_DIR/train_shapes.py" "$data" "$proba" "$runs" "$C" "$REPS" "$runs.fit"
	bench_sql "SELECT hitl.drop_model('$model')" "DROP TABLE $table CASCADE" >/dev/null
}

echo "== train_shapes: $ROWS rows (80% trained on), C = $C, $REPS cold runs each; times are medians, ms =="
printf '%3s %4s %6s %-7s %5s %9s %9s %9s %5s %6s %6s %7s %7s %8s %8s %-7s %-7s %s\n' \
	k d n solver iter hitl_ms fit_ms sk_ms sk_it ratio fit_r h_acc sk_acc h_ll sk_ll time fit_tm quality
for k in $CLASSES; do
	for d in $FEATURES; do
		run_shape "$k" "$d"
	done
done
echo "(hitl_ms = train_ms of hitl.model_versions: read, standardize, fit, training metrics; fit_ms ="
echo " logreg_solve alone (fit_only.c); sk_ms = scikit-learn StandardScaler + LogisticRegression(lbfgs).fit;"
echo " ratio = hitl_ms / sk_ms, fit_r = fit_ms / sk_ms; h_acc, h_ll, sk_acc, sk_ll: test accuracy and"
echo " log-loss; time: ratio <= 0.5; fit_tm: fit_r <= 0.5; quality: accuracy within 0.5 points and"
echo " log-loss within 1% of scikit-learn's)"

bench_done
