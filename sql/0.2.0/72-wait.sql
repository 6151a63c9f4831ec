/* ------------------------------------------------------------------------
 * 72 hitl.wait, also for a version's cross-validation
 *
 * The worker scores a version before it cross-validates it (the fresh
 * review queue first): hitl.wait returns once the scores are written, and
 * with cross_validated once the version also has its own cross-validated
 * figures, out-of-fold store and audit queue.
 * ------------------------------------------------------------------------ */

DROP FUNCTION hitl.wait(text, interval);
CREATE FUNCTION hitl.wait(model text, timeout interval DEFAULT '30 s',
						  cross_validated boolean DEFAULT false) RETURNS integer
	AS 'MODULE_PATHNAME', 'hitl_wait' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION hitl.wait(text, interval, boolean) IS
	'waits until every label committed before the call is in a trained version whose scores are written (cross_validated: and whose cross-validation, which the worker does after the scoring, is done); returns that version';
