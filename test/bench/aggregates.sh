#!/usr/bin/env bash
#
# test/bench/aggregates.sh: the training aggregates serial and in parallel.
#
# A table of 1,000,000 rows, 16 float8 features in a float8[] (integers 0 to
# 4, counts as naive Bayes reads them) and 3 classes; the time of
#
#   nb        SELECT hitl._nb_stats(c, x, 3)            (naive Bayes' sums)
#   gradient  SELECT hitl._logreg_grad(c, x, coef, 3)   (one pass of a solver:
#             the loss and gradient at 51 coefficients)
#
# with max_parallel_workers_per_gather 0 and 2 (parallel_setup_cost and
# parallel_tuple_cost 0, so that the plan does not depend on the cost
# model), the median of HITL_BENCH_AGG_REPS (3) runs of each, each in a fresh
# session after a warm-up scan, side by side with their ratio.  The results
# of the two plans are compared too (equal sums, gradient to 1e-12
# relative).  The load average is printed before and after: on a machine
# whose cores are shared, the ratio says as much about the neighbours as
# about the aggregates.
#
# Usage: bash test/bench/aggregates.sh   (as root or a user with the packages)

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REPS="${HITL_BENCH_AGG_REPS:-3}"
PAR="SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0"

bench_up aggbench
bench_header "training aggregates, serial and with 2 parallel workers"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

bench_sql "SELECT setseed(0.42)" \
	"CREATE TABLE agg_rows AS
	 SELECT i AS id, i % 3 AS c,
			ARRAY(SELECT floor(4 * random() + CASE WHEN j % 3 = i % 3 THEN 1 ELSE 0 END)
				  FROM generate_series(1, 16) j WHERE i > 0) AS x
	 FROM generate_series(1, 1000000) i" \
	"VACUUM ANALYZE agg_rows" >/dev/null
bench_sql "SELECT count(*) FROM agg_rows" >/dev/null

# the coefficients as a literal: an expression would be evaluated on every row
COEF="'$(bench_sql "SELECT ARRAY(SELECT ((i * 37) % 19 - 9) / 40.0 FROM generate_series(1, 51) i)::float8[]")'::float8[]"
NB_SQL="SELECT hitl._nb_stats(c, x, 3) FROM agg_rows"
GRAD_SQL="SELECT hitl._logreg_grad(c, x, $COEF, 3) FROM agg_rows"

echo "# plan with 2 workers:"
bench_sql "$PAR" "SET max_parallel_workers_per_gather = 2" \
	"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $NB_SQL" | sed 's/^/#   /'

same="$(bench_sql "$PAR" \
	"SET max_parallel_workers_per_gather = 0" \
	"CREATE TEMP TABLE s AS SELECT ($NB_SQL) AS nb, ($GRAD_SQL) AS g" \
	"SET max_parallel_workers_per_gather = 2" \
	"SELECT (SELECT nb FROM s) = ($NB_SQL),
			(SELECT max(abs(a - b)) / max(abs(b)) FROM unnest(($GRAD_SQL), (SELECT g FROM s)) u(a, b)) <= 1e-12")"
echo "# parallel = serial (nb sums equal | gradient within 1e-12): $same"

printf '%-10s %14s %14s %8s\n' aggregate "0 workers ms" "2 workers ms" ratio
for what in nb gradient; do
	if [[ $what == nb ]]; then sql=$NB_SQL; else sql=$GRAD_SQL; fi
	declare -A med=()
	for w in 0 2; do
		times=()
		for ((r = 0; r < REPS; r++)); do
			bench_time "$PAR; SET max_parallel_workers_per_gather = $w; $sql"
			times+=("$BENCH_MS")
		done
		med[$w]="$(bench_median "${times[@]}")"
	done
	ratio="$(awk -v a="${med[0]}" -v b="${med[2]}" 'BEGIN { printf "%.2f", a / b }')"
	printf '%-10s %14.0f %14.0f %8s\n' "$what" "${med[0]}" "${med[2]}" "$ratio"
	unset med
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
bench_done
