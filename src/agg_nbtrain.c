/*
 * agg_nbtrain.c
 *		hitl._nb_sums(features, seed) and hitl._nb_eval(class, features,
 *		model): the aggregates a naive Bayes training from scratch runs over
 *		the labeled rows (train_nbsums.c), so that parallel workers or
 *		Citus' nodes read their part of the rows and only sums come back.
 *
 * _nb_sums is grouped by label by its query: per group the rows, their
 * non-zero values, an order-free fingerprint of the rows (their hashes
 * added up) and the feature sums.  _nb_eval scores each row with the model
 * those sums make and adds up its log-loss and confusion counts: the
 * version's figures on its training rows.  Both return their state
 * (agg_math.h's layout); the arithmetic is agg_math.c's and nbayes.c's.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/primnodes.h"
#include "utils/array.h"
#include "utils/memutils.h"

#include "agg_state.h"
#include "nbayes.h"

PG_FUNCTION_INFO_V1(hitl_nb_sums_step);
PG_FUNCTION_INFO_V1(hitl_nb_eval_step);

/* The header of _nb_eval's model argument: k, d, alpha, dimension */
#define EVAL_MODEL_HEADER 4

/*
 * _nb_eval's model, built once per query (while its argument stays the
 * same, compared value for value) with scratch for a row
 */
typedef struct EvalModel
{
	bool		stable;			/* the argument is a constant or a query
								 * parameter: the same on every row */
	int64		len;			/* the argument's values, and a copy of them */
	double	   *arg;
	NBayesModel nb;
	int		   *idx;			/* d: a row's non-zero positions */
	double	   *val;			/* d: and values */
	double	   *proba;			/* k */
} EvalModel;

static EvalModel *eval_model(FunctionCallInfo fcinfo, int argno);
static bool arg_is_stable(FunctionCallInfo fcinfo, int argno);

/*
 * Is argument argno of the transition function (argno - 1 of the
 * aggregate) a constant or a parameter of the query, the same on every row
 * of one execution?  Read from the aggregate's call (AggGetAggref), so not
 * when the transition function is called another way (Citus' partial
 * aggregation): then the argument is compared on every row.
 */
static bool
arg_is_stable(FunctionCallInfo fcinfo, int argno)
{
	Aggref	   *aggref = AggGetAggref(fcinfo);
	TargetEntry *tle;

	if (aggref == NULL || list_length(aggref->args) < argno)
		return false;
	tle = list_nth_node(TargetEntry, aggref->args, argno - 1);
	return IsA(tle->expr, Const) ||
		(IsA(tle->expr, Param) && ((Param *) tle->expr)->paramkind == PARAM_EXTERN);
}

/*
 * hitl._nb_sums_step(state, features, seed): add a labeled row, its
 * features zero or more, to the state of its label's group
 */
Datum
hitl_nb_sums_step(PG_FUNCTION_ARGS)
{
	AggState	st;
	const double *x;
	int			d;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the seed must not be NULL")));
	x = agg_values_arg(fcinfo, 1, "features", true, &d);
	agg_transition_state(fcinfo, AGG_KIND_NBSUMS, 1, d, &st);
	agg_nbsums_add(st.s, x, (uint64) PG_GETARG_INT64(2));
	PG_RETURN_ARRAYTYPE_P(st.array);
}

/*
 * The model argument argno of _nb_eval as an NBayesModel: [k, d, alpha,
 * dimension, k rows, k x d sums (class-major)], as train_nbsums.c passes
 * it.  Kept in fn_extra and built again only when the argument changes.
 */
static EvalModel *
eval_model(FunctionCallInfo fcinfo, int argno)
{
	ArrayType  *a;
	const double *v;
	int64		len;
	EvalModel  *em = (EvalModel *) fcinfo->flinfo->fn_extra;
	MemoryContext old;
	NBayesCounts c;
	double		kk;
	double		dd;
	int			k;
	int			d;
	int			bad;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the model must not be NULL")));
	a = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_ELEMTYPE(a) != FLOAT8OID || ARR_NDIM(a) != 1 || ARR_HASNULL(a))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the model must be a one-dimensional float8[] without NULLs")));
	/* a constant or parameter needs no comparison on every row */
	if (em != NULL && em->stable)
		return em;
	len = ARR_DIMS(a)[0];
	v = AGG_ARRAY_VALUES(a);
	if (em != NULL && em->len == len && memcmp(em->arg, v, sizeof(double) * len) == 0)
		return em;

	kk = len >= EVAL_MODEL_HEADER ? v[0] : 0;
	dd = len >= EVAL_MODEL_HEADER ? v[1] : -1;
	if (!(kk >= 2 && kk <= AGG_MAX_CLASSES && kk == floor(kk)) ||
		!(dd >= 0 && dd <= AGG_MAX_FEATURES && dd == floor(dd)) ||
		len != EVAL_MODEL_HEADER + (int64) kk * (1 + (int64) dd))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the array is not a naive Bayes model of hitl._nb_eval"),
				 errdetail("A model is [classes, features, alpha, dimension, rows per class, sums per class and feature].")));
	k = (int) kk;
	d = (int) dd;
	/* alpha, dimension and sums finite (a NaN sum would be read as 0) */
	if (agg_check_row(v + 2, (int) (len - 2), 0, &bad) != AGG_ROW_OK)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("element %d of the naive Bayes model of hitl._nb_eval is NaN or infinite",
						bad + 3)));

	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	if (em != NULL)
	{
		nbayes_model_free(&em->nb);
		pfree(em->arg);
		pfree(em->idx);
		pfree(em->val);
		pfree(em->proba);
	}
	else
		em = palloc0(sizeof(EvalModel));
	fcinfo->flinfo->fn_extra = NULL;
	nbayes_counts_init(&c, k, d);
	memcpy(c.class_count, v + EVAL_MODEL_HEADER, sizeof(double) * k);
	memcpy(c.feature_count, v + EVAL_MODEL_HEADER + k, sizeof(double) * k * d);
	if (nbayes_model_from_counts(&em->nb, &c, v[2], v[3]) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the naive Bayes model of hitl._nb_eval is invalid"),
				 errdetail("A class has no rows, a sum is negative, or alpha is not above 0.")));
	nbayes_counts_free(&c);
	em->len = len;
	em->arg = palloc(sizeof(double) * len);
	memcpy(em->arg, v, sizeof(double) * len);
	em->idx = palloc(sizeof(int) * Max(d, 1));
	em->val = palloc(sizeof(double) * Max(d, 1));
	em->proba = palloc(sizeof(double) * k);
	MemoryContextSwitchTo(old);
	em->stable = arg_is_stable(fcinfo, argno);
	fcinfo->flinfo->fn_extra = em;
	return em;
}

/*
 * hitl._nb_eval_step(state, class, features, model): score a labeled row
 * (class in [0, k)) with the model, as nbayes_predict_row scores its
 * non-zero values, and add its log-loss and prediction to the state
 */
Datum
hitl_nb_eval_step(PG_FUNCTION_ARGS)
{
	AggState	st;
	EvalModel  *em;
	const double *x;
	double		mass = 0.0;
	int			nnz = 0;
	int			cls;
	int			d;
	int			j;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	em = eval_model(fcinfo, 3);
	cls = agg_class_arg(fcinfo, 1, em->nb.k);
	x = agg_values_arg(fcinfo, 2, "features", true, &d);
	if (d != em->nb.m)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("hitl._nb_eval was given a row of %d features for a model of %d",
						d, em->nb.m)));
	agg_transition_state(fcinfo, AGG_KIND_NBEVAL, em->nb.k, 0, &st);
	for (j = 0; j < d; j++)
		if (x[j] != 0.0)
		{
			em->idx[nnz] = j;
			em->val[nnz] = x[j];
			mass += x[j];
			nnz++;
		}
	nbayes_predict_proba(&em->nb, nnz, em->idx, em->val, mass, em->proba);
	agg_nbeval_add(st.s, cls, em->proba);
	PG_RETURN_ARRAYTYPE_P(st.array);
}
