/* ------------------------------------------------------------------------
 * 69b Auto-labeling at a precision target
 *
 * Each full training that cross-validates replaces the model's rows of
 * hitl.oof_predictions with the out-of-fold prediction and calibrated
 * confidence of every labeled row (src/catalog_oof.c); one without
 * cross-validation empties them; incremental updates leave them.
 * hitl.auto_label (src/autolabel.c) takes from them the lowest confidence
 * whose out-of-fold precision has a one-sided 95% Wilson lower bound of at
 * least the target (src/proportion.c), and labels, as its caller, the
 * unlabeled rows whose confidence column reaches it with their prediction.
 * Those labels are logged with source 'model' and the deciding version,
 * and kept in hitl.auto_labels until a person changes them (the label
 * trigger removes the row then).  A random share of each run is marked for
 * audit, shown in <model>_auto_label_audit; hitl.auto_label_stats counts
 * per class what the audits found.
 * ------------------------------------------------------------------------ */

/*
 * A training replaces the model's rows: it deletes them and writes one row
 * per labeled row.  Two choices keep that cheap (test/bench/train_oof.sh):
 * no foreign key to hitl.models (a referential check per row cost more
 * than writing the row; whatever deletes a model, the statement trigger of
 * hitl.models, hitl._drop_label_log, empties its store), and the version
 * in the primary key, so that the unique check of a new row does not meet
 * the dead row of the same key left by the training before (until vacuum,
 * each such check had to visit the old row in the heap).
 */
CREATE TABLE hitl.oof_predictions (
	model				text NOT NULL,
	version				integer NOT NULL,
	row_key				jsonb NOT NULL,
	label				text NOT NULL,
	predicted			text NOT NULL,
	confidence			float8 NOT NULL,
	PRIMARY KEY (model, version, row_key)
);
COMMENT ON TABLE hitl.oof_predictions IS
	'the out-of-fold prediction of every labeled row of each model''s last cross-validated full training, replaced at each full training';
COMMENT ON COLUMN hitl.oof_predictions.version IS
	'the version whose training made them';
COMMENT ON COLUMN hitl.oof_predictions.row_key IS
	'the row''s primary key as jsonb';
COMMENT ON COLUMN hitl.oof_predictions.label IS
	'the label the training read, as text';
COMMENT ON COLUMN hitl.oof_predictions.predicted IS
	'the most probable class from the folds that did not see the row, as text';
COMMENT ON COLUMN hitl.oof_predictions.confidence IS
	'its calibrated out-of-fold probability';

CREATE TABLE hitl.auto_labels (
	model				text NOT NULL REFERENCES hitl.models (name) ON DELETE CASCADE,
	row_key				jsonb NOT NULL,
	label				text NOT NULL,
	version				integer NOT NULL,
	at					timestamptz NOT NULL DEFAULT statement_timestamp(),
	audited				boolean NOT NULL DEFAULT false,
	log_id				bigint,
	PRIMARY KEY (model, row_key)
);
COMMENT ON TABLE hitl.auto_labels IS
	'rows labeled by hitl.auto_label whose label no person has changed since';
COMMENT ON COLUMN hitl.auto_labels.row_key IS
	'the row''s primary key as jsonb';
COMMENT ON COLUMN hitl.auto_labels.label IS
	'the label written, as text';
COMMENT ON COLUMN hitl.auto_labels.version IS
	'the version whose prediction and threshold decided it';
COMMENT ON COLUMN hitl.auto_labels.audited IS
	'drawn (audit_fraction) for a person to check, in <model>_auto_label_audit';
COMMENT ON COLUMN hitl.auto_labels.log_id IS
	'the model''s last label log entry after the auto-labeling';

SELECT pg_catalog.pg_extension_config_dump('hitl.oof_predictions', '');
SELECT pg_catalog.pg_extension_config_dump('hitl.auto_labels', '');

ALTER TABLE hitl.oof_predictions ENABLE ROW LEVEL SECURITY;
ALTER TABLE hitl.auto_labels ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON hitl.oof_predictions, hitl.auto_labels FROM PUBLIC;
GRANT SELECT ON hitl.oof_predictions, hitl.auto_labels TO PUBLIC;

CREATE POLICY oof_predictions_read ON hitl.oof_predictions FOR SELECT
	USING (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
							  WHERE NOT pg_catalog.row_security_active(m.source::oid)))
		   OR (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
								  WHERE pg_catalog.row_security_active(m.source::oid)))
			   AND hitl._source_row_visible(model, row_key)));
COMMENT ON POLICY oof_predictions_read ON hitl.oof_predictions IS
	'the out-of-fold predictions of a model are visible to the roles that see the model, each only when the role may see its row';

CREATE POLICY auto_labels_read ON hitl.auto_labels FOR SELECT
	USING (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
							  WHERE NOT pg_catalog.row_security_active(m.source::oid)))
		   OR (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
								  WHERE pg_catalog.row_security_active(m.source::oid)))
			   AND hitl._source_row_visible(model, row_key)));
COMMENT ON POLICY auto_labels_read ON hitl.auto_labels IS
	'the machine labels of a model are visible to the roles that see the model, each only when the role may see its row';

/*
 * Who wrote a label: people and applications ('human'), hitl.auto_label
 * ('model'), or a refit of the consensus of several annotators'
 * answers ('consensus', 76-consensus.sql)
 */
ALTER TABLE hitl.label_log
	ADD COLUMN source text NOT NULL DEFAULT 'human' CHECK (source IN ('human', 'model', 'consensus')),
	ADD COLUMN decided_version integer;
COMMENT ON COLUMN hitl.label_log.source IS
	'''model'' for labels written by hitl.auto_label, ''consensus'' for those a refit of the consensus of several annotators changed (hitl.refresh_consensus, the worker), ''human'' for every other change';
COMMENT ON COLUMN hitl.label_log.decided_version IS
	'for a machine label, the version whose prediction and threshold decided it';

/* The machine labels a confirmation covers (hitl.confirm_label) */
ALTER TABLE hitl.label_confirmations ADD COLUMN auto_label boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN hitl.label_confirmations.auto_label IS
	'whether the confirmed label was a machine label (hitl.auto_labels) then';

CREATE FUNCTION hitl.auto_label(model text, target_precision float8 DEFAULT 0.95,
								audit_fraction float8 DEFAULT 0.05) RETURNS bigint
	AS 'MODULE_PATHNAME', 'hitl_auto_label'
	LANGUAGE C CALLED ON NULL INPUT VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl.auto_label(text, float8, float8) IS
	'label, as the caller, the unlabeled rows whose calibrated confidence reaches the threshold of the target precision (out-of-fold, one-sided 95% Wilson bound); returns how many';

CREATE FUNCTION hitl._auto_label_threshold(model text, target_precision float8 DEFAULT 0.95)
RETURNS float8
	AS 'MODULE_PATHNAME', 'hitl_auto_label_threshold'
	LANGUAGE C CALLED ON NULL INPUT STABLE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl._auto_label_threshold(text, float8) IS
	'internal: the confidence threshold hitl.auto_label would use, NULL when none qualifies';

/* The Wilson score interval (two-sided 95%) of k successes in n trials; (0, 1) when n is 0 */
CREATE FUNCTION hitl._wilson(k bigint, n bigint, OUT low float8, OUT high float8)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN n > 0 THEN greatest(0, (p + z * z / (2 * n) - z * sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)) ELSE 0 END,
		   CASE WHEN n > 0 THEN least(1, (p + z * z / (2 * n) + z * sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)) ELSE 1 END
	FROM (SELECT CASE WHEN n > 0 THEN k::float8 / n ELSE 0 END AS p, 1.959963984540054::float8 AS z) c
$$;
COMMENT ON FUNCTION hitl._wilson(bigint, bigint) IS
	'internal: the Wilson score 95% interval of k successes in n trials';

/*
 * Per model and class (the machine label): rows currently machine-labeled,
 * those drawn for audit, those confirmed (hitl.confirm_label, label
 * unchanged since) and corrected (a person changed the label of an audited
 * row: it left hitl.auto_labels, its last log entry is human), and the
 * audited precision confirmed / (confirmed + corrected) with its Wilson
 * 95% interval.
 */
/*
 * What became of a model's machine labels: each machine label's log entry
 * (id, row_key, label), confirmed (a confirmation of the machine label
 * since) and corrected (a later human entry of the row with another
 * label).  One pass over the model's log, in the order of its rows' keys:
 * a join of the machine entries with the log by key relied on row
 * estimates that are stale right after a large auto-labeling, and a plan
 * that looked the log up once per machine label took minutes.  Runs as its
 * caller: the label log's row-level security applies.
 */
CREATE FUNCTION hitl._machine_label_outcomes(model text)
RETURNS TABLE (id bigint, row_key jsonb, label text, confirmed boolean, corrected boolean)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH entries AS (
		SELECT l.id, l.row_key, l.new_label, l.source,
			   array_agg(l.new_label) FILTER (WHERE l.source = 'human')
				   OVER (PARTITION BY l.row_key ORDER BY l.id
						 ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS later_human
		FROM hitl.label_log l
		WHERE l.model = $1
	), machine AS MATERIALIZED (
		SELECT e.id, e.row_key, e.new_label,
			   coalesce((SELECT bool_or(v IS DISTINCT FROM e.new_label)
						 FROM unnest(e.later_human) v), false) AS corrected
		FROM entries e
		WHERE e.source = 'model'
	), confirmed AS (
		SELECT DISTINCT m.id
		FROM machine m JOIN hitl.label_confirmations c ON c.row_key = m.row_key
		WHERE c.model = $1 AND c.auto_label AND c.log_id >= m.id
	)
	SELECT m.id, m.row_key, m.new_label, cf.id IS NOT NULL, m.corrected
	FROM machine m LEFT JOIN confirmed cf ON cf.id = m.id
$$;
COMMENT ON FUNCTION hitl._machine_label_outcomes(text) IS
	'internal: each machine label of the model (its log entry), and whether it was confirmed or corrected since';

CREATE VIEW hitl.auto_label_stats WITH (security_invoker = true) AS
WITH current AS (
	SELECT a.model, a.label, count(*) AS auto_labeled, count(*) FILTER (WHERE a.audited) AS audited
	FROM hitl.auto_labels a GROUP BY a.model, a.label
), outcome AS (
	SELECT m.name AS model, o.label, count(*) FILTER (WHERE o.confirmed) AS confirmed,
		   count(*) FILTER (WHERE o.corrected) AS corrected
	FROM hitl.models m CROSS JOIN LATERAL hitl._machine_label_outcomes(m.name) o
	GROUP BY m.name, o.label
), joined AS (
	SELECT coalesce(c.model, o.model) AS model, coalesce(c.label, o.label) AS label,
		   coalesce(c.auto_labeled, 0) AS auto_labeled, coalesce(c.audited, 0) AS audited,
		   coalesce(o.confirmed, 0) AS confirmed, coalesce(o.corrected, 0) AS corrected
	FROM current c FULL JOIN outcome o ON o.model = c.model AND o.label = c.label
)
SELECT j.model, j.label, j.auto_labeled, j.audited, j.confirmed, j.corrected,
	   CASE WHEN j.confirmed + j.corrected > 0
			THEN j.confirmed::float8 / (j.confirmed + j.corrected) END AS audited_precision,
	   w.low AS precision_low, w.high AS precision_high
FROM joined j
CROSS JOIN LATERAL hitl._wilson(j.confirmed, j.confirmed + j.corrected) w;
COMMENT ON VIEW hitl.auto_label_stats IS
	'per model and class: rows machine-labeled now, audited, confirmed and corrected, and the audited precision with its Wilson 95% interval';
GRANT SELECT ON hitl.auto_label_stats TO PUBLIC;

/*
 * The name of a model's auto-label audit view: <model>_auto_label_audit,
 * cut to the length of a name as PostgreSQL cuts identifiers (a model
 * name of 47 bytes or more gives a shorter suffix), without its NOTICE.
 */
CREATE FUNCTION hitl._auto_label_audit_view(model text) RETURNS name
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT (model || '_auto_label_audit')::name $$;
COMMENT ON FUNCTION hitl._auto_label_audit_view(text) IS
	'internal: the name of a model''s auto-label audit view';

/*
 * A view hitl just made beside a model's review view: out of the extension
 * when an extension script made it (hitl.upgrade_models), and, made by a
 * superuser for another role's model, given to the model's owner.
 */
CREATE FUNCTION hitl._adopt_model_view(m hitl.models, view name) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_depend d
			   WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e'
				 AND d.objid = to_regclass(format('%I.%I', m.view_schema, view))) THEN
		EXECUTE format('ALTER EXTENSION hitl DROP VIEW %I.%I', m.view_schema, view);
	END IF;
	IF (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user)
		AND EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = m.owner::text)
		AND m.owner::text <> current_user THEN
		EXECUTE format('ALTER VIEW %I.%I OWNER TO %I', m.view_schema, view, m.owner);
	END IF;
END
$$;
COMMENT ON FUNCTION hitl._adopt_model_view(hitl.models, name) IS
	'internal: a view made beside a model''s review view leaves the extension, and goes to the model''s owner when a superuser made it';

/*
 * (Re)create a model's view <model>_auto_label_audit beside its review
 * view: the table's columns of the rows machine-labeled and drawn for
 * audit whose label is still the machine's, with auto_label_version and
 * auto_labeled_at; a confirmation (hitl.confirm_label) takes a row out.
 * security_invoker, as the audit queue.
 */
CREATE FUNCTION hitl._create_auto_label_audit_view(model text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m hitl.models := hitl._model_for_view(model, ARRAY['auto_label_version', 'auto_labeled_at'],
										  'auto-label audit view');
BEGIN
	EXECUTE format($v$
		CREATE OR REPLACE VIEW %I.%I WITH (security_invoker = true) AS
		SELECT s.*, a.version AS auto_label_version, a.at AS auto_labeled_at
		FROM hitl.auto_labels a
		CROSS JOIN LATERAL (
			SELECT t.* FROM %s t
			WHERE %s AND t.%I::pg_catalog.text OPERATOR(pg_catalog.=) a.label
			OFFSET 0) s
		WHERE a.model OPERATOR(pg_catalog.=) %L::pg_catalog.text AND a.audited
			AND NOT EXISTS (SELECT 1 FROM hitl.label_confirmations c
							WHERE c.model OPERATOR(pg_catalog.=) a.model
								AND c.row_key OPERATOR(pg_catalog.=) a.row_key
								AND c.label OPERATOR(pg_catalog.=) a.label
								AND c.log_id OPERATOR(pg_catalog.>=) COALESCE(a.log_id, 0))
		ORDER BY a.at, a.row_key$v$,
		m.view_schema, hitl._auto_label_audit_view(m.name), m.source,
		hitl._key_match(m.source, m.key_columns, 't', 'a.row_key'), m.label_column, m.name);
	EXECUTE format('COMMENT ON VIEW %I.%I IS %L', m.view_schema, hitl._auto_label_audit_view(m.name),
				   format('hitl auto-label audit of model %s: machine labels drawn for a person to confirm (hitl.confirm_label) or correct (UPDATE)', m.name));
	PERFORM hitl._adopt_model_view(m, hitl._auto_label_audit_view(m.name));
END
$$;
COMMENT ON FUNCTION hitl._create_auto_label_audit_view(text) IS
	'internal: creates the auto-label audit view of a model, as the calling role';

/*
 * The audit views of a model come and go together: the functions that
 * create_model, drop_model and hitl.upgrade_models call for the audit
 * queue (section 68) now also make, check and drop <model>_auto_label_audit.
 */
ALTER FUNCTION hitl._create_audit_view(text) RENAME TO _create_audit_queue_view;
ALTER FUNCTION hitl._drop_audit_view(name, text) RENAME TO _drop_audit_queue_view;
ALTER FUNCTION hitl._check_audit_view_name(name, text) RENAME TO _check_audit_queue_view_name;

CREATE FUNCTION hitl._create_audit_view(model text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM hitl._create_audit_queue_view(model);
	/* a model on a distributed table has no machine labels and one annotator per row (section 29) */
	IF hitl._citus_distribution_column((SELECT m.source FROM hitl.models m WHERE m.name = model)) IS NOT NULL THEN
		RETURN;
	END IF;
	PERFORM hitl._create_auto_label_audit_view(model);
	/* section 74 */
	PERFORM hitl._create_adjudication_view(model);
END
$$;
COMMENT ON FUNCTION hitl._create_audit_view(text) IS
	'internal: creates the audit views of a model (<model>_audit_queue, <model>_auto_label_audit, <model>_adjudication_queue), as the calling role; the audit queue only for a model on a distributed table';

CREATE FUNCTION hitl._drop_audit_view(view_schema name, model text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM hitl._drop_audit_queue_view(view_schema, model);
	IF view_schema IS NOT NULL
		AND to_regclass(format('%I.%I', view_schema, hitl._auto_label_audit_view(model))) IS NOT NULL THEN
		EXECUTE format('DROP VIEW %I.%I', view_schema, hitl._auto_label_audit_view(model));
	END IF;
	IF view_schema IS NOT NULL
		AND to_regclass(format('%I.%I', view_schema, hitl._adjudication_view(model))) IS NOT NULL THEN
		EXECUTE format('DROP VIEW %I.%I', view_schema, hitl._adjudication_view(model));
	END IF;
END
$$;
COMMENT ON FUNCTION hitl._drop_audit_view(name, text) IS
	'internal: drops the audit views of a model, those there are';

CREATE FUNCTION hitl._check_audit_view_name(view_schema name, model text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM hitl._check_audit_queue_view_name(view_schema, model);
	IF to_regclass(format('%I.%I', view_schema, hitl._auto_label_audit_view(model))) IS NOT NULL THEN
		RAISE EXCEPTION 'relation "%" already exists', format('%I.%I', view_schema, hitl._auto_label_audit_view(model))
			USING ERRCODE = 'duplicate_table',
				  HINT = 'The auto-label audit view of a model is named <model>_auto_label_audit; choose another model name.';
	END IF;
	IF to_regclass(format('%I.%I', view_schema, hitl._adjudication_view(model))) IS NOT NULL THEN
		RAISE EXCEPTION 'relation "%" already exists', format('%I.%I', view_schema, hitl._adjudication_view(model))
			USING ERRCODE = 'duplicate_table',
				  HINT = 'The adjudication view of a model is named <model>_adjudication_queue; choose another model name.';
	END IF;
END
$$;
COMMENT ON FUNCTION hitl._check_audit_view_name(name, text) IS
	'internal: create_model''s check that the names of the audit views are free';
