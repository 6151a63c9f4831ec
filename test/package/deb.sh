#!/usr/bin/env bash
#
# test/package/deb.sh: build the Debian package postgresql-15-hitl from a copy
# of the tree, install it into the system's PostgreSQL 15 with dpkg, use it
# from a private cluster run by the test user (CREATE EXTENSION, a model
# trained, scored and asked for predictions), remove it, and leave the
# system's hitl files exactly as they were before (those a `make install`
# may have put there are saved first and put back at the end).
#
#     sudo bash test/package/deb.sh     (as root; TAP on stdout)
#
# It needs root (apt-get, dpkg -i, dpkg --purge); otherwise it prints
# "1..0 # SKIP needs root". As root it installs what is missing first
# (hitl's packages plus dpkg-dev, debhelper, postgresql-server-dev-all,
# lintian).
# It stops (Bail out!) when postgresql-15-hitl is installed already: that
# installation is not the test's to remove.
#
# The system's server is used whatever PG_BIN says: the package installs
# into /usr/lib/postgresql/15 and /usr/share/postgresql/15. Settings:
# HITL_DEB_BUILD_OPTIONS (DEB_BUILD_OPTIONS of the package build, default
# "nocheck parallel=<nproc>": the regression tests the package build can run
# on its files are left to the regress suite), HITL_KEEP_TMP=1 (keep the
# temp dir: build log, .deb files, server log).

set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
	echo "1..0 # SKIP needs root (apt-get, dpkg)"
	exit 0
fi

# The package is for the system's server, not for another PG_BIN a caller
# (test/run-tests.sh) may have exported; nor may this run share the caller's
# temp dir or cluster.
PG_BIN=/usr/lib/postgresql/15/bin
unset PG_CONFIG HITL_TMPDIR HITL_LOG_DIR HITL_SRC_DIR HITL_PGDATA \
	PGHOST PGPORT PGUSER PGDATABASE PGSERVICE PGOPTIONS
export PG_BIN

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/lib/cluster.sh
source "$HERE/../lib/cluster.sh"

PACKAGE=postgresql-15-hitl
PLAN=18
TEST_NO=0
FAILED=0
DPKG_TOUCHED=0
RESTORED=0

# tap STATUS NAME: print one TAP line, "ok" when STATUS is 0; count failures.
tap() {
	local status=$1 name=$2
	TEST_NO=$((TEST_NO + 1))
	if [[ $status -eq 0 ]]; then
		echo "ok $TEST_NO - $name"
	else
		echo "not ok $TEST_NO - $name"
		FAILED=$((FAILED + 1))
	fi
}

# is GOT EXPECTED NAME
is() {
	local got=$1 expected=$2 name=$3
	if [[ $got == "$expected" ]]; then
		tap 0 "$name"
	else
		tap 1 "$name"
		printf '     got: %s\nexpected: %s\n' "$got" "$expected" | sed 's/^/#   /'
	fi
}

diag() {
	printf '# %s\n' "$@"
}

# Print the last lines of a log as TAP comments.
diag_log() {
	local file=$1 lines=${2:-40}
	[[ -f $file ]] || return 0
	diag "last lines of $file:"
	tail -n "$lines" "$file" | sed 's/^/#   /'
}

bail() {
	echo "Bail out! $*"
	exit 1
}

# Every regular file or symlink of hitl in the system server's directories,
# with its checksum: what must be the same after the test as before.
hitl_manifest() {
	local pkglib=/usr/lib/postgresql/15/lib share=/usr/share/postgresql/15/extension
	{
		find "$pkglib" -maxdepth 1 \( -name 'hitl.*' -o -name 'hitl' \) \( -type f -o -type l \) 2>/dev/null
		find "$pkglib/bitcode" -maxdepth 1 -name 'hitl.index.bc' \( -type f -o -type l \) 2>/dev/null
		if [[ -d $pkglib/bitcode/hitl ]]; then
			find "$pkglib/bitcode/hitl" \( -type f -o -type l \)
		fi
		find "$share" -maxdepth 1 \( -name 'hitl.control' -o -name 'hitl--*' \) \( -type f -o -type l \) 2>/dev/null
		true
	} | LC_ALL=C sort | while IFS= read -r f; do
		printf '%s %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$f"
	done
}

# Remove the package if this test installed it, then put back the files it
# replaced. Idempotent: also run by the exit trap after a failure.
restore_system() {
	if [[ $DPKG_TOUCHED -eq 1 ]]; then
		dpkg --purge "$PACKAGE" >>"$HITL_LOG_DIR/dpkg.log" 2>&1 || return 1
		DPKG_TOUCHED=0
	fi
	if [[ $RESTORED -eq 0 && -n ${SAVE_DIR:-} && -f $SAVE_DIR/saved.tar ]]; then
		tar -C / -xpf "$SAVE_DIR/saved.tar" || return 1
		RESTORED=1
		rm -rf "$SAVE_DIR"
	fi
}

hitl_ensure_deps dpkg-dev debhelper postgresql-server-dev-all lintian >&2 ||
	bail "could not install the build dependencies"
hitl_setup_user
hitl_workdir_init
hitl_on_exit restore_system
echo "1..$PLAN"

state=$(dpkg-query -W -f='${db:Status-Status}' "$PACKAGE" 2>/dev/null || true)
if [[ -n $state && $state != not-installed && $state != config-files ]]; then
	bail "$PACKAGE is installed already ($state); remove it first (dpkg --purge $PACKAGE)"
fi

# 1-3: build the package from a copy of the tree, as the test user; lint it
version=$(sed -n 's/^hitl (\([^)]*\)).*/\1/p;q' "$HITL_REPO_ROOT/debian/changelog" 2>/dev/null || true)
[[ -n $version ]] || bail "no version in $HITL_REPO_ROOT/debian/changelog"
build_dir="$HITL_TMPDIR/build/hitl-$version"
mkdir -p "$build_dir"
# (without git's files and what test runs leave in the tree)
tar -C "$HITL_REPO_ROOT" --exclude=./.git --exclude=./tmp_check --exclude=./results \
	--exclude=./log --exclude=./regression.diffs --exclude=./regression.out -cf - . |
	tar -C "$build_dir" -xf -
chown -R "$HITL_USER:$(id -gn "$HITL_USER")" "$HITL_TMPDIR/build"
build_log="$HITL_LOG_DIR/dpkg-buildpackage.log"
rc=0
(cd "$build_dir" && hitl_as_user env \
	DEB_BUILD_OPTIONS="${HITL_DEB_BUILD_OPTIONS:-nocheck parallel=$(nproc 2>/dev/null || echo 2)}" \
	dpkg-buildpackage -us -uc -b) >"$build_log" 2>&1 || rc=$?
tap "$rc" "dpkg-buildpackage -us -uc -b builds hitl $version"
[[ $rc -eq 0 ]] || diag_log "$build_log" 60
deb=$(find "$HITL_TMPDIR/build" -maxdepth 1 -name "${PACKAGE}_${version}_*.deb" | head -n 1)
tap "$([[ -n $deb ]] && echo 0 || echo 1)" "it made ${PACKAGE}_${version}_<arch>.deb"
[[ -n $deb ]] || bail "no package to install"
rc=0
(cd "$HITL_TMPDIR/build" && hitl_as_user lintian --fail-on error,warning \
	"$(basename "$deb")") >"$HITL_LOG_DIR/lintian.log" 2>&1 || rc=$?
tap "$rc" "lintian finds no error and no warning in it"
[[ $rc -eq 0 ]] || diag_log "$HITL_LOG_DIR/lintian.log"

# 4-6: the package holds what `make install` installs (same paths; the SQL
# scripts and the control file byte for byte)
make_dir="$HITL_TMPDIR/make-install"
rc=0
hitl_as_user make -C "$build_dir" -j"$(nproc 2>/dev/null || echo 2)" \
	PG_CONFIG="$PG_BIN/pg_config" >"$HITL_LOG_DIR/make.log" 2>&1 &&
	hitl_as_user make -C "$build_dir" PG_CONFIG="$PG_BIN/pg_config" \
		DESTDIR="$make_dir" install >>"$HITL_LOG_DIR/make.log" 2>&1 || rc=$?
[[ $rc -eq 0 ]] || diag_log "$HITL_LOG_DIR/make.log"
pkg_files=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' |
	grep -E '^/usr/(lib|share)/postgresql/' | LC_ALL=C sort || true)
make_files=$( (cd "$make_dir" 2>/dev/null && find . ! -type d) | sed 's/^\.//' | LC_ALL=C sort || true)
is "$pkg_files" "$make_files" "the package installs the files make install installs"
extract="$HITL_TMPDIR/extract"
dpkg-deb -x "$deb" "$extract"
rc=0
n=0
for f in "$make_dir"/usr/share/postgresql/15/extension/*; do
	[[ -f $f ]] || continue
	n=$((n + 1))
	cmp -s "$f" "$extract${f#"$make_dir"}" || {
		diag "differs: ${f#"$make_dir"}"
		rc=1
	}
done
[[ $n -ge 3 ]] || rc=1
tap "$rc" "its control file and SQL scripts are those of make install"
# no server it is installed on can make a database whose scripts grant
# PUBLIC a write on hitl's tables: the frozen 0.1.0 install script, which
# does, is left out (the upgrade from it is there), and no script it ships
# grants one
rc=0
scripts=$(find "$extract/usr/share/postgresql/15/extension" -name 'hitl--*.sql' -printf '%f\n' | LC_ALL=C sort)
[[ $scripts == $'hitl--0.1.0--0.2.0.sql\nhitl--0.2.0.sql' ]] || {
	diag "scripts: $(tr '\n' ' ' <<<"$scripts")"
	rc=1
}
if grep -lE '^GRANT [A-Z, ]*(INSERT|UPDATE|DELETE|TRUNCATE)[A-Z, ]* ON .* TO PUBLIC;' \
	"$extract"/usr/share/postgresql/15/extension/hitl--*.sql; then
	rc=1
fi
tap "$rc" "it ships the 0.2.0 install script and the upgrade from 0.1.0, none granting PUBLIC a write"

# 7-8: install it with dpkg
before=$(hitl_manifest)
# kept where only root writes: the test user owns HITL_TMPDIR, and root
# unpacks this archive into /
SAVE_DIR=$(mktemp -d /tmp/hitl-deb-saved.XXXXXX) || bail "could not make a directory"
saved_list="$SAVE_DIR/saved.list"
: >"$saved_list"
while IFS= read -r f; do
	if [[ -e $f || -L $f ]]; then
		printf '%s\n' "${f#/}" >>"$saved_list"
	fi
done <<<"$pkg_files"
tar -C / -cpf "$SAVE_DIR/saved.tar" -T "$saved_list"
DPKG_TOUCHED=1
rc=0
dpkg -i "$deb" >"$HITL_LOG_DIR/dpkg.log" 2>&1 || rc=$?
tap "$rc" "dpkg -i installs it"
[[ $rc -eq 0 ]] || diag_log "$HITL_LOG_DIR/dpkg.log"
is "$(dpkg-query -S /usr/lib/postgresql/15/lib/hitl.so 2>/dev/null | cut -d: -f1)" "$PACKAGE" \
	"hitl.so of the system's PostgreSQL 15 belongs to $PACKAGE"

# 9-15: a private cluster of the system's server, run by the test user
if ! hitl_start_cluster 2>"$HITL_LOG_DIR/start.err"; then
	diag_log "$HITL_LOG_DIR/start.err"
	bail "the private cluster did not start"
fi
export PGDATABASE=postgres
# Run SQL as the test user; the output (and any error) is the value.
sql() {
	hitl_psql -At -c 'SET client_min_messages = error' "$@" 2>&1
}
is "$(sql -c 'CREATE EXTENSION hitl' -c "SELECT extversion FROM pg_extension WHERE extname = 'hitl'")" \
	"$version" "CREATE EXTENSION hitl installs version $version"
is "$(sql -c "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'")" \
	/usr/lib/postgresql/15/lib "the server loads it from the system's library directory"
# 40 labeled points: "right" where x > 0, "left" where x < 0; 20 unlabeled.
is "$(sql -c "CREATE TABLE points (id int PRIMARY KEY, x real, y real, side text)" \
	-c "INSERT INTO points
		SELECT i, CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END * (1 + i % 7), i % 5,
			   CASE WHEN i <= 40 THEN CASE WHEN i % 2 = 0 THEN 'right' ELSE 'left' END END
		FROM generate_series(1, 60) AS i" \
	-c "SELECT hitl.create_model('sides', 'points', 'side', ARRAY['x', 'y'])")" \
	1 "create_model trains version 1 on 40 labeled rows"
is "$(sql -c "UPDATE points SET side = 'right' WHERE id = 42" -c "SELECT hitl.train('sides')")" \
	2 "train after a new label makes version 2"
is "$(sql -c "SELECT hitl.score('sides') > 0" \
	-c "SELECT count(*) FROM points WHERE side_prediction IS NOT NULL AND side_confidence > 0.5")" \
	$'t\n60' "score writes rows; each of the 60 has a prediction and a confidence above 0.5"
is "$(sql -c "SELECT count(*) FROM points WHERE side_prediction IS DISTINCT FROM
		CASE WHEN x > 0 THEN 'right' ELSE 'left' END")" \
	0 "every stored prediction is the side of x"
is "$(sql -c "INSERT INTO points VALUES (100, 5.5, 2, NULL), (101, -4.5, 1, NULL)" \
	-c "SELECT string_agg(hitl.predict('sides', p), ',' ORDER BY id) FROM points p WHERE id >= 100")" \
	"right,left" "predict gives right for x = 5.5 and left for x = -4.5"
hitl_stop_cluster || diag "could not stop the cluster"

# 16-18: remove it; the system's files are as they were
rc=0
dpkg --purge "$PACKAGE" >>"$HITL_LOG_DIR/dpkg.log" 2>&1 || rc=$?
[[ $rc -ne 0 ]] || DPKG_TOUCHED=0
tap "$rc" "dpkg --purge removes it"
is "$(dpkg-query -W -f='${db:Status-Status}' "$PACKAGE" 2>/dev/null || echo not-installed)" \
	not-installed "$PACKAGE is not installed any more"
restore_system || diag "could not restore the saved files"
after=$(hitl_manifest)
rc=0
diff <(echo "$before") <(echo "$after") >"$HITL_LOG_DIR/manifest.diff" || rc=$?
tap "$rc" "the system's PostgreSQL 15 has the same hitl files as before ($(grep -c . <<<"$before") files)"
[[ $rc -eq 0 ]] || diag_log "$HITL_LOG_DIR/manifest.diff"

if [[ $TEST_NO -ne $PLAN ]]; then
	diag "planned $PLAN tests, ran $TEST_NO"
	exit 1
fi
[[ $FAILED -eq 0 ]]
