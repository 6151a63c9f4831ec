/* ------------------------------------------------------------------------
 * 74 Several annotators per row
 *
 * With the model option annotators_per_row k > 1, an UPDATE of the label
 * column is the answer of the role that runs it: the model's BEFORE UPDATE
 * label trigger (kind "ans", src/answer.c) keeps it in hitl.answers, logs
 * it in hitl.answer_log, and puts the row's consensus in the label column
 * instead: the label most of the k answers gave, NULL on a tie, or the
 * label of an adjudicator (a member of the model's owner or of
 * hitl_adjudicator), which settles the row.  Training, the review queue
 * and the label log then see consensus labels only.
 * ------------------------------------------------------------------------ */

CREATE TABLE hitl.answers (
	model				text NOT NULL REFERENCES hitl.models (name) ON DELETE CASCADE,
	row_key				jsonb NOT NULL,
	role				name NOT NULL,
	label				text NOT NULL,
	adjudication		boolean NOT NULL DEFAULT false,
	answered_at			timestamptz NOT NULL,
	PRIMARY KEY (model, row_key, role)
);
COMMENT ON TABLE hitl.answers IS
	'each role''s current answer for each row of a model with several annotators per row (option annotators_per_row)';
COMMENT ON COLUMN hitl.answers.row_key IS 'the row''s primary key as jsonb';
COMMENT ON COLUMN hitl.answers.role IS 'the role that answered';
COMMENT ON COLUMN hitl.answers.label IS 'its answer, as text';
COMMENT ON COLUMN hitl.answers.adjudication IS
	'the answer of a role that may adjudicate (a member of the model''s owner or of hitl_adjudicator): it settles the row';

CREATE TABLE hitl.answer_log (
	id					bigint GENERATED ALWAYS AS IDENTITY,
	model				text NOT NULL,
	row_key				jsonb NOT NULL,
	role				name NOT NULL,
	old_answer			text,
	new_answer			text,
	adjudication		boolean NOT NULL,
	consensus			text,
	at					timestamptz NOT NULL,
	PRIMARY KEY (model, id)
);
COMMENT ON TABLE hitl.answer_log IS
	'every answer of a model with several annotators per row: who, when, the answer it replaced, and the row''s consensus after it';
COMMENT ON COLUMN hitl.answer_log.old_answer IS 'the role''s answer before, or NULL';
COMMENT ON COLUMN hitl.answer_log.new_answer IS 'its answer now, or NULL when it took its answer back';
COMMENT ON COLUMN hitl.answer_log.consensus IS 'the row''s label after the answer: the consensus, or NULL';

SELECT pg_catalog.pg_extension_config_dump('hitl.answers', '');
SELECT pg_catalog.pg_extension_config_dump('hitl.answer_log', '');

ALTER TABLE hitl.answers ENABLE ROW LEVEL SECURITY;
ALTER TABLE hitl.answer_log ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON hitl.answers, hitl.answer_log FROM PUBLIC;
GRANT SELECT ON hitl.answers, hitl.answer_log TO PUBLIC;

CREATE POLICY answers_read ON hitl.answers FOR SELECT
	USING (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
							  WHERE NOT pg_catalog.row_security_active(m.source::oid)))
		   OR (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
								  WHERE pg_catalog.row_security_active(m.source::oid)))
			   AND hitl._source_row_visible(model, row_key)));
COMMENT ON POLICY answers_read ON hitl.answers IS
	'the answers of a model are visible to the roles that see the model, each only when the role may see its row';

CREATE POLICY answer_log_read ON hitl.answer_log FOR SELECT
	USING (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
							  WHERE NOT pg_catalog.row_security_active(m.source::oid)))
		   OR (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
								  WHERE pg_catalog.row_security_active(m.source::oid)))
			   AND hitl._source_row_visible(model, row_key)));
COMMENT ON POLICY answer_log_read ON hitl.answer_log IS
	'the answer log of a model is visible to the roles that see the model, each entry only when the role may see its row';

/* The role whose members adjudicate every model's rows (the cluster's: made once) */
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hitl_adjudicator') THEN
		CREATE ROLE hitl_adjudicator NOLOGIN;
	END IF;
END
$$;

/*
 * The option annotators_per_row of a model: no other model of the same
 * label column (their answers would be one column's consensus), and,
 * once the model has answers, never lower (rows would have more answers
 * than asked).
 */
CREATE FUNCTION hitl._check_annotators() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	k integer := coalesce((NEW.options ->> 'annotators_per_row')::integer, 1);
	old_k integer;
BEGIN
	IF TG_OP = 'UPDATE' THEN
		old_k := coalesce((OLD.options ->> 'annotators_per_row')::integer, 1);
		/* a new rule of consensus: the worker's next pass fits it and applies it to every row */
		IF (OLD.options -> 'consensus', OLD.options -> 'consensus_threshold', old_k)
		   IS DISTINCT FROM (NEW.options -> 'consensus', NEW.options -> 'consensus_threshold', k) THEN
			DELETE FROM hitl.consensus_fits f WHERE f.model = NEW.name;
		END IF;
		IF k = old_k THEN
			RETURN NEW;
		END IF;
		IF k < old_k AND EXISTS (SELECT 1 FROM hitl.answers a WHERE a.model = NEW.name) THEN
			RAISE EXCEPTION 'option "annotators_per_row" of model "%" cannot go down from % to %', NEW.name, old_k, k
				USING ERRCODE = 'feature_not_supported',
					  DETAIL = 'The model has answers already; rows would have more answers than asked.',
					  HINT = 'Raise it only: rows with a consensus keep it, the others wait for the new number of answers.';
		END IF;
	END IF;
	IF k > 1 AND EXISTS (SELECT 1 FROM hitl.models m
						 WHERE m.source = NEW.source AND m.label_column = NEW.label_column
						   AND m.name <> NEW.name) THEN
		RAISE EXCEPTION 'another model of table % labels column "%"', NEW.source::regclass, NEW.label_column
			USING ERRCODE = 'object_in_use',
				  DETAIL = 'With several annotators per row, the label column holds the consensus of one model''s answers.';
	END IF;
	IF k = 1 AND EXISTS (SELECT 1 FROM hitl.models m
						 WHERE m.source = NEW.source AND m.label_column = NEW.label_column
						   AND m.name <> NEW.name
						   AND coalesce((m.options ->> 'annotators_per_row')::integer, 1) > 1) THEN
		RAISE EXCEPTION 'model "%" of table % takes several annotators per row of column "%"',
			(SELECT m.name FROM hitl.models m
			 WHERE m.source = NEW.source AND m.label_column = NEW.label_column AND m.name <> NEW.name
			 LIMIT 1), NEW.source::regclass, NEW.label_column
			USING ERRCODE = 'object_in_use',
				  DETAIL = 'The label column holds the consensus of that model''s answers.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION hitl._check_annotators() IS
	'internal: a model with several annotators per row is the only one of its label column, and its annotators_per_row never goes down once it has answers';

CREATE TRIGGER model_annotators BEFORE INSERT OR UPDATE OF options ON hitl.models
	FOR EACH ROW EXECUTE FUNCTION hitl._check_annotators();

/* A model whose annotators_per_row rises above 1 gets its answer trigger */
CREATE FUNCTION hitl._annotators_trigger() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF coalesce((NEW.options ->> 'annotators_per_row')::integer, 1) > 1 THEN
		PERFORM hitl._create_label_triggers(NEW.name);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION hitl._annotators_trigger() IS
	'internal: creates the answer trigger of a model whose annotators_per_row rose above 1';
REVOKE ALL ON FUNCTION hitl._annotators_trigger() FROM PUBLIC;

CREATE TRIGGER model_annotators_trigger AFTER UPDATE OF options ON hitl.models
	FOR EACH ROW
	WHEN (coalesce((NEW.options ->> 'annotators_per_row')::integer, 1)
		  > coalesce((OLD.options ->> 'annotators_per_row')::integer, 1))
	EXECUTE FUNCTION hitl._annotators_trigger();

/* The name of a model's adjudication view */
CREATE FUNCTION hitl._adjudication_view(model text) RETURNS name
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT (model || '_adjudication_queue')::name $$;
COMMENT ON FUNCTION hitl._adjudication_view(text) IS
	'internal: the name of a model''s adjudication view';

/*
 * (Re)create a model's view <model>_adjudication_queue beside its review
 * view: the table's columns of the unlabeled rows that need an expert,
 * those whose annotators_per_row answers left no consensus (a tie) and
 * those skip_limit roles skipped, with "answers" (jsonb: role -> answer)
 * and "skips" (jsonb: role -> reason), and "consensus_confidence" (the
 * highest posterior, or the winning share, hitl.consensus has for the
 * row; NULL for a skipped row without k answers).  An adjudicator's UPDATE of the
 * label settles the row.  security_invoker, as the audit views.
 */
CREATE FUNCTION hitl._create_adjudication_view(model text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m hitl.models := hitl._model_for_view(model, ARRAY['answers', 'skips', 'consensus_confidence'], 'adjudication view');
BEGIN
	EXECUTE format($v$
		CREATE OR REPLACE VIEW %1$I.%2$I WITH (security_invoker = true) AS
		WITH o AS (
			SELECT coalesce((m.options OPERATOR(pg_catalog.->>) 'annotators_per_row')::pg_catalog.int4, 1) AS k,
				   coalesce((m.options OPERATOR(pg_catalog.->>) 'skip_limit')::pg_catalog.int4, 2) AS skip_limit
			FROM hitl.models m WHERE m.name OPERATOR(pg_catalog.=) %3$L::pg_catalog.text),
		r AS (
			SELECT a.row_key FROM hitl.answers a, o
			WHERE a.model OPERATOR(pg_catalog.=) %3$L::pg_catalog.text AND o.k OPERATOR(pg_catalog.>) 1
			GROUP BY a.row_key, o.k
			HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>=) o.k AND NOT pg_catalog.bool_or(a.adjudication)
			UNION
			SELECT k.row_key FROM hitl.skips k, o
			WHERE k.model OPERATOR(pg_catalog.=) %3$L::pg_catalog.text
			GROUP BY k.row_key, o.skip_limit
			HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>=) o.skip_limit)
		SELECT s.*,
			   (SELECT pg_catalog.jsonb_object_agg(a.role, a.label ORDER BY a.role) FROM hitl.answers a
				WHERE a.model OPERATOR(pg_catalog.=) %3$L::pg_catalog.text
				  AND a.row_key OPERATOR(pg_catalog.=) r.row_key) AS answers,
			   (SELECT pg_catalog.jsonb_object_agg(k.role, k.reason ORDER BY k.role) FROM hitl.skips k
				WHERE k.model OPERATOR(pg_catalog.=) %3$L::pg_catalog.text
				  AND k.row_key OPERATOR(pg_catalog.=) r.row_key) AS skips,
			   (SELECT c.confidence FROM hitl.consensus c
				WHERE c.model OPERATOR(pg_catalog.=) %3$L::pg_catalog.text
				  AND c.row_key OPERATOR(pg_catalog.=) r.row_key) AS consensus_confidence
		FROM r
		CROSS JOIN LATERAL (
			SELECT t.* FROM %4$s t
			WHERE %5$s AND t.%6$I IS NULL
			OFFSET 0) s
		ORDER BY r.row_key$v$,
		m.view_schema, hitl._adjudication_view(m.name), m.name, m.source,
		hitl._key_match(m.source, m.key_columns, 't', 'r.row_key'), m.label_column);
	EXECUTE format('COMMENT ON VIEW %I.%I IS %L', m.view_schema, hitl._adjudication_view(m.name),
				   format('hitl adjudication queue of model %s: unlabeled rows whose answers left no consensus, or that annotators skipped, with every answer and skip', m.name));
	PERFORM hitl._adopt_model_view(m, hitl._adjudication_view(m.name));
END
$$;
COMMENT ON FUNCTION hitl._create_adjudication_view(text) IS
	'internal: creates the adjudication view of a model, as the calling role';
