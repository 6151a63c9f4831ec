
/* ------------------------------------------------------------------------
 * The background workers' SQL side
 * ------------------------------------------------------------------------ */

CREATE FUNCTION hitl.wait(model text, timeout interval DEFAULT '30 s') RETURNS integer
	AS 'MODULE_PATHNAME', 'hitl_wait' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION hitl.wait(text, interval) IS
	'waits until every label committed before the call is in a trained version whose scores are written; returns that version';

CREATE FUNCTION hitl._wake() RETURNS void
	AS 'MODULE_PATHNAME', 'hitl_wake' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION hitl._wake() IS
	'internal: wakes this database''s hitl worker, or has the launcher start one';

CREATE FUNCTION hitl._workers_available() RETURNS boolean
	AS 'MODULE_PATHNAME', 'hitl_workers_available' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION hitl._workers_available() IS
	'internal: whether hitl is preloaded, so that background workers run';

DO $$
BEGIN
	IF hitl._workers_available() THEN
		PERFORM hitl._wake();
	ELSE
		RAISE WARNING 'automatic retraining is off: hitl is not in shared_preload_libraries'
			USING HINT = 'Add hitl to shared_preload_libraries in postgresql.conf and restart the server; until then call hitl.train() and hitl.score() yourself.';
	END IF;
END
$$;
