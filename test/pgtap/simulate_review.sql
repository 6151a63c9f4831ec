-- hitl.simulate against a table owner's traps that go beyond casts, and
-- against callers of its internal functions with a search_path of their
-- own.  Each check states the behaviour wanted; they fail until the
-- engine refuses or neutralises the trap.
--
-- 1. The source is read as the caller: a view's functions, and the
--    functions of a row-level security policy, of the table owner's making
--    run as the role that simulates.  They must not.
-- 2. A feature column named twice is refused (22023), as it multiplies a
--    row's terms (and its memory) for nothing.
-- 3. hitl._simulate_run and hitl._simulation_split read the table they are
--    given, whatever the caller's search_path: not another table of the
--    same name, nor through a type of the caller's named float8.
--
-- The file runs outside a transaction block; its roles are dropped at the end.

SELECT plan(8);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

CREATE ROLE tap_rev_owner;
CREATE ROLE tap_rev_victim;
GRANT CREATE ON SCHEMA public TO tap_rev_owner, tap_rev_victim;
CREATE SCHEMA rev_victim_types AUTHORIZATION tap_rev_victim;

-- the owner's traps: a function that records who runs it
SET ROLE tap_rev_owner;
CREATE TABLE rev_calls (who name, via text);
GRANT INSERT ON rev_calls TO PUBLIC;
CREATE FUNCTION rev_spy(v float8) RETURNS float8 LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.rev_calls VALUES (current_user, 'view');
	RETURN v;
END
$$;
CREATE FUNCTION rev_policy() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.rev_calls VALUES (current_user, 'policy');
	RETURN true;
END
$$;
CREATE TABLE rev_base (id int PRIMARY KEY, lab text, x float8);
INSERT INTO rev_base SELECT i, CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END,
							CASE WHEN i % 2 = 0 THEN i ELSE -i END + sin(i)
FROM generate_series(1, 40) i;
CREATE VIEW rev_view AS SELECT id, lab, rev_spy(x) AS x FROM rev_base;
CREATE TABLE rev_rls (LIKE rev_base);
INSERT INTO rev_rls SELECT * FROM rev_base;
ALTER TABLE rev_rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY rev_rls_read ON rev_rls USING (rev_policy());
GRANT SELECT ON rev_view, rev_rls TO tap_rev_victim;
-- a table named t, of other labels, that the victim may read
CREATE TABLE t (lab text, x float8);
INSERT INTO t SELECT CASE WHEN i % 3 = 0 THEN 'spam' ELSE 'ham' END, i FROM generate_series(1, 60) i;
GRANT SELECT ON t TO tap_rev_victim;
RESET ROLE;

-- 1. the victim simulates on them; errors are welcome, the owner's code running is not
SET ROLE tap_rev_victim;
DO $$
BEGIN
	PERFORM hitl.simulate('rev_view', 'lab', ARRAY['x'], '{random}', initial_labels => 4,
						  budget => 8, repeats => 1);
EXCEPTION WHEN OTHERS THEN NULL;
END
$$;
DO $$
BEGIN
	PERFORM hitl.simulate('rev_rls', 'lab', ARRAY['x'], '{random}', initial_labels => 4,
						  budget => 8, repeats => 1);
EXCEPTION WHEN OTHERS THEN NULL;
END
$$;
RESET ROLE;
SELECT is((SELECT count(*) FROM rev_calls WHERE who = 'tap_rev_victim' AND via = 'view'), 0::bigint,
		  'a function of the owner''s view never runs as the role that simulates');
SELECT is((SELECT count(*) FROM rev_calls WHERE who = 'tap_rev_victim' AND via = 'policy'), 0::bigint,
		  'a function of the owner''s row-level security policy never runs as the role that simulates');

-- a superuser is not trapped either: it is a member of no role by being a superuser
SELECT throws_ok($$SELECT hitl.simulate('rev_view', 'lab', ARRAY['x'], '{random}', initial_labels => 4,
										budget => 8, repeats => 1)$$,
				 '42501', NULL, 'a superuser does not read another role''s view through hitl.simulate');
SELECT is((SELECT count(*) FROM rev_calls WHERE who = current_user), 0::bigint,
		  'and the view''s function never ran as the superuser');

-- 2. a feature column named twice
SET ROLE tap_rev_victim;
CREATE TABLE rev_own (lab text, x float8, d text);
INSERT INTO rev_own SELECT CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END, i, 'w' || i
FROM generate_series(1, 40) i;
SELECT throws_ok($$SELECT hitl.simulate('rev_own', 'lab', ARRAY['x', 'x'], '{random}',
										initial_labels => 4, budget => 8, repeats => 1)$$,
				 '22023', NULL, 'a feature column named twice: 22023');
SELECT throws_ok($$SELECT hitl._simulate_run('rev_own', 'lab', ARRAY['d', 'x', 'd'], '{random}',
											 'logistic', 4, 2, 8, 1, 0.2, '{}', 0)$$,
				 '22023', NULL, 'a text column named twice, to the engine: 22023');

-- 3. the caller's search_path: a temporary table t, public.t found first
CREATE TEMP TABLE t (lab text, x float8);
INSERT INTO t SELECT CASE WHEN i % 2 = 0 THEN 'cat' ELSE 'dog' END, i FROM generate_series(1, 40) i;
SET search_path = public, pg_temp;
SELECT is((SELECT array_agg(DISTINCT s.label ORDER BY s.label)
		   FROM hitl._simulation_split('pg_temp.t'::regclass, 'lab', ARRAY['x'], '{random}',
									   'logistic', 4, 2, 8, 1, 0.2, '{}', 0, 1) s),
		  ARRAY['cat', 'dog'], 'the split reads the table it is given, not public.t');
RESET search_path;
-- a domain of the caller's named float8 first in its search_path
CREATE DOMAIN rev_victim_types.float8 AS pg_catalog.float8;
SET search_path = rev_victim_types, pg_catalog, public;
SELECT lives_ok($$SELECT hitl._simulate_run('rev_own', 'lab', ARRAY['x'], '{random}', 'logistic',
											4, 2, 8, 1, 0.2, '{}', 0)$$,
				'a type of the caller''s named float8 does not change the query (no XX000)');
RESET search_path;
DROP TABLE t;
DROP TABLE rev_own;
RESET ROLE;

SELECT * FROM finish();

DROP VIEW rev_view;
DROP TABLE rev_base, rev_rls, rev_calls, t;
DROP FUNCTION rev_spy(float8);
DROP FUNCTION rev_policy();
DROP SCHEMA rev_victim_types CASCADE;
DELETE FROM hitl.simulations;
REVOKE CREATE ON SCHEMA public FROM tap_rev_owner, tap_rev_victim;
DROP ROLE tap_rev_owner, tap_rev_victim;
