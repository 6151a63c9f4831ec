/* ------------------------------------------------------------------------
 * 60 Views
 *
 * hitl.label_stats comes back (section 10 dropped it while the type of
 * hitl.models.owner changed), with the owner by name.  It reads
 * hitl.label_log with its reader's rights (security_invoker), so that the
 * log's policy applies: it counts what its reader may see of the log.
 * ------------------------------------------------------------------------ */

CREATE VIEW hitl.label_stats WITH (security_invoker = true) AS
	WITH seen AS (
		SELECT m.name FROM hitl.models m
		WHERE hitl._member_of(m.owner)
		   OR coalesce(has_table_privilege(m.source, 'SELECT'), false)
	),
	entries AS (
		SELECT l.model, l.role, l.at, l.id, l.new_label, l.prediction, l.confidence,
			   /* the next change of the same row's label, by whoever */
			   lead(l.role) OVER w AS next_role,
			   lead(l.new_label) OVER w AS next_label,
			   lead(l.id) OVER w AS next_id
		FROM hitl.label_log l
		WHERE l.model IN (SELECT s.name FROM seen s)
		WINDOW w AS (PARTITION BY l.model, l.row_key ORDER BY l.id)
	),
	/* a confident prediction: in the top tenth of the model's, as logged */
	confident AS (
		SELECT e.model,
			   percentile_cont(0.9) WITHIN GROUP (ORDER BY e.confidence) AS threshold
		FROM entries e
		WHERE e.prediction IS NOT NULL AND e.confidence IS NOT NULL
		GROUP BY e.model
	),
	gaps AS (
		SELECT e.model, e.role,
			   extract(epoch FROM e.at - lag(e.at) OVER (PARTITION BY e.model, e.role ORDER BY e.at, e.id))
				   AS seconds
		FROM entries e
		WHERE e.new_label IS NOT NULL
	)
	SELECT e.model,
		   e.role::text AS role,
		   count(*) FILTER (WHERE e.new_label IS NOT NULL) AS labels,
		   count(*) FILTER (WHERE e.new_label = e.prediction) AS agreements,
		   count(*) FILTER (WHERE e.new_label <> e.prediction) AS overrides,
		   count(*) FILTER (WHERE e.new_label <> e.prediction AND e.confidence >= c.threshold)
			   AS confident_disagreements,
		   (count(*) FILTER (WHERE e.new_label = e.prediction))::float8
			   / nullif(count(*) FILTER (WHERE e.new_label IS NOT NULL AND e.prediction IS NOT NULL), 0)
			   AS agreement_rate,
		   count(*) FILTER (WHERE e.new_label IS NOT NULL AND e.next_id IS NOT NULL
							  AND e.next_role <> e.role
							  AND e.next_label IS DISTINCT FROM e.new_label)
			   AS changed_by_others,
		   (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY g.seconds)
			FROM gaps g WHERE g.model = e.model AND g.role = e.role AND g.seconds IS NOT NULL)
			   AS median_seconds_between_labels,
		   max(e.at) FILTER (WHERE e.new_label IS NOT NULL) AS last_labeled_at
	FROM entries e
	LEFT JOIN confident c ON c.model = e.model
	GROUP BY e.model, e.role;
COMMENT ON VIEW hitl.label_stats IS
	'per model and role: labels written, agreement with the model''s prediction at the time, overrides, confident disagreements, labels others changed later and the pace of labeling';
COMMENT ON COLUMN hitl.label_stats.model IS 'the model';
COMMENT ON COLUMN hitl.label_stats.role IS 'the role that wrote the labels';
COMMENT ON COLUMN hitl.label_stats.labels IS
	'labels written (inserted with a row, or set or changed by an update)';
COMMENT ON COLUMN hitl.label_stats.agreements IS
	'labels equal to the model''s prediction for the row at that moment';
COMMENT ON COLUMN hitl.label_stats.overrides IS
	'labels different from the model''s prediction for the row at that moment';
COMMENT ON COLUMN hitl.label_stats.confident_disagreements IS
	'overrides of a confident prediction: one whose confidence is in the top tenth (at least the 90th percentile) of the confidences logged with the model''s labels';
COMMENT ON COLUMN hitl.label_stats.agreement_rate IS
	'agreements / (agreements + overrides); NULL when no label met a prediction';
COMMENT ON COLUMN hitl.label_stats.changed_by_others IS
	'labels of the role that another role changed next (the next change of the row''s label in the log is another role''s and sets another label)';
COMMENT ON COLUMN hitl.label_stats.median_seconds_between_labels IS
	'median time between two consecutive labels of the role on the model, in seconds (labels written by one statement are 0 s apart); NULL with fewer than two';
COMMENT ON COLUMN hitl.label_stats.last_labeled_at IS 'when the role last wrote a label';
GRANT SELECT ON hitl.label_stats TO PUBLIC;

/*
 * hitl.progress: the trainings and scorings under way in this database, one
 * row per session or worker.  It reads hitl.models with its reader's rights
 * (security_invoker), so that a role sees the progress of the models it
 * sees.
 */
CREATE VIEW hitl.progress WITH (security_invoker = true) AS
	SELECT p.model, p.phase, p.rows_done, p.rows_total, p.started_at, p.pid
	FROM hitl._progress() p
	WHERE p.model IN (SELECT m.name FROM hitl.models m);
COMMENT ON VIEW hitl.progress IS
	'trainings and scorings under way in this database (with hitl in shared_preload_libraries), for the models the reader sees';
COMMENT ON COLUMN hitl.progress.model IS 'the model';
COMMENT ON COLUMN hitl.progress.phase IS
	'reading, training, cross-validating, scoring or writing';
COMMENT ON COLUMN hitl.progress.rows_done IS
	'rows read, scored or written so far in the phase (iterations when training, folds when cross-validating)';
COMMENT ON COLUMN hitl.progress.rows_total IS
	'rows to do in the phase (the planner''s estimate of the table''s rows when reading or scoring)';
COMMENT ON COLUMN hitl.progress.started_at IS 'when the training or scoring began';
COMMENT ON COLUMN hitl.progress.pid IS 'the process doing it (a session or hitl''s worker)';
GRANT SELECT ON hitl.progress TO PUBLIC;
