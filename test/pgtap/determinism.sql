-- Determinism: the same data gives the same model whatever the physical row
-- order; warm starts land where cold starts do; NULL features are imputed.

BEGIN;
SELECT plan(32);

CREATE EXTENSION hitl;

-- 300 rows, three classes, a few NULL features among labeled and unlabeled rows
CREATE TABLE d1 (id int PRIMARY KEY, a float8, b integer, n numeric, lab text);
INSERT INTO d1
SELECT i,
	   CASE WHEN i % 23 = 0 THEN NULL ELSE round((sin(i) * 10)::numeric, 3)::float8 END,
	   (i * 13) % 29,
	   CASE WHEN i % 31 = 0 THEN NULL ELSE (i % 11) / 4.0 END,
	   CASE WHEN i % 3 <> 0 THEN
		   CASE WHEN sin(i) * 10 + (i * 13) % 29 > 14 THEN 'p' WHEN sin(i) > 0.3 THEN 'q' ELSE 'r' END
	   END
FROM generate_series(1, 300) i;
-- the same rows, stored in the opposite order
CREATE TABLE d2 (LIKE d1 INCLUDING ALL);
INSERT INTO d2 SELECT * FROM d1 ORDER BY id DESC;
SELECT isnt((SELECT ctid FROM d1 WHERE id = 1), (SELECT ctid FROM d2 WHERE id = 1),
			'the two tables store the rows in different places');

-- evaluation_rate 0: the evaluation rows are drawn with a seed of the
-- model's name (test/pgtap/evaluation.sql), and these queues are compared
-- for their order by uncertainty
SELECT is(hitl.create_model('dm1', 'd1', 'lab', ARRAY['a', 'b', 'n'],
							options => '{"evaluation_rate": 0}'), 1, 'model on d1');
SELECT is(hitl.create_model('dm2', 'd2', 'lab', ARRAY['a', 'b', 'n'],
							options => '{"evaluation_rate": 0}'), 1, 'model on d2');
SELECT is(hitl.create_model('dm1b', 'd1', 'lab', ARRAY['a', 'b', 'n'], prediction_column => 'p_b',
							confidence_column => 'c_b', uncertainty_column => 'u_b'),
		  1, 'second model on d1 with other output columns');

CREATE TEMP VIEW v AS SELECT * FROM hitl.model_versions;
SELECT is((SELECT coefficients FROM v WHERE model = 'dm1'), (SELECT coefficients FROM v WHERE model = 'dm2'),
		  'same data in another physical order: exactly the same coefficients');
SELECT is((SELECT coefficients FROM v WHERE model = 'dm1'), (SELECT coefficients FROM v WHERE model = 'dm1b'),
		  'second model of the same table: exactly the same coefficients');
SELECT results_eq(
	$$SELECT classes, feature_means, feature_scales, n_labeled, metrics FROM v WHERE model = 'dm1'$$,
	$$SELECT classes, feature_means, feature_scales, n_labeled, metrics FROM v WHERE model = 'dm2'$$,
	'and the same classes, scaling and metrics (cross-validation folds included)');
SELECT is((SELECT count(*) FROM d1 JOIN d2 USING (id)
		   WHERE d1.lab_prediction IS DISTINCT FROM d2.lab_prediction
			  OR d1.lab_confidence IS DISTINCT FROM d2.lab_confidence
			  OR d1.lab_uncertainty IS DISTINCT FROM d2.lab_uncertainty), 0::bigint,
		  'the two tables got exactly the same scores');
SELECT is((SELECT count(*) FROM d1 WHERE lab_prediction IS DISTINCT FROM p_b
		   OR lab_confidence IS DISTINCT FROM c_b OR lab_uncertainty IS DISTINCT FROM u_b), 0::bigint,
		  'the two models of d1 wrote exactly the same scores');
SELECT is((SELECT array_agg(row_key->>'id' ORDER BY rank) FROM hitl.queue WHERE model = 'dm1'),
		  (SELECT array_agg(row_key->>'id' ORDER BY rank) FROM hitl.queue WHERE model = 'dm2'),
		  'and the same review queue, in the same order');

-- the scaler: mean and population standard deviation of the labeled values
SELECT ok((SELECT abs(feature_means[1] - (SELECT avg(a) FROM d1 WHERE lab IS NOT NULL)) < 1e-12
			  AND abs(feature_means[3] - (SELECT avg(n)::float8 FROM d1 WHERE lab IS NOT NULL)) < 1e-12
		   FROM v WHERE model = 'dm1'),
		  'feature means are the means of the labeled rows'' present values');
SELECT ok((SELECT abs(feature_scales[1] - (SELECT stddev_pop(a) FROM d1 WHERE lab IS NOT NULL)) < 1e-12
			  AND abs(feature_scales[2] - (SELECT stddev_pop(b)::float8 FROM d1 WHERE lab IS NOT NULL)) < 1e-12
		   FROM v WHERE model = 'dm1'),
		  'feature scales are their population standard deviations');

-- retraining on unchanged data records nothing: the current version stands
SELECT is(hitl.train('dm1'), 1, 'retrain without any change: version 1, no new version');
-- a tighter tolerance: a warm start that stays where it was
SELECT hitl.alter_model('dm1', options => '{"tol": 1e-9}');
SELECT is(hitl.train('dm1'), 2, 'retrain with a tighter tol: version 2');
SELECT hitl.alter_model('dm1', options => '{"tol": 1e-10}');
SELECT is(hitl.train('dm1'), 3, 'and tighter again: version 3');
SELECT is((SELECT metrics->>'warm_start' FROM v WHERE model = 'dm1' AND version = 1), 'false',
		  'version 1 was a cold start');
SELECT is((SELECT array_agg(metrics->>'warm_start' ORDER BY version) FROM v
		   WHERE model = 'dm1' AND version > 1), ARRAY['true', 'true'],
		  'versions 2 and 3 were warm starts');
SELECT is((SELECT max(abs(c1 - c2)) <= 1e-9
		   FROM unnest((SELECT coefficients FROM v WHERE model = 'dm1' AND version = 1),
					   (SELECT coefficients FROM v WHERE model = 'dm1' AND version = 2)) AS u(c1, c2)),
		  true, 'version 2 coefficients = version 1 within 1e-9');
SELECT is((SELECT max(abs(c1 - c2)) <= 1e-9
		   FROM unnest((SELECT coefficients FROM v WHERE model = 'dm1' AND version = 1),
					   (SELECT coefficients FROM v WHERE model = 'dm1' AND version = 3)) AS u(c1, c2)),
		  true, 'version 3 coefficients = version 1 within 1e-9');
SELECT is((SELECT cardinality(coefficients) FROM v WHERE model = 'dm1' AND version = 3),
		  (SELECT cardinality(coefficients) FROM v WHERE model = 'dm1' AND version = 1),
		  'same number of coefficients');
SELECT is(hitl.score('dm1'), 0::bigint, 'rescoring with an unchanged model writes no row');
SELECT is((SELECT scored_version FROM hitl.models WHERE name = 'dm1'), 3, 'but records the version scored');

-- after new labels, a warm start lands where a cold start does
UPDATE d1 SET lab = CASE WHEN b > 14 THEN 'p' ELSE 'r' END WHERE id % 3 = 0 AND id <= 150;
UPDATE d2 SET lab = CASE WHEN b > 14 THEN 'p' ELSE 'r' END WHERE id % 3 = 0 AND id <= 150;
SELECT is(hitl.train('dm1'), 4, 'retrain on new labels: version 4');
SELECT is((SELECT metrics->>'warm_start' FROM v WHERE model = 'dm1' AND version = 4), 'true',
		  'warm-started from version 3');
SELECT lives_ok($$SELECT hitl.drop_model('dm2')$$, 'drop the model of d2');
SELECT is(hitl.create_model('dm2', 'd2', 'lab', ARRAY['a', 'b', 'n']), 1, 'recreate it: a cold start');
SELECT is((SELECT max(abs(c1 - c2)) <= 1e-6
		   FROM unnest((SELECT coefficients FROM v WHERE model = 'dm1' AND version = 4),
					   (SELECT coefficients FROM v WHERE model = 'dm2' AND version = 1)) AS u(c1, c2)),
		  true, 'warm and cold start give the same coefficients (within 1e-6)');

-- NULL features are imputed with the training mean, never NaN
SELECT is(hitl.score('dm1') > 0, true, 'rescore d1');
SELECT is((SELECT count(*) FROM d1 WHERE lab_prediction IS NULL
		   OR lab_confidence = 'NaN'::float8 OR lab_uncertainty = 'NaN'::float8
		   OR lab_confidence IS NULL OR lab_uncertainty IS NULL), 0::bigint,
		  'every row, those with NULL features included, has real scores');
SELECT is((SELECT count(*) FROM v, unnest(coefficients || feature_means || feature_scales) c
		   WHERE c = 'NaN'::float8 OR c IN ('Infinity', '-Infinity')), 0::bigint,
		  'no NaN or infinity in any version');
CREATE TEMP TABLE imputed AS
	SELECT t.id, hitl.predict_proba('dm1', t) AS with_null,
		   hitl.predict_proba('dm1', ROW(t.id, coalesce(t.a, m.means[1]), t.b, coalesce(t.n, m.means[3]::numeric),
				t.lab, t.lab_prediction, t.lab_confidence, t.lab_uncertainty, t.p_b, t.c_b, t.u_b)::d1) AS with_mean
	FROM d1 t, (SELECT feature_means AS means FROM v WHERE model = 'dm1' AND version = 4) m
	WHERE t.a IS NULL OR t.n IS NULL;
SELECT is((SELECT count(*) FROM imputed), 22::bigint, '22 rows have a NULL feature');
SELECT is((SELECT count(*) FROM imputed i, jsonb_each_text(i.with_null) e
		   WHERE abs(e.value::float8 - (i.with_mean->>e.key)::float8) > 1e-12), 0::bigint,
		  'a NULL feature scores like the training mean in its place');

SELECT * FROM finish();
ROLLBACK;
