-- Attacks on the consensus refit, from a review: each check failed before
-- its fix.  (hitl.simulate's are in simulate_attacks.sql.)
--
-- 1. hitl's own label writes (a consensus refit, auto-labeling) suspend the
--    answer trigger of the table they write only: a trigger of that table
--    that writes another model's table meanwhile answers there as anyone
--    does, so an annotator owning one model cannot write another model's
--    labels past its annotators_per_row rule.
--
-- The file runs outside a transaction block; its roles are dropped at the end.

SELECT plan(5);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

CREATE ROLE tap_eve;
CREATE ROLE tap_alice;
CREATE ROLE tap_a1;
CREATE ROLE tap_a2;
CREATE ROLE tap_a3;
GRANT CREATE ON SCHEMA public TO tap_eve, tap_alice;

-- alice's model kb: three answers per row; eve may answer it
SET ROLE tap_alice;
CREATE TABLE tb (id int PRIMARY KEY, x float8, lab text);
INSERT INTO tb SELECT i, i, NULL FROM generate_series(1, 50) i;
SELECT hitl.create_model('kb', 'tb', 'lab', '{x}', options => '{"annotators_per_row": 3}');
GRANT SELECT, UPDATE (lab) ON tb TO tap_eve;
RESET ROLE;

-- eve's model kc, with a trigger that writes alice's table
SET ROLE tap_eve;
CREATE TABLE tc (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO tc SELECT i, i % 10, (i * 3) % 11, NULL FROM generate_series(1, 60) i;
SELECT hitl.create_model('kc', 'tc', 'lab', '{x,y}',
						 options => '{"annotators_per_row": 3, "consensus": "dawid_skene"}');
GRANT SELECT, UPDATE (lab) ON tc TO tap_a1, tap_a2, tap_a3;
CREATE FUNCTION tc_evil() RETURNS trigger LANGUAGE plpgsql AS
	$$BEGIN UPDATE public.tb SET lab = 'evil' WHERE id <= 5; RETURN NULL; END$$;
CREATE TRIGGER zz_evil AFTER UPDATE ON tc FOR EACH STATEMENT EXECUTE FUNCTION tc_evil();
RESET ROLE;
-- the trigger stays quiet while the annotators answer
ALTER TABLE tc DISABLE TRIGGER zz_evil;
SET ROLE tap_a1;
UPDATE tc SET lab = (ARRAY['a', 'b', 'c'])[1 + id % 3] WHERE id <= 40;
SET ROLE tap_a2;
UPDATE tc SET lab = CASE WHEN id % 5 IN (0, 1) THEN (ARRAY['b', 'c', 'a'])[1 + id % 3]
						 ELSE (ARRAY['a', 'b', 'c'])[1 + id % 3] END WHERE id <= 40;
SET ROLE tap_a3;
UPDATE tc SET lab = CASE WHEN id % 5 IN (0, 2) THEN (ARRAY['b', 'c', 'a'])[1 + id % 3]
						 ELSE (ARRAY['a', 'b', 'c'])[1 + id % 3] END WHERE id <= 40;
RESET ROLE;
ALTER TABLE tc ENABLE TRIGGER zz_evil;

SET ROLE tap_eve;
SELECT cmp_ok(hitl.refresh_consensus('kc'), '>', 0::bigint, 'eve''s refit writes labels of her table');
RESET ROLE;
SELECT is((SELECT count(*) FROM tb WHERE lab IS NOT NULL), 0::bigint,
		  'her trigger''s UPDATE of alice''s table set no label: it was an answer');
SELECT is((SELECT count(*) FROM hitl.answers WHERE model = 'kb' AND role = 'tap_eve'), 5::bigint,
		  'five answers of eve in alice''s model');
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'kb' AND source = 'consensus'), 0::bigint,
		  'and no consensus write in alice''s label log');
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'kc' AND source = 'consensus'),
		  (SELECT count(*) FROM hitl.label_log WHERE model = 'kc' AND role = 'tap_eve'),
		  'eve''s own table: her refit''s writes are consensus writes');

SELECT * FROM finish();

SELECT hitl.drop_model('kc');
SELECT hitl.drop_model('kb');
DROP TABLE tc, tb;
DROP FUNCTION tc_evil();
REVOKE CREATE ON SCHEMA public FROM tap_eve, tap_alice;
DROP ROLE tap_eve, tap_alice, tap_a1, tap_a2, tap_a3;
