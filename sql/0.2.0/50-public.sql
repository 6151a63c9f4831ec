/* ------------------------------------------------------------------------
 * 50 Public functions in PL/pgSQL: create_model and drop_model
 *
 * Both run as their caller.  create_model reads as the sequence of its
 * steps (section 30); what it creates (output columns, review view) is
 * owned by the caller, and hitl's tables are written by the C functions
 * _model_insert and _model_delete (section 20), which check the caller.
 * alter_model, train and score are C functions (section 20 and 0.1.0).
 * ------------------------------------------------------------------------ */

/*
 * Register a classifier on a table: check everything first, then add the
 * output columns, record the model, create its review view and label
 * triggers, and train and score it when its table holds enough labels.
 */
CREATE OR REPLACE FUNCTION hitl.create_model(
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
	table_schema name;
	keys name[];
	label_type regtype;
	has_text boolean;
	out_cols name[];
	out_types regtype[];
	added name[];
	resolved jsonb;
	i integer;
BEGIN
	/* the checks, in the order their errors are reported */
	PERFORM hitl._check_model_name(name);
	PERFORM hitl._check_required(source, label_column, feature_columns);
	PERFORM hitl._check_name_free(name);
	table_schema := hitl._check_table(source);
	keys := hitl._check_key(source);
	label_type := hitl._check_label_column(source, label_column);
	has_text := hitl._check_feature_columns(source, label_column, feature_columns);

	/* output columns: named after the label column unless given */
	prediction_column := coalesce(prediction_column, (label_column || '_prediction')::name);
	confidence_column := coalesce(confidence_column, (label_column || '_confidence')::name);
	uncertainty_column := coalesce(uncertainty_column, (label_column || '_uncertainty')::name);
	out_cols := ARRAY[prediction_column, confidence_column, uncertainty_column];
	out_types := ARRAY[label_type, 'double precision'::regtype, 'double precision'::regtype];
	added := hitl._check_output_columns(source, label_column, feature_columns, keys,
										out_cols, out_types);

	resolved := hitl._check_options(algorithm, strategy, options, has_text);
	PERFORM hitl._citus_check_model(source, has_text, strategy, resolved);

	/* everything checked: create (as the calling role, who owns what is made) */
	FOR i IN 1 .. 3 LOOP
		IF out_cols[i] = ANY (added) THEN
			EXECUTE format('ALTER TABLE %s ADD COLUMN %I %s', source, out_cols[i], out_types[i]);
		END IF;
	END LOOP;
	PERFORM hitl._check_view_name(table_schema, name);
	PERFORM hitl._check_audit_view_name(table_schema, name);

	PERFORM hitl._model_insert(name, source, label_column, feature_columns,
							   prediction_column, confidence_column, uncertainty_column,
							   added, algorithm, strategy, resolved);
	PERFORM hitl._create_review_view(name);
	PERFORM hitl._create_audit_view(name);
	/* a distributed table: the worker nodes learn of the model before its triggers fire there */
	IF hitl._citus_distribution_column(source) IS NOT NULL THEN
		PERFORM hitl._citus_send_model(name);
	END IF;
	PERFORM hitl._attach_label_triggers(name);
	/* text: the cached term counts (section 71), filled before the first scoring */
	PERFORM hitl._create_term_cache(name);

	/* train and score at once when there are enough labels */
	RETURN hitl._first_training(name, source, label_column, (resolved ->> 'min_labels')::integer);
END
$$;
COMMENT ON FUNCTION hitl.create_model(text, regclass, name, name[], name, name, name, text, text, jsonb) IS
	'register a classifier on a table: checks everything, adds the output columns, creates the review view, and trains and scores when there are enough labels';

/*
 * Remove a model: its review view, its row (with its versions, queue, log
 * and label triggers), its term cache (trigger and column), and with
 * drop_columns the output columns that create_model added, the review views
 * of the table's other models set aside and created again while columns
 * go.  For the members of its owner.
 */
CREATE OR REPLACE FUNCTION hitl.drop_model(name text, drop_columns boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m hitl.models;
	col name;
	cols name[] := '{}';
	others text[];
	owners oid[];
	acls text[];
	i integer;
BEGIN
	SELECT * INTO m FROM hitl.models WHERE models.name = drop_model.name;
	IF NOT FOUND THEN
		IF hitl._model_exists(name) THEN
			RAISE EXCEPTION 'permission denied for model "%"', name
				USING ERRCODE = 'insufficient_privilege',
					  HINT = 'A model can be used by its owner and by roles that can read its table.';
		END IF;
		RAISE EXCEPTION 'model "%" does not exist', name
			USING ERRCODE = 'undefined_object',
				  HINT = 'See hitl.models for the models you can use.';
	END IF;
	IF NOT hitl._member_of(m.owner) THEN
		RAISE EXCEPTION 'must be owner of model "%"', name USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF m.view_schema IS NOT NULL
		AND to_regclass(format('%I.%I', m.view_schema, m.view_name)) IS NOT NULL THEN
		EXECUTE format('DROP VIEW %I.%I', m.view_schema, m.view_name);
	END IF;
	PERFORM hitl._drop_audit_view(m.view_schema, m.name);
	/* the row, then the label triggers (those of a model still there stay) */
	PERFORM hitl._model_delete(m.name);
	IF EXISTS (SELECT 1 FROM pg_class WHERE oid = m.source) THEN
		PERFORM hitl._drop_term_cache_trigger(m.name, m.source);
		IF drop_columns THEN
			cols := m.added_columns;
		END IF;
		IF EXISTS (SELECT 1 FROM pg_attribute a
				   WHERE a.attrelid = m.source AND a.attname = hitl._term_cache_name(m.name)
					 AND a.atttypid = 'bytea'::regtype AND NOT a.attisdropped) THEN
			cols := cols || hitl._term_cache_name(m.name);
		END IF;
	END IF;
	IF cardinality(cols) > 0 THEN
		/*
		 * The review views of the table's other models show all its columns,
		 * these included: set them aside while the columns go, and create
		 * them again with their owners and grants.
		 */
		SELECT coalesce(array_agg(o.name ORDER BY o.name), '{}'),
			   coalesce(array_agg(c.relowner ORDER BY o.name), '{}'),
			   coalesce(array_agg(c.relacl::text ORDER BY o.name), '{}')
		INTO others, owners, acls
		FROM hitl.models o
		JOIN pg_class c ON c.oid = to_regclass(format('%I.%I', o.view_schema, o.view_name))
		WHERE o.source = m.source;
		FOR i IN 1 .. cardinality(others) LOOP
			EXECUTE (SELECT format('DROP VIEW %I.%I', o.view_schema, o.view_name)
					 FROM hitl.models o WHERE o.name = others[i]);
			PERFORM hitl._drop_audit_view(m.view_schema, others[i]);
		END LOOP;
		FOREACH col IN ARRAY cols LOOP
			EXECUTE format('ALTER TABLE %s DROP COLUMN IF EXISTS %I', m.source, col);
		END LOOP;
		FOR i IN 1 .. cardinality(others) LOOP
			PERFORM hitl._restore_review_view(others[i], owners[i], acls[i]::aclitem[]);
			PERFORM hitl._create_audit_view(others[i]);
		END LOOP;
	END IF;
END
$$;
COMMENT ON FUNCTION hitl.drop_model(text, boolean) IS
	'remove a model, its versions, its queue and its review view; with drop_columns, also the output columns create_model added';

