-- The audit queue: labels a cross-validated training finds suspect by
-- confident learning, shown by <model>_audit_queue and hitl.audit_queue
-- while the row keeps the audited label and no confirmation covers it;
-- hitl.confirm_label and its errors; what a reader without rights, or
-- under the table's row-level security, sees; incremental updates leave
-- the store; models without cross-validation are refused.
--
-- The file runs outside a transaction block (an incremental update reads
-- the label changes committed since its version); its roles are dropped at
-- the end.

SELECT plan(36);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

-- 300 points in 3 well separated classes; every 20th label is turned to
-- the next class (15 wrong labels), truth keeps the right one
CREATE TABLE pts (id int PRIMARY KEY, x float8, y float8, label text, truth text);
INSERT INTO pts
SELECT g, c * 2 + sin(g * 1.3), c + cos(g * 0.7), l, l
FROM generate_series(1, 300) g, LATERAL (SELECT g % 3 AS c) s,
	 LATERAL (SELECT (ARRAY['a', 'b', 'c'])[c + 1] AS l) s2;
UPDATE pts SET label = NULL WHERE id % 20 = 0;
SELECT hitl.create_model('pm', 'pts', 'label', '{x,y}') \gset
-- the wrong labels are written once the model logs them
UPDATE pts SET label = CASE truth WHEN 'a' THEN 'b' WHEN 'b' THEN 'c' ELSE 'a' END
WHERE id % 20 = 0;
SELECT hitl.train('pm') \gset

SELECT has_view('public', 'pm_audit_queue', 'create_model makes the audit view <model>_audit_queue');
SELECT cmp_ok((SELECT count(*) FROM (SELECT * FROM pm_audit_queue ORDER BY audit_rank LIMIT 15) q
			   WHERE q.label <> q.truth), '>=', 12::bigint,
			  'of the 15 flipped labels, at least 12 are among the 15 first rows of the audit queue');
SELECT cmp_ok((SELECT max(audit_rank) FROM pm_audit_queue WHERE label <> truth), '<',
			  (SELECT min(audit_rank) FROM pm_audit_queue WHERE label = truth),
			  'every flipped label listed ranks before every right one');
SELECT is((SELECT count(*) FROM pm_audit_queue WHERE label <> truth AND suggested_label <> truth),
		  0::bigint, 'suggested_label is the right label of every flipped row listed');
SELECT is((SELECT array_agg(audit_rank ORDER BY audit_rank) FROM pm_audit_queue),
		  (SELECT array_agg(g) FROM generate_series(1, (SELECT count(*)::int FROM pm_audit_queue)) g),
		  'audit_rank runs 1, 2, 3 ... in the order of the view');
SELECT ok((SELECT bool_and(q.label_quality <= n.label_quality)
		   FROM pm_audit_queue q JOIN pm_audit_queue n ON n.audit_rank = q.audit_rank + 1),
		  'ranked by label_quality, lowest first');
SELECT is((SELECT count(*) FROM hitl.audit_queue WHERE model = 'pm'),
		  (SELECT count(*) FROM pm_audit_queue),
		  'hitl.audit_queue lists the same rows by key');
SELECT is((SELECT version FROM hitl.audit WHERE model = 'pm' AND rank = 1),
		  (SELECT current_version FROM hitl.models WHERE name = 'pm'),
		  'the store names the version that found the suspects');

-- an UPDATE of the label takes the row out at once
SELECT id AS first_id, truth AS first_truth FROM pm_audit_queue WHERE audit_rank = 1 \gset
SELECT count(*) AS n_before FROM pm_audit_queue \gset
UPDATE pts SET label = truth WHERE id = :first_id;
SELECT is((SELECT count(*) FROM pm_audit_queue WHERE id = :first_id), 0::bigint,
		  'a corrected label leaves the audit view at once');
SELECT is((SELECT count(*) FROM hitl.audit_queue WHERE model = 'pm' AND row_key = jsonb_build_object('id', :first_id)),
		  0::bigint, 'and hitl.audit_queue');
SELECT is((SELECT count(*) FROM pm_audit_queue), (:n_before - 1)::bigint, 'the others stay');

-- confirm_label takes it out and logs who, when, which label
SELECT id AS second_id, label AS second_label FROM pm_audit_queue WHERE audit_rank = 2 \gset
SELECT hitl.confirm_label('pm', jsonb_build_object('id', :second_id)) \gset
SELECT is((SELECT count(*) FROM pm_audit_queue WHERE id = :second_id), 0::bigint,
		  'a confirmed label leaves the audit view');
SELECT is((SELECT count(*) FROM hitl.audit_queue WHERE model = 'pm' AND row_key = jsonb_build_object('id', :second_id)),
		  0::bigint, 'and hitl.audit_queue');
SELECT is((SELECT format('%s %s %s', label, role, at IS NOT NULL)
		   FROM hitl.label_confirmations WHERE model = 'pm' AND row_key = jsonb_build_object('id', :second_id)),
		  format('%s %s t', :'second_label', current_user),
		  'the confirmation is logged with the label and the role');
-- the key as a string is matched all the same, and stored as hitl builds it
SELECT hitl.confirm_label('pm', jsonb_build_object('id', :second_id::text)) \gset
SELECT is((SELECT count(DISTINCT row_key) FROM hitl.label_confirmations WHERE model = 'pm'), 1::bigint,
		  'a key given as a string is stored as the row''s own key');

-- a change of the label ends the confirmation: changed and back, it shows again
UPDATE pts SET label = 'zzz' WHERE id = :second_id;
SELECT is((SELECT count(*) FROM pm_audit_queue WHERE id = :second_id), 0::bigint,
		  'another label: not the audited one, not shown');
UPDATE pts SET label = :'second_label' WHERE id = :second_id;
SELECT is((SELECT count(*) FROM pm_audit_queue WHERE id = :second_id), 1::bigint,
		  'the audited label back after the confirmation: shown again');

-- hitl.label_stats: the two confirmations of second_id's label, and the
-- two flagged labels changed since the training (first_id corrected,
-- second_id changed and back), all of labels this role wrote
SELECT is((SELECT format('%s %s', audit_confirmations, audit_corrections) FROM hitl.label_stats
		   WHERE model = 'pm' AND role = current_user::text), '2 2',
		  'hitl.label_stats: audit confirmations and corrections of the role''s labels');

-- errors
INSERT INTO pts VALUES (1000, 0, 0, NULL, 'a');
SELECT throws_ok($$SELECT hitl.confirm_label('pm', '{"id": 1000}')$$, '55000',
				 'row {"id": 1000} of model "pm" is not labeled', 'confirm_label of an unlabeled row: 55000');
SELECT throws_ok($$SELECT hitl.confirm_label('pm', '{"id": 5000}')$$, 'P0002',
				 'model "pm" has no row of key {"id": 5000}', 'an unknown key: P0002');
SELECT throws_ok($$SELECT hitl.confirm_label('pm', '{"nokey": 1}')$$, 'P0002', NULL,
				 'a key without the key column: P0002');
SELECT throws_ok($$SELECT hitl.confirm_label('nosuch', '{"id": 1}')$$, '42704', NULL,
				 'an unknown model: 42704');
SELECT throws_ok($$SELECT hitl.confirm_label('pm', NULL)$$, '22004', NULL, 'a NULL key: 22004');

CREATE ROLE tap_audit_reader;
CREATE ROLE tap_audit_none;
GRANT SELECT ON pts, pm_audit_queue TO tap_audit_reader;
GRANT SELECT ON pm_audit_queue TO tap_audit_none;
SET ROLE tap_audit_reader;
SELECT throws_ok($$SELECT hitl.confirm_label('pm', '{"id": 3}')$$, '42501',
				 'permission denied to confirm labels of model "pm"',
				 'a role that may not update the label column: 42501');
SELECT is((SELECT count(*) FROM pm_audit_queue), (:n_before - 1)::bigint,
		  'a reader of the table sees the audit view');
SELECT throws_ok($$SELECT hitl._create_audit_view('pm')$$, '42501', 'must be owner of model "pm"',
				 'a reader cannot create the audit view of a model it does not own');
RESET ROLE;

SET ROLE tap_audit_none;
SELECT is((SELECT count(*) FROM hitl.audit_queue), 0::bigint,
		  'a role without SELECT on the table sees nothing in hitl.audit_queue');
SELECT throws_ok($$SELECT * FROM pm_audit_queue$$, '42501', NULL,
				 'and cannot read the table through the audit view');
RESET ROLE;

-- row-level security of the table: the reader sees the rows with id <= 150
ALTER TABLE pts ENABLE ROW LEVEL SECURITY;
CREATE POLICY low ON pts FOR SELECT TO tap_audit_reader USING (id <= 150);
SELECT count(*) AS n_low FROM pm_audit_queue WHERE id <= 150 \gset
SET ROLE tap_audit_reader;
SELECT is((SELECT count(*) FROM pm_audit_queue), :n_low::bigint,
		  'row-level security: the audit view shows the rows the reader sees');
SELECT is((SELECT count(*) FROM hitl.audit_queue WHERE (row_key->>'id')::int > 150), 0::bigint,
		  'row-level security: hitl.audit_queue shows none of the others');
RESET ROLE;
ALTER TABLE pts DISABLE ROW LEVEL SECURITY;

-- incremental naive Bayes updates leave the store as the full training made it
CREATE TABLE docs (id int PRIMARY KEY, body text, label text);
INSERT INTO docs
SELECT g, format('%s %s the %s', w[1 + t * 8 + g % 8], w[1 + t * 8 + (g * 3) % 8],
				 w[1 + t * 8 + (g * 5) % 8]),
	   CASE WHEN g <= 90 THEN (ARRAY['sport', 'cooking', 'computing'])[1 + (CASE WHEN g % 15 = 0 THEN t + 1 ELSE t END) % 3] END
FROM generate_series(1, 100) g, LATERAL (SELECT g % 3 AS t) s,
	 (SELECT ARRAY['goal', 'match', 'team', 'score', 'league', 'coach', 'player', 'stadium',
				   'recipe', 'bake', 'flour', 'spicy', 'oven', 'sauce', 'garlic', 'butter',
				   'kernel', 'compile', 'server', 'cpu', 'database', 'query', 'network',
				   'debug'] AS w) words;
SELECT hitl.create_model('nb', 'docs', 'label', '{body}', algorithm => 'naive_bayes') \gset
SELECT array_agg(format('%s %s %s', rank, row_key, version) ORDER BY rank) AS nb_store
FROM hitl.audit WHERE model = 'nb' \gset
SELECT cmp_ok((SELECT count(*) FROM nb_audit_queue WHERE id % 15 = 0), '>=', 4::bigint,
			  'naive Bayes: flipped labels of the text model are flagged');
UPDATE docs SET label = 'sport' WHERE id = 93;
SELECT hitl.train('nb', incremental => true) AS inc_version \gset
SELECT is((SELECT metrics->>'incremental' FROM hitl.model_versions
		   WHERE model = 'nb' AND version = :inc_version), 'true',
		  'an incremental update');
SELECT is((SELECT array_agg(format('%s %s %s', rank, row_key, version) ORDER BY rank)
		   FROM hitl.audit WHERE model = 'nb'), :'nb_store'::text[],
		  'the incremental update left the audit store as it was');

-- no cross-validation, no training: the audit view refuses
SELECT hitl.create_model('nocv', 'pts', 'label', '{x,y}', prediction_column => 'n_p',
						 confidence_column => 'n_c', uncertainty_column => 'n_u',
						 options => '{"cv_folds": 0}') \gset
SELECT throws_ok($$SELECT * FROM nocv_audit_queue$$, '55000',
				 'model "nocv" was trained without cross-validation',
				 'a model trained with cv_folds 0: 55000');
SELECT hitl.create_model('untrained', 'pts', 'label', '{x,y}', prediction_column => 'u_p',
						 confidence_column => 'u_c', uncertainty_column => 'u_u',
						 options => '{"min_labels": 100000}') \gset
SELECT throws_ok($$SELECT * FROM untrained_audit_queue$$, '55000',
				 'model "untrained" has not been trained', 'a model never trained: 55000');

-- drop_model drops the audit view
SELECT hitl.drop_model('untrained', drop_columns => true) \gset
SELECT hasnt_view('public', 'untrained_audit_queue', 'drop_model drops the audit view');

SELECT * FROM finish();

SELECT hitl.drop_model(name) FROM hitl.models;
DROP TABLE pts, docs CASCADE;
DROP OWNED BY tap_audit_reader;
DROP OWNED BY tap_audit_none;
DROP ROLE tap_audit_reader;
DROP ROLE tap_audit_none;
