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
# and a /dev/shm of its own mounted while a run uses it. Inside, the test
# command runs as it does on the host: it installs what it needs from
# trixie with apt (postgresql-17, its server headers and the
# PostgreSQL::Test modules they ship, pgTAP, the build tools, the drivers),
# builds hitl with warnings as errors, and runs every suite as a non-root
# user. The tree is made once and reused while its stamp file is there;
# packages installed into it stay for the next run.
#
# Source cluster.sh and servers.sh first (this file uses their helpers):
#
#     hitl_trixie_run ARGS...   run `bash test/run-tests.sh ARGS` in the tree
#                               on a copy of this source tree; its status, or
#                               3 when the tree could not be made or entered
#
# Needs root (debootstrap, mount, chroot). Settings: HITL_PG_CACHE (see
# servers.sh), HITL_DEBIAN_MIRROR.

HITL__TRIXIE_MOUNTS=()

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

# Mount what a server and apt need in the tree; hitl__trixie_umount undoes it.
hitl__trixie_mount() {
	local root=$1 m
	for m in proc dev dev/pts dev/shm; do
		mkdir -p "$root/$m"
	done
	mount -t proc proc "$root/proc" && HITL__TRIXIE_MOUNTS+=("$root/proc") &&
		mount --bind /dev "$root/dev" && HITL__TRIXIE_MOUNTS+=("$root/dev") &&
		mount --bind /dev/pts "$root/dev/pts" && HITL__TRIXIE_MOUNTS+=("$root/dev/pts") &&
		mount -t tmpfs -o mode=1777 shm "$root/dev/shm" && HITL__TRIXIE_MOUNTS+=("$root/dev/shm")
}

hitl__trixie_umount() {
	local i
	for ((i = ${#HITL__TRIXIE_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount -l "${HITL__TRIXIE_MOUNTS[i]}" 2>/dev/null || true
	done
	HITL__TRIXIE_MOUNTS=()
}

hitl_trixie_run() {
	local root rc=0
	if ! hitl__is_root; then
		hitl__err "PostgreSQL 17 runs in a Debian trixie tree (chroot): run as root"
		return 3
	fi
	root="$(hitl__cache_root)/trixie"
	hitl__trixie_ensure "$root" || return 3
	hitl__trixie_mount "$root" || {
		hitl__trixie_umount
		hitl__err "could not mount /proc and /dev in $root"
		return 3
	}
	# a fresh copy of this source tree, without its git history
	rm -rf "$root/hitl-src" && mkdir -p "$root/hitl-src" &&
		tar -C "$HITL_REPO_ROOT" --exclude=./.git --exclude=./tmp_check -cf - . |
		tar --no-same-owner -C "$root/hitl-src" -xf - || rc=3
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	# a run stopped by a signal unmounts too
	trap 'hitl__trixie_umount; exit 143' TERM
	trap 'hitl__trixie_umount; exit 130' INT
	trap 'hitl__trixie_umount; exit 129' HUP
	if [[ $rc -eq 0 ]]; then
		chroot "$root" /usr/bin/env -i \
			PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
			HITL_IN_TRIXIE=1 PG_BIN=/usr/lib/postgresql/17/bin \
			${CI:+CI="$CI"} ${HITL_TEST_BUDGET:+HITL_TEST_BUDGET="$HITL_TEST_BUDGET"} \
			${HITL_KEEP_TMP:+HITL_KEEP_TMP="$HITL_KEEP_TMP"} \
			bash /hitl-src/test/run-tests.sh "$@" || rc=$?
	fi
	trap - TERM INT HUP
	hitl__trixie_umount
	return "$rc"
}
