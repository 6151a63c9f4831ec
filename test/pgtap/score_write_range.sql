-- How a scoring's batches find their rows: hitl._pick_any() pairs a ctid
-- with a value of any type; a batch dense in its range of ctids is written
-- by a TID range scan, a sparse one by a fetch per ctid.  Either way only
-- the batch's rows are written (a row in the range whose scores did not
-- move keeps its ctid), the user's row triggers fire once per row written,
-- and predictions of an enum label are written as they are.

BEGIN;
SELECT plan(17);

CREATE EXTENSION hitl;

-- hitl._pick_any: the value paired with a tid, NULL for a tid not there
SELECT is(hitl._pick_any(ARRAY['(0,1)', '(0,2)', '(3,1)']::tid[], ARRAY[10, 20, 30]::int8[], '(0,2)'),
		  20::int8, '_pick_any: int8 by tid');
SELECT is(hitl._pick_any(ARRAY['(3,1)', '(0,1)', '(0,2)']::tid[], ARRAY['c', 'a', 'b']::text[], '(3,1)'),
		  'c', '_pick_any: text from tids not in order');
SELECT is(hitl._pick_any(ARRAY['(0,1)', '(0,2)']::tid[], ARRAY['a', 'b']::text[], '(0,3)'),
		  NULL, '_pick_any: NULL for a tid not in the batch');
SELECT is(hitl._pick(ARRAY['(2,1)', '(1,5)']::tid[], ARRAY[0.25, 0.75]::float8[], '(1,5)'),
		  0.75::float8, '_pick: float8 from tids not in order');
SELECT throws_ok($$SELECT hitl._pick_any(ARRAY['(0,1)', '(0,2)']::tid[], ARRAY[1]::int8[], '(0,1)')$$,
				 '2202E', 'hitl._pick needs arrays of the same length',
				 '_pick_any: arrays of different lengths are refused');
SELECT throws_ok($$SELECT hitl._pick_any(ARRAY['(0,1)', '(0,2)']::tid[], ARRAY[1, NULL]::int8[], '(0,1)')$$,
				 '22004', 'hitl._pick arrays must not contain nulls',
				 '_pick_any: nulls are refused');

-- 2,000 rows, an enum label, a third of the rows labeled; fillfactor 10
-- keeps every new version of a row on its page (HOT), among the others
CREATE TYPE shade AS ENUM ('dark', 'light');
CREATE TABLE r (id bigint PRIMARY KEY, x float8, y float8, lab shade) WITH (fillfactor = 10);
INSERT INTO r
SELECT i, (CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END) * (0.5 + (i % 7) / 3.0), (i * 5) % 11,
	   CASE WHEN i % 3 = 0 THEN CASE WHEN i % 2 = 0 THEN 'light' ELSE 'dark' END::shade END
FROM generate_series(1, 2000) i;
-- the rows per page a batch's density is judged by
ANALYZE r;

SELECT hitl.create_model('r', 'r', 'lab', ARRAY['x', 'y'],
		options => '{"batch_size": 100, "score_tolerance": 0, "cv_folds": 0, "queue_size": 10}');

SELECT is((SELECT pg_typeof(lab_prediction)::text FROM r LIMIT 1), 'shade',
		  'the prediction column has the label''s enum type');
SELECT is((SELECT count(*) FROM r WHERE lab_prediction IS DISTINCT FROM hitl.predict('r', r)::shade),
		  0::bigint, 'create_model wrote every row''s prediction as a value of the enum');

-- the user's row trigger counts the rows written
CREATE SEQUENCE fired;
CREATE FUNCTION count_row() RETURNS trigger LANGUAGE plpgsql AS
	$$ BEGIN PERFORM nextval('fired'); RETURN NEW; END $$;
CREATE TRIGGER count_rows BEFORE UPDATE ON r FOR EACH ROW EXECUTE FUNCTION count_row();

-- dense: 9 rows in 10 lose their scores (batches of 100 span about 111
-- rows), the tenth keeps them and must not be written
UPDATE r SET lab_confidence = -1 WHERE id % 10 <> 0;
SELECT setval('fired', 1, false) \gset
CREATE TEMP TABLE before_dense AS SELECT id, ctid AS at FROM r;

SELECT is(hitl.score('r'), 1800::bigint, 'dense batches: the 1,800 rows whose scores moved are written');
SELECT is((SELECT count(*) FROM r JOIN before_dense b USING (id) WHERE r.id % 10 = 0 AND r.ctid <> b.at),
		  0::bigint, 'dense batches: no row of the range outside the batch is written');
SELECT is((SELECT count(*) FROM r JOIN before_dense b USING (id) WHERE r.id % 10 <> 0 AND r.ctid = b.at),
		  0::bigint, 'dense batches: every row of the batch is written');
SELECT is(nextval('fired'), 1801::bigint, 'dense batches: the user''s row trigger fired once per row written');
SELECT is((SELECT count(*) FROM r WHERE lab_confidence < 0
			  OR lab_prediction IS DISTINCT FROM hitl.predict('r', r)::shade),
		  0::bigint, 'dense batches: every row holds its scores');

-- sparse: 7 rows spread over the table
UPDATE r SET lab_confidence = -1 WHERE id % 300 = 7;
SELECT setval('fired', 1, false) \gset
CREATE TEMP TABLE before_sparse AS SELECT id, ctid AS at FROM r;

SELECT is(hitl.score('r'), 7::bigint, 'sparse batches: the 7 rows whose scores moved are written');
SELECT is((SELECT count(*) FROM r JOIN before_sparse b USING (id) WHERE r.ctid <> b.at),
		  7::bigint, 'sparse batches: those rows only');
SELECT is(nextval('fired'), 8::bigint, 'sparse batches: the user''s row trigger fired once per row written');
SELECT is((SELECT count(*) FROM r WHERE lab_confidence < 0), 0::bigint,
		  'sparse batches: every row holds its scores');

SELECT finish();
ROLLBACK;
