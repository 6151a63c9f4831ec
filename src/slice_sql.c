/*
 * slice_sql.c
 *		hitl._two_proportion_p(): the one-sided p-value with which
 *		hitl.slice_metrics flags a group whose out-of-fold accuracy is
 *		lower than the rest's.
 *
 * The test is the pooled two-proportion z test of proportion.c, whose
 * normal tail needs erfc, which SQL on PostgreSQL 15 lacks.  The
 * alternative is one-sided, "the first proportion is lower": a group whose
 * accuracy is higher than the rest's is never flagged, however far apart
 * the two are.  With z the test statistic (first minus second), the
 * one-sided p-value is Phi(z), which is half the two-sided one when the
 * first proportion is lower and one minus that half otherwise (0.5 when
 * they are equal).
 */
#include "postgres.h"

#include "fmgr.h"

#include "proportion.h"

PG_FUNCTION_INFO_V1(hitl_two_proportion_p);

static void check_counts(int64 k, int64 n, const char *which);

/* k successes of n trials: 0 <= k <= n */
static void
check_counts(int64 k, int64 n, const char *which)
{
	if (k < 0 || n < 0 || k > n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s proportion: " INT64_FORMAT " of " INT64_FORMAT, which, k, n),
				 errhint("The successes of a proportion are between 0 and its trials.")));
}

/*
 * hitl._two_proportion_p(k1, n1, k2, n2): the one-sided p-value that k1 of
 * n1 is lower than k2 of n2; NULL when either has no trial.
 */
Datum
hitl_two_proportion_p(PG_FUNCTION_ARGS)
{
	int64		k1 = PG_GETARG_INT64(0);
	int64		n1 = PG_GETARG_INT64(1);
	int64		k2 = PG_GETARG_INT64(2);
	int64		n2 = PG_GETARG_INT64(3);
	double		two_sided;

	check_counts(k1, n1, "first");
	check_counts(k2, n2, "second");
	if (n1 == 0 || n2 == 0)
		PG_RETURN_NULL();
	two_sided = two_proportion_p((long) k1, (long) n1, (long) k2, (long) n2);
	/* correctly rounded divisions: equal proportions give equal doubles */
	if ((double) k1 / n1 < (double) k2 / n2)
		PG_RETURN_FLOAT8(two_sided / 2.0);
	PG_RETURN_FLOAT8(1.0 - two_sided / 2.0);
}
