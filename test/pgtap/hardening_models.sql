-- Hardening of hitl's models: hitl's tables are written only by hitl's
-- functions, no view or function of hitl runs a user's code with another
-- role's rights, stored versions are checked before use, and the small
-- things: one error rule for hidden models, no duplicate versions, plurals,
-- grants of rebuilt review views, CREATE on the table's schema.

BEGIN;
SELECT plan(200);

-- roles of this transaction only, with names no other run uses
SELECT 'hitl_hm_owner_' || pg_backend_pid() AS owner_role,
	   'hitl_hm_updater_' || pg_backend_pid() AS updater_role,
	   'hitl_hm_reader_' || pg_backend_pid() AS reader_role,
	   'hitl_hm_labeler_' || pg_backend_pid() AS labeler_role,
	   'hitl_hm_nobody_' || pg_backend_pid() AS nobody_role,
	   'hitl_hm_heir_' || pg_backend_pid() AS heir_role,
	   'hitl_hm_stranger_' || pg_backend_pid() AS stranger_role,
	   current_user AS superuser \gset
CREATE ROLE :"owner_role";
CREATE ROLE :"updater_role";
CREATE ROLE :"reader_role";
CREATE ROLE :"labeler_role";
CREATE ROLE :"nobody_role";
CREATE ROLE :"heir_role";
CREATE ROLE :"stranger_role";
GRANT :"heir_role" TO :"owner_role";

-- Who ran what: every planted function records current_user here
CREATE TABLE public.ran_as (what text, who name);
GRANT INSERT, SELECT ON public.ran_as TO PUBLIC;

-- The SQLSTATE and hint (or detail) of a failing statement
CREATE FUNCTION pg_temp.fails_with(stmt text, OUT state text, OUT hint text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	state := 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, hint = PG_EXCEPTION_HINT,
							detail = PG_EXCEPTION_DETAIL;
END
$$;

-- ----------------------------------------------------------------------
-- Upgrade from 0.1.0: an existing review view over a key of a domain with
-- a check is built again without the domain, keeping its owner and grants
-- ----------------------------------------------------------------------

CREATE EXTENSION hitl VERSION '0.1.0';

CREATE SCHEMA hm AUTHORIZATION :"owner_role";
GRANT USAGE ON SCHEMA hm TO PUBLIC;
CREATE FUNCTION hm.key_ok(k integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.ran_as VALUES ('key check', current_user);
	RETURN k > 0;
END
$$;
CREATE DOMAIN hm.lead_id AS integer CHECK (hm.key_ok(VALUE));
ALTER DOMAIN hm.lead_id OWNER TO :"owner_role";
ALTER FUNCTION hm.key_ok(integer) OWNER TO :"owner_role";

CREATE TABLE hm.leads (id hm.lead_id PRIMARY KEY, score float8, visits integer, outcome text);
INSERT INTO hm.leads
SELECT i, (i * 37) % 100, i % 9,
	   CASE WHEN i <= 40 THEN CASE WHEN (i * 37) % 100 >= 50 THEN 'won' ELSE 'lost' END END
FROM generate_series(1, 100) i;
ALTER TABLE hm.leads OWNER TO :"owner_role";
GRANT SELECT ON hm.leads TO :"reader_role", :"labeler_role";
GRANT UPDATE (outcome) ON hm.leads TO :"labeler_role";
GRANT SELECT, UPDATE ON hm.leads TO :"updater_role";

SET ROLE :"owner_role";
SELECT hitl.create_model('pv', 'hm.leads', 'outcome', ARRAY['score', 'visits']) AS v \gset
GRANT SELECT ON hm.pv_review_queue TO :"reader_role";
RESET ROLE;

ALTER EXTENSION hitl UPDATE;

SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'hitl'), '0.2.0',
		  'upgrade: the extension is at 0.2.0');
SELECT unalike(pg_get_viewdef('hm.pv_review_queue'), '%lead_id%',
			  'upgrade: the review view no longer casts keys to the domain');
SELECT is((SELECT relowner::regrole::text FROM pg_class WHERE oid = 'hm.pv_review_queue'::regclass),
		  :'owner_role', 'upgrade: the review view keeps its owner');
SELECT ok(has_table_privilege(:'reader_role', 'hm.pv_review_queue', 'SELECT'),
		  'upgrade: and its grants');
SELECT is((SELECT count(*) FROM pg_depend
		   WHERE classid = 'pg_class'::regclass AND objid = 'hm.pv_review_queue'::regclass
			 AND deptype = 'e'), 0::bigint,
		  'upgrade: the review view did not become part of the extension');
SELECT results_eq($$SELECT owner::text COLLATE "default", view_schema::text COLLATE "default",
						  view_name::text COLLATE "default", enabled FROM hitl.models$$,
				  format($$VALUES (%L, 'hm', 'pv_review_queue', true)$$, :'owner_role'),
				  'upgrade: the owner is a role name, the view a schema and a name');

-- ----------------------------------------------------------------------
-- 2. Reading the review queue runs no code of the table's owner
-- ----------------------------------------------------------------------

DELETE FROM public.ran_as;
SELECT is((SELECT count(*) FROM hitl.review_queue WHERE model = 'pv'), 60::bigint,
		  'the superuser reads hitl.review_queue');
SELECT is((SELECT count(*) FROM hm.pv_review_queue), 60::bigint,
		  'and the model''s review view');
SELECT is((SELECT count(*) FROM public.ran_as), 0::bigint,
		  'the domain''s check function never ran while the superuser read them');
SET ROLE :"reader_role";
SELECT is((SELECT count(*) FROM hm.pv_review_queue), 60::bigint, 'a reader reads the view');
SELECT is((SELECT count(*) FROM hitl.review_queue WHERE model = 'pv'), 60::bigint,
		  'and hitl.review_queue');
RESET ROLE;
SELECT is((SELECT count(*) FROM public.ran_as), 0::bigint, 'nor while a reader read them');

-- a key of a type that is not built in is refused
CREATE TYPE hm.tier AS ENUM ('a', 'b', 'c');
CREATE TABLE hm.tiers (t hm.tier PRIMARY KEY, x float8, y text);
ALTER TABLE hm.tiers OWNER TO :"owner_role";
ALTER TYPE hm.tier OWNER TO :"owner_role";
SET ROLE :"owner_role";
SELECT throws_ok($$SELECT hitl.create_model('tiers', 'hm.tiers', 'y', ARRAY['x'])$$, '0A000',
				 'key column "t" has type hm.tier, which is not built in',
				 'create_model refuses a key of a user-defined type: 0A000');
SELECT is((SELECT hint FROM pg_temp.fails_with($$SELECT hitl.create_model('tiers', 'hm.tiers', 'y', ARRAY['x'])$$)),
		  'Use a primary key of a built-in type (integer, bigint, text, uuid, ...) or of a domain over one.',
		  'with a hint');
RESET ROLE;

-- an operator planted before pg_catalog in a caller's search_path is not used
CREATE SCHEMA hm_evil AUTHORIZATION :"owner_role";
GRANT USAGE ON SCHEMA hm_evil TO PUBLIC;
SET ROLE :"owner_role";
CREATE FUNCTION hm_evil.arrow(j jsonb, k text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.ran_as VALUES ('->>', current_user);
	RETURN j OPERATOR(pg_catalog.->>) k;
END
$$;
CREATE OPERATOR hm_evil.->> (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = hm_evil.arrow);
CREATE FUNCTION hm_evil.eq(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.ran_as VALUES ('=', current_user);
	RETURN a OPERATOR(pg_catalog.=) b;
END
$$;
CREATE OPERATOR hm_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = hm_evil.eq);
RESET ROLE;
DELETE FROM public.ran_as;
SET search_path = hm_evil, pg_catalog, public;
CREATE TEMP TABLE evil_path AS
	SELECT (SELECT hitl.predict('pv', l) FROM hm.leads l WHERE id = 1) AS prediction,
		   hitl.train('pv') AS version,
		   (SELECT count(*) FROM hitl.review_queue WHERE model OPERATOR(pg_catalog.=) 'pv') AS queued,
		   (SELECT count(*) FROM hitl.models WHERE name OPERATOR(pg_catalog.=) 'pv') AS models;
RESET search_path;
SELECT results_eq($$SELECT prediction, version, queued, models FROM evil_path$$,
				  $$VALUES ('lost', 1, 60::bigint, 1::bigint)$$,
				  'with operators planted before pg_catalog in its search_path, the superuser predicts, trains, reads hitl.review_queue and hitl.models');
SELECT is((SELECT count(*) FROM public.ran_as), 0::bigint,
		  'hitl''s functions never used the planted operators');

-- every SQL function of hitl runs with a safe search_path
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
		   JOIN pg_language l ON l.oid = p.prolang
		   WHERE p.pronamespace = 'hitl'::regnamespace AND l.lanname IN ('sql', 'plpgsql')
			 AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)),
		  NULL, 'every SQL and PL/pgSQL function of hitl sets search_path = pg_catalog, pg_temp');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
		   WHERE p.pronamespace = 'hitl'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL),
		  NULL, 'every function of hitl carries a comment');

-- internal functions check their caller
SET ROLE :"nobody_role";
SELECT throws_ok($$SELECT hitl._analyze_queue(1000000)$$, '42501', NULL,
				 '_analyze_queue: not for a role with nothing');
SELECT throws_ok($$SELECT hitl._detach_label_triggers('pv', 'hm.leads')$$, '42501', NULL,
				 '_detach_label_triggers: not for a role with nothing');
SELECT throws_ok($$SELECT hitl._break_model('pv', 'x')$$, '42501', NULL,
				 '_break_model: not for a role with nothing');
SELECT throws_ok($$SELECT hitl._output_column_model('hm.leads', 'outcome_prediction')$$, '42501', NULL,
				 '_output_column_model: not for a role that cannot update the table');
SELECT throws_ok($$SELECT hitl._model_delete('pv')$$, '42501', 'must be owner of model "pv"',
				 '_model_delete: only for the owner''s members');
SELECT throws_ok($$SELECT hitl._model_insert('evil', 'hm.leads', 'outcome', ARRAY['score']::name[],
										  'p', 'c', 'u', '{}', 'logistic', 'margin', '{}')$$,
				 '42501', NULL, '_model_insert: not for a role that cannot update the table');
RESET ROLE;
SET ROLE :"reader_role";
SELECT throws_ok($$SELECT hitl._create_review_view('pv')$$, '42501', 'must be owner of model "pv"',
				 '_create_review_view: not for a reader of the model');
RESET ROLE;

-- the long-name attack on the label triggers
CREATE TABLE hm.longs (id integer PRIMARY KEY, x float8, y text);
INSERT INTO hm.longs SELECT i, i, CASE WHEN i <= 20 THEN (i % 2)::text END FROM generate_series(1, 40) i;
ALTER TABLE hm.longs OWNER TO :"owner_role";
SET ROLE :"owner_role";
SELECT hitl.create_model(repeat('l', 50), 'hm.longs', 'y', ARRAY['x']) AS v \gset
RESET ROLE;
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'hm.longs'::regclass AND NOT tgisinternal),
		  5::bigint, 'a model with a long name has its 5 label triggers');
SET ROLE :"nobody_role";
SELECT throws_ok(format($$SELECT hitl._detach_label_triggers(%L, 'hm.longs')$$, md5(repeat('l', 50))),
				 '42501', NULL, 'a role with nothing cannot remove them through the md5 of the name');
RESET ROLE;
SELECT lives_ok(format($$SELECT hitl._detach_label_triggers(%L, 'hm.longs')$$, md5(repeat('l', 50))),
				'even the superuser''s call with the md5 of the name');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'hm.longs'::regclass AND NOT tgisinternal),
		  5::bigint, 'removes none of them: they belong to another model');

-- ----------------------------------------------------------------------
-- 3. hitl's tables are written only by hitl's functions
-- ----------------------------------------------------------------------

CREATE TEMP TABLE attacks (role_name text, stmt text);
GRANT SELECT ON attacks TO PUBLIC;
INSERT INTO attacks (stmt) VALUES
	($$INSERT INTO hitl.models (name, source, label_column, feature_columns, key_columns,
		prediction_column, confidence_column, uncertainty_column, review_view)
		VALUES ('evil', 'hm.leads', 'outcome', '{score}', '{id}', 'p', 'c', 'u',
				'hm.x; CREATE TABLE hm.injected (i int)')$$),
	($$UPDATE hitl.models SET status = 'broken' WHERE name = 'pv'$$),
	($$UPDATE hitl.models SET processed_labels = 1000000000000 WHERE name = 'pv'$$),
	($$UPDATE hitl.models SET owner = current_user WHERE name = 'pv'$$),
	($$DELETE FROM hitl.models$$),
	($$TRUNCATE hitl.models CASCADE$$),
	($$LOCK TABLE hitl.models IN ACCESS EXCLUSIVE MODE$$),
	($$INSERT INTO hitl.model_versions SELECT * FROM hitl.model_versions$$),
	($$UPDATE hitl.model_versions SET feature_dims = '{100000, 0}'$$),
	($$DELETE FROM hitl.model_versions$$),
	($$TRUNCATE hitl.model_versions$$),
	($$LOCK TABLE hitl.model_versions IN ACCESS EXCLUSIVE MODE$$),
	($$INSERT INTO hitl.queue SELECT * FROM hitl.queue$$),
	($$UPDATE hitl.queue SET rank = -rank$$),
	($$DELETE FROM hitl.queue$$),
	($$TRUNCATE hitl.queue$$),
	($$LOCK TABLE hitl.queue IN ACCESS EXCLUSIVE MODE$$);

-- each kind of role: the table's and model's owner, a role that updates
-- the table, a labeler (column UPDATE), a reader, a role with nothing
SET ROLE :"owner_role";
SELECT throws_ok(stmt, '42501', NULL, 'table owner: ' || left(stmt, 60)) FROM attacks;
RESET ROLE;
SET ROLE :"updater_role";
SELECT throws_ok(stmt, '42501', NULL, 'table updater: ' || left(stmt, 60)) FROM attacks;
RESET ROLE;
SET ROLE :"labeler_role";
SELECT throws_ok(stmt, '42501', NULL, 'labeler: ' || left(stmt, 60)) FROM attacks;
RESET ROLE;
SET ROLE :"nobody_role";
SELECT throws_ok(stmt, '42501', NULL, 'role with nothing: ' || left(stmt, 60)) FROM attacks;
RESET ROLE;

SELECT results_eq($$SELECT status, processed_labels, owner::text COLLATE "default" FROM hitl.models WHERE name = 'pv'$$,
				  format($$VALUES ('scored', 0::bigint, %L)$$, :'owner_role'),
				  'the model is as it was');
SELECT is((SELECT count(*) FROM hitl.queue WHERE model = 'pv' AND rank > 0), 60::bigint,
		  'and its queue');

-- legitimate use still works
SET ROLE :"labeler_role";
UPDATE hm.leads SET outcome = CASE WHEN score >= 50 THEN 'won' ELSE 'lost' END WHERE id BETWEEN 41 AND 50;
RESET ROLE;
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'pv' AND role = :'labeler_role'), 10::bigint,
		  'the labeler labels rows, logged');
SET ROLE :"updater_role";
SELECT is(hitl.train('pv'), 2, 'a role with UPDATE on the table trains version 2');
SELECT cmp_ok(hitl.score('pv'), '>', 0::bigint, 'and scores');
SELECT lives_ok($$SELECT hitl.alter_model('pv', options => '{"C": 0.5}', strategy => 'entropy')$$,
				'and changes options and strategy with alter_model');
SELECT throws_ok(format($$SELECT hitl.alter_model('pv', owner => %L)$$, current_user), '42501',
				 'must be owner of model "pv"', 'but not the owner');
SELECT throws_ok($$SELECT hitl.alter_model('pv', options => '{"buckets": 1024}')$$, '22023',
				 'option "buckets" applies only to models with text feature columns',
				 'options are checked');
SELECT throws_ok($$SELECT hitl.alter_model('pv', options => '{"C": -1}')$$, '22023', NULL,
				 'values too');
SELECT throws_ok($$SELECT hitl.alter_model('pv', strategy => 'random')$$, '22023',
				 'unknown query strategy "random"', 'and strategies');
SELECT throws_ok($$SELECT hitl.alter_model('pv', options => '[1]')$$, '22023',
				 'options must be a jsonb object', 'options are an object');
SELECT throws_ok($$SELECT hitl.drop_model('pv')$$, '42501', 'must be owner of model "pv"',
				 'nor drops the model');
RESET ROLE;
SELECT results_eq($$SELECT options->>'C', strategy, options->>'min_labels' FROM hitl.models WHERE name = 'pv'$$,
				  $$VALUES ('0.5', 'entropy', '10')$$, 'the options were merged, the strategy set');
SET ROLE :"reader_role";
SELECT throws_ok($$SELECT hitl.alter_model('pv', enabled => false)$$, '42501', NULL,
				 'a reader cannot alter the model');
RESET ROLE;
SET ROLE :"labeler_role";
SELECT throws_ok($$SELECT hitl.alter_model('pv', enabled => false)$$, '42501',
				 'permission denied to alter model "pv"', 'nor a labeler (UPDATE on the label column only)');
RESET ROLE;
SET ROLE :"nobody_role";
SELECT throws_ok($$SELECT hitl.alter_model('pv', enabled => false)$$, '42501',
				 'permission denied for model "pv"', 'a role that does not see it: 42501');
SELECT throws_ok($$SELECT hitl.alter_model('no such model', enabled => false)$$, '42704',
				 'model "no such model" does not exist', 'a model that does not exist: 42704');
RESET ROLE;
SET ROLE :"owner_role";
SELECT lives_ok($$SELECT hitl.alter_model('pv', enabled => false)$$, 'the owner disables the model');
SELECT is((SELECT enabled FROM hitl.models WHERE name = 'pv'), false, 'enabled is false');
SELECT throws_ok(format($$SELECT hitl.alter_model('pv', owner => %L)$$, :'stranger_role'), '42501',
				 format('must be a member of role "%s" to give it model "pv"', :'stranger_role'),
				 'the owner cannot give the model to a role it is not a member of');
SELECT throws_ok($$SELECT hitl.alter_model('pv', owner => 'no_such_role_hm')$$, '42704',
				 'role "no_such_role_hm" does not exist', 'nor to a role that does not exist');
SELECT lives_ok(format($$SELECT hitl.alter_model('pv', owner => %L, enabled => true)$$, :'heir_role'),
				'the owner gives it to a role it is a member of');
SELECT results_eq($$SELECT owner::text COLLATE "default", enabled FROM hitl.models WHERE name = 'pv'$$,
				  format($$VALUES (%L, true)$$, :'heir_role'), 'which now owns it');
SELECT lives_ok(format($$SELECT hitl.alter_model('pv', owner => %L)$$, :'owner_role'),
				'and gives it back');
RESET ROLE;

-- a stored review_view is never spliced into SQL
CREATE TABLE hm.other_leads (id integer PRIMARY KEY, x float8, y text);
ALTER TABLE hm.other_leads OWNER TO :"owner_role";
SET ROLE :"owner_role";
SELECT lives_ok($$SELECT hitl.create_model('other', 'hm.other_leads', 'y', ARRAY['x'])$$,
				'the table owner creates a model');
RESET ROLE;
UPDATE hitl.models SET review_view = 'hm.other_review_queue; CREATE TABLE hm.injected (i int)'
WHERE name = 'other';
SET ROLE :"owner_role";
SELECT lives_ok($$SELECT hitl.drop_model('other')$$, 'and drops it, after its review_view was tampered with');
RESET ROLE;
SELECT is(to_regclass('hm.injected'), NULL, 'the stored review_view was not executed');
SELECT is(to_regclass('hm.other_review_queue'), NULL, 'the review view is gone');
SET ROLE :"owner_role";
SELECT lives_ok($$SELECT hitl.drop_model('pv')$$, 'the owner drops pv');
RESET ROLE;
SELECT is(to_regclass('hm.pv_review_queue'), NULL, 'its review view is gone');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'hm.leads'::regclass AND NOT tgisinternal),
		  0::bigint, 'and the label triggers');

-- ----------------------------------------------------------------------
-- 3. Versions read from the catalog are checked before use
-- ----------------------------------------------------------------------

CREATE TABLE hm.emb (id integer PRIMARY KEY, e float8[], n integer, y text);
INSERT INTO hm.emb SELECT i, ARRAY[sin(i), cos(i), i % 5], i % 7,
	CASE WHEN i <= 40 THEN CASE WHEN sin(i) > 0 THEN 'p' ELSE 'q' END END
FROM generate_series(1, 80) i;
SELECT is(hitl.create_model('emb', 'hm.emb', 'y', ARRAY['e', 'n']), 1, 'a model on an embedding');
CREATE TEMP TABLE good_version AS SELECT * FROM hitl.model_versions WHERE model = 'emb';

CREATE FUNCTION pg_temp.corrupt_then_check(how text, what text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	next_version integer;
BEGIN
	UPDATE hitl.model_versions v SET feature_dims = g.feature_dims, feature_names = g.feature_names,
		feature_means = g.feature_means, feature_scales = g.feature_scales,
		coefficients = g.coefficients, classes = g.classes, metrics = g.metrics
	FROM good_version g WHERE v.model = 'emb' AND v.version = g.version;
	EXECUTE format('UPDATE hitl.model_versions SET %s WHERE model = ''emb''', how);
	RETURN NEXT throws_ok($q$SELECT hitl.predict('emb', t) FROM hm.emb t WHERE id = 1$q$, 'XX001', NULL,
						  'predict, ' || what || ': XX001');
	RETURN NEXT throws_ok($q$SELECT hitl.score('emb')$q$, 'XX001', NULL, 'score, ' || what || ': XX001');
	/* training is the repair: it does not build on the damaged version */
	next_version := (SELECT max(version) + 1 FROM hitl.model_versions WHERE model = 'emb');
	RETURN NEXT is(hitl.train('emb'), next_version,
				   'train, ' || what || ': trains from scratch, a new version');
	DELETE FROM hitl.model_versions WHERE model = 'emb' AND version > 1;
	UPDATE hitl.models SET current_version = 1 WHERE name = 'emb';
END
$$;
SELECT pg_temp.corrupt_then_check($$feature_dims = '{100000, 0}'$$,
								  'array dimension larger than the feature names');
SELECT pg_temp.corrupt_then_check($$feature_dims = '{-5, 0}'$$, 'negative array dimension');
SELECT pg_temp.corrupt_then_check($$feature_dims = '{3, 7}'$$, 'a scalar column with a dimension');
SELECT pg_temp.corrupt_then_check($$feature_dims = '{3, NULL}'$$, 'a null dimension');
SELECT pg_temp.corrupt_then_check($$feature_dims = '{3}'$$, 'too few feature columns');
SELECT pg_temp.corrupt_then_check($$feature_names = feature_names || '{x}'::text[]$$,
								  'more names than features');
SELECT pg_temp.corrupt_then_check($$feature_means = '{1}'$$, 'too few means');
SELECT pg_temp.corrupt_then_check($$coefficients = coefficients[1:2]$$, 'too few coefficients');
SELECT pg_temp.corrupt_then_check($$classes = '{p}'$$, 'one class');
SELECT pg_temp.corrupt_then_check($$classes = '{p, NULL}'$$, 'a null class');
UPDATE hitl.model_versions v SET feature_dims = g.feature_dims, feature_names = g.feature_names,
	feature_means = g.feature_means, feature_scales = g.feature_scales,
	coefficients = g.coefficients, classes = g.classes, metrics = g.metrics
FROM good_version g WHERE v.model = 'emb' AND v.version = g.version;
SELECT is((SELECT hitl.predict('emb', t) FROM hm.emb t WHERE id = 1),
		  (SELECT y FROM hm.emb WHERE id = 1), 'the restored version predicts again');

-- CREATE EXTENSION runs the install script of the current version, which
-- never grants PUBLIC more than SELECT on hitl's tables: 0.1.0's script
-- (frozen, with its write grant) followed by the upgrade would grant it,
-- then revoke it
SELECT is((SELECT default_version FROM pg_available_extensions WHERE name = 'hitl'), '0.2.0',
		  'the current version is 0.2.0');
SELECT is((SELECT count(*) FROM pg_available_extension_versions WHERE name = 'hitl' AND version = '0.2.0'),
		  1::bigint, 'it has an install script of its own');
SELECT is((SELECT pg_read_file(setting || '/extension/hitl--0.2.0.sql')
				  ~ 'GRANT[^;]*(INSERT|UPDATE|DELETE)[^;]*ON hitl\.(models|model_versions|queue)\M[^;]*TO PUBLIC'
		   FROM pg_config WHERE name = 'SHAREDIR'),
		  false, 'which grants PUBLIC no write on hitl.models, hitl.model_versions or hitl.queue');
SELECT is((SELECT pg_read_file(setting || '/extension/hitl--0.1.0.sql')
				  ~ 'GRANT[^;]*(INSERT|UPDATE|DELETE)[^;]*ON hitl\.(models|model_versions|queue)\M[^;]*TO PUBLIC'
		   FROM pg_config WHERE name = 'SHAREDIR'),
		  true, 'as 0.1.0''s frozen script does (the pattern finds it)');

-- after CREATE EXTENSION: PUBLIC holds SELECT alone on hitl's tables, and
-- nothing on any of their columns
SELECT is((SELECT string_agg(t, ',' ORDER BY t) FROM (
			SELECT DISTINCT c.relname || ':' || a.privilege_type AS t
			FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
			WHERE c.relnamespace = 'hitl'::regnamespace AND c.relkind = 'r' AND a.grantee = 0) g),
		  'answer_log:SELECT,answers:SELECT,audit:SELECT,auto_labels:SELECT,consensus:SELECT,consensus_fits:SELECT,label_confirmations:SELECT,label_log:SELECT,model_versions:SELECT,models:SELECT,oof_predictions:SELECT,queue:SELECT,reservations:SELECT,restored_logs:SELECT,simulation_curves:SELECT,simulations:SELECT,skips:SELECT',
		  'PUBLIC holds SELECT alone on each of hitl''s tables');
SELECT is((SELECT count(*) FROM pg_class c JOIN pg_attribute t ON t.attrelid = c.oid
		   CROSS JOIN LATERAL aclexplode(t.attacl) a
		   WHERE c.relnamespace = 'hitl'::regnamespace AND c.relkind = 'r' AND a.grantee = 0),
		  0::bigint, 'and no privilege on any of their columns');

-- ----------------------------------------------------------------------
-- 13. Small things
-- ----------------------------------------------------------------------

-- one rule for hidden and missing models
CREATE TABLE hm.hidden (id integer PRIMARY KEY, x float8, y text);
ALTER TABLE hm.hidden OWNER TO :"owner_role";
SET ROLE :"owner_role";
SELECT hitl.create_model('hidden', 'hm.hidden', 'y', ARRAY['x']) AS v \gset
RESET ROLE;
SET ROLE :"nobody_role";
SELECT throws_ok($$SELECT hitl.drop_model('hidden')$$, '42501', 'permission denied for model "hidden"',
				 'drop_model of a model the role does not see: 42501');
SELECT throws_ok($$SELECT hitl.train('hidden')$$, '42501', 'permission denied for model "hidden"',
				 'like train');
SELECT throws_ok($$SELECT hitl.drop_model('no such model')$$, '42704', 'model "no such model" does not exist',
				 'drop_model of a model that does not exist: 42704');
RESET ROLE;

-- no duplicate version when nothing changed
CREATE TABLE hm.dup (id integer PRIMARY KEY, x float8, z float8, y text);
INSERT INTO hm.dup SELECT i, i % 10, (i * 7) % 11, CASE WHEN i <= 30 THEN (i % 10 >= 5)::text END
FROM generate_series(1, 60) i;
SELECT is(hitl.create_model('dup', 'hm.dup', 'y', ARRAY['x', 'z']), 1, 'dup: version 1');
SELECT is(hitl.train('dup'), 1, 'train again without a change returns version 1');
SELECT is((SELECT count(*) FROM hitl.model_versions WHERE model = 'dup'), 1::bigint,
		  'and records no version');
UPDATE hm.dup SET y = 'true' WHERE id = 31;
SELECT is(hitl.train('dup'), 2, 'a new label: version 2');
UPDATE hm.dup SET y = NULL WHERE id = 31;
SELECT is(hitl.train('dup'), 3, 'a label removed: version 3');
SELECT is(hitl.train('dup'), 3, 'then nothing: version 3');
UPDATE hm.dup SET z = z + 1 WHERE id = 1;
SELECT is(hitl.train('dup'), 4, 'a feature of a labeled row changed: version 4');
UPDATE hm.dup SET z = z + 1 WHERE id = 50;
SELECT is(hitl.train('dup'), 4, 'a feature of an unlabeled row changed: still version 4');
SELECT hitl.alter_model('dup', options => '{"C": 0.25}');
SELECT is(hitl.train('dup'), 5, 'another C: version 5');
SELECT hitl.alter_model('dup', options => '{"queue_size": 10}');
SELECT is(hitl.train('dup'), 5, 'an option training does not use: still version 5');

-- the same rule for text and naive Bayes models (a full training)
CREATE TABLE hm.dupt (id integer PRIMARY KEY, body text, n integer, y text);
INSERT INTO hm.dupt SELECT i, (ARRAY['refund charge card', 'crash error start', 'parcel delivery late'])[1 + i % 3]
	|| ' ' || i, i % 4, CASE WHEN i <= 30 THEN (ARRAY['billing', 'bug', 'delivery'])[1 + i % 3] END
FROM generate_series(1, 60) i;
SELECT is(hitl.create_model('dupt_nb', 'hm.dupt', 'y', ARRAY['body', 'n'], 'nb_p', 'nb_c', 'nb_u',
							algorithm => 'naive_bayes'), 1, 'dupt_nb: version 1');
SELECT is(hitl.create_model('dupt_lr', 'hm.dupt', 'y', ARRAY['body', 'n'], 'lr_p', 'lr_c', 'lr_u'),
		  1, 'dupt_lr: version 1');
SELECT is(hitl.train('dupt_nb'), 1, 'naive Bayes trained again without a change: version 1');
SELECT is(hitl.train('dupt_lr'), 1, 'text logistic trained again without a change: version 1');
SELECT is((SELECT count(*) FROM hitl.model_versions WHERE model IN ('dupt_nb', 'dupt_lr')), 2::bigint,
		  'and no version is recorded');
UPDATE hm.dupt SET y = 'bug' WHERE id = 31;
SELECT is(hitl.train('dupt_nb'), 2, 'a new label: naive Bayes version 2');
SELECT is(hitl.train('dupt_lr'), 2, 'a new label: text logistic version 2');
UPDATE hm.dupt SET body = body || ' zebra' WHERE id = 45;
SELECT is(hitl.train('dupt_nb'), 3, 'an unlabeled text changed (its idf too): version 3');
SELECT is(hitl.train('dupt_nb'), 3, 'then nothing: version 3');

-- singular and plural
CREATE TABLE hm.few (id integer PRIMARY KEY, x float8, y text);
INSERT INTO hm.few VALUES (1, 1, 'a'), (2, 2, NULL), (3, 3, NULL);
SELECT is((SELECT detail FROM pg_temp.fails_with($$SELECT hitl.create_model('few', 'hm.few', 'y', ARRAY['x'],
	options => '{"min_labels": 2}'); SELECT hitl.train('few')$$)),
		  '1 row is labeled; training needs at least 2 (option min_labels).',
		  'train: "1 row is labeled"');
SELECT is(hitl._labels_detail(1, 1, 10), '1 row of 1 class is labeled; training needs 10 labels of at least 2 classes.',
		  'create_model''s notice: "1 row of 1 class is labeled"');
SELECT is(hitl._labels_detail(5, 2, 10), '5 rows of 2 classes are labeled; training needs 10 labels of at least 2 classes.',
		  'and "5 rows of 2 classes are labeled"');

-- drop_model(drop_columns) keeps the grants of the other review views
CREATE TABLE hm.two (id integer PRIMARY KEY, x float8, y text);
INSERT INTO hm.two SELECT i, i, CASE WHEN i <= 20 THEN (i % 2)::text END FROM generate_series(1, 40) i;
ALTER TABLE hm.two OWNER TO :"owner_role";
SET ROLE :"owner_role";
SELECT hitl.create_model('two_a', 'hm.two', 'y', ARRAY['x'], 'a_p', 'a_c', 'a_u') AS v \gset
SELECT hitl.create_model('two_b', 'hm.two', 'y', ARRAY['x'], 'b_p', 'b_c', 'b_u') AS v \gset
GRANT SELECT ON hm.two_b_review_queue TO :"reader_role";
GRANT SELECT ON hm.two TO :"reader_role";
SELECT lives_ok($$SELECT hitl.drop_model('two_a', drop_columns => true)$$,
				'drop_model with drop_columns');
RESET ROLE;
SELECT hasnt_column('hm', 'two', 'a_p', 'the dropped model''s columns are gone');
SELECT hasnt_column('hm', 'two_b_review_queue', 'a_p', 'and gone from the other review view');
SELECT ok(has_table_privilege(:'reader_role', 'hm.two_b_review_queue', 'SELECT'),
		  'the other review view keeps its grant to the reader');
SELECT is((SELECT relowner::regrole::text FROM pg_class WHERE oid = 'hm.two_b_review_queue'::regclass),
		  :'owner_role', 'and its owner');
SET ROLE :"reader_role";
SELECT is((SELECT count(*) FROM hm.two_b_review_queue), 20::bigint, 'the reader still reads it');
RESET ROLE;

-- create_model without CREATE on the table's schema
CREATE SCHEMA hm_locked;
GRANT USAGE ON SCHEMA hm_locked TO :"owner_role";
CREATE TABLE hm_locked.t (id integer PRIMARY KEY, x float8, y text);
ALTER TABLE hm_locked.t OWNER TO :"owner_role";
SET ROLE :"owner_role";
SELECT throws_ok($$SELECT hitl.create_model('locked', 'hm_locked.t', 'y', ARRAY['x'])$$, '42501',
				 'permission denied for schema hm_locked',
				 'create_model without CREATE on the schema: 42501');
SELECT is((SELECT hint FROM pg_temp.fails_with($$SELECT hitl.create_model('locked', 'hm_locked.t', 'y', ARRAY['x'])$$)),
		  format('Ask the schema''s owner to GRANT CREATE ON SCHEMA hm_locked TO %s.', :'owner_role'),
		  'with a hint to grant CREATE on the schema');
RESET ROLE;
SELECT hasnt_column('hm_locked', 't', 'y_prediction', 'and nothing was added to the table');

SELECT * FROM finish();
ROLLBACK;
