-- Numbers at the edges of double precision: extreme but finite values train
-- and predict correctly; values beyond double precision (a numeric above
-- 1.8e308 or below 4.9e-324, NaN, the infinities) are refused with 22000,
-- naming the column and the row, in training, scoring and predict.

-- a feature of +-1e308 separates the classes, and so do denormals and
-- values near DBL_MAX; beside them a constant 1e308 and a numeric of 1e308
CREATE TABLE huge (id int PRIMARY KEY, x float8, tiny float8, flat float8, near float8,
				   n numeric, label text);
INSERT INTO huge
SELECT g,
	   CASE WHEN g % 2 = 0 THEN 1e308 ELSE -1e308 END,
	   CASE WHEN g % 2 = 0 THEN 2e-310 ELSE -1e-310 END,
	   1e308,
	   CASE WHEN g % 2 = 0 THEN 1.7e308 ELSE 1.6e308 END,
	   CASE WHEN g % 5 = 0 THEN 1e308 ELSE g END,
	   CASE WHEN g <= 20 THEN (ARRAY['a', 'b'])[1 + g % 2] END
FROM generate_series(1, 30) g;

SELECT hitl.create_model('hx', 'huge', 'label', '{x}', prediction_column => 'hx_p',
						 confidence_column => 'hx_c', uncertainty_column => 'hx_u',
						 options => '{"cv_folds": 5}');
SELECT hitl.create_model('hall', 'huge', 'label', '{x,tiny,flat,near,n}',
						 prediction_column => 'hall_p', confidence_column => 'hall_c',
						 uncertainty_column => 'hall_u', options => '{"cv_folds": 5}');
SELECT hitl.create_model('hnear', 'huge', 'label', '{near}', prediction_column => 'hnear_p',
						 confidence_column => 'hnear_c', uncertainty_column => 'hnear_u',
						 options => '{"cv_folds": 0}');
SELECT hitl.create_model('htiny', 'huge', 'label', '{tiny}', prediction_column => 'htiny_p',
						 confidence_column => 'htiny_c', uncertainty_column => 'htiny_u',
						 options => '{"cv_folds": 0}');

-- every model trained on finite means, scales and coefficients, classifies
-- its training rows perfectly, and the first feature, which separates the
-- classes, has a weight
SELECT model, (metrics->>'train_accuracy')::float8 AS train_accuracy,
	   (metrics->>'cv_accuracy')::float8 AS cv_accuracy,
	   abs(coefficients[1]) > 0.5 AS first_feature_weighs,
	   (SELECT bool_and(v::text NOT IN ('NaN', 'Infinity', '-Infinity'))
		FROM unnest(feature_means || feature_scales || coefficients) v) AS all_finite
FROM hitl.model_versions WHERE model IN ('hx', 'hall', 'hnear', 'htiny') ORDER BY model;

-- standardization: +-1e308 has mean 0 and scale 1e308, denormals a denormal scale
SELECT feature_means[1] = 0 AS x_mean_0, abs(feature_scales[1] / 1e308 - 1) < 1e-14 AS x_scale_1e308,
	   abs(feature_means[4] / 1.65e308 - 1) < 1e-14 AS near_mean,
	   abs(feature_scales[4] / 0.05e308 - 1) < 1e-12 AS near_scale,
	   feature_scales[2] > 0 AND feature_scales[2] < 1e-308 AS tiny_scale_denormal,
	   feature_means[3] = 1e308 AND feature_scales[3] = 1 AS flat_constant
FROM hitl.model_versions WHERE model = 'hall';

-- the unlabeled rows are scored by the sign of x, with certainty
SELECT id, x > 0 AS positive, hx_p, hall_p, hnear_p, htiny_p, hx_c > 0.8 AS confident
FROM huge WHERE label IS NULL ORDER BY id;

-- predict agrees; a row far outside the training range gets probabilities
-- (its near, 67 standard deviations below the mean, outweighs its x)
SELECT hitl.predict('hx', h) AS p_plus, hitl.predict('hx', h2) AS p_minus,
	   (hitl.predict_proba('hx', h)->>'a')::float8 > 0.8 AS confident_a
FROM huge h, huge h2 WHERE h.id = 22 AND h2.id = 21;
INSERT INTO huge (id, x, tiny, flat, near, n) VALUES (100, 1.7e308, 1e-320, -1e308, -1.7e308, 1e300);
SELECT hitl.predict('hall', h) AS far_out, hitl.predict('hx', h) AS far_out_x,
	   (SELECT bool_and(value::float8 BETWEEN 0 AND 1) FROM jsonb_each_text(hitl.predict_proba('hall', h)))
		AS probabilities
FROM huge h WHERE id = 100;
DELETE FROM huge WHERE id = 100;

-- three classes on values near +-DBL_MAX
CREATE TABLE tri (id int PRIMARY KEY, x float8, label text);
INSERT INTO tri SELECT g, (ARRAY[-1.7e308, 0, 1.7e308])[1 + g % 3]::float8,
					   (ARRAY['low', 'mid', 'high'])[1 + g % 3]
FROM generate_series(1, 30) g;
SELECT hitl.create_model('tri', 'tri', 'label', '{x}', options => '{"cv_folds": 5}');
SELECT (metrics->>'train_accuracy')::float8 AS train_accuracy,
	   (metrics->>'cv_accuracy')::float8 AS cv_accuracy
FROM hitl.model_versions WHERE model = 'tri';
SELECT x, hitl.predict('tri', t) FROM tri t WHERE id <= 3 ORDER BY x;

-- text beside a numeric feature of +-1e308 (L-BFGS)
CREATE TABLE tx (id int PRIMARY KEY, body text, x float8, label text);
INSERT INTO tx SELECT g, 'word' || (g % 3), CASE WHEN g % 2 = 0 THEN 1e308 ELSE -1e308 END,
					  CASE WHEN g <= 20 THEN (ARRAY['a', 'b'])[1 + g % 2] END
FROM generate_series(1, 30) g;
SELECT hitl.create_model('tx', 'tx', 'label', '{body,x}', options => '{"cv_folds": 0}');
SELECT (metrics->>'train_accuracy')::float8 AS train_accuracy, abs(coefficients[1]) > 0.5 AS x_weighs
FROM hitl.model_versions WHERE model = 'tx';
SELECT count(*) FILTER (WHERE label_prediction = CASE WHEN x > 0 THEN 'a' ELSE 'b' END) AS right,
	   count(*) AS scored
FROM tx WHERE label IS NULL;

-- naive Bayes on counts of 1e306, whose products with log-probabilities overflow
CREATE TABLE nbh (id int PRIMARY KEY, body text, x float8, y float8, label text);
INSERT INTO nbh SELECT g, 'word' || (g % 3), CASE WHEN g % 2 = 0 THEN 1e306 ELSE 0 END,
					   CASE WHEN g % 2 = 1 THEN 1e306 ELSE 0 END,
					   CASE WHEN g <= 20 THEN (ARRAY['a', 'b'])[1 + g % 2] END
FROM generate_series(1, 30) g;
SELECT hitl.create_model('nbh', 'nbh', 'label', '{body,x,y}', algorithm => 'naive_bayes',
						 options => '{"cv_folds": 5}');
SELECT (metrics->>'train_accuracy')::float8 AS train_accuracy,
	   (metrics->>'cv_accuracy')::float8 AS cv_accuracy
FROM hitl.model_versions WHERE model = 'nbh';
SELECT count(*) FILTER (WHERE label_prediction = CASE WHEN x > 0 THEN 'a' ELSE 'b' END
						AND label_confidence BETWEEN 0.99 AND 1) AS right,
	   count(*) AS scored
FROM nbh WHERE label IS NULL;
SELECT hitl.predict_proba('nbh', n) FROM nbh n WHERE id = 21;

-- beyond double precision: 22000 naming the column and the row, no echo of the value
CREATE TABLE oor (id int PRIMARY KEY, n numeric, r real, ra real[], da float8[], label text);
INSERT INTO oor SELECT g, g, g, ARRAY[g, 1]::real[], ARRAY[1, g]::float8[],
					   CASE WHEN g <= 20 THEN (ARRAY['a', 'b'])[1 + g % 2] END
FROM generate_series(1, 30) g;
UPDATE oor SET n = 10::numeric ^ 400 WHERE id = 7;
SELECT * FROM err($$SELECT hitl.create_model('oor', 'oor', 'label', '{n,r,ra,da}')$$);
UPDATE oor SET n = -(10::numeric ^ 400) WHERE id = 7;
SELECT * FROM err($$SELECT hitl.create_model('oor', 'oor', 'label', '{n,r,ra,da}')$$);
UPDATE oor SET n = '1e-400' WHERE id = 7;
SELECT * FROM err($$SELECT hitl.create_model('oor', 'oor', 'label', '{n,r,ra,da}')$$);
SELECT count(*) AS models FROM hitl.models WHERE name = 'oor';
-- a denormal numeric is a number
UPDATE oor SET n = '1e-310' WHERE id = 7;
SELECT hitl.create_model('oor', 'oor', 'label', '{n,r,ra,da}', options => '{"cv_folds": 0}');

-- scoring and predict
UPDATE oor SET n = 10::numeric ^ 309 WHERE id = 25;
SELECT * FROM err($$SELECT hitl.score('oor')$$);
SELECT * FROM err($$SELECT hitl.predict('oor', o) FROM oor o WHERE id = 25$$);
SELECT * FROM err($$SELECT hitl.predict_proba('oor', o) FROM oor o WHERE id = 25$$);
UPDATE oor SET n = 'NaN' WHERE id = 25;
SELECT * FROM err($$SELECT hitl.score('oor')$$);
SELECT * FROM err($$SELECT hitl.predict('oor', o) FROM oor o WHERE id = 25$$);
UPDATE oor SET n = '-Infinity' WHERE id = 25;
SELECT * FROM err($$SELECT hitl.score('oor')$$);
UPDATE oor SET n = 25, r = 'Infinity' WHERE id = 25;
SELECT * FROM err($$SELECT hitl.score('oor')$$);
UPDATE oor SET r = 25 WHERE id = 25;
UPDATE oor SET ra = ARRAY[1, 'NaN']::real[] WHERE id = 26;
SELECT * FROM err($$SELECT hitl.score('oor')$$);
SELECT * FROM err($$SELECT hitl.predict('oor', o) FROM oor o WHERE id = 26$$);
UPDATE oor SET ra = ARRAY[26, 1]::real[] WHERE id = 26;
UPDATE oor SET da = ARRAY['-Infinity', 1]::float8[] WHERE id = 27;
SELECT * FROM err($$SELECT hitl.score('oor')$$);
UPDATE oor SET da = ARRAY[1, 27]::float8[] WHERE id = 27;
SELECT hitl.score('oor') >= 0 AS scored, count(label_prediction) AS predicted FROM oor;

-- in a labeled row, at the next training
UPDATE oor SET n = -(10::numeric ^ 500) WHERE id = 12;
SELECT * FROM err($$SELECT hitl.train('oor')$$);
UPDATE oor SET n = 12, da = ARRAY['NaN', 1]::float8[] WHERE id = 12;
SELECT * FROM err($$SELECT hitl.train('oor')$$);
UPDATE oor SET da = ARRAY[1, 12]::float8[] WHERE id = 12;
SELECT hitl.train('oor');

-- the first error on a table without labels blames the labels, not an
-- array column that has no value yet
CREATE TABLE emb (id int PRIMARY KEY, v real[], w float8, label text);
SELECT hitl.create_model('emb', 'emb', 'label', '{w,v}');
SELECT * FROM err($$SELECT hitl.train('emb')$$);
INSERT INTO emb SELECT g, NULL, g, NULL FROM generate_series(1, 12) g;
SELECT * FROM err($$SELECT hitl.train('emb')$$);
-- with labeled rows whose arrays are all NULL, the array column is to blame
UPDATE emb SET label = (ARRAY['a', 'b'])[1 + id % 2];
SELECT * FROM err($$SELECT hitl.train('emb')$$);
UPDATE emb SET v = ARRAY[id, 1] WHERE id > 6;
SELECT hitl.train('emb');

SELECT hitl.drop_model(m, drop_columns => true)
FROM unnest(ARRAY['hx', 'hall', 'hnear', 'htiny', 'tri', 'tx', 'nbh', 'oor', 'emb']) m;
DROP TABLE huge, tri, tx, nbh, oor, emb;
