-- The choice of solver for logistic regression on numeric features: Newton
-- while the model has few coefficients, L-BFGS when Newton's Hessian would
-- be large; metrics->>'solver' records which.  A model beyond Newton's
-- 4,096 coefficients, refused before, now trains (by L-BFGS), converges,
-- separates its training rows, cross-validates, predicts and warm-starts;
-- past the bound on L-BFGS's memory a model is refused with 54000.

BEGIN;
SELECT plan(13);

CREATE EXTENSION hitl;

-- a small model: Newton
CREATE TABLE small (id int PRIMARY KEY, a float8, b float8, label text);
INSERT INTO small
SELECT g, (g % 3) + sin(g), cos(g * 1.7), (ARRAY['x', 'y', 'z'])[1 + g % 3]
  FROM generate_series(1, 90) g;
SELECT ok(hitl.create_model('small', 'small', 'label', '{a, b}', options => '{"cv_folds": 0}') = 1,
		  'the small model trains (version 1)');
SELECT is((SELECT metrics->>'solver' FROM hitl.model_versions WHERE model = 'small'),
		  'newton', 'a model of 9 coefficients is solved by Newton');

-- an embedding of 1,500 dimensions and 3 classes: 4,503 coefficients,
-- beyond Newton's 4,096.  Each class lifts its own 20 dimensions.
CREATE TABLE emb (id int PRIMARY KEY, v float8[], label text);
INSERT INTO emb
SELECT g, (SELECT array_agg(sin(g * 7.31 + j * 1.13) +
							CASE WHEN j / 20 = g % 3 THEN 1.5 ELSE 0 END ORDER BY j)
			 FROM generate_series(0, 1499) j),
	   (ARRAY['x', 'y', 'z'])[1 + g % 3]
  FROM generate_series(1, 90) g;
SELECT lives_ok($$SELECT hitl.create_model('emb', 'emb', 'label', '{v}', options => '{"cv_folds": 3}')$$,
				'a model of 4,503 coefficients trains (it was refused: too many for Newton)');
SELECT results_eq(
	$$SELECT metrics->>'solver', (metrics->>'n_features')::int, cardinality(coefficients),
			 metrics->>'converged'
	  FROM hitl.model_versions WHERE model = 'emb'$$,
	$$VALUES ('lbfgs', 1500, 3 * 1501, 'true')$$,
	'it is solved by L-BFGS, converged, 3 x 1,501 coefficients');
SELECT ok((SELECT (metrics->>'train_accuracy')::float8 = 1
			 FROM hitl.model_versions WHERE model = 'emb'),
		  'it separates the training rows');
SELECT ok((SELECT (metrics->>'cv_accuracy')::float8 >= 0.9
			 FROM hitl.model_versions WHERE model = 'emb'),
		  'cross-validation (3 folds, each by L-BFGS) gives at least 90% accuracy');
SELECT is((SELECT count(*) FROM emb t WHERE hitl.predict('emb', t) = t.label)::int, 90,
		  'predict gives every row its class');

-- retraining after one more label warm-starts L-BFGS
UPDATE emb SET label = 'x' WHERE id = 4;
SELECT ok(hitl.train('emb') = 2, 'a new label gives version 2');
SELECT results_eq(
	$$SELECT metrics->>'solver', metrics->>'warm_start', metrics->>'converged'
	  FROM hitl.model_versions WHERE model = 'emb' AND version = 2$$,
	$$VALUES ('lbfgs', 'true', 'true')$$,
	'version 2: L-BFGS, warm-started, converged');

-- the bound on L-BFGS's memory: 5 classes x 52,501 = 262,505 coefficients
CREATE TABLE huge (id int PRIMARY KEY, v real[], label text);
INSERT INTO huge
SELECT g, array_fill((g % 7)::real, ARRAY[52500]), (ARRAY['a', 'b', 'c', 'd', 'e'])[1 + g % 5]
  FROM generate_series(1, 15) g;
SELECT throws_ok($$SELECT hitl.create_model('huge', 'huge', 'label', '{v}', options => '{"cv_folds": 0}')$$,
				 '54000',
				 'model "huge" has too many coefficients for logistic regression',
				 'past 262,144 coefficients the model is refused with 54000');

-- the error's detail gives the numbers
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
SELECT is(pg_temp.error_detail($$SELECT hitl.create_model('huge', 'huge', 'label', '{v}', options => '{"cv_folds": 0}')$$),
		  '5 classes and 52500 features give 262505 coefficients; the limit is 262144.',
		  'the detail counts classes, features and coefficients');
SELECT is((SELECT count(*) FROM hitl.models WHERE name = 'huge')::int, 0,
		  'the refused model is not created');

-- text is always solved by L-BFGS, and its metrics say so too
CREATE TABLE notes (id int PRIMARY KEY, body text, label text);
INSERT INTO notes
SELECT g, (ARRAY['red apple pie', 'blue sky sea', 'green grass tree'])[1 + g % 3] || ' ' || g,
	   (ARRAY['x', 'y', 'z'])[1 + g % 3]
  FROM generate_series(1, 60) g;
SELECT hitl.create_model('notes', 'notes', 'label', '{body}', options => '{"cv_folds": 0}');
SELECT is((SELECT metrics->>'solver' FROM hitl.model_versions WHERE model = 'notes'),
		  'lbfgs', 'a text model records solver lbfgs');

SELECT * FROM finish();
ROLLBACK;
