/* ------------------------------------------------------------------------
 * 65 Views for clients and BI tools
 *
 * JDBC and ODBC drivers report a column of jsonb, of an array, of regclass
 * or pg_snapshot as java.sql.Types.OTHER or ARRAY, or as a character column
 * of unknown length: a BI tool lists such a column but can neither chart
 * nor filter it.  These views give what hitl's tables and views hold in
 * columns of plain types only (varchar, text, boolean, integer, bigint,
 * float8, timestamptz), one row per fact.  Names of bounded length (models,
 * roles, relations and columns, algorithms, strategies, states) are
 * varchar(n), which the drivers report with their length, so that a BI tool
 * offers them as dimensions:
 *
 *	hitl.model_overview		hitl.models, with its table, columns and options
 *	hitl.model_metrics		hitl.model_versions, with the metrics jsonb as columns
 *	hitl.review_candidates	hitl.review_queue, with the row key as text
 *	hitl.review_features	the feature values of the review candidates, one
 *							row per feature (per element of an array feature)
 *
 * hitl.label_stats has plain columns already.  Every view is
 * security_invoker: it reads hitl's tables with its reader's rights, so their
 * row-level security applies to the reader as when the tables are read.
 * ------------------------------------------------------------------------ */

/* hitl.models.stop_suggested (79-stopping.sql sets it), shown by hitl.model_overview */
ALTER TABLE hitl.models ADD COLUMN stop_suggested boolean;
COMMENT ON COLUMN hitl.models.stop_suggested IS
	'true when the predictions of every version over the last stop_window labels (option, default 100) agreed with their previous version''s beyond option stop_kappa (Cohen''s kappa, default 0.99): labeling more changes little; false when one did not; NULL before stop_window labels since the first version, or when a kappa is missing';

CREATE VIEW hitl.model_overview WITH (security_invoker = true) AS
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
		   coalesce(o.stop_window, 100)::integer AS stop_window,
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
		stop_kappa float8, stop_window numeric);
COMMENT ON VIEW hitl.model_overview IS
	'hitl.models in plain columns (text, boolean, integer, float8, timestamptz) for clients and BI tools, one row per model the reader sees';
COMMENT ON COLUMN hitl.model_overview.model IS 'the model';
COMMENT ON COLUMN hitl.model_overview.table_schema IS
	'schema of the model''s table (NULL when the table was dropped)';
COMMENT ON COLUMN hitl.model_overview.table_name IS
	'the model''s table (NULL when the table was dropped)';
COMMENT ON COLUMN hitl.model_overview.label_column IS 'the label column';
COMMENT ON COLUMN hitl.model_overview.feature_columns IS
	'the feature columns, in order, separated by a comma and a space';
COMMENT ON COLUMN hitl.model_overview.n_feature_columns IS 'how many feature columns';
COMMENT ON COLUMN hitl.model_overview.key_columns IS
	'the primary key columns of the table, separated by a comma and a space';
COMMENT ON COLUMN hitl.model_overview.prediction_column IS 'the column the prediction is written into';
COMMENT ON COLUMN hitl.model_overview.confidence_column IS 'the column the confidence is written into';
COMMENT ON COLUMN hitl.model_overview.uncertainty_column IS 'the column the uncertainty is written into';
COMMENT ON COLUMN hitl.model_overview.added_columns IS
	'the output columns create_model added to the table, separated by a comma and a space';
COMMENT ON COLUMN hitl.model_overview.algorithm IS 'logistic or naive_bayes';
COMMENT ON COLUMN hitl.model_overview.strategy IS
	'margin, least_confidence, entropy, density, diverse or committee';
COMMENT ON COLUMN hitl.model_overview.owner IS 'the role that owns the model';
COMMENT ON COLUMN hitl.model_overview.enabled IS 'false: the worker leaves the model alone';
COMMENT ON COLUMN hitl.model_overview.status IS
	'waiting_for_labels, trained, scored, failed or broken';
COMMENT ON COLUMN hitl.model_overview.current_version IS 'the version trained last';
COMMENT ON COLUMN hitl.model_overview.scored_version IS 'the version the stored scores come from';
COMMENT ON COLUMN hitl.model_overview.processed_labels IS
	'label log entries the current version includes';
COMMENT ON COLUMN hitl.model_overview.last_error IS 'the last failure''s message';
COMMENT ON COLUMN hitl.model_overview.failed_at IS 'when the model last failed';
COMMENT ON COLUMN hitl.model_overview.failures IS 'failures in a row';
COMMENT ON COLUMN hitl.model_overview.retry_at IS 'when the worker tries a failed model again';
COMMENT ON COLUMN hitl.model_overview.created_at IS 'when the model was created';
COMMENT ON COLUMN hitl.model_overview.trained_at IS 'when the model was last trained';
COMMENT ON COLUMN hitl.model_overview.scored_at IS 'when the model last scored its table';
COMMENT ON COLUMN hitl.model_overview.review_view_schema IS 'schema of the model''s review view';
COMMENT ON COLUMN hitl.model_overview.review_view_name IS 'the model''s review view';
COMMENT ON COLUMN hitl.model_overview.min_labels IS 'option min_labels: labeled rows needed to train';
COMMENT ON COLUMN hitl.model_overview.cv_folds IS 'option cv_folds: folds of the cross-validation (0: none)';
COMMENT ON COLUMN hitl.model_overview.queue_size IS 'option queue_size: review candidates kept';
COMMENT ON COLUMN hitl.model_overview.batch_size IS
	'option batch_size: rows per UPDATE when scoring (NULL: the setting hitl.batch_size)';
COMMENT ON COLUMN hitl.model_overview.score_tolerance IS
	'option score_tolerance: smallest change of confidence or uncertainty that rewrites a row';
COMMENT ON COLUMN hitl.model_overview.c IS 'option C of logistic regression: inverse strength of the L2 penalty';
COMMENT ON COLUMN hitl.model_overview.max_iter IS 'option max_iter of logistic regression';
COMMENT ON COLUMN hitl.model_overview.tol IS 'option tol of logistic regression';
COMMENT ON COLUMN hitl.model_overview.alpha IS 'option alpha of naive Bayes: additive smoothing';
COMMENT ON COLUMN hitl.model_overview.text_config IS 'option text_config of models with text: the text search configuration';
COMMENT ON COLUMN hitl.model_overview.bigrams IS 'option bigrams of models with text';
COMMENT ON COLUMN hitl.model_overview.buckets IS 'option buckets of models with text: hash buckets';
COMMENT ON COLUMN hitl.model_overview.max_text_bytes IS 'option max_text_bytes of models with text';
COMMENT ON COLUMN hitl.model_overview.options_text IS 'every option, as the text of a JSON object';
COMMENT ON COLUMN hitl.model_overview.stop_suggested IS
	'true when the predictions of every version over the last stop_window labels agreed with the previous version''s beyond stop_kappa: labeling may stop; NULL before stop_window labels since the first version, or when a kappa is missing';
COMMENT ON COLUMN hitl.model_overview.stop_kappa IS
	'option stop_kappa: the kappa above which stop_suggested turns true (0.99 when absent)';
COMMENT ON COLUMN hitl.model_overview.stop_window IS
	'option stop_window: the labels over which every version''s kappa must be above stop_kappa (100 when absent)';
COMMENT ON COLUMN hitl.model_overview.stop_kappa_previous IS
	'the current version''s kappa against the predictions of the version before it on the unlabeled rows';
COMMENT ON COLUMN hitl.model_overview.stop_mean_uncertainty IS
	'the current version''s mean uncertainty on the unlabeled rows it was compared on';
GRANT SELECT ON hitl.model_overview TO PUBLIC;

CREATE VIEW hitl.model_metrics WITH (security_invoker = true) AS
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
COMMENT ON VIEW hitl.model_metrics IS
	'every trained version of the models the reader sees, with its metrics in plain columns (NULL where a metric does not apply), for clients and BI tools';
COMMENT ON COLUMN hitl.model_metrics.model IS 'the model';
COMMENT ON COLUMN hitl.model_metrics.version IS 'the version';
COMMENT ON COLUMN hitl.model_metrics.is_current IS 'whether it is the model''s current version';
COMMENT ON COLUMN hitl.model_metrics.algorithm IS 'logistic or naive_bayes';
COMMENT ON COLUMN hitl.model_metrics.trained_at IS 'when it was trained';
COMMENT ON COLUMN hitl.model_metrics.train_ms IS 'milliseconds the training took';
COMMENT ON COLUMN hitl.model_metrics.n_labeled IS 'labeled rows it was trained on';
COMMENT ON COLUMN hitl.model_metrics.n_classes IS 'classes';
COMMENT ON COLUMN hitl.model_metrics.classes IS 'the classes, in order, separated by a comma and a space';
COMMENT ON COLUMN hitl.model_metrics.n_features IS 'features (for text models: numeric features plus vocabulary)';
COMMENT ON COLUMN hitl.model_metrics.n_dense_features IS 'numeric features (text and naive Bayes models)';
COMMENT ON COLUMN hitl.model_metrics.vocabulary_size IS 'text buckets with parameters (text and naive Bayes models)';
COMMENT ON COLUMN hitl.model_metrics.n_documents IS 'rows the idf was computed over (0 without text)';
COMMENT ON COLUMN hitl.model_metrics.nnz IS 'values stored for the labeled rows (full trainings of text and naive Bayes models)';
COMMENT ON COLUMN hitl.model_metrics.iterations IS 'solver iterations (logistic regression)';
COMMENT ON COLUMN hitl.model_metrics.converged IS 'whether the solver converged (logistic regression)';
COMMENT ON COLUMN hitl.model_metrics.warm_start IS 'whether the solver started from the previous version (logistic regression)';
COMMENT ON COLUMN hitl.model_metrics.objective IS 'the penalized loss at the solution (logistic regression)';
COMMENT ON COLUMN hitl.model_metrics.train_accuracy IS 'accuracy on the training rows';
COMMENT ON COLUMN hitl.model_metrics.train_macro_f1 IS 'macro-averaged F1 on the training rows';
COMMENT ON COLUMN hitl.model_metrics.train_log_loss IS 'log loss on the training rows';
COMMENT ON COLUMN hitl.model_metrics.cv_folds IS 'folds of the cross-validation (NULL: none)';
COMMENT ON COLUMN hitl.model_metrics.cv_accuracy IS 'cross-validated accuracy';
COMMENT ON COLUMN hitl.model_metrics.cv_macro_f1 IS 'cross-validated macro-averaged F1';
COMMENT ON COLUMN hitl.model_metrics.cv_log_loss IS 'cross-validated log loss';
COMMENT ON COLUMN hitl.model_metrics.calibration_method IS
	'calibration of the probabilities fitted on the out-of-fold predictions: temperature or none (NULL: no cross-validation)';
COMMENT ON COLUMN hitl.model_metrics.temperature IS
	'the temperature the probabilities are divided by (1 when the method is none)';
COMMENT ON COLUMN hitl.model_metrics.ece IS
	'expected calibration error of the calibrated out-of-fold probabilities (15 equal-width bins)';
COMMENT ON COLUMN hitl.model_metrics.ece_uncalibrated IS
	'expected calibration error of the out-of-fold probabilities before calibration';
COMMENT ON COLUMN hitl.model_metrics.brier IS
	'Brier score of the calibrated out-of-fold probabilities';
COMMENT ON COLUMN hitl.model_metrics.evaluation_accuracy IS
	'accuracy on the evaluation rows labeled (drawn at random, option evaluation_rate); NULL when none was';
COMMENT ON COLUMN hitl.model_metrics.evaluation_low IS
	'lower bound of the Wilson 95% interval of evaluation_accuracy';
COMMENT ON COLUMN hitl.model_metrics.evaluation_high IS
	'upper bound of the Wilson 95% interval of evaluation_accuracy';
COMMENT ON COLUMN hitl.model_metrics.evaluation_rows IS
	'evaluation rows labeled that evaluation_accuracy rests on (NULL for an incremental update)';
COMMENT ON COLUMN hitl.model_metrics.alpha IS 'the smoothing alpha at training (naive Bayes)';
COMMENT ON COLUMN hitl.model_metrics.incremental IS 'whether it is an incremental update (naive Bayes)';
COMMENT ON COLUMN hitl.model_metrics.base_version IS 'the version an incremental update updated';
COMMENT ON COLUMN hitl.model_metrics.changes IS 'label log entries an incremental update applied';
COMMENT ON COLUMN hitl.model_metrics.fallback IS
	'why a training asked to be incremental trained from scratch (naive Bayes)';
COMMENT ON COLUMN hitl.model_metrics.metrics_text IS 'every metric, as the text of a JSON object';
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
GRANT SELECT ON hitl.model_metrics TO PUBLIC;

CREATE VIEW hitl.review_candidates WITH (security_invoker = true) AS
	SELECT q.model::varchar(50) AS model,
		   q.rank,
		   q.row_key::text AS row_key,
		   CASE WHEN (SELECT count(*) FROM jsonb_object_keys(q.row_key)) = 1
				THEN (SELECT e.value FROM jsonb_each_text(q.row_key) e) END AS key_value,
		   q.prediction,
		   q.confidence,
		   q.uncertainty
	FROM hitl.review_queue q;
COMMENT ON VIEW hitl.review_candidates IS
	'hitl.review_queue in plain columns, the row key as text, for clients and BI tools';
COMMENT ON COLUMN hitl.review_candidates.model IS 'the model';
COMMENT ON COLUMN hitl.review_candidates.rank IS 'the row''s rank in the model''s queue, 1 most uncertain';
COMMENT ON COLUMN hitl.review_candidates.row_key IS
	'the row''s primary key, as the text of a JSON object: {"id": 42}';
COMMENT ON COLUMN hitl.review_candidates.key_value IS
	'the value of the primary key as text when it has one column, NULL otherwise';
COMMENT ON COLUMN hitl.review_candidates.prediction IS 'the predicted class, as text';
COMMENT ON COLUMN hitl.review_candidates.confidence IS 'the probability of the predicted class';
COMMENT ON COLUMN hitl.review_candidates.uncertainty IS 'the uncertainty of the model''s strategy';
GRANT SELECT ON hitl.review_candidates TO PUBLIC;

/*
 * The feature values of one model's review candidates, for a role that can
 * read its table (nothing otherwise), one row per feature and candidate: an
 * array feature gives a row per element, numbered from 1.  Numbers and
 * booleans (1 or 0) are also given as float8.  It runs as its caller, and
 * joins the queue to the table as the review views do.
 *
 * It runs no code of the table's owner: a feature column is read only when
 * its type, now, is one hitl takes as a feature (the owner may have changed
 * it since, to a type of their own whose casts run as whoever reads, a
 * superuser's BI tool included), and only through built-in casts; any
 * other type gives NULL values.  A broken model, a key of a type that is
 * not built in, or a column gone give no rows.
 */
CREATE FUNCTION hitl._review_features(model text)
RETURNS TABLE (rank integer, row_key text, key_value text, feature text,
			   feature_number integer, element integer, value_text text, value_number float8)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m hitl.models;
	parts text[] := '{}';
	col name;
	i integer := 0;
	typ regtype;
BEGIN
	SELECT * INTO m FROM hitl.models WHERE name = model;
	IF NOT FOUND OR m.status = 'broken'
	   OR NOT coalesce(has_table_privilege(m.source, 'SELECT'), false) THEN
		RETURN;
	END IF;
	FOREACH col IN ARRAY m.feature_columns LOOP
		i := i + 1;
		/* the column's exact type now, not its category: a type the table's
		   owner made (or changed the column to) may bring casts of its own */
		typ := hitl._column_type(m.source, col);
		parts := parts || CASE
			WHEN typ IN ('real[]'::regtype, 'double precision[]'::regtype) THEN format(
				'SELECT %L::text, %s, e.o::integer, e.v::text, e.v::float8
				 FROM unnest(s.%I) WITH ORDINALITY e(v, o)', col, i, col)
			WHEN typ = 'boolean'::regtype THEN format(
				'SELECT %L::text, %s, NULL::integer, s.%I::text, s.%I::integer::float8', col, i, col, col)
			WHEN typ IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype, 'real'::regtype,
						 'double precision'::regtype, 'numeric'::regtype) THEN format(
				'SELECT %L::text, %s, NULL::integer, s.%I::text, s.%I::float8', col, i, col, col)
			WHEN typ IN ('text'::regtype, 'character varying'::regtype) THEN format(
				'SELECT %L::text, %s, NULL::integer, s.%I::text, NULL::float8', col, i, col)
			ELSE format('SELECT %L::text, %s, NULL::integer, NULL::text, NULL::float8', col, i)
			END;
	END LOOP;
	/*
	 * A distributed table (section 29): the candidates are joined to the
	 * shards on their nodes first, their features taken apart after, on
	 * the coordinator.  The rank and key are carried under names no table
	 * column takes (the keys of hitl.queue's rows are jsonb objects).
	 */
	IF hitl._citus_distribution_column(m.source) IS NOT NULL THEN
		RETURN QUERY EXECUTE format(
			'WITH s AS MATERIALIZED (
				SELECT q.rank AS "hitl rank", q.row_key AS "hitl row_key", t.*
				FROM (SELECT * FROM hitl.queue q WHERE q.model = $1 OFFSET 0) q
				JOIN %s t ON %s AND t.%I IS NULL)
			 SELECT s."hitl rank", s."hitl row_key"::text, %s, f.feature, f.feature_number, f.element,
					f.value_text, f.value_number
			 FROM s CROSS JOIN LATERAL (%s) f(feature, feature_number, element, value_text, value_number)
			 ORDER BY s."hitl rank", f.feature_number, f.element',
			m.source, hitl._key_match(m.source, m.key_columns, 't', 'q.row_key'), m.label_column,
			CASE WHEN cardinality(m.key_columns) = 1
				 THEN format('s.%I::text', m.key_columns[1]) ELSE 'NULL::text' END,
			array_to_string(parts, ' UNION ALL '))
		USING model;
		RETURN;
	END IF;
	BEGIN
		RETURN QUERY EXECUTE format(
			'SELECT q.rank, q.row_key::text, %s, f.feature, f.feature_number, f.element,
					f.value_text, f.value_number
			 FROM hitl.queue q
			 CROSS JOIN LATERAL (SELECT t.* FROM %s t WHERE %s AND t.%I IS NULL OFFSET 0) s
			 CROSS JOIN LATERAL (%s) f(feature, feature_number, element, value_text, value_number)
			 WHERE q.model = $1
			 ORDER BY q.rank, f.feature_number, f.element',
			CASE WHEN cardinality(m.key_columns) = 1
				 THEN format('s.%I::text', m.key_columns[1]) ELSE 'NULL::text' END,
			m.source, hitl._key_match(m.source, m.key_columns, 't', 'q.row_key'), m.label_column,
			array_to_string(parts, ' UNION ALL '))
		USING model;
	EXCEPTION WHEN feature_not_supported OR undefined_column THEN
		/* a key of a type that is not built in, a column gone: no rows */
		RETURN;
	END;
END
$$;
COMMENT ON FUNCTION hitl._review_features(text) IS
	'internal: the feature values of one model''s unlabeled review candidates, one row per feature (per element of an array)';

CREATE VIEW hitl.review_features WITH (security_invoker = true) AS
	SELECT m.name::varchar(50) AS model, f.rank, f.row_key, f.key_value,
		   f.feature::varchar(63) AS feature, f.feature_number,
		   f.element, f.value_text, f.value_number
	FROM hitl.models m
	CROSS JOIN LATERAL hitl._review_features(m.name) f;
COMMENT ON VIEW hitl.review_features IS
	'the feature values of the unlabeled review candidates of every model whose table the reader can read, one row per feature (per element of an array feature), for clients and BI tools';
COMMENT ON COLUMN hitl.review_features.model IS 'the model whose candidate the row is';
COMMENT ON COLUMN hitl.review_features.rank IS 'the candidate''s rank, as in hitl.review_candidates';
COMMENT ON COLUMN hitl.review_features.row_key IS 'the candidate''s key, as in hitl.review_candidates';
COMMENT ON COLUMN hitl.review_features.key_value IS
	'the candidate''s one-column key value, as in hitl.review_candidates';
COMMENT ON COLUMN hitl.review_features.feature IS 'the feature column';
COMMENT ON COLUMN hitl.review_features.feature_number IS 'its position among the model''s feature columns, from 1';
COMMENT ON COLUMN hitl.review_features.element IS
	'for an array feature, the element''s position from 1; NULL for other features';
COMMENT ON COLUMN hitl.review_features.value_text IS 'the value (of the element), as text';
COMMENT ON COLUMN hitl.review_features.value_number IS
	'the value as float8 for numbers, 1 or 0 for booleans, NULL for text';
GRANT SELECT ON hitl.review_features TO PUBLIC;

/*
 * The coefficients of the logistic regression versions, one row per class
 * vector and parameter, as hitl.model_versions lays them out: per class
 * (one vector, of the second class, for two classes), the weights of the
 * standardized numeric features (feature_names), then of the vocabulary's
 * buckets, then the intercept.  Naive Bayes versions have no coefficients,
 * and no rows here.
 */
CREATE VIEW hitl.model_coefficients WITH (security_invoker = true) AS
	SELECT v.model::varchar(50) AS model,
		   v.version,
		   CASE WHEN cardinality(v.classes) = 2 THEN v.classes[2]
				ELSE v.classes[c.vector + 1] END AS class,
		   p.position,
		   (CASE WHEN p.position <= s.d THEN 'numeric'
				 WHEN p.position <= s.d + s.nv THEN 'text'
				 ELSE 'intercept' END)::varchar(20) AS kind,
		   CASE WHEN p.position <= s.d THEN v.feature_names[p.position]
				WHEN p.position <= s.d + s.nv
				THEN 'text bucket ' || v.vocabulary[p.position - s.d]
				ELSE 'intercept' END AS feature,
		   CASE WHEN p.position > s.d AND p.position <= s.d + s.nv
				THEN v.vocabulary[p.position - s.d] END AS bucket,
		   v.feature_means[p.position] AS feature_mean,
		   v.feature_scales[p.position] AS feature_scale,
		   v.coefficients[c.vector * (s.d + s.nv + 1) + p.position] AS coefficient
	FROM hitl.model_versions v
	CROSS JOIN LATERAL (SELECT cardinality(v.feature_names) AS d,
							   coalesce(cardinality(v.vocabulary), 0) AS nv) s
	CROSS JOIN LATERAL generate_series(0, cardinality(v.coefficients) / (s.d + s.nv + 1) - 1) c(vector)
	CROSS JOIN LATERAL generate_series(1, s.d + s.nv + 1) p(position);
COMMENT ON VIEW hitl.model_coefficients IS
	'the coefficients of every logistic regression version of the models the reader sees, one row per class and parameter, for clients and BI tools';
COMMENT ON COLUMN hitl.model_coefficients.model IS 'the model';
COMMENT ON COLUMN hitl.model_coefficients.version IS 'the version';
COMMENT ON COLUMN hitl.model_coefficients.class IS
	'the class whose score the coefficient weighs (for two classes, the second: a positive weight favours it)';
COMMENT ON COLUMN hitl.model_coefficients.position IS
	'the parameter''s position in the class''s vector, from 1: numeric features, text buckets, intercept';
COMMENT ON COLUMN hitl.model_coefficients.kind IS 'numeric, text (a vocabulary bucket) or intercept';
COMMENT ON COLUMN hitl.model_coefficients.feature IS
	'the numeric feature (an array feature''s element as name[i]), text bucket <n>, or intercept';
COMMENT ON COLUMN hitl.model_coefficients.bucket IS 'the vocabulary bucket of a text parameter';
COMMENT ON COLUMN hitl.model_coefficients.feature_mean IS
	'the mean a numeric feature is centred by before it is weighed';
COMMENT ON COLUMN hitl.model_coefficients.feature_scale IS
	'the scale a numeric feature is divided by before it is weighed';
COMMENT ON COLUMN hitl.model_coefficients.coefficient IS
	'the weight of the standardized feature (of the bucket''s tf-idf value for text), or the intercept';
GRANT SELECT ON hitl.model_coefficients TO PUBLIC;
