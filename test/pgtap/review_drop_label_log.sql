-- The trigger function that deletes a dropped model's label log runs as the
-- owner of hitl's tables (SECURITY DEFINER).  Attached to a table of a
-- user's, with a transition table named like the one it reads, it would
-- delete any model's log and lock any table in SHARE mode as that owner:
-- no role but the owner of hitl's tables may attach it, and it refuses to
-- run as any other trigger than the one on hitl.models.  drop_model still
-- deletes the log of the model it drops.
--
-- Roles are dropped at the end (the database is dropped after the file).

SELECT plan(9);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

SELECT 'hitl_tap_rd_owner_' || pg_backend_pid() AS owner,
	   'hitl_tap_rd_mallory_' || pg_backend_pid() AS mallory \gset
CREATE ROLE :"owner";
CREATE ROLE :"mallory";
CREATE SCHEMA tap_rd AUTHORIZATION :"owner";
CREATE SCHEMA tap_rd_m AUTHORIZATION :"mallory";

SET ROLE :"owner";
CREATE TABLE tap_rd.t (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO tap_rd.t
SELECT i, i % 7, (i * 13) % 11, CASE WHEN i <= 20 THEN CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END END
FROM generate_series(1, 40) i;
SELECT is(hitl.create_model('rd', 'tap_rd.t', 'lab', '{x,y}', options => '{"cv_folds": 0}'), 1,
		  'the owner creates a model');
UPDATE tap_rd.t SET lab = 'odd' WHERE id IN (21, 23);
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'rd'), 2::bigint,
		  'two label changes are logged');
RESET ROLE;

SELECT ok(NOT has_function_privilege('public', 'hitl._drop_label_log()', 'EXECUTE'),
		  'PUBLIC may not execute hitl._drop_label_log()');

-- another role attaches it to a table of its own, to delete the owner's log
SET ROLE :"mallory";
CREATE TABLE tap_rd_m.d (name text, source regclass);
SELECT throws_ok($$CREATE TRIGGER x AFTER DELETE ON tap_rd_m.d REFERENCING OLD TABLE AS dropped_models
				   FOR EACH STATEMENT EXECUTE FUNCTION hitl._drop_label_log()$$,
				 '42501', NULL, 'another role cannot attach hitl._drop_label_log() to its table');
RESET ROLE;

-- a trigger attached before the privilege was revoked (here by a superuser)
CREATE TRIGGER x AFTER DELETE ON tap_rd_m.d REFERENCING OLD TABLE AS dropped_models
	FOR EACH STATEMENT EXECUTE FUNCTION hitl._drop_label_log();
SET ROLE :"mallory";
INSERT INTO tap_rd_m.d VALUES ('rd', NULL);
SELECT throws_ok($$DELETE FROM tap_rd_m.d$$, '42501',
				 'hitl._drop_label_log() runs only as the trigger of hitl.models',
				 'attached to another table, it refuses to run');
RESET ROLE;
DROP TRIGGER x ON tap_rd_m.d;

SET ROLE :"owner";
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'rd'), 2::bigint,
		  'the owner''s log is whole');
-- legitimate use: drop_model deletes the model's log
SELECT lives_ok($$SELECT hitl.drop_model('rd')$$, 'the owner drops the model');
RESET ROLE;
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'rd'), 0::bigint,
		  'dropping the model deleted its log');
SELECT is((SELECT count(*) FROM hitl.models WHERE name = 'rd'), 0::bigint, 'the model is gone');

SELECT * FROM finish();

SET client_min_messages = warning;
DROP SCHEMA tap_rd, tap_rd_m CASCADE;
DROP OWNED BY :"owner", :"mallory";
DROP ROLE :"owner", :"mallory";
