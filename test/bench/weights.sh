#!/usr/bin/env bash
#
# test/bench/weights.sh: what weight_by_consensus costs a training.  A
# table of ROWS rows (default 200,000), every one labeled, 8 features, and
# two models on it: "plain" without the option, "weighted" with it and a
# hitl.consensus row (confidence in [0.5, 1)) for every row, the worst case
# of the join that reads the weights.  With cv_folds 0 (the training is
# then mostly reading the rows) and 5: REPS times (default 5), each model
# is trained again after a change of tol (so that the training does not
# stand; it warm-starts); printed: train_ms of each (hitl.model_versions),
# the medians and the ratio weighted / plain, and the plan of the join.
#
# Usage: bash test/bench/weights.sh   (WEIGHTS_ROWS, WEIGHTS_REPS)

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROWS=${WEIGHTS_ROWS:-200000}
REPS=${WEIGHTS_REPS:-5}

bench_up hitl_bench_weights
bench_header "hitl benchmark: a training with weight_by_consensus against one without"
echo "reproduce: bash test/bench/weights.sh   ($ROWS rows, $REPS reps)"
echo

bench_sql "DROP TABLE IF EXISTS wt CASCADE" \
	"CREATE TABLE wt (id bigint PRIMARY KEY, x1 float8, x2 float8, x3 float8, x4 float8,
					  x5 float8, x6 float8, x7 float8, x8 float8, label text)" \
	"ALTER TABLE wt SET (autovacuum_enabled = false)" \
	"SELECT setseed(0.4242)" \
	"INSERT INTO wt SELECT g, random() * 2 - 1, random() * 2 - 1, random() * 10, random(),
						   random() * 100, random() - 0.5, random() * 3, random() * 2, NULL
	   FROM generate_series(1, $ROWS) g" \
	"UPDATE wt SET label = CASE WHEN x1 + x2 + 0.3 * (random() - 0.5) > 0.4 THEN 'a'
								WHEN x1 - x2 + 0.3 * (random() - 0.5) > 0.0 THEN 'b' ELSE 'c' END" \
	"VACUUM (FREEZE, ANALYZE) wt" >/dev/null || bench_die "could not build the table"
for m in plain weighted; do
	opts='{"cv_folds": 0}'
	[[ $m == weighted ]] && opts='{"cv_folds": 0, "weight_by_consensus": true}'
	bench_sql "SELECT hitl.create_model('$m', 'wt', 'label', ARRAY['x1','x2','x3','x4','x5','x6','x7','x8'],
										prediction_column => '${m}_p', confidence_column => '${m}_c',
										uncertainty_column => '${m}_u', options => '$opts')" >/dev/null ||
		bench_die "create_model $m failed"
done
bench_sql "INSERT INTO hitl.consensus
		   SELECT 'weighted', jsonb_build_object('id', id), label, 0.5 + 0.5 * random(), 'dawid_skene', 3, now()
			 FROM wt" \
	"ANALYZE hitl.consensus" "VACUUM (FREEZE, ANALYZE) wt" >/dev/null || bench_die "could not write the consensus"

echo "plan of the join that reads the weights:"
bench_sql "EXPLAIN (COSTS OFF) SELECT t.ctid, w.confidence FROM wt t
		   LEFT JOIN hitl.consensus w ON w.model OPERATOR(pg_catalog.=) 'weighted'
			AND w.row_key OPERATOR(pg_catalog.=) pg_catalog.jsonb_build_object('id', t.id)
			AND w.label OPERATOR(pg_catalog.=) t.label::pg_catalog.text
		   WHERE t.label IS NOT NULL" | sed 's/^/   /'
echo

for folds in 0 5; do
echo "cv_folds $folds:"
printf '   %-4s %12s %12s %8s\n' rep "plain ms" "weighted ms" ratio
plain=()
weighted=()
for ((rep = 1; rep <= REPS; rep++)); do
	tol="$((rep % 2 + 2))e-8"
	row=()
	for m in plain weighted; do
		bench_sql "SELECT hitl.alter_model('$m', options => '{\"tol\": $tol, \"cv_folds\": $folds}')" "CHECKPOINT" >/dev/null
		v="$(bench_sql "SELECT hitl.train('$m')")"
		row+=("$(bench_sql "SELECT round(train_ms::numeric, 1) FROM hitl.model_versions WHERE model = '$m' AND version = $v")")
	done
	plain+=("${row[0]}")
	weighted+=("${row[1]}")
	printf '   %-4s %12s %12s %8s\n' "$rep" "${row[0]}" "${row[1]}" \
		"$(awk -v a="${row[1]}" -v b="${row[0]}" 'BEGIN { printf "%.2f", a / b }')"
done
mp="$(bench_median "${plain[@]}")"
mw="$(bench_median "${weighted[@]}")"
printf '   %-4s %12s %12s %8s\n' median "$mp" "$mw" "$(awk -v a="$mw" -v b="$mp" 'BEGIN { printf "%.2f", a / b }')"
echo
done
bench_sql "SELECT 'weighted, last version: n_labeled ' || n_labeled || ', weight_sum ' || (metrics->>'weight_sum')
			 FROM hitl.model_versions WHERE model = 'weighted' ORDER BY version DESC LIMIT 1"
bench_done
