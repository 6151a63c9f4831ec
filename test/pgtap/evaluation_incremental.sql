-- An incremental naive Bayes update carries the accuracy on the evaluation
-- rows as a full training does: it is read from the label log, not from
-- the rows the update does not read.
--
-- Outside a transaction block: an incremental update reads the label
-- changes committed since its version.

SELECT plan(4);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

CREATE TABLE notes (id int PRIMARY KEY, body text, topic text);
INSERT INTO notes
SELECT g, CASE g % 2 WHEN 0 THEN format('goal match team %s', g) ELSE format('oven flour sauce %s', g) END,
	   CASE WHEN g <= 30 THEN (ARRAY['sport', 'cooking'])[1 + g % 2] END
FROM generate_series(1, 200) g;
SELECT is(hitl.create_model('nb', 'notes', 'topic', '{body}', algorithm => 'naive_bayes',
							options => '{"queue_size": 20, "evaluation_rate": 0.2, "cv_folds": 3}'),
		  1, 'a naive Bayes model with 4 evaluation rows in its queue of 20');
SELECT is((SELECT count(*) FROM hitl.queue WHERE model = 'nb' AND evaluation), 4::bigint,
		  'four evaluation rows');

-- the evaluation rows labeled with the truth of the data
UPDATE notes n SET topic = (ARRAY['sport', 'cooking'])[1 + n.id % 2]
FROM hitl.queue q
WHERE q.model = 'nb' AND q.evaluation AND q.row_key = jsonb_build_object('id', n.id);

SELECT is(hitl.train('nb', incremental => true), 2, 'an incremental update: version 2');
SELECT is((SELECT (metrics ->> 'incremental')::bool || ' ' || (metrics -> 'evaluation' ->> 'rows')
		   FROM hitl.model_versions WHERE model = 'nb' AND version = 2),
		  'true 4', 'the update carries the accuracy on the four evaluation rows labeled');

SELECT * FROM finish();
