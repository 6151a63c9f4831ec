-- test/bench/annotators_step.sql: one step of an annotator, the pgbench
-- script of test/bench/annotators.sh.  Variables (-D): queue (1: the rows
-- come from hitl.next_rows; 0: by key range), model, batch (rows asked
-- for), k (answers per row), r (the role's number, 0 to 3), rows (the
-- table's), i (-1: the step counter, kept by the client from one step to
-- the next), ids (0: no row has id 0).
--
-- queue: hitl.next_rows(model, batch) in a transaction of its own, as the
-- README asks, reserves a batch for the role (current_user).
-- plain: block j holds the ids 10 j + 1 to 10 j + 10 and is answered by
-- the k roles j, j - 1, ..., j - k + 1 (modulo 4): role r's i-th block is
-- 4 (i / k) + (r - i % k) mod 4, so that every row gets k answers from k
-- different roles, none more.
--
-- Then one UPDATE, the same statement in both, answers the rows (the seed
-- rows, id % 100 = 0, left alone) with their hidden truth, 10% of them
-- wrong (deterministic per row and role: the next class), and notes them
-- in bench_annotators_done.  A step with no row (the queue empty, or the
-- role past the table's end) notes it in bench_annotators_idle and waits
-- 100 ms, as a person would.
\if :queue
SELECT count(*) AS n, coalesce(string_agg(r.row_key ->> 'id', ','), '') AS ids
FROM hitl.next_rows(:model, :batch) r \gset
\set lo 0
\set hi -1
\else
\set i :i + 1
\set j 4 * (:i / :k) + (:r - :i % :k + 4) % 4
\set lo 10 * :j + 1
\set hi :lo + 9
\if :lo <= :rows
\set n 10
\else
\set n 0
\endif
\endif
\if :n > 0
WITH u AS (
	UPDATE bench_annotators t
	SET label = CASE WHEN abs(hashtext(t.id::text || '/' || current_user)) % 10 = 0
					 THEN chr(97 + (ascii(tr.label) - 96) % 4) ELSE tr.label END
	FROM bench_annotators_truth tr
	WHERE (t.id = ANY (string_to_array(:ids, ',')::bigint[]) OR t.id BETWEEN :lo AND :hi)
	  AND t.id % 100 <> 0 AND tr.id = t.id
	RETURNING t.id)
INSERT INTO bench_annotators_done (role, id) SELECT current_user, u.id FROM u;
\else
INSERT INTO bench_annotators_idle (role) VALUES (current_user);
\sleep 100 ms
\endif
