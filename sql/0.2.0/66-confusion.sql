/* ------------------------------------------------------------------------
 * 66 Cross-validation: the group option and the confusion matrix
 *
 * cv_group_column names a column of the model's table whose rows of one
 * value stay in one fold of the cross-validation (a customer, a thread, a
 * cluster of near-duplicates).  hitl._resolve_options, which every caller
 * of 0.1.0 uses (create_model, alter_model's update, _model_insert), is
 * replaced here by one that checks every option of 0.2.0: this one, and
 * those of the evaluation rows (69) and of auto-labeling (69b).  Whether
 * the group column exists in the table, and is of a type that can group
 * rows, is checked when a model row is written (a trigger of hitl.models:
 * only it knows the table).
 *
 * hitl.confusion shows the out-of-fold confusion matrix of every version
 * as plain rows, for the tools that chart tables, not jsonb.
 * ------------------------------------------------------------------------ */

/*
 * The model options, checked, with their defaults filled in.  This one
 * function knows every option (it replaces 0.1.0's); which apply, and some
 * defaults, depend on the algorithm and on whether the model has text
 * feature columns.
 *
 * Thirteen options have no default, and a JSON null removes them; they are
 * checked first, in this order:
 *	auto_label_precision	a number in (0.5, 1): the worker auto-labels at
 *							that target after each retraining (69b)
 *	train_on_auto_labels	a boolean (absent: false, training reads human
 *							labels only)
 *	cv_group_column			a column name; that it is a column of the table
 *							that can group rows, the trigger
 *							model_group_column checks below
 *	evaluation_rate			a number from 0 to 0.5 (absent: the scoring
 *							takes 0.05, see 69-evaluation.sql)
 *	reservation_timeout		seconds, from 1 to 86400 (absent: 600), that a
 *							row stays reserved by hitl.next_rows (73)
 *	skip_limit				an integer from 1 to 20 (absent: 2), the roles
 *							whose hitl.skip keeps a row from everyone (73)
 *	annotators_per_row		an integer from 1 to 20 (absent: 1), the
 *							answers a row gets before its label is their
 *							consensus (74)
 *	consensus				'majority' or 'dawid_skene' (absent: Dawid-Skene
 *							once 20 rows have annotators_per_row answers,
 *							majority before) (76)
 *	consensus_threshold		a number from 0 to 1 (absent: 0.8), the
 *							Dawid-Skene posterior a consensus needs (76)
 *	weight_by_consensus		a boolean (absent: false): training weighs each
 *							row by its consensus confidence (76)
 *	committee_size			an integer from 2 to 20 (absent: 5), the models
 *							of the strategy 'committee'
 *	committee_measure		'vote_entropy' or 'kl' (absent: vote_entropy),
 *							how the strategy 'committee' measures the
 *							members' disagreement (score_committee.c)
 *	stop_kappa				a number from 0 to 1 (absent: 0.99), the kappa
 *							between versions' predictions that suggests
 *							stopping
 *	stop_window				an integer from 1 to 1000000000 (absent: 100),
 *							the labels over which every version's kappa
 *							must be above stop_kappa (77)
 *
 * The others, in the order of the object's keys, by the rules of
 * "rules": "algorithm" (absent: every algorithm), "text" (models with
 * text feature columns only), "default" ("text_default" with text columns:
 * L-BFGS on hashed text takes more, cheaper iterations than Newton), and
 * for a number its bounds ("min", "max", exclusive with "min_open",
 * "max_open"), "whole" for an integer, "except" a value it may not take,
 * "power_of_two", and the hint an invalid value gets.  text_config is
 * stored by its canonical name.
 */
CREATE OR REPLACE FUNCTION hitl._resolve_options(options jsonb, algorithm text DEFAULT 'logistic',
												 has_text boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	removable constant text[] := ARRAY['auto_label_precision', 'train_on_auto_labels',
									   'cv_group_column', 'evaluation_rate',
									   'reservation_timeout', 'skip_limit', 'annotators_per_row',
									   'consensus', 'consensus_threshold', 'weight_by_consensus',
									   'committee_size', 'committee_measure', 'stop_kappa',
									   'stop_window'];
	booleans constant jsonb := $booleans${
		"train_on_auto_labels": "train_on_auto_labels must be true or false (default false: training reads human labels only).",
		"weight_by_consensus": "weight_by_consensus must be true or false (default false: every consensus label weighs 1 in training)."
	}$booleans$;
	numbers constant jsonb := $numbers${
		"evaluation_rate": {"min": 0, "max": 0.5,
			"hint": "evaluation_rate must be a number from 0 (no evaluation rows) to 0.5, the share of the review queue drawn at random; null restores the default 0.05."},
		"reservation_timeout": {"min": 1, "max": 86400,
			"hint": "reservation_timeout must be a number of seconds from 1 to 86400, how long hitl.next_rows keeps a row for the role it gave it to; null restores the default 600."},
		"annotators_per_row": {"min": 1, "max": 20, "whole": true,
			"hint": "annotators_per_row must be an integer from 1 to 20, the answers each row gets before its label is their consensus; null restores the default 1."},
		"skip_limit": {"min": 1, "max": 20, "whole": true,
			"hint": "skip_limit must be an integer from 1 to 20, the number of roles whose hitl.skip of a row keeps it from everyone's hitl.next_rows; null restores the default 2."},
		"consensus_threshold": {"min": 0, "max": 1,
			"hint": "consensus_threshold must be a number from 0 to 1, the Dawid-Skene posterior a row's consensus needs; null restores the default 0.8."},
		"committee_size": {"min": 2, "max": 20, "whole": true,
			"hint": "committee_size must be an integer from 2 to 20, the models of the committee strategy; null restores the default 5."},
		"stop_kappa": {"min": 0, "max": 1,
			"hint": "stop_kappa must be a number from 0 to 1, the agreement between versions' predictions above which labeling may stop; null restores the default 0.99."},
		"stop_window": {"min": 1, "max": 1000000000, "whole": true,
			"hint": "stop_window must be an integer from 1 to 1000000000, the labels over which every version's predictions must agree with the previous version's beyond stop_kappa before labeling may stop; null restores the default 100."}
	}$numbers$;
	rules constant jsonb := $rules${
		"min_labels": {"default": 10, "min": 2, "max": 1000000000, "whole": true,
			"hint": "min_labels must be an integer of at least 2."},
		"cv_folds": {"default": 5, "min": 0, "max": 20, "except": 1, "whole": true,
			"hint": "cv_folds must be 0 (no cross-validation) or an integer from 2 to 20."},
		"queue_size": {"default": 1000, "min": 1, "max": 100000, "whole": true,
			"hint": "queue_size must be an integer from 1 to 100000."},
		"score_tolerance": {"default": 0.01, "min": 0, "max": 1, "max_open": true,
			"hint": "score_tolerance must be at least 0 and below 1."},
		"batch_size": {"min": 100, "max": 1000000, "whole": true,
			"hint": "batch_size must be an integer from 100 to 1000000."},
		"C": {"algorithm": "logistic", "default": 1.0, "min": 0, "min_open": true,
			"hint": "C must be greater than 0."},
		"max_iter": {"algorithm": "logistic", "default": 100, "text_default": 1000,
			"min": 1, "max": 10000, "whole": true,
			"hint": "max_iter must be an integer from 1 to 10000."},
		"tol": {"algorithm": "logistic", "default": 0.00000001, "text_default": 0.000001,
			"min": 0, "min_open": true, "hint": "tol must be greater than 0."},
		"alpha": {"algorithm": "naive_bayes", "default": 1.0, "min": 0, "min_open": true,
			"hint": "alpha must be greater than 0."},
		"text_config": {"text": true, "kind": "config", "default": "simple"},
		"bigrams": {"text": true, "kind": "boolean", "default": false},
		"buckets": {"text": true, "default": 262144, "min": 16, "max": 16777216, "whole": true,
			"power_of_two": true,
			"hint": "buckets must be a power of two from 16 to 16777216 (2^4 to 2^24)."},
		"max_text_bytes": {"text": true, "default": 1048576, "min": 1024, "max": 1073741823,
			"whole": true, "hint": "max_text_bytes must be an integer from 1024 to 1073741823."}
	}$rules$;
	kind text := CASE WHEN algorithm = 'logistic' THEN 'logistic' ELSE 'naive_bayes' END;
	known text[] := removable;
	defaults jsonb := '{}';
	k text;
	v jsonb;
	r jsonb;
	n numeric;
	bad boolean;
BEGIN
	options := coalesce(options, '{}');
	IF jsonb_typeof(options) <> 'object' THEN
		RAISE EXCEPTION 'options must be a jsonb object'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass options like ''{"C": 0.5, "min_labels": 20}''.';
	END IF;

	v := options -> 'auto_label_precision';
	IF jsonb_typeof(v) NOT IN ('number', 'null')
	   OR (jsonb_typeof(v) = 'number' AND NOT (v::numeric > 0.5 AND v::numeric < 1)) THEN
		RAISE EXCEPTION 'invalid value % for option "auto_label_precision"', v
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'auto_label_precision must be a number between 0.5 and 1 (exclusive), the precision the worker''s auto-labeling aims at; null removes it.';
	END IF;
	/* the booleans without a default, with the hint of each */
	FOR k, r IN SELECT * FROM jsonb_each(booleans) LOOP
		v := options -> k;
		IF jsonb_typeof(v) NOT IN ('boolean', 'null') THEN
			RAISE EXCEPTION 'invalid value % for option "%"', v, k
				USING ERRCODE = 'invalid_parameter_value', HINT = r #>> '{}';
		END IF;
	END LOOP;
	v := options -> 'consensus';
	IF jsonb_typeof(v) NOT IN ('string', 'null')
	   OR (jsonb_typeof(v) = 'string' AND v #>> '{}' NOT IN ('majority', 'dawid_skene')) THEN
		RAISE EXCEPTION 'invalid value % for option "consensus"', v
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'consensus must be "majority" or "dawid_skene"; null restores the default: Dawid-Skene once 20 rows have annotators_per_row answers, majority before.';
	END IF;
	v := options -> 'committee_measure';
	IF jsonb_typeof(v) NOT IN ('string', 'null')
	   OR (jsonb_typeof(v) = 'string' AND v #>> '{}' NOT IN ('vote_entropy', 'kl')) THEN
		RAISE EXCEPTION 'invalid value % for option "committee_measure"', v
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'committee_measure must be "vote_entropy" (the entropy of the members'' votes) or "kl" (their mean KL divergence to the committee''s mean probabilities); null restores the default vote_entropy.';
	END IF;
	IF jsonb_typeof(options -> 'cv_group_column') NOT IN ('string', 'null') THEN
		RAISE EXCEPTION 'option "cv_group_column" must be a column name'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Name the column whose rows of one value stay in one fold, as in {"cv_group_column": "customer_id"}; null removes the option.';
	END IF;
	/* the numbers without a default: bounds, whether whole, and the hint */
	FOR k, r IN SELECT * FROM jsonb_each(numbers) LOOP
		v := options -> k;
		IF jsonb_typeof(v) NOT IN ('number', 'null')
		   OR (jsonb_typeof(v) = 'number'
			   AND NOT (v::numeric BETWEEN (r ->> 'min')::numeric AND (r ->> 'max')::numeric
						AND (NOT (r ? 'whole') OR v::numeric = trunc(v::numeric)))) THEN
			RAISE EXCEPTION 'invalid value % for option "%"', v, k
				USING ERRCODE = 'invalid_parameter_value', HINT = r ->> 'hint';
		END IF;
	END LOOP;
	FOREACH k IN ARRAY removable LOOP
		IF jsonb_typeof(options -> k) = 'null' THEN
			options := options - k;
		END IF;
	END LOOP;

	/* the options of this model, with their defaults */
	FOR k, r IN SELECT * FROM jsonb_each(rules) LOOP
		CONTINUE WHEN (r ? 'text' AND NOT has_text) OR coalesce(r ->> 'algorithm', kind) <> kind;
		known := known || k;
		IF r ? 'default' THEN
			defaults := defaults || jsonb_build_object(k, CASE WHEN has_text AND r ? 'text_default'
															   THEN r -> 'text_default' ELSE r -> 'default' END);
		END IF;
	END LOOP;

	FOR k, v IN SELECT * FROM jsonb_each(options) LOOP
		CONTINUE WHEN k = ANY (removable);
		r := rules -> k;
		IF r ? 'text' AND NOT has_text THEN
			RAISE EXCEPTION 'option "%" applies only to models with text feature columns', k
				USING ERRCODE = 'invalid_parameter_value';
		ELSIF coalesce(r ->> 'algorithm', kind) <> kind THEN
			RAISE EXCEPTION 'option "%" does not apply to algorithm %', k, algorithm
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = CASE WHEN k = 'alpha' THEN 'alpha is the smoothing of naive_bayes.'
								  ELSE 'C, max_iter and tol are settings of logistic.' END;
		ELSIF r IS NULL THEN
			RAISE EXCEPTION 'unknown option "%"', k
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('Known options: %s.', array_to_string(
								 ARRAY(SELECT o FROM unnest(known) AS o ORDER BY o COLLATE "C"), ', '));
		END IF;
		IF r ->> 'kind' = 'config' THEN
			IF jsonb_typeof(v) <> 'string' THEN
				RAISE EXCEPTION 'option "%" must be a string', k
					USING ERRCODE = 'invalid_parameter_value',
						  HINT = 'Name a text search configuration, as in {"text_config": "english"}.';
			END IF;
			/* raises 42704 for an unknown configuration; stores its canonical name */
			options := options || jsonb_build_object(k, (v #>> '{}')::regconfig::text);
		ELSIF r ->> 'kind' = 'boolean' THEN
			IF jsonb_typeof(v) <> 'boolean' THEN
				RAISE EXCEPTION 'option "%" must be true or false', k
					USING ERRCODE = 'invalid_parameter_value';
			END IF;
		ELSE
			IF jsonb_typeof(v) <> 'number' THEN
				RAISE EXCEPTION 'option "%" must be a number', k
					USING ERRCODE = 'invalid_parameter_value';
			END IF;
			n := v::text::numeric;
			bad := coalesce(n < (r ->> 'min')::numeric, false)
				OR coalesce(n = (r ->> 'min')::numeric AND r ? 'min_open', false)
				OR coalesce(n > (r ->> 'max')::numeric, false)
				OR coalesce(n = (r ->> 'max')::numeric AND r ? 'max_open', false)
				OR coalesce(n = (r ->> 'except')::numeric, false)
				OR (r ? 'whole' AND n <> trunc(n));
			/* within bounds and whole, n fits a bigint */
			IF NOT bad AND r ? 'power_of_two' THEN
				bad := (n::bigint & (n::bigint - 1)) <> 0;
			END IF;
			IF bad THEN
				RAISE EXCEPTION 'invalid value % for option "%"', v, k
					USING ERRCODE = 'invalid_parameter_value', HINT = r ->> 'hint';
			END IF;
			/* stored as an integer: 5.0 or 5e0 would not read back as one */
			IF r ? 'whole' THEN
				options := options || jsonb_build_object(k, n::bigint);
			END IF;
		END IF;
	END LOOP;
	RETURN defaults || options;
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
