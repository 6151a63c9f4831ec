/*
 * agg_logreg.c
 *		hitl._logreg_grad(class, features, coef, k): the loss of logistic
 *		regression and its gradient at given coefficients, as an aggregate,
 *		so that one pass of a solver over the rows can be split among
 *		parallel workers or Citus' nodes.
 *
 * The objective is logreg.h's (binary for k = 2, multinomial above); the
 * aggregate sums its data part over the rows: the log-losses and their
 * gradients at coef (logreg.h's layout), the features being standardized
 * already.  The result is [rows, loss, gradient (ncoef)]; the solver adds C
 * and the penalty (agg_logreg_finish).  coef is the same on every row: the
 * point of the solver's iteration.  A row with a NULL class is unlabeled
 * and skipped.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"

#include "agg_state.h"
#include "logreg.h"

PG_FUNCTION_INFO_V1(hitl_logreg_grad_step);
PG_FUNCTION_INFO_V1(hitl_logreg_grad_final);

static double *scores_scratch(FunctionCallInfo fcinfo, int nvec);

/* nvec doubles kept with the function's call information */
static double *
scores_scratch(FunctionCallInfo fcinfo, int nvec)
{
	double	   *z = fcinfo->flinfo->fn_extra;

	if (z == NULL || (int) z[0] < nvec)
	{
		z = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(double) * (nvec + 1));
		z[0] = nvec;
		fcinfo->flinfo->fn_extra = z;
	}
	return z + 1;
}

/*
 * hitl._logreg_grad_step(state, class, features, coef, k): add a labeled
 * row's loss and gradient at coef to the state (created on the first one)
 */
Datum
hitl_logreg_grad_step(PG_FUNCTION_ARGS)
{
	AggState	st;
	const double *x;
	const double *coef;
	int			k;
	int			d;
	int			cls;
	int			ncoef;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	k = agg_classes_arg(fcinfo, 4);
	cls = agg_class_arg(fcinfo, 1, k);
	x = agg_values_arg(fcinfo, 2, "features", false, &d);
	coef = agg_values_arg(fcinfo, 3, "coefficients", false, &ncoef);
	if ((int64) ncoef != (int64) logreg_nvec(k) * ((int64) d + 1))
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%d coefficients do not fit %d features and %d classes", ncoef, d, k),
				 errdetail("A model has features + 1 coefficients for each class, or once for 2 classes.")));
	agg_transition_state(fcinfo, AGG_KIND_LOGREG, k, d, &st);
	agg_logreg_add(st.s, cls, x, coef, scores_scratch(fcinfo, logreg_nvec(k)));
	PG_RETURN_ARRAYTYPE_P(st.array);
}

/* hitl._logreg_grad_final(state): [rows, loss, gradient] */
Datum
hitl_logreg_grad_final(PG_FUNCTION_ARGS)
{
	AggState	st;
	Datum	   *out;
	int64		n;
	int64		i;

	agg_state_arg(fcinfo, 0, AGG_KIND_LOGREG, &st);
	if (!agg_sums_finite(st.s, st.len))
		agg_overflow("hitl._logreg_grad");
	n = st.len - AGG_HEADER;
	out = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
		out[i] = Float8GetDatum(st.s[AGG_HEADER + i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, (int) n, FLOAT8OID, sizeof(float8),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
