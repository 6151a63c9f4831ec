/*
 * simulate_sparse.c
 *		The text model of a simulation (simulate_sparse.h): vocabulary,
 *		sparse rows, fit, prediction and the committee.
 *
 * Plain C, no PostgreSQL types; memory from hitl_alloc.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "logreg.h"
#include "metrics.h"
#include "numeric_alloc.h"
#include "scaler.h"
#include "simulate_sparse.h"
#include "sparse_logreg.h"

void
sim_sparse_init(SimSparse *s, const SimData *data, const SimParams *p)
{
	size_t		n = data->n;
	size_t		d = data->d > 0 ? data->d : 1;
	int			b;

	memset(s, 0, sizeof(*s));
	s->data = data;
	s->p = p;
	s->d = data->d;
	s->k = data->k;
	s->buckets = data->text->d;
	s->pos = hitl_alloc(sizeof(int) * (s->buckets > 0 ? s->buckets : 1));
	for (b = 0; b < s->buckets; b++)
		s->pos[b] = -1;
	s->vocab = hitl_alloc(sizeof(int) * (s->buckets > 0 ? s->buckets : 1));
	s->mean = hitl_alloc(sizeof(double) * d);
	s->scale = hitl_alloc(sizeof(double) * d);
	s->indptr = hitl_alloc(sizeof(int64_t) * (n + 1));
	s->mass = hitl_alloc(sizeof(double) * (n > 0 ? n : 1));
	s->y = hitl_alloc(sizeof(int) * (n > 0 ? n : 1));
	s->x = hitl_alloc(sizeof(double) * n * d);
	s->missing = hitl_alloc(sizeof(bool) * n * d);
	s->capacity = (int64_t) n * data->d + data->text->indptr[n];
	if (s->capacity < 1)
		s->capacity = 1;
	s->indices = hitl_alloc(sizeof(int) * s->capacity);
	s->values = hitl_alloc(sizeof(double) * s->capacity);
}

void
sim_sparse_free(SimSparse *s)
{
	hitl_free(s->pos);
	hitl_free(s->vocab);
	hitl_free(s->mean);
	hitl_free(s->scale);
	hitl_free(s->indptr);
	hitl_free(s->mass);
	hitl_free(s->y);
	hitl_free(s->x);
	hitl_free(s->missing);
	hitl_free(s->indices);
	hitl_free(s->values);
	if (s->coef)
		hitl_free(s->coef);
	if (s->nb_built)
		nbayes_model_free(&s->nb);
	memset(s, 0, sizeof(*s));
}

static int
int_cmp(const void *a, const void *b)
{
	int			x = *(const int *) a;
	int			y = *(const int *) b;

	return (x > y) - (x < y);
}

/* The vocabulary: the buckets of the m rows, ascending */
static void
build_vocab(SimSparse *s, const int *rows, int m)
{
	const SparseMatrix *t = s->data->text;
	int			i,
				v;

	for (v = 0; v < s->nvocab; v++)
		s->pos[s->vocab[v]] = -1;
	s->nvocab = 0;
	for (i = 0; i < m; i++)
	{
		int64_t		e;

		for (e = t->indptr[rows[i]]; e < t->indptr[rows[i] + 1]; e++)
			if (s->pos[t->indices[e]] < 0)
			{
				s->pos[t->indices[e]] = 0;
				s->vocab[s->nvocab++] = t->indices[e];
			}
	}
	qsort(s->vocab, s->nvocab, sizeof(int), int_cmp);
	for (v = 0; v < s->nvocab; v++)
		s->pos[s->vocab[v]] = v;
}

/* The dense values of m rows into s->x and s->missing (missing: 0) */
static void
gather_dense(SimSparse *s, const int *rows, int m)
{
	const SimData *data = s->data;
	size_t		d = s->d;
	int			i;
	size_t		j;

	for (i = 0; i < m; i++)
	{
		memcpy(s->x + i * d, data->x + (size_t) rows[i] * d, sizeof(double) * d);
		if (data->missing)
			memcpy(s->missing + i * d, data->missing + (size_t) rows[i] * d, sizeof(bool) * d);
		else
			memset(s->missing + i * d, 0, sizeof(bool) * d);
		for (j = 0; j < d; j++)
			if (s->missing[i * d + j])
				s->x[i * d + j] = 0;
	}
}

/*
 * m rows as sparse vectors into s->indptr/indices/values (and their mass
 * and class): the dense values (standardized for logistic regression),
 * then the text buckets, at their vocabulary positions (by_position) or
 * as columns d + bucket.
 */
static void
make_rows(SimSparse *s, const int *rows, int m, bool by_position)
{
	const SparseMatrix *t = s->data->text;
	bool		logistic = s->p->algorithm == SIM_LOGISTIC;
	int64_t		nnz = 0;
	int			i,
				j;

	gather_dense(s, rows, m);
	if (logistic && s->d > 0)
		scaler_apply(m, s->d, s->x, s->missing, s->mean, s->scale);
	s->indptr[0] = 0;
	for (i = 0; i < m; i++)
	{
		const double *x = s->x + (size_t) i * s->d;
		double		mass = 0;
		int64_t		e;

		if ((i & 1023) == 0)
			hitl_check_interrupts();
		for (j = 0; j < s->d; j++)
		{
			if (!logistic)
				mass += x[j];
			if (logistic || x[j] != 0)
			{
				s->indices[nnz] = j;
				s->values[nnz++] = x[j];
			}
		}
		for (e = t->indptr[rows[i]]; e < t->indptr[rows[i] + 1]; e++)
		{
			int			b = t->indices[e];

			mass += t->values[e];
			if (!by_position)
			{
				s->indices[nnz] = s->d + b;
				s->values[nnz++] = t->values[e];
			}
			else if (s->pos[b] >= 0)
			{
				s->indices[nnz] = s->d + s->pos[b];
				s->values[nnz++] = t->values[e];
			}
		}
		s->indptr[i + 1] = nnz;
		s->mass[i] = mass;
		s->y[i] = s->data->y[rows[i]];
	}
}

/* The matrix of the rows make_rows made, over dims columns */
static SparseMatrix
made_matrix(const SimSparse *s, int m, int dims)
{
	SparseMatrix x;

	x.n = m;
	x.d = dims;
	x.indptr = s->indptr;
	x.indices = s->indices;
	x.values = s->values;
	return x;
}

/* Fit logistic regression on the rows make_rows made (weights or NULL) into coef */
static bool
fit_logistic(const SimSparse *s, int m, const double *weight, double *coef)
{
	SparseLogregProblem prob;
	LogregResult res;
	LogregStatus st;
	int			dims = s->d + s->nvocab;

	memset(&prob, 0, sizeof(prob));
	prob.x = made_matrix(s, m, dims);
	prob.k = s->k;
	prob.y = s->y;
	prob.C = s->p->C;
	prob.max_iter = s->p->max_iter;
	prob.tol = s->p->tol;
	prob.weight = weight;
	memset(coef, 0, sizeof(double) * logreg_ncoef(dims, s->k));
	st = sparse_logreg_fit(&prob, coef, 0, &res);
	return st == LOGREG_OK || st == LOGREG_NOT_CONVERGED;
}

bool
sim_sparse_fit(SimSparse *s, const int *rows, int m)
{
	int			dims;
	int			i;

	build_vocab(s, rows, m);
	dims = s->d + s->nvocab;
	if (s->p->algorithm == SIM_LOGISTIC && s->d > 0)
	{
		gather_dense(s, rows, m);
		scaler_fit(m, s->d, s->x, s->missing, s->mean, s->scale);
	}
	make_rows(s, rows, m, true);
	if (s->p->algorithm == SIM_LOGISTIC)
	{
		if (s->coef)
			hitl_free(s->coef);
		s->coef = hitl_alloc(sizeof(double) * logreg_ncoef(dims, s->k));
		return fit_logistic(s, m, NULL, s->coef);
	}
	else
	{
		NBayesCounts c;
		int			rc;

		nbayes_counts_init(&c, s->k, dims > 0 ? dims : 1);
		for (i = 0; i < m; i++)
			nbayes_counts_add(&c, s->y[i], (int) (s->indptr[i + 1] - s->indptr[i]),
							  s->indices + s->indptr[i], s->values + s->indptr[i], 1.0);
		if (s->nb_built)
			nbayes_model_free(&s->nb);
		rc = nbayes_model_from_counts(&s->nb, &c, s->p->alpha,
									  (double) s->d + (double) s->buckets);
		s->nb_built = (rc == 0);
		nbayes_counts_free(&c);
		return rc == 0;
	}
}

void
sim_sparse_predict(SimSparse *s, const int *rows, int m, double *proba)
{
	int			dims = s->d + s->nvocab;
	int			i;

	make_rows(s, rows, m, true);
	for (i = 0; i < m; i++)
	{
		int			nnz = (int) (s->indptr[i + 1] - s->indptr[i]);
		const int  *idx = s->indices + s->indptr[i];
		const double *val = s->values + s->indptr[i];

		if (s->p->algorithm == SIM_LOGISTIC)
			sparse_logreg_predict_proba(dims, s->k, s->coef, nnz, idx, val,
										proba + (size_t) i * s->k);
		else
			nbayes_predict_proba(&s->nb, nnz, idx, val, s->mass[i], proba + (size_t) i * s->k);
	}
}

void
sim_sparse_rows(SimSparse *s, const int *rows, int m, StrategyRows *out)
{
	make_rows(s, rows, m, false);
	memset(out, 0, sizeof(*out));
	out->n = m;
	out->d = s->d + s->buckets;
	out->sparse = true;
	out->csr = made_matrix(s, m, out->d);
}

bool
sim_sparse_committee(SimSparse *s, const int *lab, int nl, const int *avail, int na,
					 SimRng *rng, double *u)
{
	int			members = s->p->committee_size;
	int			dims = s->d + s->nvocab;
	size_t		ncoef = logreg_ncoef(dims, s->k);
	double	   *coef = hitl_alloc(sizeof(double) * ncoef * members);
	double	   *weight = hitl_alloc(sizeof(double) * (nl > 0 ? nl : 1));
	double	   *proba = hitl_alloc(sizeof(double) * members * s->k);
	bool		ok = true;
	int			i,
				j;

	/* the labeled rows over the last fit's vocabulary and standardization */
	make_rows(s, lab, nl, true);
	for (j = 0; j < members && ok; j++)
	{
		memset(weight, 0, sizeof(double) * nl);
		for (i = 0; i < nl; i++)
			weight[sim_rng_below(rng, nl)] += 1.0;
		ok = fit_logistic(s, nl, weight, coef + ncoef * j);
		hitl_check_interrupts();
	}
	if (ok)
		make_rows(s, avail, na, true);
	for (i = 0; i < na && ok; i++)
	{
		int			nnz = (int) (s->indptr[i + 1] - s->indptr[i]);

		for (j = 0; j < members; j++)
			sparse_logreg_predict_proba(dims, s->k, coef + ncoef * j, nnz,
										s->indices + s->indptr[i], s->values + s->indptr[i],
										proba + (size_t) j * s->k);
		u[i] = s->p->committee_kl ? strategy_kl_consensus(members, s->k, proba)
			: strategy_vote_entropy(members, s->k, proba);
	}
	hitl_free(coef);
	hitl_free(weight);
	hitl_free(proba);
	return ok;
}
