/* ------------------------------------------------------------------------
 * 67 Explaining a prediction: hitl.explain
 *
 * A C function that evaluates a row as hitl.predict does and returns the
 * features that pushed its prediction most.  Like hitl.predict it reads
 * the model as its caller: a role that cannot see the model (row-level
 * security on hitl.models) gets "does not exist".
 * ------------------------------------------------------------------------ */

CREATE FUNCTION hitl.explain(model text, "row" anyelement, top integer DEFAULT 10)
RETURNS TABLE (feature text, value float8, weight float8, contribution float8,
			   runner_up_contribution float8)
	AS 'MODULE_PATHNAME', 'hitl_explain' LANGUAGE C CALLED ON NULL INPUT STABLE PARALLEL SAFE
	ROWS 10
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl.explain(text, anyelement, integer) IS
	'the top features of a row of the model''s table by absolute contribution to its predicted class: feature (column, column[i] or text term), value as the model sees it, weight, contribution to the predicted class and to the runner-up class';

GRANT EXECUTE ON FUNCTION hitl.explain(text, anyelement, integer) TO PUBLIC;
