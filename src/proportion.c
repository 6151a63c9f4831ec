/*
 * proportion.c
 *		Wilson score bounds, the two-proportion test and the confidence
 *		threshold of a precision target (see proportion.h).
 *
 * Plain C, no PostgreSQL types.
 */
#include <math.h>
#include <stdlib.h>

#include "numeric_alloc.h"
#include "proportion.h"

/* One prediction: its confidence, and whether it was right */
typedef struct Scored
{
	double		confidence;
	bool		right;
} Scored;

static int	scored_cmp_desc(const void *a, const void *b);

void
wilson_interval(long k, long n, double z, double *low, double *high)
{
	double		p;
	double		z2n;
	double		centre;
	double		half;
	double		scale;

	if (n <= 0)
	{
		*low = 0.0;
		*high = 1.0;
		return;
	}
	p = (double) k / n;
	z2n = z * z / n;
	scale = 1.0 + z2n;
	centre = p + z2n / 2.0;
	half = z * sqrt(p * (1.0 - p) / n + z2n / (4.0 * n));
	*low = fmax(0.0, (centre - half) / scale);
	*high = fmin(1.0, (centre + half) / scale);
}

double
two_proportion_p(long k1, long n1, long k2, long n2)
{
	double		pooled;
	double		se;
	double		zstat;

	if (n1 <= 0 || n2 <= 0)
		return 1.0;
	pooled = (double) (k1 + k2) / (n1 + n2);
	if (pooled <= 0.0 || pooled >= 1.0)
		return 1.0;
	se = sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2));
	zstat = ((double) k1 / n1 - (double) k2 / n2) / se;
	return erfc(fabs(zstat) / sqrt(2.0));
}

/* qsort: the most confident first */
static int
scored_cmp_desc(const void *a, const void *b)
{
	double		ca = ((const Scored *) a)->confidence;
	double		cb = ((const Scored *) b)->confidence;

	return ca > cb ? -1 : (ca < cb ? 1 : 0);
}

bool
precision_threshold(int n, const double *confidence, const bool *right,
					double target, double z, double *threshold,
					long *covered, long *right_count)
{
	Scored	   *rows;
	long		correct = 0;
	bool		found = false;
	int			i;

	if (n <= 0)
		return false;
	rows = hitl_alloc(sizeof(Scored) * n);
	for (i = 0; i < n; i++)
	{
		rows[i].confidence = confidence[i];
		rows[i].right = right[i];
	}
	qsort(rows, n, sizeof(Scored), scored_cmp_desc);
	for (i = 0; i < n; i++)
	{
		double		low;
		double		high;

		correct += rows[i].right ? 1 : 0;
		/* a threshold takes every prediction of its confidence */
		if (i + 1 < n && rows[i + 1].confidence == rows[i].confidence)
			continue;
		wilson_interval(correct, i + 1, z, &low, &high);
		if (low >= target)
		{
			/* the lowest such confidence: keep looking further down */
			found = true;
			*threshold = rows[i].confidence;
			*covered = i + 1;
			*right_count = correct;
		}
	}
	hitl_free(rows);
	return found;
}
