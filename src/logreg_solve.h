/*
 * logreg_solve.h
 *		Dense logistic regression by L-BFGS, and the choice of solver.
 *
 * Plain C, no PostgreSQL types.  The problem, the objective, the coefficient
 * layout and the statuses are those of logreg.h.  logreg_fit (Newton, in
 * logreg.c) assembles a Hessian of ncoef^2 doubles at every iteration: the
 * fastest way to the optimum while there are few coefficients, far the
 * slowest when there are many (many classes, many features).  L-BFGS
 * (logreg_lbfgs.c) needs only gradients, two matrix products per iteration,
 * and memory linear in ncoef, at the price of tens of times as many
 * iterations.  logreg_solve picks one from the problem's shape.
 */
#ifndef HITL_LOGREG_SOLVE_H
#define HITL_LOGREG_SOLVE_H

#include "logreg.h"

/*
 * Most coefficients logreg_fit is given here: its Hessian is ncoef^2
 * doubles, 128 MB at this bound.
 */
#define LOGREG_NEWTON_MAX_COEF 4096

/*
 * Most coefficients L-BFGS is given: it keeps 24 vectors of ncoef doubles
 * (about 50 MB at this bound).
 */
#define LOGREG_DENSE_MAX_COEF (256 * 1024)

/*
 * L-BFGS iterations allowed per iteration of max_iter, which counts Newton
 * iterations (of which a fit needs a handful); L-BFGS needs tens of times
 * as many, each far cheaper.
 */
#define LOGREG_LBFGS_ITER_FACTOR 30

/* The solver logreg_solve uses for n rows, d features and k classes */
extern LogregSolver logreg_choose_solver(int n, int d, int k);

/*
 * Fit by L-BFGS, with the contract of logreg_fit, except that max_iter
 * counts L-BFGS iterations and LOGREG_LAPACK_FAILED is never returned.
 */
extern LogregStatus logreg_lbfgs_fit(const LogregProblem *p, double *coef,
									 int warm_start, LogregResult *res);

/*
 * Fit by the solver logreg_choose_solver picks (for L-BFGS with max_iter *
 * LOGREG_LBFGS_ITER_FACTOR iterations).  res->solver tells which.
 */
extern LogregStatus logreg_solve(const LogregProblem *p, double *coef,
								 int warm_start, LogregResult *res);

#endif
