#!/usr/bin/env bash
#
# test/bench/citus_latency.sh: a model on a Citus distributed table against
# the same model on the same rows in a plain table on one server.
#
# Four private servers on this machine, each run by the non-root test user:
# a Citus coordinator and two worker nodes (shared_preload_libraries =
# 'citus,hitl', citus.enable_statistics_collection = off, citus and hitl
# created on each, the workers added with citus_add_node, the coordinator
# known by citus_set_coordinator_host; the nodes reach each other over TCP
# on 127.0.0.1, as Citus' connections go between real machines, with
# Citus' default citus.node_conninfo, sslmode=require), and one plain
# server (shared_preload_libraries = 'hitl').  Every server has the
# benchmark settings of lib.sh (shared_buffers 512MB, autovacuum off, ...),
# track_commit_timestamp = on and every hitl.* setting at its default.
#
# The rows: ROWS (100,000) rows, id bigint primary key, 16 float8 features
# x1..x16 at zero or more on four scales (naive Bayes wants them so), label
# text; four classes a..d from a noisy rule of the features; 1% labeled
# (id % 100 = 0).  The class of every row is in a local table beside it
# (items_truth).  On the plain server `items` is a plain table; on the
# coordinator it is distributed by id into 32 shards (citus.shard_count)
# over the two worker nodes.  Both are filled from the same generated rows
# (setseed), so they hold the same values.
#
# 1. Label -> fresh queue.  For each algorithm (logistic, naive_bayes), on
# the plain table and on the distributed one with hitl.citus_poll_interval
# at 1000 ms (its default) and at 200 ms (ALTER SYSTEM + reload on the
# coordinator): a model on x1..x16 with the default options but
# evaluation_rate 0 (a model on a distributed table draws no evaluation
# rows; with 0 both queues rank by uncertainty alone), made by
# hitl.create_model, then one warm-up label and LABELS (20) measured ones.
# Each labels the top row of the review view with its truth, as a person
# working through the queue:
#
#   BEGIN; UPDATE items SET label = <truth> WHERE id = <top of the queue>;
#   SELECT pg_current_xact_id(); COMMIT;
#   SELECT hitl.wait(model, '120 s'), clock_timestamp();
#
# Latency: clock_timestamp() when hitl.wait returned - the label's commit
# timestamp (on the coordinator for the distributed table: Citus commits
# the shard's change before the coordinator's own transaction).  Split as
# in latency.sh: to train (that commit -> the start of the training: the
# wake-up; on the distributed table also the wait for the coordinator's
# next look at the worker nodes' label logs, every
# hitl.citus_poll_interval), train (train_ms), score (the version's commit
# -> hitl.wait returns: the rescoring, on the distributed table one UPDATE
# that Citus sends to every shard, and the queue).  Between two labels the
# script waits until the model is fresh, sleeps hitl.retrain_delay and
# 0.2 s, waits until its server's hitl worker is idle, sleeps
# hitl.retrain_delay and 0.2 s again, then a pause drawn at random
# between 0 and 1 s (the same draws for every configuration), so that a
# label falls anywhere in the coordinator's polling period, as a person's
# does.  p50 / p95 / max, the medians of the split, the path the worker
# took (incremental naive Bayes update or full training), and the ratio
# distributed / plain of p50 and p95.  A model is dropped before the next
# is made: one model at a time per server.
#
# The worker's state is also timed after hitl.wait returns: how long it
# stays busy once the queue is fresh ("busy": the version's stopping
# signal, its cross-validation), which bounds how fast a person may label
# before labels wait on each other.
#
# 2. Bytes a training moves to the coordinator.  On the distributed table,
# with hitl.enabled off (the worker stays out), a naive Bayes and a
# logistic model with cv_folds 0 (made by create_model, which trains and
# scores them), then two SELECT hitl.train(model) each, after one new
# label each, in a session of its own on the coordinator with
# citus.max_adaptive_executor_pool_size = 1 (one connection per worker
# node, which Citus keeps for the session): the kernel's byte counters of
# that backend's TCP connections to the worker nodes (ss -tinp:
# bytes_received, bytes_sent), before and after the training.  They
# count the protocol and TLS framing, and everything the call does (the
# pull of the label logs, ...); connections the training would open and
# close on its own escape them, so the script prints how many the
# backend had before and after.  A naive Bayes training adds the labeled
# rows up on the shards (hitl._nb_sums, hitl._nb_eval: partial states per
# shard); a logistic one reads the labeled rows through Citus.  The first
# training after create_model also computes the stopping signal, whose
# sample query (ORDER BY ... LIMIT 10000) Citus runs on every shard: each
# sends up to 10,000 rows.  The first logistic training runs with
# auto_explain (log_analyze, log_nested_statements), whose plans in the
# coordinator's log give Citus' "Tuple data received from nodes" per
# statement; EXPLAIN ANALYZE of the naive Bayes aggregates fails in Citus
# 13 (their partial state is a cstring), so naive Bayes has no such
# breakdown.  For scale, the text of the labeled rows (octet_length of
# row::text, summed on every shard with run_command_on_shards).
#
# Not measured: the worker nodes' CPU and the coordinator's; labels from
# many people at once (annotators.sh does that on one server).
#
# Usage: bash test/bench/citus_latency.sh      (as root, or as a user who
#   can install into the system PostgreSQL 15)
#   HITL_BENCH_CITUS_ROWS (default 100000; 1000000 for the large run),
#   HITL_BENCH_CITUS_LABELS (default 20),
#   HITL_BENCH_CITUS_POLLS (default "1000 200": hitl.citus_poll_interval, ms),
#   HITL_BENCH_CITUS_ALGORITHMS (default "logistic naive_bayes"; empty:
#   the bytes of part 2 only),
#   HITL_BENCH_CITUS_PORT (default 55431: the coordinator; the worker nodes
#   and the plain server take the next three ports on 127.0.0.1).

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROWS=${HITL_BENCH_CITUS_ROWS:-100000}
LABELS=${HITL_BENCH_CITUS_LABELS:-20}
read -r -a POLLS <<<"${HITL_BENCH_CITUS_POLLS-1000 200}"
read -r -a ALGORITHMS <<<"${HITL_BENCH_CITUS_ALGORITHMS-logistic naive_bayes}"
PORT0=${HITL_BENCH_CITUS_PORT:-55431}
SHARDS=32
DB=hitl_bench_citus
TABLE=items
MODEL=bench_citus
OPTIONS='{"evaluation_rate": 0}'
FEATURES="x1,x2,x3,x4,x5,x6,x7,x8,x9,x10,x11,x12,x13,x14,x15,x16"
FEATURE_ARRAY="ARRAY['${FEATURES//,/\',\'}']"

# node_port NODE: coord, w1, w2, plain
node_port() {
	case $1 in
	coord) echo "$PORT0" ;;
	w1) echo $((PORT0 + 1)) ;;
	w2) echo $((PORT0 + 2)) ;;
	plain) echo $((PORT0 + 3)) ;;
	*) bench_die "no node $1" ;;
	esac
}

# on NODE CMD...: run a command (bench_sql, hitl_psql, ...) against NODE's database
on() {
	local node=$1
	shift
	PGPORT="$(node_port "$node")" PGDATABASE=$DB "$@"
}

# start_node NODE PRELOAD: initdb and start a server of the benchmark
start_node() {
	local node=$1 preload=$2 dir port
	dir="$HITL_TMPDIR/$node"
	port="$(node_port "$node")"
	hitl_as_user "$PG_BIN/initdb" -D "$dir" -A trust --no-locale -E UTF8 --no-sync \
		>"$HITL_LOG_DIR/initdb-$node.log" 2>&1 || bench_die "initdb of $node failed"
	{
		echo
		echo "# test/bench/citus_latency.sh"
		echo "listen_addresses = '127.0.0.1'"
		echo "unix_socket_directories = '$HITL_TMPDIR'"
		echo "port = $port"
		echo "shared_preload_libraries = '$preload'"
		echo "max_worker_processes = 16"
		echo "track_commit_timestamp = on"
		if [[ $preload == citus* ]]; then
			echo "citus.enable_statistics_collection = off"
		fi
		printf '%s\n' "${HITL_PG_CONF:-$BENCH_PG_CONF_DEFAULT}"
	} >>"$dir/postgresql.conf"
	hitl_as_user env OPENBLAS_NUM_THREADS=1 "$PG_BIN/pg_ctl" -D "$dir" -l "$HITL_LOG_DIR/$node.log" \
		-w -t 60 start >/dev/null 2>&1 || {
		tail -n 20 "$HITL_LOG_DIR/$node.log" >&2
		bench_die "$node did not start"
	}
}

# setup: build and install hitl, Citus when missing, start the four servers
setup() {
	local port node
	hitl_ensure_deps iproute2 || bench_die "missing packages"
	hitl_setup_user || bench_die "no test user"
	hitl_workdir_init || bench_die "no work dir"
	bench_note_revision
	hitl_copy_src || bench_die "could not copy the working tree"
	hitl_build_install || bench_die "could not build and install hitl"
	if [[ ! -f $("$PG_CONFIG" --pkglibdir)/citus.so ]]; then
		# shellcheck source=test/lib/servers.sh
		source "$BENCH_DIR/../lib/servers.sh"
		# shellcheck source=test/lib/citus.sh
		source "$BENCH_DIR/../lib/citus.sh"
		hitl_citus_ensure "$PG_CONFIG" || bench_die "Citus is not installed and could not be built"
		hitl_citus_install "$PG_CONFIG" || bench_die "Citus could not be installed"
	fi
	for node in coord w1 w2 plain; do
		port="$(node_port "$node")"
		if ss -Hltn "sport = :$port" | grep -q .; then
			bench_die "port $port (for $node) is taken on 127.0.0.1: set HITL_BENCH_CITUS_PORT"
		fi
	done
	PGHOST="$HITL_TMPDIR"
	PGUSER="$HITL_USER"
	export PGHOST PGUSER
	for node in coord w1 w2; do
		start_node "$node" citus,hitl
	done
	start_node plain hitl
	BENCH_WORK="$(hitl_as_user mktemp -d "$HITL_TMPDIR/bench.XXXXXX")" || bench_die "mktemp failed"
	chmod 777 "$BENCH_WORK"
	for node in coord w1 w2; do
		on "$node" hitl_create_db "$DB" citus hitl || bench_die "could not create $DB on $node"
	done
	on plain hitl_create_db "$DB" hitl || bench_die "could not create $DB on plain"
	on coord bench_sql "SELECT citus_set_coordinator_host('127.0.0.1', $(node_port coord))" \
		"SELECT citus_add_node('127.0.0.1', $(node_port w1))" \
		"SELECT citus_add_node('127.0.0.1', $(node_port w2))" >/dev/null ||
		bench_die "could not add the worker nodes"
}

# fill NODE: the rows (the same on every server: setseed), the truth beside
# them; on the coordinator the table is distributed first (32 shards)
fill() {
	local node=$1 distribute=''
	if [[ $node == coord ]]; then
		distribute="SET citus.shard_count = $SHARDS; SELECT create_distributed_table('$TABLE', 'id');"
	fi
	on "$node" hitl_psql -q >/dev/null <<SQL || bench_die "could not fill $TABLE on $node"
SET client_min_messages = warning;
CREATE UNLOGGED TABLE ${TABLE}_gen AS
SELECT g AS id,
	random() AS x1, random() AS x2, random() AS x3, random() AS x4,
	random() * 10 AS x5, random() * 10 AS x6, random() * 10 AS x7, random() * 10 AS x8,
	random() * 100 AS x9, random() * 100 AS x10, random() * 100 AS x11, random() * 100 AS x12,
	random() * 2 AS x13, random() * 2 AS x14, random() * 2 AS x15, random() * 2 AS x16,
	random() AS n1, random() AS n2, random() AS n3
FROM (SELECT setseed(0.1618)) s, generate_series(1, $ROWS) g;
CREATE TABLE ${TABLE}_truth (id bigint PRIMARY KEY, label text NOT NULL) WITH (autovacuum_enabled = false);
INSERT INTO ${TABLE}_truth
SELECT id, CASE
	WHEN x1 + 0.5 * x2 + 0.4 * (n1 - 0.5) > 0.9 THEN 'a'
	WHEN x2 - x1 + x5 / 10 + 0.4 * (n2 - 0.5) > 0.6 THEN 'b'
	WHEN x9 / 100 + x13 / 2 + 0.4 * (n3 - 0.5) > 1.0 THEN 'c'
	ELSE 'd' END
FROM ${TABLE}_gen ORDER BY id;
CREATE TABLE $TABLE (id bigint PRIMARY KEY,
	x1 float8, x2 float8, x3 float8, x4 float8, x5 float8, x6 float8, x7 float8, x8 float8,
	x9 float8, x10 float8, x11 float8, x12 float8, x13 float8, x14 float8, x15 float8, x16 float8,
	label text) WITH (autovacuum_enabled = false);
$distribute
INSERT INTO $TABLE
SELECT g.id, $FEATURES, CASE WHEN g.id % 100 = 0 THEN t.label END
FROM ${TABLE}_gen g JOIN ${TABLE}_truth t USING (id) ORDER BY g.id;
DROP TABLE ${TABLE}_gen;
VACUUM (FREEZE, ANALYZE) $TABLE;
VACUUM (FREEZE, ANALYZE) ${TABLE}_truth;
SQL
}

# worker_state NODE: its database's hitl worker's state and query (empty: none)
worker_state() {
	on "$1" bench_sql "SELECT coalesce(state, '?') || ' ' || coalesce(query, '') FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND datname = current_database()"
}

# quiesce NODE MODEL: the model fresh, the worker idle, then retrain_delay
# and 0.2 s more.  (lib.sh's bench_quiesce also waits for the worker to
# stay idle past the delay, which a coordinator polling every 200 ms never
# does.)
quiesce() {
	local node=$1 model=$2 tries=0 delay_ms state
	on "$node" bench_sql "SELECT hitl.wait('$model', '600 s')" >/dev/null || bench_die "hitl.wait('$model') failed on $node"
	delay_ms="$(on "$node" bench_sql "SELECT (extract(epoch FROM current_setting('hitl.retrain_delay')::interval) * 1000)::int")"
	sleep "$(awk -v d="$delay_ms" 'BEGIN { printf "%.3f", d / 1000 + 0.2 }')"
	while state="$(worker_state "$node")" && [[ -n $state && $state != idle* ]]; do
		((++tries < 12000)) || bench_die "the hitl worker of $node stayed busy for 10 minutes"
		sleep 0.05
	done
	sleep "$(awk -v d="$delay_ms" 'BEGIN { printf "%.3f", d / 1000 + 0.2 }')"
}

# label_top NODE: label the top row of the review view with its truth, wait
# until fresh; prints "id|version|total|to train|train|score|path|newer"
label_top() {
	local node=$1 id prev truth
	IFS='|' read -r id prev < <(on "$node" bench_sql "SELECT (SELECT q.id FROM ${MODEL}_review_queue q LIMIT 1), (SELECT current_version FROM hitl.models WHERE name = '$MODEL')")
	[[ -n $id ]] || bench_die "the review queue of $MODEL on $node is empty"
	truth="$(on "$node" bench_sql "SELECT label FROM ${TABLE}_truth WHERE id = $id")"
	on "$node" hitl_psql -At <<SQL || bench_die "labeling row $id on $node failed"
SET client_min_messages = warning;
BEGIN;
UPDATE $TABLE SET label = '$truth' WHERE id = $id;
SELECT pg_current_xact_id()::text AS label_xid \\gset
COMMIT;
SELECT hitl.wait('$MODEL', '120 s') AS fresh_version, clock_timestamp() AS fresh_at \\gset
WITH t AS (
	SELECT pg_xact_commit_timestamp(:'label_xid'::xid) AS labeled,
		pg_xact_commit_timestamp(v.xmin) AS recorded, :'fresh_at'::timestamptz AS fresh, v.*
	FROM hitl.model_versions v WHERE v.model = '$MODEL' AND v.version = :fresh_version)
SELECT $id, version,
	round((extract(epoch FROM fresh - labeled) * 1000)::numeric, 1),
	round((extract(epoch FROM recorded - labeled) * 1000 - train_ms)::numeric, 1),
	round(train_ms::numeric, 1),
	round((extract(epoch FROM fresh - recorded) * 1000)::numeric, 1),
	CASE WHEN (metrics->>'incremental')::boolean THEN 'incremental'
		WHEN metrics ? 'fallback' THEN 'full:' || (metrics->>'fallback')
		ELSE 'full' END,
	version > $prev
FROM t;
SQL
}

# busy_after NODE: ms from now (hitl.wait just returned) until the node's
# hitl worker reports idle: what it does once the queue is fresh (the
# version's stopping signal, its cross-validation)
busy_after() {
	local t0 tries=0 state
	t0=$(date +%s%N)
	while state="$(worker_state "$1")" && [[ -n $state && $state != idle* ]]; do
		((++tries < 30000)) || bench_die "the hitl worker of $1 stayed busy for 10 minutes"
		sleep 0.02
	done
	echo $((($(date +%s%N) - t0) / 1000000))
}

# run_config KEY NODE ALGORITHM: make the model, the warm-up label and
# LABELS measured ones, drop the model
run_config() {
	local key=$1 node=$2 algorithm=$3 i line id v total totrain train score path newer busy
	on "$node" bench_time "SELECT hitl.create_model('$MODEL', '$TABLE', 'label', $FEATURE_ARRAY, algorithm => '$algorithm', options => '$OPTIONS')"
	echo "   create_model: $BENCH_MS ms (trains, scores $ROWS rows)"
	quiesce "$node" "$MODEL"
	printf '   %-4s %8s %7s %10s %9s %9s %9s %9s  %s\n' "#" id version "total ms" "to train" train score "busy ms" path
	: >"$BENCH_WORK/$key.runs"
	: >"$BENCH_WORK/$key.busy"
	: >"$BENCH_WORK/$key.paths"
	RANDOM=4242
	for ((i = 0; i <= LABELS; i++)); do
		line="$(label_top "$node")"
		IFS='|' read -r id v total totrain train score path newer <<<"$line"
		[[ $newer == t ]] || bench_die "labeling row $id on $node gave no new version (version $v)"
		busy="$(busy_after "$node")"
		printf '   %-4s %8s %7s %10s %9s %9s %9s %9s  %s\n' \
			"$( ((i == 0)) && echo warm || echo "$i")" "$id" "$v" "$total" "$totrain" "$train" "$score" "$busy" "$path"
		if ((i > 0)); then
			echo "$total $totrain $train $score 0" >>"$BENCH_WORK/$key.runs"
			echo "$busy" >>"$BENCH_WORK/$key.busy"
			echo "$path" >>"$BENCH_WORK/$key.paths"
		fi
		quiesce "$node" "$MODEL"
		# anywhere in the coordinator's polling period (the same draws each time)
		sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", r / 32768 }')"
	done
	bench_py latency-summary "$BENCH_WORK/$key.runs" >"$BENCH_WORK/$key.summary"
	# shellcheck disable=SC2046 # one number a line
	bench_median $(cat "$BENCH_WORK/$key.busy") >"$BENCH_WORK/$key.busymed"
	sort "$BENCH_WORK/$key.paths" | uniq -c | awk '{ printf "%s%s x%d", (NR > 1 ? ", " : ""), $2, $1 }' >"$BENCH_WORK/$key.path"
	echo "   path: $(cat "$BENCH_WORK/$key.path")"
	on "$node" bench_sql "SELECT hitl.drop_model('$MODEL', drop_columns => true)" >/dev/null ||
		bench_die "could not drop $MODEL on $node"
}

# set_poll MS: hitl.citus_poll_interval on the coordinator
set_poll() {
	on coord bench_sql "ALTER SYSTEM SET hitl.citus_poll_interval = '$1ms'" "SELECT pg_reload_conf()" >/dev/null ||
		bench_die "could not set hitl.citus_poll_interval"
	sleep 0.5
	[[ $(on coord bench_sql "SHOW hitl.citus_poll_interval") == "$1ms" ]] ||
		[[ $(on coord bench_sql "SELECT current_setting('hitl.citus_poll_interval')") == "$(awk -v m="$1" 'BEGIN { if (m % 1000 == 0) print m / 1000 "s"; else print m "ms" }')" ]] ||
		bench_die "hitl.citus_poll_interval is $(on coord bench_sql "SHOW hitl.citus_poll_interval"), not $1 ms"
}

# ss_bytes FILE PID: "sockets sent received" of PID's TCP connections in an
# `ss -tinpH` listing
ss_bytes() {
	awk -v pid="pid=$2," '
		index($0, pid) { take = 1; next }
		take {
			if (match($0, /bytes_sent:[0-9]+/)) sent += substr($0, RSTART + 11, RLENGTH - 11)
			if (match($0, /bytes_received:[0-9]+/)) recv += substr($0, RSTART + 15, RLENGTH - 15)
			n++; take = 0
		}
		END { printf "%d %d %d\n", n, sent, recv }' "$1"
}

# train_bytes MODEL ID [--explain]: one SELECT hitl.train(MODEL) on the
# coordinator, after a new label (row ID), in a session with one connection per
# worker node; prints "ms sockets_before sockets_after sent received" of
# that backend's connections to the worker nodes.  With --explain,
# auto_explain logs the plans of the training's statements (ANALYZE).
train_bytes() {
	local model=$1 id=$2 explain='' filter before after ms pid n0 s0 r0 n1 s1 r1
	filter="( dport = :$(node_port w1) or dport = :$(node_port w2) )"
	before="$BENCH_WORK/bytes-$model.before"
	after="$BENCH_WORK/bytes-$model.after"
	if [[ ${3:-} == --explain ]]; then
		explain="LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_verbose = on;"
	fi
	# a label the current version has not seen: the training makes a new one
	on coord bench_sql "UPDATE $TABLE SET label = '$(on coord bench_sql "SELECT label FROM ${TABLE}_truth WHERE id = $id")' WHERE id = $id" >/dev/null ||
		bench_die "could not label row $id for $model"
	on coord hitl_psql -At >"$BENCH_WORK/bytes-$model.out" <<SQL || bench_die "the training of $model failed"
SET client_min_messages = warning;
SET citus.max_adaptive_executor_pool_size = 1;
SELECT count(*) FROM $TABLE;
SELECT pg_backend_pid() AS pid \\gset
\\echo pid :pid
$explain
\\! ss -tinpH state established '$filter' >$before
SELECT clock_timestamp() AS t0 \\gset
SELECT hitl.train('$model') AS version \\gset
SELECT round((extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000)::numeric, 1) AS ms \\gset
\\! ss -tinpH state established '$filter' >$after
\\echo ms :ms
SQL
	pid="$(sed -n 's/^pid //p' "$BENCH_WORK/bytes-$model.out")"
	ms="$(sed -n 's/^ms //p' "$BENCH_WORK/bytes-$model.out")"
	read -r n0 s0 r0 < <(ss_bytes "$before" "$pid")
	read -r n1 s1 r1 < <(ss_bytes "$after" "$pid")
	echo "$ms $n0 $n1 $((s1 - s0)) $((r1 - r0))"
}

# explain_bytes FROM_LINE: the statements of the coordinator's log from
# that line on whose plans say how many bytes Citus received
explain_bytes() {
	tail -n +"$1" "$HITL_LOG_DIR/coord.log" | awk '
		/Query Text:/ { q = $0; sub(/.*Query Text: */, "", q); q = substr(q, 1, 110) }
		/Tuple data received from nodes:/ { v = $0; sub(/.*nodes: */, "", v); printf "   %10s  %s\n", v, q }'
}

bytes_part() {
	local nb lr ms n0 n1 sent recv from labeled rowtext id round how
	echo
	echo "== bytes a training moves between the coordinator and the worker nodes ($ROWS rows, 32 shards) =="
	on coord bench_sql "ALTER SYSTEM SET hitl.enabled = off" "SELECT pg_reload_conf()" >/dev/null
	sleep 0.5
	for algorithm in naive_bayes logistic; do
		on coord bench_sql "SELECT hitl.create_model('bytes_$algorithm', '$TABLE', 'label', $FEATURE_ARRAY, 'bytes_${algorithm}_p', 'bytes_${algorithm}_c', 'bytes_${algorithm}_u', algorithm => '$algorithm', options => '{\"cv_folds\": 0, \"evaluation_rate\": 0}')" >/dev/null ||
			bench_die "could not create bytes_$algorithm"
	done
	labeled="$(on coord bench_sql "SELECT count(label) FROM $TABLE")"
	# the text of the labeled rows, as a training that reads them asks for them
	rowtext="$(on coord bench_sql "SELECT sum(result::bigint) FROM run_command_on_shards('$TABLE', \$\$SELECT coalesce(sum(octet_length(t::text)), 0) FROM %s t WHERE label IS NOT NULL\$\$)")"
	printf '%-13s %-15s %-32s %9s %9s %12s %10s\n' model training "hitl.train after create_model" "wall ms" sockets "received B" "sent B"
	id=$((ROWS / 2 + 1))
	for algorithm in naive_bayes logistic; do
		# the first training after create_model, then a second one
		for round in 1 2; do
			if [[ $algorithm == logistic && $round == 1 ]]; then
				from=$(($(wc -l <"$HITL_LOG_DIR/coord.log") + 1))
				read -r ms n0 n1 sent recv < <(train_bytes "bytes_$algorithm" $((id++)) --explain)
			else
				read -r ms n0 n1 sent recv < <(train_bytes "bytes_$algorithm" $((id++)))
			fi
			how="$(on coord bench_sql "SELECT CASE WHEN (metrics->>'aggregates')::boolean THEN 'by aggregates' ELSE 'reads the rows' END FROM hitl.model_versions v JOIN hitl.models m ON m.name = v.model AND v.version = m.current_version WHERE m.name = 'bytes_$algorithm'")"
			printf '%-13s %-15s %-32s %9s %9s %12s %10s\n' "$algorithm" "$how" "$( ((round == 1)) && echo first || echo second)" "$ms" "$n0 -> $n1" "$recv" "$sent"
			echo "$recv" >"$BENCH_WORK/bytes-$algorithm-$round.recv"
			[[ $n0 == "$n1" && $n0 -gt 0 ]] || echo "   (the backend's connections changed during the training: what closed ones moved is not counted)"
		done
	done
	nb="$(cat "$BENCH_WORK/bytes-naive_bayes-2.recv")"
	lr="$(cat "$BENCH_WORK/bytes-logistic-2.recv")"
	echo "received, naive Bayes / logistic: first training $(awk -v a="$(cat "$BENCH_WORK/bytes-naive_bayes-1.recv")" -v b="$(cat "$BENCH_WORK/bytes-logistic-1.recv")" 'BEGIN { printf "%.3f", a / b }'), second $(awk -v a="$nb" -v b="$lr" 'BEGIN { printf "%.3f", a / b }')"
	echo "for scale: $labeled labeled rows, whose text (octet_length(row::text), summed on the shards) is $rowtext bytes"
	echo
	echo "(the first logistic training ran with auto_explain, which slows it and adds the nodes' plans to what moves, a few tens of kB)"
	echo
	echo "where the first logistic training moved its bytes (auto_explain: \"Tuple data received from nodes\" per statement;"
	echo "not available for naive Bayes: EXPLAIN ANALYZE of its aggregates fails in Citus on their partial state, a cstring):"
	explain_bytes "$from"
	on coord bench_sql "ALTER SYSTEM RESET hitl.enabled" "SELECT pg_reload_conf()" >/dev/null
}

setup
PGPORT="$(node_port coord)" PGDATABASE=$DB bench_header "hitl benchmark: label -> fresh queue on a Citus distributed table against a plain one"
echo "reproduce: HITL_BENCH_CITUS_ROWS=$ROWS HITL_BENCH_CITUS_LABELS=$LABELS bash test/bench/citus_latency.sh"
echo "Citus $(on coord bench_sql "SELECT extversion FROM pg_extension WHERE extname = 'citus'"); coordinator + 2 worker nodes over TCP on 127.0.0.1 (citus.node_conninfo '$(on coord bench_sql "SHOW citus.node_conninfo")', ssl $(on w1 bench_sql "SHOW ssl")); $SHARDS shards"
echo "hitl.naptime = $(on coord bench_sql "SHOW hitl.naptime"), hitl.retrain_delay = $(on coord bench_sql "SHOW hitl.retrain_delay"), hitl.citus_poll_interval = $(on coord bench_sql "SHOW hitl.citus_poll_interval") (defaults); model options $OPTIONS"

echo
echo "== building $ROWS rows (16 features, 4 classes, 1% labeled) on the plain server and on the coordinator =="
t0=$SECONDS
fill plain
fill coord
echo "built in $((SECONDS - t0)) s; plain: $(on plain bench_sql "SELECT pg_size_pretty(pg_table_size('$TABLE'))"), distributed: $(on coord bench_sql "SELECT pg_size_pretty(citus_table_size('$TABLE'))") in $(on coord bench_sql "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = '$TABLE'::regclass") shards on $(on coord bench_sql "SELECT count(DISTINCT nodeport) FROM citus_shards WHERE table_name = '$TABLE'::regclass") nodes"
[[ $(on plain bench_sql "SELECT sum(hashtext(t::text)::bigint) FROM $TABLE t") == $(on coord bench_sql "SELECT sum(hashtext(t::text)::bigint) FROM $TABLE t") ]] ||
	bench_die "the plain and the distributed table do not hold the same rows"

CONFIGS=()
for algorithm in "${ALGORITHMS[@]}"; do
	echo
	echo "-- plain table, $algorithm"
	run_config "plain-$algorithm" plain "$algorithm"
	CONFIGS+=("plain-$algorithm")
done
for poll in "${POLLS[@]}"; do
	set_poll "$poll"
	for algorithm in "${ALGORITHMS[@]}"; do
		echo
		echo "-- distributed table, hitl.citus_poll_interval ${poll} ms, $algorithm"
		run_config "dist$poll-$algorithm" coord "$algorithm"
		CONFIGS+=("dist$poll-$algorithm")
	done
done
on coord bench_sql "ALTER SYSTEM RESET hitl.citus_poll_interval" "SELECT pg_reload_conf()" >/dev/null

echo
echo "== label -> fresh queue: summary (ms; $LABELS labels each after a warm-up; to train / train / score: medians) =="
printf '%-38s %8s %8s %8s %9s %8s %8s %8s  %-16s %s\n' configuration p50 p95 max "to train" train score busy "x plain p50/p95" path
for config in "${CONFIGS[@]}"; do
	read -r p50 p95 max totrain train score _ <"$BENCH_WORK/$config.summary"
	algorithm=${config#*-}
	ratio="-"
	if [[ $config != plain-* ]]; then
		read -r pp50 pp95 _ <"$BENCH_WORK/plain-$algorithm.summary"
		ratio="$(awk -v a="$p50" -v b="$pp50" -v c="$p95" -v d="$pp95" 'BEGIN { printf "%.2f / %.2f", a / b, c / d }')"
	fi
	case $config in
	plain-*) name="plain, $algorithm" ;;
	dist*)
		poll=${config%%-*}
		name="distributed, poll ${poll#dist} ms, $algorithm"
		;;
	esac
	printf '%-38s %8s %8s %8s %9s %8s %8s %8s  %-16s %s\n' "$name" "$p50" "$p95" "$max" "$totrain" "$train" "$score" "$(cat "$BENCH_WORK/$config.busymed")" "$ratio" "$(cat "$BENCH_WORK/$config.path")"
done
echo "(latency: label COMMIT -> new version trained, table rescored, hitl.wait returned; \"poll N\": the distributed"
echo " table with hitl.citus_poll_interval N ms; busy: median ms the worker stays busy after hitl.wait returned"
echo " (stopping signal, cross-validation); x plain: distributed / plain of the same algorithm)"

bytes_part

bench_done
