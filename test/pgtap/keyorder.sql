-- The order of the labeled rows by key, which the coefficients and the data
-- hash depend on.  An integer key is ordered without a tuplesort, by a
-- merge of the runs the scan meets the keys in (src/keyorder.c); a key of
-- another type through the tuplesort.  Both must give ORDER BY's order,
-- whatever the physical order of the rows, and a key that is no longer
-- unique (primary key dropped) or NULL must still train.

BEGIN;
SELECT plan(13);

CREATE EXTENSION hitl;

-- 400 rows, three classes, keys 1 .. 400 scattered over four ranges
CREATE FUNCTION ko_rows() RETURNS TABLE (id int, a float8, b float8, lab text)
LANGUAGE sql AS $$
	SELECT i, sin(i * 1.3) * 4 + (i % 7), cos(i * 0.7) * 3 + (i % 5),
		   CASE WHEN i % 4 <> 0 THEN
			   CASE WHEN sin(i * 1.3) * 4 + (i % 7) > 4 THEN 'p'
					WHEN cos(i * 0.7) > 0 THEN 'q' ELSE 'r' END
		   END
	FROM generate_series(1, 400) i
$$;

-- in key order
CREATE TABLE k_sorted (id int PRIMARY KEY, a float8, b float8, lab text);
INSERT INTO k_sorted SELECT * FROM ko_rows() ORDER BY id;
-- in runs: the keys of id % 4 = 1, then 3, then 0, then 2, each ascending
CREATE TABLE k_runs (id int PRIMARY KEY, a float8, b float8, lab text);
INSERT INTO k_runs SELECT * FROM ko_rows() ORDER BY (id % 4) IN (0, 2), id % 2 = 0, id % 4, id;
-- in a scrambled order
CREATE TABLE k_mixed (id int PRIMARY KEY, a float8, b float8, lab text);
INSERT INTO k_mixed SELECT * FROM ko_rows() ORDER BY (id * 37) % 101, id;
-- a numeric key of the same values: passed by reference, so sorted as tuples
CREATE TABLE k_numeric (id numeric PRIMARY KEY, a float8, b float8, lab text);
INSERT INTO k_numeric SELECT * FROM ko_rows() ORDER BY (id * 37) % 101 DESC, id;
-- bigint keys, negative ones among them, in descending order
CREATE TABLE k_big (id bigint PRIMARY KEY, a float8, b float8, lab text);
INSERT INTO k_big SELECT id::bigint - 200, a, b, lab FROM ko_rows() ORDER BY id DESC;

SELECT ok((SELECT count(*) FROM (SELECT id, lag(id) OVER (ORDER BY ctid) AS prev FROM k_runs) s
		   WHERE id < prev) = 3, 'k_runs holds its keys in four ascending runs');

SELECT is(hitl.create_model('m_sorted', 'k_sorted', 'lab', '{a, b}', options => '{"cv_folds": 0}'), 1, 'm_sorted trains');
SELECT is(hitl.create_model('m_runs', 'k_runs', 'lab', '{a, b}', options => '{"cv_folds": 0}'), 1, 'm_runs trains');
SELECT is(hitl.create_model('m_mixed', 'k_mixed', 'lab', '{a, b}', options => '{"cv_folds": 0}'), 1, 'm_mixed trains');
SELECT is(hitl.create_model('m_numeric', 'k_numeric', 'lab', '{a, b}', options => '{"cv_folds": 0}'), 1, 'm_numeric trains');
SELECT is(hitl.create_model('m_big', 'k_big', 'lab', '{a, b}', options => '{"cv_folds": 0}'), 1, 'm_big trains');

CREATE TEMP VIEW v AS
	SELECT model, coefficients, metrics->>'data_hash' AS data_hash FROM hitl.model_versions;
SELECT is((SELECT count(DISTINCT (coefficients, data_hash))::int FROM v
		   WHERE model IN ('m_sorted', 'm_runs', 'm_mixed', 'm_numeric')), 1,
		  'integer keys in runs or scrambled, and numeric keys sorted as tuples: the same coefficients and data hash');
-- k_big's keys are shifted, in the same order: the same rows in the same order
SELECT is((SELECT coefficients FROM v WHERE model = 'm_big'),
		  (SELECT coefficients FROM v WHERE model = 'm_sorted'),
		  'bigint keys stored in descending order, negative ones first in key order: the same coefficients');

-- moving every row elsewhere in the table changes nothing the training reads
UPDATE k_sorted SET a = a;
CLUSTER k_runs USING k_runs_pkey;
SELECT is(hitl.train('m_sorted'), 1, 'rows moved by an UPDATE: version 1 stands');
SELECT is(hitl.train('m_runs'), 1, 'rows put in key order by CLUSTER: version 1 stands');

-- no primary key any more: two rows share a key, then one has none
ALTER TABLE k_mixed DROP CONSTRAINT k_mixed_pkey, ALTER COLUMN id DROP NOT NULL;
INSERT INTO k_mixed VALUES (7, 1.5, 2.5, 'p');
SELECT is(hitl.train('m_mixed'), 2, 'a duplicate key: version 2 trains (the keys sorted as tuples)');
INSERT INTO k_mixed VALUES (NULL, 0.5, -1.5, 'q');
SELECT is(hitl.train('m_mixed'), 3, 'and a NULL key: version 3 trains');
SELECT is((SELECT array_agg(n_labeled ORDER BY version) FROM hitl.model_versions WHERE model = 'm_mixed'),
		  '{300, 301, 302}'::int[], 'with the 300 labeled rows and those added');

SELECT * FROM finish();
ROLLBACK;
