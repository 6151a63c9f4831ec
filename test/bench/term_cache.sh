#!/usr/bin/env bash
#
# test/bench/term_cache.sh: rescoring a 1,000,000-row text table whose texts
# did not change, with the term cache and without it (the path every
# scoring took before it), side by side on one table, one build, one run;
# and the cost of scoring against its references (issue 12, targets 2, 4
# and 5), measured side by side in the same run.
#
# Unlike the other scripts here it installs nothing and starts no server:
# it runs against the server psql reaches through PGHOST, PGPORT, PGUSER,
# with hitl installed (preloaded or not), in a database it creates
# (HITL_BENCH_DB, default hitl_bench_term_cache, dropped first).  Reading
# the backends' peak memory takes a role that may call pg_read_file.
#
# The text table is test/bench/text.sh's synthetic one (8 classes, 10-30
# words a row, 100,000 labeled); the model naive Bayes, unigrams, 2^18
# buckets, {"cv_folds": 0}.  The numeric table has 16 float8 features, 8
# classes, 10% labeled; its model is logistic, {"cv_folds": 0}.  Timed
# (psql's wall time, each statement in a session of its own, ROUNDS each):
#
#   train     hitl.train(model): reads every row (idf) and the labeled rows
#   rescore   hitl.score(model) right after a scoring: every row read and
#             scored, nothing written
#
# Scoring cost, in alternated rounds (target 2: text / numeric <= 2;
# target 4: numeric rescoring / SELECT <= 1.5, full rescoring / UPDATE <= 1.1):
#
#   text      hitl.score('nb'), nothing changed
#   numeric   hitl.score('num'), nothing changed
#   SELECT    the same 16-feature dot products for the 8 classes in SQL
#             (standardized with the version's means and scales, its
#             coefficients as constants), summed over every row, with the
#             server's settings (it may use parallel workers, whose CPU
#             time its own leaves out; so may a scoring, hitl.max_parallel_scoring)
#   UPDATE    UPDATE bench_num SET the three output columns to constants,
#             after a CHECKPOINT, then VACUUM
#   full      hitl.score('num') right after that UPDATE: every row's scores
#             differ from the constants, so all 1,000,000 rows are written
#             (after a CHECKPOINT), then VACUUM
#
# each as psql's wall time and as the CPU time of its backend (steadier
# when other processes compete for the cores); and the peak memory
# (VmHWM) of the backend that ran each scoring, beside that of one that
# ran the SELECT, with the shared memory each touched (VmHWM counts it).
#
# Then the scaling of parallel scoring: the text rescoring and the numeric
# rescorings (nothing changed; every row written) with
# hitl.max_parallel_scoring 0, 1 and 2, alternated, and the speed-ups.
#
# Then, unless HITL_BENCH_TERM_PARSE=0, the rescoring and training without
# the cache: its trigger dropped and its column dropped, so that the scan
# selects NULL::bytea and parses every row; then the fill
# (hitl.refresh_term_cache, what create_model does) once.
#
# Usage: bash test/bench/term_cache.sh   (HITL_BENCH_TERM_ROUNDS, default 3;
#   HITL_BENCH_TERM_ROWS, default 1000000; HITL_BENCH_TERM_PARSE, default 1)

set -euo pipefail

ROUNDS=${HITL_BENCH_TERM_ROUNDS:-3}
ROWS=${HITL_BENCH_TERM_ROWS:-1000000}
PARSE=${HITL_BENCH_TERM_PARSE:-1}
DB=${HITL_BENCH_DB:-hitl_bench_term_cache}
PSQL=${PSQL:-psql}

q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -Atc "$1"; }

# timed SQL: prints milliseconds of psql's wall time
timed() {
	"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -At -c '\timing on' -c "$1" |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
}

# timed2 SQL: "WALL CPU", psql's wall time of SQL and the CPU time its
# backend spent on it (/proc/self/schedstat), in milliseconds: CPU time
# stays the same when other processes compete for the cores, wall time not
timed2() {
	"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -At <<SQL |
SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1) AS t0 \gset
\timing on
$1;
\timing off
SELECT 'cpu ' || round((split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint - :t0) / 1e6);
SQL
		awk '/^Time: / { w = $2 } /^cpu / { c = $2 } END { print w, c }'
}

# median of its arguments
median() {
	printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"
}

# rounds LABEL SQL: ROUNDS timings of SQL and their median
rounds() {
	local label=$1 sql=$2 t all=()
	for ((i = 0; i < ROUNDS; i++)); do
		t=$(timed "$sql")
		all+=("$t")
	done
	printf '%-40s %s ms (median %s)\n' "$label" "${all[*]}" "$(median "${all[@]}")"
}

# ratio A B: A / B to two decimals
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}

# peak SQL: the peak resident memory of a session that ran SQL, in MB
# (VmHWM), and how much of it is shared memory (RssShmem at the end: the
# shared buffers it touched stay mapped)
peak() {
	"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -At -c "$1" \
		-c "SELECT format('%s (%s shared)', round(substring(s FROM 'VmHWM:\\s*(\\d+)')::numeric / 1024),
			round(substring(s FROM 'RssShmem:\\s*(\\d+)')::numeric / 1024))
			FROM pg_read_file('/proc/' || pg_backend_pid() || '/status') AS s" | tail -1
}

# the SELECT computing model num's dot products in SQL, with its version's
# means, scales and coefficients (class c's intercept after its d weights)
dot_sql() {
	q "SELECT 'SELECT pg_catalog.sum(greatest(' || string_agg(z, ', ' ORDER BY c) || ')) FROM bench_num'
	   FROM (SELECT c, v.coefficients[c * (v.d + 1) + v.d + 1]::text
			   || string_agg(format(' + %s * ((f%s - %s) / %s)', v.coefficients[c * (v.d + 1) + j], j,
						 v.feature_means[j], v.feature_scales[j]), '' ORDER BY j) AS z
		 FROM (SELECT mv.*, cardinality(mv.feature_means) AS d FROM hitl.model_versions mv
			   JOIN hitl.models m ON m.name = mv.model AND m.current_version = mv.version
			   WHERE mv.model = 'num') AS v,
			  generate_series(0, cardinality(v.classes) - 1) AS c, generate_series(1, v.d) AS j
		 GROUP BY c, v.coefficients, v.d) AS x"
}

# score_cost: the side-by-side rounds of issue 12's targets 2, 4 and 5,
# wall and CPU times
score_cost() {
	local dot r i written
	local -a w c names=(text numeric SELECT UPDATE full)
	local -a sqls
	dot=$(dot_sql)
	sqls=("SELECT hitl.score('nb')" "SELECT hitl.score('num')" "$dot"
		"UPDATE bench_num SET label_prediction = 'x', label_confidence = 0.5, label_uncertainty = 0.5"
		"SELECT hitl.score('num')")
	declare -A wall cpu
	echo
	echo "== scoring cost, alternated rounds (wall ms / backend CPU ms) =="
	printf '%-6s %14s %14s %14s %14s %14s %9s\n' round "${names[@]}" written
	for ((r = 1; r <= ROUNDS; r++)); do
		for i in 0 1 2 3 4; do
			# the UPDATE and the full rescoring each start after a checkpoint
			((i >= 3)) && q "CHECKPOINT"
			read -r w[i] c[i] <<<"$(timed2 "${sqls[i]}")"
			wall[$i]+="${w[i]} " cpu[$i]+="${c[i]} "
			((i == 4)) && written=$(q "SELECT count(*) FROM bench_num WHERE label_prediction <> 'x'")
			((i >= 3)) && q "VACUUM bench_num"
		done
		printf '%-6s' "$r"
		for i in 0 1 2 3 4; do
			printf ' %14s' "$(printf '%.0f / %.0f' "${w[i]}" "${c[i]}")"
		done
		printf ' %9s\n' "$written"
	done
	local -a mw mc
	for i in 0 1 2 3 4; do
		# shellcheck disable=SC2086
		mw[i]=$(median ${wall[$i]}) mc[i]=$(median ${cpu[$i]})
	done
	printf '%-6s' median
	for i in 0 1 2 3 4; do
		printf ' %14s' "$(printf '%.0f / %.0f' "${mw[i]}" "${mc[i]}")"
	done
	echo
	echo "ratios of the medians, wall (CPU):"
	echo "target 2: text rescoring / numeric rescoring = $(ratio "${mw[0]}" "${mw[1]}") ($(ratio "${mc[0]}" "${mc[1]}")) (<= 2)"
	echo "target 4: numeric rescoring, nothing changed / SELECT of its dot products =" \
		"$(ratio "${mw[1]}" "${mw[2]}") ($(ratio "${mc[1]}" "${mc[2]}")) (<= 1.5)"
	echo "target 4: full rescoring, every row written / plain UPDATE =" \
		"$(ratio "${mw[4]}" "${mw[3]}") ($(ratio "${mc[4]}" "${mc[3]}")) (<= 1.1)"
	echo "target 5: peak memory (VmHWM, MB) of the backend: text rescoring $(peak "SELECT hitl.score('nb')")," \
		"numeric rescoring $(peak "SELECT hitl.score('num')"), the SELECT $(peak "$dot")"
}

# parallel_scaling: the same rescorings with hitl.max_parallel_scoring 0, 1
# and 2 (the default), in alternated rounds: wall times, their medians, and
# the speed-up of each over one process
parallel_scaling() {
	local r p i t
	local -a names=("text, nothing changed" "numeric, nothing changed" "numeric, every row written")
	declare -A all
	echo
	echo "== parallel scoring: hitl.max_parallel_scoring 0, 1, 2 (wall ms) =="
	for ((r = 1; r <= ROUNDS; r++)); do
		for p in 0 1 2; do
			for i in 0 1 2; do
				case $i in
				0) t=$(timed "SET hitl.max_parallel_scoring = $p; SELECT hitl.score('nb')") ;;
				1) t=$(timed "SET hitl.max_parallel_scoring = $p; SELECT hitl.score('num')") ;;
				2)
					q "UPDATE bench_num SET label_prediction = 'x', label_confidence = 0.5, label_uncertainty = 0.5"
					q "VACUUM bench_num"
					q "CHECKPOINT"
					t=$(timed "SET hitl.max_parallel_scoring = $p; SELECT hitl.score('num')")
					q "VACUUM bench_num"
					;;
				esac
				all[$i,$p]+="$t "
			done
		done
	done
	printf '%-28s %22s %22s %22s %8s %8s\n' rescoring "0 (one process)" 1 2 "0 / 1" "0 / 2"
	for i in 0 1 2; do
		local -a m=()
		for p in 0 1 2; do
			# shellcheck disable=SC2086
			m[p]=$(median ${all[$i,$p]})
		done
		printf '%-28s %22s %22s %22s %8s %8s\n' "${names[i]}" "${all[$i,0]}" "${all[$i,1]}" "${all[$i,2]}" \
			"$(ratio "${m[0]}" "${m[1]}")" "$(ratio "${m[0]}" "${m[2]}")"
	done
	echo "(speed-ups of the medians; the writes stay with the scoring's own process)"
}

"$PSQL" -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
q "CREATE EXTENSION hitl"
echo "hitl term cache benchmark, $ROWS rows, $(q 'SHOW server_version'), $(nproc) cores"
echo "reproduce: bash test/bench/term_cache.sh"

q "CREATE TABLE bench_text (id bigint PRIMARY KEY, truth text NOT NULL, body text NOT NULL, label text)
	WITH (autovacuum_enabled = false)"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -v table=bench_text -v rows="$ROWS" \
	<"$(dirname "${BASH_SOURCE[0]}")/text_rows.sql" >/dev/null
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<SQL
UPDATE bench_text SET label = truth WHERE id % 10 = 0;
VACUUM (FREEZE, ANALYZE) bench_text;
SQL

# the numeric table: 16 float8 features, 8 classes, 10% labeled
q "CREATE TABLE bench_num (id bigint PRIMARY KEY, $(seq -f 'f%g float8' -s ', ' 1 16), label text)
	WITH (autovacuum_enabled = false)"
q "SELECT setseed(0.5); INSERT INTO bench_num
	SELECT g, $(for i in $(seq 1 16); do printf '(g %% 8) * 0.1 + random(), '; done)
		   CASE WHEN g % 10 = 0 THEN 'c' || g % 8 END
	FROM generate_series(1, $ROWS) g"
q "VACUUM (FREEZE, ANALYZE) bench_num"

t=$(timed "SELECT hitl.create_model('nb', 'bench_text', 'label', '{body}', algorithm => 'naive_bayes',
			options => '{\"cv_folds\": 0, \"min_labels\": 100000000}')")
echo "create_model, filling the cache of every row: $t ms"
# the worker would rescore after each training: the timed statements run alone
q "SELECT hitl.alter_model('nb', options => '{\"min_labels\": 10}', enabled => false)" >/dev/null
q "SELECT hitl.create_model('num', 'bench_num', 'label', '{$(seq -f 'f%g' -s ',' 1 16)}',
	options => '{\"cv_folds\": 0}')" >/dev/null
q "SELECT hitl.alter_model('num', enabled => false)" >/dev/null
q "SELECT hitl.score('num')" >/dev/null
q "VACUUM bench_num"
q "SELECT hitl.train('nb')" >/dev/null
q "SELECT hitl.score('nb')" >/dev/null
q "VACUUM FULL bench_text"
echo "table size with the cache: $(q "SELECT pg_size_pretty(pg_table_size('bench_text'))")"

echo
echo "== with the term cache =="
rounds "train (naive Bayes, full)" "SELECT hitl.train('nb')"
rounds "rescore, texts unchanged" "SELECT hitl.score('nb')"
echo "last scan: $(q "SELECT format('%s rows read from the cache, %s parsed', cached, parsed) FROM hitl.score('nb'), hitl._term_cache_last()")"

echo
echo "== numeric, 16 features, 1 logistic model =="
rounds "rescore, nothing changed" "SELECT hitl.score('num')"

score_cost
parallel_scaling
[[ $PARSE == 0 ]] && exit 0

echo
echo "== without it (every row parsed, as before the cache) =="
q "DROP TRIGGER hitl_terms_nb ON bench_text; ALTER TABLE bench_text DROP COLUMN hitl_terms_nb"
q "VACUUM FULL bench_text"
rounds "train (naive Bayes, full)" "SELECT hitl.train('nb')"
rounds "rescore, texts unchanged" "SELECT hitl.score('nb')"
echo "last scan: $(q "SELECT format('%s rows read from the cache, %s parsed', cached, parsed) FROM hitl.score('nb'), hitl._term_cache_last()")"


echo
echo "== filling the cache again =="
echo "hitl.refresh_term_cache('nb'): $(timed "SELECT hitl.refresh_term_cache('nb')") ms"
