/*
 * simulate_pick.c
 *		The batch picking of hitl.simulate's strategies (simulate_math.h),
 *		with the review queue's math (strategy_math.h), the committee of
 *		the committee strategy, and the kappa of the stopping signal.
 *
 * Plain C, no PostgreSQL types.  The random numbers of the campaign are
 * here too, so that simulate_math.c depends on this file and not back.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "logreg.h"
#include "logreg_solve.h"
#include "metrics.h"
#include "numeric_alloc.h"
#include "simulate_math.h"
#include "strategy_math.h"

/* ---- random numbers ---- */

void
sim_rng_seed(SimRng *rng, uint64_t seed, uint64_t stream)
{
	rng->state = seed * UINT64_C(0x9E3779B97F4A7C15) ^ (stream + 1) * UINT64_C(0xD1B54A32D192ED03);
	(void) sim_rng_next(rng);
}

uint64_t
sim_rng_next(SimRng *rng)
{
	uint64_t	z = (rng->state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

int
sim_rng_below(SimRng *rng, int n)
{
	uint64_t	limit = UINT64_MAX - UINT64_MAX % (uint64_t) n;
	uint64_t	r;

	do
		r = sim_rng_next(rng);
	while (r >= limit);
	return (int) (r % (uint64_t) n);
}

/* ---- picking ---- */

typedef struct Ranked
{
	double		score;
	int			pos;
} Ranked;

/* Higher score first, then the lower position */
static int
ranked_cmp(const void *a, const void *b)
{
	const Ranked *ra = a;
	const Ranked *rb = b;

	if (ra->score != rb->score)
		return ra->score > rb->score ? -1 : 1;
	return ra->pos - rb->pos;
}

/* m of npool rows drawn without replacement: the first m of a shuffle */
static void
pick_random(int npool, int m, SimRng *rng, int *out)
{
	int		   *all = hitl_alloc(sizeof(int) * npool);
	int			i;

	for (i = 0; i < npool; i++)
		all[i] = i;
	for (i = 0; i < m; i++)
	{
		int			j = i + sim_rng_below(rng, npool - i);
		int			t = all[i];

		all[i] = all[j];
		all[j] = t;
		out[i] = all[i];
	}
	hitl_free(all);
}

/* Density scores: the margins in r times max(0, mean cosine to the pool) */
static void
density_scores(const StrategyRows *rows, Ranked *r)
{
	int			npool = rows->n;
	double	   *sum = hitl_alloc(sizeof(double) * (rows->d > 0 ? rows->d : 1));
	const SparseMatrix *c = &rows->csr;
	int			i;

	for (i = 0; i < npool; i++)
		if (rows->sparse)
			strategy_pool_add_sparse(sum, (int) (c->indptr[i + 1] - c->indptr[i]),
									 c->indices + c->indptr[i], c->values + c->indptr[i]);
		else
			strategy_pool_add(rows->d, sum, rows->dense + (size_t) i * rows->d);
	for (i = 0; i < npool; i++)
	{
		double		density = rows->sparse ?
			strategy_density_sparse((int) (c->indptr[i + 1] - c->indptr[i]),
									c->indices + c->indptr[i], c->values + c->indptr[i],
									sum, npool) :
			strategy_density(rows->d, rows->dense + (size_t) i * rows->d, sum, npool);

		r[i].score = strategy_density_score(r[i].score, density, STRATEGY_DENSITY_BETA);
	}
	hitl_free(sum);
}

/*
 * The first nc rows of r as unit vectors into out (dense rows of d values,
 * or sparse rows, whose arrays are allocated here)
 */
static void
unit_candidates(const Ranked *r, const StrategyRows *rows, int nc, StrategyRows *out)
{
	int			d = rows->d;
	int			i;

	memset(out, 0, sizeof(*out));
	out->n = nc;
	out->d = d;
	out->sparse = rows->sparse;
	if (!rows->sparse)
	{
		double	   *unit = hitl_alloc(sizeof(double) * nc * (d > 0 ? d : 1));

		for (i = 0; i < nc; i++)
		{
			memcpy(unit + (size_t) i * d, rows->dense + (size_t) r[i].pos * d,
				   sizeof(double) * d);
			(void) strategy_unit(d, unit + (size_t) i * d);
		}
		out->dense = unit;
	}
	else
	{
		const SparseMatrix *c = &rows->csr;
		int64_t    *indptr = hitl_alloc(sizeof(int64_t) * (nc + 1));
		int64_t		nnz = 0;
		int		   *indices;
		double	   *values;

		for (i = 0; i < nc; i++)
			nnz += c->indptr[r[i].pos + 1] - c->indptr[r[i].pos];
		indices = hitl_alloc(sizeof(int) * (nnz > 0 ? nnz : 1));
		values = hitl_alloc(sizeof(double) * (nnz > 0 ? nnz : 1));
		for (i = 0; i < nc; i++)
		{
			int64_t		from = c->indptr[r[i].pos];
			int			len = (int) (c->indptr[r[i].pos + 1] - from);

			memcpy(indices + indptr[i], c->indices + from, sizeof(int) * len);
			memcpy(values + indptr[i], c->values + from, sizeof(double) * len);
			(void) strategy_unit(len, values + indptr[i]);
			indptr[i + 1] = indptr[i] + len;
		}
		out->csr.n = nc;
		out->csr.d = d;
		out->csr.indptr = indptr;
		out->csr.indices = indices;
		out->csr.values = values;
	}
}

/*
 * Diverse: r ranked by margin; the first nc become unit vectors in the
 * diverse order, of which the first m are picked
 */
static void
pick_diverse(const Ranked *r, const StrategyRows *rows, int nc, int m, int *out)
{
	double	   *u = hitl_alloc(sizeof(double) * nc);
	int		   *order = hitl_alloc(sizeof(int) * nc);
	StrategyRows unit;
	int			i;

	unit_candidates(r, rows, nc, &unit);
	for (i = 0; i < nc; i++)
		u[i] = r[i].score;
	strategy_diverse_order(u, &unit, STRATEGY_DIVERSE_LAMBDA, order);
	for (i = 0; i < m; i++)
		out[i] = r[order[i]].pos;
	if (unit.sparse)
	{
		hitl_free((void *) unit.csr.indptr);
		hitl_free((void *) unit.csr.indices);
		hitl_free((void *) unit.csr.values);
	}
	else
		hitl_free((void *) unit.dense);
	hitl_free(u);
	hitl_free(order);
}

int
sim_pick(SimStrategy s, int npool, int k, const double *proba,
		 const StrategyRows *rows, const double *u, int batch, SimRng *rng, int *out)
{
	int			m = batch < npool ? batch : npool;
	Ranked	   *r;
	int			i;

	if (m <= 0)
		return 0;
	if (s == SIM_RANDOM)
	{
		pick_random(npool, m, rng, out);
		return m;
	}
	r = hitl_alloc(sizeof(Ranked) * npool);
	for (i = 0; i < npool; i++)
	{
		UncertaintyStrategy us = (s == SIM_LEAST_CONFIDENCE) ? UNCERTAINTY_LEAST_CONFIDENCE
			: (s == SIM_ENTROPY) ? UNCERTAINTY_ENTROPY : UNCERTAINTY_MARGIN;

		r[i].score = (s == SIM_COMMITTEE) ? u[i] : uncertainty_score(us, k, proba + (size_t) i * k);
		r[i].pos = i;
	}
	if (s == SIM_DENSITY)
		density_scores(rows, r);
	qsort(r, npool, sizeof(Ranked), ranked_cmp);
	if (s == SIM_DIVERSE)
		pick_diverse(r, rows, npool < SIM_DIVERSE_CANDIDATES ? npool : SIM_DIVERSE_CANDIDATES,
					 m, out);
	else
		for (i = 0; i < m; i++)
			out[i] = r[i].pos;
	hitl_free(r);
	return m;
}

bool
sim_committee_uncertainty(int nl, int d, int k, const double *xl, const int *yl,
						  int npool, const double *xp, int m, bool kl, double C,
						  int max_iter, double tol, SimRng *rng, double *u)
{
	size_t		ncoef = logreg_ncoef(d, k);
	double	   *coef = hitl_alloc(sizeof(double) * ncoef * m);
	double	   *weight = hitl_alloc(sizeof(double) * (nl > 0 ? nl : 1));
	double	   *proba = hitl_alloc(sizeof(double) * m * k);
	bool		ok = true;
	int			i,
				j;

	for (j = 0; j < m && ok; j++)
	{
		LogregProblem prob;
		LogregResult res;
		LogregStatus st;

		memset(weight, 0, sizeof(double) * nl);
		for (i = 0; i < nl; i++)
			weight[sim_rng_below(rng, nl)] += 1.0;
		memset(&prob, 0, sizeof(prob));
		prob.n = nl;
		prob.d = d;
		prob.k = k;
		prob.x = xl;
		prob.y = yl;
		prob.C = C;
		prob.max_iter = max_iter;
		prob.tol = tol;
		prob.weight = weight;
		st = logreg_solve(&prob, coef + ncoef * j, 0, &res);
		ok = (st == LOGREG_OK || st == LOGREG_NOT_CONVERGED);
		hitl_check_interrupts();
	}
	for (i = 0; i < npool && ok; i++)
	{
		for (j = 0; j < m; j++)
			logreg_predict_proba(d, k, coef + ncoef * j, xp + (size_t) i * d, proba + (size_t) j * k);
		u[i] = kl ? strategy_kl_consensus(m, k, proba) : strategy_vote_entropy(m, k, proba);
	}
	hitl_free(coef);
	hitl_free(weight);
	hitl_free(proba);
	return ok;
}

double
sim_kappa(int n, int k, const int *a, const int *b)
{
	double	   *share = hitl_alloc(sizeof(double) * 2 * k);
	double		po = 0.0;
	double		pe = 0.0;
	int			i,
				c;

	if (n < 2)
	{
		hitl_free(share);
		return NAN;
	}
	for (i = 0; i < n; i++)
	{
		po += (a[i] == b[i]);
		share[a[i]] += 1.0;
		share[k + b[i]] += 1.0;
	}
	for (c = 0; c < k; c++)
		pe += (share[c] / n) * (share[k + c] / n);
	po /= n;
	hitl_free(share);
	if (pe >= 1.0)
		return NAN;
	return (po - pe) / (1.0 - pe);
}
