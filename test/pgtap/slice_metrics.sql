-- Slices: hitl.slice_metrics(model, group_column).  A table whose group
-- 'b' has noisy labels (every 4th label of it is wrong) is flagged, the
-- others are not; every figure equals what a direct query over the table
-- and hitl's tables gives (the out-of-fold ones also the version's metrics
-- when one group holds every row); machine labels and their audits count
-- per group; the one-sided two-proportion test; the errors (arguments,
-- model, out-of-fold store, column, type, privileges); row-level security
-- of the table; a dropped group column.
--
-- The file runs outside a transaction block; its roles are dropped at the
-- end.

SELECT plan(52);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

-- SQLSTATE, message and whether a hint comes with the error of a query
CREATE FUNCTION slice_error(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text;
	msg text;
	hint text;
BEGIN
	EXECUTE q;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
	RETURN st || ' ' || msg || CASE WHEN coalesce(hint, '') <> '' THEN ' (hint)' ELSE ' (no hint)' END;
END
$$;

-- |a - b| < 1e-9 for every group (NULLs alike), as text for a readable diff
CREATE FUNCTION slice_close(a float8, b float8) RETURNS boolean LANGUAGE sql AS $$
	SELECT CASE WHEN a IS NULL OR b IS NULL THEN a IS NULL AND b IS NULL ELSE abs(a - b) < 1e-9 END
$$;

-- the groups of a stored result of slice_metrics over table cust whose
-- labeled and unlabeled rows are not those of the table's rows (of those
-- that meet cond)
CREATE FUNCTION slice_counts_off(result text, cond text DEFAULT 'true') RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	EXECUTE format($q$
		SELECT count(*) FROM %I s
		WHERE format('%%s/%%s', s.labeled, s.unlabeled) IS DISTINCT FROM
			  (SELECT format('%%s/%%s', count(c.label), count(*) FILTER (WHERE c.label IS NULL))
			   FROM cust c WHERE c.region IS NOT DISTINCT FROM s.group_value AND %s)$q$, result, cond)
	INTO n;
	RETURN n;
END
$$;

CREATE TYPE slice_pair AS (a int, b int);
CREATE DOMAIN slice_ints AS int[];

-- 600 rows in two classes (by parity: x about -1.5 or 1.5), in groups a, b
-- and c, every 10th row in no group (NULL); 450 labeled after the model
-- exists (the label log has them), of which every 4th of group b wrongly
CREATE TABLE cust (id int PRIMARY KEY, x float8, y float8, region text, tier text, one int,
				   tags text[], ints slice_ints, doc jsonb, js json, pair slice_pair,
				   label text, truth text);
INSERT INTO cust
SELECT g, (g % 2) * 3 - 1.5 + 0.9 * sin(g * 1.7), cos(g * 0.9),
	   CASE WHEN g % 10 = 0 THEN NULL ELSE (ARRAY['a', 'b', 'c'])[1 + (g / 2) % 3] END,
	   CASE WHEN g % 3 = 0 THEN 'gold' ELSE 'basic' END, 1,
	   ARRAY['t'], ARRAY[g], '{}', '{}', ROW(g, g)::slice_pair, NULL, (ARRAY['n', 'p'])[1 + g % 2]
FROM generate_series(1, 600) g;
SELECT hitl.create_model('sm', 'cust', 'label', '{x,y}') \gset
SELECT hitl.alter_model('sm', enabled => false) \gset
UPDATE cust SET label = CASE WHEN region = 'b' AND id % 4 = 0 THEN 'p' ELSE truth END WHERE id <= 450;
SELECT hitl.train('sm') \gset
SELECT hitl.score('sm') \gset

CREATE TEMP TABLE s1 AS SELECT * FROM hitl.slice_metrics('sm', 'region');
CREATE TEMP TABLE oof AS
SELECT c.region, c.id, o.label, o.predicted, o.confidence
FROM hitl.oof_predictions o JOIN cust c ON o.row_key = jsonb_build_object('id', c.id)
WHERE o.model = 'sm';

-- ----------------------------------------------------------------------
-- The function
-- ----------------------------------------------------------------------

SELECT is((SELECT format('%s %s %s %s', l.lanname, p.provolatile, p.prosecdef,
						 has_function_privilege('public', p.oid, 'EXECUTE'))
		   FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
		   WHERE p.oid = 'hitl.slice_metrics(text,name)'::regprocedure),
		  'plpgsql s f t', 'slice_metrics: PL/pgSQL, STABLE, runs as its caller, for PUBLIC');
SELECT is(pg_get_function_result('hitl.slice_metrics(text,name)'::regprocedure),
		  'TABLE(group_value text, labeled bigint, unlabeled bigint, accuracy double precision, '
		  'macro_f1 double precision, ece double precision, mean_confidence double precision, '
		  'review_share double precision, auto_labeled bigint, auto_label_audited bigint, '
		  'auto_label_precision double precision, agreement double precision, p_value double precision, '
		  'flagged boolean)', 'its columns, in plain types');

-- ----------------------------------------------------------------------
-- The two-proportion test (values from 1/2 erfc(-z / sqrt 2), z pooled)
-- ----------------------------------------------------------------------

SELECT ok(slice_close(hitl._two_proportion_p(10, 100, 20, 100), 0.02383519032808072),
		  '_two_proportion_p: 10/100 lower than 20/100 at p = 0.0238');
SELECT ok(slice_close(hitl._two_proportion_p(20, 100, 10, 100), 0.9761648096719193),
		  'one-sided: 20/100 against 10/100 gives 1 - 0.0238');
SELECT ok(slice_close(hitl._two_proportion_p(45, 60, 170, 180), 9.775402723147431e-06),
		  '45/60 against 170/180 (z = -4.27)');
SELECT is(hitl._two_proportion_p(3, 10, 30, 100), 0.5::float8, 'equal proportions: 0.5');
SELECT is(hitl._two_proportion_p(0, 0, 3, 10), NULL, 'no trial on one side: NULL');
SELECT is(slice_error($$SELECT hitl._two_proportion_p(11, 10, 3, 10)$$),
		  '22023 invalid first proportion: 11 of 10 (hint)', 'more successes than trials: 22023');

-- ----------------------------------------------------------------------
-- The figures, against direct queries
-- ----------------------------------------------------------------------

SELECT is((SELECT array_agg(coalesce(group_value, 'NULL') ORDER BY group_value NULLS LAST) FROM s1),
		  ARRAY['a', 'b', 'c', 'NULL'], 'one row per value, NULL values as one group');
SELECT is((SELECT array_agg(format('%s %s/%s', coalesce(group_value, '-'), labeled, unlabeled)
						    ORDER BY group_value NULLS LAST) FROM s1),
		  ARRAY['a 135/45', 'b 135/45', 'c 135/45', '- 45/15'], 'labeled and unlabeled rows of each group');
SELECT is(slice_counts_off('s1'), 0::bigint,
		  'the counts are those of the table');
SELECT is((SELECT count(*) FROM s1 s
		   WHERE s.accuracy IS DISTINCT FROM
				 (SELECT avg((o.predicted = o.label)::int::float8) FROM oof o
				  WHERE o.region IS NOT DISTINCT FROM s.group_value)), 0::bigint,
		  'accuracy: the share of the group''s out-of-fold predictions that are right');
SELECT is((SELECT count(*) FROM s1 s
		   WHERE NOT slice_close(s.macro_f1, (
				SELECT avg(2.0 * tp / (2 * tp + fp + fn))::float8
				FROM (SELECT k.c, count(*) FILTER (WHERE o.label = k.c AND o.predicted = k.c) AS tp,
							 count(*) FILTER (WHERE o.label <> k.c AND o.predicted = k.c) AS fp,
							 count(*) FILTER (WHERE o.label = k.c AND o.predicted <> k.c) AS fn
					  FROM oof o, (VALUES ('n'), ('p')) k(c)
					  WHERE o.region IS NOT DISTINCT FROM s.group_value GROUP BY k.c) f
				WHERE tp + fp + fn > 0))), 0::bigint,
		  'macro_f1: the mean F1 of the classes met among the group''s labels or predictions');
SELECT is((SELECT count(*) FROM s1 s
		   WHERE NOT slice_close(s.ece, (
				SELECT sum(n / total * abs(acc - conf))
				FROM (SELECT count(*)::float8 AS n, avg((o.predicted = o.label)::int::float8) AS acc,
							 avg(o.confidence) AS conf,
							 (SELECT count(*) FROM oof o2 WHERE o2.region IS NOT DISTINCT FROM s.group_value)::float8 AS total
					  FROM oof o WHERE o.region IS NOT DISTINCT FROM s.group_value
					  GROUP BY least(width_bucket(o.confidence, 0, 1, 15), 15)) b))), 0::bigint,
		  'ece: over 15 equal-width bins of the out-of-fold confidence, rows/n x |accuracy - confidence|');
SELECT is((SELECT count(*) FROM s1 s
		   WHERE NOT slice_close(s.mean_confidence,
								 (SELECT avg(c.label_confidence) FROM cust c
								  WHERE c.region IS NOT DISTINCT FROM s.group_value))), 0::bigint,
		  'mean_confidence: of the confidence column over the group''s rows');
SELECT is((SELECT count(*) FROM s1 s
		   WHERE NOT slice_close(s.review_share,
								 (SELECT count(*) FILTER (WHERE q.region IS NOT DISTINCT FROM s.group_value)::float8
										 / count(*) FROM sm_review_queue q))), 0::bigint,
		  'review_share: the group''s share of the review view''s rows');
SELECT ok(slice_close((SELECT sum(review_share) FROM s1), 1), 'the shares add up to 1');
SELECT is((SELECT count(*) FROM s1 s
		   WHERE s.agreement IS DISTINCT FROM
				 (SELECT avg((c.label_prediction = c.label)::int::float8) FROM cust c
				  WHERE c.region IS NOT DISTINCT FROM s.group_value AND c.label IS NOT NULL)), 0::bigint,
		  'agreement: the share of labeled rows whose prediction column equals the label');
SELECT is((SELECT array_agg(format('%s %s %s %s', coalesce(group_value, '-'), auto_labeled, auto_label_audited,
								   coalesce(auto_label_precision::text, 'none')) ORDER BY group_value NULLS LAST) FROM s1),
		  ARRAY['a 0 0 none', 'b 0 0 none', 'c 0 0 none', '- 0 0 none'], 'no machine labels yet');

-- the noisy group, and only it, is flagged
SELECT is((SELECT array_agg(coalesce(group_value, '-') ORDER BY group_value NULLS LAST) FROM s1 WHERE flagged),
		  ARRAY['b'], 'the group with noisy labels is flagged, the others are not');
SELECT cmp_ok((SELECT accuracy FROM s1 WHERE group_value = 'b'), '<',
			  (SELECT min(accuracy) FROM s1 WHERE group_value IS DISTINCT FROM 'b'),
			  'its out-of-fold accuracy is the lowest');
SELECT is((SELECT count(*) FROM s1 s
		   WHERE s.p_value IS DISTINCT FROM hitl._two_proportion_p(
				(SELECT count(*) FILTER (WHERE o.predicted = o.label) FROM oof o WHERE o.region IS NOT DISTINCT FROM s.group_value),
				(SELECT count(*) FROM oof o WHERE o.region IS NOT DISTINCT FROM s.group_value),
				(SELECT count(*) FILTER (WHERE o.predicted = o.label) FROM oof o WHERE o.region IS DISTINCT FROM s.group_value),
				(SELECT count(*) FROM oof o WHERE o.region IS DISTINCT FROM s.group_value))
			  OR s.flagged <> (s.p_value < 0.05)), 0::bigint,
		  'p_value: the group against all other rows, one-sided; flagged when below 0.05');

-- one group of every row: the version's own out-of-fold figures
SELECT is((SELECT format('%s %s %s %s', s.group_value, s.labeled, s.p_value IS NULL, s.flagged)
		   FROM hitl.slice_metrics('sm', 'one') s), '1 450 t f',
		  'a column of one value: one group, nothing to compare it with');
SELECT ok((SELECT slice_close(s.accuracy, (v.metrics->>'cv_accuracy')::float8)
				  AND slice_close(s.macro_f1, (v.metrics->>'cv_macro_f1')::float8)
				  AND slice_close(s.ece, (v.metrics->>'ece')::float8)
		   FROM hitl.slice_metrics('sm', 'one') s, hitl.model_versions v
		   WHERE v.model = 'sm' AND v.version = (SELECT current_version FROM hitl.models WHERE name = 'sm')),
		  'and its accuracy, macro_f1 and ece are the version''s cv_accuracy, cv_macro_f1 and ece');

-- ----------------------------------------------------------------------
-- Machine labels
-- ----------------------------------------------------------------------

SELECT hitl.auto_label('sm', 0.9, 0.5) AS n_auto \gset
SELECT cmp_ok(:n_auto::bigint, '>', 20::bigint, 'auto_label labels rows');
SELECT min(c.id) AS confirm_id FROM cust c JOIN hitl.auto_labels a ON a.row_key = jsonb_build_object('id', c.id)
WHERE a.audited AND c.region = 'a' \gset
SELECT max(c.id) AS correct_id FROM cust c JOIN hitl.auto_labels a ON a.row_key = jsonb_build_object('id', c.id)
WHERE a.audited AND c.region = 'a' \gset
SELECT hitl.confirm_label('sm', jsonb_build_object('id', :confirm_id)) \gset
UPDATE cust SET label = CASE label WHEN 'n' THEN 'p' ELSE 'n' END WHERE id = :correct_id;
CREATE TEMP TABLE s2 AS SELECT * FROM hitl.slice_metrics('sm', 'region');

SELECT is((SELECT count(*) FROM s2 s
		   WHERE format('%s/%s', s.auto_labeled, s.auto_label_audited) IS DISTINCT FROM
				 (SELECT format('%s/%s', count(*), count(*) FILTER (WHERE a.audited))
				  FROM hitl.auto_labels a JOIN cust c ON a.row_key = jsonb_build_object('id', c.id)
				  WHERE a.model = 'sm' AND c.region IS NOT DISTINCT FROM s.group_value)), 0::bigint,
		  'auto_labeled and auto_label_audited: the group''s rows of hitl.auto_labels');
SELECT is((SELECT sum(auto_labeled) FROM s2), :n_auto - 1::numeric,
		  'every machine label counts in one group (the corrected one is a human label now)');
SELECT is((SELECT array_agg(format('%s %s', coalesce(group_value, '-'), coalesce(auto_label_precision::text, 'none'))
						    ORDER BY group_value NULLS LAST) FROM s2),
		  ARRAY['a 0.5', 'b none', 'c none', '- none'],
		  'auto_label_precision: one confirmed and one corrected in group a, no audit elsewhere');
SELECT is((SELECT sum(confirmed)::float8 / sum(confirmed + corrected) FROM hitl.auto_label_stats WHERE model = 'sm'),
		  0.5::float8, 'as hitl.auto_label_stats counts them');
SELECT is(slice_counts_off('s2'), 0::bigint,
		  'labeled counts machine labels too');
SELECT is((SELECT count(*) FROM s2 s
		   WHERE s.agreement IS DISTINCT FROM
				 (SELECT avg((c.label_prediction = c.label)::int::float8) FROM cust c
				  WHERE c.region IS NOT DISTINCT FROM s.group_value AND c.label IS NOT NULL
					AND NOT EXISTS (SELECT 1 FROM hitl.auto_labels a
									WHERE a.model = 'sm' AND a.row_key = jsonb_build_object('id', c.id)))),
		  0::bigint, 'agreement is over human labels only (the corrected row among them)');
SELECT is((SELECT array_agg(s2.accuracy ORDER BY s2.group_value NULLS LAST) FROM s2),
		  (SELECT array_agg(s1.accuracy ORDER BY s1.group_value NULLS LAST) FROM s1),
		  'the out-of-fold figures stay those of the last full training');

-- ----------------------------------------------------------------------
-- Errors
-- ----------------------------------------------------------------------

SELECT is(slice_error($$SELECT * FROM hitl.slice_metrics('nosuch', 'region')$$),
		  '42704 model "nosuch" does not exist (hint)', 'an unknown model: 42704');
SELECT is(slice_error($$SELECT * FROM hitl.slice_metrics(NULL, 'region')$$),
		  '22004 model and group_column of slice_metrics must not be NULL (hint)', 'a NULL model: 22004');
SELECT is(slice_error($$SELECT * FROM hitl.slice_metrics('sm', NULL)$$),
		  '22004 model and group_column of slice_metrics must not be NULL (hint)', 'a NULL column: 22004');
SELECT is(slice_error($$SELECT * FROM hitl.slice_metrics('sm', 'nosuch')$$),
		  '42703 column "nosuch" of table public.cust does not exist (hint)', 'an unknown column: 42703');
SELECT is(slice_error($$SELECT * FROM hitl.slice_metrics('sm', 'ctid')$$),
		  '42703 column "ctid" of table public.cust does not exist (hint)', 'a system column: 42703');
SELECT is((SELECT array_agg(slice_error(format('SELECT * FROM hitl.slice_metrics(%L, %L)', 'sm', u.col))
						    ORDER BY u.o)
		   FROM unnest(ARRAY['tags', 'ints', 'doc', 'js', 'pair']) WITH ORDINALITY u(col, o)),
		  ARRAY['42804 column "tags" has type text[], which slice_metrics cannot group by (hint)',
				'42804 column "ints" has type public.slice_ints, which slice_metrics cannot group by (hint)',
				'42804 column "doc" has type jsonb, which slice_metrics cannot group by (hint)',
				'42804 column "js" has type json, which slice_metrics cannot group by (hint)',
				'42804 column "pair" has type public.slice_pair, which slice_metrics cannot group by (hint)'],
		  'an array (also under a domain), jsonb, json, a composite type: 42804');

-- a model never trained, and one trained without cross-validation
CREATE TABLE few (id int PRIMARY KEY, x float8, region text, label text);
INSERT INTO few SELECT g, g, 'a', NULL FROM generate_series(1, 40) g;
CREATE TABLE nocv (id int PRIMARY KEY, x float8, region text, label text);
INSERT INTO nocv SELECT g, g, 'a', CASE WHEN g > 20 THEN 'hi' ELSE 'lo' END FROM generate_series(1, 40) g;
SELECT hitl.create_model('sm_few', 'few', 'label', '{x}') \gset
SELECT hitl.create_model('sm_nocv', 'nocv', 'label', '{x}', options => '{"cv_folds": 0}') \gset
SELECT is(slice_error($$SELECT * FROM hitl.slice_metrics('sm_few', 'region')$$),
		  '55000 model "sm_few" has not been trained (hint)', 'a model never trained: 55000');
SELECT is(slice_error($$SELECT * FROM hitl.slice_metrics('sm_nocv', 'region')$$),
		  '55000 model "sm_nocv" has no out-of-fold predictions (hint)', 'a model trained with cv_folds 0: 55000');

-- ----------------------------------------------------------------------
-- Privileges and row-level security
-- ----------------------------------------------------------------------

CREATE ROLE tap_slice_none;
CREATE ROLE tap_slice_reader;
CREATE ROLE tap_slice_owner;
GRANT SELECT ON cust TO tap_slice_reader;
SET ROLE tap_slice_none;
SELECT is(slice_error($$SELECT * FROM hitl.slice_metrics('sm', 'region')$$),
		  '42501 permission denied for model "sm" (hint)', 'a role without SELECT on the table: 42501');
RESET ROLE;

-- the reader sees the rows with id % 4 in (0, 1) (both classes, every group)
ALTER TABLE cust ENABLE ROW LEVEL SECURITY;
CREATE POLICY half ON cust FOR SELECT TO tap_slice_reader USING (id % 4 < 2);
SET ROLE tap_slice_reader;
CREATE TEMP TABLE s3 AS SELECT * FROM hitl.slice_metrics('sm', 'region');
RESET ROLE;
SELECT is(slice_counts_off('s3', 'c.id % 4 < 2'), 0::bigint,
		  'row-level security: the reader''s counts are those of the rows it sees');
SELECT is((SELECT sum(labeled + unlabeled) FROM s3), 300::numeric, 'half of the 600 rows');
SELECT is((SELECT count(*) FROM s3 s
		   WHERE s.accuracy IS DISTINCT FROM
				 (SELECT avg((o.predicted = o.label)::int::float8) FROM oof o
				  WHERE o.region IS NOT DISTINCT FROM s.group_value AND o.id % 4 < 2)
			  OR s.auto_labeled IS DISTINCT FROM
				 (SELECT count(*) FROM hitl.auto_labels a JOIN cust c ON a.row_key = jsonb_build_object('id', c.id)
				  WHERE a.model = 'sm' AND c.region IS NOT DISTINCT FROM s.group_value AND c.id % 4 < 2)),
		  0::bigint, 'and its out-of-fold accuracy and machine labels are those of its rows');
ALTER TABLE cust DISABLE ROW LEVEL SECURITY;

-- a role that sees the model as its owner, without SELECT on the table
SELECT hitl.alter_model('sm', owner => 'tap_slice_owner') \gset
SET ROLE tap_slice_owner;
SELECT is(slice_error($$SELECT * FROM hitl.slice_metrics('sm', 'region')$$),
		  '42501 permission denied for table public.cust (hint)',
		  'its own model on a table it may not read: 42501, no figure of the table');
RESET ROLE;
SELECT hitl.alter_model('sm', owner => current_user) \gset

-- ----------------------------------------------------------------------
-- A dropped group column
-- ----------------------------------------------------------------------

SELECT is((SELECT array_agg(group_value ORDER BY group_value) FROM hitl.slice_metrics('sm', 'tier')),
		  ARRAY['basic', 'gold'], 'groups of another column');
CREATE TEMP TABLE s4 AS SELECT * FROM hitl.slice_metrics('sm', 'region');
-- the model's views read every column: they go too
ALTER TABLE cust DROP COLUMN tier CASCADE;
SELECT is((SELECT status FROM hitl.models WHERE name = 'sm'), 'scored',
		  'dropping a column the model does not read leaves the model as it was');
SELECT is(slice_error($$SELECT * FROM hitl.slice_metrics('sm', 'tier')$$),
		  '42703 column "tier" of table public.cust does not exist (hint)', 'a dropped group column: 42703');
SELECT is((SELECT count(*) FROM (SELECT * FROM hitl.slice_metrics('sm', 'region')
								 EXCEPT SELECT * FROM s4) d), 0::bigint,
		  'another column still gives the same rows');
SELECT is((SELECT count(*) FROM hitl.slice_metrics('sm', 'region')), 4::bigint, 'all four of them');

-- a type's owner may make a cast of its own to text: grouping by a column
-- of that type (or comparing labels of it) must never run it as the caller
CREATE ROLE tap_slice_caster;
CREATE TYPE slice_tier AS ENUM ('gold', 'silver');
ALTER TYPE slice_tier OWNER TO tap_slice_caster;
CREATE FUNCTION slice_tier_text(slice_tier) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'the cast of slice_tier ran as %', current_user;
END
$$;
ALTER FUNCTION slice_tier_text(slice_tier) OWNER TO tap_slice_caster;
CREATE CAST (slice_tier AS text) WITH FUNCTION slice_tier_text(slice_tier);
ALTER TABLE cust ADD COLUMN tier2 slice_tier;
UPDATE cust SET tier2 = CASE WHEN id % 2 = 0 THEN 'gold' ELSE 'silver' END::slice_tier;
SELECT is(slice_error($$SELECT * FROM hitl.slice_metrics('sm', 'tier2')$$), 'no error',
		  'a column whose type has a cast to text of its owner''s is grouped without the cast');
SELECT is((SELECT string_agg(group_value, ',' ORDER BY group_value)
		   FROM hitl.slice_metrics('sm', 'tier2')), 'gold,silver',
		  'its groups are named by the type''s output function');

SELECT * FROM finish();

SELECT hitl.drop_model(name) FROM hitl.models;
ALTER TABLE cust DROP COLUMN tier2;
DROP TABLE cust, few, nocv CASCADE;
DROP TYPE slice_pair;
DROP DOMAIN slice_ints;
DROP OWNED BY tap_slice_none, tap_slice_reader, tap_slice_owner;
DROP ROLE tap_slice_none;
DROP ROLE tap_slice_reader;
DROP ROLE tap_slice_owner;
DROP CAST (slice_tier AS text);
DROP FUNCTION slice_tier_text(slice_tier);
DROP TYPE slice_tier;
DROP ROLE tap_slice_caster;
