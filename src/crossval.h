/*
 * crossval.h
 *		k-fold cross-validation of hitl's models: dense logistic regression
 *		(crossval.c), sparse logistic regression and naive Bayes
 *		(crossval_sparse.c).
 *
 * Plain C, no PostgreSQL types.  The folds are given (folds.c assigns
 * them); each function fills the out-of-fold probabilities of every row,
 * predicted by a model that did not see it, from which the metrics are
 * computed (class_metrics, confusion_count in metrics.h).
 */
#ifndef HITL_CROSSVAL_H
#define HITL_CROSSVAL_H

#include <stdbool.h>

#include "logreg.h"
#include "metrics.h"
#include "nbayes.h"
#include "sparse_logreg.h"

/*
 * The folds of a cross-validation: row i is held out in fold[i], in
 * [0, nfolds).  A fold without rows is skipped.
 */
typedef struct CrossvalFolds
{
	int			nfolds;
	const int  *fold;
} CrossvalFolds;

/* Are the folds valid for n rows: nfolds >= 2, every fold[i] in range? */
static inline bool
crossval_folds_valid(const CrossvalFolds *f, int n)
{
	int			i;

	if (f == NULL || f->fold == NULL || f->nfolds < 2 || n < 2)
		return false;
	for (i = 0; i < n; i++)
		if (f->fold[i] < 0 || f->fold[i] >= f->nfolds)
			return false;
	return true;
}

/*
 * Dense logistic regression, out of fold into proba (n x k).  p->x holds
 * the raw (unstandardized) features and missing, when not NULL, marks
 * missing values as in scaler.h; p->weight, when not NULL, weighs each
 * row in the fits of the folds that train on it.  Each fold's model
 * standardizes with its own training part (scaler_fit), is fitted on the
 * other folds, warm-started from full_coef (the model fitted on all rows;
 * may be NULL for a cold start), and predicts the held-out rows.  A fold whose
 * training part lacks some classes is still fitted with all k classes (the
 * missing ones get low probabilities), and a fold fit that stops at
 * max_iter is used as it is.  Returns 0 on success, -1 on invalid
 * arguments or when a fold fit fails (LOGREG_BAD_INPUT or
 * LOGREG_LAPACK_FAILED).
 */
extern int	crossval_logreg(const LogregProblem *p, const bool *missing,
							const CrossvalFolds *f, const double *full_coef, double *proba);

/*
 * Sparse logistic regression: each fold fitted on the rows of the other
 * folds (p->rows and p->nrows are set per fold; those of p are ignored;
 * p->weight, indexed like p->x, applies as it is),
 * warm-started from coef (the fit on all rows), a fold that stops at
 * max_iter used as it is; out of fold into proba (n x k).  Returns 0, or
 * -1 when a fold fit fails (LOGREG_BAD_INPUT) or the folds are invalid.
 */
extern int	crossval_sparse_logreg(const SparseLogregProblem *p, const CrossvalFolds *f,
								   const double *coef, double *proba);

/*
 * Naive Bayes: each fold predicted from the statistics all (those of every
 * row of X with classes y, each added with its weight: weight[i], or 1
 * when weight is NULL) minus the fold's rows, with smoothing alpha over
 * dimension features (nbayes_model_build), out of fold into proba
 * (n x k).  Returns 0; 1 when a fold holds every row of a class (no
 * figures then); -1 when the folds, a class or a fold's statistics are
 * invalid.
 */
extern int	crossval_nbayes(const SparseMatrix *X, const int *y, const double *weight,
							const NBayesCounts *all, const CrossvalFolds *f, double alpha,
							double dimension, double *proba);


#endif
