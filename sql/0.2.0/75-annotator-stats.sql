/* ------------------------------------------------------------------------
 * 75 How annotators agree, and how good each one is
 *
 * From the answers of models with several annotators per row (section
 * 74), as their reader sees them: hitl.agreement(model) gives Cohen's
 * kappa of each pair of roles with 20 rows in common or more, Fleiss'
 * kappa over the rows with annotators_per_row answers and Krippendorff's
 * alpha over the rows with two answers or more, as plain rows a BI tool
 * charts; hitl.annotator_stats gives each role's answers, agreement with
 * the consensus, the accuracy and confusion matrix Dawid-Skene estimates,
 * and pace (src/annotator_stats.c, over src/agreement.c and
 * src/consensus.c).
 *
 * With one annotator per row (annotators_per_row 1, the default) there are
 * no answers: people label by UPDATE, and the second of two people who
 * label a row at once overwrites the first.  hitl.label_disagreements
 * lists, from the label log, each person's change of a label another role
 * set less than the model's reservation_timeout before (the time
 * hitl.next_rows keeps a row for one role), and hitl.annotator_stats gives
 * such models a row per role that changed labels, with how many of its
 * labels others changed so (disagreements) and how many of others' labels
 * it changed so (overrides).
 * ------------------------------------------------------------------------ */

CREATE FUNCTION hitl.agreement(model text)
RETURNS TABLE (measure text, role_a name, role_b name, value float8, rows bigint)
	AS 'MODULE_PATHNAME', 'hitl_agreement'
	LANGUAGE C CALLED ON NULL INPUT STABLE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl.agreement(text) IS
	'agreement between the annotators of a model: cohen_kappa per pair of roles with at least 20 rows in common, fleiss_kappa over the rows with annotators_per_row answers, krippendorff_alpha over the rows with two answers or more (value NULL when not defined)';

CREATE FUNCTION hitl._annotator_quality(model text)
RETURNS TABLE (role name, answers bigint, estimated_accuracy float8, confusion jsonb)
	AS 'MODULE_PATHNAME', 'hitl_annotator_quality'
	LANGUAGE C CALLED ON NULL INPUT STABLE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl._annotator_quality(text) IS
	'internal: per role of a model, its answers, the accuracy and the confusion matrix (true label -> given label -> probability) Dawid-Skene estimates from all the answers';

/*
 * A model's label changes by people, each with the change of the row before
 * it and whether it changed, or was changed by, another role's label in
 * time.  One pass over the model's log, in the order of its rows' keys (a
 * sort, then lag and lead over each row's entries in log order).  hitl's
 * own writes are entries of the log too, so that a change is compared with
 * the label it replaced, but they are no one's label: machine labels
 * (source 'model', hitl.auto_label) and the consensus an answer put in the
 * label column (the entry of the role, row and statement of an answer in
 * hitl.answer_log; the answer trigger writes both at statement_timestamp()).
 * "In time" is less than the model's reservation_timeout (600 s when
 * absent).  Runs as its caller: the row-level security of the logs applies,
 * which shows all the entries of a row or none.
 */
CREATE FUNCTION hitl._label_changes(model text)
RETURNS TABLE (id bigint, row_key jsonb, role name, label text, at timestamptz,
			   prior_role name, prior_label text, prior_at timestamptz,
			   overrides boolean, overridden boolean)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH timeout AS (
		SELECT make_interval(secs => coalesce((m.options ->> 'reservation_timeout')::float8, 600)) AS t
		FROM hitl.models m WHERE m.name = $1
	), consensus_writes AS (
		SELECT DISTINCT a.row_key, a.role, a.at FROM hitl.answer_log a WHERE a.model = $1
	), entries AS (
		SELECT l.id, l.row_key, l.role, l.new_label, l.at,
			   l.source = 'human' AND c.row_key IS NULL AS person
		FROM hitl.label_log l
		LEFT JOIN consensus_writes c ON c.row_key = l.row_key AND c.role = l.role AND c.at = l.at
		WHERE l.model = $1
	), neighbours AS (
		SELECT e.*,
			   lag(e.role) OVER w AS prior_role, lag(e.new_label) OVER w AS prior_label,
			   lag(e.at) OVER w AS prior_at, lag(e.person) OVER w AS prior_person,
			   lead(e.role) OVER w AS next_role, lead(e.new_label) OVER w AS next_label,
			   lead(e.at) OVER w AS next_at, lead(e.person) OVER w AS next_person
		FROM entries e
		WINDOW w AS (PARTITION BY e.row_key ORDER BY e.id)
	)
	SELECT n.id, n.row_key, n.role, n.new_label, n.at, n.prior_role, n.prior_label, n.prior_at,
		   coalesce(n.prior_person AND n.prior_label IS NOT NULL AND n.prior_role <> n.role
					AND n.new_label IS DISTINCT FROM n.prior_label AND n.at - n.prior_at < t.t, false),
		   coalesce(n.next_person AND n.new_label IS NOT NULL AND n.next_role <> n.role
					AND n.next_label IS DISTINCT FROM n.new_label AND n.next_at - n.at < t.t, false)
	FROM neighbours n CROSS JOIN timeout t
	WHERE n.person
$$;
COMMENT ON FUNCTION hitl._label_changes(text) IS
	'internal: each label change of the model by a person (not machine labels, not the consensus an answer wrote), with the change before it in the row, whether it changed another role''s label less than reservation_timeout after it was set (overrides), and whether another role changed it so (overridden)';

CREATE VIEW hitl.label_disagreements WITH (security_invoker = true) AS
	SELECT m.name::varchar(50) AS model,
		   c.row_key::text AS row_key,
		   c.prior_role::varchar(63) AS first_role,
		   c.prior_label AS first_label,
		   c.prior_at AS first_at,
		   c.role::varchar(63) AS second_role,
		   c.label AS second_label,
		   c.at AS second_at
	FROM hitl.models m
	CROSS JOIN LATERAL hitl._label_changes(m.name) c
	WHERE c.overrides;
COMMENT ON VIEW hitl.label_disagreements IS
	'each change by a role of a label another role set (to another label, or to none) less than the model''s reservation_timeout (600 s when absent) after it was set: two people labeling the same row at once, as the label log shows it to the reader; machine labels and the consensus of models with several annotators per row are not people''s labels';
COMMENT ON COLUMN hitl.label_disagreements.model IS 'the model';
COMMENT ON COLUMN hitl.label_disagreements.row_key IS
	'the row''s primary key, as the text of a JSON object: {"id": 42}';
COMMENT ON COLUMN hitl.label_disagreements.first_role IS 'the role that set the label first';
COMMENT ON COLUMN hitl.label_disagreements.first_label IS 'the label it set, as text';
COMMENT ON COLUMN hitl.label_disagreements.first_at IS 'when it set it (the label log''s at)';
COMMENT ON COLUMN hitl.label_disagreements.second_role IS 'the role that changed it next';
COMMENT ON COLUMN hitl.label_disagreements.second_label IS
	'the label it set instead, as text; NULL when it removed the label (or deleted the row)';
COMMENT ON COLUMN hitl.label_disagreements.second_at IS 'when it changed it';
GRANT SELECT ON hitl.label_disagreements TO PUBLIC;

CREATE VIEW hitl.annotator_stats WITH (security_invoker = true) AS
	WITH several AS (
		SELECT m.name FROM hitl.models m
		WHERE coalesce((m.options ->> 'annotators_per_row')::integer, 1) > 1
	),
	consensus AS (
		SELECT DISTINCT ON (l.model, l.row_key) l.model, l.row_key, l.consensus
		FROM hitl.answer_log l
		WHERE l.model IN (SELECT s.name FROM several s)
		ORDER BY l.model, l.row_key, l.id DESC
	),
	answered AS (
		SELECT a.model, a.role,
			   count(*) AS answers,
			   avg((a.label = c.consensus)::integer) FILTER (WHERE c.consensus IS NOT NULL)
				   AS agreement_with_consensus,
			   max(a.answered_at) AS last_answer_at
		FROM hitl.answers a
		LEFT JOIN consensus c ON c.model = a.model AND c.row_key = a.row_key
		WHERE NOT a.adjudication AND a.model IN (SELECT s.name FROM several s)
		GROUP BY a.model, a.role
	),
	/* Dawid-Skene, fitted once per model (not once per role) */
	quality AS (
		SELECT s.name AS model, x.role, x.estimated_accuracy, x.confusion
		FROM several s CROSS JOIN LATERAL hitl._annotator_quality(s.name) x
	),
	pace AS (
		SELECT l.model, l.role,
			   count(*) FILTER (WHERE l.new_answer IS NOT NULL AND NOT l.adjudication)
				   / nullif(extract(epoch FROM max(l.at) - min(l.at)) / 3600, 0) AS answers_per_hour
		FROM hitl.answer_log l
		WHERE l.model IN (SELECT s.name FROM several s)
		GROUP BY l.model, l.role
	),
	/* one annotator per row: each role's label changes, from the label log */
	changes AS (
		SELECT m.name AS model, c.role,
			   count(*) AS answers,
			   count(*) / nullif(extract(epoch FROM max(c.at) - min(c.at)) / 3600, 0) AS answers_per_hour,
			   max(c.at) AS last_answer_at,
			   count(*) FILTER (WHERE c.overridden) AS disagreements,
			   count(*) FILTER (WHERE c.overrides) AS overrides
		FROM hitl.models m
		CROSS JOIN LATERAL hitl._label_changes(m.name) c
		WHERE m.name NOT IN (SELECT s.name FROM several s)
		GROUP BY m.name, c.role
	)
	SELECT a.model, a.role, a.answers, a.agreement_with_consensus::float8 AS agreement_with_consensus,
		   q.estimated_accuracy, q.confusion, p.answers_per_hour::float8 AS answers_per_hour,
		   a.last_answer_at, 0::bigint AS disagreements, 0::bigint AS overrides
	FROM answered a
	LEFT JOIN quality q ON q.model = a.model AND q.role = a.role
	LEFT JOIN pace p ON p.model = a.model AND p.role = a.role
	UNION ALL
	SELECT c.model, c.role, c.answers, NULL::float8, NULL::float8, NULL::jsonb,
		   c.answers_per_hour::float8, c.last_answer_at, c.disagreements, c.overrides
	FROM changes c;
COMMENT ON VIEW hitl.annotator_stats IS
	'per model and role: answers, agreement with the consensus, the accuracy and confusion matrix Dawid-Skene estimates (models with several annotators per row), answers per hour, last answer, and labels changed by others or changing others'' within reservation_timeout (models with one annotator per row)';
COMMENT ON COLUMN hitl.annotator_stats.answers IS
	'with several annotators per row, the role''s current answers (adjudications left out); with one, its label changes in the label log (labels set, changed or removed; machine labels left out)';
COMMENT ON COLUMN hitl.annotator_stats.agreement_with_consensus IS
	'the share of its answers on rows with a consensus that equal it; NULL with one annotator per row';
COMMENT ON COLUMN hitl.annotator_stats.estimated_accuracy IS
	'Dawid-Skene''s estimate of the share of its answers that are right: the mean, over its answers, of the probability of the label it gave; NULL with one annotator per row';
COMMENT ON COLUMN hitl.annotator_stats.confusion IS
	'Dawid-Skene''s confusion matrix of the role: {"true label": {"given label": probability}}; NULL with one annotator per row';
COMMENT ON COLUMN hitl.annotator_stats.answers_per_hour IS
	'its answers divided by the hours between its first and last answer; NULL with one answer';
COMMENT ON COLUMN hitl.annotator_stats.last_answer_at IS 'when it last answered (changed a label, with one annotator per row)';
COMMENT ON COLUMN hitl.annotator_stats.disagreements IS
	'with one annotator per row, how many of the role''s labels another role changed less than reservation_timeout after it set them (hitl.label_disagreements); 0 with several';
COMMENT ON COLUMN hitl.annotator_stats.overrides IS
	'with one annotator per row, how many labels of other roles it changed less than reservation_timeout after they were set (hitl.label_disagreements); 0 with several';
GRANT SELECT ON hitl.annotator_stats TO PUBLIC;
