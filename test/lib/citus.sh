# shellcheck shell=bash
#
# test/lib/citus.sh: build Citus once into the cache and install it into the
# PostgreSQL the tests run on, for the Citus suite (test/citus/*.pl, run by
# `bash test/run-tests.sh --citus` on 15, `--citus --pg 17` on 17 and
# `--citus --pg 18` on 18).
#
# hitl neither links nor ships Citus (AGPL-3.0): the suite builds it to check
# hitl on distributed tables. The release tarballs are not downloaded: they
# sit, unchanged, in the shared directory beside the repository
# (../shared/citus from the repository's root, or HITL_CITUS_SOURCES), with a
# patch for PostgreSQL 15.18 and later minor releases, whose headers export
# have_createdb_privilege, which Citus 13.2.2 defines too.
#
# Servers: the system's PostgreSQL 15 (Citus 13.2.2, patched), the 18 the
# test command builds into the cache (test/lib/servers.sh; Citus 14.0.1,
# unpatched), and Debian trixie's 17 (Citus 14.0.1, unpatched), each built
# against its own server's pg_config into a cache directory of its own.
# Citus 14.0.1 supports 16, 17 and 18; 13.2.2 supports 15, 16 and 17.
#
# 17 runs inside the Debian trixie tree of test/lib/trixie.sh, and so does
# its Citus build: the test command, run again in the tree, calls these same
# functions there, which install trixie's build packages with the tree's apt
# and build against trixie's postgresql-server-dev-17. Its cache is the
# tree's own /var/cache/hitl-test (the tree's root user's cache), that is
# trixie/var/cache/hitl-test under the host's cache, which stays with the
# tree from one run to the next. The tarballs reach the tree by a read-only
# bind mount (hitl_trixie_run --citus-sources).
#
# Source cluster.sh and servers.sh first (this file uses their helpers):
#
#     source test/lib/cluster.sh
#     source test/lib/servers.sh
#     source test/lib/citus.sh
#     hitl_citus_ensure "$PG_CONFIG" && hitl_citus_install "$PG_CONFIG"
#
# Functions (all return non-zero with a message on stderr on failure):
#
#   hitl_citus_version PG_CONFIG
#                        Print the Citus release built for that server
#                        (13.2.2 for 15, 14.0.1 for 17 and 18); fail for a
#                        server without one.
#   hitl_citus_ensure PG_CONFIG
#                        Build that release for the server of PG_CONFIG into
#                        the cache unless it is there: unpack, patch (15.18
#                        and later), configure, make (without LLVM bitcode),
#                        and `make install` with DESTDIR into a staging tree
#                        of the cache; then write the stamp. Installs the
#                        Debian packages it needs (HITL_CITUS_PACKAGES) as
#                        root. Log: the build directory's name with .log.
#   hitl_citus_install PG_CONFIG
#                        Copy the module and extension files of that staging
#                        tree (not Citus' headers) into the server's
#                        directories (as root, or with sudo when not root and
#                        they are not writable), and check citus.so and
#                        citus.control are there.
#
# The cache: $HITL_PG_CACHE (see servers.sh)/citus-VERSION-pgMAJOR-KEY, where
# KEY is a checksum of the server's bin directory and full version: a minor
# release of the server, or another install of it, builds again. A build
# counts as done once its stamp file (.hitl-stamp, written last) exists;
# concurrent calls wait for each other (flock). It takes about 70 s on 2
# cores for 13.2.2 on 15 and 50 s for 14.0.1 on 18 (twice that when other
# builds share them); 95 s for 14.0.1 on 17, in the trixie tree, with the
# machine busy with other work (a load of about 4 on its 2 cores).
#
# Settings: HITL_CITUS_SOURCES (the directory of the tarballs and the patch),
# HITL_PG_CACHE, HITL_BUILD_JOBS.

# Debian packages the Citus build needs besides the server's headers (whose
# libpq/libpq-be.h includes gssapi/gssapi.h, of libkrb5-dev, for a server
# built with GSSAPI as Debian's is, and whose utils/pg_locale.h includes
# unicode/ucol.h, of libicu-dev, for a server built with ICU, as Debian's 15
# and trixie's 17 are). The same names in Debian 12 and in trixie.
HITL_CITUS_PACKAGES=(
	build-essential
	liblz4-dev
	libzstd-dev
	libcurl4-openssl-dev
	libkrb5-dev
	libicu-dev
)

hitl__citus_sources() {
	local dir=${HITL_CITUS_SOURCES:-$HITL_REPO_ROOT/../shared/citus}
	if [[ ! -d $dir ]]; then
		hitl__err "no Citus sources in $dir (set HITL_CITUS_SOURCES)"
		return 1
	fi
	(cd "$dir" && pwd)
}

# hitl__citus_pg_version PG_CONFIG: print the server's "MAJOR MINOR".
hitl__citus_pg_version() {
	local v
	v=$("$1" --version 2>/dev/null) || {
		hitl__err "$1 --version failed"
		return 1
	}
	if [[ ! $v =~ ^PostgreSQL\ ([0-9]+)\.([0-9]+) ]]; then
		hitl__err "cannot read the server version from '$v'"
		return 1
	fi
	printf '%s %s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
}

hitl_citus_version() {
	local major minor
	read -r major minor < <(hitl__citus_pg_version "$1") || return 1
	case $major in
	15) echo 13.2.2 ;;
	17 | 18) echo 14.0.1 ;;
	*)
		hitl__err "no Citus build for PostgreSQL $major (15: Citus 13.2.2, 17 and 18: Citus 14.0.1)"
		return 1
		;;
	esac
}

# Print the cache directory of the Citus build for PG_CONFIG's server.
hitl__citus_dir() {
	local pg_config=$1 version major minor key
	version=$(hitl_citus_version "$pg_config") || return 1
	read -r major minor < <(hitl__citus_pg_version "$pg_config") || return 1
	key=$({ "$pg_config" --bindir && "$pg_config" --version; } | cksum | cut -d' ' -f1)
	printf '%s/citus-%s-pg%s-%s\n' "$(hitl__cache_root)" "$version" "$major" "$key"
}

# hitl__citus_build PG_CONFIG DIR: build into DIR/src, stage into DIR/stage;
# print the stamp's text.
hitl__citus_build() {
	local pg_config=$1 dir=$2 sources version major minor jobs src start
	start=$(date +%s)
	sources=$(hitl__citus_sources) || return 1
	version=$(hitl_citus_version "$pg_config") || return 1
	read -r major minor < <(hitl__citus_pg_version "$pg_config") || return 1
	jobs="${HITL_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"
	mkdir -p "$dir/src" || return 1
	tar --no-same-owner -C "$dir/src" -xzf "$sources/citus-$version.tar.gz" || {
		hitl__err "could not unpack $sources/citus-$version.tar.gz"
		return 1
	}
	src="$dir/src/citus-$version"
	if [[ $version == 13.2.2 && $major == 15 && $minor -ge 18 ]]; then
		patch -d "$src" -p1 <"$sources/citus-13.2.2-pg15.18.patch" >&2 || {
			hitl__err "the patch citus-13.2.2-pg15.18.patch does not apply"
			return 1
		}
	fi
	(cd "$src" && ./configure PG_CONFIG="$pg_config" >&2) || {
		hitl__err "configure of Citus $version failed"
		return 1
	}
	# with_llvm=no: no LLVM bitcode for JIT inlining, which would double
	# the build's time for nothing the tests use
	make -C "$src" -j"$jobs" with_llvm=no >&2 || {
		hitl__err "make of Citus $version failed"
		return 1
	}
	make -C "$src" install with_llvm=no DESTDIR="$dir/stage" >&2 || {
		hitl__err "make install (staged) of Citus $version failed"
		return 1
	}
	printf 'Citus %s for %s (%s), make -j%s, built %s in %ss\n' "$version" \
		"$("$pg_config" --version)" "$pg_config" "$jobs" \
		"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(($(date +%s) - start))"
}

hitl_citus_ensure() {
	local pg_config=$1 dir root rc=0 info
	dir=$(hitl__citus_dir "$pg_config") || return 1
	root=$(dirname "$dir")
	mkdir -p "$root" || {
		hitl__err "cannot create the cache directory $root (set HITL_PG_CACHE)"
		return 1
	}
	(
		flock 9 || exit 1
		if [[ -f $dir/.hitl-stamp ]]; then
			echo "hitl: Citus from the cache: $dir ($(cat "$dir/.hitl-stamp"))" >&2
			exit 0
		fi
		# shellcheck disable=SC2119 # packages given
		hitl_ensure_deps "${HITL_CITUS_PACKAGES[@]}" || exit 1
		umask 022
		rm -rf "$dir"
		echo "hitl: building Citus into $dir (log: $dir.log)" >&2
		if ! info=$(hitl__citus_build "$pg_config" "$dir" 2>"$dir.log"); then
			hitl__err "could not build Citus; last lines of $dir.log:"
			tail -n 40 "$dir.log" >&2
			rm -rf "$dir"
			exit 1
		fi
		# the staging tree is what installs; the built sources can go
		rm -rf "$dir/src"
		printf '%s\n' "$info" >"$dir/.hitl-stamp"
		echo "hitl: built $info" >&2
	) 9>"$dir.lock" || rc=$?
	return "$rc"
}

hitl_citus_install() {
	local pg_config=$1 dir pkglib share rc=0
	dir=$(hitl__citus_dir "$pg_config") || return 1
	if [[ ! -f $dir/.hitl-stamp ]]; then
		hitl__err "Citus is not built in $dir (hitl_citus_ensure first)"
		return 1
	fi
	pkglib=$("$pg_config" --pkglibdir)
	share=$("$pg_config" --sharedir)
	# the module and the extension's files; not Citus' headers
	if hitl__is_root || { [[ -w $pkglib && -w $share/extension ]]; }; then
		cp -R --preserve=mode,timestamps "$dir/stage$pkglib/." "$pkglib/" &&
			cp -R --preserve=mode,timestamps "$dir/stage$share/." "$share/" || rc=$?
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n cp -R --preserve=mode,timestamps "$dir/stage$pkglib/." "$pkglib/" &&
			sudo -n cp -R --preserve=mode,timestamps "$dir/stage$share/." "$share/" || rc=$?
	else
		hitl__err "installing Citus into $pkglib needs root: run as root or install sudo"
		return 1
	fi
	if [[ $rc -ne 0 ]]; then
		hitl__err "could not copy $dir/stage into the server's directories"
		return 1
	fi
	if [[ ! -f $pkglib/citus.so || ! -f $share/extension/citus.control ]]; then
		hitl__err "no citus.so in $pkglib or no citus.control in $share/extension after the install"
		return 1
	fi
}
