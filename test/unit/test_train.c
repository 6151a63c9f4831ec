/*
 * test_train.c
 *		Unit tests of the arithmetic of sparse training, printing TAP: the
 *		vocabulary and its positions, the naive Bayes statistics of an
 *		incremental update, and the cross-validation of the sparse models.
 *
 * The expected values are worked out by hand in the comments.  Exits
 * non-zero when any test fails.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crossval.h"
#include "nbayes.h"
#include "numeric_alloc.h"
#include "sparse_logreg.h"
#include "tap.h"
#include "vocab.h"

static bool
same_ints(const int32_t *a, const int32_t *b, int n)
{
	return n == 0 || memcmp(a, b, sizeof(int32_t) * n) == 0;
}

static void
test_vocabulary(void)
{
	static const int used[] = {7, 3, 7, 1, 3};
	static const int32_t built[] = {1, 3, 7};
	static const int extra[] = {5, 3, 9, 5};
	static const int32_t extended[] = {1, 3, 5, 7, 9};
	int32_t    *v;
	int32_t    *w;
	int			map[6];
	int			n;

	ok(vocab_position(built, 3, 7) == 2 && vocab_position(built, 3, 1) == 0 &&
	   vocab_position(built, 3, 4) == -1 && vocab_position(built, 0, 1) == -1,
	   "vocab_position finds a bucket's index, -1 for one not there");

	n = vocab_build(10, 5, used, &v);
	ok(n == 3 && same_ints(v, built, 3), "vocab_build: the distinct buckets, ascending");

	n = vocab_extend(v, 3, 4, extra, &w);
	ok(n == 5 && same_ints(w, extended, 5),
	   "vocab_extend: new buckets join, repeats and known ones once");
	hitl_free(w);
	n = vocab_extend(v, 3, 2, used + 1, &w);
	ok(n == 3 && same_ints(w, built, 3), "vocab_extend with nothing new copies the vocabulary");
	hitl_free(w);

	/* d = 2: dense positions stay, buckets 1, 3, 7 move to 2, 3, 5 */
	vocab_map_positions(2, built, 3, extended, 5, map);
	ok(map[0] == 0 && map[1] == 1 && map[2] == 2 && map[3] == 3 && map[4] == 5,
	   "vocab_map_positions moves each bucket's position to the larger vocabulary");
	vocab_map_positions(0, extended, 5, built, 3, map);
	ok(map[0] == 0 && map[1] == 1 && map[2] == -1 && map[3] == 2 && map[4] == -1,
	   "vocab_map_positions gives -1 to a bucket the other vocabulary lacks");
	hitl_free(v);
}

static void
test_compact(void)
{
	/*
	 * d = 1, k = 2, buckets 10 20 30 40 at positions 1 2 3 4.  Sums at
	 * (position 0, class 0), (1, 1), (3, 0), (3, 1): buckets 20 and 40 have
	 * none and leave; 30 moves from position 3 to 2.
	 */
	int32_t		vocab[] = {10, 20, 30, 40};
	int64_t		index[] = {0, 1 * 2 + 1, 3 * 2 + 0, 3 * 2 + 1};
	int			m = vocab_compact(1, 2, 4, vocab, 4, index);

	ok(m == 2 && vocab[0] == 10 && vocab[1] == 30,
	   "vocab_compact keeps the buckets that have sums, in order");
	ok(index[0] == 0 && index[1] == 3 && index[2] == 4 && index[3] == 5,
	   "vocab_compact renumbers the sums to the positions left (%lld %lld %lld %lld)",
	   (long long) index[0], (long long) index[1], (long long) index[2], (long long) index[3]);
}

static void
test_csr(void)
{
	/* two rows, two dense values, text buckets 3 7 and 1 over vocabulary 1 3 7 */
	static const double x[] = {1, 0, 0, 2};
	static const int64_t tptr[] = {0, 2, 3};
	static const int tbucket[] = {3, 7, 1};
	static const double tweight[] = {0.6, 0.8, 1.0};
	static const int32_t vocab[] = {1, 3, 7};
	static const int all_idx[] = {0, 1, 3, 4, 0, 1, 2};
	static const double all_val[] = {1, 0, 0.6, 0.8, 0, 2, 1.0};
	static const int nz_idx[] = {0, 3, 4, 1, 2};
	static const double nz_val[] = {1, 0.6, 0.8, 2, 1.0};
	VocabRows rows = {2, 2, x, tptr, tbucket, tweight};
	int64_t		indptr[3];
	int			indices[7];
	double		values[7];
	int64_t		nnz;

	nnz = vocab_csr(&rows, vocab, 3, 0, indptr, indices, values);
	ok(nnz == 7 && indptr[1] == 4 && indptr[2] == 7 &&
	   memcmp(indices, all_idx, sizeof(all_idx)) == 0 &&
	   memcmp(values, all_val, sizeof(all_val)) == 0,
	   "vocab_csr: every dense value, then the terms at d + their bucket's index");
	nnz = vocab_csr(&rows, vocab, 3, 1, indptr, indices, values);
	ok(nnz == 5 && indptr[1] == 3 && indptr[2] == 5 &&
	   memcmp(indices, nz_idx, sizeof(nz_idx)) == 0 &&
	   memcmp(values, nz_val, sizeof(nz_val)) == 0,
	   "vocab_csr with skip_zero leaves the zero dense values out");
}

/* the dense 5 x 4 example of test_text.c, one row at a time */
static const double X[5][4] = {{1, 0, 2, 0}, {0, 1, 0, 0}, {3, 0, 1, 1}, {0, 2, 0, 1}, {0.5, 0, 0, 0}};
static const int DENSE_IDX[4] = {0, 1, 2, 3};

/* Statistics of the rows of X with classes y (-1: unlabeled), counted afresh */
static void
count_all(NBayesCounts *c, const int *y)
{
	int			i;

	nbayes_counts_init(c, 3, 4);
	for (i = 0; i < 5; i++)
		if (y[i] >= 0)
			nbayes_counts_add(c, y[i], 4, DENSE_IDX, X[i], 1.0);
}

/* A stored version: the statistics of labels y, as nbayes_counts_nonzeros */
static void
stored(const int *y, NBayesCounts *c, int64_t *n, int64_t **index, double **count)
{
	count_all(c, y);
	*n = nbayes_counts_nonzeros(c, index, count);
}

static double
max_diff(const NBayesCounts *a, const NBayesCounts *b)
{
	double		diff = 0.0;
	int			i;

	for (i = 0; i < a->k; i++)
		diff = fmax(diff, fabs(a->class_count[i] - b->class_count[i]));
	for (i = 0; i < a->k * a->m; i++)
		diff = fmax(diff, fabs(a->feature_count[i] - b->feature_count[i]));
	return diff;
}

static void
test_update(void)
{
	static const int before[5] = {0, 1, 0, 1, 2};
	static const int after[5] = {1, 1, 0, 2, 2};
	static const int64_t rows_after[3] = {1, 2, 2};
	static const int map[4] = {0, 1, 3, 4};
	NBayesCounts prev;
	NBayesCounts c;
	NBayesCounts full;
	NBayesChange ch;
	int64_t		n;
	int64_t    *index;
	double	   *count;
	int			i;

	/* rows 0 (class 0 to 1) and 3 (class 1 to 2) change */
	stored(before, &prev, &n, &index, &count);
	nbayes_counts_init(&c, 3, 4);
	nbayes_counts_load(&c, prev.class_count, n, index, count, NULL);
	ok(max_diff(&c, &prev) == 0.0, "nbayes_counts_load restores the stored statistics");
	for (i = 0; i < 5; i++)
		if (before[i] != after[i])
		{
			NBayesChange change = {before[i], after[i], 4, DENSE_IDX, X[i]};

			nbayes_counts_change(&c, &change);
		}
	count_all(&full, after);
	ok(max_diff(&c, &full) < 1e-12, "old class minus the row, new class plus: the full count");
	ok(nbayes_counts_check(&c, rows_after) == NBAYES_CHECK_OK,
	   "the updated statistics pass the check");
	ok(nbayes_counts_check(&c, (const int64_t[]) {1, 3, 1}) == NBAYES_CHECK_ROWS_DIFFER,
	   "rows per class other than the table's are reported");

	/* row 4 loses its label: class 2 keeps row 3 only, then none */
	ch = (NBayesChange) {2, -1, 4, DENSE_IDX, X[4]};
	nbayes_counts_change(&c, &ch);
	ch = (NBayesChange) {2, -1, 4, DENSE_IDX, X[3]};
	nbayes_counts_change(&c, &ch);
	ok(nbayes_counts_check(&c, (const int64_t[]) {1, 2, 0}) == NBAYES_CHECK_CLASS_EMPTIED,
	   "a class left without rows is reported");
	nbayes_counts_free(&c);

	/* row 2 removed from class 0 with larger values than it was added with */
	{
		static const double changed[4] = {3, 0, 5, 1};

		nbayes_counts_init(&c, 3, 4);
		nbayes_counts_load(&c, prev.class_count, n, index, count, NULL);
		ch = (NBayesChange) {0, 1, 4, DENSE_IDX, changed};
		nbayes_counts_change(&c, &ch);
		ok(c.feature_count[2] == -2.0 &&
		   nbayes_counts_check(&c, (const int64_t[]) {1, 3, 1}) == NBAYES_CHECK_NEGATIVE_SUM,
		   "a sum gone negative (class 0, feature 2: 2 + 1 - 5) is reported");
		nbayes_counts_free(&c);
	}

	/* positions moved: old position p to map[p], the new ones empty */
	nbayes_counts_init(&c, 3, 6);
	nbayes_counts_load(&c, prev.class_count, n, index, count, map);
	{
		bool		moved = true;
		int			cls;

		for (cls = 0; cls < 3; cls++)
		{
			for (i = 0; i < 4; i++)
				moved &= c.feature_count[cls * 6 + map[i]] == prev.feature_count[cls * 4 + i];
			moved &= c.feature_count[cls * 6 + 2] == 0.0 && c.feature_count[cls * 6 + 5] == 0.0;
		}
		ok(moved, "nbayes_counts_load moves each sum to its new position");
	}
	nbayes_counts_free(&c);
	nbayes_counts_free(&prev);
	nbayes_counts_free(&full);
	hitl_free(index);
	hitl_free(count);
}

/* Rows as CSR over two features, from a dense n x 2 matrix */
static SparseMatrix
csr2(int n, const double *x, int64_t *indptr, int *indices, double *values)
{
	SparseMatrix m;
	int64_t		nnz = 0;
	int			i;
	int			j;

	indptr[0] = 0;
	for (i = 0; i < n; i++)
	{
		for (j = 0; j < 2; j++)
			if (x[i * 2 + j] != 0.0)
			{
				indices[nnz] = j;
				values[nnz] = x[i * 2 + j];
				nnz++;
			}
		indptr[i + 1] = nnz;
	}
	m.n = n;
	m.d = 2;
	m.indptr = indptr;
	m.indices = indices;
	m.values = values;
	return m;
}

/* Row i of n in fold i % folds; then the out-of-fold figures of proba in m */
static CrossvalFolds
by_position(int n, int folds, int *fold)
{
	CrossvalFolds f;
	int			i;

	for (i = 0; i < n; i++)
		fold[i] = i % folds;
	f.nfolds = folds;
	f.fold = fold;
	return f;
}

/* Naive Bayes out of fold by position, summarised in m */
static int
nbayes_cv(const SparseMatrix *X, const int *y, const NBayesCounts *all, int folds,
		  ClassMetrics *m)
{
	int			fold[8];
	double		proba[8 * 2];
	CrossvalFolds f = by_position(X->n, folds, fold);
	int			ret = crossval_nbayes(X, y, NULL, all, &f, 1.0, 2.0, proba);

	if (ret == 0)
		class_metrics(X->n, all->k, proba, y, m);
	return ret;
}

static void
test_crossval_nbayes(void)
{
	/*
	 * Rows {2,0} c0, {0,2} c1, {0,1} c1, {1,0} c0; folds 2, alpha 1, D 2.
	 * Fold 0 (rows 0, 2) learns from rows 1 and 3: class 0 sums {1,0},
	 * class 1 {0,2}; P(f|0) = {2/3, 1/3}, P(f|1) = {1/4, 3/4}, equal
	 * priors.  Row 0: p(0) = (2/3)^2 / ((2/3)^2 + (1/4)^2) = 64/73; row 2:
	 * p(1) = (3/4) / (3/4 + 1/3) = 9/13.  Fold 1 (rows 1, 3) learns from
	 * rows 0 and 2: P(f|0) = {3/4, 1/4}, P(f|1) = {1/3, 2/3}; row 1: p(1)
	 * = 64/73, row 3: p(0) = 9/13.  Every row is right; the log loss is
	 * -(ln(64/73) + ln(9/13)) / 2.
	 */
	static const double x[] = {2, 0, 0, 2, 0, 1, 1, 0};
	static const int y[] = {0, 1, 1, 0};
	static const int y_one_fold[] = {0, 1, 0, 1};
	double		expected = -(log(64.0 / 73.0) + log(9.0 / 13.0)) / 2.0;
	int64_t		indptr[5];
	int			indices[8];
	double		values[8];
	SparseMatrix X = csr2(4, x, indptr, indices, values);
	NBayesCounts all;
	ClassMetrics m;
	int			i;
	int			ret;

	nbayes_counts_init(&all, 2, 2);
	for (i = 0; i < 4; i++)
		nbayes_counts_add(&all, y[i], (int) (indptr[i + 1] - indptr[i]), indices + indptr[i],
						  values + indptr[i], 1.0);
	ret = nbayes_cv(&X, y, &all, 2, &m);
	ok(ret == 0 && m.n == 4 && m.accuracy == 1.0 && m.macro_f1 == 1.0,
	   "naive Bayes cross-validation: every held-out row right (accuracy %g)", m.accuracy);
	ok(ret == 0 && fabs(m.log_loss - expected) < 1e-12,
	   "naive Bayes cross-validation: log loss %.15g, by hand %.15g", m.log_loss, expected);
	{
		int			fold[4] = {0, 1, 2, 0};
		double		proba[4 * 2];
		CrossvalFolds bad = {2, fold};

		ok(crossval_nbayes(&X, y, NULL, &all, &bad, 1.0, 2.0, proba) == -1,
		   "naive Bayes cross-validation refuses a fold outside [0, nfolds)");
	}
	nbayes_counts_free(&all);

	/* fold 0 holds rows 0 and 2, every row of class 0 */
	nbayes_counts_init(&all, 2, 2);
	for (i = 0; i < 4; i++)
		nbayes_counts_add(&all, y_one_fold[i], (int) (indptr[i + 1] - indptr[i]),
						  indices + indptr[i], values + indptr[i], 1.0);
	ok(nbayes_cv(&X, y_one_fold, &all, 2, &m) == 1,
	   "naive Bayes cross-validation: no metrics when a fold holds a whole class");
	nbayes_counts_free(&all);
}

/*
 * Naive Bayes cross-validation of the rows of X (classes y, folds f), each
 * row in the statistics and out of them with its weight (w NULL: 1)
 */
static int
nb_cv_weighted(const SparseMatrix *X, const int *y, const double *w, const CrossvalFolds *f,
			   double *proba)
{
	NBayesCounts all;
	int			ret;
	int			i;

	nbayes_counts_init(&all, 2, X->d);
	for (i = 0; i < X->n; i++)
		nbayes_counts_add(&all, y[i], (int) (X->indptr[i + 1] - X->indptr[i]),
						  X->indices + X->indptr[i], X->values + X->indptr[i],
						  w != NULL ? w[i] : 1.0);
	ret = crossval_nbayes(X, y, w, &all, f, 1.0, 2.0, proba);
	nbayes_counts_free(&all);
	return ret;
}

/*
 * Naive Bayes cross-validation with row weights: all 1 as without weights,
 * bit for bit; weight 2 as the row twice in its fold; a class of small
 * weights in two folds is no class of one fold.
 */
static void
test_crossval_nbayes_weights(void)
{
	/* test_crossval_nbayes's rows, then row 0 again (fold 0 of 2 by position) */
	static const double x[] = {2, 0, 0, 2, 0, 1, 1, 0, 2, 0};
	static const int y[] = {0, 1, 1, 0, 0};
	static const double ones[] = {1, 1, 1, 1};
	static const double twice[] = {2, 1, 1, 1};
	static const double small[] = {0.2, 0.2, 0.2, 0.2};
	int64_t		indptr[6];
	int			indices[10];
	double		values[10];
	SparseMatrix X4 = csr2(4, x, indptr, indices, values);
	SparseMatrix X5 = csr2(5, x, indptr, indices, values);
	int			fold[5];
	CrossvalFolds f = by_position(5, 2, fold);
	double		plain[5 * 2];
	double		weighted[5 * 2];
	double		worst = 0.0;
	int			r0;
	int			r1;
	int			i;

	r0 = nb_cv_weighted(&X4, y, NULL, &f, plain);
	r1 = nb_cv_weighted(&X4, y, ones, &f, weighted);
	ok(r0 == 0 && r1 == 0 && memcmp(plain, weighted, sizeof(double) * 4 * 2) == 0,
	   "naive Bayes cross-validation: weights 1 are no weights, bit for bit");

	r0 = nb_cv_weighted(&X5, y, NULL, &f, plain);
	r1 = nb_cv_weighted(&X4, y, twice, &f, weighted);
	for (i = 0; i < 4 * 2; i++)
		worst = fmax(worst, fabs(plain[i] - weighted[i]));
	ok(r0 == 0 && r1 == 0 && worst < 1e-15,
	   "naive Bayes cross-validation: weight 2 is the row twice (largest difference %g)", worst);

	ok(nb_cv_weighted(&X4, y, small, &f, weighted) == 0,
	   "naive Bayes cross-validation: classes of weights 0.2 in both folds give figures");
}

static void
test_crossval_logistic(void)
{
	/* {1,0} is class 0 and {0,1} class 1, three times over: folds of 3 */
	static const double x[] = {1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1};
	static const int y[] = {0, 1, 0, 1, 0, 1};
	static const int rows_fold1[] = {0, 2, 3, 5};
	int64_t		indptr[7];
	int			indices[12];
	double		values[12];
	SparseLogregProblem p;
	ClassMetrics m;
	double		coef[3];
	double		fold[3];
	double		proba[2];
	double		loss;
	int			ret;

	memset(&p, 0, sizeof(p));
	p.x = csr2(6, x, indptr, indices, values);
	p.k = 2;
	p.y = y;
	p.C = 1.0;
	p.max_iter = 1000;
	p.tol = 1e-10;
	memset(coef, 0, sizeof(coef));
	ok(sparse_logreg_fit(&p, coef, 0, NULL) == LOGREG_OK, "sparse logistic fit on all rows");
	{
		int			fold[6];
		double		oof[6 * 2];
		CrossvalFolds f = by_position(6, 3, fold);

		ret = crossval_sparse_logreg(&p, &f, coef, oof);
		if (ret == 0)
			class_metrics(6, 2, oof, y, &m);
	}
	ok(ret == 0 && m.n == 6 && m.accuracy == 1.0 && m.macro_f1 == 1.0,
	   "sparse logistic cross-validation: every held-out row right (accuracy %g)", m.accuracy);
	{
		static const double ones[] = {1, 1, 1, 1, 1, 1};
		static const double uneven[] = {1, 0.5, 1, 0.5, 1, 0.5};
		int			fold[6];
		double		oof[6 * 2];
		double		oof_w[6 * 2];
		CrossvalFolds f = by_position(6, 3, fold);
		int			r0 = crossval_sparse_logreg(&p, &f, coef, oof);
		int			r1;

		p.weight = ones;
		r1 = crossval_sparse_logreg(&p, &f, coef, oof_w);
		ok(r0 == 0 && r1 == 0 && memcmp(oof, oof_w, sizeof(oof)) == 0,
		   "sparse logistic cross-validation: weights 1 are no weights, bit for bit");
		p.weight = uneven;
		r1 = crossval_sparse_logreg(&p, &f, coef, oof_w);
		ok(r1 == 0 && memcmp(oof, oof_w, sizeof(oof)) != 0,
		   "sparse logistic cross-validation: the folds fit with the rows' weights");
		p.weight = NULL;
	}

	/*
	 * Rows 1 and 4 (fold 1) are predicted by the fit on rows 0, 2, 3, 5,
	 * warm-started from coef; by symmetry of the data every row gets that
	 * probability of its class, so the log loss is that of row 1.
	 */
	p.rows = rows_fold1;
	p.nrows = 4;
	memcpy(fold, coef, sizeof(coef));
	(void) sparse_logreg_fit(&p, fold, 1, NULL);
	sparse_logreg_predict_proba(2, 2, fold, 1, indices + indptr[1], values + indptr[1], proba);
	loss = -log(proba[1]);
	ok(ret == 0 && fabs(m.log_loss - loss) < 1e-9,
	   "sparse logistic cross-validation: log loss %.12g, from the fold's own fit %.12g",
	   m.log_loss, loss);
	p.rows = NULL;
	{
		int			fold[6];
		double		oof[6 * 2];
		CrossvalFolds f = by_position(6, 1, fold);

		ok(crossval_sparse_logreg(&p, &f, coef, oof) == -1,
		   "sparse logistic cross-validation refuses fewer than two folds");
	}
}

int
main(void)
{
	test_vocabulary();
	test_compact();
	test_csr();
	test_update();
	test_crossval_nbayes();
	test_crossval_nbayes_weights();
	test_crossval_logistic();
	return tap_finish();
}
