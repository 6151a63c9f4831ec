#!/usr/bin/env bash
#
# test/bench/stopping.sh: what the stopping signal costs a training (issue
# 14, "When to stop").  Each new version compares its predictions with the
# previous version's on a sample of at most 10,000 unlabeled rows
# (src/train_stopping.c: TABLESAMPLE SYSTEM pages, the rows of smallest key
# hash among theirs).  Its time is not in the metrics nor in train_ms: a
# DEBUG1 message of hitl.train says it (stop_ms below).
#
# For 100,000 and 1,000,000 rows (8 float8 features, three classes, 1 row
# in 1000 labeled, as bench_million_table; a dense logistic model with the
# default 5-fold cross-validation, created, so trained and scored, by
# hitl.create_model), ROUNDS rounds of: one more label, hitl.train (new
# version, its train_ms, stop_ms from the message), hitl.score (writes the new
# predictions), then hitl.score again, which finds nothing to write: a
# pass that scores every row without writing, the cost of comparing every
# unlabeled row instead of a sample (a build with
# PG_CPPFLAGS=-DHITL_STOP_SAMPLE_ROWS=0 does that; its stop_ms was within
# the rescoring's range when measured).
#
# Printed per size: the medians of train_ms, stop_ms, the rows compared,
# the rescoring's ms, and the ratios stop / train and rescoring / train
# measured side by side in this run.
#
# Usage: PG_BIN=... bash test/bench/stopping.sh (about a minute)
#   HITL_BENCH_STOPPING_ROUNDS (default 3), HITL_BENCH_STOPPING_SIZES
#   ("100000 1000000").  Not run by test/bench/run.sh.

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${HITL_BENCH_STOPPING_ROUNDS:-3}
SIZES=${HITL_BENCH_STOPPING_SIZES:-"100000 1000000"}

bench_up stopping
bench_header "stopping signal: its cost against the training's"

# TABLE N: the table and its model (named as the table)
make_table() {
	local table=$1 n=$2
	bench_sql "DROP TABLE IF EXISTS $table CASCADE" \
		"CREATE TABLE $table (id bigint PRIMARY KEY,
			x1 float8, x2 float8, x3 float8, x4 float8,
			x5 float8, x6 float8, x7 float8, x8 float8, label text)" \
		"SELECT setseed(0.4242)" \
		"INSERT INTO $table SELECT g, random() * 2 - 1, random() * 2 - 1, random() * 10,
			random(), random() * 100, random() - 0.5, random() * 3, random() * 2
		 FROM generate_series(1, $n) g" \
		"UPDATE $table SET label = CASE
			WHEN x1 + x2 + 0.3 * (random() - 0.5) > 0.4 THEN 'a'
			WHEN x1 - x2 + 0.3 * (random() - 0.5) > 0.0 THEN 'b'
			ELSE 'c' END
		 WHERE id % 1000 = 0" \
		"VACUUM (FREEZE, ANALYZE) $table" \
		"SELECT hitl.create_model('$table', '$table', 'label',
			ARRAY['x1','x2','x3','x4','x5','x6','x7','x8'])" >/dev/null ||
		bench_die "could not build table $table"
}

printf '%-9s %9s %9s %9s %11s %12s %14s\n' rows train_ms stop_ms compared rescore_ms stop/train rescore/train
for n in $SIZES; do
	table="stop_$n"
	make_table "$table" "$n"
	trains=() stops=() rows=() rescores=()
	for ((r = 1; r <= ROUNDS; r++)); do
		bench_sql "UPDATE $table SET label = CASE WHEN x1 + x2 > 0.4 THEN 'a' ELSE 'c' END
			WHERE id = (SELECT min(id) FROM $table WHERE label IS NULL AND id > $r * 7919)" >/dev/null
		out="$(hitl_psql -At -c "SET client_min_messages = debug1" \
			-c "SELECT hitl.train('$table')" 2>&1)" || bench_die "hitl.train failed: $out"
		version="$(printf '%s\n' "$out" | grep -E '^[0-9]+$' | tail -n 1)"
		stop="$(printf '%s\n' "$out" |
			sed -n 's/.*stopping signal of version [0-9]* on [0-9]* rows in \([0-9.]*\) ms.*/\1/p')"
		[[ -n $version && -n $stop ]] || bench_die "no version or no stopping signal: $out"
		IFS='|' read -r train compared < <(bench_sql "SELECT round(train_ms::numeric, 1),
			metrics->>'stop_kappa_rows' FROM hitl.model_versions
			WHERE model = '$table' AND version = $version")
		bench_sql "SELECT hitl.score('$table')" >/dev/null
		bench_time "SELECT hitl.score('$table')"
		[[ $BENCH_OUT == 0 ]] || bench_die "the second scoring wrote $BENCH_OUT rows"
		trains+=("$train") stops+=("$stop") rows+=("$compared") rescores+=("$BENCH_MS")
	done
	t=$(bench_median "${trains[@]}") s=$(bench_median "${stops[@]}")
	c=$(bench_median "${rows[@]}") f=$(bench_median "${rescores[@]}")
	printf '%-9s %9s %9s %9s %11s %12s %14s\n' "$n" "$t" "$s" "$c" "$f" \
		"$(awk -v a="$s" -v b="$t" 'BEGIN { printf "%.2f", a / b }')" \
		"$(awk -v a="$f" -v b="$t" 'BEGIN { printf "%.2f", a / b }')"
	bench_sql "SELECT hitl.drop_model('$table')" "DROP TABLE $table" >/dev/null
done
bench_done
