/* ------------------------------------------------------------------------
 * 80 The models of 0.1.0, carried over
 *
 * Last, as it needs everything above: the rows of hitl.models get their new
 * columns (the guard of updates of section 30 lets them), their review
 * views are built again with the safe key match, and their label triggers
 * are replaced by 0.2.0's.  A fresh CREATE EXTENSION has no models: nothing
 * happens here.
 * ------------------------------------------------------------------------ */

/*
 * The review view of existing models: in the schema of their table, named
 * after the model (the stored text is not parsed: it is not trusted).
 */
UPDATE hitl.models m
SET view_schema = (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
				   WHERE c.oid = m.source),
	view_name = (m.name || '_review_queue')::name;
UPDATE hitl.models SET review_view = format('%I.%I', view_schema, view_name)
WHERE view_schema IS NOT NULL;

/* Their review views, built again with the owner and grants they had */
DO $$
DECLARE
	m record;
BEGIN
	FOR m IN
		SELECT o.name, o.view_schema, o.view_name, c.relowner, c.relacl
		FROM hitl.models o
		JOIN pg_class c ON c.oid = to_regclass(format('%I.%I', o.view_schema, o.view_name))
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
END
$$;

/*
 * Their label triggers: 0.2.0's update triggers ("row" and "upd") replace
 * 0.1.0's, and those missing are created.
 */
DO $$
DECLARE
	m record;
	kind text;
BEGIN
	FOR m IN
		SELECT name, source FROM hitl.models
		WHERE status <> 'broken'
		  AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = source)
		ORDER BY name
	LOOP
		FOREACH kind IN ARRAY ARRAY['row', 'upd'] LOOP
			EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s',
						   hitl._label_trigger_name(m.name, kind), m.source);
		END LOOP;
		PERFORM hitl._attach_label_triggers(m.name);
	END LOOP;
END
$$;
