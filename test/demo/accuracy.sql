-- Labels used, and the accuracy (%) of both models on the held-out rows.
SELECT (SELECT count(digit) FROM digits) AS labels,
       (SELECT round(100 * avg((d.digit_prediction = t.digit)::integer), 1)
        FROM digits d JOIN digits_truth t USING (id)
        WHERE id % 4 = 0) AS active_learning,
       (SELECT round(100 * avg((d.digit_prediction = t.digit)::integer), 1)
        FROM digits_random d JOIN digits_truth t USING (id)
        WHERE id % 4 = 0) AS random_picking;
