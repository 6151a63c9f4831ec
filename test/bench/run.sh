#!/usr/bin/env bash
#
# test/bench/run.sh: run every hitl benchmark, then print their summaries
# together.
#
#     bash test/bench/run.sh                       # all of them
#     bash test/bench/run.sh score queue latency   # some of them
#
# train, train_aggregates, score, queue and text time hitl's functions called
# from SQL: they run on a private cluster without hitl in
# shared_preload_libraries (no background worker retraining behind their
# timed statements).  latency, trigger, bulk and warm measure the background
# worker and the label triggers: they run afterwards on a second private
# cluster, started with shared_preload_libraries = 'hitl' and
# track_commit_timestamp = on (the first one is stopped first; both have the
# settings of lib.sh).
#
# Installs what is missing (as root), builds and installs hitl, starts the
# clusters as a non-root user, and gives each benchmark a database of its
# own.  Exits non-zero when any benchmark failed.  Not part of the test
# command (test/run-tests.sh).
#
# Settings: HITL_BENCH_LOG_DIR (keep each benchmark's full output there), the
# per-benchmark ones listed at the top of each script, and those of
# test/lib/cluster.sh.

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

benches=("$@")
if [[ ${#benches[@]} -eq 0 ]]; then
	benches=(train train_aggregates score queue text latency trigger bulk warm)
fi
plain=()
worker=()
for b in "${benches[@]}"; do
	[[ -f $BENCH_DIR/$b.sh ]] || bench_die "no benchmark $b (test/bench/$b.sh)"
	case $b in
	latency | trigger | bulk | warm) worker+=("$b") ;;
	*) plain+=("$b") ;;
	esac
done

start=$SECONDS
hitl_ensure_deps --bench || bench_die "missing packages"
base_conf="${HITL_PG_CONF:-$BENCH_PG_CONF_DEFAULT}"
bench_note_revision
built=0

# cluster PRELOAD: (re)start the benchmark cluster, with hitl preloaded or not
cluster() {
	if [[ $1 == 1 ]]; then
		export HITL_SHARED_PRELOAD_LIBRARIES=hitl
		export HITL_PG_CONF="$base_conf
$BENCH_WORKER_CONF"
	else
		export HITL_SHARED_PRELOAD_LIBRARIES=
		export HITL_PG_CONF="$base_conf"
	fi
	if [[ $built == 0 ]]; then
		hitl_up hitl_bench || bench_die "could not set up the cluster"
		built=1
	else
		hitl_stop_cluster || bench_die "could not stop the first cluster"
		HITL_PGDATA="$HITL_TMPDIR/data-preloaded"
		export HITL_PGDATA
		hitl_start_cluster || bench_die "could not start the preloaded cluster"
	fi
	echo ">>> cluster: shared_preload_libraries = '$HITL_SHARED_PRELOAD_LIBRARIES' ($HITL_PGDATA)"
}
export HITL_BENCH_REUSE=1

failed=()
benches=()
logs=""
run_bench() {
	local b=$1 t0=$SECONDS
	# (the temp dir exists once the first cluster is up)
	logs="${HITL_BENCH_LOG_DIR:-$HITL_TMPDIR/bench-logs}"
	mkdir -p "$logs"
	benches+=("$b")
	echo
	echo ">>> test/bench/$b.sh"
	if bash "$BENCH_DIR/$b.sh" 2>&1 | tee "$logs/$b.log"; then
		echo ">>> $b: done in $((SECONDS - t0)) s"
	else
		echo ">>> $b: FAILED after $((SECONDS - t0)) s"
		failed+=("$b")
	fi
}
if [[ ${#plain[@]} -gt 0 ]]; then
	cluster 0
	for b in "${plain[@]}"; do
		run_bench "$b"
	done
fi
if [[ ${#worker[@]} -gt 0 ]]; then
	cluster 1
	for b in "${worker[@]}"; do
		run_bench "$b"
	done
fi

echo
echo "################################################################"
echo "# hitl benchmarks: summaries (full output above; $((SECONDS - start)) s in all)"
echo "# reproduce: bash test/bench/run.sh"
echo "################################################################"
for b in "${benches[@]}"; do
	echo
	sed -n '/^== [a-z_]*: summary/,$p' "$logs/$b.log"
done
if [[ ${#failed[@]} -gt 0 ]]; then
	echo
	bench_die "failed: ${failed[*]}"
fi
