-- The oversight half of the loop on one small campaign: honest accuracy
-- (per-class figures, the confusion matrix), calibration, the audit queue
-- (fix or confirm), auto-labeling and its audit, slices.  Numbers rounded
-- to 2 places.

-- 900 tickets in three regions; two classes from a rule on x and y.  300
-- are labeled, and in region 'south' every 5th of them wrongly.
CREATE TABLE camp (id int PRIMARY KEY, x float8, y float8, region text, label text, truth text);
INSERT INTO camp
SELECT g, (g * 37 % 101) / 100.0, (g * 59 % 103) / 102.0,
	   (ARRAY['north', 'south', 'east'])[1 + g % 3], NULL,
	   CASE WHEN (g * 37 % 101) / 100.0 + (g * 59 % 103) / 102.0 > 1 THEN 'spam' ELSE 'ham' END
FROM generate_series(1, 900) g;
UPDATE camp SET label = CASE WHEN region = 'south' AND id % 5 = 0
							 THEN CASE truth WHEN 'spam' THEN 'ham' ELSE 'spam' END
							 ELSE truth END
WHERE id <= 300;
SELECT hitl.create_model('camp', 'camp', 'label', '{x,y}', options => '{"cv_folds": 5}');

-- per-class figures and the out-of-fold confusion matrix
SELECT c.key AS class, round((c.value ->> 'precision')::numeric, 2) AS precision,
	   round((c.value ->> 'recall')::numeric, 2) AS recall, c.value ->> 'support' AS support
FROM hitl.model_versions v, jsonb_each(v.metrics -> 'per_class') c
WHERE v.model = 'camp' ORDER BY 1;
SELECT label, predicted, rows FROM hitl.confusion WHERE model = 'camp' ORDER BY 1, 2;

-- calibration: its method is recorded, the ECE is a share
SELECT metrics -> 'calibration' ->> 'method' IN ('none', 'temperature') AS method_known,
	   (metrics ->> 'ece')::float8 BETWEEN 0 AND 1 AS ece_is_a_share,
	   jsonb_array_length(metrics -> 'reliability') > 0 AS has_bins
FROM hitl.model_versions WHERE model = 'camp';

-- the audit queue holds wrong labels of the south, most suspicious first
SELECT count(*) AS suspects, count(*) FILTER (WHERE label <> truth) AS wrong,
	   count(*) FILTER (WHERE region = 'south') AS south
FROM camp_audit_queue;
SELECT audit_rank = 1 AS first, label <> truth AS wrong, suggested_label = truth AS suggests_truth
FROM camp_audit_queue ORDER BY audit_rank LIMIT 3;

-- fix the first by an UPDATE, confirm the second: both leave the queue
SELECT id AS fixed FROM camp_audit_queue ORDER BY audit_rank LIMIT 1 \gset
SELECT id AS confirmed FROM camp_audit_queue ORDER BY audit_rank OFFSET 1 LIMIT 1 \gset
UPDATE camp SET label = truth WHERE id = :fixed;
SELECT hitl.confirm_label('camp', jsonb_build_object('id', :confirmed));
SELECT count(*) FILTER (WHERE id IN (:fixed, :confirmed)) AS still_queued FROM camp_audit_queue;
SELECT label = (SELECT label FROM camp WHERE id = :confirmed) AS logged_label
FROM hitl.label_confirmations WHERE model = 'camp';

-- what cannot be confirmed or auto-labeled
SELECT * FROM err($$SELECT hitl.confirm_label('camp', '{"id": 899}')$$);
SELECT * FROM err($$SELECT hitl.confirm_label('camp', '{"id": 9999}')$$);
SELECT * FROM err($$SELECT hitl.auto_label('camp', 0.3)$$);
SELECT * FROM err($$SELECT hitl.auto_label('camp', 0.9, 2)$$);

-- auto-labeling at a precision of 0.9: no human label changes, each
-- machine label is logged as the model's, and a share waits for audit
CREATE TEMP TABLE human AS SELECT id, label FROM camp WHERE label IS NOT NULL;
SELECT hitl.auto_label('camp', 0.9) > 0 AS labeled_some;
SELECT count(*) AS human_changed FROM human h JOIN camp c USING (id) WHERE c.label <> h.label;
SELECT (SELECT count(*) FROM hitl.auto_labels WHERE model = 'camp')
	 = (SELECT count(*) FROM hitl.label_log WHERE model = 'camp' AND source = 'model') AS all_logged,
	   (SELECT count(*) FROM camp_auto_label_audit) > 0 AS some_to_audit;
SELECT round(avg((c.label = c.truth)::int), 2) >= 0.9 AS realized_precision_reached
FROM camp c JOIN hitl.auto_labels a ON a.model = 'camp' AND a.row_key = jsonb_build_object('id', c.id);

-- slices: the south, whose labels are noisy, is flagged
SELECT group_value, labeled + unlabeled AS rows, labeled > 250 AS mostly_labeled, flagged
FROM hitl.slice_metrics('camp', 'region');
SELECT * FROM err($$SELECT * FROM hitl.slice_metrics('camp', 'nowhere')$$);

SELECT hitl.drop_model('camp');
DROP TABLE camp;
