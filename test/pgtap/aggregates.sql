-- Training statistics as aggregates: hitl._nb_stats and hitl._logreg_grad.
-- Their values on small tables against sums and gradients worked out by
-- hand; a state split in two and combined (hitl._agg_combine) equals the
-- state of all rows; the errors, with their SQLSTATEs; a parallel plan
-- (Partial Aggregate under Gather, Finalize Aggregate above it) gives what
-- the serial plan gives: the same naive Bayes sums of integer values, the
-- same gradient to 1e-12 relative; privileges and comments.

BEGIN;
SELECT plan(45);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

-- The largest difference between two arrays relative to b's largest magnitude
CREATE FUNCTION pg_temp.rel_diff(a float8[], b float8[]) RETURNS float8 LANGUAGE sql AS $$
	SELECT CASE WHEN array_length(a, 1) IS DISTINCT FROM array_length(b, 1) THEN 'Infinity'::float8
		   ELSE (SELECT max(abs(x - y)) / greatest(max(abs(y)), 1e-300)
				 FROM unnest(a, b) AS u(x, y)) END
$$;

-- Every plan line of a query, as one text
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	line text;
	out text := '';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		out := out || line || E'\n';
	END LOOP;
	RETURN out;
END
$$;

-- The states without their final functions, to split and combine by hand
CREATE AGGREGATE pg_temp.nb_state(integer, float8[], integer)
	(SFUNC = hitl._nb_stats_step, STYPE = float8[]);
CREATE AGGREGATE pg_temp.lr_state(integer, float8[], float8[], integer)
	(SFUNC = hitl._logreg_grad_step, STYPE = float8[]);

-- ----------------------------------------------------------------------
-- Naive Bayes: per class, rows and sums
-- ----------------------------------------------------------------------

CREATE TEMP TABLE nb (id int, c int, x float8[]);
INSERT INTO nb VALUES (1, 0, '{1,2,0}'), (2, 2, '{3,0,4}'), (3, 0, '{5,6,1}'),
	(4, NULL, '{100,100,100}'), (5, 2, '{0.5,0,0}'), (6, 0, '{0,0,0}');

SELECT is((SELECT hitl._nb_stats(c, x, 3) FROM nb),
		  '{{3,6,8,1},{0,0,0,0},{2,3.5,0,4}}'::float8[],
		  '_nb_stats: rows and feature sums per class; an empty class is zeros; a NULL class is skipped');
SELECT is((SELECT hitl._nb_stats(c, x, 2) FROM nb WHERE c = 0),
		  '{{3,6,8,1},{0,0,0,0}}'::float8[], '_nb_stats: k = 2');
SELECT is((SELECT hitl._nb_stats(c, x, 3) FROM nb WHERE c IS NULL), NULL,
		  '_nb_stats: NULL when no row is labeled');
SELECT is((SELECT hitl._nb_stats(c, x, 3) FROM nb WHERE false), NULL,
		  '_nb_stats: NULL over no rows');
SELECT is((SELECT hitl._nb_stats(c, '{}'::float8[], 2) FROM nb WHERE c = 0),
		  '{{3},{0}}'::float8[], '_nb_stats: rows only without features');
SELECT is((SELECT hitl._nb_stats_final(hitl._agg_combine(
			(SELECT pg_temp.nb_state(c, x, 3) FROM nb WHERE id <= 3),
			(SELECT pg_temp.nb_state(c, x, 3) FROM nb WHERE id > 3)))),
		  (SELECT hitl._nb_stats(c, x, 3) FROM nb),
		  '_agg_combine: two parts of the rows combined give the sums of all');
SELECT is((SELECT pg_temp.nb_state(c, x, 3) FROM nb WHERE id <= 2),
		  '{1,3,3, 1,0,1, 1,2,0, 0,0,0, 3,0,4}'::float8[],
		  '_nb_stats_step: the state is [kind 1, k, d, rows per class, sums per class]');

-- errors
SELECT throws_ok($$SELECT hitl._nb_stats(c, x, 3) FROM (VALUES (0, '{1,2}'::float8[]), (1, '{1}')) v(c, x)$$,
				 '2202E', 'hitl._nb_stats was given a row of 1 features after rows of 2',
				 '_nb_stats: a row of another width');
SELECT throws_ok($$SELECT hitl._nb_stats(0, '{1,-2}', 3)$$, '22023',
				 'element 2 of the features is negative', '_nb_stats: a negative value');
SELECT throws_ok($$SELECT hitl._nb_stats(0, '{1,NaN}', 3)$$, '22000',
				 'element 2 of the features is NaN or infinite', '_nb_stats: NaN');
SELECT throws_ok($$SELECT hitl._nb_stats(0, '{Infinity}', 3)$$, '22000',
				 'element 1 of the features is NaN or infinite', '_nb_stats: infinity');
SELECT throws_ok($$SELECT hitl._nb_stats(3, '{1}', 3)$$, '22023',
				 'class 3 is out of range for 3 classes', '_nb_stats: a class above the range');
SELECT throws_ok($$SELECT hitl._nb_stats(-1, '{1}', 3)$$, '22023',
				 'class -1 is out of range for 3 classes', '_nb_stats: a negative class');
SELECT throws_ok($$SELECT hitl._nb_stats(0, '{1}', 1)$$, '22023',
				 'the number of classes must be between 2 and 100000, not 1', '_nb_stats: one class');
SELECT throws_ok($$SELECT hitl._nb_stats(0, '{1}', NULL)$$, '22004',
				 'the number of classes must not be NULL', '_nb_stats: k NULL');
SELECT throws_ok($$SELECT hitl._nb_stats(c, '{1}', k) FROM (VALUES (0, 2), (1, 3)) v(c, k)$$, '22023',
				 'hitl._nb_stats was given 3 classes after 2', '_nb_stats: k changes');
SELECT throws_ok($$SELECT hitl._nb_stats(0, NULL, 2)$$, '22004',
				 'the features must not be NULL', '_nb_stats: features NULL');
SELECT throws_ok($$SELECT hitl._nb_stats(0, '{1,NULL}', 2)$$, '22004',
				 'the features must not contain NULL', '_nb_stats: a NULL feature');
SELECT throws_ok($$SELECT hitl._nb_stats(0, '{{1,2},{3,4}}', 2)$$, '2202E',
				 'the features must be a one-dimensional array', '_nb_stats: a matrix of features');
SELECT throws_ok($$SELECT hitl._nb_stats(0, '{1e308}', 2) FROM generate_series(1, 2)$$, '22000',
				 'the sums of hitl._nb_stats go beyond the range of double precision',
				 '_nb_stats: sums beyond double precision');
SELECT throws_ok($$SELECT hitl._nb_stats_final('{1,2,3}')$$, '22023',
				 'the array is not a state of hitl._nb_stats', '_nb_stats_final: not a state');
SELECT throws_ok($$SELECT hitl._nb_stats_final('{2,2,1,0,0,0,0,0}')$$, '22023',
				 'the array is not a state of hitl._nb_stats', '_nb_stats_final: a state of the other kind');
SELECT throws_ok($$SELECT hitl._agg_combine('{1,2,1,0,0,0,0}', '{1,3,1,0,0,0,0,0,0}')$$, '22023',
				 'the states to combine differ in kind, classes or features', '_agg_combine: states that differ');
SELECT is(hitl._agg_combine('{1,2,1,1,2,3,4}', '{1,2,1,1,2,3,4}'), '{1,2,1,2,4,6,8}'::float8[],
		  '_agg_combine called directly adds the sums, not the header');

-- ----------------------------------------------------------------------
-- Logistic regression: loss and gradient at given coefficients
-- ----------------------------------------------------------------------

-- At zero every probability is 1/2: loss 2 ln 2; residuals +1/2 (class 0), -1/2 (class 1)
SELECT is((SELECT hitl._logreg_grad(c, x, '{0,0,0}', 2)
		   FROM (VALUES (0, '{1,2}'::float8[]), (1, '{3,4}'), (NULL, '{9,9}')) v(c, x)),
		  ARRAY[2, 2 * ln(2), -1, -1, 0]::float8[],
		  '_logreg_grad: binary at zero coefficients, NULL class skipped');
-- sigmoid(ln 3) = 3/4: a row of class 1 has loss ln(4/3) and residual -1/4
SELECT cmp_ok((SELECT pg_temp.rel_diff(hitl._logreg_grad(1, '{1}', ARRAY[ln(3), 0], 2),
									   ARRAY[1, ln(4.0 / 3), -0.25, -0.25]::float8[])),
			  '<=', 1e-15::float8, '_logreg_grad: binary at sigmoid 3/4');
-- Three classes at zero: p = 1/3, loss 4 ln 3, residuals 1/3 - [class = a]
SELECT cmp_ok((SELECT pg_temp.rel_diff(hitl._logreg_grad(c, x, '{0,0,0,0,0,0}', 3),
									   ARRAY[4, 4 * ln(3), -5 / 3.0, -2 / 3.0, 4 / 3.0, 1 / 3.0,
											 1 / 3.0, 1 / 3.0]::float8[])
			   FROM (VALUES (0, '{1}'::float8[]), (1, '{2}'), (2, '{3}'), (0, '{4}')) v(c, x)),
			  '<=', 1e-15::float8, '_logreg_grad: multinomial at zero');
-- Three classes, scores (ln 2, 0, 0) for x = 1: p = (1/2, 1/4, 1/4), class 1
SELECT cmp_ok((SELECT pg_temp.rel_diff(hitl._logreg_grad(1, '{1}', ARRAY[ln(2), 0, 0, 0, 0, 0], 3),
									   ARRAY[1, ln(4), 0.5, 0.5, -0.75, -0.75, 0.25, 0.25]::float8[])),
			  '<=', 1e-15::float8, '_logreg_grad: multinomial with scores (ln 2, 0, 0)');
SELECT cmp_ok((SELECT pg_temp.rel_diff(hitl._logreg_grad_final(hitl._agg_combine(
			(SELECT pg_temp.lr_state(c, x, '{0.5,-1,0.25,0, 0,0,1,-1, 0.1,0.2,0.3,0.4}', 3) FROM nb WHERE id <= 3),
			(SELECT pg_temp.lr_state(c, x, '{0.5,-1,0.25,0, 0,0,1,-1, 0.1,0.2,0.3,0.4}', 3) FROM nb WHERE id > 3))),
			(SELECT hitl._logreg_grad(c, x, '{0.5,-1,0.25,0, 0,0,1,-1, 0.1,0.2,0.3,0.4}', 3) FROM nb))),
			  '<=', 1e-15::float8, '_agg_combine: two parts of the rows combined give the loss and gradient of all');

SELECT throws_ok($$SELECT hitl._logreg_grad(0, '{1,2}', '{0,0}', 2)$$, '2202E',
				 '2 coefficients do not fit 2 features and 2 classes', '_logreg_grad: too few coefficients');
SELECT throws_ok($$SELECT hitl._logreg_grad(0, '{1,2}', '{0,0,0}', 3)$$, '2202E',
				 '3 coefficients do not fit 2 features and 3 classes', '_logreg_grad: k > 2 needs k vectors');
SELECT throws_ok($$SELECT hitl._logreg_grad(0, '{1}', '{0,NaN}', 2)$$, '22000',
				 'element 2 of the coefficients is NaN or infinite', '_logreg_grad: a NaN coefficient');
SELECT throws_ok($$SELECT hitl._logreg_grad(0, '{1}', NULL, 2)$$, '22004',
				 'the coefficients must not be NULL', '_logreg_grad: coefficients NULL');
SELECT throws_ok($$SELECT hitl._logreg_grad(2, '{1}', '{0,0}', 2)$$, '22023',
				 'class 2 is out of range for 2 classes', '_logreg_grad: a class out of range');
SELECT throws_ok($$SELECT hitl._logreg_grad(0, '{-Infinity}', '{0,0}', 2)$$, '22000',
				 'element 1 of the features is NaN or infinite', '_logreg_grad: an infinite feature');
SELECT is((SELECT hitl._logreg_grad(0, '{-3}', '{0,0}', 2)), ARRAY[1, ln(2), -1.5, 0.5]::float8[],
		  '_logreg_grad: negative features are fine');
SELECT throws_ok($$SELECT hitl._logreg_grad_final('{1,2,1,0,0,0,0}')$$, '22023',
				 'the array is not a state of hitl._logreg_grad', '_logreg_grad_final: a naive Bayes state');

-- ----------------------------------------------------------------------
-- Parallel plans give what serial ones give
-- ----------------------------------------------------------------------

CREATE TABLE public.agg_rows (id int, c int, x float8[]);
INSERT INTO public.agg_rows
SELECT i, i % 3, ARRAY[(i * 7) % 11, (i * 13) % 17, i % 5, (i / 3) % 4]::float8[]
FROM generate_series(1, 60000) i;
ANALYZE public.agg_rows;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial AS
SELECT (SELECT hitl._nb_stats(c, x, 3) FROM public.agg_rows) AS nb,
	   (SELECT hitl._logreg_grad(c, x, '{0.1,-0.2,0.05,0.3,-1, 0,0.1,-0.1,0,0.5, 0.2,0,0,-0.3,0}', 3)
		FROM public.agg_rows) AS lr;
SELECT doesnt_match(pg_temp.plan_of('SELECT hitl._nb_stats(c, x, 3) FROM public.agg_rows'),
			  'Partial Aggregate', 'no parallel plan with max_parallel_workers_per_gather 0');

SET max_parallel_workers_per_gather = 2;
SELECT matches(pg_temp.plan_of('SELECT hitl._nb_stats(c, x, 3) FROM public.agg_rows'),
			   'Finalize Aggregate.*Gather.*Partial Aggregate.*Parallel Seq Scan',
			   '_nb_stats: a parallel plan (Partial Aggregate under Gather, then Finalize Aggregate)');
SELECT matches(pg_temp.plan_of($$SELECT hitl._logreg_grad(c, x, '{0,0,0,0,0, 0,0,0,0,0, 0,0,0,0,0}', 3) FROM public.agg_rows$$),
			   'Finalize Aggregate.*Gather.*Partial Aggregate.*Parallel Seq Scan',
			   '_logreg_grad: a parallel plan');
SELECT is((SELECT hitl._nb_stats(c, x, 3) FROM public.agg_rows), (SELECT nb FROM serial),
		  '_nb_stats: the parallel sums of integer values equal the serial ones exactly');
SELECT is((SELECT nb FROM serial),
		  (SELECT array_agg(s ORDER BY c) FROM
			(SELECT c, ARRAY[count(*), sum(x[1]), sum(x[2]), sum(x[3]), sum(x[4])]::float8[] AS s
			 FROM public.agg_rows GROUP BY c) g),
		  '_nb_stats: the rows and sums of count(*) and sum() per class');
SELECT cmp_ok((SELECT pg_temp.rel_diff(
				hitl._logreg_grad(c, x, '{0.1,-0.2,0.05,0.3,-1, 0,0.1,-0.1,0,0.5, 0.2,0,0,-0.3,0}', 3),
				(SELECT lr FROM serial))
			   FROM public.agg_rows),
			  '<=', 1e-12::float8, '_logreg_grad: the parallel gradient is the serial one to 1e-12 relative');
RESET ALL;

-- ----------------------------------------------------------------------
-- Catalog: parallel safe, combine functions, comments, PUBLIC
-- ----------------------------------------------------------------------

SELECT is((SELECT array_agg(a.aggfnoid::text ORDER BY a.aggfnoid::text) FROM pg_aggregate a
		   JOIN pg_proc p ON p.oid = a.aggfnoid
		   WHERE p.pronamespace = 'hitl'::regnamespace AND p.proparallel = 's'
			 AND a.aggcombinefn = 'hitl._agg_combine'::regproc AND a.aggtranstype = 'float8[]'::regtype),
		  '{hitl._logreg_grad,hitl._nb_eval,hitl._nb_stats,hitl._nb_sums}'::text[],
		  'every training aggregate is parallel safe, with a float8[] state and a combine function');
SELECT ok(has_function_privilege('public', 'hitl._nb_stats(integer, float8[], integer)', 'EXECUTE')
		  AND has_function_privilege('public', 'hitl._logreg_grad(integer, float8[], float8[], integer)', 'EXECUTE')
		  AND obj_description('hitl._nb_stats(integer, float8[], integer)'::regprocedure, 'pg_proc') IS NOT NULL
		  AND obj_description('hitl._logreg_grad(integer, float8[], float8[], integer)'::regprocedure, 'pg_proc') IS NOT NULL,
		  'PUBLIC may execute both; both carry a comment');

SELECT * FROM finish();
ROLLBACK;
