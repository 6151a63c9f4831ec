-- hitl.label_stats per role: confident disagreements relative to the model
-- (the top tenth of its logged confidences, not a fixed 0.9), labels that
-- another role changed next, and the median time between a role's labels.
-- Labels are written by two roles, through a plain UPDATE each.
--
-- The file runs outside a transaction block (the pace of labeling needs
-- statements of their own time); its roles are dropped at the end.

SELECT plan(9);

CREATE EXTENSION hitl;

CREATE ROLE tap_ann_a;
CREATE ROLE tap_ann_b;
CREATE ROLE tap_ann_c;

-- three classes that overlap: no prediction is sure
CREATE TABLE tickets (id int PRIMARY KEY, x float8, y float8, label text);
INSERT INTO tickets
SELECT g, (g * 7) % 10, (g * 3) % 10,
	   CASE WHEN g <= 60 THEN (ARRAY['a', 'b', 'c'])[1 + (g * 13 + (g * 7) % 10) % 3] END
FROM generate_series(1, 300) g;
SELECT is(hitl.create_model('t', 'tickets', 'label', '{x,y}', options => '{"cv_folds": 0}'), 1,
		  'a model whose classes overlap');
SELECT ok((SELECT max(label_confidence) FROM tickets WHERE id > 60) < 0.9,
		  'its most confident prediction is below 0.9');
GRANT SELECT, UPDATE ON tickets TO tap_ann_a, tap_ann_b, tap_ann_c;

-- A labels twelve unlabeled rows, each with the model's prediction, except
-- the most confident one, which A overrides
CREATE TABLE picked AS
	SELECT id, label_prediction AS p, label_confidence AS c,
		   row_number() OVER (ORDER BY label_confidence DESC, id) AS r
	FROM tickets WHERE id > 60 ORDER BY label_confidence DESC, id LIMIT 12;
GRANT SELECT ON picked TO tap_ann_a, tap_ann_b, tap_ann_c;
SET ROLE tap_ann_a;
UPDATE tickets t SET label = CASE WHEN p.r = 1 THEN (CASE p.p WHEN 'a' THEN 'b' ELSE 'a' END) ELSE p.p END
FROM picked p WHERE p.id = t.id;
RESET ROLE;

SELECT results_eq(
	$$SELECT labels, agreements, overrides, confident_disagreements FROM hitl.label_stats
	  WHERE model = 't' AND role = 'tap_ann_a'$$,
	$$VALUES (12::bigint, 11::bigint, 1::bigint, 1::bigint)$$,
	'the override of the most confident prediction counts as a confident disagreement');
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 't' AND role = 'tap_ann_a'
		   AND new_label <> prediction AND confidence >= 0.9), 0::bigint,
		  'which a fixed threshold of 0.9 would never count');
SELECT is((SELECT median_seconds_between_labels FROM hitl.label_stats WHERE model = 't' AND role = 'tap_ann_a'),
		  0::float8, 'labels written by one statement are 0 s apart');

-- B changes two of A's labels (to another label) and sets one to A's label
SET ROLE tap_ann_b;
UPDATE tickets t SET label = CASE t.label WHEN 'a' THEN 'c' ELSE 'a' END
FROM picked p WHERE p.id = t.id AND p.r IN (2, 3);
RESET ROLE;
SET ROLE tap_ann_a;
UPDATE tickets t SET label = NULL FROM picked p WHERE p.id = t.id AND p.r = 4;
RESET ROLE;
SET ROLE tap_ann_b;
UPDATE tickets t SET label = p.p FROM picked p WHERE p.id = t.id AND p.r = 4;
RESET ROLE;
SELECT is((SELECT changed_by_others FROM hitl.label_stats WHERE model = 't' AND role = 'tap_ann_a'),
		  2::bigint, 'two of A''s labels were changed next by B (not the one A removed itself)');
SELECT is((SELECT changed_by_others FROM hitl.label_stats WHERE model = 't' AND role = 'tap_ann_b'),
		  0::bigint, 'none of B''s');

-- the pace of labeling: three statements, in three transactions, 0.3 s apart
SET ROLE tap_ann_c;
UPDATE tickets SET label = 'a' WHERE id = 200;
SELECT pg_sleep(0.3);
UPDATE tickets SET label = 'b' WHERE id = 201;
SELECT pg_sleep(0.3);
UPDATE tickets SET label = 'c' WHERE id = 202;
RESET ROLE;
SELECT ok((SELECT median_seconds_between_labels FROM hitl.label_stats WHERE model = 't' AND role = 'tap_ann_c') >= 0.3,
		  'the median time between C''s three labels is at least the 0.3 s it waited between them');
SELECT is((SELECT labels FROM hitl.label_stats WHERE model = 't' AND role = 'tap_ann_b'), 3::bigint,
		  'B wrote three labels');
SELECT * FROM finish();

DROP OWNED BY tap_ann_a, tap_ann_b, tap_ann_c;
DROP ROLE tap_ann_a;
DROP ROLE tap_ann_b;
DROP ROLE tap_ann_c;
