/*
 * test_text.c
 *		Unit tests of hitl's plain-C text numerics, printing TAP: the term
 *		hash, the tf-idf weights, multinomial naive Bayes, and the
 *		contributions hitl.explain() reports (explain_math.c).
 *
 * The expected hashes, buckets and probabilities were computed with
 * scikit-learn 1.2 (sklearn.utils.murmurhash3_32 and MultinomialNB), whose
 * choices hitl follows.  Exits non-zero when any test fails.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "explain_math.h"
#include "nbayes.h"
#include "numeric_alloc.h"
#include "texthash.h"
#include "tfidf.h"
#include "tap.h"

static void
test_hash(void)
{
	static const struct
	{
		const char *term;
		int32_t		hash;
		int			bucket;
		int			sign;
	}			cases[] = {
		{"hello", 613153351, 260679, 1},
		{"world", -74040069, 115461, -1},
		{"hello world", 1586663183, 167695, 1},
		{"na\xc3\xafve", 992511445, 34261, 1},
		{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", -1005983109, 136581, -1},
	};
	static const struct
	{
		const char *key;
		int32_t		hash;
	}			plain[] = {
		{"", 0}, {"a", 1009084850}, {"ab", -1681926305}, {"abc", -1277324294},
		{"abcd", 1139631978},
	};
	size_t		i;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		ok((int32_t) texthash_murmur3(plain[i].key, strlen(plain[i].key), 0) == plain[i].hash,
		   "murmur3 of \"%s\" (%zu bytes: every tail length)", plain[i].key, strlen(plain[i].key));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		int			bucket;
		int			sign;

		ok((int32_t) texthash_murmur3(cases[i].term, strlen(cases[i].term), 0) == cases[i].hash,
		   "murmur3 of a term matches scikit-learn (case %zu)", i);
		texthash_term(cases[i].term, strlen(cases[i].term), 262144, &bucket, &sign);
		ok(bucket == cases[i].bucket && sign == cases[i].sign,
		   "bucket and sign of a term match HashingVectorizer (case %zu: %d %d)", i, bucket, sign);
	}
	{
		int			bucket;
		int			sign;
		int			all_in_range = 1;

		for (i = 0; i < 1000; i++)
		{
			char		buf[32];

			snprintf(buf, sizeof(buf), "term%zu", i);
			texthash_term(buf, strlen(buf), 16, &bucket, &sign);
			if (bucket < 0 || bucket >= 16 || (sign != 1 && sign != -1))
				all_in_range = 0;
		}
		ok(all_in_range, "buckets stay in range and signs are +-1 for 16 buckets");
	}
}

static void
test_tfidf(void)
{
	double		v[3] = {3.0, 0.0, 4.0};

	ok(tfidf_tf(1.0) == 1.0, "tf of one occurrence is 1");
	ok(fabs(tfidf_tf(3.0) - (1.0 + log(3.0))) < 1e-15, "tf is sublinear: 1 + ln(count)");
	ok(fabs(tfidf_tf(-3.0) + (1.0 + log(3.0))) < 1e-15, "a negative (signed) count keeps its sign");
	ok(tfidf_tf(0.0) == 0.0, "tf of 0 is 0");
	ok(fabs(tfidf_idf(10, 10) - 1.0) < 1e-15, "idf of a term in every document is 1");
	ok(fabs(tfidf_idf(10, 0) - (log(11.0) + 1.0)) < 1e-15, "idf of an unseen term is ln(n + 1) + 1");
	tfidf_normalise(3, v);
	ok(fabs(v[0] - 0.6) < 1e-15 && v[1] == 0.0 && fabs(v[2] - 0.8) < 1e-15,
	   "rows are scaled to unit length");
	v[0] = v[1] = v[2] = 0.0;
	tfidf_normalise(3, v);
	ok(v[0] == 0.0 && v[1] == 0.0 && v[2] == 0.0, "an all-zero row stays zero");
	ok(tfidf_scale(25.0) == 1.0 / sqrt(25.0) && tfidf_scale(2.0) == 1.0 / sqrt(2.0),
	   "the scale of squares summing to ss is 1 / sqrt(ss), as tfidf_normalise's");
	ok(tfidf_scale(0.0) == 1.0, "a row of zeros has scale 1: it is left as it is");
	v[0] = 0.1;
	v[1] = -0.7;
	v[2] = 3.3;
	{
		double		ss = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
		double		w[3] = {v[0] * tfidf_scale(ss), v[1] * tfidf_scale(ss), v[2] * tfidf_scale(ss)};

		tfidf_normalise(3, v);
		ok(v[0] == w[0] && v[1] == w[1] && v[2] == w[2],
		   "multiplying by tfidf_scale gives tfidf_normalise's very doubles");
	}
}

/* the dense 5 x 4 example, as sparse rows */
static const double X[5][4] = {{1, 0, 2, 0}, {0, 1, 0, 0}, {3, 0, 1, 1}, {0, 2, 0, 1}, {0.5, 0, 0, 0}};
static const int Y[5] = {0, 1, 0, 1, 2};

static void
add_dense_row(NBayesCounts *c, int cls, const double *x, double weight)
{
	int			idx[4];
	double		val[4];
	int			n = 0;
	int			j;

	for (j = 0; j < 4; j++)
		if (x[j] != 0.0)
		{
			idx[n] = j;
			val[n] = x[j];
			n++;
		}
	nbayes_counts_add(c, cls, n, idx, val, weight);
}

static void
predict_dense(const NBayesModel *nb, const double *x, double *proba)
{
	int			idx[4];
	double		val[4];
	double		mass = 0.0;
	int			n = 0;
	int			j;

	for (j = 0; j < 4; j++)
		if (x[j] != 0.0)
		{
			idx[n] = j;
			val[n] = x[j];
			mass += x[j];
			n++;
		}
	nbayes_predict_proba(nb, n, idx, val, mass, proba);
}

static NBayesModel
build(const NBayesCounts *c, double alpha, double dimension)
{
	NBayesModel nb;
	int64_t    *index;
	double	   *count;
	int64_t		n = nbayes_counts_nonzeros(c, &index, &count);

	if (nbayes_model_build(&nb, c->k, c->m, c->class_count, n, index, count, alpha,
						   dimension) != 0)
		memset(&nb, 0, sizeof(nb));
	hitl_free(index);
	hitl_free(count);
	return nb;
}

/*
 * Naive Bayes at the edges of double precision: values whose products with
 * the log-probabilities overflow, a class whose sums add up beyond DBL_MAX,
 * and a sum that overflowed.
 */
static void
test_nbayes_extremes(void)
{
	static const double huge_rows[4][4] = {
		{1e307, 0, 0, 0}, {0, 1e307, 0, 0}, {1e308, 0, 1e308, 0}, {0, 0, 0, 1e308}};
	static const int huge_y[4] = {0, 1, 2, 2};
	NBayesCounts c;
	NBayesModel nb;
	double		proba[3];
	double		q[4] = {1e307, 0, 0, 0};
	bool		sane = true;
	int			i;
	int			j;

	nbayes_counts_init(&c, 3, 4);
	for (i = 0; i < 4; i++)
		add_dense_row(&c, huge_y[i], huge_rows[i], 1.0);
	nb = build(&c, 1.0, 4.0);
	ok(nb.k == 3 && isfinite(nb.log_denom[0]) && isfinite(nb.log_denom[2]),
	   "a class whose sums add up to 3e308 gets a finite denominator (%g)",
	   nb.k == 3 ? nb.log_denom[2] : 0.0);
	ok(nb.k == 3 && fabs(nb.log_denom[2] - (log(1e308) + log(3.0))) < 1e-12,
	   "... equal to ln(3e308 + alpha D), alpha D being negligible");
	for (i = 0; i < 4 && nb.k == 3; i++)
	{
		double		sum = 0.0;
		int			best = 0;

		predict_dense(&nb, huge_rows[i], proba);
		for (j = 0; j < 3; j++)
		{
			sane = sane && proba[j] >= 0.0 && proba[j] <= 1.0;
			sum += proba[j];
			if (proba[j] > proba[best])
				best = j;
		}
		sane = sane && fabs(sum - 1.0) < 1e-12 && best == huge_y[i] && proba[best] > 0.99;
		if (!sane)
			diag("row %d: %g %g %g", i, proba[0], proba[1], proba[2]);
	}
	ok(sane, "rows of 1e307 and 1e308 get finite probabilities, their own class, confidently");
	q[0] = 1.7e308;
	q[1] = 1.7e308;
	if (nb.k == 3)
		predict_dense(&nb, q, proba);
	ok(nb.k == 3 && isfinite(proba[0]) && isfinite(proba[1]) && isfinite(proba[2]) &&
	   fabs(proba[0] + proba[1] + proba[2] - 1.0) < 1e-12,
	   "a row whose mass overflows still gets probabilities (%g %g %g)",
	   proba[0], proba[1], proba[2]);
	if (nb.k == 3)
		nbayes_model_free(&nb);

	/* a sum that overflowed is kept, so that the model is refused */
	c.feature_count[0] = INFINITY;
	{
		int64_t    *idx;
		double	   *cnt;
		int64_t		n = nbayes_counts_nonzeros(&c, &idx, &cnt);

		ok(n == 5 && isinf(cnt[0]),
		   "an overflowed sum does not make the others residue (%lld non-zeros)", (long long) n);
		ok(nbayes_model_build(&nb, 3, 4, c.class_count, n, idx, cnt, 1.0, 4.0) == -1,
		   "... and the statistics are refused");
		hitl_free(idx);
		hitl_free(cnt);
	}
	nbayes_counts_free(&c);
}

static void
test_nbayes(void)
{
	/* scikit-learn MultinomialNB(alpha = 0.5) on X, Y */
	static const double queries[3][4] = {{1, 1, 0, 0}, {0, 0, 0, 0}, {0, 0, 3, 0}};
	static const double expected[3][3] = {
		{0.20249999999999996, 0.4374999999999999, 0.36000000000000015},
		{0.4, 0.4, 0.2},
		{0.9035121951219515, 0.0121951219512195, 0.08429268292682922}};
	NBayesCounts c;
	NBayesCounts d;
	NBayesModel nb;
	double		proba[3];
	double		worst = 0.0;
	int			i;
	int			j;

	nbayes_counts_init(&c, 3, 4);
	for (i = 0; i < 5; i++)
		add_dense_row(&c, Y[i], X[i], 1.0);
	nb = build(&c, 0.5, 4.0);
	ok(nb.k == 3, "statistics build into a model");
	for (i = 0; i < 3; i++)
	{
		predict_dense(&nb, queries[i], proba);
		for (j = 0; j < 3; j++)
			worst = fmax(worst, fabs(proba[j] - expected[i][j]));
	}
	ok(worst < 1e-14, "probabilities equal scikit-learn's MultinomialNB (max diff %.2g)", worst);
	predict_dense(&nb, queries[1], proba);
	ok(fabs(proba[0] - 0.4) < 1e-15 && fabs(proba[2] - 0.2) < 1e-15,
	   "a row without features gets the class priors");
	nbayes_model_free(&nb);

	/* incremental: label changes applied one by one equal the final counts */
	nbayes_counts_init(&d, 3, 4);
	add_dense_row(&d, 1, X[0], 1.0);	/* row 0 first labeled 1 */
	add_dense_row(&d, 1, X[0], -1.0);	/* ... relabeled 0 */
	add_dense_row(&d, 0, X[0], 1.0);
	for (i = 1; i < 5; i++)
		add_dense_row(&d, Y[i], X[i], 1.0);
	add_dense_row(&d, 2, X[2], 1.0);	/* row 2 labeled 2 then cleared */
	add_dense_row(&d, 2, X[2], -1.0);
	worst = 0.0;
	for (i = 0; i < 3 * 4; i++)
		worst = fmax(worst, fabs(d.feature_count[i] - c.feature_count[i]));
	for (i = 0; i < 3; i++)
		worst = fmax(worst, fabs(d.class_count[i] - c.class_count[i]));
	ok(worst == 0.0, "adding and subtracting rows reaches the counts of the final labels");
	{
		int64_t    *i1,
				   *i2;
		double	   *c1,
				   *c2;
		int64_t		n1 = nbayes_counts_nonzeros(&c, &i1, &c1);
		int64_t		n2 = nbayes_counts_nonzeros(&d, &i2, &c2);

		ok(n1 == n2 && memcmp(i1, i2, sizeof(int64_t) * n1) == 0,
		   "the non-zero statistics have the same positions (%lld)", (long long) n1);
		ok(n1 > 0 && i1[0] == 0 && c1[0] == 4.0,
		   "non-zeros are position-major: position 0, class 0 first, sum 4");
		hitl_free(i1);
		hitl_free(i2);
		hitl_free(c1);
		hitl_free(c2);
	}
	nbayes_counts_free(&d);

	/* residue of rounding is dropped */
	nbayes_counts_init(&d, 3, 4);
	d.feature_count[1] = 1e-15;
	d.feature_count[2] = 0.25;
	{
		int64_t    *idx;
		double	   *cnt;

		ok(nbayes_counts_nonzeros(&d, &idx, &cnt) == 1, "sums of 1e-15 count as zero");
		hitl_free(idx);
		hitl_free(cnt);
	}
	nbayes_counts_free(&d);

	/* bad input */
	{
		int64_t		index[1] = {0};
		double		count[1] = {1.0};
		double		cc[2] = {1.0, 0.0};
		double		cc_ok[2] = {1.0, 1.0};
		double		negative[1] = {-1.0};
		int64_t		out_of_range[1] = {8};

		ok(nbayes_model_build(&nb, 2, 4, cc, 1, index, count, 1.0, 4.0) == -1,
		   "a class without rows is rejected");
		ok(nbayes_model_build(&nb, 2, 4, cc_ok, 1, index, count, 0.0, 4.0) == -1,
		   "alpha 0 is rejected");
		ok(nbayes_model_build(&nb, 2, 4, cc_ok, 1, index, count, 1.0, 3.0) == -1,
		   "a dimension below the positions is rejected");
		ok(nbayes_model_build(&nb, 2, 4, cc_ok, 1, index, negative, 1.0, 4.0) == -1,
		   "a negative sum is rejected");
		ok(nbayes_model_build(&nb, 2, 4, cc_ok, 1, out_of_range, count, 1.0, 4.0) == -1,
		   "an index out of range is rejected");
	}
	nbayes_counts_free(&c);

	nbayes_counts_free(&c);
}

/*
 * hitl.explain()'s arithmetic (explain_math.c): the runner-up, the
 * centred weights of a two-class model, and for every kind of model the
 * identity between the contributions and the log-odds of the predicted
 * class against the runner-up.
 */
static void
test_explain_logreg(void)
{
	/* two classes: one vector (2, -4), intercept 1, scoring class 1 */
	static const double coef2[3] = {2.0, -4.0, 1.0};
	/* three classes, two features: rows of (w1, w2, b) */
	static const double coef3[9] = {0.5, -1.0, 0.2, -1.5, 2.0, -0.3, 1.0, -1.0, 0.1};
	static const double x[3] = {1.5, -0.5, 7.0};
	static const int col[3] = {0, 1, -1};
	static const double ties[3] = {0.4, 0.3, 0.3};
	ExplainItem items[3];
	double		z[3];
	double		gap;
	int			pred;
	int			ru;
	int			c;
	int			i;

	ok(explain_runner_up(3, ties, 0) == 1, "runner-up: the lowest index among equal others");
	ok(explain_runner_up(2, ties, 1) == 0, "runner-up of two classes: the other one");

	ok(explain_logreg_weight(2, 2, coef2, 1, 0) == 1.0 &&
	   explain_logreg_weight(2, 2, coef2, 0, 0) == -1.0 &&
	   explain_logreg_weight(2, 2, coef2, 1, 2) == 0.5 &&
	   explain_logreg_weight(2, 2, coef2, 0, 2) == -0.5,
	   "two classes: w / 2 for class 1, -w / 2 for class 0, intercept too");
	ok(explain_logreg_weight(2, 3, coef3, 1, 1) == 2.0 &&
	   explain_logreg_weight(2, 3, coef3, 2, 2) == 0.1,
	   "three classes: row c of the coefficients");

	/* z = 2 * 1.5 - 4 * -0.5 + 1 = 6: class 1, ln(p1 / p0) = 6 */
	explain_logreg(2, 2, coef2, 1, 0, 3, col, x, items);
	ok(items[0].contribution == 1.5 && items[0].runner_up == -1.5 &&
	   items[1].contribution == 1.0 && items[1].runner_up == -1.0,
	   "two classes: contributions w x / 2 and -w x / 2");
	ok(items[2].weight == 0.0 && items[2].contribution == 0.0 && items[2].value == 7.0,
	   "a feature without a coefficient column has weight 0");
	gap = 0.0;
	for (i = 0; i < 3; i++)
		gap += items[i].contribution - items[i].runner_up;
	gap += explain_logreg_weight(2, 2, coef2, 1, 2) - explain_logreg_weight(2, 2, coef2, 0, 2);
	ok(gap == 6.0, "two classes: contributions - runner-up + intercepts = z exactly (%.17g)", gap);
	explain_logreg(2, 2, coef2, 0, 1, 3, col, x, items);
	ok(items[0].contribution == -1.5 && items[1].runner_up == 1.0,
	   "predicted class 0: the signs turn");

	/* three classes: the identity against the scores' differences */
	for (c = 0; c < 3; c++)
		z[c] = coef3[c * 3] * x[0] + coef3[c * 3 + 1] * x[1] + coef3[c * 3 + 2];
	pred = 2;					/* z = 1.5 + 0.5 + 0.1 = 2.1, the largest */
	ru = 0;						/* z = 0.75 + 0.5 + 0.2 = 1.45 */
	explain_logreg(2, 3, coef3, pred, ru, 3, col, x, items);
	gap = coef3[pred * 3 + 2] - coef3[ru * 3 + 2];
	for (i = 0; i < 3; i++)
		gap += items[i].contribution - items[i].runner_up;
	ok(fabs(gap - (z[pred] - z[ru])) < 1e-15,
	   "three classes: contributions - runner-up + intercepts = z_pred - z_runner_up");
	ok(items[0].weight == 1.0 && items[1].weight == -1.0,
	   "three classes: the weights of the predicted class's row");
}

/*
 * Explain a row of a two-class naive Bayes model built from count (values
 * x at pos: positions 0 and 2, and 1.5 outside the positions) into items;
 * the gap between the contributions plus the log prior ratio and
 * ln(p_pred / p_runner_up) into *gap, the runner-up into *ru.
 */
static int
explain_nb_row(NBayesModel *nb, const double *count, ExplainItem *items, int *ru, double *gap)
{
	static const double class_count[2] = {3.0, 1.0};
	static const int64_t index[4] = {0, 1 * 2 + 1, 2 * 2 + 0, 2 * 2 + 1};
	static const int idx[2] = {0, 2};
	static const double val[2] = {2.0, 1.0};
	static const int pos[3] = {0, 2, -1};
	static const double x[3] = {2.0, 1.0, 1.5};
	double		proba[2];
	double		sum;
	int			pred;
	int			i;

	if (nbayes_model_build(nb, 2, 3, class_count, 4, index, count, 0.5, 5.0) != 0)
		return -1;
	nbayes_predict_proba(nb, 2, idx, val, 4.5, proba);
	pred = proba[1] > proba[0] ? 1 : 0;
	*ru = 1 - pred;
	explain_nbayes(nb, pred, *ru, 3, pos, x, items);
	sum = nb->log_prior[pred] - nb->log_prior[*ru];
	for (i = 0; i < 3; i++)
		sum += items[i].contribution;
	*gap = sum - log(proba[pred] / proba[*ru]);
	return pred;
}

static void
test_explain_nbayes(void)
{
	/* class sums 5 and 5, then 5 and 11; a feature space of 5, alpha 0.5 */
	static const double equal[4] = {4.0, 2.0, 1.0, 3.0};
	static const double unequal[4] = {4.0, 2.0, 1.0, 9.0};
	ExplainItem items[3];
	NBayesModel nb;
	double		gap;
	double		expect;
	int			pred;
	int			ru;

	pred = explain_nb_row(&nb, equal, items, &ru, &gap);
	ok(pred >= 0, "a naive Bayes model to explain");
	/* ln P(f | c) = ln(s_cf + 0.5) - ln(5 + 2.5) */
	expect = (pred == 0 ? 1.0 : -1.0) * (log(4.5) - log(0.5));
	ok(fabs(items[0].weight - expect) < 1e-15,
	   "weight: ln P(f | pred) - ln P(f | runner-up) (%.17g)", items[0].weight);
	ok(fabs(items[2].weight) < 1e-15,
	   "a feature without statistics: the ratio of the denominators (equal here)");
	ok(items[0].contribution == 2.0 * items[0].weight &&
	   items[0].runner_up == -items[0].contribution,
	   "contribution: value x log ratio; runner-up: its opposite");
	ok(fabs(gap) < 1e-12, "contributions + log prior ratio = ln(p_pred / p_runner_up) (%.3g off)", gap);
	nbayes_model_free(&nb);

	/* unequal denominators: a feature without statistics still counts */
	pred = explain_nb_row(&nb, unequal, items, &ru, &gap);
	ok(pred >= 0, "a model whose classes have different sums");
	ok(fabs(items[2].weight - (nb.log_denom[ru] - nb.log_denom[pred])) < 1e-15 &&
	   items[2].weight != 0.0,
	   "a feature without statistics: ln of the runner-up's over the predicted's denominator");
	ok(fabs(gap) < 1e-12, "and the identity holds with it (%.3g off)", gap);
	nbayes_model_free(&nb);
}

static void
test_explain_sort(void)
{
	ExplainItem items[5] = {
		{"b", 1.0, 0.1, 0.1, -0.1},
		{"z", 1.0, -0.5, -0.5, 0.5},
		{"a", 2.0, 0.05, 0.1, -0.1},
		{"a", 1.0, 0.5, 0.5, -0.5},
		{"c", 0.0, 3.0, 0.0, 0.0},
	};

	explain_sort(5, items);
	ok(strcmp(items[0].feature, "a") == 0 && items[0].contribution == 0.5 &&
	   strcmp(items[1].feature, "z") == 0 &&
	   strcmp(items[2].feature, "a") == 0 && items[2].contribution == 0.1 &&
	   strcmp(items[3].feature, "b") == 0 && strcmp(items[4].feature, "c") == 0,
	   "sorted by |contribution| descending, then feature");
}

int
main(void)
{
	test_hash();
	test_tfidf();
	test_nbayes();
	test_nbayes_extremes();
	test_explain_logreg();
	test_explain_nbayes();
	test_explain_sort();
	return tap_finish();
}
