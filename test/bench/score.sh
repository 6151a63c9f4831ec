#!/usr/bin/env bash
#
# test/bench/score.sh: cost of hitl.score against a plain whole-table UPDATE
# of the same three columns, on a 1,000,000-row table (bigint primary key,
# 8 float8 features, text label with 0.1% labeled, output columns present;
# model with {"cv_folds": 0}).
#
# For fillfactor 100, then fillfactor 50 (ALTER TABLE ... SET (fillfactor),
# VACUUM FULL), ROUNDS rounds of:
#
#   plain    UPDATE t SET prediction = 'x', confidence = 0.5, uncertainty = 0.5
#   VACUUM
#   score    SELECT hitl.score(model)  -- every row differs from the constants,
#            so it rewrites all 1,000,000 rows
#   VACUUM
#   no-op    SELECT hitl.score(model)  -- again: nothing changed, nothing written
#
# Every timed statement runs in a fresh session right after a CHECKPOINT;
# times are psql's wall times.  HOT fraction = delta n_tup_hot_upd / delta
# n_tup_upd of pg_stat_user_tables over the statement.
#
# Usage: bash test/bench/score.sh    (HITL_BENCH_SCORE_ROUNDS, default 3)

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${HITL_BENCH_SCORE_ROUNDS:-3}
TABLE=bench_score
MODEL=bench_score

bench_up hitl_bench_score
bench_header "hitl benchmark: hitl.score vs a plain UPDATE, 1,000,000 rows"
echo "reproduce: bash test/bench/score.sh"
echo
echo "building the 1,000,000-row table and its model (create_model trains and scores) ..."
bench_million_table "$TABLE" "$MODEL"

# upd_counters: "n_tup_upd n_tup_hot_upd" of the table
upd_counters() {
	bench_sql "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = '$TABLE'::regclass" | tr '|' ' '
}

# timed_update SQL EXPECTED_MIN_ROWS: run SQL after a checkpoint; sets
# T_MS, T_OUT, T_UPD (rows updated) and T_HOT (HOT updates among them).
timed_update() {
	local sql=$1 before after upd0 hot0 upd1 hot1 tries=0
	bench_sql "CHECKPOINT" >/dev/null
	before="$(upd_counters)"
	read -r upd0 hot0 <<<"$before"
	bench_time "$sql"
	T_MS=$BENCH_MS
	T_OUT=$BENCH_OUT
	# a backend flushes its statistics as it exits, which may be just after
	# the client saw the result: wait until the counters moved by at least
	# the rows the statement reports
	local expect=${2:-0}
	while :; do
		after="$(upd_counters)"
		read -r upd1 hot1 <<<"$after"
		if (( upd1 - upd0 >= expect )) || (( tries >= 50 )); then
			break
		fi
		tries=$((tries + 1))
		sleep 0.2
	done
	T_UPD=$((upd1 - upd0))
	T_HOT=$((hot1 - hot0))
}

pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.1f", 100.0 * a / b }'
}

declare -A SUMMARY
run_variant() {
	local ff=$1 round vac_ms size
	local plain_ms=() score_ms=() noop_ms=() plain_upd=0 plain_hot=0 score_upd=0 score_hot=0

	bench_sql "ALTER TABLE $TABLE SET (fillfactor = $ff)" "VACUUM FULL $TABLE" "VACUUM (FREEZE, ANALYZE) $TABLE" >/dev/null
	size="$(bench_sql "SELECT pg_size_pretty(pg_table_size('$TABLE'))")"
	echo
	echo "== score: fillfactor $ff (table $size after VACUUM FULL) =="
	printf '%-7s %-10s %12s %12s %9s %12s\n' round statement "time ms" "rows" "HOT %" "VACUUM ms"
	for ((round = 1; round <= ROUNDS; round++)); do
		timed_update "UPDATE $TABLE SET prediction = 'x', confidence = 0.5, uncertainty = 0.5" 1000000
		plain_ms+=("$T_MS")
		plain_upd=$((plain_upd + T_UPD))
		plain_hot=$((plain_hot + T_HOT))
		bench_time "VACUUM $TABLE"
		vac_ms=$BENCH_MS
		printf '%-7s %-10s %12.1f %12s %9s %12.1f\n' "$round" plain "$T_MS" "$T_UPD" "$(pct "$T_HOT" "$T_UPD")" "$vac_ms"

		timed_update "SELECT hitl.score('$MODEL')" 1000000
		score_ms+=("$T_MS")
		[[ $T_OUT == 1000000 ]] || bench_die "hitl.score wrote $T_OUT rows, expected 1000000"
		score_upd=$((score_upd + T_UPD))
		score_hot=$((score_hot + T_HOT))
		bench_time "VACUUM $TABLE"
		vac_ms=$BENCH_MS
		printf '%-7s %-10s %12.1f %12s %9s %12.1f\n' "$round" score "$T_MS" "$T_OUT" "$(pct "$T_HOT" "$T_UPD")" "$vac_ms"

		timed_update "SELECT hitl.score('$MODEL')" 0
		noop_ms+=("$T_MS")
		[[ $T_OUT == 0 ]] || bench_die "a second hitl.score wrote $T_OUT rows, expected 0"
		printf '%-7s %-10s %12.1f %12s %9s %12s\n' "$round" "score no-op" "$T_MS" "$T_OUT" "-" "-"
	done
	local pm sm nm ratio
	pm="$(bench_median "${plain_ms[@]}")"
	sm="$(bench_median "${score_ms[@]}")"
	nm="$(bench_median "${noop_ms[@]}")"
	ratio="$(awk -v a="$sm" -v b="$pm" 'BEGIN { printf "%.2f", a / b }')"
	echo "median: plain UPDATE $pm ms, hitl.score $sm ms, hitl.score with nothing changed $nm ms"
	echo "HOT updates over the $ROUNDS rounds: plain $(pct $plain_hot $plain_upd)% of $plain_upd, hitl.score $(pct $score_hot $score_upd)% of $score_upd"
	echo "ratio hitl.score / plain UPDATE (median) = $ratio (target <= 1.1, issue 12)"
	SUMMARY[$ff]="$pm $sm $ratio $nm $(pct $plain_hot $plain_upd) $(pct $score_hot $score_upd)"
}

run_variant 100
run_variant 50

echo
echo "== score: summary (ratios measured side by side in this run) =="
printf '%-11s %12s %12s %12s %14s %10s %10s\n' fillfactor "plain ms" "score ms" score/plain "no-op score ms" "HOT plain" "HOT score"
for ff in 100 50; do
	read -r a b c d e f <<<"${SUMMARY[$ff]}"
	printf '%-11s %12s %12s %12s %14s %9s%% %9s%%\n' "$ff" "$a" "$b" "$c" "$d" "$e" "$f"
done
echo "(medians of $ROUNDS rounds; target: score/plain <= 1.1, issue 12)"

bench_done
