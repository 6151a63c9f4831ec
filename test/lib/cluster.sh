# shellcheck shell=bash
#
# test/lib/cluster.sh: set up everything hitl's tests, demo and benchmarks need,
# and start a private, throwaway PostgreSQL cluster run by a non-root user (the
# system's PostgreSQL 15 by default; test/lib/servers.sh builds 17 and 18, and
# HITL_PG_MAJOR with PG_BIN points here at one of them).
#
# Source it from bash (it does not change the caller's shell options, and its
# functions work under `set -euo pipefail`):
#
#     source test/lib/cluster.sh
#     hitl_up mydb          # deps, build + install, cluster, database with hitl
#     psql -c 'SELECT 1'    # PGHOST/PGPORT/PGUSER/PGDATABASE point at it
#
# Functions (all return non-zero with a message on stderr on failure):
#
#   hitl_ensure_deps [--bench] [PKG...]
#                               Check the Debian packages the project needs,
#                               plus those only benchmarks need with --bench
#                               (HITL_BENCH_PACKAGES: python3-sklearn), plus any
#                               extra PKG given.
#                               As root: apt-get update once, then apt-get
#                               install -y only what is missing. Not root: fail
#                               with the list of missing packages.
#   hitl_setup_user             Choose the OS user that runs the tests and the
#                               server: as root, system user $HITL_TEST_USER
#                               (default hitl_test, created if missing); not
#                               root, the current user. Sets HITL_USER.
#   hitl_workdir_init           Create the private temp dir (mktemp -d under /tmp,
#                               owned by HITL_USER) and install the exit trap
#                               that stops every server started under it and
#                               removes it (also on error, Ctrl-C, SIGTERM).
#   hitl_on_exit CMD            Register a command (a string, run with eval) for
#                               the exit trap, run before the cluster is stopped.
#                               Use this instead of setting your own EXIT trap;
#                               if you must set one, call hitl_cleanup from it.
#   hitl_cleanup                What the exit trap runs (idempotent).
#   hitl_as_user CMD [ARG...]   Run a command as HITL_USER with the caller's
#                               environment (when switching from root: HOME is
#                               $HITL_TMPDIR/home, PATH is PG_BIN + system dirs).
#   hitl_as_user_timeout SECS CMD [ARG...]
#                               The same, killed (with all its children) after
#                               SECS seconds (status 124), and interruptible:
#                               Ctrl-C / SIGTERM kill it before cleaning up.
#   hitl_copy_src               Copy the working tree (without .git) to
#                               $HITL_SRC_DIR, owned by HITL_USER, and clean it.
#   hitl_build_install          In that copy: `make COPT=-Werror` as HITL_USER
#                               (warnings are errors), then `make install
#                               install-0.1.0` as root (directly, or through
#                               sudo when not root): the frozen 0.1.0 install
#                               script too, which the package leaves out and
#                               the upgrade tests need. Log:
#                               $HITL_LOG_DIR/build.log.
#   hitl_start_cluster          initdb + pg_ctl start in $HITL_PGDATA, listening
#                               only on a Unix socket in $HITL_TMPDIR; exports
#                               the PG* variables below.
#   hitl_stop_cluster           Stop it (fast, then immediate if that fails).
#   hitl_psql [ARG...]          psql -X -v ON_ERROR_STOP=1 as HITL_USER.
#   hitl_create_db DB [EXT...]  (Re)create database DB and CREATE EXTENSION each
#                               EXT in it.
#   hitl_up [DB]                All of the above in order, then a database DB
#                               (default hitl) with the hitl extension;
#                               exports PGDATABASE=DB.
#
# Settings (environment variables read by the functions, all optional):
#
#   HITL_PG_MAJOR                 PostgreSQL major version to use (15); the
#                                 Debian packages of server 15 are required
#                                 only when it is 15
#   PG_BIN                        PostgreSQL binaries (/usr/lib/postgresql/15/bin)
#   PG_CONFIG                     pg_config to build with (default: $PG_BIN/pg_config
#                                 if present, else pg_config from PATH)
#   HITL_TEST_USER                OS user to create/use when running as root
#   HITL_PGPORT                   port of the private cluster (54329; the socket
#                                 directory is private, so it never collides)
#   HITL_FSYNC_OFF                1: fsync=off, synchronous_commit=off,
#                                 full_page_writes=off (for tests only)
#   HITL_SHARED_PRELOAD_LIBRARIES value of shared_preload_libraries ('' default)
#   HITL_PG_CONF                  extra lines appended to postgresql.conf
#   HITL_KEEP_TMP                 1: keep the temp dir on exit (path printed)
#   HITL_BUILD_JOBS               make -j for the build (default: nproc)
#
# Exported for callers once the corresponding step ran:
#
#   PATH                  $PG_BIN first
#   OPENBLAS_NUM_THREADS  1 (also in the server's environment)
#   PG_BIN, PG_CONFIG
#   HITL_REPO_ROOT        the checkout this file belongs to
#   HITL_USER             the non-root OS user running tests and server
#   HITL_TMPDIR           private temp dir (also the server's socket directory)
#   HITL_LOG_DIR          $HITL_TMPDIR/log (build.log, postgres.log, suites)
#   HITL_SRC_DIR          $HITL_TMPDIR/src, the copy that was built
#   HITL_PGDATA           $HITL_TMPDIR/data
#   PGHOST, PGPORT, PGUSER, PGDATABASE   connect to the private cluster
#                         (PGDATABASE=postgres until hitl_up/caller changes it)

# Packages the project needs; benchmarks add HITL_BENCH_PACKAGES. The server
# itself, its headers and pgTAP come from Debian for 15 only.
HITL_PG_MAJOR="${HITL_PG_MAJOR:-15}"
HITL_PACKAGES=(
	build-essential
	liblapack-dev
	libblas-dev
	libopenblas-dev
	libtap-parser-sourcehandler-pgtap-perl
	libipc-run-perl
	default-jdk-headless
	libpostgresql-jdbc-java
	odbc-postgresql
	unixodbc
	unixodbc-dev
)
if [[ $HITL_PG_MAJOR == 15 ]]; then
	HITL_PACKAGES+=(postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap)
elif [[ ${HITL_IN_TRIXIE:-0} == 1 ]]; then
	# in the Debian trixie tree of test/lib/trixie.sh: trixie's server, whose
	# headers package also holds pg_regress and the PostgreSQL::Test modules
	HITL_PACKAGES+=(perl "postgresql-$HITL_PG_MAJOR" "postgresql-server-dev-$HITL_PG_MAJOR"
		"postgresql-$HITL_PG_MAJOR-pgtap")
fi
HITL_BENCH_PACKAGES=(python3-sklearn)

HITL_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
OPENBLAS_NUM_THREADS=1
export HITL_REPO_ROOT HITL_PG_MAJOR PG_BIN OPENBLAS_NUM_THREADS
case ":$PATH:" in
*":$PG_BIN:"*) ;;
*) PATH="$PG_BIN:$PATH" ;;
esac
export PATH

# Internal state.
HITL__CLEANED=0
HITL__EXIT_HOOKS=()
HITL__PG_STARTED=0
HITL__CHILD=""
HITL__ARGV=()

hitl__err() {
	printf 'hitl: %s\n' "$*" >&2
}

hitl__is_root() {
	[[ $(id -u) -eq 0 ]]
}

# Resolve PG_CONFIG (not needed before a build).
hitl__pg_config() {
	if [[ -z ${PG_CONFIG:-} ]]; then
		if [[ -x $PG_BIN/pg_config ]]; then
			PG_CONFIG="$PG_BIN/pg_config"
		elif command -v pg_config >/dev/null 2>&1; then
			PG_CONFIG="$(command -v pg_config)"
		else
			hitl__err "pg_config not found (set PG_CONFIG or install postgresql-server-dev-$HITL_PG_MAJOR)"
			return 1
		fi
	fi
	export PG_CONFIG
	local version
	version="$("$PG_CONFIG" --version)" || {
		hitl__err "$PG_CONFIG --version failed"
		return 1
	}
	if [[ $version != "PostgreSQL $HITL_PG_MAJOR."* ]]; then
		hitl__err "$PG_CONFIG is $version; PostgreSQL $HITL_PG_MAJOR was asked for (HITL_PG_MAJOR)"
		return 1
	fi
}

# shellcheck disable=SC2120 # arguments are optional
hitl_ensure_deps() {
	local wanted=("${HITL_PACKAGES[@]}")
	local missing=() pkg status
	if [[ ${1:-} == --bench ]]; then
		wanted+=("${HITL_BENCH_PACKAGES[@]}")
		shift
	fi
	wanted+=("$@")
	for pkg in "${wanted[@]}"; do
		status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
		if [[ $status != installed ]]; then
			missing+=("$pkg")
		fi
	done
	if [[ ${#missing[@]} -eq 0 ]]; then
		return 0
	fi
	if ! hitl__is_root; then
		hitl__err "missing packages: ${missing[*]}"
		hitl__err "install them first, e.g.: sudo apt-get install -y ${missing[*]}"
		return 1
	fi
	echo "hitl: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	if [[ ${HITL__APT_UPDATED:-0} != 1 ]]; then
		apt-get update -q >&2 || {
			hitl__err "apt-get update failed"
			return 1
		}
		HITL__APT_UPDATED=1
	fi
	# another run installing into the same system (or trixie tree) holds
	# dpkg's lock for a while: wait for it rather than fail
	apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >&2 || {
		hitl__err "apt-get install failed for: ${missing[*]}"
		return 1
	}
}

hitl_setup_user() {
	if ! hitl__is_root; then
		HITL_USER="$(id -un)"
		export HITL_USER
		return 0
	fi
	HITL_USER="${HITL_TEST_USER:-hitl_test}"
	if [[ $HITL_USER == root ]]; then
		hitl__err "HITL_TEST_USER must not be root"
		return 1
	fi
	if ! id -u "$HITL_USER" >/dev/null 2>&1; then
		useradd --system --user-group --no-create-home \
			--home-dir /nonexistent --shell /usr/sbin/nologin "$HITL_USER" || {
			hitl__err "could not create system user $HITL_USER"
			return 1
		}
	fi
	export HITL_USER
}

hitl__need_user() {
	[[ -n ${HITL_USER:-} ]] || hitl_setup_user
}

hitl__need_workdir() {
	[[ -n ${HITL_TMPDIR:-} && -d $HITL_TMPDIR ]] || hitl_workdir_init
}

hitl__exit_trap() {
	local rc=$1
	hitl_cleanup
	exit "$rc"
}

hitl_workdir_init() {
	hitl__need_user
	if [[ -n ${HITL_TMPDIR:-} && -d $HITL_TMPDIR ]]; then
		return 0
	fi
	HITL_TMPDIR="$(mktemp -d /tmp/hitl.XXXXXX)" || {
		hitl__err "mktemp failed"
		return 1
	}
	HITL_LOG_DIR="$HITL_TMPDIR/log"
	HITL_SRC_DIR="$HITL_TMPDIR/src"
	HITL_PGDATA="$HITL_TMPDIR/data"
	export HITL_TMPDIR HITL_LOG_DIR HITL_SRC_DIR HITL_PGDATA
	HITL__CLEANED=0
	trap 'hitl__exit_trap $?' EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkdir -p "$HITL_LOG_DIR" "$HITL_TMPDIR/home"
	if hitl__is_root; then
		chown -R "$HITL_USER:$(id -gn "$HITL_USER")" "$HITL_TMPDIR"
	fi
	chmod 700 "$HITL_TMPDIR"
}

hitl_on_exit() {
	HITL__EXIT_HOOKS+=("$1")
}

# Stop every server whose data directory lives under the temp dir: the main
# cluster and anything a killed Perl test left behind.
hitl__stop_all_servers() {
	local pidfile datadir
	[[ -n ${HITL_TMPDIR:-} && -d $HITL_TMPDIR ]] || return 0
	while IFS= read -r -d '' pidfile; do
		datadir="$(dirname "$pidfile")"
		hitl_as_user "$PG_BIN/pg_ctl" -D "$datadir" -m fast -w -t 30 stop >/dev/null 2>&1 ||
			hitl_as_user "$PG_BIN/pg_ctl" -D "$datadir" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
			true
	done < <(find "$HITL_TMPDIR" -name postmaster.pid -print0 2>/dev/null)
}

hitl_cleanup() {
	local hook
	if [[ $HITL__CLEANED == 1 ]]; then
		return 0
	fi
	HITL__CLEANED=1
	hitl__kill_child || true
	for hook in "${HITL__EXIT_HOOKS[@]}"; do
		eval "$hook" || true
	done
	hitl__stop_all_servers || true
	HITL__PG_STARTED=0
	if [[ -n ${HITL_TMPDIR:-} && -d $HITL_TMPDIR ]]; then
		case $PWD/ in
		"$HITL_TMPDIR"/*) cd / || true ;;
		esac
		if [[ ${HITL_KEEP_TMP:-0} == 1 ]]; then
			echo "hitl: kept $HITL_TMPDIR" >&2
		else
			rm -rf "$HITL_TMPDIR" || true
		fi
	fi
}

# Set HITL__ARGV to the command prefix that runs a command as HITL_USER.
hitl__as_user_argv() {
	hitl__need_user
	HITL__ARGV=()
	if [[ $(id -un) == "$HITL_USER" ]]; then
		return 0
	fi
	if ! hitl__is_root; then
		hitl__err "cannot switch to user $HITL_USER without root"
		return 1
	fi
	# runuser keeps the environment (resetting HOME, SHELL, USER, LOGNAME);
	# PATH is rebuilt from system directories: root's own may be unreadable.
	local home=/tmp
	if [[ -n ${HITL_TMPDIR:-} ]]; then
		home="$HITL_TMPDIR/home"
	fi
	HITL__ARGV=(runuser -u "$HITL_USER" -- env HOME="$home"
		PATH="$PG_BIN:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
}

hitl_as_user() {
	hitl__as_user_argv || return 1
	"${HITL__ARGV[@]}" "$@"
}

hitl_as_user_timeout() {
	local secs=$1 rc=0
	shift
	hitl__as_user_argv || return 1
	# In the background, in its own process group (timeout makes one), so a
	# trapped Ctrl-C or SIGTERM interrupts the wait and the exit trap can
	# kill the whole group.
	timeout -k 10 "$secs" "${HITL__ARGV[@]}" "$@" &
	HITL__CHILD=$!
	wait "$HITL__CHILD" || rc=$?
	HITL__CHILD=""
	return "$rc"
}

# Kill what hitl_as_user_timeout is waiting for, if anything.
hitl__kill_child() {
	local pid=${HITL__CHILD:-}
	[[ -n $pid ]] || return 0
	HITL__CHILD=""
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.5
	done
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

hitl_copy_src() {
	hitl__need_workdir
	rm -rf "$HITL_SRC_DIR"
	mkdir -p "$HITL_SRC_DIR"
	tar -C "$HITL_REPO_ROOT" --exclude=./.git -cf - . | tar -C "$HITL_SRC_DIR" -xf - || {
		hitl__err "could not copy $HITL_REPO_ROOT to $HITL_SRC_DIR"
		return 1
	}
	if hitl__is_root; then
		chown -R "$HITL_USER:$(id -gn "$HITL_USER")" "$HITL_SRC_DIR"
	fi
	hitl__pg_config || return 1
	# Drop build products a build in the checkout may have left.
	hitl_as_user make -C "$HITL_SRC_DIR" PG_CONFIG="$PG_CONFIG" clean >/dev/null 2>&1 || true
}

# Can we write where `make install` puts files?
hitl__install_dirs_writable() {
	local d
	for d in "$("$PG_CONFIG" --pkglibdir)" "$("$PG_CONFIG" --sharedir)/extension"; do
		[[ -w $d ]] || return 1
	done
}

hitl_build_install() {
	hitl__need_workdir
	hitl__pg_config || return 1
	[[ -f $HITL_SRC_DIR/Makefile ]] || hitl_copy_src || return 1
	local log="$HITL_LOG_DIR/build.log"
	local jobs="${HITL_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"
	echo "hitl: building in $HITL_SRC_DIR (warnings are errors)" >&2
	if ! hitl_as_user make -C "$HITL_SRC_DIR" -j"$jobs" PG_CONFIG="$PG_CONFIG" COPT=-Werror >"$log" 2>&1; then
		hitl__err "BUILD FAILED (make COPT=-Werror); last lines of $log:"
		tail -n 60 "$log" >&2
		return 1
	fi
	local install=(make -C "$HITL_SRC_DIR" PG_CONFIG="$PG_CONFIG" install install-0.1.0)
	local rc=0
	if hitl__is_root || hitl__install_dirs_writable; then
		"${install[@]}" >>"$log" 2>&1 || rc=$?
	elif command -v sudo >/dev/null 2>&1; then
		# shellcheck disable=SC2024 # the log is ours, only make needs root
		if [[ -t 0 ]]; then
			sudo "${install[@]}" >>"$log" 2>&1 || rc=$?
		else
			sudo -n "${install[@]}" >>"$log" 2>&1 || rc=$?
		fi
	else
		hitl__err "make install needs root: run as root or install sudo"
		return 1
	fi
	if [[ $rc -ne 0 ]]; then
		hitl__err "INSTALL FAILED (make install); last lines of $log:"
		tail -n 30 "$log" >&2
		return 1
	fi
}

hitl_start_cluster() {
	hitl__need_workdir
	local port="${HITL_PGPORT:-54329}"
	local conf="$HITL_PGDATA/postgresql.conf"
	local log="$HITL_LOG_DIR/postgres.log"
	if [[ $HITL__PG_STARTED == 1 ]]; then
		return 0
	fi
	if ! hitl_as_user "$PG_BIN/initdb" -D "$HITL_PGDATA" -A trust --no-locale -E UTF8 \
		--no-sync >"$HITL_LOG_DIR/initdb.log" 2>&1; then
		hitl__err "initdb failed; see $HITL_LOG_DIR/initdb.log:"
		tail -n 20 "$HITL_LOG_DIR/initdb.log" >&2
		return 1
	fi
	{
		echo
		echo "# private throwaway cluster (test/lib/cluster.sh)"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$HITL_TMPDIR'"
		echo "port = $port"
		echo "shared_preload_libraries = '${HITL_SHARED_PRELOAD_LIBRARIES:-}'"
		if [[ ${HITL_FSYNC_OFF:-0} == 1 ]]; then
			echo "fsync = off"
			echo "synchronous_commit = off"
			echo "full_page_writes = off"
		fi
		if [[ -n ${HITL_PG_CONF:-} ]]; then
			printf '%s\n' "$HITL_PG_CONF"
		fi
	} >>"$conf"
	if ! hitl_as_user env OPENBLAS_NUM_THREADS=1 "$PG_BIN/pg_ctl" -D "$HITL_PGDATA" \
		-l "$log" -w -t 60 start >"$HITL_LOG_DIR/pg_ctl.log" 2>&1; then
		hitl__err "the server did not start; last lines of $log:"
		tail -n 30 "$log" >&2
		return 1
	fi
	HITL__PG_STARTED=1
	PGHOST="$HITL_TMPDIR"
	PGPORT="$port"
	PGUSER="$HITL_USER"
	PGDATABASE=postgres
	export PGHOST PGPORT PGUSER PGDATABASE
}

hitl_stop_cluster() {
	[[ $HITL__PG_STARTED == 1 ]] || return 0
	hitl_as_user "$PG_BIN/pg_ctl" -D "$HITL_PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1 ||
		hitl_as_user "$PG_BIN/pg_ctl" -D "$HITL_PGDATA" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
		{
			hitl__err "could not stop the server in $HITL_PGDATA"
			return 1
		}
	HITL__PG_STARTED=0
}

hitl_psql() {
	hitl_as_user "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}

# Identifier-quote a name for SQL.
hitl__ident() {
	printf '"%s"' "${1//\"/\"\"}"
}

hitl_create_db() {
	local db=$1
	shift
	local ext
	if ! hitl_psql -d postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $(hitl__ident "$db") WITH (FORCE)" >/dev/null ||
		! hitl_psql -d postgres -c "CREATE DATABASE $(hitl__ident "$db")" >/dev/null; then
		hitl__err "could not create database $db"
		return 1
	fi
	for ext in "$@"; do
		hitl_psql -d "$db" -c "CREATE EXTENSION IF NOT EXISTS $(hitl__ident "$ext") CASCADE" >/dev/null || {
			hitl__err "could not create extension $ext in database $db"
			return 1
		}
	done
}

hitl_up() {
	local db="${1:-hitl}"
	# shellcheck disable=SC2119 # no extra packages
	hitl_ensure_deps &&
		hitl_setup_user &&
		hitl_workdir_init &&
		hitl_copy_src &&
		hitl_build_install &&
		hitl_start_cluster &&
		hitl_create_db "$db" hitl || return 1
	PGDATABASE="$db"
	export PGDATABASE
}
