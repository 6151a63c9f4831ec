-- Calibrated confidence: each cross-validated training chooses a
-- temperature on the out-of-fold probabilities of the labeled rows (kept
-- only when, cross-fitted, it lowers both the log loss and the ECE) and
-- records it in the version's metrics with ece, ece_uncalibrated, brier and
-- the reliability bins; scoring, hitl.predict_proba and hitl.explain's
-- log-odds use it; an incremental naive Bayes version keeps its base's.
--
-- Like cv_folds.sql, this file runs outside a transaction block: an
-- incremental update reads the label changes committed since its version.

SELECT plan(33);

CREATE EXTENSION hitl;

-- the temperature of a model's current version (1 without calibration)
CREATE FUNCTION temp_of(model text) RETURNS float8 LANGUAGE sql AS $$
	SELECT coalesce((v.metrics->'calibration'->>'temperature')::float8, 1)
	FROM hitl.model_versions v JOIN hitl.models m ON m.name = v.model
	WHERE v.model = temp_of.model AND v.version = m.current_version
$$;

-- ----------------------------------------------------------------------
-- Digits, 10 classes, one row in 20 labeled, strongly regularised (C 0.01):
-- a model far less sure of itself than it is right.
-- ----------------------------------------------------------------------
CREATE TABLE digits_raw (p0 int, p1 int, p2 int, p3 int, p4 int, p5 int, p6 int, p7 int,
	p8 int, p9 int, p10 int, p11 int, p12 int, p13 int, p14 int, p15 int, p16 int, p17 int,
	p18 int, p19 int, p20 int, p21 int, p22 int, p23 int, p24 int, p25 int, p26 int, p27 int,
	p28 int, p29 int, p30 int, p31 int, p32 int, p33 int, p34 int, p35 int, p36 int, p37 int,
	p38 int, p39 int, p40 int, p41 int, p42 int, p43 int, p44 int, p45 int, p46 int, p47 int,
	p48 int, p49 int, p50 int, p51 int, p52 int, p53 int, p54 int, p55 int, p56 int, p57 int,
	p58 int, p59 int, p60 int, p61 int, p62 int, p63 int, digit int,
	id int GENERATED ALWAYS AS IDENTITY);
\copy digits_raw (p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13, p14, p15, p16, p17, p18, p19, p20, p21, p22, p23, p24, p25, p26, p27, p28, p29, p30, p31, p32, p33, p34, p35, p36, p37, p38, p39, p40, p41, p42, p43, p44, p45, p46, p47, p48, p49, p50, p51, p52, p53, p54, p55, p56, p57, p58, p59, p60, p61, p62, p63, digit) FROM 'test/data/digits.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE digits (id int PRIMARY KEY, px float8[], truth text, label text);
INSERT INTO digits
SELECT id, ARRAY[p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13, p14, p15, p16,
				 p17, p18, p19, p20, p21, p22, p23, p24, p25, p26, p27, p28, p29, p30, p31, p32,
				 p33, p34, p35, p36, p37, p38, p39, p40, p41, p42, p43, p44, p45, p46, p47, p48,
				 p49, p50, p51, p52, p53, p54, p55, p56, p57, p58, p59, p60, p61, p62, p63]::float8[],
	   digit::text, CASE WHEN id % 20 = 0 THEN digit::text END
FROM digits_raw;
SELECT is(hitl.create_model('dg', 'digits', 'label', '{px}', options => '{"C": 0.01}'), 1,
		  'a 10-class model on 89 labeled digits');

SELECT results_eq($$SELECT metrics->'calibration'->>'method',
						   (metrics->'calibration'->>'temperature')::float8 < 1,
						   (metrics->>'ece')::float8 < (metrics->>'ece_uncalibrated')::float8,
						   (metrics->>'cv_log_loss')::float8
							 < (metrics->>'cv_log_loss_uncalibrated')::float8
					FROM hitl.model_versions WHERE model = 'dg'$$,
				  $$VALUES ('temperature', true, true, true)$$,
				  'underconfident: a temperature below 1, lower ECE and lower log loss');
SELECT cmp_ok((SELECT (metrics->'calibration'->>'ece_cross_fitted')::float8
				 / (metrics->>'ece_uncalibrated')::float8 FROM hitl.model_versions WHERE model = 'dg'),
			  '<', 0.5::float8, 'the cross-fitted ECE it was chosen on is less than half the uncalibrated');

-- the metrics' keys and their types
SELECT results_eq($$SELECT jsonb_typeof(metrics->'ece'), jsonb_typeof(metrics->'ece_uncalibrated'),
						   jsonb_typeof(metrics->'brier'), jsonb_typeof(metrics->'cv_log_loss_uncalibrated'),
						   jsonb_typeof(metrics->'calibration'),
						   jsonb_typeof(metrics->'calibration'->'method'),
						   jsonb_typeof(metrics->'calibration'->'temperature'),
						   jsonb_typeof(metrics->'reliability'), jsonb_array_length(metrics->'reliability')
					FROM hitl.model_versions WHERE model = 'dg'$$,
				  $$VALUES ('number', 'number', 'number', 'number', 'object', 'string', 'number',
							'array', 15)$$,
				  'ece, ece_uncalibrated, brier, cv_log_loss_uncalibrated numbers, calibration an object, 15 reliability bins');
SELECT is((SELECT count(*) FROM hitl.model_versions v, jsonb_array_elements(v.metrics->'reliability') b
		   WHERE v.model = 'dg'
			 AND (jsonb_typeof(b->'rows') <> 'number' OR jsonb_typeof(b->'confidence') <> 'number'
				  OR jsonb_typeof(b->'accuracy') <> 'number'
				  OR NOT (b->>'accuracy')::float8 BETWEEN 0 AND 1
				  OR NOT (b->>'confidence')::float8 BETWEEN 0 AND 1)),
		  0::bigint, 'each bin has rows, confidence and accuracy, numbers within [0, 1]');
SELECT is((SELECT sum((b->>'rows')::int) FROM hitl.model_versions v,
			 jsonb_array_elements(v.metrics->'reliability') b WHERE v.model = 'dg'),
		  89::bigint, 'the bins hold every labeled row once');
SELECT is((SELECT count(*) FROM hitl.model_versions v,
			 jsonb_array_elements(v.metrics->'reliability') WITH ORDINALITY b(bin, i)
		   WHERE v.model = 'dg' AND (b.bin->>'rows')::int > 0
			 AND NOT (b.bin->>'confidence')::float8 BETWEEN (i - 1) / 15.0 AND i / 15.0),
		  0::bigint, 'bin i holds confidences within [(i - 1) / 15, i / 15]');
SELECT cmp_ok((SELECT abs(sum((b->>'rows')::float8 / 89
							  * abs((b->>'accuracy')::float8 - (b->>'confidence')::float8))
						  - (v.metrics->>'ece')::float8)
			   FROM hitl.model_versions v, jsonb_array_elements(v.metrics->'reliability') b
			   WHERE v.model = 'dg' GROUP BY v.metrics),
			  '<', 1e-8::float8, 'ece is the rows-weighted gap of the reliability bins');
SELECT cmp_ok((SELECT abs((metrics->>'cv_accuracy')::float8
						  - (SELECT sum((b->>'rows')::float8 * (b->>'accuracy')::float8) / 89
							 FROM jsonb_array_elements(v.metrics->'reliability') b))
			   FROM hitl.model_versions v WHERE v.model = 'dg'),
			  '<', 1e-9::float8,
			  'the bins'' accuracy adds up to cv_accuracy (the predicted classes do not change)');

-- scoring and predict_proba are calibrated, and agree
CREATE TEMP TABLE dp AS
	SELECT d.id, d.truth, d.label, d.label_prediction, d.label_confidence,
		   hitl.predict('dg', d) AS pred, hitl.predict_proba('dg', d) AS proba
	FROM digits d;
SELECT is((SELECT count(*) FROM dp
		   WHERE abs(label_confidence - (SELECT max(value::float8) FROM jsonb_each_text(proba))) > 1e-12
			  OR label_prediction IS DISTINCT FROM pred),
		  0::bigint, 'the confidence column is the largest calibrated predict_proba, on every row');
SELECT is((SELECT count(*) FROM dp
		   WHERE abs((SELECT sum(value::float8) FROM jsonb_each_text(proba)) - 1) > 1e-9),
		  0::bigint, 'calibrated probabilities still sum to 1');
-- held out: the 1708 unlabeled rows, 15 bins of their confidence, against
-- the same fit uncalibrated (cv_folds 0)
SELECT is(hitl.create_model('dg0', 'digits', 'label', '{px}', prediction_column => 'p0',
							confidence_column => 'c0', uncertainty_column => 'u0',
							options => '{"C": 0.01, "cv_folds": 0}'), 1,
		  'the same model without cross-validation: uncalibrated');
CREATE FUNCTION held_ece(calibrated boolean) RETURNS float8 LANGUAGE sql AS $$
	SELECT sum(abs(s.acc - s.conf) * s.n) / 1708
	FROM (SELECT count(*) AS n, avg((d.label_prediction = d.truth)::int) AS acc, avg(c.conf) AS conf
		  FROM digits d, LATERAL (SELECT CASE WHEN calibrated THEN d.label_confidence ELSE d.c0 END) c(conf)
		  WHERE d.label IS NULL GROUP BY least(floor(c.conf * 15), 14)) s
$$;
SELECT is((SELECT count(*) FROM digits WHERE p0 IS DISTINCT FROM label_prediction), 0::bigint,
		  'calibration changes no prediction');
SELECT cmp_ok(held_ece(true), '<', 0.5 * held_ece(false),
			  'held-out rows: the ECE of the confidence column is less than half the uncalibrated');

-- explain's identity holds on the uncalibrated log-odds: divided by T, the
-- calibrated ones of predict_proba
CREATE TEMP TABLE dpr AS
	SELECT id, pred, proba,
		   (SELECT key FROM jsonb_each_text(proba) WHERE key <> pred
			ORDER BY value::float8 DESC, key LIMIT 1) AS ru
	FROM dp WHERE id % 10 = 1;
CREATE TEMP TABLE de AS
	SELECT d.id, sum(e.contribution - e.runner_up_contribution) AS gap
	FROM digits d, hitl.explain('dg', d, 64) e WHERE d.id % 10 = 1 GROUP BY d.id;
CREATE TEMP TABLE dv AS
	SELECT classes, coefficients AS c, cardinality(feature_names) AS d
	FROM hitl.model_versions WHERE model = 'dg';
SELECT cmp_ok((SELECT max(abs((de.gap + dv.c[(array_position(dv.classes, dpr.pred) - 1) * (dv.d + 1) + dv.d + 1]
								- dv.c[(array_position(dv.classes, dpr.ru) - 1) * (dv.d + 1) + dv.d + 1])
							   / temp_of('dg')
							   - ln((dpr.proba->>dpr.pred)::float8 / (dpr.proba->>dpr.ru)::float8)))
			   FROM dpr JOIN de USING (id), dv),
			  '<', 1e-9::float8,
			  'explain: (contributions - runner-up + intercept difference) / T = calibrated log-odds, within 1e-9');

-- ----------------------------------------------------------------------
-- Two classes drawn from a logistic model in x: the fit is calibrated
-- already, and a temperature does not help out of fold.
-- ----------------------------------------------------------------------
CREATE TABLE coin (id int PRIMARY KEY, x float8, label text);
INSERT INTO coin
SELECT g, x, CASE WHEN g <= 300 THEN CASE WHEN u < 1 / (1 + exp(-2 * x)) THEN 'heads' ELSE 'tails' END END
FROM generate_series(1, 400) g,
	 LATERAL (SELECT ('x' || substr(md5('x' || g), 1, 8))::bit(32)::int::float8 / 2147483648.0 * 2 AS x,
					 abs(('x' || substr(md5('u' || g), 1, 8))::bit(32)::int::float8 / 2147483648.0) AS u) s;
SELECT is(hitl.create_model('coin', 'coin', 'label', '{x}'), 1, 'a two-class model');
SELECT results_eq($$SELECT metrics->'calibration'->>'method', (metrics->'calibration'->>'temperature')::float8,
						   metrics->'ece' = metrics->'ece_uncalibrated',
						   metrics->'cv_log_loss' = metrics->'cv_log_loss_uncalibrated'
					FROM hitl.model_versions WHERE model = 'coin'$$,
				  $$VALUES ('none', 1::float8, true, true)$$,
				  'scaling would not help: method none, temperature 1, figures unchanged');
SELECT is((SELECT sum((b->>'rows')::int) FROM hitl.model_versions v,
			 jsonb_array_elements(v.metrics->'reliability') b WHERE v.model = 'coin'),
		  300::bigint, 'its bins hold the 300 labeled rows');

-- a stored temperature that is not a number within [0.02, 50]: XX001
CREATE TEMP TABLE coin_metrics AS SELECT metrics FROM hitl.model_versions WHERE model = 'coin';
SELECT throws_ok(format($$UPDATE hitl.model_versions SET metrics = jsonb_set(metrics, '{calibration,temperature}', %L)
						  WHERE model = 'coin'; SELECT hitl.score('coin')$$, bad),
				 'XX001', 'version 1 of model "coin" has invalid calibration temperature',
				 'a temperature ' || bad || ': XX001')
FROM unnest(ARRAY['"2"', '0', '-1', '1000', 'null', '[1]']) bad;
UPDATE hitl.model_versions SET metrics = (SELECT metrics FROM coin_metrics) WHERE model = 'coin';

-- without cross-validation, no calibration: T 1
SELECT is(hitl.create_model('coin0', 'coin', 'label', '{x}', prediction_column => 'p0',
							confidence_column => 'c0', uncertainty_column => 'u0',
							options => '{"cv_folds": 0}'), 1, 'a model without cross-validation');
SELECT is((SELECT metrics ?| ARRAY['calibration', 'ece', 'reliability']
		   FROM hitl.model_versions WHERE model = 'coin0'),
		  false, 'cv_folds 0: no calibration in the metrics');
SELECT is((SELECT count(*) FROM coin c
		   WHERE c.c0 IS DISTINCT FROM c.label_confidence),
		  0::bigint, 'and the same confidences as the uncalibrated model with cv_folds 5');

-- ----------------------------------------------------------------------
-- Naive Bayes on digits (overconfident), then an incremental version
-- ----------------------------------------------------------------------
SELECT is(hitl.create_model('nb', 'digits', 'label', '{px}', algorithm => 'naive_bayes',
							prediction_column => 'nb_p', confidence_column => 'nb_c',
							uncertainty_column => 'nb_u', options => '{"score_tolerance": 0}'), 1,
		  'a naive Bayes model on the digits');
SELECT results_eq($$SELECT metrics->'calibration'->>'method', (metrics->'calibration'->>'temperature')::float8 > 1
					FROM hitl.model_versions WHERE model = 'nb'$$,
				  $$VALUES ('temperature', true)$$,
				  'naive Bayes, overconfident: a temperature above 1');
UPDATE digits SET label = truth WHERE id IN (7, 11, 13);
SELECT is(hitl.train('nb', incremental => true), 2, 'three new labels: incremental version 2');
SELECT results_eq($$SELECT v2.metrics->>'incremental', v2.metrics->'calibration' = v1.metrics->'calibration',
						   v2.metrics->'ece' = v1.metrics->'ece',
						   v2.metrics->'reliability' = v1.metrics->'reliability'
					FROM hitl.model_versions v1, hitl.model_versions v2
					WHERE v1.model = 'nb' AND v1.version = 1 AND v2.model = 'nb' AND v2.version = 2$$,
				  $$VALUES ('true', true, true, true)$$,
				  'the incremental version carries its base''s calibration and its figures');
SELECT cmp_ok(hitl.score('nb'), '>', 0::bigint, 'version 2 scores the table');
SELECT is((SELECT count(*) FROM digits d
		   WHERE abs(d.nb_c - (SELECT max(value::float8)
							   FROM jsonb_each_text(hitl.predict_proba('nb', d)))) > 1e-12),
		  0::bigint, 'and its confidences are calibrated with the base''s temperature');

SELECT * FROM finish();
