-- How annotators agree and how good each is: hitl.agreement's Cohen's
-- kappa, Fleiss' kappa and Krippendorff's alpha against the same figures
-- computed here in SQL from hitl.answers; hitl.annotator_stats (answers,
-- agreement with the consensus, Dawid-Skene's accuracy and confusion
-- matrix, pace); what a reader under row-level security sees; the errors.
--
-- The file runs outside a transaction block; its roles are dropped at the end.

SELECT plan(17);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

CREATE TABLE st (id int PRIMARY KEY, x float8, lab text, truth text, team text);
INSERT INTO st SELECT i, i % 9, CASE WHEN i <= 60 THEN (ARRAY['a', 'b', 'c'])[1 + i % 3] END,
	(ARRAY['a', 'b', 'c'])[1 + i % 3], CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END
FROM generate_series(1, 400) i;
SELECT hitl.create_model('sm', 'st', 'lab', '{x}', options => '{"annotators_per_row": 3}');

CREATE ROLE tap_s1;
CREATE ROLE tap_s2;
CREATE ROLE tap_s3;
CREATE ROLE tap_s4;
GRANT SELECT, UPDATE (lab) ON st TO tap_s1, tap_s2, tap_s3, tap_s4;

-- rows 101-200: s1 right, s2 wrong on every 4th, s3 wrong on every 3rd
-- (another wrong class), s4 answers rows 151-250, right on even ones
SET ROLE tap_s1;
UPDATE st SET lab = truth WHERE id BETWEEN 101 AND 200;
RESET ROLE;
SET ROLE tap_s2;
UPDATE st SET lab = CASE WHEN id % 4 = 0 THEN (ARRAY['a', 'b', 'c'])[1 + (id + 1) % 3] ELSE truth END
WHERE id BETWEEN 101 AND 200;
RESET ROLE;
SET ROLE tap_s3;
UPDATE st SET lab = CASE WHEN id % 3 = 0 THEN (ARRAY['a', 'b', 'c'])[1 + (id + 2) % 3] ELSE truth END
WHERE id BETWEEN 101 AND 150;
RESET ROLE;
SET ROLE tap_s4;
UPDATE st SET lab = CASE WHEN id % 2 = 0 THEN truth ELSE 'c' END WHERE id BETWEEN 151 AND 250;
RESET ROLE;

-- Cohen's kappa of two roles over their common rows, in SQL
CREATE FUNCTION kappa(ra name, rb name) RETURNS float8 LANGUAGE sql AS $$
	WITH p AS (SELECT a.label AS la, b.label AS lb FROM hitl.answers a JOIN hitl.answers b USING (model, row_key)
			   WHERE a.model = 'sm' AND a.role = ra AND b.role = rb AND NOT a.adjudication AND NOT b.adjudication),
	n AS (SELECT count(*)::float8 AS n FROM p),
	po AS (SELECT avg((la = lb)::int)::float8 AS po FROM p),
	pe AS (SELECT sum(ca * cb) AS pe FROM
			 (SELECT l, (SELECT count(*) FROM p WHERE la = l) / n.n AS ca,
					 (SELECT count(*) FROM p WHERE lb = l) / n.n AS cb
			  FROM (SELECT la AS l FROM p UNION SELECT lb FROM p) ls, n) x)
	SELECT (po - pe) / (1 - pe) FROM po, pe
$$;
SELECT is((SELECT count(*) FROM hitl.agreement('sm') WHERE measure = 'cohen_kappa'), 5::bigint,
		  'cohen_kappa for every pair with 20 common rows or more (s3-s4 have none)');
SELECT ok((SELECT bool_and(abs(g.value - kappa(g.role_a, g.role_b)) < 1e-12)
		   FROM hitl.agreement('sm') g WHERE g.measure = 'cohen_kappa'),
		  'each equals the kappa computed in SQL');
SELECT is((SELECT rows FROM hitl.agreement('sm') WHERE measure = 'cohen_kappa' AND role_a = 'tap_s1' AND role_b = 'tap_s2'),
		  100::bigint, 'over their 100 common rows');

-- Fleiss' kappa over the rows with three answers, in SQL
CREATE FUNCTION fleiss() RETURNS float8 LANGUAGE sql AS $$
	WITH items AS (SELECT row_key FROM hitl.answers WHERE model = 'sm' AND NOT adjudication
				   GROUP BY row_key HAVING count(*) = 3),
	c AS (SELECT a.row_key, a.label, count(*)::float8 AS nc FROM hitl.answers a JOIN items USING (row_key)
		  WHERE a.model = 'sm' AND NOT a.adjudication GROUP BY a.row_key, a.label),
	pi AS (SELECT row_key, sum(nc * (nc - 1)) / 6.0 AS p FROM c GROUP BY row_key),
	pj AS (SELECT label, sum(nc) / (3.0 * (SELECT count(*) FROM items)) AS p FROM c GROUP BY label)
	SELECT ((SELECT avg(p) FROM pi) - (SELECT sum(p * p) FROM pj)) / (1 - (SELECT sum(p * p) FROM pj))
$$;
SELECT ok((SELECT abs(value - fleiss()) < 1e-12 FROM hitl.agreement('sm') WHERE measure = 'fleiss_kappa'),
		  'fleiss_kappa equals the one computed in SQL');
SELECT is((SELECT rows FROM hitl.agreement('sm') WHERE measure = 'fleiss_kappa'),
		  (SELECT count(*) FROM (SELECT row_key FROM hitl.answers WHERE model = 'sm'
								 GROUP BY row_key HAVING count(*) = 3) x),
		  'over the rows with three answers');

-- Krippendorff's alpha (nominal) over the rows with two answers or more, in SQL
CREATE FUNCTION alpha() RETURNS float8 LANGUAGE sql AS $$
	WITH u AS (SELECT row_key, count(*)::float8 AS mu FROM hitl.answers WHERE model = 'sm' AND NOT adjudication
			   GROUP BY row_key HAVING count(*) >= 2),
	pairs AS (SELECT a.label AS c, b.label AS k, 1 / (u.mu - 1) AS w
			  FROM hitl.answers a JOIN hitl.answers b ON b.model = a.model AND b.row_key = a.row_key AND b.role <> a.role
			  JOIN u ON u.row_key = a.row_key
			  WHERE a.model = 'sm' AND NOT a.adjudication AND NOT b.adjudication),
	o AS (SELECT c, k, sum(w) AS o FROM pairs GROUP BY c, k),
	nc AS (SELECT c, sum(o) AS n FROM o GROUP BY c),
	tot AS (SELECT sum(n) AS n FROM nc)
	SELECT 1 - ((SELECT sum(o) FROM o WHERE c <> k) / tot.n)
			 / ((SELECT sum(x.n * y.n) FROM nc x, nc y WHERE x.c <> y.c) / (tot.n * (tot.n - 1)))
	FROM tot
$$;
SELECT ok((SELECT abs(value - alpha()) < 1e-12 FROM hitl.agreement('sm') WHERE measure = 'krippendorff_alpha'),
		  'krippendorff_alpha equals the one computed in SQL');

-- annotator_stats
SELECT is((SELECT array_agg(role::text || ':' || answers ORDER BY role) FROM hitl.annotator_stats WHERE model = 'sm'),
		  ARRAY['tap_s1:100', 'tap_s2:100', 'tap_s3:50', 'tap_s4:100'], 'answers per role');
SELECT is((SELECT round(agreement_with_consensus::numeric, 4) FROM hitl.annotator_stats WHERE model = 'sm' AND role = 'tap_s1'),
		  (SELECT round(avg((a.label = t.lab)::int)::numeric, 4) FROM hitl.answers a
		   JOIN st t ON a.row_key = jsonb_build_object('id', t.id)
		   WHERE a.model = 'sm' AND a.role = 'tap_s1' AND t.lab IS NOT NULL),
		  'agreement_with_consensus: the share of its answers equal to the row''s consensus');
SELECT ok((SELECT estimated_accuracy > 0.97 FROM hitl.annotator_stats WHERE model = 'sm' AND role = 'tap_s1'),
		  'Dawid-Skene finds the role that is always right nearly perfect');
SELECT ok((SELECT (SELECT estimated_accuracy FROM hitl.annotator_stats WHERE model = 'sm' AND role = 'tap_s1')
				> (SELECT estimated_accuracy FROM hitl.annotator_stats WHERE model = 'sm' AND role = 'tap_s2')
			  AND (SELECT estimated_accuracy FROM hitl.annotator_stats WHERE model = 'sm' AND role = 'tap_s2')
				> (SELECT estimated_accuracy FROM hitl.annotator_stats WHERE model = 'sm' AND role = 'tap_s4')),
		  'and ranks the others by how often they err (s1 > s2 (1 in 4) > s4 (1 in 2 on c))');
SELECT ok((SELECT bool_and(abs(s - 1) < 1e-9) FROM (
			SELECT (SELECT sum(v::float8) FROM jsonb_each_text(r.value) x(k, v)) AS s
			FROM hitl.annotator_stats st2, jsonb_each(st2.confusion) r WHERE st2.model = 'sm') y),
		  'each row of a confusion matrix sums to 1');
SELECT ok((SELECT (confusion -> 'a' ->> 'c')::float8 > 0.3 FROM hitl.annotator_stats WHERE model = 'sm' AND role = 'tap_s4'),
		  's4''s matrix shows it answers c for true a');
SELECT ok((SELECT last_answer_at IS NOT NULL FROM hitl.annotator_stats WHERE model = 'sm' AND role = 'tap_s1'),
		  'last_answer_at');
SELECT is((SELECT count(*) FROM hitl.annotator_stats WHERE model = 'sm' AND disagreements = 0 AND overrides = 0),
		  4::bigint, 'disagreements and overrides (one annotator per row only) are 0 for every role');

-- a reader under row-level security counts the answers of the rows it sees
CREATE ROLE tap_reader;
GRANT SELECT ON st TO tap_reader;
ALTER TABLE st ENABLE ROW LEVEL SECURITY;
CREATE POLICY st_even ON st FOR SELECT TO tap_reader USING (team = 'even');
SET ROLE tap_reader;
SELECT is((SELECT answers FROM hitl.annotator_stats WHERE model = 'sm' AND role = 'tap_s1'), 50::bigint,
		  'under row-level security, the answers of the rows it sees');
RESET ROLE;
ALTER TABLE st DISABLE ROW LEVEL SECURITY;

SELECT throws_ok($$SELECT * FROM hitl.agreement(NULL)$$, '22004', NULL, 'a NULL model: 22004');
SELECT throws_ok($$SELECT * FROM hitl.agreement('nosuch')$$, '42704', NULL, 'no such model: 42704');

SELECT * FROM finish();

SELECT hitl.drop_model(name) FROM hitl.models;
DROP TABLE st CASCADE;
DROP FUNCTION kappa(name, name), fleiss(), alpha();
DROP OWNED BY tap_s1, tap_s2, tap_s3, tap_s4, tap_reader;
DROP ROLE tap_s1, tap_s2, tap_s3, tap_s4, tap_reader;
