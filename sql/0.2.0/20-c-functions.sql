/* ------------------------------------------------------------------------
 * 20 C functions: what the module adds or changes
 *
 * Each runs with a safe search_path.  Those that write hitl's tables check
 * the calling role themselves, then write as the owner of hitl's tables
 * (src/security.h): PUBLIC holds no write privilege on them (section 40).
 * ------------------------------------------------------------------------ */

/* Public */

CREATE FUNCTION hitl.alter_model(name text, options jsonb DEFAULT NULL, strategy text DEFAULT NULL,
								 enabled boolean DEFAULT NULL, owner name DEFAULT NULL)
RETURNS void
	AS 'MODULE_PATHNAME', 'hitl_alter_model' LANGUAGE C VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl.alter_model(text, jsonb, text, boolean, name) IS
	'change a model: options (merged into its options, checked), query strategy, enabled (the worker skips a disabled model), owner (owner''s members only, to a role they are members of)';

ALTER FUNCTION hitl.train(text, boolean) SET search_path = pg_catalog, pg_temp;

/* The catalog: writes that check the calling role */

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

/* The scoring's batch writes: hitl._pick() for keys and predictions of any type */

CREATE FUNCTION hitl._pick_any(tids tid[], vals anyarray, key tid) RETURNS anyelement
	AS 'MODULE_PATHNAME', 'hitl_pick_any' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION hitl._pick_any(tid[], anyarray, tid) IS
	'internal: the value paired with a tid in a scoring batch, of any type';

/* replaces 0.1.0's hitl._output_columns(regclass), dropped in section 30 */
CREATE FUNCTION hitl._output_column_model(source regclass, output_column name) RETURNS text
	AS 'MODULE_PATHNAME', 'hitl_output_column_model' LANGUAGE C STRICT STABLE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl._output_column_model(regclass, name) IS
	'internal: the model that writes that column of a table, for the roles that may update the table';

/* The label log */

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
 * Install the label triggers of a model: checks that the caller may change
 * the model (a member of its owner, or a role with UPDATE on its table),
 * then creates the triggers as the owner of hitl's tables with
 * hitl._create_label_triggers (src/label_trigger.c).  It replaces 0.1.0's
 * PL/pgSQL SECURITY DEFINER function.
 */
CREATE OR REPLACE FUNCTION hitl._attach_label_triggers(model text) RETURNS void
	AS 'MODULE_PATHNAME', 'hitl_attach_label_triggers'
	LANGUAGE C STRICT VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl._attach_label_triggers(text) IS
	'internal: installs the triggers that log the label changes of a model, for a role that may change it';

/* Scoring and the worker */

/*
 * The lock that serialises the scorings of a model is out of reach of
 * pg_advisory_lock() (see lock_scoring in src/score.c); this function
 * takes it for the roles that may change the model.
 */
CREATE FUNCTION hitl._hold_scoring(model text) RETURNS void
	AS 'MODULE_PATHNAME', 'hitl_hold_scoring' LANGUAGE C STRICT VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl._hold_scoring(text) IS
	'internal: holds off the scorings of a model until the end of the transaction (they wait between two batches); for the roles that may change it';

/*
 * Deleting a model (hitl.drop_model) needs its row, and soon a SHARE lock
 * on its table: the worker drops what it is doing before the statement
 * takes any row lock, and leaves the table of each deleted model alone
 * until the transaction ends, so that the two never deadlock and the
 * delete does not wait for a training.  The triggers are in section 70.
 */
CREATE FUNCTION hitl._give_way() RETURNS trigger
	AS 'MODULE_PATHNAME', 'hitl_give_way_trigger'
	LANGUAGE C
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl._give_way() IS
	'internal: trigger on hitl.models that makes the background worker give way to the deletion of a model';
REVOKE ALL ON FUNCTION hitl._give_way() FROM PUBLIC;

/*
 * The progress of the trainings and scorings under way in the current
 * database (from shared memory: empty without hitl in
 * shared_preload_libraries), on the models the caller sees (as the policy
 * models_read says).  Read through the view hitl.progress.
 */
CREATE FUNCTION hitl._progress(OUT model text, OUT phase text, OUT rows_done bigint,
							   OUT rows_total bigint, OUT started_at timestamptz,
							   OUT pid integer)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'hitl_progress' LANGUAGE C STRICT VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl._progress() IS
	'internal: the trainings and scorings under way in the current database, from shared memory; read hitl.progress instead';
