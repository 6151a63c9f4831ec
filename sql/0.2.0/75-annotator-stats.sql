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
	)
	SELECT a.model, a.role, a.answers, a.agreement_with_consensus::float8 AS agreement_with_consensus,
		   q.estimated_accuracy, q.confusion, p.answers_per_hour::float8 AS answers_per_hour,
		   a.last_answer_at
	FROM answered a
	LEFT JOIN quality q ON q.model = a.model AND q.role = a.role
	LEFT JOIN pace p ON p.model = a.model AND p.role = a.role;
COMMENT ON VIEW hitl.annotator_stats IS
	'per model with several annotators per row and role: answers, agreement with the consensus, the accuracy and confusion matrix Dawid-Skene estimates, answers per hour, last answer';
COMMENT ON COLUMN hitl.annotator_stats.answers IS 'the role''s current answers (adjudications left out)';
COMMENT ON COLUMN hitl.annotator_stats.agreement_with_consensus IS
	'the share of its answers on rows with a consensus that equal it';
COMMENT ON COLUMN hitl.annotator_stats.estimated_accuracy IS
	'Dawid-Skene''s estimate of the share of its answers that are right: the mean, over its answers, of the probability of the label it gave';
COMMENT ON COLUMN hitl.annotator_stats.confusion IS
	'Dawid-Skene''s confusion matrix of the role: {"true label": {"given label": probability}}';
COMMENT ON COLUMN hitl.annotator_stats.answers_per_hour IS
	'its answers divided by the hours between its first and last answer; NULL with one answer';
COMMENT ON COLUMN hitl.annotator_stats.last_answer_at IS 'when it last answered';
GRANT SELECT ON hitl.annotator_stats TO PUBLIC;
