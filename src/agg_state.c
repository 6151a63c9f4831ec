/*
 * agg_state.c
 *		The states of hitl's training aggregates as float8[], the checks
 *		of their arguments, and the combine function they share.
 *
 * Every element of a state after its header is a sum over rows (see
 * agg_math.h), so one combine function serves every kind: it adds two
 * states of the same kind, k and d.  Called as an aggregate's combine
 * function it adds into its first state where it lies; called directly, it
 * adds into a copy.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"

#include "agg_state.h"

PG_FUNCTION_INFO_V1(hitl_agg_combine);

static void state_of_array(ArrayType *array, AggState *st);
static void refuse_state(AggKind kind);
static const char *kind_name(AggKind kind);

/* The aggregate a kind of state belongs to, for messages */
static const char *
kind_name(AggKind kind)
{
	switch (kind)
	{
		case AGG_KIND_NBAYES:
			return "hitl._nb_stats";
		case AGG_KIND_LOGREG:
			return "hitl._logreg_grad";
		case AGG_KIND_NBSUMS:
			return "hitl._nb_sums";
		case AGG_KIND_NBEVAL:
			return "hitl._nb_eval";
	}
	return "a training aggregate";
}

static void
refuse_state(AggKind kind)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("the array is not a state of %s", kind_name(kind)),
			 errdetail("A state is a one-dimensional float8[] without NULLs whose header (kind, classes, features) matches its length.")));
}

/* st from array; st->kind 0 when the array is not a state */
static void
state_of_array(ArrayType *array, AggState *st)
{
	memset(st, 0, sizeof(*st));
	st->array = array;
	if (ARR_ELEMTYPE(array) != FLOAT8OID || ARR_NDIM(array) != 1 || ARR_HASNULL(array))
		return;
	st->s = AGG_ARRAY_VALUES(array);
	st->len = ARR_DIMS(array)[0];
	if (!agg_state_valid(st->s, st->len, &st->kind, &st->k, &st->d))
		st->kind = 0;
}

void
agg_state_arg(FunctionCallInfo fcinfo, int argno, AggKind kind, AggState *st)
{
	state_of_array(PG_GETARG_ARRAYTYPE_P(argno), st);
	if (st->kind != kind)
		refuse_state(kind);
}

void
agg_transition_state(FunctionCallInfo fcinfo, AggKind kind, int k, int d, AggState *st)
{
	MemoryContext aggcxt;
	MemoryContext old;
	int64		len;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s's transition function can only be called by the aggregate",
						kind_name(kind)),
				 errhint("Call %s itself.", kind_name(kind))));
	if (!PG_ARGISNULL(0))
	{
		agg_state_arg(fcinfo, 0, kind, st);
		if (st->k != k)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s was given %d classes after %d", kind_name(kind), k, st->k),
					 errhint("Pass the same number of classes on every row.")));
		if (st->d != d)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("%s was given a row of %d features after rows of %d",
							kind_name(kind), d, st->d),
					 errhint("Give every row the same number of features.")));
		return;
	}
	len = agg_state_length(kind, k, d);
	if (len < 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s cannot hold the sums of %d classes and %d features",
						kind_name(kind), k, d),
				 errdetail("A state holds at most %d values.", AGG_MAX_LENGTH)));
	old = MemoryContextSwitchTo(aggcxt);
	{
		Datum	   *zeros = palloc0(sizeof(Datum) * len);
		int64		i;

		for (i = 0; i < len; i++)
			zeros[i] = Float8GetDatum(0.0);
		st->array = construct_array(zeros, (int) len, FLOAT8OID, sizeof(float8),
									FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
		pfree(zeros);
	}
	MemoryContextSwitchTo(old);
	st->s = AGG_ARRAY_VALUES(st->array);
	st->len = len;
	st->kind = kind;
	st->k = k;
	st->d = d;
	agg_state_init(st->s, kind, k, d);
}

int
agg_classes_arg(FunctionCallInfo fcinfo, int argno)
{
	int32		k;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the number of classes must not be NULL")));
	k = PG_GETARG_INT32(argno);
	if (k < 2 || k > AGG_MAX_CLASSES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the number of classes must be between 2 and %d, not %d",
						AGG_MAX_CLASSES, k)));
	return k;
}

int
agg_class_arg(FunctionCallInfo fcinfo, int argno, int k)
{
	int32		cls = PG_GETARG_INT32(argno);

	if (cls < 0 || cls >= k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("class %d is out of range for %d classes", cls, k),
				 errhint("Classes are numbered from 0 to the number of classes minus 1.")));
	return cls;
}

const double *
agg_values_arg(FunctionCallInfo fcinfo, int argno, const char *what, bool nonnegative, int *n)
{
	ArrayType  *a;
	const double *x;
	int			bad;
	AggRowStatus status;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the %s must not be NULL", what)));
	a = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("the %s must be a one-dimensional array", what)));
	if (ARR_HASNULL(a))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the %s must not contain NULL", what)));
	*n = (ARR_NDIM(a) == 1) ? ARR_DIMS(a)[0] : 0;
	x = AGG_ARRAY_VALUES(a);
	status = agg_check_row(x, *n, nonnegative, &bad);
	if (status == AGG_ROW_NOT_FINITE)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("element %d of the %s is NaN or infinite", bad + 1, what)));
	if (status == AGG_ROW_NEGATIVE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("element %d of the %s is negative", bad + 1, what),
				 errdetail("Naive Bayes features are counts: they must be zero or more.")));
	return x;
}

void
agg_overflow(const char *aggregate)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("the sums of %s go beyond the range of double precision", aggregate),
			 errhint("Scale the features down.")));
}

/*
 * hitl._agg_combine(a float8[], b float8[]): the sums of two states of the
 * same kind, classes and features.
 */
Datum
hitl_agg_combine(PG_FUNCTION_ARGS)
{
	AggState	a;
	AggState	b;

	if (AggCheckCallContext(fcinfo, NULL))
		state_of_array(PG_GETARG_ARRAYTYPE_P(0), &a);
	else
		state_of_array(PG_GETARG_ARRAYTYPE_P_COPY(0), &a);
	state_of_array(PG_GETARG_ARRAYTYPE_P(1), &b);
	if (a.kind == 0)
		refuse_state(b.kind != 0 ? b.kind : AGG_KIND_NBAYES);
	if (b.kind != a.kind || b.k != a.k || b.d != a.d)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the states to combine differ in kind, classes or features"),
				 errhint("Pass the same number of classes and features on every row.")));
	agg_combine(a.s, b.s, a.len);
	if (!agg_sums_finite(a.s, a.len))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the combined sums of %s are not finite", kind_name(a.kind))));
	PG_RETURN_ARRAYTYPE_P(a.array);
}
