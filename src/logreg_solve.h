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

/*
 * L-BFGS's tol per unit of the problem's, which is Newton's.  Both stop
 * when the largest gradient component over C n is at most their tol, but
 * they approach the optimum differently: Newton converges quadratically,
 * so that tightening tol from 1e-5 to 1e-8 costs it one iteration at most,
 * and its default 1e-8 is an exact optimum for little; L-BFGS converges
 * linearly and would spend 20% to 240% more iterations on that last
 * stretch, which changes no test accuracy by more than 0.02 points and no
 * test log-loss by more than 0.31% on the shapes of
 * test/bench/train_shapes.sh (2 to 30 classes, 10 to 200 features; 3e-5
 * would move one by 0.82%, 1e-4 one by 4.4%).  So the default tol 1e-8
 * fits L-BFGS to 1e-5; a tighter tol still tightens both.
 */
#define LOGREG_LBFGS_TOL_FACTOR 1000.0

/*
 * And L-BFGS also stops, converged, once a step lowers the objective by at
 * most LOGREG_LBFGS_FLAT times its tol, relative (1e-6 by default), while
 * its gradient is within 100 times its tol (lbfgs_minimise_flat).  The
 * shapes of 10 and 50 features reach this plateau 10% to 30% sooner than
 * the gradient test, their test log-loss within 0.02% of its; those of 200
 * features meet the gradient test first.
 */
#define LOGREG_LBFGS_FLAT 0.1

/* The solver logreg_solve uses for n rows, d features and k classes */
extern LogregSolver logreg_choose_solver(int n, int d, int k);

/*
 * Fit by L-BFGS, with the contract of logreg_fit, except that max_iter
 * counts L-BFGS iterations and LOGREG_LAPACK_FAILED is never returned.
 */
extern LogregStatus logreg_lbfgs_fit(const LogregProblem *p, double *coef,
									 int warm_start, LogregResult *res);

/*
 * logreg_lbfgs_fit that also stops where the objective is flat (see
 * lbfgs_minimise_flat): a step lowered it by at most flat relative, the
 * gradient test being met to LBFGS_FLAT_GRADIENT times tol.
 */
extern LogregStatus logreg_lbfgs_fit_flat(const LogregProblem *p, double *coef,
										  int warm_start, double flat,
										  LogregResult *res);

/*
 * The residuals of a row of class label (logreg_lbfgs.c): its nvec scores
 * z (weights times the row plus intercepts; nvec = logreg_nvec(k)) are
 * replaced by probability minus target (the sigmoid's one for nvec == 1),
 * and its log-loss is returned.  What every dense pass adds up per row,
 * shared with the aggregates of agg_math.c.
 */
extern double logreg_row_residuals(int nvec, double *z, int label);

/*
 * The objective of p at coef, and its gradient into grad (ncoef doubles;
 * with k > 2 its intercept part centred), as L-BFGS sees them.
 */
extern double logreg_dense_objective(const LogregProblem *p, const double *coef,
									 double *grad);

/*
 * Fit by the solver logreg_choose_solver picks (for L-BFGS with max_iter *
 * LOGREG_LBFGS_ITER_FACTOR iterations, to tol * LOGREG_LBFGS_TOL_FACTOR or
 * a flat objective, relative steps of LOGREG_LBFGS_FLAT times that).
 * res->solver tells which, res->tol to what tolerance.
 */
extern LogregStatus logreg_solve(const LogregProblem *p, double *coef,
								 int warm_start, LogregResult *res);

#endif
