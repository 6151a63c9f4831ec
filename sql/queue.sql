-- The review queue: ranking, the three strategies, queue_size, labeled rows
-- leaving at once, the all-models view, and the plan of the per-model view.
-- evaluation_rate 0: the queue is the most uncertain rows alone (the
-- evaluation rows drawn at random are tested in test/pgtap/evaluation.sql).

CREATE TABLE q AS
	SELECT id, comp, circ, d_circ, rad_ra, pr_axis_ra, max_l_ra, scat_ra, elong,
		   pr_axis_rect, max_l_rect, sc_var_maxis, sc_var_minis, ra_gyr,
		   skew_maxis, skew_minis, kurt_minis, kurt_maxis, holl_ra,
		   CASE WHEN id % 4 = 1 THEN class END AS class
	FROM vehicle;
ALTER TABLE q ADD PRIMARY KEY (id);

SELECT hitl.create_model('qm', 'q', 'class', vehicle_features(),
						 options => '{"cv_folds": 0, "queue_size": 50, "evaluation_rate": 0}');

-- the queue holds the 50 most uncertain unlabeled rows, ranked 1..50
SELECT count(*) AS queued, min(rank), max(rank),
	   bool_and(class IS NULL) AS all_unlabeled FROM qm_review_queue;
-- ranked by uncertainty, and nobody outside the queue is more uncertain
SELECT bool_and(ordered) AS ordered FROM (
	SELECT class_uncertainty <= lag(class_uncertainty) OVER (ORDER BY rank)
		   OR lag(class_uncertainty) OVER (ORDER BY rank) IS NULL AS ordered
	FROM qm_review_queue) s;
SELECT (SELECT min(class_uncertainty) FROM qm_review_queue)
	   >= (SELECT max(class_uncertainty) FROM q WHERE class IS NULL
		   AND id NOT IN (SELECT id FROM qm_review_queue)) AS top_50;
-- the all-models view shows the same rows
SELECT count(*) AS same_rows FROM hitl.review_queue r
JOIN qm_review_queue v ON (r.row_key->>'id')::bigint = v.id AND r.rank = v.rank
WHERE r.model = 'qm' AND r.prediction = v.class_prediction
  AND r.uncertainty = v.class_uncertainty AND r.confidence = v.class_confidence;

-- a row a user labels leaves both views at once, before any rescoring
SELECT id AS top_id FROM qm_review_queue WHERE rank = 1 \gset
UPDATE q SET class = 'van' WHERE id = :top_id;
SELECT count(*) AS queued, min(rank) AS first_rank FROM qm_review_queue;
SELECT count(*) FROM hitl.review_queue WHERE model = 'qm' AND (row_key->>'id')::bigint = :top_id;
UPDATE q SET class = NULL WHERE id = :top_id;

-- the uncertainty written is the strategy's formula of the probabilities
CREATE FUNCTION check_strategy(strat text) RETURNS TABLE (strategy text, rows bigint, mismatches bigint)
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE hitl.models m SET strategy = strat WHERE m.name = 'qm';
	PERFORM hitl.score('qm');
	RETURN QUERY
	WITH p AS (
		SELECT q.class_uncertainty AS u,
			   (SELECT array_agg(value::float8 ORDER BY value::float8 DESC)
				FROM jsonb_each_text(hitl.predict_proba('qm', q))) AS pr
		FROM q)
	SELECT strat, count(*),
		   count(*) FILTER (WHERE abs(u - CASE strat
			   WHEN 'margin' THEN 1 - (pr[1] - pr[2])
			   WHEN 'least_confidence' THEN 1 - pr[1]
			   ELSE (SELECT -sum(x * ln(x)) FROM unnest(pr) x WHERE x > 0) / ln(4) END) > 1e-9)
	FROM p;
END
$$;
UPDATE hitl.models SET options = options || '{"score_tolerance": 0}' WHERE name = 'qm';
SELECT * FROM check_strategy('least_confidence');
SELECT * FROM check_strategy('entropy');
SELECT * FROM check_strategy('margin');

-- score_tolerance 0 rewrites any change; a large one skips small moves
UPDATE hitl.models SET options = options || '{"score_tolerance": 0.5}' WHERE name = 'qm';
UPDATE q SET class = vehicle.class FROM vehicle WHERE q.id = vehicle.id AND q.id % 4 = 2;
SELECT hitl.train('qm');
SELECT hitl.score('qm') < 100 AS few_rows_with_large_tolerance;
UPDATE hitl.models SET options = options || '{"score_tolerance": 0}' WHERE name = 'qm';
SELECT hitl.score('qm') > 100 AS many_rows_with_zero_tolerance;
SELECT hitl.score('qm') AS nothing_left;

-- the procedure that commits after every batch writes the same rows
UPDATE hitl.models SET options = options || '{"batch_size": 100}' WHERE name = 'qm';
UPDATE q SET class_confidence = 0 WHERE id <= 250;
CALL hitl.score_in_batches('qm');
SELECT count(*) FILTER (WHERE class_confidence = 0) AS left_behind FROM q;
-- inside a transaction block it is one transaction
BEGIN;
UPDATE q SET class_confidence = 0 WHERE id <= 30;
CALL hitl.score_in_batches('qm');
ROLLBACK;
SELECT count(*) FILTER (WHERE class_confidence = 0) AS rolled_back FROM q;

-- the per-model view reads the source table by primary key only
CREATE FUNCTION plan_of(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
		RETURN NEXT line;
	END LOOP;
END
$$;
INSERT INTO q (id, comp, class) SELECT g, 1, NULL FROM generate_series(1000, 50999) g;
ANALYZE q;
SELECT count(*) FILTER (WHERE p ~ 'Seq Scan on q') AS seq_scans_of_source,
	   count(*) FILTER (WHERE p ~ 'Index Scan using q_pkey') AS pkey_lookups
FROM plan_of('SELECT * FROM qm_review_queue LIMIT 50') p;

SELECT hitl.drop_model('qm', true);
DROP TABLE q;
DROP FUNCTION check_strategy(text), plan_of(text);
