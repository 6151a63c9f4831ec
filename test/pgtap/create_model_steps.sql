-- hitl.create_model as a sequence of named steps (hitl._check_* and
-- hitl._first_training): they exist, run as the caller like create_model
-- (plain PL/pgSQL, EXECUTE for PUBLIC since every role that creates a
-- model calls them), the checks write nothing, and create_model calls each
-- one.  Called directly, a step gives a role nothing it could not do or
-- read otherwise; create_model keeps the order of its errors, and a
-- failure after the output columns were added leaves nothing behind.

BEGIN;
SELECT plan(31);

-- roles of this transaction only, with names no other run uses
SELECT 'hitl_cms_owner_' || pg_backend_pid() AS owner_role,
	   'hitl_cms_nobody_' || pg_backend_pid() AS nobody_role \gset
CREATE ROLE :"owner_role";
CREATE ROLE :"nobody_role";
GRANT CREATE ON SCHEMA public TO :"owner_role";

CREATE EXTENSION hitl;

CREATE TEMP TABLE steps (sig text PRIMARY KEY);
INSERT INTO steps VALUES
	('hitl._check_model_name(text)'),
	('hitl._check_required(regclass,name,name[])'),
	('hitl._check_name_free(text)'),
	('hitl._check_table(regclass)'),
	('hitl._check_key(regclass)'),
	('hitl._check_label_column(regclass,name)'),
	('hitl._check_feature_columns(regclass,name,name[])'),
	('hitl._check_output_columns(regclass,name,name[],name[],name[],regtype[])'),
	('hitl._check_options(text,text,jsonb,boolean)'),
	('hitl._citus_check_model(regclass,boolean,text,jsonb)'),
	('hitl._check_view_name(name,text)'),
	('hitl._first_training(text,regclass,name,integer)');
GRANT SELECT ON steps TO PUBLIC;

-- ----------------------------------------------------------------------
-- The steps and their privileges
-- ----------------------------------------------------------------------

SELECT is((SELECT array_agg(sig ORDER BY sig) FROM steps WHERE to_regprocedure(sig) IS NULL),
		  NULL, 'every step of create_model exists');
SELECT is((SELECT array_agg(s.sig ORDER BY s.sig) FROM steps s
		   JOIN pg_proc p ON p.oid = to_regprocedure(s.sig)
		   JOIN pg_language l ON l.oid = p.prolang
		   WHERE p.prosecdef OR l.lanname <> 'plpgsql'),
		  NULL, 'each is PL/pgSQL and runs as its caller (not SECURITY DEFINER)');
SELECT is((SELECT array_agg(s.sig ORDER BY s.sig) FROM steps s
		   JOIN pg_proc p ON p.oid = to_regprocedure(s.sig)
		   WHERE NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)
			  OR obj_description(p.oid, 'pg_proc') IS NULL),
		  NULL, 'each sets search_path = pg_catalog, pg_temp and carries a comment');
SELECT is((SELECT array_agg(sig ORDER BY sig) FROM steps
		   WHERE NOT has_function_privilege('public', sig, 'EXECUTE')),
		  NULL, 'PUBLIC may execute each, as it may execute create_model');
SELECT is((SELECT array_agg(s.sig ORDER BY s.sig) FROM steps s
		   JOIN pg_proc p ON p.oid = to_regprocedure(s.sig)
		   WHERE p.provolatile <> 's' AND p.proname <> '_first_training'),
		  NULL, 'the checks are STABLE: they write nothing');
SELECT ok(NOT p.prosecdef AND has_function_privilege('public', p.oid, 'EXECUTE'),
		  'create_model itself runs as its caller, for PUBLIC, as before')
FROM pg_proc p
WHERE p.oid = 'hitl.create_model(text,regclass,name,name[],name,name,name,text,text,jsonb)'::regprocedure;
SELECT is((SELECT array_agg(s.sig ORDER BY s.sig) FROM steps s
		   JOIN pg_proc p ON p.oid = to_regprocedure(s.sig)
		   WHERE position('hitl.' || p.proname || '(' IN
						  (SELECT c.prosrc FROM pg_proc c
						   WHERE c.oid = 'hitl.create_model(text,regclass,name,name[],name,name,name,text,text,jsonb)'::regprocedure)) = 0),
		  NULL, 'create_model calls every step');

-- ----------------------------------------------------------------------
-- The owner's table, and what a step answers the owner
-- ----------------------------------------------------------------------

SET ROLE :"owner_role";
CREATE TABLE public.st_items (id int PRIMARY KEY, x float8, emb float8[], body text, lab text);
INSERT INTO public.st_items
SELECT i, i % 7, ARRAY[i, i % 3]::float8[], 'word ' || i,
	   CASE WHEN i <= 20 THEN (ARRAY['p', 'q'])[1 + i % 2] END
FROM generate_series(1, 40) i;

SELECT is(hitl._check_table('public.st_items'), 'public'::name, '_check_table: the table''s schema');
SELECT is(hitl._citus_table_kind('public.st_items'), NULL,
		  '_citus_table_kind: NULL without Citus in the database');
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')
		  AND to_regclass('pg_catalog.pg_dist_partition') IS NULL,
		  'and Citus'' catalog was not needed for it');
SELECT is(hitl._citus_shard('public.st_items'), false, '_citus_shard: false without Citus');
SELECT is(hitl._citus_worker_node(), false, '_citus_worker_node: false without Citus');
SELECT is(hitl._check_key('public.st_items'), ARRAY['id']::name[], '_check_key: the key columns');
SELECT is(hitl._check_label_column('public.st_items', 'lab'), 'text'::regtype,
		  '_check_label_column: the label''s type');
SELECT is(hitl._check_feature_columns('public.st_items', 'lab', ARRAY['x', 'emb']), false,
		  '_check_feature_columns: no text among x, emb');
SELECT is(hitl._check_feature_columns('public.st_items', 'lab', ARRAY['x', 'body']), true,
		  'text among x, body');
SELECT is(hitl._check_output_columns('public.st_items', 'lab', ARRAY['x'], ARRAY['id'],
									 ARRAY['lab_prediction', 'lab_confidence', 'lab_uncertainty'],
									 ARRAY['text', 'float8', 'float8']::regtype[]),
		  ARRAY['lab_prediction', 'lab_confidence', 'lab_uncertainty']::name[],
		  '_check_output_columns: the three columns to add');
SELECT is(hitl._check_options('logistic', 'margin', '{"C": 2}', false),
		  hitl._resolve_options('{"C": 2}', 'logistic', false),
		  '_check_options: the options with their defaults');
SELECT is(hitl.create_model('st', 'public.st_items', 'lab', ARRAY['x', 'emb']), 1,
		  'the owner creates a model through its steps: version 1');

-- ----------------------------------------------------------------------
-- A role with nothing gets nothing more from a step than from create_model
-- ----------------------------------------------------------------------

SET ROLE :"nobody_role";
SELECT throws_ok($$SELECT hitl.create_model('st2', 'public.st_items', 'lab', ARRAY['x'])$$,
				 '42501', 'permission denied for table public.st_items',
				 'create_model: a role with nothing on the table is refused');
SELECT throws_ok($$SELECT hitl._check_table('public.st_items')$$,
				 '42501', 'permission denied for table public.st_items',
				 '_check_table called directly: the same refusal');
SELECT throws_ok($$SELECT hitl._check_feature_columns('public.st_items', 'lab', ARRAY['emb'])$$,
				 '42501', NULL,
				 '_check_feature_columns does not read the arrays of a table the role cannot read');
SELECT throws_ok($$SELECT hitl._first_training('st', 'public.st_items', 'lab', 2)$$,
				 '42501', NULL,
				 '_first_training neither counts the labels of such a table nor trains its model');
RESET ROLE;
SELECT is((SELECT max(version) FROM hitl.model_versions WHERE model = 'st'), 1,
		  'the model still has one version');

-- ----------------------------------------------------------------------
-- create_model's errors keep their order
-- ----------------------------------------------------------------------

SET ROLE :"owner_role";
SELECT throws_ok($$SELECT hitl.create_model('', NULL, NULL, NULL)$$,
				 '22023', 'model name must not be empty', 'the name first');
SELECT throws_ok($$SELECT hitl.create_model('st', NULL, 'lab', ARRAY['x'])$$,
				 '22004', 'source, label_column and feature_columns must not be null',
				 'then the missing arguments, before the name taken');
SELECT throws_ok($$SELECT hitl.create_model('st', 'public.st_items', 'lab', ARRAY['x'])$$,
				 '42710', 'model "st" already exists', 'then the name taken');
SELECT throws_ok($$SELECT hitl.create_model('st2', 'public.st_items', 'nope', ARRAY['lab'])$$,
				 '42703', 'column "nope" of table public.st_items does not exist',
				 'the label column before the features');
SELECT throws_ok($$SELECT hitl.create_model('st2', 'public.st_items', 'body', ARRAY['x'], algorithm => 'svm', strategy => 'nope')$$,
				 '22023', 'unknown algorithm "svm"', 'the algorithm before the strategy');

-- a failure after the output columns were added leaves nothing behind
CREATE VIEW public.st3_review_queue AS SELECT 1 AS one;
SELECT throws_ok($$SELECT hitl.create_model('st3', 'public.st_items', 'body', ARRAY['x'])$$,
				 '42P07', 'relation "public.st3_review_queue" already exists',
				 'the review view''s name is taken');
SELECT is((SELECT count(*) FROM pg_attribute
		   WHERE attrelid = 'public.st_items'::regclass AND attname LIKE 'body\_%' AND NOT attisdropped),
		  0::bigint, 'and the output columns it had added are gone');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
