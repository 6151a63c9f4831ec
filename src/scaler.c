/*
 * scaler.c
 *		Feature standardization with mean imputation of missing values.
 *
 * The trainer fits a scaler on the labeled rows and stores its means and
 * scales with the model version; the scorer applies the same transform to
 * every row before computing probabilities.  The numbers are those of
 * scikit-learn's StandardScaler: population standard deviation, and a scale
 * of 1 for a constant column, so that it maps to all zeros.
 *
 * Plain C, no PostgreSQL types; see numeric_alloc.h for allocation.
 */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "numeric_alloc.h"
#include "scaler.h"

/* Rows processed between two interrupt checks */
#define SCALER_CHUNK_ROWS 8192

/*
 * Fit per-column means and scales on the present values of x.
 *
 * Two passes over the rows, in row order: the first gives counts, sums and
 * the range of each column, the second the sum of squared deviations from
 * the mean.  A column is constant when its range is empty, or when its
 * variance is within rounding error of zero by the same test scikit-learn
 * applies (var <= n eps var + (n |mean| eps)^2); its scale is then 1.
 */
void
scaler_fit(int n, int d, const double *x, const bool *missing,
		   double *mean, double *scale)
{
	double	   *lo;
	double	   *hi;
	double	   *count;
	int			i;
	int			j;

	if (d <= 0)
		return;

	lo = hitl_alloc(sizeof(double) * d);
	hi = hitl_alloc(sizeof(double) * d);
	count = hitl_alloc(sizeof(double) * d);

	for (j = 0; j < d; j++)
	{
		mean[j] = 0.0;
		scale[j] = 0.0;
	}

	for (i = 0; i < n; i++)
	{
		const double *row = x + (size_t) i * d;
		const bool *mrow = missing ? missing + (size_t) i * d : NULL;

		if (i % SCALER_CHUNK_ROWS == 0)
			hitl_check_interrupts();
		for (j = 0; j < d; j++)
		{
			if (mrow != NULL && mrow[j])
				continue;
			if (count[j] == 0.0 || row[j] < lo[j])
				lo[j] = row[j];
			if (count[j] == 0.0 || row[j] > hi[j])
				hi[j] = row[j];
			count[j] += 1.0;
			mean[j] += row[j];
		}
	}
	for (j = 0; j < d; j++)
		mean[j] = count[j] > 0.0 ? mean[j] / count[j] : 0.0;

	/* scale[] accumulates the sums of squared deviations for now */
	for (i = 0; i < n; i++)
	{
		const double *row = x + (size_t) i * d;
		const bool *mrow = missing ? missing + (size_t) i * d : NULL;

		if (i % SCALER_CHUNK_ROWS == 0)
			hitl_check_interrupts();
		for (j = 0; j < d; j++)
		{
			double		dev;

			if (mrow != NULL && mrow[j])
				continue;
			dev = row[j] - mean[j];
			scale[j] += dev * dev;
		}
	}

	for (j = 0; j < d; j++)
	{
		double		var;
		double		bound;

		if (count[j] == 0.0 || lo[j] == hi[j])
		{
			scale[j] = 1.0;
			continue;
		}
		var = scale[j] / count[j];
		bound = count[j] * DBL_EPSILON * var +
			(count[j] * fabs(mean[j]) * DBL_EPSILON) *
			(count[j] * fabs(mean[j]) * DBL_EPSILON);
		scale[j] = (var <= bound) ? 1.0 : sqrt(var);
	}

	hitl_free(lo);
	hitl_free(hi);
	hitl_free(count);
}

/*
 * Standardize x in place with a fitted scaler; missing values become 0.
 */
void
scaler_apply(int n, int d, double *x, const bool *missing,
			 const double *mean, const double *scale)
{
	int			i;
	int			j;

	for (i = 0; i < n; i++)
	{
		double	   *row = x + (size_t) i * d;
		const bool *mrow = missing ? missing + (size_t) i * d : NULL;

		if (i % SCALER_CHUNK_ROWS == 0)
			hitl_check_interrupts();
		for (j = 0; j < d; j++)
		{
			if (mrow != NULL && mrow[j])
				row[j] = 0.0;
			else
				row[j] = (row[j] - mean[j]) / scale[j];
		}
	}
}
