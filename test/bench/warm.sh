#!/usr/bin/env bash
#
# test/bench/warm.sh: the worker's warm-started retrain after one new label
# against a cold train on the same rows, on the data sets of train.sh:
#
#   digits     test/data/digits.csv, 1797 x 64, 10 classes (1347 training rows)
#   synthetic  100,000 x 50, 5 classes (helper.py synthetic, seed 20240601;
#              80,000 training rows)
#
# A table t holds the rows, labeled with their truth on the training rows
# but REPS of them, and a model on it (created, so trained cold and scored,
# by hitl.create_model).  A copy t_cold holds the same rows and labels.
# Then REPS times:
#
#   warm  UPDATE t SET label = truth WHERE id = <one more training row>;
#         the worker retrains (warm-started from the current version) and
#         rescores; hitl.wait; train_ms of the version it recorded
#   cold  the same label in t_cold, then hitl.create_model on t_cold: a
#         first version, trained from zero on exactly the same labeled
#         rows; its train_ms
#
# train_ms (hitl.model_versions) covers the same work both ways: reading
# the labeled rows, standardizing, the Newton fit, the training metrics
# and, with cv_folds, the cross-validation.  Run with {"cv_folds": 0} (one
# fit, as train.sh) and with the default 5 folds.  Printed: every rep, the
# medians, iterations, and the ratio warm / cold.
#
# Usage: bash test/bench/warm.sh   (HITL_BENCH_WARM_REPS, default 3)

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REPS=${HITL_BENCH_WARM_REPS:-3}
FOLDS=(0 5)

bench_up_worker hitl_bench_warm
bench_header "hitl benchmark: warm-started retrain after 1 new label vs a cold train"
echo "reproduce: bash test/bench/warm.sh"
echo "hitl.retrain_delay = $(bench_sql "SHOW hitl.retrain_delay")"
echo

# load NAME CSV: tables bench_NAME and bench_NAME_cold, labels on the
# training rows but the last REPS (by id); sets FEATURES and HOLDOUT (ids)
load() {
	local name=$1 data=$2 table="bench_$1" header cols nfeat
	header="$(head -n 1 "$data")"
	IFS=, read -r -a cols <<<"$header"
	nfeat=$((${#cols[@]} - 3))
	FEATURES="$(printf '%s,' "${cols[@]:1:nfeat}")"
	FEATURES="{${FEATURES%,}}"
	bench_sql "DROP TABLE IF EXISTS $table, ${table}_cold CASCADE" \
		"CREATE TABLE $table (id bigint PRIMARY KEY, $(printf '%s float8, ' "${cols[@]:1:nfeat}") truth integer NOT NULL, is_test boolean NOT NULL, label integer)" \
		"ALTER TABLE $table SET (autovacuum_enabled = false)" >/dev/null
	hitl_psql -c "\\copy $table (${header}) FROM pstdin WITH (FORMAT csv, HEADER true)" <"$data" ||
		bench_die "loading $name failed"
	HOLDOUT="$(bench_sql "SELECT string_agg(id::text, ' ' ORDER BY id) FROM (SELECT id FROM $table WHERE NOT is_test ORDER BY id DESC LIMIT $REPS) h")"
	bench_sql "UPDATE $table SET label = truth WHERE NOT is_test AND id NOT IN (${HOLDOUT// /,})" \
		"CREATE TABLE ${table}_cold (LIKE $table INCLUDING ALL)" \
		"ALTER TABLE ${table}_cold SET (autovacuum_enabled = false)" \
		"INSERT INTO ${table}_cold SELECT * FROM $table" \
		"VACUUM (FREEZE, ANALYZE) $table, ${table}_cold" >/dev/null || bench_die "preparing $name failed"
}

# measure NAME FOLDS: REPS warm retrains and cold trains
measure() {
	local name=$1 folds=$2 table="bench_$1" model="warm_$1" cold="cold_$1"
	local opts="{\"cv_folds\": $folds}" id rep=0 v row w_ms w_it w_warm c_ms c_it c_warm
	local runs="$BENCH_WORK/$name-$folds.runs"
	bench_sql "SELECT hitl.drop_model(name) FROM hitl.models" \
		"UPDATE $table SET label = NULL WHERE id IN (${HOLDOUT// /,})" \
		"UPDATE ${table}_cold SET label = NULL WHERE id IN (${HOLDOUT// /,})" >/dev/null
	bench_sql "SELECT hitl.create_model('$model', '$table', 'label', '$FEATURES'::name[], options => '$opts')" >/dev/null ||
		bench_die "create_model on $table failed"
	bench_quiesce "$model"
	echo "-- $name, cv_folds $folds: $(bench_sql "SELECT count(label) FROM $table") labeled rows, then one more per rep"
	printf '   %-4s %8s %12s %6s %6s %12s %6s %6s %8s\n' rep row "warm ms" iter warm "cold ms" iter warm ratio
	: >"$runs"
	for id in $HOLDOUT; do
		rep=$((rep + 1))
		# warm: the worker retrains on the new label
		bench_sql "UPDATE $table SET label = truth WHERE id = $id" >/dev/null
		v="$(bench_sql "SELECT hitl.wait('$model', '600 s')")" || bench_die "hitl.wait('$model') failed"
		row="$(bench_sql "SELECT round(train_ms::numeric, 1), metrics->>'iterations', (metrics->>'warm_start')::boolean, n_labeled FROM hitl.model_versions WHERE model = '$model' AND version = $v")"
		IFS='|' read -r w_ms w_it w_warm w_n <<<"$row"
		[[ $w_warm == t ]] || bench_die "version $v of $model was not warm-started"
		bench_quiesce "$model"
		# cold: a first version on the same labeled rows
		bench_sql "SELECT hitl.drop_model(name) FROM hitl.models WHERE name = '$cold'" \
			"UPDATE ${table}_cold SET label = truth WHERE id = $id" \
			"SELECT hitl.create_model('$cold', '${table}_cold', 'label', '$FEATURES'::name[], options => '$opts')" >/dev/null ||
			bench_die "create_model on ${table}_cold failed"
		row="$(bench_sql "SELECT round(train_ms::numeric, 1), metrics->>'iterations', (metrics->>'warm_start')::boolean, n_labeled FROM hitl.model_versions WHERE model = '$cold' AND version = 1")"
		IFS='|' read -r c_ms c_it c_warm c_n <<<"$row"
		[[ $c_warm == f ]] || bench_die "the cold model $cold was warm-started"
		[[ $c_n == "$w_n" ]] || bench_die "warm and cold trained on different rows ($w_n, $c_n)"
		bench_quiesce "$cold"
		printf '   %-4s %8s %12s %6s %6s %12s %6s %6s %8s\n' "$rep" "$id" "$w_ms" "$w_it" "$w_warm" "$c_ms" "$c_it" "$c_warm" \
			"$(awk -v a="$w_ms" -v b="$c_ms" 'BEGIN { printf "%.3f", a / b }')"
		echo "$w_ms $c_ms $w_it $c_it $w_n" >>"$runs"
	done
	bench_sql "SELECT hitl.drop_model(name) FROM hitl.models" >/dev/null
}

echo "preparing the data sets ..."
bench_py digits "$BENCH_DIR/../data/digits.csv" >"$BENCH_WORK/digits.csv"
bench_py synthetic 100000 50 5 20240601 >"$BENCH_WORK/synthetic.csv"
for name in digits synthetic; do
	load "$name" "$BENCH_WORK/$name.csv"
	for folds in "${FOLDS[@]}"; do
		measure "$name" "$folds"
	done
done

echo
echo "== warm: summary (train_ms of hitl.model_versions, medians of $REPS; ratios measured side by side in this run) =="
printf '%-10s %8s %10s %12s %12s %10s %10s\n' dataset cv_folds "labeled" "warm ms" "cold ms" "warm/cold" "iter w/c"
for name in digits synthetic; do
	for folds in "${FOLDS[@]}"; do
		runs="$BENCH_WORK/$name-$folds.runs"
		# shellcheck disable=SC2046 # one number per line
		w="$(bench_median $(cut -d' ' -f1 "$runs"))"
		# shellcheck disable=SC2046
		c="$(bench_median $(cut -d' ' -f2 "$runs"))"
		printf '%-10s %8s %10s %12s %12s %10s %10s\n' "$name" "$folds" "$(tail -n 1 "$runs" | cut -d' ' -f5)" "$w" "$c" \
			"$(awk -v a="$w" -v b="$c" 'BEGIN { printf "%.3f", a / b }')" \
			"$(head -n 1 "$runs" | awk '{ print $3 "/" $4 }')"
	done
done
echo "(warm = the worker's retrain after 1 new label, warm-started from the current version; cold = a"
echo " fresh model (hitl.create_model) on a copy of the table with the same labels; iter = Newton"
echo " iterations of the full fit, first rep)"

bench_done
