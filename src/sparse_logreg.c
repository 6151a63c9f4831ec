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
 *	3. minimises by L-BFGS (lbfgs.c) over that layout.
 *
 * Row weights (indexed like x) are copied with the rows; each row's loss
 * and residuals are multiplied by its weight.  Without weights nothing is
 * multiplied, and the results are those of before weights bit for bit.
 *
 * With k > 2 the softmax is unchanged when the same constant is added to all
 * intercepts.  The intercepts are centred on entry and the gradient's
 * intercept part, whose sum is zero up to rounding, is centred exactly, so
 * every step keeps them centred; they are centred once more on return.
 *
 * Each pass runs in a fixed order with no threads and no BLAS, so the same
 * input gives bit-identical coefficients.  Memory: the compact CSR
 * (O(nnz)), plus what lbfgs.h says L-BFGS keeps, vectors of
 * (active columns + 1) * nvec doubles.
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
#include "lbfgs.h"

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
	double	   *wt;				/* their weights, or NULL for all 1 */
	int		   *active;			/* nact original column numbers, ascending */
	double	   *z;				/* nvec scores of one row */
	double	   *r;				/* nvec residuals (probability - target) */
} SparseWork;

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

		if (w->wt == NULL)
			loss += row_loss(nvec, w->z, w->y[i], w->r);
		else
		{
			loss += w->wt[i] * row_loss(nvec, w->z, w->y[i], w->r);
			for (a = 0; a < nvec; a++)
				w->r[a] *= w->wt[i];
		}

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
 * Only the fitted rows' labels, weights, columns and values are looked at:
 * rows outside p->rows may hold anything (an unlabeled row's label, say).
 * The fitted rows' weights must be finite and >= 0, and sum to more than
 * 0.
 */
static int
check_problem(const SparseLogregProblem *p, const double *coef, int warm_start)
{
	const SparseMatrix *x;
	double		wsum = 0.0;
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
		if (p->weight != NULL)
		{
			if (!(p->weight[row] >= 0.0) || !isfinite(p->weight[row]))
				return -1;
			wsum += p->weight[row];
		}
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

	if (p->weight != NULL && !(wsum > 0.0 && isfinite(wsum)))
		return -1;

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
	if (p->weight != NULL)
		w->wt = hitl_alloc(sizeof(double) * w->n);
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
		if (w->wt != NULL)
			w->wt[i] = p->weight[row];
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
	hitl_free(w->wt);
	hitl_free(w->active);
	hitl_free(w->z);
	hitl_free(w->r);
}

/* The objective for lbfgs_minimise: arg is the SparseWork */
static double
lbfgs_objective(void *arg, const double *v, double *grad)
{
	return objective_gradient((const SparseWork *) arg, v, grad);
}

/*
 * Fit the model by L-BFGS; see sparse_logreg.h for the contract.
 *
 * The loop stops when max |grad f| / (C S) <= tol (S the fitted rows'
 * weights' sum, their number without weights), measured at the current
 * iterate before any step (so a warm start at the solution takes no
 * iteration), or after max_iter accepted steps.  It also stops, reporting
 * LOGREG_NOT_CONVERGED, when tol is below what double precision resolves
 * (see lbfgs.h).  Every accepted step lowers the objective (up to rounding
 * noise), so the last iterate returned is the best one.
 */
LogregStatus
sparse_logreg_fit(const SparseLogregProblem *p, double *coef, int warm_start,
				  LogregResult *res)
{
	SparseWork	w;
	LbfgsOptions opt;
	LbfgsOutcome out;
	double	   *x;
	int			d;
	int			dim;
	int			a;
	int			j;

	if (res != NULL)
		memset(res, 0, sizeof(LogregResult));
	if (check_problem(p, coef, warm_start) != 0)
		return LOGREG_BAD_INPUT;

	build_work(p, &w);
	d = p->x.d;
	dim = d + 1;
	x = hitl_alloc(sizeof(double) * w.len);

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

	opt.max_iter = p->max_iter;
	opt.tol = p->tol;
	opt.gscale = p->C * logreg_weight_sum(w.n, w.wt);
	(void) lbfgs_minimise(lbfgs_objective, &w, x, w.len, &opt, &out);

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
		res->iterations = out.iterations;
		res->converged = out.converged;
		res->objective = out.objective;
		res->grad_norm = out.grad_norm;
		res->solver = LOGREG_SOLVER_LBFGS;
	}

	hitl_free(x);
	free_work(&w);
	return out.converged ? LOGREG_OK : LOGREG_NOT_CONVERGED;
}

/*
 * z[c] += v * w[c * dim] for each class c: a term's column of the
 * coefficients, scaled, added to the scores (z apart from w)
 */
static void
add_column(int k, size_t dim, const double *w, double v, double *restrict z)
{
	int			c;

	for (c = 0; c < k; c++)
		z[c] += w[c * dim] * v;
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

	/*
	 * Term by term, each class's score added to in the order of the terms
	 * as a class-by-class loop adds them (the same sums), but each term's
	 * column and value read once
	 */
	for (c = 0; c < k; c++)
		proba[c] = coef[c * dim + d];
	for (t = 0; t < nnz; t++)
		if (idx[t] >= 0 && idx[t] < d)
			add_column(k, dim, coef + idx[t], val[t], proba);
	proba_softmax(k, proba);
}
