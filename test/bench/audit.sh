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
#                  of LogisticRegression with 5-fold cross_val_predict, with
#                  the folds of StratifiedKFold's seed 0, and the median and
#                  range over seeds 0-4 (hitl's folds are of its own seed).
#   (b) timing     the 1,000,000-row table of score.sh, 10% labeled (the
#                  same noisy rule), with a model of cv_folds 5: the time of reading the 20
#                  first rows of the audit view, and all of it (median of 5,
#                  psql's wall time).
#
# Usage: bash test/bench/audit.sh      (about 5 minutes on 2 cores)

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "$0")/lib.sh"

bench_up hitl_bench_audit
bench_header "audit queue: top-K precision on flipped labels, and reading it at 1,000,000 rows"

echo
printf '%-10s %6s %4s %10s %14s %16s %14s\n' "data set" rows K "hitl" "sklearn seed 0" "sklearn median" "sklearn range"
for spec in "digits:digits.csv:1797" "vehicle:vehicle.csv:846" "fortunes:fortunes.csv:4000"; do
	IFS=: read -r name file n <<<"$spec"
	out="$BENCH_WORK/$name.csv"
	read -r k sk skmed skrange < <("$BENCH_PYTHON" "$BENCH_DIR/audit_sklearn.py" prepare "$name" \
		"$HITL_REPO_ROOT/test/data/$file" "$n" "$out")
	if [[ $name == fortunes ]]; then
		coltype=text
	else
		coltype='float8[]'
	fi
	bench_sql "DROP TABLE IF EXISTS a_$name CASCADE" \
		"CREATE TABLE a_$name (id int PRIMARY KEY, x $coltype, label text, truth text)" >/dev/null
	hitl_psql -c "\\copy a_$name FROM pstdin WITH (FORMAT csv)" <"$out"
	bench_sql "SELECT hitl.create_model('a_$name', 'a_$name', 'label', '{x}', options => '{\"cv_folds\": 5}')" >/dev/null
	prec="$(bench_sql "SELECT round(count(*) FILTER (WHERE label <> truth)::numeric / $k, 3)
		FROM (SELECT label, truth FROM a_${name}_audit_queue ORDER BY audit_rank LIMIT $k) q")"
	printf '%-10s %6s %4s %10s %14s %16s %14s\n' "$name" "$n" "$k" "$prec" "$sk" "$skmed" "$skrange"
done

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
