#!/usr/bin/env bash
#
# test/bench/text_latency.sh: label -> fresh queue latency of the background
# worker on a text table (issue 12, target 1): from the COMMIT of one label
# UPDATE until hitl.wait returns, the new version trained and the table
# rescored.  latency.sh measures the same on a numeric table; this script
# measures it the same way (see there for the split of the time).
#
# The table is the synthetic text table of term_cache.sh and text.sh (8
# classes c0..c7, texts of 10-30 words drawn from 5,000), made by the same
# script, test/bench/text_rows.sql, so that they all time the same rows,
# then split: the table the model sees, with 1% of the rows labeled
# (id % 100 = 0), and a hidden truth table holding the class of every row:
#
#   TABLE (id bigint primary key, body text, label text)
#   TABLE_truth (id bigint primary key, label text)
#
# For each size and each algorithm: the previous model dropped with its
# columns, the labels taken back to the 1% of the start, the table
# rewritten (VACUUM FULL), then a model on body with the default options
# (cv_folds 5, buckets 2^18, ...) and the default settings
# (hitl.retrain_delay 200ms), created by hitl.create_model (which fills the
# term cache, trains and scores).  The worker is then ended
# (pg_terminate_backend), so that the labels are processed by a fresh
# process, whose peak memory is that of this configuration alone.  One warm-up label, then
# LABELS measured ones; each labels the top row of the review view with its
# truth, as a person working through the queue, and the script waits until
# the worker has been idle for longer than hitl.retrain_delay before the next
# one (a lone label, which the worker takes at once):
#
#   BEGIN; UPDATE t SET label = <truth> WHERE id = <top of the queue>;
#   SELECT pg_current_xact_id(); COMMIT;
#   SELECT hitl.wait(model, '300 s'), clock_timestamp();
#
# Per label: latency (clock_timestamp() when hitl.wait returned - the
# label's commit timestamp), to train (that commit -> the start of the
# training: wake-up, reading the label log; hitl.retrain_delay only for a
# label within the delay of the worker's last round), train
# (train_ms), score (the new version's commit -> hitl.wait returns), rows
# written (rows whose xmin is newer than the label; the version's stopping
# signal, which the worker computes after the scoring, is not in any of
# them), and the path the
# worker took, from the version's metrics: "incremental" (a naive Bayes
# update from the label log, metrics->>'incremental'), "full" (a full
# training; a logistic text model always trains so, warm-started), or
# "full:<reason>" (a naive Bayes update that fell back to a full training,
# metrics->>'fallback'); and metrics->>'solver' ("-" when the version does
# not record one).  At the end of each configuration: VmHWM (peak resident
# set, shared buffers it touched included) of the database's hitl worker,
# then hitl.score three times with nothing to write (the worker idle): what
# reading and predicting every row costs, the floor of "score".
#
# Targets (issue 12, target 1): at 1,000,000 rows p95 <= 2 s for naive
# Bayes and <= 5 s for logistic regression; at 100,000 rows p95 <= 0.5 s
# for naive Bayes.
#
# Usage: PG_BIN=... bash test/bench/text_latency.sh
#   HITL_BENCH_TEXT_LATENCY_SIZES (default "100000 1000000"),
#   HITL_BENCH_TEXT_LATENCY_LABELS (default 20),
#   HITL_BENCH_TEXT_LATENCY_ALGORITHMS (default "naive_bayes logistic"),
#   HITL_BENCH_TEXT_LATENCY_OPTIONS (the model's options, default '{}'),
#   HITL_BENCH_STRICT=1 to exit 1 when a target is missed.

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LABELS=${HITL_BENCH_TEXT_LATENCY_LABELS:-20}
# model options, for trying others than the defaults (e.g. '{"score_tolerance": 0.01}')
OPTIONS=${HITL_BENCH_TEXT_LATENCY_OPTIONS:-'{}'}
read -r -a SIZES <<<"${HITL_BENCH_TEXT_LATENCY_SIZES:-100000 1000000}"
read -r -a ALGORITHMS <<<"${HITL_BENCH_TEXT_LATENCY_ALGORITHMS:-naive_bayes logistic}"
TABLE=bench_text_latency
MODEL=bench_text_latency

# text_table N: N rows of test/bench/text_rows.sql into TABLE_gen, then
# split into TABLE (1% labeled) and TABLE_truth
text_table() {
	local n=$1
	bench_sql "SELECT hitl.drop_model(name) FROM hitl.models WHERE name = '$MODEL'" \
		"DROP TABLE IF EXISTS $TABLE, ${TABLE}_truth, ${TABLE}_gen CASCADE" \
		"CREATE UNLOGGED TABLE ${TABLE}_gen (id bigint, truth text, body text)" >/dev/null ||
		bench_die "could not create ${TABLE}_gen"
	hitl_psql -q -v table="${TABLE}_gen" -v rows="$n" <"$BENCH_DIR/text_rows.sql" >/dev/null ||
		bench_die "could not generate the texts"
	hitl_psql -q >/dev/null <<SQL || bench_die "could not fill $TABLE"
CREATE TABLE $TABLE (id bigint PRIMARY KEY, body text NOT NULL, label text)
	WITH (autovacuum_enabled = false);
INSERT INTO $TABLE SELECT id, body, CASE WHEN id % 100 = 0 THEN truth END FROM ${TABLE}_gen ORDER BY id;
CREATE TABLE ${TABLE}_truth (id bigint PRIMARY KEY, label text NOT NULL)
	WITH (autovacuum_enabled = false);
INSERT INTO ${TABLE}_truth SELECT id, truth FROM ${TABLE}_gen ORDER BY id;
DROP TABLE ${TABLE}_gen;
VACUUM (FREEZE, ANALYZE) $TABLE, ${TABLE}_truth;
SQL
}

# fresh_model ALGORITHM: drop the model (and its columns), take the labels
# back to the 1% of the start, rewrite the table, create the model
fresh_model() {
	local algorithm=$1
	bench_sql "SELECT hitl.drop_model(name, drop_columns => true) FROM hitl.models WHERE name = '$MODEL'" \
		"UPDATE $TABLE SET label = NULL WHERE label IS NOT NULL AND id % 100 <> 0" \
		"VACUUM FULL $TABLE" "ANALYZE $TABLE" >/dev/null || bench_die "could not reset $TABLE"
	bench_time "SELECT hitl.create_model('$MODEL', '$TABLE', 'label', ARRAY['body'], algorithm => '$algorithm', options => '$OPTIONS')"
	echo "create_model ($algorithm, options $OPTIONS): $BENCH_MS ms (fills the term cache, trains, scores)"
	bench_sql "VACUUM (FREEZE, ANALYZE) $TABLE" "SELECT hitl.wait('$MODEL', '600 s')" >/dev/null ||
		bench_die "hitl.wait('$MODEL') failed"
	stop_worker
}

# stop_worker: end the database's hitl worker, so that the next label's
# worker is a fresh process; the launcher may start one again at once (for
# what the ended one had left to do): wait until it is idle.  Unlike
# bench_quiesce, no worker at all counts as idle (one that had nothing to do
# for hitl.naptime, e.g. during a long create_model, has left).
stop_worker() {
	local old tries=0 state
	old="$(worker_pid)"
	if [[ -n $old ]]; then
		bench_sql "SELECT pg_terminate_backend($old)" >/dev/null
	fi
	while [[ -n $old && $(worker_pid) == "$old" ]]; do
		((++tries < 300)) || bench_die "the hitl worker $old did not leave in 30 s"
		sleep 0.1
	done
	sleep 0.5
	state="$(bench_worker_state)"
	while [[ -n $state && $state != idle* ]]; do
		((++tries < 6000)) || bench_die "the hitl worker stayed busy for 10 minutes"
		sleep 0.1
		state="$(bench_worker_state)"
	done
}

# worker_pid: the database's hitl worker (empty when none runs)
worker_pid() {
	bench_sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND datname = current_database()"
}

# worker_memory PID: "VmHWM ... MB (now RssAnon ... MB, RssShmem ... MB)"
worker_memory() {
	awk '/^(VmHWM|RssAnon|RssShmem):/ { kb[substr($1, 1, length($1) - 1)] = $2 }
		END { printf "VmHWM %.1f MB (now RssAnon %.1f MB, RssShmem %.1f MB)", kb["VmHWM"] / 1024, kb["RssAnon"] / 1024, kb["RssShmem"] / 1024 }' \
		"/proc/$1/status" || echo "unreadable"
}

# label_top: label the top row of the review view and wait until fresh;
# prints "id|version|total|to train|train|score|rows written|path|solver|iterations|newer"
label_top() {
	local id prev
	IFS='|' read -r id prev < <(bench_sql "SELECT q.id, m.current_version FROM ${MODEL}_review_queue q, hitl.models m WHERE m.name = '$MODEL' LIMIT 1")
	[[ -n $id ]] || bench_die "the review queue of $MODEL is empty"
	hitl_psql -At <<SQL || bench_die "labeling row $id failed"
SET client_min_messages = warning;
BEGIN;
UPDATE $TABLE SET label = (SELECT label FROM ${TABLE}_truth WHERE id = $id) WHERE id = $id;
SELECT pg_current_xact_id()::text AS label_xid \\gset
COMMIT;
SELECT hitl.wait('$MODEL', '300 s') AS fresh_version, clock_timestamp() AS fresh_at \\gset
WITH t AS (
	SELECT pg_xact_commit_timestamp(:'label_xid'::xid) AS labeled,
		pg_xact_commit_timestamp(v.xmin) AS recorded, :'fresh_at'::timestamptz AS fresh, v.*
	FROM hitl.model_versions v WHERE v.model = '$MODEL' AND v.version = :fresh_version)
SELECT $id, version,
	round((extract(epoch FROM fresh - labeled) * 1000)::numeric, 1),
	round((extract(epoch FROM recorded - labeled) * 1000 - train_ms)::numeric, 1),
	round(train_ms::numeric, 1),
	round((extract(epoch FROM fresh - recorded) * 1000)::numeric, 1),
	(SELECT count(*) FROM $TABLE WHERE xmin::text::bigint > :label_xid),
	CASE WHEN (metrics->>'incremental')::boolean THEN 'incremental'
		WHEN metrics ? 'fallback' THEN 'full:' || (metrics->>'fallback')
		ELSE 'full' END,
	coalesce(metrics->>'solver', '-'),
	coalesce(metrics->>'iterations', '-'),
	version > $prev
FROM t;
SQL
}

# run_labels SIZE ALGORITHM: the warm-up label and LABELS measured ones
run_labels() {
	local size=$1 algorithm=$2 i pid='' line key="$BENCH_WORK/$1-$2"
	local id v total totrain train score rows path solver iter newer
	printf '   %-4s %8s %7s %10s %9s %9s %9s %10s %-22s %-7s %s\n' \
		"#" id version "total ms" "to train" train score "rows wrtn" path solver iter
	: >"$key.runs"
	: >"$key.paths"
	for ((i = 0; i <= LABELS; i++)); do
		line="$(label_top)"
		IFS='|' read -r id v total totrain train score rows path solver iter newer <<<"$line"
		[[ $newer == t ]] || bench_die "labeling row $id gave no new version (version $v)"
		printf '   %-4s %8s %7s %10s %9s %9s %9s %10s %-22s %-7s %s\n' \
			"$( ((i == 0)) && echo warm || echo "$i")" "$id" "$v" "$total" "$totrain" "$train" "$score" "$rows" "$path" "$solver" "$iter"
		if ((i > 0)); then
			echo "$total $totrain $train $score $rows" >>"$key.runs"
			echo "$path $solver" >>"$key.paths"
		fi
		bench_quiesce "$MODEL"
		if ((i == 0)); then
			pid="$(worker_pid)"
		fi
	done
	bench_py latency-summary "$key.runs" >"$key.summary"
	# the path(s) taken, e.g. "incremental x20", and the solver(s)
	sort "$key.paths" | uniq -c | awk '{ printf "%s%s x%d", (NR > 1 ? ", " : ""), $2, $1 }' >"$key.path"
	sort -u -k2,2 "$key.paths" | awk '{ printf "%s%s", (NR > 1 ? "," : ""), $2 }' >"$key.solver"
	if [[ -z $pid || $(worker_pid) != "$pid" ]]; then
		echo "n/a (the worker of the first label, ${pid:-none}, is gone)" >"$key.memory"
	else
		worker_memory "$pid" >"$key.memory"
	fi
	echo "   path: $(cat "$key.path"); solver: $(cat "$key.solver")"
	echo "   hitl worker (pid $pid, started by the warm-up label): $(cat "$key.memory")"
	rescore_floor "$key"
}

# rescore_floor KEY: the worker idle, hitl.score three times with nothing
# to write (psql's wall time): the reading and predicting of every row that
# the score column holds, without the writes
rescore_floor() {
	local all=() i
	for ((i = 0; i < 3; i++)); do
		bench_time "SELECT hitl.score('$MODEL')"
		all+=("$BENCH_MS")
		[[ $BENCH_OUT == 0 ]] || bench_die "hitl.score('$MODEL') wrote $BENCH_OUT rows, none expected"
	done
	bench_median "${all[@]}" >"$1.rescore"
	echo "   rescoring with nothing to write (hitl.score, 0 rows written): ${all[*]} ms, median $(cat "$1.rescore")"
}

# target SIZE ALGORITHM: the p95 target in ms, empty when there is none
target() {
	case "$1 $2" in
	"100000 naive_bayes") echo 500 ;;
	"1000000 naive_bayes") echo 2000 ;;
	"1000000 logistic") echo 5000 ;;
	esac
}

# summary_row SIZE ALGORITHM: its line of the summary; returns 1 when its
# target is missed
summary_row() {
	local p50 p95 max totrain train score rows goal verdict status=0
	read -r p50 p95 max totrain train score rows <"$BENCH_WORK/$1-$2.summary"
	goal="$(target "$1" "$2")"
	if [[ -z $goal ]]; then
		verdict="(no target)"
	elif awk -v p="$p95" -v t="$goal" 'BEGIN { exit !(p <= t) }'; then
		verdict="p95 <= $goal: met"
	else
		verdict="p95 <= $goal: NOT MET"
		status=1
	fi
	printf '%-9s %-12s %8s %8s %8s %9s %8s %8s %10s  %s\n' "$1" "$2" "$p50" "$p95" "$max" "$totrain" "$train" "$score" "$rows" "$verdict"
	return $status
}

bench_up_worker hitl_bench_text_latency
bench_header "hitl benchmark: label -> fresh queue latency on a text table (background worker)"
echo "reproduce: PG_BIN=<bin> HITL_BENCH_TEXT_LATENCY_SIZES=\"${SIZES[*]}\" bash test/bench/text_latency.sh"
echo "hitl.naptime = $(bench_sql "SHOW hitl.naptime"), hitl.retrain_delay = $(bench_sql "SHOW hitl.retrain_delay"), hitl.batch_size = $(bench_sql "SHOW hitl.batch_size") (defaults)"

DONE=()
missed=0
for size in "${SIZES[@]}"; do
	echo
	echo "== text latency: $size rows: building the table (term_cache.sh's texts, 1% labeled) =="
	t0=$SECONDS
	text_table "$size"
	echo "built in $((SECONDS - t0)) s; $(bench_sql "SELECT pg_size_pretty(pg_table_size('$TABLE'))")"
	for algorithm in "${ALGORITHMS[@]}"; do
		echo "-- $size rows, $algorithm"
		fresh_model "$algorithm"
		echo "   labeled $(bench_sql "SELECT count(label) FROM $TABLE") of $size; options $(bench_sql "SELECT options FROM hitl.models WHERE name = '$MODEL'")"
		echo "   version $(bench_sql "SELECT current_version FROM hitl.models WHERE name = '$MODEL'"): $(bench_sql "SELECT format('train_ms %s, metrics: incremental %s, solver %s, cv_folds %s', round(train_ms::numeric), metrics->>'incremental', coalesce(metrics->>'solver', '-'), coalesce(metrics->>'cv_folds', '-')) FROM hitl.model_versions v JOIN hitl.models m ON m.name = v.model AND m.current_version = v.version WHERE m.name = '$MODEL'")"
		run_labels "$size" "$algorithm"
		DONE+=("$size $algorithm")
	done
done
echo

echo "== text latency: summary (ms; $LABELS labels each after one warm-up; to train / train / score: medians; rows: median rows rewritten) =="
printf '%-9s %-12s %8s %8s %8s %9s %8s %8s %10s  %s\n' rows algorithm p50 p95 max "to train" train score "rows wrtn" target
for config in "${DONE[@]}"; do
	# shellcheck disable=SC2086 # "SIZE ALGORITHM"
	summary_row $config || missed=1
done
echo
echo "path taken by the worker (from the versions' metrics), solver, the rescoring alone (median of 3), peak memory of the hitl worker:"
for config in "${DONE[@]}"; do
	printf '%-9s %-12s %s; solver %s; rescoring with nothing to write %s ms; %s\n' "${config% *}" "${config#* }" \
		"$(cat "$BENCH_WORK/${config/ /-}.path")" "$(cat "$BENCH_WORK/${config/ /-}.solver")" \
		"$(cat "$BENCH_WORK/${config/ /-}.rescore")" "$(cat "$BENCH_WORK/${config/ /-}.memory")"
done
echo "(latency: label COMMIT -> new version trained, table rescored and hitl.wait returned; default options"
echo " (cv_folds 5) and hitl.retrain_delay 200ms; to train = wake-up + reading the label log (+ retrain_delay for a label within it of the last round))"

bench_done
if [[ $missed == 1 && ${HITL_BENCH_STRICT:-0} == 1 ]]; then
	bench_die "text latency target missed"
fi
