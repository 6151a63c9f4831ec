-- Every error a user can cause: SQLSTATE, message, detail and hint, and
-- nothing left half-created behind a failure.

CREATE TABLE e (id int PRIMARY KEY, a float8, b int, c boolean, t date,
				v float8[], label text, f8 float8, n numeric);
INSERT INTO e SELECT g, g % 7, g % 3, g % 2 = 0, date '2020-01-01', ARRAY[g, g * 2]::float8[],
	CASE WHEN g <= 12 THEN (ARRAY['p', 'q'])[1 + g % 2] END, g, g / 3.0
FROM generate_series(1, 20) g;

-- table without a primary key
CREATE TABLE nopk (a float8, label text);
INSERT INTO nopk VALUES (1, 'p');
SELECT * FROM err($$SELECT hitl.create_model('m', 'nopk', 'label', '{a}')$$);
-- not a table
CREATE VIEW ev AS SELECT * FROM e;
SELECT * FROM err($$SELECT hitl.create_model('m', 'ev', 'label', '{a}')$$);
-- unknown label and feature columns
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'nope', '{a}')$$);
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a,nope}')$$);
-- duplicate feature column, label among the features, no features, null feature
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a,b,a}')$$);
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a,label}')$$);
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{}')$$);
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', ARRAY['a', NULL]::name[])$$);
-- unsupported types
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'f8', '{a}')$$);
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a,t}')$$);
-- arrays of different lengths
UPDATE e SET v = ARRAY[1, 2, 3]::float8[] WHERE id = 5;
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a,v}')$$);
UPDATE e SET v = ARRAY[5, 10]::float8[] WHERE id = 5;
-- output columns: clash with another column, existing with the wrong type
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a}', prediction_column => 'b')$$);
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a}', prediction_column => 'p', confidence_column => 'p')$$);
ALTER TABLE e ADD COLUMN label_confidence text;
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a}')$$);
ALTER TABLE e DROP COLUMN label_confidence;
-- algorithm, strategy and options
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a}', algorithm => 'forest')$$);
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a}', strategy => 'random')$$);
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a}', options => '[1]')$$);
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a}', options => '{"c": 1}')$$);
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a}', options => '{"C": "big"}')$$);
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a}', options => '{"C": 0}')$$);
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a}', options => '{"min_labels": 2.5}')$$);
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a}', options => '{"cv_folds": 1}')$$);
-- model names
SELECT * FROM err($$SELECT hitl.create_model('', 'e', 'label', '{a}')$$);
SELECT * FROM err($$SELECT hitl.create_model(repeat('x', 51), 'e', 'label', '{a}')$$);
-- a view of that name already exists
CREATE VIEW clash_review_queue AS SELECT 1;
SELECT * FROM err($$SELECT hitl.create_model('clash', 'e', 'label', '{a}')$$);
DROP VIEW clash_review_queue;

-- after all these failures nothing was created
SELECT count(*) AS models FROM hitl.models;
SELECT array_agg(attname ORDER BY attnum) AS columns_of_e
FROM pg_attribute WHERE attrelid = 'e'::regclass AND attnum > 0 AND NOT attisdropped;

-- NaN or infinity in a feature: the error names the row
UPDATE e SET a = 'NaN' WHERE id = 3;
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a,b}')$$);
SELECT count(*) AS models FROM hitl.models;
UPDATE e SET a = 1, n = 'Infinity' WHERE id = 3;
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a,n}')$$);
UPDATE e SET n = 1, v = ARRAY[1, 'Infinity']::float8[] WHERE id = 4;
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a,v}')$$);
UPDATE e SET v = ARRAY[4, 8]::float8[] WHERE id = 4;

-- a working model, then errors of train, score and create
SELECT hitl.create_model('m', 'e', 'label', '{a,b,c,v}', options => '{"min_labels": 4, "cv_folds": 0}');
SELECT * FROM err($$SELECT hitl.create_model('m', 'e', 'label', '{a}')$$);
-- a NaN in an unlabeled row is found when scoring
UPDATE e SET a = '-Infinity' WHERE id = 18;
SELECT * FROM err($$SELECT hitl.score('m')$$);
UPDATE e SET a = 1 WHERE id = 18;
-- a row whose array has another length
UPDATE e SET v = ARRAY[1]::float8[] WHERE id = 19;
SELECT * FROM err($$SELECT hitl.score('m')$$);
UPDATE e SET v = NULL WHERE id = 19;
-- too few labels, one class only
UPDATE e SET label = NULL WHERE id > 3;
SELECT * FROM err($$SELECT hitl.train('m')$$);
UPDATE e SET label = 'p' WHERE id <= 10;
SELECT * FROM err($$SELECT hitl.train('m')$$);
SELECT current_version FROM hitl.models WHERE name = 'm';

-- unknown models
SELECT * FROM err($$SELECT hitl.train('nope')$$);
SELECT * FROM err($$SELECT hitl.score('nope')$$);
SELECT * FROM err($$SELECT hitl.drop_model('nope')$$);
SELECT * FROM err($$SELECT hitl.predict('nope', e) FROM e$$);
SELECT * FROM err($$SELECT hitl.predict_proba('nope', e) FROM e$$);
-- hitl.wait without the background workers (this cluster does not preload hitl)
SELECT * FROM err($$SELECT hitl.wait('m')$$);

-- a row of another table
SELECT * FROM err($$SELECT hitl.predict('m', x) FROM nopk x$$);

-- output columns another model writes
SELECT * FROM err($$SELECT hitl.create_model('m2', 'e', 'label', '{a}')$$);

-- a model that never trained
SELECT hitl.create_model('waiting', 'e', 'label', '{a}', prediction_column => 'wp',
						 confidence_column => 'wc', uncertainty_column => 'wu');
SELECT status, current_version FROM hitl.models WHERE name = 'waiting';
SELECT * FROM err($$SELECT hitl.score('waiting')$$);
SELECT * FROM err($$SELECT hitl.predict('waiting', e) FROM e$$);

-- privileges on the table
CREATE ROLE hitl_regress_nobody;
GRANT SELECT ON e TO hitl_regress_nobody;
SET ROLE hitl_regress_nobody;
SELECT * FROM err($$SELECT hitl.create_model('m2', 'e', 'label', '{a}')$$);
SELECT * FROM err($$SELECT hitl.train('m')$$);
SELECT * FROM err($$SELECT hitl.drop_model('m')$$);
RESET ROLE;
REVOKE SELECT ON e FROM hitl_regress_nobody;
SET ROLE hitl_regress_nobody;
SELECT * FROM err($$SELECT hitl.train('m')$$);
SELECT count(*) AS visible_models FROM hitl.models;
RESET ROLE;
DROP ROLE hitl_regress_nobody;

SELECT hitl.drop_model('m', drop_columns => true);
SELECT hitl.drop_model('waiting', drop_columns => true);
SELECT count(*) AS models FROM hitl.models;
DROP VIEW ev;
DROP TABLE e, nopk;
