-- The stopping signal: each new version's Cohen's kappa against the
-- predictions the table held (the previous version's) on the unlabeled
-- rows, its mean uncertainty there, the out-of-fold trend, and
-- hitl.models.stop_suggested from the kappas of the versions over the
-- last stop_window labels and option stop_kappa (hitl._stop_rule, on
-- hand-made histories too).
--
-- Like incremental_fallback.sql, this file runs outside a transaction
-- block: the incremental update of naive Bayes reads the label changes
-- committed since its version (the database is dropped after the file).
-- The models are disabled so that the worker leaves them alone.

SELECT plan(57);

CREATE EXTENSION hitl;

-- Cohen's kappa of the pairs (old, new) of temp table pairs (made below), in SQL
SET check_function_bodies = off;
CREATE FUNCTION sql_kappa() RETURNS float8 LANGUAGE sql AS $$
	WITH n AS (SELECT count(*)::float8 AS n FROM pairs),
	po AS (SELECT count(*) FILTER (WHERE old = new) / n.n AS po FROM pairs, n GROUP BY n.n),
	pe AS (SELECT sum(a.share * b.share) AS pe
		   FROM (SELECT old AS cls, count(*) / max(n.n) AS share FROM pairs, n GROUP BY old) a
		   JOIN (SELECT new AS cls, count(*) / max(n.n) AS share FROM pairs, n GROUP BY new) b
		   USING (cls))
	SELECT (po.po - coalesce(pe.pe, 0)) / (1 - coalesce(pe.pe, 0)) FROM po, pe
$$;
RESET check_function_bodies;

-- The stopping figures of a version
CREATE FUNCTION stop(model text, version int) RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_object_agg(e.key, e.value)
	FROM hitl.model_versions v, jsonb_each(v.metrics) e
	WHERE v.model = stop.model AND v.version = stop.version AND e.key LIKE 'stop\_%'
$$;

-- 1. A hand-computed kappa.  Rows at x < 0 are 'a', at x > 0 'b'.
CREATE TABLE hand (id int PRIMARY KEY, x float8, label text);
INSERT INTO hand SELECT g, g - 11, 'a' FROM generate_series(1, 10) g;
INSERT INTO hand SELECT g, g - 10, 'b' FROM generate_series(11, 20) g;
INSERT INTO hand VALUES (21, -5, NULL), (22, -4, NULL), (23, -3, NULL), (24, -2, NULL),
	(25, 2, NULL), (26, 3, NULL), (27, 4, NULL), (28, 5, NULL), (29, 6, NULL), (30, 7, NULL),
	(31, 8, NULL);
BEGIN;
SELECT is(hitl.create_model('hand', 'hand', 'label', '{x}',
							options => '{"cv_folds": 0, "score_tolerance": 0}'), 1,
		  'hand: version 1');
UPDATE hitl.models SET enabled = false WHERE name = 'hand';
COMMIT;
SELECT is(stop('hand', 1), '{"stop_kappa_rows": 0, "stop_sample_rows": 10000,
	"stop_kappa_version": null, "stop_kappa_previous": null, "stop_mean_uncertainty": null}',
		  'the first version: nothing to compare with, kappa and uncertainty null');
SELECT is(array_agg(label_prediction ORDER BY id), '{a,a,a,a,b,b,b,b,b,b,b}',
		  'version 1 predicts a left of 0, b right of it')
FROM hand WHERE id > 20;

-- the previous predictions, by hand: 7 of 10 agree with the new version's
-- (a a a a b b b b b b); old a 5, b 5; new a 4, b 6: p_o = 0.7,
-- p_e = 0.5 * 0.4 + 0.5 * 0.6 = 0.5, kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
-- Row 31 has no prediction: left out.
UPDATE hand SET label_prediction = CASE WHEN id IN (21, 22, 23, 29, 30) THEN 'a' ELSE 'b' END
WHERE id BETWEEN 21 AND 30;
UPDATE hand SET label_prediction = NULL WHERE id = 31;
INSERT INTO hand VALUES (32, -8, 'a');
SELECT is(hitl.train('hand'), 2, 'hand: version 2');
SELECT is((stop('hand', 2) ->> 'stop_kappa_previous')::float8, 0.4::float8,
		  'kappa against the hand-made predictions: 0.4');
SELECT is((stop('hand', 2) ->> 'stop_kappa_rows')::int, 10,
		  'the ten unlabeled rows with a prediction were compared, not the one without');
SELECT is((stop('hand', 2) ->> 'stop_kappa_version')::int, 1,
		  'the predictions the table held were version 1''s');
SELECT is(hitl.score('hand') > 0, true, 'version 2 scored');
SELECT ok(abs((stop('hand', 2) ->> 'stop_mean_uncertainty')::float8
			  - (SELECT avg(label_uncertainty) FROM hand WHERE id BETWEEN 21 AND 30)) < 1e-9,
		  'mean uncertainty: that of the uncertainties the scoring wrote on the rows compared');

-- a previous prediction of a class the version does not have never agrees:
-- rows 21 to 31 (the scoring gave 31 'b'): old a 4, b 6, c 1; new a 4,
-- b 7: p_o = 10/11, p_e = (4 * 4 + 6 * 7) / 121 = 58/121,
-- kappa = (110 - 58) / (121 - 58) = 52/63
UPDATE hand SET label_prediction = 'c' WHERE id = 30;
INSERT INTO hand VALUES (33, 9, 'b');
SELECT is(hitl.train('hand'), 3, 'hand: version 3');
SELECT ok(abs((stop('hand', 3) ->> 'stop_kappa_previous')::float8 - 52.0 / 63) < 1e-9,
		  'a previous class the version lacks counts as a disagreement');

-- 2. stop_suggested over a series of versions, one label apart: a window
-- of 3 labels (option stop_window) covers the last three versions
CREATE TABLE pts (id int PRIMARY KEY, x float8, label text);
INSERT INTO pts SELECT g, g - 50.5, CASE WHEN g % 5 = 0 THEN CASE WHEN g < 50 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 100) g;
BEGIN;
SELECT is(hitl.create_model('s', 'pts', 'label', '{x}',
							options => '{"cv_folds": 3, "stop_window": 3}'), 1,
		  's: version 1');
UPDATE hitl.models SET enabled = false WHERE name = 's';
COMMIT;
SELECT is(stop_suggested, NULL, 'one version: stop_suggested is NULL')
FROM hitl.models WHERE name = 's';

-- label a row far from the boundary, train, score: the predictions stay
CREATE FUNCTION step(key int, lab text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	v int;
BEGIN
	UPDATE pts SET label = lab WHERE id = key;
	v := hitl.train('s');
	PERFORM hitl.score('s');
	RETURN v;
END
$$;

SELECT is(step(1, 'a'), 2, 's: version 2');
SELECT is((stop('s', 2) ->> 'stop_kappa_previous')::float8, 1.0::float8,
		  'same predictions: kappa 1');
SELECT is((stop('s', 2) ->> 'stop_kappa_rows')::int, 79, 'the 79 unlabeled rows compared');
SELECT is(stop_suggested, NULL, 'two versions: stop_suggested is NULL')
FROM hitl.models WHERE name = 's';
SELECT is(step(2, 'a'), 3, 's: version 3');
SELECT is(stop_suggested, NULL, 'three versions, 2 labels since the first: still NULL')
FROM hitl.models WHERE name = 's';
SELECT is(step(99, 'b'), 4, 's: version 4');
SELECT is(stop_suggested, true, 'three kappas of 1 over the last 3 labels: stop_suggested')
FROM hitl.models WHERE name = 's';
SELECT is(stop_suggested, true, 'hitl.model_overview shows it')
FROM hitl.model_overview WHERE model = 's';
SELECT is(stop_window, 3, 'hitl.model_overview shows stop_window')
FROM hitl.model_overview WHERE model = 's';

-- option stop_window: the default window of 100 labels is not covered
-- yet (3 labels since the first version), whatever the kappas
SELECT hitl.alter_model('s', options => '{"stop_window": null}') \gset
SELECT is(stop_suggested, NULL, 'stop_window back to its default 100: not yet covered, NULL')
FROM hitl.models WHERE name = 's';
SELECT is(stop_window, 100, 'hitl.model_overview: stop_window 100 when absent')
FROM hitl.model_overview WHERE model = 's';
SELECT hitl.alter_model('s', options => '{"stop_window": 2}') \gset
SELECT is(stop_suggested, true, 'stop_window 2: the last two kappas, true')
FROM hitl.models WHERE name = 's';
SELECT hitl.alter_model('s', options => '{"stop_window": 3}') \gset
SELECT throws_ok($$SELECT hitl.alter_model('s', options => '{"stop_window": 0}')$$, '22023',
				 'invalid value 0 for option "stop_window"', 'stop_window 0 is refused');
SELECT throws_ok($$SELECT hitl.alter_model('s', options => '{"stop_window": 2.5}')$$, '22023',
				 'invalid value 2.5 for option "stop_window"', 'stop_window must be whole');

-- the rule on hand-made histories (labels and kappas, oldest first): a
-- version every 10 labels from 20, the first without a kappa
CREATE FUNCTION hist(kappas float8[]) RETURNS int[] LANGUAGE sql AS $$
	SELECT array_agg(20 + 10 * (i - 1) ORDER BY i)
	FROM generate_series(1, cardinality(kappas)) i
$$;
-- what the rule was before: the last three kappas each above 0.99
CREATE FUNCTION last_three(kappas float8[]) RETURNS boolean LANGUAGE sql AS $$
	SELECT bool_and(k > 0.99) AND count(k) = 3
	FROM unnest(kappas[cardinality(kappas) - 2:]) k
$$;
SELECT is(hitl._stop_rule(hist(k), k, '{}'), NULL,
		  '90 labels since the first version: the window of 100 is not covered, NULL')
FROM (SELECT '{NULL,1,1,1,1,1,1,1,1,1}'::float8[] AS k) h;
SELECT is(hitl._stop_rule(hist(k), k, '{}'), true,
		  '100 labels since the first version, every kappa above 0.99: true')
FROM (SELECT '{NULL,1,1,1,1,1,1,1,1,1,1}'::float8[] AS k) h;
-- the predictions moved 60 labels ago: the last three versions agree (the
-- rule of three stops here) but not every version of the last 100 labels
SELECT is(last_three(k), true, 'a history where the last three kappas are above 0.99')
FROM (SELECT '{NULL,0.9,0.95,0.999,0.999,0.999,0.999,0.98,0.999,0.999,0.999,0.999,0.999,0.999}'::float8[] AS k) h;
SELECT is(hitl._stop_rule(hist(k), k, '{}'), false,
		  'and a kappa of 0.98 60 labels before: false over the window of 100 labels')
FROM (SELECT '{NULL,0.9,0.95,0.999,0.999,0.999,0.999,0.98,0.999,0.999,0.999,0.999,0.999,0.999}'::float8[] AS k) h;
SELECT is(hitl._stop_rule(hist(k), k, '{"stop_window": 50}'), true,
		  'stop_window 50: the kappas after the 0.98 only, true')
FROM (SELECT '{NULL,0.9,0.95,0.999,0.999,0.999,0.999,0.98,0.999,0.999,0.999,0.999,0.999,0.999}'::float8[] AS k) h;
SELECT is(hitl._stop_rule(hist(k), k, '{"stop_window": 70}'), false,
		  'stop_window 70: the 0.98 is the window''s first kappa, false')
FROM (SELECT '{NULL,0.9,0.95,0.999,0.999,0.999,0.999,0.98,0.999,0.999,0.999,0.999,0.999,0.999}'::float8[] AS k) h;
SELECT is(hitl._stop_rule(hist(k), k, '{}'), true,
		  'four versions on, the 0.98 has left the window: true')
FROM (SELECT '{NULL,0.9,0.95,0.999,0.999,0.999,0.999,0.98,0.999,0.999,0.999,0.999,0.999,0.999,0.999,0.999,0.999,0.999}'::float8[] AS k) h;
SELECT is(hitl._stop_rule(hist(k), k, '{}'), false, 'a kappa of exactly 0.99 is not above it')
FROM (SELECT '{NULL,1,1,1,1,0.99,1,1,1,1,1}'::float8[] AS k) h;
SELECT is(hitl._stop_rule(hist(k), k, '{"stop_kappa": 0.98}'), true, 'stop_kappa 0.98: it is')
FROM (SELECT '{NULL,1,1,1,1,0.99,1,1,1,1,1}'::float8[] AS k) h;
SELECT is(hitl._stop_rule(hist(k), k, '{}'), NULL, 'a kappa missing in the window: NULL')
FROM (SELECT '{NULL,1,1,1,1,NULL,1,1,1,1,1}'::float8[] AS k) h;
SELECT is(hitl._stop_rule(hist(k), k, '{}'), false, 'a kappa missing and one below: false')
FROM (SELECT '{NULL,1,1,1,1,NULL,1,1,0.5,1,1}'::float8[] AS k) h;
-- versions one label apart (a worker training after each label): the
-- window counts labels, not versions
SELECT is(hitl._stop_rule(l, k, '{}'), r, d)
FROM (SELECT array_agg(20 + i ORDER BY i) AS l,
			 array_agg(CASE WHEN i > 0 THEN 0.999 END ORDER BY i)::float8[] AS k, n
	  FROM (VALUES (99), (100)) v(n), generate_series(0, n) i GROUP BY n) h,
	 LATERAL (VALUES (CASE WHEN n = 100 THEN true END,
					  format('versions one label apart, %s labels since the first: %s', n,
							 CASE WHEN n = 100 THEN 'true' ELSE 'NULL' END))) e(r, d)
ORDER BY n;

-- the out-of-fold trend: cv_accuracy minus that of the version before
SELECT is((SELECT (stop('s', 4) ->> 'stop_cv_accuracy_change')::numeric
		   = round((a.metrics ->> 'cv_accuracy')::numeric - (b.metrics ->> 'cv_accuracy')::numeric, 10)
			 AND (stop('s', 4) ->> 'stop_cv_base')::int = 3
		   FROM hitl.model_versions a, hitl.model_versions b
		   WHERE a.model = 's' AND a.version = 4 AND b.model = 's' AND b.version = 3), true,
		  'stop_cv_accuracy_change: version 4''s cv_accuracy minus version 3''s');

-- option stop_kappa: a kappa of 1 is not above 1
SELECT hitl.alter_model('s', options => '{"stop_kappa": 1}') \gset
SELECT is(stop_suggested, false, 'stop_kappa 1: no kappa is above it')
FROM hitl.models WHERE name = 's';
SELECT hitl.alter_model('s', options => '{"stop_kappa": null}') \gset
SELECT is(stop_suggested, true, 'stop_kappa back to its default 0.99')
FROM hitl.models WHERE name = 's';

-- the predictions move: rows right of the boundary labeled 'a'
UPDATE pts SET label = 'a' WHERE id IN (51, 52, 53, 54, 56, 57, 58, 59);
SELECT is(hitl.train('s'), 5, 's: version 5');
SELECT ok((stop('s', 5) ->> 'stop_kappa_previous')::float8 < 0.99,
		  'the boundary moved: kappa below 0.99');
SELECT is(stop_suggested, false, 'the predictions moved: stop_suggested is false')
FROM hitl.models WHERE name = 's';
SELECT hitl.alter_model('s', options => jsonb_build_object('stop_kappa',
	(stop('s', 5) ->> 'stop_kappa_previous')::float8 - 0.001)) \gset
SELECT is(stop_suggested, true, 'stop_kappa just below the last kappa: true again')
FROM hitl.models WHERE name = 's';

-- 3. The incremental update of naive Bayes records the signal too
CREATE TABLE docs (id int PRIMARY KEY, body text, label text);
INSERT INTO docs
SELECT g, format('%s %s the %s', w[1 + t * 8 + g % 8], w[1 + t * 8 + (g * 3) % 8],
				 w[1 + t * 8 + (g * 5) % 8]),
	   CASE WHEN g <= 30 THEN (ARRAY['sport', 'cooking', 'computing'])[1 + t] END
FROM generate_series(1, 45) g, LATERAL (SELECT g % 3 AS t) s,
	 (SELECT ARRAY['goal', 'match', 'team', 'score', 'league', 'coach', 'player', 'stadium',
				   'recipe', 'bake', 'flour', 'spicy', 'oven', 'sauce', 'garlic', 'butter',
				   'kernel', 'compile', 'server', 'cpu', 'database', 'query', 'network',
				   'debug'] AS w) words;
-- row 40 mixes two topics: its prediction depends on the labels
UPDATE docs SET body = 'goal match recipe bake' WHERE id = 40;
BEGIN;
SELECT is(hitl.create_model('nb', 'docs', 'label', '{body}', algorithm => 'naive_bayes',
							options => '{"cv_folds": 0, "score_tolerance": 0}'), 1,
		  'nb: version 1');
UPDATE hitl.models SET enabled = false WHERE name = 'nb';
COMMIT;
-- hand-made previous predictions: all 'sport', so that the kappa is not 1
UPDATE docs SET label_prediction = 'sport' WHERE label IS NULL AND id <> 45;
UPDATE docs SET label_prediction = NULL WHERE id = 45;
CREATE TEMP TABLE before AS SELECT id, label_prediction AS old FROM docs
WHERE label IS NULL AND id <> 31 AND label_prediction IS NOT NULL;
UPDATE docs SET label = 'sport' WHERE id = 31;
SELECT hitl.train('nb', incremental => true) AS nb_version \gset
SELECT is((SELECT format('%s %s', v.version, v.metrics ->> 'incremental')
		   FROM hitl.model_versions v WHERE v.model = 'nb' AND v.version = :nb_version),
		  '2 true', 'nb: version 2, an incremental update');
SELECT is(hitl.score('nb') > 0, true, 'nb: version 2 scored');
CREATE TEMP TABLE pairs AS
SELECT b.old, d.label_prediction AS new FROM before b JOIN docs d USING (id);
SELECT is((stop('nb', 2) ->> 'stop_kappa_rows')::int, (SELECT count(*)::int FROM pairs),
		  'incremental: the unlabeled rows with a prediction compared');
SELECT ok(abs((stop('nb', 2) ->> 'stop_kappa_previous')::float8 - sql_kappa()) < 1e-9,
		  'incremental: the kappa of the previous predictions and those the scoring wrote');

-- 4. A table of more unlabeled rows than the sample takes: those of a
-- share of its pages, at most 10000
CREATE TABLE big (id int PRIMARY KEY, x float8, label text);
INSERT INTO big SELECT g, (g * 7919 % 30011) - 15005.5,
	CASE WHEN g % 500 = 0 THEN CASE WHEN (g * 7919 % 30011) < 15005 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 30000) g;
ANALYZE big;
BEGIN;
SELECT is(hitl.create_model('big', 'big', 'label', '{x}', options => '{"cv_folds": 0}'), 1,
		  'big: version 1');
UPDATE hitl.models SET enabled = false WHERE name = 'big';
COMMIT;
UPDATE big SET label = 'a' WHERE id = 1;
SELECT is(hitl.train('big'), 2, 'big: version 2');
SELECT is((stop('big', 2) ->> 'stop_kappa_rows')::int, 10000,
		  '10000 of the 29,939 unlabeled rows compared');
SELECT ok((stop('big', 2) ->> 'stop_kappa_previous')::float8 BETWEEN 0.95 AND 1,
		  'one more label far from the boundary: a kappa near 1 on them');

SELECT * FROM finish();
