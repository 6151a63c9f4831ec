-- Evaluation rows: a share of the review queue (option evaluation_rate)
-- drawn at random from the unlabeled rows, spread among the ranks, the
-- same on a rescoring of the same version; their labels logged with
-- evaluation = true beside the prediction the row had; the accuracy on
-- them in each version's metrics (with its Wilson 95% interval) and in
-- hitl.models.evaluation_accuracy; the option's checks.

BEGIN;
SELECT plan(31);

CREATE EXTENSION hitl;

-- the hint of an option error
CREATE FUNCTION hint_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	h text;
BEGIN
	EXECUTE sql;
	RETURN NULL;
EXCEPTION WHEN invalid_parameter_value THEN
	GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
	RETURN h;
END
$$;

-- the Wilson 95% bounds of k right of n, from the formula
CREATE FUNCTION wilson(k int, n int, OUT low float8, OUT high float8) LANGUAGE sql AS $$
	SELECT (p + z * z / (2 * n) - z * sqrt(p * (1 - p) / n + z * z / (4.0 * n * n))) / (1 + z * z / n),
		   (p + z * z / (2 * n) + z * sqrt(p * (1 - p) / n + z * z / (4.0 * n * n))) / (1 + z * z / n)
	FROM (SELECT k::float8 / n AS p, 1.959963984540054::float8 AS z) c
$$;

-- 300 rows, 30 labeled; queue_size 40, evaluation_rate 0.1: 4 evaluation rows
CREATE TABLE pts (id int PRIMARY KEY, x float8, y float8, label text);
INSERT INTO pts
SELECT g, sin(g * 1.3) * 3, cos(g * 0.7) * 3,
	   CASE WHEN g <= 30 THEN CASE WHEN sin(g * 1.3) > 0 THEN 'p' ELSE 'n' END END
FROM generate_series(1, 300) g;
CREATE TABLE pts0 (LIKE pts);
ALTER TABLE pts0 ADD PRIMARY KEY (id);
INSERT INTO pts0 SELECT * FROM pts;
CREATE TABLE pts_default (LIKE pts);
ALTER TABLE pts_default ADD PRIMARY KEY (id);
INSERT INTO pts_default SELECT * FROM pts;
SELECT hitl.create_model('pts', 'pts', 'label', '{x,y}',
						 options => '{"queue_size": 40, "evaluation_rate": 0.1}') \gset
SELECT hitl.create_model('pts0', 'pts0', 'label', '{x,y}',
						 options => '{"queue_size": 40, "evaluation_rate": 0}') \gset

SELECT hitl.create_model('pts_default', 'pts_default', 'label', '{x,y}') \gset

SELECT is((SELECT count(*)::int FROM hitl.queue WHERE model = 'pts_default'), 270,
		  'the defaults (queue_size 1000): the queue holds the 270 unlabeled rows');
SELECT is((SELECT count(*)::int FROM hitl.queue WHERE model = 'pts_default' AND evaluation), 14,
		  'evaluation_rate absent: 0.05 of the 270 unlabeled rows (fewer than queue_size), round(13.5) = 14');
SELECT is((SELECT array_agg(rank ORDER BY rank) FROM hitl.queue WHERE model = 'pts_default' AND evaluation),
		  (SELECT array_agg(floor((j + 1) * 270 / 15.0 + 0.5)::int ORDER BY j) FROM generate_series(0, 13) j),
		  'spread evenly among the 270 ranks');
SELECT is((SELECT count(*)::int FROM hitl.queue WHERE model = 'pts'), 40,
		  'queue_size 40: the queue has 40 rows');
SELECT is((SELECT count(*)::int FROM hitl.queue WHERE model = 'pts' AND evaluation), 4,
		  'evaluation_rate 0.1: 4 of them are evaluation rows');
SELECT is((SELECT array_agg(rank ORDER BY rank) FROM hitl.queue WHERE model = 'pts' AND evaluation),
		  ARRAY[8, 16, 24, 32],
		  'the evaluation rows are spread evenly: ranks round((j + 1) x 40 / 5)');
SELECT is((SELECT array_agg(q.row_key ->> 'id' ORDER BY q.rank) FROM hitl.queue q
		   WHERE q.model = 'pts' AND NOT q.evaluation),
		  (SELECT array_agg(t.id::text ORDER BY t.label_uncertainty DESC) FROM (
			  SELECT t.id, t.label_uncertainty FROM pts t
			  WHERE t.label IS NULL
				AND NOT EXISTS (SELECT 1 FROM hitl.queue e WHERE e.model = 'pts' AND e.evaluation
								AND (e.row_key ->> 'id')::int = t.id)
			  ORDER BY t.label_uncertainty DESC LIMIT 36) t),
		  'the other 36 are the most uncertain unlabeled rows, in order');
SELECT is((SELECT count(*)::int FROM hitl.queue e WHERE e.model = 'pts' AND e.evaluation
		   AND e.uncertainty < (SELECT min(uncertainty) FROM hitl.queue
								WHERE model = 'pts' AND NOT evaluation)), 4,
		  'the evaluation rows are not the top uncertain: drawn at random, all 4 below the others here');
SELECT ok((SELECT bool_and(t.label IS NULL) FROM hitl.queue q JOIN pts t ON t.id = (q.row_key ->> 'id')::int
		   WHERE q.model = 'pts' AND q.evaluation),
		  'the evaluation rows are unlabeled rows');
SELECT is((SELECT array_agg(rank ORDER BY rank) FROM pts_review_queue WHERE evaluation),
		  ARRAY[8, 16, 24, 32], 'the review view shows evaluation, at the same ranks');
SELECT is((SELECT array_agg(rank ORDER BY rank) FROM hitl.review_queue WHERE model = 'pts' AND evaluation),
		  ARRAY[8, 16, 24, 32], 'hitl.review_queue shows evaluation');
SELECT is((SELECT count(*)::int FROM hitl.queue WHERE model = 'pts0'), 40,
		  'evaluation_rate 0: the queue has its 40 rows');
SELECT is((SELECT count(*)::int FROM hitl.queue WHERE model = 'pts0' AND evaluation), 0,
		  'evaluation_rate 0: none is an evaluation row');
SELECT is((SELECT array_agg(row_key ->> 'id' ORDER BY rank) FROM hitl.queue WHERE model = 'pts0'),
		  (SELECT array_agg(id::text ORDER BY label_uncertainty DESC) FROM (
			  SELECT id, label_uncertainty FROM pts0 WHERE label IS NULL
			  ORDER BY label_uncertainty DESC LIMIT 40) t),
		  'evaluation_rate 0: the queue is the 40 most uncertain, as before the option');

-- a rescoring of the same version draws the same rows, whatever order the
-- scan meets them in (the update moves half of the rows in the table)
CREATE TEMP TABLE first_draw AS
	SELECT rank, row_key FROM hitl.queue WHERE model = 'pts' AND evaluation;
UPDATE pts SET x = x WHERE id % 2 = 0;
SELECT hitl.score('pts') \gset
SELECT results_eq($$SELECT rank, row_key FROM hitl.queue WHERE model = 'pts' AND evaluation ORDER BY rank$$,
				  $$SELECT rank, row_key FROM first_draw ORDER BY rank$$,
				  'rescoring the same version: the same evaluation rows at the same ranks');

-- label the 4 evaluation rows (the first two as predicted, the last two
-- not) and the top uncertain row
CREATE TEMP TABLE labeled AS
	SELECT (q.row_key ->> 'id')::int AS id, q.prediction, q.evaluation,
		   CASE WHEN NOT q.evaluation OR q.rank <= 16 THEN q.prediction
				WHEN q.prediction = 'p' THEN 'n' ELSE 'p' END AS label
	FROM hitl.queue q WHERE q.model = 'pts' AND (q.evaluation OR q.rank = 1);
UPDATE pts t SET label = l.label FROM labeled l WHERE t.id = l.id;

SELECT is((SELECT count(*)::int FROM hitl.label_log WHERE model = 'pts' AND evaluation), 4,
		  'labeling the 4 evaluation rows logs 4 entries with evaluation = true');
SELECT results_eq($$SELECT (g.row_key ->> 'id')::int, g.prediction, g.new_label, g.evaluation
					FROM hitl.label_log g WHERE g.model = 'pts' ORDER BY 1$$,
				  $$SELECT id, prediction, label, evaluation FROM labeled ORDER BY 1$$,
				  'each entry has the prediction the row had in the queue, and evaluation only for the evaluation rows');
SELECT is((SELECT g.evaluation FROM hitl.label_log g JOIN hitl.queue q ON q.row_key = g.row_key
		   WHERE g.model = 'pts' AND q.model = 'pts' AND q.rank = 1), false,
		  'the top uncertain row labeled: evaluation = false');

-- the version trained on them measures the accuracy on the evaluation rows
SELECT is((SELECT metrics -> 'evaluation' ->> 'rows' FROM hitl.model_versions
		   WHERE model = 'pts' AND version = 1), '0',
		  'version 1, before any evaluation row was labeled: rows 0');
SELECT is((SELECT metrics -> 'evaluation' -> 'accuracy' FROM hitl.model_versions
		   WHERE model = 'pts' AND version = 1), 'null'::jsonb,
		  'rows 0: accuracy null');
SELECT is((SELECT evaluation_accuracy FROM hitl.models WHERE name = 'pts'), NULL::float8,
		  'rows 0: hitl.models.evaluation_accuracy NULL');
SELECT is(hitl.train('pts'), 2, 'retraining records version 2');
SELECT is((SELECT (metrics -> 'evaluation' ->> 'rows')::int FROM hitl.model_versions
		   WHERE model = 'pts' AND version = 2), 4,
		  'metrics->evaluation rows: the 4 evaluation rows labeled');
SELECT is((SELECT (metrics -> 'evaluation' ->> 'accuracy')::float8 FROM hitl.model_versions
		   WHERE model = 'pts' AND version = 2), 0.5::float8,
		  'accuracy = right / rows = 2 / 4');
SELECT ok((SELECT abs((v.metrics -> 'evaluation' ->> 'low')::float8 - w.low) < 1e-9
				  AND abs((v.metrics -> 'evaluation' ->> 'high')::float8 - w.high) < 1e-9
		   FROM hitl.model_versions v, wilson(2, 4) w WHERE v.model = 'pts' AND v.version = 2),
		  'low and high: the Wilson 95% bounds of 2 of 4');
SELECT is((SELECT evaluation_accuracy FROM hitl.models WHERE name = 'pts'), 0.5::float8,
		  'hitl.models.evaluation_accuracy: that of the current version');

-- a row counts once, by the label that first set it
UPDATE pts t SET label = CASE WHEN t.label = 'p' THEN 'n' ELSE 'p' END
	FROM labeled l WHERE t.id = l.id AND l.evaluation AND l.label <> l.prediction;
SELECT is(hitl.train('pts'), 3, 'relabeling two evaluation rows: version 3');
SELECT is((SELECT metrics -> 'evaluation' FROM hitl.model_versions WHERE model = 'pts' AND version = 3)
		  - 'low' - 'high', '{"rows": 4, "accuracy": 0.5}'::jsonb,
		  'a row is counted once, by its first label: still 2 right of 4');

-- the option's checks
SELECT is(hint_of($$SELECT hitl.alter_model('pts', options => '{"evaluation_rate": 0.6}')$$),
		  'evaluation_rate must be a number from 0 (no evaluation rows) to 0.5, the share of the review queue drawn at random; null restores the default 0.05.',
		  'evaluation_rate above 0.5: 22023, with a hint');
SELECT throws_ok($$SELECT hitl.alter_model('pts', options => '{"evaluation_rate": -0.1}')$$,
				 '22023', 'invalid value -0.1 for option "evaluation_rate"',
				 'evaluation_rate below 0: 22023');
SELECT throws_ok($$SELECT hitl.create_model('pts_bad', 'pts', 'label', '{x,y}', prediction_column => 'bp',
					confidence_column => 'bc', uncertainty_column => 'bu',
					options => '{"evaluation_rate": "a lot"}')$$,
				 '22023', 'invalid value "a lot" for option "evaluation_rate"',
				 'evaluation_rate not a number: 22023');

SELECT * FROM finish();
ROLLBACK;
