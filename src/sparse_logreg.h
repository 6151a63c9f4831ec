/*
 * sparse_logreg.h
 *		L2-regularised logistic regression on sparse rows, by L-BFGS.
 *
 * Plain C, no PostgreSQL types.  The objective, the coefficient layout and
 * the meaning of C, tol and max_iter are those of logreg.h (scikit-learn's
 * LogisticRegression(C = C, penalty = 'l2'), intercepts unpenalised, binary
 * with one weight vector when k == 2, multinomial otherwise):
 *
 *		minimise  0.5 * ||W||^2  +  C * sum_i w_i * loss_i
 *
 * (w_i the row weights, 1 without them: scikit-learn's sample_weight).
 *
 * This is the solver for high-dimensional features (hashed text), where
 * Newton's d x d Hessian does not fit: limited-memory BFGS with a
 * backtracking line search, costing O(nnz * nvec) per iteration and
 * O(history * (d + 1) * nvec) memory.  Deterministic: the same inputs in the
 * same order give bit-identical coefficients.
 */
#ifndef HITL_SPARSE_LOGREG_H
#define HITL_SPARSE_LOGREG_H

#include "logreg.h"
#include "sparse.h"

typedef struct SparseLogregProblem
{
	SparseMatrix x;				/* all rows */
	const int  *rows;			/* the rows to fit on (indices into x), or
								 * NULL for all of them */
	int			nrows;			/* their number (ignored when rows is NULL) */
	int			k;				/* classes, >= 2 */
	const int  *y;				/* x.n class indices in [0, k) (indexed like
								 * x, also when rows is given) */
	double		C;				/* > 0 */
	int			max_iter;		/* L-BFGS iterations at most, >= 1 */
	double		tol;			/* stop when max |g| / (C * S) <= tol, S being
								 * the sum of the weights of the rows fitted
								 * on, their number without weights (as
								 * logreg.h) */
	const double *weight;		/* x.n row weights (indexed like x, also when
								 * rows is given), or NULL for all 1; those
								 * of the fitted rows finite, >= 0, summing to
								 * more than 0 */
} SparseLogregProblem;

/*
 * Fit.  coef has logreg_ncoef(x.d, k) doubles; with warm_start non-zero its
 * contents are the starting point, otherwise the start is zero.  Returns
 * LOGREG_OK, LOGREG_BAD_INPUT or LOGREG_NOT_CONVERGED (coef then holds the
 * last iterate).  res may be NULL; res->iterations counts L-BFGS iterations.
 */
extern LogregStatus sparse_logreg_fit(const SparseLogregProblem *p, double *coef,
									  int warm_start, LogregResult *res);

/*
 * Class probabilities of one sparse row (nnz entries idx/val, columns in
 * [0, d)) into proba (k doubles summing to 1).
 */
extern void sparse_logreg_predict_proba(int d, int k, const double *coef,
										int nnz, const int *idx, const double *val,
										double *proba);

#endif
