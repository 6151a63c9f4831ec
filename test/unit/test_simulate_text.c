/*
 * test_simulate_text.c
 *		Unit tests of simulate_sparse.c, the simulation's model on text:
 *		the vocabulary of the labeled rows, fit and prediction against the
 *		sparse solver called directly, buckets outside the vocabulary,
 *		naive Bayes, the similarity strategies on sparse rows, and whole
 *		campaigns on text (every strategy, determinism).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logreg.h"
#include "simulate_math.h"
#include "simulate_sparse.h"
#include "sparse_logreg.h"
#include "tap.h"

#define BUCKETS 64

/* Text rows: n rows, each the bucket of its class (2 + 5 y), one of 4
 * topic buckets shared by the classes (40 + i % 4) and, every third row,
 * a bucket of its own (8 + i % 30), unit weights normalised */
typedef struct TextData
{
	int64_t		indptr[401];
	int			indices[1200];
	double		values[1200];
	int			y[400];
	SparseMatrix m;
	SimData		d;
} TextData;

static void
make_text(TextData *t, int n, int k)
{
	int64_t		e = 0;
	int			i;

	t->indptr[0] = 0;
	for (i = 0; i < n; i++)
	{
		int			b[3],
					nb = 0,
					j,
					l;

		t->y[i] = i % k;
		b[nb++] = 2 + 5 * t->y[i];
		if (i % 3 == 0)
			b[nb++] = 8 + (i * 7) % 30;
		b[nb++] = 40 + i % 4;
		/* ascending, no duplicate */
		for (j = 0; j < nb; j++)
			for (l = j + 1; l < nb; l++)
				if (b[l] < b[j])
				{
					int			tmp = b[j];

					b[j] = b[l];
					b[l] = tmp;
				}
		for (j = 0; j < nb; j++)
		{
			if (j > 0 && b[j] == b[j - 1])
				continue;
			t->indices[e] = b[j];
			t->values[e] = 1.0;
			e++;
		}
		for (j = (int) t->indptr[i]; j < e; j++)
			t->values[j] = 1.0 / sqrt((double) (e - t->indptr[i]));
		t->indptr[i + 1] = e;
	}
	t->m.n = n;
	t->m.d = BUCKETS;
	t->m.indptr = t->indptr;
	t->m.indices = t->indices;
	t->m.values = t->values;
	memset(&t->d, 0, sizeof(t->d));
	t->d.n = n;
	t->d.d = 0;
	t->d.k = k;
	t->d.x = NULL;
	t->d.missing = NULL;
	t->d.y = t->y;
	t->d.text = &t->m;
}

static void
params(SimParams *p, SimAlgorithm alg, const SimStrategy *st, int nst)
{
	memset(p, 0, sizeof(*p));
	p->algorithm = alg;
	p->alpha = 1.0;
	p->C = 1.0;
	p->max_iter = 1000;
	p->tol = 1e-6;
	p->initial_labels = 6;
	p->batch_size = 4;
	p->budget = 30;
	p->repeats = 2;
	p->test_fraction = 0.25;
	p->seed = 5;
	p->committee_size = 3;
	p->nstrategies = nst;
	p->strategies = st;
}

/* Fit and predict against sparse_logreg_fit on the vocabulary by hand */
static void
test_fit(void)
{
	TextData   *t = calloc(1, sizeof(TextData));
	SimParams	p;
	SimSparse	s;
	int			rows[12],
				i,
				c;
	double		proba[3 * 12],
				mine[3];
	double		maxdiff = 0;
	int64_t		ip[13];
	int			idx[40];
	double		val[40];
	int			yl[12];
	int			vocab[BUCKETS],
				nv = 0,
				pos[BUCKETS];
	double	   *coef;
	SparseLogregProblem prob;

	make_text(t, 120, 3);
	params(&p, SIM_LOGISTIC, NULL, 0);
	sim_sparse_init(&s, &t->d, &p);
	for (i = 0; i < 12; i++)
		rows[i] = i * 5;		/* every class, some of their own buckets */
	ok(sim_sparse_fit(&s, rows, 12), "logistic: fits 12 labeled text rows");
	/* the vocabulary by hand: the buckets of the labeled rows, ascending */
	for (i = 0; i < BUCKETS; i++)
		pos[i] = -1;
	for (i = 0; i < 12; i++)
	{
		int64_t		e;

		for (e = t->indptr[rows[i]]; e < t->indptr[rows[i] + 1]; e++)
			pos[t->indices[e]] = 0;
	}
	for (i = 0; i < BUCKETS; i++)
		if (pos[i] == 0)
		{
			pos[i] = nv;
			vocab[nv++] = i;
		}
	ok(s.nvocab == nv && memcmp(s.vocab, vocab, sizeof(int) * nv) == 0,
	   "the vocabulary is the labeled rows' buckets, ascending (%d)", nv);
	ip[0] = 0;
	for (i = 0; i < 12; i++)
	{
		int64_t		e;

		ip[i + 1] = ip[i];
		for (e = t->indptr[rows[i]]; e < t->indptr[rows[i] + 1]; e++)
		{
			idx[ip[i + 1]] = pos[t->indices[e]];
			val[ip[i + 1]] = t->values[e];
			ip[i + 1]++;
		}
		yl[i] = t->y[rows[i]];
	}
	memset(&prob, 0, sizeof(prob));
	prob.x.n = 12;
	prob.x.d = nv;
	prob.x.indptr = ip;
	prob.x.indices = idx;
	prob.x.values = val;
	prob.k = 3;
	prob.y = yl;
	prob.C = 1.0;
	prob.max_iter = 1000;
	prob.tol = 1e-6;
	coef = calloc(logreg_ncoef(nv, 3), sizeof(double));
	sparse_logreg_fit(&prob, coef, 0, NULL);
	sim_sparse_predict(&s, rows, 12, proba);
	for (i = 0; i < 12; i++)
	{
		sparse_logreg_predict_proba(nv, 3, coef, (int) (ip[i + 1] - ip[i]), idx + ip[i],
									val + ip[i], mine);
		for (c = 0; c < 3; c++)
			if (fabs(mine[c] - proba[i * 3 + c]) > maxdiff)
				maxdiff = fabs(mine[c] - proba[i * 3 + c]);
	}
	ok(maxdiff == 0, "its probabilities are the solver's on the same rows, bit for bit (%g)", maxdiff);
	/* a row of class 1 that is not labeled */
	{
		int			r[1] = {1};
		double		pr[3];

		sim_sparse_predict(&s, r, 1, pr);
		ok(pr[1] > pr[0] && pr[1] > pr[2], "a row of class 1 is predicted class 1 (%.3f)", pr[1]);
	}
	free(coef);
	sim_sparse_free(&s);
	free(t);
}

/* Naive Bayes on text: class buckets decide */
static void
test_nbayes(void)
{
	TextData   *t = calloc(1, sizeof(TextData));
	SimParams	p;
	SimSparse	s;
	int			rows[9],
				test[30],
				i,
				right = 0;
	double		proba[2 * 30];

	make_text(t, 90, 2);
	params(&p, SIM_NAIVE_BAYES, NULL, 0);
	sim_sparse_init(&s, &t->d, &p);
	for (i = 0; i < 9; i++)
		rows[i] = i;
	ok(sim_sparse_fit(&s, rows, 9), "naive Bayes: fits 9 labeled text rows");
	for (i = 0; i < 30; i++)
		test[i] = 60 + i;
	sim_sparse_predict(&s, test, 30, proba);
	for (i = 0; i < 30; i++)
		right += (proba[2 * i + t->y[test[i]]] > 0.5);
	ok(right == 30, "naive Bayes: every held-out row by its class bucket (%d of 30)", right);
	sim_sparse_free(&s);
	free(t);
}

/* The similarity strategies on sparse rows */
static void
test_sparse_pick(void)
{
	/* rows 0-2 the same text, row 3 another, row 4 a third; equal margins */
	int64_t		ip[6] = {0, 2, 4, 6, 8, 9};
	int			idx[9] = {1, 5, 1, 5, 1, 5, 2, 9, 30};
	double		val[9] = {0.6, 0.8, 0.6, 0.8, 0.6, 0.8, 0.8, 0.6, 1.0};
	double		proba[10] = {0.55, 0.45, 0.55, 0.45, 0.55, 0.45, 0.6, 0.4, 0.7, 0.3};
	StrategyRows rows;
	int			out[5],
				m;

	memset(&rows, 0, sizeof(rows));
	rows.n = 5;
	rows.d = 64;
	rows.sparse = true;
	rows.csr.n = 5;
	rows.csr.d = 64;
	rows.csr.indptr = ip;
	rows.csr.indices = idx;
	rows.csr.values = val;
	m = sim_pick(SIM_MARGIN, 5, 2, proba, &rows, NULL, 3, NULL, out);
	ok(m == 3 && out[0] == 0 && out[1] == 1 && out[2] == 2, "margin: the three copies first");
	m = sim_pick(SIM_DIVERSE, 5, 2, proba, &rows, NULL, 3, NULL, out);
	ok(m == 3 && out[0] == 0 && out[1] == 3 && out[2] == 4,
	   "diverse on sparse rows: three different texts (%d %d %d)", out[0], out[1], out[2]);
	proba[6] = proba[8] = 0.55;
	proba[7] = proba[9] = 0.45;
	m = sim_pick(SIM_DENSITY, 5, 2, proba, &rows, NULL, 5, NULL, out);
	ok(m == 5 && out[4] == 4, "density on sparse rows: the outlier texts last, ties to the lower position (%d)", out[4]);
}

/* Points collected */
typedef struct Curves
{
	int			n;
	SimPoint	p[2048];
} Curves;

static void
collect(void *arg, const SimPoint *pt)
{
	Curves	   *c = arg;

	if (c->n < 2048)
		c->p[c->n++] = *pt;
}

/* Whole campaigns on text: every strategy, twice the same */
static void
test_run(void)
{
	TextData   *t = calloc(1, sizeof(TextData));
	SimStrategy st[7] = {SIM_RANDOM, SIM_MARGIN, SIM_LEAST_CONFIDENCE, SIM_ENTROPY, SIM_DENSITY,
	SIM_DIVERSE, SIM_COMMITTEE};
	SimParams	p;
	Curves	   *a = calloc(1, sizeof(Curves));
	Curves	   *b = calloc(1, sizeof(Curves));
	SimSink		sa = {collect, NULL, a};
	SimSink		sb = {collect, NULL, b};
	int			i,
				same = 1,
				last_good = 1,
				pool;

	make_text(t, 240, 3);
	params(&p, SIM_LOGISTIC, st, 7);
	ok(sim_check(&t->d, &p, &pool) == SIM_OK, "a text campaign checks");
	i = sim_run(&t->d, &p, &sa);
	ok(i == SIM_OK && a->n == 2 * 7 * 7,
	   "every strategy on text: 2 repeats x 7 strategies x 7 rounds (%d)", a->n);
	ok(sim_run(&t->d, &p, &sb) == SIM_OK && b->n == a->n, "again");
	for (i = 0; i < a->n; i++)
	{
		if (memcmp(&a->p[i].accuracy, &b->p[i].accuracy, sizeof(double)) != 0 ||
			a->p[i].log_loss != b->p[i].log_loss)
			same = 0;
		if (a->p[i].labels == 30 && a->p[i].accuracy < 0.9)
			last_good = 0;
	}
	ok(same, "the same seed gives bit-identical curves on text");
	ok(last_good, "every strategy ends above 0.9 on text whose class words decide");
	p.committee_kl = true;
	b->n = 0;
	ok(sim_run(&t->d, &p, &sb) == SIM_OK && b->n == a->n, "the committee by KL on text runs");
	p.algorithm = SIM_NAIVE_BAYES;
	st[6] = SIM_DIVERSE;
	b->n = 0;
	ok(sim_run(&t->d, &p, &sb) == SIM_OK, "naive Bayes campaigns on text run");
	free(a);
	free(b);
	free(t);
}

int
main(void)
{
	test_fit();
	test_nbayes();
	test_sparse_pick();
	test_run();
	return tap_finish();
}
