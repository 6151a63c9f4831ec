-- Attacks on hitl.next_rows and hitl.skip by roles with little or nothing:
-- a role with no privilege, a reader (SELECT only), annotators (SELECT and
-- UPDATE (lab)), the table's owner (not the model's), annotators under the
-- table's row-level security.  Each check tries what the role must not be
-- able to do (learn hidden rows, other models' or roles' reservations and
-- skips; make hitl write rows it may not label, in another name, of rows
-- that do not exist; block others; run its code as the owner of hitl's
-- tables; break the functions with odd input) and that legitimate use
-- still works.  The sessions held open by other roles run through dblink
-- (skipped when dblink cannot connect back to this server).
--
-- The file runs outside a transaction block; its roles are dropped at the end.

SELECT plan(74);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

CREATE ROLE tap_att_nothing;
CREATE ROLE tap_att_reader;
CREATE ROLE tap_att_ann1;
CREATE ROLE tap_att_ann2;
CREATE ROLE tap_att_team;
CREATE ROLE tap_att_towner;

-- what user code ran, and as whom
CREATE TABLE att_spy (who name, what text);
GRANT INSERT, SELECT ON att_spy TO PUBLIC;
CREATE FUNCTION att_spy(what text) RETURNS boolean LANGUAGE plpgsql VOLATILE
AS $$ BEGIN INSERT INTO public.att_spy VALUES (current_user, what); RETURN true; END $$;

-- the model "aa" of a table owned by tap_att_towner (its owner: this role)
CREATE TABLE ta (id int PRIMARY KEY, x float8, y float8, lab text, team text);
INSERT INTO ta SELECT i, i % 10 + (i % 7) / 10.0, (i * 3) % 11,
	CASE WHEN i <= 100 THEN CASE WHEN i % 10 < 5 THEN 'a' ELSE 'b' END END,
	CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END
FROM generate_series(1, 1000) i;
SELECT hitl.create_model('aa', 'ta', 'lab', ARRAY['x', 'y'], options => '{"queue_size": 200}') \gset
ALTER TABLE ta OWNER TO tap_att_towner;
GRANT SELECT ON ta TO tap_att_reader;
GRANT SELECT, UPDATE (lab) ON ta TO tap_att_ann1, tap_att_ann2, tap_att_team;

-- row-level security: ann1 sees every row (through a policy that spies on
-- whom it runs as), ann2 the even rows only, the team every row but may
-- label (UPDATE) the even rows only
ALTER TABLE ta ENABLE ROW LEVEL SECURITY;
CREATE POLICY ta_ann1 ON ta TO tap_att_ann1 USING (att_spy('policy'));
CREATE POLICY ta_ann2 ON ta TO tap_att_ann2 USING (team = 'even');
CREATE POLICY ta_reader ON ta FOR SELECT TO tap_att_reader USING (true);
CREATE POLICY ta_team_read ON ta FOR SELECT TO tap_att_team USING (true);
CREATE POLICY ta_team_label ON ta FOR UPDATE TO tap_att_team USING (team = 'even');

-- the table owner's trigger, were anything to write the table
CREATE FUNCTION att_trigger() RETURNS trigger LANGUAGE plpgsql
AS $$ BEGIN PERFORM att_spy('trigger'); RETURN NEW; END $$;
CREATE TRIGGER ta_spy BEFORE INSERT OR UPDATE OR DELETE ON ta FOR EACH ROW EXECUTE FUNCTION att_trigger();

-- a second model, of a table the annotators may not read
CREATE TABLE tb (id int PRIMARY KEY, x float8, lab text);
INSERT INTO tb SELECT i, i, CASE WHEN i <= 20 THEN CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 200) i;
SELECT hitl.create_model('ab', 'tb', 'lab', ARRAY['x']) \gset
SELECT count(*) AS ab_rows FROM hitl.next_rows('ab', 3) \gset

-- 1. a role with nothing
SET ROLE tap_att_nothing;
SELECT throws_ok($$SELECT * FROM hitl.next_rows('aa', 5)$$, '42501', 'permission denied for model "aa"',
				 'nothing: next_rows 42501');
SELECT throws_ok($$SELECT hitl.skip('aa', '{"id": 500}')$$, '42501', 'permission denied for model "aa"',
				 'nothing: skip 42501');
SELECT is((SELECT count(*) FROM hitl.reservations) + (SELECT count(*) FROM hitl.skips), 0::bigint,
		  'nothing: sees no reservation or skip of any model');
SELECT throws_ok($$SELECT * FROM hitl.assignment_locks$$, '42501', NULL,
				 'nothing: cannot read hitl.assignment_locks');
RESET ROLE;

-- 2. a reader: no rows to take, and hitl's tables are neither writable nor lockable
SET ROLE tap_att_reader;
SELECT throws_ok($$SELECT * FROM hitl.next_rows('aa', 5)$$, '42501',
				 'permission denied to take rows of model "aa"', 'reader: next_rows 42501');
SELECT throws_ok($$SELECT hitl.skip('aa', '{"id": 500}', 'x')$$, '42501',
				 'permission denied to skip rows of model "aa"', 'reader: skip 42501');
SELECT throws_ok($$INSERT INTO hitl.skips VALUES ('aa', '{"id": 500}', 'tap_att_ann1', 'x', now())$$,
				 '42501', NULL, 'reader: cannot write a skip in another role''s name');
SELECT throws_ok($$DELETE FROM hitl.reservations$$, '42501', NULL, 'reader: cannot delete reservations');
SELECT throws_ok($$TRUNCATE hitl.skips$$, '42501', NULL, 'reader: cannot truncate hitl.skips');
SELECT throws_ok($$LOCK TABLE hitl.reservations IN SHARE ROW EXCLUSIVE MODE$$, '42501', NULL,
				 'reader: cannot lock hitl.reservations against writes');
SELECT throws_ok($$LOCK TABLE hitl.assignment_locks IN ACCESS SHARE MODE$$, '42501', NULL,
				 'reader: cannot lock hitl.assignment_locks at all');
SELECT throws_ok($$SELECT * FROM hitl.reservations FOR SHARE$$, '42501', NULL,
				 'reader: cannot lock the rows of hitl.reservations');
SELECT throws_ok($$UPDATE hitl.assignment_locks SET model = model$$, '42501', NULL,
				 'reader: cannot take the model''s turn directly');
RESET ROLE;

-- 3. annotators: only their own name, only their model, only existing rows
SET ROLE tap_att_ann2;
CREATE TEMP TABLE att_b2 AS SELECT * FROM hitl.next_rows('aa', 5);
GRANT SELECT ON att_b2 TO PUBLIC;
RESET ROLE;
SET ROLE tap_att_ann1;
CREATE TEMP TABLE att_b1 AS SELECT * FROM hitl.next_rows('aa', 5);
SELECT is((SELECT count(*) FROM att_b1), 5::bigint, 'ann1 gets 5 rows');
SELECT is((SELECT array_agg(DISTINCT role) FROM hitl.reservations r JOIN att_b1 USING (row_key)
		   WHERE r.model = 'aa'), ARRAY['tap_att_ann1']::name[], 'reserved in its own name only');
SELECT is((SELECT count(*) FROM hitl.reservations r JOIN att_b2 b USING (row_key)
		   WHERE r.model = 'aa' AND r.role = 'tap_att_ann2' AND r.expires_at = b.reserved_until), 5::bigint,
		  'the other annotator''s reservations are untouched');
SELECT throws_ok($$UPDATE hitl.reservations SET expires_at = 'infinity' WHERE role = 'tap_att_ann1'$$,
				 '42501', NULL, 'ann1 cannot make its reservations last forever');
SELECT throws_ok($$DELETE FROM hitl.reservations WHERE role = 'tap_att_ann2'$$, '42501', NULL,
				 'nor delete another role''s');
SELECT throws_ok($$SELECT * FROM hitl.next_rows('ab', 5)$$, '42501', 'permission denied for model "ab"',
				 'no rows of a model whose table it may not read');
SELECT throws_ok($$SELECT hitl.skip('ab', '{"id": 100}')$$, '42501', 'permission denied for model "ab"',
				 'nor skip them');
SELECT is((SELECT count(*) FROM hitl.reservations WHERE model = 'ab'), 0::bigint,
		  'nor see that model''s reservations (keys of its table)');
SELECT throws_ok($$SELECT hitl.skip('aa', '{"id": 5000}')$$, 'P0002', 'model "aa" has no row of key {"id": 5000}',
				 'skipping a row that does not exist: P0002');
SELECT throws_ok($$SELECT hitl.skip('aa', '{"id": "1.5"}')$$, '22P02', NULL,
				 'a key of the wrong type: 22P02, nothing written');
SELECT throws_ok($$SELECT hitl.skip('aa', '[500]')$$, 'P0002', NULL, 'a key that is an array: P0002');
SELECT throws_ok($$SELECT hitl.skip('aa', '{"id": null}')$$, 'P0002', NULL, 'a null key column: P0002');
SELECT lives_ok(format($$SELECT hitl.skip('aa', %L)$$, jsonb_build_object('id', 502, 'pad', repeat('k', 1000000))),
				'a key padded with a megabyte');
SELECT is((SELECT array_agg(row_key) FROM hitl.skips WHERE model = 'aa' AND role = 'tap_att_ann1'),
		  ARRAY['{"id": 502}'::jsonb], 'is kept as the row''s own key, without the padding');
SELECT throws_ok(format($$SELECT hitl.skip('aa', '{"id": 504}', %L)$$, repeat('r', 1000000)), '22001', NULL,
				 'a reason of a megabyte is refused (hitl.skips is written as hitl''s owner)');
SELECT lives_ok($$SELECT hitl.skip('aa', '{"id": 507}', NULL)$$, 'a NULL reason is fine');
SELECT throws_ok($$SELECT hitl.skip('aa', '{"id": 1}')$$, '55000', NULL, 'a labeled row: 55000');
RESET ROLE;

-- 4. odd input
SET ROLE tap_att_ann1;
SELECT throws_ok($$SELECT * FROM hitl.next_rows(NULL, 5)$$, '22004', NULL, 'a NULL model: 22004');
SELECT throws_ok($$SELECT hitl.skip(NULL, '{"id": 1}')$$, '22004', NULL, 'skip of a NULL model: 22004');
SELECT throws_ok($$SELECT * FROM hitl.next_rows('aa', -2147483648)$$, '22023', NULL, 'n the smallest integer: 22023');
SELECT throws_ok($$SELECT * FROM hitl.next_rows('aa', 2147483647)$$, '22023', NULL, 'n the largest integer: 22023');
SELECT count(*) AS free_rows FROM hitl.queue q JOIN ta t ON q.row_key = jsonb_build_object('id', t.id)
WHERE q.model = 'aa' AND t.lab IS NULL
  AND q.row_key NOT IN (SELECT r.row_key FROM hitl.reservations r WHERE r.model = 'aa'
						AND r.role <> 'tap_att_ann1' AND r.expires_at > now())
  AND q.row_key NOT IN (SELECT s.row_key FROM hitl.skips s WHERE s.model = 'aa' AND s.role = 'tap_att_ann1') \gset
SELECT is((SELECT count(*) FROM hitl.next_rows('aa', 1000)), :free_rows::bigint,
		  'n 1000: every unlabeled row of the queue that no one else holds or the role skipped');
SELECT is((SELECT count(*) FROM hitl.reservations WHERE model = 'aa' AND role = 'tap_att_ann1'), :free_rows::bigint,
		  'and no more reservations than rows given');
SELECT is((SELECT count(*) FROM hitl.next_rows('aa', 5)), 5::bigint, 'n 5 again: 5 rows');
RESET ROLE;

-- 5. hitl's statements run nobody's code as the owner of hitl's tables:
-- not the caller's operators and functions on its search_path, not the
-- table owner's policies or triggers
CREATE SCHEMA att_evil AUTHORIZATION tap_att_ann1;
SET ROLE tap_att_ann1;
CREATE FUNCTION att_evil.jne(jsonb, jsonb) RETURNS boolean LANGUAGE sql
AS $$ SELECT public.att_spy('operator') AND pg_catalog.jsonb_ne($1, $2) $$;
CREATE FUNCTION att_evil.jeq(jsonb, jsonb) RETURNS boolean LANGUAGE sql
AS $$ SELECT public.att_spy('operator') AND pg_catalog.jsonb_eq($1, $2) $$;
CREATE FUNCTION att_evil.teq(text, text) RETURNS boolean LANGUAGE sql
AS $$ SELECT public.att_spy('operator') AND pg_catalog.texteq($1, $2) $$;
CREATE FUNCTION att_evil.neq(name, name) RETURNS boolean LANGUAGE sql
AS $$ SELECT public.att_spy('operator') AND pg_catalog.nameeq($1, $2) $$;
CREATE FUNCTION att_evil.clock_timestamp() RETURNS timestamptz LANGUAGE sql
AS $$ SELECT CASE WHEN public.att_spy('function') THEN 'infinity'::pg_catalog.timestamptz END $$;
CREATE OPERATOR att_evil.<> (LEFTARG = jsonb, RIGHTARG = jsonb, FUNCTION = att_evil.jne);
CREATE OPERATOR att_evil.= (LEFTARG = jsonb, RIGHTARG = jsonb, FUNCTION = att_evil.jeq);
CREATE OPERATOR att_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = att_evil.teq);
CREATE OPERATOR att_evil.= (LEFTARG = name, RIGHTARG = name, FUNCTION = att_evil.neq);
-- the calls alone under that search_path (pgTAP's own functions would take its operators)
SET search_path = att_evil, public, pg_catalog;
CREATE TEMP TABLE att_evil_batch AS SELECT * FROM hitl.next_rows('aa', 5);
SELECT hitl.skip('aa', '{"id": 508}', 'evil');
RESET search_path;
SELECT is((SELECT count(*) FROM att_evil_batch), 5::bigint, 'next_rows with a hostile search_path');
SELECT is((SELECT reason FROM hitl.skips WHERE model = 'aa' AND row_key = '{"id": 508}'), 'evil',
		  'skip with a hostile search_path');
RESET ROLE;
SELECT is((SELECT count(*) FROM att_spy WHERE what IN ('operator', 'function')), 0::bigint,
		  'neither ran the caller''s operators or functions');
SELECT ok((SELECT count(*) FROM att_spy WHERE what = 'policy') > 0,
		  'the table''s policies ran (the annotator reads the table)');
SELECT is((SELECT array_agg(DISTINCT who) FROM att_spy), ARRAY['tap_att_ann1']::name[],
		  'as the annotator only, never as the owner of hitl''s tables');
SELECT is((SELECT count(*) FROM att_spy WHERE what = 'trigger'), 0::bigint, 'no trigger of the table ran');

-- 6. the table's owner (not the model's) takes and skips rows in its own name
SET ROLE tap_att_towner;
SELECT is((SELECT count(*) FROM hitl.next_rows('aa', 3)), 3::bigint, 'the table owner takes rows');
SELECT lives_ok($$SELECT hitl.skip('aa', '{"id": 510}')$$, 'and skips one');
SELECT is((SELECT array_agg(DISTINCT role) FROM hitl.reservations WHERE role NOT IN ('tap_att_ann1', 'tap_att_ann2')),
		  ARRAY['tap_att_towner']::name[], 'in its own name');
RESET ROLE;

-- 7. row-level security: what a role does not see stays hidden, what it
-- may not label is neither reserved nor skipped by it
SET ROLE tap_att_ann2;
SELECT is((SELECT count(*) FROM hitl.next_rows('aa', 50) n JOIN ta t ON n.row_key = jsonb_build_object('id', t.id)),
		  50::bigint, 'ann2 gets 50 rows it sees');
SELECT is((SELECT count(*) FROM hitl.reservations r WHERE r.model = 'aa' AND (r.row_key->>'id')::int % 2 = 1), 0::bigint,
		  'it sees no reservation of a row it does not see');
SELECT is((SELECT count(*) FROM hitl.skips s WHERE s.model = 'aa' AND (s.row_key->>'id')::int % 2 = 1), 0::bigint,
		  'nor any skip of one');
SELECT throws_ok($$SELECT hitl.skip('aa', '{"id": 509}')$$, 'P0002', 'model "aa" has no row of key {"id": 509}',
				 'a row it does not see is, to skip, no row at all');
SET row_security = off;
SELECT throws_ok($$SELECT * FROM hitl.next_rows('aa', 5)$$, '42501', NULL, 'row_security off does not lift it: 42501');
SELECT throws_ok($$SELECT hitl.skip('aa', '{"id": 512}')$$, '42501', NULL, 'nor for skip');
RESET row_security;
RESET ROLE;
SET ROLE tap_att_team;
CREATE TEMP TABLE att_team AS SELECT n.*, t.team FROM hitl.next_rows('aa', 20) n
	JOIN ta t ON n.row_key = jsonb_build_object('id', t.id);
SELECT lives_ok($$UPDATE ta SET lab = lab WHERE id = 2$$, 'the team labels an even row');
SELECT is((SELECT count(*) FROM att_team WHERE team = 'odd'), 0::bigint,
		  'the team is given no row its UPDATE policy keeps it from labeling');
SELECT throws_ok($$SELECT hitl.skip('aa', '{"id": 511}', 'not mine')$$, 'P0002', NULL,
				 'nor may it skip one (its skips count toward everyone''s skip_limit)');
RESET ROLE;

-- 8. a model whose table was altered or dropped
CREATE TABLE ty (id int PRIMARY KEY, x float8, lab text);
INSERT INTO ty SELECT i, i, CASE WHEN i <= 20 THEN CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 100) i;
SELECT hitl.create_model('ay', 'ty', 'lab', ARRAY['x']) \gset
CREATE TABLE tz (LIKE ty INCLUDING ALL);
INSERT INTO tz SELECT * FROM ty;
SELECT hitl.create_model('az', 'tz', 'lab', ARRAY['x']) \gset
GRANT SELECT, UPDATE (lab) ON ty, tz TO tap_att_ann1;
ALTER TABLE ty RENAME COLUMN id TO ident;
SET ROLE tap_att_ann1;
SELECT throws_ok($$SELECT * FROM hitl.next_rows('ay', 5)$$, '0A000', NULL,
				 'a renamed key column: next_rows fails (0A000), nothing reserved');
SELECT throws_ok($$SELECT hitl.skip('ay', '{"id": 50}')$$, '0A000', NULL, 'and skip too');
RESET ROLE;
ALTER TABLE ty RENAME COLUMN ident TO id;
ALTER TABLE ty RENAME COLUMN lab TO lab2;
SET ROLE tap_att_ann1;
SELECT throws_ok($$SELECT * FROM hitl.next_rows('ay', 5)$$, '42501', NULL,
				 'a renamed label column: next_rows fails (42501), nothing reserved');
RESET ROLE;
SELECT is((SELECT count(*) FROM hitl.reservations WHERE model = 'ay'), 0::bigint, 'no reservation of the broken model');
DROP TABLE tz CASCADE;
SET ROLE tap_att_ann1;
SELECT throws_ok($$SELECT * FROM hitl.next_rows('az', 5)$$, '42501', 'permission denied for model "az"',
				 'a dropped table: an annotator no longer sees the model');
RESET ROLE;
SELECT throws_ok($$SELECT * FROM hitl.next_rows('az', 5)$$, '42P01', NULL, 'the superuser: 42P01');
SELECT throws_ok($$SELECT hitl.skip('az', '{"id": 50}')$$, '42P01', NULL, 'skip: 42P01');

-- a key column of a domain whose check runs user code: hitl compares keys
-- as the base type and never casts to the domain
CREATE DOMAIN att_key AS int CHECK (att_spy('domain'));
CREATE TABLE tdom (id att_key PRIMARY KEY, x float8, lab text);
INSERT INTO tdom SELECT i, i, CASE WHEN i <= 20 THEN CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 100) i;
SELECT hitl.create_model('adom', 'tdom', 'lab', ARRAY['x']) \gset
GRANT SELECT, UPDATE (lab) ON tdom TO tap_att_ann1;
SELECT count(*) AS domain_checks FROM att_spy WHERE what = 'domain' \gset
SET ROLE tap_att_ann1;
SELECT is((SELECT count(*) FROM hitl.next_rows('adom', 3)), 3::bigint, 'a key of a domain: next_rows');
SELECT lives_ok($$SELECT hitl.skip('adom', '{"id": 90}')$$, 'and skip');
RESET ROLE;
SELECT is((SELECT count(*) FROM att_spy WHERE what = 'domain'), :domain_checks::bigint,
		  'neither ran the domain''s check');

-- 9. other sessions (dblink, as this role, each SET ROLE as an annotator)
SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'dblink') AS have_dblink \gset
\if :have_dblink
CREATE EXTENSION IF NOT EXISTS dblink;
CREATE FUNCTION att_connect(conn text, role name) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	PERFORM dblink_connect(conn, format('host=%s port=%s dbname=%s user=%s',
		split_part(current_setting('unix_socket_directories'), ',', 1), current_setting('port'),
		current_database(), session_user));
	PERFORM dblink_exec(conn, format('SET ROLE %I', role));
	RETURN true;
EXCEPTION WHEN OTHERS THEN
	RETURN false;
END $$;
SELECT att_connect('att_a', 'tap_att_ann1') AND att_connect('att_b', 'tap_att_ann2')
	AND att_connect('att_c', current_user) AS have_dblink \gset
\endif
\if :have_dblink
-- wait until a backend waits for a lock
CREATE FUNCTION att_wait_lock(p int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	i int := 0;
BEGIN
	WHILE NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = p AND wait_event_type = 'Lock') LOOP
		PERFORM pg_sleep(0.01);
		i := i + 1;
		IF i > 6000 THEN RETURN false; END IF;
	END LOOP;
	RETURN true;
END $$;
-- an annotator holding its transaction open after next_rows (new
-- reservations) or skip
DELETE FROM hitl.reservations WHERE model = 'aa' AND role = 'tap_att_ann1';
SELECT dblink_exec('att_a', 'BEGIN');
SELECT * FROM dblink('att_a', $$SELECT count(*) FROM hitl.next_rows('aa', 3)$$) AS t(n bigint);
SET lock_timeout = '500ms';
SET ROLE tap_att_ann2;
SELECT throws_ok($$SELECT * FROM hitl.next_rows('aa', 5)$$, '55P03', NULL,
				 'an open transaction after next_rows holds the other annotators'' calls (as documented)');
RESET ROLE;
SELECT lives_ok($$SELECT hitl.train('aa')$$,
				'but not the model''s training (hitl.train, the worker)');
SELECT dblink_exec('att_a', 'COMMIT');
SELECT dblink_exec('att_a', 'BEGIN');
SELECT * FROM dblink('att_a', $$SELECT hitl.skip('aa', '{"id": 514}')::text$$) AS t(n text);
SELECT lives_ok($$SELECT hitl.train('aa')$$, 'nor does an open transaction after skip');
SELECT dblink_exec('att_a', 'ROLLBACK');
RESET lock_timeout;

-- REPEATABLE READ: a caller whose snapshot is older than another caller's batch
SELECT dblink_exec('att_b', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
SELECT * FROM dblink('att_b', 'SELECT 1') AS t(n int);
SELECT * FROM dblink('att_a', $$SELECT count(*) FROM hitl.next_rows('aa', 3)$$) AS t(n bigint);
SELECT throws_ok($$SELECT * FROM dblink('att_b', 'SELECT count(*) FROM hitl.next_rows(''aa'', 3)') AS t(n bigint)$$,
				 '40001', NULL, 'REPEATABLE READ behind another caller: 40001, to retry');
SELECT dblink_exec('att_b', 'ROLLBACK');
-- REPEATABLE READ: a caller whose snapshot is older than a label
DELETE FROM hitl.reservations WHERE model = 'aa';
SELECT dblink_exec('att_b', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
SELECT * FROM dblink('att_b', 'SELECT 1') AS t(n int);
UPDATE ta SET lab = 'a' WHERE jsonb_build_object('id', id) IN
	(SELECT q.row_key FROM hitl.queue q JOIN ta t ON q.row_key = jsonb_build_object('id', t.id)
	 WHERE q.model = 'aa' AND t.lab IS NULL AND t.team = 'even' ORDER BY q.rank LIMIT 10);
CREATE FUNCTION att_stale_batch() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RETURN (SELECT count(*) FROM dblink('att_b', 'SELECT row_key FROM hitl.next_rows(''aa'', 5)') AS b(k jsonb)
			JOIN ta t ON b.k = jsonb_build_object('id', t.id) WHERE t.lab IS NOT NULL)::text;
EXCEPTION WHEN serialization_failure THEN
	RETURN 'serialization failure';
END $$;
SELECT ok(att_stale_batch() IN ('0', 'serialization failure'),
		  'REPEATABLE READ behind a label: no labeled row reserved (none, or 40001)');
SELECT dblink_exec('att_b', 'ROLLBACK');
SELECT dblink_exec('att_b', 'BEGIN ISOLATION LEVEL SERIALIZABLE');
SELECT is((SELECT n FROM dblink('att_b', $$SELECT count(*) FROM hitl.next_rows('aa', 3)$$) AS t(n bigint)), 3::bigint,
		  'SERIALIZABLE, alone: 3 rows');
SELECT is(dblink_exec('att_b', 'COMMIT'), 'COMMIT', 'and it commits');

-- a model dropped while next_rows waits for it
ALTER TABLE ty RENAME COLUMN lab2 TO lab;
SELECT dblink_exec('att_c', 'BEGIN');
SELECT * FROM dblink('att_c', $$SELECT hitl.drop_model('ay')::text$$) AS t(x text);
SELECT pid AS att_a_pid FROM dblink('att_a', 'SELECT pg_backend_pid()') AS t(pid int) \gset
SELECT dblink_send_query('att_a', $$SELECT count(*) FROM hitl.next_rows('ay', 3)$$);
SELECT ok(att_wait_lock(:att_a_pid), 'next_rows waits for the model being dropped');
SELECT dblink_exec('att_c', 'COMMIT');
SELECT throws_ok($$SELECT * FROM dblink_get_result('att_a') AS t(n bigint)$$, '42704', NULL,
				 'then fails as for a dropped model (42704), not on hitl''s foreign key');
SELECT dblink_disconnect('att_a');
SELECT dblink_disconnect('att_b');
SELECT dblink_disconnect('att_c');
DROP FUNCTION att_wait_lock(int);
DROP FUNCTION att_stale_batch();
\else
SELECT skip('dblink cannot connect back to this server', 9);
\endif

SELECT * FROM finish();

SELECT hitl.drop_model('aa');
SELECT hitl.drop_model('ab');
SELECT hitl.drop_model('az');
SELECT hitl.drop_model('adom');
SELECT hitl.drop_model(name) FROM hitl.models WHERE name = 'ay';
DROP TABLE ta, tb, ty, tdom, att_spy CASCADE;
DROP DOMAIN att_key;
DROP SCHEMA att_evil CASCADE;
DROP FUNCTION IF EXISTS att_connect(text, name);
DROP FUNCTION att_spy(text), att_trigger();
DROP OWNED BY tap_att_nothing, tap_att_reader, tap_att_ann1, tap_att_ann2, tap_att_team, tap_att_towner;
DROP ROLE tap_att_nothing, tap_att_reader, tap_att_ann1, tap_att_ann2, tap_att_team, tap_att_towner;
