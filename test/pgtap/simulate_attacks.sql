-- hitl.simulate against a table owner who sets traps, and against callers of
-- its internal functions, which every role may call.  Each check failed (or
-- crashed the server) before its fix.
--
-- 1. The label is read through its type's output function and the rows are
--    sorted by that text in C: a cast of the table owner's making (label::text)
--    never runs as the role that simulates.
-- 2. hitl._simulate_run and hitl._simulation_split take the table, not a
--    query: what hitl.simulations records as the source is what was read,
--    read as the caller.
-- 3. Their arguments are checked again: repeats, batch_size (a batch of
--    2^31 - 1 is the budget), and data too large for a model.
--
-- The file runs outside a transaction block; its roles are dropped at the end.

SELECT plan(20);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

CREATE ROLE tap_sim_owner;
CREATE ROLE tap_sim_victim;
CREATE ROLE tap_sim_outsider;
GRANT CREATE ON SCHEMA public TO tap_sim_owner;

-- 1. the owner's label type, with a cast to text that fails, and records
--    who ran it before it fails
SET ROLE tap_sim_owner;
CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE TABLE cast_calls (who name);
GRANT INSERT ON cast_calls TO PUBLIC;
CREATE FUNCTION mood_text(m mood) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.cast_calls VALUES (current_user);
	RAISE EXCEPTION 'the owner''s cast ran as %', current_user;
END
$$;
CREATE CAST (mood AS text) WITH FUNCTION mood_text(mood);
CREATE TABLE moods (id int PRIMARY KEY, x float8, m mood);
INSERT INTO moods SELECT i, CASE WHEN i % 2 = 0 THEN i ELSE -i END + sin(i),
						CASE WHEN i % 2 = 0 THEN 'happy' ELSE 'sad' END::mood
FROM generate_series(1, 60) i;
GRANT SELECT ON moods TO tap_sim_victim;
RESET ROLE;

SET ROLE tap_sim_victim;
SELECT throws_ok($$SELECT 'happy'::mood::text$$, 'P0001',
				 'the owner''s cast ran as tap_sim_victim', 'the trap is set: the cast raises');
SELECT lives_ok($$SELECT hitl.simulate('moods', 'm', ARRAY['x'], initial_labels => 4, budget => 20,
									   repeats => 1)$$,
				'a simulation on the owner''s label type does not run its cast');
SELECT is((SELECT count(*) FROM hitl.simulations WHERE source = 'public.moods'), 1::bigint,
		  'the simulation is recorded');
RESET ROLE;
SELECT is((SELECT count(*) FROM cast_calls), 0::bigint, 'the cast never ran');

-- the labels are the enum's text, and the classes are ordered by it
SET ROLE tap_sim_victim;
SELECT is((SELECT array_agg(DISTINCT label ORDER BY label)
		   FROM hitl._simulation_split('moods', 'm', ARRAY['x'], '{random}', 'logistic', 4, 10, 20,
									   1, 0.2, '{}', 0, 1)),
		  ARRAY['happy', 'sad'], 'the split''s labels are the output of the label''s type');
RESET ROLE;

-- 2. no query is taken
SELECT hasnt_function('hitl', '_simulate_run',
					  ARRAY['text', 'text[]', 'integer', 'integer', 'integer', 'integer',
							'double precision', 'double precision', 'integer',
							'double precision', 'integer', 'regclass', 'name', 'name[]', 'text',
							'jsonb', 'integer'],
					  'hitl._simulate_run takes no query');
SELECT hasnt_function('hitl', '_simulation_split',
					  ARRAY['text', 'text[]', 'integer', 'integer', 'integer', 'integer',
							'double precision', 'double precision', 'integer',
							'double precision', 'integer', 'integer'],
					  'hitl._simulation_split takes no query');
-- the source recorded is the table read, as the caller: one who may not
-- read it gets 42501 and leaves no record
SET ROLE tap_sim_outsider;
SELECT throws_ok($$SELECT hitl._simulate_run('moods', 'm', ARRAY['x'], '{random}', 'logistic', 4, 10,
											 20, 1, 0.2, '{}', 0)$$,
				 '42501', NULL, 'a table the caller may not read: 42501');
RESET ROLE;
SELECT is((SELECT count(*) FROM hitl.simulations WHERE role = 'tap_sim_outsider'), 0::bigint,
		  'and no simulation recorded in its name');

-- 3. the arguments, checked by the engine itself
SET ROLE tap_sim_victim;
SELECT throws_ok($$SELECT hitl._simulate_run('moods', 'm', ARRAY['x'], '{random}', 'logistic', 4, 10,
											 20, 1001, 0.2, '{}', 0)$$,
				 '22023', 'repeats must be from 1 to 1000', 'repeats beyond 1000: 22023');
SELECT throws_ok($$SELECT hitl._simulate_run('moods', 'm', ARRAY['x'], '{random}', 'logistic', 1, 10,
											 20, 1, 0.2, '{}', 0)$$,
				 '22023', 'initial_labels must be from 2 to 2147483647', 'initial_labels 1: 22023');
SELECT throws_ok($$SELECT hitl._simulate_run('moods', 'm', ARRAY['x'], '{random}', 'forest', 4, 10,
											 20, 1, 0.2, '{}', 0)$$,
				 '22023', 'unknown algorithm "forest"', 'an unknown algorithm: 22023');
SELECT throws_ok($$SELECT hitl._simulate_run('moods', 'm', ARRAY['x'], '{random}', 'logistic', 4, 10,
											 20, 1, 0.2, '{"C": -1}', 0)$$,
				 '22023', NULL, 'options are resolved and checked: 22023');
CREATE TEMP TABLE big_batch AS
SELECT hitl._simulate_run('moods', 'm', ARRAY['x'], '{margin}', 'logistic', 4, 2147483647, 20, 1,
						  0.2, '{}', 0) AS id;
SELECT results_eq($$SELECT count(*), max(c.labels) FROM hitl.simulation_curves c
					WHERE c.simulation = (SELECT id FROM big_batch)$$,
				  $$VALUES (2::bigint, 20)$$,
				  'a batch of 2^31 - 1 is the budget: the seed round and one more, no overflow');
RESET ROLE;

-- wide features: 300,000 dense features of 2 classes are more coefficients
-- than a dense model may have; more than 1,000,000 are refused on reading
SET ROLE tap_sim_owner;
CREATE TABLE wide (id int PRIMARY KEY, e float8[], big float8[], lab text);
INSERT INTO wide SELECT g, array_fill(g::float8, ARRAY[300000]), array_fill(NULL::float8, ARRAY[1000001]),
						(g % 2)::text
FROM generate_series(1, 10) g;
SELECT throws_ok($$SELECT hitl.simulate('wide', 'lab', ARRAY['e'], initial_labels => 2, budget => 4,
										repeats => 1)$$,
				 '54000', 'the simulation''s data are too large: 10 rows, 2 classes, 300000 features',
				 'too many coefficients for a dense model: 54000, not a crash');
SELECT throws_ok($$SELECT hitl.simulate('wide', 'lab', ARRAY['big'], initial_labels => 2, budget => 4,
										repeats => 1)$$,
				 '54000', 'too many features to simulate on: more than 1000000',
				 'more than 1,000,000 features: 54000');
-- rows x features beyond 16,777,216 values: refused before any buffer of that size
CREATE TABLE wide_rows (id int PRIMARY KEY, e float8[], lab text);
INSERT INTO wide_rows SELECT g, CASE WHEN g = 1 THEN array_fill(0::float8, ARRAY[1000000]) END,
							 (g % 2)::text
FROM generate_series(1, 20) g;
SELECT throws_ok($$SELECT hitl.simulate('wide_rows', 'lab', ARRAY['e'], algorithm => 'naive_bayes',
										initial_labels => 2, budget => 4, repeats => 1)$$,
				 '54000', 'the simulation''s data are too large: 20 rows of 1000000 features',
				 '20 rows of a million features: 54000 before the buffers');
-- a view is read as the caller: its owner may simulate on it, others may not
CREATE VIEW moods_view AS SELECT id, x * 2 AS x, m FROM moods;
GRANT SELECT ON moods_view TO tap_sim_victim;
SELECT lives_ok($$SELECT hitl.simulate('moods_view', 'm', ARRAY['x'], initial_labels => 4,
									   budget => 20, repeats => 1)$$,
				'the owner of a view simulates on it');
RESET ROLE;
SET ROLE tap_sim_victim;
SELECT throws_ok($$SELECT hitl.simulate('moods_view', 'm', ARRAY['x'], initial_labels => 4,
										budget => 20, repeats => 1)$$,
				 '42501', 'hitl.simulate does not read public.moods_view as you: it would run code of a role you do not trust',
				 'another role''s view: 42501');
SELECT throws_ok($$SELECT hitl.simulate('moods', 'm', ARRAY['x', 'x'])$$,
				 '22023', 'feature_columns names a column twice', 'a feature column named twice: 22023');
RESET ROLE;

SELECT * FROM finish();

DROP VIEW moods_view;
DROP TABLE moods, cast_calls, wide, wide_rows, big_batch;
DROP CAST (mood AS text);
DROP FUNCTION mood_text(mood);
DROP TYPE mood;
DELETE FROM hitl.simulations;
REVOKE CREATE ON SCHEMA public FROM tap_sim_owner;
DROP ROLE tap_sim_owner, tap_sim_victim, tap_sim_outsider;
