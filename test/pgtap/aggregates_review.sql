-- The training aggregates' functions called by an unprivileged role with
-- hand-made states: forged headers, odd arrays and sums are refused with
-- user SQLSTATEs (never XX000), the values passed in are never changed
-- where they lie (a table's column, a constant), and the Citus check of
-- create_model is not fooled by objects a role makes on its search_path.
-- Runs outside a transaction block; drops its roles at the end.

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hitl;
DROP ROLE IF EXISTS agg_rv_mallory;
CREATE ROLE agg_rv_mallory;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO agg_rv_mallory', current_database()); END $$;

SELECT plan(30);

-- The SQLSTATE a statement raises, NULL when it succeeds
CREATE FUNCTION pg_temp.sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.sqlstate_of(text) TO agg_rv_mallory;

SET ROLE agg_rv_mallory;
CREATE SCHEMA agg_rv AUTHORIZATION agg_rv_mallory;
SET search_path = agg_rv, public;

-- ----------------------------------------------------------------------
-- Forged states
-- ----------------------------------------------------------------------

SELECT throws_ok($$SELECT hitl._agg_combine('{{1,2,1,0,0,0,0}}', '{1,2,1,5,6,7,8}')$$, '22023', NULL,
				 'combine: a two-dimensional state is refused');
SELECT throws_ok($$SELECT hitl._agg_combine('{1,2,1,0,0,0,NULL}', '{1,2,1,5,6,7,8}')$$, '22023', NULL,
				 'combine: a state with a NULL is refused');
SELECT throws_ok($$SELECT hitl._agg_combine('{1,2,NaN,0,0,0,0}', '{1,2,1,5,6,7,8}')$$, '22023', NULL,
				 'combine: a NaN in the header is refused');
SELECT throws_ok($$SELECT hitl._agg_combine('{1,2,1,0,0,0}', '{1,2,1,5,6,7}')$$, '22023', NULL,
				 'combine: a header that does not match the length is refused');
SELECT throws_ok($$SELECT hitl._agg_combine('{1,2,1,0,0,0,0}', '{1,2,2,0,0,0,0,0,0}')$$, '22023', NULL,
				 'combine: states of different features are refused');
SELECT throws_ok($$SELECT hitl._agg_combine('{1,2,1,0,0,0,0}', '{2,2,1,0,0,0,0}')$$, '22023', NULL,
				 'combine: states of different kinds are refused');
SELECT throws_ok($$SELECT hitl._logreg_grad_final('{2,2.5,1,1,2,3,4}')$$, '22023', NULL,
				 'final: a fractional number of classes is refused');
SELECT throws_ok($$SELECT hitl._logreg_grad_final('{2,4294967298,1,1,2,3,4}')$$, '22023', NULL,
				 'final: a number of classes beyond int is refused');
SELECT throws_ok($$SELECT hitl._logreg_grad_final('{2,100000,1000000}')$$, '22023', NULL,
				 'final: a header of a state beyond the limit is refused');
SELECT throws_ok($$SELECT hitl._nb_stats_final('{}')$$, '22023', NULL,
				 'final: an empty array is refused');
SELECT throws_ok($$SELECT hitl._nb_stats_final('{1,2,1,NaN,0,0,0}')$$, '22000', NULL,
				 'final: a NaN sum is refused');
SELECT throws_ok($$SELECT hitl._logreg_grad_final('{2,2,1,1,Infinity,3,4}')$$, '22000', NULL,
				 'final: an infinite sum is refused');
SELECT is(hitl._nb_stats_final('[0:6]={1,2,1,1,2,3,4}'), '{{1,3},{2,4}}'::float8[],
		  'final: a state with lower bound 0 is read by its elements');
SELECT throws_ok($$SELECT hitl._nb_stats(0, array_fill(0::float8, ARRAY[1000000]), 100000)$$, '54000', NULL,
				 '_nb_stats: a state beyond the limit is refused before it is allocated');

-- Transition functions called directly: a user's error, not an internal one
SELECT isnt(pg_temp.sqlstate_of($$SELECT hitl._nb_stats_step(NULL, 0, '{1}', 2)$$), 'XX000',
			'_nb_stats_step outside an aggregate raises a user SQLSTATE, not XX000');
SELECT isnt(pg_temp.sqlstate_of($$SELECT hitl._nb_stats_step('{1,2,1,0,0,0,0}', 0, '{1}', 2)$$), 'XX000',
			'_nb_stats_step outside an aggregate on a forged state raises a user SQLSTATE, not XX000');
SELECT isnt(pg_temp.sqlstate_of($$SELECT hitl._logreg_grad_step(NULL, 0, '{1}', '{0,0}', 2)$$), 'XX000',
			'_logreg_grad_step outside an aggregate raises a user SQLSTATE, not XX000');

-- ----------------------------------------------------------------------
-- Arguments are not changed where they lie
-- ----------------------------------------------------------------------

CREATE TABLE agg_rv.st (id int, s float8[]);
INSERT INTO agg_rv.st VALUES (1, '{1,2,1,10,20,30,40}'), (2, '{1,2,1,1,1,1,1}'),
	(3, '{1,2,1,100,100,100,100}');
CREATE TABLE agg_rv.big (id int, s float8[]);
ALTER TABLE agg_rv.big ALTER s SET STORAGE EXTERNAL;
INSERT INTO agg_rv.big SELECT g, ARRAY[1, 2, 9998]::float8[] || array_fill(g::float8, ARRAY[2 * 9999])
	FROM generate_series(1, 3) g;

SELECT is(hitl._agg_combine(s, s), '{1,2,1,20,40,60,80}'::float8[],
		  'combine called directly: the sum') FROM agg_rv.st WHERE id = 1;
SELECT is((SELECT s FROM agg_rv.st WHERE id = 1), '{1,2,1,10,20,30,40}'::float8[],
		  'combine called directly leaves its first argument (a column value) as it was');

CREATE AGGREGATE agg_rv.comb(float8[]) (SFUNC = hitl._agg_combine, STYPE = float8[]);
CREATE AGGREGATE agg_rv.comb_mv(float8[]) (SFUNC = hitl._agg_combine, STYPE = float8[],
	MSFUNC = hitl._agg_combine, MINVFUNC = hitl._agg_combine, MSTYPE = float8[]);
CREATE AGGREGATE agg_rv.nb_init(integer, float8[], integer)
	(SFUNC = hitl._nb_stats_step, STYPE = float8[], INITCOND = '{1,2,1,0,0,0,0}');

SELECT is((SELECT agg_rv.comb(s) FROM agg_rv.st), '{1,2,1,111,121,131,141}'::float8[],
		  'a role''s aggregate with the combine as its transition: the sum');
SELECT is((SELECT string_agg(x::text, ';' ORDER BY id) FROM
			(SELECT id, agg_rv.comb(s) OVER (ORDER BY id ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) x
			 FROM agg_rv.st) w),
		  '{1,2,1,111,121,131,141};{1,2,1,101,101,101,101};{1,2,1,100,100,100,100}',
		  'as a window aggregate over a moving frame: the sums of each frame');
SELECT is((SELECT count(*) FROM (SELECT agg_rv.comb_mv(s) OVER (ORDER BY id ROWS 1 PRECEDING) FROM agg_rv.st) w),
		  3::bigint, 'as a moving aggregate''s inverse: runs');
SELECT is((SELECT string_agg(s::text, ';' ORDER BY id) FROM agg_rv.st),
		  '{1,2,1,10,20,30,40};{1,2,1,1,1,1,1};{1,2,1,100,100,100,100}',
		  'the table''s values are as they were after the aggregates that changed states in place');
SELECT is((SELECT (agg_rv.comb(s))[4:6] FROM agg_rv.big), '{6,6,6}'::float8[],
		  'states read from toasted values: the sum');
SELECT is((SELECT array_agg(s[4] ORDER BY id) FROM agg_rv.big), '{1,2,3}'::float8[],
		  'the toasted values are as they were');
SELECT is((SELECT agg_rv.nb_init(c, f, 2) FROM (VALUES (0, '{1}'::float8[]), (1, '{2}')) v(c, f)),
		  '{1,2,1,1,1,1,2}'::float8[], 'a forged INITCOND: the rows add to it');
SELECT is((SELECT agg_rv.nb_init(c, f, 2) FROM (VALUES (0, '{1}'::float8[]), (1, '{2}')) v(c, f)),
		  '{1,2,1,1,1,1,2}'::float8[], 'a forged INITCOND is not changed by the first query');

-- ----------------------------------------------------------------------
-- The Citus check against look-alike objects
-- ----------------------------------------------------------------------

CREATE TABLE agg_rv.leads (id int PRIMARY KEY, score float8, visits float8, outcome text);
INSERT INTO agg_rv.leads SELECT g, g, g % 3, CASE WHEN g % 2 = 0 THEN 'a' WHEN g < 10 THEN 'b' END
	FROM generate_series(1, 40) g;
CREATE TABLE agg_rv.pg_dist_partition (logicalrelid regclass, partmethod "char", repmodel "char",
									   colocationid int);
INSERT INTO agg_rv.pg_dist_partition VALUES ('agg_rv.leads', 'h', 'c', 1);
CREATE TABLE agg_rv.pg_extension (extname name);
INSERT INTO agg_rv.pg_extension VALUES ('citus');
CREATE TEMP TABLE pg_dist_partition (logicalrelid regclass, partmethod "char", repmodel "char",
									 colocationid int);
INSERT INTO pg_dist_partition VALUES ('agg_rv.leads', 'h', 'c', 1);
CREATE TEMP TABLE pg_extension (extname name);
INSERT INTO pg_extension VALUES ('citus');
CREATE FUNCTION agg_rv.to_regclass(text) RETURNS regclass LANGUAGE sql AS $$SELECT 'agg_rv.leads'::regclass$$;
SET search_path = pg_temp, agg_rv, public;

SELECT is(hitl._citus_table_kind('agg_rv.leads'), NULL,
		  '_citus_table_kind: look-alike pg_extension and pg_dist_partition on the search_path are ignored');
SELECT is(hitl.create_model('agg_rv_m', 'agg_rv.leads', 'outcome', ARRAY['score', 'visits']::name[]), 1,
		  'create_model takes the table');
SELECT is(hitl.train('agg_rv_m'), 1, 'train takes it');

SELECT * FROM finish();

RESET ROLE;
RESET search_path;
SET client_min_messages = warning;
SELECT hitl.drop_model('agg_rv_m');
DROP SCHEMA agg_rv CASCADE;
DROP OWNED BY agg_rv_mallory;
DO $$ BEGIN EXECUTE format('REVOKE CREATE ON DATABASE %I FROM agg_rv_mallory', current_database()); END $$;
DROP ROLE agg_rv_mallory;
