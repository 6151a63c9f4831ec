/* ------------------------------------------------------------------------
 * 69 Evaluation rows: an accuracy that active learning does not bias
 *
 * The rows active learning asks people to label are the hardest, so the
 * cross-validation on them does not estimate the accuracy on the others.
 * Option evaluation_rate (default 0.05, from 0 to 0.5; 0 turns it off): that
 * share of each review queue is drawn at random from the unlabeled rows
 * (src/queue.c) and marked in hitl.queue.evaluation and the review views.
 * When such a row is labeled, its label log entry says so (evaluation),
 * beside the prediction the row had; each training compares the two
 * (src/catalog_evaluation.c) and records in the version's metrics
 * 'evaluation': {accuracy, low, high, rows}, the share of right
 * predictions with its Wilson 95% interval and the rows it rests on.
 * hitl.models.evaluation_accuracy shows that of the current version.
 * ------------------------------------------------------------------------ */

ALTER TABLE hitl.queue ADD COLUMN evaluation boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN hitl.queue.evaluation IS
	'drawn at random from the unlabeled rows (option evaluation_rate), not for its uncertainty: its label measures the model''s accuracy';

/*
 * The label triggers read a model's evaluation rows once per statement
 * (src/catalog_evaluation.c): a few rows, found here without reading the
 * rest of a queue of up to 100,000.
 */
CREATE INDEX queue_evaluation ON hitl.queue (model) WHERE evaluation;
COMMENT ON INDEX hitl.queue_evaluation IS
	'the evaluation rows of a model''s queue, which the label triggers look up';

ALTER TABLE hitl.label_log ADD COLUMN evaluation boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN hitl.label_log.evaluation IS
	'the row was an evaluation row of the model''s queue when its label changed: prediction is what the model said before seeing the label';

/*
 * Each training reads a model's evaluation entries of the log
 * (src/catalog_evaluation.c): a few rows, found here without reading every
 * label change of the model (20,000 entries for 20,000 labels, a few
 * milliseconds).  The label triggers add an entry only for an evaluation
 * row's label.
 */
CREATE INDEX label_log_evaluation ON hitl.label_log (model) WHERE evaluation;
COMMENT ON INDEX hitl.label_log_evaluation IS
	'the evaluation entries of a model''s label log, which each training reads';

ALTER TABLE hitl.models ADD COLUMN evaluation_accuracy float8;
COMMENT ON COLUMN hitl.models.evaluation_accuracy IS
	'accuracy of the current version''s model on the evaluation rows labeled (metrics->''evaluation''); NULL when none was';

/*
 * hitl.models.evaluation_accuracy follows the current version: set from
 * its metrics whenever current_version changes (a training records a
 * version, or a rollback names another).
 */
CREATE FUNCTION hitl._set_evaluation_accuracy() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.current_version IS DISTINCT FROM OLD.current_version THEN
		NEW.evaluation_accuracy := (SELECT (v.metrics -> 'evaluation' ->> 'accuracy')::float8
									FROM hitl.model_versions v
									WHERE v.model = NEW.name AND v.version = NEW.current_version);
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION hitl._set_evaluation_accuracy() IS
	'internal: hitl.models.evaluation_accuracy is that of the current version''s metrics';
REVOKE ALL ON FUNCTION hitl._set_evaluation_accuracy() FROM PUBLIC;

CREATE TRIGGER model_evaluation_accuracy BEFORE UPDATE OF current_version ON hitl.models
	FOR EACH ROW EXECUTE FUNCTION hitl._set_evaluation_accuracy();

/*
 * hitl.review_queue gains evaluation, last.  It reads hitl.queue as the
 * view's owner, but only for the rows hitl._model_queue() gave the reader:
 * the flag of a candidate the reader sees.
 */
CREATE OR REPLACE VIEW hitl.review_queue AS
	SELECT m.name AS model, q.row_key, q.prediction, q.confidence, q.uncertainty, q.rank,
		   coalesce((SELECT e.evaluation FROM hitl.queue e
					 WHERE e.model OPERATOR(pg_catalog.=) m.name
					   AND e.rank OPERATOR(pg_catalog.=) q.rank), false) AS evaluation
	FROM hitl.models m
	CROSS JOIN LATERAL hitl._model_queue(m.name) q
	ORDER BY m.name, q.rank;
COMMENT ON COLUMN hitl.review_queue.evaluation IS
	'drawn at random (option evaluation_rate): label it as any other; its label measures the model''s accuracy';
