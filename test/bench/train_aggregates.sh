#!/usr/bin/env bash
#
# test/bench/train_aggregates.sh: naive Bayes trained from scratch by the
# parallel aggregates (hitl._nb_sums, hitl._nb_eval) against reading the
# labeled rows into one process.
#
# A table of 1,000,000 rows, every one labeled: id bigint primary key, 16
# float8 features x1..x16 (whole numbers 0 to 4; on x1..x12, the ones whose
# number is the class modulo 3 are shifted up by one, x13..x16 are noise) and
# a label of 3 classes.  A naive Bayes model on it with cv_folds 0, created
# (and so trained once) by hitl.create_model.  Timed: SELECT hitl.train('m'),
# each in a fresh session, with
#
#   off    hitl.train_by_aggregates = off (the rows read into one process,
#          in key order)
#   on-0   hitl.train_by_aggregates = on, max_parallel_workers_per_gather 0
#   on-2   hitl.train_by_aggregates = on, max_parallel_workers_per_gather 2
#
# (the planner's default costs: the plans the training gets), in
# HITL_BENCH_TRAIN_AGG_REPS (3) rounds, each round all three in a rotated
# order.  Before each, one labeled row's x1 is switched between 0 and 1 (the
# table does not drift), so that the data hash changes and the training
# records a new version, then a CHECKPOINT.  Printed per training: psql's
# wall time, the version's train_ms (the training up to recording the
# version; hitl.train then computes the stopping signal, a separate scan,
# which the wall time includes), the rest (wall - train_ms), and the
# backend's peak memory (VmHWM of /proc/self/status, read in the same
# session after the training: it counts the shared buffers the backend
# touched, RssShmem after it says how much of it that is; VmHWM - RssShmem
# is a lower bound of the peak of the rest).  Then the medians,
# the ratios off / on-2 and on-0 / on-2, and the load average before and
# after.  Checked (the script fails otherwise): every timed training
# recorded a new version, the aggregates ones with metrics->>'aggregates' =
# 'true' and the off ones without it.
#
# Usage: bash test/bench/train_aggregates.sh   (as root or a user with the
# packages; about a minute and a half on 2 cores, the build included)

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REPS="${HITL_BENCH_TRAIN_AGG_REPS:-3}"
ROWS=1000000
TABLE=nbagg_rows
MODEL=nbagg

bench_up nbaggbench
bench_header "naive Bayes training by parallel aggregates against reading the rows"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "# load average before: $load_before"

cols="" features="" exprs=""
for ((j = 1; j <= 16; j++)); do
	cols+="x$j float8, "
	features+="${features:+,}'x$j'"
	if ((j <= 12)); then
		exprs+="floor(4 * random() + CASE WHEN $j % 3 = c THEN 1 ELSE 0 END), "
	else
		exprs+="floor(5 * random()), "
	fi
done
bench_sql "DROP TABLE IF EXISTS $TABLE CASCADE" \
	"CREATE TABLE $TABLE (id bigint PRIMARY KEY, ${cols}label text)" \
	"ALTER TABLE $TABLE SET (autovacuum_enabled = false)" >/dev/null ||
	bench_die "could not create $TABLE"
# deterministic (setseed); row 1's x1 starts at 0, the rounds switch it to 1
# and back
bench_sql "SELECT setseed(0.4242)" \
	"INSERT INTO $TABLE
	 SELECT i, ${exprs}(ARRAY['a', 'b', 'c'])[c + 1]
	 FROM (SELECT i, floor(3 * random())::int AS c FROM generate_series(1, $ROWS) i) s" \
	"UPDATE $TABLE SET x1 = 0 WHERE id = 1" \
	"VACUUM (FREEZE, ANALYZE) $TABLE" \
	"SELECT hitl.create_model('$MODEL', '$TABLE', 'label', ARRAY[$features],
		algorithm => 'naive_bayes', options => '{\"cv_folds\": 0}')" >/dev/null ||
	bench_die "could not build the $ROWS-row table $TABLE"
echo "# $(bench_sql "SELECT format('%s rows, %s labeled, %s MB; version %s: train_accuracy %s, aggregates %s',
	(SELECT count(*) FROM $TABLE), (SELECT count(*) FROM $TABLE WHERE label IS NOT NULL),
	pg_relation_size('$TABLE') / 1048576,
	version, round((metrics->>'train_accuracy')::numeric, 4), coalesce(metrics->>'aggregates', 'no'))
	FROM hitl.model_versions WHERE model = '$MODEL' ORDER BY version DESC LIMIT 1")"

declare -A SETTINGS=(
	[off]="SET hitl.train_by_aggregates = off"
	[on-0]="SET hitl.train_by_aggregates = on; SET max_parallel_workers_per_gather = 0"
	[on-2]="SET hitl.train_by_aggregates = on; SET max_parallel_workers_per_gather = 2"
)
CONFIGS=(off on-0 on-2)

flip=1
# toggle: switch row 1's x1 between 0 and 1, so that the data hash changes
toggle() {
	bench_sql "UPDATE $TABLE SET x1 = $flip WHERE id = 1" "CHECKPOINT" >/dev/null ||
		bench_die "could not change row 1"
	flip=$((1 - flip))
}

# train_session CONFIG: one training in a fresh session; sets T_WALL (ms),
# T_VERSION (what hitl.train returned), T_HWM and T_SHMEM (kB)
train_session() {
	local out
	out="$(hitl_psql -At -c "SET client_min_messages = warning" -c "${SETTINGS[$1]}" \
		-c '\timing on' -c "SELECT hitl.train('$MODEL')" -c '\timing off' \
		-c "SELECT coalesce(substring(s FROM 'VmHWM:\s*(\d+)'), '?') || ' ' ||
				   coalesce(substring(s FROM 'RssShmem:\s*(\d+)'), '?')
			FROM pg_read_file('/proc/self/status') s")" ||
		bench_die "training failed ($1)"
	T_WALL="$(printf '%s\n' "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')"
	T_VERSION="$(printf '%s\n' "$out" | sed -n '1p')"
	read -r T_HWM T_SHMEM <<<"$(printf '%s\n' "$out" | tail -n 1)"
	[[ -n $T_WALL && $T_VERSION =~ ^[0-9]+$ && $T_HWM =~ ^[0-9]+$ && $T_SHMEM =~ ^[0-9]+$ ]] ||
		bench_die "unexpected output ($1): $out"
}

# a warm-up training with the plans of its aggregate queries (auto_explain
# to the client): how many workers each parallel one launched
toggle
plans="$(hitl_psql -At -c "LOAD 'auto_explain'" -c "SET auto_explain.log_min_duration = 0" \
	-c "SET auto_explain.log_nested_statements = on" -c "SET auto_explain.log_analyze = on" \
	-c "SET auto_explain.log_timing = off" -c "SET auto_explain.log_level = notice" \
	-c "${SETTINGS[on-2]}" -c "SELECT hitl.train('$MODEL')" 2>&1)" || bench_die "warm-up training failed"
launched="$(printf '%s\n' "$plans" | sed -n 's/.*Workers Launched: \([0-9]*\).*/\1/p' | tr '\n' ' ')"
echo "# warm-up (on-2): workers launched by the parallel queries of the training: ${launched:-none}"

# mb KB: in MB, rounded
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
declare -A wall=() tms=() rest=() hwm=() shm=() priv=()
bad=0
printf '%-6s %-5s %8s %10s %10s %10s %10s %10s %s\n' round conf version "wall ms" "train_ms" "rest ms" "VmHWM MB" "shmem MB" aggregates
for ((r = 0; r < REPS; r++)); do
	for ((c = 0; c < ${#CONFIGS[@]}; c++)); do
		conf=${CONFIGS[$(((c + r) % ${#CONFIGS[@]}))]}
		prev="$(bench_sql "SELECT coalesce(max(version), 0) FROM hitl.model_versions WHERE model = '$MODEL'")"
		toggle
		train_session "$conf"
		read -r newest train_ms agg <<<"$(bench_sql "SELECT max(version),
			(SELECT train_ms FROM hitl.model_versions WHERE model = '$MODEL' AND version = $T_VERSION),
			(SELECT coalesce(metrics->>'aggregates', '-') FROM hitl.model_versions WHERE model = '$MODEL' AND version = $T_VERSION)
			FROM hitl.model_versions WHERE model = '$MODEL'" | tr '|' ' ')"
		ok=ok
		if ((T_VERSION <= prev || newest != T_VERSION)) || [[ -z $train_ms ]]; then
			ok="NO NEW VERSION (before $prev, returned $T_VERSION, newest $newest)"
		elif [[ $conf == off && $agg == true ]] || [[ $conf != off && $agg != true ]]; then
			ok="WRONG PATH"
		fi
		[[ $ok == ok ]] || bad=1
		rest_ms="$(awk -v a="$T_WALL" -v b="$train_ms" 'BEGIN { printf "%.1f", a - b }')"
		wall[$conf]+="$T_WALL "
		tms[$conf]+="$train_ms "
		rest[$conf]+="$rest_ms "
		hwm[$conf]+="$T_HWM "
		shm[$conf]+="$T_SHMEM "
		priv[$conf]+="$((T_HWM - T_SHMEM)) "
		printf '%-6s %-5s %8s %10.1f %10.1f %10s %10s %10s %s\n' "$((r + 1))" "$conf" "$T_VERSION" \
			"$T_WALL" "$train_ms" "$rest_ms" "$(mb "$T_HWM")" "$(mb "$T_SHMEM")" "$agg${ok:+ $ok}"
	done
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

declare -A mw=() mt=()
echo
echo "== train_aggregates: summary (ms, medians of $REPS; $ROWS rows, all labeled, 16 features, 3 classes; ratios measured side by side in this run) =="
printf '%-6s %10s %10s %10s %10s %10s %12s\n' conf "wall ms" "train_ms" "rest ms" "VmHWM MB" "shmem MB" "private MB"
for conf in "${CONFIGS[@]}"; do
	# shellcheck disable=SC2086 # the lists split on purpose
	{
		mw[$conf]="$(bench_median ${wall[$conf]})"
		mt[$conf]="$(bench_median ${tms[$conf]})"
		printf '%-6s %10.1f %10.1f %10.1f %10s %10s %12s\n' "$conf" "${mw[$conf]}" "${mt[$conf]}" \
			"$(bench_median ${rest[$conf]})" "$(mb "$(bench_median ${hwm[$conf]})")" \
			"$(mb "$(bench_median ${shm[$conf]})")" ">= $(mb "$(bench_median ${priv[$conf]})")"
	}
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "off / on-2:  wall $(ratio "${mw[off]}" "${mw[on-2]}"), train_ms $(ratio "${mt[off]}" "${mt[on-2]}")"
echo "on-0 / on-2: wall $(ratio "${mw[on-0]}" "${mw[on-2]}"), train_ms $(ratio "${mt[on-0]}" "${mt[on-2]}")"
echo "rest = wall - train_ms: the stopping signal after the version is recorded (a scan of the table for unlabeled rows), and the round trip"
echo "VmHWM: the backend's peak resident memory, shared buffers it touched included; shmem: RssShmem after the training;"
echo "private: VmHWM - shmem, a lower bound of the peak of the rest (the stopping signal's scan touches every page in every run)"
echo "load average before: $load_before; after: $load_after"
if ((bad)); then
	echo "check: FAILED (a training recorded no new version, or took the wrong path)"
else
	echo "check: ok (every timed training recorded a new version; aggregates = true on every on-0 and on-2 one, absent on every off one)"
fi
bench_done
((bad == 0)) || bench_die "check failed"
