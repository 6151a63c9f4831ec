/* ------------------------------------------------------------------------
 * The label log: provenance written only by hitl's triggers, shown only
 * where the reader may see the source row, complete whatever sets a label,
 * and never re-applied after a restore
 * ------------------------------------------------------------------------ */

/*
 * Nobody writes the log but the label triggers, which write its heap
 * directly (src/labels.c) and need no privilege.  PUBLIC keeps SELECT only:
 * no INSERT (of any column), UPDATE, DELETE or TRUNCATE, and so no LOCK
 * beyond ACCESS SHARE.  A dropped model's log goes through the SECURITY
 * DEFINER trigger hitl._drop_label_log.
 */
DROP POLICY IF EXISTS label_log_insert ON hitl.label_log;
REVOKE INSERT (model, row_key, old_label, new_label, role, model_version, prediction, confidence)
	ON hitl.label_log FROM PUBLIC;
REVOKE ALL ON hitl.label_log FROM PUBLIC;
GRANT SELECT ON hitl.label_log TO PUBLIC;

/*
 * May the current role see the row of a model's table that a row key
 * names?  Asked only for tables where row-level security applies to the
 * reader: it looks the row up by primary key, as the reader, so that the
 * table's policies decide.
 */
CREATE FUNCTION hitl._source_row_visible(model text, row_key jsonb) RETURNS boolean
	AS 'MODULE_PATHNAME', 'hitl_source_row_visible'
	LANGUAGE C STRICT STABLE PARALLEL RESTRICTED
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl._source_row_visible(text, jsonb) IS
	'internal: whether the current role may see the row of a model''s table named by a row key (row-level security)';

/*
 * What hitl shows of a row holds the source table's row-level security.
 * Two lists of the models the reader sees, each computed once per
 * statement (InitPlans): those whose table has no row-level security for
 * the reader (no policy, or the reader is its owner, BYPASSRLS or
 * superuser), whose rows are all shown as before, without a call per row;
 * and the others, whose rows are shown when the reader sees the row they
 * are about.
 */
DROP POLICY label_log_read ON hitl.label_log;
CREATE POLICY label_log_read ON hitl.label_log FOR SELECT
	USING (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
							  WHERE NOT pg_catalog.row_security_active(m.source::oid)))
		   OR (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
								  WHERE pg_catalog.row_security_active(m.source::oid)))
			   AND hitl._source_row_visible(model, row_key)));
COMMENT ON POLICY label_log_read ON hitl.label_log IS
	'the log of a model is visible to the roles that see the model, each entry only when the role may see the row it is about';

DROP POLICY queue_read ON hitl.queue;
CREATE POLICY queue_read ON hitl.queue FOR SELECT
	USING (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
							  WHERE NOT pg_catalog.row_security_active(m.source::oid)))
		   OR (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
								  WHERE pg_catalog.row_security_active(m.source::oid)))
			   AND hitl._source_row_visible(model, row_key)));
COMMENT ON POLICY queue_read ON hitl.queue IS
	'review candidates of a model are visible to the roles that see the model, each only when the role may see its row';

/*
 * A policy FOR ALL is also a SELECT policy, OR-ed with queue_read: 0.1.0's
 * queue_write would show every candidate to the roles that may update the
 * table.  Writes to hitl.queue keep their rule, per command.
 */
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_policy p
			   WHERE p.polrelid = 'hitl.queue'::pg_catalog.regclass
				 AND p.polname = 'queue_write' AND p.polcmd = '*') THEN
		DROP POLICY queue_write ON hitl.queue;
		CREATE POLICY queue_insert ON hitl.queue FOR INSERT
			WITH CHECK (EXISTS (SELECT 1 FROM hitl.models m WHERE m.name = model
								AND (pg_has_role(m.owner, 'USAGE')
									 OR has_table_privilege(m.source, 'UPDATE'))));
		CREATE POLICY queue_update ON hitl.queue FOR UPDATE
			USING (EXISTS (SELECT 1 FROM hitl.models m WHERE m.name = model
						   AND (pg_has_role(m.owner, 'USAGE')
								OR has_table_privilege(m.source, 'UPDATE'))));
		CREATE POLICY queue_delete ON hitl.queue FOR DELETE
			USING (EXISTS (SELECT 1 FROM hitl.models m WHERE m.name = model
						   AND (pg_has_role(m.owner, 'USAGE')
								OR has_table_privilege(m.source, 'UPDATE'))));
		COMMENT ON POLICY queue_insert ON hitl.queue IS
			'candidates are stored by the roles that may change the model';
		COMMENT ON POLICY queue_update ON hitl.queue IS
			'candidates are changed by the roles that may change the model';
		COMMENT ON POLICY queue_delete ON hitl.queue IS
			'candidates are removed by the roles that may change the model';
	END IF;
END
$$;

/*
 * hitl.label_stats counts what its reader may see of the log: it reads
 * hitl.label_log with the reader's rights, so the log's policy applies.
 */
ALTER VIEW hitl.label_stats SET (security_invoker = true);

/* ------------------------------------------------------------------------
 * The label triggers
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
 */
CREATE FUNCTION hitl._create_label_triggers(model text) RETURNS void
LANGUAGE plpgsql
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
			WHEN 'row' THEN 'AFTER UPDATE ON %2$s FOR EACH ROW WHEN (OLD.%3$I IS DISTINCT FROM NEW.%3$I)'
			WHEN 'upd' THEN 'AFTER UPDATE ON %2$s FOR EACH STATEMENT'
			ELSE 'AFTER TRUNCATE ON %2$s FOR EACH STATEMENT' END;
		EXECUTE format('CREATE TRIGGER %1$I ' || ddl || ' EXECUTE FUNCTION hitl._label_trigger(%4$L)',
					   hitl._label_trigger_name(model, kind), m.source, m.label_column, model);
	END LOOP;
END
$$;
COMMENT ON FUNCTION hitl._create_label_triggers(text) IS
	'internal: creates the missing label triggers of a model (called by hitl._attach_label_triggers)';
REVOKE ALL ON FUNCTION hitl._create_label_triggers(text) FROM PUBLIC;

/*
 * The entry point: checks that the caller may change the model (a member
 * of its owner, or a role with UPDATE on its table), then creates the
 * triggers as the owner of hitl's tables (src/labels.c).
 */
CREATE OR REPLACE FUNCTION hitl._attach_label_triggers(model text) RETURNS void
	AS 'MODULE_PATHNAME', 'hitl_attach_label_triggers'
	LANGUAGE C STRICT VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl._attach_label_triggers(text) IS
	'internal: installs the triggers that log the label changes of a model, for a role that may change it';

/* Existing models get the new update triggers */
DO $$
DECLARE
	m record;
	kind text;
BEGIN
	FOR m IN
		SELECT name, source FROM hitl.models
		WHERE status <> 'broken'
		  AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = source)
		ORDER BY name
	LOOP
		FOREACH kind IN ARRAY ARRAY['row', 'upd'] LOOP
			EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s',
						   hitl._label_trigger_name(m.name, kind), m.source);
		END LOOP;
		PERFORM hitl._attach_label_triggers(m.name);
	END LOOP;
END
$$;

/* ------------------------------------------------------------------------
 * Restored label logs
 * ------------------------------------------------------------------------ */

/*
 * The transactions that restored label log entries of a model.  Rows reach
 * hitl.label_log through INSERT or COPY only in a restore (the triggers
 * write its heap directly, and PUBLIC may not insert): such entries come
 * with the transaction ids of another cluster, which mean nothing here.
 * They are kept with txid NULL, "committed before anything in this
 * cluster", so that no incremental update applies them; and a version whose
 * label snapshot does not show the restore as committed (a version restored
 * along with the log) is not trusted by an incremental update, which trains
 * from scratch instead.  A row with the empty model name ('', which no
 * model has) records the last restore of any entry: versions of models
 * whose own log was empty come from the same dump.  This table is not
 * dumped: what it says holds only in the cluster it was written in.
 */
CREATE TABLE hitl.restored_logs (
	model				text PRIMARY KEY,
	txid				xid8 NOT NULL,
	restored_at			timestamptz NOT NULL
);
COMMENT ON TABLE hitl.restored_logs IS
	'the last transaction that restored label log entries of each model (not dumped)';
COMMENT ON COLUMN hitl.restored_logs.model IS
	'the model whose log entries were restored; the empty name for the last restore of any entries';
COMMENT ON COLUMN hitl.restored_logs.txid IS 'the transaction that restored them';
COMMENT ON COLUMN hitl.restored_logs.restored_at IS 'when that transaction started';

ALTER TABLE hitl.restored_logs ENABLE ROW LEVEL SECURITY;
CREATE POLICY restored_logs_read ON hitl.restored_logs FOR SELECT
	USING (model = '' OR model = ANY (ARRAY(SELECT m.name FROM hitl.models m)));
COMMENT ON POLICY restored_logs_read ON hitl.restored_logs IS
	'restores of a model''s log are visible to the roles that see the model, the last restore of any entries to everyone';
REVOKE ALL ON hitl.restored_logs FROM PUBLIC;
GRANT SELECT ON hitl.restored_logs TO PUBLIC;

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

CREATE TRIGGER restore_label_log BEFORE INSERT ON hitl.label_log
	FOR EACH ROW EXECUTE FUNCTION hitl._restore_label_log();

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

CREATE TRIGGER restored_label_log AFTER INSERT ON hitl.label_log
	REFERENCING NEW TABLE AS restored
	FOR EACH STATEMENT EXECUTE FUNCTION hitl._restored_label_log();

/* A dropped model's log goes, and the record of its restores */
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
		ORDER BY 1
	LOOP
		EXECUTE format('LOCK TABLE %s IN SHARE MODE', source);
	END LOOP;
	DELETE FROM hitl.label_log l USING dropped_models d WHERE l.model = d.name;
	DELETE FROM hitl.restored_logs r USING dropped_models d WHERE r.model = d.name;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION hitl._drop_label_log() IS
	'internal: deletes the label log of dropped models (the trigger of hitl.models only)';
REVOKE ALL ON FUNCTION hitl._drop_label_log() FROM PUBLIC;
