/*
 * agg_nbayes.c
 *		hitl._nb_stats(class, features, k): naive Bayes' statistics as an
 *		aggregate, so that parallel workers or Citus' nodes count their
 *		part of the rows and the parts are added up.
 *
 * Per class, the number of rows and the sums of their features: what
 * naive Bayes training accumulates (nbayes_counts_add, unweighted rows).
 * The features are the row's values as the model reads them, counts or
 * other values zero or more; a row with a NULL class is unlabeled and
 * skipped.  The result is a k x (1 + d) array: for each class its rows,
 * then its d sums.  The arithmetic is agg_math.c's; the states are
 * agg_state.c's.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"

#include "agg_state.h"

PG_FUNCTION_INFO_V1(hitl_nb_stats_step);
PG_FUNCTION_INFO_V1(hitl_nb_stats_final);

/*
 * hitl._nb_stats_step(state, class, features, k): add a labeled row to
 * the state (created on the first one)
 */
Datum
hitl_nb_stats_step(PG_FUNCTION_ARGS)
{
	AggState	st;
	const double *x;
	int			k;
	int			d;
	int			cls;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	k = agg_classes_arg(fcinfo, 3);
	cls = agg_class_arg(fcinfo, 1, k);
	x = agg_values_arg(fcinfo, 2, "features", true, &d);
	agg_transition_state(fcinfo, AGG_KIND_NBAYES, k, d, &st);
	agg_nbayes_add(st.s, cls, x);
	PG_RETURN_ARRAYTYPE_P(st.array);
}

/*
 * hitl._nb_stats_final(state): the k x (1 + d) array of rows and sums per
 * class.  A sum beyond double precision's range is refused (22000), as
 * training refuses it.
 */
Datum
hitl_nb_stats_final(PG_FUNCTION_ARGS)
{
	AggState	st;
	Datum	   *out;
	int			dims[2];
	int			lbs[2] = {1, 1};
	int			cls;
	int			j;

	agg_state_arg(fcinfo, 0, AGG_KIND_NBAYES, &st);
	if (!agg_sums_finite(st.s, st.len))
		agg_overflow("hitl._nb_stats");
	dims[0] = st.k;
	dims[1] = st.d + 1;
	out = palloc(sizeof(Datum) * (size_t) dims[0] * dims[1]);
	for (cls = 0; cls < st.k; cls++)
	{
		Datum	   *row = out + (size_t) cls * dims[1];
		const double *sums = st.s + AGG_HEADER + st.k + (size_t) cls * st.d;

		row[0] = Float8GetDatum(st.s[AGG_HEADER + cls]);
		for (j = 0; j < st.d; j++)
			row[j + 1] = Float8GetDatum(sums[j]);
	}
	PG_RETURN_ARRAYTYPE_P(construct_md_array(out, NULL, 2, dims, lbs, FLOAT8OID,
											 sizeof(float8), FLOAT8PASSBYVAL,
											 TYPALIGN_DOUBLE));
}
