#!/usr/bin/env bash
#
# test/bench/run.sh: run every hitl benchmark (train, score, queue) on one
# private cluster, then print their summaries together.
#
#     bash test/bench/run.sh               # all of them
#     bash test/bench/run.sh score queue   # some of them
#
# Installs what is missing (as root), builds and installs hitl, starts a
# private throwaway cluster as a non-root user, and gives each benchmark a
# database of its own.  Exits non-zero when any benchmark failed.  Not part of
# the test command (test/run-tests.sh).
#
# Settings: HITL_BENCH_LOG_DIR (keep each benchmark's full output there), the
# per-benchmark ones listed at the top of each script, and those of
# test/lib/cluster.sh.

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

benches=("$@")
if [[ ${#benches[@]} -eq 0 ]]; then
	benches=(train score queue)
fi
for b in "${benches[@]}"; do
	[[ -f $BENCH_DIR/$b.sh ]] || bench_die "no benchmark $b (test/bench/$b.sh)"
done

start=$SECONDS
hitl_ensure_deps --bench || bench_die "missing packages"
export HITL_PG_CONF="${HITL_PG_CONF:-$BENCH_PG_CONF_DEFAULT}"
bench_note_revision
hitl_up hitl_bench || bench_die "could not set up the cluster"
export HITL_BENCH_REUSE=1

logs="${HITL_BENCH_LOG_DIR:-$HITL_TMPDIR/bench-logs}"
mkdir -p "$logs"
failed=()
for b in "${benches[@]}"; do
	echo
	echo ">>> test/bench/$b.sh"
	t0=$SECONDS
	if bash "$BENCH_DIR/$b.sh" 2>&1 | tee "$logs/$b.log"; then
		echo ">>> $b: done in $((SECONDS - t0)) s"
	else
		echo ">>> $b: FAILED after $((SECONDS - t0)) s"
		failed+=("$b")
	fi
done

echo
echo "################################################################"
echo "# hitl benchmarks: summaries (full output above; $((SECONDS - start)) s in all)"
echo "# reproduce: bash test/bench/run.sh"
echo "################################################################"
for b in "${benches[@]}"; do
	echo
	sed -n '/^== [a-z]*: summary/,$p' "$logs/$b.log"
done
if [[ ${#failed[@]} -gt 0 ]]; then
	echo
	bench_die "failed: ${failed[*]}"
fi
