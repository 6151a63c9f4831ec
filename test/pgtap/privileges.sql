-- Privileges: a model is seen by the roles that can read its table, changed
-- by the roles that can update it, and dropped only by its owner.

BEGIN;
SELECT plan(44);

CREATE EXTENSION hitl;

-- roles of this transaction only, with names no other run uses
SELECT 'hitl_tap_owner_' || pg_backend_pid() AS role_a,
	   'hitl_tap_other_' || pg_backend_pid() AS role_b,
	   'hitl_tap_reader_' || pg_backend_pid() AS role_c,
	   'hitl_tap_member_' || pg_backend_pid() AS role_d \gset
CREATE ROLE :"role_a";
CREATE ROLE :"role_b";
CREATE ROLE :"role_c";
CREATE ROLE :"role_d" IN ROLE :"role_a";

-- a schema and a table of role A
CREATE SCHEMA tap_a AUTHORIZATION :"role_a";
GRANT USAGE ON SCHEMA tap_a TO :"role_b", :"role_c", :"role_d";
CREATE TABLE tap_a.leads (id int PRIMARY KEY, score float8, visits integer, outcome text);
INSERT INTO tap_a.leads
SELECT i, (i * 37) % 100, i % 9, CASE WHEN i <= 40 THEN CASE WHEN (i * 37) % 100 >= 50 THEN 'won' ELSE 'lost' END END
FROM generate_series(1, 100) i;
ALTER TABLE tap_a.leads OWNER TO :"role_a";

-- role A creates its model
SET ROLE :"role_a";
SELECT is(hitl.create_model('pv', 'tap_a.leads', 'outcome', ARRAY['score', 'visits']), 1,
		  'the table''s owner creates a model');
SELECT results_eq($$SELECT name, owner::text COLLATE "default", status FROM hitl.models$$,
				  format($$VALUES ('pv', %L, 'scored')$$, current_user),
				  'the owner sees its model, owned by itself');
SELECT is((SELECT count(*) FROM hitl.review_queue WHERE model = 'pv'), 60::bigint,
		  'the owner sees the review queue');
SELECT is((SELECT hitl.predict('pv', l) FROM tap_a.leads l WHERE id = 1), 'lost',
		  'the owner predicts (and this backend now caches the model)');
RESET ROLE;

-- role B cannot read the table: the model is invisible to it
SET ROLE :"role_b";
SELECT is((SELECT count(*) FROM hitl.models), 0::bigint, 'B does not see A''s model in hitl.models');
SELECT is((SELECT count(*) FROM hitl.model_versions), 0::bigint, 'nor its versions');
SELECT is((SELECT count(*) FROM hitl.queue), 0::bigint, 'nor its queue');
SELECT is((SELECT count(*) FROM hitl.review_queue), 0::bigint, 'hitl.review_queue shows B nothing of it');
SELECT throws_ok($$SELECT count(*) FROM tap_a.pv_review_queue$$, '42501', NULL,
				 'B cannot read A''s review view');
SELECT throws_ok($$SELECT hitl.train('pv')$$, '42501', NULL, 'hitl.train as B: 42501');
SELECT throws_ok($$SELECT hitl.score('pv')$$, '42501', NULL, 'hitl.score as B: 42501');
SELECT throws_ok($$SELECT hitl.predict('pv', ROW(1, 37, 1, NULL, NULL, NULL, NULL)::tap_a.leads)$$,
				 NULL, NULL, 'B cannot predict with A''s model (cached in this backend by A)');
SELECT throws_ok($$SELECT hitl.predict_proba('pv', ROW(1, 37, 1, NULL, NULL, NULL, NULL)::tap_a.leads)$$,
				 NULL, NULL, 'B cannot get probabilities from A''s model (cached in this backend by A)');
SELECT throws_ok($$DELETE FROM hitl.models WHERE name = 'pv'$$, '42501', NULL,
				 'B deletes nothing from hitl.models');
SELECT throws_ok($$UPDATE hitl.models SET options = options || '{"C": 9}' WHERE name = 'pv'$$, '42501', NULL,
				 'B updates nothing in hitl.models');
RESET ROLE;
SELECT is((SELECT count(*) FROM hitl.models WHERE name = 'pv' AND options->>'C' <> '9'), 1::bigint,
		  'A''s model is unchanged');

-- role C can read the table but not update it
GRANT SELECT ON tap_a.leads TO :"role_c";
SET ROLE :"role_c";
SELECT is((SELECT count(*) FROM hitl.models WHERE name = 'pv'), 1::bigint, 'C (SELECT on the table) sees the model');
SELECT is((SELECT count(*) FROM hitl.model_versions WHERE model = 'pv'), 1::bigint, 'and its version');
SELECT is((SELECT count(*) FROM hitl.review_queue WHERE model = 'pv'), 60::bigint, 'and its review queue');
SELECT is((SELECT hitl.predict('pv', l) FROM tap_a.leads l WHERE id = 2), 'won', 'C can predict');
SELECT throws_ok($$SELECT hitl.train('pv')$$, '42501', NULL, 'hitl.train as C (no UPDATE): 42501');
SELECT throws_ok($$SELECT hitl.score('pv')$$, '42501', NULL, 'hitl.score as C (no UPDATE): 42501');
SELECT throws_ok($$SELECT hitl.drop_model('pv')$$, '42501', NULL, 'hitl.drop_model as C: 42501');
SELECT throws_ok($$SELECT hitl.create_model('pc', 'tap_a.leads', 'outcome', ARRAY['score'])$$, '42501',
				 'permission denied for table tap_a.leads', 'create_model without UPDATE on the table: 42501');
SELECT throws_ok($$UPDATE hitl.models SET options = options || '{"C": 9}' WHERE name = 'pv'$$, '42501', NULL,
				 'C updates nothing in hitl.models');
RESET ROLE;
SELECT results_eq($$SELECT current_version, scored_version FROM hitl.models WHERE name = 'pv'$$,
				  $$VALUES (1, 1)$$, 'nothing was trained or scored by B or C');
SELECT is((SELECT count(*) FROM hitl.models), 1::bigint, 'and no model was created');

-- role B with SELECT and UPDATE on the table may train and score, not drop
GRANT SELECT, UPDATE ON tap_a.leads TO :"role_b";
SET ROLE :"role_b";
SELECT is((SELECT count(*) FROM hitl.models WHERE name = 'pv'), 1::bigint, 'B with SELECT sees the model');
SELECT is((SELECT count(*) FROM hitl.review_queue WHERE model = 'pv'), 60::bigint, 'and its review queue');
UPDATE tap_a.leads SET outcome = CASE WHEN score >= 50 THEN 'won' ELSE 'lost' END WHERE id BETWEEN 41 AND 60;
SELECT is(hitl.train('pv'), 2, 'B with UPDATE trains version 2');
SELECT cmp_ok(hitl.score('pv'), '>', 0::bigint, 'B with UPDATE scores');
SELECT results_eq($$SELECT current_version, scored_version, status FROM hitl.models WHERE name = 'pv'$$,
				  $$VALUES (2, 2, 'scored')$$, 'the model moved to version 2');
SELECT is((SELECT n_labeled FROM hitl.model_versions WHERE model = 'pv' AND version = 2), 60,
		  'version 2 learned from B''s labels');
SELECT is((SELECT count(*) FROM hitl.review_queue WHERE model = 'pv'), 40::bigint, 'B sees the new queue');
SELECT throws_ok($$SELECT hitl.drop_model('pv')$$, '42501', 'must be owner of model "pv"',
				 'B cannot drop A''s model: 42501');
SELECT throws_ok($$SELECT hitl.drop_model('pv', drop_columns => true)$$, '42501', NULL,
				 'nor drop its columns');
SELECT throws_ok($$DELETE FROM hitl.models WHERE name = 'pv'$$, '42501', NULL,
				 'B cannot delete A''s model row directly');
SELECT throws_ok($$SELECT hitl.create_model('pb', 'tap_a.leads', 'outcome', ARRAY['score'],
											prediction_column => 'pb_p', confidence_column => 'pb_c',
											uncertainty_column => 'pb_u')$$,
				 '42501', NULL, 'create_model by B, who does not own the table, fails: 42501');
RESET ROLE;
SELECT has_column('tap_a', 'leads', 'outcome_prediction', 'A''s output columns are still there');
SELECT hasnt_column('tap_a', 'leads', 'pb_p', 'B''s failed create_model left no column');

-- B must not be able to make the model its own (and then delete it)
SET ROLE :"role_b";
SELECT throws_ok(format($$UPDATE hitl.models SET owner = %L WHERE name = 'pv'$$, current_user),
				 '42501', NULL, 'B cannot take over A''s model by updating its owner');
RESET ROLE;
UPDATE hitl.models SET owner = :'role_a' WHERE name = 'pv';

-- a member of the owner role may drop it
SET ROLE :"role_d";
SELECT is((SELECT count(*) FROM hitl.models WHERE name = 'pv'), 1::bigint,
		  'a member of the owner role sees the model');
SELECT lives_ok($$SELECT hitl.drop_model('pv')$$, 'a member of the owner role drops it');
RESET ROLE;
SELECT is((SELECT count(*) FROM hitl.models), 0::bigint, 'the model is gone');

SELECT * FROM finish();
ROLLBACK;
