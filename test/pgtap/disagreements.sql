-- With one annotator per row, a role changing a label another role set
-- less than reservation_timeout before: hitl.label_disagreements (values,
-- types, comments) and the columns disagreements and overrides of
-- hitl.annotator_stats.  Not counted: the same label set again, a role
-- changing its own label, a change after the timeout, a machine label,
-- the consensus a model with several annotators per row writes.  What a
-- role that cannot see the model, and a reader under row-level security,
-- see.
--
-- The file runs outside a transaction block; its roles are dropped at the end.

SELECT plan(26);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

CREATE TABLE dt (id int PRIMARY KEY, x float8, lab text, team text);
INSERT INTO dt SELECT i, i, NULL, CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END
FROM generate_series(1, 20) i;
SELECT hitl.create_model('dm', 'dt', 'lab', '{x}');

CREATE ROLE tap_da;
CREATE ROLE tap_db;
CREATE ROLE tap_dc;
CREATE ROLE tap_dx;
CREATE ROLE tap_dr;
GRANT SELECT, UPDATE (lab) ON dt TO tap_da, tap_db;

-- run a statement as a role (until the end of the statement's transaction)
CREATE FUNCTION as_role(r name, q text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('SET LOCAL ROLE %I', r);
	EXECUTE q;
END
$$;

-- A labels rows 1-7
SELECT as_role('tap_da', $$UPDATE dt SET lab = 'a' WHERE id BETWEEN 1 AND 7$$);
-- B: changes row 1 (a disagreement), sets row 2 to the label it has (none),
-- removes row 4's label (a disagreement)
SELECT as_role('tap_db', $$UPDATE dt SET lab = 'b' WHERE id = 1$$);
SELECT as_role('tap_db', $$UPDATE dt SET lab = 'a' WHERE id = 2$$);
SELECT as_role('tap_db', $$UPDATE dt SET lab = NULL WHERE id = 4$$);
-- A: sets row 1 back (it overrides B), changes its own label of row 3 (none)
SELECT as_role('tap_da', $$UPDATE dt SET lab = 'a' WHERE id = 1$$);
SELECT as_role('tap_da', $$UPDATE dt SET lab = 'b' WHERE id = 3$$);
-- row 6: A's label set 601 s before B changes it (after the timeout);
-- row 7: A's entry made a machine label's (source 'model')
UPDATE hitl.label_log SET at = at - interval '601 seconds'
WHERE model = 'dm' AND row_key = '{"id": 6}';
UPDATE hitl.label_log SET source = 'model'
WHERE model = 'dm' AND row_key = '{"id": 7}';
SELECT as_role('tap_db', $$UPDATE dt SET lab = 'b' WHERE id IN (6, 7)$$);

SELECT is(ARRAY(SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
				WHERE a.attrelid = 'hitl.label_disagreements'::regclass AND a.attnum > 0 ORDER BY a.attnum),
		  ARRAY['model character varying(50)', 'row_key text', 'first_role character varying(63)',
				'first_label text', 'first_at timestamp with time zone', 'second_role character varying(63)',
				'second_label text', 'second_at timestamp with time zone'],
		  'hitl.label_disagreements has columns of plain types');
SELECT is(ARRAY(SELECT row_key || ' ' || first_role || ':' || first_label || ' > ' || second_role || ':'
					   || coalesce(second_label, 'NULL')
				FROM hitl.label_disagreements WHERE model = 'dm' ORDER BY second_at, row_key),
		  ARRAY['{"id": 1} tap_da:a > tap_db:b', '{"id": 4} tap_da:a > tap_db:NULL',
				'{"id": 1} tap_db:b > tap_da:a'],
		  'three disagreements: B changes and removes A''s labels, A sets B''s back');
SELECT is((SELECT first_at FROM hitl.label_disagreements WHERE model = 'dm' AND row_key = '{"id": 4}'),
		  (SELECT at FROM hitl.label_log WHERE model = 'dm' AND row_key = '{"id": 4}' AND role = 'tap_da'),
		  'first_at: when the first role set the label');
SELECT is((SELECT second_at FROM hitl.label_disagreements WHERE model = 'dm' AND row_key = '{"id": 4}'),
		  (SELECT at FROM hitl.label_log WHERE model = 'dm' AND row_key = '{"id": 4}' AND role = 'tap_db'),
		  'second_at: when the second changed it');
SELECT is((SELECT count(*) FROM hitl.label_disagreements WHERE model = 'dm' AND row_key = '{"id": 2}'),
		  0::bigint, 'the same label set again is no disagreement');
SELECT is((SELECT count(*) FROM hitl.label_disagreements WHERE model = 'dm' AND row_key = '{"id": 3}'),
		  0::bigint, 'a role changing its own label is none');
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'dm' AND row_key = '{"id": 6}'), 2::bigint,
		  'row 6 has both labels in the log');
SELECT is((SELECT count(*) FROM hitl.label_disagreements WHERE model = 'dm' AND row_key = '{"id": 6}'),
		  0::bigint, 'a change after reservation_timeout (600 s) is none');
SELECT is((SELECT count(*) FROM hitl.label_disagreements WHERE model = 'dm' AND row_key = '{"id": 7}'),
		  0::bigint, 'a change of a machine label is none');

-- hitl.annotator_stats with one annotator per row.  A: rows 1-6 (7 is a
-- machine label), row 1 back, row 3; B: rows 1, 4, 6, 7 (the UPDATE of
-- row 2 changed nothing and is not logged).
SELECT is(ARRAY(SELECT role || ' ' || answers || ' ' || disagreements || ' ' || overrides
				FROM hitl.annotator_stats WHERE model = 'dm' ORDER BY role),
		  ARRAY['tap_da 8 2 1', 'tap_db 4 1 2'],
		  'annotator_stats: per role its label changes, the labels others changed, those it changed');
SELECT is((SELECT count(*) FROM hitl.annotator_stats WHERE model = 'dm'
		   AND agreement_with_consensus IS NULL AND estimated_accuracy IS NULL AND confusion IS NULL),
		  2::bigint, 'the consensus and Dawid-Skene columns are NULL');
SELECT is((SELECT array_agg(round(s.answers_per_hour::numeric, 6) ORDER BY s.role)
		   FROM hitl.annotator_stats s WHERE s.model = 'dm'),
		  (SELECT array_agg(round(p::numeric, 6) ORDER BY role) FROM
			 (SELECT role, count(*) / (extract(epoch FROM max(at) - min(at)) / 3600) AS p
			  FROM hitl.label_log WHERE model = 'dm' AND source = 'human' GROUP BY role) x),
		  'answers_per_hour: its label changes over the hours between its first and last');
SELECT is((SELECT array_agg(last_answer_at ORDER BY role) FROM hitl.annotator_stats WHERE model = 'dm'),
		  (SELECT array_agg(m ORDER BY role) FROM
			 (SELECT role, max(at) AS m FROM hitl.label_log WHERE model = 'dm' AND source = 'human'
			  GROUP BY role) x),
		  'last_answer_at: its last label change');

-- reservation_timeout is read from the model: 1 s, and a change 1.1 s later
CREATE TABLE dt2 (LIKE dt INCLUDING ALL);
INSERT INTO dt2 SELECT * FROM dt;
UPDATE dt2 SET lab = NULL;
SELECT hitl.create_model('dm2', 'dt2', 'lab', '{x}', options => '{"reservation_timeout": 1}');
GRANT SELECT, UPDATE (lab) ON dt2 TO tap_da, tap_db;
SELECT as_role('tap_da', $$UPDATE dt2 SET lab = 'a' WHERE id = 1$$);
SELECT pg_sleep(1.1);
SELECT as_role('tap_db', $$UPDATE dt2 SET lab = 'b' WHERE id = 1$$);
SELECT is((SELECT count(*) FROM hitl.label_disagreements WHERE model = 'dm2'), 0::bigint,
		  'reservation_timeout 1: a change 1.1 s later is none');
SELECT hitl.alter_model('dm2', options => '{"reservation_timeout": 600}');
SELECT is((SELECT count(*) FROM hitl.label_disagreements WHERE model = 'dm2'), 1::bigint,
		  'reservation_timeout 600: the same change is one');
SELECT is((SELECT disagreements || ' ' || overrides FROM hitl.annotator_stats WHERE model = 'dm2' AND role = 'tap_db'),
		  '0 1', 'and annotator_stats counts it');

-- several annotators per row: the consensus written in the label column
-- is nobody's label.  Three answers give 'a' (logged as C's), B's second
-- answer turns it to 'b' (logged as B's).
CREATE TABLE kt (id int PRIMARY KEY, x float8, lab text);
INSERT INTO kt SELECT i, i, NULL FROM generate_series(1, 10) i;
SELECT hitl.create_model('km', 'kt', 'lab', '{x}', options => '{"annotators_per_row": 3}');
GRANT SELECT, UPDATE (lab) ON kt TO tap_da, tap_db, tap_dc;
SELECT as_role('tap_da', $$UPDATE kt SET lab = 'a' WHERE id = 1$$);
SELECT as_role('tap_db', $$UPDATE kt SET lab = 'a' WHERE id = 1$$);
SELECT as_role('tap_dc', $$UPDATE kt SET lab = 'b' WHERE id = 1$$);
SELECT as_role('tap_db', $$UPDATE kt SET lab = 'b' WHERE id = 1$$);
SELECT is(ARRAY(SELECT role || ':' || coalesce(old_label, 'NULL') || '>' || new_label
				FROM hitl.label_log WHERE model = 'km' ORDER BY id),
		  ARRAY['tap_dc:NULL>a', 'tap_db:a>b'], 'annotators_per_row 3: the label log has two consensus changes');
SELECT is((SELECT count(*) FROM hitl.label_disagreements WHERE model = 'km'), 0::bigint,
		  'which are no disagreement');
SELECT is(ARRAY(SELECT role || ' ' || answers || ' ' || disagreements || ' ' || overrides
				FROM hitl.annotator_stats WHERE model = 'km' ORDER BY role),
		  ARRAY['tap_da 1 0 0', 'tap_db 1 0 0', 'tap_dc 1 0 0'],
		  'annotator_stats: with several annotators per row, disagreements and overrides are 0');

-- a role that cannot see the model sees nothing of it
SET ROLE tap_dx;
SELECT is((SELECT count(*) FROM hitl.label_disagreements), 0::bigint,
		  'a role that cannot see the models sees no disagreement');
SELECT is((SELECT count(*) FROM hitl.annotator_stats), 0::bigint, 'and no annotator_stats row');
RESET ROLE;

-- a reader under row-level security sees the disagreements of the rows it sees
GRANT SELECT ON dt TO tap_dr;
ALTER TABLE dt ENABLE ROW LEVEL SECURITY;
CREATE POLICY dt_even ON dt FOR SELECT TO tap_dr USING (team = 'even');
SET ROLE tap_dr;
SELECT is(ARRAY(SELECT row_key FROM hitl.label_disagreements WHERE model = 'dm'), ARRAY['{"id": 4}'],
		  'under row-level security, the disagreements of the rows it sees');
SELECT is(ARRAY(SELECT role || ' ' || answers || ' ' || disagreements || ' ' || overrides
				FROM hitl.annotator_stats WHERE model = 'dm' ORDER BY role),
		  ARRAY['tap_da 3 1 0', 'tap_db 2 0 1'],
		  'and annotator_stats counts those rows only');
SELECT is((SELECT count(*) FROM hitl.label_disagreements WHERE model <> 'dm'), 0::bigint,
		  'nothing of the models of tables it cannot read');
RESET ROLE;
ALTER TABLE dt DISABLE ROW LEVEL SECURITY;

-- comments
SELECT isnt(obj_description('hitl.label_disagreements'::regclass, 'pg_class'), NULL,
			'the view carries a comment');
SELECT is((SELECT count(*) FROM pg_attribute a
		   WHERE (a.attrelid = 'hitl.label_disagreements'::regclass
				  OR (a.attrelid = 'hitl.annotator_stats'::regclass
					  AND a.attname IN ('disagreements', 'overrides')))
			 AND a.attnum > 0 AND NOT a.attisdropped
			 AND col_description(a.attrelid, a.attnum) IS NULL),
		  0::bigint, 'and its columns, and the new columns of annotator_stats');

SELECT * FROM finish();

SELECT hitl.drop_model(name) FROM hitl.models;
DROP TABLE dt, dt2, kt CASCADE;
DROP FUNCTION as_role(name, text);
DROP OWNED BY tap_da, tap_db, tap_dc, tap_dx, tap_dr;
DROP ROLE tap_da, tap_db, tap_dc, tap_dx, tap_dr;
