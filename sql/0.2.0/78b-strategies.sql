/* ------------------------------------------------------------------------
 * 78b More query strategies: density, diverse and committee
 *
 * Beside margin, least_confidence and entropy, a model's strategy may be
 * 'density' (information density: the margin uncertainty times the row's
 * mean cosine similarity to the unlabeled pool, so that typical rows come
 * before outliers; the uncertainty column holds that product) or 'diverse'
 * (the margin uncertainty, the review queue put in an order where a row
 * and its near-copies do not come together: ranked batch-mode sampling)
 * or 'committee' (query by committee: committee_size logistic regressions
 * fitted on bootstrap resamples of the labeled rows; the uncertainty column
 * holds the entropy of their votes; not for naive Bayes).  The scoring
 * computes them (score_scan.c, queue_diverse.c, score_committee.c).
 * ------------------------------------------------------------------------ */

ALTER TABLE hitl.models DROP CONSTRAINT models_strategy_check;
ALTER TABLE hitl.models ADD CONSTRAINT models_strategy_check
	CHECK (strategy IN ('margin', 'least_confidence', 'entropy', 'density', 'diverse',
						'committee'));

/*
 * The algorithm, the query strategy and the options (checked, with their
 * defaults filled in, by hitl._resolve_options).  Returns the options.
 */
CREATE OR REPLACE FUNCTION hitl._check_options(algorithm text, strategy text, options jsonb,
											   has_text boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF algorithm IS NULL OR algorithm NOT IN ('logistic', 'naive_bayes') THEN
		RAISE EXCEPTION 'unknown algorithm "%"', algorithm
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Known algorithms: logistic, naive_bayes.';
	END IF;
	IF strategy IS NULL OR strategy NOT IN ('margin', 'least_confidence', 'entropy',
											'density', 'diverse', 'committee') THEN
		RAISE EXCEPTION 'unknown query strategy "%"', strategy
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Known strategies: margin, least_confidence, entropy, density, diverse, committee.';
	END IF;
	IF strategy = 'committee' AND algorithm = 'naive_bayes' THEN
		RAISE EXCEPTION 'strategy "committee" needs algorithm logistic'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Naive Bayes models have no committee: use another strategy.';
	END IF;
	RETURN hitl._resolve_options(options, algorithm, has_text);
END
$$;
COMMENT ON FUNCTION hitl._check_options(text, text, jsonb, boolean) IS
	'internal: create_model''s check of the algorithm, query strategy and options; returns the options with their defaults';

COMMENT ON COLUMN hitl.model_overview.strategy IS
	'margin, least_confidence, entropy, density, diverse or committee';
COMMENT ON CONSTRAINT models_strategy_check ON hitl.models IS
	'the query strategies: margin, least_confidence, entropy, density, diverse, committee';
