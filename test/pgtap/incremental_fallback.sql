-- Why an incremental naive Bayes update fell back to a full training: the
-- version trained from scratch instead names the reason in
-- metrics->>'fallback'; a successful update, and a training that was not
-- asked to be incremental, have no such key.
--
-- Like text.sql, this file runs outside a transaction block: an incremental
-- update reads the label changes committed since its version (the database
-- is dropped after the file).

SELECT plan(15);

CREATE EXTENSION hitl;

CREATE TABLE docs (id int PRIMARY KEY, body text, label text);
-- 40 rows, 30 labeled: each topic has eight words of its own
INSERT INTO docs
SELECT g, format('%s %s the %s', w[1 + t * 8 + g % 8], w[1 + t * 8 + (g * 3) % 8],
				 w[1 + t * 8 + (g * 5) % 8]),
	   CASE WHEN g <= 30 THEN (ARRAY['sport', 'cooking', 'computing'])[1 + t] END
FROM generate_series(1, 40) g, LATERAL (SELECT g % 3 AS t) s,
	 (SELECT ARRAY['goal', 'match', 'team', 'score', 'league', 'coach', 'player', 'stadium',
				   'recipe', 'bake', 'flour', 'spicy', 'oven', 'sauce', 'garlic', 'butter',
				   'kernel', 'compile', 'server', 'cpu', 'database', 'query', 'network',
				   'debug'] AS w) words;

-- too few labels at creation: no version yet
SELECT hitl.create_model('nb', 'docs', 'label', '{body}', algorithm => 'naive_bayes',
						 options => '{"cv_folds": 0, "min_labels": 100}') \gset
SELECT is((SELECT count(*) FROM hitl.model_versions WHERE model = 'nb'), 0::bigint,
		  'too few labels at creation: no version yet');
SELECT hitl.alter_model('nb', options => '{"min_labels": 10}') \gset

-- Train nb with incremental => true: (a new version?, incremental, fallback)
CREATE FUNCTION train_inc() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	base int := (SELECT coalesce(max(version), 0) FROM hitl.model_versions WHERE model = 'nb');
	v int := hitl.train('nb', incremental => true);
BEGIN
	RETURN (SELECT format('%s %s %s', (v = base + 1)::text, m.metrics->>'incremental',
						  coalesce(m.metrics->>'fallback', '(none)'))
			FROM hitl.model_versions m WHERE m.model = 'nb' AND m.version = v);
END
$$;

SELECT is(train_inc(), 'true false no_version',
		  'no version to update: trained from scratch, fallback no_version');

UPDATE docs SET label = 'sport' WHERE id = 31;
SELECT is(train_inc(), 'true true (none)', 'a new label: applied incrementally, no fallback key');

UPDATE docs SET label = 'travel' WHERE id = 32;
SELECT is(train_inc(), 'true false new_class', 'a label of a new class: fallback new_class');

UPDATE docs SET label = 'computing' WHERE id = 32;
SELECT is(train_inc(), 'true false class_emptied',
		  'the only row of a class relabeled: fallback class_emptied');

-- the table keeps its number of rows (the idf of a text model counts them)
BEGIN;
DELETE FROM docs WHERE id = 1;
INSERT INTO docs VALUES (41, 'goal team', NULL);
COMMIT;
SELECT is(train_inc(), 'true false row_deleted', 'a labeled row deleted: fallback row_deleted');

INSERT INTO docs VALUES (42, 'oven sauce', NULL);
SELECT is(train_inc(), 'true false row_count_changed',
		  'a row inserted into a text model''s table: fallback row_count_changed');

SET session_replication_role = replica;
UPDATE docs SET label = 'cooking' WHERE id = 2;
RESET session_replication_role;
SELECT is(train_inc(), 'true false unlogged_change',
		  'a label changed with the triggers off: fallback unlogged_change');

-- the text of a labeled row changes (no log entry), then its label: its new
-- words are subtracted from its old class, which never had them
UPDATE docs SET body = 'zebra unicorn zebra' WHERE id = 3;
UPDATE docs SET label = 'cooking' WHERE id = 3;
SELECT is(train_inc(), 'true false negative_sum',
		  'a row''s features changed after it was counted: fallback negative_sum');

-- a training in a transaction that changed labels records no label snapshot
BEGIN;
UPDATE docs SET label = 'sport' WHERE id = 4;
SELECT is(train_inc(), 'true true (none)', 'an update in the labeling transaction applies');
COMMIT;
SELECT ok((SELECT label_snapshot IS NULL FROM hitl.model_versions v JOIN hitl.models m
		   ON m.name = v.model AND m.current_version = v.version WHERE m.name = 'nb'),
		  'and records no label snapshot');
UPDATE docs SET label = 'computing' WHERE id = 5;
SELECT is(train_inc(), 'true false no_snapshot',
		  'no label snapshot to update from: fallback no_snapshot');

-- two label swaps: more changes than labeled rows
UPDATE docs SET label = CASE label WHEN 'sport' THEN 'cooking' WHEN 'cooking' THEN 'sport' ELSE label END;
UPDATE docs SET label = CASE label WHEN 'sport' THEN 'cooking' WHEN 'cooking' THEN 'sport' ELSE label END;
UPDATE docs SET label = 'cooking' WHERE id = 6;
SELECT is(train_inc(), 'true false too_many_changes',
		  'more changes than labeled rows: fallback too_many_changes');

-- no fallback where no incremental update was asked for, or none exists
UPDATE docs SET label = 'sport' WHERE id = 7;
SELECT hitl.train('nb') AS nb_version \gset
SELECT is((SELECT metrics ? 'fallback' FROM hitl.model_versions
		   WHERE model = 'nb' AND version = :nb_version), false,
		  'a full training not asked to be incremental: no fallback key');
SELECT hitl.create_model('lr', 'docs', 'label', '{body}', prediction_column => 'lr_p',
						 confidence_column => 'lr_c', uncertainty_column => 'lr_u',
						 options => '{"cv_folds": 0}') \gset
UPDATE docs SET label = 'cooking' WHERE id = 8;
SELECT hitl.train('lr', incremental => true) AS lr_version \gset
SELECT is((SELECT (metrics->>'incremental') || ' ' || (metrics ? 'fallback')::text
		   FROM hitl.model_versions WHERE model = 'lr' AND version = :lr_version), 'false false',
		  'logistic regression asked to be incremental: trained from scratch, no fallback key');

SELECT * FROM finish();
