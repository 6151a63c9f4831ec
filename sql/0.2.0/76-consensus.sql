/* ------------------------------------------------------------------------
 * 76 Consensus: majority vote or Dawid-Skene
 *
 * The consensus of a row with annotators_per_row (k) answers is chosen by
 * the model option "consensus":
 *	- 'majority': the label most answers gave; a tie leaves the row without
 *	  a consensus (it waits in the adjudication view); its confidence is
 *	  the winning label's share of the answers;
 *	- 'dawid_skene': the label of highest posterior under the model of
 *	  Dawid and Skene (1979), each annotator with a confusion matrix fitted
 *	  by EM over all the model's answers (hitl.consensus_fits); the row gets
 *	  it only when its posterior, the consensus_confidence, reaches
 *	  consensus_threshold (0.8 unless set), else it waits in the
 *	  adjudication view;
 *	- absent: Dawid-Skene once the fit saw 20 rows with k answers, majority
 *	  before.
 * An adjudicator's answer settles a row whatever the method (confidence 1).
 * The answer trigger applies the current fit to the row it answers; the
 * fit itself is refreshed by the worker when answers came since the last
 * one, or at once by hitl.refresh_consensus(model), which also writes the
 * consensus of every row whose consensus the new fit changed.
 * ------------------------------------------------------------------------ */

CREATE TABLE hitl.consensus (
	model				text NOT NULL REFERENCES hitl.models (name) ON DELETE CASCADE,
	row_key				jsonb NOT NULL,
	label				text,
	confidence			float8 NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
	method				text NOT NULL CHECK (method IN ('majority', 'dawid_skene', 'adjudication')),
	answers				integer NOT NULL CHECK (answers >= 0),
	updated_at			timestamptz NOT NULL,
	PRIMARY KEY (model, row_key)
);
COMMENT ON TABLE hitl.consensus IS
	'the consensus of every row with annotators_per_row answers (or an adjudication) of a model with several annotators per row';
COMMENT ON COLUMN hitl.consensus.label IS 'the consensus label, as text; NULL when the answers left none (the row waits for an adjudication)';
COMMENT ON COLUMN hitl.consensus.confidence IS
	'consensus_confidence: the Dawid-Skene posterior of the label (its highest posterior when NULL), the winning share of a majority vote, 1 for an adjudication';
COMMENT ON COLUMN hitl.consensus.method IS 'majority, dawid_skene or adjudication';
COMMENT ON COLUMN hitl.consensus.answers IS 'the row''s answers when the consensus was taken';

CREATE TABLE hitl.consensus_fits (
	model				text PRIMARY KEY REFERENCES hitl.models (name) ON DELETE CASCADE,
	classes				text[] NOT NULL,
	roles				name[] NOT NULL,
	prior				float8[] NOT NULL,
	confusion			float8[] NOT NULL,
	rows				integer NOT NULL,
	full_rows			integer NOT NULL,
	answers				bigint NOT NULL,
	iterations			integer NOT NULL,
	converged			boolean NOT NULL,
	log_likelihood		float8 NOT NULL,
	last_answer			bigint NOT NULL,
	fitted_at			timestamptz NOT NULL
);
COMMENT ON TABLE hitl.consensus_fits IS
	'the Dawid-Skene model of each model''s answers: class priors and a confusion matrix per role, fitted by EM';
COMMENT ON COLUMN hitl.consensus_fits.classes IS 'the labels the answers gave, in the order of prior and of the matrices'' rows and columns';
COMMENT ON COLUMN hitl.consensus_fits.roles IS 'the roles that answered, in the order of the matrices';
COMMENT ON COLUMN hitl.consensus_fits.prior IS 'the prior of each class';
COMMENT ON COLUMN hitl.consensus_fits.confusion IS
	'one k x k matrix per role, then the pooled matrix given to a role the fit did not see, flattened: entry [j][t][g] at j*k*k + t*k + g (0-based) is the probability that role j answers class g for a row of true class t';
COMMENT ON COLUMN hitl.consensus_fits.rows IS 'the rows with at least one answer';
COMMENT ON COLUMN hitl.consensus_fits.full_rows IS 'the rows with annotators_per_row answers or more';
COMMENT ON COLUMN hitl.consensus_fits.last_answer IS 'the last entry of hitl.answer_log the fit saw';

SELECT pg_catalog.pg_extension_config_dump('hitl.consensus', '');
SELECT pg_catalog.pg_extension_config_dump('hitl.consensus_fits', '');

ALTER TABLE hitl.consensus ENABLE ROW LEVEL SECURITY;
ALTER TABLE hitl.consensus_fits ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON hitl.consensus, hitl.consensus_fits FROM PUBLIC;
GRANT SELECT ON hitl.consensus, hitl.consensus_fits TO PUBLIC;

CREATE POLICY consensus_read ON hitl.consensus FOR SELECT
	USING (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
							  WHERE NOT pg_catalog.row_security_active(m.source::oid)))
		   OR (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
								  WHERE pg_catalog.row_security_active(m.source::oid)))
			   AND hitl._source_row_visible(model, row_key)));
COMMENT ON POLICY consensus_read ON hitl.consensus IS
	'the consensus of a model''s rows is visible to the roles that see the model, each only when the role may see its row';

CREATE POLICY consensus_fits_read ON hitl.consensus_fits FOR SELECT
	USING (model = ANY (ARRAY(SELECT m.name FROM hitl.models m)));
COMMENT ON POLICY consensus_fits_read ON hitl.consensus_fits IS
	'the fit of a model is visible to the roles that see the model';

CREATE FUNCTION hitl.refresh_consensus(model text) RETURNS bigint
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'hitl_refresh_consensus';
COMMENT ON FUNCTION hitl.refresh_consensus(text) IS
	'refits the consensus model of a model''s answers now (Dawid-Skene, or majority vote: option consensus) and writes the consensus labels it changed; returns how many rows it wrote';
