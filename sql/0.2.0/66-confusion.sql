/* ------------------------------------------------------------------------
 * 66 Cross-validation: the group option and the confusion matrix
 *
 * cv_group_column names a column of the model's table whose rows of one
 * value stay in one fold of the cross-validation (a customer, a thread, a
 * cluster of near-duplicates).  0.1.0's option check knows nothing of it:
 * it becomes hitl._resolve_base_options, and hitl._resolve_options checks
 * cv_group_column's form and hands the other options to it, so that every
 * caller (create_model, alter_model's update, _model_insert) knows the
 * option.  Whether the column exists in the table, and is of a type that
 * can group rows, is checked when a model row is written (a trigger of
 * hitl.models: only it knows the table).
 *
 * hitl.confusion shows the out-of-fold confusion matrix of every version
 * as plain rows, for the tools that chart tables, not jsonb.
 * ------------------------------------------------------------------------ */

ALTER FUNCTION hitl._resolve_options(jsonb, text, boolean) RENAME TO _resolve_base_options;
COMMENT ON FUNCTION hitl._resolve_base_options(jsonb, text, boolean) IS
	'internal: checks the model options other than cv_group_column and fills in their defaults';

/*
 * The options, checked, with their defaults: cv_group_column a string (a
 * JSON null removes it), evaluation_rate a number from 0 to 0.5 (a JSON
 * null removes it; absent, the scoring takes 0.05: see 69-evaluation.sql),
 * the others as 0.1.0 checks them.  An unknown option's hint names
 * cv_group_column and evaluation_rate among the known ones.
 */
CREATE FUNCTION hitl._resolve_options(options jsonb,
	algorithm text DEFAULT 'logistic', has_text boolean DEFAULT false) RETURNS jsonb
SET search_path = pg_catalog, pg_temp
LANGUAGE plpgsql STABLE AS $$
DECLARE
	group_column jsonb := options -> 'cv_group_column';
	evaluation_rate jsonb := options -> 'evaluation_rate';
	resolved jsonb;
	msg text;
	hint text;
BEGIN
	IF jsonb_typeof(group_column) NOT IN ('string', 'null') THEN
		RAISE EXCEPTION 'option "cv_group_column" must be a column name'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Name the column whose rows of one value stay in one fold, as in {"cv_group_column": "customer_id"}; null removes the option.';
	END IF;
	IF jsonb_typeof(evaluation_rate) NOT IN ('number', 'null')
	   OR (jsonb_typeof(evaluation_rate) = 'number'
		   AND NOT (evaluation_rate::numeric BETWEEN 0 AND 0.5)) THEN
		RAISE EXCEPTION 'invalid value % for option "evaluation_rate"', evaluation_rate
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'evaluation_rate must be a number from 0 (no evaluation rows) to 0.5, the share of the review queue drawn at random; null restores the default 0.05.';
	END IF;
	BEGIN
		resolved := hitl._resolve_base_options(options - 'cv_group_column' - 'evaluation_rate',
											   algorithm, has_text);
	EXCEPTION WHEN invalid_parameter_value THEN
		GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
		IF msg NOT LIKE 'unknown option %' OR hint NOT LIKE 'Known options: %.' THEN
			RAISE;
		END IF;
		hint := 'Known options: '
				|| array_to_string(ARRAY(SELECT o FROM unnest(string_to_array(
											 substr(hint, 16, length(hint) - 16), ', ')
										 || ARRAY['cv_group_column', 'evaluation_rate']) AS o
										 ORDER BY o COLLATE "C"), ', ')
				|| '.';
		RAISE EXCEPTION USING MESSAGE = msg, ERRCODE = 'invalid_parameter_value', HINT = hint;
	END;
	IF jsonb_typeof(group_column) = 'string' THEN
		resolved := resolved || jsonb_build_object('cv_group_column', group_column);
	END IF;
	IF jsonb_typeof(evaluation_rate) = 'number' THEN
		resolved := resolved || jsonb_build_object('evaluation_rate', evaluation_rate);
	END IF;
	RETURN resolved;
END
$$;
COMMENT ON FUNCTION hitl._resolve_options(jsonb, text, boolean) IS
	'internal: checks model options and fills in their defaults';

/*
 * The group column of a model row written: a column of its table, not the
 * label, of a built-in type whose text groups rows (not an array, json or
 * jsonb, nor a type made by a user).
 * Checked when it is set or changed; a row whose table is gone (a restore
 * under way) is left to the restore.
 */
CREATE FUNCTION hitl._check_group_column() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	col text := NEW.options ->> 'cv_group_column';
	typ oid;
BEGIN
	IF col IS NULL
	   OR (TG_OP = 'UPDATE'
		   AND (OLD.options -> 'cv_group_column') IS NOT DISTINCT FROM (NEW.options -> 'cv_group_column'))
	   OR NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = NEW.source) THEN
		RETURN NEW;
	END IF;
	typ := hitl._column_type(NEW.source, col);
	IF typ IS NULL THEN
		RAISE EXCEPTION 'column "%" of option "cv_group_column" does not exist in table %',
			col, NEW.source::regclass
			USING ERRCODE = 'undefined_column',
				  HINT = 'Name a column of the model''s table, or null to remove the option.';
	END IF;
	IF col = NEW.label_column THEN
		RAISE EXCEPTION 'option "cv_group_column" cannot be the label column "%"', col
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'Each fold would then hold out whole classes.';
	END IF;
	/* a domain groups as its base type */
	WHILE (SELECT t.typtype FROM pg_type t WHERE t.oid = typ) = 'd' LOOP
		typ := (SELECT t.typbasetype FROM pg_type t WHERE t.oid = typ);
	END LOOP;
	/*
	 * A built-in scalar type only: the training reads the column as text,
	 * and a type of the table owner's could bring a cast of its own, run
	 * by whoever trains the model
	 */
	IF (SELECT t.typcategory FROM pg_type t WHERE t.oid = typ) = 'A'
	   OR typ IN ('json'::regtype, 'jsonb'::regtype)
	   OR typ >= 16384
	   OR (SELECT t.typtype FROM pg_type t WHERE t.oid = typ) <> 'b' THEN
		RAISE EXCEPTION 'column "%" of type % cannot group rows', col, typ::regtype
			USING ERRCODE = 'datatype_mismatch',
				  HINT = 'cv_group_column takes a column of a built-in scalar type (text, an integer, a uuid...), not an array, json, jsonb or a type of one''s own.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION hitl._check_group_column() IS
	'internal: the cv_group_column of a model is a column of its table that can group rows';

/* after guard_model_update, which resolves the options of an update */
CREATE TRIGGER model_group_column BEFORE INSERT OR UPDATE OF options ON hitl.models
	FOR EACH ROW EXECUTE FUNCTION hitl._check_group_column();

/*
 * The out-of-fold confusion matrix of each cross-validated version, a row
 * per (true label, predicted label), zeros included.  It reads
 * hitl.model_versions and hitl.models with its reader's rights
 * (security_invoker): a role sees the versions of the models it sees.
 * Versions updated incrementally show the matrix of the version named by
 * their metrics' accuracy_from.
 */
CREATE VIEW hitl.confusion WITH (security_invoker = true) AS
	SELECT v.model,
		   v.version,
		   t.label,
		   p.label AS predicted,
		   (v.metrics -> 'confusion' -> (t.i - 1)::integer ->> (p.i - 1)::integer)::bigint AS rows
	FROM hitl.model_versions v
	JOIN hitl.models m ON m.name = v.model
	CROSS JOIN LATERAL unnest(v.classes) WITH ORDINALITY AS t(label, i)
	CROSS JOIN LATERAL unnest(v.classes) WITH ORDINALITY AS p(label, i)
	WHERE jsonb_typeof(v.metrics -> 'confusion') = 'array';
COMMENT ON VIEW hitl.confusion IS
	'the out-of-fold confusion matrix of each cross-validated model version: labeled rows per true and predicted label';
COMMENT ON COLUMN hitl.confusion.model IS 'the model';
COMMENT ON COLUMN hitl.confusion.version IS 'the version';
COMMENT ON COLUMN hitl.confusion.label IS 'the true label of the rows';
COMMENT ON COLUMN hitl.confusion.predicted IS
	'the label predicted for them by a model that did not see them (cross-validation)';
COMMENT ON COLUMN hitl.confusion.rows IS 'how many labeled rows have that label and prediction';
GRANT SELECT ON hitl.confusion TO PUBLIC;
