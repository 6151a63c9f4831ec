-- What a person would label next: the top of the review queue.
SELECT id, digit_prediction, round(digit_confidence::numeric, 3),
       round(digit_uncertainty::numeric, 3), rank
FROM digits_al_review_queue
WHERE id % 4 <> 0
ORDER BY rank
LIMIT 10;
