-- Several annotators per row (option annotators_per_row): an UPDATE of the
-- label is the role's answer, kept in hitl.answers and hitl.answer_log, and
-- the label column holds the consensus (the majority of k answers, NULL on
-- a tie, an adjudicator's label); the review view and hitl.next_rows give
-- each role the rows it has not answered; the adjudication view; the
-- option's rules; machine labels; training on consensus labels.
--
-- The file runs outside a transaction block; its roles are dropped at the end.

SELECT plan(48);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

CREATE TYPE tk_class AS ENUM ('a', 'b', 'c');
CREATE TABLE tk (id int PRIMARY KEY, x float8, y float8, lab tk_class);
INSERT INTO tk SELECT i, i % 10 + (i % 7) / 10.0, (i * 3) % 11,
	CASE WHEN i <= 90 THEN (ARRAY['a', 'b', 'c'])[1 + i % 3]::tk_class END
FROM generate_series(1, 600) i;

CREATE ROLE tap_k1;
CREATE ROLE tap_k2;
CREATE ROLE tap_k3;
CREATE ROLE tap_k4;
CREATE ROLE tap_expert;
GRANT hitl_adjudicator TO tap_expert;
GRANT SELECT, UPDATE (lab) ON tk TO tap_k1, tap_k2, tap_k3, tap_k4, tap_expert;

-- 1. the option
SELECT throws_ok($$SELECT hitl.create_model('bad', 'tk', 'lab', '{x,y}', options => '{"annotators_per_row": 21}')$$,
				 '22023', 'invalid value 21 for option "annotators_per_row"', 'annotators_per_row 21: 22023');
SELECT throws_ok($$SELECT hitl.create_model('bad', 'tk', 'lab', '{x,y}', options => '{"annotators_per_row": 1.5}')$$,
				 '22023', NULL, 'annotators_per_row 1.5: 22023');
SELECT is(hitl.create_model('km', 'tk', 'lab', '{x,y}', options => '{"annotators_per_row": 3}'), 1,
		  'a model with three annotators per row');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'tk'::regclass AND tgname = 'hitl_km_label_ans'),
		  1::bigint, 'it has its answer trigger');
SELECT throws_ok($$SELECT hitl.create_model('other', 'tk', 'lab', '{x}', prediction_column => 'o_p',
												confidence_column => 'o_c', uncertainty_column => 'o_u')$$, '55006',
				 NULL, 'no second model of the same label column');
GRANT SELECT ON km_review_queue, km_adjudication_queue TO tap_k1, tap_k2, tap_k3, tap_k4, tap_expert;

SELECT id AS r1 FROM km_review_queue ORDER BY rank LIMIT 1 \gset
SELECT id AS r2 FROM km_review_queue ORDER BY rank OFFSET 1 LIMIT 1 \gset
SELECT count(*) AS log0 FROM hitl.label_log WHERE model = 'km' \gset

-- 2. answers: kept apart, the label waits for three
SET ROLE tap_k1;
UPDATE tk SET lab = 'a' WHERE id = :r1;
SELECT is((SELECT lab FROM tk WHERE id = :r1), NULL, 'one answer: the row stays unlabeled');
SELECT is((SELECT count(*) FROM km_review_queue WHERE id = :r1), 0::bigint,
		  'and leaves the review view of the role that answered');
RESET ROLE;
SELECT is((SELECT label FROM hitl.answers WHERE model = 'km' AND row_key = jsonb_build_object('id', :r1)
		   AND role = 'tap_k1'), 'a', 'the answer is in hitl.answers');
SET ROLE tap_k2;
SELECT is((SELECT id FROM km_review_queue LIMIT 1), :r1, 'another role sees it, first: it was started');
UPDATE tk SET lab = 'b' WHERE id = :r1;
RESET ROLE;
SET ROLE tap_k1;
UPDATE tk SET lab = 'c' WHERE id = :r1;
RESET ROLE;
SELECT is((SELECT array_agg(role || ':' || label ORDER BY role) FROM hitl.answers
		   WHERE model = 'km' AND row_key = jsonb_build_object('id', :r1)),
		  ARRAY['tap_k1:c', 'tap_k2:b'], 'answering again replaces the role''s answer');
SELECT is((SELECT array_agg(coalesce(old_answer, '-') || '>' || new_answer ORDER BY id) FROM hitl.answer_log
		   WHERE model = 'km' AND role = 'tap_k1'), ARRAY['->a', 'a>c'], 'and both are logged');
SET ROLE tap_k1;
UPDATE tk SET lab = NULL WHERE id = :r1;
UPDATE tk SET lab = 'b' WHERE id = :r1;
RESET ROLE;
SELECT is((SELECT count(*) FROM hitl.answer_log WHERE model = 'km' AND role = 'tap_k1' AND new_answer IS NULL),
		  1::bigint, 'NULL takes the answer back, logged');
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'km'), :log0::bigint,
		  'no consensus yet: nothing in the label log');
SET ROLE tap_k3;
UPDATE tk SET lab = 'c' WHERE id = :r1;
RESET ROLE;
SELECT is((SELECT lab::text FROM tk WHERE id = :r1), 'b', 'three answers b, b, c: the label is b');
SELECT is((SELECT role || ':' || coalesce(old_label, '-') || '>' || new_label FROM hitl.label_log
		   WHERE model = 'km' ORDER BY id DESC LIMIT 1), 'tap_k3:->b',
		  'the label log records the consensus, under the role whose answer made it');
SELECT is((SELECT consensus FROM hitl.answer_log WHERE model = 'km' ORDER BY id DESC LIMIT 1), 'b',
		  'the answer log the consensus after the answer');
SET ROLE tap_k4;
SELECT is((SELECT count(*) FROM km_review_queue WHERE id = :r1), 0::bigint,
		  'a labeled row is in no review view');
RESET ROLE;

-- 3. a tie, the adjudication view and the adjudicator
SELECT lives_ok($$SELECT hitl.alter_model('km', options => '{"annotators_per_row": 4}')$$,
				'annotators_per_row may go up');
SELECT throws_ok($$SELECT hitl.alter_model('km', options => '{"annotators_per_row": 2}')$$, '0A000',
				 'option "annotators_per_row" of model "km" cannot go down from 4 to 2',
				 'not down, once the model has answers');
SET ROLE tap_k1;
UPDATE tk SET lab = 'a' WHERE id = :r2;
RESET ROLE;
SET ROLE tap_k2;
UPDATE tk SET lab = 'a' WHERE id = :r2;
RESET ROLE;
SET ROLE tap_k3;
UPDATE tk SET lab = 'b' WHERE id = :r2;
RESET ROLE;
SET ROLE tap_k4;
SELECT is((SELECT count(*) FROM km_review_queue WHERE id = :r2), 1::bigint, 'the fourth role still sees the row');
UPDATE tk SET lab = 'b' WHERE id = :r2;
SELECT is((SELECT lab FROM tk WHERE id = :r2), NULL, 'four answers a, a, b, b: a tie, no label');
SELECT is((SELECT count(*) FROM km_review_queue WHERE id = :r2), 0::bigint, 'and no review view shows it');
RESET ROLE;
SET ROLE tap_expert;
SELECT is((SELECT answers FROM km_adjudication_queue WHERE id = :r2),
		  '{"tap_k1": "a", "tap_k2": "a", "tap_k3": "b", "tap_k4": "b"}'::jsonb,
		  'the adjudication view shows it with every answer');
UPDATE tk SET lab = 'a' WHERE id = :r2;
SELECT is((SELECT lab::text FROM tk WHERE id = :r2), 'a', 'an adjudicator''s label settles the row');
SELECT is((SELECT count(*) FROM km_adjudication_queue), 0::bigint, 'which leaves the adjudication view');
RESET ROLE;
SELECT is((SELECT adjudication FROM hitl.answer_log WHERE model = 'km' ORDER BY id DESC LIMIT 1), true,
		  'logged as an adjudication');
SET ROLE tap_k1;
UPDATE tk SET lab = 'c' WHERE id = :r2;
SELECT is((SELECT lab::text FROM tk WHERE id = :r2), 'a', 'a later answer does not undo the adjudication');
RESET ROLE;
UPDATE tk SET lab = 'c' WHERE id = :r2;
SELECT is((SELECT lab::text FROM tk WHERE id = :r2), 'c', 'the model''s owner adjudicates too');

-- 4. skips go to the adjudication view
SET ROLE tap_k1;
SELECT id AS r3 FROM km_review_queue ORDER BY rank LIMIT 1 \gset
SELECT hitl.skip('km', jsonb_build_object('id', :r3), 'blurry');
RESET ROLE;
SET ROLE tap_k2;
SELECT hitl.skip('km', jsonb_build_object('id', :r3), 'unsure');
RESET ROLE;
SELECT is((SELECT skips FROM km_adjudication_queue WHERE id = :r3),
		  '{"tap_k1": "blurry", "tap_k2": "unsure"}'::jsonb, 'a row two roles skipped is in the adjudication view');

-- 5. next_rows: a row goes to as many roles as it lacks answers
SET ROLE tap_k1;
CREATE TEMP TABLE g1 AS SELECT row_key FROM hitl.next_rows('km', 20);
GRANT SELECT ON g1 TO PUBLIC;
RESET ROLE;
SET ROLE tap_k2;
SELECT is((SELECT count(*) FROM hitl.next_rows('km', 20) n JOIN g1 USING (row_key)), 20::bigint,
		  'with 4 annotators per row, a second role gets the same rows');
RESET ROLE;
SET ROLE tap_k3;
SELECT is((SELECT count(*) FROM hitl.next_rows('km', 20) n JOIN g1 USING (row_key)), 20::bigint, 'a third too');
RESET ROLE;
SET ROLE tap_k4;
SELECT is((SELECT count(*) FROM hitl.next_rows('km', 20) n JOIN g1 USING (row_key)), 20::bigint, 'a fourth too');
RESET ROLE;
SET ROLE tap_expert;
SELECT is((SELECT count(*) FROM hitl.next_rows('km', 20) n JOIN g1 USING (row_key)), 0::bigint,
		  'a fifth gets none of them');
RESET ROLE;
SET ROLE tap_k1;
SELECT is((SELECT count(*) FROM hitl.next_rows('km', 200) n
		   WHERE n.row_key IN (SELECT row_key FROM hitl.answers WHERE model = 'km' AND role = 'tap_k1')), 0::bigint,
		  'no role gets a row it answered');
RESET ROLE;
SELECT is((SELECT count(*) FROM hitl.next_rows('km', 200) n
		   WHERE n.row_key = jsonb_build_object('id', :r3)), 0::bigint,
		  'a row two roles skipped is given to nobody (skip_limit 2)');

-- 6. machine labels are no answers; training reads the consensus
SELECT hitl.train('km') AS v \gset
SELECT is((SELECT n_labeled FROM hitl.model_versions WHERE model = 'km' AND version = :v),
		  (SELECT count(*)::int FROM tk WHERE lab IS NOT NULL), 'training reads the labels the column holds');
SELECT hitl.score('km');
SELECT count(*) AS answers_before FROM hitl.answers \gset
SELECT cmp_ok(hitl.auto_label('km', 0.6), '>=', 0::bigint, 'auto_label runs on the model');
SELECT is((SELECT count(*) FROM hitl.answers), :answers_before::bigint, 'its machine labels are no answers');

-- 7. errors of the answers themselves
SET ROLE tap_k1;
SELECT throws_ok(format($$UPDATE tk SET lab = 'z' WHERE id = %s$$, :r3), '22P02', NULL,
				 'an answer outside the enum: 22P02');
RESET ROLE;
CREATE ROLE tap_nobody;
GRANT SELECT ON tk TO tap_nobody;
SET ROLE tap_nobody;
SELECT throws_ok(format($$UPDATE tk SET lab = 'a' WHERE id = %s$$, :r3), '42501', NULL,
				 'a role without UPDATE gives no answer');
RESET ROLE;
SELECT is((SELECT count(*) FROM hitl.answers WHERE role = 'tap_nobody'), 0::bigint, 'and nothing is kept');

-- 8. a model that goes to several annotators later
CREATE TABLE tl (id int PRIMARY KEY, x float8, lab text);
INSERT INTO tl SELECT i, i % 7, CASE WHEN i <= 40 THEN (ARRAY['p', 'q'])[1 + i % 2] END FROM generate_series(1, 200) i;
SELECT hitl.create_model('kl', 'tl', 'lab', '{x}');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'tl'::regclass AND tgname = 'hitl_kl_label_ans'),
		  0::bigint, 'one annotator per row: no answer trigger');
SELECT hitl.alter_model('kl', options => '{"annotators_per_row": 2}');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'tl'::regclass AND tgname = 'hitl_kl_label_ans'),
		  1::bigint, 'raised to 2: the answer trigger comes');
SET ROLE tap_k1;
SELECT throws_ok($$UPDATE tl SET lab = 'p' WHERE id = 100$$, '42501', NULL, 'no privilege, no answer');
RESET ROLE;
GRANT SELECT, UPDATE (lab) ON tl TO tap_k1;
SET ROLE tap_k1;
UPDATE tl SET lab = 'p' WHERE id = 100;
SELECT is((SELECT lab FROM tl WHERE id = 100), NULL, 'its first answer waits for a second');
RESET ROLE;

-- 9. a dropped model takes its answers and its adjudication view
SELECT hitl.drop_model('km');
SELECT is((SELECT count(*) FROM hitl.answers WHERE model = 'km'), 0::bigint, 'drop_model drops the answers');
SELECT is(to_regclass('km_adjudication_queue'), NULL, 'and the adjudication view');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'tk'::regclass AND tgname LIKE 'hitl_km_label_%'),
		  0::bigint, 'and every label trigger');

SELECT * FROM finish();

SELECT hitl.drop_model(name) FROM hitl.models;
DROP TABLE tk, tl CASCADE;
DROP TYPE tk_class;
DROP OWNED BY tap_k1, tap_k2, tap_k3, tap_k4, tap_expert, tap_nobody;
DROP ROLE tap_k1, tap_k2, tap_k3, tap_k4, tap_expert, tap_nobody;
