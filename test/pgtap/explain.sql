-- hitl.explain(): which features pushed a row's prediction, for dense
-- logistic models (two and three classes, an array column), logistic
-- regression on text and naive Bayes.  Each kind is held to its identity:
-- the contributions add up to the log-odds of the predicted class against
-- the runner-up that hitl.predict_proba gives, times the temperature of
-- the version's calibration (predict_proba is calibrated: its log-odds are
-- the model's divided by T).  Then top, the errors and the privileges.

BEGIN;
SELECT plan(43);

CREATE EXTENSION hitl;

-- the temperature of a model's calibration (1 without one)
CREATE FUNCTION temp_of(model text) RETURNS float8 LANGUAGE sql AS $$
	SELECT coalesce((v.metrics->'calibration'->>'temperature')::float8, 1)
	FROM hitl.model_versions v JOIN hitl.models m ON m.name = v.model
	WHERE v.model = temp_of.model AND v.version = m.current_version
$$;

-- ------------------------------------------------------------------------
-- A dense model where one feature decides: the outcome is the sign of
-- income; age and the embedding are noise.
-- ------------------------------------------------------------------------
CREATE TABLE loans (id int PRIMARY KEY, income float8, age float8, emb real[], outcome text);
INSERT INTO loans
SELECT i, ((i * 37) % 101) - 50, (i * 17) % 13, ARRAY[((i * 7) % 5)::real, ((i * 11) % 3)::real],
	   CASE WHEN i <= 80 THEN CASE WHEN ((i * 37) % 101) - 50 > 0 THEN 'repaid' ELSE 'default' END END
FROM generate_series(1, 120) i;
SELECT is(hitl.create_model('lm', 'loans', 'outcome', ARRAY['income', 'age', 'emb']), 1,
		  'a two-class model on income, age and a 2-element embedding');

CREATE TEMP TABLE le AS
	SELECT l.id, e.* FROM loans l, hitl.explain('lm', l, 100) WITH ORDINALITY e;
CREATE TEMP TABLE lp AS
	SELECT l.id, l.income, hitl.predict('lm', l) AS pred, hitl.predict_proba('lm', l) AS proba FROM loans l;

SELECT is((SELECT count(*) FROM le), 480::bigint, 'four features for each of the 120 rows');
SELECT is((SELECT array_agg(DISTINCT feature ORDER BY feature) FROM le),
		  ARRAY['age', 'emb[1]', 'emb[2]', 'income'],
		  'features are named by column, array elements column[i] counted from 1');
SELECT is((SELECT count(*) FROM le JOIN lp USING (id) WHERE ordinality = 1 AND feature <> 'income'
		   AND abs(income) >= 10), 0::bigint,
		  'income comes first in every row where it is not near its threshold');
SELECT is((SELECT count(*) FROM le JOIN lp USING (id)
		   WHERE feature = 'income' AND abs(income) >= 10 AND NOT (contribution > 0)), 0::bigint,
		  'and there its contribution favors the predicted class (> 0)');
SELECT is((SELECT count(*) FROM le JOIN lp USING (id)
		   WHERE feature = 'income' AND abs(income) >= 10 AND NOT (contribution > runner_up_contribution)),
		  0::bigint, 'more than it favors the runner-up');
SELECT is((SELECT count(*) FROM le e1 JOIN le e2 ON e1.id = e2.id AND e2.ordinality = e1.ordinality + 1
		   WHERE abs(e2.contribution) > abs(e1.contribution)
			  OR (abs(e2.contribution) = abs(e1.contribution) AND e2.feature < e1.feature)), 0::bigint,
		  'rows come by absolute contribution, largest first, then by feature');
-- the value is the standardized one, the weight the predicted class's half
-- of the one stored vector (+w/2 for the second class, -w/2 for the first)
SELECT is((SELECT count(*) FROM le JOIN lp USING (id), hitl.model_versions v
		   WHERE v.model = 'lm' AND le.feature = 'income'
			 AND (abs(le.value - (lp.income - v.feature_means[1]) / v.feature_scales[1]) > 1e-12
				  OR le.weight <> CASE WHEN lp.pred = v.classes[2] THEN 0.5 ELSE -0.5 END * v.coefficients[1]
				  OR le.runner_up_contribution <> -le.contribution
				  OR le.contribution <> le.weight * le.value)),
		  0::bigint, 'value standardized; weight +-w/2; contribution = weight x value; runner-up its opposite');
-- the identity: sum (contribution - runner_up) + b_pred - b_runner_up
-- = T ln(p_pred / p_runner_up), on every row
SELECT cmp_ok((SELECT max(abs(s.gap + CASE WHEN lp.pred = v.classes[2] THEN 1 ELSE -1 END * v.coefficients[v.d + 1]
							 - temp_of('lm') * ln((lp.proba->>lp.pred)::float8
								  / (lp.proba->>CASE WHEN lp.pred = v.classes[1] THEN v.classes[2]
													 ELSE v.classes[1] END)::float8)))
			   FROM lp
			   JOIN (SELECT id, sum(contribution - runner_up_contribution) AS gap FROM le GROUP BY id) s USING (id),
					(SELECT classes, coefficients, cardinality(feature_names) AS d
					 FROM hitl.model_versions WHERE model = 'lm') v),
			  '<', 1e-9::float8,
			  'two classes: contributions - runner-up + intercept difference = T x calibrated log-odds, every row, within 1e-9');

-- ------------------------------------------------------------------------
-- Three classes: each class has its own row of weights.
-- ------------------------------------------------------------------------
CREATE TABLE points (id int PRIMARY KEY, x float8, y float8, region text);
INSERT INTO points
SELECT i, (i * 37) % 29 - 14, (i * 53) % 31 - 15,
	   CASE WHEN i <= 90 THEN CASE WHEN (i * 37) % 29 - 14 > 3 THEN 'east'
								   WHEN (i * 53) % 31 - 15 > 0 THEN 'north' ELSE 'south' END END
FROM generate_series(1, 120) i;
SELECT is(hitl.create_model('pm', 'points', 'region', ARRAY['x', 'y']), 1, 'a three-class model');
CREATE TEMP TABLE pp AS
	SELECT p.id, hitl.predict('pm', p) AS pred, hitl.predict_proba('pm', p) AS proba FROM points p;
ALTER TABLE pp ADD COLUMN ru text;
UPDATE pp SET ru = (SELECT key FROM jsonb_each_text(proba) WHERE key <> pred
					ORDER BY value::float8 DESC, key LIMIT 1);
CREATE TEMP TABLE pe AS
	SELECT p.id, e.* FROM points p, hitl.explain('pm', p) e;
CREATE TEMP TABLE pv AS
	SELECT classes, coefficients AS c, cardinality(feature_names) AS d, feature_names
	FROM hitl.model_versions WHERE model = 'pm';
SELECT is((SELECT count(*) FROM pe JOIN pp USING (id), pv
		   WHERE pe.weight <> pv.c[(array_position(pv.classes, pp.pred) - 1) * (pv.d + 1)
								   + array_position(pv.feature_names, pe.feature)]
			  OR pe.runner_up_contribution <> pe.value
				 * pv.c[(array_position(pv.classes, pp.ru) - 1) * (pv.d + 1)
						+ array_position(pv.feature_names, pe.feature)]),
		  0::bigint, 'three classes: weight from the predicted class''s row, runner-up from its own row');
SELECT cmp_ok((SELECT max(abs(s.gap + pv.c[(array_position(pv.classes, pp.pred) - 1) * (pv.d + 1) + pv.d + 1]
							 - pv.c[(array_position(pv.classes, pp.ru) - 1) * (pv.d + 1) + pv.d + 1]
							 - temp_of('pm') * ln((pp.proba->>pp.pred)::float8 / (pp.proba->>pp.ru)::float8)))
			   FROM pp
			   JOIN (SELECT id, sum(contribution - runner_up_contribution) AS gap FROM pe GROUP BY id) s USING (id),
					pv),
			  '<', 1e-9::float8,
			  'three classes: contributions - runner-up + intercept difference = T x calibrated log-odds, every row, within 1e-9');

-- ------------------------------------------------------------------------
-- Text: logistic regression and naive Bayes on the same articles.
-- ------------------------------------------------------------------------
CREATE TABLE articles (id int PRIMARY KEY, body text, words int, topic text);
INSERT INTO articles
SELECT g, concat_ws(' ', v[1 + g % 6], f[1 + g % 5], v[1 + (g / 3) % 6], 'the', f[1 + (g / 2) % 5]),
	   g % 7, CASE WHEN g <= 46 THEN x.t END
FROM generate_series(1, 60) g
CROSS JOIN LATERAL (VALUES ((ARRAY['sport', 'cooking', 'computing'])[1 + g % 3])) x(t)
CROSS JOIN LATERAL (VALUES (CASE x.t
	WHEN 'sport' THEN ARRAY['goal', 'match', 'team', 'league', 'coach', 'stadium']
	WHEN 'cooking' THEN ARRAY['recipe', 'bake', 'flour', 'oven', 'sauce', 'garlic']
	ELSE ARRAY['kernel', 'compile', 'server', 'database', 'query', 'debug'] END)) y(v)
CROSS JOIN LATERAL (VALUES (ARRAY['a', 'great', 'new', 'today', 'week'])) z(f);
SELECT is(hitl.create_model('tl', 'articles', 'topic', '{body,words}',
							prediction_column => 'tl_topic', confidence_column => 'tl_confidence',
							uncertainty_column => 'tl_uncertainty'), 1, 'a logistic model on text and a number');
SELECT is(hitl.create_model('tb', 'articles', 'topic', '{body,words}', algorithm => 'naive_bayes',
							prediction_column => 'tb_topic', confidence_column => 'tb_confidence',
							uncertainty_column => 'tb_uncertainty'), 1, 'a naive Bayes model on them');

CREATE TEMP TABLE te AS
	SELECT a.id, e.* FROM articles a, hitl.explain('tl', a, 1000) e;
SELECT is((SELECT count(*) FROM articles a
		   WHERE (SELECT array_agg(feature ORDER BY feature) FROM te WHERE te.id = a.id AND feature <> 'words')
				 IS DISTINCT FROM
				 (SELECT array_agg(DISTINCT t ORDER BY t) FROM unnest(hitl.text_terms(a.body)) t)),
		  0::bigint, 'text logistic: each distinct term of the row''s own text is a feature, nothing else');
SELECT is((SELECT count(*) FROM te WHERE feature = 'words'), 60::bigint, 'and so is the number column');
SELECT cmp_ok((SELECT max(abs(ss - 1)) FROM (SELECT id, sum(value * value) AS ss FROM te
											  WHERE feature <> 'words' GROUP BY id) s),
			  '<', 1e-12::float8, 'the terms'' values are the row''s tf-idf bucket values (unit norm)');
SELECT ok((SELECT bool_or(value < 0) AND bool_or(value > 0) FROM te WHERE feature <> 'words'),
		  'with the signs of the hashing');
SELECT is((SELECT count(*) FROM te WHERE contribution <> weight * value), 0::bigint,
		  'contribution = bucket weight x bucket value');
CREATE TEMP TABLE tp AS
	SELECT a.id, hitl.predict('tl', a) AS pred, hitl.predict_proba('tl', a) AS proba FROM articles a;
ALTER TABLE tp ADD COLUMN ru text;
UPDATE tp SET ru = (SELECT key FROM jsonb_each_text(proba) WHERE key <> pred
					ORDER BY value::float8 DESC, key LIMIT 1);
SELECT cmp_ok((SELECT max(abs(s.gap + v.c[(array_position(v.classes, tp.pred) - 1) * (v.ncol + 1) + v.ncol + 1]
							 - v.c[(array_position(v.classes, tp.ru) - 1) * (v.ncol + 1) + v.ncol + 1]
							 - temp_of('tl') * ln((tp.proba->>tp.pred)::float8 / (tp.proba->>tp.ru)::float8)))
			   FROM tp
			   JOIN (SELECT id, sum(contribution - runner_up_contribution) AS gap FROM te GROUP BY id) s USING (id),
					(SELECT classes, coefficients AS c,
							cardinality(feature_names) + cardinality(vocabulary) AS ncol
					 FROM hitl.model_versions WHERE model = 'tl') v),
			  '<', 1e-9::float8,
			  'text logistic: contributions - runner-up + intercept difference = T x calibrated log-odds, every row, within 1e-9');
SELECT is((SELECT count(*) FROM articles a, hitl.explain('tl', a, 1) e
		   WHERE e.feature IN ('the', 'words', 'a', 'great', 'new', 'today', 'week')),
		  0::bigint, 'a word of its topic explains every row, never a common word or the number');

-- naive Bayes: contribution = value x (ln P(f | predicted) - ln P(f | runner-up))
CREATE TEMP TABLE be AS
	SELECT a.id, e.* FROM articles a, hitl.explain('tb', a, 1000) e;
CREATE TEMP TABLE bp AS
	SELECT a.id, a.words, hitl.predict('tb', a) AS pred, hitl.predict_proba('tb', a) AS proba FROM articles a;
ALTER TABLE bp ADD COLUMN ru text;
UPDATE bp SET ru = (SELECT key FROM jsonb_each_text(proba) WHERE key <> pred
					ORDER BY value::float8 DESC, key LIMIT 1);
SELECT is((SELECT count(*) FROM articles a
		   WHERE (SELECT array_agg(feature ORDER BY feature) FROM be WHERE be.id = a.id AND feature <> 'words')
				 IS DISTINCT FROM
				 (SELECT array_agg(DISTINCT t ORDER BY t) FROM unnest(hitl.text_terms(a.body)) t)),
		  0::bigint, 'naive Bayes: the row''s terms are its features too');
SELECT is((SELECT count(*) FROM be JOIN bp USING (id) WHERE feature = 'words' AND value <> bp.words),
		  0::bigint, 'a number is taken as it is (no standardization)');
SELECT is((SELECT count(*) FROM be WHERE contribution <> value * weight OR runner_up_contribution <> -contribution),
		  0::bigint, 'contribution = value x log ratio; runner_up_contribution its opposite');
SELECT cmp_ok((SELECT max(abs(s.total + ln(v.class_counts[array_position(v.classes, bp.pred)]
										   / v.class_counts[array_position(v.classes, bp.ru)])
							 - temp_of('tb') * ln((bp.proba->>bp.pred)::float8 / (bp.proba->>bp.ru)::float8)))
			   FROM bp
			   JOIN (SELECT id, sum(contribution) AS total FROM be GROUP BY id) s USING (id),
					(SELECT classes, class_counts FROM hitl.model_versions WHERE model = 'tb') v),
			  '<', 1e-9::float8,
			  'naive Bayes: contributions + log prior ratio = T x calibrated log-odds, every row, within 1e-9');
-- a term no labeled row has still counts (through the row's total)
SELECT is((SELECT count(*) FROM hitl.explain('tb', ROW(0, 'goal zzzunseen', 1, NULL, NULL, NULL, NULL, NULL,
												  NULL, NULL, NULL, NULL)::articles) e
		   WHERE feature IN ('goal', 'zzzunseen', 'words') AND weight <> 0), 3::bigint,
		  'an unseen term is reported, with the log ratio of the class denominators');
SELECT is((SELECT feature FROM hitl.explain('tb', ROW(0, 'goal zzzunseen', 1, NULL, NULL, NULL, NULL, NULL,
												   NULL, NULL, NULL, NULL)::articles, 1)),
		  'goal', 'and the known word decides');

-- ------------------------------------------------------------------------
-- top, errors
-- ------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM loans l, hitl.explain('lm', l, 2) e WHERE l.id = 1), 2::bigint, 'top 2: two rows');
SELECT is((SELECT count(*) FROM loans l, hitl.explain('lm', l) e WHERE l.id = 1), 4::bigint,
		  'top 10 by default: every feature when fewer');
SELECT results_eq($$SELECT e.feature FROM loans l, hitl.explain('lm', l, 2) e WHERE l.id = 1$$,
				  $$SELECT feature FROM le WHERE id = 1 AND ordinality <= 2 ORDER BY ordinality$$,
				  'top 2: the first two of the full list');
SELECT throws_ok($$SELECT * FROM loans l, hitl.explain('lm', l, 0) WHERE l.id = 1$$, '22023',
				 'top must be at least 1, not 0', 'top 0: 22023');
SELECT throws_ok($$SELECT * FROM loans l, hitl.explain('lm', l, -3) WHERE l.id = 1$$, '22023', NULL,
				 'top < 0: 22023');
SELECT throws_ok($$SELECT * FROM loans l, hitl.explain('lm', l, NULL) WHERE l.id = 1$$, '22023', NULL,
				 'top NULL: 22023');
SELECT throws_ok($$SELECT * FROM loans l, hitl.explain('no_such_model', l) WHERE l.id = 1$$, '42704',
				 'model "no_such_model" does not exist', 'unknown model: 42704');
CREATE TABLE waiting (id int PRIMARY KEY, x float8, lab text);
INSERT INTO waiting VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 3, NULL);
SELECT hitl.create_model('wm', 'waiting', 'lab', ARRAY['x']) AS wm_version \gset
SELECT throws_ok($$SELECT * FROM waiting w, hitl.explain('wm', w)$$, '55000',
				 'model "wm" has not been trained yet', 'a model without a version: 55000');
SELECT throws_ok($$SELECT * FROM points p, hitl.explain('lm', p) WHERE p.id = 1$$, '42804',
				 'row is of type public.points, not of the type of table public.loans', 'a row of another table: 42804');
SELECT throws_ok($$SELECT * FROM hitl.explain('lm', ROW(1, 2.0))$$, '42804', NULL, 'an anonymous record: 42804');
SELECT throws_ok($$SELECT * FROM hitl.explain('lm', 42)$$, '42804',
				 'row is of type integer, not of the type of table public.loans', 'a scalar: 42804');
SELECT throws_ok($$SELECT * FROM hitl.explain('lm', NULL::loans)$$, '22004', 'row must not be NULL',
				 'a NULL row: 22004');
SELECT throws_ok($$SELECT * FROM hitl.explain(NULL, NULL::loans)$$, '22004', 'model must not be NULL',
				 'a NULL model: 22004');

-- ------------------------------------------------------------------------
-- privileges: those of hitl.predict (reading the model's table)
-- ------------------------------------------------------------------------
SELECT 'hitl_tap_explain_' || pg_backend_pid() AS role_x \gset
CREATE ROLE :"role_x";
SET ROLE :"role_x";
SELECT throws_ok($$SELECT hitl.predict('lm', ROW(1, 1, 1, '{1,1}', NULL, NULL, NULL, NULL)::loans)$$,
				 '42501', 'permission denied for model "lm"', 'a role that cannot read the table cannot predict');
SELECT throws_ok($$SELECT * FROM hitl.explain('lm', ROW(1, 1, 1, '{1,1}', NULL, NULL, NULL, NULL)::loans)$$,
				 '42501', 'permission denied for model "lm"', 'nor explain: the same error');
RESET ROLE;
GRANT SELECT ON loans TO :"role_x";
SET ROLE :"role_x";
SELECT is((SELECT count(*) FROM loans l, hitl.explain('lm', l) e WHERE l.id = 1), 4::bigint,
		  'with SELECT on the table it can explain');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
