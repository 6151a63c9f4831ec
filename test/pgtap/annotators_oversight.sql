-- The oversight half of the loop with several annotators per row: the
-- review view and hitl.next_rows, the audit queue, hitl.confirm_label,
-- hitl.label_stats, hitl.slice_metrics and auto-labeling read consensus
-- labels as they read a single annotator's.  Two annotators (k = 2) agree
-- on a wrong label on every 20th row: the audit queue finds those rows; a
-- third annotator cannot answer a row with its two answers (42501), one of
-- the two changing its answer leaves a tie, and an adjudicator's label
-- settles the row and takes it out of the queue.
--
-- The file runs outside a transaction block; its roles are dropped at the end.

SELECT plan(17);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

-- 600 points in 3 well separated classes, groups for the slices
CREATE TABLE ko (id int PRIMARY KEY, x float8, y float8, grp text, lab text, truth text);
INSERT INTO ko
SELECT g, c * 2 + sin(g * 1.3), c + cos(g * 0.7), CASE WHEN g % 2 = 0 THEN 'even' ELSE 'odd' END, NULL,
	   (ARRAY['a', 'b', 'c'])[c + 1]
FROM generate_series(1, 600) g, LATERAL (SELECT g % 3 AS c) s;
CREATE FUNCTION ko_wrong(id int, truth text) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT CASE WHEN id % 20 = 0 THEN CASE truth WHEN 'a' THEN 'b' WHEN 'b' THEN 'c' ELSE 'a' END
					  ELSE truth END $$;
GRANT EXECUTE ON FUNCTION ko_wrong(int, text) TO PUBLIC;

CREATE ROLE tap_o1;
CREATE ROLE tap_o2;
CREATE ROLE tap_o3;
GRANT SELECT, UPDATE (lab) ON ko TO tap_o1, tap_o2, tap_o3;

SELECT is(hitl.create_model('ko_m', 'ko', 'lab', '{x,y}',
							options => '{"annotators_per_row": 2, "evaluation_rate": 0, "consensus": "majority"}'),
		  NULL, 'a model with two annotators per row');
GRANT SELECT ON ko_m_review_queue, ko_m_audit_queue TO tap_o1, tap_o2, tap_o3;

-- both answer rows 1 to 300, wrong alike on every 20th
SET ROLE tap_o1;
UPDATE ko SET lab = ko_wrong(id, truth) WHERE id <= 300;
SET ROLE tap_o2;
UPDATE ko SET lab = ko_wrong(id, truth) WHERE id <= 300;
RESET ROLE;
SELECT is((SELECT count(*) FROM ko WHERE lab IS NOT NULL), 300::bigint, '300 rows hold a consensus');

SELECT cmp_ok(hitl.train('ko_m'), '>=', 1, 'the model trains on the consensus labels');
SELECT is((SELECT n_labeled FROM hitl.model_versions v JOIN hitl.models m
		   ON m.name = v.model AND v.version = m.current_version WHERE m.name = 'ko_m'), 300,
		  'on the 300 rows with a consensus');
SELECT lives_ok($$SELECT hitl.score('ko_m')$$, 'and scores');

-- the review view and next_rows
SET ROLE tap_o3;
SELECT is((SELECT count(*) FROM ko_m_review_queue WHERE id <= 300), 0::bigint,
		  'rows with two answers are in nobody''s review view');
SELECT is((SELECT count(*) FROM hitl.next_rows('ko_m', 10)), 10::bigint, 'next_rows gives unanswered rows');
RESET ROLE;

-- the audit queue
SELECT cmp_ok((SELECT count(*) FROM (SELECT * FROM ko_m_audit_queue ORDER BY audit_rank LIMIT 15) q
			   WHERE q.lab <> q.truth), '>=', 12::bigint,
			  'of the 15 rows both annotators got wrong, at least 12 lead the audit queue');
SELECT id AS a1 FROM ko_m_audit_queue WHERE lab <> truth ORDER BY audit_rank LIMIT 1 \gset
SELECT id AS a2 FROM ko_m_audit_queue WHERE lab <> truth ORDER BY audit_rank OFFSET 1 LIMIT 1 \gset

-- a third annotator cannot outvote the two: the row has its two answers
SET ROLE tap_o3;
SELECT throws_ok(format($$UPDATE ko SET lab = truth WHERE id = %s$$, :a1), '42501',
				 format('row {"id": %s} of model "ko_m" has its 2 answers', :a1),
				 'a third annotator''s fix of a row with its two answers: 42501');
RESET ROLE;
SELECT is((SELECT count(*) FROM hitl.answers WHERE model = 'ko_m' AND row_key = jsonb_build_object('id', :a1)),
		  2::bigint, 'no third answer');
SELECT is((SELECT count(*) FROM ko_m_audit_queue WHERE id = :a1), 1::bigint, 'the row stays in the audit queue');
SET ROLE tap_o1;
UPDATE ko SET lab = truth WHERE id = :a1;
RESET ROLE;
SELECT is((SELECT lab FROM ko WHERE id = :a1), NULL,
		  'one of the two changing its answer leaves a tie: no label');
-- the owner adjudicates: the row is settled and leaves the queue
UPDATE ko SET lab = truth WHERE id = :a1;
SELECT is((SELECT lab = truth FROM ko WHERE id = :a1), true, 'the owner''s fix settles the row');
SELECT is((SELECT count(*) FROM ko_m_audit_queue WHERE id = :a1), 0::bigint, 'and it leaves the audit queue');

-- a confirmation
SELECT hitl.confirm_label('ko_m', jsonb_build_object('id', :a2));
SELECT is((SELECT count(*) FROM ko_m_audit_queue WHERE id = :a2), 0::bigint, 'a confirmed label leaves the audit queue');

-- label_stats and slices
SELECT is((SELECT sum(labels) FROM hitl.label_stats WHERE model = 'ko_m'),
		  (SELECT count(*) FROM hitl.label_log WHERE model = 'ko_m' AND id > 0 AND new_label IS NOT NULL)::numeric,
		  'hitl.label_stats counts the consensus changes of the label log');
SELECT is((SELECT array_agg(group_value ORDER BY group_value) FROM hitl.slice_metrics('ko_m', 'grp')),
		  '{even,odd}'::text[], 'hitl.slice_metrics reads the consensus labels by group');

SELECT * FROM finish();

SELECT hitl.drop_model('ko_m');
DROP TABLE ko;
DROP FUNCTION ko_wrong(int, text);
DROP ROLE tap_o1, tap_o2, tap_o3;
