/* ------------------------------------------------------------------------
 * 40 Policies and grants of hitl's tables
 *
 * PUBLIC reads hitl's tables, row-level security deciding which rows, and
 * writes none of them: what a role may change goes through functions that
 * check it (create_model, drop_model, alter_model, train, score), which
 * write as the owner of hitl's tables.  The label log is written only by
 * the label triggers, which write its heap directly (src/label_log.c).
 *
 * The policies call functions of sections 20 and 30, declared before them.
 * The grants of functions and views are next to their definitions.
 * ------------------------------------------------------------------------ */

/* Models: read by their owner's members and by the readers of their table */
CREATE POLICY models_read ON hitl.models FOR SELECT
	USING (hitl._member_of(owner) OR has_table_privilege(source, 'SELECT'));
COMMENT ON POLICY models_read ON hitl.models IS
	'a model is seen by its owner''s members and by the roles that can read its table';

/* Writing: hitl's functions only (as the owner of hitl's tables) */
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
	ON hitl.models, hitl.model_versions, hitl.queue FROM PUBLIC;

/*
 * The label log: PUBLIC keeps SELECT only, no INSERT (of any column),
 * UPDATE, DELETE or TRUNCATE, and so no LOCK beyond ACCESS SHARE.  A
 * dropped model's log goes through the SECURITY DEFINER trigger
 * hitl._drop_label_log.
 */
REVOKE INSERT (model, row_key, old_label, new_label, role, model_version, prediction, confidence)
	ON hitl.label_log FROM PUBLIC;
REVOKE ALL ON hitl.label_log FROM PUBLIC;
GRANT SELECT ON hitl.label_log TO PUBLIC;

/*
 * What hitl shows of a row holds the source table's row-level security.
 * Two lists of the models the reader sees, each computed once per
 * statement (InitPlans): those whose table has no row-level security for
 * the reader (no policy, or the reader is its owner, BYPASSRLS or
 * superuser), whose rows are all shown as before, without a call per row;
 * and the others, whose rows are shown when the reader sees the row they
 * are about.
 */
DROP POLICY label_log_read ON hitl.label_log;
CREATE POLICY label_log_read ON hitl.label_log FOR SELECT
	USING (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
							  WHERE NOT pg_catalog.row_security_active(m.source::oid)))
		   OR (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
								  WHERE pg_catalog.row_security_active(m.source::oid)))
			   AND hitl._source_row_visible(model, row_key)));
COMMENT ON POLICY label_log_read ON hitl.label_log IS
	'the log of a model is visible to the roles that see the model, each entry only when the role may see the row it is about';

DROP POLICY queue_read ON hitl.queue;
CREATE POLICY queue_read ON hitl.queue FOR SELECT
	USING (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
							  WHERE NOT pg_catalog.row_security_active(m.source::oid)))
		   OR (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
								  WHERE pg_catalog.row_security_active(m.source::oid)))
			   AND hitl._source_row_visible(model, row_key)));
COMMENT ON POLICY queue_read ON hitl.queue IS
	'review candidates of a model are visible to the roles that see the model, each only when the role may see its row';

/* Restores of a model's log: seen by the roles that see the model */
CREATE POLICY restored_logs_read ON hitl.restored_logs FOR SELECT
	USING (model = '' OR model = ANY (ARRAY(SELECT m.name FROM hitl.models m)));
COMMENT ON POLICY restored_logs_read ON hitl.restored_logs IS
	'restores of a model''s log are visible to the roles that see the model, the last restore of any entries to everyone';
REVOKE ALL ON hitl.restored_logs FROM PUBLIC;
GRANT SELECT ON hitl.restored_logs TO PUBLIC;
