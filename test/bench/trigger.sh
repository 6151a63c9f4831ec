#!/usr/bin/env bash
#
# test/bench/trigger.sh: what a model's label trigger costs an application
# that writes labels one at a time.  pgbench, 2 clients, a custom script of
# single-row label UPDATEs,
#
#   \set id random(1, 100000)
#   \set c random(1, 4)
#   UPDATE t SET label = (ARRAY['a', 'b', 'c', 'd'])[:c] WHERE id = :id;
#
# on one 100,000-row table (lib.sh bench_label_table: 5 features, four
# classes, 1% labeled), with and without a model on it, alternately
# (ROUNDS rounds, the order flipped every round), SECONDS seconds per run.
# Before every run the table is brought back to the same state (the labels
# of its 1% seed rows only, VACUUM of it and of hitl.label_log, CHECKPOINT),
# then the model is created (trained and scored) for a "with" run or is
# absent for a "without" run.
#
# Three phases:
#
#   trigger only  hitl.enabled = off: the trigger logs every label to
#                 hitl.label_log, the worker does nothing
#   no fsync      the same with synchronous_commit = off for pgbench's
#                 sessions: a commit no longer waits for its WAL flush, which
#                 otherwise dominates a single-row UPDATE (and varies with
#                 the disk); what is left is the CPU the trigger costs
#   worker on     hitl.enabled = on (default), hitl.retrain_delay 200ms
#                 (default), synchronous_commit on: the worker is woken at
#                 every commit and may retrain and rescore while pgbench
#                 runs, on the same 2 cores
#
# Printed: TPS of every run (pgbench's "without initial connection time"),
# medians, the ratio with / without (target >= 0.9), the time the trigger
# adds to each UPDATE in the no-fsync phase (a client's latency is
# clients/TPS: 2/TPS with minus 2/TPS without), and in the worker-on phase
# how many versions the worker trained during the runs.
#
# Usage: bash test/bench/trigger.sh
#   HITL_BENCH_TRIGGER_SECONDS (default 5), HITL_BENCH_TRIGGER_ROUNDS (6),
#   HITL_BENCH_STRICT=1 to exit 1 when the target is missed.

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECONDS_PER_RUN=${HITL_BENCH_TRIGGER_SECONDS:-5}
ROUNDS=${HITL_BENCH_TRIGGER_ROUNDS:-6}
ROWS=100000
CLIENTS=2
TABLE=bench_trigger
MODEL=none	# each "with" run creates a model of its own (run_<phase>_<round>)

bench_up_worker hitl_bench_trigger
bench_header "hitl benchmark: label trigger overhead, pgbench single-row label UPDATEs"
echo "reproduce: bash test/bench/trigger.sh"
echo "pgbench: $CLIENTS clients, $CLIENTS threads, -M prepared, $SECONDS_PER_RUN s per run, $ROUNDS rounds; $ROWS rows"
echo

bench_label_table "$TABLE" "$ROWS"
SCRIPT="$BENCH_WORK/label.sql"
cat >"$SCRIPT" <<SQL
\\set id random(1, $ROWS)
\\set c random(1, 4)
UPDATE $TABLE SET label = (ARRAY['a', 'b', 'c', 'd'])[:c] WHERE id = :id;
SQL
chmod 644 "$SCRIPT"

# prepare WITH: the same starting state; a model (WITH = with) or none
prepare() {
	local with=$1
	bench_sql "SELECT hitl.drop_model(name) FROM hitl.models" \
		"UPDATE $TABLE SET label = NULL WHERE id % 100 <> 0 AND label IS NOT NULL" \
		"VACUUM $TABLE, hitl.label_log" >/dev/null || bench_die "resetting $TABLE failed"
	if [[ $with == with ]]; then
		bench_sql "SELECT hitl.create_model('$MODEL', '$TABLE', 'label',
				ARRAY['x1','x2','x3','x4','x5'], options => '{\"cv_folds\": 0}')" \
			"VACUUM $TABLE" >/dev/null || bench_die "create_model failed"
		bench_quiesce "$MODEL"
	fi
	bench_sql "CHECKPOINT" >/dev/null
}

# run PHASE WITH ROUND: one pgbench run; appends "tps" to the phase's file
run() {
	local phase=$1 with=$2 round=$3 out tps v0=0 v1=0 v2=0 extra=""
	MODEL="run_${phase}_$round"
	prepare "$with"
	if [[ $with == with ]]; then
		v0="$(bench_sql "SELECT count(*) FROM hitl.model_versions WHERE model = '$MODEL'")"
	fi
	out="$BENCH_WORK/pgbench-$phase-$with-$round.out"
	hitl_as_user env PGOPTIONS="-c synchronous_commit=$([[ $phase == nosync ]] && echo off || echo on)" \
		"$PG_BIN/pgbench" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$SECONDS_PER_RUN" \
		-f "$SCRIPT" >"$out" 2>&1 || {
		cat "$out" >&2
		bench_die "pgbench failed"
	}
	tps="$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$out")"
	[[ -n $tps ]] || bench_die "no tps in $out"
	if [[ $with == with ]]; then
		v1="$(bench_sql "SELECT count(*) FROM hitl.model_versions WHERE model = '$MODEL'")"
		if [[ $phase == worker ]]; then
			bench_quiesce "$MODEL"
			v2="$(bench_sql "SELECT count(*) FROM hitl.model_versions WHERE model = '$MODEL'")"
			extra="; versions trained by the worker: $((v1 - v0)) during the run, $((v2 - v1)) after it"
			echo "$((v1 - v0)) $((v2 - v1))" >>"$BENCH_WORK/$phase-versions"
		fi
		extra="$extra; label_log rows: $(bench_sql "SELECT count(*) FROM hitl.label_log WHERE model = '$MODEL'")"
	fi
	printf '   round %d, %-7s model: %10.1f tps%s\n' "$round" "$with" "$tps" "$extra"
	printf '%.1f\n' "$tps" >>"$BENCH_WORK/$phase-$with"
}

phase() {
	local phase=$1 r
	: >"$BENCH_WORK/$phase-with"
	: >"$BENCH_WORK/$phase-without"
	for ((r = 1; r <= ROUNDS; r++)); do
		if ((r % 2 == 1)); then
			run "$phase" without "$r"
			run "$phase" with "$r"
		else
			run "$phase" with "$r"
			run "$phase" without "$r"
		fi
	done
}

echo "== trigger: phase 1, trigger only (hitl.enabled = off) =="
bench_set hitl.enabled off
phase trigger
echo
echo "== trigger: phase 2, trigger only, no fsync (hitl.enabled = off, synchronous_commit = off) =="
phase nosync
bench_set hitl.enabled DEFAULT
echo
echo "== trigger: phase 3, worker on (hitl.enabled = on, hitl.retrain_delay = $(bench_sql "SHOW hitl.retrain_delay")) =="
phase worker
bench_sql "SELECT hitl.drop_model(name) FROM hitl.models" >/dev/null

echo
echo "== trigger: summary (pgbench TPS, $CLIENTS clients, $SECONDS_PER_RUN s runs, medians of $ROUNDS; ratios measured side by side in this run) =="
printf '%-46s %12s %12s %8s %s\n' phase "without" "with model" ratio "target >= 0.9"
missed=0
for phase in trigger nosync worker; do
	# shellcheck disable=SC2046 # one number per line
	without="$(bench_median $(cat "$BENCH_WORK/$phase-without"))"
	# shellcheck disable=SC2046
	with="$(bench_median $(cat "$BENCH_WORK/$phase-with"))"
	ratio="$(awk -v a="$with" -v b="$without" 'BEGIN { printf "%.3f", a / b }')"
	verdict="$(awk -v r="$ratio" 'BEGIN { print (r >= 0.9 ? "met" : "NOT-MET") }')"
	[[ $verdict == met ]] || missed=1
	case $phase in
	trigger) label="1 trigger only (hitl.enabled = off)" ;;
	nosync) label="2 trigger only, synchronous_commit = off" ;;
	worker) label="3 worker on (retrains concurrently)" ;;
	esac
	printf '%-46s %12s %12s %8s %s\n' "$label" "$without" "$with" "$ratio" "$verdict"
	if [[ $phase == nosync ]]; then
		added="$(awk -v a="$with" -v b="$without" 'BEGIN { printf "%.1f", (2 / a - 2 / b) * 1e6 }')"
	fi
done
echo "(without = no model on the table; with model = its trigger logs every label; runs per phase:"
for phase in trigger nosync worker; do
	echo " phase $phase: without $(tr '\n' ' ' <"$BENCH_WORK/$phase-without")/ with $(tr '\n' ' ' <"$BENCH_WORK/$phase-with")"
done
echo " time the trigger adds to each single-row label UPDATE in phase 2 (2/TPS with - 2/TPS without): $added us"
echo " versions the worker trained per worker-on run, during / after it: $(awk '{ printf "%s/%s ", $1, $2 }' "$BENCH_WORK/worker-versions"))"

bench_done
if [[ $missed == 1 && ${HITL_BENCH_STRICT:-0} == 1 ]]; then
	bench_die "TPS ratio target missed"
fi
