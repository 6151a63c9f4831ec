-- hitl.simulate: the API and its results, the errors and their SQLSTATEs,
-- determinism with a seed, row-level security of the results and of the
-- source, no write to the source, margin against random, the SVG plot;
-- the strategies density, diverse and committee; the kappa of each round
-- and where the stopping rule stops.

BEGIN;
SELECT plan(84);

CREATE EXTENSION hitl;

CREATE ROLE tap_sim_a;
CREATE ROLE tap_sim_b;

-- two classes on either side of a = 0, noisy near the line; an embedding of
-- two more features, one of them informative
CREATE TABLE pts (id int PRIMARY KEY, a float8, b integer, n numeric, e float8[], note text,
				  lab text, flag boolean DEFAULT true);
INSERT INTO pts
SELECT i,
	   (CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END) * (0.15 + abs(sin(i * 12.9898)) * 2)
		   + 0.6 * sin(i * 78.233),
	   (i * 13) % 7,
	   CASE WHEN i % 37 = 0 THEN NULL ELSE ((i * 7) % 11) / 4.0 END,
	   ARRAY[cos(i * 3.1), (CASE WHEN i % 2 = 0 THEN 0.3 ELSE -0.3 END) + sin(i * 5.7)],
	   'row ' || i,
	   CASE WHEN i % 2 = 0 THEN 'pos' ELSE 'neg' END
FROM generate_series(1, 500) i;
-- and 20 unlabeled rows, which a simulation does not read
INSERT INTO pts SELECT i, 0, 0, 0, ARRAY[0, 0], 'unlabeled', NULL FROM generate_series(501, 520) i;
GRANT SELECT ON pts TO tap_sim_a;
GRANT SELECT (id, a, lab) ON pts TO tap_sim_b;

CREATE TEMP TABLE xmins AS SELECT id, xmin::text AS x FROM pts;
GRANT SELECT ON xmins TO PUBLIC;

-- error helpers: the SQLSTATE and hint of a statement
CREATE FUNCTION pg_temp.hint_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE h text; s text;
BEGIN
	EXECUTE q;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT, s = RETURNED_SQLSTATE;
	RETURN s || ': ' || h;
END $$;

-- the SQLSTATE of a statement that a cancel or timeout stops (OTHERS does
-- not catch query_canceled)
CREATE FUNCTION pg_temp.canceled(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'no error';
EXCEPTION WHEN query_canceled THEN
	RETURN SQLSTATE;
END $$;

---------------------------------------------------------------- the API
SET ROLE tap_sim_a;
SELECT is(hitl.simulate('pts', 'lab', ARRAY['a', 'b', 'n', 'e'],
						strategies => '{random,margin,least_confidence,entropy}',
						initial_labels => 6, batch_size => 4, budget => 50, repeats => 3,
						seed => 7),
		  1::bigint, 'hitl.simulate returns the id of the simulation');
SELECT results_eq(
	$$SELECT role = 'tap_sim_a', source, label_column = 'lab', feature_columns = '{a,b,n,e}', strategies::text,
			 algorithm, initial_labels, batch_size, budget, repeats, test_fraction, seed,
			 (options->>'C')::float8, finished_at >= started_at, full_accuracy > 0.8
	  FROM hitl.simulations$$,
	$$VALUES (true, 'public.pts', true, true, '{random,margin,least_confidence,entropy}',
			  'logistic', 6, 4, 50, 3, 0.2::float8, 7, 1.0::float8, true, true)$$,
	'hitl.simulations records who ran it, on what, the arguments and the full-data accuracy');
SELECT is((SELECT count(*) FROM hitl.simulation_curves WHERE simulation = 1), 4::bigint * 3 * 12,
		  '4 strategies x 3 repeats x 12 rounds (6 to 50 labels by 4, the last round 2)');
SELECT results_eq(
	$$SELECT round, labels FROM hitl.simulation_curves
	  WHERE simulation = 1 AND strategy = 'margin' AND repeat = 2 AND round IN (0, 1, 10, 11)
	  ORDER BY round$$,
	$$VALUES (0, 6), (1, 10), (10, 46), (11, 50)$$,
	'each round adds a batch; the last one ends on the budget');
SELECT is((SELECT count(*) FROM hitl.simulation_curves
		   WHERE simulation = 1 AND (accuracy NOT BETWEEN 0 AND 1 OR macro_f1 NOT BETWEEN 0 AND 1
									 OR log_loss < 0 OR ece NOT BETWEEN 0 AND 1 OR seconds < 0)),
		  0::bigint, 'every metric is in its range');
SELECT results_eq(
	$$SELECT strategy, repeats, aulc BETWEEN 0.5 AND 1, reached_95 BETWEEN 0 AND 3,
			 final_accuracy BETWEEN 0.5 AND 1
	  FROM hitl.simulation_summary WHERE simulation = 1 ORDER BY strategy$$,
	$$VALUES ('entropy', 3, true, true, true), ('least_confidence', 3, true, true, true),
			 ('margin', 3, true, true, true), ('random', 3, true, true, true)$$,
	'hitl.simulation_summary: one row per strategy over 3 repeats');
SELECT ok((SELECT aulc FROM hitl.simulation_summary WHERE simulation = 1 AND strategy = 'margin')
		  > (SELECT aulc FROM hitl.simulation_summary WHERE simulation = 1 AND strategy = 'random'),
		  'margin beats random by AULC on separable classes');
SELECT cmp_ok((SELECT abs(s.aulc - (
				   SELECT avg(a) FROM (
					   SELECT repeat, sum((labels - pl) * (accuracy + pa) / 2) / 44 AS a FROM (
						   SELECT repeat, labels, accuracy, lag(labels) OVER w AS pl,
								  lag(accuracy) OVER w AS pa
						   FROM hitl.simulation_curves WHERE simulation = 1 AND strategy = 'random'
						   WINDOW w AS (PARTITION BY repeat ORDER BY round)) t
					   GROUP BY repeat) u))
			   FROM hitl.simulation_summary s WHERE s.simulation = 1 AND s.strategy = 'random'),
			  '<', 1e-12::float8, 'AULC is the mean of the repeats'' trapezoid areas over 44 labels');

---------------------------------------------------------------- determinism
SELECT is(hitl.simulate('pts', 'lab', ARRAY['a', 'b', 'n', 'e'],
						strategies => '{random,margin,least_confidence,entropy}',
						initial_labels => 6, batch_size => 4, budget => 50, repeats => 3,
						seed => 7), 2::bigint, 'the same simulation again');
CREATE TEMP VIEW curve_text AS
	SELECT simulation, string_agg(format('%s %s %s %s %s %s %s %s', strategy, repeat, round, labels,
										 accuracy, macro_f1, log_loss, ece), ';'
								  ORDER BY strategy, repeat, round) AS t
	FROM hitl.simulation_curves GROUP BY simulation;
SELECT is((SELECT t FROM curve_text WHERE simulation = 2), (SELECT t FROM curve_text WHERE simulation = 1),
		  'the same seed gives bit-identical curves (every float to its shortest exact text)');
SELECT is((SELECT full_accuracy FROM hitl.simulations WHERE id = 2),
		  (SELECT full_accuracy FROM hitl.simulations WHERE id = 1), 'and the same full-data accuracy');
SELECT is(hitl.simulate('pts', 'lab', ARRAY['a', 'b', 'n', 'e'],
						strategies => '{random,margin,least_confidence,entropy}',
						initial_labels => 6, batch_size => 4, budget => 50, repeats => 3,
						seed => 8), 3::bigint, 'another seed');
SELECT isnt((SELECT t FROM curve_text WHERE simulation = 3), (SELECT t FROM curve_text WHERE simulation = 1),
			'another seed gives other curves');
SELECT isnt((SELECT string_agg(accuracy::text, ',' ORDER BY round) FROM hitl.simulation_curves
			 WHERE simulation = 1 AND strategy = 'random' AND repeat = 1),
			(SELECT string_agg(accuracy::text, ',' ORDER BY round) FROM hitl.simulation_curves
			 WHERE simulation = 1 AND strategy = 'random' AND repeat = 2),
			'repeats differ');
RESET ROLE;
-- the same rows stored in another order give the same curves
CREATE TABLE pts_rev (LIKE pts INCLUDING ALL);
INSERT INTO pts_rev SELECT * FROM pts ORDER BY id DESC;
GRANT SELECT ON pts_rev TO tap_sim_a;
SET ROLE tap_sim_a;
SELECT is(hitl.simulate('pts_rev', 'lab', ARRAY['a', 'b', 'n', 'e'],
						strategies => '{random,margin,least_confidence,entropy}',
						initial_labels => 6, batch_size => 4, budget => 50, repeats => 3,
						seed => 7), 4::bigint, 'the same rows in another physical order');
SELECT is((SELECT t FROM curve_text WHERE simulation = 4), (SELECT t FROM curve_text WHERE simulation = 1),
		  'give the same curves');

---------------------------------------------------------------- no write to the source
SELECT is((SELECT count(*) FROM pts p JOIN xmins x USING (id) WHERE p.xmin::text = x.x),
		  520::bigint, 'the source''s rows are untouched (every xmin as before)');

---------------------------------------------------------------- errors
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['a'], strategies => '{margin,committee_x}')$$,
				 '22023', 'unknown strategy "committee_x"', 'an unknown strategy is refused');
SELECT is(pg_temp.hint_of($$SELECT hitl.simulate('pts', 'lab', ARRAY['a'], strategies => '{bogus}')$$),
		  '22023: Known strategies: random, margin, least_confidence, entropy, density, diverse, committee.',
		  'its hint lists the known strategies');
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['a'], strategies => '{}')$$,
				 '22023', 'strategies must name at least one strategy', 'no strategy');
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['a'], strategies => '{margin,margin}')$$,
				 '22023', 'strategy "margin" is named twice', 'a strategy twice');
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['a'], budget => 401)$$,
				 '22023', 'budget 401 is beyond the pool of 400 rows', 'a budget beyond the pool');
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['a'], initial_labels => 401, budget => 401)$$,
				 '55000', 'too few labeled rows to simulate on', 'a seed beyond the pool');
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['a'], batch_size => 0)$$,
				 '22023', 'batch_size must be at least 1', 'a batch of 0');
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['a'], initial_labels => 1)$$,
				 '22023', 'initial_labels must be at least 2', 'a seed of 1');
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['a'], initial_labels => 30, budget => 20)$$,
				 '22023', 'budget 20 is below initial_labels 30', 'a budget below the seed');
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['a'], repeats => 0)$$,
				 '22023', 'repeats must be from 1 to 1000', 'no repeat');
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['a'], test_fraction => 1)$$,
				 '22023', 'test_fraction must be above 0 and below 1', 'a test fraction of 1');
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['a'], algorithm => 'forest')$$,
				 '22023', 'unknown algorithm "forest"', 'an unknown algorithm');
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['a'], algorithm => 'naive_bayes', budget => 50)$$,
				 '22023', 'a feature of a labeled row is negative', 'naive_bayes on a negative feature');
SELECT ok(hitl.simulate('pts', 'lab', ARRAY['b', 'n'], algorithm => 'naive_bayes',
						strategies => '{margin,random}', initial_labels => 6, batch_size => 4,
						budget => 50, repeats => 2) > 4, 'naive_bayes simulates too');
SELECT results_eq(
	$$SELECT count(*), min(s.options->>'alpha')::float8, bool_and(s.full_accuracy BETWEEN 0 AND 1)
	  FROM hitl.simulation_curves c JOIN hitl.simulations s ON s.id = c.simulation
	  WHERE s.algorithm = 'naive_bayes'$$,
	$$VALUES (2::bigint * 2 * 12, 1.0::float8, true)$$,
	'its curves, with alpha in its options');
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['a'], options => '{"C": 0}')$$,
				 '22023', NULL, 'a model option out of range (hitl._resolve_options)');
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['a', 'flag'])$$,
				 '42804', 'feature column "flag" is of type boolean', 'a feature column of a wrong type');
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['a', 'nope'])$$,
				 '42703', 'column "nope" of relation public.pts does not exist', 'a feature column that does not exist');
SELECT throws_ok($$SELECT hitl.simulate('pts', 'nope', ARRAY['a'])$$,
				 '42703', 'column "nope" of relation public.pts does not exist', 'a label column that does not exist');
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['lab'])$$,
				 '22023', 'the label column "lab" cannot be a feature column', 'the label as a feature');
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', '{}')$$,
				 '22023', 'feature_columns must name at least one column', 'no feature column');
RESET ROLE;
-- a class of one row; arrays of different lengths
CREATE TABLE tiny (id int PRIMARY KEY, a float8, e float8[], lab text);
INSERT INTO tiny SELECT i, i, ARRAY[i, i], CASE WHEN i = 1 THEN 'x' ELSE 'y' END
FROM generate_series(1, 50) i;
CREATE TABLE ragged (id int PRIMARY KEY, e float8[], lab text);
INSERT INTO ragged SELECT i, CASE WHEN i = 7 THEN ARRAY[1, 2, 3] ELSE ARRAY[i, i] END, (i % 2)::text
FROM generate_series(1, 50) i;
GRANT SELECT ON tiny, ragged TO tap_sim_a;
SET ROLE tap_sim_a;
SELECT throws_ok($$SELECT hitl.simulate('tiny', 'lab', ARRAY['a'], budget => 30)$$,
				 '55000', 'too few labeled rows to simulate on', 'a class of one labeled row');
SELECT throws_ok($$SELECT hitl.simulate('ragged', 'lab', ARRAY['e'], budget => 30)$$,
				 '22023', 'feature column "e" holds arrays of 2 and 3 elements', 'embeddings of different lengths');

---------------------------------------------------------------- privileges and RLS of the source
SET ROLE tap_sim_b;
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['a', 'b'], budget => 30)$$,
				 '42501', 'permission denied for table pts', 'no SELECT on a feature column');
SELECT lives_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['a'], budget => 30, repeats => 1,
									   strategies => '{margin}')$$,
				'the columns it may read are enough');
RESET ROLE;
ALTER TABLE pts ENABLE ROW LEVEL SECURITY;
CREATE POLICY first_half ON pts FOR SELECT TO tap_sim_b USING (id <= 250);
SET ROLE tap_sim_b;
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['a'], budget => 201)$$,
				 '22023', 'budget 201 is beyond the pool of 200 rows',
				 'row-level security of the source applies: 250 rows, a pool of 200');
RESET ROLE;
ALTER TABLE pts DISABLE ROW LEVEL SECURITY;

---------------------------------------------------------------- RLS of the results
SET ROLE tap_sim_b;
SELECT ok((SELECT count(*) = 1 AND bool_and(role = current_user) FROM hitl.simulations),
		  'a role sees its own simulations only');
SELECT is((SELECT count(DISTINCT simulation) FROM hitl.simulation_curves), 1::bigint,
		  'and their curves only');
SELECT ok((SELECT count(*) = 1 AND bool_and(simulation = (SELECT id FROM hitl.simulations))
		   FROM hitl.simulation_summary), 'and their summary only');
SELECT throws_ok($$INSERT INTO hitl.simulation_curves VALUES (1, 'random', 9, 0, 10, 1, 1, 0, 0, 0)$$,
				 '42501', NULL, 'it cannot add to another role''s curves');
SELECT throws_ok($$INSERT INTO hitl.simulations (role, source, label_column, feature_columns, strategies,
				  algorithm, initial_labels, batch_size, budget, repeats, test_fraction, options, seed)
				  VALUES ('tap_sim_a', 'x', 'y', '{}', '{}', 'logistic', 1, 1, 1, 1, 0.5, '{}', 0)$$,
				 '42501', NULL, 'nor record a simulation in another role''s name');
SELECT throws_ok($$DELETE FROM hitl.simulations WHERE id = 1$$, '42501', NULL,
				 'nor delete one (PUBLIC holds SELECT alone on hitl''s tables)');
SELECT throws_ok($$UPDATE hitl.simulations SET source = 'x'$$, '42501', NULL,
				 'nor change what a simulation records');
SELECT throws_ok($$SELECT hitl.simulation_svg(1)$$, '42704', 'simulation 1 does not exist',
				 'nor plot another role''s simulation');
SELECT throws_ok($$SELECT hitl.drop_simulation(1)$$, '42704', 'simulation 1 does not exist',
				 'nor drop it');
RESET ROLE;
SET ROLE tap_sim_a;
SELECT is((SELECT count(*) FROM hitl.simulations), 5::bigint, 'the other role sees its five');

---------------------------------------------------------------- the plot
SELECT matches(hitl.simulation_svg(1), '^<svg xmlns="http://www.w3.org/2000/svg".*</svg>$',
			   'hitl.simulation_svg returns an SVG document');
SELECT is((SELECT count(*) FROM regexp_matches(hitl.simulation_svg(1), '<polyline', 'g')), 4::bigint,
		  'a mean line per strategy');
SELECT is((SELECT count(*) FROM regexp_matches(hitl.simulation_svg(1), '<polygon', 'g')), 4::bigint,
		  'a band per strategy');
SELECT ok(hitl.simulation_svg(1) LIKE '%margin (AULC 0.%' AND hitl.simulation_svg(1) LIKE '%>labels<%',
		  'a legend with the AULC, and the axes'' titles');

---------------------------------------------------------------- dump, progress
SELECT ok((SELECT ARRAY['hitl.simulations'::regclass, 'hitl.simulations_id_seq'::regclass,
						'hitl.simulation_curves'::regclass]::oid[] <@ extconfig
		   FROM pg_extension WHERE extname = 'hitl'),
		  'pg_dump keeps the simulations, their ids and their curves (extension configuration)');
SELECT is((SELECT count(*) FROM hitl.simulation_progress), 0::bigint,
		  'hitl.simulation_progress shows no simulation once they are done');

---------------------------------------------------------------- deleting, cancelling
SELECT throws_ok($$DELETE FROM hitl.simulations WHERE id = 4$$, '42501', NULL,
				 'a role does not write its own simulations either: hitl''s functions do');
SELECT lives_ok($$SELECT hitl.drop_simulation(4)$$, 'hitl.drop_simulation deletes a role''s own');
SELECT is((SELECT count(*) FROM hitl.simulations), 4::bigint, 'it is gone');
SELECT is((SELECT count(*) FROM hitl.simulation_curves WHERE simulation = 4), 0::bigint,
		  'and its curves with it');
SET LOCAL statement_timeout = '200ms';
SELECT is(pg_temp.canceled($$SELECT hitl.simulate('pts', 'lab', ARRAY['a', 'b', 'n', 'e'], budget => 399,
											  batch_size => 1, repeats => 1000)$$),
		  '57014', 'statement_timeout stops a long simulation');
RESET statement_timeout;

---------------------------------------------------------------- density, diverse, committee
SELECT ok(hitl.simulate('pts', 'lab', ARRAY['a', 'b', 'n', 'e'],
						strategies => '{density,diverse,committee}',
						initial_labels => 6, batch_size => 4, budget => 50, repeats => 3,
						seed => 7) > 0, 'density, diverse and committee simulate');
SELECT results_eq(
	$$SELECT c.strategy, count(*), count(DISTINCT c.repeat), max(c.labels)
	  FROM hitl.simulation_curves c WHERE c.simulation = (SELECT max(id) FROM hitl.simulations)
	  GROUP BY c.strategy ORDER BY c.strategy$$,
	$$VALUES ('committee', 36::bigint, 3::bigint, 50), ('density', 36, 3, 50), ('diverse', 36, 3, 50)$$,
	'each: 3 repeats x 12 rounds up to the budget');
SELECT results_eq(
	$$SELECT strategy, final_accuracy > 0.8, aulc > 0.7 FROM hitl.simulation_summary
	  WHERE simulation = (SELECT max(id) FROM hitl.simulations) ORDER BY strategy$$,
	$$VALUES ('committee', true, true), ('density', true, true), ('diverse', true, true)$$,
	'each learns the separable classes');
CREATE TEMP VIEW curve_kappa AS
	SELECT simulation, string_agg(format('%s %s %s %s %s %s', strategy, repeat, round, labels,
										 accuracy, coalesce(kappa::text, '-')), ';'
								  ORDER BY strategy, repeat, round) AS t
	FROM hitl.simulation_curves GROUP BY simulation;
SELECT ok(hitl.simulate('pts', 'lab', ARRAY['a', 'b', 'n', 'e'],
						strategies => '{density,diverse,committee}',
						initial_labels => 6, batch_size => 4, budget => 50, repeats => 3,
						seed => 7) > 0, 'the same simulation again');
SELECT is((SELECT t FROM curve_kappa WHERE simulation = (SELECT max(id) FROM hitl.simulations)),
		  (SELECT t FROM curve_kappa WHERE simulation = (SELECT max(id) - 1 FROM hitl.simulations)),
		  'the same seed gives the same curves and kappas, committee included');
SELECT ok(hitl.simulate('pts', 'lab', ARRAY['a', 'b', 'n', 'e'], strategies => '{committee}',
						initial_labels => 6, batch_size => 4, budget => 50, repeats => 3,
						seed => 7, options => '{"committee_size": 3}') > 0,
		  'committee_size 3');
SELECT isnt((SELECT t FROM curve_kappa WHERE simulation = (SELECT max(id) FROM hitl.simulations)),
			(SELECT string_agg(x, ';') FROM (
				SELECT format('%s %s %s %s %s %s', strategy, repeat, round, labels, accuracy,
							  coalesce(kappa::text, '-')) AS x
				FROM hitl.simulation_curves
				WHERE simulation = (SELECT max(id) - 1 FROM hitl.simulations) AND strategy = 'committee'
				ORDER BY strategy, repeat, round) q),
			'another committee_size picks other rows');
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['b', 'n'], algorithm => 'naive_bayes',
										strategies => '{margin,committee}')$$,
				 '22023', 'strategy "committee" needs algorithm logistic',
				 'naive_bayes has no committee, as in create_model');
SELECT throws_ok($$SELECT hitl.simulate('pts', 'lab', ARRAY['a'], strategies => '{committee}',
										options => '{"committee_size": 21}')$$,
				 '22023', NULL, 'a committee_size out of range');

---------------------------------------------------------------- kappa and the stop
SELECT is((SELECT count(*) FROM hitl.simulation_curves
		   WHERE (round = 0 AND kappa IS NOT NULL) OR kappa NOT BETWEEN -1 AND 1),
		  0::bigint, 'kappa: NULL at round 0, in [-1, 1] after');
SELECT cmp_ok((SELECT count(kappa)::float8 / count(*) FROM hitl.simulation_curves
			   WHERE round > 0 AND simulation IN (SELECT id FROM hitl.simulations WHERE algorithm = 'logistic')),
			  '>', 0.95::float8,
			  'kappa: NULL after round 0 only when undefined (both rounds predict one class)');
RESET ROLE;
-- two classes far apart: every model predicts every pool row right, so
-- consecutive rounds agree, kappa 1
CREATE TABLE far (id int PRIMARY KEY, a float8, lab text);
INSERT INTO far SELECT i, CASE WHEN i % 2 = 0 THEN 10 ELSE -10 END + sin(i), (i % 2)::text
FROM generate_series(1, 200) i;
GRANT SELECT ON far TO tap_sim_a;
SET ROLE tap_sim_a;
SELECT ok(hitl.simulate('far', 'lab', ARRAY['a'], strategies => '{random,diverse}',
						initial_labels => 4, batch_size => 10, budget => 84, repeats => 2,
						seed => 1) > 0, 'a simulation on classes far apart');
SELECT results_eq(
	$$SELECT round, count(*), min(kappa), max(kappa) FROM hitl.simulation_curves
	  WHERE simulation = (SELECT max(id) FROM hitl.simulations) AND round IN (1, 5, 8)
	  GROUP BY round ORDER BY round$$,
	$$VALUES (1, 4::bigint, 1::float8, 1::float8), (5, 4, 1, 1), (8, 4, 1, 1)$$,
	'kappa: the recomputed agreement of predictions all right, 1');
SELECT results_eq(
	$$SELECT strategy, stop_labels, stopped, stop_accuracy, accuracy_given_up
	  FROM hitl.simulation_summary WHERE simulation = (SELECT max(id) FROM hitl.simulations)
	  ORDER BY strategy$$,
	$$VALUES ('diverse', NULL::float8, 0, NULL::float8, NULL::float8), ('random', NULL, 0, NULL, NULL)$$,
	'kappa 1 at every round, but 80 labels from the seed to the budget: the window of 100 labels is never covered, no repeat stops');
SELECT ok(hitl.simulate('far', 'lab', ARRAY['a'], strategies => '{random,diverse}',
						initial_labels => 4, batch_size => 10, budget => 84, repeats => 2,
						seed => 1, options => '{"stop_window": 30}') > 0, 'stop_window 30');
SELECT results_eq(
	$$SELECT strategy, stop_labels, stopped, stop_accuracy, accuracy_given_up
	  FROM hitl.simulation_summary WHERE simulation = (SELECT max(id) FROM hitl.simulations)
	  ORDER BY strategy$$,
	$$VALUES ('diverse', 34::float8, 2, 1::float8, 0::float8), ('random', 34, 2, 1, 0)$$,
	'stop_window 30: kappa above 0.99 at rounds 1, 2 and 3 (from 4 to 34 labels), so the stop at 34 labels, nothing given up');
SELECT ok(hitl.simulate('far', 'lab', ARRAY['a'], strategies => '{random}',
						initial_labels => 4, batch_size => 10, budget => 84, repeats => 2,
						seed => 1, options => '{"stop_kappa": 1, "stop_window": 30}') > 0,
		  'stop_kappa 1');
SELECT results_eq(
	$$SELECT stop_labels, stopped, stop_accuracy, accuracy_given_up
	  FROM hitl.simulation_summary WHERE simulation = (SELECT max(id) FROM hitl.simulations)$$,
	$$VALUES (NULL::float8, 0, NULL::float8, NULL::float8)$$,
	'no kappa is above stop_kappa 1: no repeat stops');
-- the summary's stop columns against a recomputation from the curves
SELECT is((SELECT count(*) FROM (
			  SELECT s.simulation, s.strategy, s.stop_labels, s.stopped, s.stop_accuracy,
					 s.accuracy_given_up, r.labels, r.n, r.acc, r.given
			  FROM hitl.simulation_summary s
			  LEFT JOIN (
				  SELECT f.simulation, f.strategy, avg(f.labels)::float8 AS labels,
						 count(*)::integer AS n, avg(f.accuracy) AS acc,
						 avg(l.accuracy - f.accuracy) AS given
				  FROM (SELECT DISTINCT ON (c.simulation, c.strategy, c.repeat) c.*
						FROM hitl.simulation_curves c
						JOIN hitl.simulations m ON m.id = c.simulation,
						LATERAL (SELECT coalesce((m.options->>'stop_kappa')::float8, 0.99) AS t,
										coalesce((m.options->>'stop_window')::integer, 100) AS w) o
						-- a round at least w labels before: the window's base
						WHERE EXISTS (SELECT FROM hitl.simulation_curves b
									  WHERE (b.simulation, b.strategy, b.repeat)
											= (c.simulation, c.strategy, c.repeat)
										AND b.labels <= c.labels - o.w)
						  -- every round of the window above stop_kappa
						  AND NOT EXISTS (SELECT FROM hitl.simulation_curves d
										  WHERE (d.simulation, d.strategy, d.repeat)
												= (c.simulation, c.strategy, c.repeat)
											AND d.labels > c.labels - o.w AND d.round <= c.round
											AND (d.kappa IS NULL OR d.kappa <= o.t))
						ORDER BY c.simulation, c.strategy, c.repeat, c.round) f
				  JOIN LATERAL (SELECT e.accuracy FROM hitl.simulation_curves e
								WHERE (e.simulation, e.strategy, e.repeat)
									  = (f.simulation, f.strategy, f.repeat)
								ORDER BY e.round DESC LIMIT 1) l ON true
				  GROUP BY f.simulation, f.strategy) r USING (simulation, strategy)
			  WHERE s.stopped <> coalesce(r.n, 0)
				 OR s.stop_labels IS DISTINCT FROM r.labels
				 OR abs(s.stop_accuracy - r.acc) > 1e-12
				 OR abs(s.accuracy_given_up - r.given) > 1e-12
				 OR (s.stopped > 0) <> (r.n IS NOT NULL)) bad), 0::bigint,
		  'stop_labels, stopped, stop_accuracy and accuracy_given_up as recomputed from the curves');
SELECT cmp_ok((SELECT count(*) FROM hitl.simulation_summary WHERE stopped > 0), '>=', 2::bigint,
			  'the recomputation has stops to compare (those of stop_window 30 at least)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
