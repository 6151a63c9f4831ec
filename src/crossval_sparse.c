/*
 * crossval_sparse.c
 *		k-fold cross-validation of the sparse models: logistic regression by
 *		L-BFGS and naive Bayes (see crossval.h).
 *
 * Sparse logistic regression never copies rows: a fold fits on the row
 * indexes of the other folds (SparseLogregProblem.rows).  Naive Bayes
 * needs no fit: a fold's statistics are those of all rows minus the
 * fold's rows, so the cross-validation costs one pass over the rows and a
 * copy of the sums per fold.  Both fill the out-of-fold probabilities;
 * the folds are given (folds.c).  Row weights (weight_by_consensus) weigh
 * the rows in each fold's fit or sums; the probabilities are every row's.
 *
 * Plain C, no PostgreSQL types; see numeric_alloc.h for allocation.
 */
#include <string.h>

#include "crossval.h"
#include "numeric_alloc.h"

/*
 * Cross-validate sparse logistic regression: each fold fitted on the row
 * indexes of the others, warm-started from coef, and its held-out rows
 * predicted into proba.
 */
int
crossval_sparse_logreg(const SparseLogregProblem *p, const CrossvalFolds *f,
					   const double *coef, double *proba)
{
	int			n = p->x.n;
	int			k = p->k;
	int			ncoef = logreg_ncoef(p->x.d, k);
	double	   *fold_coef;
	int		   *rows;
	int			result = 0;
	int			fold;
	int			i;

	if (proba == NULL || !crossval_folds_valid(f, n))
		return -1;
	fold_coef = hitl_alloc(sizeof(double) * ncoef);
	rows = hitl_alloc(sizeof(int) * n);
	for (fold = 0; fold < f->nfolds && result == 0; fold++)
	{
		SparseLogregProblem sub = *p;
		LogregStatus st;
		int			nrows = 0;

		for (i = 0; i < n; i++)
			if (f->fold[i] != fold)
				rows[nrows++] = i;
		if (nrows == n)
			continue;			/* an empty fold */
		sub.rows = rows;
		sub.nrows = nrows;
		memcpy(fold_coef, coef, sizeof(double) * ncoef);
		st = sparse_logreg_fit(&sub, fold_coef, 1, NULL);
		if (st != LOGREG_OK && st != LOGREG_NOT_CONVERGED)
		{
			result = -1;
			break;
		}
		for (i = 0; i < n; i++)
		{
			int64_t		a = p->x.indptr[i];

			if (f->fold[i] != fold)
				continue;
			sparse_logreg_predict_proba(p->x.d, k, fold_coef, (int) (p->x.indptr[i + 1] - a),
										p->x.indices + a, p->x.values + a,
										proba + (size_t) i * k);
		}
	}
	hitl_free(fold_coef);
	hitl_free(rows);
	return result;
}

/*
 * Cross-validate naive Bayes: each fold's statistics are a copy of all
 * minus the fold's rows (each with its weight, 1 without weights), from
 * which its held-out rows are predicted into proba.  Whether a fold holds
 * every row of a class (no figures then) is told by counting rows, not by
 * the class's sum of weights, which may be anything.
 */
int
crossval_nbayes(const SparseMatrix *X, const int *y, const double *weight,
				const NBayesCounts *all, const CrossvalFolds *f, double alpha,
				double dimension, double *proba)
{
	int			k = all->k;
	NBayesCounts c;
	int64_t    *class_rows;
	int64_t    *held_rows;
	int			result = 0;
	int			fold;
	int			i;

	if (proba == NULL || !crossval_folds_valid(f, X->n))
		return -1;
	for (i = 0; i < X->n; i++)
		if (y[i] < 0 || y[i] >= k)
			return -1;
	class_rows = hitl_alloc(sizeof(int64_t) * k);
	held_rows = hitl_alloc(sizeof(int64_t) * k);
	memset(class_rows, 0, sizeof(int64_t) * k);
	for (i = 0; i < X->n; i++)
		class_rows[y[i]]++;
	nbayes_counts_init(&c, k, all->m);
	for (fold = 0; fold < f->nfolds && result == 0; fold++)
	{
		NBayesModel nb;
		int			held = 0;

		memcpy(c.class_count, all->class_count, sizeof(double) * k);
		memcpy(c.feature_count, all->feature_count, sizeof(double) * (size_t) k * all->m);
		memset(held_rows, 0, sizeof(int64_t) * k);
		for (i = 0; i < X->n; i++)
		{
			if (f->fold[i] != fold)
				continue;
			nbayes_counts_add(&c, y[i], (int) (X->indptr[i + 1] - X->indptr[i]),
							  X->indices + X->indptr[i], X->values + X->indptr[i],
							  weight != NULL ? -weight[i] : -1.0);
			held_rows[y[i]]++;
			held++;
		}
		if (held == 0)
			continue;			/* an empty fold */
		for (i = 0; i < k; i++)
			if (held_rows[i] == class_rows[i])
				result = 1;		/* a class only in this fold */
		if (result != 0)
			break;
		if (nbayes_model_from_counts(&nb, &c, alpha, dimension) != 0)
		{
			result = -1;
			break;
		}
		for (i = 0; i < X->n; i++)
			if (f->fold[i] == fold)
				nbayes_predict_row(&nb, X, i, proba + (size_t) i * k);
		nbayes_model_free(&nb);
		hitl_check_interrupts();
	}
	nbayes_counts_free(&c);
	hitl_free(class_rows);
	hitl_free(held_rows);
	return result;
}
