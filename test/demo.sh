#!/usr/bin/env bash
#
# test/demo.sh: active learning on handwritten digits, inside PostgreSQL.
#
#     bash test/demo.sh          run the demo
#     bash test/demo.sh --sql    print the SQL of one round and exit
#
# Builds and installs hitl, starts a private throwaway PostgreSQL 15 cluster
# (see test/lib/cluster.sh; as root it installs missing packages first), and
# loads test/data/digits.csv: 1797 8x8 images of digits. Two copies of the
# table start from the same 20 labels (2 per digit). Then, for 20 rounds, a
# "human" labels 10 rows of each copy from a hidden answer table:
#
#   active learning  the top 10 rows of the model's review queue
#   random picking   10 random unlabeled rows
#
# and both models are retrained (hitl.train) and rescored (hitl.score). Each
# round prints the accuracy of both on held-out rows that are never labeled.
# The SQL it runs is in test/demo/. Output is the same on every run. At the
# end, with hitl preloaded (HITL_SHARED_PRELOAD_LIBRARIES=hitl), a second
# session watches a scoring in hitl.progress.

set -euo pipefail

DEMO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/demo"
DATA="$DEMO_DIR/../data/digits.csv"
ROUNDS=20

case ${1:-} in
"") ;;
--sql)
	cat "$DEMO_DIR/round.sql"
	echo
	cat "$DEMO_DIR/accuracy.sql"
	exit 0
	;;
*)
	echo "usage: bash test/demo.sh [--sql]" >&2
	exit 2
	;;
esac

# shellcheck source=test/demo/lib.sh
source "$DEMO_DIR/lib.sh"
demo_up hitl_demo

header="$(head -n 1 "$DATA" | tr -d '\r')"
sql -c "CREATE TABLE digits_csv (id integer GENERATED ALWAYS AS IDENTITY,
		$(sed 's/,/ integer, /g; s/$/ integer/' <<<"$header"))" \
	-c "COPY digits_csv ($header) FROM STDIN (FORMAT csv, HEADER match)" <"$DATA"
sql <"$DEMO_DIR/load.sql"

sizes="$(sql -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE id % 4 <> 0),
	count(*) FILTER (WHERE id % 4 = 0) FROM digits_truth")"
read -r rows pool test <<<"$sizes"
cat <<EOF

Handwritten digits: $rows images of 8x8 pixels, 10 classes. $test rows are held
out to measure accuracy; labels come from the other $pool. Both models start
from the same 2 labels per digit; each round labels 10 more rows: the top of
the review queue (active learning) or random ones (random picking).

EOF

fmt='%5s  %6s  %15s  %14s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" round labels "active learning" "random picking"
labels=() al=() rnd=()
for ((r = 0; r <= ROUNDS; r++)); do
	if ((r == 0)); then
		out="$(sql <"$DEMO_DIR/accuracy.sql")"
	else
		# the last line is the accuracy; before it, versions and rows written
		out="$(cat "$DEMO_DIR/round.sql" "$DEMO_DIR/accuracy.sql" |
			sql -v round="$r" | tail -n 1)"
	fi
	IFS='|' read -r n a b <<<"$out"
	labels[r]=$n al[r]=$a rnd[r]=$b
	# shellcheck disable=SC2059
	printf "$fmt" "$r" "${labels[r]}" "${al[r]}%" "${rnd[r]}%"
done

echo
echo "Next to label: the top of digits_al_review_queue (held-out rows skipped)"
queue="$(sql <"$DEMO_DIR/queue.sql")"
qfmt='%6s  %9s  %10s  %11s  %4s\n'
# shellcheck disable=SC2059
printf "$qfmt" id predicted confidence uncertainty rank
while IFS='|' read -r id pred conf unc rank; do
	# shellcheck disable=SC2059
	printf "$qfmt" "$id" "$pred" "$conf" "$unc" "$rank"
done <<<"$queue"

# With how many labels active learning first matched random picking's final
# accuracy.
matched=""
for ((r = 0; r <= ROUNDS; r++)); do
	if awk -v a="${al[r]}" -v b="${rnd[ROUNDS]}" 'BEGIN { exit !(a >= b) }'; then
		matched="${labels[r]}"
		break
	fi
done

echo
awk -v n="${labels[ROUNDS]}" -v a="${al[ROUNDS]}" -v b="${rnd[ROUNDS]}" -v m="$matched" 'BEGIN {
	printf "With %d labels: active learning %.1f%%, random picking %.1f%% (%+.1f points)", n, a, b, a - b
	if (m != "" && m < n)
		printf "; active learning reached %.1f%% with %d labels", b, m
	printf ".\n"
}'

# Progress of long work: with hitl preloaded, another session sees a scoring
# under way in hitl.progress.  To give it time to look, the scores of
# digits_al are made stale and a trigger sleeps a little per batch written;
# the trigger goes afterwards.
echo
if [[ $(sql -c "SELECT hitl._workers_available()") != t ]]; then
	echo "hitl.progress shows the trainings and scorings under way, with hitl in"
	echo "shared_preload_libraries (HITL_SHARED_PRELOAD_LIBRARIES=hitl bash test/demo.sh)."
	exit 0
fi
sql -c "SELECT hitl.alter_model('digits_al', options => '{\"batch_size\": 100}')" \
	-c "UPDATE digits SET digit_prediction = NULL, digit_confidence = NULL,
		digit_uncertainty = NULL" \
	-c "CREATE FUNCTION demo_pause() RETURNS trigger LANGUAGE plpgsql
		AS \$\$ BEGIN PERFORM pg_sleep(0.1); RETURN NULL; END \$\$" \
	-c "CREATE TRIGGER demo_pause BEFORE UPDATE ON digits
		FOR EACH STATEMENT EXECUTE FUNCTION demo_pause()" >/dev/null
sql -c "SELECT hitl.score('digits_al')" >/dev/null &
scorer=$!
seen=""
for _ in $(seq 1 300); do
	seen="$(sql -c "SELECT model, phase, rows_total, rows_done <= rows_total
		FROM hitl.progress WHERE phase = 'writing'")"
	[[ -n $seen ]] && break
	sleep 0.1
done
wait "$scorer"
sql -c "DROP TRIGGER demo_pause ON digits" -c "DROP FUNCTION demo_pause()" >/dev/null
IFS='|' read -r model phase total ok <<<"$seen"
echo "While hitl.score('digits_al') ran, another session saw in hitl.progress:"
echo "  model $model, phase $phase, $total rows to write (rows_done <= rows_total: $ok)"
echo "and once it finished: $(sql -c "SELECT count(*) FROM hitl.progress") rows."
