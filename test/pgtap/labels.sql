-- The label log: hitl.label_log and hitl.label_stats as an interface
-- (columns, keys, privileges, comments), the triggers on label types and
-- keys of every kind, statements that write labels in other ways (ON
-- CONFLICT, MERGE, COPY, nested triggers, bulk), and what the internal
-- functions refuse.

BEGIN;
SELECT plan(67);

CREATE EXTENSION hitl;

-- ------------------------------------------------------------------------
-- The interface
-- ------------------------------------------------------------------------

SELECT columns_are('hitl', 'label_log',
	ARRAY['id', 'model', 'row_key', 'old_label', 'new_label', 'role', 'at', 'txid',
		  'model_version', 'prediction', 'confidence', 'evaluation', 'source', 'decided_version'],
	'hitl.label_log has the documented columns');
SELECT col_type_is('hitl', 'label_log', 'id', 'bigint', 'id is bigint');
SELECT col_type_is('hitl', 'label_log', 'row_key', 'jsonb', 'row_key is jsonb');
SELECT col_type_is('hitl', 'label_log', 'role', 'name', 'role is name');
SELECT col_type_is('hitl', 'label_log', 'at', 'timestamp with time zone', 'at is timestamptz');
SELECT col_type_is('hitl', 'label_log', 'txid', 'xid8', 'txid is xid8');
SELECT col_type_is('hitl', 'label_log', 'confidence', 'double precision', 'confidence is float8');
SELECT col_is_pk('hitl', 'label_log', ARRAY['model', 'id'], 'the key is (model, id): a model''s log in order');
SELECT is((SELECT attidentity::text FROM pg_attribute
		   WHERE attrelid = 'hitl.label_log'::regclass AND attname = 'id'), 'a',
		  'id is GENERATED ALWAYS AS IDENTITY');
SELECT columns_are('hitl', 'label_stats',
	ARRAY['model', 'role', 'labels', 'agreements', 'overrides', 'confident_disagreements',
		  'agreement_rate', 'changed_by_others', 'median_seconds_between_labels', 'last_labeled_at',
		  'audit_confirmations', 'audit_corrections'],
	'hitl.label_stats has the documented columns');
SELECT ok(has_table_privilege('public', 'hitl.label_log', 'SELECT')
		  AND NOT has_table_privilege('public', 'hitl.label_log', 'UPDATE')
		  AND NOT has_table_privilege('public', 'hitl.label_log', 'DELETE')
		  AND NOT has_table_privilege('public', 'hitl.label_log', 'TRUNCATE'),
		  'PUBLIC reads the log and never updates, deletes or truncates it');
SELECT ok(NOT has_any_column_privilege('public', 'hitl.label_log', 'INSERT'),
		  'PUBLIC may insert no log row: only the label triggers write the log');
SELECT ok(has_table_privilege('public', 'hitl.label_stats', 'SELECT'), 'PUBLIC reads hitl.label_stats');
SELECT is((SELECT relrowsecurity FROM pg_class WHERE oid = 'hitl.label_log'::regclass), true,
		  'hitl.label_log has row-level security');
SELECT is((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
		   WHERE c.relnamespace = 'hitl'::regnamespace AND c.relname IN ('label_log', 'label_stats')
			 AND obj_description(c.oid, 'pg_class') IS NULL), NULL,
		  'the table and the view carry comments');
SELECT is((SELECT count(*) FROM pg_attribute a
		   WHERE a.attrelid IN ('hitl.label_log'::regclass, 'hitl.label_stats'::regclass)
			 AND a.attnum > 0 AND NOT a.attisdropped
			 AND col_description(a.attrelid, a.attnum) IS NULL), 0::bigint,
		  'every column of both carries a comment');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
		   WHERE p.pronamespace = 'hitl'::regnamespace
			 AND p.proname IN ('_label_trigger', '_label_trigger_name', '_attach_label_triggers',
							   '_detach_label_triggers', '_drop_label_log', '_break_model',
							   '_model_columns', '_on_sql_drop', '_on_alter_table')
			 AND obj_description(p.oid, 'pg_proc') IS NOT NULL),
		  ARRAY['_attach_label_triggers', '_break_model', '_detach_label_triggers', '_drop_label_log',
				'_label_trigger', '_label_trigger_name', '_model_columns', '_on_alter_table',
				'_on_sql_drop'],
		  'the label log''s functions exist, with comments');
SELECT is((SELECT array_agg(evtname::text || ':' || evtevent || ':' || evtenabled::text ORDER BY evtname)
		   FROM pg_event_trigger WHERE evtname LIKE 'hitl%'),
		  ARRAY['hitl_alter_table:ddl_command_end:O', 'hitl_sql_drop:sql_drop:O'],
		  'the extension installs its two event triggers, enabled');
SELECT is((SELECT count(*) FROM pg_event_trigger e
		   WHERE e.evtname LIKE 'hitl%' AND obj_description(e.oid, 'pg_event_trigger') IS NOT NULL),
		  2::bigint, 'the event triggers carry comments');
SELECT is((SELECT count(*) FROM pg_depend d JOIN pg_event_trigger e ON e.oid = d.objid
		   WHERE d.classid = 'pg_event_trigger'::regclass AND d.deptype = 'e'
			 AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'hitl')),
		  2::bigint, 'the event triggers belong to the extension');

-- ------------------------------------------------------------------------
-- Label types: the log holds labels as their cast to text makes them, as
-- hitl.train() names the classes
-- ------------------------------------------------------------------------

CREATE TYPE mood AS ENUM ('sad', 'calm', 'glad');
CREATE TABLE typed (id int PRIMARY KEY, x float8, b boolean, n int, e mood);
INSERT INTO typed
SELECT i, i % 10,
	   CASE WHEN i <= 30 THEN i % 10 >= 5 END,
	   CASE WHEN i <= 30 THEN (i % 10) / 4 END,
	   CASE WHEN i <= 30 THEN (ARRAY['sad', 'calm', 'glad']::mood[])[(i % 10) / 4 + 1] END
FROM generate_series(1, 60) i;
SELECT is(ARRAY[hitl.create_model('tb', 'typed', 'b', ARRAY['x'], options => '{"cv_folds": 0}'),
				hitl.create_model('tn', 'typed', 'n', ARRAY['x'], options => '{"cv_folds": 0}'),
				hitl.create_model('te', 'typed', 'e', ARRAY['x'], options => '{"cv_folds": 0}')],
		  ARRAY[1, 1, 1], 'three models on one table: boolean, integer and enum labels');
UPDATE typed SET b = true, n = 2, e = 'glad' WHERE id = 41;
UPDATE typed SET b = false, n = 0, e = 'sad' WHERE id = 7;
SELECT results_eq(
	$$SELECT model, old_label, new_label FROM hitl.label_log
	  WHERE model IN ('tb', 'tn', 'te') ORDER BY model, id$$,
	$$VALUES ('tb', NULL, 'true'), ('tb', 'true', 'false'),
			 ('te', NULL, 'glad'), ('te', 'calm', 'sad'),
			 ('tn', NULL, '2'), ('tn', '1', '0')$$,
	'boolean, integer and enum labels are logged as text');
SELECT is((SELECT bool_and(l.prediction = ANY (v.classes)) FROM hitl.label_log l
		   JOIN hitl.models m ON m.name = l.model
		   JOIN hitl.model_versions v ON v.model = m.name AND v.version = m.current_version
		   WHERE l.model IN ('tb', 'tn', 'te')), true,
		  'the logged predictions are class names of the model''s version');
SELECT is((SELECT count(*) FROM hitl.label_log l JOIN typed t ON t.id = (l.row_key->>'id')::int
		   WHERE l.model = 'tb' AND l.new_label = t.b::text), 2::bigint,
		  'a logged boolean label is the label''s text, as label::text gives it');

-- ------------------------------------------------------------------------
-- Keys: the row key is the one hitl.queue and hitl.review_queue use
-- ------------------------------------------------------------------------

CREATE TABLE "Odd Table" ("Region" text, "Row No" bigint, "Feature X" float8, "The Label" text,
						  PRIMARY KEY ("Region", "Row No"));
INSERT INTO "Odd Table"
SELECT CASE WHEN i % 2 = 0 THEN 'north' ELSE 'sü"d' END, i, i % 10,
	   CASE WHEN i <= 30 THEN CASE WHEN i % 10 < 5 THEN 'lo' ELSE 'hi' END END
FROM generate_series(1, 80) i;
SELECT is(hitl.create_model('odd model', '"Odd Table"', 'The Label', ARRAY['Feature X'],
							options => '{"cv_folds": 0}'), 1,
		  'a model on a table whose names need quoting');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = '"Odd Table"'::regclass
		   AND tgname LIKE 'hitl_odd model_label_%'), 5::bigint, 'it has its five triggers');
SELECT row_key AS queued_key FROM hitl.queue WHERE model = 'odd model' AND rank = 1 \gset
UPDATE "Odd Table" t SET "The Label" = 'hi'
WHERE t."Region" = (:'queued_key'::jsonb ->> 'Region') AND t."Row No" = (:'queued_key'::jsonb ->> 'Row No')::bigint;
SELECT is((SELECT row_key FROM hitl.label_log WHERE model = 'odd model'), :'queued_key'::jsonb,
		  'the logged row key of a two-column key equals the queue''s row key');
SELECT is((SELECT count(*) FROM hitl.review_queue r JOIN hitl.label_log l
		   ON l.model = r.model AND l.row_key = r.row_key WHERE r.model = 'odd model'), 0::bigint,
		  'the labeled row has left the review queue, found by the same key');
DELETE FROM "Odd Table" WHERE "Row No" = 1;
SELECT is((SELECT row_key FROM hitl.label_log WHERE model = 'odd model' AND new_label IS NULL),
		  '{"Region": "sü\"d", "Row No": 1}'::jsonb, 'a deleted row''s key, quotes and all');

-- ------------------------------------------------------------------------
-- Statements that write labels in other ways
-- ------------------------------------------------------------------------

CREATE TABLE w (id int PRIMARY KEY, x float8, lab text);
INSERT INTO w SELECT i, i % 10, CASE WHEN i <= 30 THEN CASE WHEN i % 10 < 5 THEN 'lo' ELSE 'hi' END END
FROM generate_series(1, 100) i;
SELECT is(hitl.create_model('w', 'w', 'lab', ARRAY['x'], options => '{"cv_folds": 0}'), 1, 'model w');

-- The log of w since a mark, as (key, old, new) text
CREATE FUNCTION w_log(since bigint) RETURNS TABLE (k int, o text, n text) LANGUAGE sql AS $$
	SELECT (row_key->>'id')::int, old_label, new_label FROM hitl.label_log
	WHERE model = 'w' AND id > since ORDER BY id
$$;
CREATE FUNCTION mark() RETURNS bigint LANGUAGE sql AS $$
	SELECT coalesce(max(id), 0) FROM hitl.label_log
$$;

SELECT mark() AS m \gset
INSERT INTO w (id, x, lab) VALUES (5, 5, 'lo'), (101, 1, 'lo')
ON CONFLICT (id) DO UPDATE SET lab = EXCLUDED.lab;
SELECT results_eq(format('SELECT * FROM w_log(%s)', :m), $$VALUES (5, 'hi', 'lo'), (101, NULL, 'lo')$$,
				  'INSERT ... ON CONFLICT DO UPDATE logs the update and the insert');

SELECT mark() AS m \gset
INSERT INTO w (id, x, lab) VALUES (6, 6, 'lo'), (102, 2, 'hi') ON CONFLICT (id) DO NOTHING;
SELECT results_eq(format('SELECT * FROM w_log(%s)', :m), $$VALUES (102, NULL, 'hi')$$,
				  'ON CONFLICT DO NOTHING logs only the row it inserted');

SELECT mark() AS m \gset
MERGE INTO w USING (VALUES (7, 'lo'), (8, NULL), (103, 'hi'), (104, NULL)) v(id, lab) ON w.id = v.id
WHEN MATCHED THEN UPDATE SET lab = v.lab
WHEN NOT MATCHED THEN INSERT (id, x, lab) VALUES (v.id, 1, v.lab);
SELECT set_eq(format('SELECT * FROM w_log(%s)', :m),
			  $$VALUES (7, 'hi', 'lo'), (8, 'hi', NULL), (103, NULL, 'hi')$$,
			  'MERGE logs the labels it changes and the labeled rows it inserts');

SELECT mark() AS m \gset
UPDATE w SET lab = 'hi', x = x + 1 WHERE id = 9;
UPDATE w SET lab = upper(lab) WHERE id IN (10, 11);
UPDATE w SET lab = lower(lab) WHERE id IN (10, 11);
SELECT results_eq(format('SELECT * FROM w_log(%s)', :m),
				  $$VALUES (10, 'lo', 'LO'), (11, 'lo', 'LO'), (10, 'LO', 'lo'), (11, 'LO', 'lo')$$,
				  'only rows whose label changed are logged, in statement order');

-- a user's trigger that labels other rows while the label UPDATE runs, in
-- a subtransaction that fails and in one that does not
CREATE FUNCTION cascade_label() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.id = 13 THEN
		BEGIN
			UPDATE w SET lab = 'inner' WHERE id = 50;
			RAISE EXCEPTION 'undo';
		EXCEPTION WHEN raise_exception THEN
			NULL;
		END;
		UPDATE w SET lab = 'inner' WHERE id = 51;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER a_cascade AFTER UPDATE OF lab ON w FOR EACH ROW
	WHEN (pg_trigger_depth() < 1) EXECUTE FUNCTION cascade_label();
SELECT mark() AS m \gset
UPDATE w SET lab = 'mid' WHERE id IN (12, 13, 14);
SELECT set_eq(format('SELECT * FROM w_log(%s)', :m),
			  $$VALUES (12, 'lo', 'mid'), (13, 'lo', 'mid'), (14, 'lo', 'mid'), (51, NULL, 'inner')$$,
			  'labels written by a nested trigger are logged once, those it rolled back not at all');
DROP TRIGGER a_cascade ON w;

-- savepoints released, rolled back, nested
SELECT mark() AS m \gset
SAVEPOINT a;
UPDATE w SET lab = 'a' WHERE id = 60;
SAVEPOINT b;
UPDATE w SET lab = 'b' WHERE id = 61;
RELEASE SAVEPOINT b;
SAVEPOINT c;
UPDATE w SET lab = 'c' WHERE id = 62;
ROLLBACK TO SAVEPOINT c;
RELEASE SAVEPOINT a;
SELECT results_eq(format('SELECT * FROM w_log(%s)', :m), $$VALUES (60, NULL, 'a'), (61, NULL, 'b')$$,
				  'released savepoints keep their changes, rolled-back ones lose them');

-- TRUNCATE logs nothing (and fails nothing)
CREATE TABLE w_scratch (LIKE w INCLUDING ALL);
INSERT INTO w_scratch SELECT * FROM w;
SELECT is(hitl.create_model('ws', 'w_scratch', 'lab', ARRAY['x'], prediction_column => 'p',
							confidence_column => 'c', uncertainty_column => 'u',
							options => '{"cv_folds": 0}'), 1, 'model ws');
SELECT lives_ok('TRUNCATE w_scratch', 'TRUNCATE of a model''s table works');
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'ws'), 0::bigint, 'and logs nothing');

-- column-level UPDATE privilege on the label only
SELECT 'hitl_tap_labeler_' || pg_backend_pid() AS labeler \gset
CREATE ROLE :"labeler";
GRANT SELECT (id), UPDATE (lab) ON w TO :"labeler";
SET ROLE :"labeler";
SELECT lives_ok($$UPDATE w SET lab = 'by column grant' WHERE id = 70$$,
				'a role with UPDATE on the label column only labels a row');
RESET ROLE;
SELECT is((SELECT role::text FROM hitl.label_log WHERE model = 'w' AND new_label = 'by column grant'),
		  :'labeler', 'and is recorded as the role that labeled it');
SELECT is((SELECT prediction IS NOT NULL AND confidence > 0 FROM hitl.label_log
		   WHERE model = 'w' AND new_label = 'by column grant'), true,
		  'with the prediction and confidence of the row, which it may not read');

-- ------------------------------------------------------------------------
-- Bulk: 100,000 labels in one statement
-- ------------------------------------------------------------------------

CREATE TABLE big (id int PRIMARY KEY, x float8, lab text);
INSERT INTO big SELECT i, i % 10, CASE WHEN i <= 100 THEN CASE WHEN i % 10 < 5 THEN 'lo' ELSE 'hi' END END
FROM generate_series(1, 100100) i;
SELECT is(hitl.create_model('big', 'big', 'lab', ARRAY['x'], options => '{"cv_folds": 0}'), 1,
		  'a model on 100,100 rows');
SELECT mark() AS m \gset
UPDATE big SET lab = CASE WHEN x < 5 THEN 'lo' ELSE 'hi' END WHERE id > 100;
SELECT results_eq(
	format($$SELECT count(*), count(DISTINCT (row_key->>'id')::int), count(DISTINCT at),
				   max(id) - min(id) + 1, count(*) FILTER (WHERE prediction IS NULL OR confidence IS NULL)
			FROM hitl.label_log WHERE model = 'big' AND id > %s$$, :m),
	$$VALUES (100000::bigint, 100000::bigint, 1::bigint, 100000::bigint, 0::bigint)$$,
	'an UPDATE of 100,000 labels logs 100,000 rows, consecutively, each with its scores');
SELECT is((SELECT count(*) FROM hitl.label_log l JOIN big b ON b.id = (l.row_key->>'id')::int
		   WHERE l.model = 'big' AND l.id > :m AND l.new_label = b.lab
			 AND l.prediction = b.lab_prediction AND l.confidence = b.lab_confidence), 100000::bigint,
		  'every one with the row''s key, new label, prediction and confidence');
SELECT mark() AS m \gset
INSERT INTO big SELECT i, i % 10, CASE WHEN i % 2 = 0 THEN 'lo' END FROM generate_series(100101, 110100) i;
DELETE FROM big WHERE id BETWEEN 100101 AND 102100;
SELECT results_eq(
	format($$SELECT count(*) FILTER (WHERE old_label IS NULL), count(*) FILTER (WHERE new_label IS NULL)
			FROM hitl.label_log WHERE model = 'big' AND id > %s$$, :m),
	$$VALUES (5000::bigint, 1000::bigint)$$,
	'bulk inserts and deletes log the labeled rows only');

-- ------------------------------------------------------------------------
-- The internal functions
-- ------------------------------------------------------------------------

SELECT is(hitl._label_trigger_name('m', 'row'), 'hitl_m_label_row'::name, 'trigger names: hitl_<model>_label_<kind>');
SELECT is(hitl._label_trigger_name(repeat('x', 47), 'trunc'),
		  ('hitl_' || md5(repeat('x', 47)) || '_label_trunc')::name,
		  'a model name too long for that is replaced by its md5');
SELECT ok(octet_length(hitl._label_trigger_name(repeat('é', 25), 'trunc')) <= 63,
		  'trigger names fit in an identifier, for names of 50 bytes');
SELECT lives_ok($$SELECT hitl._attach_label_triggers('w')$$, '_attach_label_triggers again is harmless');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'w'::regclass AND tgname LIKE 'hitl_w_label_%'),
		  5::bigint, 'and adds no trigger');
SELECT lives_ok($$SELECT hitl._attach_label_triggers('no such model')$$,
				'_attach_label_triggers of an unknown model does nothing');
SELECT throws_ok($$SELECT hitl._detach_label_triggers('w', 'w')$$, '55006', NULL,
				 '_detach_label_triggers refuses to remove the triggers of a model in use');
SELECT throws_ok($$SELECT hitl._label_trigger()$$, '39P01',
				 'hitl._label_trigger() must be called as a trigger',
				 'the trigger function is no function to call');
CREATE TRIGGER bad BEFORE UPDATE ON w FOR EACH ROW EXECUTE FUNCTION hitl._label_trigger('w');
SELECT throws_ok($$UPDATE w SET lab = 'x' WHERE id = 90$$, '39P01',
				 'trigger "bad" of table "w" cannot use hitl._label_trigger()', 'nor to fire BEFORE');
DROP TRIGGER bad ON w;
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'w'::regclass AND tgname LIKE 'hitl_w_label_%'),
		  5::bigint, 'the model still has its triggers');

-- a table moved to another schema: harmless, like a rename
CREATE SCHEMA tap_moved;
ALTER TABLE w SET SCHEMA tap_moved;
SELECT is((SELECT status FROM hitl.models WHERE name = 'w'), 'scored', 'moving the table breaks nothing');
SELECT mark() AS m \gset
UPDATE tap_moved.w SET lab = 'moved' WHERE id = 71;
SELECT results_eq(format('SELECT * FROM w_log(%s)', :m), $$VALUES (71, NULL, 'moved')$$,
				  'and its labels are still logged');

-- a column type change is refused while the review view needs the column
SELECT throws_ok($$ALTER TABLE tap_moved.w ALTER COLUMN lab TYPE varchar(20)$$, '0A000', NULL,
				 'the label column cannot change type under a model');
-- an unrelated DDL error is not hidden by the event triggers
SELECT throws_ok($$ALTER TABLE tap_moved.w RENAME COLUMN no_such_column TO other$$, '42703', NULL,
				 'DDL errors of the user come through unchanged');
SELECT is((SELECT status FROM hitl.models WHERE name = 'w'), 'scored', 'and break no model');

-- a role that may not see a model sees none of its log, nor its statistics
SELECT 'hitl_tap_stranger_' || pg_backend_pid() AS stranger \gset
CREATE ROLE :"stranger";
SET ROLE :"stranger";
SELECT is((SELECT count(*) FROM hitl.label_log), 0::bigint, 'a stranger sees no log row');
SELECT is((SELECT count(*) FROM hitl.label_stats), 0::bigint, 'nor any statistics');
RESET ROLE;
SELECT is((SELECT count(*) FROM hitl.label_stats WHERE model = 'w' AND role = :'labeler'), 1::bigint,
		  'the owner sees everyone''s statistics');

-- dropping models: their triggers and logs go
SELECT lives_ok($$SELECT hitl.drop_model(name) FROM hitl.models$$, 'every model dropped');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'hitl\_%\_label\_%'), 0::bigint,
		  'no label trigger is left');
SELECT is((SELECT count(*) FROM hitl.label_log), 0::bigint, 'no log row is left');

SELECT * FROM finish();
ROLLBACK;
