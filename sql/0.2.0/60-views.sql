/* ------------------------------------------------------------------------
 * 60 Views
 *
 * hitl.label_stats comes back (section 10 dropped it while the type of
 * hitl.models.owner changed), with the owner by name.  It reads
 * hitl.label_log with its reader's rights (security_invoker), so that the
 * log's policy applies: it counts what its reader may see of the log.
 * ------------------------------------------------------------------------ */

CREATE VIEW hitl.label_stats WITH (security_invoker = true) AS
	SELECT l.model,
		   l.role::text AS role,
		   count(*) FILTER (WHERE l.new_label IS NOT NULL) AS labels,
		   count(*) FILTER (WHERE l.new_label = l.prediction) AS agreements,
		   count(*) FILTER (WHERE l.new_label <> l.prediction) AS overrides,
		   count(*) FILTER (WHERE l.new_label <> l.prediction AND l.confidence >= 0.9)
			   AS confident_disagreements,
		   (count(*) FILTER (WHERE l.new_label = l.prediction))::float8
			   / nullif(count(*) FILTER (WHERE l.new_label IS NOT NULL AND l.prediction IS NOT NULL), 0)
			   AS agreement_rate,
		   max(l.at) FILTER (WHERE l.new_label IS NOT NULL) AS last_labeled_at
	FROM hitl.label_log l
	WHERE l.model IN (SELECT m.name FROM hitl.models m
					  WHERE hitl._member_of(m.owner)
						 OR coalesce(has_table_privilege(m.source, 'SELECT'), false))
	GROUP BY l.model, l.role;
COMMENT ON VIEW hitl.label_stats IS
	'per model and role: labels written, agreement with the model''s prediction at the time, overrides and confident disagreements';
COMMENT ON COLUMN hitl.label_stats.model IS 'the model';
COMMENT ON COLUMN hitl.label_stats.role IS 'the role that wrote the labels';
COMMENT ON COLUMN hitl.label_stats.labels IS
	'labels written (inserted with a row, or set or changed by an update)';
COMMENT ON COLUMN hitl.label_stats.agreements IS
	'labels equal to the model''s prediction for the row at that moment';
COMMENT ON COLUMN hitl.label_stats.overrides IS
	'labels different from the model''s prediction for the row at that moment';
COMMENT ON COLUMN hitl.label_stats.confident_disagreements IS
	'overrides of a prediction made with confidence of at least 0.9';
COMMENT ON COLUMN hitl.label_stats.agreement_rate IS
	'agreements / (agreements + overrides); NULL when no label met a prediction';
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
