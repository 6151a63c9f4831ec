/* ------------------------------------------------------------------------
 * 21 Training statistics as aggregates
 *
 * Training statistics are sums over the labeled rows, so aggregates with a
 * combine function compute them: parallel query splits the rows among
 * workers on one server, and Citus pushes such an aggregate down to the
 * nodes that hold a distributed table's shards (its state is a float8[],
 * which it can send between nodes) and combines the parts on the
 * coordinator.  The state is [kind, classes, features, sums...]
 * (src/agg_math.h); src/agg_nbayes.c and src/agg_logreg.c compute them.
 *
 * They only compute over their arguments, so PUBLIC may execute them.
 * They set no search_path: they run no SQL, and a SET clause would cost a
 * function call's configuration change on every row.
 * ------------------------------------------------------------------------ */

CREATE FUNCTION hitl._agg_combine(a float8[], b float8[]) RETURNS float8[]
	AS 'MODULE_PATHNAME', 'hitl_agg_combine'
	LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION hitl._agg_combine(float8[], float8[]) IS
	'internal: the sum of two states of hitl._nb_stats or hitl._logreg_grad (their combine function)';

/* Naive Bayes: per class, the rows and the sums of their features */

CREATE FUNCTION hitl._nb_stats_step(state float8[], class integer, features float8[], k integer)
RETURNS float8[]
	AS 'MODULE_PATHNAME', 'hitl_nb_stats_step'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION hitl._nb_stats_step(float8[], integer, float8[], integer) IS
	'internal: adds a labeled row to a state of hitl._nb_stats (its transition function)';

CREATE FUNCTION hitl._nb_stats_final(state float8[]) RETURNS float8[]
	AS 'MODULE_PATHNAME', 'hitl_nb_stats_final'
	LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION hitl._nb_stats_final(float8[]) IS
	'internal: the classes x (1 + features) array of rows and feature sums of a state of hitl._nb_stats';

CREATE AGGREGATE hitl._nb_stats(class integer, features float8[], k integer) (
	SFUNC = hitl._nb_stats_step,
	STYPE = float8[],
	COMBINEFUNC = hitl._agg_combine,
	FINALFUNC = hitl._nb_stats_final,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE hitl._nb_stats(integer, float8[], integer) IS
	'internal: naive Bayes statistics of the labeled rows (class in [0, k), NULL: skipped; features zero or more, as many on every row): a k x (1 + features) array, for each class its rows then its feature sums';

/* Logistic regression: the loss and its gradient at given coefficients */

CREATE FUNCTION hitl._logreg_grad_step(state float8[], class integer, features float8[],
									   coef float8[], k integer)
RETURNS float8[]
	AS 'MODULE_PATHNAME', 'hitl_logreg_grad_step'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION hitl._logreg_grad_step(float8[], integer, float8[], float8[], integer) IS
	'internal: adds a labeled row''s log-loss and its gradient to a state of hitl._logreg_grad (its transition function)';

CREATE FUNCTION hitl._logreg_grad_final(state float8[]) RETURNS float8[]
	AS 'MODULE_PATHNAME', 'hitl_logreg_grad_final'
	LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION hitl._logreg_grad_final(float8[]) IS
	'internal: [rows, loss, gradient] of a state of hitl._logreg_grad';

CREATE AGGREGATE hitl._logreg_grad(class integer, features float8[], coef float8[], k integer) (
	SFUNC = hitl._logreg_grad_step,
	STYPE = float8[],
	COMBINEFUNC = hitl._agg_combine,
	FINALFUNC = hitl._logreg_grad_final,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE hitl._logreg_grad(integer, float8[], float8[], integer) IS
	'internal: the data part of logistic regression''s objective at coef over the labeled rows (class in [0, k), NULL: skipped; features standardized): [rows, sum of log-losses, their gradient in the coefficients'' layout]';

/*
 * Naive Bayes trained from scratch (src/train_nbsums.c): per label, the
 * rows, their non-zero values, the sum of their hashes and their feature
 * sums; then the figures of the model those sums make on the same rows.
 * Both return their state, [kind, classes, features, sums...].
 */

CREATE FUNCTION hitl._nb_sums_step(state float8[], features float8[], seed bigint)
RETURNS float8[]
	AS 'MODULE_PATHNAME', 'hitl_nb_sums_step'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION hitl._nb_sums_step(float8[], float8[], bigint) IS
	'internal: adds a labeled row to a state of hitl._nb_sums (its transition function)';

CREATE AGGREGATE hitl._nb_sums(features float8[], seed bigint) (
	SFUNC = hitl._nb_sums_step,
	STYPE = float8[],
	COMBINEFUNC = hitl._agg_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE hitl._nb_sums(float8[], bigint) IS
	'internal: naive Bayes sums of a group of labeled rows (features zero or more, as many on every row; seed: where the row''s hash starts, its group''s hash or 0): [3, 1, features, rows, non-zero values, 4 limbs of the sum of the row hashes, feature sums]';

CREATE FUNCTION hitl._nb_eval_step(state float8[], class integer, features float8[],
								   model float8[])
RETURNS float8[]
	AS 'MODULE_PATHNAME', 'hitl_nb_eval_step'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION hitl._nb_eval_step(float8[], integer, float8[], float8[]) IS
	'internal: adds a labeled row''s log-loss and prediction to a state of hitl._nb_eval (its transition function)';

CREATE AGGREGATE hitl._nb_eval(class integer, features float8[], model float8[]) (
	SFUNC = hitl._nb_eval_step,
	STYPE = float8[],
	COMBINEFUNC = hitl._agg_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE hitl._nb_eval(integer, float8[], float8[]) IS
	'internal: the figures of a naive Bayes model ([classes, features, alpha, dimension, rows per class, sums per class and feature]) on labeled rows (class in [0, classes), NULL: skipped): [4, classes, 0, rows, sum of log-losses, confusion counts true class-major]';
