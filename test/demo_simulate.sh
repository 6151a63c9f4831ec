#!/usr/bin/env bash
#
# test/demo_simulate.sh: which query strategy pays on this data?  Replays a
# labeling campaign on a table that is already labeled, with hitl.simulate,
# and draws the learning curves.
#
#     bash test/demo_simulate.sh [FILE.svg]   (default: simulation-vehicle.svg)
#
# Builds and installs hitl, starts a private throwaway PostgreSQL 15 cluster
# (see test/lib/cluster.sh; as root it installs missing packages first) and
# loads test/data/vehicle.csv (846 silhouettes of 4 kinds of vehicle, 18
# numbers each).  hitl.simulate then hides the labels, seeds 20 of them,
# and for 5 repeats lets each strategy (random, margin, least_confidence,
# entropy) pick 10 rows a round until 300 labels, retraining a logistic
# regression each round and measuring it on held-out rows.  It prints the
# summary per strategy and writes the SVG of hitl.simulation_svg to FILE:
# docs/simulation-vehicle.svg is that file.  Everything but the seconds is
# the same on every run.

set -euo pipefail

DEMO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/demo"
DATA="$DEMO_DIR/../data/vehicle.csv"
OUT=${1:-simulation-vehicle.svg}

# shellcheck source=test/demo/lib.sh
source "$DEMO_DIR/lib.sh"
demo_up hitl_demo_simulate

sql -c "CREATE TABLE vehicle (comp real, circ real, dcirc real, radra real, praxisra real,
                              maxlra real, scatra real, elong real, praxisrect real,
                              maxlrect real, scvarmaxis real, scvarmaxis2 real, ragyr real,
                              skewmaxis real, skewmaxis2 real, kurtmaxis real, kurtmaxis2 real,
                              hollra real, class text)" \
	-c "COPY vehicle FROM STDIN (FORMAT csv, HEADER true)" <"$DATA"
echo "$(sql -c "SELECT count(*) || ' vehicles, ' || count(DISTINCT class) || ' classes' FROM vehicle")"
id=$(sql -c "SELECT hitl.simulate('vehicle', 'class',
	ARRAY['comp', 'circ', 'dcirc', 'radra', 'praxisra', 'maxlra', 'scatra', 'elong', 'praxisrect',
		  'maxlrect', 'scvarmaxis', 'scvarmaxis2', 'ragyr', 'skewmaxis', 'skewmaxis2',
		  'kurtmaxis', 'kurtmaxis2', 'hollra']::name[],
	strategies => '{random,margin,least_confidence,entropy}',
	initial_labels => 20, batch_size => 10, budget => 300, repeats => 5, seed => 0)")
echo
echo "strategy|AULC|sd|labels to 95% of full-data accuracy|final accuracy"
sql -c "SELECT strategy, round(aulc::numeric, 3), round(aulc_stddev::numeric, 3), labels_95,
		round(final_accuracy::numeric, 3)
		FROM hitl.simulation_summary WHERE simulation = $id ORDER BY aulc DESC"
sql -c "SELECT hitl.simulation_svg($id)" >"$OUT"
echo
echo "learning curves written to $OUT"
