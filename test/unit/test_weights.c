/*
 * test_weights.c
 *		Unit tests of per-row training weights, printing TAP.
 *
 * Logistic regression (dense Newton, dense L-BFGS, sparse L-BFGS): weighted
 * fits against scikit-learn's LogisticRegression(C, sample_weight = w)
 * (solutions written by test/fixtures/make_weight_fixtures.py); integer
 * weights against the rows repeated that many times; no weights (NULL)
 * against all weights 1, bit for bit; bad weights refused.  Naive Bayes:
 * integer weights against repeated rows, weight 0 against the row left out.
 *
 * Usage: test_weights [fixture_dir] (default test/fixtures).
 * Exits non-zero when any test fails.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logreg.h"
#include "logreg_solve.h"
#include "nbayes.h"
#include "sparse_logreg.h"
#include "tap.h"

/* Agreement with scikit-learn: test_solver.c's, absolute */
#define SKLEARN_COEF_TOL 1e-5
#define SKLEARN_OBJ_TOL 1e-10	/* relative */
#define FIT_TOL 1e-10			/* tol of the fits compared with it */

/* Weights against repeated rows */
#define REPEAT_COEF_TOL 1e-8	/* logistic coefficients, absolute */
#define REPEAT_FIT_TOL 1e-11	/* tol of those fits */
#define NB_TOL 1e-12			/* naive Bayes, relative (probabilities:
								 * absolute) */

/* A fixture problem: its rows (dense or sparse), weights and solution */
typedef struct WProblem
{
	char		name[32];
	int			n;
	int			d;
	int			k;
	double		C;
	double		objective;		/* at scikit-learn's solution */
	double	   *x;				/* n x d, or NULL when sparse */
	int64_t    *indptr;			/* sparse rows, or NULL when dense */
	int		   *indices;
	double	   *values;
	int		   *y;
	double	   *weight;			/* n */
	double	   *coef;			/* scikit-learn's, hitl's layout */
} WProblem;

/*
 * Largest |a[i] - b[i]|, or with relative, largest |a[i] - b[i]| divided by
 * max(1, |b[i]|); NaN counts as the largest
 */
static double
max_diff(const double *a, const double *b, size_t len, bool relative)
{
	double		worst = 0.0;
	size_t		i;

	for (i = 0; i < len; i++)
	{
		double		e = fabs(a[i] - b[i]);

		if (relative)
			e /= fmax(1.0, fabs(b[i]));
		if (isnan(e) || e > worst)
			worst = isnan(e) ? INFINITY : e;
	}
	return worst;
}

/* The meta line of fixture name (weight_meta.csv) into pr */
static bool
load_meta(const char *dir, const char *name, WProblem *pr)
{
	char		path[1024];
	char		line[512];
	char	   *f[MAX_FIELDS];
	FILE	   *in;
	bool		found = false;

	snprintf(path, sizeof(path), "%s/weight_meta.csv", dir);
	if ((in = fopen(path, "r")) == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), in) != NULL)
	{
		if (split_csv(line, f) != 6 || strcmp(f[0], name) != 0)
			continue;
		snprintf(pr->name, sizeof(pr->name), "%s", name);
		pr->n = atoi(f[1]);
		pr->d = atoi(f[2]);
		pr->k = atoi(f[3]);
		pr->C = strtod(f[4], NULL);
		pr->objective = strtod(f[5], NULL);
		found = true;
	}
	fclose(in);
	return found && pr->n > 0 && pr->d > 0 && pr->k >= 2;
}

/*
 * Dense rows of solver_<rows>.csv: a header, then per row the label and d
 * values (short lines: a few tens of features)
 */
static bool
load_dense_rows(const char *dir, const char *rows, WProblem *pr)
{
	char		buf[8192];
	char	   *f[MAX_FIELDS];
	FILE	   *in;
	int			got = 0;

	snprintf(buf, sizeof(buf), "%s/solver_%s.csv", dir, rows);
	in = fopen(buf, "r");
	pr->x = xmalloc(sizeof(double) * pr->n * pr->d);
	pr->y = xmalloc(sizeof(int) * pr->n);
	if (in == NULL || fgets(buf, sizeof(buf), in) == NULL)
		return false;
	for (; got < pr->n && fgets(buf, sizeof(buf), in) != NULL; got++)
	{
		double	   *row = pr->x + (size_t) got * pr->d;
		int			j;

		if (split_csv(buf, f) != pr->d + 1)
			break;
		pr->y[got] = atoi(f[0]);
		for (j = 0; j < pr->d; j++)
			row[j] = strtod(f[j + 1], NULL);
	}
	fclose(in);
	return got == pr->n;
}

/*
 * Sparse rows of sparse_x.csv (row,col,value, by row) and the labels of
 * column label_col of sparse_y.csv
 */
static bool
load_sparse_rows(const char *dir, int label_col, WProblem *pr)
{
	char		path[1024];
	char		line[512];
	char	   *f[MAX_FIELDS];
	FILE	   *in;
	int64_t		cap = 1024;
	int64_t		nnz = 0;
	int			rows = 0;

	snprintf(path, sizeof(path), "%s/sparse_x.csv", dir);
	if ((in = fopen(path, "r")) == NULL)
		return false;
	pr->indptr = xmalloc(sizeof(int64_t) * (pr->n + 1));
	pr->indices = xmalloc(sizeof(int) * cap);
	pr->values = xmalloc(sizeof(double) * cap);
	if (fgets(line, sizeof(line), in) != NULL)
		while (fgets(line, sizeof(line), in) != NULL && split_csv(line, f) == 3)
		{
			int			r = atoi(f[0]);

			if (r < 0 || r >= pr->n)
				break;
			for (; rows <= r; rows++)
				pr->indptr[rows] = nnz;
			if (nnz == cap)
			{
				cap *= 2;
				pr->indices = realloc(pr->indices, sizeof(int) * cap);
				pr->values = realloc(pr->values, sizeof(double) * cap);
			}
			pr->indices[nnz] = atoi(f[1]);
			pr->values[nnz++] = strtod(f[2], NULL);
		}
	fclose(in);
	for (; rows <= pr->n; rows++)
		pr->indptr[rows] = nnz;

	snprintf(path, sizeof(path), "%s/sparse_y.csv", dir);
	if ((in = fopen(path, "r")) == NULL)
		return false;
	pr->y = xmalloc(sizeof(int) * pr->n);
	rows = 0;
	if (fgets(line, sizeof(line), in) != NULL)
		while (rows < pr->n && fgets(line, sizeof(line), in) != NULL &&
			   split_csv(line, f) > label_col)
			pr->y[rows++] = atoi(f[label_col]);
	fclose(in);
	return rows == pr->n && nnz > 0;
}

/*
 * Fixture name: its meta line, its rows (dense solver_<rows>.csv, or the
 * sparse rows with sparse_y.csv's column label_col when rows is NULL), its
 * weights and scikit-learn's coefficients
 */
static bool
load_problem(const char *dir, const char *name, const char *rows, int label_col,
			 WProblem *pr)
{
	char		path[1024];
	int			ncoef;

	memset(pr, 0, sizeof(*pr));
	if (!load_meta(dir, name, pr))
		return false;
	if (rows != NULL ? !load_dense_rows(dir, rows, pr)
		: !load_sparse_rows(dir, label_col, pr))
		return false;
	ncoef = logreg_ncoef(pr->d, pr->k);
	pr->weight = xmalloc(sizeof(double) * pr->n);
	pr->coef = xmalloc(sizeof(double) * ncoef);
	snprintf(path, sizeof(path), "%s/weight_%s.csv", dir, name);
	if (read_index_values(path, pr->weight, pr->n) != pr->n)
		return false;
	snprintf(path, sizeof(path), "%s/weight_%s_coef.csv", dir, name);
	return read_index_values(path, pr->coef, ncoef) == ncoef;
}

static void
free_problem(WProblem *pr)
{
	free(pr->x);
	free(pr->indptr);
	free(pr->indices);
	free(pr->values);
	free(pr->y);
	free(pr->weight);
	free(pr->coef);
}

/* The dense problem of pr's rows with weights w (NULL: none) */
static LogregProblem
dense_of(const WProblem *pr, const double *w, double tol, int max_iter)
{
	LogregProblem p = {.n = pr->n, .d = pr->d, .k = pr->k, .x = pr->x, .y = pr->y,
	.C = pr->C, .max_iter = max_iter, .tol = tol, .weight = w};

	return p;
}

/* The sparse problem of pr's rows with weights w (NULL: none) */
static SparseLogregProblem
sparse_of(const WProblem *pr, const double *w, double tol)
{
	SparseLogregProblem p = {.x = {pr->n, pr->d, pr->indptr, pr->indices, pr->values},
	.k = pr->k, .y = pr->y, .C = pr->C, .max_iter = 100000, .tol = tol, .weight = w};

	return p;
}

/*
 * Scratch space of a test on pr: two coefficient arrays, a double and an
 * int per row
 */
typedef struct Scratch
{
	int			ncoef;
	double	   *a;
	double	   *b;
	double	   *w;
	int		   *ints;
} Scratch;

static Scratch
scratch_of(const WProblem *pr)
{
	Scratch		s;

	s.ncoef = logreg_ncoef(pr->d, pr->k);
	s.a = xmalloc(sizeof(double) * (2 * (size_t) s.ncoef + pr->n));	/* a, b, w */
	s.b = s.a + s.ncoef;
	s.w = s.b + s.ncoef;
	s.ints = xmalloc(sizeof(int) * pr->n);
	return s;
}

static void
scratch_free(Scratch *s)
{
	free(s->a);					/* b and w with it */
	free(s->ints);
}

/*
 * pr's rows with row i repeated reps[i] times (0: left out), in order, into
 * out (weights and solution not copied)
 */
static void
repeat_rows(const WProblem *pr, const int *reps, WProblem *out)
{
	int64_t		nnz = 0;
	int			total = 0;
	int			i;
	int			r;

	*out = *pr;
	out->weight = out->coef = NULL;
	for (i = 0; i < pr->n; i++)
		total += reps[i];
	out->n = total;
	out->y = xmalloc(sizeof(int) * total);
	if (pr->x != NULL)
		out->x = xmalloc(sizeof(double) * total * pr->d);
	else
	{
		out->indptr = xmalloc(sizeof(int64_t) * (total + 1));
		out->indices = xmalloc(sizeof(int) * (pr->indptr[pr->n] * 4 + 1));
		out->values = xmalloc(sizeof(double) * (pr->indptr[pr->n] * 4 + 1));
	}
	total = 0;
	for (i = 0; i < pr->n; i++)
		for (r = 0; r < reps[i]; r++)
		{
			out->y[total] = pr->y[i];
			if (pr->x != NULL)
				memcpy(out->x + (size_t) total * pr->d, pr->x + (size_t) i * pr->d,
					   sizeof(double) * pr->d);
			else
			{
				int64_t		len = pr->indptr[i + 1] - pr->indptr[i];

				memcpy(out->indices + nnz, pr->indices + pr->indptr[i], sizeof(int) * len);
				memcpy(out->values + nnz, pr->values + pr->indptr[i], sizeof(double) * len);
				nnz += len;
				out->indptr[total + 1] = nnz;
			}
			total++;
		}
}

/* The dense entry points */
typedef enum DenseEntry
{
	ENTRY_NEWTON,
	ENTRY_LBFGS,
	ENTRY_LBFGS_FLAT,
	ENTRY_SOLVE
} DenseEntry;

static const char *const entry_names[] = {"logreg_fit", "logreg_lbfgs_fit",
"logreg_lbfgs_fit_flat", "logreg_solve"};

static LogregStatus
call_dense(DenseEntry e, const LogregProblem *p, double *coef, LogregResult *res)
{
	switch (e)
	{
		case ENTRY_NEWTON:
			return logreg_fit(p, coef, 0, res);
		case ENTRY_LBFGS:
			return logreg_lbfgs_fit(p, coef, 0, res);
		case ENTRY_LBFGS_FLAT:
			return logreg_lbfgs_fit_flat(p, coef, 0, 1e-6, res);
		case ENTRY_SOLVE:
			break;
	}
	return logreg_solve(p, coef, 0, res);
}

/*
 * Fit pr with weights w: by entry e when pr is dense (max_iter Newton or
 * L-BFGS iterations), by sparse_logreg_fit otherwise (max_iter iterations)
 */
static LogregStatus
fit_any(const WProblem *pr, const double *w, DenseEntry e, double tol, int max_iter,
		double *coef, LogregResult *res)
{
	SparseLogregProblem sp;
	LogregProblem dp;

	if (pr->x != NULL)
	{
		dp = dense_of(pr, w, tol, max_iter);
		return call_dense(e, &dp, coef, res);
	}
	sp = sparse_of(pr, w, tol);
	sp.max_iter = max_iter;
	return sparse_logreg_fit(&sp, coef, 0, res);
}

/* The name of the solver fit_any uses */
static const char *
solver_of(const WProblem *pr, DenseEntry e)
{
	return (pr->x == NULL) ? "sparse_logreg_fit" : entry_names[e];
}

/*
 * Weighted fits against scikit-learn, coefficients and objective: dense
 * Newton and L-BFGS, or sparse L-BFGS
 */
static void
test_sklearn(const WProblem *pr)
{
	Scratch		s = scratch_of(pr);
	int			e;

	for (e = ENTRY_NEWTON; e <= ENTRY_LBFGS; e++)
	{
		LogregResult res;
		LogregStatus st;
		double		diff;

		st = fit_any(pr, pr->weight, (DenseEntry) e, FIT_TOL,
					 e == ENTRY_NEWTON ? 100 : 100000, s.a, &res);
		diff = max_diff(s.a, pr->coef, s.ncoef, false);
		ok(st == LOGREG_OK && diff <= SKLEARN_COEF_TOL,
		   "%s: %s with weights matches scikit-learn's sample_weight fit (max coefficient diff %.3g, %d iterations)",
		   pr->name, solver_of(pr, e), diff, res.iterations);
		ok(fabs(res.objective - pr->objective) <= SKLEARN_OBJ_TOL * pr->objective,
		   "%s: %s objective %.12g, scikit-learn's %.12g", pr->name, solver_of(pr, e),
		   res.objective, pr->objective);
		if (pr->x == NULL)
			break;
	}
	scratch_free(&s);
}

/*
 * Sparse: the fit on the rows of positive weight only (rows given, the
 * weights indexed like x) is the fit on all rows, weight 0 leaving a row
 * out
 */
static void
test_sparse_subset(const WProblem *pr)
{
	Scratch		s = scratch_of(pr);
	SparseLogregProblem p = sparse_of(pr, pr->weight, FIT_TOL);
	LogregStatus sa;
	LogregStatus sb;
	int			nrows = 0;
	int			i;

	for (i = 0; i < pr->n; i++)
		if (pr->weight[i] > 0.0)
			s.ints[nrows++] = i;
	sa = sparse_logreg_fit(&p, s.a, 0, NULL);
	p.rows = s.ints;
	p.nrows = nrows;
	sb = sparse_logreg_fit(&p, s.b, 0, NULL);
	ok(sa == LOGREG_OK && sb == LOGREG_OK && nrows < pr->n &&
	   max_diff(s.a, s.b, s.ncoef, false) <= REPEAT_COEF_TOL,
	   "%s: the %d rows of positive weight alone (rows, weights indexed like x) give the same fit (max diff %.3g)",
	   pr->name, nrows, max_diff(s.a, s.b, s.ncoef, false));
	scratch_free(&s);
}

/*
 * Integer weights against the rows repeated, by each solver: a few
 * iterations must give the same iterate up to rounding, and the same
 * objective and max |g| / (C S), which tests the Hessian (a Newton step) and
 * the gradient test's scale S (the weights' sum against the rows' number);
 * fits to REPEAT_FIT_TOL the same coefficients
 */
static void
test_repetition(const WProblem *pr)
{
	Scratch		s = scratch_of(pr);
	WProblem	rep;
	int			e;

	for (e = 0; e < pr->n; e++)
	{
		s.ints[e] = e % 4;		/* rows 0, 4, 8, ... left out */
		s.w[e] = (double) s.ints[e];
	}
	repeat_rows(pr, s.ints, &rep);
	for (e = ENTRY_NEWTON; e <= ENTRY_LBFGS; e++)
	{
		int			iters = (pr->x != NULL && e == ENTRY_NEWTON) ? 1 : 3;
		LogregResult rw;
		LogregResult rr;
		LogregStatus sw;
		LogregStatus sr;

		(void) fit_any(pr, s.w, (DenseEntry) e, 0.0, iters, s.a, &rw);
		(void) fit_any(&rep, NULL, (DenseEntry) e, 0.0, iters, s.b, &rr);
		ok(rw.iterations == iters && rr.iterations == iters &&
		   max_diff(s.a, s.b, s.ncoef, false) <= 1e-12 &&
		   fabs(rw.grad_norm - rr.grad_norm) <= 1e-9 * rr.grad_norm &&
		   fabs(rw.objective - rr.objective) <= 1e-12 * rr.objective,
		   "%s: %s, %d iteration(s) with weights 0 to 3 and on the %d rows repeated: the same iterate (max diff %.3g), objective and max |g|/(C S) (%.6g and %.6g)",
		   pr->name, solver_of(pr, e), iters, rep.n, max_diff(s.a, s.b, s.ncoef, false),
		   rw.grad_norm, rr.grad_norm);

		sw = fit_any(pr, s.w, (DenseEntry) e, REPEAT_FIT_TOL, 100000, s.a, NULL);
		sr = fit_any(&rep, NULL, (DenseEntry) e, REPEAT_FIT_TOL, 100000, s.b, NULL);
		ok(sw == LOGREG_OK && sr == LOGREG_OK &&
		   max_diff(s.a, s.b, s.ncoef, false) <= REPEAT_COEF_TOL,
		   "%s: %s, weights 0 to 3 fit as the rows repeated (max coefficient diff %.3g)",
		   pr->name, solver_of(pr, e), max_diff(s.a, s.b, s.ncoef, false));
		if (pr->x == NULL)
			break;
	}
	free(rep.x);
	free(rep.indptr);
	free(rep.indices);
	free(rep.values);
	free(rep.y);
	scratch_free(&s);
}

/* Do two fits agree bit for bit, coefficients and figures? */
static bool
same_fit(const double *a, const double *b, int ncoef, const LogregResult *ra,
		 const LogregResult *rb)
{
	return memcmp(a, b, sizeof(double) * ncoef) == 0 &&
		ra->iterations == rb->iterations && ra->converged == rb->converged &&
		memcmp(&ra->objective, &rb->objective, sizeof(double)) == 0 &&
		memcmp(&ra->grad_norm, &rb->grad_norm, sizeof(double)) == 0;
}

/*
 * No weights (NULL) and all weights 1 fit bit for bit alike: every dense
 * entry point, or the sparse fit on all rows and on half of them
 */
static void
test_null(const WProblem *pr)
{
	Scratch		s = scratch_of(pr);
	int			last = (pr->x != NULL) ? ENTRY_SOLVE : ENTRY_LBFGS;
	int			e;

	for (e = 0; e < pr->n; e++)
	{
		s.w[e] = 1.0;
		s.ints[e] = pr->n - 1 - e;
	}
	for (e = ENTRY_NEWTON; e <= last; e++)
	{
		LogregResult rn;
		LogregResult r1;
		LogregStatus sn;
		LogregStatus s1;

		if (pr->x != NULL)
		{
			sn = fit_any(pr, NULL, (DenseEntry) e, 1e-8, 1000, s.a, &rn);
			s1 = fit_any(pr, s.w, (DenseEntry) e, 1e-8, 1000, s.b, &r1);
		}
		else
		{
			SparseLogregProblem pn = sparse_of(pr, NULL, 1e-8);
			SparseLogregProblem p1 = sparse_of(pr, s.w, 1e-8);

			if (e == ENTRY_LBFGS)	/* the second time: half of the rows */
			{
				pn.rows = p1.rows = s.ints;
				pn.nrows = p1.nrows = pr->n / 2;
			}
			sn = sparse_logreg_fit(&pn, s.a, 0, &rn);
			s1 = sparse_logreg_fit(&p1, s.b, 0, &r1);
		}
		ok(sn == LOGREG_OK && s1 == sn && same_fit(s.a, s.b, s.ncoef, &rn, &r1),
		   "%s: %s%s without weights and with all weights 1: the same fit bit for bit (%d iterations)",
		   pr->name, solver_of(pr, e),
		   (pr->x == NULL && e == ENTRY_LBFGS) ? " on half of the rows" : "",
		   rn.iterations);
	}
	scratch_free(&s);
}

/*
 * Bad weights: negative, NaN, infinite, all 0, a sum that overflows.
 * Refused by logreg_check_problem, the dense fits and the sparse fit; a
 * sparse problem looks only at the fitted rows' weights.
 */
static void
test_reject(const WProblem *dense, const WProblem *sparse)
{
	static const char *const what[] = {"a negative weight", "a NaN weight",
	"an infinite weight", "all weights 0", "weights whose sum overflows"};
	Scratch		sd = scratch_of(dense);
	Scratch		ss = scratch_of(sparse);
	LogregProblem p = dense_of(dense, sd.w, 1e-8, 100);
	SparseLogregProblem sp = sparse_of(sparse, ss.w, 1e-8);
	double	   *coef = ss.a;
	int			bad;
	int			i;

	for (bad = 0; bad < 5; bad++)
	{
		for (i = 0; i < dense->n; i++)
			sd.w[i] = (bad == 3) ? 0.0 : (bad == 4) ? 1e308 : 1.0;
		for (i = 0; i < sparse->n; i++)
			ss.w[i] = (bad == 3) ? 0.0 : (bad == 4) ? 1e308 : 1.0;
		if (bad < 3)
			sd.w[dense->n / 2] = ss.w[sparse->n / 2] =
				(bad == 0) ? -1e-300 : (bad == 1) ? NAN : INFINITY;
		ok(logreg_check_problem(&p, coef, 0) != 0 &&
		   logreg_fit(&p, coef, 0, NULL) == LOGREG_BAD_INPUT &&
		   logreg_lbfgs_fit(&p, coef, 0, NULL) == LOGREG_BAD_INPUT &&
		   logreg_solve(&p, coef, 0, NULL) == LOGREG_BAD_INPUT &&
		   sparse_logreg_fit(&sp, coef, 0, NULL) == LOGREG_BAD_INPUT,
		   "%s is refused (logreg_check_problem, logreg_fit, logreg_lbfgs_fit, logreg_solve, sparse_logreg_fit)",
		   what[bad]);
	}

	for (i = 0; i < dense->n; i++)
		sd.w[i] = (i % 2) ? 0.5 : 0.0;
	ok(logreg_check_problem(&p, coef, 0) == 0,
	   "weights 0 and 0.5 are accepted by logreg_check_problem");

	/* a negative weight on a row the sparse fit does not use is not looked at */
	for (i = 0; i < sparse->n; i++)
	{
		ss.w[i] = 1.0;
		ss.ints[i] = i;
	}
	ss.w[sparse->n - 1] = -1.0;
	sp.rows = ss.ints;
	sp.nrows = sparse->n - 1;
	sp.max_iter = 5;
	i = sparse_logreg_fit(&sp, coef, 0, NULL);
	ok(i == LOGREG_OK || i == LOGREG_NOT_CONVERGED,
	   "sparse: a negative weight on a row outside rows is ignored (status %d)", i);
	sp.nrows = sparse->n;
	ok(sparse_logreg_fit(&sp, coef, 0, NULL) == LOGREG_BAD_INPUT,
	   "sparse: the same weight on a fitted row is refused");
	scratch_free(&sd);
	scratch_free(&ss);
}

/*
 * Naive Bayes statistics of pr's rows: row i added with weight w[i], or
 * with copies, added w[i] times (a whole number) with weight 1
 */
static void
nb_count(const WProblem *pr, const double *w, bool copies, NBayesCounts *c)
{
	int			i;

	nbayes_counts_init(c, pr->k, pr->d);
	for (i = 0; i < pr->n; i++)
	{
		int			nnz = (int) (pr->indptr[i + 1] - pr->indptr[i]);
		const int  *idx = pr->indices + pr->indptr[i];
		const double *val = pr->values + pr->indptr[i];
		int			r;

		if (!copies)
			nbayes_counts_add(c, pr->y[i], nnz, idx, val, w[i]);
		else
			for (r = 0; r < (int) w[i]; r++)
				nbayes_counts_add(c, pr->y[i], nnz, idx, val, 1.0);
	}
}

/*
 * Largest relative difference between two naive Bayes statistics, between
 * the tables of their models and (absolute) between the models'
 * probabilities of every row of pr; -1 when the models' sparsity differs or
 * one could not be built
 */
static double
nb_diff(const WProblem *pr, const NBayesCounts *a, const NBayesCounts *b)
{
	NBayesModel ma;
	NBayesModel mb;
	SparseMatrix x = {pr->n, pr->d, pr->indptr, pr->indices, pr->values};
	double		pa[16];
	double		pb[16];
	double		worst;
	int			i;

	if (nbayes_model_from_counts(&ma, a, 1.0, pr->d) != 0)
		return -1.0;
	if (nbayes_model_from_counts(&mb, b, 1.0, pr->d) != 0)
	{
		nbayes_model_free(&ma);
		return -1.0;
	}
	worst = fmax(max_diff(a->class_count, b->class_count, pr->k, true),
				 max_diff(a->feature_count, b->feature_count, (size_t) pr->k * pr->d, true));
	worst = fmax(worst, fmax(max_diff(ma.log_prior, mb.log_prior, pr->k, true),
							 max_diff(ma.log_denom, mb.log_denom, pr->k, true)));
	if (memcmp(ma.ptr, mb.ptr, sizeof(int64_t) * (pr->d + 1)) != 0 ||
		memcmp(ma.cls, mb.cls, sizeof(int) * ma.ptr[pr->d]) != 0)
		worst = -1.0;
	else
		worst = fmax(worst, max_diff(ma.delta, mb.delta, ma.ptr[pr->d], true));
	for (i = 0; i < pr->n && worst >= 0.0; i++)
	{
		nbayes_predict_row(&ma, &x, i, pa);
		nbayes_predict_row(&mb, &x, i, pb);
		worst = fmax(worst, max_diff(pa, pb, pr->k, false));
	}
	nbayes_model_free(&ma);
	nbayes_model_free(&mb);
	return worst;
}

/*
 * Naive Bayes on the sparse rows: weights 0 to 3 against the rows added
 * that many times; weight 0 against the row left out (bit for bit)
 */
static void
test_nbayes(const WProblem *pr)
{
	Scratch		s = scratch_of(pr);
	NBayesCounts cw;
	NBayesCounts cr;
	double		diff;
	int			i;

	for (i = 0; i < pr->n; i++)
		s.w[i] = (double) ((i * 3 + 1) % 4);
	nb_count(pr, s.w, false, &cw);
	nb_count(pr, s.w, true, &cr);
	diff = nb_diff(pr, &cw, &cr);
	ok(diff >= 0.0 && diff <= NB_TOL,
	   "naive Bayes (%s): weights 0 to 3 give the counts, model and probabilities (all %d rows) of the rows repeated (max relative diff %.3g)",
	   pr->name, pr->n, diff);
	nbayes_counts_free(&cw);
	nbayes_counts_free(&cr);

	for (i = 0; i < pr->n; i++)
		s.w[i] = (i == 5) ? 0.0 : 1.0;
	nb_count(pr, s.w, false, &cw);
	nb_count(pr, s.w, true, &cr);
	ok(memcmp(cw.class_count, cr.class_count, sizeof(double) * pr->k) == 0 &&
	   memcmp(cw.feature_count, cr.feature_count, sizeof(double) * pr->k * pr->d) == 0 &&
	   nb_diff(pr, &cw, &cr) == 0.0,
	   "naive Bayes: weight 0 is the row left out, bit for bit (counts, model, probabilities)");
	nbayes_counts_free(&cw);
	nbayes_counts_free(&cr);
	scratch_free(&s);
}

int
main(int argc, char **argv)
{
	const char *dir = (argc > 1) ? argv[1] : "test/fixtures";
	WProblem	pr[4];
	bool		loaded;
	int			i;

	loaded = load_problem(dir, "dense_binary", "binary", 0, &pr[0]) &&
		load_problem(dir, "dense_multi", "multi", 0, &pr[1]) &&
		load_problem(dir, "sparse_binary", NULL, 2, &pr[2]) &&
		load_problem(dir, "sparse_multi", NULL, 1, &pr[3]);
	if (!ok(loaded, "fixtures read from %s (make_weight_fixtures.py)", dir))
		return tap_finish();

	for (i = 0; i < 4; i++)
		test_sklearn(&pr[i]);
	test_sparse_subset(&pr[2]);
	test_sparse_subset(&pr[3]);
	for (i = 0; i < 4; i++)
		test_repetition(&pr[i]);
	for (i = 0; i < 4; i++)
		test_null(&pr[i]);
	test_reject(&pr[0], &pr[2]);
	test_nbayes(&pr[3]);

	for (i = 0; i < 4; i++)
		free_problem(&pr[i]);
	return tap_finish();
}
