/* ------------------------------------------------------------------------
 * 10 Tables: the columns that change, and the new table
 *
 * A model's owner is stored as a role name, not a regrole: a dump restored
 * into a cluster without that role keeps the model (the trigger
 * check_model_owner, section 70, gives it to the owner of its table, with a
 * WARNING).  Its review view is stored as a schema and a name, always
 * quoted when used.  A model may be disabled (the worker leaves it alone).
 * The label log's restores are recorded in hitl.restored_logs.
 *
 * The rows of existing models get their new columns filled in by section
 * 80, once the functions that check updates of hitl.models are there.
 * ------------------------------------------------------------------------ */

/*
 * Everything that depends on hitl.models.owner goes while its type changes
 * from regrole to name.  The read policy and the view come back (sections
 * 40 and 60); the write policies go for good: PUBLIC loses every write
 * privilege on hitl's tables (section 40), and hitl's functions write them
 * as the tables' owner.
 */
DROP POLICY models_read ON hitl.models;
DROP POLICY models_insert ON hitl.models;
DROP POLICY models_update ON hitl.models;
DROP POLICY models_delete ON hitl.models;
DROP POLICY versions_write ON hitl.model_versions;
DROP POLICY queue_write ON hitl.queue;
DROP POLICY label_log_insert ON hitl.label_log;
DROP VIEW hitl.label_stats;

ALTER TABLE hitl.models
	ALTER COLUMN owner DROP DEFAULT,
	ALTER COLUMN owner TYPE name USING pg_get_userbyid(owner::oid),
	ALTER COLUMN owner SET DEFAULT current_user,
	ADD COLUMN enabled boolean NOT NULL DEFAULT true,
	ADD COLUMN view_schema name,
	ADD COLUMN view_name name;

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
