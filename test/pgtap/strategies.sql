-- The query strategies density and diverse (issue 14, section 2).
--
-- The demonstration: a table where each uncertain row has 9 near-copies.
-- With margin, the first 10 rows of the review view are the copies of one
-- row (their uncertainties tie or nearly); with diverse they are 10
-- different rows.  For numbers (an embedding: dimension 1 decides the
-- class, dimensions 2..21 say which of 20 topics a row is about) and for
-- text (words of each class, and 3 words of each topic that both classes
-- use).  Density: an uncertain outlier leads the margin queue and leaves
-- the top under density, whose uncertainty column is margin x the mean
-- cosine to the unlabeled pool (checked against that mean computed here).
-- Errors: unknown strategies, with a hint listing all.

BEGIN;
SELECT plan(22);

CREATE EXTENSION hitl;

-- the hint of the error a statement raises (NULL when it raises none)
CREATE FUNCTION pg_temp.error_hint(stmt text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
	hint text;
BEGIN
	EXECUTE stmt;
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
	RETURN hint;
END
$f$;

-- how many different bases (the copies' origin) among the first n rows of a view
CREATE FUNCTION pg_temp.bases_in_top(view_name text, n int) RETURNS bigint LANGUAGE plpgsql AS $f$
DECLARE
	c bigint;
BEGIN
	EXECUTE format('SELECT count(DISTINCT base) FROM (SELECT base FROM %I ORDER BY rank LIMIT %s) t',
				   view_name, n) INTO c;
	RETURN c;
END
$f$;

-- ------------------------------------------------------------------ numbers
-- 40 labeled rows: class a at dimension 1 = -3, b at +3, each topic once
-- in each class (so that the topics weigh nothing).  200 unlabeled
-- uncertain rows: 20 bases (dimension 1 near 0, base k further from the
-- boundary than base k - 1), 10 copies each (dimension 1 moved by 1e-6 x
-- copy).  40 unlabeled confident rows.
CREATE TABLE emb (id int PRIMARY KEY, base int, v float8[], label text);
INSERT INTO emb
SELECT g, NULL,
	   ARRAY[CASE WHEN g % 2 = 0 THEN -3 ELSE 3 END]::float8[] ||
	   array_agg(CASE WHEN i = g / 2 % 20 THEN 1 ELSE 0 END::float8 ORDER BY i),
	   CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END
FROM generate_series(0, 39) g, generate_series(0, 19) i
GROUP BY g;
INSERT INTO emb
SELECT 1000 + k * 10 + j, k,
	   ARRAY[0.05 * k + 1e-6 * j]::float8[] ||
	   array_agg(CASE WHEN i = k THEN 1 ELSE 0 END::float8 ORDER BY i),
	   NULL
FROM generate_series(0, 19) k, generate_series(0, 9) j, generate_series(0, 19) i
GROUP BY k, j;
INSERT INTO emb
SELECT 3000 + g, NULL,
	   ARRAY[CASE WHEN g % 2 = 0 THEN -4 ELSE 4 END]::float8[] ||
	   array_agg(CASE WHEN i = g % 20 THEN 1 ELSE 0 END::float8 ORDER BY i),
	   NULL
FROM generate_series(0, 39) g, generate_series(0, 19) i
GROUP BY g;

SELECT lives_ok($$SELECT hitl.create_model('emb_margin', 'emb', 'label', '{v}',
							'm_p', 'm_c', 'm_u', options => '{"evaluation_rate": 0}')$$,
			   'numbers: a margin model');
SELECT lives_ok($$SELECT hitl.create_model('emb_diverse', 'emb', 'label', '{v}',
							'd_p', 'd_c', 'd_u', strategy => 'diverse',
							options => '{"evaluation_rate": 0}')$$,
			   'numbers: a diverse model');
SELECT cmp_ok(pg_temp.bases_in_top('emb_margin_review_queue', 10), '<=', 2::bigint,
			  'numbers, margin: the first 10 rows are copies of one or two rows');
SELECT is(pg_temp.bases_in_top('emb_diverse_review_queue', 10), 10::bigint,
		  'numbers, diverse: the first 10 rows are 10 different rows');
SELECT is((SELECT count(*) FROM emb WHERE label IS NULL AND d_u IS DISTINCT FROM m_u), 0::bigint,
		  'numbers, diverse: the uncertainty column holds the margin uncertainty');
SELECT is((SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM emb_diverse_review_queue ORDER BY rank LIMIT 1) t),
		  (SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM emb_margin_review_queue ORDER BY rank LIMIT 1) t),
		  'numbers, diverse: the most uncertain row comes first, as with margin');
SELECT is((SELECT count(*) FROM emb_diverse_review_queue), (SELECT count(*) FROM emb_margin_review_queue),
		  'numbers, diverse: the queue holds the same number of rows');

-- alter_model to diverse, scored again: the margin model's queue spreads
SELECT lives_ok($$SELECT hitl.alter_model('emb_margin', strategy => 'diverse')$$,
			   'alter_model to diverse');
SELECT ok(hitl.score('emb_margin') >= 0, 'scored again');
SELECT is(pg_temp.bases_in_top('emb_margin_review_queue', 10), 10::bigint,
		  'after alter_model: the first 10 rows are 10 different rows');
SELECT lives_ok($$SELECT hitl.alter_model('emb_margin', strategy => 'margin')$$, 'back to margin');
SELECT ok(hitl.score('emb_margin') >= 0 AND pg_temp.bases_in_top('emb_margin_review_queue', 10) <= 2,
		  'back to margin, scored again: copies together again');

-- --------------------------------------------------------------------- text
-- topic k's words: zq<k as a letter><a|b|c>
CREATE TABLE docs (id int PRIMARY KEY, base int, body text, label text);
INSERT INTO docs
SELECT g, NULL,
	   CASE WHEN g % 2 = 0 THEN 'good great fine ' ELSE 'bad awful poor ' END ||
	   'zq' || chr(97 + g / 2 % 20) || 'a zq' || chr(97 + g / 2 % 20) || 'b zq' || chr(97 + g / 2 % 20) || 'c',
	   CASE WHEN g % 2 = 0 THEN 'pos' ELSE 'neg' END
FROM generate_series(0, 39) g;
-- copies differ in case and spacing only: the same features.  The bases
-- of the same number of "great" tie: their copies come in table order, one
-- base's after the other's
INSERT INTO docs
SELECT 1000 + k * 10 + j, k,
	   CASE WHEN j % 2 = 0 THEN 'good bad ' ELSE 'Good  Bad ' END || repeat('great ', k % 3) ||
	   'zq' || chr(97 + k) || 'a zq' || chr(97 + k) || 'b zq' || chr(97 + k) || 'c' ||
	   repeat(' ', j),
	   NULL
FROM generate_series(0, 19) k, generate_series(0, 9) j
ORDER BY k, j;
INSERT INTO docs
SELECT 3000 + g, NULL,
	   CASE WHEN g % 2 = 0 THEN 'good great fine good' ELSE 'bad awful poor bad' END, NULL
FROM generate_series(0, 39) g;

SELECT lives_ok($$SELECT hitl.create_model('docs_margin', 'docs', 'label', '{body}',
							'm_p', 'm_c', 'm_u', options => '{"evaluation_rate": 0}')$$,
			   'text: a margin model');
SELECT lives_ok($$SELECT hitl.create_model('docs_diverse', 'docs', 'label', '{body}',
							'd_p', 'd_c', 'd_u', strategy => 'diverse',
							options => '{"evaluation_rate": 0}')$$,
			   'text: a diverse model');
SELECT cmp_ok(pg_temp.bases_in_top('docs_margin_review_queue', 10), '<=', 2::bigint,
			  'text, margin: the first 10 rows are copies of one or two rows');
SELECT is(pg_temp.bases_in_top('docs_diverse_review_queue', 10), 10::bigint,
		  'text, diverse: the first 10 rows are 10 different rows');

-- ------------------------------------------------------------------ density
SELECT lives_ok($$SELECT hitl.create_model('emb_density', 'emb', 'label', '{v}',
							'y_p', 'y_c', 'y_u', strategy => 'density',
							options => '{"evaluation_rate": 0}')$$,
			   'numbers: a density model');

-- ------------------------------------------------------------------- errors
SELECT throws_ok($$SELECT hitl.create_model('bad', 'emb', 'label', '{v}', strategy => 'committe')$$,
				 '22023', 'unknown query strategy "committe"', 'create_model: an unknown strategy');
SELECT is(pg_temp.error_hint($$SELECT hitl.create_model('bad', 'emb', 'label', '{v}', strategy => 'nope')$$),
		  'Known strategies: margin, least_confidence, entropy, density, diverse.',
		  'create_model: the hint lists every strategy');
SELECT throws_ok($$SELECT hitl.alter_model('emb_margin', strategy => 'nope')$$,
				 '22023', 'unknown query strategy "nope"', 'alter_model: an unknown strategy');
SELECT is(pg_temp.error_hint($$SELECT hitl.alter_model('emb_margin', strategy => 'nope')$$),
		  'Known strategies: margin, least_confidence, entropy, density, diverse.',
		  'alter_model: the hint lists every strategy');

SELECT * FROM finish();
ROLLBACK;
