/*
 * nbayes.c
 *		Multinomial naive Bayes (see nbayes.h).
 *
 * The joint log-likelihood of class c for a row x is
 *
 *		ln P(c) + sum_j x_j ln((N_cj + alpha) / (N_c + alpha D))
 *
 * N_cj being class c's sum of feature j and N_c the sum over j.  Splitting
 * ln(N_cj + alpha) into ln(alpha) + delta_cj, the ln(alpha) terms are the
 * same in every class and cancel in the softmax, delta_cj is zero wherever
 * N_cj is, and the denominator only needs the row's total mass:
 *
 *		jll_c = ln P(c) - mass * ln(N_c + alpha D) + sum_j x_j delta_cj
 *
 * so a prediction costs the row's non-zeros times the classes that have
 * each feature, never k x D.
 */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "metrics.h"
#include "nbayes.h"
#include "numeric_alloc.h"

/*
 * Sums at most this large, relative to the largest sum, are zero: what
 * subtracting rows that were added leaves of floating-point rounding.
 */
#define NBAYES_RESIDUE 1e-12

/*
 * The magnitude below which a sum of c is rounding residue.  Only finite
 * sums count: a sum that overflowed must not make every other one residue
 * (it is kept, and nbayes_model_build refuses it).
 */
static double
residue(const NBayesCounts *c)
{
	double		top = 1.0;
	int64_t		i;

	for (i = 0; i < (int64_t) c->k * c->m; i++)
		if (fabs(c->feature_count[i]) > top && isfinite(c->feature_count[i]))
			top = fabs(c->feature_count[i]);
	return NBAYES_RESIDUE * top;
}

/*
 * ln(sum of the n values v[] + extra), all >= 0, when the plain sum may
 * overflow: the terms are added in units of a power of two near the largest.
 */
static double
log_sum(int64_t n, const double *v, const int *cls, int c, double extra)
{
	double		top = extra;
	double		sum = 0.0;
	int			shift;
	int64_t		i;

	for (i = 0; i < n; i++)
		if (cls[i] == c && v[i] > top)
			top = v[i];
	if (!(top > 0.0))
		return log(0.0);
	(void) frexp(top, &shift);
	for (i = 0; i < n; i++)
		if (cls[i] == c)
			sum += ldexp(v[i], -shift);
	sum += ldexp(extra, -shift);
	return log(sum) + shift * M_LN2;
}

int
nbayes_counts_nonnegative(const NBayesCounts *c)
{
	double		tiny = residue(c);
	int64_t		i;

	for (i = 0; i < (int64_t) c->k * c->m; i++)
		if (c->feature_count[i] < -tiny)
			return 0;
	return 1;
}

void
nbayes_counts_init(NBayesCounts *c, int k, int m)
{
	c->k = k;
	c->m = m;
	c->class_count = hitl_alloc(sizeof(double) * (k > 0 ? k : 1));
	c->feature_count = hitl_alloc(sizeof(double) * (size_t) (k > 0 ? k : 1) *
								  (size_t) (m > 0 ? m : 1));
}

void
nbayes_counts_free(NBayesCounts *c)
{
	hitl_free(c->class_count);
	hitl_free(c->feature_count);
	c->class_count = c->feature_count = NULL;
}

void
nbayes_counts_add(NBayesCounts *c, int cls, int nnz, const int *idx,
				  const double *val, double weight)
{
	double	   *row = c->feature_count + (size_t) cls * c->m;
	int			i;

	c->class_count[cls] += weight;
	for (i = 0; i < nnz; i++)
		row[idx[i]] += weight * val[i];
}

int64_t
nbayes_counts_nonzeros(const NBayesCounts *c, int64_t **index, double **count)
{
	double		tiny = residue(c);
	int64_t		n = 0;
	int64_t		i;
	int			j;
	int			cls;

	for (i = 0; i < (int64_t) c->k * c->m; i++)
		if (fabs(c->feature_count[i]) > tiny)
			n++;
	*index = hitl_alloc(sizeof(int64_t) * (n > 0 ? n : 1));
	*count = hitl_alloc(sizeof(double) * (n > 0 ? n : 1));
	n = 0;
	for (j = 0; j < c->m; j++)
		for (cls = 0; cls < c->k; cls++)
		{
			double		v = c->feature_count[(size_t) cls * c->m + j];

			if (fabs(v) > tiny)
			{
				(*index)[n] = (int64_t) j * c->k + cls;
				(*count)[n] = v;
				n++;
			}
		}
	return n;
}

int
nbayes_model_build(NBayesModel *nb, int k, int m, const double *class_count,
				   int64_t nnz, const int64_t *index, const double *count,
				   double alpha, double dimension)
{
	double	   *total;
	double		rows = 0.0;
	int64_t		i;
	int			c;
	int			j;

	memset(nb, 0, sizeof(*nb));
	if (k < 1 || m < 0 || !(alpha > 0.0) || !isfinite(alpha) ||
		!(dimension >= (double) m) || nnz < 0)
		return -1;
	for (c = 0; c < k; c++)
	{
		if (!(class_count[c] > 0.0) || !isfinite(class_count[c]))
			return -1;
		rows += class_count[c];
	}
	for (i = 0; i < nnz; i++)
		if (index[i] < 0 || index[i] >= (int64_t) m * k ||
			(i > 0 && index[i] <= index[i - 1]) || !isfinite(count[i]) ||
			count[i] < 0.0)
			return -1;

	nb->k = k;
	nb->m = m;
	nb->log_prior = hitl_alloc(sizeof(double) * k);
	nb->log_denom = hitl_alloc(sizeof(double) * k);
	nb->ptr = hitl_alloc(sizeof(int64_t) * ((size_t) m + 1));
	nb->cls = hitl_alloc(sizeof(int) * (nnz > 0 ? nnz : 1));
	nb->delta = hitl_alloc(sizeof(double) * (nnz > 0 ? nnz : 1));
	total = hitl_alloc(sizeof(double) * k);

	for (i = 0; i < nnz; i++)
	{
		j = (int) (index[i] / k);
		c = (int) (index[i] % k);
		total[c] += count[i];
		nb->ptr[j + 1]++;
		nb->cls[i] = c;
		nb->delta[i] = log(count[i] + alpha) - log(alpha);
	}
	for (j = 0; j < m; j++)
		nb->ptr[j + 1] += nb->ptr[j];
	for (c = 0; c < k; c++)
	{
		nb->log_prior[c] = log(class_count[c]) - log(rows);
		nb->log_denom[c] = log(total[c] + alpha * dimension);
		/* a class's sums can add up to more than DBL_MAX */
		if (!isfinite(nb->log_denom[c]))
			nb->log_denom[c] = log_sum(nnz, count, nb->cls, c, alpha * dimension);
	}
	hitl_free(total);
	return 0;
}

/* nbayes_model_build from the non-zero sums of statistics being accumulated */
int
nbayes_model_from_counts(NBayesModel *nb, const NBayesCounts *c, double alpha,
						 double dimension)
{
	int64_t    *index;
	double	   *count;
	int64_t		n = nbayes_counts_nonzeros(c, &index, &count);
	int			ret;

	ret = nbayes_model_build(nb, c->k, c->m, c->class_count, n, index, count, alpha,
							 dimension);
	hitl_free(index);
	hitl_free(count);
	return ret;
}

void
nbayes_model_free(NBayesModel *nb)
{
	hitl_free(nb->log_prior);
	hitl_free(nb->log_denom);
	hitl_free(nb->ptr);
	hitl_free(nb->cls);
	hitl_free(nb->delta);
	memset(nb, 0, sizeof(*nb));
}

/*
 * The joint log-likelihoods of a row into u (k doubles).  With scale 1,
 * as they are; otherwise without the priors, the row's values and mass
 * multiplied by scale (a power of two).  mass < 0 means the row's mass is
 * taken as the sum of its values.
 */
static void
row_terms(const NBayesModel *nb, int nnz, const int *idx, const double *val,
		  double mass, double scale, double *u)
{
	bool		scaled = (scale != 1.0);
	int			c;
	int			i;

	if (mass < 0.0)
	{
		mass = 0.0;
		for (i = 0; i < nnz; i++)
			mass += val[i] * scale;
	}
	else
		mass *= scale;
	for (c = 0; c < nb->k; c++)
		u[c] = (scaled ? 0.0 : nb->log_prior[c]) - mass * nb->log_denom[c];
	for (i = 0; i < nnz; i++)
	{
		double		v = val[i] * scale;
		int64_t		e;

		for (e = nb->ptr[idx[i]]; e < nb->ptr[idx[i] + 1]; e++)
			u[nb->cls[e]] += v * nb->delta[e];
	}
}

/*
 * Class probabilities of a row.  The joint log-likelihoods are computed as
 * they are; when one is not finite (values so large that value times delta,
 * or their sum, overflows), they are computed again in units of 2^shift,
 * shift making the row's largest value or mass below 1, and the softmax
 * taken of their differences to the most likely class, which cannot
 * overflow upwards (a class far behind just gets probability 0).  A mass
 * that itself overflowed is then recomputed from the row's values at the
 * positions, what lies outside them being negligible beside such values.
 */
void
nbayes_predict_proba(const NBayesModel *nb, int nnz, const int *idx,
					 const double *val, double mass, double *proba)
{
	double		top;
	int			shift;
	int			best;
	int			c;
	int			i;

	row_terms(nb, nnz, idx, val, mass, 1.0, proba);
	for (c = 0; c < nb->k; c++)
		if (!isfinite(proba[c]))
			break;
	if (c == nb->k)
	{
		proba_softmax(nb->k, proba);
		return;
	}

	top = isfinite(mass) ? mass : 0.0;
	for (i = 0; i < nnz; i++)
		if (val[i] > top)
			top = val[i];
	(void) frexp(top, &shift);
	/* 2^-shift is then a power of two from 2^-1024 to 1/2, exact */
	if (shift < 1)
		shift = 1;
	row_terms(nb, nnz, idx, val, isfinite(mass) ? mass : -1.0, ldexp(1.0, -shift), proba);
	best = 0;
	for (c = 1; c < nb->k; c++)
		if (proba[c] > proba[best] ||
			(proba[c] == proba[best] && nb->log_prior[c] > nb->log_prior[best]))
			best = c;
	for (c = 0; c < nb->k; c++)
		if (c != best)
			proba[c] = (nb->log_prior[c] - nb->log_prior[best]) +
				ldexp(proba[c] - proba[best], shift);
	proba[best] = 0.0;
	proba_softmax(nb->k, proba);
}

/* Class probabilities of a CSR row, its mass the sum of its values */
void
nbayes_predict_row(const NBayesModel *nb, const SparseMatrix *X, int i, double *proba)
{
	int64_t		a = X->indptr[i];
	int64_t		e;
	double		mass = 0.0;

	for (e = a; e < X->indptr[i + 1]; e++)
		mass += X->values[e];
	nbayes_predict_proba(nb, (int) (X->indptr[i + 1] - a), X->indices + a, X->values + a,
						 mass, proba);
}
