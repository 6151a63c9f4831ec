/* ------------------------------------------------------------------------
 * 69d hitl.label_stats: people compared with the model, per role
 *
 * The view comes back here, whole (section 10 dropped it while the type of
 * hitl.models.owner changed), after everything it reads: the label log's
 * source (69b), the confirmations and the audit store (68).  It counts
 * people's labels only, the log entries with source 'human': a machine
 * label written by hitl.auto_label is logged under the role that ran it,
 * but it is not that role's work (hitl.auto_label_stats counts those).
 *
 * It reads hitl.label_log with its reader's rights (security_invoker), so
 * that the log's policy applies: it counts what its reader may see of the
 * log.
 * ------------------------------------------------------------------------ */

CREATE VIEW hitl.label_stats WITH (security_invoker = true) AS
	WITH seen AS (
		SELECT m.name FROM hitl.models m
		WHERE hitl._member_of(m.owner)
		   OR coalesce(has_table_privilege(m.source, 'SELECT'), false)
	),
	entries AS (
		SELECT l.model, l.role, l.at, l.id, l.new_label, l.prediction, l.confidence, l.source,
			   /* the next change of the same row's label, by whoever */
			   lead(l.role) OVER w AS next_role,
			   lead(l.new_label) OVER w AS next_label,
			   lead(l.id) OVER w AS next_id
		FROM hitl.label_log l
		WHERE l.model IN (SELECT s.name FROM seen s)
		WINDOW w AS (PARTITION BY l.model, l.row_key ORDER BY l.id)
	),
	human AS (
		SELECT e.* FROM entries e WHERE e.source = 'human'
	),
	/* a confident prediction: in the top tenth of those people's labels met */
	confident AS (
		SELECT h.model,
			   percentile_cont(0.9) WITHIN GROUP (ORDER BY h.confidence) AS threshold
		FROM human h
		WHERE h.prediction IS NOT NULL AND h.confidence IS NOT NULL
		GROUP BY h.model
	),
	gaps AS (
		SELECT h.model, h.role,
			   extract(epoch FROM h.at - lag(h.at) OVER (PARTITION BY h.model, h.role ORDER BY h.at, h.id))
				   AS seconds
		FROM human h
		WHERE h.new_label IS NOT NULL
	),
	/* the label a confirmation or an audit covered: the row's last log entry up to log_id */
	covered AS (
		SELECT c.model, c.row_key, c.log_id, 'confirmation' AS kind, NULL::text AS label
		FROM hitl.label_confirmations c
		UNION ALL
		SELECT a.model, a.row_key, a.log_id, 'audit', a.label
		FROM hitl.audit a
		WHERE EXISTS (SELECT 1 FROM hitl.label_log l
					  WHERE l.model = a.model AND l.id > COALESCE(a.log_id, 0)
						AND l.row_key = a.row_key
						AND l.new_label IS DISTINCT FROM a.label)
	),
	authors AS (
		SELECT v.model, v.kind, last.role::text AS role
		FROM covered v
		CROSS JOIN LATERAL (
			SELECT l.role, l.source FROM hitl.label_log l
			WHERE l.model = v.model AND l.row_key = v.row_key AND l.id <= COALESCE(v.log_id, 0)
			ORDER BY l.id DESC LIMIT 1) last
		WHERE last.source = 'human'
	)
	SELECT h.model,
		   h.role::text AS role,
		   count(*) FILTER (WHERE h.new_label IS NOT NULL) AS labels,
		   count(*) FILTER (WHERE h.new_label = h.prediction) AS agreements,
		   count(*) FILTER (WHERE h.new_label <> h.prediction) AS overrides,
		   count(*) FILTER (WHERE h.new_label <> h.prediction AND h.confidence >= c.threshold)
			   AS confident_disagreements,
		   (count(*) FILTER (WHERE h.new_label = h.prediction))::float8
			   / nullif(count(*) FILTER (WHERE h.new_label IS NOT NULL AND h.prediction IS NOT NULL), 0)
			   AS agreement_rate,
		   count(*) FILTER (WHERE h.new_label IS NOT NULL AND h.next_id IS NOT NULL
							  AND h.next_role <> h.role
							  AND h.next_label IS DISTINCT FROM h.new_label)
			   AS changed_by_others,
		   (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY g.seconds)
			FROM gaps g WHERE g.model = h.model AND g.role = h.role AND g.seconds IS NOT NULL)
			   AS median_seconds_between_labels,
		   max(h.at) FILTER (WHERE h.new_label IS NOT NULL) AS last_labeled_at,
		   (SELECT count(*) FROM authors a
			WHERE a.model = h.model AND a.role = h.role::text AND a.kind = 'confirmation')
			   AS audit_confirmations,
		   (SELECT count(*) FROM authors a
			WHERE a.model = h.model AND a.role = h.role::text AND a.kind = 'audit')
			   AS audit_corrections
	FROM human h
	LEFT JOIN confident c ON c.model = h.model
	GROUP BY h.model, h.role;
COMMENT ON VIEW hitl.label_stats IS
	'per model and role, over people''s labels only (label log source human, not the machine labels of hitl.auto_label): labels written, agreement with the model''s prediction at the time, overrides, confident disagreements, labels others changed later, the pace of labeling, audit confirmations and corrections';
COMMENT ON COLUMN hitl.label_stats.model IS 'the model';
COMMENT ON COLUMN hitl.label_stats.role IS 'the role that wrote the labels';
COMMENT ON COLUMN hitl.label_stats.labels IS
	'labels the role wrote (inserted with a row, or set or changed by an update); machine labels of hitl.auto_label are not counted';
COMMENT ON COLUMN hitl.label_stats.agreements IS
	'labels equal to the model''s prediction for the row at that moment';
COMMENT ON COLUMN hitl.label_stats.overrides IS
	'labels different from the model''s prediction for the row at that moment';
COMMENT ON COLUMN hitl.label_stats.confident_disagreements IS
	'overrides of a confident prediction: one whose confidence is in the top tenth (at least the 90th percentile) of the confidences logged with people''s labels of the model';
COMMENT ON COLUMN hitl.label_stats.agreement_rate IS
	'agreements / (agreements + overrides); NULL when no label met a prediction';
COMMENT ON COLUMN hitl.label_stats.changed_by_others IS
	'labels of the role that another role changed next (the next change of the row''s label in the log is another role''s and sets another label)';
COMMENT ON COLUMN hitl.label_stats.median_seconds_between_labels IS
	'median time between two consecutive labels of the role on the model, in seconds (labels written by one statement are 0 s apart); NULL with fewer than two';
COMMENT ON COLUMN hitl.label_stats.last_labeled_at IS 'when the role last wrote a label';
COMMENT ON COLUMN hitl.label_stats.audit_confirmations IS
	'confirmations through hitl.confirm_label (by any role) of labels the role wrote (the row''s last label log entry before the confirmation is the role''s, and not a machine label)';
COMMENT ON COLUMN hitl.label_stats.audit_corrections IS
	'labels the role wrote that the audit of the model''s last cross-validated full training flags and that were changed to another label since (by any role)';
GRANT SELECT ON hitl.label_stats TO PUBLIC;
