-- Set up the text demo from the CSV just copied into fortunes_csv
-- (id, category, text): the fortunes of 10 of its 43 categories, those about
-- a subject (the others are catch-alls such as "people", "cookie" or
-- "miscellaneous").
--
-- fortunes          the table people label: the text in body, the label
--                   column category, NULL while unlabeled
-- fortunes_truth    the answers, read only by the "human" who labels rows
-- fortunes_random   a copy of fortunes for the comparison: same seeds, but
--                   each round labels random rows instead of the review
--                   queue's top
--
-- Every 4th row (id % 4 = 0) is held out: never labeled, used to measure
-- accuracy.  The other rows are the pool labels come from.

CREATE TEMP VIEW kept AS
	SELECT id, category, text FROM fortunes_csv
	WHERE category IN ('computers', 'food', 'linux', 'men-women', 'politics',
					   'science', 'songs-poems', 'sports', 'startrek', 'zippy');

CREATE TABLE fortunes AS
	SELECT id, text AS body, NULL::text AS category FROM kept ORDER BY id;
ALTER TABLE fortunes ADD PRIMARY KEY (id);

CREATE TABLE fortunes_truth AS
	SELECT id, category FROM kept ORDER BY id;
ALTER TABLE fortunes_truth ADD PRIMARY KEY (id);

CREATE TABLE fortunes_random (LIKE fortunes INCLUDING ALL);
INSERT INTO fortunes_random SELECT * FROM fortunes ORDER BY id;

DROP VIEW kept;
DROP TABLE fortunes_csv;

-- Seed labels: the 2 lowest ids of each category in the pool.
CREATE TEMP VIEW seeds AS
	SELECT id, category FROM (
		SELECT id, category, row_number() OVER (PARTITION BY category ORDER BY id) AS n
		FROM fortunes_truth WHERE id % 4 <> 0) AS s
	WHERE n <= 2;
UPDATE fortunes f SET category = s.category FROM seeds s WHERE s.id = f.id;
UPDATE fortunes_random f SET category = s.category FROM seeds s WHERE s.id = f.id;

-- One naive Bayes model per table, on the text alone: English stemming and
-- stop words (text_config), light smoothing (alpha).  Both train and score at
-- once on their 20 seeds; from then on the background worker retrains them.
SELECT hitl.create_model('fortunes_al', 'fortunes', 'category', ARRAY['body'],
	algorithm => 'naive_bayes', strategy => 'margin',
	options => '{"text_config": "english", "alpha": 0.1, "min_labels": 20, "cv_folds": 0}')
	AS version \gset
SELECT hitl.create_model('fortunes_random', 'fortunes_random', 'category', ARRAY['body'],
	algorithm => 'naive_bayes', strategy => 'margin',
	options => '{"text_config": "english", "alpha": 0.1, "min_labels": 20, "cv_folds": 0}')
	AS version \gset
