
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
