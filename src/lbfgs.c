/*
 * lbfgs.c
 *		Limited-memory BFGS for a smooth convex objective.
 *
 * See lbfgs.h for the contract.  Each iteration
 *
 *	1. computes the direction -H g by the two-loop recursion over the last
 *	   HISTORY pairs (s, y) of steps and gradient changes, with
 *	   H0 = (s'y / y'y) I from the newest pair (steepest descent while there
 *	   is no pair);
 *	2. searches along it from t = 1 (from t = 1 / ||g|| while there is no
 *	   pair yet), shrinking t by safeguarded quadratic interpolation until
 *	   the Armijo condition holds;
 *	3. keeps the new pair unless its curvature s'y is not clearly positive,
 *	   s'y <= CURVATURE_MIN ||s|| ||y|| (the angle between s and y within
 *	   1e-12 of a right angle, or beyond it): the objective is convex, so
 *	   only rounding produces such a pair, and it would make the inverse
 *	   Hessian estimate indefinite.
 *
 * A trial point that raises the objective by no more than OBJECTIVE_NOISE
 * (relative) but lowers the largest gradient component is accepted too, so
 * that a tight tol can still be met once decreases fall below what the
 * objective's sum resolves.
 *
 * lbfgs_minimise_flat also stops once an accepted step lowers the objective
 * by next to nothing while the gradient is nearly small enough (lbfgs.h).
 *
 * The vector operations run in a fixed order with no threads, so the
 * minimiser adds no nondeterminism to the objective's.  Memory: 2 HISTORY + 4
 * vectors of len doubles.
 *
 * Plain C, no PostgreSQL types; see numeric_alloc.h for allocation.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "lbfgs.h"
#include "numeric_alloc.h"

/* Curvature pairs kept */
#define HISTORY 10

/* Armijo sufficient-decrease constant */
#define ARMIJO_C1 1e-4

/* Line search: most trial points per iteration, and the interpolation guard */
#define MAX_TRIALS 50
#define SHRINK_MIN 0.1
#define SHRINK_MAX 0.5

/* A pair (s, y) is kept only when s'y > CURVATURE_MIN ||s|| ||y|| */
#define CURVATURE_MIN 1e-12

/* Relative change of the objective taken to be rounding noise (see above) */
#define OBJECTIVE_NOISE 1e-12

/*
 * Iterations in a row that neither lower the objective by more than
 * OBJECTIVE_NOISE nor halve the largest gradient component (relative to the
 * last iteration that did) after which the minimiser gives up: the iterate
 * is then as close to the optimum as double precision resolves.
 */
#define STALL_LIMIT 20
#define GRADIENT_PROGRESS 0.5

/*
 * The memory: up to HISTORY pairs in a ring, count of them valid, the
 * oldest at (head - count) mod HISTORY, the next to write at head.
 */
typedef struct Lbfgs
{
	double	   *s[HISTORY];		/* steps */
	double	   *y[HISTORY];		/* gradient changes */
	double		rho[HISTORY];	/* 1 / s'y */
	double		alpha[HISTORY];	/* two-loop scratch */
	int			count;
	int			head;
	double		gamma;			/* H0 scale s'y / y'y of the newest pair */
	size_t		len;
} Lbfgs;

/* A point, its objective, gradient and largest scaled gradient component */
typedef struct LbfgsPoint
{
	double	   *x;
	double	   *g;
	double		f;
	double		gmax;
} LbfgsPoint;

/*
 * Dot product of a and b (len doubles), summed in four interleaved partial
 * sums, always in the same order.
 */
static double
dot(const double *a, const double *b, size_t len)
{
	double		s0 = 0.0;
	double		s1 = 0.0;
	double		s2 = 0.0;
	double		s3 = 0.0;
	size_t		j = 0;

	for (; j + 4 <= len; j += 4)
	{
		s0 += a[j] * b[j];
		s1 += a[j + 1] * b[j + 1];
		s2 += a[j + 2] * b[j + 2];
		s3 += a[j + 3] * b[j + 3];
	}
	for (; j < len; j++)
		s0 += a[j] * b[j];
	return (s0 + s1) + (s2 + s3);
}

/* y += a x over len doubles (y and x do not overlap) */
static void
axpy(double *restrict y, double a, const double *restrict x, size_t len)
{
	size_t		j;

	for (j = 0; j < len; j++)
		y[j] += a * x[j];
}

double
lbfgs_max_abs(const double *v, size_t len)
{
	double		m = 0.0;
	size_t		j;

	for (j = 0; j < len; j++)
		if (fabs(v[j]) > m)
			m = fabs(v[j]);
	return m;
}

/*
 * Store into dir the direction -H g (the two-loop recursion); -g itself
 * while the memory is empty.
 */
static void
lbfgs_direction(Lbfgs *lb, const double *g, double *dir)
{
	size_t		len = lb->len;
	size_t		j;
	int			m;

	for (j = 0; j < len; j++)
		dir[j] = -g[j];
	if (lb->count == 0)
		return;

	for (m = 0; m < lb->count; m++)
	{
		int			slot = (lb->head - 1 - m + HISTORY) % HISTORY;

		lb->alpha[slot] = lb->rho[slot] * dot(lb->s[slot], dir, len);
		axpy(dir, -lb->alpha[slot], lb->y[slot], len);
	}
	for (j = 0; j < len; j++)
		dir[j] *= lb->gamma;
	for (m = lb->count - 1; m >= 0; m--)
	{
		int			slot = (lb->head - 1 - m + HISTORY) % HISTORY;
		double		beta = lb->rho[slot] * dot(lb->y[slot], dir, len);

		axpy(dir, lb->alpha[slot] - beta, lb->s[slot], len);
	}
}

/*
 * Record the pair of an accepted step from x to xt (gradients g and gt) in
 * the head slot.  When its curvature is not clearly positive it is not
 * kept; if the memory was full, the oldest pair, whose slot was just
 * overwritten, is dropped as well.
 */
static void
lbfgs_update(Lbfgs *lb, const double *x, const double *xt, const double *g,
			 const double *gt)
{
	double	   *s = lb->s[lb->head];
	double	   *y = lb->y[lb->head];
	double		sy;
	double		yy;
	double		ss;
	size_t		j;

	for (j = 0; j < lb->len; j++)
	{
		s[j] = xt[j] - x[j];
		y[j] = gt[j] - g[j];
	}
	sy = dot(s, y, lb->len);
	yy = dot(y, y, lb->len);
	ss = dot(s, s, lb->len);
	if (sy > CURVATURE_MIN * sqrt(ss) * sqrt(yy) && yy > 0.0)
	{
		lb->rho[lb->head] = 1.0 / sy;
		lb->gamma = sy / yy;
		lb->head = (lb->head + 1) % HISTORY;
		if (lb->count < HISTORY)
			lb->count++;
	}
	else if (lb->count == HISTORY)
		lb->count--;
}

/*
 * Search along dir from cur (slope g'dir < 0) for a point to accept,
 * starting at step t0 (see the top).  On success returns 1 with the point
 * in *next; returns 0 when MAX_TRIALS points failed or the step became too
 * short to change x.
 */
static int
line_search(LbfgsObjective fn, void *arg, size_t len, double gscale,
			const LbfgsPoint *cur, const double *dir, double slope, double t0,
			LbfgsPoint *next)
{
	double		t = t0;
	int			trial;

	for (trial = 0; trial < MAX_TRIALS; trial++)
	{
		size_t		moved = 0;
		size_t		j;
		double		curv;
		double		shorter;

		for (j = 0; j < len; j++)
		{
			next->x[j] = cur->x[j] + t * dir[j];
			moved += (next->x[j] != cur->x[j]);
		}
		if (moved == 0)
			return 0;

		next->f = fn(arg, next->x, next->g);
		if (!isfinite(next->f))
		{
			t *= SHRINK_MIN;
			continue;
		}
		next->gmax = lbfgs_max_abs(next->g, len) / gscale;
		if (next->f <= cur->f + ARMIJO_C1 * t * slope ||
			(next->f <= cur->f + OBJECTIVE_NOISE * fabs(cur->f) &&
			 next->gmax < cur->gmax))
			return 1;

		/* Next: the minimiser of the quadratic through f, slope and f(t) */
		curv = next->f - cur->f - slope * t;
		shorter = (curv > 0.0) ? -slope * t * t / (2.0 * curv) : SHRINK_MAX * t;
		t = fmax(SHRINK_MIN * t, fmin(SHRINK_MAX * t, shorter));
	}
	return 0;
}

/* lbfgs_minimise (flat 0) and lbfgs_minimise_flat */
static int
minimise(LbfgsObjective fn, void *arg, double *x, size_t len,
		 const LbfgsOptions *opt, double flat, LbfgsOutcome *out)
{
	Lbfgs		lb;
	LbfgsPoint	cur;
	LbfgsPoint	next;
	LbfgsPoint	swap;
	double	   *dir;
	double		gref;			/* gmax after the last iteration that made
								 * progress */
	int			stalled = 0;	/* iterations since then */
	int			is_flat;
	int			iter = 0;
	int			converged = 0;
	int			m;

	memset(&lb, 0, sizeof(lb));
	lb.len = len;
	for (m = 0; m < HISTORY; m++)
	{
		lb.s[m] = hitl_alloc(sizeof(double) * len);
		lb.y[m] = hitl_alloc(sizeof(double) * len);
	}
	dir = hitl_alloc(sizeof(double) * len);
	cur.x = hitl_alloc(sizeof(double) * len);
	cur.g = hitl_alloc(sizeof(double) * len);
	next.x = hitl_alloc(sizeof(double) * len);
	next.g = hitl_alloc(sizeof(double) * len);

	memcpy(cur.x, x, sizeof(double) * len);
	cur.f = fn(arg, cur.x, cur.g);
	cur.gmax = lbfgs_max_abs(cur.g, len) / opt->gscale;
	gref = cur.gmax;

	for (;;)
	{
		double		slope;

		if (cur.gmax <= opt->tol)
		{
			converged = 1;
			break;
		}
		if (iter >= opt->max_iter || stalled >= STALL_LIMIT)
			break;
		hitl_check_interrupts();

		lbfgs_direction(&lb, cur.g, dir);
		slope = dot(cur.g, dir, len);
		if (!(slope < 0.0) || !isfinite(slope))
		{
			/* Not a descent direction (rounding): forget the pairs */
			lb.count = 0;
			lbfgs_direction(&lb, cur.g, dir);
			slope = dot(cur.g, dir, len);
		}

		if (!line_search(fn, arg, len, opt->gscale, &cur, dir, slope,
						 (lb.count == 0) ? fmin(1.0, 1.0 / sqrt(-slope)) : 1.0,
						 &next))
		{
			if (lb.count == 0)
				break;			/* not even steepest descent finds a point */
			lb.count = 0;		/* try again along steepest descent */
			continue;
		}

		lbfgs_update(&lb, cur.x, next.x, cur.g, next.g);
		is_flat = (flat > 0.0 && cur.f - next.f <= flat * fmax(fabs(next.f), 1.0) &&
				   next.gmax <= LBFGS_FLAT_GRADIENT * opt->tol);
		if (next.f < cur.f - OBJECTIVE_NOISE * fabs(cur.f) ||
			next.gmax <= GRADIENT_PROGRESS * gref)
		{
			stalled = 0;
			gref = next.gmax;
		}
		else
			stalled++;
		swap = cur;
		cur = next;
		next = swap;
		iter++;
		if (is_flat)
		{
			converged = 1;
			break;
		}
	}

	memcpy(x, cur.x, sizeof(double) * len);
	out->iterations = iter;
	out->converged = converged;
	out->objective = cur.f;
	out->grad_norm = cur.gmax;

	for (m = 0; m < HISTORY; m++)
	{
		hitl_free(lb.s[m]);
		hitl_free(lb.y[m]);
	}
	hitl_free(dir);
	hitl_free(cur.x);
	hitl_free(cur.g);
	hitl_free(next.x);
	hitl_free(next.g);
	return converged;
}

int
lbfgs_minimise(LbfgsObjective fn, void *arg, double *x, size_t len,
			   const LbfgsOptions *opt, LbfgsOutcome *out)
{
	return minimise(fn, arg, x, len, opt, 0.0, out);
}

int
lbfgs_minimise_flat(LbfgsObjective fn, void *arg, double *x, size_t len,
					const LbfgsOptions *opt, double flat, LbfgsOutcome *out)
{
	return minimise(fn, arg, x, len, opt, flat, out);
}
