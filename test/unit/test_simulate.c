/*
 * test_simulate.c
 *		Unit tests of simulate_math.c: the generator, the picking of each
 *		strategy, the split and seed, the checks, and the curve loop
 *		(determinism, sizes, margin against random on separable data).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logreg.h"
#include "logreg_solve.h"
#include "simulate_math.h"
#include "tap.h"

/* Points collected by the sink */
typedef struct Curves
{
	int			n;
	SimPoint	p[4096];
	double		full[16];
} Curves;

static void
collect(void *arg, const SimPoint *p)
{
	Curves	   *c = arg;

	if (c->n < 4096)
		c->p[c->n++] = *p;
}

static void
collect_full(void *arg, int repeat, double accuracy)
{
	((Curves *) arg)->full[repeat] = accuracy;
}

static void
test_rng(void)
{
	SimRng		a,
				b;
	int			i,
				same = 1,
				inrange = 1;
	int			hist[5] = {0};

	sim_rng_seed(&a, 7, 1);
	sim_rng_seed(&b, 7, 1);
	for (i = 0; i < 1000; i++)
		if (sim_rng_next(&a) != sim_rng_next(&b))
			same = 0;
	ok(same, "the same seed and stream give the same numbers");
	sim_rng_seed(&b, 7, 2);
	ok(sim_rng_next(&a) != sim_rng_next(&b), "another stream gives other numbers");
	for (i = 0; i < 5000; i++)
	{
		int			v = sim_rng_below(&a, 5);

		if (v < 0 || v >= 5)
			inrange = 0;
		else
			hist[v]++;
	}
	ok(inrange, "sim_rng_below(5) stays in [0, 5)");
	ok(hist[0] > 900 && hist[4] > 900, "and spreads evenly (%d, %d of 5000)", hist[0], hist[4]);
}

static void
test_pick(void)
{
	/* five rows of two classes: row 2 the most uncertain, then row 4 */
	double		proba[10] = {0.9, 0.1, 0.8, 0.2, 0.5, 0.5, 0.99, 0.01, 0.6, 0.4};
	int			out[5];
	int			m,
				i,
				distinct = 1;
	SimRng		rng;

	m = sim_pick(SIM_MARGIN, 5, 2, proba, NULL, NULL, 2, NULL, out);
	ok(m == 2 && out[0] == 2 && out[1] == 4, "margin picks the closest calls first (%d, %d)",
	   out[0], out[1]);
	m = sim_pick(SIM_ENTROPY, 5, 2, proba, NULL, NULL, 3, NULL, out);
	ok(m == 3 && out[0] == 2 && out[1] == 4 && out[2] == 1, "entropy ranks the same on two classes");
	m = sim_pick(SIM_LEAST_CONFIDENCE, 5, 2, proba, NULL, NULL, 10, NULL, out);
	ok(m == 5 && out[4] == 3, "a batch beyond the pool takes the whole pool, most confident last");
	sim_rng_seed(&rng, 1, 0);
	m = sim_pick(SIM_RANDOM, 5, 2, proba, NULL, NULL, 5, &rng, out);
	for (i = 0; i < 5; i++)
	{
		int			j;

		for (j = 0; j < i; j++)
			if (out[i] == out[j])
				distinct = 0;
	}
	ok(m == 5 && distinct, "random picks distinct rows");
	{
		double		tie[6] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5};

		m = sim_pick(SIM_MARGIN, 3, 2, tie, NULL, NULL, 2, NULL, out);
		ok(out[0] == 0 && out[1] == 1, "ties go to the lower position");
	}
	ok(sim_strategy_from_name("margin") == SIM_MARGIN &&
	   sim_strategy_from_name("hybrid") == -1, "strategy names");
}

/*
 * Two Gaussian blobs in 2-D, n rows: class 0 around (-1, 0), class 1
 * around (1, 0), with noise sd; deterministic.
 */
static void
blobs(int n, double sd, double *x, int *y)
{
	SimRng		rng;
	int			i;

	sim_rng_seed(&rng, 99, 0);
	for (i = 0; i < n; i++)
	{
		double		u1 = (sim_rng_next(&rng) >> 11) / 9007199254740992.0 + 1e-12;
		double		u2 = (sim_rng_next(&rng) >> 11) / 9007199254740992.0;
		double		g1 = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
		double		g2 = sqrt(-2 * log(u1)) * sin(2 * M_PI * u2);

		y[i] = i % 2;
		x[2 * i] = (y[i] ? 1.0 : -1.0) + sd * g1;
		x[2 * i + 1] = sd * g2;
	}
}

/* A campaign of logistic regression with C 1 (the defaults) */
static void
campaign(SimParams *p, int initial, int batch, int budget, int repeats, uint64_t seed,
		 int nstrategies, const SimStrategy *strategies)
{
	memset(p, 0, sizeof(*p));
	p->initial_labels = initial;
	p->batch_size = batch;
	p->budget = budget;
	p->repeats = repeats;
	p->test_fraction = 0.3;
	p->C = 1.0;
	p->max_iter = 100;
	p->tol = 1e-8;
	p->seed = seed;
	p->committee_size = 5;
	p->nstrategies = nstrategies;
	p->strategies = strategies;
}

static void
test_split(void)
{
	int			n = 100;
	double	   *x = xmalloc(sizeof(double) * n * 2);
	int		   *y = xmalloc(sizeof(int) * n);
	SimData		d = {n, 2, 2, x, NULL, y, NULL};
	SimParams	p;
	SimSplit	a,
				b;
	int			pool,
				i,
				c0 = 0,
				seen_ok = 1;
	int		   *seen = xmalloc(sizeof(int) * n);

	blobs(n, 0.5, x, y);
	memset(&p, 0, sizeof(p));
	p.initial_labels = 10;
	p.batch_size = 5;
	p.budget = 80;
	p.repeats = 2;
	p.test_fraction = 0.2;
	p.seed = 3;
	i = sim_check(&d, &p, &pool);
	ok(i == SIM_OK && pool == 80, "pool is 80 of 100 rows (%d)", pool);
	p.budget = 81;
	ok(sim_check(&d, &p, &pool) == SIM_ERR_BUDGET_BEYOND_POOL, "a budget beyond the pool");
	p.budget = 80;
	p.initial_labels = 1;
	ok(sim_check(&d, &p, &pool) == SIM_ERR_SEED_BELOW_CLASSES, "a seed smaller than the classes");
	p.initial_labels = 10;
	sim_split(&d, &p, 0, &a);
	sim_split(&d, &p, 0, &b);
	ok(a.ntest == 20 && a.npool == 80 && a.nseed == 10, "split sizes 20, 80, seed 10");
	ok(memcmp(a.test, b.test, sizeof(int) * 20) == 0 && memcmp(a.pool, b.pool, sizeof(int) * 80) == 0,
	   "the same repeat splits the same way");
	for (i = 0; i < 10; i++)
		c0 += y[a.pool[i]] == 0;
	ok(c0 == 5, "the seed is stratified (%d of 10 in class 0)", c0);
	for (i = 0; i < 20; i++)
		seen[a.test[i]]++;
	for (i = 0; i < 80; i++)
		seen[a.pool[i]]++;
	for (i = 0; i < n; i++)
		if (seen[i] != 1)
			seen_ok = 0;
	ok(seen_ok, "every row is in exactly one part");
	sim_split_free(&b);
	sim_split(&d, &p, 1, &b);
	ok(memcmp(a.test, b.test, sizeof(int) * 20) != 0, "another repeat splits another way");
	sim_split_free(&a);
	sim_split_free(&b);
	y[0] = 2;
	d.k = 3;
	ok(sim_check(&d, &p, &pool) == SIM_ERR_SMALL_CLASS, "a class of one row is refused");
	free(x);
	free(y);
	free(seen);
}

static double
mean_accuracy(const Curves *c, int strategy)
{
	double		s = 0;
	int			i,
				m = 0;

	for (i = 0; i < c->n; i++)
		if (c->p[i].strategy == strategy)
		{
			s += c->p[i].accuracy;
			m++;
		}
	return m ? s / m : 0;
}

static void
test_run(void)
{
	int			n = 600;
	double	   *x = xmalloc(sizeof(double) * n * 2);
	int		   *y = xmalloc(sizeof(int) * n);
	SimData		d = {n, 2, 2, x, NULL, y, NULL};
	SimStrategy st[2] = {SIM_RANDOM, SIM_MARGIN};
	SimParams	p;
	Curves	   *a = xmalloc(sizeof(Curves));
	Curves	   *b = xmalloc(sizeof(Curves));
	SimSink		sa = {collect, collect_full, a};
	SimSink		sb = {collect, collect_full, b};
	int			i,
				same = 1;

	blobs(n, 0.6, x, y);
	campaign(&p, 4, 2, 40, 3, 5, 2, st);
	ok(sim_rounds(&p) == 19, "rounds: 4 to 40 labels by 2 is 19 (%d)", sim_rounds(&p));
	i = sim_run(&d, &p, &sa);
	ok(i == SIM_OK && a->n == 3 * 2 * 19, "3 repeats x 2 strategies x 19 rounds (%d)", a->n);
	ok(a->p[0].labels == 4 && a->p[18].labels == 40 && a->p[18].round == 18, "labels 4 .. 40");
	ok(sim_run(&d, &p, &sb) == SIM_OK, "second run");
	for (i = 0; i < a->n; i++)
		if (a->p[i].accuracy != b->p[i].accuracy || a->p[i].log_loss != b->p[i].log_loss ||
			a->p[i].ece != b->p[i].ece || a->p[i].macro_f1 != b->p[i].macro_f1)
			same = 0;
	ok(same, "the same seed gives bit-identical curves");
	ok(a->full[0] > 0.8, "the full-data accuracy of separable blobs is high (%.3f)", a->full[0]);
	ok(mean_accuracy(a, 1) > mean_accuracy(a, 0),
	   "margin's AULC beats random's on separable blobs (%.4f > %.4f)",
	   mean_accuracy(a, 1), mean_accuracy(a, 0));
	p.seed = 6;
	b->n = 0;
	sim_run(&d, &p, &sb);
	same = 1;
	for (i = 0; i < a->n; i++)
		if (a->p[i].accuracy != b->p[i].accuracy)
			same = 0;
	ok(!same, "another seed gives other curves");
	free(a);
	free(b);
	free(x);
	free(y);
}

/* Naive Bayes: counts of two kinds of rows */
static void
test_nbayes(void)
{
	int			n = 300,
				i;
	double	   *x = xmalloc(sizeof(double) * n * 3);
	int		   *y = xmalloc(sizeof(int) * n);
	SimData		d = {n, 3, 2, x, NULL, y, NULL};
	SimStrategy st[1] = {SIM_MARGIN};
	SimParams	p;
	Curves	   *a = xmalloc(sizeof(Curves));
	SimSink		sa = {collect, collect_full, a};
	SimRng		rng;
	int			pool;
	SimError	err;

	sim_rng_seed(&rng, 4, 0);
	for (i = 0; i < n; i++)
	{
		y[i] = i % 2;
		x[3 * i] = sim_rng_below(&rng, y[i] ? 3 : 9);
		x[3 * i + 1] = sim_rng_below(&rng, y[i] ? 9 : 3);
		x[3 * i + 2] = sim_rng_below(&rng, 5);
	}
	campaign(&p, 4, 4, 40, 2, 1, 1, st);
	p.algorithm = SIM_NAIVE_BAYES;
	p.alpha = 1.0;
	err = sim_run(&d, &p, &sa);
	ok(err == SIM_OK && a->n == 2 * 10, "naive Bayes: 2 repeats x 10 rounds (%d)", a->n);
	ok(a->full[0] > 0.75 && a->p[a->n - 1].accuracy > 0.7,
	   "naive Bayes learns the counts (full %.3f, last %.3f)", a->full[0], a->p[a->n - 1].accuracy);
	x[5] = -1;
	err = sim_check(&d, &p, &pool);
	ok(err == SIM_ERR_NEGATIVE, "naive Bayes refuses a negative value");
	p.algorithm = SIM_LOGISTIC;
	err = sim_check(&d, &p, &pool);
	ok(err == SIM_OK, "logistic regression takes it");
	free(a);
	free(x);
	free(y);
}

/* Density: of rows as uncertain, the typical go before the outlier */
static void
test_density(void)
{
	/* equal margins; rows 0-2 close together, row 3 apart */
	double		proba[8] = {0.6, 0.4, 0.6, 0.4, 0.6, 0.4, 0.6, 0.4};
	double		x[8] = {1, 0, 0.9, 0.1, 1, 0.05, -1, 0.2};
	StrategyRows xr = {4, 2, false, x, {0, 0, NULL, NULL, NULL}};
	int			out[4];
	int			m;

	m = sim_pick(SIM_DENSITY, 4, 2, proba, &xr, NULL, 4, NULL, out);
	ok(m == 4 && out[3] == 3, "density: the outlier comes last (%d)", out[3]);
	proba[6] = 0.5;
	proba[7] = 0.5;
	m = sim_pick(SIM_MARGIN, 4, 2, proba, &xr, NULL, 1, NULL, out);
	ok(m == 1 && out[0] == 3, "margin: the outlier, most uncertain, first");
	proba[6] = 0.99;
	proba[7] = 0.01;
	proba[0] = 0.55;
	proba[1] = 0.45;
	m = sim_pick(SIM_DENSITY, 4, 2, proba, &xr, NULL, 1, NULL, out);
	ok(m == 1 && out[0] == 0, "density: the more uncertain of typical rows first");
}

/* Diverse: near-copies of the top row do not follow it */
static void
test_diverse(void)
{
	/* margin uncertainties 0.9, 0.9, 0.9, 0.8, 0.7, 0.85 */
	double		proba[12] = {0.55, 0.45, 0.55, 0.45, 0.55, 0.45, 0.6, 0.4, 0.65, 0.35,
		0.575, 0.425};
	double		x[12] = {1, 0, 1, 0, 1, 0, 0, 1, -1, 0, 2, 0};
	StrategyRows xr = {6, 2, false, x, {0, 0, NULL, NULL, NULL}};
	int			out[6];
	int			m;

	m = sim_pick(SIM_MARGIN, 6, 2, proba, &xr, NULL, 3, NULL, out);
	ok(m == 3 && out[0] == 0 && out[1] == 1 && out[2] == 2, "margin: three copies of a row");
	m = sim_pick(SIM_DIVERSE, 6, 2, proba, &xr, NULL, 3, NULL, out);
	ok(m == 3 && out[0] == 0 && out[1] == 4 && out[2] == 3,
	   "diverse: three different rows, the opposite one second (%d %d %d)", out[0], out[1], out[2]);
	m = sim_pick(SIM_DIVERSE, 6, 2, proba, &xr, NULL, 10, NULL, out);
	ok(m == 6, "diverse: at most the pool (%d)", m);
}

/* The committee: agreement far from the boundary, reproducible */
static void
test_committee(void)
{
	int			n = 60,
				i;
	double	   *x = xmalloc(sizeof(double) * n * 2);
	int		   *y = xmalloc(sizeof(int) * n);
	double		xp[6] = {-3, 0, 3, 0, 0.02, 0};
	double		u[3],
				v[3];
	SimRng		rng;
	bool		okfit;
	double		pick_u[3] = {0.1, 0.7, 0.4};
	int			out[2];

	blobs(n, 1.0, x, y);
	sim_rng_seed(&rng, 3, 1);
	okfit = sim_committee_uncertainty(n, 2, 2, x, y, 3, xp, 5, false, 1.0, 100, 1e-8, &rng, u);
	ok(okfit && u[0] == 0 && u[1] == 0, "committee: all vote alike far from the boundary");
	ok(u[2] >= 0 && u[2] <= 1, "committee: vote entropy in [0, 1] (%.3f)", u[2]);
	sim_rng_seed(&rng, 3, 1);
	sim_committee_uncertainty(n, 2, 2, x, y, 3, xp, 5, false, 1.0, 100, 1e-8, &rng, v);
	ok(u[0] == v[0] && u[1] == v[1] && u[2] == v[2], "committee: the same seed, the same votes");
	/* members that disagree: labels that are noise */
	for (i = 0; i < n; i++)
		y[i] = (i * 7 / 3) % 2;
	sim_rng_seed(&rng, 3, 1);
	okfit = sim_committee_uncertainty(n, 2, 2, x, y, 3, xp, 9, false, 1.0, 100, 1e-8, &rng, u);
	ok(okfit && (u[0] > 0 || u[1] > 0 || u[2] > 0), "committee: noise splits the votes");
	/* two labeled rows: some resamples hold one class only, and still fit */
	sim_rng_seed(&rng, 5, 1);
	okfit = sim_committee_uncertainty(2, 2, 2, x, y, 3, xp, 20, false, 1.0, 100, 1e-8, &rng, u);
	ok(okfit && u[0] >= 0 && u[0] <= 1, "committee: resamples of one class fit (%.3f)", u[0]);
	ok(sim_pick(SIM_COMMITTEE, 3, 2, xp, NULL, pick_u, 2, NULL, out) == 2 &&
	   out[0] == 1 && out[1] == 2, "committee: ranks by the vote entropy");
	free(x);
	free(y);
}

/*
 * The committee's KL the slow way: m members fitted on resamples drawn
 * from rng (n draws with replacement each), each row's mean KL divergence
 * of their probabilities to their mean
 */
static void
kl_reference(int n, const double *x, const int *y, int npool, const double *xp, int m,
			 SimRng *rng, double *u)
{
	size_t		ncoef = logreg_ncoef(2, 2);
	double	   *coef = xmalloc(sizeof(double) * ncoef * m);
	double	   *weight = xmalloc(sizeof(double) * n);
	double		proba[2 * 20];
	int			i,
				j;

	for (j = 0; j < m; j++)
	{
		LogregProblem prob = {0};
		LogregResult res;

		memset(weight, 0, sizeof(double) * n);
		for (i = 0; i < n; i++)
			weight[sim_rng_below(rng, n)] += 1.0;
		prob.n = n;
		prob.d = 2;
		prob.k = 2;
		prob.x = x;
		prob.y = y;
		prob.C = 1.0;
		prob.max_iter = 100;
		prob.tol = 1e-8;
		prob.weight = weight;
		(void) logreg_solve(&prob, coef + ncoef * j, 0, &res);
	}
	for (i = 0; i < npool; i++)
	{
		double		mean[2] = {0, 0};

		for (j = 0; j < m; j++)
		{
			logreg_predict_proba(2, 2, coef + ncoef * j, xp + 2 * i, proba + 2 * j);
			mean[0] += proba[2 * j] / m;
			mean[1] += proba[2 * j + 1] / m;
		}
		u[i] = 0;
		for (j = 0; j < 2 * m; j++)
			if (proba[j] > 0)
				u[i] += proba[j] * log(proba[j] / mean[j % 2]) / m;
	}
	free(coef);
	free(weight);
}

/*
 * The committee measured by KL: the members of the vote entropy's (the same
 * draws), their mean KL divergence to their mean, above 0 where their
 * votes split; a campaign with it runs, reproducibly, and picks otherwise
 */
static void
test_committee_kl(void)
{
	int			n = 60,
				nrun = 400,
				i,
				same = 1,
				differ = 0,
				split = 1,
				fitted;
	double	   *x = xmalloc(sizeof(double) * nrun * 2);
	int		   *y = xmalloc(sizeof(int) * nrun);
	double		xp[12] = {-3, 0, 3, 0, 0.02, 0, -0.3, 1, 0.3, -1, 0.1, 0.1};
	double		u[6],
				v[6],
				w[6];
	SimRng		ra,
				rb;
	bool		okfit;
	SimStrategy st[1] = {SIM_COMMITTEE};
	SimData		d = {nrun, 2, 2, x, NULL, y, NULL};
	SimParams	p;
	Curves	   *a = xmalloc(sizeof(Curves));
	Curves	   *b = xmalloc(sizeof(Curves));
	Curves	   *c = xmalloc(sizeof(Curves));
	SimSink		sa = {collect, collect_full, a};
	SimSink		sb = {collect, collect_full, b};
	SimSink		sc = {collect, collect_full, c};

	blobs(n, 1.0, x, y);
	sim_rng_seed(&ra, 3, 1);
	sim_rng_seed(&rb, 3, 1);
	okfit = sim_committee_uncertainty(n, 2, 2, x, y, 6, xp, 5, true, 1.0, 100, 1e-8, &ra, u);
	(void) sim_committee_uncertainty(n, 2, 2, x, y, 6, xp, 5, false, 1.0, 100, 1e-8, &rb, v);
	ok(okfit && ra.state == rb.state, "committee, KL: the resamples draw as vote entropy's do");
	sim_rng_seed(&rb, 3, 1);
	kl_reference(n, x, y, 6, xp, 5, &rb, w);
	for (i = 0; i < 6; i++)
		same = same && fabs(u[i] - w[i]) < 1e-12;
	ok(same, "committee, KL: each row's mean KL of the members to their mean (%.2e ... %.2e)",
	   u[0], u[5]);
	for (i = 0; i < 6; i++)
		split = split && u[i] >= 0 && u[i] <= log(2.0) && (v[i] == 0 || u[i] > 0);
	ok(split && v[2] > 0, "committee, KL: in [0, ln 2], above 0 where the votes split (%.3f: %.2e)",
	   v[2], u[2]);
	sim_rng_seed(&ra, 3, 1);
	sim_committee_uncertainty(n, 2, 2, x, y, 6, xp, 5, true, 1.0, 100, 1e-8, &ra, w);
	ok(memcmp(u, w, sizeof(u)) == 0, "committee, KL: the same seed, the same values");

	blobs(nrun, 0.8, x, y);
	campaign(&p, 4, 5, 44, 2, 9, 1, st);
	p.committee_kl = true;
	fitted = sim_run(&d, &p, &sa) == SIM_OK;
	ok(fitted && a->n == 2 * 9, "committee, KL: a campaign runs (%d points)", a->n);
	sim_run(&d, &p, &sb);
	p.committee_kl = false;
	sim_run(&d, &p, &sc);
	same = 1;
	for (i = 0; i < a->n; i++)
	{
		same = same && a->p[i].accuracy == b->p[i].accuracy && a->p[i].log_loss == b->p[i].log_loss;
		differ = differ || a->p[i].log_loss != c->p[i].log_loss;
	}
	ok(same, "committee, KL: the same seed gives the same curve");
	ok(differ, "committee, KL: picks other rows than vote entropy");
	ok(mean_accuracy(a, 0) > 0.8, "committee, KL: learns the blobs (%.3f)", mean_accuracy(a, 0));
	free(a);
	free(b);
	free(c);
	free(x);
	free(y);
}

static void
test_kappa(void)
{
	int			a[4] = {0, 0, 1, 1};
	int			b[4] = {0, 1, 1, 1};
	int			c[4] = {1, 1, 1, 1};

	ok(fabs(sim_kappa(4, 2, a, b) - 0.5) < 1e-12, "kappa: p_o 0.75, p_e 0.5: 0.5");
	ok(sim_kappa(4, 2, a, a) == 1.0, "kappa: the same predictions: 1");
	ok(isnan(sim_kappa(4, 2, c, c)), "kappa: one class in both: NaN");
	ok(isnan(sim_kappa(1, 2, a, b)), "kappa: one row: NaN");
}

/* Every strategy runs, reproducibly, with a kappa from round 1 */
static void
test_all_strategies(void)
{
	int			n = 400;
	double	   *x = xmalloc(sizeof(double) * n * 2);
	int		   *y = xmalloc(sizeof(int) * n);
	SimData		d = {n, 2, 2, x, NULL, y, NULL};
	SimStrategy st[7] = {SIM_RANDOM, SIM_MARGIN, SIM_LEAST_CONFIDENCE, SIM_ENTROPY,
	SIM_DENSITY, SIM_DIVERSE, SIM_COMMITTEE};
	SimParams	p;
	Curves	   *a = xmalloc(sizeof(Curves));
	Curves	   *b = xmalloc(sizeof(Curves));
	SimSink		sa = {collect, collect_full, a};
	SimSink		sb = {collect, collect_full, b};
	int			i,
				pool,
				same = 1,
				kappas = 1;

	blobs(n, 0.8, x, y);
	campaign(&p, 4, 5, 44, 2, 9, 7, st);
	ok(sim_run(&d, &p, &sa) == SIM_OK && a->n == 2 * 7 * 9,
	   "7 strategies x 2 repeats x 9 rounds (%d)", a->n);
	sim_run(&d, &p, &sb);
	for (i = 0; i < a->n; i++)
	{
		if (a->p[i].accuracy != b->p[i].accuracy ||
			memcmp(&a->p[i].kappa, &b->p[i].kappa, sizeof(double)) != 0)
			same = 0;
		if (a->p[i].round == 0 ? !isnan(a->p[i].kappa)
			: !(a->p[i].kappa >= -1 && a->p[i].kappa <= 1))
			kappas = 0;
	}
	ok(same, "every strategy: the same seed gives the same curves and kappas");
	ok(kappas, "kappa: NaN at round 0, in [-1, 1] after");
	for (i = 4; i < 7; i++)
		ok(mean_accuracy(a, i) > 0.8, "%s learns the blobs (%.3f)",
		   sim_strategy_name(st[i]), mean_accuracy(a, i));
	p.algorithm = SIM_NAIVE_BAYES;
	ok(sim_check(&d, &p, &pool) == SIM_ERR_COMMITTEE_NBAYES, "naive Bayes has no committee");
	ok(sim_strategy_from_name("committee") == SIM_COMMITTEE &&
	   sim_strategy_from_name("diverse") == SIM_DIVERSE &&
	   sim_strategy_from_name("density") == SIM_DENSITY, "the new strategies' names");
	free(a);
	free(b);
	free(x);
	free(y);
}

int
main(void)
{
	test_nbayes();
	test_rng();
	test_pick();
	test_density();
	test_diverse();
	test_committee();
	test_committee_kl();
	test_kappa();
	test_split();
	test_run();
	test_all_strategies();
	return tap_finish();
}
