-- For reference: the same model trained on every row of the pool (all the
-- labels the demo could ever ask for), and its accuracy (%) on the held-out
-- rows.  create_model trains and scores it at once.
CREATE TABLE fortunes_all AS
	SELECT f.id, f.body, CASE WHEN f.id % 4 <> 0 THEN t.category END AS category
	FROM fortunes f JOIN fortunes_truth t USING (id) ORDER BY f.id;
ALTER TABLE fortunes_all ADD PRIMARY KEY (id);
SELECT hitl.create_model('fortunes_all', 'fortunes_all', 'category', ARRAY['body'],
	algorithm => 'naive_bayes',
	options => '{"text_config": "english", "alpha": 0.1, "cv_folds": 0}') AS version \gset
SELECT count(category) AS labels,
       (SELECT round(100 * avg((f.category_prediction = t.category)::integer), 1)
        FROM fortunes_all f JOIN fortunes_truth t USING (id)
        WHERE id % 4 = 0) AS accuracy
FROM fortunes_all;
