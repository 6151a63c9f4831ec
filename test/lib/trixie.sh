# shellcheck shell=bash
#
# test/lib/trixie.sh: PostgreSQL 17 from Debian trixie's own binary packages,
# in a Debian trixie tree of the test script's (a chroot), where the whole
# suite runs on it.
#
# Debian 12 has no PostgreSQL 17, and 17 cannot be built here from Debian's
# sources: trixie's signed index lists postgresql-17's source package, but
# the mirror has no tarball for it (404). Its binary packages are there, but
# they need trixie's C library, newer than Debian 12's. So 17 runs in a
# trixie tree made with debootstrap (minbase) in the cache, with /proc, /dev
# and a /dev/shm of its own mounted while a run uses it, in a mount
# namespace of that run's (unshare), so that runs at the same time do not
# share or unmount each other's mounts. Inside, the test
# command runs as it does on the host: it installs what it needs from
# trixie with apt (postgresql-17, its server headers and the
# PostgreSQL::Test modules they ship, pgTAP, the build tools, the drivers),
# builds hitl with warnings as errors, and runs every suite as a non-root
# user. The tree is made once and reused while its stamp file is there;
# packages installed into it stay for the next run. The Citus suite
# (`--citus --pg 17`) runs there the same way, with Citus built in the tree
# against trixie's headers and kept in the tree's own cache
# (test/lib/citus.sh).
#
# Source cluster.sh and servers.sh first (this file uses their helpers):
#
#     hitl_trixie_run [--citus-sources DIR] ARGS...
#                    run `bash test/run-tests.sh ARGS` in the tree on a copy
#                    of this source tree (one per run, removed after it);
#                    its status, or 3 when the tree could not be made or
#                    entered. With --citus-sources, DIR (the Citus tarballs,
#                    see test/lib/citus.sh) is bind-mounted read-only at
#                    /hitl-citus in the tree, and HITL_CITUS_SOURCES names it
#                    there; the Citus build then lands in the tree's own
#                    cache (/var/cache/hitl-test in the tree).
#
# Needs root (debootstrap, mount, unshare, chroot). Settings: HITL_PG_CACHE
# (see servers.sh), HITL_DEBIAN_MIRROR.

# Make the trixie tree once (debootstrap minbase), under a lock.
hitl__trixie_ensure() {
	local root=$1 cache stamp mirror
	cache=$(dirname "$root")
	stamp="$root/.hitl-stamp"
	mkdir -p "$cache" || return 1
	(
		flock 9 || exit 1
		[[ -f $stamp ]] && exit 0
		hitl_ensure_deps debootstrap debian-archive-keyring || exit 1
		mirror=$(hitl__debian_mirror) || exit 1
		rm -rf "$root"
		echo "hitl: making a Debian trixie tree for PostgreSQL 17 in $root" >&2
		if ! debootstrap --variant=minbase --include=ca-certificates \
			--keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
			trixie "$root" "$mirror" >"$cache/trixie.log" 2>&1; then
			hitl__err "debootstrap failed; last lines of $cache/trixie.log:"
			tail -n 20 "$cache/trixie.log" >&2
			rm -rf "$root"
			exit 1
		fi
		# packages start no service in the tree, and make no cluster
		printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" &&
			chmod 755 "$root/usr/sbin/policy-rc.d" &&
			mkdir -p "$root/etc/postgresql-common/createcluster.d" &&
			echo 'create_main_cluster = false' >"$root/etc/postgresql-common/createcluster.d/hitl.conf" ||
			exit 1
		date -u +%Y-%m-%dT%H:%M:%SZ >"$stamp"
	) 9>"$cache/trixie.lock"
}

# hitl__trixie_chroot ROOT CITUS SRC ARGS...: in a mount namespace of its own,
# mount what a server and apt need in the tree (/proc, /dev, /dev/pts and a
# /dev/shm of its own) and, when CITUS is a directory, bind it read-only at
# /hitl-citus; then run `bash SRC/test/run-tests.sh ARGS` there (SRC: the
# copy of the sources, a path in the tree). The
# mounts are private to this run and go with it, so two runs in the tree
# (or one stopped by a signal) leave no mount behind and do not share a
# /dev/shm.
hitl__trixie_chroot() {
	local root=$1 citus=$2 src=$3
	shift 3
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private -- /bin/sh -eu -c '
		root=$1 citus=$2
		shift 2
		mount -t proc proc "$root/proc"
		mount --bind /dev "$root/dev"
		mount --bind /dev/pts "$root/dev/pts"
		mount -t tmpfs -o mode=1777 shm "$root/dev/shm"
		if [ -n "$citus" ]; then
			mount --bind "$citus" "$root/hitl-citus"
			mount -o remount,bind,ro "$root/hitl-citus"
		fi
		exec chroot "$root" "$@"
	' sh "$root" "$citus" /usr/bin/env -i \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		HITL_IN_TRIXIE=1 PG_BIN=/usr/lib/postgresql/17/bin \
		${citus:+HITL_CITUS_SOURCES=/hitl-citus} \
		${CI:+CI="$CI"} ${HITL_TEST_BUDGET:+HITL_TEST_BUDGET="$HITL_TEST_BUDGET"} \
		${HITL_KEEP_TMP:+HITL_KEEP_TMP="$HITL_KEEP_TMP"} \
		bash "$src/test/run-tests.sh" "$@"
}

hitl_trixie_run() {
	local root citus="" src rc=0 m
	if [[ ${1:-} == --citus-sources ]]; then
		citus=$(cd "$2" && pwd) || {
			hitl__err "no Citus sources in $2"
			return 3
		}
		shift 2
	fi
	if ! hitl__is_root; then
		hitl__err "PostgreSQL 17 runs in a Debian trixie tree (chroot): run as root"
		return 3
	fi
	if ! command -v unshare >/dev/null 2>&1; then
		hitl__err "unshare (util-linux) not found: PostgreSQL 17 runs in a trixie tree with mounts of its own"
		return 3
	fi
	root="$(hitl__cache_root)/trixie"
	hitl__trixie_ensure "$root" || return 3
	for m in proc dev dev/pts dev/shm hitl-citus; do
		mkdir -p "$root/$m" || return 3
	done
	# a fresh copy of this source tree, without its git history, of this
	# run's alone
	src=$(mktemp -d "$root/hitl-src.XXXXXX") || return 3
	# a run stopped by a signal removes it too
	# shellcheck disable=SC2064 # src is fixed now
	trap "rm -rf '$src'; exit 143" TERM
	# shellcheck disable=SC2064
	trap "rm -rf '$src'; exit 130" INT
	# shellcheck disable=SC2064
	trap "rm -rf '$src'; exit 129" HUP
	chmod 755 "$src" &&
		tar -C "$HITL_REPO_ROOT" --exclude=./.git --exclude=./tmp_check -cf - . |
		tar --no-same-owner -C "$src" -xf - || rc=3
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	if [[ $rc -eq 0 ]]; then
		hitl__trixie_chroot "$root" "$citus" "/${src##*/}" "$@" || rc=$?
	fi
	trap - TERM INT HUP
	rm -rf "$src"
	return "$rc"
}
