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
 * Any finite double is a valid feature, from denormals to +-1.8e308, so the
 * arithmetic must neither overflow nor underflow where the result itself is
 * representable.  Squaring a value of 1e308 overflows and squaring 1e-310
 * underflows, so each column is fitted in units of a power of two close to
 * its largest magnitude: its values are then below 1 in magnitude, sums and
 * squares stay in range, and multiplying by a power of two is exact, so
 * columns of ordinary magnitudes get bit for bit the means and scales that
 * plain arithmetic gives.  Applying the scaler guards the one subtraction
 * that can overflow, and bounds the result (see SCALER_LIMIT).
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
 * Largest power-of-two exponent a column is rescaled by when it is fitted:
 * 2^+-1000 are normal doubles, and they bring the largest magnitude of any
 * column (2^-1074 to 2^1024) to between 2^-74 and 2^24, where n of them
 * (or of their squares) can be added without leaving the range.
 */
#define SCALER_MAX_SHIFT 1000

/*
 * The three passes of a fit share one loop over the present values (a
 * callback per value would be slower): what each one accumulates.
 */
typedef enum FitPass
{
	PASS_RANGE,					/* counts, smallest and largest values */
	PASS_SUM,					/* sums of the rescaled values */
	PASS_SQUARES				/* sums of squared deviations, rescaled */
} FitPass;

/*
 * One pass over the present values of x, in row order.  up[j] is the power
 * of two column j is rescaled by; acc[j] receives the pass's sums; mean
 * holds the rescaled means in PASS_SQUARES.
 */
static void
fit_pass(FitPass pass, int n, int d, const double *x, const bool *missing,
		 const double *up, const double *mean, double *lo, double *hi,
		 double *count, double *acc)
{
	int			i;
	int			j;

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
			switch (pass)
			{
				case PASS_RANGE:
					if (count[j] == 0.0 || row[j] < lo[j])
						lo[j] = row[j];
					if (count[j] == 0.0 || row[j] > hi[j])
						hi[j] = row[j];
					count[j] += 1.0;
					break;
				case PASS_SUM:
					acc[j] += row[j] * up[j];
					break;
				case PASS_SQUARES:
					dev = row[j] * up[j] - mean[j];
					acc[j] += dev * dev;
					break;
			}
		}
	}
}

/*
 * Fit per-column means and scales on the present values of x.
 *
 * Three passes over the rows, in row order: the first gives counts and the
 * range of each column, which sets the power of two it is rescaled by; the
 * second the sums, the third the sum of squared deviations from the mean,
 * both rescaled.  A column is constant when its range is empty: its scale
 * is 1.  It is constant to rounding error when its variance passes the test
 * scikit-learn applies (var <= n eps var + (n |mean| eps)^2, the same in
 * any unit): its deviations from the mean are rounding noise, and its scale
 * is max(1, |mean|), so that they stay within rounding error of 0 whatever
 * the column's magnitude (scikit-learn's 1 where |mean| <= 1).
 */
void
scaler_fit(int n, int d, const double *x, const bool *missing,
		   double *mean, double *scale)
{
	double	   *lo;
	double	   *hi;
	double	   *count;
	double	   *up;
	int			j;

	if (d <= 0)
		return;

	lo = hitl_alloc(sizeof(double) * d);
	hi = hitl_alloc(sizeof(double) * d);
	count = hitl_alloc(sizeof(double) * d);
	up = hitl_alloc(sizeof(double) * d);

	for (j = 0; j < d; j++)
	{
		mean[j] = 0.0;
		scale[j] = 0.0;
	}

	fit_pass(PASS_RANGE, n, d, x, missing, NULL, NULL, lo, hi, count, NULL);
	for (j = 0; j < d; j++)
	{
		double		top = fmax(fabs(lo[j]), fabs(hi[j]));
		int			shift = 0;

		if (count[j] > 0.0 && top > 0.0)
		{
			(void) frexp(top, &shift);
			shift = -shift;
			if (shift > SCALER_MAX_SHIFT)
				shift = SCALER_MAX_SHIFT;
			if (shift < -SCALER_MAX_SHIFT)
				shift = -SCALER_MAX_SHIFT;
		}
		up[j] = ldexp(1.0, shift);
	}

	/* mean[] holds the rescaled sums, then means; scale[] likewise */
	fit_pass(PASS_SUM, n, d, x, missing, up, NULL, lo, hi, count, mean);
	for (j = 0; j < d; j++)
		mean[j] = count[j] > 0.0 ? mean[j] / count[j] : 0.0;
	fit_pass(PASS_SQUARES, n, d, x, missing, up, mean, lo, hi, count, scale);

	for (j = 0; j < d; j++)
	{
		double		var;
		double		bound;
		double		down = 1.0 / up[j];

		if (count[j] == 0.0 || lo[j] == hi[j])
		{
			mean[j] *= down;
			scale[j] = 1.0;
			continue;
		}
		var = scale[j] / count[j];
		bound = count[j] * DBL_EPSILON * var +
			(count[j] * fabs(mean[j]) * DBL_EPSILON) *
			(count[j] * fabs(mean[j]) * DBL_EPSILON);
		if (var <= bound)
			scale[j] = fmax(1.0, fabs(mean[j]) * down);
		else
		{
			scale[j] = sqrt(var) * down;
			/* the spread of denormals can round to nothing: keep it positive */
			if (scale[j] == 0.0)
				scale[j] = ldexp(1.0, -1074);
		}
		mean[j] *= down;
	}

	hitl_free(lo);
	hitl_free(hi);
	hitl_free(count);
	hitl_free(up);
}

/*
 * Standardize one present value: (v - mean) / scale, within +-SCALER_LIMIT.
 * v - mean overflows only when both are beyond DBL_MAX / 2 in magnitude;
 * halving both is then exact.
 */
static inline double
standardize(double v, double mean, double scale)
{
	double		diff = v - mean;
	double		z;

	if (isinf(diff))
		z = ((0.5 * v - 0.5 * mean) / scale) * 2.0;
	else
		z = diff / scale;
	if (z > SCALER_LIMIT)
		return SCALER_LIMIT;
	if (z < -SCALER_LIMIT)
		return -SCALER_LIMIT;
	return z;
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
				row[j] = standardize(row[j], mean[j], scale[j]);
		}
	}
}
