/*
 * logreg_lbfgs.c
 *		Dense logistic regression by L-BFGS.
 *
 * The solver for dense models with many coefficients (many classes, many
 * features), where logreg.c's Newton method spends most of its time
 * assembling a Hessian of ncoef^2 doubles.  Same objective, coefficient
 * layout, stopping test and statuses as logreg.c (see logreg.h); see
 * logreg_solve.h for when it is used, and for the tolerance it is given
 * there (1000 times the problem's) and the stop at a flat objective
 * (logreg_lbfgs_fit_flat, lbfgs_minimise_flat).  The objective and its gradient are
 * computed a chunk of rows at a time with two BLAS-3 products per chunk:
 *
 *		Z = X_c W' + b			(scores, c x nvec: dgemm)
 *		R = softmax(Z) - T		(T one-hot; a sigmoid for k == 2; in place)
 *		G += X_c' R				(dgemm), and the column sums of R
 *
 * the chunk being small enough that X_c is still in the processor's cache
 * for the second product; then come the penalty's part and C times the
 * loss part.  With row weights, each row's loss and residuals are
 * multiplied by its weight (without them by nothing, so that the results
 * are those of before weights bit for bit).  The minimisation itself is
 * lbfgs.c's, over the coefficients in logreg.h's layout (no copy).
 *
 * With k > 2 the softmax is unchanged when the same constant is added to
 * all intercepts.  The intercepts are centred on entry and the gradient's
 * intercept part, whose sum is zero up to rounding, is centred exactly, so
 * every step keeps them centred: the solution scikit-learn reports.
 *
 * Each pass runs in a fixed order, so with single-threaded BLAS the same
 * input gives bit-identical coefficients.  Memory: one chunk of scores
 * besides what lbfgs.h says L-BFGS keeps (vectors of ncoef doubles); no
 * Hessian.
 *
 * Plain C, no PostgreSQL types; see numeric_alloc.h for allocation.
 */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "lbfgs.h"
#include "logreg.h"
#include "logreg_solve.h"
#include "numeric_alloc.h"

/* The problem and one chunk's scratch space */
typedef struct DenseWork
{
	const LogregProblem *p;
	int			nvec;			/* coefficient vectors */
	int			dim;			/* d + 1 */
	int			ncoef;			/* nvec * dim */
	int			chunk;			/* rows per chunk */
	double	   *z;				/* chunk x nvec scores, then residuals */
} DenseWork;

/*
 * BLAS through its Fortran symbols (hidden lengths last, by value).  With
 * one coefficient vector (k == 2) the products are matrix-vector ones
 * (dgemv), which read the rows where they are; dgemm would first copy them
 * into its packed layout.
 */
extern void dgemv_(const char *trans, const int *m, const int *n,
				   const double *alpha, const double *a, const int *lda,
				   const double *x, const int *incx, const double *beta,
				   double *y, const int *incy, size_t trans_len);
extern void dgemm_(const char *transa, const char *transb,
				   const int *m, const int *n, const int *k,
				   const double *alpha, const double *a, const int *lda,
				   const double *b, const int *ldb,
				   const double *beta, double *c, const int *ldc,
				   size_t transa_len, size_t transb_len);

/* Doubles of a chunk of rows and their scores, 512 kB (a core's L2 cache) */
#define CHUNK_DOUBLES (64 * 1024)
#define CHUNK_MIN_ROWS 64

static void
work_init(DenseWork *w, const LogregProblem *p)
{
	int			rows;

	memset(w, 0, sizeof(*w));
	w->p = p;
	w->nvec = logreg_nvec(p->k);
	w->dim = p->d + 1;
	w->ncoef = logreg_ncoef(p->d, p->k);
	rows = CHUNK_DOUBLES / (p->d + w->nvec);
	if (rows < CHUNK_MIN_ROWS)
		rows = CHUNK_MIN_ROWS;
	w->chunk = (p->n < rows) ? p->n : rows;
	w->z = hitl_alloc(sizeof(double) * (size_t) w->chunk * w->nvec);
}

static void
work_free(DenseWork *w)
{
	hitl_free(w->z);
}

/* With k > 2, subtract the intercepts' mean from them (in v) */
static void
centre_intercepts(const DenseWork *w, double *v)
{
	double		mean = 0.0;
	int			d = w->p->d;
	int			a;

	if (w->nvec == 1)
		return;
	for (a = 0; a < w->nvec; a++)
		mean += v[a * w->dim + d];
	mean /= w->nvec;
	for (a = 0; a < w->nvec; a++)
		v[a * w->dim + d] -= mean;
}

/*
 * Replace the scores z (nvec of them) of a row of class label by its
 * residuals, probability minus target, and return its log-loss.
 *
 * Softmax: with e_a = exp(z_a - max z) and S the sum of the e, the loss
 * -log(e_label / S) is log1p(others / e_label) while the label's class is
 * the likelier (others = S - e_label, summed without it), which keeps its
 * precision near 0, and max z - z_label + log S otherwise.  The label's
 * residual -others / S avoids the cancellation of p - 1.
 */
double
logreg_row_residuals(int nvec, double *z, int label)
{
	double		zmax;
	double		zlabel;
	double		sum = 0.0;
	double		others = 0.0;
	double		elabel;
	double		inv;
	int			a;

	if (nvec == 1)
	{
		/*
		 * sigmoid(t) and softplus(t) of logreg.c from one exp(-|t|), t the
		 * score signed against the label: the same numbers, one exp fewer
		 */
		double		t = (label == 1) ? -z[0] : z[0];
		double		e = exp(-fabs(t));
		double		sig = (t >= 0.0) ? 1.0 / (1.0 + e) : e / (1.0 + e);

		z[0] = (label == 1) ? -sig : sig;
		return (t > 0.0) ? t + log1p(e) : log1p(e);
	}

	zlabel = z[label];
	zmax = z[0];
	for (a = 1; a < nvec; a++)
		if (z[a] > zmax)
			zmax = z[a];
	for (a = 0; a < nvec; a++)
		z[a] = exp(z[a] - zmax);
	for (a = 0; a < nvec; a++)
		sum += z[a];
	elabel = z[label];
	others = sum - elabel;
	if (others > 0.5 * sum)
		;						/* no cancellation to fear */
	else
	{
		others = 0.0;
		for (a = 0; a < nvec; a++)
			if (a != label)
				others += z[a];
	}
	inv = 1.0 / sum;
	for (a = 0; a < nvec; a++)
		z[a] *= inv;
	z[label] = -others * inv;
	if (others <= elabel)
		return log1p(others / elabel);
	return zmax - zlabel + log(sum);
}

/*
 * The loss part of the gradient is in g (coef's layout): scale it by C, add
 * the penalty's part (the weights of v, the point) and centre the
 * intercepts' part.
 */
static void
finish_pass(const DenseWork *w, const double *v, double *g)
{
	const LogregProblem *p = w->p;
	int			a;
	int			j;

	for (a = 0; a < w->nvec; a++)
	{
		for (j = 0; j < p->d; j++)
			g[a * w->dim + j] = p->C * g[a * w->dim + j] + v[a * w->dim + j];
		g[a * w->dim + p->d] *= p->C;
	}
	centre_intercepts(w, g);
}

/*
 * Scores of chunk rows [i0, i0 + c) under coefficients v into out (c x nvec,
 * row-major): weights by one product, then the intercepts.
 */
static void
chunk_scores(const DenseWork *w, const double *v, int i0, int c, double *out)
{
	const LogregProblem *p = w->p;
	int			d = p->d;
	int			nvec = w->nvec;
	int			i;
	int			a;

	if (d > 0)
	{
		const double one = 1.0;
		const double zero = 0.0;
		const int	one_int = 1;

		if (nvec == 1)
			dgemv_("T", &d, &c, &one, p->x + (size_t) i0 * d, &d, v, &one_int,
				   &zero, out, &one_int, 1);
		else
			dgemm_("T", "N", &nvec, &c, &d, &one, v, &w->dim,
				   p->x + (size_t) i0 * d, &d, &zero, out, &nvec, 1, 1);
	}
	else
		memset(out, 0, sizeof(double) * c * nvec);
	for (i = 0; i < c; i++)
		for (a = 0; a < nvec; a++)
			out[i * nvec + a] += v[a * w->dim + d];
}

/* Rows from i0 on (NULL without features) */
static inline const double *
chunk_rows(const LogregProblem *p, int i0)
{
	return (p->d > 0) ? p->x + (size_t) i0 * p->d : NULL;
}

/*
 * g (coef's layout) += [xc' f, column sums of f], xc being a chunk of c rows
 * and f their c x nvec factors
 */
static void
chunk_accumulate(const DenseWork *w, const double *xc, int c,
				 const double *f, double *g)
{
	int			d = w->p->d;
	int			nvec = w->nvec;
	int			i;
	int			a;

	if (d > 0)
	{
		const double one = 1.0;
		const int	one_int = 1;

		if (nvec == 1)
			dgemv_("N", &d, &c, &one, xc, &d, f, &one_int, &one, g, &one_int, 1);
		else
			dgemm_("N", "T", &d, &nvec, &c, &one, xc, &d,
				   f, &nvec, &one, g, &w->dim, 1, 1);
	}
	for (i = 0; i < c; i++)
		for (a = 0; a < nvec; a++)
			g[a * w->dim + d] += f[i * nvec + a];
}

/*
 * The objective at coef and its gradient into grad (ncoef doubles); see the
 * top for the passes.  With k > 2 the intercepts' gradient is centred.
 */
static double
dense_objective(DenseWork *w, const double *coef, double *grad)
{
	const LogregProblem *p = w->p;
	int			nvec = w->nvec;
	double		loss = 0.0;
	double		penalty = 0.0;
	int			i0;
	int			i;
	int			a;
	int			j;

	memset(grad, 0, sizeof(double) * w->ncoef);
	for (i0 = 0; i0 < p->n; i0 += w->chunk)
	{
		int			c = (p->n - i0 < w->chunk) ? p->n - i0 : w->chunk;
		double	   *z = w->z;

		hitl_check_interrupts();
		chunk_scores(w, coef, i0, c, z);
		for (i = 0; i < c; i++)
		{
			double	   *zi = z + (size_t) i * nvec;

			if (p->weight == NULL)
			{
				loss += logreg_row_residuals(nvec, zi, p->y[i0 + i]);
				continue;
			}
			loss += p->weight[i0 + i] * logreg_row_residuals(nvec, zi, p->y[i0 + i]);
			for (a = 0; a < nvec; a++)
				zi[a] *= p->weight[i0 + i];
		}
		chunk_accumulate(w, chunk_rows(p, i0), c, z, grad);
	}
	for (a = 0; a < nvec; a++)
		for (j = 0; j < p->d; j++)
			penalty += coef[a * w->dim + j] * coef[a * w->dim + j];
	finish_pass(w, coef, grad);
	return 0.5 * penalty + p->C * loss;
}

/* The objective for lbfgs_minimise: arg is the DenseWork */
static double
lbfgs_objective(void *arg, const double *coef, double *grad)
{
	return dense_objective((DenseWork *) arg, coef, grad);
}

double
logreg_dense_objective(const LogregProblem *p, const double *coef, double *grad)
{
	DenseWork	w;
	double		f;

	work_init(&w, p);
	f = dense_objective(&w, coef, grad);
	work_free(&w);
	return f;
}

/* logreg_lbfgs_fit (flat 0) and logreg_lbfgs_fit_flat */
static LogregStatus
lbfgs_fit(const LogregProblem *p, double *coef, int warm_start, double flat,
		  LogregResult *res)
{
	DenseWork	w;
	LbfgsOptions opt;
	LbfgsOutcome out;

	if (res != NULL)
		memset(res, 0, sizeof(LogregResult));
	if (logreg_check_problem(p, coef, warm_start) != 0)
		return LOGREG_BAD_INPUT;

	work_init(&w, p);
	if (!warm_start)
		memset(coef, 0, sizeof(double) * w.ncoef);
	centre_intercepts(&w, coef);

	opt.max_iter = p->max_iter;
	opt.tol = p->tol;
	opt.gscale = p->C * logreg_weight_sum(p->n, p->weight);
	(void) lbfgs_minimise_flat(lbfgs_objective, &w, coef, w.ncoef, &opt, flat, &out);
	centre_intercepts(&w, coef);

	if (res != NULL)
	{
		res->iterations = out.iterations;
		res->converged = out.converged;
		res->objective = out.objective;
		res->grad_norm = out.grad_norm;
		res->tol = p->tol;
		res->solver = LOGREG_SOLVER_LBFGS;
	}
	work_free(&w);
	return out.converged ? LOGREG_OK : LOGREG_NOT_CONVERGED;
}

LogregStatus
logreg_lbfgs_fit(const LogregProblem *p, double *coef, int warm_start,
				 LogregResult *res)
{
	return lbfgs_fit(p, coef, warm_start, 0.0, res);
}

LogregStatus
logreg_lbfgs_fit_flat(const LogregProblem *p, double *coef, int warm_start,
					  double flat, LogregResult *res)
{
	return lbfgs_fit(p, coef, warm_start, flat, res);
}
