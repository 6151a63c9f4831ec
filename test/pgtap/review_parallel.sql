-- Parallel scoring (src/score_parallel.c) against a scoring by one process,
-- after a table with inheritance children (no model on it), the cases that
-- must end alike either way: keys of several types (text of 5 kB stored out of line, uuid,
-- numeric, two columns), an evaluation share, a queue larger than the
-- table, no unlabeled row, writes of the same transaction before the
-- scoring.  Parallelism is forced with min_parallel_table_scan_size = 0.
--
-- The file runs as one SERIALIZABLE transaction: parallel workers share its
-- snapshot and its predicate locks.

BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT plan(15);

CREATE EXTENSION hitl;

SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL hitl.max_parallel_scoring = 3;

-- rows whose stored scores are not those of the model's current version
CREATE FUNCTION pg_temp.wrong_rows(model text, tab text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	EXECUTE format($f$
		SELECT count(*) FILTER (WHERE t.lab_prediction IS DISTINCT FROM p.cls
								   OR NOT coalesce(abs(t.lab_confidence - (p.proba ->> p.cls)::float8) <= 1e-9, false))
		FROM %1$s t, LATERAL (SELECT hitl.predict(%2$L, t) AS cls, hitl.predict_proba(%2$L, t) AS proba) p
	$f$, tab, model) INTO n;
	RETURN n;
END $$;

-- the scores and the queue a scoring leaves, by key
CREATE FUNCTION pg_temp.outcome(model text, tab text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	r jsonb;
	q jsonb;
BEGIN
	EXECUTE format($f$
		SELECT jsonb_agg(jsonb_build_array(t.lab_prediction, t.lab_confidence, t.lab_uncertainty)
						 ORDER BY t::text) FROM %I t$f$, tab) INTO r;
	SELECT jsonb_agg(jsonb_build_array(q.rank, q.row_key, q.evaluation, q.confidence) ORDER BY q.rank)
	  INTO q FROM hitl.queue q WHERE q.model = outcome.model;
	RETURN jsonb_build_object('rows', r, 'queue', q);
END $$;

-- score the model in one process, then in parallel, every row written
-- again each time: the same scores and the same queue?
CREATE FUNCTION pg_temp.same_either_way(model text, tab text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	one jsonb;
	par jsonb;
BEGIN
	PERFORM set_config('hitl.max_parallel_scoring', '0', true);
	EXECUTE format('UPDATE %I SET lab_prediction = NULL', tab);
	PERFORM hitl.score(model);
	one := pg_temp.outcome(model, tab);
	PERFORM set_config('hitl.max_parallel_scoring', '3', true);
	EXECUTE format('UPDATE %I SET lab_prediction = NULL', tab);
	PERFORM hitl.score(model);
	par := pg_temp.outcome(model, tab);
	RETURN one = par AND jsonb_array_length(par->'queue') > 0;
END $$;

-- a table of n rows, keys from key_expr (over i), a fifth labeled, and its model
CREATE FUNCTION pg_temp.make(tab text, key_def text, key_expr text, n int, opts jsonb DEFAULT '{}')
RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('CREATE TABLE %I (%s, x float8, y float8, lab text)', tab, key_def);
	EXECUTE format($f$INSERT INTO %I
		SELECT %s, (i * 37 %% 101) / 10.0, (i * 53 %% 97) / 10.0,
			   CASE WHEN i %% 5 = 0 THEN CASE WHEN (i * 37 %% 101) < 50 THEN 'a' ELSE 'b' END END
		FROM generate_series(1, %s) i ORDER BY (i * 7919) %% %s$f$, tab, key_expr, n, n);
	RETURN hitl.create_model(tab, tab, 'lab', '{x,y}',
		options => '{"cv_folds": 0, "score_tolerance": 0, "queue_size": 40, "evaluation_rate": 0.25}'::jsonb || opts);
END $$;

-- ------------------------------------------------------------------------
-- a table with inheritance children: no model is built on it, and a
-- model whose table gains a child is neither trained nor scored (their
-- rows share positions with the parent's: a scoring used to start over
-- ten times and fail with 55006)
-- ------------------------------------------------------------------------

CREATE TABLE parent (k int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO parent SELECT i, (i * 37 % 101) / 10.0, (i * 53 % 97) / 10.0,
	CASE WHEN i % 2 = 0 THEN CASE WHEN (i * 37 % 101) < 50 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 400) i;
CREATE TABLE child () INHERITS (parent);
INSERT INTO child SELECT 1000 + i, (i * 37 % 101) / 10.0, (i * 53 % 97) / 10.0, NULL
FROM generate_series(1, 400) i;
SELECT throws_ok($$SELECT hitl.create_model('inh', 'parent', 'lab', '{x,y}')$$, '0A000',
				 'table public.parent has inheritance children', 'no model on a table with a child');
DROP TABLE child;
SELECT is(hitl.create_model('inh', 'parent', 'lab', '{x,y}', options => '{"cv_folds": 0}'), 1,
		  'a model once the child is gone');
CREATE TABLE child () INHERITS (parent);
INSERT INTO child (k, x, y) SELECT 1000 + i, i, i FROM generate_series(1, 400) i;
SELECT throws_ok($$SELECT hitl.score('inh')$$, '0A000',
				 'table parent of model "inh" has inheritance children', 'a child again: no scoring');
SELECT throws_ok($$SELECT hitl.train('inh')$$, '0A000', NULL, 'nor training');
ALTER TABLE child NO INHERIT parent;
SELECT cmp_ok(hitl.score('inh'), '>=', 0::bigint, 'detached, the model is scored again');
SELECT is(pg_temp.wrong_rows('inh', 'parent'), 0::bigint, 'every row with the scores of its version');

-- ------------------------------------------------------------------------
-- the same scores and queue as a scoring by one process
-- ------------------------------------------------------------------------

SELECT is(pg_temp.make('t_int', 'k int PRIMARY KEY', 'i', 20000), 1, 'a model on 20,000 rows');
SELECT ok(pg_temp.same_either_way('t_int', 't_int'), 'int keys');
-- text keys of 5 kB, stored out of line (about 2.4 kB compressed)
SELECT pg_temp.make('t_text', 'k text PRIMARY KEY',
	$$i || repeat('x', 3000) || (SELECT string_agg(md5((i * 1000 + j)::text), '') FROM generate_series(1, 68) j)$$,
	2500) AS made \gset
SELECT is((SELECT count(*) FROM t_text WHERE pg_column_size(k) BETWEEN 2100 AND 2704), 2500::bigint,
		  'every text key is compressed, too large to stay in the row');
SELECT pg_temp.make('t_uuid', 'k uuid PRIMARY KEY', 'md5(i::text)::uuid', 12000) AS made \gset
SELECT pg_temp.make('t_num', 'k numeric PRIMARY KEY', 'i * 1.0001', 12000) AS made \gset
SELECT pg_temp.make('t_pair', 'k text, k2 int, PRIMARY KEY (k, k2)', $$'r' || i % 7, i$$, 12000) AS made \gset
SELECT ok(bool_and(pg_temp.same_either_way(tab, tab)), 'keys of text (5 kB, toasted), uuid, numeric, two columns')
FROM unnest(ARRAY['t_text', 't_uuid', 't_num', 't_pair']) tab;

SELECT pg_temp.make('t_large_queue', 'k int PRIMARY KEY', 'i', 6000, '{"queue_size": 100000}') AS made \gset
SELECT ok(pg_temp.same_either_way('t_large_queue', 't_large_queue'), 'a queue larger than the table');
SELECT is((SELECT count(*) FROM hitl.queue WHERE model = 't_large_queue'), 4800::bigint,
		  'which holds every unlabeled row');

SELECT pg_temp.make('t_labeled', 'k int PRIMARY KEY', 'i', 6000) AS made \gset
UPDATE t_labeled SET lab = CASE WHEN x < 5 THEN 'a' ELSE 'b' END;
SELECT lives_ok($$SELECT hitl.score('t_labeled')$$, 'no unlabeled row');
SELECT is(pg_temp.wrong_rows('t_labeled', 't_labeled'), 0::bigint, 'every row scored');

-- writes of this transaction, some in a subtransaction, are seen by the workers
SAVEPOINT s;
UPDATE t_uuid SET x = -x WHERE k::text < '8';
SELECT ok(pg_temp.same_either_way('t_uuid', 't_uuid'), 'rows updated before, in a savepoint');
RELEASE SAVEPOINT s;

SELECT * FROM finish();
ROLLBACK;
