/*
 * logreg.c
 *		L2-regularised logistic regression solved by Newton's method.
 *
 * This is hitl's first classifier: the trainer fits it on the standardized
 * labeled rows, and the scorer turns its coefficients into probabilities.
 * The objective is scikit-learn's LogisticRegression(C = C):
 *
 *		f(W) = 0.5 * ||weights||^2 + C * sum_i w_i loss_i
 *
 * w_i being row i's weight (1 when the problem has none: every product by
 * it is then exact, so that the results are those of an unweighted fit bit
 * for bit).  The loss, the residuals and the Hessian's row factors are
 * weighted; the gradient test divides by C times the weights' sum.
 *
 * Binary problems (k == 2) use one sigmoid vector scoring class 1; larger
 * ones a softmax over k vectors.  Each Newton iteration
 *
 *	1. assembles the Hessian with BLAS, a chunk of rows at a time, so that the
 *	   memory needed is O(chunk * d) besides the Hessian itself.  The block
 *	   of classes (a, b) is X1' diag(p_a (delta_ab - p_b)) X1, X1 being the
 *	   rows with a trailing 1 for the intercept; each block's weights have a
 *	   single sign, so it is a symmetric rank-k update (dsyrk) of a copy of
 *	   X1 whose rows are scaled by the square roots of the weights;
 *	2. solves H s = -g by Cholesky (dpotrf, dpotrs), adding a growing
 *	   multiple of the identity when the factorisation fails (Levenberg);
 *	3. takes the longest step t s, t = 1, 1/2, 1/4, ..., that satisfies the
 *	   Armijo condition (s first shortened to move no coefficient by more
 *	   than MAX_STEP).
 *
 * With k > 2 the softmax is unchanged when the same constant is added to all
 * intercepts, a direction in which the Hessian is singular.  The solve fixes
 * the last class's intercept at 0 (it is the last unknown, so the system is
 * simply the leading part of H); the intercepts are centred on return.
 *
 * Everything runs in a fixed order, so with single-threaded BLAS the same
 * input gives bit-identical coefficients.
 *
 * Plain C, no PostgreSQL types; see numeric_alloc.h for allocation.
 */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "logreg.h"
#include "metrics.h"
#include "numeric_alloc.h"

/*
 * BLAS and LAPACK through their Fortran symbols: every argument by
 * reference, plus the hidden lengths of character arguments (by value, at
 * the end) that gfortran-compiled libraries expect.
 */
extern void dgemm_(const char *transa, const char *transb,
				   const int *m, const int *n, const int *k,
				   const double *alpha, const double *a, const int *lda,
				   const double *b, const int *ldb,
				   const double *beta, double *c, const int *ldc,
				   size_t transa_len, size_t transb_len);
extern void dsyrk_(const char *uplo, const char *trans,
				   const int *n, const int *k,
				   const double *alpha, const double *a, const int *lda,
				   const double *beta, double *c, const int *ldc,
				   size_t uplo_len, size_t trans_len);
extern void dpotrf_(const char *uplo, const int *n, double *a,
					const int *lda, int *info, size_t uplo_len);
extern void dpotrs_(const char *uplo, const int *n, const int *nrhs,
					const double *a, const int *lda, double *b,
					const int *ldb, int *info, size_t uplo_len);

/* Rows per chunk in the passes over the data */
#define LOGREG_CHUNK_ROWS 2048

/* Armijo sufficient-decrease constant and the number of step halvings */
#define ARMIJO_C1 1e-4
#define MAX_HALVINGS 60

/*
 * Longest move of any coefficient in one step.  Where probabilities have
 * saturated to 0 or 1 in double precision the Hessian is (nearly) singular
 * and the Newton step absurdly long; shortening it to this length lets the
 * line search find a decrease.  Steps from reasonable points are far
 * shorter, so this does not slow down the usual case.
 */
#define MAX_STEP 100.0

/* Levenberg damping: first multiple of the largest diagonal, growth, tries */
#define DAMPING_START 1e-10
#define DAMPING_GROWTH 10.0
#define DAMPING_TRIES 24

/*
 * Relative change of the objective that is taken to be rounding noise: near
 * the optimum a Newton step may fail the Armijo test only because the
 * decrease it promises is below what the objective's sum can resolve.
 */
#define OBJECTIVE_NOISE 1e-12

/* State of one fit: the problem's shape and the per-chunk scratch space */
typedef struct LogregWork
{
	const LogregProblem *p;
	int			nvec;			/* coefficient vectors */
	int			dim;			/* d + 1 per vector */
	int			ncoef;			/* nvec * dim, also H's leading dimension */
	int			nfree;			/* unknowns solved for (last intercept fixed
								 * when k > 2) */
	int			chunk;			/* rows per chunk */
	double	   *z;				/* chunk x nvec scores */
	double	   *prob;			/* chunk x nvec probabilities */
	double	   *qprob;			/* chunk x nvec complements 1 - prob */
	double	   *resid;			/* chunk x nvec prob - target */
	double	   *scaled;			/* chunk x dim weighted copy of X1 rows */
	double	   *wsqrt;			/* chunk square roots of Hessian weights */
} LogregWork;

/* The sizes of a fit and its per-chunk scratch arrays */
static void
work_init(LogregWork *w, const LogregProblem *p)
{
	memset(w, 0, sizeof(*w));
	w->p = p;
	w->nvec = logreg_nvec(p->k);
	w->dim = p->d + 1;
	w->ncoef = w->nvec * w->dim;
	w->nfree = (p->k > 2) ? w->ncoef - 1 : w->ncoef;
	w->chunk = (p->n < LOGREG_CHUNK_ROWS) ? p->n : LOGREG_CHUNK_ROWS;
	w->z = hitl_alloc(sizeof(double) * w->chunk * w->nvec);
	w->prob = hitl_alloc(sizeof(double) * w->chunk * w->nvec);
	w->qprob = hitl_alloc(sizeof(double) * w->chunk * w->nvec);
	w->resid = hitl_alloc(sizeof(double) * w->chunk * w->nvec);
	w->scaled = hitl_alloc(sizeof(double) * w->chunk * w->dim);
	w->wsqrt = hitl_alloc(sizeof(double) * w->chunk);
}

static void
work_free(LogregWork *w)
{
	hitl_free(w->z);
	hitl_free(w->prob);
	hitl_free(w->qprob);
	hitl_free(w->resid);
	hitl_free(w->scaled);
	hitl_free(w->wsqrt);
}

/* log(1 + exp(z)) without overflow or loss of precision */
double
logreg_softplus(double z)
{
	if (z > 0.0)
		return z + log1p(exp(-z));
	return log1p(exp(z));
}

/* 1 / (1 + exp(-z)) without overflow */
double
logreg_sigmoid(double z)
{
	double		e;

	if (z >= 0.0)
		return 1.0 / (1.0 + exp(-z));
	e = exp(z);
	return e / (1.0 + e);
}

int
logreg_nvec(int k)
{
	return k == 2 ? 1 : k;
}

int
logreg_ncoef(int d, int k)
{
	return logreg_nvec(k) * (d + 1);
}

const char *
logreg_solver_name(LogregSolver solver)
{
	switch (solver)
	{
		case LOGREG_SOLVER_NEWTON:
			return "newton";
		case LOGREG_SOLVER_LBFGS:
			return "lbfgs";
	}
	return "unknown";
}

const char *
logreg_status_message(LogregStatus status)
{
	switch (status)
	{
		case LOGREG_OK:
			return "converged";
		case LOGREG_BAD_INPUT:
			return "invalid training problem";
		case LOGREG_NOT_CONVERGED:
			return "did not reach the convergence tolerance";
		case LOGREG_LAPACK_FAILED:
			return "Hessian could not be factorised";
	}
	return "unknown status";
}

/*
 * Compute the scores of rows [i0, i0 + c) into w->z (c x nvec, row-major):
 * the weights by one matrix product, then the intercepts.
 */
static void
chunk_scores(LogregWork *w, const double *coef, int i0, int c)
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

		/* Z (nvec x c, column-major) = Wts' (nvec x d) * Xc' (d x c) */
		dgemm_("T", "N", &nvec, &c, &d, &one, coef, &w->dim,
			   p->x + (size_t) i0 * d, &d, &zero, w->z, &nvec, 1, 1);
	}
	else
		memset(w->z, 0, sizeof(double) * c * nvec);

	for (i = 0; i < c; i++)
		for (a = 0; a < nvec; a++)
			w->z[i * nvec + a] += coef[a * w->dim + d];
}

/*
 * Compute the probabilities of rows [i0, i0 + c) from w->z into w->prob and
 * their complements 1 - p (computed without cancellation) into w->qprob,
 * and return the sum of the rows' log-losses.  When resid is true, also
 * store prob - target into w->resid.
 */
static double
chunk_probabilities(LogregWork *w, int i0, int c, int resid)
{
	const int  *y = w->p->y + i0;
	const double *wt = (w->p->weight != NULL) ? w->p->weight + i0 : NULL;
	int			nvec = w->nvec;
	double		loss = 0.0;
	int			i;
	int			a;
	int			b;

	if (nvec == 1)
	{
		for (i = 0; i < c; i++)
		{
			double		z = w->z[i];
			double		wi = (wt != NULL) ? wt[i] : 1.0;
			int			pos = (y[i] == 1);

			loss += wi * (pos ? logreg_softplus(-z) : logreg_softplus(z));
			w->prob[i] = logreg_sigmoid(z);
			w->qprob[i] = logreg_sigmoid(-z);
			if (resid)
				w->resid[i] = wi * (pos ? -w->qprob[i] : w->prob[i]);
		}
		return loss;
	}

	for (i = 0; i < c; i++)
	{
		double	   *z = w->z + (size_t) i * nvec;
		double	   *pr = w->prob + (size_t) i * nvec;
		double	   *qr = w->qprob + (size_t) i * nvec;
		double		zmax = z[0];
		double		sum = 0.0;
		double		wi = (wt != NULL) ? wt[i] : 1.0;

		for (a = 1; a < nvec; a++)
			if (z[a] > zmax)
				zmax = z[a];
		for (a = 0; a < nvec; a++)
		{
			pr[a] = exp(z[a] - zmax);
			sum += pr[a];
		}
		loss += wi * (zmax + log(sum) - z[y[i]]);
		for (a = 0; a < nvec; a++)
		{
			double		others = 0.0;

			for (b = 0; b < nvec; b++)
				if (b != a)
					others += pr[b];
			qr[a] = others / sum;
		}
		for (a = 0; a < nvec; a++)
			pr[a] /= sum;
		if (resid)
		{
			double	   *rr = w->resid + (size_t) i * nvec;

			for (a = 0; a < nvec; a++)
				rr[a] = wi * ((a == y[i]) ? -qr[a] : pr[a]);
		}
	}
	return loss;
}

/*
 * Return the objective at coef and, when grad is not NULL, store its
 * gradient there (ncoef doubles, same layout as coef).
 */
static double
objective_gradient(LogregWork *w, const double *coef, double *grad)
{
	const LogregProblem *p = w->p;
	int			d = p->d;
	int			nvec = w->nvec;
	double		loss = 0.0;
	double		penalty = 0.0;
	int			i0;
	int			i;
	int			a;
	int			j;

	if (grad != NULL)
		memset(grad, 0, sizeof(double) * w->ncoef);

	for (i0 = 0; i0 < p->n; i0 += w->chunk)
	{
		int			c = (p->n - i0 < w->chunk) ? p->n - i0 : w->chunk;

		hitl_check_interrupts();
		chunk_scores(w, coef, i0, c);
		loss += chunk_probabilities(w, i0, c, grad != NULL);
		if (grad == NULL)
			continue;

		if (d > 0)
		{
			const double one = 1.0;

			/* G (d x nvec, leading dim d + 1) += Xc' (d x c) * R (c x nvec) */
			dgemm_("N", "T", &d, &nvec, &c, &one, p->x + (size_t) i0 * d, &d,
				   w->resid, &nvec, &one, grad, &w->dim, 1, 1);
		}
		for (i = 0; i < c; i++)
			for (a = 0; a < nvec; a++)
				grad[a * w->dim + d] += w->resid[i * nvec + a];
	}

	for (a = 0; a < nvec; a++)
		for (j = 0; j < d; j++)
		{
			double		wt = coef[a * w->dim + j];

			penalty += wt * wt;
			if (grad != NULL)
				grad[a * w->dim + j] = wt + p->C * grad[a * w->dim + j];
		}
	if (grad != NULL)
		for (a = 0; a < nvec; a++)
			grad[a * w->dim + d] *= p->C;

	return 0.5 * penalty + p->C * loss;
}

/*
 * Assemble the upper triangle of the objective's Hessian at coef into H
 * (ncoef x ncoef, column-major).
 *
 * Block (a, b), a <= b, is C X1' diag(w p_a (delta_ab - p_b)) X1 (w the
 * rows' weights), plus the identity on the weights when a == b.  The row
 * factors of a block are all of one sign (w p_a (1 - p_a) >= 0 on the
 * diagonal, -w p_a p_b <= 0 off it), so each chunk adds +-C S' S to it
 * with S = diag(sqrt|factor|) X1c (dsyrk).  dsyrk fills the upper triangle
 * of each block; the off-diagonal blocks lie wholly above H's diagonal, so
 * their lower triangles are mirrored at the end.
 */
static void
build_hessian(LogregWork *w, const double *coef, double *H)
{
	const LogregProblem *p = w->p;
	int			d = p->d;
	int			dim = w->dim;
	int			nvec = w->nvec;
	int			ldh = w->ncoef;
	const double one = 1.0;
	int			i0;
	int			i;
	int			j;
	int			a;
	int			b;

	memset(H, 0, sizeof(double) * ldh * ldh);

	for (i0 = 0; i0 < p->n; i0 += w->chunk)
	{
		int			c = (p->n - i0 < w->chunk) ? p->n - i0 : w->chunk;
		const double *xc = (d > 0) ? p->x + (size_t) i0 * d : NULL;
		const double *wt = (p->weight != NULL) ? p->weight + i0 : NULL;

		hitl_check_interrupts();
		chunk_scores(w, coef, i0, c);
		(void) chunk_probabilities(w, i0, c, 0);

		for (a = 0; a < nvec; a++)
			for (b = a; b < nvec; b++)
			{
				double		alpha = (a == b) ? p->C : -p->C;

				for (i = 0; i < c; i++)
				{
					double		pa = w->prob[i * nvec + a];

					w->wsqrt[i] = sqrt(pa * ((a == b) ? w->qprob[i * nvec + a]
											 : w->prob[i * nvec + b]) *
									   ((wt != NULL) ? wt[i] : 1.0));
				}
				for (i = 0; i < c; i++)
				{
					double	   *srow = w->scaled + (size_t) i * dim;
					double		s = w->wsqrt[i];

					for (j = 0; j < d; j++)
						srow[j] = s * xc[(size_t) i * d + j];
					srow[d] = s;
				}
				/* block += alpha * S' S, S' being dim x c column-major */
				dsyrk_("U", "N", &dim, &c, &alpha, w->scaled, &dim, &one,
					   H + (size_t) a * dim + (size_t) b * dim * ldh, &ldh,
					   1, 1);
			}
	}

	/* Complete the off-diagonal blocks, then add the penalty's identity */
	for (a = 0; a < nvec; a++)
		for (b = a + 1; b < nvec; b++)
		{
			double	   *blk = H + (size_t) a * dim + (size_t) b * dim * ldh;
			int			r;
			int			s;

			for (s = 0; s < dim; s++)
				for (r = s + 1; r < dim; r++)
					blk[r + (size_t) s * ldh] = blk[s + (size_t) r * ldh];
		}
	for (a = 0; a < nvec; a++)
		for (j = 0; j < d; j++)
		{
			size_t		idx = (size_t) a * dim + j;

			H[idx + idx * ldh] += 1.0;
		}
}

/*
 * Compute the Newton step: solve H step = -grad for the nfree unknowns by
 * Cholesky, leaving the fixed intercept (if any) at 0.  When H (or H plus
 * the current damping) is not numerically positive definite, or the solution
 * is not a descent direction, add lambda I with lambda growing from a tiny
 * multiple of H's largest diagonal element, and try again.  Returns 0 on
 * success, -1 when every damping failed.
 *
 * H arrives with its upper triangle filled.  The factorisation happens in
 * place, in the upper triangle, so the matrix is first mirrored into the
 * strict lower triangle and its diagonal saved in diag (ncoef doubles);
 * each new attempt restores the upper triangle from them.  That keeps the
 * memory to a single ncoef x ncoef matrix.
 */
static int
newton_step(LogregWork *w, double *H, const double *grad, double *diag,
			double *step)
{
	int			nfree = w->nfree;
	size_t		ldh = w->ncoef;
	int			ldh_int = w->ncoef;
	double		maxdiag = 0.0;
	double		lambda = 0.0;
	int			attempt;
	size_t		r;
	size_t		c;

	for (c = 0; c < (size_t) nfree; c++)
	{
		diag[c] = H[c + c * ldh];
		for (r = 0; r < c; r++)
			H[c + r * ldh] = H[r + c * ldh];
		if (diag[c] > maxdiag)
			maxdiag = diag[c];
	}
	if (!(maxdiag > 0.0) || !isfinite(maxdiag))
		maxdiag = 1.0;

	for (attempt = 0; attempt <= DAMPING_TRIES; attempt++)
	{
		int			info = 0;
		int			nrhs = 1;
		double		slope = 0.0;

		if (attempt > 0)
		{
			for (c = 0; c < (size_t) nfree; c++)
				for (r = 0; r < c; r++)
					H[r + c * ldh] = H[c + r * ldh];
		}
		for (c = 0; c < (size_t) nfree; c++)
			H[c + c * ldh] = diag[c] + lambda;
		lambda = (lambda == 0.0) ? DAMPING_START * maxdiag
			: lambda * DAMPING_GROWTH;

		dpotrf_("U", &nfree, H, &ldh_int, &info, 1);
		if (info != 0)
			continue;
		for (c = 0; c < (size_t) nfree; c++)
			step[c] = -grad[c];
		dpotrs_("U", &nfree, &nrhs, H, &ldh_int, step, &nfree, &info, 1);
		if (info != 0)
			continue;

		for (c = 0; c < (size_t) nfree; c++)
			slope += grad[c] * step[c];
		if (slope < 0.0 && isfinite(slope))
		{
			for (c = nfree; c < (size_t) w->ncoef; c++)
				step[c] = 0.0;
			return 0;
		}
	}
	return -1;
}

/* Largest absolute value of v[0 .. len) */
static double
max_abs(const double *v, int len)
{
	double		m = 0.0;
	int			j;

	for (j = 0; j < len; j++)
		if (fabs(v[j]) > m)
			m = fabs(v[j]);
	return m;
}

double
logreg_weight_sum(int n, const double *weight)
{
	double		sum = 0.0;
	int			i;

	if (weight == NULL)
		return (double) n;
	for (i = 0; i < n; i++)
	{
		if (!(weight[i] >= 0.0) || !isfinite(weight[i]))
			return -1.0;
		sum += weight[i];
	}
	return isfinite(sum) ? sum : -1.0;
}

/*
 * Check a problem and a starting point; returns 0 when the fit can proceed.
 * Beyond the header's conditions, non-finite features, C, tol or starting
 * coefficients, max_iter < 1, negative or non-finite row weights, weights
 * summing to 0 and a coefficient count too large for LAPACK's integers are
 * rejected.
 */
int
logreg_check_problem(const LogregProblem *p, const double *coef, int warm_start)
{
	size_t		nx;
	size_t		i;
	int			ncoef;
	int			r;

	if (p == NULL || coef == NULL)
		return -1;
	if (p->n < 1 || p->d < 0 || p->k < 2 || p->max_iter < 1)
		return -1;
	if (!(p->C > 0.0) || !isfinite(p->C) || !(p->tol >= 0.0))
		return -1;
	if (p->y == NULL || (p->d > 0 && p->x == NULL))
		return -1;
	if ((double) logreg_nvec(p->k) * ((double) p->d + 1.0) > (double) INT_MAX / 2)
		return -1;

	for (r = 0; r < p->n; r++)
		if (p->y[r] < 0 || p->y[r] >= p->k)
			return -1;
	if (!(logreg_weight_sum(p->n, p->weight) > 0.0))
		return -1;

	nx = (size_t) p->n * p->d;
	for (i = 0; i < nx; i++)
	{
		if (i % ((size_t) LOGREG_CHUNK_ROWS * 64) == 0)
			hitl_check_interrupts();
		if (!isfinite(p->x[i]))
			return -1;
	}

	ncoef = logreg_ncoef(p->d, p->k);
	if (warm_start)
		for (r = 0; r < ncoef; r++)
			if (!isfinite(coef[r]))
				return -1;
	return 0;
}

/*
 * Fit the model by damped Newton iterations; see logreg.h for the contract.
 *
 * The loop stops when max |grad f| / (C S) <= tol (S the sum of the row
 * weights, n without them), measured over all coefficients at the current
 * iterate before any step (so a warm start at the solution takes no
 * iteration), or after max_iter steps.  It also stops,
 * reporting LOGREG_NOT_CONVERGED, when the line search cannot decrease the
 * objective any more, which happens only when tol is below what double
 * precision can resolve.
 */
LogregStatus
logreg_fit(const LogregProblem *p, double *coef, int warm_start,
		   LogregResult *res)
{
	LogregWork	w;
	LogregStatus status = LOGREG_NOT_CONVERGED;
	double	   *grad;
	double	   *trial;
	double	   *trial_grad;
	double	   *step;
	double	   *hess;
	double	   *hdiag;
	double		f;
	double		gscale;
	double		gmax;
	int			iter = 0;
	int			converged = 0;
	int			j;
	int			a;

	if (res != NULL)
		memset(res, 0, sizeof(LogregResult));
	if (logreg_check_problem(p, coef, warm_start) != 0)
		return LOGREG_BAD_INPUT;

	work_init(&w, p);

	grad = hitl_alloc(sizeof(double) * w.ncoef);
	trial = hitl_alloc(sizeof(double) * w.ncoef);
	trial_grad = hitl_alloc(sizeof(double) * w.ncoef);
	step = hitl_alloc(sizeof(double) * w.ncoef);
	hess = hitl_alloc(sizeof(double) * w.ncoef * w.ncoef);
	hdiag = hitl_alloc(sizeof(double) * w.ncoef);

	/* Start from zero, or from coef with the last intercept moved to 0 */
	if (!warm_start)
		memset(coef, 0, sizeof(double) * w.ncoef);
	else if (p->k > 2)
	{
		double		last = coef[w.ncoef - 1];

		for (a = 0; a < w.nvec; a++)
			coef[a * w.dim + p->d] -= last;
	}

	gscale = p->C * logreg_weight_sum(p->n, p->weight);
	f = objective_gradient(&w, coef, grad);
	gmax = max_abs(grad, w.ncoef) / gscale;

	for (;;)
	{
		double		slope = 0.0;
		double		smax;
		double		t = 1.0;
		int			accepted = 0;
		int			halving;

		if (gmax <= p->tol)
		{
			converged = 1;
			status = LOGREG_OK;
			break;
		}
		if (iter >= p->max_iter)
			break;

		hitl_check_interrupts();
		build_hessian(&w, coef, hess);
		if (newton_step(&w, hess, grad, hdiag, step) != 0)
		{
			status = LOGREG_LAPACK_FAILED;
			break;
		}
		smax = max_abs(step, w.ncoef);
		if (smax > MAX_STEP)
			for (j = 0; j < w.ncoef; j++)
				step[j] *= MAX_STEP / smax;
		for (j = 0; j < w.ncoef; j++)
			slope += grad[j] * step[j];

		for (halving = 0; halving <= MAX_HALVINGS; halving++)
		{
			double		ft;
			double		gmax_t;

			for (j = 0; j < w.ncoef; j++)
				trial[j] = coef[j] + t * step[j];
			ft = objective_gradient(&w, trial, trial_grad);
			if (isfinite(ft))
			{
				gmax_t = max_abs(trial_grad, w.ncoef) / gscale;
				if (ft <= f + ARMIJO_C1 * t * slope ||
					(ft <= f + OBJECTIVE_NOISE * fabs(f) && gmax_t < gmax))
				{
					memcpy(coef, trial, sizeof(double) * w.ncoef);
					memcpy(grad, trial_grad, sizeof(double) * w.ncoef);
					f = ft;
					gmax = gmax_t;
					accepted = 1;
					break;
				}
			}
			t *= 0.5;
		}
		if (!accepted)
			break;				/* no further decrease is possible */
		iter++;
	}

	/* Centre the intercepts (k > 2): the solution scikit-learn reports */
	if (p->k > 2 && status != LOGREG_LAPACK_FAILED)
	{
		double		mean = 0.0;

		for (a = 0; a < w.nvec; a++)
			mean += coef[a * w.dim + p->d];
		mean /= w.nvec;
		for (a = 0; a < w.nvec; a++)
			coef[a * w.dim + p->d] -= mean;
	}

	if (res != NULL)
	{
		res->iterations = iter;
		res->converged = converged;
		res->objective = f;
		res->grad_norm = gmax;
		res->tol = p->tol;
	}

	work_free(&w);
	hitl_free(grad);
	hitl_free(trial);
	hitl_free(trial_grad);
	hitl_free(step);
	hitl_free(hess);
	hitl_free(hdiag);
	return status;
}

/*
 * Compute the class probabilities of one standardized row: a sigmoid of the
 * single score for k == 2, a softmax shifted by the largest score otherwise.
 */
void
logreg_predict_proba(int d, int k, const double *coef, const double *x,
					 double *proba)
{
	int			dim = d + 1;
	int			c;
	int			j;

	if (k == 2)
	{
		double		z = coef[d];

		for (j = 0; j < d; j++)
			z += coef[j] * x[j];
		proba[0] = logreg_sigmoid(-z);
		proba[1] = logreg_sigmoid(z);
		return;
	}

	for (c = 0; c < k; c++)
	{
		const double *wc = coef + (size_t) c * dim;
		double		z = wc[d];

		for (j = 0; j < d; j++)
			z += wc[j] * x[j];
		proba[c] = z;
	}
	proba_softmax(k, proba);
}

/*
 * logreg_predict_proba for n rows, LOGREG_CHUNK_ROWS at a time: the scores
 * of a chunk by one matrix product (as the fits compute them), then the
 * intercepts and the sigmoid or softmax per row.
 */
void
logreg_predict_proba_rows(int n, int d, int k, const double *coef,
						  const double *x, double *proba)
{
	int			nvec = logreg_nvec(k);
	int			dim = d + 1;
	double	   *z = hitl_alloc(sizeof(double) * LOGREG_CHUNK_ROWS * nvec);
	int			i0;

	for (i0 = 0; i0 < n; i0 += LOGREG_CHUNK_ROWS)
	{
		int			c = (n - i0 < LOGREG_CHUNK_ROWS) ? n - i0 : LOGREG_CHUNK_ROWS;
		int			i;
		int			a;

		hitl_check_interrupts();
		if (d > 0)
		{
			const double one = 1.0;
			const double zero = 0.0;

			dgemm_("T", "N", &nvec, &c, &d, &one, coef, &dim,
				   x + (size_t) i0 * d, &d, &zero, z, &nvec, 1, 1);
		}
		else
			memset(z, 0, sizeof(double) * c * nvec);
		for (i = 0; i < c; i++)
		{
			double	   *out = proba + (size_t) (i0 + i) * k;

			if (k == 2)
			{
				double		s = z[i] + coef[d];

				out[0] = logreg_sigmoid(-s);
				out[1] = logreg_sigmoid(s);
				continue;
			}
			for (a = 0; a < k; a++)
				out[a] = z[(size_t) i * nvec + a] + coef[(size_t) a * dim + d];
			proba_softmax(k, out);
		}
	}
	hitl_free(z);
}
