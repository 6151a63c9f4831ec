-- One round of the demo, in plain SQL (psql variable :round = 1, 2, ...).
-- The "human" reads the answers from digits_truth.

-- Active learning: label the 10 rows at the top of the review queue
-- (skipping the held-out rows, id % 4 = 0, which are never labeled).
UPDATE digits d SET digit = t.digit
FROM digits_truth t
WHERE t.id = d.id
  AND d.id IN (SELECT id FROM digits_al_review_queue
               WHERE id % 4 <> 0 ORDER BY rank LIMIT 10);
SELECT hitl.train('digits_al');   -- new model version, on all labeled rows
SELECT hitl.score('digits_al');   -- new predictions and review queue

-- Random picking: label 10 unlabeled rows in a fixed pseudo-random order.
UPDATE digits_random d SET digit = t.digit
FROM digits_truth t
WHERE t.id = d.id
  AND d.id IN (SELECT id FROM digits_random
               WHERE digit IS NULL AND id % 4 <> 0
               ORDER BY md5(id || '/' || :'round') LIMIT 10);
SELECT hitl.train('digits_random');
SELECT hitl.score('digits_random');
