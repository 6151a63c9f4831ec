/* ------------------------------------------------------------------------
 * Scoring: the lock that serialises the scorings of a model is out of reach
 * of pg_advisory_lock() (see lock_scoring in src/score.c); this function
 * takes it for the roles that may change the model.
 * ------------------------------------------------------------------------ */

CREATE FUNCTION hitl._hold_scoring(model text) RETURNS void
	AS 'MODULE_PATHNAME', 'hitl_hold_scoring' LANGUAGE C STRICT VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl._hold_scoring(text) IS
	'internal: holds off the scorings of a model until the end of the transaction (they wait between two batches); for the roles that may change it';
