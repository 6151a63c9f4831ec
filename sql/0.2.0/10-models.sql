/* ------------------------------------------------------------------------
 * Models: hitl's tables written only by hitl's functions
 *
 * hitl.models, hitl.model_versions and hitl.queue keep SELECT for PUBLIC
 * (row-level security decides which rows a role sees) and lose every write
 * privilege.  What a role may change goes through functions that check it:
 * create_model and drop_model (the rows go through the C functions
 * _model_insert and _model_delete, which check the calling role and write
 * as the owner of hitl's tables), alter_model, train and score.
 *
 * A model's owner is stored as a role name, so that a dump restored into a
 * cluster without that role keeps the model (given to the restoring role,
 * with a WARNING).  Its review view is stored as a schema and a name, always
 * quoted when used.  No view or function of hitl casts a row key to a type
 * of a user's: keys are compared as their built-in base type.
 * ------------------------------------------------------------------------ */

/* Is the current role a member (with USAGE) of the role of that name? */
CREATE FUNCTION hitl._member_of(role name) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce((SELECT pg_has_role(r.oid, 'USAGE') FROM pg_roles r WHERE r.rolname = role),
					false)
$$;
COMMENT ON FUNCTION hitl._member_of(name) IS
	'internal: whether the current role is a member of the named role (false when it does not exist)';

/*
 * Everything that depends on hitl.models.owner, set aside while its type
 * changes from regrole to name, and created again below.
 */
DROP POLICY models_read ON hitl.models;
DROP POLICY models_insert ON hitl.models;
DROP POLICY models_update ON hitl.models;
DROP POLICY models_delete ON hitl.models;
DROP POLICY versions_write ON hitl.model_versions;
DROP POLICY queue_write ON hitl.queue;
DROP POLICY label_log_insert ON hitl.label_log;
DROP VIEW hitl.label_stats;

/*
 * The guard of updates, before the rows are touched below.  Only hitl's
 * functions write hitl.models now, after checking the calling role; the
 * guard keeps what defines a model's versions unchangeable, whoever writes.
 */
CREATE OR REPLACE FUNCTION hitl._guard_model_update() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF (NEW.name, NEW.source, NEW.label_column, NEW.feature_columns, NEW.key_columns,
		NEW.prediction_column, NEW.confidence_column, NEW.uncertainty_column, NEW.created_at)
		IS DISTINCT FROM
	   (OLD.name, OLD.source, OLD.label_column, OLD.feature_columns, OLD.key_columns,
		OLD.prediction_column, OLD.confidence_column, OLD.uncertainty_column, OLD.created_at) THEN
		RAISE EXCEPTION 'the definition of model "%" cannot change', OLD.name
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'Its name, table and columns are fixed when it is created.',
				  HINT = 'Drop the model and create it again.';
	END IF;
	/* the algorithm and the text options define what the versions hold */
	IF NEW.algorithm IS DISTINCT FROM OLD.algorithm THEN
		RAISE EXCEPTION 'the algorithm of model "%" cannot change', OLD.name
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'Its versions hold the parameters of its algorithm.',
				  HINT = 'Create another model with the other algorithm.';
	END IF;
	/* options are checked as create_model checks them ... */
	IF NEW.options IS DISTINCT FROM OLD.options THEN
		NEW.options := hitl._resolve_options(NEW.options, NEW.algorithm, OLD.options ? 'text_config');
	END IF;
	/* ... and those that define the features do not change */
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
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION hitl._guard_model_update() IS
	'internal: keeps the name, table, columns, algorithm and text options of a model unchanged';

ALTER TABLE hitl.models
	ALTER COLUMN owner DROP DEFAULT,
	ALTER COLUMN owner TYPE name USING pg_get_userbyid(owner::oid),
	ALTER COLUMN owner SET DEFAULT current_user,
	ADD COLUMN enabled boolean NOT NULL DEFAULT true,
	ADD COLUMN view_schema name,
	ADD COLUMN view_name name;

/*
 * The review view of existing models: in the schema of their table, named
 * after the model (the stored text is not parsed: it is not trusted).
 */
UPDATE hitl.models m
SET view_schema = (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
				   WHERE c.oid = m.source),
	view_name = (m.name || '_review_queue')::name;
UPDATE hitl.models SET review_view = format('%I.%I', view_schema, view_name)
WHERE view_schema IS NOT NULL;

COMMENT ON COLUMN hitl.models.owner IS
	'the role that owns the model, by name: its members drop it, and the worker trains and scores it as this role';
COMMENT ON COLUMN hitl.models.enabled IS
	'false: the worker does not retrain or rescore the model (hitl.train and hitl.score still do); set with hitl.alter_model';
COMMENT ON COLUMN hitl.models.view_schema IS
	'schema of the model''s review view (its table''s schema at creation); NULL when unknown';
COMMENT ON COLUMN hitl.models.view_name IS
	'name of the model''s review view: <model>_review_queue';
COMMENT ON COLUMN hitl.models.review_view IS
	'the review view, schema-qualified and quoted, for reading (hitl uses view_schema and view_name)';

/*
 * A model whose owner role does not exist (a dump restored into another
 * cluster) is given to the owner of its table, with a WARNING: the worker
 * works on it as that role, and so runs the table's triggers with their
 * owner's rights, not with those of the role restoring (a superuser), as
 * it would if the model were given to the inserting role.  The inserting
 * role gets it only when the table is not there.
 */
CREATE FUNCTION hitl._check_model_owner() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	new_owner name;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = NEW.owner) THEN
		new_owner := coalesce((SELECT pg_get_userbyid(c.relowner) FROM pg_class c
							   WHERE c.oid = NEW.source),
							  current_user);
		RAISE WARNING 'role "%" owning hitl model "%" does not exist: the model now belongs to role "%"',
			NEW.owner, NEW.name, new_owner
			USING HINT = 'Give it to another role with hitl.alter_model(name, owner => ...).';
		NEW.owner := new_owner;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION hitl._check_model_owner() IS
	'internal: gives a model whose owner role does not exist (a restored dump) to the owner of its table';

CREATE TRIGGER check_model_owner BEFORE INSERT ON hitl.models
	FOR EACH ROW EXECUTE FUNCTION hitl._check_model_owner();

/* Reading: unchanged rules, with the owner by name */
CREATE POLICY models_read ON hitl.models FOR SELECT
	USING (hitl._member_of(owner) OR has_table_privilege(source, 'SELECT'));
COMMENT ON POLICY models_read ON hitl.models IS
	'a model is seen by its owner''s members and by the roles that can read its table';

/* Writing: hitl's functions only (as the owner of hitl's tables) */
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
	ON hitl.models, hitl.model_versions, hitl.queue FROM PUBLIC;

/*
 * The label log's statistics, as they were, with the owner by name (the log's
 * insert policy, dropped above, goes for good: see 30-labels.sql).
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

/* ------------------------------------------------------------------------
 * The C side of the catalog: writes that check the calling role
 * ------------------------------------------------------------------------ */

CREATE FUNCTION hitl._model_insert(name text, source regclass, label_column name,
								   feature_columns name[], prediction_column name,
								   confidence_column name, uncertainty_column name,
								   added_columns name[], algorithm text, strategy text,
								   options jsonb)
RETURNS void
	AS 'MODULE_PATHNAME', 'hitl_model_insert' LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl._model_insert(text, regclass, name, name[], name, name, name, name[], text, text, jsonb) IS
	'internal: records a model owned by the calling role, which must be able to read and update the table and create in its schema';

CREATE FUNCTION hitl._model_delete(name text) RETURNS void
	AS 'MODULE_PATHNAME', 'hitl_model_delete' LANGUAGE C STRICT VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl._model_delete(text) IS
	'internal: deletes a model (its versions, queue and log with it) and removes its label triggers; for its owner''s members only';

CREATE FUNCTION hitl._output_column_model(source regclass, output_column name) RETURNS text
	AS 'MODULE_PATHNAME', 'hitl_output_column_model' LANGUAGE C STRICT STABLE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl._output_column_model(regclass, name) IS
	'internal: the model that writes that column of a table, for the roles that may update the table';

DROP FUNCTION hitl._output_columns(regclass);

CREATE FUNCTION hitl.alter_model(name text, options jsonb DEFAULT NULL, strategy text DEFAULT NULL,
								 enabled boolean DEFAULT NULL, owner name DEFAULT NULL)
RETURNS void
	AS 'MODULE_PATHNAME', 'hitl_alter_model' LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl.alter_model(text, jsonb, text, boolean, name) IS
	'change a model: options (merged into its options, checked), query strategy, enabled (the worker skips a disabled model), owner (owner''s members only, to a role they are members of)';

ALTER FUNCTION hitl.train(text, boolean) SET search_path = pg_catalog, pg_temp;

/* ------------------------------------------------------------------------
 * Internal functions: a safe search_path, and a check of their caller
 * ------------------------------------------------------------------------ */

/*
 * Only hitl's C code calls this, as the owner of hitl's tables; anyone else
 * could otherwise run ANALYZE on hitl.queue at will.
 */
REVOKE EXECUTE ON FUNCTION hitl._analyze_queue(bigint) FROM PUBLIC;

/*
 * _model_exists answers every role on purpose: model names are one
 * namespace, so create_model must say a name is taken, and the error of a
 * model that exists but is hidden (42501) differs from one that does not
 * exist (42704).  It tells nothing but that.
 */
COMMENT ON FUNCTION hitl._model_exists(text) IS
	'internal: whether a model name is taken, seen past row-level security (names are one namespace)';

/*
 * The label triggers of a model that was dropped or is broken.  Only hitl
 * calls it (as the owner of its tables: _model_delete, _break_model), and
 * only the triggers created for that very model go: their argument is the
 * model's name, which a trigger name alone (an md5 for long names) is not.
 */
CREATE OR REPLACE FUNCTION hitl._detach_label_triggers(model text, source regclass) RETURNS void
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
		  AND t.tgnargs = 1
		  AND t.tgargs = convert_to(model, current_setting('server_encoding')) || '\x00'::bytea
		  AND t.tgname IN (SELECT hitl._label_trigger_name(model, k)
						   FROM unnest(ARRAY['ins', 'del', 'row', 'upd', 'trunc']) k)
	LOOP
		EXECUTE format('DROP TRIGGER %I ON %s', trigger_name, source);
	END LOOP;
END
$$;
COMMENT ON FUNCTION hitl._detach_label_triggers(text, regclass) IS
	'internal: removes the label triggers of a dropped or broken model';
REVOKE EXECUTE ON FUNCTION hitl._detach_label_triggers(text, regclass) FROM PUBLIC;

CREATE OR REPLACE FUNCTION hitl._column_type(source regclass, col name)
RETURNS regtype LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT a.atttypid::regtype FROM pg_attribute a
	WHERE a.attrelid = source AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped
$$;
COMMENT ON FUNCTION hitl._column_type(regclass, name) IS
	'internal: type of a column of a table, NULL when it has none of that name';

/* The built-in type under a type: itself, or the base type of a domain */
CREATE FUNCTION hitl._base_type(typ oid) RETURNS oid
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH RECURSIVE d(t, typtype, base) AS (
		SELECT t.oid, t.typtype, t.typbasetype FROM pg_type t WHERE t.oid = typ
		UNION ALL
		SELECT t.oid, t.typtype, t.typbasetype FROM d JOIN pg_type t ON t.oid = d.base
		WHERE d.typtype = 'd')
	SELECT d.t FROM d WHERE d.typtype <> 'd'
$$;
COMMENT ON FUNCTION hitl._base_type(oid) IS
	'internal: a type, or for a domain the type it is ultimately based on';

/*
 * SQL condition matching alias s of the source table to a row_key jsonb
 * expression.  The key's text is cast to the column's base type, named in
 * pg_catalog (a domain's checks are not run, and no user type is ever
 * involved), and compared with pg_catalog's operator: reading a review
 * view runs no code of the table's owner.  Key columns of a type that is
 * not built in (create_model refuses them) raise an error.
 */
CREATE OR REPLACE FUNCTION hitl._key_match(source regclass, key_columns name[], s text, row_key text)
RETURNS text LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cond text[] := '{}';
	k name;
	base oid;
BEGIN
	FOREACH k IN ARRAY key_columns LOOP
		base := hitl._base_type(hitl._column_type(source, k));
		IF base IS NULL OR base >= 16384 THEN
			RAISE EXCEPTION 'key column "%" of table % is not of a built-in type', k, source
				USING ERRCODE = 'feature_not_supported',
					  HINT = 'hitl compares row keys as built-in types (or domains over them).';
		END IF;
		cond := cond || format('%I.%I OPERATOR(pg_catalog.=) (%s OPERATOR(pg_catalog.->>) %L)::pg_catalog.%I',
							   s, k, row_key, k, (SELECT t.typname FROM pg_type t WHERE t.oid = base));
	END LOOP;
	RETURN array_to_string(cond, ' AND ');
END
$$;
COMMENT ON FUNCTION hitl._key_match(regclass, name[], text, text) IS
	'internal: join condition from a source table alias to a row key, comparing built-in types only';

/* ------------------------------------------------------------------------
 * Review views
 * ------------------------------------------------------------------------ */

/*
 * (Re)create the review view of a model: the unlabeled rows among its ranked
 * candidates, with the source table's columns and the rank, joined to the
 * source by primary key (OFFSET 0 keeps that join a lookup per candidate).
 * It runs as the caller, who owns the view: the model's owner's members or
 * the table owner's.
 */
CREATE OR REPLACE FUNCTION hitl._create_review_view(model text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m hitl.models;
	rank_column name;
BEGIN
	SELECT * INTO m FROM hitl.models WHERE name = model;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'model "%" does not exist', model USING ERRCODE = 'undefined_object';
	END IF;
	IF NOT (hitl._member_of(m.owner)
			OR pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = m.source), 'USAGE')) THEN
		RAISE EXCEPTION 'must be owner of model "%"', model USING ERRCODE = 'insufficient_privilege';
	END IF;
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
		CREATE VIEW %I.%I AS
		SELECT s.*, q.rank AS %I
		FROM hitl.queue q
		CROSS JOIN LATERAL (
			SELECT t.* FROM %s t
			WHERE %s AND t.%I IS NULL
			OFFSET 0) s
		WHERE q.model OPERATOR(pg_catalog.=) %L::pg_catalog.text
		ORDER BY q.rank$v$,
		m.view_schema, m.view_name, rank_column, m.source,
		hitl._key_match(m.source, m.key_columns, 't', 'q.row_key'), m.label_column, m.name);
	EXECUTE format('COMMENT ON VIEW %I.%I IS %L', m.view_schema, m.view_name,
				   format('hitl review queue of model %s: unlabeled rows, most uncertain first', m.name));
END
$$;
COMMENT ON FUNCTION hitl._create_review_view(text) IS
	'internal: creates the review view of a model, as the calling role (its owner''s or the table owner''s member)';

/*
 * Create the review view of a model again, with the owner and the grants it
 * had (view_owner, view_acl: read before it was dropped; NULL owner: the
 * model's).  The caller must be a member of that owner.
 */
CREATE FUNCTION hitl._restore_review_view(model text, view_owner oid, view_acl aclitem[])
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m hitl.models;
	view_oid oid;
	g record;
BEGIN
	SELECT * INTO STRICT m FROM hitl.models WHERE name = model;
	IF m.view_schema IS NULL THEN
		RETURN;
	END IF;
	PERFORM hitl._create_review_view(model);
	view_oid := to_regclass(format('%I.%I', m.view_schema, m.view_name));
	/* a view created by an extension script would become part of the extension */
	IF EXISTS (SELECT 1 FROM pg_depend d
			   WHERE d.classid = 'pg_class'::regclass AND d.objid = view_oid AND d.deptype = 'e') THEN
		EXECUTE format('ALTER EXTENSION hitl DROP VIEW %I.%I', m.view_schema, m.view_name);
	END IF;
	IF view_owner IS NULL THEN
		view_owner := (SELECT r.oid FROM pg_roles r WHERE r.rolname = m.owner);
	END IF;
	/* the grants, given by the view's creator, then the owner (grantor too) */
	FOR g IN
		SELECT a.grantee, a.privilege_type, a.is_grantable
		FROM aclexplode(view_acl) a
		WHERE a.grantee IS DISTINCT FROM view_owner
		ORDER BY a.grantee, a.privilege_type
	LOOP
		EXECUTE format('GRANT %s ON %I.%I TO %s%s', g.privilege_type, m.view_schema, m.view_name,
					   CASE WHEN g.grantee = 0 THEN 'PUBLIC'
							ELSE quote_ident(pg_get_userbyid(g.grantee)) END,
					   CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
	END LOOP;
	IF view_owner IS NOT NULL
		AND view_owner <> (SELECT c.relowner FROM pg_class c WHERE c.oid = view_oid) THEN
		EXECUTE format('ALTER VIEW %I.%I OWNER TO %I', m.view_schema, m.view_name,
					   pg_get_userbyid(view_owner));
	END IF;
END
$$;
COMMENT ON FUNCTION hitl._restore_review_view(text, oid, aclitem[]) IS
	'internal: creates the review view of a model again, with the owner and grants it had';

/* ------------------------------------------------------------------------
 * create_model / drop_model
 * ------------------------------------------------------------------------ */

/* "5 rows of 2 classes are labeled; ...", for a model waiting for labels */
CREATE FUNCTION hitl._labels_detail(n_labeled bigint, n_classes bigint, min_labels integer)
RETURNS text LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT format('%s of %s %s labeled; training needs %s labels of at least 2 classes.',
				  CASE WHEN n_labeled = 1 THEN '1 row' ELSE n_labeled || ' rows' END,
				  CASE WHEN n_classes = 1 THEN '1 class' ELSE n_classes || ' classes' END,
				  CASE WHEN n_labeled = 1 THEN 'is' ELSE 'are' END,
				  min_labels)
$$;
COMMENT ON FUNCTION hitl._labels_detail(bigint, bigint, integer) IS
	'internal: the detail of create_model''s notice about a model waiting for labels';

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

	SELECT c.oid, c.relkind, c.relname, c.relnamespace, n.nspname INTO rel
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
	/* the review view goes into the table's schema */
	IF NOT has_schema_privilege(rel.relnamespace, 'CREATE') THEN
		RAISE EXCEPTION 'permission denied for schema %', quote_ident(rel.nspname)
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'The review view of a model is created in the schema of its table.',
				  HINT = format('Ask the schema''s owner to GRANT CREATE ON SCHEMA %I TO %I.',
								rel.nspname, current_user);
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
	/*
	 * Keys are compared as their built-in base type: a user-defined type
	 * (or an enum) could bring casts and operators of its own.
	 */
	FOREACH col IN ARRAY keys LOOP
		col_type := hitl._column_type(source, col);
		IF hitl._base_type(col_type) >= 16384 THEN
			RAISE EXCEPTION 'key column "%" has type %, which is not built in', col, col_type
				USING ERRCODE = 'feature_not_supported',
					  DETAIL = 'hitl compares row keys as built-in types, so that reading a review queue runs no user-defined code.',
					  HINT = 'Use a primary key of a built-in type (integer, bigint, text, uuid, ...) or of a domain over one.';
		END IF;
	END LOOP;

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
		other_model := hitl._output_column_model(source, col);
		IF other_model IS NOT NULL THEN
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

	/* everything checked: create (as the calling role, who owns what is made) */
	FOR i IN 1 .. 3 LOOP
		IF out_cols[i] = ANY (added) THEN
			EXECUTE format('ALTER TABLE %s ADD COLUMN %I %s', source, out_cols[i], out_types[i]);
		END IF;
	END LOOP;

	view_qualified := format('%I.%I', rel.nspname, name || '_review_queue');
	IF to_regclass(view_qualified) IS NOT NULL THEN
		RAISE EXCEPTION 'relation "%" already exists', view_qualified
			USING ERRCODE = 'duplicate_table',
				  HINT = 'The review view of a model is named <model>_review_queue; choose another model name.';
	END IF;

	PERFORM hitl._model_insert(name, source, label_column, feature_columns,
							   prediction_column, confidence_column, uncertainty_column,
							   added, algorithm, strategy, resolved);

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
			USING DETAIL = hitl._labels_detail(n_labeled, n_classes, min_labels);
	END IF;
	RETURN version;
END
$$;
COMMENT ON FUNCTION hitl.create_model(text, regclass, name, name[], name, name, name, text, text, jsonb) IS
	'register a classifier on a table: checks everything, adds the output columns, creates the review view, and trains and scores when there are enough labels';

CREATE OR REPLACE FUNCTION hitl.drop_model(name text, drop_columns boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m hitl.models;
	col name;
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
	/* the row, then the label triggers (those of a model still there stay) */
	PERFORM hitl._model_delete(m.name);
	IF drop_columns AND cardinality(m.added_columns) > 0
		AND EXISTS (SELECT 1 FROM pg_class WHERE oid = m.source) THEN
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
		END LOOP;
		FOREACH col IN ARRAY m.added_columns LOOP
			EXECUTE format('ALTER TABLE %s DROP COLUMN IF EXISTS %I', m.source, col);
		END LOOP;
		FOR i IN 1 .. cardinality(others) LOOP
			PERFORM hitl._restore_review_view(others[i], owners[i], acls[i]::aclitem[]);
		END LOOP;
	END IF;
END
$$;
COMMENT ON FUNCTION hitl.drop_model(text, boolean) IS
	'remove a model, its versions, its queue and its review view; with drop_columns, also the output columns create_model added';

/* ------------------------------------------------------------------------
 * Tables and columns changing under a model
 * ------------------------------------------------------------------------ */

/*
 * Mark a model broken (the worker then leaves it alone) and remove its
 * label triggers.  Only the event triggers call it, as the extension's
 * owner (no EXECUTE for PUBLIC).
 */
CREATE OR REPLACE FUNCTION hitl._break_model(model text, message text) RETURNS void
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

/* ------------------------------------------------------------------------
 * Existing review views, built again with the safe key match
 * ------------------------------------------------------------------------ */

DO $$
DECLARE
	m record;
BEGIN
	FOR m IN
		SELECT o.name, o.view_schema, o.view_name, c.relowner, c.relacl
		FROM hitl.models o
		JOIN pg_class c ON c.oid = to_regclass(format('%I.%I', o.view_schema, o.view_name))
		ORDER BY o.name
	LOOP
		EXECUTE format('DROP VIEW %I.%I', m.view_schema, m.view_name);
		BEGIN
			PERFORM hitl._restore_review_view(m.name, m.relowner, m.relacl);
		EXCEPTION WHEN feature_not_supported THEN
			/* a key of a user-defined type: no safe view can be built */
			RAISE WARNING 'the review view of hitl model "%" was dropped: %', m.name, SQLERRM
				USING HINT = 'Create the model again on a table with a key of a built-in type.';
		END;
	END LOOP;
END
$$;
