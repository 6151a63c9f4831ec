-- The consensus of several annotators per row (sql/0.2.0/76-consensus.sql):
-- majority vote until 20 rows have k answers, Dawid-Skene after, each row's
-- consensus and its confidence in hitl.consensus, the fit in
-- hitl.consensus_fits, hitl.refresh_consensus, consensus_threshold, the
-- option consensus and its changes, roles and labels the fit did not see,
-- adjudications, machine labels, privileges and bad options.
--
-- One reliable annotator (tap_c1, always right) and two that are wrong on
-- 40% of the rows (tap_c2 on ids 0 and 1 modulo 5, tap_c3 on 0 and 2),
-- wrong the same way (the next class): on ids 0 modulo 5 the two outvote
-- the reliable one, and majority vote takes their label; Dawid-Skene,
-- which learns that tap_c1 is right, takes tap_c1's.
--
-- The file runs outside a transaction block (no worker: the fit changes
-- only when the file refreshes it); its roles are dropped at the end.

SELECT plan(52);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

CREATE TABLE tc (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO tc SELECT i, i % 10 + (i % 7) / 10.0, (i * 3) % 11, NULL FROM generate_series(1, 300) i;
CREATE FUNCTION tc_truth(id int) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT (ARRAY['a', 'b', 'c'])[1 + id % 3] $$;
CREATE FUNCTION tc_next(label text) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT CASE label WHEN 'a' THEN 'b' WHEN 'b' THEN 'c' ELSE 'a' END $$;

CREATE ROLE tap_c1;
CREATE ROLE tap_c2;
CREATE ROLE tap_c3;
CREATE ROLE tap_c4;
CREATE ROLE tap_cexpert;
CREATE ROLE tap_coutsider;
GRANT hitl_adjudicator TO tap_cexpert;
GRANT SELECT, UPDATE (lab) ON tc TO tap_c1, tap_c2, tap_c3, tap_c4, tap_cexpert;
GRANT EXECUTE ON FUNCTION tc_truth(int), tc_next(text) TO PUBLIC;

-- 1. bad options
SELECT throws_ok($$SELECT hitl.create_model('bad', 'tc', 'lab', '{x,y}', options => '{"consensus": "mean"}')$$,
				 '22023', 'invalid value "mean" for option "consensus"', 'consensus "mean": 22023');
SELECT throws_ok($$SELECT hitl.create_model('bad', 'tc', 'lab', '{x,y}', options => '{"consensus_threshold": 1.5}')$$,
				 '22023', 'invalid value 1.5 for option "consensus_threshold"', 'consensus_threshold 1.5: 22023');
SELECT throws_ok($$SELECT hitl.create_model('bad', 'tc', 'lab', '{x,y}', options => '{"weight_by_consensus": 1}')$$,
				 '22023', 'invalid value 1 for option "weight_by_consensus"', 'weight_by_consensus 1: 22023');
SELECT is(hitl.create_model('kc', 'tc', 'lab', '{x,y}', options => '{"annotators_per_row": 3}'), NULL,
		  'a model with three annotators per row (no version: no labels yet)');

-- 2. majority vote while fewer than 20 rows have three answers
SET ROLE tap_c1;
UPDATE tc SET lab = tc_truth(id) WHERE id <= 15;
SET ROLE tap_c2;
UPDATE tc SET lab = CASE WHEN id % 5 IN (0, 1) THEN tc_next(tc_truth(id)) ELSE tc_truth(id) END WHERE id <= 15;
SET ROLE tap_c3;
UPDATE tc SET lab = CASE WHEN id % 5 IN (0, 2) THEN tc_next(tc_truth(id)) ELSE tc_truth(id) END WHERE id <= 15;
RESET ROLE;
SELECT is((SELECT lab FROM tc WHERE id = 5), tc_next(tc_truth(5)), 'majority: row 5 takes the label of the two that agree');
SELECT is((SELECT count(*) FROM tc WHERE id <= 15 AND lab = tc_truth(id)), 12::bigint,
		  'majority: 12 of 15 rows right (ids 5, 10, 15 wrong)');
SELECT results_eq($$SELECT method, count(*), round(min(confidence)::numeric, 4), round(max(confidence)::numeric, 4)
					FROM hitl.consensus WHERE model = 'kc' GROUP BY method$$,
				  $$VALUES ('majority', 15::bigint, 0.6667, 1.0000)$$,
				  'hitl.consensus: 15 rows by majority, confidence the winning share');
SELECT is((SELECT count(*) FROM hitl.consensus_fits WHERE model = 'kc'), 0::bigint, 'no fit yet');
SELECT is(hitl.refresh_consensus('kc'), 0::bigint, 'a refresh with 15 full rows changes nothing');
SELECT results_eq($$SELECT rows, full_rows, answers, classes, roles FROM hitl.consensus_fits WHERE model = 'kc'$$,
				  $$VALUES (15, 15, 45::bigint, '{}'::text[], '{}'::name[])$$,
				  'below 20 full rows the fit row has no classes: majority vote');

-- 3. 40 full rows: the refresh fits Dawid-Skene and corrects the outvoted rows
SET ROLE tap_c1;
UPDATE tc SET lab = tc_truth(id) WHERE id BETWEEN 16 AND 40;
SET ROLE tap_c2;
UPDATE tc SET lab = CASE WHEN id % 5 IN (0, 1) THEN tc_next(tc_truth(id)) ELSE tc_truth(id) END WHERE id BETWEEN 16 AND 40;
SET ROLE tap_c3;
UPDATE tc SET lab = CASE WHEN id % 5 IN (0, 2) THEN tc_next(tc_truth(id)) ELSE tc_truth(id) END WHERE id BETWEEN 16 AND 40;
RESET ROLE;
SELECT is((SELECT count(*) FROM tc WHERE id <= 40 AND lab = tc_truth(id)), 32::bigint,
		  'before the refresh: majority vote, 32 of 40 right');
SELECT count(*) AS log0 FROM hitl.label_log WHERE model = 'kc' \gset
SELECT is(hitl.refresh_consensus('kc'), 8::bigint, 'the refresh writes 8 labels');
SELECT is((SELECT count(*) FROM tc WHERE id <= 40 AND lab = tc_truth(id)), 40::bigint,
		  'Dawid-Skene: all 40 rows right');
SELECT results_eq($$SELECT rows, full_rows, answers, classes, roles, converged FROM hitl.consensus_fits WHERE model = 'kc'$$,
				  $$VALUES (40, 40, 120::bigint, '{a,b,c}'::text[], '{tap_c1,tap_c2,tap_c3}'::name[], true)$$,
				  'the fit: 40 rows, three classes, three roles, converged');
SELECT is((SELECT array_length(confusion, 1) FROM hitl.consensus_fits WHERE model = 'kc'), 36,
		  'four 3 x 3 matrices: three roles and the pooled one');
SELECT ok((SELECT confusion[1] > 0.99 AND confusion[5] > 0.99 AND confusion[9] > 0.99
				  AND confusion[10] BETWEEN 0.5 AND 0.7 FROM hitl.consensus_fits WHERE model = 'kc'),
		  'tap_c1''s diagonal is above 0.99, tap_c2''s first entry about 0.6');
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'kc' AND id > 0) - :log0, 8::bigint,
		  'the 8 changes are in the label log');
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'kc' AND source = 'consensus'), 8::bigint,
		  'with source consensus');
SELECT is((SELECT count(*) FROM hitl.label_disagreements WHERE model = 'kc'), 0::bigint,
		  'a consensus write is no disagreement');
SELECT results_eq($$SELECT method, count(*), min(confidence) > 0.99 FROM hitl.consensus WHERE model = 'kc' GROUP BY method$$,
				  $$VALUES ('dawid_skene', 40::bigint, true)$$,
				  'hitl.consensus: 40 rows by Dawid-Skene, every posterior above 0.99');
SELECT is(hitl.refresh_consensus('kc'), 0::bigint, 'a second refresh writes nothing');

-- 4. the trigger applies the fit to a row answered after it
SET ROLE tap_c1;
UPDATE tc SET lab = tc_truth(id) WHERE id = 45;
SET ROLE tap_c2;
UPDATE tc SET lab = tc_next(tc_truth(id)) WHERE id = 45;
SET ROLE tap_c3;
UPDATE tc SET lab = tc_next(tc_truth(id)) WHERE id = 45;
RESET ROLE;
SELECT is((SELECT lab FROM tc WHERE id = 45), tc_truth(45), 'a new row outvoting tap_c1 gets tap_c1''s label at once');
SELECT is((SELECT method FROM hitl.consensus WHERE model = 'kc' AND row_key = '{"id": 45}'), 'dawid_skene',
		  'by Dawid-Skene');

-- a role the fit did not see gets the pooled matrix
SET ROLE tap_c1;
UPDATE tc SET lab = tc_truth(id) WHERE id = 46;
SET ROLE tap_c2;
UPDATE tc SET lab = tc_truth(id) WHERE id = 46;
SET ROLE tap_c4;
UPDATE tc SET lab = tc_next(tc_truth(id)) WHERE id = 46;
RESET ROLE;
SELECT is((SELECT lab FROM tc WHERE id = 46), tc_truth(46), 'an unseen role''s answer counts with the pooled matrix');
SELECT ok((SELECT method = 'dawid_skene' AND confidence > 0.9 FROM hitl.consensus
		   WHERE model = 'kc' AND row_key = '{"id": 46}'), 'by Dawid-Skene, posterior above 0.9');

-- a label the fit did not see: majority vote for that row
SET ROLE tap_c1;
UPDATE tc SET lab = 'd' WHERE id = 47;
SET ROLE tap_c2;
UPDATE tc SET lab = 'd' WHERE id = 47;
SET ROLE tap_c3;
UPDATE tc SET lab = 'a' WHERE id = 47;
RESET ROLE;
SELECT results_eq($$SELECT t.lab, c.method, round(c.confidence::numeric, 4) FROM tc t, hitl.consensus c
					WHERE t.id = 47 AND c.model = 'kc' AND c.row_key = '{"id": 47}'$$,
				  $$VALUES ('d', 'majority', 0.6667)$$,
				  'a label outside the fit''s classes: majority vote, 2 of 3');

-- 5. consensus_threshold: rows below it lose their consensus and go to adjudication
SELECT hitl.alter_model('kc', options => '{"consensus_threshold": 0.9999999}');
SELECT is((SELECT count(*) FROM hitl.consensus_fits WHERE model = 'kc'), 0::bigint,
		  'a new threshold drops the fit (the next refresh applies it)');
SELECT cmp_ok(hitl.refresh_consensus('kc'), '>', 0::bigint, 'the refresh at 0.9999999 writes labels');
SELECT is((SELECT count(*) FROM tc WHERE (id <= 40 OR id BETWEEN 45 AND 47) AND lab IS NULL),
		  (SELECT count(*) FROM hitl.consensus WHERE model = 'kc' AND label IS NULL),
		  'each row whose posterior is below the threshold has no label');
SELECT ok((SELECT bool_and(confidence < 0.9999999) FROM hitl.consensus WHERE model = 'kc' AND label IS NULL
		   AND method = 'dawid_skene'), 'and its confidence is below the threshold');
SELECT is((SELECT count(*) FROM kc_adjudication_queue),
		  (SELECT count(*) FROM hitl.consensus WHERE model = 'kc' AND label IS NULL),
		  'those rows are in the adjudication view');
SELECT ok((SELECT bool_and(a.consensus_confidence = c.confidence AND a.consensus_confidence < 0.9999999)
		   FROM kc_adjudication_queue a JOIN hitl.consensus c
		   ON c.model = 'kc' AND c.row_key = jsonb_build_object('id', a.id)),
		  'with their posterior as consensus_confidence');

-- 6. an adjudication settles a row, and a refresh keeps it
SELECT id AS adj FROM kc_adjudication_queue ORDER BY id LIMIT 1 \gset
GRANT SELECT ON kc_adjudication_queue TO tap_cexpert;
SET ROLE tap_cexpert;
UPDATE tc SET lab = 'c' WHERE id = :adj;
RESET ROLE;
SELECT results_eq(format($$SELECT t.lab, c.method, c.confidence FROM tc t, hitl.consensus c
						   WHERE t.id = %s AND c.model = 'kc' AND c.row_key = jsonb_build_object('id', %s)$$, :adj, :adj),
				  $$VALUES ('c', 'adjudication', 1::float8)$$,
				  'an adjudicator''s label settles the row, confidence 1');
SELECT lives_ok($$SELECT hitl.refresh_consensus('kc')$$, 'a refresh');
SELECT is((SELECT lab FROM tc WHERE id = :adj), 'c', 'keeps the adjudication');

-- 7. a machine label on a row without consensus is not overwritten
SELECT id AS mach FROM kc_adjudication_queue ORDER BY id LIMIT 1 \gset
SELECT hitl.alter_model('kc', options => '{"consensus_threshold": 0.5}');
-- as hitl's own write (the answer trigger suspended), as auto_label does
ALTER TABLE tc DISABLE TRIGGER hitl_kc_label_ans;
UPDATE tc SET lab = 'b' WHERE id = :mach;
ALTER TABLE tc ENABLE TRIGGER hitl_kc_label_ans;
SELECT lives_ok($$SELECT hitl.refresh_consensus('kc')$$, 'a refresh at threshold 0.5');
SELECT is((SELECT lab FROM tc WHERE id = :mach), 'b',
		  'a label written over a row without consensus is left alone');
SELECT is((SELECT count(*) FROM tc WHERE (id <= 40 OR id BETWEEN 45 AND 47) AND id <> :mach AND lab IS NULL), 0::bigint,
		  'the other rows below 0.9999999 get their consensus back at 0.5');

-- 8. the option consensus: majority at once on refresh, dawid_skene below 20 rows
SELECT hitl.alter_model('kc', options => '{"consensus": "majority"}');
SELECT cmp_ok(hitl.refresh_consensus('kc'), '>=', 8::bigint,
			  'consensus majority: the refresh writes the outvoted rows back');
SELECT is((SELECT count(*) FROM tc WHERE (id <= 40 OR id IN (45, 46)) AND id NOT IN (:adj, :mach)
		   AND lab IS DISTINCT FROM CASE WHEN id % 5 = 0 OR id = 45 THEN tc_next(tc_truth(id)) ELSE tc_truth(id) END),
		  0::bigint, 'every answered row holds its majority label');
SELECT results_eq($$SELECT classes, roles FROM hitl.consensus_fits WHERE model = 'kc'$$,
				  $$VALUES ('{}'::text[], '{}'::name[])$$, 'and keeps no fit');
SELECT is((SELECT lab FROM tc WHERE id = 45), tc_next(tc_truth(45)), 'row 45 by majority');

CREATE TABLE tc2 (id int PRIMARY KEY, x float8, lab text);
INSERT INTO tc2 SELECT i, i, NULL FROM generate_series(1, 30) i;
GRANT SELECT, UPDATE (lab) ON tc2 TO tap_c1, tap_c2;
SELECT is(hitl.create_model('kc2', 'tc2', 'lab', '{x}', options => '{"annotators_per_row": 2, "consensus": "dawid_skene"}'),
		  NULL, 'a model asking for Dawid-Skene');
SET ROLE tap_c1;
UPDATE tc2 SET lab = CASE WHEN id % 2 = 0 THEN 'p' ELSE 'q' END WHERE id <= 5;
SET ROLE tap_c2;
UPDATE tc2 SET lab = CASE WHEN id % 2 = 0 THEN 'p' ELSE 'q' END WHERE id <= 5;
RESET ROLE;
SELECT lives_ok($$SELECT hitl.refresh_consensus('kc2')$$, 'refreshed with 5 full rows');
SELECT results_eq($$SELECT full_rows, classes FROM hitl.consensus_fits WHERE model = 'kc2'$$,
				  $$VALUES (5, '{p,q}'::text[])$$, 'consensus dawid_skene fits below 20 rows');
SELECT results_eq($$SELECT count(*), bool_and(method = 'dawid_skene') FROM hitl.consensus WHERE model = 'kc2'$$,
				  $$VALUES (5::bigint, true)$$, 'and decides every row by Dawid-Skene');

-- 9. privileges
SET ROLE tap_c1;
SELECT throws_ok($$SELECT hitl.refresh_consensus('kc')$$, '42501', NULL,
				 'an annotator may not refresh the consensus');
SELECT is((SELECT count(*) FROM hitl.consensus WHERE model = 'kc') > 0, true,
		  'an annotator who sees the model reads its consensus');
RESET ROLE;
SET ROLE tap_coutsider;
SELECT is((SELECT count(*) FROM hitl.consensus), 0::bigint, 'a role without the table sees no consensus');
SELECT is((SELECT count(*) FROM hitl.consensus_fits), 0::bigint, 'nor any fit');
RESET ROLE;
SELECT throws_ok($$SELECT hitl.refresh_consensus('nosuch')$$, '42704', NULL, 'an unknown model: 42704');

-- 10. dropping the model drops its consensus
SELECT hitl.drop_model('kc2');
SELECT is((SELECT count(*) FROM hitl.consensus WHERE model = 'kc2') +
		  (SELECT count(*) FROM hitl.consensus_fits WHERE model = 'kc2'), 0::bigint,
		  'drop_model leaves no consensus behind');

SELECT * FROM finish();

SELECT hitl.drop_model('kc');
DROP TABLE tc, tc2;
DROP FUNCTION tc_truth(int), tc_next(text);
DROP ROLE tap_c1, tap_c2, tap_c3, tap_c4, tap_cexpert, tap_coutsider;
