# shellcheck shell=bash
#
# test/lib/servers.sh: build the PostgreSQL servers hitl is tested on that
# Debian 12 does not ship, with pgTAP and the TAP test modules, once each
# into a cache directory, and reuse them while they are there. 18 is built
# so. 17 has a recipe too, but Debian's mirror lacks its source tarball (the
# index lists it; the file is 404): test/lib/trixie.sh runs the tests on 17
# from Debian trixie's binary packages instead.
#
# The system's apt offers server 15 only. The sources come from Debian's own
# source packages (trixie: postgresql-17 and pgtap, sid: postgresql-18), read
# through a private apt configuration (test/lib/apt/pg-sources.list): its own
# sources file, lists and cache, so the system's sources and lists do not
# change. apt checks the indexes against Debian's archive keyring and each
# downloaded tarball against their checksums. Only the upstream tarballs are
# used (`apt-get source --tar-only`): a plain upstream build with its own
# --prefix, not Debian's packaging and its directory layout.
#
# Source cluster.sh first (this file uses its helpers and HITL_USER):
#
#     source test/lib/cluster.sh
#     source test/lib/servers.sh
#     hitl_server_ensure 17 && PG_BIN=$(hitl_server_prefix 17)/bin
#
# Functions (all return non-zero with a message on stderr on failure):
#
#   hitl_server_prefix MAJOR    Print where server MAJOR is (or will be) built:
#                               $HITL_PG_CACHE/pgMAJOR.
#   hitl_server_ensure MAJOR    Build server MAJOR (17 or 18) with pgTAP into
#                               that prefix unless it is already there, check
#                               it (a throwaway cluster as HITL_USER runs SQL
#                               and CREATE EXTENSION pgtap), then write the
#                               stamp file. Needs root for missing Debian
#                               packages only. Log: $HITL_PG_CACHE/pgMAJOR.log.
#
# A build counts as done only once its stamp file ($prefix/.hitl-stamp, written
# last) exists: an interrupted or failed build is removed and redone by the next
# call. Delete the prefix to force a rebuild. Concurrent calls for the same
# server wait for each other (flock).
#
# What is built: `./configure --prefix=... --enable-tap-tests --without-icu
# --without-readline` and `make install` (server, client programs, headers,
# PGXS, pg_regress and the PostgreSQL::Test::* modules under
# lib/postgresql/pgxs/src/test/perl, where test/run-tests.sh looks through
# pg_config --pgxs); no documentation and no contrib module (neither the tests
# nor pgTAP create one); then pgTAP with `make PG_CONFIG=... install`.
#
# Settings (environment variables, all optional):
#
#   HITL_PG_CACHE        cache directory (/var/cache/hitl-test as root, else
#                        ${XDG_CACHE_HOME:-~/.cache}/hitl-test)
#   HITL_DEBIAN_MIRROR   Debian mirror to fetch sources from (default: the one
#                        the system's apt uses for its own release)
#   HITL_BUILD_JOBS      make -j (default: nproc)

# Debian packages a server build needs, beyond what cluster.sh installs (the
# tarballs of 17 and later hold no generated parser: bison and flex make it).
HITL_SERVER_PACKAGES=(
	build-essential
	bison
	flex
	bzip2
	xz-utils
	zlib1g-dev
	libipc-run-perl
	debian-archive-keyring
)

HITL__SERVERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HITL__APT_READY=0
HITL__APT_OPTS=()

hitl__cache_root() {
	if [[ -n ${HITL_PG_CACHE:-} ]]; then
		printf '%s\n' "$HITL_PG_CACHE"
	elif hitl__is_root; then
		printf '%s\n' /var/cache/hitl-test
	else
		printf '%s\n' "${XDG_CACHE_HOME:-$HOME/.cache}/hitl-test"
	fi
}

hitl_server_prefix() {
	printf '%s/pg%s\n' "$(hitl__cache_root)" "$1"
}

# The Debian suite each source package is taken from.
hitl__server_suite() {
	case $1 in
	postgresql-17 | pgtap) echo trixie ;;
	postgresql-18) echo sid ;;
	*) return 1 ;;
	esac
}

# Print the Debian mirror the system's apt uses for its own release.
hitl__debian_mirror() {
	local codename uri release
	if [[ -n ${HITL_DEBIAN_MIRROR:-} ]]; then
		printf '%s\n' "${HITL_DEBIAN_MIRROR%/}"
		return 0
	fi
	# shellcheck disable=SC1091 # the system's file
	codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
	# shellcheck disable=SC2016 # $(FIELD) is apt's own syntax
	while read -r uri release; do
		if [[ $release == "$codename" ]]; then
			printf '%s\n' "${uri%/}"
			return 0
		fi
	done < <(apt-get indextargets --no-release-info \
		--format '$(REPO_URI) $(RELEASE)' 2>/dev/null | sort -u)
	hitl__err "no Debian mirror for '$codename' in the system's apt sources: set HITL_DEBIAN_MIRROR"
	return 1
}

# Write the private apt configuration and fetch its indexes (once per run).
hitl__apt_prepare() {
	local aptdir mirror
	[[ $HITL__APT_READY == 1 ]] && return 0
	aptdir="$(hitl__cache_root)/apt"
	mirror=$(hitl__debian_mirror) || return 1
	mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" || return 1
	sed "s|@MIRROR@|$mirror|" "$HITL__SERVERS_DIR/apt/pg-sources.list" >"$aptdir/sources.list" || return 1
	HITL__APT_OPTS=(
		-o "Dir::Etc::sourcelist=$aptdir/sources.list"
		-o Dir::Etc::sourceparts=-
		-o "Dir::State::Lists=$aptdir/lists"
		-o "Dir::Cache=$aptdir/cache"
	)
	echo "hitl: apt-get update with $aptdir/sources.list ($mirror)" >&2
	if ! apt-get "${HITL__APT_OPTS[@]}" -q update >&2; then
		hitl__err "apt-get update with $aptdir/sources.list failed"
		return 1
	fi
	HITL__APT_READY=1
}

# hitl__fetch_orig PACKAGE DIR: download PACKAGE's upstream tarball from its
# suite into DIR (which must be empty or missing); print the tarball's path.
hitl__fetch_orig() {
	local pkg=$1 dir=$2 suite tarball
	suite=$(hitl__server_suite "$pkg") || {
		hitl__err "no Debian suite known for $pkg"
		return 1
	}
	mkdir -p "$dir" || return 1
	# As root apt downloads as _apt, which must be able to write there.
	if hitl__is_root && id -u _apt >/dev/null 2>&1; then
		chown _apt "$dir" || return 1
	fi
	if ! (cd "$dir" && apt-get "${HITL__APT_OPTS[@]}" -q source --tar-only "$pkg/$suite") >&2; then
		hitl__err "apt-get source --tar-only $pkg/$suite failed"
		return 1
	fi
	tarball=$(find "$dir" -maxdepth 1 -name "*.orig.tar.*" ! -name "*.asc" -print -quit)
	if [[ -z $tarball ]]; then
		hitl__err "no upstream tarball of $pkg in $dir"
		return 1
	fi
	printf '%s\n' "$tarball"
}

# hitl__unpack TARBALL DIR: unpack into DIR; print the source tree's path.
hitl__unpack() {
	local tarball=$1 dir=$2 top
	mkdir -p "$dir" || return 1
	tar --no-same-owner -C "$dir" -xf "$tarball" || {
		hitl__err "could not unpack $tarball"
		return 1
	}
	top=$(find "$dir" -mindepth 1 -maxdepth 1 -type d -print -quit)
	[[ -n $top ]] || {
		hitl__err "$tarball holds no directory"
		return 1
	}
	printf '%s\n' "$top"
}

# hitl__server_check PREFIX: start a throwaway cluster of the server in PREFIX
# as HITL_USER, run SQL and CREATE EXTENSION pgtap in it, and stop it.
hitl__server_check() {
	local prefix=$1 dir rc=0 out
	hitl__need_user || return 1
	dir=$(mktemp -d /tmp/hitl-check.XXXXXX) || return 1
	if hitl__is_root; then
		chown "$HITL_USER" "$dir" || return 1
	fi
	if hitl_as_user "$prefix/bin/initdb" -D "$dir/data" -A trust --no-locale -E UTF8 \
		--no-sync >"$dir/initdb.log" 2>&1 &&
		hitl_as_user "$prefix/bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
			-o "-c listen_addresses='' -c unix_socket_directories='$dir' -c port=54328" \
			start >/dev/null 2>&1; then
		out=$(hitl_as_user "$prefix/bin/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$dir" -p 54328 \
			-d postgres -c "CREATE EXTENSION pgtap" \
			-c "SELECT current_setting('server_version_num')::int / 10000, pgtap_version()" \
			-c "SELECT plan(1)" -c "SELECT ok(true, 'pgtap works')" -c "SELECT * FROM finish()" 2>&1) || rc=$?
		hitl_as_user "$prefix/bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
			hitl_as_user "$prefix/bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
	else
		rc=1
		out=$(tail -n 20 "$dir/initdb.log" "$dir/postgres.log" 2>/dev/null)
	fi
	printf '%s\n' "$out"
	rm -rf "$dir"
	if [[ $rc -ne 0 || $out != *"ok 1 - pgtap works"* ]]; then
		hitl__err "the server in $prefix failed its check"
		return 1
	fi
}

# hitl__lap STEP: log how long STEP took (since the previous lap) and add it to
# HITL__LAPS.
hitl__lap() {
	local now
	now=$(date +%s)
	echo "hitl: $1 took $((now - HITL__LAP))s" >&2
	HITL__LAPS+="${HITL__LAPS:+, }$1 $((now - HITL__LAP))s"
	HITL__LAP=$now
}

# hitl__server_build MAJOR PREFIX WORK: download, build and install server
# MAJOR and pgTAP into PREFIX, using WORK as scratch; print the stamp's text
# (what was built, when, and how long each step took).
hitl__server_build() {
	local major=$1 prefix=$2 work=$3 jobs tarball src pgtap_src
	jobs="${HITL_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"
	HITL__LAP=$(date +%s)
	HITL__LAPS=""
	hitl__apt_prepare || return 1
	tarball=$(hitl__fetch_orig "postgresql-$major" "$work/dl") || return 1
	hitl__lap download
	src=$(hitl__unpack "$tarball" "$work/src") || return 1
	hitl__lap unpack
	if ! (cd "$src" && ./configure --prefix="$prefix" --enable-tap-tests \
		--without-icu --without-readline >&2); then
		hitl__err "configure of $(basename "$src") failed"
		return 1
	fi
	hitl__lap configure
	if ! make -C "$src" -j"$jobs" >&2; then
		hitl__err "make of $(basename "$src") failed"
		return 1
	fi
	hitl__lap make
	if ! make -C "$src" install >&2; then
		hitl__err "make install of $(basename "$src") failed"
		return 1
	fi
	hitl__lap install
	tarball=$(hitl__fetch_orig pgtap "$work/dl-pgtap") || return 1
	pgtap_src=$(hitl__unpack "$tarball" "$work/src-pgtap") || return 1
	if ! make -C "$pgtap_src" PG_CONFIG="$prefix/bin/pg_config" >&2 ||
		! make -C "$pgtap_src" PG_CONFIG="$prefix/bin/pg_config" install >&2; then
		hitl__err "building $(basename "$pgtap_src") for PostgreSQL $major failed"
		return 1
	fi
	hitl__lap pgtap
	hitl__server_check "$prefix" >&2 || return 1
	hitl__lap check
	printf '%s and %s, make -j%s, built %s (%s)\n' "$(basename "$src")" \
		"$(basename "$pgtap_src")" "$jobs" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$HITL__LAPS"
}

hitl_server_ensure() {
	local major=$1 root prefix stamp log work info rc=0
	case $major in
	17 | 18) ;;
	*)
		hitl__err "no build recipe for PostgreSQL $major (17 and 18 are built; 15 is the system's)"
		return 1
		;;
	esac
	root=$(hitl__cache_root)
	prefix="$root/pg$major"
	stamp="$prefix/.hitl-stamp"
	log="$root/pg$major.log"
	work="$root/build/pg$major"
	mkdir -p "$root" || {
		hitl__err "cannot create the cache directory $root (set HITL_PG_CACHE)"
		return 1
	}
	(
		flock 9 || exit 1
		if [[ -f $stamp ]]; then
			echo "hitl: PostgreSQL $major from the cache: $prefix ($(cat "$stamp"))" >&2
			exit 0
		fi
		# shellcheck disable=SC2119 # packages given
		hitl_ensure_deps "${HITL_SERVER_PACKAGES[@]}" || exit 1
		umask 022
		rm -rf "$prefix" "$work"
		echo "hitl: building PostgreSQL $major into $prefix (log: $log)" >&2
		if ! info=$(hitl__server_build "$major" "$prefix" "$work" 2>"$log"); then
			hitl__err "could not build PostgreSQL $major; last lines of $log:"
			tail -n 40 "$log" >&2
			rm -rf "$prefix"
			exit 1
		fi
		rm -rf "$work"
		printf '%s\n' "$info" >"$stamp"
		echo "hitl: built $info" >&2
	) 9>"$root/pg$major.lock" || rc=$?
	return "$rc"
}
