# shellcheck shell=bash
#
# test/bench/lib.sh: what the benchmark scripts share.  Source it from bash
# after `set -euo pipefail`.
#
#   bench_up DB [--preload]
#                         Install what is missing (with the benchmark packages),
#                         build and install hitl, start a private cluster
#                         (without hitl in shared_preload_libraries, or with
#                         it: --preload), and (re)create database DB with
#                         hitl in it.  Under test/bench/run.sh
#                         (HITL_BENCH_REUSE=1 and a cluster already up) only
#                         the database is created, and the cluster must be of
#                         the kind asked for.  Sets BENCH_WORK, a scratch
#                         directory both the caller and the cluster's user
#                         can write.
#   bench_note_revision   Remember (HITL_BENCH_REV) the git revision of the
#                         working tree before hitl_up copies and builds it.
#   bench_done            Drop the database (when reusing a cluster).
#   bench_sql SQL...      Run statements; stdout: their unaligned output.
#   bench_time SQL        Run one statement in a fresh session with \timing;
#                         sets BENCH_MS (client-side wall time, ms) and
#                         BENCH_OUT (its unaligned output).
#   bench_py ARG...       test/bench/helper.py with the system python3 (which
#                         has scikit-learn), one BLAS thread.
#   bench_median X...     Median of numbers.
#   bench_header TITLE    Print a banner with the machine and settings.
#   bench_million_table TABLE MODEL
#                         The 1,000,000-row table of score.sh and queue.sh:
#                         id bigint primary key, x1..x8 float8, label text
#                         (0.1% labeled), and a model on it with cv_folds 0,
#                         created (so trained and scored) by hitl.create_model.
#
# The benchmarks of the background worker (latency.sh, trigger.sh, bulk.sh,
# warm.sh) need a cluster with hitl in shared_preload_libraries; the others
# need one without it (a worker would retrain behind their timed statements):
#
#   bench_up_worker DB    bench_up for a preloaded cluster: shared_preload_
#                         libraries = 'hitl' and track_commit_timestamp = on
#                         (on top of the settings below), hitl.* settings at
#                         their defaults (ALTER SYSTEM RESET), and waits for
#                         the database's worker to start.  Under run.sh the
#                         cluster it reuses must be preloaded (run.sh starts a
#                         second one for these benchmarks).
#   bench_set NAME VALUE  ALTER SYSTEM SET a hitl.* setting (VALUE DEFAULT
#                         resets it), reload, and give the worker time to
#                         read it.
#   bench_quiesce MODEL   Wait until MODEL is fresh (hitl.wait) and the
#                         database's worker is idle (or gone), so nothing runs behind
#                         what is timed next, and has been idle for longer
#                         than hitl.retrain_delay (a label timed next comes
#                         after a quiet spell, not in a burst).
#   bench_label_table TABLE N
#                         The labeling table of the worker benchmarks:
#                         id bigint primary key, x1..x5 float8 on different
#                         scales, label text (1% labeled: id % 100 = 0),
#                         label_prediction text, label_confidence float8,
#                         label_uncertainty float8; four classes a..d from a
#                         noisy rule of the features.  The truth of every
#                         row is in TABLE_truth (id, label).  No model.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/lib/cluster.sh
source "$BENCH_DIR/../lib/cluster.sh"

BENCH_PYTHON=/usr/bin/python3

# One BLAS/OpenMP thread everywhere: the server (cluster.sh starts it so) and
# scikit-learn, so that the comparison is one core against one core.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

# Server settings of the benchmark cluster (unless the caller sets its own):
# enough WAL that no checkpoint is forced by volume in the middle of a timed
# statement (each one starts after an explicit CHECKPOINT), a shared_buffers
# that holds the 1M-row table, and no autovacuum kicking in between rounds.
BENCH_PG_CONF_DEFAULT="shared_buffers = 512MB
max_wal_size = 16GB
checkpoint_timeout = 1h
autovacuum = off"

bench_die() {
	printf 'bench: %s\n' "$*" >&2
	exit 1
}

# What a preloaded benchmark cluster adds: the worker, and commit
# timestamps (latency.sh reads when the label's transaction committed).
BENCH_WORKER_CONF="track_commit_timestamp = on"

bench_up() {
	local db=$1 preload=${2:-}
	if [[ ${HITL_BENCH_REUSE:-0} == 1 && -n ${PGHOST:-} && -n ${HITL_TMPDIR:-} && -d ${HITL_TMPDIR:-/nonexistent} ]]; then
		hitl_create_db "$db" hitl || bench_die "could not create database $db"
	else
		hitl_ensure_deps --bench || bench_die "missing packages"
		export HITL_PG_CONF="${HITL_PG_CONF:-$BENCH_PG_CONF_DEFAULT}"
		if [[ $preload == --preload ]]; then
			export HITL_SHARED_PRELOAD_LIBRARIES=hitl
			HITL_PG_CONF="$HITL_PG_CONF
$BENCH_WORKER_CONF"
		else
			export HITL_SHARED_PRELOAD_LIBRARIES=
		fi
		bench_note_revision
		hitl_up "$db" || bench_die "could not set up the cluster"
	fi
	PGDATABASE=$db
	export PGDATABASE
	# a worker retraining behind the timed statements would spoil them; the
	# worker benchmarks need it
	local preloaded
	preloaded="$(hitl_psql -At -c "SELECT hitl._workers_available()")" ||
		bench_die "could not ask whether hitl is preloaded"
	if [[ $preload == --preload && $preloaded != t ]]; then
		bench_die "this benchmark needs a cluster with shared_preload_libraries = 'hitl' (run it alone, or through test/bench/run.sh)"
	elif [[ $preload != --preload && $preloaded == t ]]; then
		bench_die "this benchmark needs a cluster without hitl in shared_preload_libraries (run it alone, or through test/bench/run.sh)"
	fi
	BENCH_WORK="$(hitl_as_user mktemp -d "$HITL_TMPDIR/bench.XXXXXX")" ||
		bench_die "mktemp failed"
	chmod 777 "$BENCH_WORK"
	[[ -x $BENCH_PYTHON ]] || bench_die "$BENCH_PYTHON not found"
	"$BENCH_PYTHON" -c 'import sklearn, numpy' 2>/dev/null ||
		bench_die "$BENCH_PYTHON has no scikit-learn (apt-get install python3-sklearn)"
}

# The revision of the working tree about to be built (hitl_up copies it).
bench_note_revision() {
	HITL_BENCH_REV="$(git -C "$HITL_REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
	export HITL_BENCH_REV
}

bench_done() {
	if [[ ${HITL_BENCH_REUSE:-0} == 1 ]]; then
		hitl_psql -d postgres -c "DROP DATABASE IF EXISTS \"$PGDATABASE\" WITH (FORCE)" >/dev/null || true
	fi
	rm -rf "$BENCH_WORK" || true
}

bench_sql() {
	local args=() s
	for s in "$@"; do
		args+=(-c "$s")
	done
	hitl_psql -At -c "SET client_min_messages = warning" "${args[@]}"
}

bench_time() {
	local out
	out="$(hitl_psql -At -c "SET client_min_messages = warning" -c '\timing on' -c "$1")" ||
		bench_die "failed: $1"
	BENCH_MS="$(printf '%s\n' "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1)"
	# shellcheck disable=SC2034 # read by the callers
	BENCH_OUT="$(printf '%s\n' "$out" | sed -e '/^Time: /d' -e '/^$/d')"
	[[ -n $BENCH_MS ]] || bench_die "no timing for: $1"
}

bench_py() {
	"$BENCH_PYTHON" "$BENCH_DIR/helper.py" "$@"
}

bench_median() {
	bench_py median "$@"
}

bench_header() {
	local blas
	blas="$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)"
	echo "################################################################"
	echo "# $1"
	echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(getconf _NPROCESSORS_ONLN) cores ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)),"
	echo "# PostgreSQL $(hitl_psql -At -c 'SHOW server_version'), hitl $(hitl_psql -At -c "SELECT extversion FROM pg_extension WHERE extname = 'hitl'") built from the working tree at ${HITL_BENCH_REV:-unknown}"
	echo "# OPENBLAS_NUM_THREADS=1 for the server and for scikit-learn; BLAS: $blas"
	echo "# server: $(hitl_psql -At -c "SELECT string_agg(name || '=' || current_setting(name), ' ' ORDER BY name) FROM pg_settings WHERE name IN ('shared_buffers','max_wal_size','autovacuum','jit','fsync','synchronous_commit','max_parallel_workers_per_gather','shared_preload_libraries','track_commit_timestamp','hitl.enabled','hitl.naptime','hitl.retrain_delay','hitl.batch_size')")"
	echo "################################################################"
}

bench_million_table() {
	local table=$1 model=$2
	bench_sql "DROP TABLE IF EXISTS $table CASCADE" \
		"CREATE TABLE $table (
			id bigint PRIMARY KEY,
			x1 float8, x2 float8, x3 float8, x4 float8,
			x5 float8, x6 float8, x7 float8, x8 float8,
			label text,
			prediction text, confidence float8, uncertainty float8)" \
		"ALTER TABLE $table SET (autovacuum_enabled = false)" >/dev/null
	# Deterministic rows (setseed); 1 row in 1000 labeled, with one of three
	# classes given by a noisy linear rule of the features.
	bench_sql "SELECT setseed(0.4242)" \
		"INSERT INTO $table (id, x1, x2, x3, x4, x5, x6, x7, x8)
		 SELECT g, random() * 2 - 1, random() * 2 - 1, random() * 10, random(),
				random() * 100, random() - 0.5, random() * 3, random() * 2
		 FROM generate_series(1, 1000000) g" \
		"UPDATE $table SET label = CASE
			WHEN x1 + x2 + 0.3 * (random() - 0.5) > 0.4 THEN 'a'
			WHEN x1 - x2 + 0.3 * (random() - 0.5) > 0.0 THEN 'b'
			ELSE 'c' END
		 WHERE id % 1000 = 0" \
		"VACUUM (FREEZE, ANALYZE) $table" \
		"SELECT hitl.create_model('$model', '$table', 'label',
			ARRAY['x1','x2','x3','x4','x5','x6','x7','x8'],
			'prediction', 'confidence', 'uncertainty',
			options => '{\"cv_folds\": 0}')" \
		"VACUUM (FREEZE, ANALYZE) $table" >/dev/null ||
		bench_die "could not build the 1,000,000-row table $table"
}

bench_up_worker() {
	local db=$1 tries=0
	bench_up "$db" --preload
	hitl_psql -At -c "ALTER SYSTEM RESET ALL" -c "SELECT pg_reload_conf()" >/dev/null ||
		bench_die "could not reset the settings"
	[[ $(bench_sql "SELECT current_setting('track_commit_timestamp')") == on ]] ||
		bench_die "track_commit_timestamp is off (set it in HITL_PG_CONF)"
	# CREATE EXTENSION woke the launcher, which starts the worker
	until [[ $(bench_sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND datname = current_database()") == 1 ]]; do
		((++tries < 300)) || bench_die "no hitl worker started for database $db in 30 s"
		sleep 0.1
	done
}

bench_set() {
	local name=$1 value=$2 sql
	if [[ $value == DEFAULT ]]; then
		sql="ALTER SYSTEM RESET $name"
	else
		sql="ALTER SYSTEM SET $name = '$value'"
	fi
	hitl_psql -At -c "$sql" -c "SELECT pg_reload_conf()" >/dev/null ||
		bench_die "could not set $name"
	# the postmaster passes SIGHUP on to the worker, which reads the file at
	# the top of its loop: it is idle here, so a moment is enough
	sleep 0.5
}

# bench_worker_state: the database worker's pg_stat_activity state and query
bench_worker_state() {
	bench_sql "SELECT coalesce(state, '?') || ' ' || coalesce(query, '') FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND datname = current_database()"
}

bench_quiesce() {
	local model=$1 tries=0 delay_ms
	bench_sql "SELECT hitl.wait('$model', '600 s')" >/dev/null ||
		bench_die "hitl.wait('$model') failed"
	# hitl.wait wakes the worker too; let that wake-up (and the burst delay
	# it starts) run its course, then wait until the worker is idle
	delay_ms="$(bench_sql "SELECT (extract(epoch FROM current_setting('hitl.retrain_delay')::interval) * 1000)::int")"
	sleep "$(awk -v d="$delay_ms" 'BEGIN { printf "%.3f", d / 1000 + 0.2 }')"
	# (no worker at all is idle too: it leaves after hitl.naptime)
	local state
	while state=$(bench_worker_state) && [[ -n $state && $state != idle* ]]; do
		((++tries < 6000)) || bench_die "the hitl worker stayed busy for 10 minutes"
		sleep 0.1
	done
	# and idle for longer than hitl.retrain_delay: the next label comes after
	# a quiet spell, as a person's next label does, not in a burst
	while state=$(bench_sql "SELECT now() - state_change <= interval '$delay_ms ms' FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND datname = current_database()") &&
		[[ $state == t ]]; do
		((++tries < 6000)) || bench_die "the hitl worker did not stay idle"
		sleep 0.05
	done
}

bench_label_table() {
	local table=$1 n=$2
	bench_sql "DROP TABLE IF EXISTS $table, ${table}_truth CASCADE" \
		"CREATE TABLE $table (
			id bigint PRIMARY KEY,
			x1 float8, x2 float8, x3 float8, x4 float8, x5 float8,
			label text,
			label_prediction text, label_confidence float8, label_uncertainty float8)" \
		"ALTER TABLE $table SET (autovacuum_enabled = false)" \
		"CREATE TABLE ${table}_truth (id bigint PRIMARY KEY, label text NOT NULL)" \
		"ALTER TABLE ${table}_truth SET (autovacuum_enabled = false)" >/dev/null ||
		bench_die "could not create $table"
	# deterministic (setseed); the classes overlap (noise), so that the
	# model is uncertain about many rows, as a real labeling campaign is
	bench_sql "SELECT setseed(0.2718)" \
		"INSERT INTO $table (id, x1, x2, x3, x4, x5)
		 SELECT g, random() * 2 - 1, random() * 2 - 1, random() * 10, random(),
				random() * 100
		 FROM generate_series(1, $n) g" \
		"INSERT INTO ${table}_truth
		 SELECT id, CASE
			WHEN x1 + 0.5 * x2 + 0.4 * (random() - 0.5) > 0.3 THEN 'a'
			WHEN x2 - x1 + 0.4 * (random() - 0.5) > 0.2 THEN 'b'
			WHEN x3 / 10 + x4 + 0.4 * (random() - 0.5) > 1.0 THEN 'c'
			ELSE 'd' END
		 FROM $table" \
		"UPDATE $table t SET label = tr.label FROM ${table}_truth tr
		 WHERE tr.id = t.id AND t.id % 100 = 0" \
		"VACUUM (FREEZE, ANALYZE) $table, ${table}_truth" >/dev/null ||
		bench_die "could not fill $table"
}
