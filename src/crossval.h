/*
 * crossval.h
 *		Stratified-free k-fold cross-validation of the logistic model.
 *
 * Plain C, no PostgreSQL types.
 */
#ifndef HITL_CROSSVAL_H
#define HITL_CROSSVAL_H

#include <stdbool.h>

#include "logreg.h"
#include "metrics.h"

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

#endif
