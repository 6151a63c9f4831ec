/* ------------------------------------------------------------------------
 * 80 The models of 0.1.0, carried over
 *
 * Last, as it needs everything above.  hitl.upgrade_models() brings the
 * models made under 0.1.0 to this version: the rows of hitl.models get
 * their new columns (the guard of updates of section 30 lets them), their
 * review views are built again with the safe key match, and their label
 * triggers are replaced by 0.2.0's.  The update runs it at once; a dump of
 * a 0.1.0 database restored into this version (pg_restore creates 0.2.0
 * and loads 0.1.0's rows, views and triggers) needs it too, run by the DBA
 * once the restore is complete.  A fresh CREATE EXTENSION has no models:
 * nothing happens.
 * ------------------------------------------------------------------------ */

/*
 * hitl.upgrade_models(): the models still in 0.1.0's form (no view_schema:
 * 0.2.0 always sets it), brought to this version.  Returns how many.  Only
 * a superuser may: it drops and creates views and triggers of other roles'
 * tables.
 */
CREATE FUNCTION hitl.upgrade_models() RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	old_models text[];
	m record;
	kind text;
BEGIN
	IF NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
		RAISE EXCEPTION 'permission denied to upgrade hitl''s models'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'It replaces views and triggers of other roles'' tables.',
				  HINT = 'Run it as a superuser.';
	END IF;
	SELECT array_agg(o.name ORDER BY o.name) INTO old_models
	FROM hitl.models o WHERE o.view_schema IS NULL;
	IF old_models IS NULL THEN
		RETURN 0;
	END IF;

	/*
	 * The review view: in the schema of the table, named after the model
	 * (the stored text is not parsed: it is not trusted).
	 */
	UPDATE hitl.models o
	SET view_schema = (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
					   WHERE c.oid = o.source),
		view_name = (o.name || '_review_queue')::name
	WHERE o.name = ANY (old_models);
	UPDATE hitl.models o SET review_view = format('%I.%I', o.view_schema, o.view_name)
	WHERE o.name = ANY (old_models) AND o.view_schema IS NOT NULL;

	/* the review views, built again with the owner and grants they had */
	FOR m IN
		SELECT o.name, o.view_schema, o.view_name, c.relowner, c.relacl
		FROM hitl.models o
		JOIN pg_class c ON c.oid = to_regclass(format('%I.%I', o.view_schema, o.view_name))
		WHERE o.name = ANY (old_models)
		ORDER BY o.name
	LOOP
		EXECUTE format('DROP VIEW %I.%I', m.view_schema, m.view_name);
		BEGIN
			PERFORM hitl._restore_review_view(m.name, m.relowner, m.relacl);
		EXCEPTION WHEN feature_not_supported THEN
			/* a key of a user-defined type: no safe view can be built */
			RAISE WARNING 'the review view of hitl model "%" was dropped: %', m.name, SQLERRM
				USING HINT = 'Create the model again on a table with a key of a built-in type.';
		END;
	END LOOP;

	/* the label triggers: 0.2.0's "row" and "upd" replace 0.1.0's */
	FOR m IN
		SELECT o.name, o.source FROM hitl.models o
		WHERE o.name = ANY (old_models) AND o.status <> 'broken'
		  AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = o.source)
		ORDER BY o.name
	LOOP
		FOREACH kind IN ARRAY ARRAY['row', 'upd'] LOOP
			EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s',
						   hitl._label_trigger_name(m.name, kind), m.source);
		END LOOP;
		PERFORM hitl._attach_label_triggers(m.name);
	END LOOP;
	RETURN cardinality(old_models);
END
$$;
COMMENT ON FUNCTION hitl.upgrade_models() IS
	'brings the models made under hitl 0.1.0 (by ALTER EXTENSION hitl UPDATE, or restored from a 0.1.0 dump) to this version: review views and label triggers; superuser only';
REVOKE ALL ON FUNCTION hitl.upgrade_models() FROM PUBLIC;

SELECT hitl.upgrade_models();
