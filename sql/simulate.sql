-- hitl.simulate: its API (every strategy, the curves, the summary, the
-- stop columns, the plot, dropping) and every error a user can cause, with
-- SQLSTATE, message, detail and hint.  Figures are shown as counts and
-- truths, not floats.

-- two classes either side of a = 0; an embedding; a text column whose
-- words tell the class on 9 rows in 10; a column of no type a simulation
-- takes
CREATE TABLE sim (id int PRIMARY KEY, a float8, b int, e float8[], note text, lab text,
				  flag boolean DEFAULT true);
INSERT INTO sim
SELECT i, (CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END) * (0.2 + abs(sin(i * 12.9898)) * 2)
		  + 0.5 * sin(i * 78.233),
	   (i * 13) % 7, ARRAY[cos(i * 3.1), sin(i * 5.7)],
	   'row ' || i || CASE WHEN (i % 2 = 0) <> (i % 10 = 5) THEN ' sunny and bright' ELSE ' rainy, dark' END,
	   CASE WHEN i % 2 = 0 THEN 'pos' ELSE 'neg' END
FROM generate_series(1, 200) i;
INSERT INTO sim SELECT i, 0, 0, NULL, NULL, NULL FROM generate_series(201, 210) i;

-- every strategy: 6 to 30 labels by 4 is 7 rounds, over 2 repeats
SELECT hitl.simulate('sim', 'lab', ARRAY['a', 'b', 'e'],
					 strategies => '{random,margin,least_confidence,entropy,density,diverse,committee}',
					 initial_labels => 6, batch_size => 4, budget => 30, repeats => 2, seed => 3) > 0
	AS simulated;
SELECT strategy, count(*) AS points, count(DISTINCT repeat) AS repeats, min(labels), max(labels),
	   count(kappa) AS kappas, bool_and(kappa IS NULL) FILTER (WHERE round = 0) AS no_kappa_at_0
FROM hitl.simulation_curves GROUP BY strategy ORDER BY strategy;
SELECT source, label_column, feature_columns, strategies, algorithm, initial_labels, batch_size,
	   budget, repeats, test_fraction, seed, options->>'committee_size' AS committee_size,
	   finished_at IS NOT NULL AS finished, full_accuracy BETWEEN 0.5 AND 1 AS full_accuracy
FROM hitl.simulations;
SELECT strategy, repeats, aulc BETWEEN 0 AND 1 AS aulc, final_accuracy BETWEEN 0 AND 1 AS final,
	   stopped BETWEEN 0 AND 2 AS stopped, (stopped = 0) = (stop_labels IS NULL) AS stop_labels,
	   (stopped = 0) = (accuracy_given_up IS NULL) AS given_up
FROM hitl.simulation_summary ORDER BY strategy;
SELECT attname FROM pg_attribute
WHERE attrelid = 'hitl.simulation_summary'::regclass AND attnum > 0 ORDER BY attnum;
SELECT hitl.simulation_svg(id) LIKE '<svg %committee (AULC %</svg>' AS svg FROM hitl.simulations;
-- options: committee_size, stop_kappa and stop_window are kept with the others
SELECT hitl.simulate('sim', 'lab', ARRAY['a'], strategies => '{committee}', initial_labels => 4,
					 budget => 24, repeats => 1,
					 options => '{"committee_size": 3, "stop_kappa": 0.5, "stop_window": 20}') > 0
	AS simulated;
SELECT options->>'committee_size' AS committee_size, options->>'stop_kappa' AS stop_kappa,
	   options->>'stop_window' AS stop_window
FROM hitl.simulations ORDER BY id DESC LIMIT 1;
SELECT hitl.drop_simulation(max(id)) FROM hitl.simulations;
SELECT count(*) FROM hitl.simulations;

-- committee_measure: the same committee ranked by KL picks other rows than by vote entropy
SELECT hitl.simulate('sim', 'lab', ARRAY['a', 'b', 'e'], strategies => '{committee}',
					 initial_labels => 6, batch_size => 4, budget => 30, repeats => 2, seed => 3) AS ve_sim
\gset
SELECT hitl.simulate('sim', 'lab', ARRAY['a', 'b', 'e'], strategies => '{committee}',
					 initial_labels => 6, batch_size => 4, budget => 30, repeats => 2, seed => 3,
					 options => '{"committee_measure": "kl"}') AS kl_sim \gset
SELECT (SELECT string_agg(accuracy::text || '/' || log_loss::text, ',' ORDER BY repeat, round)
		FROM hitl.simulation_curves WHERE simulation = :ve_sim)
	   <> (SELECT string_agg(accuracy::text || '/' || log_loss::text, ',' ORDER BY repeat, round)
		   FROM hitl.simulation_curves WHERE simulation = :kl_sim) AS kl_curves_differ,
	   (SELECT options->>'committee_measure' FROM hitl.simulations WHERE id = :kl_sim) AS measure;
SELECT hitl.drop_simulation(id) FROM hitl.simulations WHERE id IN (:ve_sim, :kl_sim);

-- text: every strategy on the text column alone, then with the numbers;
-- naive Bayes; the text options recorded
SELECT hitl.simulate('sim', 'lab', ARRAY['note'],
					 strategies => '{random,margin,least_confidence,entropy,density,diverse,committee}',
					 initial_labels => 6, batch_size => 4, budget => 30, repeats => 2, seed => 3) AS text_sim
\gset
SELECT strategy, count(*) AS points, min(labels), max(labels), count(kappa) AS kappas
FROM hitl.simulation_curves WHERE simulation = :text_sim GROUP BY strategy ORDER BY strategy;
SELECT full_accuracy >= 0.85 AS words_tell_the_class, options->>'text_config' AS text_config,
	   options->>'buckets' AS buckets, options->>'max_iter' AS max_iter
FROM hitl.simulations WHERE id = :text_sim;
SELECT hitl.simulate('sim', 'lab', ARRAY['a', 'note', 'e'], strategies => '{margin,density}',
					 initial_labels => 6, batch_size => 8, budget => 30, repeats => 1,
					 options => '{"bigrams": true, "buckets": 1024}') > 0 AS mixed;
SELECT hitl.simulate('sim', 'lab', ARRAY['b', 'note'], algorithm => 'naive_bayes',
					 strategies => '{entropy,diverse}', initial_labels => 6, batch_size => 8,
					 budget => 30, repeats => 1) > 0 AS naive_bayes;
SELECT s.algorithm, s.options->>'bigrams' AS bigrams, count(*) AS points
FROM hitl.simulations s JOIN hitl.simulation_curves c ON c.simulation = s.id
WHERE s.id > :text_sim GROUP BY s.id, s.algorithm, s.options ORDER BY s.id;
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], options => '{"buckets": 1024}')$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['note'], options => '{"text_config": "nope"}')$$);
-- a batch beyond the budget is the budget: one round after the seed
SELECT hitl.simulate('sim', 'lab', ARRAY['a'], batch_size => 2147483647, initial_labels => 4,
					 budget => 20, repeats => 1) AS big_batch \gset
SELECT count(*) AS rounds, max(labels) FROM hitl.simulation_curves WHERE simulation = :big_batch;
SELECT hitl.drop_simulation(id) FROM hitl.simulations WHERE id >= :text_sim;

-- the strategies
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], strategies => '{margin,bogus}')$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], strategies => '{hybrid}')$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], strategies => '{}')$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], strategies => '{margin,NULL}')$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], strategies => '{diverse,diverse}')$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['b'], algorithm => 'naive_bayes',
										 strategies => '{committee}')$$);
-- the options
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], strategies => '{committee}',
										 options => '{"committee_size": 1}')$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], strategies => '{committee}',
										 options => '{"committee_size": 21}')$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], strategies => '{committee}',
										 options => '{"committee_size": 2.5}')$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], options => '{"stop_kappa": 1.5}')$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], options => '{"stop_window": 0}')$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], options => '{"stop_window": 2.5}')$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], options => '{"C": -1}')$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], options => '{"bogus": 1}')$$);
-- the campaign
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], budget => 161)$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], initial_labels => 161, budget => 161)$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], initial_labels => 30, budget => 20)$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], initial_labels => 1)$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], batch_size => 0)$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], repeats => 0)$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], repeats => 1001)$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], test_fraction => 0)$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], test_fraction => 1)$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], algorithm => 'forest')$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], algorithm => 'naive_bayes',
										 budget => 50)$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a'], seed => NULL)$$);
SELECT * FROM err($$SELECT hitl.simulate(NULL, 'lab', ARRAY['a'])$$);
-- the columns
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a', 'flag'])$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['a', 'nope'])$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'nope', ARRAY['a'])$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', ARRAY['lab'])$$);
SELECT * FROM err($$SELECT hitl.simulate('sim', 'lab', '{}')$$);
SELECT * FROM err($$SELECT hitl.simulate('no_such_table', 'lab', ARRAY['a'])$$);
-- the data: too few labels, one class, a class of one row, initial_labels
-- below the classes, a value that is not finite, ragged embeddings
CREATE TABLE few (id int PRIMARY KEY, a float8, e float8[], lab text);
INSERT INTO few SELECT i, i, ARRAY[i, i], CASE WHEN i <= 5 THEN (i % 2)::text END
FROM generate_series(1, 10) i;
SELECT * FROM err($$SELECT hitl.simulate('few', 'lab', ARRAY['a'], initial_labels => 2, budget => 4)$$);
SELECT * FROM err($$SELECT hitl.simulate('few', 'lab', ARRAY['a'], initial_labels => 4, budget => 4)$$);
UPDATE few SET lab = 'x' WHERE id <= 5;
SELECT * FROM err($$SELECT hitl.simulate('few', 'lab', ARRAY['a'], initial_labels => 2, budget => 2)$$);
UPDATE few SET lab = CASE WHEN id = 1 THEN 'y' ELSE 'x' END;
SELECT * FROM err($$SELECT hitl.simulate('few', 'lab', ARRAY['a'], initial_labels => 2, budget => 2)$$);
UPDATE few SET lab = (id % 3)::text;
SELECT * FROM err($$SELECT hitl.simulate('few', 'lab', ARRAY['a'], initial_labels => 2, budget => 2)$$);
UPDATE few SET a = 'infinity' WHERE id = 4;
SELECT * FROM err($$SELECT hitl.simulate('few', 'lab', ARRAY['a'], initial_labels => 3, budget => 3)$$);
UPDATE few SET e = ARRAY[1, 2, 3] WHERE id = 4;
SELECT * FROM err($$SELECT hitl.simulate('few', 'lab', ARRAY['e'], initial_labels => 3, budget => 3)$$);
-- the simulations
SELECT * FROM err($$SELECT hitl.simulation_svg(-1)$$);
SELECT * FROM err($$SELECT hitl.drop_simulation(-1)$$);
SELECT count(*) AS simulations FROM hitl.simulations;
SELECT count(*) AS rows_unchanged FROM sim WHERE lab IS NOT NULL;
DROP TABLE sim, few;
SELECT hitl.drop_simulation(id) FROM hitl.simulations;
