/*
 * agg_math.c
 *		The arithmetic of hitl's training aggregates (see agg_math.h): check
 *		a state, add a row to it, add two states, finish a gradient.
 *
 * Adding a row is the per-row part of the existing training passes, done
 * one row at a time: for naive Bayes the sums of nbayes_counts_add, for
 * logistic regression the residuals of logreg_row_residuals (the function
 * logreg_lbfgs.c's passes use) times the row.  Only the order of the sums
 * differs from those passes, which add a chunk of rows at a time with BLAS.
 *
 * Plain C, no PostgreSQL types.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "agg_math.h"
#include "hashmix.h"
#include "logreg.h"
#include "logreg_solve.h"
#include "metrics.h"

int64_t
agg_state_length(AggKind kind, int k, int d)
{
	int64_t		len;

	if (kind == AGG_KIND_NBSUMS)
	{
		if (k != 1 || d < 0 || d > AGG_MAX_FEATURES)
			return -1;
		len = AGG_NBSUMS_SUMS + (int64_t) d;
		return (len <= AGG_MAX_LENGTH) ? len : -1;
	}
	if (k < 2 || k > AGG_MAX_CLASSES || d < 0 || d > AGG_MAX_FEATURES)
		return -1;
	if (kind == AGG_KIND_NBEVAL)
		len = (d == 0) ? AGG_NBEVAL_CONFUSION + (int64_t) k * k : -1;
	else if (kind == AGG_KIND_NBAYES)
		len = AGG_HEADER + (int64_t) k + (int64_t) k * d;
	else if (kind == AGG_KIND_LOGREG)
		len = AGG_LOGREG_GRAD + (int64_t) logreg_nvec(k) * (d + 1);
	else
		return -1;
	return (len <= AGG_MAX_LENGTH) ? len : -1;
}

void
agg_state_init(double *s, AggKind kind, int k, int d)
{
	s[0] = (double) kind;
	s[1] = (double) k;
	s[2] = (double) d;
}

/* v as an int when it is one in [lo, hi], else lo - 1 */
static int
header_int(double v, int lo, int hi)
{
	if (!(v >= lo && v <= hi) || v != floor(v))
		return lo - 1;
	return (int) v;
}

int
agg_state_valid(const double *s, int64_t len, AggKind *kind, int *k, int *d)
{
	int			kd;
	int			kk;
	int			dd;

	if (len < AGG_HEADER)
		return 0;
	kd = header_int(s[0], AGG_KIND_NBAYES, AGG_KIND_NBEVAL);
	kk = header_int(s[1], 1, AGG_MAX_CLASSES);
	dd = header_int(s[2], 0, AGG_MAX_FEATURES);
	if (kd < AGG_KIND_NBAYES || kk < 1 || dd < 0)
		return 0;
	if (agg_state_length((AggKind) kd, kk, dd) != len)
		return 0;
	*kind = (AggKind) kd;
	*k = kk;
	*d = dd;
	return 1;
}

AggRowStatus
agg_check_row(const double *x, int d, int nonnegative, int *bad)
{
	int			j;

	for (j = 0; j < d; j++)
	{
		if (!isfinite(x[j]))
		{
			*bad = j;
			return AGG_ROW_NOT_FINITE;
		}
		if (nonnegative && x[j] < 0.0)
		{
			*bad = j;
			return AGG_ROW_NEGATIVE;
		}
	}
	return AGG_ROW_OK;
}

void
agg_combine(double *s, const double *t, int64_t len)
{
	int64_t		i;

	for (i = AGG_HEADER; i < len; i++)
		s[i] += t[i];
}

int
agg_sums_finite(const double *s, int64_t len)
{
	int64_t		i;

	for (i = AGG_HEADER; i < len; i++)
		if (!isfinite(s[i]))
			return 0;
	return 1;
}

/*
 * As nbayes_counts_add with weight 1: the class's row count grows by 1 and
 * each feature's sum by the value (1 * v being v, the sums are the same).
 */
void
agg_nbayes_add(double *s, int cls, const double *x)
{
	int			k = (int) s[1];
	int			d = (int) s[2];
	double	   *row = s + AGG_HEADER + k + (size_t) cls * d;
	int			j;

	s[AGG_HEADER + cls] += 1.0;
	for (j = 0; j < d; j++)
		row[j] += x[j];
}

/*
 * The row's hash chains its seed through its values' bits, each mixed with
 * its position
 */
uint64_t
agg_nbsums_row_hash(const double *x, int d, uint64_t h)
{
	int			j;

	for (j = 0; j < d; j++)
	{
		double		v = x[j];
		uint64_t	bits = 0;

		if (v != 0.0)
			memcpy(&bits, &v, sizeof(bits));
		h = hash_mix64(h ^ bits ^ ((uint64_t) j << 53));
	}
	return hash_mix64(h + (uint64_t) d);
}

/* The rows' hashes are added up in four 16-bit limbs, so that no sum loses a bit */
void
agg_nbsums_add(double *s, const double *x, uint64_t seed)
{
	int			d = (int) s[2];
	double	   *sums = s + AGG_NBSUMS_SUMS;
	double		nnz = 0.0;
	uint64_t	h = agg_nbsums_row_hash(x, d, seed);
	int			j;

	for (j = 0; j < d; j++)
	{
		nnz += (x[j] != 0.0);
		sums[j] += x[j];
	}
	s[AGG_NBSUMS_ROWS] += 1.0;
	s[AGG_NBSUMS_NNZ] += nnz;
	for (j = 0; j < 4; j++)
		s[AGG_NBSUMS_HASH + j] += (double) ((h >> (16 * j)) & 0xffff);
}

uint64_t
agg_nbsums_hash(const double *s)
{
	uint64_t	h = 0;
	int			j;

	/* each limb's sum is a whole number below 2^53: exact as a uint64 */
	for (j = 0; j < 4; j++)
		h += (uint64_t) s[AGG_NBSUMS_HASH + j] << (16 * j);
	return h;
}

void
agg_nbeval_add(double *s, int cls, const double *proba)
{
	int			k = (int) s[1];
	int			pred = proba_argmax(k, proba, NULL);

	s[AGG_NBEVAL_ROWS] += 1.0;
	s[AGG_NBEVAL_LOSS] += metrics_row_loss(proba[cls]);
	s[AGG_NBEVAL_CONFUSION + (size_t) cls * k + pred] += 1.0;
}

/*
 * The row's scores (weights times x, then the intercept, as the dense
 * passes add them), its residuals and loss by logreg_row_residuals, then
 * the residuals times [x, 1] into the gradient's sums.
 */
void
agg_logreg_add(double *s, int cls, const double *x, const double *coef, double *z)
{
	int			k = (int) s[1];
	int			d = (int) s[2];
	int			nvec = logreg_nvec(k);
	int			dim = d + 1;
	double	   *g = s + AGG_LOGREG_GRAD;
	int			a;
	int			j;

	for (a = 0; a < nvec; a++)
	{
		const double *w = coef + (size_t) a * dim;
		double		sum = 0.0;

		for (j = 0; j < d; j++)
			sum += w[j] * x[j];
		z[a] = sum + w[d];
	}
	s[AGG_LOGREG_LOSS] += logreg_row_residuals(nvec, z, cls);
	s[AGG_LOGREG_ROWS] += 1.0;
	for (a = 0; a < nvec; a++)
	{
		double	   *ga = g + (size_t) a * dim;
		double		r = z[a];

		for (j = 0; j < d; j++)
			ga[j] += x[j] * r;
		ga[d] += r;
	}
}

/*
 * As logreg_lbfgs.c's finish_pass: C times the loss part plus the weights
 * for the weights' gradient, C times it for the intercepts', which are
 * centred when k > 2.
 */
double
agg_logreg_finish(const double *s, const double *coef, double C, double *grad)
{
	int			k = (int) s[1];
	int			d = (int) s[2];
	int			nvec = logreg_nvec(k);
	int			dim = d + 1;
	const double *g = s + AGG_LOGREG_GRAD;
	double		penalty = 0.0;
	double		mean = 0.0;
	int			a;
	int			j;

	for (a = 0; a < nvec; a++)
	{
		for (j = 0; j < d; j++)
		{
			double		w = coef[a * dim + j];

			penalty += w * w;
			grad[a * dim + j] = C * g[a * dim + j] + w;
		}
		grad[a * dim + d] = C * g[a * dim + d];
	}
	if (nvec > 1)
	{
		for (a = 0; a < nvec; a++)
			mean += grad[a * dim + d];
		mean /= nvec;
		for (a = 0; a < nvec; a++)
			grad[a * dim + d] -= mean;
	}
	return 0.5 * penalty + C * s[AGG_LOGREG_LOSS];
}
