/* ------------------------------------------------------------------------
 * 69c Slices: is the model as good for every group of rows?
 *
 * hitl.slice_metrics(model, group_column) reads, per value of any column
 * of the model's table, what the model's tables say of that group's rows:
 * counts of the table, the out-of-fold predictions of the last full
 * training (hitl.oof_predictions), the review queue (hitl.queue), the
 * machine labels (hitl.auto_labels) and their audits (hitl.label_log,
 * hitl.label_confirmations).  Each of hitl's rows is joined to the table
 * row of its key, as the audit views join them (a primary-key lookup per
 * row, in the key columns' built-in types), so a row counts in the group
 * its row has now.  It runs as its caller: the caller's rights on the
 * table and the table's row-level security decide which rows count, and
 * the policies of hitl's tables do the same for their rows.
 *
 * A group is flagged when its out-of-fold accuracy is lower than that of
 * the rest of the rows by a one-sided pooled two-proportion z test at
 * p < 0.05 (hitl._two_proportion_p, src/slice_sql.c: SQL on PostgreSQL 15
 * has no erf for the normal tail).
 * ------------------------------------------------------------------------ */

CREATE FUNCTION hitl._two_proportion_p(k1 bigint, n1 bigint, k2 bigint, n2 bigint) RETURNS float8
	AS 'MODULE_PATHNAME', 'hitl_two_proportion_p'
	LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl._two_proportion_p(bigint, bigint, bigint, bigint) IS
	'internal: one-sided p-value (pooled two-proportion z test) that k1 of n1 is lower than k2 of n2; NULL when n1 or n2 is 0';

/*
 * The checks of slice_metrics, in order: the arguments, the model (seen
 * by the caller), its out-of-fold store (a trained, cross-validated
 * current version), the group column (there, of a type that groups), and
 * the caller's right to read the columns the figures come from.
 */
CREATE FUNCTION hitl._slice_check(model text, group_column name) RETURNS hitl.models
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m hitl.models;
	col_type regtype;
	base oid;
	col name;
	cv boolean;
	hidden boolean;
BEGIN
	IF model IS NULL OR group_column IS NULL THEN
		RAISE EXCEPTION 'model and group_column of slice_metrics must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Call hitl.slice_metrics(''<model>'', ''<column of its table>'').';
	END IF;
	SELECT * INTO m FROM hitl.models x WHERE x.name = model;
	IF NOT FOUND THEN
		/* hidden by row-level security (42501), or not there (42704): as the C functions say it */
		hidden := hitl._model_exists(model);
		RAISE EXCEPTION USING
			ERRCODE = CASE WHEN hidden THEN 'insufficient_privilege' ELSE 'undefined_object' END,
			MESSAGE = format(CASE WHEN hidden THEN 'permission denied for model "%s"'
							 ELSE 'model "%s" does not exist' END, model),
			HINT = CASE WHEN hidden THEN 'A model can be used by its owner and by roles that can read its table.'
					ELSE 'See hitl.models for the models you can use.' END;
	END IF;
	/* its rows are in Citus' shards, which the query below cannot join with hitl's tables */
	PERFORM hitl._check_not_citus(model);
	/* the out-of-fold store is that of a cross-validated current version */
	SELECT v.metrics ? 'cv_accuracy' INTO cv
	FROM hitl.model_versions v WHERE v.model = m.name AND v.version = m.current_version;
	IF NOT coalesce(cv, false) THEN
		RAISE EXCEPTION USING
			ERRCODE = 'object_not_in_prerequisite_state',
			MESSAGE = format(CASE WHEN m.current_version IS NULL THEN 'model "%s" has not been trained'
							 ELSE 'model "%s" has no out-of-fold predictions' END, model),
			DETAIL = CASE WHEN m.current_version IS NULL
					 THEN 'Slice metrics come from the out-of-fold predictions of a cross-validated training.'
					 ELSE 'Its current version was trained without cross-validation (cv_folds 0, or fewer than two labeled rows per fold).' END,
			HINT = CASE WHEN m.current_version IS NULL
				   THEN 'Label enough rows and train it with hitl.train(), with cv_folds 2 or more.'
				   ELSE 'Set cv_folds with hitl.alter_model(), then train the model again with hitl.train().' END;
	END IF;
	col_type := hitl._column_type(m.source, group_column);
	IF col_type IS NULL THEN
		RAISE EXCEPTION 'column "%" of table % does not exist', group_column, m.source
			USING ERRCODE = 'undefined_column',
				  HINT = 'Group by a column of the model''s table.';
	END IF;
	base := hitl._base_type(col_type);
	IF EXISTS (SELECT 1 FROM pg_type t WHERE t.oid = base
			   AND (t.typcategory = 'A' OR t.typtype IN ('c', 'p')
					OR t.oid IN ('json'::regtype, 'jsonb'::regtype))) THEN
		RAISE EXCEPTION 'column "%" has type %, which slice_metrics cannot group by', group_column, col_type
			USING ERRCODE = 'datatype_mismatch',
				  DETAIL = 'Groups are values of a scalar column: not arrays, json, jsonb or composite types.',
				  HINT = 'Add a generated column that holds the value to group by (an array element, a key of a document) and group by it.';
	END IF;
	FOREACH col IN ARRAY m.key_columns || ARRAY[m.label_column, m.prediction_column,
												 m.confidence_column, group_column] LOOP
		IF NOT has_column_privilege(m.source, col, 'SELECT') THEN
			RAISE EXCEPTION 'permission denied for table %', m.source
				USING ERRCODE = 'insufficient_privilege',
					  DETAIL = format('slice_metrics reads column %I of the table as its caller.', col),
					  HINT = 'Ask the table''s owner for SELECT on the table.';
		END IF;
	END LOOP;
	RETURN m;
END
$$;
COMMENT ON FUNCTION hitl._slice_check(text, name) IS
	'internal: slice_metrics''s checks of its arguments, the model, its out-of-fold store, the group column and the caller''s rights; returns the model';

/*
 * Per group (the column's value as text; NULL values make one group):
 *   labeled, unlabeled: rows with a label (machine labels included) and
 *     without;
 *   accuracy, macro_f1, ece: of the out-of-fold predictions of the group's
 *     rows that hitl.oof_predictions holds, machine labels left out; ece
 *     over the 15 equal-width bins of their calibrated confidence, as the
 *     version's metrics compute it;
 *   mean_confidence: of the confidence column over the group's rows;
 *   review_share: the group's rows among the review view's rows;
 *   auto_labeled, auto_label_audited: the group's machine labels, and
 *     those drawn for audit; auto_label_precision: confirmed / (confirmed
 *     + corrected) of its machine labels, as hitl.auto_label_stats counts
 *     them, NULL when none was confirmed or corrected;
 *   agreement: of the human-labeled rows that have a prediction, the share
 *     whose prediction column equals the label;
 *   p_value, flagged: the group's out-of-fold accuracy against that of all
 *     other rows, one-sided (lower), flagged at p < 0.05.
 */
CREATE FUNCTION hitl.slice_metrics(model text, group_column name)
RETURNS TABLE (group_value text, labeled bigint, unlabeled bigint, accuracy float8,
			   macro_f1 float8, ece float8, mean_confidence float8, review_share float8,
			   auto_labeled bigint, auto_label_audited bigint, auto_label_precision float8,
			   agreement float8, p_value float8, flagged boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m hitl.models := hitl._slice_check(model, group_column);
	/*
	 * Values become text through their type's output function (format's
	 * %s), never through a cast: the owner of a type may have made a cast
	 * to text of its own, which would run as the caller.
	 */
	g text := format('CASE WHEN s.%1$I IS NULL THEN NULL ELSE pg_catalog.format(''%%s'', s.%1$I) END',
					 group_column);
BEGIN
	RETURN QUERY EXECUTE format($q$
	WITH oof AS MATERIALIZED (
		SELECT s.g, o.label, o.predicted, o.confidence,
			   o.predicted OPERATOR(pg_catalog.=) o.label AS hit
		FROM hitl.oof_predictions o
		CROSS JOIN LATERAL (SELECT %1$s AS g FROM %2$s s WHERE %3$s OFFSET 0) s
		WHERE o.model OPERATOR(pg_catalog.=) $1
			AND NOT EXISTS (SELECT 1 FROM hitl.auto_labels a
							WHERE a.model OPERATOR(pg_catalog.=) $1
								AND a.row_key OPERATOR(pg_catalog.=) o.row_key)
	), per_class AS (
		SELECT c.g, pg_catalog.sum(c.tp) AS tp, pg_catalog.sum(c.fp) AS fp,
			   pg_catalog.sum(c.fn) AS fn
		FROM (SELECT oof.g, oof.label AS class, oof.hit::pg_catalog.int4 AS tp, 0 AS fp,
					 (NOT oof.hit)::pg_catalog.int4 AS fn FROM oof
			  UNION ALL
			  SELECT oof.g, oof.predicted, 0, 1, 0 FROM oof WHERE NOT oof.hit) c
		GROUP BY c.g, c.class
	), per_bin AS (
		SELECT oof.g, pg_catalog.count(*) AS n,
			   pg_catalog.abs(pg_catalog.count(*) FILTER (WHERE oof.hit)
							  OPERATOR(pg_catalog.-) pg_catalog.sum(oof.confidence)) AS gap
		FROM oof
		GROUP BY oof.g, LEAST(GREATEST(pg_catalog.floor(oof.confidence OPERATOR(pg_catalog.*)
													   15::pg_catalog.float8), 0), 14)
	), runs AS MATERIALIZED (
		/* every machine label written, by its log entry, and what became of it */
		SELECT r.id, r.row_key, r.confirmed, r.corrected
		FROM hitl._machine_label_outcomes($1) r
	), facts (g, labeled, unlabeled, conf_sum, conf_n, agree_k, agree_n, queue_n,
			  auto_n, audited_n, confirmed, corrected, oof_k, oof_n, f1, ece) AS (
		SELECT %1$s, pg_catalog.count(s.%4$I), pg_catalog.count(*) FILTER (WHERE s.%4$I IS NULL),
			   pg_catalog.sum(s.%5$I), pg_catalog.count(s.%5$I),
			   pg_catalog.count(*) FILTER (WHERE s.%4$I IS NOT NULL AND s.%6$I IS NOT NULL
										   AND pg_catalog.format('%%s', s.%6$I)
										   OPERATOR(pg_catalog.=) pg_catalog.format('%%s', s.%4$I)),
			   pg_catalog.count(*) FILTER (WHERE s.%4$I IS NOT NULL AND s.%6$I IS NOT NULL),
			   0, 0, 0, 0, 0, 0, 0, NULL::pg_catalog.float8, NULL::pg_catalog.float8
		FROM %2$s s GROUP BY 1
		UNION ALL
		/* machine labels: counted, and taken out of the human agreement */
		SELECT s.g, 0, 0, NULL, 0, OPERATOR(pg_catalog.-) pg_catalog.count(*) FILTER (WHERE s.agrees),
			   OPERATOR(pg_catalog.-) pg_catalog.count(*) FILTER (WHERE s.predicted), 0,
			   pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE a.audited), 0, 0, 0, 0, NULL, NULL
		FROM hitl.auto_labels a
		CROSS JOIN LATERAL (
			SELECT %1$s AS g,
				   s.%4$I IS NOT NULL AND s.%6$I IS NOT NULL
				   AND pg_catalog.format('%%s', s.%6$I) OPERATOR(pg_catalog.=) pg_catalog.format('%%s', s.%4$I)
				   AS agrees,
				   s.%4$I IS NOT NULL AND s.%6$I IS NOT NULL AS predicted
			FROM %2$s s WHERE %7$s OFFSET 0) s
		WHERE a.model OPERATOR(pg_catalog.=) $1
		GROUP BY s.g
		UNION ALL
		/* what the audits of machine labels found, as hitl.auto_label_stats */
		SELECT s.g, 0, 0, NULL, 0, 0, 0, 0, 0, 0,
			   pg_catalog.count(*) FILTER (WHERE r.confirmed),
			   pg_catalog.count(*) FILTER (WHERE r.corrected),
			   0, 0, NULL, NULL
		FROM runs r
		CROSS JOIN LATERAL (SELECT %1$s AS g FROM %2$s s WHERE %8$s OFFSET 0) s
		GROUP BY s.g
		UNION ALL
		/* the review view's rows */
		SELECT s.g, 0, 0, NULL, 0, 0, 0, pg_catalog.count(*), 0, 0, 0, 0, 0, 0, NULL, NULL
		FROM hitl.queue q
		CROSS JOIN LATERAL (SELECT %1$s AS g FROM %2$s s WHERE %9$s AND s.%4$I IS NULL OFFSET 0) s
		WHERE q.model OPERATOR(pg_catalog.=) $1
		GROUP BY s.g
		UNION ALL
		SELECT oof.g, 0, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0,
			   pg_catalog.count(*) FILTER (WHERE oof.hit), pg_catalog.count(*), NULL, NULL
		FROM oof GROUP BY oof.g
		UNION ALL
		SELECT p.g, 0, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			   pg_catalog.avg((2 OPERATOR(pg_catalog.*) p.tp)::pg_catalog.float8 OPERATOR(pg_catalog./)
							  (2 OPERATOR(pg_catalog.*) p.tp OPERATOR(pg_catalog.+) p.fp
							   OPERATOR(pg_catalog.+) p.fn)::pg_catalog.float8), NULL
		FROM per_class p GROUP BY p.g
		UNION ALL
		SELECT b.g, 0, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL,
			   pg_catalog.sum(b.gap) OPERATOR(pg_catalog./) pg_catalog.sum(b.n)::pg_catalog.float8
		FROM per_bin b GROUP BY b.g
	), groups AS (
		SELECT f.g, pg_catalog.sum(f.labeled)::pg_catalog.int8 AS labeled,
			   pg_catalog.sum(f.unlabeled)::pg_catalog.int8 AS unlabeled,
			   pg_catalog.sum(f.conf_sum) AS conf_sum, pg_catalog.sum(f.conf_n) AS conf_n,
			   pg_catalog.sum(f.agree_k) AS agree_k, pg_catalog.sum(f.agree_n) AS agree_n,
			   pg_catalog.sum(f.queue_n) AS queue_n,
			   pg_catalog.sum(f.auto_n)::pg_catalog.int8 AS auto_n,
			   pg_catalog.sum(f.audited_n)::pg_catalog.int8 AS audited_n,
			   pg_catalog.sum(f.confirmed) AS confirmed, pg_catalog.sum(f.corrected) AS corrected,
			   pg_catalog.sum(f.oof_k)::pg_catalog.int8 AS oof_k,
			   pg_catalog.sum(f.oof_n)::pg_catalog.int8 AS oof_n,
			   pg_catalog.max(f.f1) AS f1, pg_catalog.max(f.ece) AS ece
		FROM facts f GROUP BY f.g
	)
	SELECT x.g, x.labeled, x.unlabeled,
		   x.oof_k::pg_catalog.float8 OPERATOR(pg_catalog./) NULLIF(x.oof_n, 0), x.f1, x.ece,
		   (x.conf_sum OPERATOR(pg_catalog./) NULLIF(x.conf_n, 0)::pg_catalog.float8)::pg_catalog.float8,
		   (x.queue_n OPERATOR(pg_catalog./) NULLIF(x.all_queue_n, 0))::pg_catalog.float8,
		   x.auto_n, x.audited_n,
		   (x.confirmed OPERATOR(pg_catalog./)
			NULLIF(x.confirmed OPERATOR(pg_catalog.+) x.corrected, 0))::pg_catalog.float8,
		   (x.agree_k OPERATOR(pg_catalog./) NULLIF(x.agree_n, 0))::pg_catalog.float8,
		   t.p, COALESCE(t.p OPERATOR(pg_catalog.<) 0.05, false)
	FROM (SELECT groups.*, pg_catalog.sum(groups.queue_n) OVER () AS all_queue_n,
				 pg_catalog.sum(groups.oof_k) OVER () AS all_oof_k,
				 pg_catalog.sum(groups.oof_n) OVER () AS all_oof_n
		  FROM groups) x
	CROSS JOIN LATERAL (SELECT hitl._two_proportion_p(x.oof_k, x.oof_n,
			(x.all_oof_k OPERATOR(pg_catalog.-) x.oof_k)::pg_catalog.int8,
			(x.all_oof_n OPERATOR(pg_catalog.-) x.oof_n)::pg_catalog.int8) AS p) t
	ORDER BY x.g NULLS LAST$q$,
		g, m.source, hitl._key_match(m.source, m.key_columns, 's', 'o.row_key'), m.label_column,
		m.confidence_column, m.prediction_column,
		hitl._key_match(m.source, m.key_columns, 's', 'a.row_key'),
		hitl._key_match(m.source, m.key_columns, 's', 'r.row_key'),
		hitl._key_match(m.source, m.key_columns, 's', 'q.row_key'))
	USING m.name;
END
$$;
COMMENT ON FUNCTION hitl.slice_metrics(text, name) IS
	'per value of a column of the model''s table: labeled and unlabeled rows, out-of-fold accuracy, macro-F1 and ECE, mean confidence, share of the review queue, machine labels and their audited precision, human-model agreement, and whether the out-of-fold accuracy is lower than the rest''s (one-sided two-proportion test, p < 0.05)';
GRANT EXECUTE ON FUNCTION hitl.slice_metrics(text, name) TO PUBLIC;
