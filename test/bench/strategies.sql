-- test/bench/strategies.sql: what the query strategies density and diverse
-- cost in a scoring, against margin, side by side in one run.
--
-- Two tables of 200,000 rows (0.5% labeled), each with four models that
-- differ only in strategy (margin, diverse, density, committee; cv_folds 0,
-- queue_size 1000 by default, evaluation_rate 0):
--   bench_emb   an embedding of 32 float8 (one of 40 topics, id / 7 % 40, with noise)
--   bench_docs  text: 6 words of a 2,000-word vocabulary
-- After create_model (trained and scored), each model is scored again
-- three times, the models in turn; nothing changed, so nothing is written:
-- the time is the scan, the ranking and the strategy's own work (diverse:
-- reading and ordering the 1,000 candidates; density: a second scan;
-- committee: reading the 1,000 labeled rows, fitting 5 members, and 5
-- predictions more per row).
--
-- Run against a cluster whose workers are off (hitl.enabled = off, or hitl
-- not preloaded), in a database with hitl:
--   psql -X -d DB -f test/bench/strategies.sql
-- It prints each scoring's milliseconds (server-side clock_timestamp) and
-- the median of each model, with its ratio to margin's.
--
-- Measured (200,000 rows, qc.sh cluster with hitl.enabled = off, a shared
-- machine; median of 3 no-op scorings, ms, and ratio to margin):
--   embedding  margin 461  diverse 460 (1.00)  density 809 (1.76)  committee 694 (1.51)
--   text       margin 372  diverse 373 (1.00)  density 549 (1.47)  committee 578 (1.55)
-- (an earlier run without committee: density 1.56 and 1.62, diverse 0.97
-- and 1.03).  Different topics among the first 10 of the embedding's
-- queue: margin 8, diverse 10, density 4, committee 5.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_emb, bench_docs, bench_times CASCADE;
SELECT hitl.drop_model(name) FROM hitl.models WHERE name LIKE 'bench\_%';
SELECT setseed(0.14);

CREATE TABLE bench_emb (id int PRIMARY KEY, v float8[], label text);
INSERT INTO bench_emb
SELECT g, array_agg(CASE WHEN i = g / 7 % 40 % 32 THEN 1 ELSE 0 END + (random() - 0.5) * 0.3
					ORDER BY i),
	   CASE WHEN g % 200 = 0 THEN (ARRAY['a', 'b', 'c'])[1 + g / 7 % 40 % 3] END
FROM generate_series(1, 200000) g, generate_series(0, 31) i
GROUP BY g;

CREATE TABLE bench_docs (id int PRIMARY KEY, body text, label text);
INSERT INTO bench_docs
SELECT g, string_agg('w' || ((g / 7 % 50) * 37 + floor(random() * 40)::int) % 2000, ' '),
	   CASE WHEN g % 200 = 0 THEN (ARRAY['a', 'b', 'c'])[1 + g / 7 % 50 % 3] END
FROM generate_series(1, 200000) g, generate_series(1, 6) i
GROUP BY g;

CREATE TABLE bench_times (model text, round int, ms float8);

SELECT hitl.create_model('bench_emb_' || s, 'bench_emb', 'label', '{v}',
						 s || '_p', s || '_c', s || '_u', strategy => s,
						 options => '{"cv_folds": 0, "evaluation_rate": 0}')
FROM unnest(ARRAY['margin', 'diverse', 'density', 'committee']) s;
SELECT hitl.create_model('bench_docs_' || s, 'bench_docs', 'label', '{body}',
						 s || '_p', s || '_c', s || '_u', strategy => s,
						 options => '{"cv_folds": 0, "evaluation_rate": 0}')
FROM unnest(ARRAY['margin', 'diverse', 'density', 'committee']) s;
-- trained and scored here: create_model leaves it to the worker when there is one
SELECT hitl.train(name), hitl.score(name) FROM hitl.models WHERE name LIKE 'bench\_%' ORDER BY name;
VACUUM ANALYZE bench_emb;
VACUUM ANALYZE bench_docs;

DO $$
DECLARE
	r int;
	m text;
	t0 timestamptz;
BEGIN
	FOR r IN 1 .. 3 LOOP
		FOREACH m IN ARRAY ARRAY['bench_emb_margin', 'bench_emb_diverse', 'bench_emb_density',
								 'bench_emb_committee', 'bench_docs_margin', 'bench_docs_diverse',
								 'bench_docs_density', 'bench_docs_committee'] LOOP
			t0 := clock_timestamp();
			PERFORM hitl.score(m);
			INSERT INTO bench_times VALUES (m, r, extract(epoch FROM clock_timestamp() - t0) * 1000);
		END LOOP;
	END LOOP;
END
$$;

SELECT model, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) AS median_ms,
	   round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) /
			  (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY b.ms) FROM bench_times b
			   WHERE b.model = regexp_replace(t.model, '_[a-z]+$', '_margin')))::numeric, 2)
		   AS vs_margin,
	   array_agg(round(ms::numeric, 1) ORDER BY round) AS rounds
FROM bench_times t GROUP BY model ORDER BY model;

-- the first 10 of each queue: how many different topics (embedding: id / 7 % 40)
SELECT 'bench_emb_' || s AS model,
	   (SELECT count(DISTINCT (q.row_key->>'id')::int / 7 % 40)
		FROM (SELECT row_key FROM hitl.queue WHERE model = 'bench_emb_' || s
			  ORDER BY rank LIMIT 10) q) AS topics_in_first_10
FROM unnest(ARRAY['margin', 'diverse', 'density', 'committee']) s;
