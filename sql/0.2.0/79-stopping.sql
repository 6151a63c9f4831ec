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
 * hitl.models.stop_suggested says whether labeling may stop: true when
 * the last three versions up to the current one each have a kappa above
 * the option stop_kappa (absent: 0.99), false when one of them has one at
 * or below it, NULL otherwise (fewer than three versions, or a kappa
 * missing).  It follows the current version and the option (a trigger of
 * hitl.models) and each new version's signal (the training sets it).
 * ------------------------------------------------------------------------ */

ALTER TABLE hitl.models ADD COLUMN stop_suggested boolean;
COMMENT ON COLUMN hitl.models.stop_suggested IS
	'true when the predictions of the last three versions each agreed with their previous version''s beyond option stop_kappa (Cohen''s kappa, default 0.99): labeling more changes little; false when one did not; NULL before three versions have a kappa';

/*
 * Whether labeling may stop at version (see above): the kappas of the
 * last three versions up to it, against the option stop_kappa of options.
 */
CREATE FUNCTION hitl._stop_suggested(model text, version integer, options jsonb)
RETURNS boolean LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE
		WHEN count(*) < 3 THEN NULL
		WHEN bool_or(l.kappa <= coalesce((options ->> 'stop_kappa')::float8, 0.99)) THEN false
		WHEN count(l.kappa) = 3 THEN true
		END
	FROM (SELECT (v.metrics ->> 'stop_kappa_previous')::float8 AS kappa
		  FROM hitl.model_versions v
		  WHERE v.model = _stop_suggested.model AND v.version <= _stop_suggested.version
		  ORDER BY v.version DESC
		  LIMIT 3) l
$$;
COMMENT ON FUNCTION hitl._stop_suggested(text, integer, jsonb) IS
	'internal: hitl.models.stop_suggested at a version: the kappas of the last three versions against option stop_kappa';
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

/* hitl.models.stop_suggested follows the current version and the option */
CREATE FUNCTION hitl._set_stop_suggested() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.current_version IS DISTINCT FROM OLD.current_version
	   OR NEW.options -> 'stop_kappa' IS DISTINCT FROM OLD.options -> 'stop_kappa' THEN
		NEW.stop_suggested := hitl._stop_suggested(NEW.name, NEW.current_version, NEW.options);
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION hitl._set_stop_suggested() IS
	'internal: hitl.models.stop_suggested follows the current version and option stop_kappa';
REVOKE ALL ON FUNCTION hitl._set_stop_suggested() FROM PUBLIC;

/* after guard_model_update, which resolves the options of an update */
CREATE TRIGGER model_stop_suggested BEFORE UPDATE OF current_version, options ON hitl.models
	FOR EACH ROW EXECUTE FUNCTION hitl._set_stop_suggested();

/*
 * hitl.model_overview gains stop_suggested and the signal of the current
 * version; hitl.model_metrics the signal of each version.  Both keep
 * their columns and add these last.
 */
CREATE OR REPLACE VIEW hitl.model_overview WITH (security_invoker = true) AS
	SELECT m.name::varchar(50) AS model,
		   n.nspname::varchar(63) AS table_schema,
		   c.relname::varchar(63) AS table_name,
		   m.label_column::varchar(63) AS label_column,
		   array_to_string(m.feature_columns, ', ') AS feature_columns,
		   cardinality(m.feature_columns) AS n_feature_columns,
		   array_to_string(m.key_columns, ', ') AS key_columns,
		   m.prediction_column::varchar(63) AS prediction_column,
		   m.confidence_column::varchar(63) AS confidence_column,
		   m.uncertainty_column::varchar(63) AS uncertainty_column,
		   array_to_string(m.added_columns, ', ') AS added_columns,
		   m.algorithm::varchar(20) AS algorithm,
		   m.strategy::varchar(20) AS strategy,
		   m.owner::varchar(63) AS owner,
		   m.enabled,
		   m.status::varchar(20) AS status,
		   m.current_version,
		   m.scored_version,
		   m.processed_labels,
		   m.last_error,
		   m.failed_at,
		   m.failures,
		   m.retry_at,
		   m.created_at,
		   m.trained_at,
		   m.scored_at,
		   m.view_schema::varchar(63) AS review_view_schema,
		   m.view_name::varchar(63) AS review_view_name,
		   o.min_labels::integer AS min_labels,
		   o.cv_folds::integer AS cv_folds,
		   o.queue_size::integer AS queue_size,
		   o.batch_size::integer AS batch_size,
		   o.score_tolerance,
		   o."C" AS c,
		   o.max_iter::integer AS max_iter,
		   o.tol,
		   o.alpha,
		   o.text_config,
		   o.bigrams,
		   o.buckets::integer AS buckets,
		   o.max_text_bytes::integer AS max_text_bytes,
		   m.options::text AS options_text,
		   m.stop_suggested,
		   coalesce(o.stop_kappa, 0.99) AS stop_kappa,
		   (cv.metrics ->> 'stop_kappa_previous')::float8 AS stop_kappa_previous,
		   (cv.metrics ->> 'stop_mean_uncertainty')::float8 AS stop_mean_uncertainty
	FROM hitl.models m
	LEFT JOIN pg_catalog.pg_class c ON c.oid = m.source::oid
	LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	LEFT JOIN hitl.model_versions cv ON cv.model = m.name AND cv.version = m.current_version
	CROSS JOIN LATERAL jsonb_to_record(m.options) AS o(
		min_labels numeric, cv_folds numeric, queue_size numeric, batch_size numeric,
		score_tolerance float8, "C" float8, max_iter numeric, tol float8, alpha float8,
		text_config text, bigrams boolean, buckets numeric, max_text_bytes numeric,
		stop_kappa float8);
COMMENT ON COLUMN hitl.model_overview.stop_suggested IS
	'true when the last three versions'' predictions each agreed with the previous version''s beyond stop_kappa: labeling may stop; NULL before three versions have a kappa';
COMMENT ON COLUMN hitl.model_overview.stop_kappa IS
	'option stop_kappa: the kappa above which stop_suggested turns true (0.99 when absent)';
COMMENT ON COLUMN hitl.model_overview.stop_kappa_previous IS
	'the current version''s kappa against the predictions of the version before it on the unlabeled rows';
COMMENT ON COLUMN hitl.model_overview.stop_mean_uncertainty IS
	'the current version''s mean uncertainty on the unlabeled rows it was compared on';

CREATE OR REPLACE VIEW hitl.model_metrics WITH (security_invoker = true) AS
	SELECT v.model::varchar(50) AS model,
		   v.version,
		   v.version = m.current_version AS is_current,
		   v.algorithm::varchar(20) AS algorithm,
		   v.trained_at,
		   v.train_ms,
		   v.n_labeled,
		   x.n_classes,
		   array_to_string(v.classes, ', ') AS classes,
		   x.n_features,
		   x.n_dense_features,
		   x.vocabulary AS vocabulary_size,
		   x.n_documents,
		   x.nnz,
		   x.iterations,
		   x.converged,
		   x.warm_start,
		   x.objective,
		   x.train_accuracy,
		   x.train_macro_f1,
		   x.train_log_loss,
		   x.cv_folds,
		   x.cv_accuracy,
		   x.cv_macro_f1,
		   x.cv_log_loss,
		   (v.metrics -> 'calibration' ->> 'method')::varchar(20) AS calibration_method,
		   (v.metrics -> 'calibration' ->> 'temperature')::float8 AS temperature,
		   x.ece,
		   x.ece_uncalibrated,
		   x.brier,
		   (v.metrics -> 'evaluation' ->> 'accuracy')::float8 AS evaluation_accuracy,
		   (v.metrics -> 'evaluation' ->> 'low')::float8 AS evaluation_low,
		   (v.metrics -> 'evaluation' ->> 'high')::float8 AS evaluation_high,
		   (v.metrics -> 'evaluation' ->> 'rows')::bigint AS evaluation_rows,
		   x.alpha,
		   x.incremental,
		   x.base_version,
		   x.changes,
		   x.fallback,
		   v.metrics::text AS metrics_text,
		   x.stop_kappa_previous,
		   x.stop_kappa_rows,
		   x.stop_kappa_version,
		   x.stop_mean_uncertainty,
		   x.stop_cv_accuracy_change,
		   x.stop_cv_base
	FROM hitl.model_versions v
	JOIN hitl.models m ON m.name = v.model
	CROSS JOIN LATERAL jsonb_to_record(v.metrics) AS x(
		n_classes integer, n_features integer, n_dense_features integer, vocabulary integer,
		n_documents bigint, nnz bigint, iterations integer, converged boolean,
		warm_start boolean, objective float8, train_accuracy float8, train_macro_f1 float8,
		train_log_loss float8, cv_folds integer, cv_accuracy float8, cv_macro_f1 float8,
		cv_log_loss float8, ece float8, ece_uncalibrated float8, brier float8, alpha float8,
		incremental boolean, base_version integer, changes bigint, fallback text,
		stop_kappa_previous float8, stop_kappa_rows bigint, stop_kappa_version integer,
		stop_mean_uncertainty float8, stop_cv_accuracy_change float8, stop_cv_base integer);
COMMENT ON COLUMN hitl.model_metrics.stop_kappa_previous IS
	'Cohen''s kappa between this version''s predictions and those the table held (the previous version''s) on the unlabeled rows compared; NULL when fewer than 2 were, or both predicted one class';
COMMENT ON COLUMN hitl.model_metrics.stop_kappa_rows IS
	'unlabeled rows compared: those with a prediction, at most a fixed sample (stop_sample_rows in the metrics)';
COMMENT ON COLUMN hitl.model_metrics.stop_kappa_version IS
	'the version whose predictions the table held (NULL when its scoring had not finished)';
COMMENT ON COLUMN hitl.model_metrics.stop_mean_uncertainty IS
	'this version''s mean uncertainty on the unlabeled rows compared';
COMMENT ON COLUMN hitl.model_metrics.stop_cv_accuracy_change IS
	'out-of-fold accuracy trend: cv_accuracy minus that of version stop_cv_base';
COMMENT ON COLUMN hitl.model_metrics.stop_cv_base IS
	'the latest earlier version with cross-validated figures of its own';
