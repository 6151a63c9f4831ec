/* ------------------------------------------------------------------------
 * 60 Views
 *
 * hitl.progress, the work under way.  hitl.label_stats, which section 10
 * dropped while the type of hitl.models.owner changed, comes back in
 * 69d-label-stats.sql, after the tables it reads (the confirmations and
 * the audit store, 68; the label log's source, 69b).
 * ------------------------------------------------------------------------ */

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
