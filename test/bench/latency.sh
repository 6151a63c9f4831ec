#!/usr/bin/env bash
#
# test/bench/latency.sh: label -> fresh queue latency of the background
# worker.  From the COMMIT of one label UPDATE until the worker has recorded
# a new version trained on it and rescored the table, so that the review
# queue reflects it.
#
# Tables of 100,000 and 1,000,000 rows (lib.sh bench_label_table: 5 float8
# features, four classes, 1% labeled, the truth of every row in a hidden
# table), a model with {"cv_folds": 0} created (trained and scored) by
# hitl.create_model.  Then, per configuration, one warm-up label and LABELS
# measured ones.  Each label is the top row of the model's review view,
# labeled with its hidden truth, like a person working through the queue:
#
#   BEGIN; UPDATE t SET label = <truth> WHERE id = <top of the queue>;
#   SELECT pg_current_xact_id(); COMMIT;
#   SELECT hitl.wait(model), clock_timestamp();
#
# latency = clock_timestamp() when hitl.wait returned - the commit timestamp
# of the label's transaction (track_commit_timestamp), both server clocks.
# It is split into
#
#   to train  commit of the label -> start of the training, i.e. the commit
#             of the new version (pg_xact_commit_timestamp of its
#             hitl.model_versions row) - train_ms: the wake-up and
#             reading the label log (hitl.retrain_delay too for a label
#             within the delay of the worker's last round, not measured
#             here)
#   train     train_ms of the new version
#   score     commit of the new version -> hitl.wait returns: the rescoring
#             (every row read and scored, changed rows written in batches,
#             each batch committed) and hitl.wait noticing it
#
# and "rows written": rows of the table whose xmin is newer than the label's
# transaction (the worker's rewrites after the label).  Between two labels
# the script waits until the worker has been idle for longer than
# hitl.retrain_delay (a person takes more than a moment to label a row), so
# that each label is measured on its own and the worker takes it at once.
#
# Configurations, at each size (LABELS labels each, EXTRA_LABELS for the
# last two, which only show where the time goes):
#
#   cv0       cv_folds 0, hitl.retrain_delay 200ms (its default)
#   cv5       cv_folds 5 (the default option): cross-validated metrics
#   cv0-poll  as cv0, but the client does not call hitl.wait: it polls
#             hitl.models every 5 ms (hitl.wait itself wakes the worker)
#   cv0-d0    cv_folds 0, hitl.retrain_delay 0 (since a lone label is
#             taken at once, the same as cv0 but for the wait between labels)
#
# Targets (2 cores): p95 <= 1 s at 100,000 rows, <= 5 s at 1,000,000 rows.
#
# Usage: bash test/bench/latency.sh
#   HITL_BENCH_LATENCY_LABELS (default 20), HITL_BENCH_LATENCY_EXTRA_LABELS
#   (10), HITL_BENCH_LATENCY_SIZES (default "100000 1000000"),
#   HITL_BENCH_STRICT=1 to exit 1 when a target of cv0 or cv5 is missed.

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LABELS=${HITL_BENCH_LATENCY_LABELS:-20}
EXTRA_LABELS=${HITL_BENCH_LATENCY_EXTRA_LABELS:-10}
read -r -a SIZES <<<"${HITL_BENCH_LATENCY_SIZES:-100000 1000000}"
TABLE=bench_latency
MODEL=bench_latency
CONFIGS=(cv0 cv5 cv0-poll cv0-d0)

bench_up_worker hitl_bench_latency
bench_header "hitl benchmark: label -> fresh queue latency (background worker)"
echo "reproduce: bash test/bench/latency.sh"
echo "hitl.naptime = $(bench_sql "SHOW hitl.naptime"), hitl.retrain_delay = $(bench_sql "SHOW hitl.retrain_delay") (defaults), hitl.batch_size = $(bench_sql "SHOW hitl.batch_size")"
echo

# idle_worker: wait until the worker has nothing left to do (the burst delay
# of the last wake-up passed, and it is idle)
idle_worker() {
	local delay_ms tries=0
	delay_ms="$(bench_sql "SELECT (extract(epoch FROM current_setting('hitl.retrain_delay')::interval) * 1000)::int")"
	sleep "$(awk -v d="$delay_ms" 'BEGIN { printf "%.3f", d / 1000 + 0.05 }')"
	until [[ $(bench_worker_state) == idle* ]]; do
		((++tries < 6000)) || bench_die "the hitl worker stayed busy for 10 minutes"
		sleep 0.05
	done
}

# one_label MODE: label the top of the queue, wait until fresh; prints
# "id version total_ms to_train_ms train_ms score_ms iterations rows_written"
one_label() {
	local mode=$1 id prev fresh
	read -r id prev < <(bench_sql "SELECT v.id, m.current_version FROM ${MODEL}_review_queue v, hitl.models m WHERE m.name = '$MODEL' LIMIT 1" | tr '|' ' ')
	[[ -n $id ]] || bench_die "the review queue is empty"
	if [[ $mode == wait ]]; then
		fresh="SELECT hitl.wait('$MODEL', '300 s') AS v, clock_timestamp() AS t_fresh \\gset"
	else
		# what an application could do without hitl.wait: look, without
		# waking the worker, until the label is processed and scored
		fresh="DO \$\$
DECLARE target bigint; n int := 0;
BEGIN
	-- processed_labels counts the model's log entries (ids have gaps)
	SELECT count(*) INTO target FROM hitl.label_log WHERE model = '$MODEL';
	LOOP
		EXIT WHEN EXISTS (SELECT FROM hitl.models WHERE name = '$MODEL'
			AND processed_labels >= target AND scored_version = current_version);
		n := n + 1;
		IF n > 60000 THEN RAISE EXCEPTION 'not fresh after 300 s'; END IF;
		PERFORM pg_sleep(0.005);
	END LOOP;
END \$\$;
SELECT current_version AS v, clock_timestamp() AS t_fresh FROM hitl.models WHERE name = '$MODEL' \\gset"
	fi
	hitl_psql -At <<SQL || bench_die "labeling row $id failed"
SET client_min_messages = warning;
BEGIN;
UPDATE $TABLE t SET label = tr.label FROM ${TABLE}_truth tr WHERE t.id = $id AND tr.id = $id;
SELECT pg_current_xact_id()::text AS xid \\gset
COMMIT;
$fresh
SELECT $id, :v,
	round((extract(epoch FROM :'t_fresh'::timestamptz - pg_xact_commit_timestamp(:'xid'::xid)) * 1000)::numeric, 1),
	round((extract(epoch FROM pg_xact_commit_timestamp(mv.xmin) - pg_xact_commit_timestamp(:'xid'::xid)) * 1000 - mv.train_ms)::numeric, 1),
	round(mv.train_ms::numeric, 1),
	round((extract(epoch FROM :'t_fresh'::timestamptz - pg_xact_commit_timestamp(mv.xmin)) * 1000)::numeric, 1),
	mv.metrics->>'iterations',
	(mv.metrics->>'warm_start')::boolean,
	(SELECT count(*) FROM $TABLE WHERE xmin::text::bigint > :xid),
	:v > $prev
FROM hitl.model_versions mv WHERE mv.model = '$MODEL' AND mv.version = :v;
SQL
}

# run_config SIZE CONFIG: one warm-up label, then LABELS (or EXTRA_LABELS)
# measured ones
run_config() {
	local size=$1 config=$2 mode=wait i n=$LABELS line out="$BENCH_WORK/$1-$2.runs"
	local folds=0
	case $config in
	cv5) folds=5 ;;
	cv0-poll)
		mode=poll
		n=$EXTRA_LABELS
		;;
	cv0-d0)
		bench_set hitl.retrain_delay 0
		n=$EXTRA_LABELS
		;;
	esac
	bench_sql "UPDATE hitl.models SET options = options || '{\"cv_folds\": $folds}' WHERE name = '$MODEL'" >/dev/null
	idle_worker
	echo "-- $size rows, $config ($(bench_sql "SELECT 'cv_folds ' || (options->>'cv_folds') FROM hitl.models WHERE name = '$MODEL'"), hitl.retrain_delay $(bench_sql "SHOW hitl.retrain_delay"), $mode)"
	printf '   %-4s %8s %7s %10s %10s %9s %9s %5s %10s\n' "#" id version "total ms" "to train" train score iter "rows wrtn"
	: >"$out"
	for ((i = 0; i <= n; i++)); do
		line="$(one_label $mode)"
		IFS='|' read -r id v total totrain train score iter warm rows newer <<<"$line"
		[[ $newer == t ]] || bench_die "labeling row $id gave no new version (version $v)"
		[[ $warm == t ]] || bench_die "version $v was not warm-started"
		printf '   %-4s %8s %7s %10s %10s %9s %9s %5s %10s\n' \
			"$([[ $i == 0 ]] && echo warm || echo "$i")" "$id" "$v" "$total" "$totrain" "$train" "$score" "$iter" "$rows"
		[[ $i == 0 ]] || echo "$total $totrain $train $score $rows" >>"$out"
		idle_worker
	done
	if [[ $config == cv0-d0 ]]; then
		bench_set hitl.retrain_delay DEFAULT
	fi
	bench_py latency-summary "$out" >"$BENCH_WORK/$size-$config.summary"
}

for size in "${SIZES[@]}"; do
	echo "== latency: $size rows: building the table and its model (create_model trains and scores) =="
	bench_sql "SELECT hitl.drop_model(name) FROM hitl.models WHERE name = '$MODEL'" >/dev/null
	bench_label_table "$TABLE" "$size"
	bench_sql "SELECT hitl.create_model('$MODEL', '$TABLE', 'label',
			ARRAY['x1','x2','x3','x4','x5'], options => '{\"cv_folds\": 0}')" \
		"VACUUM (FREEZE, ANALYZE) $TABLE" >/dev/null || bench_die "create_model on $size rows failed"
	bench_quiesce "$MODEL"
	echo "labeled: $(bench_sql "SELECT count(label) FROM $TABLE") of $size; queue_size $(bench_sql "SELECT options->>'queue_size' FROM hitl.models WHERE name = '$MODEL'")"
	for config in "${CONFIGS[@]}"; do
		run_config "$size" "$config"
	done
	echo
done

echo "== latency: summary (ms; cv0, cv5: $LABELS labels each, cv0-poll, cv0-d0: $EXTRA_LABELS; to train / train / score: medians; rows: median rows rewritten) =="
printf '%-9s %-9s %9s %9s %9s %9s %9s %9s %10s %s\n' rows config p50 p95 max "to train" train score "rows wrtn" target
missed=0
for size in "${SIZES[@]}"; do
	if ((size >= 1000000)); then target=5000; else target=1000; fi
	for config in "${CONFIGS[@]}"; do
		read -r p50 p95 max totrain train score rows <"$BENCH_WORK/$size-$config.summary"
		verdict="$(awk -v p="$p95" -v t="$target" 'BEGIN { print (p <= t ? "met" : "NOT-MET") }')"
		printf '%-9s %-9s %9s %9s %9s %9s %9s %9s %10s %s\n' "$size" "$config" "$p50" "$p95" "$max" "$totrain" "$train" "$score" "$rows" "p95 <= $target: $verdict"
		if [[ $verdict != met && ($config == cv0 || $config == cv5) ]]; then
			missed=1
		fi
	done
done
echo "(latency: label COMMIT -> scores written and hitl.wait returned; cv0 = cv_folds 0 and cv5 = cv_folds 5"
echo " with hitl.retrain_delay 200ms (default); cv0-poll = the client polls hitl.models instead of calling"
echo " hitl.wait; cv0-d0 = hitl.retrain_delay 0; to train = wake-up + reading the label log)"
for size in "${SIZES[@]}"; do
	awk -v s="$size" -v a="$(cut -d' ' -f1 "$BENCH_WORK/$size-cv5.summary")" -v b="$(cut -d' ' -f1 "$BENCH_WORK/$size-cv0.summary")" \
		-v c="$(cut -d' ' -f1 "$BENCH_WORK/$size-cv0-d0.summary")" -v d="$(cut -d' ' -f1 "$BENCH_WORK/$size-cv0-poll.summary")" \
		'BEGIN { printf "%s rows: p50 ratio cv5 / cv0 %.2f, cv0-d0 / cv0 %.2f, cv0-poll / cv0 %.2f\n", s, a / b, c / b, d / b }'
done

bench_done
if [[ $missed == 1 && ${HITL_BENCH_STRICT:-0} == 1 ]]; then
	bench_die "latency target missed"
fi
