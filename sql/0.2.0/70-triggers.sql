/* ------------------------------------------------------------------------
 * 70 Triggers on hitl's tables
 *
 * Their functions are in sections 20 (C) and 30.
 * ------------------------------------------------------------------------ */

/* A restored model whose owner role is missing goes to its table's owner */
CREATE TRIGGER check_model_owner BEFORE INSERT ON hitl.models
	FOR EACH ROW EXECUTE FUNCTION hitl._check_model_owner();

/*
 * Label log entries restored from a dump: they lose the transaction id of
 * their cluster, and the restore is recorded in hitl.restored_logs.
 */
CREATE TRIGGER restore_label_log BEFORE INSERT ON hitl.label_log
	FOR EACH ROW EXECUTE FUNCTION hitl._restore_label_log();
CREATE TRIGGER restored_label_log AFTER INSERT ON hitl.label_log
	REFERENCING NEW TABLE AS restored
	FOR EACH STATEMENT EXECUTE FUNCTION hitl._restored_label_log();

/* The worker gives way to hitl.drop_model */
CREATE TRIGGER give_way_statement BEFORE DELETE ON hitl.models
	FOR EACH STATEMENT EXECUTE FUNCTION hitl._give_way();
CREATE TRIGGER give_way_row BEFORE DELETE ON hitl.models
	FOR EACH ROW EXECUTE FUNCTION hitl._give_way();
