-- Numbers at the edges of double precision.  Extreme but finite values
-- (+-1e308, values near DBL_MAX, denormals) train, score and predict
-- correctly; values beyond double precision are refused with 22000, naming
-- the column and the row, without echoing the value.  And the first error of
-- a model whose table has no labels is about the labels.

BEGIN;
SELECT plan(32);

CREATE EXTENSION hitl;

-- the detail of the error a statement raises (NULL when it raises none)
CREATE FUNCTION pg_temp.error_detail(stmt text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
	detail text;
BEGIN
	EXECUTE stmt;
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
	RETURN detail;
END
$f$;

-- the first error on a table without labels
CREATE TABLE emb (id int PRIMARY KEY, v real[], label text);
INSERT INTO emb SELECT g, NULL, NULL FROM generate_series(1, 12) g;
SELECT hitl.create_model('emb', 'emb', 'label', '{v}');
SELECT throws_ok($$SELECT hitl.train('emb')$$, '55000', 'model "emb" has no labeled rows',
				 'no labels: the error says the model has no labeled rows');
SELECT is(pg_temp.error_detail($$SELECT hitl.train('emb')$$),
		  'No row has a value in label column "label"; training needs at least 10 labeled rows (option min_labels), of at least two classes.',
		  'no labels: the detail says how many labeled rows training needs');
UPDATE emb SET label = (ARRAY['a', 'b'])[1 + id % 2];
SELECT throws_ok($$SELECT hitl.train('emb')$$, '55000', 'array feature column "v" has no values',
				 'labels, arrays all NULL: the array column is to blame');

CREATE TABLE ext (id int PRIMARY KEY, big float8, near float8, tiny float8, n numeric,
				  label text);
INSERT INTO ext
SELECT g,
	   CASE WHEN g % 2 = 0 THEN 1e308 ELSE -1e308 END,
	   CASE WHEN g % 2 = 0 THEN 1.7e308 ELSE 1.6e308 END,
	   CASE WHEN g % 2 = 0 THEN 2e-310 ELSE -1e-310 END,
	   g,
	   CASE WHEN g <= 20 THEN (ARRAY['a', 'b'])[1 + g % 2] END
FROM generate_series(1, 30) g;

-- a feature of +-1e308 that separates the classes
SELECT lives_ok($$SELECT hitl.create_model('big', 'ext', 'label', '{big}', prediction_column => 'big_p',
							confidence_column => 'big_c', uncertainty_column => 'big_u')$$,
			   'a feature of +-1e308 trains');
SELECT is((SELECT (metrics->>'train_accuracy')::float8 FROM hitl.model_versions WHERE model = 'big'),
		  1::float8, '+-1e308: every training row classified right');
SELECT is((SELECT (metrics->>'cv_accuracy')::float8 FROM hitl.model_versions WHERE model = 'big'),
		  1::float8, '+-1e308: every held-out row classified right');
SELECT cmp_ok((SELECT abs(coefficients[1]) FROM hitl.model_versions WHERE model = 'big'),
			  '>', 0.5::float8, '+-1e308: the feature has a weight');
SELECT ok((SELECT feature_means[1] = 0 AND abs(feature_scales[1] / 1e308 - 1) < 1e-14
		   FROM hitl.model_versions WHERE model = 'big'),
		  '+-1e308: mean 0, scale 1e308');
SELECT is((SELECT count(*) FROM ext WHERE label IS NULL
		   AND big_p = CASE WHEN big > 0 THEN 'a' ELSE 'b' END AND big_c > 0.8),
		  10::bigint, '+-1e308: the unlabeled rows are scored right, confidently');

-- values near DBL_MAX, whose sum overflows
SELECT lives_ok($$SELECT hitl.create_model('near', 'ext', 'label', '{near}', prediction_column => 'near_p',
							confidence_column => 'near_c', uncertainty_column => 'near_u')$$,
			   '1.7e308 and 1.6e308 train');
SELECT ok((SELECT (metrics->>'train_accuracy')::float8 = 1 AND abs(coefficients[1]) > 0.5
				  AND abs(feature_means[1] / 1.65e308 - 1) < 1e-14
				  AND abs(feature_scales[1] / 0.05e308 - 1) < 1e-12
		   FROM hitl.model_versions WHERE model = 'near'),
		  '1.7e308 / 1.6e308: mean 1.65e308, scale 5e306, a weight, every row right');

-- denormals, whose squares underflow
SELECT lives_ok($$SELECT hitl.create_model('tiny', 'ext', 'label', '{tiny}', prediction_column => 'tiny_p',
							confidence_column => 'tiny_c', uncertainty_column => 'tiny_u')$$,
			   'denormals train');
SELECT ok((SELECT (metrics->>'train_accuracy')::float8 = 1 AND abs(coefficients[1]) > 0.5
				  AND feature_scales[1] > 0 AND feature_scales[1] < 1e-308
		   FROM hitl.model_versions WHERE model = 'tiny'),
		  'denormals: a denormal scale, a weight, every row right');
SELECT is((SELECT count(*) FROM ext WHERE label IS NULL
		   AND tiny_p = CASE WHEN tiny > 0 THEN 'a' ELSE 'b' END),
		  10::bigint, 'denormals: the unlabeled rows are scored right');

-- all of them, with a constant 1e308, in one model; and a row far outside
ALTER TABLE ext ADD COLUMN flat float8 DEFAULT 1e308;
SELECT lives_ok($$SELECT hitl.create_model('mix', 'ext', 'label', '{big,near,tiny,flat,n}', prediction_column => 'mix_p',
							confidence_column => 'mix_c', uncertainty_column => 'mix_u')$$,
			   'huge, tiny and constant huge features train together');
SELECT ok((SELECT (metrics->>'train_accuracy')::float8 = 1
				  AND feature_means[4] = 1e308 AND feature_scales[4] = 1
				  AND coefficients[4] = 0
		   FROM hitl.model_versions WHERE model = 'mix'),
		  'mix: every row right; the constant 1e308 has scale 1 and weight 0');
INSERT INTO ext (id, big, near, tiny, n, flat) VALUES (100, 1.7e308, 1.7e308, 1e-300, 1e300, -1.7e308);
SELECT is((SELECT hitl.predict('mix', e) FROM ext e WHERE id = 100), 'a',
		  'a row far beyond the training range is predicted');
SELECT ok((SELECT bool_and(value::float8 BETWEEN 0 AND 1)
				  AND abs(sum(value::float8) - 1) < 1e-12
		   FROM ext e, jsonb_each_text(hitl.predict_proba('mix', e)) WHERE e.id = 100),
		  'its probabilities are in [0, 1] and sum to 1');
DELETE FROM ext WHERE id = 100;

-- three classes at -1.7e308, 0 and 1.7e308
CREATE TABLE tri (id int PRIMARY KEY, x float8, label text);
INSERT INTO tri SELECT g, (ARRAY[-1.7e308, 0, 1.7e308])[1 + g % 3]::float8,
					   (ARRAY['low', 'mid', 'high'])[1 + g % 3]
FROM generate_series(1, 30) g;
SELECT lives_ok($$SELECT hitl.create_model('tri', 'tri', 'label', '{x}')$$,
			   'three classes near +-DBL_MAX train');
SELECT ok((SELECT (metrics->>'train_accuracy')::float8 = 1 AND (metrics->>'cv_accuracy')::float8 = 1
		   FROM hitl.model_versions WHERE model = 'tri'),
		  'three classes: every training and held-out row right');

-- text beside +-1e308 (L-BFGS)
CREATE TABLE tx (id int PRIMARY KEY, body text, x float8, label text);
INSERT INTO tx SELECT g, 'word' || (g % 3), CASE WHEN g % 2 = 0 THEN 1e308 ELSE -1e308 END,
					  CASE WHEN g <= 20 THEN (ARRAY['a', 'b'])[1 + g % 2] END
FROM generate_series(1, 30) g;
SELECT lives_ok($$SELECT hitl.create_model('tx', 'tx', 'label', '{body,x}')$$,
			   'text beside +-1e308 trains');
SELECT ok((SELECT (metrics->>'train_accuracy')::float8 = 1 AND abs(coefficients[1]) > 0.5
		   FROM hitl.model_versions WHERE model = 'tx'),
		  'text beside +-1e308: the number has a weight, every row right');

-- naive Bayes on counts of 1e306, whose products with log-probabilities overflow
CREATE TABLE nbh (id int PRIMARY KEY, x float8, y float8, label text);
INSERT INTO nbh SELECT g, CASE WHEN g % 2 = 0 THEN 1e306 ELSE 0 END,
					   CASE WHEN g % 2 = 1 THEN 1e306 ELSE 0 END,
					   CASE WHEN g <= 20 THEN (ARRAY['a', 'b'])[1 + g % 2] END
FROM generate_series(1, 30) g;
SELECT lives_ok($$SELECT hitl.create_model('nbh', 'nbh', 'label', '{x,y}', algorithm => 'naive_bayes')$$,
				'naive Bayes on counts of 1e306 trains');
SELECT is((SELECT count(*) FROM nbh WHERE label_prediction = CASE WHEN x > 0 THEN 'a' ELSE 'b' END
		   AND label_confidence BETWEEN 0.99 AND 1),
		  30::bigint, 'naive Bayes on 1e306: every row predicted right, with a finite confidence');

-- beyond double precision: 22000, naming the column and the row
UPDATE ext SET n = 10::numeric ^ 400 WHERE id = 7;
SELECT throws_ok($$SELECT hitl.train('mix')$$, '22000',
				 'feature column "n" is out of the range of double precision in row {"id": 7}',
				 'a numeric of 1e400 in a labeled row: 22000 naming column and row');
SELECT is(pg_temp.error_detail($$SELECT hitl.train('mix')$$),
		  'Features are read as double precision: a magnitude above about 1.8e308, or not zero and below about 4.9e-324, cannot be represented.',
		  'its detail gives the range of double precision');
UPDATE ext SET n = -(10::numeric ^ 400) WHERE id = 7;
SELECT throws_ok($$SELECT hitl.train('mix')$$, '22000',
				 'feature column "n" is out of the range of double precision in row {"id": 7}',
				 'a numeric of -1e400: the same');
UPDATE ext SET n = '1e-400' WHERE id = 7;
SELECT throws_ok($$SELECT hitl.train('mix')$$, '22000',
				 'feature column "n" is out of the range of double precision in row {"id": 7}',
				 'a numeric of 1e-400, below the smallest denormal: the same');
UPDATE ext SET n = '1e-310' WHERE id = 7;
SELECT lives_ok($$SELECT hitl.train('mix')$$, 'a numeric denormal is a number');
UPDATE ext SET n = 10::numeric ^ 309 WHERE id = 25;
SELECT throws_ok($$SELECT hitl.score('mix')$$, '22000',
				 'feature column "n" is out of the range of double precision in row {"id": 25}',
				 'scoring: 22000 naming column and row');
SELECT throws_ok($$SELECT hitl.predict('mix', e) FROM ext e WHERE id = 25$$, '22000',
				 'feature column "n" is out of the range of double precision in row passed to hitl.predict',
				 'predict: 22000 naming the column');
UPDATE ext SET n = 25 WHERE id = 25;

-- naive Bayes sums per class beyond double precision: 22000 naming the column
CREATE TABLE nbsum (id int PRIMARY KEY, x float8, label text);
INSERT INTO nbsum SELECT g, CASE WHEN g <= 10 THEN 1e308 ELSE 1 END, CASE WHEN g <= 20 THEN (g % 2)::text END
FROM generate_series(1, 30) g;
SELECT throws_ok($$SELECT hitl.create_model('nbsum', 'nbsum', 'label', '{x}', algorithm => 'naive_bayes')$$,
				 '22000', 'feature column "x" of model "nbsum" adds up beyond the range of double precision',
				 'naive Bayes: a feature summing beyond double precision in a class gives 22000 naming it');

SELECT * FROM finish();
ROLLBACK;
