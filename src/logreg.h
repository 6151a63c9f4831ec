/*
 * logreg.h
 *		L2-regularised logistic regression solved by Newton's method.
 *
 * Plain C, no PostgreSQL types.  The objective is scikit-learn's
 * LogisticRegression(C = C, penalty = 'l2'):
 *
 *		minimise  0.5 * ||W||^2  +  C * sum_i w_i * loss_i
 *
 * where W are the weights (never the intercepts, which are unpenalised),
 * loss_i is the log-loss of row i and w_i its row weight: 1 unless the
 * problem gives weights, which are scikit-learn's sample_weight (an
 * integer weight w counts as w copies of the row, 0 drops it).  With
 * k == 2 classes the model is binary (one sigmoid weight vector, as
 * scikit-learn does); with k > 2 it is multinomial (softmax, one weight
 * vector per class).
 *
 * Coefficient layout ("coef"): nvec rows of (d + 1) doubles, row-major; in
 * each row the d weights come first and the intercept last.  nvec is 1 for
 * k == 2 (the row scores class 1 against class 0) and k otherwise.  For
 * k > 2 the intercepts are returned centred (they sum to zero), which is the
 * solution scikit-learn's lbfgs reaches from a zero start; the weights are
 * unique at the optimum.
 *
 * Newton steps solve H p = -g with LAPACK's Cholesky (dposv / dpotrf+dpotrs),
 * the Hessian being assembled with BLAS; a backtracking (Armijo) line search
 * keeps every step a descent.  Deterministic: the same inputs in the same
 * order give bit-identical coefficients.
 *
 * The trainer does not call logreg_fit directly: logreg_solve.h chooses
 * between it and L-BFGS, which takes over when the Hessian is large.
 */
#ifndef HITL_LOGREG_H
#define HITL_LOGREG_H

typedef struct LogregProblem
{
	int			n;				/* rows */
	int			d;				/* features (already standardized) */
	int			k;				/* classes, >= 2 */
	const double *x;			/* n x d, row-major */
	const int  *y;				/* n class indices in [0, k) */
	double		C;				/* inverse regularisation strength, > 0 */
	int			max_iter;		/* Newton iterations at most, >= 1 */
	double		tol;			/* stop when max |g| <= tol, g being the gradient
								 * of the objective divided by C * S, S the
								 * sum of the row weights (n without them:
								 * the mean-loss scale scikit-learn's tol
								 * uses) */
	const double *weight;		/* n row weights, finite, >= 0, summing to
								 * more than 0; NULL: all 1 (bit for bit) */
} LogregProblem;

/* The method that fitted a model (names: logreg_solver_name) */
typedef enum LogregSolver
{
	LOGREG_SOLVER_NEWTON = 0,	/* logreg_fit: Newton with the full Hessian */
	LOGREG_SOLVER_LBFGS			/* L-BFGS (logreg_lbfgs.c, sparse_logreg.c) */
} LogregSolver;

typedef struct LogregResult
{
	int			iterations;		/* Newton iterations taken */
	int			converged;		/* 1 when the gradient test was met */
	double		objective;		/* final objective value */
	double		grad_norm;		/* final max |gradient| / (C * S) (S: see
								 * tol), the quantity compared with tol */
	double		tol;			/* the tol the fit ran to (logreg_solve: the
								 * problem's for Newton, scaled for L-BFGS) */
	LogregSolver solver;		/* the method used */
} LogregResult;

typedef enum LogregStatus
{
	LOGREG_OK = 0,
	LOGREG_BAD_INPUT,			/* n < 1, d < 0, k < 2, C <= 0 or not finite,
								 * max_iter < 1, tol < 0 or NaN, label out of
								 * range, a non-finite feature or warm-start
								 * coefficient, a negative or non-finite
								 * weight, weights summing to 0 */
	LOGREG_NOT_CONVERGED,		/* max_iter reached, or tol below what double
								 * precision resolves (the line search found
								 * no further decrease); coef holds the last
								 * iterate, usable as a model */
	LOGREG_LAPACK_FAILED		/* the Hessian could not be factorised even with damping */
} LogregStatus;

/* Number of coefficient vectors for k classes (1 when k == 2, else k) */
extern int	logreg_nvec(int k);

/* Number of doubles in a coefficient array: logreg_nvec(k) * (d + 1) */
extern int	logreg_ncoef(int d, int k);

/*
 * Fit the model.  coef has logreg_ncoef(d, k) doubles.  When warm_start is
 * non-zero, coef's contents are the starting point (a previous model's
 * coefficients); otherwise the start is all zeros.  On return coef holds the
 * solution.  res may be NULL.
 */
extern LogregStatus logreg_fit(const LogregProblem *p, double *coef,
							   int warm_start, LogregResult *res);

/*
 * Class probabilities for one standardized row x (d doubles) into proba
 * (k doubles, summing to 1).  Numerically safe for large scores.
 */
extern void logreg_predict_proba(int d, int k, const double *coef,
								 const double *x, double *proba);

/*
 * logreg_predict_proba for n rows x (n x d, row-major) into proba (n x k):
 * the scores by matrix products, so a training's figures on its rows cost
 * little beside the fit.  Equal to the row-by-row function up to the
 * rounding of the sums' order.
 */
extern void logreg_predict_proba_rows(int n, int d, int k, const double *coef,
									  const double *x, double *proba);

/* log(1 + exp(z)) and 1 / (1 + exp(-z)), without overflow */
extern double logreg_softplus(double z);
extern double logreg_sigmoid(double z);

/* "newton" or "lbfgs", as the version's metrics name them */
extern const char *logreg_solver_name(LogregSolver solver);

/* Human-readable text for a status */
extern const char *logreg_status_message(LogregStatus status);

/*
 * Check a problem and a starting point (sizes, C, tol, labels in range,
 * finite features and starting coefficients, weights finite and >= 0 with
 * a positive sum, a coefficient count that fits LAPACK's integers); 0 when
 * a fit can proceed.  Shared by the dense solvers (logreg.c,
 * logreg_lbfgs.c).
 */
extern int	logreg_check_problem(const LogregProblem *p, const double *coef, int warm_start);

/*
 * The sum of n row weights, (double) n when weight is NULL; -1 when one is
 * negative or not finite, or the sum is not finite.  The scale C * sum of
 * the gradient test (see LogregProblem.tol).  Shared with sparse_logreg.c.
 */
extern double logreg_weight_sum(int n, const double *weight);

#endif
