/*
 * simulate_math.c
 *		The campaign replay of simulate_math.h: split, seed, picking, and
 *		the learning-curve loop over repeats and strategies.
 *
 * Plain C, no PostgreSQL types.  Memory comes from hitl_alloc (palloc in
 * the server, so a cancel loses nothing), and every round calls
 * hitl_check_interrupts.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calibrate.h"
#include "logreg.h"
#include "logreg_solve.h"
#include "metrics.h"
#include "nbayes.h"
#include "numeric_alloc.h"
#include "scaler.h"
#include "simulate_math.h"
#include "simulate_sparse.h"

static const char *const strategy_names[SIM_N_STRATEGIES] = {
	"random", "margin", "least_confidence", "entropy", "density", "diverse", "committee"
};

int
sim_strategy_from_name(const char *name)
{
	int			s;

	for (s = 0; s < SIM_N_STRATEGIES; s++)
		if (strcmp(name, strategy_names[s]) == 0)
			return s;
	return -1;
}

const char *
sim_strategy_name(SimStrategy s)
{
	return (s >= 0 && s < SIM_N_STRATEGIES) ? strategy_names[s] : "?";
}

/* Shuffle m ints in place (Fisher-Yates) */
static void
shuffle(SimRng *rng, int *a, int m)
{
	int			i;

	for (i = m - 1; i > 0; i--)
	{
		int			j = sim_rng_below(rng, i + 1);
		int			t = a[i];

		a[i] = a[j];
		a[j] = t;
	}
}

/* ---- split and seed ---- */

int
sim_class_test_rows(int n_c, double test_fraction)
{
	int			t = (int) floor(test_fraction * n_c + 0.5);

	if (t < 1)
		t = 1;
	if (t > n_c - 1)
		t = n_c - 1;
	return t;
}

static int *
class_counts(const SimData *data)
{
	int		   *cnt = hitl_alloc(sizeof(int) * data->k);
	int			i;

	for (i = 0; i < data->n; i++)
		cnt[data->y[i]]++;
	return cnt;
}

/* The buckets some row of the text uses */
static int64_t
text_buckets_used(const SparseMatrix *t)
{
	bool	   *seen = hitl_alloc(sizeof(bool) * (t->d > 0 ? t->d : 1));
	int64_t		used = 0;
	int64_t		e;

	for (e = 0; e < t->indptr[t->n]; e++)
		if (!seen[t->indices[e]])
		{
			seen[t->indices[e]] = true;
			used++;
		}
	hitl_free(seen);
	return used;
}

/*
 * Whether the campaign needs more memory than a simulation may take: the
 * rows' dense values and class probabilities, and the parameters of its
 * models (a committee's members each have theirs)
 */
static bool
too_large(const SimData *data, const SimParams *p)
{
	int64_t		members = 1;
	int64_t		dims;
	size_t		i;

	for (i = 0; i < (size_t) p->nstrategies; i++)
		if (p->strategies[i] == SIM_COMMITTEE)
			members = p->committee_size > 1 ? p->committee_size : 1;
	if ((int64_t) data->n * data->d > SIM_MAX_DENSE_VALUES ||
		(int64_t) data->n * data->k > SIM_MAX_COEFFICIENTS)
		return true;
	if (data->text != NULL)
	{
		dims = (int64_t) data->d + text_buckets_used(data->text) + 1;
		return (int64_t) data->k * dims * members > SIM_MAX_COEFFICIENTS;
	}
	dims = (int64_t) data->d + 1;
	if (p->algorithm == SIM_NAIVE_BAYES)
		return (int64_t) data->k * dims > SIM_MAX_COEFFICIENTS;
	return (int64_t) logreg_nvec(data->k) * dims > LOGREG_DENSE_MAX_COEF ||
		(int64_t) logreg_nvec(data->k) * dims * members > SIM_MAX_COEFFICIENTS;
}

SimError
sim_check(const SimData *data, const SimParams *p, int *pool_rows)
{
	int		   *cnt = class_counts(data);
	int			pool = 0;
	int			c;
	SimError	err = SIM_OK;

	for (c = 0; c < data->k; c++)
	{
		if (cnt[c] < 2)
			err = SIM_ERR_SMALL_CLASS;
		else
			pool += cnt[c] - sim_class_test_rows(cnt[c], p->test_fraction);
	}
	hitl_free(cnt);
	*pool_rows = pool;
	if (data->k < 2)
		return SIM_ERR_ONE_CLASS;
	if (err != SIM_OK)
		return err;
	if (p->initial_labels < data->k)
		return SIM_ERR_SEED_BELOW_CLASSES;
	if (p->initial_labels > pool)
		return SIM_ERR_SEED_BEYOND_POOL;
	if (p->budget > pool)
		return SIM_ERR_BUDGET_BEYOND_POOL;
	if (too_large(data, p))
		return SIM_ERR_TOO_LARGE;
	if (p->algorithm == SIM_NAIVE_BAYES)
	{
		size_t		i;

		for (i = 0; i < (size_t) p->nstrategies; i++)
			if (p->strategies[i] == SIM_COMMITTEE)
				return SIM_ERR_COMMITTEE_NBAYES;

		for (i = 0; i < (size_t) data->n * data->d; i++)
			if (data->x[i] < 0 && !(data->missing && data->missing[i]))
				return SIM_ERR_NEGATIVE;
	}
	return SIM_OK;
}

/*
 * The seed labels each class gets from its pool rows pc[c] (npool in all):
 * proportional to the pool, at least 1 and at most pc[c] each, initial in
 * all, the rounding settled by the largest remainders (lower class first).
 */
static void
seed_quota(int k, const int *pc, int npool, int initial, int *a)
{
	int			total = 0;
	int			c;

	for (c = 0; c < k; c++)
	{
		double		q = (double) initial * pc[c] / npool;

		a[c] = (int) floor(q);
		if (a[c] < 1)
			a[c] = 1;
		if (a[c] > pc[c])
			a[c] = pc[c];
		total += a[c];
	}
	while (total != initial)
	{
		int			best = -1;
		double		best_gap = 0;

		for (c = 0; c < k; c++)
		{
			double		gap = (double) initial * pc[c] / npool - a[c];

			if (total > initial ? (a[c] > 1 && (best < 0 || gap < best_gap))
				: (a[c] < pc[c] && (best < 0 || gap > best_gap)))
			{
				best = c;
				best_gap = gap;
			}
		}
		if (best < 0)
			break;				/* cannot happen after sim_check */
		a[best] += total > initial ? -1 : 1;
		total += total > initial ? -1 : 1;
	}
}

static int
int_cmp(const void *a, const void *b)
{
	return *(const int *) a - *(const int *) b;
}

void
sim_split(const SimData *data, const SimParams *p, int repeat, SimSplit *out)
{
	int		   *cnt = class_counts(data);
	int		   *pc = hitl_alloc(sizeof(int) * data->k);
	int		   *quota = hitl_alloc(sizeof(int) * data->k);
	int		   *rows = hitl_alloc(sizeof(int) * data->n);
	int		   *rest = hitl_alloc(sizeof(int) * data->n);
	int			nrest = 0;
	int			npool = 0;
	int			c,
				i;
	SimRng		rng;

	memset(out, 0, sizeof(*out));
	out->test = hitl_alloc(sizeof(int) * data->n);
	out->pool = hitl_alloc(sizeof(int) * data->n);
	for (c = 0; c < data->k; c++)
	{
		pc[c] = cnt[c] - sim_class_test_rows(cnt[c], p->test_fraction);
		npool += pc[c];
	}
	seed_quota(data->k, pc, npool, p->initial_labels, quota);
	sim_rng_seed(&rng, p->seed, (uint64_t) repeat * 16);
	for (c = 0; c < data->k; c++)
	{
		int			m = 0;
		int			t = cnt[c] - pc[c];

		for (i = 0; i < data->n; i++)
			if (data->y[i] == c)
				rows[m++] = i;
		shuffle(&rng, rows, m);
		memcpy(out->test + out->ntest, rows, sizeof(int) * t);
		out->ntest += t;
		memcpy(out->pool + out->nseed, rows + t, sizeof(int) * quota[c]);
		out->nseed += quota[c];
		memcpy(rest + nrest, rows + t + quota[c], sizeof(int) * (m - t - quota[c]));
		nrest += m - t - quota[c];
	}
	/* each part in the data's order */
	qsort(out->test, out->ntest, sizeof(int), int_cmp);
	qsort(out->pool, out->nseed, sizeof(int), int_cmp);
	qsort(rest, nrest, sizeof(int), int_cmp);
	memcpy(out->pool + out->nseed, rest, sizeof(int) * nrest);
	out->npool = out->nseed + nrest;
	hitl_free(cnt);
	hitl_free(pc);
	hitl_free(quota);
	hitl_free(rows);
	hitl_free(rest);
}

void
sim_split_free(SimSplit *s)
{
	hitl_free(s->test);
	hitl_free(s->pool);
	memset(s, 0, sizeof(*s));
}

int
sim_rounds(const SimParams *p)
{
	int			extra = p->budget - p->initial_labels;

	return 1 + (extra + p->batch_size - 1) / p->batch_size;
}

/* ---- the curve ---- */

/* Buffers of one repeat */
typedef struct SimWork
{
	const SimData *data;
	const SimParams *p;
	int			d;
	int			k;
	double	   *xl;				/* labeled rows, standardized */
	bool	   *ml;
	int		   *yl;
	double	   *xo;				/* rows to predict, standardized */
	bool	   *mo;
	int		   *yo;
	double	   *proba;
	double	   *coef;
	double	   *mean;
	double	   *scale;
	int		   *idx;			/* 0 .. d - 1, naive Bayes's positions */
	NBayesModel nb;
	bool		nb_built;
	bool		sparse;			/* text: the model of simulate_sparse.h */
	SimSparse	sp;
} SimWork;

static void
work_init(SimWork *w, const SimData *data, const SimParams *p)
{
	size_t		n = data->n;
	size_t		d = data->d > 0 ? data->d : 1;
	size_t		j;

	w->data = data;
	w->p = p;
	w->d = data->d;
	w->k = data->k;
	w->xl = hitl_alloc(sizeof(double) * n * d);
	w->ml = hitl_alloc(sizeof(bool) * n * d);
	w->yl = hitl_alloc(sizeof(int) * n);
	w->xo = hitl_alloc(sizeof(double) * n * d);
	w->mo = hitl_alloc(sizeof(bool) * n * d);
	w->yo = hitl_alloc(sizeof(int) * n);
	w->proba = hitl_alloc(sizeof(double) * n * data->k);
	w->coef = hitl_alloc(sizeof(double) * logreg_ncoef(data->d, data->k));
	w->mean = hitl_alloc(sizeof(double) * d);
	w->scale = hitl_alloc(sizeof(double) * d);
	w->idx = hitl_alloc(sizeof(int) * d);
	for (j = 0; j < d; j++)
		w->idx[j] = (int) j;
	w->nb_built = false;
	w->sparse = data->text != NULL;
	if (w->sparse)
		sim_sparse_init(&w->sp, data, p);
}

static void
work_free(SimWork *w)
{
	hitl_free(w->xl);
	hitl_free(w->ml);
	hitl_free(w->yl);
	hitl_free(w->xo);
	hitl_free(w->mo);
	hitl_free(w->yo);
	hitl_free(w->proba);
	hitl_free(w->coef);
	hitl_free(w->mean);
	hitl_free(w->scale);
	hitl_free(w->idx);
	if (w->nb_built)
		nbayes_model_free(&w->nb);
	if (w->sparse)
		sim_sparse_free(&w->sp);
}

/* Copy m rows of the data (row numbers rows) into x, mask and y */
static void
gather(const SimData *data, const int *rows, int m, double *x, bool *mask, int *y)
{
	size_t		d = data->d;
	int			i;

	for (i = 0; i < m; i++)
	{
		memcpy(x + i * d, data->x + (size_t) rows[i] * d, sizeof(double) * d);
		if (data->missing)
		{
			size_t		j;

			memcpy(mask + i * d, data->missing + (size_t) rows[i] * d, sizeof(bool) * d);
			for (j = 0; j < d; j++)
				if (mask[i * d + j])
					x[i * d + j] = 0;	/* naive Bayes's missing value */
		}
		else
			memset(mask + i * d, 0, sizeof(bool) * d);
		y[i] = data->y[rows[i]];
	}
}

/* Naive Bayes on m labeled rows (gathered in w->xl): their sums per class */
static bool
fit_nbayes(SimWork *w, int m)
{
	NBayesCounts c;
	int			i,
				rc;

	nbayes_counts_init(&c, w->k, w->d);
	for (i = 0; i < m; i++)
		nbayes_counts_add(&c, w->yl[i], w->d, w->idx, w->xl + (size_t) i * w->d, 1.0);
	if (w->nb_built)
		nbayes_model_free(&w->nb);
	rc = nbayes_model_from_counts(&w->nb, &c, w->p->alpha, (double) w->d);
	w->nb_built = (rc == 0);
	nbayes_counts_free(&c);
	return rc == 0;
}

/*
 * Fit on m labeled rows: logistic regression standardized, from zero
 * coefficients; naive Bayes on the raw values.
 */
static bool
fit(SimWork *w, const int *rows, int m)
{
	LogregProblem prob;
	LogregResult res;
	LogregStatus st;

	gather(w->data, rows, m, w->xl, w->ml, w->yl);
	if (w->sparse)
		return sim_sparse_fit(&w->sp, rows, m);
	if (w->p->algorithm == SIM_NAIVE_BAYES)
		return fit_nbayes(w, m);
	scaler_fit(m, w->d, w->xl, w->ml, w->mean, w->scale);
	scaler_apply(m, w->d, w->xl, w->ml, w->mean, w->scale);
	memset(&prob, 0, sizeof(prob));
	prob.n = m;
	prob.d = w->d;
	prob.k = w->k;
	prob.x = w->xl;
	prob.y = w->yl;
	prob.C = w->p->C;
	prob.max_iter = w->p->max_iter;
	prob.tol = w->p->tol;
	memset(w->coef, 0, sizeof(double) * logreg_ncoef(w->d, w->k));
	st = logreg_solve(&prob, w->coef, 0, &res);
	return st == LOGREG_OK || st == LOGREG_NOT_CONVERGED;
}

/* Class probabilities of m rows into w->proba (their standardized x in w->xo) */
static void
predict(SimWork *w, const int *rows, int m)
{
	gather(w->data, rows, m, w->xo, w->mo, w->yo);
	if (w->sparse)
	{
		sim_sparse_predict(&w->sp, rows, m, w->proba);
		return;
	}
	if (w->p->algorithm == SIM_NAIVE_BAYES)
	{
		int			i,
					j;

		for (i = 0; i < m; i++)
		{
			const double *x = w->xo + (size_t) i * w->d;
			double		mass = 0;

			for (j = 0; j < w->d; j++)
				mass += x[j];
			nbayes_predict_proba(&w->nb, w->d, w->idx, x, mass, w->proba + (size_t) i * w->k);
		}
		return;
	}
	scaler_apply(m, w->d, w->xo, w->mo, w->mean, w->scale);
	logreg_predict_proba_rows(m, w->d, w->k, w->coef, w->xo, w->proba);
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Evaluate the current model on the test rows into pt */
static void
evaluate(SimWork *w, const SimSplit *sp, SimPoint *pt)
{
	ClassMetrics cm;

	predict(w, sp->test, sp->ntest);
	class_metrics(sp->ntest, w->k, w->proba, w->yo, &cm);
	pt->accuracy = cm.accuracy;
	pt->macro_f1 = cm.macro_f1;
	pt->log_loss = cm.log_loss;
	pt->ece = calib_ece(sp->ntest, w->k, w->proba, w->yo, 1.0, NULL, NULL);
}

/*
 * The predictions of the model on the na unlabeled rows avail (their
 * probabilities in w->proba): the kappa with the previous round's
 * predictions of the same rows (pred, by row number; NaN when first),
 * which then become them
 */
static double
round_kappa(SimWork *w, const int *avail, int na, bool first, int *pred, int *prev, int *cur)
{
	int			i;

	for (i = 0; i < na; i++)
	{
		const double *pr = w->proba + (size_t) i * w->k;
		int			c,
					best = 0;

		for (c = 1; c < w->k; c++)
			if (pr[c] > pr[best])
				best = c;
		prev[i] = pred[avail[i]];
		cur[i] = best;
		pred[avail[i]] = best;
	}
	return first ? NAN : sim_kappa(na, w->k, prev, cur);
}


/*
 * The next batch (at most want rows) from the na unlabeled rows avail,
 * predicted (w->proba, w->xo), the nl labeled ones lab fitted (w->xl,
 * w->yl); positions into picked, their count returned; -1 when the
 * committee could not be fitted
 */
static int
pick_batch(SimWork *w, SimStrategy s, const int *lab, int nl, const int *avail, int na,
		   int want, SimRng *rng, int *picked)
{
	const SimParams *p = w->p;
	double	   *u = NULL;
	StrategyRows rows;
	bool		ok = true;
	int			m;

	if (s == SIM_COMMITTEE)
	{
		u = hitl_alloc(sizeof(double) * na);
		ok = w->sparse ? sim_sparse_committee(&w->sp, lab, nl, avail, na, rng, u)
			: sim_committee_uncertainty(nl, w->d, w->k, w->xl, w->yl, na, w->xo,
										p->committee_size, p->committee_kl, p->C,
										p->max_iter, p->tol, rng, u);
		if (!ok)
		{
			hitl_free(u);
			return -1;
		}
	}
	memset(&rows, 0, sizeof(rows));
	if (w->sparse && (s == SIM_DENSITY || s == SIM_DIVERSE))
		sim_sparse_rows(&w->sp, avail, na, &rows);
	else
	{
		rows.n = na;
		rows.d = w->d;
		rows.dense = w->xo;
	}
	m = sim_pick(s, na, w->k, w->proba, &rows, u, want, rng, picked);
	if (u)
		hitl_free(u);
	return m;
}

/* One learning curve: strategy si of the params, in repeat r */
static SimError
run_curve(SimWork *w, const SimSplit *sp, int si, int r, const SimSink *sink)
{
	const SimParams *p = w->p;
	SimStrategy s = p->strategies[si];
	int		   *lab = hitl_alloc(sizeof(int) * sp->npool);
	int		   *avail = hitl_alloc(sizeof(int) * sp->npool);
	int		   *picked = hitl_alloc(sizeof(int) * (p->batch_size + 1));
	bool	   *taken = hitl_alloc(sizeof(bool) * sp->npool);
	int		   *pred = hitl_alloc(sizeof(int) * w->data->n);
	int		   *prev = hitl_alloc(sizeof(int) * sp->npool);
	int		   *cur = hitl_alloc(sizeof(int) * sp->npool);
	int			nl = sp->nseed;
	int			na = sp->npool - sp->nseed;
	int			round;
	SimRng		rng;
	SimError	err = SIM_OK;

	memcpy(lab, sp->pool, sizeof(int) * nl);
	memcpy(avail, sp->pool + nl, sizeof(int) * na);
	sim_rng_seed(&rng, p->seed, (uint64_t) r * 16 + 1 + s);
	for (round = 0;; round++)
	{
		SimPoint	pt;
		double		t0 = now_seconds();
		int			m,
					i,
					j;

		hitl_check_interrupts();
		memset(&pt, 0, sizeof(pt));
		pt.strategy = si;
		pt.repeat = r;
		pt.round = round;
		pt.labels = nl;
		pt.kappa = NAN;
		if (!fit(w, lab, nl))
		{
			err = SIM_ERR_FIT;
			break;
		}
		evaluate(w, sp, &pt);
		if (na > 0)
		{
			predict(w, avail, na);
			pt.kappa = round_kappa(w, avail, na, round == 0, pred, prev, cur);
		}
		if (nl >= p->budget || na == 0)
		{
			pt.seconds = now_seconds() - t0;
			sink->point(sink->arg, &pt);
			break;
		}
		m = pick_batch(w, s, lab, nl, avail, na,
					   p->budget - nl < p->batch_size ? p->budget - nl : p->batch_size,
					   &rng, picked);
		if (m < 0)
		{
			err = SIM_ERR_FIT;
			break;
		}
		memset(taken, 0, sizeof(bool) * na);
		for (i = 0; i < m; i++)
		{
			lab[nl++] = avail[picked[i]];
			taken[picked[i]] = true;
		}
		for (i = 0, j = 0; i < na; i++)
			if (!taken[i])
				avail[j++] = avail[i];
		na = j;
		pt.seconds = now_seconds() - t0;
		sink->point(sink->arg, &pt);
	}
	hitl_free(lab);
	hitl_free(avail);
	hitl_free(picked);
	hitl_free(taken);
	hitl_free(pred);
	hitl_free(prev);
	hitl_free(cur);
	return err;
}

SimError
sim_run(const SimData *data, const SimParams *p, const SimSink *sink)
{
	SimWork		w;
	SimError	err = SIM_OK;
	int			r,
				si;

	work_init(&w, data, p);
	for (r = 0; r < p->repeats && err == SIM_OK; r++)
	{
		SimSplit	sp;
		SimPoint	full;

		sim_split(data, p, r, &sp);
		/* the full-data model: every pool row labeled */
		if (!fit(&w, sp.pool, sp.npool))
			err = SIM_ERR_FIT;
		else
		{
			evaluate(&w, &sp, &full);
			if (sink->full)
				sink->full(sink->arg, r, full.accuracy);
		}
		for (si = 0; si < p->nstrategies && err == SIM_OK; si++)
			err = run_curve(&w, &sp, si, r, sink);
		sim_split_free(&sp);
	}
	work_free(&w);
	return err;
}
