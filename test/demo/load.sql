-- Set up the demo from the CSV just copied into digits_csv (id = line number).
--
-- digits         the table people label: 64 pixels (8x8 image, 0..16) and the
--                label column digit, NULL while unlabeled
-- digits_truth   the answers, read only by the "human" who labels rows
-- digits_random  a copy of digits for the comparison: same seeds, but each
--                round labels random rows instead of the review queue's top
--
-- Every 4th row (id % 4 = 0) is held out: never labeled, used to measure
-- accuracy.  The other rows are the pool labels come from.

SELECT string_agg(format('p%s', i), ', ' ORDER BY i) AS pixels
FROM generate_series(0, 63) AS i \gset

CREATE TABLE digits AS
	SELECT id, :pixels, NULL::integer AS digit FROM digits_csv ORDER BY id;
ALTER TABLE digits ADD PRIMARY KEY (id);

CREATE TABLE digits_truth AS
	SELECT id, digit FROM digits_csv ORDER BY id;
ALTER TABLE digits_truth ADD PRIMARY KEY (id);

CREATE TABLE digits_random (LIKE digits INCLUDING ALL);
INSERT INTO digits_random SELECT * FROM digits ORDER BY id;

DROP TABLE digits_csv;

-- Seed labels: the 2 lowest ids of each digit in the pool.
CREATE TEMP VIEW seeds AS
	SELECT id, digit FROM (
		SELECT id, digit, row_number() OVER (PARTITION BY digit ORDER BY id) AS n
		FROM digits_truth WHERE id % 4 <> 0) AS s
	WHERE n <= 2;
UPDATE digits d SET digit = s.digit FROM seeds s WHERE s.id = d.id;
UPDATE digits_random d SET digit = s.digit FROM seeds s WHERE s.id = d.id;

-- One model per table; both train and score at once on their 20 seeds.
SELECT hitl.create_model('digits_al', 'digits', 'digit',
	string_to_array(:'pixels', ', ')::name[],
	strategy => 'margin',
	options => '{"min_labels": 20, "cv_folds": 0}') AS version \gset
SELECT hitl.create_model('digits_random', 'digits_random', 'digit',
	string_to_array(:'pixels', ', ')::name[],
	strategy => 'margin',
	options => '{"min_labels": 20, "cv_folds": 0}') AS version \gset
