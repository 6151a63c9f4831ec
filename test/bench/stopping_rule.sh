#!/usr/bin/env bash
#
# test/bench/stopping_rule.sh: where the stopping rule stops, and what it
# gives up, replayed by hitl.simulate on digits (1,797 rows, 64 features,
# 10 classes) and vehicle (846 rows, 18 features, 4 classes): every
# strategy, initial 20, batch 10, budget 300, STOP_REPEATS repeats
# (default 20), seed 0.
#
#   (a) the rule as hitl has it (options absent: stop_kappa 0.99,
#       stop_window 100 labels), from hitl.simulation_summary: per dataset
#       and strategy, the repeats that stop, the labels at the stop, the
#       accuracy there, the final accuracy at the budget and the accuracy
#       given up (final less at the stop; the mean over the repeats that
#       stop).  Target: at most 0.010 given up, with fewer labels than the
#       budget.
#   (b) the candidates: hitl._stop_rule over the same curves with other
#       stop_kappa and stop_window (30 labels is three rounds of 10, the
#       rule of three versions): per candidate and dataset, the worst
#       strategy's mean accuracy given up, margin's and random's, and
#       margin's labels at the stop.
#
# Usage: PG_BIN=... bash test/bench/stopping_rule.sh    (about a minute on 2 cores)

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "$0")/lib.sh"

bench_up hitl_bench_stopping_rule
bench_header "The stopping rule replayed by hitl.simulate: labels at the stop and accuracy given up"

repeats=${STOP_REPEATS:-20}
strategies='{random,margin,least_confidence,entropy,density,diverse,committee}'

load_digits() {
	"$BENCH_PYTHON" "$BENCH_DIR/simulate_sklearn.py" digits "$HITL_REPO_ROOT/test/data/digits.csv" \
		"$BENCH_WORK/digits.csv"
	bench_sql "DROP TABLE IF EXISTS s_digits" \
		"CREATE TABLE s_digits (id int PRIMARY KEY, x float8[], label text)" >/dev/null
	hitl_psql -c "\\copy s_digits FROM pstdin WITH (FORMAT csv)" <"$BENCH_WORK/digits.csv"
}

load_vehicle() {
	bench_sql "DROP TABLE IF EXISTS vehicle_raw, s_vehicle" \
		"CREATE TABLE vehicle_raw (comp int, circ int, d_circ int, rad_ra int, pr_axis_ra int,
			max_l_ra int, scat_ra int, elong int, pr_axis_rect int, max_l_rect int,
			sc_var_maxis int, sc_var_minis int, ra_gyr int, skew_maxis int, skew_minis int,
			kurt_minis int, kurt_maxis int, holl_ra int, class text)" >/dev/null
	hitl_psql -c "\\copy vehicle_raw FROM pstdin WITH (FORMAT csv, HEADER true)" \
		<"$HITL_REPO_ROOT/test/data/vehicle.csv"
	bench_sql "CREATE TABLE s_vehicle AS
		SELECT row_number() OVER () AS id,
			   ARRAY[comp, circ, d_circ, rad_ra, pr_axis_ra, max_l_ra, scat_ra, elong, pr_axis_rect,
					 max_l_rect, sc_var_maxis, sc_var_minis, ra_gyr, skew_maxis, skew_minis,
					 kurt_minis, kurt_maxis, holl_ra]::float8[] AS x, class AS label
		FROM vehicle_raw" >/dev/null
}

# simulate TABLE: every strategy on TABLE; prints the simulation's id
simulate() {
	bench_sql "SELECT hitl.simulate('$1', 'label', ARRAY['x'], strategies => '$strategies',
				initial_labels => 20, batch_size => 10, budget => 300,
				repeats => $repeats, seed => 0)"
}

# summary ID: (a) for one simulation
summary() {
	printf '%-16s %8s %10s %9s %9s %9s\n' strategy stopped stop_labels stop_acc final given_up
	bench_sql "SELECT format('%-16s %8s %10s %9s %9s %9s', s.strategy, s.stopped || '/' || s.repeats,
					 coalesce(round(s.stop_labels)::text, '-'),
					 coalesce(to_char(s.stop_accuracy, 'FM0.000'), '-'),
					 to_char(s.final_accuracy, 'FM0.000'),
					 coalesce(to_char(s.accuracy_given_up, 'FM0.000'), '-'))
				FROM hitl.simulation_summary s WHERE s.simulation = $1
				ORDER BY array_position('$strategies'::text[], s.strategy)"
}

# candidates ID...: (b) over the simulations given
candidates() {
	printf '%-10s %-11s %-8s %8s %-18s %8s %8s %12s\n' stop_kappa stop_window dataset worst \
		"(strategy)" margin random margin_labels
	bench_sql "WITH rules AS (
			SELECT jsonb_build_object('stop_kappa', t, 'stop_window', w) AS options, t, w
			FROM unnest('{0.99,0.995,0.999}'::float8[]) t, unnest('{30,50,80,100}'::int[]) w
		), points AS (
			SELECT c.*, array_agg(c.labels) OVER h AS labels_so_far,
				   array_agg(c.kappa) OVER h AS kappas_so_far,
				   last_value(c.accuracy) OVER (h ROWS BETWEEN UNBOUNDED PRECEDING
												AND UNBOUNDED FOLLOWING) AS final_accuracy
			FROM hitl.simulation_curves c
			WHERE c.simulation IN ($(IFS=,; echo "$*"))
			WINDOW h AS (PARTITION BY c.simulation, c.strategy, c.repeat ORDER BY c.round)
		), stops AS (
			SELECT DISTINCT ON (r.t, r.w, p.simulation, p.strategy, p.repeat)
				   r.t, r.w, p.simulation, p.strategy, p.repeat, p.labels,
				   p.final_accuracy - p.accuracy AS given_up
			FROM rules r, points p
			WHERE hitl._stop_rule(p.labels_so_far, p.kappas_so_far, r.options)
			ORDER BY r.t, r.w, p.simulation, p.strategy, p.repeat, p.round
		), per_strategy AS (
			SELECT t, w, simulation, strategy, avg(given_up) AS given_up, avg(labels) AS labels
			FROM stops GROUP BY t, w, simulation, strategy
		)
		SELECT format('%-10s %-11s %-8s %8s %-18s %8s %8s %12s', t, w,
					  replace(split_part(m.source, '.', 2), 's_', ''),
					  to_char(max(given_up), 'FM0.000'),
					  '(' || (array_agg(strategy ORDER BY given_up DESC))[1] || ')',
					  coalesce(to_char(max(given_up) FILTER (WHERE strategy = 'margin'), 'FM0.000'), '-'),
					  coalesce(to_char(max(given_up) FILTER (WHERE strategy = 'random'), 'FM0.000'), '-'),
					  coalesce(round(max(labels) FILTER (WHERE strategy = 'margin'))::text, '-'))
		FROM per_strategy JOIN hitl.simulations m ON m.id = simulation
		GROUP BY t, w, m.source ORDER BY t, w, m.source"
}

load_digits
load_vehicle
digits=$(simulate s_digits)
vehicle=$(simulate s_vehicle)

echo
echo "(a) the rule (stop_kappa 0.99, stop_window 100): every strategy, $repeats repeats,"
echo "    initial 20, batch 10, budget 300"
echo "digits:"
summary "$digits"
echo "vehicle:"
summary "$vehicle"

echo
echo "(b) candidates over the same curves: mean accuracy given up of the worst strategy,"
echo "    of margin and of random ('-': no repeat stops), and margin's labels at the stop"
candidates "$digits" "$vehicle"

bench_done
