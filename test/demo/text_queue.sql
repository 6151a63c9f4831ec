-- What a person would label next: the top of the review queue, with the
-- start of each text.
SELECT id, category_prediction AS predicted,
       round(category_confidence::numeric, 3) AS confidence,
       round(category_uncertainty::numeric, 3) AS uncertainty, rank,
       left(regexp_replace(body, '\s+', ' ', 'g'), 60) AS text
FROM fortunes_al_review_queue
WHERE id % 4 <> 0
ORDER BY rank
LIMIT 8;
