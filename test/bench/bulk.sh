#!/usr/bin/env bash
#
# test/bench/bulk.sh: what a model's label trigger costs bulk statements.  On
# one 200,000-row table (lib.sh bench_label_table: 5 features, four classes,
# 1% labeled), with and without a model on it, alternately (ROUNDS rounds,
# the order flipped every round), medians of:
#
#   update  UPDATE t SET label = truth.label FROM t_truth truth
#           WHERE truth.id = t.id AND t.id > 100000        -- 100,000 rows
#           (99,000 labels change: the 1,000 seed rows among them keep theirs)
#   insert  INSERT INTO t SELECT * FROM src                -- 100,000 labeled rows
#   delete  DELETE FROM t WHERE id > 1000000               -- those rows again
#
# Before every round the table is brought back to the same state (the labels
# of its 1% seed rows only; hitl.label_log vacuumed, since dropping a model
# deletes its log); for a "with" round the model is then created
# (trained and scored; {"cv_folds": 0}).  Every timed statement runs in a
# fresh session with the worker idle (it is on: hitl.enabled and
# hitl.retrain_delay at their defaults), right after VACUUM FULL of the
# table and a CHECKPOINT: the worker rewrites rows after each statement of
# a "with" round, and without the VACUUM FULL the next statement would find
# pages with room for HOT updates that a "without" round does not have.
# Times are psql's wall times, COMMIT included.  After each timed statement
# of a "with" round the time until the model is fresh again (the worker
# retrained and rescored: hitl.wait) is printed too, and the rows the
# statement added to hitl.label_log.
#
# Usage: bash test/bench/bulk.sh   (HITL_BENCH_BULK_ROUNDS, default 3)

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${HITL_BENCH_BULK_ROUNDS:-3}
ROWS=200000
TABLE=bench_bulk
MODEL=bench_bulk
STATEMENTS=(update insert delete)
declare -A SQL=(
	[update]="UPDATE $TABLE t SET label = tr.label FROM ${TABLE}_truth tr WHERE tr.id = t.id AND t.id > 100000"
	[insert]="INSERT INTO $TABLE SELECT * FROM ${TABLE}_src"
	[delete]="DELETE FROM $TABLE WHERE id > 1000000"
)

bench_up_worker hitl_bench_bulk
bench_header "hitl benchmark: bulk label statements with and without a model"
echo "reproduce: bash test/bench/bulk.sh"
echo

bench_label_table "$TABLE" "$ROWS"
# 100,000 new rows, labeled, to insert (ids above 1,000,000)
bench_sql "CREATE TABLE ${TABLE}_src AS
		SELECT t.id + 1000000 AS id, t.x1, t.x2, t.x3, t.x4, t.x5, tr.label,
			NULL::text AS label_prediction, NULL::float8 AS label_confidence,
			NULL::float8 AS label_uncertainty
		FROM $TABLE t JOIN ${TABLE}_truth tr USING (id) WHERE t.id <= 100000" \
	"VACUUM (FREEZE, ANALYZE) ${TABLE}_src" >/dev/null || bench_die "could not build ${TABLE}_src"
# the output columns filled once, as in every later round
bench_sql "SELECT hitl.create_model('$MODEL', '$TABLE', 'label',
		ARRAY['x1','x2','x3','x4','x5'], options => '{\"cv_folds\": 0}')" >/dev/null ||
	bench_die "create_model failed"
bench_quiesce "$MODEL"
for s in "${STATEMENTS[@]}"; do
	echo "$s: ${SQL[$s]}"
done
echo

# prepare WITH: the same starting state; a model (WITH = with) or none
prepare() {
	local with=$1
	bench_sql "SELECT hitl.drop_model(name) FROM hitl.models" \
		"DELETE FROM $TABLE WHERE id > 1000000" \
		"UPDATE $TABLE SET label = NULL WHERE id % 100 <> 0 AND label IS NOT NULL" \
		"VACUUM hitl.label_log" >/dev/null || bench_die "resetting $TABLE failed"
	if [[ $with == with ]]; then
		bench_sql "SELECT hitl.create_model('$MODEL', '$TABLE', 'label',
				ARRAY['x1','x2','x3','x4','x5'], options => '{\"cv_folds\": 0}')" \
			>/dev/null || bench_die "create_model failed"
		bench_quiesce "$MODEL"
	fi
}

log_rows() {
	bench_sql "SELECT count(*) FROM hitl.label_log WHERE model = '$MODEL'"
}

# round WITH R: the three statements, timed
round() {
	local with=$1 r=$2 s log0 log1 extra
	prepare "$with"
	for s in "${STATEMENTS[@]}"; do
		if [[ $with == with ]]; then
			log0="$(log_rows)"
		fi
		bench_sql "VACUUM (FULL, ANALYZE) $TABLE" "CHECKPOINT" >/dev/null
		bench_time "${SQL[$s]}"
		echo "$BENCH_MS" >>"$BENCH_WORK/$s-$with"
		extra=""
		if [[ $with == with ]]; then
			log1="$(log_rows)"
			bench_time "SELECT hitl.wait('$MODEL', '600 s')"
			extra="; label_log +$((log1 - log0)) rows; fresh again (hitl.wait) after $BENCH_MS ms"
			echo "$BENCH_MS" >>"$BENCH_WORK/$s-fresh"
			bench_quiesce "$MODEL"
		fi
		printf '   round %d, %-7s model, %-6s %10.1f ms%s\n' "$r" "$with" "$s" "$(tail -n 1 "$BENCH_WORK/$s-$with")" "$extra"
	done
}

for s in "${STATEMENTS[@]}"; do
	: >"$BENCH_WORK/$s-with"
	: >"$BENCH_WORK/$s-without"
	: >"$BENCH_WORK/$s-fresh"
done
echo "== bulk: rounds =="
for ((r = 1; r <= ROUNDS; r++)); do
	if ((r % 2 == 1)); then
		round without "$r"
		round with "$r"
	else
		round with "$r"
		round without "$r"
	fi
done
bench_sql "SELECT hitl.drop_model(name) FROM hitl.models" >/dev/null

echo
echo "== bulk: summary (ms, medians of $ROUNDS; 100,000 rows per statement; ratios measured side by side in this run) =="
printf '%-8s %12s %12s %8s %18s\n' statement "without" "with model" ratio "fresh again after"
for s in "${STATEMENTS[@]}"; do
	# shellcheck disable=SC2046 # one number per line
	without="$(bench_median $(cat "$BENCH_WORK/$s-without"))"
	# shellcheck disable=SC2046
	with="$(bench_median $(cat "$BENCH_WORK/$s-with"))"
	# shellcheck disable=SC2046
	fresh="$(bench_median $(cat "$BENCH_WORK/$s-fresh"))"
	printf '%-8s %12s %12s %8s %18s\n' "$s" "$without" "$with" \
		"$(awk -v a="$with" -v b="$without" 'BEGIN { printf "%.3f", a / b }')" "$fresh"
done
echo "(without = no model on the table, with model = its trigger logs the changes; fresh again = hitl.wait"
echo " right after the statement: the worker's retrain_delay, retraining on the labels and rescoring"
echo " the table; runs: $(for s in "${STATEMENTS[@]}"; do printf '%s without %s/ with %s; ' "$s" "$(tr '\n' ' ' <"$BENCH_WORK/$s-without")" "$(tr '\n' ' ' <"$BENCH_WORK/$s-with")"; done))"

bench_done
