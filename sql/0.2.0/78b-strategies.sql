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
 * holds their disagreement by the option committee_measure, the entropy of
 * their votes or, with 'kl', their mean KL divergence to their mean
 * probabilities; not for naive Bayes).  The scoring computes them
 * (score_scan.c, queue_diverse.c, score_committee.c); the options are
 * checked by hitl._resolve_options (66-confusion.sql).
 * ------------------------------------------------------------------------ */

ALTER TABLE hitl.models DROP CONSTRAINT models_strategy_check;
ALTER TABLE hitl.models ADD CONSTRAINT models_strategy_check
	CHECK (strategy IN ('margin', 'least_confidence', 'entropy', 'density', 'diverse',
						'committee'));

/* hitl._check_options (30-internal.sql) and hitl.model_overview (65) know them too */
COMMENT ON CONSTRAINT models_strategy_check ON hitl.models IS
	'the query strategies: margin, least_confidence, entropy, density, diverse, committee';
