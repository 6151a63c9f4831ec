# test/demo/lib.sh: what the demos share (sourced by test/demo.sh and
# test/demo_text.sh).
#
#   demo_up DB   install what is missing, build hitl and start a private
#                cluster with database DB (quietly: its log is shown only
#                when it fails); export HITL_SHARED_PRELOAD_LIBRARIES=hitl
#                first for the background worker
#   sql ...      psql on it: unaligned, tuples only, stops at the first error

# shellcheck source=test/lib/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cluster.sh"

demo_up() {
	local db=$1 setup_log

	# Packages first, with their progress shown; the rest quietly unless it fails.
	# shellcheck disable=SC2119 # no extra packages
	hitl_ensure_deps
	echo "Building hitl and starting a private PostgreSQL 15 cluster${HITL_SHARED_PRELOAD_LIBRARIES:+ with hitl preloaded}..."
	setup_log="$(mktemp)"
	if ! hitl_up "$db" 2>"$setup_log"; then
		cat "$setup_log" >&2
		rm -f "$setup_log"
		exit 1
	fi
	rm -f "$setup_log"
}

# Unaligned, tuples only, fields separated by |; stops at the first error.
sql() {
	hitl_psql -A -t "$@"
}
