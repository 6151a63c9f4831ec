/*
 * lbfgs.h
 *		Limited-memory BFGS for a smooth convex objective.
 *
 * Plain C, no PostgreSQL types.  The minimiser knows nothing of logistic
 * regression: the caller passes a function that returns the objective at a
 * point and stores its gradient.  Both logistic solvers that need no
 * Hessian use it: sparse_logreg.c (hashed text) and logreg_lbfgs.c (dense
 * rows with many coefficients).  It calls no other file of hitl's except
 * numeric_alloc.c, so that neither of them calls into a file that calls
 * back.
 *
 * Deterministic: the same inputs give bit-identical results.
 */
#ifndef HITL_LBFGS_H
#define HITL_LBFGS_H

#include <stddef.h>

/*
 * Objective at x (len doubles); stores its gradient into grad.  May return
 * a non-finite value (overflow), which the line search treats as too long a
 * step.
 */
typedef double (*LbfgsObjective) (void *arg, const double *x, double *grad);

typedef struct LbfgsOptions
{
	int			max_iter;		/* accepted steps at most, >= 1 */
	double		tol;			/* stop when max |grad| / gscale <= tol */
	double		gscale;			/* > 0 */
} LbfgsOptions;

typedef struct LbfgsOutcome
{
	int			iterations;		/* accepted steps */
	int			converged;		/* 1 when the gradient test was met */
	double		objective;		/* at the returned point */
	double		grad_norm;		/* max |grad| / gscale there */
} LbfgsOutcome;

/*
 * Minimise from x (len doubles), which receives the last iterate, the best
 * one found.  Returns out->converged.  The loop stops when the gradient
 * test is met at the current point (before any step, so a start at the
 * optimum takes none), after max_iter steps, or when tol is below what
 * double precision resolves (no point found even along the steepest
 * descent, or many steps in a row without progress).
 */
extern int	lbfgs_minimise(LbfgsObjective fn, void *arg, double *x, size_t len,
						   const LbfgsOptions *opt, LbfgsOutcome *out);

/*
 * lbfgs_minimise, also stopping, converged, once the objective is flat: an
 * accepted step lowered it by at most flat times its magnitude (at least
 * 1) while the gradient test is met to LBFGS_FLAT_GRADIENT times tol.  On a
 * well-conditioned objective the gradient's last orders of magnitude move
 * the point, and the objective, by next to nothing; an ill-conditioned one
 * keeps a larger gradient, which the second condition catches.
 */
#define LBFGS_FLAT_GRADIENT 100.0
extern int	lbfgs_minimise_flat(LbfgsObjective fn, void *arg, double *x, size_t len,
								const LbfgsOptions *opt, double flat, LbfgsOutcome *out);

/* Largest absolute value of v[0 .. len) */
extern double lbfgs_max_abs(const double *v, size_t len);

#endif
