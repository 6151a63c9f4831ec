#!/usr/bin/env bash
#
# test/bench/audit.sh: the audit queue against scikit-learn, and the time
# to read it at 1,000,000 rows.
#
#   (a) precision  digits (1,797 rows, 64 features, 10 classes), vehicle
#                  (846 rows, 18 features, 4 classes) and the first 4,000
#                  rows of fortunes (text, 43 classes): 5% of the labels
#                  flipped at random to another class (seed 11), K = the
#                  flipped rows.  hitl: a logistic model with cv_folds 5 on
#                  the table; the share of flipped rows among the first K
#                  rows of <model>_audit_queue (fewer suspects than K count
#                  as misses).  scikit-learn (test/bench/audit_sklearn.py):
#                  the share among the K lowest out-of-fold self-confidences
#                  of LogisticRegression with 5-fold cross_val_predict.  The
#                  folds alone move either figure by several points, so each
#                  side is measured over AUDIT_DRAWS fold draws: scikit-learn
#                  over StratifiedKFold's seeds, hitl (whose fold seed is
#                  fixed) over the rows numbered in random orders; the
#                  medians are compared.
#   (b) timing     the 1,000,000-row table of score.sh, 10% labeled (the
#                  same noisy rule), with a model of cv_folds 5: the time of reading the 20
#                  first rows of the audit view, and all of it (median of 5,
#                  psql's wall time).
#
# Usage: bash test/bench/audit.sh      (about 15 minutes on 2 cores)
#        AUDIT_DRAWS=N (default 15): fold draws on each side

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "$0")/lib.sh"

bench_up hitl_bench_audit
bench_header "audit queue: top-K precision on flipped labels, and reading it at 1,000,000 rows"

draws=${AUDIT_DRAWS:-15}
echo
echo "(a) top-K precision, $draws fold draws on each side: hitl's first draw keeps the file's row order,"
echo "    the others number the rows in a random order (hitl's folds follow it); scikit-learn's are"
echo "    StratifiedKFold's seeds 0-$((draws - 1))"
printf '%-10s %5s %4s %8s %8s %12s %8s %8s %12s %7s\n' "data set" rows K "hitl 1st" "median" "range" "sk seed0" "median" "range" "delta"
for spec in "digits:digits.csv:1797" "vehicle:vehicle.csv:846" "fortunes:fortunes.csv:4000"; do
	IFS=: read -r name file n <<<"$spec"
	out="$BENCH_WORK/$name.csv"
	read -r k sk skmed skrange < <("$BENCH_PYTHON" "$BENCH_DIR/audit_sklearn.py" prepare "$name" \
		"$HITL_REPO_ROOT/test/data/$file" "$n" "$out" "$draws")
	if [[ $name == fortunes ]]; then
		coltype=text
	else
		coltype='float8[]'
	fi
	bench_sql "DROP TABLE IF EXISTS a_$name CASCADE" \
		"CREATE TABLE a_$name (id int PRIMARY KEY, x $coltype, label text, truth text)" >/dev/null
	hitl_psql -c "\\copy a_$name FROM pstdin WITH (FORMAT csv)" <"$out"
	precs=()
	for ((d = 0; d < draws; d++)); do
		t="a_${name}_$d"
		# draw 0 keeps the ids of the file; the others renumber the rows in
		# an order drawn from the seed d / 100, which moves hitl's folds
		bench_sql "DROP TABLE IF EXISTS $t CASCADE" \
			"SELECT setseed($d / 100.0)" \
			"CREATE TABLE $t AS SELECT CASE WHEN $d = 0 THEN id
				ELSE (row_number() OVER (ORDER BY random()))::int END AS id, x, label, truth
			 FROM (SELECT * FROM a_$name ORDER BY id) s" \
			"ALTER TABLE $t ADD PRIMARY KEY (id)" \
			"SELECT hitl.create_model('$t', '$t', 'label', '{x}', options => '{\"cv_folds\": 5}')" >/dev/null
		precs+=("$(bench_sql "SELECT round(count(*) FILTER (WHERE label <> truth)::numeric / $k, 3)
			FROM (SELECT label, truth FROM ${t}_audit_queue ORDER BY audit_rank LIMIT $k) q")")
		bench_sql "SELECT hitl.drop_model('$t')" "DROP TABLE $t" >/dev/null
	done
	mapfile -t sorted < <(printf '%s\n' "${precs[@]}" | sort -n)
	med="$(printf '%s\n' "${sorted[@]}" | awk '{ v[NR] = $1 } END {
		printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
	delta="$(awk -v a="$med" -v b="$skmed" 'BEGIN { printf "%+.3f", a - b }')"
	printf '%-10s %5s %4s %8s %8s %12s %8s %8s %12s %7s\n' "$name" "$n" "$k" "${precs[0]}" "$med" \
		"${sorted[0]}-${sorted[-1]}" "$sk" "$skmed" "$skrange" "$delta"
done
echo "(delta: hitl's median minus scikit-learn's; the target is -0.030 or more)"

echo
echo "(b) reading the audit view of a model on 1,000,000 rows"
bench_million_table a_million a_million_m
# 10% labeled (100,000 rows) by the same noisy rule, then a training with 5 folds
bench_sql "SELECT setseed(0.17)" \
	"UPDATE a_million SET label = CASE
		WHEN x1 + x2 + 0.3 * (random() - 0.5) > 0.4 THEN 'a'
		WHEN x1 - x2 + 0.3 * (random() - 0.5) > 0.0 THEN 'b'
		ELSE 'c' END
	 WHERE id % 10 = 0 AND label IS NULL" \
	"SELECT hitl.alter_model('a_million_m', options => '{\"cv_folds\": 5}')" \
	"SELECT hitl.train('a_million_m')" "VACUUM ANALYZE a_million" >/dev/null
echo "labeled rows: $(bench_sql "SELECT count(label) FROM a_million"), suspects stored: $(bench_sql "SELECT count(*) FROM hitl.audit WHERE model = 'a_million_m'")"
for q in "SELECT * FROM a_million_m_audit_queue LIMIT 20" "SELECT count(*) FROM a_million_m_audit_queue"; do
	# one session: the first run pays for planning and compiling the view's
	# guard (PL/pgSQL) afresh; the median of the 10 runs after it is the
	# warm figure, as an application that keeps its connection sees
	args=(-At -c "SET client_min_messages = warning" -c '\timing on')
	for _ in $(seq 11); do
		args+=(-c "$q")
	done
	mapfile -t times < <(hitl_psql "${args[@]}" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
	printf '%-50s first %8s ms, then median %s ms\n' "$q" "${times[0]}" "$(bench_median "${times[@]:1}")"
done
bench_done
