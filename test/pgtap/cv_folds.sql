-- The folds of the cross-validation: stratified and shuffled with a fixed
-- seed (labels that repeat with the period of the folds, in key order, no
-- longer put one class in each fold), cv_group_column keeping rows of a
-- group in one fold (near-duplicates no longer test the model on copies
-- of what it learned), per-class figures and hitl.confusion, and the
-- accuracy of incremental naive Bayes versions.
--
-- Like incremental_fallback.sql, this file runs outside a transaction
-- block: an incremental update reads the label changes committed since its
-- version (the database is dropped after the file, its role before).

SELECT plan(31);

CREATE EXTENSION hitl;

-- the cv_accuracy of a model's version (its current one by default)
CREATE FUNCTION acc(model text, version int DEFAULT NULL) RETURNS float8 LANGUAGE sql AS $$
	SELECT (v.metrics->>'cv_accuracy')::float8 FROM hitl.model_versions v
	JOIN hitl.models m ON m.name = v.model
	WHERE v.model = acc.model AND v.version = coalesce(acc.version, m.current_version)
$$;

-- ----------------------------------------------------------------------
-- Rows in key order whose labels repeat every 5 rows, as rows inserted
-- round-robin from 5 sources: folds by position (row i in fold i % 5) put
-- each class in a fold of its own, and every held-out row was of a class
-- its fold's model never saw (cv_accuracy 0, and no figures at all for
-- naive Bayes).  Class c has x near c and two of the three words of its
-- body: a sensible model gets most right.
-- ----------------------------------------------------------------------
CREATE TABLE periodic (id int PRIMARY KEY, x float8, y float8, body text, label text);
INSERT INTO periodic
SELECT g, c + 0.6 * sin(g * 1.7), (g % 7) * 0.1 + c * 0.5 + 0.3 * cos(g),
	   format('k%s k%s k%s', c, c, (c + g % 3) % 5), (ARRAY['a', 'b', 'c', 'd', 'e'])[c + 1]
FROM generate_series(1, 150) g, LATERAL (SELECT (g - 1) % 5 AS c) s;
SELECT hitl.create_model('periodic', 'periodic', 'label', '{x,y}') \gset
SELECT hitl.create_model('periodic_nb', 'periodic', 'label', '{body}', algorithm => 'naive_bayes',
						 prediction_column => 'nb_p', confidence_column => 'nb_c',
						 uncertainty_column => 'nb_u') \gset
SELECT hitl.create_model('periodic_again', 'periodic', 'label', '{x,y}',
						 prediction_column => 'a_p', confidence_column => 'a_c',
						 uncertainty_column => 'a_u') \gset

SELECT cmp_ok(acc('periodic'), '>', 0.7::float8,
			  'labels repeating with the period of the folds: logistic cv_accuracy above 0.7 (0 with folds by position)');
SELECT cmp_ok(acc('periodic_nb'), '>', 0.7::float8,
			  'the same rows: naive Bayes on the words is cross-validated, cv_accuracy above 0.7 (none with folds by position)');
SELECT is((SELECT metrics->'cv_accuracy' FROM hitl.model_versions WHERE model = 'periodic_again'),
		  (SELECT metrics->'cv_accuracy' FROM hitl.model_versions WHERE model = 'periodic'),
		  'a fixed seed: the same rows and options give the same cv_accuracy');
SELECT is((SELECT metrics->'confusion' FROM hitl.model_versions WHERE model = 'periodic_again'),
		  (SELECT metrics->'confusion' FROM hitl.model_versions WHERE model = 'periodic'),
		  'a fixed seed: the same confusion matrix');

-- ----------------------------------------------------------------------
-- Classes in blocks (ids 1-50 a, 51-100 b, 101-150 c)
-- ----------------------------------------------------------------------
CREATE TABLE blocks (id int PRIMARY KEY, x float8, y float8, grp int, label text);
INSERT INTO blocks
SELECT g, c + 0.6 * sin(g * 1.7), (g % 7) * 0.1 + c * 0.5 + 0.3 * cos(g),
	   CASE WHEN g % 10 <> 0 THEN g / 10 END, (ARRAY['a', 'b', 'c'])[c + 1]
FROM generate_series(1, 150) g, LATERAL (SELECT (g - 1) / 50 AS c) s;
SELECT hitl.create_model('blocks', 'blocks', 'label', '{x,y}') \gset

SELECT cmp_ok(acc('blocks'), '>', 0.7::float8,
			  'classes in blocks of ids: cv_accuracy above 0.7');

-- the figures of one version agree with each other
SELECT is((SELECT sum((c.value->>'support')::int) FROM hitl.model_versions v,
		   jsonb_each(v.metrics->'per_class') c WHERE v.model = 'blocks'),
		  150::bigint, 'per_class: the supports add up to the labeled rows');
SELECT results_eq($$SELECT label, sum(rows)::int FROM hitl.confusion
					WHERE model = 'blocks' GROUP BY label ORDER BY label$$,
				  $$VALUES ('a'::text, 50), ('b', 50), ('c', 50)$$,
				  'hitl.confusion: 50 rows of each true label, 150 in all');
SELECT ok((SELECT abs(sum(rows) FILTER (WHERE label = predicted)::float8 / sum(rows)
					  - acc('blocks')) < 1e-9
		   FROM hitl.confusion WHERE model = 'blocks'),
		  'hitl.confusion: its diagonal over its rows is cv_accuracy');
SELECT ok((SELECT abs(avg((c.value->>'f1')::float8) - (v.metrics->>'macro_f1')::float8) < 1e-9
				  AND abs((v.metrics->>'macro_f1')::float8 - (v.metrics->>'cv_macro_f1')::float8) < 1e-9
		   FROM hitl.model_versions v, jsonb_each(v.metrics->'per_class') c
		   WHERE v.model = 'blocks' GROUP BY v.metrics),
		  'macro_f1 is the mean of the per-class F1, and cv_macro_f1');
SELECT ok((SELECT bool_and(abs((c.value->>'recall')::float8
							   - (SELECT rows FROM hitl.confusion f WHERE f.model = 'blocks'
								  AND f.label = c.key AND f.predicted = c.key)::float8
							   / (c.value->>'support')::float8) < 1e-9)
		   FROM hitl.model_versions v, jsonb_each(v.metrics->'per_class') c
		   WHERE v.model = 'blocks'),
		  'per_class recall is the diagonal of hitl.confusion over the support');
SELECT is((SELECT jsonb_array_length(metrics->'confusion') FROM hitl.model_versions
		   WHERE model = 'blocks'), 3, 'confusion: a row per class');
SELECT is((SELECT pg_typeof(rows)::text || ' ' || pg_typeof(label)::text || ' '
				  || pg_typeof(predicted)::text FROM hitl.confusion LIMIT 1),
		  'bigint text text', 'hitl.confusion: plain types');

-- a role that cannot read the table sees nothing of its models' matrices;
-- one that can, sees them (security_invoker: the policy of hitl.models)
SELECT 'hitl_tap_cv_reader_' || pg_backend_pid() AS reader \gset
CREATE ROLE :"reader";
SET ROLE :"reader";
SELECT is((SELECT count(*) FROM hitl.confusion), 0::bigint,
		  'hitl.confusion: nothing for a role that sees no model');
RESET ROLE;
GRANT SELECT ON blocks TO :"reader";
SET ROLE :"reader";
SELECT is((SELECT array_agg(DISTINCT model) FROM hitl.confusion), ARRAY['blocks'],
		  'hitl.confusion: the matrices of the models whose table the role reads');
RESET ROLE;
REVOKE SELECT ON blocks FROM :"reader";
DROP ROLE :"reader";

-- a dense model with groups (NULL: a group of its own) is cross-validated
SELECT hitl.alter_model('blocks', options => '{"cv_group_column": "grp"}') \gset
SELECT is(hitl.train('blocks'), 2, 'a new group column: a new version');
SELECT is((SELECT metrics->>'cv_group_column' FROM hitl.model_versions
		   WHERE model = 'blocks' AND version = 2), 'grp',
		  'the version names its group column');
SELECT cmp_ok(acc('blocks', 2), '>', 0.7::float8,
			  'groups of 9 ids, NULL for every tenth: cv_accuracy still above 0.7');

-- ----------------------------------------------------------------------
-- 40 clusters of 5 near-duplicates, words of their own, a label drawn per
-- cluster: held-out rows whose duplicates were learned look right (1.0);
-- with the cluster as group, the words are new to the model that predicts
-- them and the accuracy is the honest one, near chance.
-- ----------------------------------------------------------------------
CREATE TABLE dups (id int PRIMARY KEY, cluster int, body text, tags text[], doc jsonb,
				   label text);
INSERT INTO dups
SELECT g, c, format('w%s x%s y%s z%s', c, c, c, g), ARRAY['t'], '{}',
	   CASE WHEN ('x' || substr(md5(c::text), 1, 8))::bit(32)::int % 2 = 0 THEN 'a' ELSE 'b' END
FROM generate_series(1, 200) g, LATERAL (SELECT (g - 1) / 5 AS c) s;
SELECT hitl.create_model('dups', 'dups', 'label', '{body}', algorithm => 'naive_bayes') \gset
SELECT hitl.create_model('dups_grouped', 'dups', 'label', '{body}', algorithm => 'naive_bayes',
						 prediction_column => 'g_p', confidence_column => 'g_c',
						 uncertainty_column => 'g_u',
						 options => '{"cv_group_column": "cluster"}') \gset
SELECT hitl.create_model('dups_logistic', 'dups', 'label', '{body}',
						 prediction_column => 'l_p', confidence_column => 'l_c',
						 uncertainty_column => 'l_u',
						 options => '{"cv_group_column": "cluster"}') \gset

SELECT is(acc('dups'), 1::float8,
		  'near-duplicates without groups: every held-out row looks right');
SELECT cmp_ok(acc('dups_grouped'), '<', 0.7::float8,
			  'near-duplicates grouped by cluster: naive Bayes cv_accuracy below 0.7');
SELECT cmp_ok(acc('dups_logistic'), '<', 0.7::float8,
			  'near-duplicates grouped by cluster: text logistic cv_accuracy below 0.7');

-- ----------------------------------------------------------------------
-- An incremental naive Bayes version (what the worker makes) carries the
-- figures of the version it was computed on, and says which
-- ----------------------------------------------------------------------
UPDATE dups SET label = CASE label WHEN 'a' THEN 'b' ELSE 'a' END WHERE id = 1;
SELECT is(hitl.train('dups_grouped', incremental => true), 2,
		  'a label changed: incremental version 2');
SELECT results_eq($$SELECT metrics->>'incremental', (metrics->>'accuracy_from')::int,
						   metrics->'cv_accuracy' = (SELECT metrics->'cv_accuracy'
													 FROM hitl.model_versions
													 WHERE model = 'dups_grouped' AND version = 1),
						   metrics->>'cv_group_column'
					FROM hitl.model_versions WHERE model = 'dups_grouped' AND version = 2$$,
				  $$VALUES ('true', 1, true, 'cluster')$$,
				  'the incremental version has cv_accuracy, that of version 1 (accuracy_from 1)');
SELECT is((SELECT sum(rows) FROM hitl.confusion WHERE model = 'dups_grouped' AND version = 2),
		  200::numeric, 'hitl.confusion shows the incremental version''s matrix, from version 1');

-- ----------------------------------------------------------------------
-- A bad cv_group_column
-- ----------------------------------------------------------------------
CREATE TYPE grp AS (a int);
ALTER TABLE dups ADD COLUMN cgrp grp;
CREATE FUNCTION create_bad(options jsonb) RETURNS int LANGUAGE sql AS $$
	SELECT hitl.create_model('bad', 'dups', 'label', '{body}', prediction_column => 'b_p',
							 confidence_column => 'b_c', uncertainty_column => 'b_u',
							 options => options)
$$;
SELECT throws_ok(format('SELECT create_bad(%L)', options), state, message, description)
FROM (VALUES
	('{"cv_group_column": "nope"}'::jsonb, '42703',
	 'column "nope" of option "cv_group_column" does not exist in table public.dups',
	 'an unknown group column: 42703'),
	('{"cv_group_column": "tags"}', '42804', 'column "tags" of type text[] cannot group rows',
	 'an array group column: 42804'),
	('{"cv_group_column": "doc"}', '42804', 'column "doc" of type jsonb cannot group rows',
	 'a jsonb group column: 42804'),
	('{"cv_group_column": "cgrp"}', '42804', 'column "cgrp" of type public.grp cannot group rows',
	 'a group column of a type of one''s own (its casts would run as whoever trains): 42804'),
	('{"cv_group_column": 3}', '22023', 'option "cv_group_column" must be a column name',
	 'a group column that is not a string: 22023')
) AS bad(options, state, message, description);
SELECT throws_ok($$SELECT hitl.alter_model('dups', options => '{"cv_group_column": "label"}')$$,
				 '22023', 'option "cv_group_column" cannot be the label column "label"',
				 'alter_model: the label as group column: 22023');
SELECT throws_ok($$SELECT hitl.alter_model('dups', options => '{"cv_group_column": "nope"}')$$,
				 '42703', NULL, 'alter_model: an unknown group column: 42703');
SELECT hitl.alter_model('dups_grouped', options => '{"cv_group_column": null}') \gset
SELECT is((SELECT options ? 'cv_group_column' FROM hitl.models WHERE name = 'dups_grouped'),
		  false, 'a null cv_group_column removes the option');

SELECT * FROM finish();
