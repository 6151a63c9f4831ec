#!/usr/bin/env bash
#
# test/bench/train_oof.sh: what the out-of-fold store, the audit queue and
# calibration cost a full training at 1,000,000 rows.
#
# The 1,000,000-row table of score.sh (lib.sh, bench_million_table), 10% of
# it labeled (100,000 rows) by the same noisy rule, a logistic model.  A
# training cannot skip the store, the audit and the calibration while it
# cross-validates: they are made of the out-of-fold probabilities, and
# cv_folds 0 skips the cross-validation with them.  So, side by side in one
# run, in rounds that alternate the order:
#
#   cv5  full hitl.train with cv_folds 5: folds, calibration, audit queue
#        (hitl.audit) and out-of-fold store (hitl.oof_predictions)
#   cv0  full hitl.train with cv_folds 0: the final fit only
#
# and, inside each cv5 training, the time of the store's own statements
# (the DELETE and INSERT of hitl.oof_predictions and of hitl.audit, run by
# the training through SPI), read from pg_stat_statements with
# pg_stat_statements.track = all (the script loads it).  Each timed training
# follows an untimed one of the same configuration and one label toggled
# (a training of unchanged data records nothing), so that both are warm
# starts from a version of the same configuration and the store replaced is
# of the same size (a cv0 training right after a cv5 one would also empty
# the store).  Both read the same labeled rows with their keys.  Reported: train_ms (hitl.model_versions) and psql's wall time,
# medians over the rounds, the ratio cv5 / cv0, the store statements' time
# and its share of the cv5 training.  What is left of cv5 - cv0 beyond the
# statements is the fold fits, calibration, the audit's ranking and the
# row keys, which the training does not time apart.
#
# Usage: bash test/bench/train_oof.sh   (about 4 minutes on 2 cores)
#   HITL_BENCH_TRAIN_OOF_ROUNDS (3), HITL_BENCH_TRAIN_OOF_ROWS (1000000;
#   a smaller table for a quick run: the labeled share stays 10%).

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

rounds=${HITL_BENCH_TRAIN_OOF_ROUNDS:-3}
rows=${HITL_BENCH_TRAIN_OOF_ROWS:-1000000}
# shellcheck disable=SC2089,SC2090 # the quotes are postgresql.conf's
HITL_PG_CONF="${HITL_PG_CONF:-$BENCH_PG_CONF_DEFAULT}
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all"
# shellcheck disable=SC2090
export HITL_PG_CONF

bench_up hitl_bench_train_oof
bench_header "a full training with and without the out-of-fold store, audit queue and calibration"
echo "reproduce: HITL_BENCH_TRAIN_OOF_ROUNDS=$rounds HITL_BENCH_TRAIN_OOF_ROWS=$rows bash test/bench/train_oof.sh"
pgss=0
if [[ $(bench_sql "SELECT current_setting('pg_stat_statements.track', true)") == all ]]; then
	bench_sql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
	pgss=1
else
	echo "pg_stat_statements is not loaded (a reused cluster?): the store's statements are not timed"
fi

bench_million_table t_oof t_oof_m
if [[ $rows -lt 1000000 ]]; then
	bench_sql "DELETE FROM t_oof WHERE id > $rows" "VACUUM (FREEZE, ANALYZE) t_oof" >/dev/null
fi
bench_sql "SELECT setseed(0.17)" \
	"UPDATE t_oof SET label = CASE
		WHEN x1 + x2 + 0.3 * (random() - 0.5) > 0.4 THEN 'a'
		WHEN x1 - x2 + 0.3 * (random() - 0.5) > 0.0 THEN 'b'
		ELSE 'c' END
	 WHERE id % 10 = 0 AND label IS NULL" \
	"VACUUM (FREEZE, ANALYZE) t_oof" >/dev/null
echo "table: $(bench_sql "SELECT count(*) FROM t_oof") rows, $(bench_sql "SELECT count(label) FROM t_oof") labeled, 3 classes, 8 float8 features"
echo

# one timed training of configuration $1 (5 or 0): sets TR_MS (train_ms),
# TR_WALL (psql) and TR_STORE (ms of the store's statements)
train_once() {
	local folds=$1
	bench_sql "SELECT hitl.alter_model('t_oof_m', options => '{\"cv_folds\": $folds}')" \
		"SELECT hitl.train('t_oof_m')" >/dev/null
	# one label toggled: the data differs from the current version's, so the
	# training is not skipped as unchanged (and is a warm start from it)
	bench_sql "UPDATE t_oof SET label = CASE label WHEN 'a' THEN 'b' ELSE 'a' END WHERE id = 10" \
		"CHECKPOINT" >/dev/null
	if [[ $pgss == 1 ]]; then
		bench_sql "SELECT pg_stat_statements_reset()" >/dev/null
	fi
	bench_time "SELECT hitl.train('t_oof_m')"
	TR_WALL=$BENCH_MS
	TR_MS="$(bench_sql "SELECT round(v.train_ms::numeric, 1) FROM hitl.model_versions v
		JOIN hitl.models m ON m.name = v.model AND v.version = m.current_version WHERE m.name = 't_oof_m'")"
	TR_STORE=0
	if [[ $pgss == 1 ]]; then
		TR_STORE="$(bench_sql "SELECT coalesce(round(sum(total_exec_time)::numeric, 1), 0)
			FROM pg_stat_statements WHERE query ~ '^(DELETE FROM|INSERT INTO) hitl\.(oof_predictions|audit)\M'")"
		STORE_DETAIL="$(bench_sql "SELECT string_agg(format('%s %s: %s ms', split_part(query, ' ', 1),
				substring(query FROM 'hitl\.[a-z_]+'), round(total_exec_time::numeric, 1)), ', '
				ORDER BY query)
			FROM pg_stat_statements WHERE query ~ '^(DELETE FROM|INSERT INTO) hitl\.(oof_predictions|audit)\M'")"
		# the foreign-key checks of the inserted rows (within the INSERTs' time)
		STORE_DETAIL="$STORE_DETAIL; within them, foreign-key checks: $(bench_sql "SELECT coalesce(sum(calls), 0) || ' calls, '
				|| coalesce(round(sum(total_exec_time)::numeric, 1), 0) || ' ms'
			FROM pg_stat_statements WHERE query ~ '^SELECT .* FROM ONLY \"hitl\"\.\"models\" x .* FOR KEY SHARE OF x'")"
	fi
}

declare -a cv5_ms cv5_wall cv5_store cv0_ms cv0_wall cv0_store
printf '%-6s %-5s %12s %12s %12s\n' round conf "train_ms" "wall ms" "store ms"
for ((r = 1; r <= rounds; r++)); do
	if ((r % 2 == 1)); then order="5 0"; else order="0 5"; fi
	for folds in $order; do
		train_once "$folds"
		printf '%-6s %-5s %12s %12s %12s\n' "$r" "cv$folds" "$TR_MS" "$TR_WALL" "$TR_STORE"
		if [[ $folds == 5 ]]; then
			cv5_ms+=("$TR_MS") cv5_wall+=("$TR_WALL") cv5_store+=("$TR_STORE")
			if [[ $pgss == 1 ]]; then
				echo "       store statements: $STORE_DETAIL"
			fi
		else
			cv0_ms+=("$TR_MS") cv0_wall+=("$TR_WALL") cv0_store+=("$TR_STORE")
		fi
	done
done
bench_sql "SELECT hitl.alter_model('t_oof_m', options => '{\"cv_folds\": 5}')" "SELECT hitl.train('t_oof_m')" >/dev/null
echo
echo "stored by a cv5 training: $(bench_sql "SELECT count(*) FROM hitl.oof_predictions WHERE model = 't_oof_m'") out-of-fold predictions, $(bench_sql "SELECT count(*) FROM hitl.audit WHERE model = 't_oof_m'") audit suspects"
echo

m5="$(bench_median "${cv5_ms[@]}")"
m0="$(bench_median "${cv0_ms[@]}")"
w5="$(bench_median "${cv5_wall[@]}")"
w0="$(bench_median "${cv0_wall[@]}")"
s5="$(bench_median "${cv5_store[@]}")"
s0="$(bench_median "${cv0_store[@]}")"
awk -v m5="$m5" -v m0="$m0" -v w5="$w5" -v w0="$w0" -v s5="$s5" -v s0="$s0" -v n="$rounds" 'BEGIN {
	printf "medians of %d rounds          train_ms    wall ms\n", n
	printf "cv5 (store, audit, calib.)  %10.1f %10.1f\n", m5, w5
	printf "cv0 (final fit only)        %10.1f %10.1f\n", m0, w0
	printf "ratio cv5 / cv0             %10.2f %10.2f\n", m5 / m0, w5 / w0
	printf "store statements in cv5     %10.1f ms, %.1f%% of its train_ms (cv0: %.1f ms)\n", s5, 100 * s5 / m5, s0
	printf "cv5 - cv0 - store           %10.1f ms (fold fits, calibration, audit ranking, row keys)\n", m5 - m0 - s5
}'
bench_done
