-- hitl.review_features runs no code of a table's owner for its reader.
-- The owner of a model's table can change a feature column's type after
-- the model was made, to a type of their own with a cast of their own;
-- casts run as whoever uses them, so a superuser reading the view from a
-- BI tool would run the owner's code.  The event trigger marks such a
-- model broken, and hitl._review_features reads a feature only when its
-- type is one hitl takes (also with the event trigger disabled, checked
-- below), and nothing of a broken model.
--
-- The file runs outside a transaction block; its role is dropped at the end.

SELECT plan(15);

CREATE EXTENSION hitl;
SET client_min_messages = warning;
CREATE ROLE tap_bi_owner;
CREATE SCHEMA tap_bi AUTHORIZATION tap_bi_owner;

SET ROLE tap_bi_owner;
CREATE TABLE tap_bi.calls (who text, super boolean);
GRANT INSERT ON tap_bi.calls TO PUBLIC;
CREATE TABLE tap_bi.t (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO tap_bi.t SELECT g, g % 10, (g * 3) % 7,
	CASE WHEN g <= 40 THEN CASE WHEN g % 10 < 5 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 200) g;
CREATE TABLE tap_bi.u (LIKE tap_bi.t INCLUDING ALL);
INSERT INTO tap_bi.u SELECT * FROM tap_bi.t;
SELECT hitl.create_model('bi_m', 'tap_bi.t', 'lab', '{x,y}', options => '{"cv_folds": 0}');
SELECT hitl.create_model('bi_n', 'tap_bi.u', 'lab', '{x,y}', options => '{"cv_folds": 0}');
-- the owner's type, and a cast that would make its owner superuser
CREATE TYPE tap_bi.evil AS (v float8);
CREATE FUNCTION tap_bi.evil_text(tap_bi.evil) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO tap_bi.calls
	SELECT current_user, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
	IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
		EXECUTE 'ALTER ROLE tap_bi_owner SUPERUSER';
	END IF;
	RETURN ($1).v::text;
END $$;
CREATE FUNCTION tap_bi.evil_float(tap_bi.evil) RETURNS float8 LANGUAGE sql AS $$
	INSERT INTO tap_bi.calls VALUES (current_user, NULL) RETURNING 0::float8
$$;
CREATE CAST (tap_bi.evil AS text) WITH FUNCTION tap_bi.evil_text(tap_bi.evil);
CREATE CAST (tap_bi.evil AS float8) WITH FUNCTION tap_bi.evil_float(tap_bi.evil);
RESET ROLE;

SELECT ok((SELECT count(*) FROM hitl.review_features WHERE model = 'bi_m' AND feature = 'x'
		   AND value_number IS NOT NULL) > 0,
		  'a superuser reads the feature values of the review candidates');

-- an option given as 10.0 (stored so) does not keep hitl.model_overview from reading
SET ROLE tap_bi_owner;
SELECT hitl.alter_model('bi_m', options => '{"min_labels": 10.0}');
RESET ROLE;
SELECT is((SELECT min_labels FROM hitl.model_overview WHERE model = 'bi_m'), 10,
		  'hitl.model_overview reads an integer option stored as 10.0');

-- hitl.model_metrics: the calibration and evaluation figures of metrics in
-- plain columns.  bi_cv cross-validates; its evaluation rows are labeled
-- before it is trained again, so that its version has evaluation figures.
SET ROLE tap_bi_owner;
CREATE TABLE tap_bi.v (LIKE tap_bi.t INCLUDING ALL);
INSERT INTO tap_bi.v SELECT * FROM tap_bi.t;
SELECT hitl.create_model('bi_cv', 'tap_bi.v', 'lab', '{x,y}',
						 options => '{"queue_size": 50, "evaluation_rate": 0.2}');
UPDATE tap_bi.v SET lab = CASE WHEN id % 10 < 5 THEN 'a' ELSE 'b' END
WHERE id IN (SELECT (row_key ->> 'id')::int FROM hitl.queue WHERE model = 'bi_cv' AND evaluation);
SELECT hitl.train('bi_cv');
RESET ROLE;
SELECT is(ARRAY(SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
				WHERE a.attrelid = 'hitl.model_metrics'::regclass
				  AND (a.attname IN ('calibration_method', 'temperature', 'ece', 'ece_uncalibrated', 'brier')
					   OR a.attname LIKE 'evaluation%')
				ORDER BY a.attnum),
		  ARRAY['calibration_method character varying(20)', 'temperature double precision',
				'ece double precision', 'ece_uncalibrated double precision', 'brier double precision',
				'evaluation_accuracy double precision', 'evaluation_low double precision',
				'evaluation_high double precision', 'evaluation_rows bigint'],
		  'hitl.model_metrics has the calibration and evaluation columns, of plain types');
SELECT results_eq(
	$$SELECT calibration_method::text, temperature, ece, ece_uncalibrated, brier
	  FROM hitl.model_metrics WHERE model = 'bi_cv' AND is_current$$,
	$$SELECT v.metrics -> 'calibration' ->> 'method', (v.metrics -> 'calibration' ->> 'temperature')::float8,
			 (v.metrics ->> 'ece')::float8, (v.metrics ->> 'ece_uncalibrated')::float8,
			 (v.metrics ->> 'brier')::float8
	  FROM hitl.model_versions v JOIN hitl.models m ON m.name = v.model AND v.version = m.current_version
	  WHERE m.name = 'bi_cv'$$,
	'its calibration columns are those of the current version''s metrics');
SELECT ok((SELECT calibration_method IN ('temperature', 'none') AND temperature > 0
				  AND ece BETWEEN 0 AND 1 AND ece_uncalibrated BETWEEN 0 AND 1 AND brier BETWEEN 0 AND 2
		   FROM hitl.model_metrics WHERE model = 'bi_cv' AND is_current),
		  'a cross-validated version has a method, a temperature, ECEs and a Brier score');
SELECT results_eq(
	$$SELECT evaluation_accuracy, evaluation_low, evaluation_high, evaluation_rows
	  FROM hitl.model_metrics WHERE model = 'bi_cv' AND is_current$$,
	$$SELECT (v.metrics -> 'evaluation' ->> 'accuracy')::float8, (v.metrics -> 'evaluation' ->> 'low')::float8,
			 (v.metrics -> 'evaluation' ->> 'high')::float8,
			 (SELECT count(*) FROM hitl.label_log l WHERE l.model = 'bi_cv' AND l.evaluation)
	  FROM hitl.model_versions v JOIN hitl.models m ON m.name = v.model AND v.version = m.current_version
	  WHERE m.name = 'bi_cv' AND v.metrics -> 'evaluation' ->> 'accuracy' IS NOT NULL
		AND (v.metrics -> 'evaluation' ->> 'low')::float8 <= (v.metrics -> 'evaluation' ->> 'high')::float8$$,
	'its evaluation columns are metrics->''evaluation'', over the evaluation rows labeled');
SELECT results_eq(
	$$SELECT calibration_method, temperature, ece, brier, evaluation_accuracy, evaluation_rows
	  FROM hitl.model_metrics WHERE model = 'bi_m' AND is_current$$,
	$$VALUES (NULL::varchar(20), NULL::float8, NULL::float8, NULL::float8, NULL::float8, 0::bigint)$$,
	'a version without cross-validation or evaluation rows: NULL figures, 0 evaluation rows');

-- 1. the column changed to the owner's type: the model is broken
SET ROLE tap_bi_owner;
DROP VIEW tap_bi.bi_m_review_queue;
DROP VIEW tap_bi.bi_m_audit_queue;
DROP VIEW tap_bi.bi_m_auto_label_audit;
DROP VIEW tap_bi.bi_m_adjudication_queue;
ALTER TABLE tap_bi.t ALTER COLUMN x TYPE tap_bi.evil USING row(x)::tap_bi.evil;
RESET ROLE;
SELECT is((SELECT status || ': ' || last_error FROM hitl.models WHERE name = 'bi_m'),
		  'broken: its feature column "x" of table tap_bi.t now has type tap_bi.evil, which the model does not read',
		  'a feature column changed to a type a model does not read breaks the model');
SELECT lives_ok($$SELECT count(*) FROM hitl.review_features$$, 'hitl.review_features still reads');
SELECT is((SELECT count(*) FROM hitl.review_features WHERE model = 'bi_m'), 0::bigint,
		  'and gives nothing of the broken model');

-- 2. the same with the event trigger off (as under a restore): the function
-- itself does not read the column
ALTER EVENT TRIGGER hitl_alter_table DISABLE;
SET ROLE tap_bi_owner;
DROP VIEW tap_bi.bi_n_review_queue;
DROP VIEW tap_bi.bi_n_audit_queue;
DROP VIEW tap_bi.bi_n_auto_label_audit;
DROP VIEW tap_bi.bi_n_adjudication_queue;
ALTER TABLE tap_bi.u ALTER COLUMN x TYPE tap_bi.evil[] USING ARRAY[row(x)::tap_bi.evil];
ALTER TABLE tap_bi.u ALTER COLUMN y TYPE tap_bi.evil USING row(y)::tap_bi.evil;
RESET ROLE;
ALTER EVENT TRIGGER hitl_alter_table ENABLE;
SELECT is((SELECT status FROM hitl.models WHERE name = 'bi_n'), 'scored', 'model bi_n was not marked');
SELECT is((SELECT count(*) FROM hitl.review_features WHERE model = 'bi_n'
		   AND value_text IS NULL AND value_number IS NULL),
		  (SELECT count(*) FROM hitl.review_features WHERE model = 'bi_n'),
		  'its feature values read as NULL: a column of a type hitl does not take is not read');

SELECT is((SELECT count(*) FROM tap_bi.calls), 0::bigint, 'none of the owner''s casts ran');
SELECT is((SELECT rolsuper FROM pg_roles WHERE rolname = 'tap_bi_owner'), false,
		  'the owner is no superuser');
SELECT is((SELECT count(*) FROM hitl.review_features WHERE model = 'bi_n'),
		  (SELECT 2 * count(*) FROM hitl.queue WHERE model = 'bi_n'),
		  'the candidates are still listed, one row per feature');

SELECT * FROM finish();

DROP SCHEMA tap_bi CASCADE;
DROP OWNED BY tap_bi_owner;
DROP ROLE tap_bi_owner;
