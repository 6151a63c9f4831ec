/*
 * sparse_logreg.c
 *		L2-regularised logistic regression on sparse rows, by L-BFGS.
 *
 * The solver for high-dimensional sparse features (hashed text), where
 * logreg.c's Newton method would need a Hessian of (d + 1) k squared
 * doubles.  Same objective, coefficient layout, stopping test and statuses
 * as logreg.c; see sparse_logreg.h for the contract.  A fit
 *
 *	1. copies the rows it fits on into a compact CSR whose columns are
 *	   renumbered, in ascending order, to those that occur in them (the
 *	   "active" columns).  A column no fitted row uses adds only 0.5 w^2 to
 *	   the objective, so its weights are exactly 0 at the optimum: they are
 *	   set to 0 (also in a warm start) and never carried along.  For hashed
 *	   text, where most hash buckets are empty, this shrinks every vector
 *	   below;
 *	2. keeps the coefficients interleaved by column inside: active column
 *	   j's nvec weights are v[j * nvec .. j * nvec + nvec - 1], followed at
 *	   the end by the nvec intercepts, so that a row's scores and its share
 *	   of the gradient touch one contiguous run per non-zero;
 *	3. runs L-BFGS: the two-loop recursion over the last HISTORY pairs
 *	   (s, y) of steps and gradient changes, with H0 = (s'y / y'y) I from the
 *	   newest pair, then a backtracking line search from t = 1 (from
 *	   t = 1 / ||g|| while there is no pair yet) that shrinks t by
 *	   safeguarded quadratic interpolation until the Armijo condition holds.
 *	   A pair whose curvature s'y is not clearly positive,
 *	   s'y <= CURVATURE_MIN ||s|| ||y|| (the angle between s and y within
 *	   1e-12 of a right angle, or beyond it), is not kept: the objective is
 *	   convex, so only rounding produces such a pair, and it would make the
 *	   inverse Hessian estimate indefinite.
 *
 * With k > 2 the softmax is unchanged when the same constant is added to all
 * intercepts.  The intercepts are centred on entry and the gradient's
 * intercept part, whose sum is zero up to rounding, is centred exactly, so
 * every step keeps them centred; they are centred once more on return.
 *
 * Each pass runs in a fixed order with no threads and no BLAS, so the same
 * input gives bit-identical coefficients.  Memory: the compact CSR
 * (O(nnz)), plus 2 HISTORY + 5 vectors of (active columns + 1) * nvec
 * doubles.
 *
 * Plain C, no PostgreSQL types; see numeric_alloc.h for allocation.
 */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "numeric_alloc.h"
#include "metrics.h"
#include "sparse_logreg.h"

/* Curvature pairs kept by L-BFGS */
#define HISTORY 10

/* Armijo sufficient-decrease constant */
#define ARMIJO_C1 1e-4

/* Line search: most trial points per iteration, and the interpolation guard */
#define MAX_TRIALS 50
#define SHRINK_MIN 0.1
#define SHRINK_MAX 0.5

/* A pair (s, y) is kept only when s'y > CURVATURE_MIN ||s|| ||y|| */
#define CURVATURE_MIN 1e-12

/*
 * Relative change of the objective that is taken to be rounding noise: a
 * trial point that raises the objective by no more than this but lowers the
 * largest gradient component is accepted (as in logreg.c), so that a tight
 * tol can still be met once decreases fall below what the sum resolves.
 */
#define OBJECTIVE_NOISE 1e-12

/*
 * Iterations in a row that neither lower the objective by more than
 * OBJECTIVE_NOISE nor halve the largest gradient component (relative to the
 * last iteration that did) after which the fit gives up: the iterate is then
 * as close to the optimum as double precision resolves, and any tol below
 * its gradient cannot be met.
 */
#define STALL_LIMIT 20
#define GRADIENT_PROGRESS 0.5

/* Rows between interrupt checks in a pass over the data */
#define ROWS_PER_CHECK 8192

/* The fitted rows in compact form, and the per-row scratch space */
typedef struct SparseWork
{
	int			n;				/* rows fitted */
	int			nvec;			/* coefficient vectors */
	int			nact;			/* active columns */
	size_t		nw;				/* weights inside: nact * nvec */
	size_t		len;			/* whole vector inside: nw + nvec */
	double		C;
	int64_t    *indptr;			/* n + 1 offsets */
	int		   *indices;		/* active column numbers */
	double	   *values;
	int		   *y;				/* the fitted rows' labels */
	int		   *active;			/* nact original column numbers, ascending */
	double	   *z;				/* nvec scores of one row */
	double	   *r;				/* nvec residuals (probability - target) */
} SparseWork;

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

/*
 * y += a x over len doubles (y and x do not overlap).  Unrolled by four so
 * that compilers vectorise it at -O2; each element gets the same single
 * multiply and add whatever the unrolling, so results do not depend on it.
 */
static void
axpy(double *restrict y, double a, const double *restrict x, size_t len)
{
	size_t		j = 0;

	for (; j + 4 <= len; j += 4)
	{
		y[j] += a * x[j];
		y[j + 1] += a * x[j + 1];
		y[j + 2] += a * x[j + 2];
		y[j + 3] += a * x[j + 3];
	}
	for (; j < len; j++)
		y[j] += a * x[j];
}

/* Largest absolute value of v[0 .. len) */
static double
max_abs(const double *v, size_t len)
{
	double		m = 0.0;
	size_t		j;

	for (j = 0; j < len; j++)
		if (fabs(v[j]) > m)
			m = fabs(v[j]);
	return m;
}

/*
 * Return the log-loss of one row with scores z (nvec of them) and class
 * label, and store the residuals probability - target into r.
 *
 * Softmax: with e_a = exp(z_a - max z) and S = sum of e, the loss
 * -log(e_label / S) is log1p(others / e_label) while the label's class is
 * likely (others = S - e_label, summed without it), which keeps its
 * precision near 0, and max z - z_label + log S otherwise.  The label's
 * residual -others / S avoids the cancellation of p - 1.
 */
static double
row_loss(int nvec, const double *z, int label, double *r)
{
	double		zmax;
	double		sum = 0.0;
	double		others = 0.0;
	double		ey;
	int			a;

	if (nvec == 1)
	{
		if (label == 1)
		{
			r[0] = -logreg_sigmoid(-z[0]);
			return logreg_softplus(-z[0]);
		}
		r[0] = logreg_sigmoid(z[0]);
		return logreg_softplus(z[0]);
	}

	zmax = z[0];
	for (a = 1; a < nvec; a++)
		if (z[a] > zmax)
			zmax = z[a];
	for (a = 0; a < nvec; a++)
	{
		r[a] = exp(z[a] - zmax);
		sum += r[a];
		if (a != label)
			others += r[a];
	}
	ey = r[label];
	for (a = 0; a < nvec; a++)
		r[a] /= sum;
	r[label] = -others / sum;
	if (others <= ey)
		return log1p(others / ey);
	return zmax - z[label] + log(sum);
}

/* Subtract the mean of v[0 .. nvec) from each of them */
static void
centre(double *v, int nvec)
{
	double		mean = 0.0;
	int			a;

	for (a = 0; a < nvec; a++)
		mean += v[a];
	mean /= nvec;
	for (a = 0; a < nvec; a++)
		v[a] -= mean;
}

/*
 * Return the objective at v (inner layout) and store its gradient into grad.
 * One pass over the rows: each row's scores, its loss and residuals, then
 * the residuals times the row scattered into the gradient.
 */
static double
objective_gradient(const SparseWork *w, const double *v, double *grad)
{
	int			nvec = w->nvec;
	const double *bias = v + w->nw;
	double	   *gbias = grad + w->nw;
	double		loss = 0.0;
	double		penalty = 0.0;
	int			i;
	int			a;
	size_t		j;

	memset(grad, 0, sizeof(double) * w->len);
	for (i = 0; i < w->n; i++)
	{
		int64_t		t;

		if (i % ROWS_PER_CHECK == 0)
			hitl_check_interrupts();

		memcpy(w->z, bias, sizeof(double) * nvec);
		for (t = w->indptr[i]; t < w->indptr[i + 1]; t++)
			axpy(w->z, w->values[t], v + (size_t) w->indices[t] * nvec, nvec);

		loss += row_loss(nvec, w->z, w->y[i], w->r);

		for (t = w->indptr[i]; t < w->indptr[i + 1]; t++)
			axpy(grad + (size_t) w->indices[t] * nvec, w->values[t], w->r, nvec);
		axpy(gbias, 1.0, w->r, nvec);
	}

	for (j = 0; j < w->nw; j++)
	{
		penalty += v[j] * v[j];
		grad[j] = v[j] + w->C * grad[j];
	}
	for (a = 0; a < nvec; a++)
		gbias[a] *= w->C;

	/* The intercept gradients sum to zero; make it exact (see the top) */
	if (nvec > 1)
		centre(gbias, nvec);

	return 0.5 * penalty + w->C * loss;
}

/*
 * Check a problem and a starting point; returns 0 when the fit can proceed.
 * Only the fitted rows' labels, columns and values are looked at: rows
 * outside p->rows may hold anything (an unlabeled row's label, say).
 */
static int
check_problem(const SparseLogregProblem *p, const double *coef, int warm_start)
{
	const SparseMatrix *x;
	int			nfit;
	int			i;

	if (p == NULL || coef == NULL)
		return -1;
	x = &p->x;
	nfit = (p->rows != NULL) ? p->nrows : x->n;
	if (x->n < 1 || nfit < 1 || x->d < 0 || p->k < 2 || p->max_iter < 1)
		return -1;
	if (!(p->C > 0.0) || !isfinite(p->C) || !(p->tol >= 0.0))
		return -1;
	if (p->y == NULL || x->indptr == NULL || x->indptr[0] != 0)
		return -1;
	if ((double) logreg_nvec(p->k) * ((double) x->d + 1.0) > (double) INT_MAX)
		return -1;

	for (i = 0; i < nfit; i++)
	{
		int			row = (p->rows != NULL) ? p->rows[i] : i;
		int64_t		t;

		if (i % ROWS_PER_CHECK == 0)
			hitl_check_interrupts();
		if (row < 0 || row >= x->n)
			return -1;
		if (p->y[row] < 0 || p->y[row] >= p->k)
			return -1;
		if (x->indptr[row + 1] < x->indptr[row])
			return -1;
		if (x->indptr[row + 1] > x->indptr[row] &&
			(x->indices == NULL || x->values == NULL))
			return -1;
		for (t = x->indptr[row]; t < x->indptr[row + 1]; t++)
			if (x->indices[t] < 0 || x->indices[t] >= x->d ||
				!isfinite(x->values[t]))
				return -1;
	}

	if (warm_start)
	{
		int			ncoef = logreg_ncoef(x->d, p->k);

		for (i = 0; i < ncoef; i++)
			if (!isfinite(coef[i]))
				return -1;
	}
	return 0;
}

/*
 * Copy the fitted rows of a checked problem into w's compact CSR, numbering
 * the columns they use in ascending order.
 */
static void
build_work(const SparseLogregProblem *p, SparseWork *w)
{
	const SparseMatrix *x = &p->x;
	int		   *colmap = hitl_alloc(sizeof(int) * (x->d > 0 ? x->d : 1));
	int64_t		nnz = 0;
	int			i;
	int			j;

	memset(w, 0, sizeof(*w));
	w->n = (p->rows != NULL) ? p->nrows : x->n;
	w->nvec = logreg_nvec(p->k);
	w->C = p->C;

	/* Mark the used columns (colmap 1), then number them */
	for (i = 0; i < w->n; i++)
	{
		int			row = (p->rows != NULL) ? p->rows[i] : i;
		int64_t		t;

		for (t = x->indptr[row]; t < x->indptr[row + 1]; t++)
			colmap[x->indices[t]] = 1;
		nnz += x->indptr[row + 1] - x->indptr[row];
	}
	for (j = 0; j < x->d; j++)
		if (colmap[j])
			w->nact++;
	w->active = hitl_alloc(sizeof(int) * (w->nact > 0 ? w->nact : 1));
	w->nact = 0;
	for (j = 0; j < x->d; j++)
		if (colmap[j])
		{
			colmap[j] = w->nact;
			w->active[w->nact++] = j;
		}
	w->nw = (size_t) w->nact * w->nvec;
	w->len = w->nw + w->nvec;

	w->indptr = hitl_alloc(sizeof(int64_t) * (w->n + 1));
	w->indices = hitl_alloc(sizeof(int) * (nnz > 0 ? nnz : 1));
	w->values = hitl_alloc(sizeof(double) * (nnz > 0 ? nnz : 1));
	w->y = hitl_alloc(sizeof(int) * w->n);
	nnz = 0;
	for (i = 0; i < w->n; i++)
	{
		int			row = (p->rows != NULL) ? p->rows[i] : i;
		int64_t		t;

		for (t = x->indptr[row]; t < x->indptr[row + 1]; t++)
		{
			w->indices[nnz] = colmap[x->indices[t]];
			w->values[nnz] = x->values[t];
			nnz++;
		}
		w->indptr[i + 1] = nnz;
		w->y[i] = p->y[row];
	}
	w->z = hitl_alloc(sizeof(double) * w->nvec);
	w->r = hitl_alloc(sizeof(double) * w->nvec);
	hitl_free(colmap);
}

static void
free_work(SparseWork *w)
{
	hitl_free(w->indptr);
	hitl_free(w->indices);
	hitl_free(w->values);
	hitl_free(w->y);
	hitl_free(w->active);
	hitl_free(w->z);
	hitl_free(w->r);
}

/*
 * The L-BFGS memory: up to HISTORY pairs in a ring, count of them valid,
 * the oldest at (head - count) mod HISTORY, the next to write at head.
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
} Lbfgs;

/*
 * Store into dir the L-BFGS direction -H g (the two-loop recursion);
 * -g itself while the memory is empty.
 */
static void
lbfgs_direction(Lbfgs *lb, const double *g, double *dir, size_t len)
{
	size_t		j;
	int			m;

	for (j = 0; j < len; j++)
		dir[j] = -g[j];
	if (lb->count == 0)
		return;

	for (m = 0; m < lb->count; m++)
	{
		int			slot = (lb->head - 1 - m + HISTORY) % HISTORY;
		const double *ys = lb->y[slot];

		lb->alpha[slot] = lb->rho[slot] * dot(lb->s[slot], dir, len);
		axpy(dir, -lb->alpha[slot], ys, len);
	}
	for (j = 0; j < len; j++)
		dir[j] *= lb->gamma;
	for (m = lb->count - 1; m >= 0; m--)
	{
		int			slot = (lb->head - 1 - m + HISTORY) % HISTORY;
		const double *ss = lb->s[slot];
		double		beta = lb->rho[slot] * dot(lb->y[slot], dir, len);

		axpy(dir, lb->alpha[slot] - beta, ss, len);
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
			 const double *gt, size_t len)
{
	double	   *s = lb->s[lb->head];
	double	   *y = lb->y[lb->head];
	double		sy;
	double		yy;
	double		ss;
	size_t		j;

	for (j = 0; j < len; j++)
	{
		s[j] = xt[j] - x[j];
		y[j] = gt[j] - g[j];
	}
	sy = dot(s, y, len);
	yy = dot(y, y, len);
	ss = dot(s, s, len);
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
 * Search along dir from x (objective f, gradient g, slope g'dir < 0) for a
 * point the fit accepts, starting at step t0: the Armijo condition, or a
 * change of the objective within rounding noise that lowers the largest
 * gradient component below gmax.  On success returns 1 with the point in
 * xt, its gradient in gt, its objective in *ft and its largest scaled
 * gradient component in *gmax_t; returns 0 when MAX_TRIALS points failed or
 * the step became too short to change x.
 */
static int
line_search(const SparseWork *w, const double *x, double f, double gmax,
			double gscale, const double *dir, double slope, double t0,
			double *xt, double *gt, double *ft, double *gmax_t)
{
	double		t = t0;
	int			trial;

	for (trial = 0; trial < MAX_TRIALS; trial++)
	{
		size_t		moved = 0;
		size_t		j;
		double		curv;
		double		next;

		for (j = 0; j < w->len; j++)
		{
			xt[j] = x[j] + t * dir[j];
			moved += (xt[j] != x[j]);
		}
		if (moved == 0)
			return 0;

		*ft = objective_gradient(w, xt, gt);
		if (!isfinite(*ft))
		{
			t *= SHRINK_MIN;
			continue;
		}
		*gmax_t = max_abs(gt, w->len) / gscale;
		if (*ft <= f + ARMIJO_C1 * t * slope ||
			(*ft <= f + OBJECTIVE_NOISE * fabs(f) && *gmax_t < gmax))
			return 1;

		/* Next: the minimiser of the quadratic through f, slope and *ft */
		curv = *ft - f - slope * t;
		next = (curv > 0.0) ? -slope * t * t / (2.0 * curv) : SHRINK_MAX * t;
		t = fmax(SHRINK_MIN * t, fmin(SHRINK_MAX * t, next));
	}
	return 0;
}

/*
 * Fit the model by L-BFGS; see sparse_logreg.h for the contract.
 *
 * The loop stops when max |grad f| / (C n) <= tol, measured at the current
 * iterate before any step (so a warm start at the solution takes no
 * iteration), or after max_iter accepted steps.  It also stops, reporting
 * LOGREG_NOT_CONVERGED, when tol is below what double precision resolves:
 * when the line search finds no point even along the steepest descent
 * direction, or after STALL_LIMIT iterations in a row without progress.
 * Every accepted step lowers the objective (up to OBJECTIVE_NOISE), so the
 * last iterate returned is the best one.
 */
LogregStatus
sparse_logreg_fit(const SparseLogregProblem *p, double *coef, int warm_start,
				  LogregResult *res)
{
	SparseWork	w;
	Lbfgs		lb;
	LogregStatus status = LOGREG_NOT_CONVERGED;
	double	   *x;
	double	   *g;
	double	   *xt;
	double	   *gt;
	double	   *dir;
	double		f;
	double		gscale;
	double		gmax;
	double		gref;			/* gmax after the last iteration that made
								 * progress */
	int			stalled = 0;	/* iterations since then */
	int			d;
	int			dim;
	int			iter = 0;
	int			converged = 0;
	int			a;
	int			j;
	int			m;

	if (res != NULL)
		memset(res, 0, sizeof(LogregResult));
	if (check_problem(p, coef, warm_start) != 0)
		return LOGREG_BAD_INPUT;

	build_work(p, &w);
	d = p->x.d;
	dim = d + 1;
	x = hitl_alloc(sizeof(double) * w.len);
	g = hitl_alloc(sizeof(double) * w.len);
	xt = hitl_alloc(sizeof(double) * w.len);
	gt = hitl_alloc(sizeof(double) * w.len);
	dir = hitl_alloc(sizeof(double) * w.len);
	memset(&lb, 0, sizeof(lb));
	for (m = 0; m < HISTORY; m++)
	{
		lb.s[m] = hitl_alloc(sizeof(double) * w.len);
		lb.y[m] = hitl_alloc(sizeof(double) * w.len);
	}

	/* Start from zero, or from coef's active weights and intercepts */
	if (warm_start)
	{
		for (j = 0; j < w.nact; j++)
			for (a = 0; a < w.nvec; a++)
				x[(size_t) j * w.nvec + a] = coef[(size_t) a * dim + w.active[j]];
		for (a = 0; a < w.nvec; a++)
			x[w.nw + a] = coef[(size_t) a * dim + d];
		if (w.nvec > 1)
			centre(x + w.nw, w.nvec);
	}

	gscale = p->C * w.n;
	f = objective_gradient(&w, x, g);
	gmax = max_abs(g, w.len) / gscale;
	gref = gmax;

	for (;;)
	{
		double		slope;
		double		ft;
		double		gmax_t;
		double	   *swap;

		if (gmax <= p->tol)
		{
			converged = 1;
			status = LOGREG_OK;
			break;
		}
		if (iter >= p->max_iter || stalled >= STALL_LIMIT)
			break;
		hitl_check_interrupts();

		lbfgs_direction(&lb, g, dir, w.len);
		slope = dot(g, dir, w.len);
		if (!(slope < 0.0) || !isfinite(slope))
		{
			/* Not a descent direction (rounding): forget the pairs */
			lb.count = 0;
			lbfgs_direction(&lb, g, dir, w.len);
			slope = dot(g, dir, w.len);
		}

		if (!line_search(&w, x, f, gmax, gscale, dir, slope,
						 (lb.count == 0) ? fmin(1.0, 1.0 / sqrt(-slope)) : 1.0,
						 xt, gt, &ft, &gmax_t))
		{
			if (lb.count == 0)
				break;			/* not even steepest descent finds a point */
			lb.count = 0;		/* try again along steepest descent */
			continue;
		}

		lbfgs_update(&lb, x, xt, g, gt, w.len);
		if (ft < f - OBJECTIVE_NOISE * fabs(f) ||
			gmax_t <= GRADIENT_PROGRESS * gref)
		{
			stalled = 0;
			gref = gmax_t;
		}
		else
			stalled++;
		swap = x;
		x = xt;
		xt = swap;
		swap = g;
		g = gt;
		gt = swap;
		f = ft;
		gmax = gmax_t;
		iter++;
	}

	/* Back to hitl's layout; unused columns' weights are 0 */
	if (w.nvec > 1)
		centre(x + w.nw, w.nvec);
	memset(coef, 0, sizeof(double) * logreg_ncoef(d, p->k));
	for (j = 0; j < w.nact; j++)
		for (a = 0; a < w.nvec; a++)
			coef[(size_t) a * dim + w.active[j]] = x[(size_t) j * w.nvec + a];
	for (a = 0; a < w.nvec; a++)
		coef[(size_t) a * dim + d] = x[w.nw + a];

	if (res != NULL)
	{
		res->iterations = iter;
		res->converged = converged;
		res->objective = f;
		res->grad_norm = gmax;
	}

	for (m = 0; m < HISTORY; m++)
	{
		hitl_free(lb.s[m]);
		hitl_free(lb.y[m]);
	}
	hitl_free(x);
	hitl_free(g);
	hitl_free(xt);
	hitl_free(gt);
	hitl_free(dir);
	free_work(&w);
	return status;
}

/*
 * Compute the class probabilities of one sparse row: a sigmoid of the single
 * score for k == 2, a softmax shifted by the largest score otherwise.
 * Entries whose column lies outside [0, d) are ignored.
 */
void
sparse_logreg_predict_proba(int d, int k, const double *coef, int nnz,
							const int *idx, const double *val, double *proba)
{
	size_t		dim = (size_t) d + 1;
	int			c;
	int			t;

	if (k == 2)
	{
		double		z = coef[d];

		for (t = 0; t < nnz; t++)
			if (idx[t] >= 0 && idx[t] < d)
				z += coef[idx[t]] * val[t];
		proba[0] = logreg_sigmoid(-z);
		proba[1] = logreg_sigmoid(z);
		return;
	}

	for (c = 0; c < k; c++)
	{
		const double *wc = coef + c * dim;
		double		z = wc[d];

		for (t = 0; t < nnz; t++)
			if (idx[t] >= 0 && idx[t] < d)
				z += wc[idx[t]] * val[t];
		proba[c] = z;
	}
	proba_softmax(k, proba);
}
