/* ------------------------------------------------------------------------
 * 79 When to stop labeling: the stopping signal of each version
 *
 * Each training that records a version (hitl.train, the worker, the
 * incremental update of naive Bayes) compares the new version's
 * predictions with those the table holds, the previous version's, on
 * (a fixed sample of) the unlabeled rows (src/train_stopping.c), and
 * records in the version's metrics:
 *	stop_kappa_previous		Cohen's kappa between the two (stabilizing
 *							predictions, Bloodgood and Vijay-Shanker 2009);
 *							null when fewer than 2 rows were compared or
 *							both predicted one class on all of them
 *	stop_kappa_rows			the unlabeled rows compared: those with a
 *							prediction, at most stop_sample_rows of them
 *	stop_kappa_version		the version whose predictions the table held
 *							(hitl.models.scored_version; null when its
 *							scoring had not finished)
 *	stop_sample_rows		the bound of the sample (10000): on a larger
 *							table, the rows of smallest hash of their key
 *							among a fixed share of its pages (TABLESAMPLE
 *							SYSTEM, REPEATABLE), the same from version to
 *							version but for rows an update moved
 *	stop_mean_uncertainty	the new version's mean uncertainty (the model's
 *							strategy) on the same rows
 * (the time the comparison took is not in the metrics, which the same
 * data must give again, nor in train_ms: a DEBUG1 message says it)
 * and, once the version has its own cross-validated figures (at once, or
 * when its deferred cross-validation comes), the out-of-fold trend:
 *	stop_cv_accuracy_change	its cv_accuracy minus that of stop_cv_base
 *	stop_cv_base			the latest earlier version with figures of its
 *							own
 *
 * hitl.models.stop_suggested says whether labeling may stop, by the rule
 * of 77 (hitl._stop_rule): true when every version trained over the last
 * stop_window labels (option, absent: 100) up to the current one has a
 * kappa above the option stop_kappa (absent: 0.99), false when one of
 * them has one at or below it, NULL otherwise (fewer than stop_window
 * labels since the first version, or a kappa missing).  The window is
 * the versions after the latest one trained on at most stop_window labels
 * fewer than the current one, by their n_labeled.  It follows the current
 * version and the options (a trigger of hitl.models) and each new
 * version's signal (the training sets it).
 * ------------------------------------------------------------------------ */

/*
 * Whether labeling may stop at version (see above): the rule of 77 over
 * the versions up to it, against the options stop_kappa and stop_window.
 */
CREATE FUNCTION hitl._stop_suggested(model text, version integer, options jsonb)
RETURNS boolean LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT hitl._stop_rule(array_agg(v.n_labeled ORDER BY v.version),
						   array_agg((v.metrics ->> 'stop_kappa_previous')::float8 ORDER BY v.version),
						   _stop_suggested.options)
	FROM hitl.model_versions v
	WHERE v.model = _stop_suggested.model AND v.version <= _stop_suggested.version
$$;
COMMENT ON FUNCTION hitl._stop_suggested(text, integer, jsonb) IS
	'internal: hitl.models.stop_suggested at a version: the kappas of the versions over the last stop_window labels against option stop_kappa';
REVOKE ALL ON FUNCTION hitl._stop_suggested(text, integer, jsonb) FROM PUBLIC;

/*
 * The out-of-fold accuracy trend of a version whose metrics are given:
 * {"stop_cv_accuracy_change", "stop_cv_base"} when it has figures of its
 * own (cv_accuracy, not copied from a base: no accuracy_from, not
 * pending) and an earlier version has too; else {}.
 */
CREATE FUNCTION hitl._stop_cv_trend(model text, version integer, metrics jsonb)
RETURNS jsonb LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce((
		SELECT jsonb_build_object('stop_cv_accuracy_change',
								  round(((_stop_cv_trend.metrics ->> 'cv_accuracy')::numeric
										 - (b.metrics ->> 'cv_accuracy')::numeric), 10),
								  'stop_cv_base', b.version)
		FROM hitl.model_versions b
		WHERE b.model = _stop_cv_trend.model AND b.version < _stop_cv_trend.version
		  AND b.metrics ? 'cv_accuracy'
		  AND NOT b.metrics ?| ARRAY['accuracy_from', 'cv_pending']
		  AND _stop_cv_trend.metrics ? 'cv_accuracy'
		  AND NOT _stop_cv_trend.metrics ?| ARRAY['accuracy_from', 'cv_pending']
		ORDER BY b.version DESC
		LIMIT 1), '{}')
$$;
COMMENT ON FUNCTION hitl._stop_cv_trend(text, integer, jsonb) IS
	'internal: a version''s cv_accuracy minus that of the latest earlier version with figures of its own, as metrics keys';
REVOKE ALL ON FUNCTION hitl._stop_cv_trend(text, integer, jsonb) FROM PUBLIC;

/* hitl.models.stop_suggested follows the current version and the options */
CREATE FUNCTION hitl._set_stop_suggested() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.current_version IS DISTINCT FROM OLD.current_version
	   OR NEW.options -> 'stop_kappa' IS DISTINCT FROM OLD.options -> 'stop_kappa'
	   OR NEW.options -> 'stop_window' IS DISTINCT FROM OLD.options -> 'stop_window' THEN
		NEW.stop_suggested := hitl._stop_suggested(NEW.name, NEW.current_version, NEW.options);
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION hitl._set_stop_suggested() IS
	'internal: hitl.models.stop_suggested follows the current version and options stop_kappa and stop_window';
REVOKE ALL ON FUNCTION hitl._set_stop_suggested() FROM PUBLIC;

/* after guard_model_update, which resolves the options of an update */
CREATE TRIGGER model_stop_suggested BEFORE UPDATE OF current_version, options ON hitl.models
	FOR EACH ROW EXECUTE FUNCTION hitl._set_stop_suggested();
