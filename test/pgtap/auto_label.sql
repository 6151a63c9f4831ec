-- Auto-labeling at a precision target: the out-of-fold store of every
-- labeled row; the threshold (the Wilson rule, recomputed here in SQL from
-- the stored pairs); labels only at or above it, never over a human label;
-- the label log's source and deciding version; a human update makes a
-- machine label human; training leaves machine labels out unless
-- train_on_auto_labels; the auto-label audit view and hitl.auto_label_stats;
-- hitl.label_stats leaves machine labels out; the errors.  (The NOTICE's text, concurrency and the worker's option are
-- in test/t/100_auto_label.pl.)
--
-- The file runs outside a transaction block; its role is dropped at the end.

SELECT plan(61);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

-- 1,200 points in 3 classes that overlap a little; the first 240 are
-- labeled by people (after the model exists: the label log has them)
CREATE TABLE pts (id int PRIMARY KEY, x float8, y float8, label text, truth text);
INSERT INTO pts
SELECT g, c * 2 + 1.2 * sin(g * 1.3), c + 1.1 * cos(g * 0.7), NULL, l
FROM generate_series(1, 1200) g, LATERAL (SELECT g % 3 AS c) s,
	 LATERAL (SELECT (ARRAY['a', 'b', 'c'])[c + 1] AS l) s2;
SELECT hitl.create_model('pm', 'pts', 'label', '{x,y}') \gset
UPDATE pts SET label = truth WHERE id <= 240;
SELECT hitl.train('pm') \gset
SELECT hitl.score('pm') \gset

SELECT is((SELECT count(*) FROM hitl.oof_predictions WHERE model = 'pm'), 240::bigint,
		  'the out-of-fold store holds every labeled row');
SELECT is((SELECT array_agg(DISTINCT version) FROM hitl.oof_predictions WHERE model = 'pm'),
		  ARRAY[(SELECT current_version FROM hitl.models WHERE name = 'pm')],
		  'of the version the training recorded');
SELECT is((SELECT count(*) FROM hitl.oof_predictions o JOIN pts p ON o.row_key = jsonb_build_object('id', p.id)
		   WHERE o.label = p.label), 240::bigint, 'keyed by the rows'' keys, with their labels');

-- the Wilson rule: the lowest stored confidence t whose predictions at or
-- above it have a one-sided 95% lower bound of precision >= 0.95
CREATE FUNCTION wilson_threshold(target float8) RETURNS float8 LANGUAGE sql AS $$
	WITH c AS (SELECT DISTINCT confidence AS t FROM hitl.oof_predictions WHERE model = 'pm'),
	s AS (SELECT c.t, count(*)::float8 AS n, count(*) FILTER (WHERE o.predicted = o.label)::float8 AS k
		  FROM c JOIN hitl.oof_predictions o ON o.model = 'pm' AND o.confidence >= c.t GROUP BY c.t),
	b AS (SELECT t, (k / n + z * z / (2 * n) - z * sqrt((k / n) * (1 - k / n) / n + z * z / (4 * n * n)))
				  / (1 + z * z / n) AS low
		  FROM s, (SELECT 1.6448536269514722::float8 AS z) zz)
	SELECT min(t) FROM b WHERE low >= target
$$;
SELECT isnt(wilson_threshold(0.95), NULL, 'some confidence reaches precision 0.95');
SELECT is(hitl._auto_label_threshold('pm', 0.95), wilson_threshold(0.95),
		  'the threshold is the Wilson rule over the stored pairs (0.95)');
SELECT is(hitl._auto_label_threshold('pm', 0.9), wilson_threshold(0.9),
		  'the threshold is the Wilson rule over the stored pairs (0.9)');
SELECT hitl._auto_label_threshold('pm', 0.95) AS th \gset

-- people's labels the model disagrees with stay as they are
UPDATE pts SET label = 'c' WHERE id IN (1, 4);
SELECT count(*) AS n_expected FROM pts WHERE label IS NULL AND label_confidence >= :th \gset
SELECT cmp_ok(:n_expected::bigint, '>', 0::bigint, 'unlabeled rows reach the threshold');
SELECT is(hitl.auto_label('pm', 0.95, 0.1), :n_expected::bigint,
		  'auto_label labels every unlabeled row at or above the threshold, and returns how many');
SELECT is((SELECT count(*) FROM pts WHERE label IS NULL AND label_confidence >= :th), 0::bigint,
		  'no unlabeled row at or above the threshold is left');
SELECT is((SELECT count(*) FROM pts p JOIN hitl.auto_labels a ON a.row_key = jsonb_build_object('id', p.id)
		   WHERE p.label_confidence < :th), 0::bigint, 'no row below the threshold is labeled');
SELECT is((SELECT count(*) FROM pts p JOIN hitl.auto_labels a ON a.row_key = jsonb_build_object('id', p.id)
		   WHERE p.label IS DISTINCT FROM p.label_prediction OR a.label <> p.label), 0::bigint,
		  'each machine label is the row''s prediction, recorded in hitl.auto_labels');
SELECT is((SELECT array_agg(label ORDER BY id) FROM pts WHERE id <= 240),
		  (SELECT array_agg(CASE WHEN id IN (1, 4) THEN 'c' ELSE truth END ORDER BY id) FROM pts WHERE id <= 240),
		  'no human label is overwritten');
SELECT is((SELECT count(*) FROM hitl.auto_labels a WHERE (a.row_key->>'id')::int <= 240), 0::bigint,
		  'no human-labeled row is in hitl.auto_labels');
SELECT is(hitl.auto_label('pm', 0.95, 0.1), 0::bigint, 'a second run finds nothing left to label');
SELECT is(hitl.auto_label('pm', 0.995, 0.1), 0::bigint,
		  'a target no threshold reaches labels nothing (0, with a NOTICE)');

-- the label log
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'pm' AND source = 'model'), :n_expected::bigint,
		  'every machine label is logged with source model');
SELECT is((SELECT array_agg(DISTINCT decided_version) FROM hitl.label_log WHERE model = 'pm' AND source = 'model'),
		  ARRAY[(SELECT current_version FROM hitl.models WHERE name = 'pm')],
		  'with the version that decided it');
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'pm' AND source = 'human'), 242::bigint,
		  'people''s labels are logged with source human');
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'pm' AND source = 'model' AND evaluation), 0::bigint,
		  'a machine label is never an evaluation label');

-- hitl.label_stats counts people's labels only: a machine label is no
-- role's work, though its log entry names the role that ran auto_label
SELECT is((SELECT labels FROM hitl.label_stats WHERE model = 'pm' AND role = current_user), 242::bigint,
		  'hitl.label_stats counts the role''s 242 labels, not the machine labels it ran');
SELECT is((SELECT agreements FROM hitl.label_stats WHERE model = 'pm' AND role = current_user),
		  (SELECT count(*) FROM hitl.label_log WHERE model = 'pm' AND source = 'human' AND new_label = prediction),
		  'nor counts a machine label as an agreement with the model');

-- the audit share and view
SELECT is((SELECT count(*) FILTER (WHERE audited) FROM hitl.auto_labels WHERE model = 'pm'),
		  ceil(:n_expected * 0.1)::bigint, 'audit_fraction 0.1 marks that share for audit (rounded up)');
SELECT is((SELECT count(*) FROM pm_auto_label_audit), ceil(:n_expected * 0.1)::bigint,
		  '<model>_auto_label_audit shows the audited rows');
SELECT id AS confirm_id FROM pm_auto_label_audit ORDER BY id LIMIT 1 \gset
SELECT id AS correct_id, label AS correct_label FROM pm_auto_label_audit ORDER BY id DESC LIMIT 1 \gset
SELECT lives_ok(format($$SELECT hitl.confirm_label('pm', '{"id": %s}')$$, :confirm_id),
				'confirm_label confirms a machine label');
SELECT is((SELECT auto_label FROM hitl.label_confirmations WHERE model = 'pm' ORDER BY id DESC LIMIT 1), true,
		  'the confirmation records that it covers a machine label');
SELECT is((SELECT audit_confirmations FROM hitl.label_stats WHERE model = 'pm' AND role = current_user), 0::bigint,
		  'hitl.label_stats counts no confirmation of a machine label as one of the role''s labels');
UPDATE pts SET label = CASE label WHEN 'a' THEN 'b' ELSE 'a' END WHERE id = :correct_id;
SELECT is((SELECT count(*) FROM pm_auto_label_audit WHERE id IN (:confirm_id, :correct_id)), 0::bigint,
		  'the confirmed and the corrected rows leave the audit view');
SELECT is((SELECT count(*) FROM hitl.auto_labels WHERE model = 'pm' AND row_key = jsonb_build_object('id', :correct_id)),
		  0::bigint, 'a human update makes a machine label human: the row leaves hitl.auto_labels');
SELECT is((SELECT source FROM hitl.label_log WHERE model = 'pm' AND row_key = jsonb_build_object('id', :correct_id)
		   ORDER BY id DESC LIMIT 1), 'human', 'and its log entry says human');
SELECT is((SELECT sum(confirmed) FROM hitl.auto_label_stats WHERE model = 'pm'), 1::numeric,
		  'auto_label_stats counts the confirmation');
SELECT is((SELECT corrected FROM hitl.auto_label_stats WHERE model = 'pm' AND label = :'correct_label'), 1::bigint,
		  'and the correction, under the machine label''s class');
SELECT is((SELECT sum(auto_labeled) FROM hitl.auto_label_stats WHERE model = 'pm'), :n_expected - 1::numeric,
		  'auto_labeled counts the rows machine-labeled now');
SELECT ok((SELECT bool_and(precision_low <= coalesce(audited_precision, 0) AND coalesce(audited_precision, 1) <= precision_high)
		   FROM hitl.auto_label_stats WHERE model = 'pm'), 'the audited precision lies in its interval');

-- training reads human labels only, unless train_on_auto_labels
SELECT hitl.train('pm') \gset
SELECT is((SELECT n_labeled FROM hitl.model_versions v JOIN hitl.models m ON m.name = v.model
		   AND v.version = m.current_version WHERE m.name = 'pm'), 241,
		  'training leaves machine labels out by default (240 people''s labels and the correction)');
SELECT hitl.alter_model('pm', '{"train_on_auto_labels": true}') \gset
SELECT hitl.train('pm') \gset
SELECT is((SELECT n_labeled FROM hitl.model_versions v JOIN hitl.models m ON m.name = v.model
		   AND v.version = m.current_version WHERE m.name = 'pm'),
		  (SELECT count(*)::int FROM pts WHERE label IS NOT NULL),
		  'with train_on_auto_labels it reads them too');

-- errors
SELECT throws_ok($$SELECT hitl.auto_label('pm', 0.5)$$, '22023',
				 'target_precision must be greater than 0.5 and less than 1', 'a target of 0.5: 22023');
SELECT throws_ok($$SELECT hitl.auto_label('pm', 1)$$, '22023', NULL, 'a target of 1: 22023');
SELECT throws_ok($$SELECT hitl.auto_label('pm', 0.95, 1.5)$$, '22023',
				 'audit_fraction must be between 0 and 1', 'an audit fraction above 1: 22023');
SELECT hitl.create_model('nocv', 'pts', 'label', '{x,y}', prediction_column => 'n_p',
						 confidence_column => 'n_c', uncertainty_column => 'n_u',
						 options => '{"cv_folds": 0}') \gset
SELECT throws_ok($$SELECT hitl.auto_label('nocv')$$, '55000',
				 'model "nocv" does not cross-validate', 'a model with cv_folds 0: 55000');
SELECT hitl.create_model('untrained', 'pts', 'label', '{x,y}', prediction_column => 'u_p',
						 confidence_column => 'u_c', uncertainty_column => 'u_u',
						 options => '{"min_labels": 100000}') \gset
SELECT throws_ok($$SELECT hitl.auto_label('untrained')$$, '55000',
				 'model "untrained" has not been trained', 'a model never trained: 55000');

-- the options, checked by the one function that knows every option
SELECT throws_ok($$SELECT hitl.alter_model('pm', '{"auto_label_precision": 0.5}')$$, '22023',
				 'invalid value 0.5 for option "auto_label_precision"', 'auto_label_precision 0.5: 22023');
SELECT throws_ok($$SELECT hitl.alter_model('pm', '{"train_on_auto_labels": "yes"}')$$, '22023',
				 'invalid value "yes" for option "train_on_auto_labels"', 'train_on_auto_labels "yes": 22023');
SELECT is((SELECT hitl._resolve_options('{"auto_label_precision": 0.9, "train_on_auto_labels": null}', 'logistic', false)
		   - ARRAY['C', 'max_iter', 'tol', 'min_labels', 'cv_folds', 'score_tolerance', 'queue_size']),
		  '{"auto_label_precision": 0.9}'::jsonb, 'a valid target is kept, a JSON null removes an option');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
		   WHERE p.pronamespace = 'hitl'::regnamespace AND p.proname LIKE '\_resolve%'),
		  ARRAY['_resolve_options'], 'one function checks the options: no wrapper is left behind');

-- the confidence column must be the current version's
SELECT hitl.alter_model('pm', '{"train_on_auto_labels": false}') \gset
SELECT hitl.train('pm') \gset
SELECT throws_ok($$SELECT hitl.auto_label('pm')$$, '55000',
				 format('the scores of model "pm" are not of its current version %s',
						(SELECT current_version FROM hitl.models WHERE name = 'pm')),
				 'a version not yet scored: 55000');
SELECT hitl.score('pm') \gset

-- the labels are written as the caller: without UPDATE, 42501
CREATE ROLE tap_al_reader;
GRANT SELECT ON pts TO tap_al_reader;
UPDATE pts SET label = NULL WHERE id IN (SELECT (row_key->>'id')::int FROM hitl.auto_labels WHERE model = 'pm');
SET ROLE tap_al_reader;
SELECT throws_ok($$SELECT hitl.auto_label('pm', 0.9)$$, '42501', NULL,
				 'a role without UPDATE on the table cannot auto-label: 42501');
RESET ROLE;
SELECT is((SELECT count(*) FROM hitl.auto_labels WHERE model = 'pm'), 0::bigint,
		  'and records nothing');

-- an incremental naive Bayes update leaves machine labels out as a full
-- training does: while the model has machine labels it falls back to a
-- full training (metrics "fallback": "auto_labels")
CREATE TABLE nbt (id int PRIMARY KEY, x float8, y float8, label text, truth text);
INSERT INTO nbt SELECT g, c * 3 + abs(sin(g * 1.3)), c + abs(cos(g * 0.7)), NULL, l
FROM generate_series(1, 900) g, LATERAL (SELECT g % 3 AS c) s,
	 LATERAL (SELECT (ARRAY['a', 'b', 'c'])[c + 1] AS l) s2;
SELECT hitl.create_model('nb', 'nbt', 'label', '{x,y}', algorithm => 'naive_bayes') \gset
UPDATE nbt SET label = truth WHERE id <= 600;
SELECT hitl.train('nb') \gset
SELECT hitl.score('nb') \gset
SELECT hitl.auto_label('nb', 0.9) \gset
UPDATE nbt SET label = truth WHERE id = 900 AND label IS NULL;
SELECT hitl.train('nb', incremental => true) \gset
SELECT is((SELECT n_labeled || ' ' || (metrics ->> 'fallback') FROM hitl.model_versions v
		   JOIN hitl.models m ON m.name = v.model AND v.version = m.current_version WHERE m.name = 'nb'),
		  '601 auto_labels', 'an incremental naive Bayes update reads human labels only: it falls back');

-- the out-of-fold store has no foreign key: deleting a model empties it
SELECT hitl.drop_model('pm') \gset
SELECT is((SELECT count(*) FROM hitl.oof_predictions WHERE model = 'pm'), 0::bigint,
		  'drop_model empties the model''s out-of-fold store');

-- a second campaign for what goes wrong around auto-labeling: 600 points,
-- 300 labeled; whole-number options given as 5.0 are stored as integers
CREATE TABLE pts2 (id int PRIMARY KEY, x float8, y float8, label text, truth text);
INSERT INTO pts2
SELECT g, c * 2 + 1.2 * sin(g * 1.3), c + 1.1 * cos(g * 0.7), NULL, l
FROM generate_series(1, 600) g, LATERAL (SELECT g % 3 AS c) s,
	 LATERAL (SELECT (ARRAY['a', 'b', 'c'])[c + 1] AS l) s2;
SELECT hitl.create_model('pm2', 'pts2', 'label', '{x,y}', options => '{"cv_folds": 5.0, "min_labels": 1e1}') \gset
SELECT is((SELECT (options -> 'cv_folds') || (options -> 'min_labels') FROM hitl.models WHERE name = 'pm2'),
		  '[5, 10]'::jsonb, 'whole-number options given as 5.0 and 1e1 are stored as integers');
UPDATE pts2 SET label = truth WHERE id <= 300;
SELECT lives_ok($$SELECT hitl.train('pm2')$$, 'and the model trains with them');
SELECT hitl.score('pm2') \gset

-- auto_label holds the model's scoring lock: no scoring moves the
-- predictions it reads (the advisory lock of class 0x6869746c, field 3)
SELECT is((SELECT l FROM (SELECT hitl.auto_label('pm2', 0.6, 0) OFFSET 0) a,
				 LATERAL (SELECT count(*) AS l FROM pg_locks
						  WHERE pid = pg_backend_pid() AND locktype = 'advisory'
							AND classid = 1751741548 AND objsubid = 3 AND mode = 'ExclusiveLock') k),
		  1::bigint, 'auto_label holds the model''s scoring lock');
UPDATE pts2 SET label = NULL WHERE id > 300;
SELECT hitl.score('pm2') \gset

-- a trigger of the table's owner that leaves the label NULL: no machine
-- label is counted or stored, and the server stays up
CREATE FUNCTION pts2_nolabel() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.label := NULL;
	RETURN NEW;
END
$$;
CREATE TRIGGER pts2_nolabel BEFORE UPDATE ON pts2 FOR EACH ROW EXECUTE FUNCTION pts2_nolabel();
SELECT is(hitl.auto_label('pm2', 0.6), 0::bigint, 'rows a trigger left unlabeled are not machine labels');
SELECT is((SELECT count(*) FROM hitl.auto_labels WHERE model = 'pm2'), 0::bigint, 'none is stored');
DROP TRIGGER pts2_nolabel ON pts2;

-- a child table (INHERITS) whose rows share ctids with the parent's
-- candidates: only candidates are labeled
CREATE TABLE pts2_child () INHERITS (pts2);
INSERT INTO pts2_child (id, x, y, label, truth, label_prediction, label_confidence, label_uncertainty)
SELECT 10000 + g, 0, 0, NULL, 'a', 'a', 0.01, 0.99 FROM generate_series(1, 5000) g;
SELECT cmp_ok(hitl.auto_label('pm2', 0.6), '>', 0::bigint, 'the parent''s candidates are labeled');
SELECT is((SELECT count(*) FROM ONLY pts2_child WHERE label IS NOT NULL), 0::bigint,
		  'no row of the child, whose confidence is below the threshold, is labeled');

-- a stored confidence within score_tolerance of the threshold does not
-- decide alone, the version's own confidence does: scoring leaves a
-- confidence that moved by less than score_tolerance as it was
DROP TABLE pts2_child;
UPDATE pts2 SET label = NULL WHERE id > 300;
UPDATE hitl.models SET options = options || '{"score_tolerance": 0.3}' WHERE name = 'pm2';
SELECT hitl._auto_label_threshold('pm2', 0.6) AS th2 \gset
CREATE TEMP TABLE band AS
SELECT id, (hitl.predict_proba('pm2', p) ->> label_prediction)::float8 AS c FROM pts2 p WHERE label IS NULL;
SELECT id AS below_id FROM band WHERE c < :th2 AND c > :th2 - 0.25 ORDER BY c DESC LIMIT 1 \gset
SELECT id AS above_id FROM band WHERE c >= :th2 AND c < :th2 + 0.25 ORDER BY c LIMIT 1 \gset
UPDATE pts2 SET label_confidence = :th2 + 0.02 WHERE id = :below_id;
UPDATE pts2 SET label_confidence = :th2 - 0.02 WHERE id = :above_id;
SELECT is(hitl.auto_label('pm2', 0.6), (SELECT count(*) FROM band WHERE c >= :th2),
		  'with score_tolerance 0.3, auto_label labels the rows whose confidence reaches the threshold');
SELECT is((SELECT label FROM pts2 WHERE id = :below_id), NULL,
		  'a row stored above the threshold, within score_tolerance, whose confidence is below it is not labeled');
SELECT is((SELECT label FROM pts2 WHERE id = :above_id), (SELECT label_prediction FROM pts2 WHERE id = :above_id),
		  'a row stored below the threshold, within score_tolerance, whose confidence reaches it is labeled');

-- deleting a model any way empties its out-of-fold store
SELECT cmp_ok((SELECT count(*) FROM hitl.oof_predictions WHERE model = 'pm2'), '>', 0::bigint,
			  'the model has an out-of-fold store');
DELETE FROM hitl.models WHERE name = 'pm2';
SELECT is((SELECT count(*) FROM hitl.oof_predictions WHERE model = 'pm2'), 0::bigint,
		  'a model deleted from hitl.models directly leaves no out-of-fold store');

SELECT * FROM finish();

SELECT hitl.drop_model(name) FROM hitl.models;
DROP TABLE pts, nbt, pts2 CASCADE;
DROP FUNCTION pts2_nolabel();
DROP OWNED BY tap_al_reader;
DROP ROLE tap_al_reader;
DROP FUNCTION wilson_threshold(float8);
