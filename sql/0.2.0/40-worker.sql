
/* ------------------------------------------------------------------------
 * The worker gives way to hitl.drop_model
 * ------------------------------------------------------------------------ */

/*
 * Deleting a model (hitl.drop_model) needs its row, and soon a SHARE lock
 * on its table: the worker drops what it is doing before the statement
 * takes any row lock, and leaves the table of each deleted model alone
 * until the transaction ends, so that the two never deadlock and the
 * delete does not wait for a training.
 */
CREATE FUNCTION hitl._give_way() RETURNS trigger
	AS 'MODULE_PATHNAME', 'hitl_give_way_trigger'
	LANGUAGE C
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl._give_way() IS
	'internal: trigger on hitl.models that makes the background worker give way to the deletion of a model';
REVOKE ALL ON FUNCTION hitl._give_way() FROM PUBLIC;

CREATE TRIGGER give_way_statement BEFORE DELETE ON hitl.models
	FOR EACH STATEMENT EXECUTE FUNCTION hitl._give_way();
CREATE TRIGGER give_way_row BEFORE DELETE ON hitl.models
	FOR EACH ROW EXECUTE FUNCTION hitl._give_way();
