/*
 * test_aggregates.c
 *		Unit tests of the training aggregates' arithmetic (src/agg_math.c)
 *		against the training code's own, printing TAP.
 *
 * Naive Bayes: the sums of agg_nbayes_add are those of nbayes_counts_add
 * (what training accumulates) bit for bit, rows taken in the same order;
 * with integer values, a state split in parts and combined equals it
 * exactly.  Logistic regression: the objective and gradient of
 * agg_logreg_add + agg_logreg_finish are logreg_dense_objective's (the
 * L-BFGS solver's) to 1e-12 relative (the largest difference over the
 * largest magnitude), binary and multinomial, also when combined from
 * parts.  Only the order of the sums differs (the solver's passes use
 * BLAS a chunk at a time).  Naive Bayes by class: the row hashes add up to
 * the same sum in any order, and a -0 hashes as 0; naive Bayes' figures
 * from confusion counts (agg_nbeval_add, class_metrics_counts) are
 * class_metrics' over the rows.  The data are pseudo-random, from a fixed
 * seed.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_math.h"
#include "logreg.h"
#include "logreg_solve.h"
#include "metrics.h"
#include "nbayes.h"
#include "tap.h"

#define REL_TOL 1e-12

static uint64_t rng_state = 88172645463325252ULL;

/* xorshift64: uniform in [0, 1) */
static double
uniform(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double) (rng_state >> 11) / 9007199254740992.0;
}

/* max |a - b| / max |b| over n values */
static double
rel_diff(const double *a, const double *b, int n)
{
	double		num = 0.0;
	double		den = 0.0;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (fabs(a[i] - b[i]) > num)
			num = fabs(a[i] - b[i]);
		if (fabs(b[i]) > den)
			den = fabs(b[i]);
	}
	return den > 0.0 ? num / den : num;
}

/* A fresh state of kind (zeroed, header written) */
static double *
new_state(AggKind kind, int k, int d, int64_t *len)
{
	double	   *s;

	*len = agg_state_length(kind, k, d);
	s = xmalloc(sizeof(double) * (size_t) *len);
	agg_state_init(s, kind, k, d);
	return s;
}

static void
test_nbayes(bool integers)
{
	int			n = 5000;
	int			k = 3;
	int			d = 7;
	int64_t		len;
	double	   *whole = new_state(AGG_KIND_NBAYES, k, d, &len);
	double	   *part1 = new_state(AGG_KIND_NBAYES, k, d, &len);
	double	   *part2 = new_state(AGG_KIND_NBAYES, k, d, &len);
	double	   *x = xmalloc(sizeof(double) * d);
	int		   *idx = xmalloc(sizeof(int) * d);
	NBayesCounts c;
	int			i;
	int			j;

	for (j = 0; j < d; j++)
		idx[j] = j;
	nbayes_counts_init(&c, k, d);
	for (i = 0; i < n; i++)
	{
		int			cls = (int) (uniform() * k);

		for (j = 0; j < d; j++)
			x[j] = integers ? floor(uniform() * 20.0) : uniform() * 3.0;
		nbayes_counts_add(&c, cls, d, idx, x, 1.0);
		agg_nbayes_add(whole, cls, x);
		agg_nbayes_add(i % 3 == 0 ? part1 : part2, cls, x);
	}
	ok(memcmp(whole + AGG_HEADER, c.class_count, sizeof(double) * k) == 0 &&
	   memcmp(whole + AGG_HEADER + k, c.feature_count, sizeof(double) * k * d) == 0,
	   "naive Bayes (%s values): the sums are nbayes_counts_add's bit for bit",
	   integers ? "integer" : "real");
	agg_combine(part1, part2, len);
	if (integers)
		ok(memcmp(part1, whole, sizeof(double) * len) == 0,
		   "naive Bayes (integer values): two parts combined equal the whole exactly");
	else
		ok(rel_diff(part1, whole, (int) len) <= REL_TOL,
		   "naive Bayes (real values): two parts combined equal the whole to 1e-12 relative");
	nbayes_counts_free(&c);
	free(whole);
	free(part1);
	free(part2);
	free(x);
	free(idx);
}

static void
test_logreg(int k)
{
	int			n = 3000;
	int			d = 6;
	int			ncoef = logreg_ncoef(d, k);
	int64_t		len;
	double	   *whole = new_state(AGG_KIND_LOGREG, k, d, &len);
	double	   *part1 = new_state(AGG_KIND_LOGREG, k, d, &len);
	double	   *part2 = new_state(AGG_KIND_LOGREG, k, d, &len);
	double	   *x = xmalloc(sizeof(double) * n * d);
	int		   *y = xmalloc(sizeof(int) * n);
	double	   *coef = xmalloc(sizeof(double) * ncoef);
	double	   *g_ref = xmalloc(sizeof(double) * ncoef);
	double	   *g_agg = xmalloc(sizeof(double) * ncoef);
	double	   *z = xmalloc(sizeof(double) * k);
	LogregProblem p;
	double		f_ref;
	double		f_agg;
	int			i;
	int			j;

	for (i = 0; i < n; i++)
	{
		y[i] = (int) (uniform() * k);
		for (j = 0; j < d; j++)
			x[i * d + j] = 2.0 * uniform() - 1.0 + 0.5 * (y[i] == j % k);
	}
	for (j = 0; j < ncoef; j++)
		coef[j] = 2.0 * uniform() - 1.0;
	memset(&p, 0, sizeof(p));
	p.n = n;
	p.d = d;
	p.k = k;
	p.x = x;
	p.y = y;
	p.C = 1.5;
	p.max_iter = 1;
	f_ref = logreg_dense_objective(&p, coef, g_ref);

	for (i = 0; i < n; i++)
	{
		agg_logreg_add(whole, y[i], x + i * d, coef, z);
		agg_logreg_add(i < n / 2 ? part1 : part2, y[i], x + i * d, coef, z);
	}
	ok(whole[AGG_LOGREG_ROWS] == n, "logistic (k = %d): the rows counted", k);
	f_agg = agg_logreg_finish(whole, coef, p.C, g_agg);
	ok(fabs(f_agg - f_ref) <= REL_TOL * fabs(f_ref),
	   "logistic (k = %d): the objective is logreg_dense_objective's to 1e-12 relative", k);
	ok(rel_diff(g_agg, g_ref, ncoef) <= REL_TOL,
	   "logistic (k = %d): the gradient is logreg_dense_objective's to 1e-12 relative (%.2g)",
	   k, rel_diff(g_agg, g_ref, ncoef));
	agg_combine(part1, part2, len);
	f_agg = agg_logreg_finish(part1, coef, p.C, g_agg);
	ok(fabs(f_agg - f_ref) <= REL_TOL * fabs(f_ref) && rel_diff(g_agg, g_ref, ncoef) <= REL_TOL,
	   "logistic (k = %d): two parts combined give the same objective and gradient", k);
	free(whole);
	free(part1);
	free(part2);
	free(x);
	free(y);
	free(coef);
	free(g_ref);
	free(g_agg);
	free(z);
}

static void
test_states(void)
{
	double		s[AGG_HEADER + 2 + 2 * 3];
	AggKind		kind;
	int			k;
	int			d;
	int			bad = -1;
	double		row[3] = {1.0, -2.0, NAN};

	memset(s, 0, sizeof(s));
	agg_state_init(s, AGG_KIND_NBAYES, 2, 3);
	ok(agg_state_length(AGG_KIND_NBAYES, 2, 3) == 11 &&
	   agg_state_length(AGG_KIND_LOGREG, 2, 3) == 3 + 2 + 4 &&
	   agg_state_length(AGG_KIND_LOGREG, 3, 3) == 3 + 2 + 12,
	   "state lengths: header, then rows and sums, or rows, loss and gradient");
	ok(agg_state_valid(s, 11, &kind, &k, &d) && kind == AGG_KIND_NBAYES && k == 2 && d == 3,
	   "a state is recognised");
	ok(!agg_state_valid(s, 10, &kind, &k, &d), "a state of the wrong length is not");
	s[1] = 2.5;
	ok(!agg_state_valid(s, 11, &kind, &k, &d), "nor one with a fractional k");
	ok(agg_state_length(AGG_KIND_NBAYES, 1, 3) < 0 &&
	   agg_state_length(AGG_KIND_NBAYES, 100000, 1000) < 0,
	   "one class, or a state beyond the limit, has no length");
	ok(agg_check_row(row, 3, 0, &bad) == AGG_ROW_NOT_FINITE && bad == 2 &&
	   agg_check_row(row, 3, 1, &bad) == AGG_ROW_NEGATIVE && bad == 1 &&
	   agg_check_row(row, 2, 0, &bad) == AGG_ROW_OK,
	   "row checks: NaN, negative for naive Bayes only");
}

/* Naive Bayes by class: the sums and the order-free hash of the rows */
static void
test_nbsums(void)
{
	enum
	{
		N = 200, D = 5
	};
	double		x[N][D];
	int64_t		len = agg_state_length(AGG_KIND_NBSUMS, 1, D);
	double	   *fwd = new_state(AGG_KIND_NBSUMS, 1, D, &len);
	double	   *back = new_state(AGG_KIND_NBSUMS, 1, D, &len);
	double	   *half = new_state(AGG_KIND_NBSUMS, 1, D, &len);
	double		zero[2] = {0.0, 1.0};
	double		negzero[2] = {-0.0, 1.0};
	double		sums_ok = 1;
	int			i;
	int			j;

	for (i = 0; i < N; i++)
		for (j = 0; j < D; j++)
			x[i][j] = (double) (int) (5 * uniform());
	for (i = 0; i < N; i++)
		agg_nbsums_add(fwd, x[i], 7);
	for (i = N - 1; i >= 0; i--)
		agg_nbsums_add(i < N / 2 ? half : back, x[i], 7);
	agg_combine(back, half, len);
	ok(len == AGG_NBSUMS_SUMS + D && fwd[AGG_NBSUMS_ROWS] == N,
	   "naive Bayes by class: a state of rows, non-zeros, 4 limbs and the sums");
	for (j = 0; j < D; j++)
	{
		double		sum = 0.0;

		for (i = 0; i < N; i++)
			sum += x[i][j];
		sums_ok = sums_ok && fwd[AGG_NBSUMS_SUMS + j] == sum;
	}
	ok(sums_ok, "naive Bayes by class: the feature sums");
	ok(memcmp(fwd, back, sizeof(double) * (size_t) len) == 0 &&
	   agg_nbsums_hash(fwd) == agg_nbsums_hash(back),
	   "naive Bayes by class: the rows backwards, in two parts combined, give the same state and hash");
	ok(agg_nbsums_row_hash(zero, 2, 7) == agg_nbsums_row_hash(negzero, 2, 7) &&
	   agg_nbsums_row_hash(zero, 2, 7) != agg_nbsums_row_hash(zero, 2, 8) &&
	   agg_nbsums_row_hash(zero, 2, 7) != agg_nbsums_row_hash(zero + 1, 1, 7),
	   "a row's hash: -0 as 0, another seed or other values another hash");
	free(fwd);
	free(back);
	free(half);
}

/* Naive Bayes' figures from counts are class_metrics' over the rows */
static void
test_nbeval(void)
{
	enum
	{
		N = 300, K = 4
	};
	double		proba[N * K];
	int			y[N];
	int64_t		len;
	double	   *s = new_state(AGG_KIND_NBEVAL, K, 0, &len);
	ClassMetrics direct;
	ClassMetrics counted;
	int			i;
	int			c;

	for (i = 0; i < N; i++)
	{
		double		sum = 0.0;

		for (c = 0; c < K; c++)
			sum += (proba[i * K + c] = (i % 17 == 0 && c == 1) ? 0.0 : uniform());
		for (c = 0; c < K; c++)
			proba[i * K + c] /= sum;
		y[i] = (i % 5 == 0) ? 3 : (int) (3 * uniform());
		agg_nbeval_add(s, y[i], proba + i * K);
	}
	class_metrics(N, K, proba, y, &direct);
	class_metrics_counts((int) s[AGG_NBEVAL_ROWS], K, s[AGG_NBEVAL_LOSS],
						 s + AGG_NBEVAL_CONFUSION, &counted);
	ok(counted.n == N && counted.accuracy == direct.accuracy &&
	   counted.macro_f1 == direct.macro_f1,
	   "naive Bayes' figures: accuracy and macro-F1 from the confusion counts are class_metrics'");
	ok(fabs(counted.log_loss - direct.log_loss) <= REL_TOL * direct.log_loss,
	   "naive Bayes' figures: the log-loss to 1e-12 relative");
	free(s);
}

int
main(void)
{
	test_states();
	test_nbsums();
	test_nbeval();
	test_nbayes(true);
	test_nbayes(false);
	test_logreg(2);
	test_logreg(3);
	test_logreg(5);
	return tap_finish();
}
