-- Labels used, and the accuracy (%) of both models on the held-out rows.
SELECT (SELECT count(category) FROM fortunes) AS labels,
       (SELECT round(100 * avg((f.category_prediction = t.category)::integer), 1)
        FROM fortunes f JOIN fortunes_truth t USING (id)
        WHERE id % 4 = 0) AS active_learning,
       (SELECT round(100 * avg((f.category_prediction = t.category)::integer), 1)
        FROM fortunes_random f JOIN fortunes_truth t USING (id)
        WHERE id % 4 = 0) AS random_picking;
