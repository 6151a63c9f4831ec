/*
 * strategy_math.c
 *		Committee disagreement, information density and the diverse order
 *		of a batch (see strategy_math.h).
 *
 * Plain C, no PostgreSQL types.
 */
#include <math.h>
#include <string.h>

#include "numeric_alloc.h"
#include "strategy_math.h"

static int	member_vote(int k, const double *p);
static double sparse_dot(const int *ia, const double *va, int na,
						 const int *ib, const double *vb, int nb);

/* The class a member votes for: its most probable, the first on ties */
static int
member_vote(int k, const double *p)
{
	int			best = 0;
	int			c;

	for (c = 1; c < k; c++)
		if (p[c] > p[best])
			best = c;
	return best;
}

double
strategy_vote_entropy(int m, int k, const double *proba)
{
	int		   *votes;
	double		h = 0.0;
	int			i;
	int			c;

	if (m < 2 || k < 2)
		return 0.0;
	votes = hitl_alloc(sizeof(int) * k);
	for (i = 0; i < m; i++)
		votes[member_vote(k, proba + (size_t) i * k)]++;
	for (c = 0; c < k; c++)
	{
		if (votes[c] > 0)
		{
			double		share = (double) votes[c] / m;

			h -= share * log(share);
		}
	}
	hitl_free(votes);
	h /= log((double) (m < k ? m : k));
	return h > 0.0 ? (h < 1.0 ? h : 1.0) : 0.0;
}

double
strategy_kl_consensus(int m, int k, const double *proba)
{
	double	   *mean;
	double		kl = 0.0;
	int			i;
	int			c;

	if (m < 2 || k < 2)
		return 0.0;
	mean = hitl_alloc(sizeof(double) * k);
	for (i = 0; i < m; i++)
		for (c = 0; c < k; c++)
			mean[c] += proba[(size_t) i * k + c] / m;
	for (i = 0; i < m; i++)
	{
		for (c = 0; c < k; c++)
		{
			double		p = proba[(size_t) i * k + c];

			/* p > 0 implies mean[c] >= p / m > 0 */
			if (p > 0.0)
				kl += p * log(p / mean[c]);
		}
	}
	hitl_free(mean);
	kl /= m;
	return kl > 0.0 ? kl : 0.0;
}

double
strategy_unit(int d, double *x)
{
	double		ss = 0.0;
	double		norm;
	int			j;

	for (j = 0; j < d; j++)
		ss += x[j] * x[j];
	norm = sqrt(ss);
	if (norm > 0.0)
		for (j = 0; j < d; j++)
			x[j] /= norm;
	return norm;
}

void
strategy_pool_add(int d, double *sum, const double *x)
{
	double		ss = 0.0;
	int			j;

	for (j = 0; j < d; j++)
		ss += x[j] * x[j];
	if (!(ss > 0.0))
		return;
	ss = sqrt(ss);
	for (j = 0; j < d; j++)
		sum[j] += x[j] / ss;
}

void
strategy_pool_add_sparse(double *sum, int nnz, const int *idx, const double *val)
{
	double		ss = 0.0;
	int			j;

	for (j = 0; j < nnz; j++)
		ss += val[j] * val[j];
	if (!(ss > 0.0))
		return;
	ss = sqrt(ss);
	for (j = 0; j < nnz; j++)
		sum[idx[j]] += val[j] / ss;
}

double
strategy_density(int d, const double *x, const double *sum, double n)
{
	double		ss = 0.0;
	double		dot = 0.0;
	int			j;

	if (!(n > 0.0))
		return 0.0;
	for (j = 0; j < d; j++)
	{
		ss += x[j] * x[j];
		dot += x[j] * sum[j];
	}
	if (!(ss > 0.0))
		return 0.0;
	return dot / (sqrt(ss) * n);
}

double
strategy_density_sparse(int nnz, const int *idx, const double *val,
						const double *sum, double n)
{
	double		ss = 0.0;
	double		dot = 0.0;
	int			j;

	if (!(n > 0.0))
		return 0.0;
	for (j = 0; j < nnz; j++)
	{
		ss += val[j] * val[j];
		dot += val[j] * sum[idx[j]];
	}
	if (!(ss > 0.0))
		return 0.0;
	return dot / (sqrt(ss) * n);
}

double
strategy_density_score(double u, double density, double beta)
{
	if (!(density > 0.0))		/* also NaN */
		return 0.0;
	if (density > 1.0)
		density = 1.0;			/* rounding */
	return u * (beta == 1.0 ? density : pow(density, beta));
}

/* Dot product of two sparse rows, positions ascending */
static double
sparse_dot(const int *ia, const double *va, int na, const int *ib, const double *vb, int nb)
{
	double		dot = 0.0;
	int			a = 0;
	int			b = 0;

	while (a < na && b < nb)
	{
		if (ia[a] < ib[b])
			a++;
		else if (ia[a] > ib[b])
			b++;
		else
			dot += va[a++] * vb[b++];
	}
	return dot;
}

double
strategy_rows_cos(const StrategyRows *rows, int a, int b)
{
	if (rows->sparse)
	{
		const SparseMatrix *m = &rows->csr;
		int64_t		sa = m->indptr[a];
		int64_t		sb = m->indptr[b];

		return sparse_dot(m->indices + sa, m->values + sa, (int) (m->indptr[a + 1] - sa),
						  m->indices + sb, m->values + sb, (int) (m->indptr[b + 1] - sb));
	}
	else
	{
		const double *xa = rows->dense + (size_t) a * rows->d;
		const double *xb = rows->dense + (size_t) b * rows->d;
		double		dot = 0.0;
		int			j;

		for (j = 0; j < rows->d; j++)
			dot += xa[j] * xb[j];
		return dot;
	}
}

/*
 * Greedy: max_sim[i] holds the largest cosine of candidate i to those
 * placed so far (0 before the first: no redundancy yet), updated
 * after each pick with one dot product per candidate left.
 */
void
strategy_diverse_order(const double *u, const StrategyRows *rows, double lambda,
					   int *order)
{
	int			n = rows->n;
	double	   *max_sim = hitl_alloc(sizeof(double) * (n > 0 ? n : 1));
	bool	   *placed = hitl_alloc(sizeof(bool) * (n > 0 ? n : 1));
	int			r;
	int			i;

	for (r = 0; r < n; r++)
	{
		int			best = -1;
		double		best_score = 0.0;

		for (i = 0; i < n; i++)
		{
			double		score;

			if (placed[i])
				continue;
			score = lambda * u[i] - (1.0 - lambda) * max_sim[i];
			if (best < 0 || score > best_score)
			{
				best = i;
				best_score = score;
			}
		}
		order[r] = best;
		placed[best] = true;
		for (i = 0; i < n; i++)
		{
			double		c;

			if (placed[i])
				continue;
			c = strategy_rows_cos(rows, best, i);
			if (r == 0 || c > max_sim[i])
				max_sim[i] = c;
		}
		if ((r & 63) == 63)
			hitl_check_interrupts();
	}
	hitl_free(max_sim);
	hitl_free(placed);
}
