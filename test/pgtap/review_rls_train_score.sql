-- A role under the row-level security of a model's table (a tenant who may
-- label its own rows) cannot train or score the model: a training would
-- learn from that tenant's rows only and become the version of everyone, a
-- scoring would write the tenant's rows only and mark the model scored with
-- the other rows' scores left from an older version.  The tenant still
-- labels its rows; the owner trains and scores every row.
--
-- Roles are dropped at the end (the database is dropped after the file).

SELECT plan(11);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

SELECT 'hitl_tap_rr_owner_' || pg_backend_pid() AS owner,
	   'hitl_tap_rr_tenant_' || pg_backend_pid() AS tenant \gset
CREATE ROLE :"owner";
CREATE ROLE :"tenant";
CREATE SCHEMA tap_rr AUTHORIZATION :"owner";
GRANT USAGE ON SCHEMA tap_rr TO :"tenant";

SET ROLE :"owner";
CREATE TABLE tap_rr.t (id int PRIMARY KEY, tenant name, x float8, y float8, lab text);
-- a third of the rows belong to the tenant, the others to the owner
INSERT INTO tap_rr.t
SELECT i, CASE WHEN i % 3 = 0 THEN :'tenant' ELSE :'owner' END, i % 7, (i * 13) % 11,
	   CASE WHEN i <= 30 THEN CASE WHEN i % 7 < 3 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 90) i;
SELECT is(hitl.create_model('rr', 'tap_rr.t', 'lab', '{x,y}',
							options => '{"cv_folds": 0, "score_tolerance": 0}'), 1,
		  'the owner creates a model');
ALTER TABLE tap_rr.t ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON tap_rr.t USING (tenant = current_user);
GRANT SELECT, UPDATE ON tap_rr.t TO :"tenant";
RESET ROLE;

SET ROLE :"tenant";
-- the tenant flips the labels of its rows (legitimate: they are its rows)
SELECT lives_ok($$UPDATE tap_rr.t SET lab = CASE WHEN lab = 'a' THEN 'b' ELSE 'a' END
				  WHERE lab IS NOT NULL$$, 'the tenant labels its rows');
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'rr'), 10::bigint,
		  'its 10 label changes are logged');
SELECT throws_ok($$SELECT hitl.train('rr')$$, '42501', NULL,
				 'the tenant cannot train the model on its rows only');
SELECT throws_ok($$SELECT hitl.score('rr')$$, '42501', NULL,
				 'the tenant cannot score the rows it sees and mark the model scored');
SELECT throws_ok($$CALL hitl.score_in_batches('rr')$$, '42501', NULL,
				 'nor in batches');
RESET ROLE;

SET ROLE :"owner";
SELECT is((SELECT current_version FROM hitl.models WHERE name = 'rr'), 1,
		  'the model is still at version 1');
SELECT is(hitl.train('rr'), 2, 'the owner trains version 2');
SELECT is((SELECT n_labeled FROM hitl.model_versions WHERE model = 'rr' AND version = 2), 30,
		  'from the labels of every row');
SELECT cmp_ok(hitl.score('rr'), '>', 0::bigint, 'the owner scores the model');
SELECT is((SELECT count(*) FROM tap_rr.t WHERE lab_prediction IS DISTINCT FROM hitl.predict('rr', t)),
		  0::bigint, 'the owner''s scoring leaves every row with the scores of version 2');
RESET ROLE;

SELECT * FROM finish();

SET client_min_messages = warning;
SELECT hitl.drop_model('rr');
DROP SCHEMA tap_rr CASCADE;
DROP OWNED BY :"owner", :"tenant";
DROP ROLE :"owner", :"tenant";
