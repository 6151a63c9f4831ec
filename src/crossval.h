/*
 * crossval.h
 *		Stratified-free k-fold cross-validation of hitl's models: dense
 *		logistic regression (crossval.c), sparse logistic regression and
 *		naive Bayes (crossval_sparse.c).
 *
 * Plain C, no PostgreSQL types.  Row i belongs to fold i % folds, so the
 * result is deterministic for a given row order.
 */
#ifndef HITL_CROSSVAL_H
#define HITL_CROSSVAL_H

#include <stdbool.h>

#include "logreg.h"
#include "metrics.h"
#include "nbayes.h"
#include "sparse_logreg.h"

/*
 * k-fold cross-validation: row i belongs to fold (i % folds).  p->x holds the
 * raw (unstandardized) features and missing, when not NULL, marks missing
 * values as in scaler.h.  Each fold's model standardizes with its own
 * training part (scaler_fit), is fitted on the other folds, warm-started from full_coef (the model
 * fitted on all rows; may be NULL for a cold start), and scored on the held
 * out rows; the out-of-fold probabilities of all rows give the metrics.
 * folds must be >= 2 and <= n.  A fold whose training part lacks some
 * classes is still fitted with all k classes (the missing ones get low
 * probabilities), and a fold fit that stops at max_iter is used as it is.
 * Returns 0 on success, -1 on invalid arguments or when a fold fit fails
 * (LOGREG_BAD_INPUT or LOGREG_LAPACK_FAILED).
 */
extern int	crossval_logreg(const LogregProblem *p, const bool *missing, int folds,
							const double *full_coef, ClassMetrics *out);

/*
 * Sparse logistic regression: each fold fitted on the rows of the other
 * folds (p->rows and p->nrows are set per fold; those of p are ignored),
 * warm-started from coef (the fit on all rows), a fold that stops at
 * max_iter used as it is.  Returns 0, or -1 when a fold fit fails
 * (LOGREG_BAD_INPUT) or folds is not in [2, n].
 */
extern int	crossval_sparse_logreg(const SparseLogregProblem *p, int folds, const double *coef,
								   ClassMetrics *out);

/*
 * Naive Bayes: each fold predicted from the statistics all (those of every
 * row of X with classes y) minus the fold's rows, with smoothing alpha over
 * dimension features (nbayes_model_build).  Returns 0; 1 when a fold holds
 * every row of a class (no metrics then); -1 when folds is not in [2, n]
 * or a fold's statistics are invalid.
 */
extern int	crossval_nbayes(const SparseMatrix *X, const int *y, const NBayesCounts *all,
							int folds, double alpha, double dimension, ClassMetrics *out);

#endif
