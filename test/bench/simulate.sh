#!/usr/bin/env bash
#
# test/bench/simulate.sh: hitl.simulate against the same procedure in
# scikit-learn (test/bench/simulate_sklearn.py), on the same held-out splits
# and seed rows, which hitl exports (hitl._simulation_split).
#
#   (a) AULC       digits (1,797 rows, 64 features, 10 classes): initial 20,
#                  batch 10, budget 300, SIM_REPEATS repeats (default 20) of
#                  random and margin.  Margin is deterministic given the
#                  split: its AULC is compared repeat by repeat; random
#                  draws differently on each side, so its mean over the
#                  repeats is compared.  Target: within 0.005.  hitl fits
#                  by Newton (max_iter 100, tol 1e-8: the exact optimum);
#                  scikit-learn's lbfgs gets max_iter 1000 to reach it too.
#                  Column "round 0 |d|": the largest difference of the
#                  seed round's accuracy, where both sides fit the same
#                  rows.  A margin curve is chaotic all the same: a last-
#                  digit difference of a probability changes a pick, and
#                  the curves part; so margin is also compared by means.
#   (b) time       5,000 rows of make_classification (20 features, 4
#                  classes): 3 strategies (random, margin, entropy) x 3
#                  repeats x 50 rounds (initial 20, batch 10, budget 510):
#                  hitl.simulate's wall time (psql's) against the
#                  scikit-learn loop's (the same rounds: scaling, fit,
#                  metrics, picking), and their AULC as in (a).  Target:
#                  hitl within 10x.
#   (c) strategies hitl alone, every strategy (random, margin,
#                  least_confidence, entropy, density, diverse, committee)
#                  on digits and on vehicle (846 rows, 18 features, 4
#                  classes): initial 20, batch 10, budget 300,
#                  SIM_ALL_REPEATS repeats (default 5), seed 0.  Per
#                  strategy: AULC (mean and spread over repeats), its
#                  ratio to random's AULC, labels to reach 95% of the
#                  full-data accuracy, where the stopping rule (every
#                  kappa over the last 100 labels above 0.99: see
#                  stopping_rule.sh) stops, the accuracy there
#                  and the accuracy given up against the budget, and the
#                  seconds of the strategy's rounds (fit, evaluation, pick).
#
# Usage: PG_BIN=... bash test/bench/simulate.sh    (a few minutes on 2 cores)

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "$0")/lib.sh"

bench_up hitl_bench_simulate
bench_header "hitl.simulate against scikit-learn: AULC on the same splits, and time"

repeats=${SIM_REPEATS:-20}
py="$BENCH_DIR/simulate_sklearn.py"

# run NAME TABLE STRATEGIES INITIAL BATCH BUDGET REPEATS: simulate, export
# the splits and curves into $BENCH_WORK/NAME, compare; prints hitl's
# seconds then the comparison lines
run() {
	local name=$1 table=$2 strategies=$3 initial=$4 batch=$5 budget=$6 reps=$7
	local dir="$BENCH_WORK/$name" id r
	mkdir -p "$dir"
	chmod 777 "$dir"
	bench_time "SELECT hitl.simulate('$table', 'label', ARRAY['x'], strategies => '{$strategies}',
				initial_labels => $initial, batch_size => $batch, budget => $budget,
				repeats => $reps, seed => 0)"
	id=$BENCH_OUT
	echo "hitl.simulate: $(awk "BEGIN { printf \"%.2f\", $BENCH_MS / 1000 }") s (simulation $id)"
	for ((r = 1; r <= reps; r++)); do
		hitl_psql -c "\\copy (SELECT * FROM hitl._simulation_split('$table', 'label', ARRAY['x'], '{$strategies}', 'logistic', $initial, $batch, $budget, $reps, 0.2, '{}', 0, $r)) TO '$dir/split_$r.csv' WITH (FORMAT csv)" >/dev/null
	done
	hitl_psql -c "\\copy (SELECT strategy, repeat, round, labels, accuracy FROM hitl.simulation_curves WHERE simulation = $id) TO '$dir/curves.csv' WITH (FORMAT csv)" >/dev/null
	printf '%-10s %7s %10s %10s %8s %10s %10s %8s\n' strategy repeats "hitl AULC" "sk AULC" delta \
		"max |d|" "round 0 |d|" "sk s"
	"$BENCH_PYTHON" "$py" compare "$dir" "$strategies" "$initial" "$batch" "$budget" 1.0 1e-8 1000 |
		while read -r s n a b dd m f t; do
			printf '%-10s %7s %10s %10s %8s %10s %10s %8s\n' "$s" "$n" "$a" "$b" "$dd" "$m" "$f" "$t"
		done
}

load() {
	local table=$1 csv=$2
	bench_sql "DROP TABLE IF EXISTS $table" \
		"CREATE TABLE $table (id int PRIMARY KEY, x float8[], label text)" >/dev/null
	hitl_psql -c "\\copy $table FROM pstdin WITH (FORMAT csv)" <"$csv"
}

"$BENCH_PYTHON" "$py" digits "$HITL_REPO_ROOT/test/data/digits.csv" "$BENCH_WORK/digits.csv"
load s_digits "$BENCH_WORK/digits.csv"
"$BENCH_PYTHON" "$py" synth 5000 "$BENCH_WORK/synth.csv"
load s_synth "$BENCH_WORK/synth.csv"

echo
echo "(a) digits, random and margin, $repeats repeats, initial 20, batch 10, budget 300"
run digits s_digits random,margin 20 10 300 "$repeats"

echo
echo "(b) 5,000 rows, 3 strategies x 3 repeats x 50 rounds (initial 20, batch 10, budget 510)"
out="$(run synth s_synth random,margin,entropy 20 10 510 3)"
echo "$out"
hitl_s=$(awk '/^hitl.simulate:/ { print $2 }' <<<"$out")
sk_s=$(awk '$1 ~ /^(random|margin|entropy)$/ { s += $NF } END { print s }' <<<"$out")
echo "time: hitl $hitl_s s, scikit-learn $sk_s s, ratio hitl / scikit-learn $(awk "BEGIN { printf \"%.2f\", $hitl_s / $sk_s }")"

# every strategy on a table, hitl alone: the summary per strategy
all_strategies() {
	local table=$1 id
	id="$(bench_sql "SELECT hitl.simulate('$table', 'label', ARRAY['x'],
				strategies => '{random,margin,least_confidence,entropy,density,diverse,committee}',
				initial_labels => 20, batch_size => 10, budget => 300,
				repeats => ${SIM_ALL_REPEATS:-5}, seed => 0)")"
	printf '%-16s %7s %7s %9s %9s %7s %9s %8s %9s %8s %8s\n' strategy AULC "+-sd" "/random" labels_95 \
		stopped stop_lab stop_acc given_up final seconds
	bench_sql "SELECT format('%-16s %7s %7s %9s %9s %7s %9s %8s %9s %8s %8s', s.strategy,
					 to_char(s.aulc, 'FM0.0000'), to_char(s.aulc_stddev, 'FM0.0000'),
					 to_char(s.aulc / r.aulc, 'FM0.0000'), coalesce(round(s.labels_95)::text, '-'),
					 s.stopped || '/' || s.repeats, coalesce(round(s.stop_labels)::text, '-'),
					 coalesce(to_char(s.stop_accuracy, 'FM0.000'), '-'),
					 coalesce(to_char(s.accuracy_given_up, 'FM0.000'), '-'),
					 to_char(s.final_accuracy, 'FM0.000'),
					 (SELECT to_char(sum(c.seconds), 'FM990.00') FROM hitl.simulation_curves c
					  WHERE c.simulation = s.simulation AND c.strategy = s.strategy))
				FROM hitl.simulation_summary s
				JOIN hitl.simulation_summary r ON r.simulation = s.simulation AND r.strategy = 'random'
				WHERE s.simulation = $id
				ORDER BY array_position('{random,margin,least_confidence,entropy,density,diverse,committee}'::text[],
										s.strategy)"
	echo "full-data accuracy: $(bench_sql "SELECT to_char(full_accuracy, 'FM0.000') FROM hitl.simulations WHERE id = $id")"
}

bench_sql "DROP TABLE IF EXISTS vehicle_raw, s_vehicle" \
	"CREATE TABLE vehicle_raw (comp int, circ int, d_circ int, rad_ra int, pr_axis_ra int,
		max_l_ra int, scat_ra int, elong int, pr_axis_rect int, max_l_rect int, sc_var_maxis int,
		sc_var_minis int, ra_gyr int, skew_maxis int, skew_minis int, kurt_minis int,
		kurt_maxis int, holl_ra int, class text)" >/dev/null
hitl_psql -c "\\copy vehicle_raw FROM pstdin WITH (FORMAT csv, HEADER true)" <"$HITL_REPO_ROOT/test/data/vehicle.csv"
bench_sql "CREATE TABLE s_vehicle AS
	SELECT row_number() OVER () AS id,
		   ARRAY[comp, circ, d_circ, rad_ra, pr_axis_ra, max_l_ra, scat_ra, elong, pr_axis_rect,
				 max_l_rect, sc_var_maxis, sc_var_minis, ra_gyr, skew_maxis, skew_minis,
				 kurt_minis, kurt_maxis, holl_ra]::float8[] AS x, class AS label
	FROM vehicle_raw" >/dev/null

echo
echo "(c) every strategy, hitl alone: initial 20, batch 10, budget 300, ${SIM_ALL_REPEATS:-5} repeats"
echo "digits (10 classes):"
all_strategies s_digits
echo "vehicle (4 classes):"
all_strategies s_vehicle

bench_done
