/*
 * agg_state.h
 *		The PostgreSQL side of hitl's training aggregates: their float8[]
 *		states and the checks of their arguments.
 *
 * The aggregates (agg_nbayes.c, agg_logreg.c) keep their state in a
 * float8[] (agg_math.h's layout), not in an internal type: Citus pushes an
 * aggregate down to its workers only when its state has a type it can send
 * between nodes, and parallel query then needs no serialisation functions.
 * Called as an aggregate, a transition function adds to its state where it
 * lies, in the aggregate's memory context, as float8_accum does, so a row
 * costs no copy of the state.
 */
#ifndef HITL_AGG_STATE_H
#define HITL_AGG_STATE_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"

#include "agg_math.h"
#include "compat.h"

/* A state: its array, its elements, and what its header says */
typedef struct AggState
{
	ArrayType  *array;
	double	   *s;
	int64		len;
	AggKind		kind;
	int			k;
	int			d;
} AggState;

/*
 * The state of a transition function (argument 0), or a new one of kind
 * for k classes and d features in the aggregate's memory context when it is
 * NULL.  An existing state must be of that kind, k and d (22023, 2202E).
 * Raises an error outside an aggregate.
 */
extern void agg_transition_state(FunctionCallInfo fcinfo, AggKind kind, int k, int d,
								 AggState *st);

/* A state passed as argument argno, checked to be one of kind (22023) */
extern void agg_state_arg(FunctionCallInfo fcinfo, int argno, AggKind kind, AggState *st);

/* The number of classes k, argument argno: not NULL, in [2, AGG_MAX_CLASSES] */
extern int	agg_classes_arg(FunctionCallInfo fcinfo, int argno);

/* The class of a row, argument argno (not NULL): in [0, k) (22023) */
extern int	agg_class_arg(FunctionCallInfo fcinfo, int argno, int k);

/*
 * The values of a one-dimensional float8[] argument without NULLs, their
 * number in *n; what names it in errors.  nonnegative: refuse values below
 * zero (22023); NaN and infinities are always refused (22000).
 */
extern const double *agg_values_arg(FunctionCallInfo fcinfo, int argno, const char *what,
									bool nonnegative, int *n);

/*
 * The elements of an array without NULLs (ARR_DATA_PTR without its
 * signedness warning)
 */
#define AGG_ARRAY_VALUES(a) \
	((double *) (((char *) (a)) + ARR_OVERHEAD_NONULLS(ARR_NDIM(a))))

/* Raise the error for sums of a state beyond the range of double precision */
pg_noreturn extern void agg_overflow(const char *aggregate);

#endif
