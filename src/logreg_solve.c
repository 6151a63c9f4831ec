/*
 * logreg_solve.c
 *		The choice of solver for dense logistic regression.
 *
 * See logreg_solve.h.  The choice compares estimates of the work of the
 * two fits, in multiply-adds:
 *
 *	Newton: about NEWTON_ITERATIONS iterations, each assembling the Hessian
 *	  from n rows, nvec (nvec + 1) / 2 blocks of dim^2, after scaling a copy
 *	  of the rows for each block (NEWTON_ROW_COST per row and block), and
 *	  factorising it (ncoef^3 / 6);
 *	L-BFGS: about LBFGS_ITERATIONS_BINARY (k == 2) or LBFGS_ITERATIONS
 *	  iterations of two products over the rows (2 n dim nvec) and an exp()
 *	  and a few divisions per row and class (LBFGS_ROW_COST).
 *
 * The iteration counts are those measured on Gaussian classes
 * (test/bench/train_shapes.sh: 20,000 rows, 2 to 30 classes, 10 to 200
 * features) with the default tol, 1e-8 for Newton and 1e-5 for L-BFGS
 * (LOGREG_LBFGS_TOL_FACTOR): 6 to 16 L-BFGS iterations for two classes, 9
 * to 40 for more; the costs per row make the estimates track the measured
 * times (about 0.3 ns per unit for both).  Newton is kept whenever its
 * estimate is below NEWTON_CHEAP, about 8 ms: then the choice costs a few
 * milliseconds at most and Newton's exact optimum is the better one (its
 * cross-validation from a cold start agrees with the warm-started one to
 * 1e-7 in log-loss, which L-BFGS's looser tolerance does not give).  Above
 * it the cheaper estimate wins: on 20,000 rows of 2 classes and 10 features
 * (test/bench/train_shapes.sh) Newton's 5 iterations took twice the time of
 * L-BFGS's 6 (estimates 33M and 15M), which a bound of 5e7 gave to Newton.
 *
 * This file calls the solvers; none of them calls back into it.
 */
#include <limits.h>
#include <stddef.h>

#include "logreg.h"
#include "logreg_solve.h"

#define NEWTON_ITERATIONS 8.0
#define NEWTON_ROW_COST 8.0
#define LBFGS_ITERATIONS 30.0
#define LBFGS_ITERATIONS_BINARY 12.0
#define LBFGS_ROW_COST 20.0
#define NEWTON_CHEAP 3e7

LogregSolver
logreg_choose_solver(int n, int d, int k)
{
	double		nvec = logreg_nvec(k);
	double		dim = (double) d + 1.0;
	double		ncoef = nvec * dim;
	double		newton;
	double		lbfgs;

	if (ncoef > LOGREG_NEWTON_MAX_COEF)
		return LOGREG_SOLVER_LBFGS;
	newton = NEWTON_ITERATIONS *
		((double) n * nvec * (nvec + 1.0) / 2.0 * dim * (dim + NEWTON_ROW_COST) +
		 ncoef * ncoef * ncoef / 6.0);
	lbfgs = (k == 2 ? LBFGS_ITERATIONS_BINARY : LBFGS_ITERATIONS) *
		(double) n * nvec * (4.0 * dim + LBFGS_ROW_COST);
	if (newton <= NEWTON_CHEAP || newton <= lbfgs)
		return LOGREG_SOLVER_NEWTON;
	return LOGREG_SOLVER_LBFGS;
}

LogregStatus
logreg_solve(const LogregProblem *p, double *coef, int warm_start,
			 LogregResult *res)
{
	LogregProblem q;

	if (p == NULL || p->max_iter < 1 || p->n < 1 || p->d < 0 || p->k < 2 ||
		logreg_choose_solver(p->n, p->d, p->k) == LOGREG_SOLVER_NEWTON)
		return logreg_fit(p, coef, warm_start, res);	/* it rejects bad input */

	q = *p;
	q.max_iter = (p->max_iter > INT_MAX / LOGREG_LBFGS_ITER_FACTOR) ? INT_MAX
		: p->max_iter * LOGREG_LBFGS_ITER_FACTOR;
	q.tol = p->tol * LOGREG_LBFGS_TOL_FACTOR;	/* NaN stays NaN: refused */
	return logreg_lbfgs_fit_flat(&q, coef, warm_start, q.tol * LOGREG_LBFGS_FLAT, res);
}
