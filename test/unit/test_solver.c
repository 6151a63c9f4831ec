/*
 * test_solver.c
 *		Unit tests of the dense L-BFGS solver (src/logreg_lbfgs.c), the
 *		shared L-BFGS loop (src/lbfgs.c) and the choice of solver
 *		(src/logreg_solve.c), printing TAP.
 *
 * The reference solutions are scikit-learn's, written by
 * test/fixtures/make_solver_fixtures.py (binary, multinomial, one large
 * enough that the choice is L-BFGS, one with more features than rows).
 * The other cases are built here: warm starts, determinism, ill-conditioned
 * and separable data, bad input.
 *
 * Tolerances.  Every fit here runs to tol 1e-10: the largest gradient
 * component of the objective, divided by C n, at most 1e-10, as the
 * references (1e-9, checked by the script).  The objective is strongly
 * convex with curvature at least 1 in every weight (the penalty), so a
 * gradient of C n 1e-10 (at most 8e-8 here) bounds each weight's distance
 * to the optimum by about that much; intercepts are bounded through the
 * loss's curvature, weaker, hence COEF_TOL = 1e-5, two orders above what
 * the fits reach.  Objectives agree to OBJ_TOL = 1e-10 relative: near the
 * optimum the objective's error is quadratic in the coefficients' error.
 * logreg_solve scales tol for L-BFGS (LOGREG_LBFGS_TOL_FACTOR): it is
 * given FIT_TOL / that factor; with the default tol (1e-8, 1e-5 for
 * L-BFGS, or a flat objective) the objective agrees to DEFAULT_OBJ_TOL.
 *
 * Usage: test_solver [fixture_dir]   (default test/fixtures)
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbfgs.h"
#include "logreg.h"
#include "logreg_solve.h"
#include "numeric_alloc.h"
#include "tap.h"

#define COEF_TOL 1e-5
#define OBJ_TOL 1e-10
#define FIT_TOL 1e-10
#define DEFAULT_OBJ_TOL 1e-5
#define MAX_COEF 4096

typedef struct Fixture
{
	char		name[32];
	LogregProblem p;
	double		objective;		/* scikit-learn's */
	double		coef[MAX_COEF];	/* scikit-learn's, hitl's layout */
	double	   *x;
	int		   *y;
} Fixture;

/* Read fixture name from dir: its meta line, rows and coefficients */
static bool
read_fixture(const char *dir, const char *name, Fixture *fx)
{
	char		path[1024];
	char	   *line = xmalloc(MAX_LINE);
	char	   *fields[MAX_FIELDS];
	FILE	   *f;
	int			i = 0;
	bool		found = false;

	memset(fx, 0, sizeof(*fx));
	snprintf(fx->name, sizeof(fx->name), "%s", name);
	snprintf(path, sizeof(path), "%s/solver_meta.csv", dir);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	while (fgets(line, MAX_LINE, f) != NULL)
		if (split_csv(line, fields) == 6 && strcmp(fields[0], name) == 0)
		{
			fx->p.n = atoi(fields[1]);
			fx->p.d = atoi(fields[2]);
			fx->p.k = atoi(fields[3]);
			fx->p.C = atof(fields[4]);
			fx->objective = atof(fields[5]);
			found = true;
		}
	fclose(f);
	if (!found || logreg_ncoef(fx->p.d, fx->p.k) > MAX_COEF)
		return false;

	fx->x = xmalloc(sizeof(double) * fx->p.n * fx->p.d);
	fx->y = xmalloc(sizeof(int) * fx->p.n);
	snprintf(path, sizeof(path), "%s/solver_%s.csv", dir, name);
	if ((f = fopen(path, "r")) == NULL || fgets(line, MAX_LINE, f) == NULL)
		return false;
	while (i < fx->p.n && fgets(line, MAX_LINE, f) != NULL)
	{
		int			j;

		if (split_csv(line, fields) != fx->p.d + 1)
			break;
		fx->y[i] = atoi(fields[0]);
		for (j = 0; j < fx->p.d; j++)
			fx->x[(size_t) i * fx->p.d + j] = atof(fields[j + 1]);
		i++;
	}
	fclose(f);
	free(line);
	if (i != fx->p.n)
		return false;

	snprintf(path, sizeof(path), "%s/solver_%s_coef.csv", dir, name);
	if (read_index_values(path, fx->coef, MAX_COEF) != logreg_ncoef(fx->p.d, fx->p.k))
		return false;
	fx->p.x = fx->x;
	fx->p.y = fx->y;
	fx->p.max_iter = 10000;
	fx->p.tol = FIT_TOL;
	return true;
}

static double
max_diff(const double *a, const double *b, int len)
{
	double		m = 0.0;
	int			j;

	for (j = 0; j < len; j++)
		if (fabs(a[j] - b[j]) > m)
			m = fabs(a[j] - b[j]);
	return m;
}

static bool
all_finite(const double *v, int len)
{
	int			j;

	for (j = 0; j < len; j++)
		if (!isfinite(v[j]))
			return false;
	return true;
}

/*
 * L-BFGS and logreg_solve on a fixture against scikit-learn; want is the
 * solver logreg_solve should pick.
 */
static void
test_fixture(const Fixture *fx, LogregSolver want)
{
	int			ncoef = logreg_ncoef(fx->p.d, fx->p.k);
	double	   *coef = xmalloc(sizeof(double) * ncoef);
	LogregResult res;
	LogregStatus st;
	LogregSolver chosen = logreg_choose_solver(fx->p.n, fx->p.d, fx->p.k);
	LogregProblem q;

	st = logreg_lbfgs_fit(&fx->p, coef, 0, &res);
	ok(st == LOGREG_OK && res.converged && res.solver == LOGREG_SOLVER_LBFGS,
	   "%s: L-BFGS converges (%d iterations, max |g|/(Cn) %.2g)",
	   fx->name, res.iterations, res.grad_norm);
	ok(max_diff(coef, fx->coef, ncoef) <= COEF_TOL,
	   "%s: L-BFGS coefficients within %g of scikit-learn's (max diff %.3g)",
	   fx->name, COEF_TOL, max_diff(coef, fx->coef, ncoef));
	ok(fabs(res.objective - fx->objective) <= OBJ_TOL * fabs(fx->objective),
	   "%s: L-BFGS objective %.12g, scikit-learn's %.12g",
	   fx->name, res.objective, fx->objective);

	ok(chosen == want, "%s (%d x %d, %d classes): the choice is %s (got %s)",
	   fx->name, fx->p.n, fx->p.d, fx->p.k, logreg_solver_name(want),
	   logreg_solver_name(chosen));
	/* logreg_solve scales tol for L-BFGS: ask it for FIT_TOL */
	q = fx->p;
	if (want == LOGREG_SOLVER_LBFGS)
		q.tol = FIT_TOL / LOGREG_LBFGS_TOL_FACTOR;
	st = logreg_solve(&q, coef, 0, &res);
	ok(st == LOGREG_OK && res.solver == want && res.tol == FIT_TOL &&
	   max_diff(coef, fx->coef, ncoef) <= COEF_TOL,
	   "%s: logreg_solve uses %s, to tol %g, and matches scikit-learn (max diff %.3g)",
	   fx->name, logreg_solver_name(res.solver), res.tol, max_diff(coef, fx->coef, ncoef));
	free(coef);
}

/*
 * The defaults through logreg_solve, on a fixture it gives to L-BFGS:
 * tol 1e-8 fits L-BFGS to 1e-5, or to a flat objective (the gradient test
 * met to LBFGS_FLAT_GRADIENT times that), in no more iterations than the
 * gradient test alone, and within DEFAULT_OBJ_TOL of scikit-learn's
 * objective.
 */
static void
test_default_tol(const Fixture *fx)
{
	LogregProblem q = fx->p;
	LogregResult res;
	LogregResult plain;
	LogregStatus st;
	double	   *coef = xmalloc(sizeof(double) * logreg_ncoef(fx->p.d, fx->p.k));

	q.tol = 1e-8;
	q.max_iter = 100;
	st = logreg_solve(&q, coef, 0, &res);
	ok(st == LOGREG_OK && res.converged && res.solver == LOGREG_SOLVER_LBFGS &&
	   res.tol == 1e-8 * LOGREG_LBFGS_TOL_FACTOR &&
	   res.grad_norm <= LBFGS_FLAT_GRADIENT * res.tol,
	   "%s: the default tol 1e-8 fits L-BFGS to %g (%d iterations, max |g|/(Cn) %.2g)",
	   fx->name, res.tol, res.iterations, res.grad_norm);
	ok(fabs(res.objective - fx->objective) <= DEFAULT_OBJ_TOL * fabs(fx->objective),
	   "%s: its objective %.12g within %g of scikit-learn's, relative",
	   fx->name, res.objective, DEFAULT_OBJ_TOL);
	q.tol = res.tol;
	q.max_iter = 100 * LOGREG_LBFGS_ITER_FACTOR;
	st = logreg_lbfgs_fit(&q, coef, 0, &plain);
	ok(st == LOGREG_OK && plain.grad_norm <= q.tol && plain.iterations >= res.iterations,
	   "%s: the gradient test alone takes %d iterations, the flat objective %d",
	   fx->name, plain.iterations, res.iterations);
	free(coef);
}

/*
 * logreg_predict_proba_rows against logreg_predict_proba row by row, with
 * the fixture's solution
 */
static void
test_proba_rows(const Fixture *fx)
{
	int			k = fx->p.k;
	double	   *rows = xmalloc(sizeof(double) * fx->p.n * k);
	double	   *one = xmalloc(sizeof(double) * k);
	double		worst = 0.0;
	int			i;
	int			c;

	logreg_predict_proba_rows(fx->p.n, fx->p.d, k, fx->coef, fx->x, rows);
	for (i = 0; i < fx->p.n; i++)
	{
		logreg_predict_proba(fx->p.d, k, fx->coef, fx->x + (size_t) i * fx->p.d, one);
		for (c = 0; c < k; c++)
			worst = fmax(worst, fabs(rows[(size_t) i * k + c] - one[c]));
	}
	ok(worst <= 1e-12, "%s: probabilities of all rows at once equal row by row's (max diff %.2g)",
	   fx->name, worst);
	free(rows);
	free(one);
}

/* Warm starts and determinism on a fixture (L-BFGS) */
static void
test_warm_and_determinism(const Fixture *fx)
{
	int			ncoef = logreg_ncoef(fx->p.d, fx->p.k);
	double	   *a = xmalloc(sizeof(double) * ncoef);
	double	   *b = xmalloc(sizeof(double) * ncoef);
	LogregResult cold;
	LogregResult res;
	LogregStatus st;
	int			j;

	(void) logreg_lbfgs_fit(&fx->p, a, 0, &cold);
	(void) logreg_lbfgs_fit(&fx->p, b, 0, &res);
	ok(memcmp(a, b, sizeof(double) * ncoef) == 0 &&
	   memcmp(&cold.objective, &res.objective, sizeof(double)) == 0,
	   "%s: two L-BFGS fits are bit-identical", fx->name);

	st = logreg_lbfgs_fit(&fx->p, b, 1, &res);
	ok(st == LOGREG_OK && res.iterations == 0 && max_diff(a, b, ncoef) <= 1e-12,
	   "%s: a warm start at the solution takes no iteration and keeps it (%d, %.3g)",
	   fx->name, res.iterations, max_diff(a, b, ncoef));

	/* the previous model, fitted before the last 2% of the rows were labeled */
	{
		LogregProblem q = fx->p;

		q.n = fx->p.n - fx->p.n / 50;
		(void) logreg_lbfgs_fit(&q, b, 0, NULL);
	}
	st = logreg_lbfgs_fit(&fx->p, b, 1, &res);
	ok(st == LOGREG_OK && res.iterations < cold.iterations &&
	   max_diff(b, fx->coef, ncoef) <= COEF_TOL,
	   "%s: a warm start from the model of 98%% of the rows converges in %d iterations (cold %d)",
	   fx->name, res.iterations, cold.iterations);

	/* intercepts shifted together (k > 2): the same model, centred on return */
	if (fx->p.k > 2)
	{
		for (j = 0; j < ncoef; j++)
			b[j] = a[j] + ((j % (fx->p.d + 1) == fx->p.d) ? 5.0 : 0.0);
		st = logreg_lbfgs_fit(&fx->p, b, 1, &res);
		ok(st == LOGREG_OK && max_diff(b, a, ncoef) <= 1e-9,
		   "%s: a start with shifted intercepts returns them centred", fx->name);
	}

	{
		LogregProblem q = fx->p;

		q.max_iter = 1;
		st = logreg_lbfgs_fit(&q, b, 0, &res);
		ok(st == LOGREG_NOT_CONVERGED && res.iterations == 1 && !res.converged &&
		   all_finite(b, ncoef),
		   "%s: max_iter 1 stops with LOGREG_NOT_CONVERGED and usable coefficients",
		   fx->name);
	}
	free(a);
	free(b);
}

/* Deterministic normal deviates (xorshift and Box-Muller) */
static uint64_t rng_state = 88172645463325252ULL;

static double
uniform01(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return ((rng_state >> 11) + 0.5) / 9007199254740992.0;
}

static double
normal01(void)
{
	return sqrt(-2.0 * log(uniform01())) * cos(6.283185307179586 * uniform01());
}

/*
 * Ill-conditioned data: two nearly collinear features, one on a scale a
 * thousand times the others (not standardized).  L-BFGS must stay finite
 * and reach Newton's objective, or say it did not converge.
 */
static void
test_ill_conditioned(void)
{
	int			n = 300;
	int			d = 5;
	int			k = 3;
	double	   *x = xmalloc(sizeof(double) * n * d);
	int		   *y = xmalloc(sizeof(int) * n);
	int			ncoef = logreg_ncoef(d, k);
	double	   *a = xmalloc(sizeof(double) * ncoef);
	double	   *b = xmalloc(sizeof(double) * ncoef);
	LogregProblem p = {n, d, k, x, y, 10.0, 20000, 1e-8, NULL};
	LogregResult rn;
	LogregResult rl;
	LogregStatus sn;
	LogregStatus sl;
	int			i;

	for (i = 0; i < n; i++)
	{
		y[i] = i % k;
		x[i * d + 0] = normal01() + y[i];
		x[i * d + 1] = x[i * d + 0] + 1e-6 * normal01();
		x[i * d + 2] = 1000.0 * (normal01() - 0.5 * y[i]);
		x[i * d + 3] = normal01();
		x[i * d + 4] = 0.001 * normal01() + (y[i] == 2);
	}
	sn = logreg_fit(&p, a, 0, &rn);
	sl = logreg_lbfgs_fit(&p, b, 0, &rl);
	ok(all_finite(b, ncoef) && (sl == LOGREG_OK || sl == LOGREG_NOT_CONVERGED),
	   "ill-conditioned: finite coefficients, status \"%s\" (%d iterations, max |g|/(Cn) %.2g)",
	   logreg_status_message(sl), rl.iterations, rl.grad_norm);
	ok(sn == LOGREG_OK &&
	   fabs(rl.objective - rn.objective) <= 1e-8 * fabs(rn.objective),
	   "ill-conditioned: L-BFGS objective %.12g, Newton's %.12g",
	   rl.objective, rn.objective);
	free(x);
	free(y);
	free(a);
	free(b);
}

/*
 * Separable data with a weak penalty: the optimum is finite but far out.
 * L-BFGS must keep finite coefficients, separate the classes and either
 * converge or report that it did not.
 */
static void
test_separable(void)
{
	int			n = 200;
	int			d = 3;
	double	   *x = xmalloc(sizeof(double) * n * d);
	int		   *y = xmalloc(sizeof(int) * n);
	double		coef[4];
	double		proba[2];
	LogregProblem p = {n, d, 2, x, y, 1e6, 20000, 1e-8, NULL};
	LogregResult res;
	LogregStatus st;
	int			right = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		y[i] = i % 2;
		x[i * d + 0] = (y[i] ? 1.0 : -1.0) * (0.5 + uniform01());
		x[i * d + 1] = normal01();
		x[i * d + 2] = normal01();
	}
	st = logreg_lbfgs_fit(&p, coef, 0, &res);
	for (i = 0; i < n; i++)
	{
		logreg_predict_proba(d, 2, coef, x + i * d, proba);
		right += ((proba[1] > 0.5) == (y[i] == 1));
	}
	ok(all_finite(coef, 4) && (st == LOGREG_OK || st == LOGREG_NOT_CONVERGED),
	   "separable: finite coefficients (weight %.4g), status \"%s\" after %d iterations",
	   coef[0], logreg_status_message(st), res.iterations);
	ok(right == n, "separable: every training row classified right (%d of %d)",
	   right, n);
	free(x);
	free(y);
}

/* Bad input is refused, as logreg_fit refuses it */
static void
test_bad_input(const Fixture *fx)
{
	int			ncoef = logreg_ncoef(fx->p.d, fx->p.k);
	double	   *coef = xmalloc(sizeof(double) * ncoef);
	LogregProblem q = fx->p;
	double		saved;

	q.C = 0.0;
	ok(logreg_lbfgs_fit(&q, coef, 0, NULL) == LOGREG_BAD_INPUT, "C = 0 is refused");
	q = fx->p;
	q.k = 1;
	ok(logreg_lbfgs_fit(&q, coef, 0, NULL) == LOGREG_BAD_INPUT, "one class is refused");
	saved = fx->x[7];
	fx->x[7] = NAN;
	ok(logreg_lbfgs_fit(&fx->p, coef, 0, NULL) == LOGREG_BAD_INPUT,
	   "a NaN feature is refused");
	fx->x[7] = saved;
	coef[0] = INFINITY;
	ok(logreg_lbfgs_fit(&fx->p, coef, 1, NULL) == LOGREG_BAD_INPUT,
	   "an infinite warm-start coefficient is refused");
	free(coef);
}

/* The choice: Newton while cheap, L-BFGS beyond Newton's limit */
static void
test_choice(void)
{
	ok(logreg_choose_solver(200, 4, 2) == LOGREG_SOLVER_NEWTON,
	   "a small problem is solved by Newton");
	ok(logreg_choose_solver(20000, 10, 2) == LOGREG_SOLVER_LBFGS,
	   "2 classes x 10 features on 20,000 rows by L-BFGS (twice as fast as Newton)");
	ok(logreg_choose_solver(1000, 10, 2) == LOGREG_SOLVER_NEWTON,
	   "2 classes x 10 features on 1,000 rows by Newton (under a millisecond)");
	ok(logreg_choose_solver(16000, 16, 26) == LOGREG_SOLVER_LBFGS,
	   "26 classes x 16 features on 16,000 rows (442 coefficients) by L-BFGS");
	ok(logreg_choose_solver(1000, 5000, 2) == LOGREG_SOLVER_LBFGS,
	   "5,001 coefficients, beyond Newton's %d, by L-BFGS", LOGREG_NEWTON_MAX_COEF);
	ok(strcmp(logreg_solver_name(LOGREG_SOLVER_NEWTON), "newton") == 0 &&
	   strcmp(logreg_solver_name(LOGREG_SOLVER_LBFGS), "lbfgs") == 0,
	   "the solvers' names are \"newton\" and \"lbfgs\"");
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "test/fixtures";
	static Fixture fx[4];
	static const char *names[4] = {"binary", "multi", "large", "wide"};
	static const LogregSolver want[4] = {LOGREG_SOLVER_NEWTON, LOGREG_SOLVER_NEWTON,
	LOGREG_SOLVER_LBFGS, LOGREG_SOLVER_NEWTON};
	int			i;

	for (i = 0; i < 4; i++)
		if (!ok(read_fixture(dir, names[i], &fx[i]), "fixture %s read", names[i]))
			return tap_finish();
	for (i = 0; i < 4; i++)
		test_fixture(&fx[i], want[i]);
	test_default_tol(&fx[2]);
	for (i = 0; i < 4; i++)
		test_proba_rows(&fx[i]);
	test_warm_and_determinism(&fx[0]);
	test_warm_and_determinism(&fx[2]);
	test_ill_conditioned();
	test_separable();
	test_bad_input(&fx[1]);
	test_choice();
	return tap_finish();
}
