/* ------------------------------------------------------------------------
 * 80 The models of 0.1.0, carried over
 *
 * Last, as it needs everything above.  hitl.upgrade_models() brings the
 * models made under 0.1.0 to this version: the rows of hitl.models get
 * their new columns (the guard of updates of section 30 lets them), their
 * review views are built again with the safe key match, their label
 * triggers are replaced by 0.2.0's, and text models get their term cache's
 * column and trigger (section 71; left empty).  The update runs it at once; a dump of
 * a 0.1.0 database restored into this version (pg_restore creates 0.2.0
 * and loads 0.1.0's rows, views and triggers) needs it too, run by the DBA
 * once the restore is complete.  A fresh CREATE EXTENSION has no models:
 * nothing happens.
 * ------------------------------------------------------------------------ */

/*
 * hitl.upgrade_models(): the models still in 0.1.0's form (no view_schema:
 * 0.2.0 always sets it), brought to this version.  Returns how many.  Only
 * a superuser may: it replaces views and triggers of other roles' tables.
 * A model it cannot bring over gets a WARNING and stays as it was: the
 * update that runs it must commit (it revokes 0.1.0's grants).
 */
CREATE FUNCTION hitl.upgrade_models() RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m record;
	kind text;
	view_oid oid;
	view_owner oid;
	view_acl aclitem[];
	done integer := 0;
BEGIN
	IF NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
		RAISE EXCEPTION 'permission denied to upgrade hitl''s models'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'It replaces views and triggers of other roles'' tables.',
				  HINT = 'Run it as a superuser.';
	END IF;
	FOR m IN
		SELECT o.name, o.source, o.status, o.owner::text AS owner, n.nspname AS view_schema,
			   (o.name || '_review_queue')::name AS view_name
		FROM hitl.models o
		JOIN pg_class c ON c.oid = o.source
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE o.view_schema IS NULL
		ORDER BY o.name
	LOOP
		/*
		 * A 0.1.0 row may have been written by any role that could update
		 * the table (0.1.0 let PUBLIC write hitl.models): act on a model
		 * only when the relation at its review view's name is a view over
		 * hitl.queue that belongs to a role its owner is a member of.
		 */
		view_oid := to_regclass(format('%I.%I', m.view_schema, m.view_name));
		IF view_oid IS NOT NULL AND NOT EXISTS (
			SELECT 1 FROM pg_class v
			JOIN pg_rewrite rw ON rw.ev_class = v.oid
			JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
			WHERE v.oid = view_oid AND v.relkind = 'v'
			  AND d.refclassid = 'pg_class'::regclass AND d.refobjid = 'hitl.queue'::regclass
			  AND pg_has_role(coalesce((SELECT r.oid FROM pg_roles r WHERE r.rolname = m.owner), 0),
							  v.relowner, 'USAGE')) THEN
			RAISE WARNING 'hitl model "%" was left in its 0.1.0 form: % is not its review view', m.name,
				format('%I.%I', m.view_schema, m.view_name)
				USING HINT = 'Drop the model with hitl.drop_model and create it again.';
			CONTINUE;
		END IF;
		BEGIN
			UPDATE hitl.models o
			SET view_schema = m.view_schema, view_name = m.view_name,
				review_view = format('%I.%I', m.view_schema, m.view_name)
			WHERE o.name = m.name;
			/* the review view, replaced in place: its owner, grants and the
			   views built on it stay */
			IF view_oid IS NOT NULL THEN
				BEGIN
					PERFORM hitl._create_review_view(m.name);
				EXCEPTION WHEN object_not_in_prerequisite_state OR invalid_table_definition THEN
					/*
					 * Not in place: in ALTER EXTENSION hitl UPDATE, an
					 * extension may not replace an object it does not own;
					 * and a view made before its table gained columns has
					 * other columns than the view made now.  Drop the view
					 * and make it again with the owner and grants it had (a
					 * view built on it keeps the drop from happening: the
					 * model then stays in its 0.1.0 form, for a later
					 * hitl.upgrade_models() to replace in place)
					 */
					SELECT v.relowner, v.relacl INTO view_owner, view_acl
					FROM pg_class v WHERE v.oid = view_oid;
					EXECUTE format('DROP VIEW %I.%I', m.view_schema, m.view_name);
					PERFORM hitl._restore_review_view(m.name, view_owner, view_acl);
				END;
			END IF;
			/* the audit view, which 0.1.0 did not have: the owner's */
			IF to_regclass(format('%I.%I', m.view_schema, m.name || '_audit_queue')) IS NULL THEN
				PERFORM hitl._create_audit_view(m.name);
				/* a view created by an extension script would become part of the extension */
				IF EXISTS (SELECT 1 FROM pg_depend d
						   WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e'
							 AND d.objid = to_regclass(format('%I.%I', m.view_schema, m.name || '_audit_queue'))) THEN
					EXECUTE format('ALTER EXTENSION hitl DROP VIEW %I.%I', m.view_schema, m.name || '_audit_queue');
				END IF;
				IF EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = m.owner) THEN
					EXECUTE format('ALTER VIEW %I.%I OWNER TO %I', m.view_schema, m.name || '_audit_queue', m.owner);
				END IF;
			ELSE
				RAISE WARNING 'hitl model "%" gets no audit view: % exists', m.name,
					format('%I.%I', m.view_schema, m.name || '_audit_queue');
			END IF;
			/* the label triggers: 0.2.0's "row" and "upd" replace 0.1.0's
			   (only the model's own: a trigger of that name for another
			   model is left alone) */
			IF m.status <> 'broken' THEN
				FOREACH kind IN ARRAY ARRAY['row', 'upd'] LOOP
					IF EXISTS (SELECT 1 FROM pg_trigger t
							   WHERE t.tgrelid = m.source
								 AND t.tgname = hitl._label_trigger_name(m.name, kind)
								 AND t.tgfoid = 'hitl._label_trigger()'::regprocedure
								 AND t.tgnargs = 1
								 AND t.tgargs = convert_to(m.name, current_setting('server_encoding'))
												|| '\x00'::bytea) THEN
						EXECUTE format('DROP TRIGGER %I ON %s',
									   hitl._label_trigger_name(m.name, kind), m.source);
					END IF;
				END LOOP;
				PERFORM hitl._attach_label_triggers(m.name);
				/*
				 * the term cache of a text model (section 71), not filled:
				 * filling updates every row, which would run the table's
				 * triggers as this superuser; the rows are parsed until the
				 * table's owner runs hitl.refresh_term_cache(model)
				 */
				PERFORM hitl._create_term_cache(m.name, false);
			END IF;
			done := done + 1;
		EXCEPTION WHEN OTHERS THEN
			/* one model must not keep the others (and the update) back */
			RAISE WARNING 'hitl model "%" could not be brought to this version: %', m.name, SQLERRM
				USING HINT = 'After the update, run SELECT hitl.upgrade_models() as a superuser; or drop the model and create it again.';
		END;
	END LOOP;
	RETURN done;
END
$$;
COMMENT ON FUNCTION hitl.upgrade_models() IS
	'brings the models made under hitl 0.1.0 (by ALTER EXTENSION hitl UPDATE, or restored from a 0.1.0 dump) to this version: review views and label triggers; superuser only';
REVOKE ALL ON FUNCTION hitl.upgrade_models() FROM PUBLIC;

SELECT hitl.upgrade_models();
