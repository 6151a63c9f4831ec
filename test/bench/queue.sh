#!/usr/bin/env bash
#
# test/bench/queue.sh: latency of a model's review view on the scored
# 1,000,000-row table of score.sh (same setup: lib.sh bench_million_table),
#
#   view   SELECT * FROM <model>_review_queue LIMIT 50
#
# against the naive query a user would write without hitl's queue table (there
# is no index on the score columns, and there should not be: see DESIGN.md),
#
#   naive  SELECT * FROM t WHERE label IS NULL ORDER BY uncertainty DESC LIMIT 50
#
# The view is measured twice: (A) as create_model leaves it, right after the
# first scoring, when hitl.queue has never been analyzed, and (B) after
# ANALYZE hitl.queue (what autovacuum does some time later).  Each query is run
# by pgbench (one client, simple protocol, so planning is included) with --log;
# p50/p95/mean/stddev come from the per-transaction latencies.
#
# The view's EXPLAIN (ANALYZE) plans are printed and checked: no Seq Scan on
# the table and no Sort over its rows.  A failed check is reported with the
# figures, and the script then exits 1.
#
# Usage: bash test/bench/queue.sh   (HITL_BENCH_QUEUE_TX, default 200 per query)

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TX=${HITL_BENCH_QUEUE_TX:-200}
TABLE=bench_queue
MODEL=bench_queue
VIEW_SQL="SELECT * FROM ${MODEL}_review_queue LIMIT 50"
NAIVE_SQL="SELECT * FROM $TABLE WHERE label IS NULL ORDER BY uncertainty DESC LIMIT 50"

bench_up hitl_bench_queue
bench_header "hitl benchmark: review queue latency, 1,000,000 rows"
echo "reproduce: bash test/bench/queue.sh"
echo
echo "building the 1,000,000-row table and its model (create_model trains and scores) ..."
bench_million_table "$TABLE" "$MODEL"

# pgbench_latency NAME SQL: sets L_N L_P50 L_P95 L_MEAN L_SD (ms)
pgbench_latency() {
	local name=$1 sql=$2 script="$BENCH_WORK/$1.sql" prefix="$BENCH_WORK/log-$1"
	printf '%s;\n' "$sql" >"$script"
	chmod 644 "$script"
	# warm up, then the measured run
	hitl_as_user "$PG_BIN/pgbench" -n -f "$script" -t 5 >/dev/null 2>&1 ||
		bench_die "pgbench failed on: $sql"
	hitl_as_user "$PG_BIN/pgbench" -n -f "$script" -t "$TX" --log --log-prefix="$prefix" \
		>"$BENCH_WORK/$name.out" 2>&1 || {
		cat "$BENCH_WORK/$name.out" >&2
		bench_die "pgbench failed on: $sql"
	}
	read -r L_N L_P50 L_P95 L_MEAN L_SD < <(bench_py latency "$prefix".[0-9]*)
	[[ $L_N == "$TX" ]] || bench_die "pgbench logged $L_N transactions, expected $TX"
}

# explain_view STATE: print and check the view's plan; sets CHECK
failed_checks=()
explain_view() {
	local state=$1
	echo
	echo "== queue ($state): EXPLAIN (ANALYZE) $VIEW_SQL =="
	bench_sql "EXPLAIN (ANALYZE, COSTS OFF) $VIEW_SQL"
	bench_sql "EXPLAIN (ANALYZE, FORMAT JSON) $VIEW_SQL" >"$BENCH_WORK/plan.json"
	if CHECK="$(bench_py plan-check "$TABLE" "$BENCH_WORK/plan.json")"; then
		echo "plan check: $CHECK"
	else
		echo "plan check: $CHECK"
		failed_checks+=("$state: $CHECK")
	fi
}

declare -A P50 P95 MEAN SD PLAN

explain_view "A: right after scoring"
PLAN[A]=$CHECK
pgbench_latency view-a "$VIEW_SQL"
P50[A]=$L_P50 P95[A]=$L_P95 MEAN[A]=$L_MEAN SD[A]=$L_SD

bench_sql "ANALYZE hitl.queue" >/dev/null
explain_view "B: after ANALYZE hitl.queue"
PLAN[B]=$CHECK
pgbench_latency view-b "$VIEW_SQL"
P50[B]=$L_P50 P95[B]=$L_P95 MEAN[B]=$L_MEAN SD[B]=$L_SD

echo
echo "== queue (naive): EXPLAIN (ANALYZE) $NAIVE_SQL =="
bench_sql "EXPLAIN (ANALYZE, COSTS OFF) $NAIVE_SQL"
pgbench_latency naive "$NAIVE_SQL"
P50[N]=$L_P50 P95[N]=$L_P95 MEAN[N]=$L_MEAN SD[N]=$L_SD

# same rows? (ties in uncertainty could order differently at the edge)
overlap="$(bench_sql "SELECT count(*) FROM (SELECT id FROM ${MODEL}_review_queue LIMIT 50) v JOIN ($NAIVE_SQL) n USING (id)")"

echo
echo "== queue: summary (pgbench, 1 client, $TX transactions each, latencies in ms; ratios measured side by side in this run) =="
printf '%-62s %9s %9s %9s %9s\n' query p50 p95 mean stddev
row() {
	printf '%-62s %9.3f %9.3f %9.3f %9.3f\n' "$1" "${P50[$2]}" "${P95[$2]}" "${MEAN[$2]}" "${SD[$2]}"
}
row "view (A: right after scoring, hitl.queue not analyzed)" A
row "view (B: after ANALYZE hitl.queue)" B
row "naive: WHERE label IS NULL ORDER BY uncertainty DESC" N
awk -v a="${P50[N]}" -v b="${P50[A]}" -v c="${P95[N]}" -v d="${P95[A]}" \
	'BEGIN { printf "ratio naive / view (A): p50 %.1fx, p95 %.1fx\n", a / b, c / d }'
awk -v a="${P50[N]}" -v b="${P50[B]}" -v c="${P95[N]}" -v d="${P95[B]}" \
	'BEGIN { printf "ratio naive / view (B): p50 %.1fx, p95 %.1fx\n", a / b, c / d }'
echo "rows in common between the view's first 50 and the naive top 50: $overlap of 50"
echo "view plan (A): ${PLAN[A]}"
echo "view plan (B): ${PLAN[B]}"

bench_done
if [[ ${#failed_checks[@]} -gt 0 ]]; then
	bench_die "plan check failed: ${failed_checks[*]}"
fi
