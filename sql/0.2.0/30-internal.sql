/* ------------------------------------------------------------------------
 * 30 Internal functions: hitl._*, in SQL and PL/pgSQL
 *
 * The helpers of the public functions and of the policies (section 40),
 * the trigger functions of hitl's tables (their triggers: section 70), and
 * the steps of hitl.create_model.  Each runs with a safe search_path.
 * Those that act past the calling role's rights (SECURITY DEFINER, or run
 * by hitl as the owner of its tables) are not executable by PUBLIC, or
 * check their caller, but for _model_exists, which answers every role on
 * purpose (below); those run as the calling role by a public function keep
 * EXECUTE for PUBLIC, and do nothing the role could not do directly.
 * ------------------------------------------------------------------------ */

/* 0.1.0's internal functions that stay */

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

/* It listed the output columns of every model of a table to any caller */
DROP FUNCTION hitl._output_columns(regclass);

/* ------------------------------------------------------------------------
 * Lookups
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

/* The type of a column of a table, by name (NULL: no such column) */
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

/* ------------------------------------------------------------------------
 * Trigger functions of hitl's tables
 * ------------------------------------------------------------------------ */

/*
 * The guard of updates of hitl.models.  Only hitl's functions write it,
 * after checking the calling role; the guard keeps what defines a model's
 * versions unchangeable, whoever writes.
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
	/* ... and so is what a model on a distributed table can be (section 29) */
	IF (NEW.strategy, NEW.options) IS DISTINCT FROM (OLD.strategy, OLD.options) THEN
		PERFORM hitl._citus_check_model(NEW.source, NEW.options ? 'text_config', NEW.strategy, NEW.options);
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

/* Entries inserted (restored) lose the transaction id of their cluster */
CREATE FUNCTION hitl._restore_label_log() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	NEW.txid := NULL;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION hitl._restore_label_log() IS
	'internal: label log entries restored from a dump lose their transaction id';

/*
 * After entries were restored: remember the restoring transaction per
 * model, and move the identity sequence past the restored ids (a dump
 * carries the sequence, a data-only restore of the table may not).  Only
 * the owner of hitl's tables (or a superuser) inserts into the log, so this
 * runs as that role and needs no SECURITY DEFINER.
 */
CREATE FUNCTION hitl._restored_label_log() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	top bigint;
	seq text := pg_get_serial_sequence('hitl.label_log', 'id');
	last bigint;
BEGIN
	/* entries taken from Citus worker nodes (section 29) were not restored */
	IF current_setting('hitl_citus.pulling_labels', true) = 'on' THEN
		RETURN NULL;
	END IF;
	INSERT INTO hitl.restored_logs (model, txid, restored_at)
	SELECT DISTINCT n.model, pg_current_xact_id(), now() FROM restored n
	UNION
	SELECT '', pg_current_xact_id(), now() WHERE EXISTS (SELECT 1 FROM restored)
	ON CONFLICT (model) DO UPDATE SET txid = EXCLUDED.txid, restored_at = EXCLUDED.restored_at;
	SELECT max(n.id) INTO top FROM restored n;
	EXECUTE format('SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM %s', seq)
		INTO last;
	IF top > last THEN
		PERFORM setval(seq, top);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION hitl._restored_label_log() IS
	'internal: records the restores of label log entries and keeps new ids above the restored ones';

/*
 * A dropped model's log goes, and the record of its restores.  The table
 * of each model is locked against writers first: the transactions writing
 * its labels finish (their log rows then go too) and no new one starts
 * before the model and its label triggers are gone.
 */
CREATE OR REPLACE FUNCTION hitl._drop_label_log() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	source regclass;
BEGIN
	/*
	 * It runs as the owner of hitl's tables: only as the trigger on
	 * hitl.models, never on a table of a user's, whose "deleted models"
	 * would be any model's name and any table.
	 */
	IF TG_RELID <> 'hitl.models'::regclass OR TG_LEVEL <> 'STATEMENT' OR TG_OP <> 'DELETE' THEN
		RAISE EXCEPTION 'hitl._drop_label_log() runs only as the trigger of hitl.models'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	FOR source IN
		SELECT DISTINCT d.source FROM dropped_models d
		WHERE EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = d.source)
		  /*
		   * not a distributed table, whose label triggers log on the worker
		   * nodes; locked here, as the owner of hitl's tables, it would wait
		   * for the locks of the caller's own statements there (section 29)
		   */
		  AND hitl._citus_distribution_column(d.source) IS NULL
		ORDER BY 1
	LOOP
		EXECUTE format('LOCK TABLE %s IN SHARE MODE', source);
	END LOOP;
	DELETE FROM hitl.label_log l USING dropped_models d WHERE l.model = d.name;
	DELETE FROM hitl.restored_logs r USING dropped_models d WHERE r.model = d.name;
	/* the out-of-fold store has no foreign key (69b-auto-label.sql) */
	DELETE FROM hitl.oof_predictions o USING dropped_models d WHERE o.model = d.name;
	/* a model on a distributed table: its mirrors and their logs (section 29) */
	PERFORM hitl._citus_forget(d.name) FROM dropped_models d
	WHERE hitl._citus_distribution_column(d.source) IS NOT NULL;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION hitl._drop_label_log() IS
	'internal: deletes the label log and the out-of-fold store of dropped models (the trigger of hitl.models only)';
REVOKE ALL ON FUNCTION hitl._drop_label_log() FROM PUBLIC;

/* ------------------------------------------------------------------------
 * Label triggers
 * ------------------------------------------------------------------------ */

/*
 * Install the label triggers of a model on its table, those missing only
 * (so a call is harmless when they are there), for a model that exists and
 * is not broken.  Only hitl._attach_label_triggers calls this, as the owner
 * of hitl's tables, once it has checked its caller.
 *
 *	ins		AFTER INSERT, per statement, with the inserted rows: logs the
 *			rows inserted with a label
 *	del		AFTER DELETE, per statement, with the deleted rows: logs the
 *			labeled rows deleted
 *	row		AFTER UPDATE, per row, when the label changed: keeps the change
 *			in memory.  No column list: a label set by a BEFORE trigger, or
 *			a generated label whose inputs changed, is a change as well;
 *			the WHEN clause makes other updates (scoring) cost a comparison
 *			per row and queue nothing.
 *	upd		AFTER UPDATE, per statement: logs the changes kept by "row"
 *	trunc	AFTER TRUNCATE: wakes the worker
 *	ans		BEFORE UPDATE OF the label column (an UPDATE that sets it,
 *			to the value it has or not), per row, for a model with several
 *			annotators per row only: records the role's answer
 *			and puts the row's consensus in its place (section 74,
 *			src/answer.c)
 */
CREATE FUNCTION hitl._label_trigger_ddl(model text) RETURNS SETOF text
LANGUAGE plpgsql STABLE
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
	FOREACH kind IN ARRAY ARRAY['ins', 'del', 'row', 'upd', 'trunc', 'ans'] LOOP
		CONTINUE WHEN EXISTS (SELECT 1 FROM pg_trigger t
							  WHERE t.tgrelid = m.source
								AND t.tgname = hitl._label_trigger_name(model, kind));
		/* answers: only for a model with several annotators per row */
		CONTINUE WHEN kind = 'ans' AND coalesce((m.options ->> 'annotators_per_row')::integer, 1) <= 1;
		/*
		 * a distributed table: no TRUNCATE trigger, which Citus would not put
		 * on the shards but a shard move would (section 29)
		 */
		CONTINUE WHEN kind = 'trunc' AND hitl._citus_distribution_column(m.source) IS NOT NULL;
		ddl := CASE kind
			WHEN 'ins' THEN 'AFTER INSERT ON %2$s REFERENCING NEW TABLE AS hitl_new FOR EACH STATEMENT'
			WHEN 'del' THEN 'AFTER DELETE ON %2$s REFERENCING OLD TABLE AS hitl_old FOR EACH STATEMENT'
			WHEN 'row' THEN 'AFTER UPDATE ON %2$s FOR EACH ROW WHEN (OLD.%3$I IS DISTINCT FROM NEW.%3$I)'
			WHEN 'upd' THEN 'AFTER UPDATE ON %2$s FOR EACH STATEMENT'
			WHEN 'ans' THEN 'BEFORE UPDATE OF %3$I ON %2$s FOR EACH ROW'
			ELSE 'AFTER TRUNCATE ON %2$s FOR EACH STATEMENT' END;
		RETURN NEXT format('CREATE TRIGGER %1$I ' || ddl || ' EXECUTE FUNCTION hitl._label_trigger(%4$L)',
						   hitl._label_trigger_name(model, kind), m.source, m.label_column, model);
	END LOOP;
END
$$;
COMMENT ON FUNCTION hitl._label_trigger_ddl(text) IS
	'internal: the CREATE TRIGGER statements of the label triggers a model''s table lacks';
REVOKE ALL ON FUNCTION hitl._label_trigger_ddl(text) FROM PUBLIC;

CREATE FUNCTION hitl._create_label_triggers(model text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
/* a table distributed by Citus after its model was made (section 29) */
SET citus.enable_unsafe_triggers = on
AS $$
DECLARE
	ddl text;
BEGIN
	FOR ddl IN SELECT hitl._label_trigger_ddl(model) LOOP
		EXECUTE ddl;
	END LOOP;
END
$$;
COMMENT ON FUNCTION hitl._create_label_triggers(text) IS
	'internal: creates the missing label triggers of a model (called by hitl._attach_label_triggers)';
REVOKE ALL ON FUNCTION hitl._create_label_triggers(text) FROM PUBLIC;

/*
 * The label triggers of a model that was dropped or is broken.  Only hitl
 * calls it (as the owner of its tables: _model_delete, _break_model), and
 * only the triggers created for that very model go: their argument is the
 * model's name, which a trigger name alone (an md5 for long names) is not.
 */
CREATE FUNCTION hitl._label_trigger_drop_ddl(model text, source regclass) RETURNS SETOF text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM hitl.models m
			   WHERE m.name = _label_trigger_drop_ddl.model
				 AND m.source = _label_trigger_drop_ddl.source
				 AND m.status <> 'broken') THEN
		RAISE EXCEPTION 'model "%" still uses its label triggers', model
			USING ERRCODE = 'object_in_use';
	END IF;
	RETURN QUERY
		SELECT format('DROP TRIGGER %I ON %s', t.tgname, source) FROM pg_trigger t
		WHERE t.tgrelid = source
		  AND t.tgfoid = 'hitl._label_trigger()'::regprocedure
		  AND t.tgnargs = 1
		  AND t.tgargs = convert_to(model, current_setting('server_encoding')) || '\x00'::bytea
		  AND t.tgname IN (SELECT hitl._label_trigger_name(model, k)
						   FROM unnest(ARRAY['ins', 'del', 'row', 'upd', 'trunc', 'ans']) k)
		ORDER BY t.tgname;
END
$$;
COMMENT ON FUNCTION hitl._label_trigger_drop_ddl(text, regclass) IS
	'internal: the DROP TRIGGER statements of the label triggers of a dropped or broken model';
REVOKE ALL ON FUNCTION hitl._label_trigger_drop_ddl(text, regclass) FROM PUBLIC;

CREATE OR REPLACE FUNCTION hitl._detach_label_triggers(model text, source regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
/* a table distributed by Citus after its model was made (section 29) */
SET citus.enable_unsafe_triggers = on
AS $$
DECLARE
	ddl text;
BEGIN
	FOR ddl IN SELECT hitl._label_trigger_drop_ddl(model, source) LOOP
		EXECUTE ddl;
	END LOOP;
END
$$;
COMMENT ON FUNCTION hitl._detach_label_triggers(text, regclass) IS
	'internal: removes the label triggers of a dropped or broken model';
REVOKE EXECUTE ON FUNCTION hitl._detach_label_triggers(text, regclass) FROM PUBLIC;

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
	/*
	 * On a distributed table the triggers stay, logging nothing, until
	 * hitl.drop_model drops them as its caller (section 29): dropped here,
	 * as the owner of hitl's tables, they would wait for the locks that the
	 * caller's ALTER TABLE holds on the worker nodes
	 */
	IF hitl._citus_distribution_column(m.source) IS NULL THEN
		PERFORM hitl._detach_label_triggers(m.name, m.source);
	END IF;
	RAISE WARNING 'hitl model "%" is broken: %', model, message
		USING HINT = format('Drop it with hitl.drop_model(%L) and create it again.', model);
END
$$;
COMMENT ON FUNCTION hitl._break_model(text, text) IS
	'internal: marks a model broken after its table or columns changed';
REVOKE ALL ON FUNCTION hitl._break_model(text, text) FROM PUBLIC;

/* ------------------------------------------------------------------------
 * Review views
 * ------------------------------------------------------------------------ */

/*
 * The name of a column the review view adds to the table's columns: col
 * ("rank", "evaluation"), or "queue_<col>" when the table has a col.
 */
CREATE FUNCTION hitl._review_column_name(source regclass, col name) RETURNS name
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF hitl._column_type(source, col) IS NULL THEN
		RETURN col;
	END IF;
	IF hitl._column_type(source, ('queue_' || col)::name) IS NOT NULL THEN
		RAISE EXCEPTION 'table % has columns "%" and "queue_%"', source, col, col
			USING ERRCODE = 'duplicate_column',
				  DETAIL = format('The review view adds a %s column under one of these names.', col),
				  HINT = 'Rename one of the two columns.';
	END IF;
	RETURN ('queue_' || col)::name;
END
$$;
COMMENT ON FUNCTION hitl._review_column_name(regclass, name) IS
	'internal: the name under which the review view adds a column of the queue (rank, evaluation) to the table''s';

/*
 * (Re)create the review view of a model: the unlabeled rows among its ranked
 * candidates, with the source table's columns, the rank and whether each
 * is an evaluation row (drawn at random: see 69-evaluation.sql), joined to the
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
	evaluation_column name;
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
	rank_column := hitl._review_column_name(m.source, 'rank');
	/* last: an existing view gains it with CREATE OR REPLACE */
	evaluation_column := hitl._review_column_name(m.source, 'evaluation');
	/*
	 * A distributed table (section 29): Citus joins its shards to the
	 * queue's rows, read first on the coordinator, on each node; one
	 * annotator per row.  The join is materialised on the coordinator and
	 * ordered there: Citus would send a LIMIT of the view's reader to the
	 * shards without the view's order.
	 */
	IF hitl._citus_distribution_column(m.source) IS NOT NULL THEN
		EXECUTE format($v$
			CREATE OR REPLACE VIEW %1$I.%2$I AS
			WITH candidates AS MATERIALIZED (
				SELECT t.*, q.rank AS %3$I, q.evaluation AS %4$I
				FROM (SELECT q.rank, q.evaluation, q.row_key FROM hitl.queue q
					  WHERE q.model OPERATOR(pg_catalog.=) %8$L::pg_catalog.text OFFSET 0) q
				JOIN %5$s t ON %6$s AND t.%7$I IS NULL)
			SELECT * FROM candidates ORDER BY %3$I$v$,
			m.view_schema, m.view_name, rank_column, evaluation_column, m.source,
			hitl._key_match(m.source, m.key_columns, 't', 'q.row_key'), m.label_column, m.name);
		EXECUTE format('COMMENT ON VIEW %I.%I IS %L', m.view_schema, m.view_name,
					   format('hitl review queue of model %s: unlabeled rows, most uncertain first', m.name));
		RETURN;
	END IF;
	/*
	 * With several annotators per row (section 74), each reader sees the
	 * rows it has not answered that still lack answers, those others
	 * started first; the model's option is read at each query (an
	 * InitPlan), so that the view follows alter_model.
	 */
	EXECUTE format($v$
		CREATE OR REPLACE VIEW %1$I.%2$I AS
		SELECT s.*, q.rank AS %3$I, q.evaluation AS %4$I
		FROM hitl.queue q
		CROSS JOIN LATERAL (
			SELECT t.* FROM %5$s t
			WHERE %6$s AND t.%7$I IS NULL
			OFFSET 0) s
		WHERE q.model OPERATOR(pg_catalog.=) %8$L::pg_catalog.text
		  AND (%9$s OPERATOR(pg_catalog.<=) 1
			   OR (NOT EXISTS (SELECT 1 FROM hitl.answers a
							   WHERE a.model OPERATOR(pg_catalog.=) %8$L::pg_catalog.text
								 AND a.row_key OPERATOR(pg_catalog.=) q.row_key
								 AND a.role OPERATOR(pg_catalog.=) CURRENT_USER)
				   AND (SELECT pg_catalog.count(*) FROM hitl.answers a
						WHERE a.model OPERATOR(pg_catalog.=) %8$L::pg_catalog.text
						  AND a.row_key OPERATOR(pg_catalog.=) q.row_key) OPERATOR(pg_catalog.<) %9$s))
		ORDER BY CASE WHEN %9$s OPERATOR(pg_catalog.>) 1
					  THEN EXISTS (SELECT 1 FROM hitl.answers a
								   WHERE a.model OPERATOR(pg_catalog.=) %8$L::pg_catalog.text
									 AND a.row_key OPERATOR(pg_catalog.=) q.row_key) END DESC NULLS LAST,
				 q.rank$v$,
		m.view_schema, m.view_name, rank_column, evaluation_column, m.source,
		hitl._key_match(m.source, m.key_columns, 't', 'q.row_key'), m.label_column, m.name,
		format('(SELECT coalesce((m.options OPERATOR(pg_catalog.->>) ''annotators_per_row'')::pg_catalog.int4, 1)'
			   ' FROM hitl.models m WHERE m.name OPERATOR(pg_catalog.=) %L::pg_catalog.text)', m.name));
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
 * The steps of hitl.create_model
 *
 * create_model runs as its caller (it is not SECURITY DEFINER), and so do
 * these: PUBLIC keeps EXECUTE on them, since every role that may create a
 * model calls them.  The checks read what the caller may read, write
 * nothing, and raise the errors of create_model in its order; the first
 * training goes through hitl.train and hitl.score, which check the caller.
 * ------------------------------------------------------------------------ */

/* The model's name: not empty, and short enough for its review view's name */
CREATE FUNCTION hitl._check_model_name(name text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF name IS NULL OR name = '' THEN
		RAISE EXCEPTION 'model name must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF octet_length(name) > 50 THEN
		RAISE EXCEPTION 'model name "%" is too long', name
			USING ERRCODE = 'name_too_long',
				  DETAIL = 'Model names are at most 50 bytes, so that "<name>_review_queue" is a valid identifier.';
	END IF;
END
$$;
COMMENT ON FUNCTION hitl._check_model_name(text) IS
	'internal: create_model''s check of a model name (not empty, at most 50 bytes)';

/* The arguments create_model cannot do without */
CREATE FUNCTION hitl._check_required(source regclass, label_column name, feature_columns name[])
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF source IS NULL OR label_column IS NULL OR feature_columns IS NULL THEN
		RAISE EXCEPTION 'source, label_column and feature_columns must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
END
$$;
COMMENT ON FUNCTION hitl._check_required(regclass, name, name[]) IS
	'internal: create_model''s check that the table, label column and feature columns are given';

/* The name is not taken, by a model the caller sees or not */
CREATE FUNCTION hitl._check_name_free(name text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF hitl._model_exists(name) THEN
		RAISE EXCEPTION 'model "%" already exists', name
			USING ERRCODE = 'duplicate_object',
				  HINT = 'Choose another name, or drop it first with hitl.drop_model().';
	END IF;
END
$$;
COMMENT ON FUNCTION hitl._check_name_free(text) IS
	'internal: create_model''s check that no model has that name';

/*
 * The table: an ordinary table the caller may read and update, in a
 * schema where it may create the review view, and not one of Citus (see
 * hitl._citus_table_kind).  Returns that schema.
 */
CREATE FUNCTION hitl._check_table(source regclass) RETURNS name
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	rel record;
	citus_kind text;
BEGIN
	SELECT c.relkind, c.relnamespace, n.nspname INTO rel
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE c.oid = source;
	IF rel.relkind <> 'r' THEN
		RAISE EXCEPTION '"%" is not an ordinary table', source
			USING ERRCODE = 'wrong_object_type',
				  DETAIL = 'hitl models are built on ordinary tables (not views, partitioned or foreign tables).';
	END IF;
	citus_kind := hitl._citus_table_kind(source);
	IF citus_kind IS NOT NULL AND hitl._citus_distribution_column(source) IS NULL THEN
		RAISE EXCEPTION '%', CASE citus_kind
				WHEN 'distributed' THEN format('table %s is distributed by Citus without a hash distribution column: hitl does not support it', source)
				ELSE format('table %s is a Citus %s table: hitl does not support it', source, citus_kind) END
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'hitl builds models on plain tables and on tables Citus distributes by hash of a column.',
				  HINT = 'Build the model on a plain table (undistribute_table() makes one of it) or on a hash-distributed one; hitl.simulate reads any table.';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = source) THEN
		RAISE EXCEPTION 'table % has inheritance children', source
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'hitl reads and writes the rows of one table; its children''s labels would not be logged.',
				  HINT = 'Build a model on each table.';
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
	RETURN rel.nspname;
END
$$;
COMMENT ON FUNCTION hitl._check_table(regclass) IS
	'internal: create_model''s check of the table (ordinary, not Citus'', without inheritance children, readable and updatable, its schema open to CREATE); returns its schema';

/*
 * The table's primary key, whose columns identify rows in hitl's tables.
 * Keys are compared as their built-in base type: a user-defined type (or
 * an enum) could bring casts and operators of its own.  Returns the key
 * columns, in the key's order.
 */
CREATE FUNCTION hitl._check_key(source regclass) RETURNS name[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	keys name[];
	col name;
	col_type regtype;
BEGIN
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
	FOREACH col IN ARRAY keys LOOP
		col_type := hitl._column_type(source, col);
		IF hitl._base_type(col_type) >= 16384 THEN
			RAISE EXCEPTION 'key column "%" has type %, which is not built in', col, col_type
				USING ERRCODE = 'feature_not_supported',
					  DETAIL = 'hitl compares row keys as built-in types, so that reading a review queue runs no user-defined code.',
					  HINT = 'Use a primary key of a built-in type (integer, bigint, text, uuid, ...) or of a domain over one.';
		END IF;
	END LOOP;
	RETURN keys;
END
$$;
COMMENT ON FUNCTION hitl._check_key(regclass) IS
	'internal: create_model''s check of the primary key (present, of built-in types); returns its columns';

/* The label column: there, of a type labels can have.  Returns its type. */
CREATE FUNCTION hitl._check_label_column(source regclass, label_column name) RETURNS regtype
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	label_type regtype;
BEGIN
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
	RETURN label_type;
END
$$;
COMMENT ON FUNCTION hitl._check_label_column(regclass, name) IS
	'internal: create_model''s check of the label column (exists, of a label type); returns its type';

/*
 * The feature columns: at least one, each once, not the label, there, of a
 * feature type; array features (embeddings) of one length in the table.
 * Returns whether one of them is text.
 */
CREATE FUNCTION hitl._check_feature_columns(source regclass, label_column name, feature_columns name[])
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	col name;
	col_type regtype;
	i integer;
	lens bigint;
	has_text boolean := false;
BEGIN
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
	RETURN has_text;
END
$$;
COMMENT ON FUNCTION hitl._check_feature_columns(regclass, name, name[]) IS
	'internal: create_model''s check of the feature columns; returns whether one of them is text';

/*
 * The output columns out_cols (prediction, confidence, uncertainty), of
 * types out_types: three columns of their own, written by no other model,
 * and of the right type when they exist.  Returns those to add.
 */
CREATE FUNCTION hitl._check_output_columns(source regclass, label_column name, feature_columns name[],
										   keys name[], out_cols name[], out_types regtype[])
RETURNS name[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	added name[] := '{}';
	col name;
	col_type regtype;
	other_model text;
	i integer;
BEGIN
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
	RETURN added;
END
$$;
COMMENT ON FUNCTION hitl._check_output_columns(regclass, name, name[], name[], name[], regtype[]) IS
	'internal: create_model''s check of the output columns; returns those to add to the table';

/*
 * The algorithm, the query strategy and the options (checked, with their
 * defaults filled in, by hitl._resolve_options).  Returns the options.
 */
CREATE FUNCTION hitl._check_options(algorithm text, strategy text, options jsonb, has_text boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF algorithm IS NULL OR algorithm NOT IN ('logistic', 'naive_bayes') THEN
		RAISE EXCEPTION 'unknown algorithm "%"', algorithm
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Known algorithms: logistic, naive_bayes.';
	END IF;
	IF strategy IS NULL OR strategy NOT IN ('margin', 'least_confidence', 'entropy',
											'density', 'diverse', 'committee') THEN
		RAISE EXCEPTION 'unknown query strategy "%"', strategy
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Known strategies: margin, least_confidence, entropy, density, diverse, committee.';
	END IF;
	IF strategy = 'committee' AND algorithm = 'naive_bayes' THEN
		RAISE EXCEPTION 'strategy "committee" needs algorithm logistic'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Naive Bayes models have no committee: use another strategy.';
	END IF;
	RETURN hitl._resolve_options(options, algorithm, has_text);
END
$$;
COMMENT ON FUNCTION hitl._check_options(text, text, jsonb, boolean) IS
	'internal: create_model''s check of the algorithm, query strategy and options; returns the options with their defaults';

/* The review view's name, <model>_review_queue, is free in the table's schema */
CREATE FUNCTION hitl._check_view_name(view_schema name, model text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	view_qualified text := format('%I.%I', view_schema, model || '_review_queue');
BEGIN
	IF to_regclass(view_qualified) IS NOT NULL THEN
		RAISE EXCEPTION 'relation "%" already exists', view_qualified
			USING ERRCODE = 'duplicate_table',
				  HINT = 'The review view of a model is named <model>_review_queue; choose another model name.';
	END IF;
END
$$;
COMMENT ON FUNCTION hitl._check_view_name(name, text) IS
	'internal: create_model''s check that the name of the review view is free';

/*
 * A new model's first training: train and score it at once when its table
 * holds min_labels labels of at least 2 classes (the version trained is
 * returned), otherwise say that it waits for labels (NULL).  As the caller:
 * hitl.train and hitl.score check it.
 */
CREATE FUNCTION hitl._first_training(model text, source regclass, label_column name,
									 min_labels integer)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n_labeled bigint;
	n_classes bigint;
	version integer;
BEGIN
	EXECUTE format('SELECT count(%1$I), count(DISTINCT %1$I) FROM %2$s', label_column, source)
		INTO n_labeled, n_classes;
	IF n_labeled >= min_labels AND n_classes >= 2 THEN
		version := hitl.train(model);
		PERFORM hitl.score(model);
	ELSE
		RAISE NOTICE 'model "%" is waiting for labels', model
			USING DETAIL = hitl._labels_detail(n_labeled, n_classes, min_labels);
	END IF;
	RETURN version;
END
$$;
COMMENT ON FUNCTION hitl._first_training(text, regclass, name, integer) IS
	'internal: trains and scores a new model when its table holds enough labels, or says it is waiting for them';

/*
 * ALTER TABLE on a model's table: a model whose column was renamed or
 * dropped is broken (as in 0.1.0), and so is one whose feature column now
 * has a type a model does not read, or whose confidence or uncertainty
 * column is no longer float8.  A column's type can change after the model
 * was made (ALTER COLUMN ... TYPE), to a type of the table owner's whose
 * casts run as whoever reads the features: such a model is read no more.
 */
CREATE OR REPLACE FUNCTION hitl._on_alter_table() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT DISTINCT ON (m.name) m.name, m.source, c.col, c.what, a.attname AS new_name,
			   hitl._column_type(m.source, c.col) AS col_type
		FROM (SELECT DISTINCT d.objid, d.object_type, d.objsubid
			  FROM pg_event_trigger_ddl_commands() d
			  WHERE d.classid = 'pg_class'::regclass) d
		JOIN hitl.models m ON m.source::oid = d.objid AND m.status <> 'broken'
			AND NOT hitl._citus_is_mirror(m.source)
		CROSS JOIN LATERAL (SELECT * FROM hitl._model_columns(m)
							UNION ALL
							SELECT (m.options ->> 'cv_group_column')::name, 'group column'
							WHERE m.options ? 'cv_group_column') c
		LEFT JOIN pg_attribute a ON d.object_type = 'table column'
			AND a.attrelid = d.objid AND a.attnum = d.objsubid
		WHERE hitl._column_type(m.source, c.col) IS NULL
		   OR (c.what = 'feature column'
			   AND hitl._column_type(m.source, c.col) NOT IN
				   ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype,
					'real'::regtype, 'double precision'::regtype, 'numeric'::regtype,
					'boolean'::regtype, 'real[]'::regtype, 'double precision[]'::regtype,
					'text'::regtype, 'character varying'::regtype))
		   OR (c.what IN ('confidence column', 'uncertainty column')
			   AND hitl._column_type(m.source, c.col) <> 'double precision'::regtype)
		   OR (c.what = 'group column'
			   AND hitl._column_type(m.source, c.col)::oid >= 16384)
		ORDER BY m.name
	LOOP
		IF r.col_type IS NOT NULL THEN
			PERFORM hitl._break_model(r.name, format('its %s "%s" of table %s now has type %s, which the model does not read',
													  r.what, r.col, r.source, r.col_type));
		ELSIF r.new_name IS NOT NULL THEN
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
	'internal: marks broken the models whose columns were renamed, or changed to a type the model does not read';

/*
 * sql_drop: as in 0.1.0, a model whose table or column was dropped is
 * broken; but not a mirror on a Citus worker node (section 29), whose
 * model the coordinator's event trigger breaks.
 */
CREATE OR REPLACE FUNCTION hitl._on_sql_drop() RETURNS event_trigger
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
			AND NOT hitl._citus_is_mirror(m.source)
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
