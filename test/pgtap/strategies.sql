-- The query strategies density, diverse and committee (issue 14, section 2).
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
-- Committee: the uncertainty column holds the vote entropy of the members,
-- zero where they agree, the same at each scoring of a version; with
-- committee_measure 'kl' their mean KL divergence to their mean, of the
-- same members.
-- Errors: unknown strategies, with a hint listing all.

BEGIN;
SELECT plan(84);

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

-- with evaluation rows (evaluation_rate 0.2): they keep their places, at
-- ranks round(j x 240 / 49) of the 240 (the j-th of 48), the others in
-- diverse order around them
SELECT lives_ok($$SELECT hitl.create_model('emb_diverse_e', 'emb', 'label', '{v}',
							'e_p', 'e_c', 'e_u', strategy => 'diverse',
							options => '{"evaluation_rate": 0.2}')$$,
			   'numbers: a diverse model with evaluation rows');
SELECT is((SELECT count(*) FILTER (WHERE evaluation) FROM hitl.queue WHERE model = 'emb_diverse_e'), 48::bigint,
		  'diverse, evaluation rows: 48 of the 240');
SELECT is((SELECT array_agg(rank ORDER BY rank) FROM hitl.queue WHERE model = 'emb_diverse_e' AND evaluation),
		  (SELECT array_agg(round(j * 240 / 49.0)::int ORDER BY j) FROM generate_series(1, 48) j),
		  'diverse, evaluation rows: at their evenly spread ranks');
SELECT is((SELECT count(DISTINCT base) FROM (SELECT base FROM emb_diverse_e_review_queue
											 WHERE NOT evaluation ORDER BY rank LIMIT 10) t),
		  10::bigint, 'diverse, evaluation rows: the first 10 others are 10 different rows');

-- alter_model to diverse, scored again: the margin model's queue spreads
SELECT lives_ok($$SELECT hitl.alter_model('emb_margin', strategy => 'diverse')$$,
			   'alter_model to diverse');
SELECT ok(hitl.score('emb_margin') >= 0, 'scored again');
SELECT is(pg_temp.bases_in_top('emb_margin_review_queue', 10), 10::bigint,
		  'after alter_model: the first 10 rows are 10 different rows');
SELECT lives_ok($$SELECT hitl.alter_model('emb_margin', strategy => 'margin')$$, 'back to margin');
SELECT ok(hitl.score('emb_margin') >= 0, 'scored again');
SELECT cmp_ok(pg_temp.bases_in_top('emb_margin_review_queue', 10), '<=', 2::bigint,
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

SELECT lives_ok($$SELECT hitl.create_model('docs_density', 'docs', 'label', '{body}',
							'y_p', 'y_c', 'y_u', strategy => 'density',
							options => '{"evaluation_rate": 0}')$$,
			   'text: a density model');
SELECT ok((SELECT bool_and(y_u <= m_u) AND bool_or(y_u > 0) AND bool_or(y_u < m_u) FROM docs),
		  'text, density: never above margin, below it for some rows, above 0 for some');

-- ------------------------------------------------------------------ density
-- 20 labeled rows, a at dimension 1 = -3 and b at +3, dimensions 2 and 3
-- the same in both classes; 100 unlabeled rows around dimension 1 = 0 with
-- dimensions 2 and 3 at 1 (the pool's direction); one unlabeled outlier on
-- the boundary, in the opposite direction (-10, -10).
CREATE TABLE pool (id int PRIMARY KEY, v float8[], label text);
INSERT INTO pool
SELECT g, ARRAY[CASE WHEN g % 2 = 0 THEN -3 ELSE 3 END, g / 2 % 2, g / 4 % 2 - 0.5]::float8[],
	   CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END
FROM generate_series(0, 19) g;
INSERT INTO pool
SELECT 100 + g, ARRAY[(g - 50) / 25.0, 1 + (g % 7) / 10.0, 1 + (g % 5) / 10.0]::float8[], NULL
FROM generate_series(0, 99) g;
INSERT INTO pool VALUES (999, '{0,-10,-10}', NULL);

SELECT lives_ok($$SELECT hitl.create_model('pool_margin', 'pool', 'label', '{v}',
							'm_p', 'm_c', 'm_u', options => '{"evaluation_rate": 0}')$$,
			   'density: a margin model');
SELECT lives_ok($$SELECT hitl.create_model('pool_density', 'pool', 'label', '{v}',
							'y_p', 'y_c', 'y_u', strategy => 'density',
							options => '{"evaluation_rate": 0}')$$,
			   'density: a density model');
SELECT cmp_ok((SELECT rank FROM pool_margin_review_queue WHERE id = 999), '<=', 3,
			  'margin: the outlier on the boundary is among the first 3');
SELECT is((SELECT rank FROM pool_density_review_queue WHERE id = 999),
		  (SELECT max(rank) FROM pool_density_review_queue),
		  'density: the outlier comes last');
SELECT is((SELECT y_u FROM pool WHERE id = 999), 0::float8,
		  'density: the outlier, dissimilar to the pool, scores 0');

-- the density, computed here: the features standardised as the version
-- does, made unit; the pool's mean unit row; each row's dot product with it
SELECT cmp_ok((
	WITH mv AS (SELECT feature_means mu, feature_scales sc FROM hitl.model_versions
				WHERE model = 'pool_density'),
	z AS (SELECT p.id, p.label IS NULL AS unlabeled,
				 ARRAY[(v[1] - mu[1]) / sc[1], (v[2] - mu[2]) / sc[2], (v[3] - mu[3]) / sc[3]] z
		  FROM pool p, mv),
	u AS (SELECT id, unlabeled, ARRAY[z[1] / n, z[2] / n, z[3] / n] x
		  FROM (SELECT id, unlabeled, z, sqrt(z[1] ^ 2 + z[2] ^ 2 + z[3] ^ 2) n FROM z) t),
	m AS (SELECT avg(x[1]) a, avg(x[2]) b, avg(x[3]) c FROM u WHERE unlabeled)
	SELECT max(abs(p.y_u - p.m_u * greatest(0, u.x[1] * m.a + u.x[2] * m.b + u.x[3] * m.c)))
	FROM u, m, pool p WHERE p.id = u.id), '<', 1e-9::float8,
	'density: every row''s uncertainty column is margin x its mean cosine to the unlabeled pool');
SELECT ok((SELECT bool_and(y_u <= m_u) AND bool_or(y_u < m_u) FROM pool),
		  'density: never above margin, below it for some rows');

-- ---------------------------------------------------------------- committee
-- 5 members (committee_size absent): the vote entropy of 5 votes of 2
-- classes is 0 (5-0), H(4/5, 1/5) / log 2 = 0.7219 (4-1) or H(3/5, 2/5) /
-- log 2 = 0.9710 (3-2)
SELECT lives_ok($$SELECT hitl.create_model('emb_committee', 'emb', 'label', '{v}',
							'q_p', 'q_c', 'q_u', strategy => 'committee',
							options => '{"evaluation_rate": 0}')$$,
			   'numbers: a committee model');
SELECT is((SELECT array_agg(DISTINCT round(q_u::numeric, 4) ORDER BY round(q_u::numeric, 4))
		   FROM emb WHERE q_u > 0 AND q_u NOT IN (SELECT -(a * ln(a) + (1 - a) * ln(1 - a)) / ln(2)
												  FROM unnest(ARRAY[0.8, 0.6]::float8[]) a)),
		  NULL, 'numbers, committee: every uncertainty is the vote entropy of 5 votes');
SELECT is((SELECT count(*) FROM emb WHERE id >= 3000 AND q_u <> 0), 0::bigint,
		  'numbers, committee: the members agree on the confident rows');
SELECT ok((SELECT bool_and(q_u > 0) FROM (SELECT q_u FROM emb_committee_review_queue ORDER BY rank LIMIT 1) t),
		  'numbers, committee: the first row of the queue is one the members disagree on');
SELECT is((SELECT m_p IS NOT DISTINCT FROM q_p AND m_c IS NOT DISTINCT FROM q_c FROM emb WHERE id = 1000), true,
		  'numbers, committee: prediction and confidence are the version''s');
-- scored again after the scores were cleared: the same uncertainties
CREATE TEMP TABLE committee_before AS SELECT id, q_u FROM emb;
UPDATE emb SET q_u = NULL;
SELECT ok(hitl.score('emb_committee') >= 0, 'scored again');
SELECT is((SELECT count(*) FROM emb JOIN committee_before b USING (id) WHERE emb.q_u IS DISTINCT FROM b.q_u),
		  0::bigint, 'numbers, committee: scored again, the same committee (seeded by model and version)');
SELECT lives_ok($$SELECT hitl.alter_model('emb_committee', options => '{"committee_size": 3}')$$,
			   'committee_size 3');
SELECT ok(hitl.score('emb_committee') >= 0, 'scored again');
SELECT ok((SELECT bool_and(abs(q_u) < 1e-12 OR abs(q_u - 0.918295834054489) < 1e-9) FROM emb),
		  'numbers, committee of 3: every uncertainty is 0 or H(2/3, 1/3) / log 2');

SELECT lives_ok($$SELECT hitl.create_model('docs_committee', 'docs', 'label', '{body}',
							'q_p', 'q_c', 'q_u', strategy => 'committee',
							options => '{"evaluation_rate": 0, "committee_size": 4}')$$,
			   'text: a committee model of 4');
SELECT ok((SELECT bool_and(abs(q_u) < 1e-12 OR abs(q_u - 0.811278124459133) < 1e-9 OR abs(q_u - 1) < 1e-9)
		   FROM docs),
		  'text, committee of 4: every uncertainty is 0, H(3/4, 1/4) / log 2 or 1');
SELECT is((SELECT count(*) FROM docs WHERE id >= 3000 AND q_u <> 0), 0::bigint,
		  'text, committee: the members agree on the confident rows');

SELECT throws_ok($$SELECT hitl.create_model('bad', 'emb', 'label', '{v}', strategy => 'committee',
											options => '{"committee_size": 1}')$$,
				 '22023', NULL, 'create_model: committee_size 1 is out of range');
SELECT throws_ok($$SELECT hitl.alter_model('emb_committee', options => '{"committee_size": 21}')$$,
				 '22023', NULL, 'alter_model: committee_size 21 is out of range');
SELECT throws_ok($$SELECT hitl.create_model('bad', 'docs', 'label', '{body}', algorithm => 'naive_bayes',
											strategy => 'committee')$$,
				 '22023', 'strategy "committee" needs algorithm logistic',
				 'create_model: no committee for naive Bayes');
SELECT lives_ok($$SELECT hitl.create_model('docs_nb', 'docs', 'label', '{body}', 'n_p', 'n_c', 'n_u',
										   algorithm => 'naive_bayes')$$, 'a naive Bayes model');
SELECT throws_ok($$SELECT hitl.alter_model('docs_nb', strategy => 'committee')$$,
				 '22023', 'strategy "committee" needs algorithm logistic',
				 'alter_model: no committee for naive Bayes');

-- ------------------------------------------------------ committee_measure
-- 'kl': the mean KL divergence of the members to their mean probabilities,
-- in nats, from 0 to ln(min(m, k)) (ln 2 here).  The version does not
-- change, so the committee does not either: the same members measured
-- otherwise.  score_tolerance 0, so that every value is written.
SELECT throws_ok($$SELECT hitl.create_model('bad', 'emb', 'label', '{v}', strategy => 'committee',
											options => '{"committee_measure": "js"}')$$,
				 '22023', 'invalid value "js" for option "committee_measure"',
				 'create_model: an unknown committee_measure');
SELECT is(pg_temp.error_hint($$SELECT hitl.alter_model('emb_committee', options => '{"committee_measure": 1}')$$),
		  'committee_measure must be "vote_entropy" (the entropy of the members'' votes) or "kl" (their mean KL divergence to the committee''s mean probabilities); null restores the default vote_entropy.',
		  'alter_model: a committee_measure that is not a string, and the hint');
SELECT throws_ok($$SELECT hitl.alter_model('emb_committee', options => '{"committee_measure": "KL"}')$$,
				 '22023', 'invalid value "KL" for option "committee_measure"',
				 'alter_model: committee_measure is case-sensitive');
SELECT lives_ok($$SELECT hitl.alter_model('emb_committee', options => '{"score_tolerance": 0}')$$,
				'score_tolerance 0');
SELECT ok(hitl.score('emb_committee') >= 0, 'scored again');
CREATE TEMP TABLE committee_ve AS SELECT id, q_u FROM emb;
CREATE TEMP TABLE committee_ve_first AS
	SELECT id FROM emb_committee_review_queue ORDER BY rank LIMIT 1;
SELECT lives_ok($$SELECT hitl.alter_model('emb_committee', options => '{"committee_measure": "kl"}')$$,
				'committee_measure kl');
SELECT is((SELECT options ->> 'committee_measure' FROM hitl.models WHERE name = 'emb_committee'), 'kl',
		  'committee_measure is stored');
SELECT ok(hitl.score('emb_committee') >= 0, 'scored again');
SELECT ok((SELECT bool_and(q_u >= 0 AND q_u <= ln(2)) FROM emb),
		  'numbers, committee kl: every uncertainty is in [0, ln 2]');
SELECT ok((SELECT bool_and(e.q_u > 0) FROM emb e JOIN committee_ve v USING (id) WHERE v.q_u > 0),
		  'numbers, committee kl: above 0 on every row whose votes split');
SELECT cmp_ok((SELECT count(DISTINCT q_u) FROM emb WHERE label IS NULL), '>', 100::bigint,
			  'numbers, committee kl: no longer the few values of 3 votes');
SELECT is((SELECT count(*) FROM emb e JOIN committee_ve v USING (id) WHERE e.q_u IS NOT DISTINCT FROM v.q_u),
		  0::bigint, 'numbers, committee kl: a change of committee_measure rescores every row');
SELECT is((SELECT count(*) FROM emb_committee_review_queue a JOIN emb_committee_review_queue b
		   ON a.rank < b.rank JOIN emb ea ON ea.id = a.id JOIN emb eb ON eb.id = b.id
		   WHERE ea.q_u < eb.q_u), 0::bigint,
		  'numbers, committee kl: the queue is in decreasing KL');
SELECT ok((SELECT v.q_u > 0 AND q.id NOT IN (SELECT id FROM committee_ve_first)
		   FROM (SELECT id FROM emb_committee_review_queue ORDER BY rank LIMIT 1) q
		   JOIN committee_ve v USING (id)),
		  'numbers, committee kl: the first row is one whose votes split, not vote entropy''s first of its tie');
SELECT lives_ok($$SELECT hitl.alter_model('emb_committee', options => '{"committee_measure": "vote_entropy"}')$$,
				'committee_measure vote_entropy');
SELECT ok(hitl.score('emb_committee') >= 0, 'scored again');
SELECT is((SELECT count(*) FROM emb e JOIN committee_ve v USING (id) WHERE e.q_u IS DISTINCT FROM v.q_u),
		  0::bigint, 'numbers, committee vote_entropy: the vote entropies again, of the same committee');
SELECT lives_ok($$SELECT hitl.alter_model('emb_committee', options => '{"committee_measure": "kl"}')$$,
				'committee_measure kl again');
SELECT ok(hitl.score('emb_committee') >= 0, 'scored again');
SELECT lives_ok($$SELECT hitl.alter_model('emb_committee', options => '{"committee_measure": null}')$$,
				'committee_measure null');
SELECT ok((SELECT NOT options ? 'committee_measure' FROM hitl.models WHERE name = 'emb_committee'),
		  'null removes committee_measure');
SELECT ok(hitl.score('emb_committee') >= 0, 'scored again');
SELECT is((SELECT count(*) FROM emb e JOIN committee_ve v USING (id) WHERE e.q_u IS DISTINCT FROM v.q_u),
		  0::bigint, 'numbers, committee_measure absent: vote entropy, the default');

-- text (sparse members), 4 members: at most ln 2 as well
SELECT lives_ok($$SELECT hitl.alter_model('docs_committee', options => '{"committee_measure": "kl", "score_tolerance": 0}')$$,
				'text: committee_measure kl');
SELECT ok(hitl.score('docs_committee') >= 0, 'scored again');
SELECT ok((SELECT bool_and(q_u >= 0 AND q_u <= ln(2)) AND count(DISTINCT q_u) > 4 FROM docs),
		  'text, committee kl: every uncertainty is in [0, ln 2], more values than 4 votes take');

-- naive Bayes: diverse and density on its own features (term counts)
SELECT lives_ok($$SELECT hitl.alter_model('docs_nb', strategy => 'diverse')$$, 'naive Bayes: diverse');
SELECT ok(hitl.score('docs_nb') >= 0, 'scored again');
SELECT is(pg_temp.bases_in_top('docs_nb_review_queue', 10), 10::bigint,
		  'text, naive Bayes, diverse: the first 10 rows are 10 different rows');
SELECT lives_ok($$SELECT hitl.alter_model('docs_nb', strategy => 'density')$$, 'naive Bayes: density');
SELECT ok(hitl.score('docs_nb') >= 0, 'scored again');
SELECT ok((SELECT bool_and(n_u BETWEEN 0 AND 1) AND bool_or(n_u > 0) FROM docs),
		  'text, naive Bayes, density: scores in [0, 1], some above 0');

-- ------------------------------------------------------------------- errors
SELECT throws_ok($$SELECT hitl.create_model('bad', 'emb', 'label', '{v}', strategy => 'committe')$$,
				 '22023', 'unknown query strategy "committe"', 'create_model: an unknown strategy');
SELECT is(pg_temp.error_hint($$SELECT hitl.create_model('bad', 'emb', 'label', '{v}', strategy => 'nope')$$),
		  'Known strategies: margin, least_confidence, entropy, density, diverse, committee.',
		  'create_model: the hint lists every strategy');
SELECT throws_ok($$SELECT hitl.alter_model('emb_margin', strategy => 'nope')$$,
				 '22023', 'unknown query strategy "nope"', 'alter_model: an unknown strategy');
SELECT is(pg_temp.error_hint($$SELECT hitl.alter_model('emb_margin', strategy => 'nope')$$),
		  'Known strategies: margin, least_confidence, entropy, density, diverse, committee.',
		  'alter_model: the hint lists every strategy');

SELECT * FROM finish();
ROLLBACK;
