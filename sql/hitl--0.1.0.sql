/*
 * hitl: human-in-the-loop machine learning (active learning) in PostgreSQL.
 *
 * Install script.  Model state lives in ordinary tables of schema hitl, so it
 * is WAL-logged, replicated and kept by pg_dump.  Every table has row-level
 * security: a role sees the models it owns or whose source table it can read,
 * and changes the models it owns or whose source table it can update.
 */

\echo Use "CREATE EXTENSION hitl" to load this file. \quit

/* ------------------------------------------------------------------------
 * Tables
 * ------------------------------------------------------------------------ */

CREATE TABLE hitl.models (
	name				text PRIMARY KEY
		CHECK (name <> '' AND octet_length(name) <= 50),
	source				regclass NOT NULL,
	label_column		name NOT NULL,
	feature_columns		name[] NOT NULL,
	key_columns			name[] NOT NULL,
	prediction_column	name NOT NULL,
	confidence_column	name NOT NULL,
	uncertainty_column	name NOT NULL,
	added_columns		name[] NOT NULL DEFAULT '{}',
	review_view			text NOT NULL,
	algorithm			text NOT NULL DEFAULT 'logistic'
		CHECK (algorithm IN ('logistic', 'naive_bayes')),
	strategy			text NOT NULL DEFAULT 'margin'
		CHECK (strategy IN ('margin', 'least_confidence', 'entropy')),
	options				jsonb NOT NULL DEFAULT '{}',
	owner				regrole NOT NULL DEFAULT current_user::regrole,
	status				text NOT NULL DEFAULT 'waiting_for_labels'
		CHECK (status IN ('waiting_for_labels', 'trained', 'scored', 'failed', 'broken')),
	current_version		integer,
	scored_version		integer,
	processed_labels	bigint NOT NULL DEFAULT 0,
	last_error			text,
	failed_at			timestamptz,
	failures			integer NOT NULL DEFAULT 0,
	retry_at			timestamptz,
	created_at			timestamptz NOT NULL DEFAULT now(),
	trained_at			timestamptz,
	scored_at			timestamptz
);

COMMENT ON TABLE hitl.models IS
	'hitl models: configuration and status, one row per model';

CREATE TABLE hitl.model_versions (
	model				text NOT NULL REFERENCES hitl.models (name) ON DELETE CASCADE,
	version				integer NOT NULL CHECK (version > 0),
	trained_at			timestamptz NOT NULL DEFAULT now(),
	algorithm			text NOT NULL,
	n_labeled			integer NOT NULL,
	classes				text[] NOT NULL,
	feature_names		text[] NOT NULL,
	feature_dims		integer[] NOT NULL,
	feature_means		float8[] NOT NULL,
	feature_scales		float8[] NOT NULL,
	coefficients		float8[] NOT NULL,
	metrics				jsonb NOT NULL DEFAULT '{}',
	train_ms			float8 NOT NULL,
	/* text models: the buckets met in the table and their idf */
	idf_buckets			integer[],
	idf					float8[],
	n_documents			bigint,
	/* text models and naive Bayes: the text buckets with parameters */
	vocabulary			integer[],
	/* naive Bayes: rows per class, and the non-zero per-class feature sums */
	class_counts		float8[],
	count_index			bigint[],
	counts				float8[],
	label_snapshot		pg_snapshot,
	PRIMARY KEY (model, version)
);

COMMENT ON TABLE hitl.model_versions IS
	'every trained version of every hitl model, with its coefficients and metrics';

/*
 * The ranked candidates of each model's review queue: the most uncertain
 * unlabeled rows found by the last scoring, by rank.  The review views join
 * it to the source table by primary key, so no index on a score column of
 * the (large) source table is ever needed.
 */
CREATE TABLE hitl.queue (
	model				text NOT NULL REFERENCES hitl.models (name) ON DELETE CASCADE,
	rank				integer NOT NULL,
	row_key				jsonb NOT NULL,
	prediction			text NOT NULL,
	confidence			float8 NOT NULL,
	uncertainty			float8 NOT NULL,
	version				integer NOT NULL,
	PRIMARY KEY (model, rank)
);

COMMENT ON TABLE hitl.queue IS
	'ranked review candidates of each model (most uncertain unlabeled rows first)';

SELECT pg_catalog.pg_extension_config_dump('hitl.models', '');
SELECT pg_catalog.pg_extension_config_dump('hitl.model_versions', '');
SELECT pg_catalog.pg_extension_config_dump('hitl.queue', '');

/* ------------------------------------------------------------------------
 * Row-level security
 * ------------------------------------------------------------------------ */

ALTER TABLE hitl.models ENABLE ROW LEVEL SECURITY;
ALTER TABLE hitl.model_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE hitl.queue ENABLE ROW LEVEL SECURITY;

CREATE POLICY models_read ON hitl.models FOR SELECT
	USING (pg_has_role(owner, 'USAGE') OR has_table_privilege(source, 'SELECT'));
CREATE POLICY models_insert ON hitl.models FOR INSERT
	WITH CHECK (pg_has_role(owner, 'USAGE') AND has_table_privilege(source, 'UPDATE'));
CREATE POLICY models_update ON hitl.models FOR UPDATE
	USING (pg_has_role(owner, 'USAGE') OR has_table_privilege(source, 'UPDATE'));
CREATE POLICY models_delete ON hitl.models FOR DELETE
	USING (pg_has_role(owner, 'USAGE'));

CREATE POLICY versions_read ON hitl.model_versions FOR SELECT
	USING (EXISTS (SELECT 1 FROM hitl.models m WHERE m.name = model));
CREATE POLICY versions_write ON hitl.model_versions FOR ALL
	USING (EXISTS (SELECT 1 FROM hitl.models m WHERE m.name = model
				   AND (pg_has_role(m.owner, 'USAGE')
						OR has_table_privilege(m.source, 'UPDATE'))));

CREATE POLICY queue_read ON hitl.queue FOR SELECT
	USING (EXISTS (SELECT 1 FROM hitl.models m WHERE m.name = model));
CREATE POLICY queue_write ON hitl.queue FOR ALL
	USING (EXISTS (SELECT 1 FROM hitl.models m WHERE m.name = model
				   AND (pg_has_role(m.owner, 'USAGE')
						OR has_table_privilege(m.source, 'UPDATE'))));

GRANT USAGE ON SCHEMA hitl TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON hitl.models, hitl.model_versions, hitl.queue TO PUBLIC;

/*
 * Roles that may update a model without owning it (they can update its
 * table) may change its options, strategy and status, not what it is: its
 * owner, table, columns or view.  An owner may give the model only to a role
 * it is a member of.  Nobody changes the algorithm or the text options that
 * define the feature space (text_config, bigrams, buckets, max_text_bytes);
 * other options are checked as create_model checks them.
 */
CREATE FUNCTION hitl._guard_model_update() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF (NEW.name, NEW.source, NEW.label_column, NEW.feature_columns, NEW.key_columns,
		NEW.prediction_column, NEW.confidence_column, NEW.uncertainty_column,
		NEW.added_columns, NEW.review_view, NEW.algorithm, NEW.owner, NEW.created_at)
		IS DISTINCT FROM
	   (OLD.name, OLD.source, OLD.label_column, OLD.feature_columns, OLD.key_columns,
		OLD.prediction_column, OLD.confidence_column, OLD.uncertainty_column,
		OLD.added_columns, OLD.review_view, OLD.algorithm, OLD.owner, OLD.created_at)
	   AND NOT (pg_has_role(OLD.owner, 'USAGE') AND pg_has_role(NEW.owner, 'USAGE')) THEN
		RAISE EXCEPTION 'permission denied to change the definition of model "%"', OLD.name
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Only the model''s owner changes its owner, table, columns or view; others may change options, strategy and status.';
	END IF;
	/* the algorithm and the text options define what the versions hold */
	IF NEW.algorithm IS DISTINCT FROM OLD.algorithm THEN
		RAISE EXCEPTION 'the algorithm of model "%" cannot change', OLD.name
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'Its versions hold the parameters of its algorithm.',
				  HINT = 'Create another model with the other algorithm.';
	END IF;
	IF (NEW.options->'text_config', NEW.options->'bigrams', NEW.options->'buckets',
		NEW.options->'max_text_bytes')
		IS DISTINCT FROM
	   (OLD.options->'text_config', OLD.options->'bigrams', OLD.options->'buckets',
		OLD.options->'max_text_bytes') THEN
		RAISE EXCEPTION 'the text options of model "%" cannot change', OLD.name
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'text_config, bigrams, buckets and max_text_bytes define the features its versions were trained on.',
				  HINT = 'Create another model with the new options.';
	END IF;
	/* other options may change, within their ranges */
	IF NEW.options IS DISTINCT FROM OLD.options THEN
		NEW.options := hitl._resolve_options(NEW.options, NEW.algorithm, OLD.options ? 'text_config');
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION hitl._guard_model_update() IS
	'internal: keeps the definition of a model in its owner''s hands';

CREATE TRIGGER guard_model_update BEFORE UPDATE ON hitl.models
	FOR EACH ROW EXECUTE FUNCTION hitl._guard_model_update();

/* Does a model of that name exist, whether or not the current role may see it? */
CREATE FUNCTION hitl._model_exists(model text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT 1 FROM hitl.models WHERE name = model)
$$;
COMMENT ON FUNCTION hitl._model_exists(text) IS
	'internal: whether a model name is taken, seen past row-level security';

/*
 * Analyze hitl.queue when its statistics count fewer rows than a scoring
 * just stored: the review views then plan an ordered index scan that stops
 * after the rows asked for, instead of reading every candidate and sorting.
 */
CREATE FUNCTION hitl._analyze_queue(stored bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF (SELECT c.reltuples FROM pg_class c WHERE c.oid = 'hitl.queue'::regclass) < stored THEN
		ANALYZE hitl.queue;
	END IF;
END
$$;
COMMENT ON FUNCTION hitl._analyze_queue(bigint) IS
	'internal: keeps the statistics of hitl.queue current enough for the review views';

/* The output columns every model of a table writes, seen past row-level security */
CREATE FUNCTION hitl._output_columns(source regclass)
RETURNS TABLE (model text, output_column name)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT m.name, c.col
	FROM hitl.models m,
		 unnest(ARRAY[m.prediction_column, m.confidence_column, m.uncertainty_column]) AS c(col)
	WHERE m.source = _output_columns.source
$$;
COMMENT ON FUNCTION hitl._output_columns(regclass) IS
	'internal: the output columns of every model of a table';

/* ------------------------------------------------------------------------
 * C functions
 * ------------------------------------------------------------------------ */

CREATE FUNCTION hitl.train(model text, incremental boolean DEFAULT false) RETURNS integer
	AS 'MODULE_PATHNAME', 'hitl_train' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION hitl.train(text, boolean) IS
	'train a new version of a model on the labeled rows of its table; returns the version (incremental: a naive Bayes model only applies the label changes since its current version)';

CREATE FUNCTION hitl.text_terms(document text, config regconfig DEFAULT 'simple',
								bigrams boolean DEFAULT false) RETURNS text[]
	AS 'MODULE_PATHNAME', 'hitl_text_terms' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION hitl.text_terms(text, regconfig, boolean) IS
	'the terms a text model hashes for a document: its lexemes in order, then its word bigrams';

CREATE FUNCTION hitl.score(model text) RETURNS bigint
	AS 'MODULE_PATHNAME', 'hitl_score' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION hitl.score(text) IS
	'write prediction, confidence and uncertainty of the current version into every row that changed; returns rows written';

CREATE FUNCTION hitl.predict(model text, "row" record) RETURNS text
	AS 'MODULE_PATHNAME', 'hitl_predict' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION hitl.predict(text, record) IS
	'predicted class of a row of the model''s table, as text';

CREATE FUNCTION hitl.predict_proba(model text, "row" record) RETURNS jsonb
	AS 'MODULE_PATHNAME', 'hitl_predict_proba' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION hitl.predict_proba(text, record) IS
	'class probabilities of a row of the model''s table, as a jsonb object {class: probability}';

CREATE FUNCTION hitl._invalidate_cache() RETURNS trigger
	AS 'MODULE_PATHNAME', 'hitl_invalidate_cache' LANGUAGE C;
COMMENT ON FUNCTION hitl._invalidate_cache() IS
	'internal: tells every backend to drop its cached models';

CREATE TRIGGER invalidate_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON hitl.model_versions FOR EACH STATEMENT EXECUTE FUNCTION hitl._invalidate_cache();
CREATE TRIGGER invalidate_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON hitl.models FOR EACH STATEMENT EXECUTE FUNCTION hitl._invalidate_cache();

/* ------------------------------------------------------------------------
 * Helpers (internal)
 * ------------------------------------------------------------------------ */

/* SQL condition matching alias s of the source table to a row_key jsonb expression */
CREATE FUNCTION hitl._key_match(source regclass, key_columns name[], s text, row_key text)
RETURNS text LANGUAGE sql STABLE AS $$
	SELECT string_agg(format('%I.%I = (%s ->> %L)::%s', s, k, row_key, k,
							 format_type(a.atttypid, a.atttypmod)), ' AND ' ORDER BY o)
	FROM unnest(key_columns) WITH ORDINALITY AS u(k, o)
	JOIN pg_attribute a ON a.attrelid = source AND a.attname = u.k
$$;
COMMENT ON FUNCTION hitl._key_match(regclass, name[], text, text) IS
	'internal: join condition from a source table alias to a row key';

/* Type of a column, or NULL when it does not exist */
CREATE FUNCTION hitl._column_type(source regclass, col name)
RETURNS regtype LANGUAGE sql STABLE AS $$
	SELECT a.atttypid::regtype FROM pg_attribute a
	WHERE a.attrelid = source AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped
$$;
COMMENT ON FUNCTION hitl._column_type(regclass, name) IS
	'internal: type of a column of a table, NULL when it has none of that name';

/*
 * Options with their defaults filled in, after checking every key and value.
 * Which options apply, and some defaults, depend on the algorithm and on
 * whether the model has text feature columns.
 */
CREATE FUNCTION hitl._resolve_options(options jsonb, algorithm text DEFAULT 'logistic',
									  has_text boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	common constant text[] := ARRAY['batch_size', 'cv_folds', 'min_labels', 'queue_size',
									'score_tolerance'];
	logistic_only constant text[] := ARRAY['C', 'max_iter', 'tol'];
	text_only constant text[] := ARRAY['bigrams', 'buckets', 'max_text_bytes', 'text_config'];
	defaults jsonb := jsonb_build_object(
		'min_labels', 10, 'cv_folds', 5, 'score_tolerance', 1e-3, 'queue_size', 1000);
	known text[] := common;
	k text;
	v jsonb;
	n numeric;
BEGIN
	IF options IS NULL THEN
		options := '{}';
	END IF;
	IF jsonb_typeof(options) <> 'object' THEN
		RAISE EXCEPTION 'options must be a jsonb object'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass options like ''{"C": 0.5, "min_labels": 20}''.';
	END IF;
	IF algorithm = 'logistic' THEN
		known := known || logistic_only;
		/* L-BFGS on hashed text takes more, cheaper iterations than Newton */
		defaults := defaults || CASE WHEN has_text
			THEN jsonb_build_object('C', 1.0, 'max_iter', 1000, 'tol', 1e-6)
			ELSE jsonb_build_object('C', 1.0, 'max_iter', 100, 'tol', 1e-8) END;
	ELSE
		known := known || ARRAY['alpha'];
		defaults := defaults || jsonb_build_object('alpha', 1.0);
	END IF;
	IF has_text THEN
		known := known || text_only;
		defaults := defaults || jsonb_build_object('text_config', 'simple', 'bigrams', false,
												   'buckets', 262144, 'max_text_bytes', 1048576);
	END IF;

	FOR k, v IN SELECT * FROM jsonb_each(options) LOOP
		IF NOT k = ANY (known) THEN
			IF k = ANY (text_only) THEN
				RAISE EXCEPTION 'option "%" applies only to models with text feature columns', k
					USING ERRCODE = 'invalid_parameter_value';
			ELSIF k = ANY (logistic_only) OR k = 'alpha' THEN
				RAISE EXCEPTION 'option "%" does not apply to algorithm %', k, algorithm
					USING ERRCODE = 'invalid_parameter_value',
						  HINT = CASE WHEN k = 'alpha' THEN 'alpha is the smoothing of naive_bayes.'
									  ELSE 'C, max_iter and tol are settings of logistic.' END;
			END IF;
			RAISE EXCEPTION 'unknown option "%"', k
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Known options: '
							 || array_to_string(ARRAY(SELECT o FROM unnest(known) AS o
													  ORDER BY o COLLATE "C"), ', ')
							 || '.';
		END IF;
		IF k = 'text_config' THEN
			IF jsonb_typeof(v) <> 'string' THEN
				RAISE EXCEPTION 'option "text_config" must be a string'
					USING ERRCODE = 'invalid_parameter_value',
						  HINT = 'Name a text search configuration, as in {"text_config": "english"}.';
			END IF;
			/* raises 42704 for an unknown configuration; stores its canonical name */
			options := options || jsonb_build_object('text_config', (v #>> '{}')::regconfig::text);
			CONTINUE;
		END IF;
		IF k = 'bigrams' THEN
			IF jsonb_typeof(v) <> 'boolean' THEN
				RAISE EXCEPTION 'option "bigrams" must be true or false'
					USING ERRCODE = 'invalid_parameter_value';
			END IF;
			CONTINUE;
		END IF;
		IF jsonb_typeof(v) <> 'number' THEN
			RAISE EXCEPTION 'option "%" must be a number', k
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		n := v::text::numeric;
		IF (k IN ('C', 'alpha') AND n <= 0)
			OR (k = 'tol' AND n <= 0)
			OR (k = 'score_tolerance' AND (n < 0 OR n >= 1))
			OR (k = 'min_labels' AND (n < 2 OR n > 1000000000))
			OR (k = 'max_iter' AND (n < 1 OR n > 10000))
			OR (k = 'cv_folds' AND (n < 0 OR n = 1 OR n > 20))
			OR (k = 'queue_size' AND (n < 1 OR n > 100000))
			OR (k = 'batch_size' AND (n < 100 OR n > 1000000))
			OR (k = 'buckets' AND CASE WHEN n < 16 OR n > 16777216 OR n <> trunc(n) THEN true
									   ELSE (n::bigint & (n::bigint - 1)) <> 0 END)
			OR (k = 'max_text_bytes' AND (n < 1024 OR n > 1073741823))
			OR (k IN ('min_labels', 'max_iter', 'cv_folds', 'queue_size', 'batch_size',
					  'buckets', 'max_text_bytes') AND n <> trunc(n))
		THEN
			RAISE EXCEPTION 'invalid value % for option "%"', v, k
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = CASE k
						WHEN 'C' THEN 'C must be greater than 0.'
						WHEN 'alpha' THEN 'alpha must be greater than 0.'
						WHEN 'tol' THEN 'tol must be greater than 0.'
						WHEN 'score_tolerance' THEN 'score_tolerance must be at least 0 and below 1.'
						WHEN 'min_labels' THEN 'min_labels must be an integer of at least 2.'
						WHEN 'max_iter' THEN 'max_iter must be an integer from 1 to 10000.'
						WHEN 'cv_folds' THEN 'cv_folds must be 0 (no cross-validation) or an integer from 2 to 20.'
						WHEN 'queue_size' THEN 'queue_size must be an integer from 1 to 100000.'
						WHEN 'buckets' THEN 'buckets must be a power of two from 16 to 16777216 (2^4 to 2^24).'
						WHEN 'max_text_bytes' THEN 'max_text_bytes must be an integer from 1024 to 1073741823.'
						ELSE 'batch_size must be an integer from 100 to 1000000.' END;
		END IF;
	END LOOP;
	RETURN defaults || options;
END
$$;
COMMENT ON FUNCTION hitl._resolve_options(jsonb, text, boolean) IS
	'internal: checks model options and fills in their defaults';

/* ------------------------------------------------------------------------
 * create_model / drop_model
 * ------------------------------------------------------------------------ */

/*
 * (Re)create the review view of a model: the unlabeled rows among its ranked
 * candidates, with the source table's columns and the rank, joined to the
 * source by primary key (OFFSET 0 keeps that join a lookup per candidate).
 */
CREATE FUNCTION hitl._create_review_view(model text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m hitl.models;
	rank_column name;
BEGIN
	SELECT * INTO STRICT m FROM hitl.models WHERE name = model;
	/* the rank column is "rank", or "queue_rank" when the table has a "rank" */
	rank_column := 'rank';
	IF hitl._column_type(m.source, 'rank') IS NOT NULL THEN
		rank_column := 'queue_rank';
		IF hitl._column_type(m.source, 'queue_rank') IS NOT NULL THEN
			RAISE EXCEPTION 'table % has columns "rank" and "queue_rank"', m.source
				USING ERRCODE = 'duplicate_column',
					  DETAIL = 'The review view adds a rank column under one of these names.',
					  HINT = 'Rename one of the two columns.';
		END IF;
	END IF;
	EXECUTE format($v$
		CREATE VIEW %s AS
		SELECT s.*, q.rank AS %I
		FROM hitl.queue q
		CROSS JOIN LATERAL (
			SELECT t.* FROM %s t
			WHERE %s AND t.%I IS NULL
			OFFSET 0) s
		WHERE q.model = %L
		ORDER BY q.rank$v$,
		m.review_view, rank_column, m.source, hitl._key_match(m.source, m.key_columns, 't', 'q.row_key'),
		m.label_column, m.name);
	EXECUTE format('COMMENT ON VIEW %s IS %L', m.review_view,
				   format('hitl review queue of model %s: unlabeled rows, most uncertain first', m.name));
END
$$;
COMMENT ON FUNCTION hitl._create_review_view(text) IS
	'internal: creates the review view of a model';

CREATE FUNCTION hitl.create_model(
	name text,
	source regclass,
	label_column name,
	feature_columns name[],
	prediction_column name DEFAULT NULL,
	confidence_column name DEFAULT NULL,
	uncertainty_column name DEFAULT NULL,
	algorithm text DEFAULT 'logistic',
	strategy text DEFAULT 'margin',
	options jsonb DEFAULT '{}')
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	rel record;
	label_type regtype;
	col name;
	col_type regtype;
	keys name[];
	out_cols name[];
	out_types regtype[];
	added name[] := '{}';
	other_model text;
	resolved jsonb;
	view_name text;
	view_qualified text;
	n_labeled bigint;
	n_classes bigint;
	min_labels integer;
	version integer;
	i integer;
	lens bigint;
	has_text boolean := false;
BEGIN
	IF name IS NULL OR name = '' THEN
		RAISE EXCEPTION 'model name must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF octet_length(name) > 50 THEN
		RAISE EXCEPTION 'model name "%" is too long', name
			USING ERRCODE = 'name_too_long',
				  DETAIL = 'Model names are at most 50 bytes, so that "<name>_review_queue" is a valid identifier.';
	END IF;
	IF source IS NULL OR label_column IS NULL OR feature_columns IS NULL THEN
		RAISE EXCEPTION 'source, label_column and feature_columns must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF hitl._model_exists(name) THEN
		RAISE EXCEPTION 'model "%" already exists', name
			USING ERRCODE = 'duplicate_object',
				  HINT = 'Choose another name, or drop it first with hitl.drop_model().';
	END IF;

	SELECT c.oid, c.relkind, c.relname, n.nspname INTO rel
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE c.oid = source;
	IF rel.relkind <> 'r' THEN
		RAISE EXCEPTION '"%" is not an ordinary table', source
			USING ERRCODE = 'wrong_object_type',
				  DETAIL = 'hitl models are built on ordinary tables (not views, partitioned or foreign tables).';
	END IF;
	IF NOT has_table_privilege(source, 'SELECT') OR NOT has_table_privilege(source, 'UPDATE') THEN
		RAISE EXCEPTION 'permission denied for table %', source
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'A model needs SELECT and UPDATE on its table; its owner must also own the table to add the output columns.';
	END IF;

	SELECT array_agg(a.attname ORDER BY k.o) INTO keys
	FROM pg_index x
	CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, o)
	JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
	WHERE x.indrelid = source AND x.indisprimary;
	IF keys IS NULL THEN
		RAISE EXCEPTION 'table % has no primary key', source
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'hitl identifies rows by their primary key.',
				  HINT = 'Add one with ALTER TABLE ... ADD PRIMARY KEY.';
	END IF;

	/* label column */
	label_type := hitl._column_type(source, label_column);
	IF label_type IS NULL THEN
		RAISE EXCEPTION 'column "%" of table % does not exist', label_column, source
			USING ERRCODE = 'undefined_column';
	END IF;
	IF NOT (label_type IN ('text'::regtype, 'varchar'::regtype, 'smallint'::regtype,
						   'integer'::regtype, 'bigint'::regtype, 'boolean'::regtype)
			OR EXISTS (SELECT 1 FROM pg_type t WHERE t.oid = label_type AND t.typtype = 'e')) THEN
		RAISE EXCEPTION 'label column "%" has unsupported type %', label_column, label_type
			USING ERRCODE = 'datatype_mismatch',
				  HINT = 'Labels can be text, varchar, smallint, integer, bigint, boolean or an enum.';
	END IF;

	/* feature columns */
	IF cardinality(feature_columns) = 0 THEN
		RAISE EXCEPTION 'feature_columns must name at least one column'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOR i IN 1 .. cardinality(feature_columns) LOOP
		col := feature_columns[i];
		IF col IS NULL THEN
			RAISE EXCEPTION 'feature_columns must not contain nulls'
				USING ERRCODE = 'null_value_not_allowed';
		END IF;
		IF col = ANY (feature_columns[1:i - 1]) THEN
			RAISE EXCEPTION 'feature column "%" is listed more than once', col
				USING ERRCODE = 'duplicate_column';
		END IF;
		IF col = label_column THEN
			RAISE EXCEPTION 'label column "%" cannot also be a feature', col
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Remove it from feature_columns.';
		END IF;
		col_type := hitl._column_type(source, col);
		IF col_type IS NULL THEN
			RAISE EXCEPTION 'column "%" of table % does not exist', col, source
				USING ERRCODE = 'undefined_column';
		END IF;
		IF col_type NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype,
							'real'::regtype, 'double precision'::regtype, 'numeric'::regtype,
							'boolean'::regtype, 'real[]'::regtype, 'double precision[]'::regtype,
							'text'::regtype, 'character varying'::regtype) THEN
			RAISE EXCEPTION 'feature column "%" has unsupported type %', col, col_type
				USING ERRCODE = 'datatype_mismatch',
					  HINT = 'Features can be smallint, integer, bigint, real, double precision, numeric, boolean, real[], double precision[], text or varchar.';
		END IF;
		IF col_type IN ('text'::regtype, 'character varying'::regtype) THEN
			has_text := true;
		END IF;
		IF col_type IN ('real[]'::regtype, 'double precision[]'::regtype) THEN
			EXECUTE format('SELECT count(DISTINCT coalesce(array_ndims(%1$I), 1)::text || '':'' || cardinality(%1$I)) FROM %2$s WHERE %1$I IS NOT NULL', col, source)
				INTO lens;
			IF lens > 1 THEN
				RAISE EXCEPTION 'feature column "%" holds arrays of different lengths', col
					USING ERRCODE = 'array_subscript_error',
						  DETAIL = 'Array features are embeddings: every row must have the same number of elements in one dimension.';
			END IF;
		END IF;
	END LOOP;

	/* output columns */
	prediction_column := coalesce(prediction_column, (label_column || '_prediction')::name);
	confidence_column := coalesce(confidence_column, (label_column || '_confidence')::name);
	uncertainty_column := coalesce(uncertainty_column, (label_column || '_uncertainty')::name);
	out_cols := ARRAY[prediction_column, confidence_column, uncertainty_column];
	out_types := ARRAY[label_type, 'double precision'::regtype, 'double precision'::regtype];
	FOR i IN 1 .. 3 LOOP
		col := out_cols[i];
		IF col = label_column OR col = ANY (feature_columns) OR col = ANY (keys)
			OR col = ANY (out_cols[1:i - 1]) THEN
			RAISE EXCEPTION 'output column "%" clashes with another column of the model', col
				USING ERRCODE = 'duplicate_column',
					  HINT = 'Prediction, confidence and uncertainty need three columns of their own.';
		END IF;
		SELECT o.model INTO other_model FROM hitl._output_columns(source) o
		WHERE o.output_column = col LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'column "%" is written by model "%"', col, other_model
				USING ERRCODE = 'duplicate_column',
					  HINT = 'Each model needs output columns of its own: name others with prediction_column, confidence_column and uncertainty_column.';
		END IF;
		col_type := hitl._column_type(source, col);
		IF col_type IS NULL THEN
			added := added || col;
		ELSIF col_type <> out_types[i] THEN
			RAISE EXCEPTION 'column "%" exists with type %, not %', col, col_type, out_types[i]
				USING ERRCODE = 'datatype_mismatch',
					  HINT = 'Drop or rename the column, or name other output columns.';
		END IF;
	END LOOP;

	IF algorithm IS NULL OR algorithm NOT IN ('logistic', 'naive_bayes') THEN
		RAISE EXCEPTION 'unknown algorithm "%"', algorithm
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Known algorithms: logistic, naive_bayes.';
	END IF;
	IF strategy IS NULL OR strategy NOT IN ('margin', 'least_confidence', 'entropy') THEN
		RAISE EXCEPTION 'unknown query strategy "%"', strategy
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Known strategies: margin, least_confidence, entropy.';
	END IF;
	resolved := hitl._resolve_options(options, algorithm, has_text);

	/* everything checked: create */
	FOR i IN 1 .. 3 LOOP
		IF out_cols[i] = ANY (added) THEN
			EXECUTE format('ALTER TABLE %s ADD COLUMN %I %s', source, out_cols[i], out_types[i]);
		END IF;
	END LOOP;

	view_name := name || '_review_queue';
	view_qualified := format('%I.%I', rel.nspname, view_name);
	IF to_regclass(view_qualified) IS NOT NULL THEN
		RAISE EXCEPTION 'relation "%" already exists', view_qualified
			USING ERRCODE = 'duplicate_table',
				  HINT = 'The review view of a model is named <model>_review_queue; choose another model name.';
	END IF;

	INSERT INTO hitl.models (name, source, label_column, feature_columns, key_columns,
							 prediction_column, confidence_column, uncertainty_column,
							 added_columns, review_view, algorithm, strategy, options)
	VALUES (name, source, label_column, feature_columns, keys,
			prediction_column, confidence_column, uncertainty_column,
			added, view_qualified, algorithm, strategy, resolved);

	PERFORM hitl._create_review_view(name);
	PERFORM hitl._attach_label_triggers(name);

	/* train and score at once when there are enough labels */
	min_labels := (resolved ->> 'min_labels')::integer;
	EXECUTE format('SELECT count(%1$I), count(DISTINCT %1$I) FROM %2$s', label_column, source)
		INTO n_labeled, n_classes;
	IF n_labeled >= min_labels AND n_classes >= 2 THEN
		version := hitl.train(name);
		PERFORM hitl.score(name);
	ELSE
		RAISE NOTICE 'model "%" is waiting for labels', name
			USING DETAIL = format('%s rows of %s classes are labeled; training needs %s labels of at least 2 classes.',
								  n_labeled, n_classes, min_labels);
	END IF;
	RETURN version;
END
$$;
COMMENT ON FUNCTION hitl.create_model(text, regclass, name, name[], name, name, name, text, text, jsonb) IS
	'register a classifier on a table: checks everything, adds the output columns, creates the review view, and trains and scores when there are enough labels';

CREATE FUNCTION hitl.drop_model(name text, drop_columns boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m hitl.models;
	other hitl.models;
	col name;
BEGIN
	SELECT * INTO m FROM hitl.models WHERE models.name = drop_model.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'model "%" does not exist', name USING ERRCODE = 'undefined_object';
	END IF;
	IF NOT pg_has_role(m.owner, 'USAGE') THEN
		RAISE EXCEPTION 'must be owner of model "%"', name USING ERRCODE = 'insufficient_privilege';
	END IF;
	EXECUTE format('DROP VIEW IF EXISTS %s', m.review_view);
	DELETE FROM hitl.models WHERE models.name = drop_model.name;
	/* after the row: the triggers of a model still there are not removed */
	PERFORM hitl._detach_label_triggers(m.name, m.source);
	IF drop_columns AND cardinality(m.added_columns) > 0
		AND EXISTS (SELECT 1 FROM pg_class WHERE oid = m.source) THEN
		/*
		 * The review views of the table's other models show all its columns,
		 * these included: set them aside while the columns go.
		 */
		FOR other IN SELECT * FROM hitl.models o WHERE o.source = m.source LOOP
			EXECUTE format('DROP VIEW IF EXISTS %s', other.review_view);
		END LOOP;
		FOREACH col IN ARRAY m.added_columns LOOP
			EXECUTE format('ALTER TABLE %s DROP COLUMN IF EXISTS %I', m.source, col);
		END LOOP;
		FOR other IN SELECT * FROM hitl.models o WHERE o.source = m.source LOOP
			PERFORM hitl._create_review_view(other.name);
			IF other.owner <> current_user::regrole THEN
				EXECUTE format('ALTER VIEW %s OWNER TO %s', other.review_view, other.owner);
			END IF;
		END LOOP;
	END IF;
END
$$;
COMMENT ON FUNCTION hitl.drop_model(text, boolean) IS
	'remove a model, its versions, its queue and its review view; with drop_columns, also the output columns create_model added';

/* ------------------------------------------------------------------------
 * The review queue of all models
 * ------------------------------------------------------------------------ */

/*
 * Review candidates of one model that are still unlabeled, for a role that
 * can read the source table (nothing otherwise).
 */
CREATE FUNCTION hitl._model_queue(model text)
RETURNS TABLE (row_key jsonb, prediction text, confidence float8, uncertainty float8, rank integer)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m hitl.models;
BEGIN
	SELECT * INTO m FROM hitl.models WHERE name = model;
	/* has_table_privilege is NULL when the table was dropped */
	IF NOT FOUND OR NOT coalesce(has_table_privilege(m.source, 'SELECT'), false) THEN
		RETURN;
	END IF;
	RETURN QUERY EXECUTE format(
		'SELECT q.row_key, q.prediction, q.confidence, q.uncertainty, q.rank
		 FROM hitl.queue q
		 WHERE q.model = $1
		   AND EXISTS (SELECT 1 FROM %s t WHERE %s AND t.%I IS NULL)
		 ORDER BY q.rank',
		m.source, hitl._key_match(m.source, m.key_columns, 't', 'q.row_key'), m.label_column)
	USING model;
END
$$;
COMMENT ON FUNCTION hitl._model_queue(text) IS
	'internal: unlabeled review candidates of one model';

CREATE VIEW hitl.review_queue AS
	SELECT m.name AS model, q.row_key, q.prediction, q.confidence, q.uncertainty, q.rank
	FROM hitl.models m
	CROSS JOIN LATERAL hitl._model_queue(m.name) q
	ORDER BY m.name, q.rank;
COMMENT ON VIEW hitl.review_queue IS
	'unlabeled rows to review next, for every model the current role can read: most uncertain first';
GRANT SELECT ON hitl.review_queue TO PUBLIC;

CREATE FUNCTION hitl._pick(tids tid[], vals float8[], key tid) RETURNS float8
	AS 'MODULE_PATHNAME', 'hitl_pick' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION hitl._pick(tid[], float8[], tid) IS
	'internal: the value paired with a tid in a scoring batch';

CREATE PROCEDURE hitl.score_in_batches(model text, INOUT rows_written bigint DEFAULT NULL)
	AS 'MODULE_PATHNAME', 'hitl_score_in_batches' LANGUAGE C;
COMMENT ON PROCEDURE hitl.score_in_batches(text, bigint) IS
	'hitl.score() committing after every batch of writes (one transaction inside a transaction block)';

/* ------------------------------------------------------------------------
 * The label log
 *
 * Triggers on each model's table append every label change to
 * hitl.label_log, and wake the database's worker when the transaction
 * commits.  See src/labels.c.
 * ------------------------------------------------------------------------ */

CREATE TABLE hitl.label_log (
	id					bigint GENERATED ALWAYS AS IDENTITY,
	model				text NOT NULL,
	row_key				jsonb NOT NULL,
	old_label			text,
	new_label			text,
	role				name NOT NULL DEFAULT current_user,
	/* the start of the statement that changed the label */
	at					timestamptz NOT NULL DEFAULT statement_timestamp(),
	txid				xid8 DEFAULT pg_current_xact_id(),
	model_version		integer,
	prediction			text,
	confidence			float8,
	/*
	 * One index serves all: a model's log in order, from where the worker
	 * stopped (max(id) of a model is one probe).  A second index on id
	 * alone would add 15% to a bulk label UPDATE for no reader.
	 */
	PRIMARY KEY (model, id)
);

COMMENT ON TABLE hitl.label_log IS
	'every label written into, changed in or removed from a model''s table: who, when, old and new label, and what the model predicted then';
COMMENT ON COLUMN hitl.label_log.id IS
	'order of the changes: increasing, unique, assigned at insertion';
COMMENT ON COLUMN hitl.label_log.model IS
	'the model whose table changed (its log goes when the model is dropped)';
COMMENT ON COLUMN hitl.label_log.row_key IS
	'the row''s primary key as a jsonb object, as in hitl.queue and hitl.review_queue';
COMMENT ON COLUMN hitl.label_log.old_label IS
	'the label before the change, as text; NULL when the row was unlabeled or inserted';
COMMENT ON COLUMN hitl.label_log.new_label IS
	'the label after the change, as text; NULL when the label was removed or the row deleted';
COMMENT ON COLUMN hitl.label_log.role IS 'the role that changed the label (current_user)';
COMMENT ON COLUMN hitl.label_log.at IS
	'when: the start of the statement that changed the label (statement_timestamp())';
COMMENT ON COLUMN hitl.label_log.txid IS 'the transaction that changed the label';
COMMENT ON COLUMN hitl.label_log.model_version IS
	'the model''s current version at the change; NULL before the first training';
COMMENT ON COLUMN hitl.label_log.prediction IS
	'the row''s prediction column at the change (before an update or delete; as inserted for an insert)';
COMMENT ON COLUMN hitl.label_log.confidence IS
	'the row''s confidence column at the change, taken like prediction';

SELECT pg_catalog.pg_extension_config_dump('hitl.label_log', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('hitl.label_log', 'id'), '');

ALTER TABLE hitl.label_log ENABLE ROW LEVEL SECURITY;

/*
 * A model's log goes with the model.  This is done by a trigger rather than
 * a foreign key: a foreign key checks and locks the model's row once per
 * log row, which doubled the cost of a bulk label UPDATE and made every
 * labeling transaction wait for a training one.  Instead, the model's table
 * is locked against writers first: the transactions that are writing labels
 * finish (and their log rows are then deleted too) and no new one starts
 * before the model and its label triggers are gone.
 */
CREATE FUNCTION hitl._drop_label_log() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	source regclass;
BEGIN
	FOR source IN
		SELECT DISTINCT d.source FROM dropped_models d
		WHERE EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = d.source)
		ORDER BY 1
	LOOP
		EXECUTE format('LOCK TABLE %s IN SHARE MODE', source);
	END LOOP;
	DELETE FROM hitl.label_log l USING dropped_models d WHERE l.model = d.name;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION hitl._drop_label_log() IS
	'internal: deletes the label log of dropped models';

CREATE TRIGGER drop_label_log AFTER DELETE ON hitl.models
	REFERENCING OLD TABLE AS dropped_models
	FOR EACH STATEMENT EXECUTE FUNCTION hitl._drop_label_log();

/*
 * The log of a model is read by whoever sees the model.  The list of those
 * models is computed once per statement (an InitPlan), not once per row.
 */
CREATE POLICY label_log_read ON hitl.label_log FOR SELECT
	USING (model = ANY (ARRAY(SELECT m.name FROM hitl.models m)));
COMMENT ON POLICY label_log_read ON hitl.label_log IS
	'the log of a model is visible to the roles that see the model';

/*
 * Rows are written by the roles that may change a model's table: the
 * triggers write them as the table's owner (like PostgreSQL's foreign-key
 * triggers), so that a role with UPDATE on the table (and nothing more)
 * labels rows and is recorded in the log.  No role updates or deletes log
 * rows: they go only with their model.
 */
CREATE POLICY label_log_insert ON hitl.label_log FOR INSERT
	WITH CHECK (model = ANY (ARRAY(
		SELECT m.name FROM hitl.models m
		WHERE has_table_privilege(m.source, 'INSERT, UPDATE, DELETE')
		   OR has_any_column_privilege(m.source, 'UPDATE')
		   OR pg_has_role(m.owner, 'USAGE')
		   OR pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = m.source), 'USAGE'))));
COMMENT ON POLICY label_log_insert ON hitl.label_log IS
	'log rows are written for the models whose table the role may change';

/* id, at and txid are always their defaults */
GRANT SELECT ON hitl.label_log TO PUBLIC;
GRANT INSERT (model, row_key, old_label, new_label, role, model_version, prediction, confidence)
	ON hitl.label_log TO PUBLIC;

/* ------------------------------------------------------------------------
 * The label triggers
 * ------------------------------------------------------------------------ */

CREATE FUNCTION hitl._label_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME', 'hitl_label_trigger' LANGUAGE C;
COMMENT ON FUNCTION hitl._label_trigger() IS
	'internal: the triggers on a model''s table that log label changes in hitl.label_log';

/*
 * The name of one of a model's label triggers: hitl_<model>_label_<kind>,
 * with the md5 of the model's name in its place when that is too long for
 * an identifier.
 */
CREATE FUNCTION hitl._label_trigger_name(model text, kind text) RETURNS name
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT ('hitl_' || CASE WHEN octet_length(model) <= 46 THEN model ELSE md5(model) END
			|| '_label_' || kind)::name
$$;
COMMENT ON FUNCTION hitl._label_trigger_name(text, text) IS
	'internal: the name of a label trigger of a model (kind: ins, del, row, upd, trunc)';

/*
 * Install the label triggers of a model on its table, those missing only
 * (so a call is harmless when they are there).  It runs as the extension's
 * owner: the model's owner may label and train without owning the table.
 *
 *	ins		AFTER INSERT, per statement, with the inserted rows: logs the
 *			rows inserted with a label
 *	del		AFTER DELETE, per statement, with the deleted rows: logs the
 *			labeled rows deleted
 *	row		AFTER UPDATE OF the label, per row, when the label changed:
 *			keeps the change in memory (transition tables are not allowed
 *			with a column list, and the scoring UPDATEs must not pay for one)
 *	upd		AFTER UPDATE OF the label, per statement: logs the changes kept
 *			by "row" with one INSERT
 *	trunc	AFTER TRUNCATE: wakes the worker
 */
CREATE FUNCTION hitl._attach_label_triggers(model text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m hitl.models;
	kind text;
	ddl text;
BEGIN
	SELECT * INTO m FROM hitl.models WHERE name = model;
	IF NOT FOUND OR m.status = 'broken'
		OR NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = m.source) THEN
		RETURN;
	END IF;
	FOREACH kind IN ARRAY ARRAY['ins', 'del', 'row', 'upd', 'trunc'] LOOP
		CONTINUE WHEN EXISTS (SELECT 1 FROM pg_trigger t
							  WHERE t.tgrelid = m.source
								AND t.tgname = hitl._label_trigger_name(model, kind));
		ddl := CASE kind
			WHEN 'ins' THEN 'AFTER INSERT ON %2$s REFERENCING NEW TABLE AS hitl_new FOR EACH STATEMENT'
			WHEN 'del' THEN 'AFTER DELETE ON %2$s REFERENCING OLD TABLE AS hitl_old FOR EACH STATEMENT'
			WHEN 'row' THEN 'AFTER UPDATE OF %3$I ON %2$s FOR EACH ROW WHEN (OLD.%3$I IS DISTINCT FROM NEW.%3$I)'
			WHEN 'upd' THEN 'AFTER UPDATE OF %3$I ON %2$s FOR EACH STATEMENT'
			ELSE 'AFTER TRUNCATE ON %2$s FOR EACH STATEMENT' END;
		EXECUTE format('CREATE TRIGGER %1$I ' || ddl || ' EXECUTE FUNCTION hitl._label_trigger(%4$L)',
					   hitl._label_trigger_name(model, kind), m.source, m.label_column, model);
	END LOOP;
END
$$;
COMMENT ON FUNCTION hitl._attach_label_triggers(text) IS
	'internal: installs the triggers that log the label changes of a model';

/*
 * Remove the label triggers of a model that was dropped or is broken (and
 * only then: anyone may call this); nothing to do when the table is gone.
 */
CREATE FUNCTION hitl._detach_label_triggers(model text, source regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	trigger_name name;
BEGIN
	IF EXISTS (SELECT 1 FROM hitl.models m
			   WHERE m.name = _detach_label_triggers.model
				 AND m.source = _detach_label_triggers.source
				 AND m.status <> 'broken') THEN
		RAISE EXCEPTION 'model "%" still uses its label triggers', model
			USING ERRCODE = 'object_in_use';
	END IF;
	FOR trigger_name IN
		SELECT t.tgname FROM pg_trigger t
		WHERE t.tgrelid = source
		  AND t.tgfoid = 'hitl._label_trigger()'::regprocedure
		  AND t.tgname IN (SELECT hitl._label_trigger_name(model, k)
						   FROM unnest(ARRAY['ins', 'del', 'row', 'upd', 'trunc']) k)
	LOOP
		EXECUTE format('DROP TRIGGER %I ON %s', trigger_name, source);
	END LOOP;
END
$$;
COMMENT ON FUNCTION hitl._detach_label_triggers(text, regclass) IS
	'internal: removes the label triggers of a dropped or broken model';

/* ------------------------------------------------------------------------
 * Human and model statistics
 * ------------------------------------------------------------------------ */

/*
 * Per model and role, from the label log of the models the current role
 * sees (the same rule as the policy on hitl.models).
 */
CREATE VIEW hitl.label_stats AS
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
					  WHERE pg_has_role(m.owner, 'USAGE')
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

/* ------------------------------------------------------------------------
 * Tables and columns changing under a model
 * ------------------------------------------------------------------------ */

/*
 * Mark a model broken (the worker then leaves it alone) and remove its
 * label triggers, which could no longer log what they should.
 */
CREATE FUNCTION hitl._break_model(model text, message text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m hitl.models;
BEGIN
	UPDATE hitl.models SET status = 'broken', last_error = message, failed_at = now()
	WHERE name = model AND status <> 'broken'
	RETURNING * INTO m;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	PERFORM hitl._detach_label_triggers(m.name, m.source);
	RAISE WARNING 'hitl model "%" is broken: %', model, message
		USING HINT = format('Drop it with hitl.drop_model(%L) and create it again.', model);
END
$$;
COMMENT ON FUNCTION hitl._break_model(text, text) IS
	'internal: marks a model broken after its table or columns changed';
REVOKE ALL ON FUNCTION hitl._break_model(text, text) FROM PUBLIC;

/* The columns a model reads or writes, by role */
CREATE FUNCTION hitl._model_columns(m hitl.models)
RETURNS TABLE (col name, what text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT m.label_column, 'label column'
	UNION ALL SELECT f, 'feature column' FROM unnest(m.feature_columns) f
	UNION ALL SELECT k, 'key column' FROM unnest(m.key_columns) k
	UNION ALL SELECT m.prediction_column, 'prediction column'
	UNION ALL SELECT m.confidence_column, 'confidence column'
	UNION ALL SELECT m.uncertainty_column, 'uncertainty column'
$$;
COMMENT ON FUNCTION hitl._model_columns(hitl.models) IS
	'internal: the columns of its table a model reads or writes';

/*
 * sql_drop: a model's table dropped, or one of its columns.  The model is
 * kept, marked broken, so that its owner sees what happened; its review
 * view went with the table or column (DROP ... CASCADE).
 */
CREATE FUNCTION hitl._on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT m.name, d.object_type, d.object_identity, d.address_names, c.what
		FROM pg_event_trigger_dropped_objects() d
		JOIN hitl.models m ON m.source::oid = d.objid AND m.status <> 'broken'
		LEFT JOIN LATERAL hitl._model_columns(m) c ON c.col = d.address_names[3]
		WHERE d.classid = 'pg_class'::regclass
		  AND (d.object_type = 'table' OR (d.object_type = 'table column' AND c.col IS NOT NULL))
		ORDER BY m.name, d.objsubid
	LOOP
		IF r.object_type = 'table' THEN
			PERFORM hitl._break_model(r.name, format('its table %s was dropped', r.object_identity));
		ELSE
			PERFORM hitl._break_model(r.name, format('its %s "%s" of table %s was dropped', r.what,
													  r.address_names[3],
													  quote_ident(r.address_names[1]) || '.' || quote_ident(r.address_names[2])));
		END IF;
	END LOOP;
EXCEPTION WHEN OTHERS THEN
	RAISE WARNING 'hitl could not check the dropped objects: %', SQLERRM;
END
$$;
COMMENT ON FUNCTION hitl._on_sql_drop() IS
	'internal: marks broken the models whose table or columns were dropped';

/*
 * ddl_command_end of ALTER TABLE: a model's column renamed (or gone in
 * another way) breaks the model.  Renaming the table itself is harmless:
 * hitl knows tables by OID.
 */
CREATE FUNCTION hitl._on_alter_table() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT DISTINCT ON (m.name) m.name, m.source, c.col, c.what, a.attname AS new_name
		FROM (SELECT DISTINCT d.objid, d.object_type, d.objsubid
			  FROM pg_event_trigger_ddl_commands() d
			  WHERE d.classid = 'pg_class'::regclass) d
		JOIN hitl.models m ON m.source::oid = d.objid AND m.status <> 'broken'
		CROSS JOIN LATERAL hitl._model_columns(m) c
		LEFT JOIN pg_attribute a ON d.object_type = 'table column'
			AND a.attrelid = d.objid AND a.attnum = d.objsubid
		WHERE hitl._column_type(m.source, c.col) IS NULL
		ORDER BY m.name
	LOOP
		IF r.new_name IS NOT NULL THEN
			PERFORM hitl._break_model(r.name, format('its %s "%s" of table %s was renamed to "%s"',
													  r.what, r.col, r.source, r.new_name));
		ELSE
			PERFORM hitl._break_model(r.name, format('its %s "%s" of table %s no longer exists',
													  r.what, r.col, r.source));
		END IF;
	END LOOP;
EXCEPTION WHEN OTHERS THEN
	RAISE WARNING 'hitl could not check the altered table: %', SQLERRM;
END
$$;
COMMENT ON FUNCTION hitl._on_alter_table() IS
	'internal: marks broken the models whose columns were renamed';

CREATE EVENT TRIGGER hitl_sql_drop ON sql_drop
	EXECUTE FUNCTION hitl._on_sql_drop();
COMMENT ON EVENT TRIGGER hitl_sql_drop IS
	'hitl: marks broken the models whose table or columns were dropped';

CREATE EVENT TRIGGER hitl_alter_table ON ddl_command_end
	WHEN TAG IN ('ALTER TABLE')
	EXECUTE FUNCTION hitl._on_alter_table();
COMMENT ON EVENT TRIGGER hitl_alter_table IS
	'hitl: marks broken the models whose columns were renamed';

/* ------------------------------------------------------------------------
 * The background workers' SQL side
 * ------------------------------------------------------------------------ */

CREATE FUNCTION hitl.wait(model text, timeout interval DEFAULT '30 s') RETURNS integer
	AS 'MODULE_PATHNAME', 'hitl_wait' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION hitl.wait(text, interval) IS
	'waits until every label committed before the call is in a trained version whose scores are written; returns that version';

CREATE FUNCTION hitl._wake() RETURNS void
	AS 'MODULE_PATHNAME', 'hitl_wake' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION hitl._wake() IS
	'internal: wakes this database''s hitl worker, or has the launcher start one';

CREATE FUNCTION hitl._workers_available() RETURNS boolean
	AS 'MODULE_PATHNAME', 'hitl_workers_available' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION hitl._workers_available() IS
	'internal: whether hitl is preloaded, so that background workers run';

DO $$
BEGIN
	IF hitl._workers_available() THEN
		PERFORM hitl._wake();
	ELSE
		RAISE WARNING 'automatic retraining is off: hitl is not in shared_preload_libraries'
			USING HINT = 'Add hitl to shared_preload_libraries in postgresql.conf and restart the server; until then call hitl.train() and hitl.score() yourself.';
	END IF;
END
$$;
