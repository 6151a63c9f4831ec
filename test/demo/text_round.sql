-- One round of the text demo, in plain SQL (psql variable :round = 1, 2, ...).
-- The "human" reads the answers from fortunes_truth and labels rows one by
-- one, each UPDATE its own transaction.  Nobody calls hitl.train: the
-- background worker sees the label commits, retrains (naive Bayes applies
-- just the new labels to its counts) and rescores; hitl.wait returns once
-- the queue reflects every label committed before it.

-- Active learning: take the 10 rows at the top of the review queue
-- (skipping the held-out rows, id % 4 = 0, which are never labeled) ...
SELECT current_version AS before FROM hitl.models WHERE name = 'fortunes_al' \gset
CREATE TEMP TABLE batch AS
	SELECT id FROM fortunes_al_review_queue WHERE id % 4 <> 0 ORDER BY rank LIMIT 10;
-- ... and label them, one UPDATE (and one commit) each.
SELECT format('UPDATE fortunes SET category = %L WHERE id = %s', t.category, b.id)
FROM batch b JOIN fortunes_truth t USING (id) ORDER BY b.id \gexec
DROP TABLE batch;
SELECT clock_timestamp() AS labeled_at \gset
SELECT hitl.wait('fortunes_al') AS after \gset
SELECT round(1000 * extract(epoch FROM clock_timestamp() - :'labeled_at'::timestamptz)) AS fresh_ms \gset

-- Random picking: label 10 unlabeled rows in a fixed pseudo-random order.
SELECT format('UPDATE fortunes_random SET category = %L WHERE id = %s', t.category, r.id)
FROM (SELECT id FROM fortunes_random
	  WHERE category IS NULL AND id % 4 <> 0
	  ORDER BY md5(id || '/' || :'round') LIMIT 10) AS r
JOIN fortunes_truth t USING (id) \gexec
SELECT hitl.wait('fortunes_random') AS random_version \gset

-- What the worker did for the active-learning model during the round: the
-- versions it trained, whether every one was an incremental update, the
-- label changes they applied, their training time (ms), and how long after
-- the last label the queue was fresh (ms).
SELECT count(*) AS versions, bool_and((metrics->>'incremental')::boolean) AS incremental,
	sum((metrics->>'changes')::int) AS changes, round(sum(train_ms)::numeric, 1) AS train_ms,
	:fresh_ms AS fresh_ms
FROM hitl.model_versions
WHERE model = 'fortunes_al' AND version > :before AND version <= :after;
