-- test/bench/text_rows.sql: the synthetic texts of the text benchmarks
-- (text.sh, term_cache.sh, text_latency.sh), inserted as (id, truth, body)
-- into the table named by psql variable "table", :rows of them:
--
--     psql -v table=bench_text -v rows=1000000 < test/bench/text_rows.sql
--
-- Words are made-up syllables (bakori...), word i of a 5,000-word vocabulary.
-- A row of class c (8 classes, truth 'c0'..'c7') has 10-30 words; each is,
-- with probability 0.3, drawn from c's own order of the vocabulary (rank r
-- is word (977 c + 7919 r) mod 5000), else from the common order (rank r is
-- word r); ranks are Zipf-like: r = floor(5001^u) - 1, u uniform.  One
-- session, no parallelism, setseed: the same rows on every run.
SET max_parallel_workers_per_gather = 0;
SELECT setseed(0.31415);
WITH vocabulary AS (
	SELECT array_agg((substr('bcdfghjklmnprstvwz', i % 18 + 1, 1) || substr('aeiou', (i / 18) % 5 + 1, 1)
			|| substr('bcdfghjklmnprstvwz', (i / 90) % 18 + 1, 1) || substr('aeiou', (i / 1620) % 5 + 1, 1)
			|| CASE WHEN i % 3 = 0 THEN substr('nrst', i % 4 + 1, 1) ELSE '' END)::name ORDER BY i) AS words
	FROM generate_series(0, 4999) AS i)
INSERT INTO :"table" (id, truth, body)
SELECT r.g, 'c' || r.c,
	(SELECT string_agg(v.words[1 + CASE WHEN random() < 0.3
			THEN (0 * w + r.c * 977 + 7919 * (floor(exp(random() * ln(5001.0)))::int - 1)) % 5000
			ELSE 0 * w + floor(exp(random() * ln(5001.0)))::int - 1 END]::text, ' ')
	 FROM generate_series(1, r.n) AS w)
FROM vocabulary AS v,
	(SELECT g, floor(random() * 8)::int AS c, 10 + floor(random() * 21)::int AS n
	 FROM generate_series(1, :rows) AS g) AS r;
