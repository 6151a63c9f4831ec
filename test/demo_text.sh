#!/usr/bin/env bash
#
# test/demo_text.sh: active learning on short texts, inside PostgreSQL, with
# naive Bayes and the background worker.
#
#     bash test/demo_text.sh          run the demo
#     bash test/demo_text.sh --sql    print the SQL of one round and exit
#
# Builds and installs hitl, starts a private throwaway PostgreSQL 15 cluster
# with hitl in shared_preload_libraries (see test/lib/cluster.sh; as root it
# installs missing packages first), and loads test/data/fortunes.csv: the
# fortunes of 10 of its 43 categories (5,069 texts).  Two copies of the
# table start from the same 20 labels (2 per category), each with a naive
# Bayes model on the text.  Then, for 30 rounds, a "human" labels 10 rows of
# each copy from a hidden answer table, one UPDATE at a time:
#
#   active learning  the top 10 rows of the model's review queue
#   random picking   10 random unlabeled rows
#
# Nobody calls hitl.train or hitl.score: the background worker retrains
# each model after the label commits, incrementally (naive Bayes applies
# only the new labels to its counts), and rescores; hitl.wait returns when
# the queue is fresh.  Each round prints the accuracy of both models on
# held-out rows that are never labeled, and what the worker did.  The SQL it
# runs is in test/demo/text_*.sql.  The accuracies are the same on every
# run; the times are not.

set -euo pipefail

DEMO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/demo"
DATA="$DEMO_DIR/../data/fortunes.csv"
ROUNDS=30

case ${1:-} in
"") ;;
--sql)
	cat "$DEMO_DIR/text_round.sql"
	echo
	cat "$DEMO_DIR/text_accuracy.sql"
	exit 0
	;;
*)
	echo "usage: bash test/demo_text.sh [--sql]" >&2
	exit 2
	;;
esac

# shellcheck source=test/demo/lib.sh
source "$DEMO_DIR/lib.sh"
export HITL_SHARED_PRELOAD_LIBRARIES=hitl
demo_up hitl_demo_text

[[ $(sql -c "SELECT hitl._workers_available()") == t ]] || {
	echo "demo_text: the hitl background worker is not running" >&2
	exit 1
}
sql -c "CREATE TABLE fortunes_csv (id integer PRIMARY KEY, category text NOT NULL, text text NOT NULL)" \
	-c "COPY fortunes_csv (id, category, text) FROM STDIN (FORMAT csv, HEADER match)" <"$DATA"
all="$(sql -c "SELECT count(*) || ' texts in ' || count(DISTINCT category) || ' categories' FROM fortunes_csv")"
sql <"$DEMO_DIR/text_load.sql"

sizes="$(sql -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE id % 4 <> 0),
	count(*) FILTER (WHERE id % 4 = 0) FROM fortunes_truth")"
read -r rows pool test <<<"$sizes"
cat <<EOF

Fortunes: $all; this demo keeps the 10 categories about a subject:
$(sql -c "SELECT string_agg(category || ' (' || n || ')', ', ' ORDER BY category) FROM (SELECT category, count(*) AS n FROM fortunes_truth GROUP BY category) c" | fold -s -w 78)
$rows texts. $test are held out to measure accuracy; labels come from the other $pool.
Both models (naive Bayes on the words, English stemming) start from the same 2
labels per category; each round labels 10 more rows, one UPDATE each: the top
of the review queue (active learning) or random ones (random picking). The
background worker retrains and rescores after the labels; nobody calls
hitl.train.

The review queue after the 20 seed labels (fortunes_al_review_queue):
EOF
hitl_psql -P footer=off -f "$DEMO_DIR/text_queue.sql"
cat <<EOF
(Its top is texts with no word the 20 labeled ones have: with 2 seeds per
category, every category is then equally likely.)

EOF

fmt='%5s  %6s  %15s  %14s    %s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" round labels "active learning" "random picking" "the worker, for active learning"
labels=() al=() rnd=() fresh=()
all_incremental=true
for ((r = 0; r <= ROUNDS; r++)); do
	if ((r == 0)); then
		work=""
		out="$(sql <"$DEMO_DIR/text_accuracy.sql")"
	else
		# the last line is the accuracy; before it, what the worker did
		out="$(cat "$DEMO_DIR/text_round.sql" "$DEMO_DIR/text_accuracy.sql" |
			sql -v round="$r" | tail -n 2)"
		IFS='|' read -r versions incremental changes train_ms fresh_ms <<<"$(head -n 1 <<<"$out")"
		[[ $incremental == t ]] || all_incremental=false
		fresh[r]=$fresh_ms
		plural=""
		((versions == 1)) || plural=s
		if [[ $incremental == t ]]; then
			work="$versions update$plural, $changes labels, $train_ms ms; fresh in $fresh_ms ms"
		else
			work="$versions version$plural, not all incremental; fresh in $fresh_ms ms"
		fi
		out="$(tail -n 1 <<<"$out")"
	fi
	IFS='|' read -r n a b <<<"$out"
	labels[r]=$n al[r]=$a rnd[r]=$b
	# shellcheck disable=SC2059
	printf "$fmt" "$r" "${labels[r]}" "${al[r]}%" "${rnd[r]}%" "$work"
done

echo
echo "Next to label: the top of fortunes_al_review_queue (held-out rows skipped)"
hitl_psql -P footer=off -f "$DEMO_DIR/text_queue.sql"

IFS='|' read -r all_labels all_acc <<<"$(sql <"$DEMO_DIR/text_all_labels.sql")"
stats="$(sql -F ' ' -c "SELECT count(*), count(*) FILTER (WHERE (metrics->>'incremental')::boolean),
	round((percentile_cont(0.5) WITHIN GROUP (ORDER BY train_ms))::numeric, 1)
	FROM hitl.model_versions WHERE model = 'fortunes_al' AND version > 1")"
read -r nversions ninc median_train <<<"$stats"
median_fresh="$(printf '%s\n' "${fresh[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"

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
echo "Summary"
awk -v n="${labels[ROUNDS]}" -v a="${al[ROUNDS]}" -v b="${rnd[ROUNDS]}" -v m="$matched" \
	-v s="${al[0]}" -v n0="${labels[0]}" -v all="$all_labels" -v acc="$all_acc" 'BEGIN {
	printf "- Accuracy on the held-out rows: %.1f%% with %d labels; with %d, %.1f%% by active\n", s, n0, n, a
	printf "  learning and %.1f%% by random picking (%+.1f points)", b, a - b
	if (m != "" && m < n)
		printf ";\n  active learning had reached %.1f%% with %d labels", b, m
	printf ".\n"
	printf "- The same model trained on all %d labels of the pool: %.1f%%.\n", all, acc
}'
echo "- The worker trained $nversions versions of the active-learning model after its first;"
echo "  $ninc of them were incremental updates (median $median_train ms of training). The queue"
echo "  was fresh a median $median_fresh ms after a round's last label: hitl.retrain_delay"
echo "  ($(sql -c "SHOW hitl.retrain_delay")), the update, and rescoring the $rows rows."
if [[ $all_incremental != true || $ninc != "$nversions" ]]; then
	echo "demo_text: some of the worker's versions were full trainings, not incremental updates" >&2
	exit 1
fi
