#!/usr/bin/env bash
#
# test/run-tests.sh: build hitl and run every test suite in private throwaway
# PostgreSQL clusters, as a non-root user (also when started as root).
#
#     bash test/run-tests.sh              # the system's PostgreSQL 15 (or PG_BIN)
#     bash test/run-tests.sh --pg 17      # 15, 17 or 18
#     bash test/run-tests.sh --pg all     # 15, 17 and 18, one after another,
#                                         # then the across step
#     bash test/run-tests.sh --across     # the across step alone, on the
#                                         # installs already there
#     bash test/run-tests.sh --citus      # the Citus suite alone (15)
#     bash test/run-tests.sh --citus --pg 17   # the Citus suite on 17
#     bash test/run-tests.sh --citus --pg 18   # the Citus suite on 18
#
# Servers: 15 is the system's (/usr/lib/postgresql/15/bin, or PG_BIN when it
# holds a 15). 18 is built from Debian's sources with pgTAP, once, into a
# cache (test/lib/servers.sh; HITL_PG_CACHE, /var/cache/hitl-test as root)
# and reused; PG_BIN is used instead when it holds that major version. 17,
# whose source tarball Debian's mirror lacks, runs from Debian trixie's
# binary packages: this script runs again, whole, inside a Debian trixie
# tree made once in the cache (test/lib/trixie.sh; needs root). A server
# that cannot be built or set up counts 1 failed. With `all` each server's run is
# printed with its counts ("== PostgreSQL N: N passed, N failed"), then a
# summary, and the last line sums them.
#
# Across step: when 15 and 18 both ran and built, each test/across/*.pl runs
# with prove ("== across: ..."; counted like the Perl TAP suite, in the sum):
# dumps of the 15 server restored into the 18 server, each with the hitl its
# run just installed. They need no build and run as the test user from a
# copy of test/, with 18's PostgreSQL::Test modules and, in HITL_OLD_INSTALL
# and HITL_NEW_INSTALL, the two installs (parents of bin/ and lib/): the 15
# of PG_BIN, or the system's (/usr/lib/postgresql/15), and the 18 of the
# cache. `--across` runs this step alone, building and installing nothing; it
# counts 1 failed when an install is not there or holds no hitl. Set
# HITL_OLD_INSTALL and HITL_NEW_INSTALL to choose other installs.
#
# Citus suite (`--citus`, on 15, or `--citus --pg 17|18`; .ci/run runs all
# three after `--pg all`): gets the server as below (18 from the cache),
# builds and installs hitl as below, builds Citus once per server into the
# cache and installs it into the same server (test/lib/citus.sh: from
# ../shared/citus, Citus 13.2.2, patched, on 15; Citus 14.0.1 on 17 and
# 18), then runs each test/citus/*.pl with prove as the test user, counted
# like the Perl TAP suite ("-- citus: ..."). Each file starts its own
# coordinator and two worker nodes (test/t/lib/HitlCitus.pm). On 17 all of
# this happens inside the Debian trixie tree, as the whole run on 17 does
# (below): the tarballs are mounted into it read-only, and Citus is built
# against trixie's headers into the tree's own cache. A Citus that cannot
# be built or installed counts 1 failed. Not with `--pg all`.
#
# Steps: install missing Debian packages (as root), get the server, copy the
# working tree to a temp dir owned by the test user, build it with warnings as
# errors, install it into that server, then run and count:
#
#   unit    `make unit` (plain-C TAP program, no server)
#   shape   test/lint/shape.pl on the built sources: no file over 900 lines,
#           no function over 150, no include cycle, no two object files that
#           depend on each other
#   regress `make installcheck` (pg_regress: sql/ + expected/) on a private cluster
#   pgtap   each test/pgtap/*.sql with pg_prove, in a fresh database "hitl_pgtap"
#           (pgtap already created in it; the file creates hitl itself), on the
#           same private cluster
#   perl    each test/t/*.pl with prove; PostgreSQL::Test::Cluster starts its own
#           clusters
#
# Counting: TAP suites count individual assertions (top-level "ok N" passes,
# "not ok N" fails unless marked TODO; subtests count once); assertions that
# were planned but never ran count as failed; a file or suite that exits
# non-zero without a failed assertion (crash, timeout, bad plan) counts 1
# failed. pg_regress counts one per test ("ok" / "FAILED"), plus 1 failed if it
# stops on its own. A failed build counts 1 failed and skips the server suites.
# Suites without any test files count 0.
#
# The last line printed is exactly "N passed, N failed"; the exit status is 0
# only when nothing failed.
#
# Settings: HITL_TEST_BUDGET (seconds for all suites of one server, default
# 1500; a server build is not counted in it), HITL_KEEP_TMP=1 (keep the temp
# dir with every log), and those listed in test/lib/cluster.sh and
# test/lib/servers.sh.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HITL_SERVERS=(15 17 18)
# what --pg all runs: every server that can be built here
HITL_ALL_SERVERS=(15 17 18)

usage() {
	printf 'usage: bash test/run-tests.sh [--pg 15|17|18|all | --across | --citus [--pg 15|17|18]]\n'
}

# Which server to test on: "" (the default, 15), a major version, or "all".
PG_CHOICE=""
ACROSS_ONLY=0
CITUS_ONLY=0
while [[ $# -gt 0 ]]; do
	case $1 in
	--pg)
		[[ $# -ge 2 ]] || {
			usage >&2
			exit 2
		}
		PG_CHOICE=$2
		shift 2
		;;
	--pg=*)
		PG_CHOICE=${1#--pg=}
		shift
		;;
	--across)
		ACROSS_ONLY=1
		shift
		;;
	--citus)
		CITUS_ONLY=1
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		exit 2
		;;
	esac
done
if [[ $ACROSS_ONLY == 1 && -n $PG_CHOICE ]] || [[ $CITUS_ONLY == 1 && $ACROSS_ONLY == 1 ]]; then
	usage >&2
	exit 2
fi
# Citus is built for one server at a time
if [[ $CITUS_ONLY == 1 && $PG_CHOICE == all ]]; then
	printf 'run-tests.sh: the Citus suite runs on one server at a time (--citus --pg 15|17|18)\n' >&2
	exit 2
fi
case $PG_CHOICE in
"" | all) ;;
*)
	if [[ " ${HITL_SERVERS[*]} " != *" $PG_CHOICE "* ]]; then
		printf 'run-tests.sh: no server %s (choose one of: %s all)\n' "$PG_CHOICE" "${HITL_SERVERS[*]}" >&2
		exit 2
	fi
	;;
esac

# pg_config --version of the server in PG_BIN, if there is one.
pg_bin_version() {
	[[ -n ${PG_BIN:-} && -x $PG_BIN/pg_config ]] && "$PG_BIN/pg_config" --version 2>/dev/null
}

HITL_PG_MAJOR=${PG_CHOICE:-15}
[[ $HITL_PG_MAJOR == all ]] && HITL_PG_MAJOR=15
# A PG_BIN (and PG_CONFIG) given for another major version is not this run's.
PG_BIN_GIVEN=0
if [[ ${HITL_IN_TRIXIE:-0} == 1 ]]; then
	# in the trixie tree (test/lib/trixie.sh): the server its packages
	# install, which may not be there before the dependencies step
	PG_BIN_GIVEN=1
elif [[ -n ${PG_BIN:-} ]]; then
	if [[ $(pg_bin_version) == "PostgreSQL $HITL_PG_MAJOR."* ]]; then
		PG_BIN_GIVEN=1
	elif [[ $HITL_PG_MAJOR != 15 ]]; then
		unset PG_BIN
	fi
fi
if [[ $HITL_PG_MAJOR != 15 && -n ${PG_CONFIG:-} ]] &&
	[[ $("$PG_CONFIG" --version 2>/dev/null) != "PostgreSQL $HITL_PG_MAJOR."* ]]; then
	unset PG_CONFIG
fi
export HITL_PG_MAJOR
# shellcheck source=test/lib/cluster.sh
source "$REPO_ROOT/test/lib/cluster.sh"
# shellcheck source=test/lib/servers.sh
source "$REPO_ROOT/test/lib/servers.sh"
# shellcheck source=test/lib/trixie.sh
source "$REPO_ROOT/test/lib/trixie.sh"
# shellcheck source=test/lib/citus.sh
source "$REPO_ROOT/test/lib/citus.sh"
if [[ $HITL_PG_MAJOR != 15 && $PG_BIN_GIVEN == 0 ]]; then
	PG_BIN="$(hitl_server_prefix "$HITL_PG_MAJOR")/bin"
	PATH="$PG_BIN:$PATH"
	export PG_BIN PATH
fi

PGTAP_DB=hitl_pgtap
TOTAL_PASSED=0
TOTAL_FAILED=0
# Set by tap_count / regress_count.
COUNT_PASSED=0
COUNT_FAILED=0
COUNT_NOTE=""

say() {
	printf '%s\n' "$*"
}

finish() {
	say "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
	if [[ $TOTAL_FAILED -gt 0 ]]; then
		exit 1
	fi
	exit 0
}

# record SUITE PASSED FAILED [NOTE]
record() {
	local suite=$1 passed=$2 failed=$3 note=${4:-}
	TOTAL_PASSED=$((TOTAL_PASSED + passed))
	TOTAL_FAILED=$((TOTAL_FAILED + failed))
	say "-- $suite: passed $passed, failed $failed${note:+ ($note)}"
}

# failure_summary NAME LOG: the lines of a TAP log that say what failed
# (failed tests with their diagnostics, timeouts, deaths), last, so that a
# reader of the output's tail sees them below the logs.
failure_summary() {
	local name=$1 log=$2
	say "----- what failed in $name"
	grep -E '^(not ok |#   Failed test|#   at |#          got|#     expected|# Looks like|# poll_query_until|# Tests were run|Dubious|\*\*\* timed out)' "$log" |
		head -n 40 || true
}

# Print a file, or its first MAX lines.
show() {
	local file=$1 max=${2:-300} n
	[[ -f $file ]] || return 0
	n=$(wc -l <"$file")
	say "----- $file"
	head -n "$max" "$file"
	if [[ $n -gt $max ]]; then
		say "----- ($((n - max)) more lines in $file)"
	fi
}

time_left() {
	echo $((DEADLINE - $(date +%s)))
}

# run_limited SECONDS LOG CMD...: run CMD as the test user (from the source
# copy: main changes to it), output to LOG, killed after SECONDS (capped by the overall budget).
# Returns CMD's status; 124 means it timed out.
run_limited() {
	local secs=$1 log=$2 left rc=0
	shift 2
	left=$(time_left)
	if [[ $left -lt $secs ]]; then
		secs=$left
	fi
	if [[ $secs -le 0 ]]; then
		say "out of time (HITL_TEST_BUDGET=${HITL_TEST_BUDGET:-1500}s)" >"$log"
		return 124
	fi
	hitl_as_user_timeout "$secs" "$@" >"$log" 2>&1 </dev/null || rc=$?
	if [[ $rc -eq 124 || $rc -eq 137 ]]; then
		say "*** timed out after ${secs}s" >>"$log"
		rc=124
	fi
	return "$rc"
}

# tap_count LOG STATUS: count the TAP stream in LOG (raw, or prove/pg_prove
# --verbose output) of one program that exited with STATUS.
tap_count() {
	local log=$1 status=$2 counts passed failed plan
	counts=$(awk '
		/^ok [0-9]+/ { passed++; next }
		/^not ok [0-9]+/ {
			if (tolower($0) ~ /#[ \t]*todo/) passed++; else failed++
			next
		}
		/^1\.\.[0-9]+/ && plan == "" { plan = $0; sub(/^1\.\./, "", plan); sub(/[^0-9].*$/, "", plan) }
		END { printf "%d %d %s\n", passed, failed, (plan == "" ? "-1" : plan) }
	' "$log")
	read -r passed failed plan <<<"$counts"
	COUNT_NOTE=""
	if [[ $plan -ge 0 && $((passed + failed)) -lt $plan ]]; then
		COUNT_NOTE="$((plan - passed - failed)) planned assertions did not run"
		failed=$((failed + plan - passed - failed))
	fi
	if [[ $status -ne 0 && $failed -eq 0 ]]; then
		if [[ $status -eq 124 ]]; then
			COUNT_NOTE="timed out"
		else
			COUNT_NOTE="exited with status $status"
		fi
		failed=1
	elif [[ $status -eq 124 ]]; then
		COUNT_NOTE="${COUNT_NOTE:+$COUNT_NOTE, }timed out"
	fi
	COUNT_PASSED=$passed
	COUNT_FAILED=$failed
}

suite_unit() {
	local log="$HITL_LOG_DIR/unit.log" rc=0
	if [[ ! -f $HITL_SRC_DIR/test/unit/test_numerics.c ]]; then
		record unit 0 0 "no test/unit/test_numerics.c yet"
		return 0
	fi
	say "== unit: make unit"
	run_limited 300 "$log" make PG_CONFIG="$PG_CONFIG" unit || rc=$?
	tap_count "$log" "$rc"
	if [[ $COUNT_FAILED -gt 0 ]]; then
		show "$log"
	fi
	record unit "$COUNT_PASSED" "$COUNT_FAILED" "$COUNT_NOTE"
}

suite_shape() {
	local log="$HITL_LOG_DIR/shape.log" rc=0
	say "== shape: test/lint/shape.pl"
	run_limited 60 "$log" perl test/lint/shape.pl src src || rc=$?
	tap_count "$log" "$rc"
	if [[ $COUNT_FAILED -gt 0 ]]; then
		grep -A5 '^not ok' "$log" || true
	fi
	record shape "$COUNT_PASSED" "$COUNT_FAILED" "$COUNT_NOTE"
}

regress_tests_present() {
	local f base
	for f in "$HITL_SRC_DIR"/sql/*.sql; do
		[[ -f $f ]] || continue
		base=$(basename "$f" .sql)
		case $base in
		hitl | hitl--*) ;;
		*) return 0 ;;
		esac
	done
	return 1
}

suite_regress() {
	local log="$HITL_LOG_DIR/regress.log" rc=0 counts passed failed note=""
	if ! regress_tests_present; then
		record regress 0 0 "no pg_regress tests in sql/ yet"
		return 0
	fi
	say "== regress: make installcheck"
	run_limited 400 "$log" make PG_CONFIG="$PG_CONFIG" installcheck || rc=$?
	# pg_regress 15 prints "test NAME ... ok" (or "     NAME ... ok" in a
	# parallel group), "FAILED", or "failed (ignored)"; from 16 on it prints
	# TAP: "ok 1 - NAME" or "not ok 1 - NAME" (the dash is a "+" in a
	# parallel group).
	counts=$(awk '
		/^ok [0-9]+ +[-+] / { passed++; next }
		/^not ok [0-9]+ +[-+] / { failed++; next }
		/^(test +| +)[^ ]+ +\.\.\. +ok/ { passed++; next }
		/^(test +| +)[^ ]+ +\.\.\. +failed \(ignored\)/ { passed++; next }
		/^(test +| +)[^ ]+ +\.\.\. +FAILED/ { failed++; next }
		END { printf "%d %d\n", passed, failed }
	' "$log")
	read -r passed failed <<<"$counts"
	if [[ $rc -ne 0 && $failed -eq 0 ]]; then
		failed=1
		note="pg_regress exited with status $rc"
		[[ $rc -eq 124 ]] && note="timed out"
	fi
	if [[ $failed -gt 0 ]]; then
		show "$log" 100
		show "$HITL_SRC_DIR/regression.diffs" 400
	fi
	record regress "$passed" "$failed" "$note"
}

suite_pgtap() {
	local files=() f name log rc passed=0 failed=0
	shopt -s nullglob
	files=("$HITL_SRC_DIR"/test/pgtap/*.sql)
	shopt -u nullglob
	if [[ ${#files[@]} -eq 0 ]]; then
		record pgtap 0 0 "no test/pgtap/*.sql yet"
		return 0
	fi
	say "== pgtap: pg_prove, ${#files[@]} files, database $PGTAP_DB"
	mkdir -p "$HITL_LOG_DIR/pgtap"
	for f in "${files[@]}"; do
		name=$(basename "$f" .sql)
		log="$HITL_LOG_DIR/pgtap/$name.log"
		rc=0
		if ! hitl_create_db "$PGTAP_DB" pgtap 2>"$log"; then
			failed=$((failed + 1))
			say "   test/pgtap/$name.sql: could not prepare database $PGTAP_DB"
			show "$log"
			continue
		fi
		run_limited 180 "$log" pg_prove --verbose --nocolor -d "$PGTAP_DB" \
			--set hitl_src_dir="$HITL_SRC_DIR" "test/pgtap/$name.sql" || rc=$?
		tap_count "$log" "$rc"
		passed=$((passed + COUNT_PASSED))
		failed=$((failed + COUNT_FAILED))
		say "   test/pgtap/$name.sql: passed $COUNT_PASSED, failed $COUNT_FAILED${COUNT_NOTE:+ ($COUNT_NOTE)}"
		if [[ $COUNT_FAILED -gt 0 ]]; then
			show "$log"
		fi
		hitl_psql -d postgres -c "DROP DATABASE IF EXISTS $PGTAP_DB WITH (FORCE)" >/dev/null 2>&1 || true
	done
	record pgtap "$passed" "$failed"
}

# prove_file DIR NAME PGXS PG_CONFIG LOGDIR SECS [VAR=VALUE...]: run DIR/NAME.pl
# with prove as the test user, in SECS seconds at most, from the current
# directory (TESTDIR; clusters and their logs in tmp_check/), with the
# PostgreSQL::Test modules of PGXS and test/t/lib, and the VARs in its
# environment; output in LOGDIR/NAME.log. Prints its counts and adds them to
# the caller's passed and failed.
prove_file() {
	local dir=$1 name=$2 pgxs=$3 pg_config=$4 log="$5/$2.log" secs=$6 rc=0
	shift 6
	run_limited "$secs" "$log" env "$@" \
		TESTDIR="$PWD" \
		TESTDATADIR="$PWD/tmp_check" \
		TESTLOGDIR="$PWD/tmp_check/log" \
		PG_REGRESS="$pgxs/src/test/regress/pg_regress" \
		PG_CONFIG="$pg_config" \
		prove --verbose --nocolor \
		-I "$pgxs/src/test/perl" -I "$PWD/test/t/lib" \
		"$dir/$name.pl" || rc=$?
	tap_count "$log" "$rc"
	passed=$((passed + COUNT_PASSED))
	failed=$((failed + COUNT_FAILED))
	say "   $dir/$name.pl: passed $COUNT_PASSED, failed $COUNT_FAILED${COUNT_NOTE:+ ($COUNT_NOTE)}"
	if [[ $COUNT_FAILED -gt 0 ]]; then
		show "$log"
		show "$PWD/tmp_check/log/regress_log_$name" 200
		failure_summary "$dir/$name.pl" "$log"
	fi
}

# suite_prove DIR NAME: each DIR/*.pl with prove as the test user, counted as
# the suite NAME (the Perl TAP suite test/t, the Citus suite test/citus, with
# Citus and hitl installed into the server already)
suite_prove() {
	local dir=$1 name=$2 files=() f passed=0 failed=0 pgxs
	shopt -s nullglob
	files=("$HITL_SRC_DIR"/"$dir"/*.pl)
	shopt -u nullglob
	if [[ ${#files[@]} -eq 0 ]]; then
		record "$name" 0 0 "no $dir/*.pl yet"
		return 0
	fi
	# .../lib/pgxs/src/makefiles/pgxs.mk -> .../lib/pgxs
	pgxs=$("$PG_CONFIG" --pgxs)
	pgxs=$(dirname "$(dirname "$(dirname "$pgxs")")")
	say "== $name: prove, ${#files[@]} files"
	mkdir -p "$HITL_LOG_DIR/$name"
	hitl_as_user mkdir -p "$HITL_SRC_DIR/tmp_check/log"
	# every suite runs from the source copy (main changes to it)
	for f in "${files[@]}"; do
		prove_file "$dir" "$(basename "$f" .pl)" "$pgxs" "$PG_CONFIG" "$HITL_LOG_DIR/$name" 400
	done
	record "$name" "$passed" "$failed"
}

suite_perl() {
	suite_prove test/t perl
}

suite_citus() {
	suite_prove test/citus citus
}

# prepare_run: what every run does first: the missing packages, the test
# user, the server (built into the cache when it is not the system's), the
# work directory and the copy of the sources the test user builds
prepare_run() {
	say "== dependencies"
	# shellcheck disable=SC2119 # no benchmark packages needed
	if ! hitl_ensure_deps; then
		record dependencies 0 1 "missing packages"
		finish
	fi
	hitl_setup_user
	if [[ $HITL_PG_MAJOR != 15 && $PG_BIN_GIVEN == 0 ]]; then
		say "== server: PostgreSQL $HITL_PG_MAJOR"
		if ! hitl_server_ensure "$HITL_PG_MAJOR"; then
			record server 0 1 "PostgreSQL $HITL_PG_MAJOR could not be built"
			finish
		fi
	fi
	say "== PostgreSQL $HITL_PG_MAJOR: $PG_BIN ($("$PG_BIN/postgres" --version 2>/dev/null || echo 'no server there'))"
	hitl_workdir_init
	say "== running as $HITL_USER in $HITL_TMPDIR"
	hitl_copy_src
}

# The Citus suite alone (--citus [--pg 17|18]): hitl and Citus built and
# installed into the server of 15 (18 from the cache; 17 in the trixie tree,
# where this runs again), then suite_citus.
run_citus() {
	prepare_run
	say "== build and install"
	if ! hitl_build_install; then
		record build 0 1 "the Citus suite skipped"
		finish
	fi
	local where=""
	# in the trixie tree the cache's paths are the tree's: the host sees them
	# under its own cache's trixie/
	[[ ${HITL_IN_TRIXIE:-0} == 1 ]] && where=" (the trixie tree's own, in trixie/ of the host's)"
	say "== Citus $(hitl_citus_version "$PG_CONFIG" 2>/dev/null || echo '(none)'): build once into the cache$where, install"
	if ! hitl_citus_ensure "$PG_CONFIG" || ! hitl_citus_install "$PG_CONFIG"; then
		record citus 0 1 "Citus could not be built or installed"
		finish
	fi
	cd "$HITL_SRC_DIR"
	DEADLINE=$(($(date +%s) + ${HITL_TEST_BUDGET:-1500}))
	suite_citus
	finish
}

# run_trixie: this run (--pg 17, or --citus --pg 17) again, whole, inside
# the Debian trixie tree (test/lib/trixie.sh), with the Citus tarballs
# mounted there for --citus. Its own output and last line are this run's.
run_trixie() {
	local rc=0 sources args=(--pg 17)
	say "== PostgreSQL 17: Debian trixie's packages, in a trixie tree (test/lib/trixie.sh)"
	if [[ $CITUS_ONLY == 1 ]]; then
		if ! sources=$(hitl__citus_sources); then
			record citus 0 1 "no Citus sources"
			finish
		fi
		args=(--citus-sources "$sources" --citus --pg 17)
	fi
	hitl_trixie_run "${args[@]}" || rc=$?
	if [[ $rc -ne 0 && $rc -ne 1 ]]; then
		record server 0 1 "the run in the trixie tree ended with status $rc"
		finish
	fi
	exit "$rc"
}

# suite_package: the Debian package and the PGXN metadata (test/package/).
# meta.pl checks META.json against the PGXN meta spec (any user). deb.sh, as
# root only ("needs root" otherwise), builds postgresql-15-hitl from its own
# copy of the source copy, installs it into the system's PostgreSQL 15 with dpkg,
# uses it from a private cluster, removes it and puts back the hitl files
# that were there before (those of `make install` when PG_BIN is the
# system's). It runs last, with its own time limit outside HITL_TEST_BUDGET:
# HITL_PACKAGE_TIMEOUT seconds (default 900).
suite_package() {
	local log="$HITL_LOG_DIR/package.log" rc=0 passed failed note=""
	if [[ ! -f $HITL_SRC_DIR/test/package/meta.pl ]]; then
		record package 0 0 "no test/package yet"
		return 0
	fi
	say "== package: META.json, Debian package"
	hitl_as_user_timeout 120 perl test/package/meta.pl >"$log" 2>&1 </dev/null || rc=$?
	tap_count "$log" "$rc"
	passed=$COUNT_PASSED
	failed=$COUNT_FAILED
	say "   test/package/meta.pl: passed $COUNT_PASSED, failed $COUNT_FAILED${COUNT_NOTE:+ ($COUNT_NOTE)}"
	[[ $COUNT_FAILED -eq 0 ]] || show "$log"
	if [[ $(id -u) -ne 0 ]]; then
		note="test/package/deb.sh skipped: needs root"
	else
		log="$HITL_LOG_DIR/package-deb.log"
		rc=0
		timeout -k 60 "${HITL_PACKAGE_TIMEOUT:-900}" bash "$HITL_SRC_DIR/test/package/deb.sh" \
			>"$log" 2>&1 </dev/null || rc=$?
		tap_count "$log" "$rc"
		passed=$((passed + COUNT_PASSED))
		failed=$((failed + COUNT_FAILED))
		say "   test/package/deb.sh: passed $COUNT_PASSED, failed $COUNT_FAILED${COUNT_NOTE:+ ($COUNT_NOTE)}"
		[[ $COUNT_FAILED -eq 0 ]] || show "$log"
	fi
	record package "$passed" "$failed" "$note"
}

# Run this script once per server, each in a process of its own, and sum.
# Each run's own last line becomes "== PostgreSQL N: N passed, N failed".
run_all() {
	local v line passed failed rc fifo dir summary=() built=
	CHILD_PID=""
	trap 'abort_child 129' HUP
	trap 'abort_child 130' INT
	trap 'abort_child 143' TERM
	dir=$(mktemp -d /tmp/hitl-all.XXXXXX)
	fifo="$dir/out"
	for v in "${HITL_ALL_SERVERS[@]}"; do
		say "== PostgreSQL $v: bash test/run-tests.sh --pg $v"
		passed="" failed="" rc=0
		mkfifo "$fifo"
		bash "$REPO_ROOT/test/run-tests.sh" --pg "$v" >"$fifo" 2>&1 </dev/null &
		CHILD_PID=$!
		while IFS= read -r line; do
			# built and installed: it got to the build, and no failed build was recorded
			case $line in
			"== build and install") built+=" $v" ;;
			"-- build: "*) built=${built% "$v"} ;;
			esac
			if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
				passed=${BASH_REMATCH[1]}
				failed=${BASH_REMATCH[2]}
			else
				say "$line"
			fi
		done <"$fifo"
		wait "$CHILD_PID" || rc=$?
		CHILD_PID=""
		rm -f "$fifo"
		if [[ -z $passed ]]; then
			passed=0 failed=1
			say "(the run on PostgreSQL $v ended with status $rc and no count)"
		fi
		say "== PostgreSQL $v: $passed passed, $failed failed"
		summary+=("-- PostgreSQL $v: passed $passed, failed $failed")
		TOTAL_PASSED=$((TOTAL_PASSED + passed))
		TOTAL_FAILED=$((TOTAL_FAILED + failed))
	done
	rm -rf "$dir"
	if [[ "$built " == *" 15 "* && "$built " == *" 18 "* ]]; then
		suite_across
		summary+=("-- across: passed $COUNT_PASSED, failed $COUNT_FAILED")
	else
		say "== across: skipped (it needs PostgreSQL 15 and 18 built:${built:- none})"
	fi
	printf '%s\n' "${summary[@]}"
	finish
}

# suite_across: test/across/*.pl, dumps of a 15 server restored into an 18
# server (see the header). Leaves its counts in COUNT_PASSED/COUNT_FAILED.
suite_across() {
	local old new files=() f passed=0 failed=0 pgxs dir v note=""
	local -A install
	old=${HITL_OLD_INSTALL:-$(dirname "${PG_BIN:-/usr/lib/postgresql/15/bin}")}
	new=${HITL_NEW_INSTALL:-$(hitl_server_prefix 18)}
	install=([15]=$old [18]=$new)
	for v in 15 18; do
		if [[ $("${install[$v]}/bin/pg_config" --version 2>/dev/null) != "PostgreSQL $v."* ]] ||
			[[ ! -f $("${install[$v]}/bin/pg_config" --sharedir)/extension/hitl.control ]]; then
			note="no PostgreSQL $v with hitl installed in ${install[$v]}"
		fi
	done
	shopt -s nullglob
	files=("$REPO_ROOT"/test/across/*.pl)
	shopt -u nullglob
	say "== across: PostgreSQL 15 ($old) to 18 ($new), prove, ${#files[@]} files"
	if [[ -n $note ]]; then
		COUNT_PASSED=0 COUNT_FAILED=1
		record across 0 1 "$note"
		return 0
	fi
	hitl_setup_user
	hitl_workdir_init
	DEADLINE=$(($(date +%s) + ${HITL_TEST_BUDGET:-1500}))
	dir="$HITL_TMPDIR/across"
	mkdir -p "$dir/test/t" "$dir/tmp_check/log" "$HITL_LOG_DIR/across"
	cp -a "$REPO_ROOT/test/across" "$dir/test/"
	cp -a "$REPO_ROOT/test/t/lib" "$dir/test/t/"
	if [[ $(id -u) -eq 0 ]]; then
		chown -R "$HITL_USER:" "$dir"
	fi
	pgxs=$("$new/bin/pg_config" --pgxs)
	pgxs=$(dirname "$(dirname "$(dirname "$pgxs")")")
	cd "$dir"
	for f in "${files[@]}"; do
		prove_file test/across "$(basename "$f" .pl)" "$pgxs" "$new/bin/pg_config" "$HITL_LOG_DIR/across" 900 \
			PATH="$new/bin:/usr/local/bin:/usr/bin:/bin" HITL_OLD_INSTALL="$old" HITL_NEW_INSTALL="$new"
	done
	cd "$REPO_ROOT"
	COUNT_PASSED=$passed COUNT_FAILED=$failed
	record across "$passed" "$failed"
}

# shellcheck disable=SC2317 # called by the traps of run_all
abort_child() {
	if [[ -n ${CHILD_PID:-} ]]; then
		kill -TERM "$CHILD_PID" 2>/dev/null || true
		wait "$CHILD_PID" 2>/dev/null || true
	fi
	exit "$1"
}

main() {
	if [[ $PG_CHOICE == all ]]; then
		run_all
	fi
	if [[ $ACROSS_ONLY == 1 ]]; then
		suite_across
		finish
	fi
	# 17 runs in a Debian trixie tree, with trixie's packages
	if [[ $HITL_PG_MAJOR == 17 && $PG_BIN_GIVEN == 0 ]]; then
		run_trixie
	fi
	if [[ $CITUS_ONLY == 1 ]]; then
		run_citus
	fi
	prepare_run

	local built=1
	say "== build and install"
	if ! hitl_build_install; then
		built=0
		record build 0 1 "server suites skipped"
	fi

	# Every suite runs from the source copy.
	cd "$HITL_SRC_DIR"
	DEADLINE=$(($(date +%s) + ${HITL_TEST_BUDGET:-1500}))
	suite_unit
	if [[ $built -eq 1 ]]; then
		suite_shape
		if hitl_start_cluster; then
			suite_regress
			suite_pgtap
			hitl_stop_cluster || true
		else
			record cluster 0 1 "could not start the private cluster"
		fi
		suite_perl
		# the package is built for the system's server alone
		if [[ $HITL_PG_MAJOR == 15 ]]; then
			suite_package
		fi
	fi
	finish
}

main "$@"
