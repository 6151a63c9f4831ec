-- The label triggers while they write the log, and their per-session
-- caches: a label type's cast to text that changes labels while hitl writes
-- the log is refused (0A000) and the statement leaves no log row; later
-- statements of the same session log again; a model broken or dropped in
-- the session is no longer logged, and a model made again with the same
-- name on another table is logged there, with its current version.

BEGIN;
SELECT plan(13);

CREATE EXTENSION hitl;
SET client_min_messages = warning;
CREATE SCHEMA tap_lg;

-- a label type whose cast to text updates the labels of the table
CREATE TYPE tap_lg.mood AS ENUM ('calm', 'angry');
CREATE TABLE tap_lg.t (id int PRIMARY KEY, x float8 NOT NULL, lab tap_lg.mood);
INSERT INTO tap_lg.t SELECT g, g, CASE WHEN g % 2 = 0 THEN 'calm' ELSE 'angry' END::tap_lg.mood
FROM generate_series(1, 10) g;
SELECT is(hitl.create_model('lg', 'tap_lg.t', 'lab', ARRAY['x'], options => '{"cv_folds": 0}'), 1,
		  'a model on an enum label');
CREATE TABLE tap_lg.meddle (on_cast bool NOT NULL);
INSERT INTO tap_lg.meddle VALUES (false);
CREATE FUNCTION tap_lg.mood_text(m tap_lg.mood) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	IF (SELECT on_cast FROM tap_lg.meddle) THEN
		UPDATE tap_lg.t SET lab = 'calm' WHERE id = 9;
	END IF;
	RETURN format('%s', m);
END
$$;
CREATE CAST (tap_lg.mood AS text) WITH FUNCTION tap_lg.mood_text(tap_lg.mood);

SELECT lives_ok($$UPDATE tap_lg.t SET lab = 'calm' WHERE id = 1$$,
				'a label update logs through the harmless cast');
SELECT is((SELECT array_agg(old_label || '>' || new_label) FROM hitl.label_log
		   WHERE model = 'lg' AND row_key = '{"id": 1}'), ARRAY['angry>calm'],
		  'the change is in the log, as the cast writes it');

UPDATE tap_lg.meddle SET on_cast = true;
SELECT throws_ok($$UPDATE tap_lg.t SET lab = 'angry' WHERE id = 2$$, '0A000',
				 'labels of hitl model "lg" cannot change while hitl writes its label log',
				 'a cast that changes labels while the log is written: 0A000');
SELECT throws_ok($$INSERT INTO tap_lg.t VALUES (11, 11, 'angry')$$, '0A000',
				 'labels of hitl model "lg" cannot change while hitl writes its label log',
				 'also when it logs inserted rows');
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'lg'), 1::bigint,
		  'the refused statements left no log row');
SELECT is((SELECT format('%s', lab) FROM tap_lg.t WHERE id = 9), 'angry', 'nor a changed label');

UPDATE tap_lg.meddle SET on_cast = false;
SELECT lives_ok($$UPDATE tap_lg.t SET lab = 'angry' WHERE id = 2$$,
				'the session logs again afterwards');
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'lg'), 2::bigint,
		  'and the change is in the log');

-- a model marked broken (its triggers left in place) is not logged any
-- more, in the session that cached it
UPDATE hitl.models SET status = 'broken' WHERE name = 'lg';
UPDATE tap_lg.t SET lab = 'calm' WHERE id = 3;
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'lg'), 2::bigint,
		  'a model broken in the session logs nothing more');

-- the same name, made again on another table, logs there with its version
SELECT hitl.drop_model('lg');
CREATE TABLE tap_lg.u (k text PRIMARY KEY, x float8 NOT NULL, lab text);
INSERT INTO tap_lg.u SELECT 'k' || g, g, CASE WHEN g % 2 = 0 THEN 'lo' ELSE 'hi' END
FROM generate_series(1, 10) g;
SELECT is(hitl.create_model('lg', 'tap_lg.u', 'lab', ARRAY['x'], options => '{"cv_folds": 0}'), 1,
		  'model lg made again on another table, trained: version 1');
UPDATE tap_lg.t SET lab = 'angry' WHERE id = 3;
UPDATE tap_lg.u SET lab = 'lo' WHERE k = 'k1';
SELECT is((SELECT array_agg(row_key::text || ' ' || old_label || '>' || new_label || ' v' || model_version)
		   FROM hitl.label_log WHERE model = 'lg'),
		  ARRAY['{"k": "k1"} hi>lo v1'],
		  'only the new table''s change is logged, with the model''s current version');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'tap_lg.t'::regclass
		   AND tgname LIKE 'hitl_lg_label_%'), 0::bigint, 'the old table has no label trigger left');

SELECT * FROM finish();
ROLLBACK;
