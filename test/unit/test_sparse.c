/*
 * test_sparse.c
 *		Unit tests of hitl's sparse L-BFGS logistic regression, printing TAP.
 *
 * Checks sparse_logreg_fit against the dense Newton solver (logreg_fit) on
 * the vehicle data, against scikit-learn's solutions of a tf-idf-like sparse
 * problem (written by test/fixtures/make_sparse_fixtures.py), and the
 * properties the server relies on: determinism, warm starts, fitting on a
 * subset of rows, intercept-only fits, safe probabilities and rejection of
 * bad input.
 *
 * Usage: test_sparse [fixture_dir [data_dir]]
 * (defaults: test/fixtures, and data_dir is fixture_dir/../data).
 * Exits non-zero when any test fails.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logreg.h"
#include "numeric_alloc.h"
#include "sparse_logreg.h"
#include "tap.h"

#define MAX_CLASSES 64

/* Agreement demanded with the dense solver and with scikit-learn */
#define DENSE_COEF_TOL 1e-5		/* absolute */
#define SKLEARN_COEF_TOL 1e-4	/* absolute, or relative above magnitude 1 */
#define FIT_TOL 1e-10			/* tol of the reference fits */
#define FIT_MAX_ITER 10000

/* A CSR matrix owning its arrays */
typedef struct Csr
{
	int			n;
	int			d;
	int64_t    *indptr;
	int		   *indices;
	double	   *values;
} Csr;

static SparseMatrix
csr_view(const Csr *m)
{
	SparseMatrix v;

	v.n = m->n;
	v.d = m->d;
	v.indptr = m->indptr;
	v.indices = m->indices;
	v.values = m->values;
	return v;
}

/* CSR of the n x d row-major dense matrix x, its zeros left out */
static void
csr_from_dense(int n, int d, const double *x, Csr *m)
{
	int64_t		nnz = 0;
	int			i;
	int			j;

	m->n = n;
	m->d = d;
	m->indptr = xmalloc(sizeof(int64_t) * (n + 1));
	m->indices = xmalloc(sizeof(int) * ((size_t) n * d + 1));
	m->values = xmalloc(sizeof(double) * ((size_t) n * d + 1));
	for (i = 0; i < n; i++)
	{
		for (j = 0; j < d; j++)
			if (x[(size_t) i * d + j] != 0.0)
			{
				m->indices[nnz] = j;
				m->values[nnz] = x[(size_t) i * d + j];
				nnz++;
			}
		m->indptr[i + 1] = nnz;
	}
}

/* CSR of the listed rows of src, in the listed order */
static void
csr_select(const Csr *src, const int *rows, int nrows, Csr *m)
{
	int64_t		nnz = 0;
	int			i;

	m->n = nrows;
	m->d = src->d;
	m->indptr = xmalloc(sizeof(int64_t) * (nrows + 1));
	m->indices = xmalloc(sizeof(int) * (src->indptr[src->n] + 1));
	m->values = xmalloc(sizeof(double) * (src->indptr[src->n] + 1));
	for (i = 0; i < nrows; i++)
	{
		int64_t		t;

		for (t = src->indptr[rows[i]]; t < src->indptr[rows[i] + 1]; t++)
		{
			m->indices[nnz] = src->indices[t];
			m->values[nnz] = src->values[t];
			nnz++;
		}
		m->indptr[i + 1] = nnz;
	}
}

static void
csr_free(Csr *m)
{
	free(m->indptr);
	free(m->indices);
	free(m->values);
}

/* A sparse problem over all rows of m */
static SparseLogregProblem
make_problem(const Csr *m, int k, const int *y, double C)
{
	SparseLogregProblem p;

	memset(&p, 0, sizeof(p));
	p.x = csr_view(m);
	p.k = k;
	p.y = y;
	p.C = C;
	p.max_iter = FIT_MAX_ITER;
	p.tol = FIT_TOL;
	return p;
}

/* Largest |a - b| over len doubles */
static double
max_diff(const double *a, const double *b, int len)
{
	double		m = 0.0;
	int			j;

	for (j = 0; j < len; j++)
		m = fmax(m, fabs(a[j] - b[j]));
	return m;
}

/* Largest |v| over len doubles */
static double
max_abs(const double *v, int len)
{
	double		m = 0.0;
	int			j;

	for (j = 0; j < len; j++)
		m = fmax(m, fabs(v[j]));
	return m;
}

/* True when every one of len doubles is finite */
static bool
all_finite(const double *v, int len)
{
	int			j;

	for (j = 0; j < len; j++)
		if (!isfinite(v[j]))
			return false;
	return true;
}

/* Index of the largest of k probabilities, the lowest on ties */
static int
argmax(int k, const double *proba)
{
	int			best = 0;
	int			c;

	for (c = 1; c < k; c++)
		if (proba[c] > proba[best])
			best = c;
	return best;
}

/* Sum of the k intercepts of a coefficient array */
static double
intercept_sum(int d, int k, const double *coef)
{
	double		s = 0.0;
	int			a;

	for (a = 0; a < logreg_nvec(k); a++)
		s += coef[(size_t) a * (d + 1) + d];
	return s;
}

/*
 * The vehicle data (all 846 rows), standardized with the population mean
 * and standard deviation of each column, and its labels in sorted text
 * order (bus, opel, saab, van).  Returns false when it cannot be read.
 */
static bool
read_vehicle(const char *path, int *n_out, int *d_out, double **x_out,
			 int **y_out)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = xmalloc(MAX_LINE);
	char	   *fields[MAX_FIELDS];
	const char *names[4] = {"bus", "opel", "saab", "van"};
	int			cap = 1024;
	int			nf;
	int			n = 0;
	int			d;
	double	   *x;
	int		   *y;
	int			i;
	int			j;

	if (f == NULL || fgets(line, MAX_LINE, f) == NULL)
	{
		if (f)
			fclose(f);
		free(line);
		return false;
	}
	nf = split_csv(line, fields);
	if (nf < 2 || strcmp(fields[nf - 1], "Class") != 0)
	{
		fclose(f);
		free(line);
		return false;
	}
	d = nf - 1;
	x = xmalloc(sizeof(double) * cap * d);
	y = xmalloc(sizeof(int) * cap);
	while (fgets(line, MAX_LINE, f) != NULL)
	{
		if (split_csv(line, fields) != nf)
			continue;
		if (n == cap)
		{
			cap *= 2;
			x = realloc(x, sizeof(double) * cap * d);
			y = realloc(y, sizeof(int) * cap);
			if (x == NULL || y == NULL)
				exit(2);
		}
		for (j = 0; j < d; j++)
			x[(size_t) n * d + j] = strtod(fields[j], NULL);
		y[n] = -1;
		for (j = 0; j < 4; j++)
			if (strcmp(fields[d], names[j]) == 0)
				y[n] = j;
		n++;
	}
	fclose(f);
	free(line);

	for (j = 0; j < d; j++)
	{
		double		mean = 0.0;
		double		var = 0.0;

		for (i = 0; i < n; i++)
			mean += x[(size_t) i * d + j];
		mean /= n;
		for (i = 0; i < n; i++)
			var += (x[(size_t) i * d + j] - mean) * (x[(size_t) i * d + j] - mean);
		var /= n;
		for (i = 0; i < n; i++)
			x[(size_t) i * d + j] = (x[(size_t) i * d + j] - mean) / sqrt(var);
	}
	*n_out = n;
	*d_out = d;
	*x_out = x;
	*y_out = y;
	return n > 0;
}

/*
 * On a dense problem the sparse solver reaches the dense Newton solver's
 * optimum, and its probabilities for a row are those of the dense scorer.
 */
static void
test_vehicle(const char *name, int n, int d, const double *x, const int *y,
			 int k, double C)
{
	LogregProblem dp;
	SparseLogregProblem sp;
	LogregResult dres;
	LogregResult sres;
	LogregStatus dstatus;
	LogregStatus sstatus;
	Csr			m;
	int			ncoef = logreg_ncoef(d, k);
	double	   *dcoef = xmalloc(sizeof(double) * ncoef);
	double	   *scoef = xmalloc(sizeof(double) * ncoef);
	double		pd[MAX_CLASSES];
	double		ps[MAX_CLASSES];
	double		worst = 0.0;
	int			i;
	int			c;

	memset(&dp, 0, sizeof(dp));
	dp.n = n;
	dp.d = d;
	dp.k = k;
	dp.x = x;
	dp.y = y;
	dp.C = C;
	dp.max_iter = 100;
	dp.tol = FIT_TOL;
	dstatus = logreg_fit(&dp, dcoef, 0, &dres);

	csr_from_dense(n, d, x, &m);
	sp = make_problem(&m, k, y, C);
	sstatus = sparse_logreg_fit(&sp, scoef, 0, &sres);
	diag("vehicle %s: Newton %d iterations, L-BFGS %d iterations, "
		 "objectives %.15g and %.15g", name, dres.iterations,
		 sres.iterations, dres.objective, sres.objective);

	ok(dstatus == LOGREG_OK && sstatus == LOGREG_OK && sres.converged == 1 &&
	   sres.grad_norm <= FIT_TOL,
	   "vehicle %s: both solvers converge (status %d and %d, scaled gradient "
	   "%.2g)", name, (int) dstatus, (int) sstatus, sres.grad_norm);
	ok(max_diff(dcoef, scoef, ncoef) <= DENSE_COEF_TOL &&
	   fabs(dres.objective - sres.objective) <= 1e-10 * dres.objective,
	   "vehicle %s: L-BFGS matches Newton on all %d coefficients "
	   "(largest difference %.2g)", name, ncoef, max_diff(dcoef, scoef, ncoef));
	if (k > 2)
		ok(fabs(intercept_sum(d, k, scoef)) <= 1e-12,
		   "vehicle %s: the intercepts are centred (sum %.2g)", name,
		   intercept_sum(d, k, scoef));

	for (i = 0; i < n; i++)
	{
		int64_t		t0 = m.indptr[i];

		logreg_predict_proba(d, k, scoef, x + (size_t) i * d, pd);
		sparse_logreg_predict_proba(d, k, scoef, (int) (m.indptr[i + 1] - t0),
									m.indices + t0, m.values + t0, ps);
		for (c = 0; c < k; c++)
			worst = fmax(worst, fabs(pd[c] - ps[c]));
	}
	ok(worst <= 1e-15,
	   "vehicle %s: sparse and dense probabilities of every row agree "
	   "(largest difference %.2g)", name, worst);

	csr_free(&m);
	free(dcoef);
	free(scoef);
}

/* The sparse fixture: matrix, labels, scikit-learn's predictions and C */
typedef struct Fixture
{
	Csr			m;
	int			k;
	int		   *y[2];			/* multiclass, binary labels */
	int		   *pred[2];		/* scikit-learn's predictions */
	double		C[2];
} Fixture;

/* Read one value of a key,value file; NAN when absent */
static double
read_meta(const char *dir, const char *key)
{
	char		path[4096];
	char		line[512];
	char	   *fields[MAX_FIELDS];
	double		value = NAN;
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/sparse_meta.csv", dir);
	f = fopen(path, "r");
	if (f == NULL)
		return NAN;
	while (fgets(line, sizeof(line), f) != NULL)
		if (split_csv(line, fields) == 2 && strcmp(fields[0], key) == 0)
			value = strtod(fields[1], NULL);
	fclose(f);
	return value;
}

/* Read the sparse fixture; returns false when a file is missing or wrong */
static bool
read_fixture(const char *dir, Fixture *fx)
{
	char		path[4096];
	char		line[512];
	char	   *fields[MAX_FIELDS];
	int64_t		cap = 1024;
	int64_t		nnz = 0;
	int			last = -1;
	int			nrows = 0;
	FILE	   *f;
	int			i;

	memset(fx, 0, sizeof(*fx));
	fx->m.n = (int) read_meta(dir, "n");
	fx->m.d = (int) read_meta(dir, "d");
	fx->k = (int) read_meta(dir, "k");
	fx->C[0] = read_meta(dir, "C_multiclass");
	fx->C[1] = read_meta(dir, "C_binary");
	if (fx->m.n < 1 || fx->m.d < 1 || fx->k < 3 || !(fx->C[0] > 0.0) ||
		!(fx->C[1] > 0.0))
		return false;

	snprintf(path, sizeof(path), "%s/sparse_x.csv", dir);
	f = fopen(path, "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL)
	{
		if (f)
			fclose(f);
		return false;
	}
	fx->m.indptr = xmalloc(sizeof(int64_t) * (fx->m.n + 1));
	fx->m.indices = xmalloc(sizeof(int) * cap);
	fx->m.values = xmalloc(sizeof(double) * cap);
	while (fgets(line, sizeof(line), f) != NULL)
	{
		int			row;

		if (split_csv(line, fields) != 3)
			break;
		row = atoi(fields[0]);
		if (row < last || row >= fx->m.n)
			break;
		for (; last < row; last++)
			fx->m.indptr[last + 1] = nnz;
		if (nnz == cap)
		{
			cap *= 2;
			fx->m.indices = realloc(fx->m.indices, sizeof(int) * cap);
			fx->m.values = realloc(fx->m.values, sizeof(double) * cap);
			if (fx->m.indices == NULL || fx->m.values == NULL)
				exit(2);
		}
		fx->m.indices[nnz] = atoi(fields[1]);
		fx->m.values[nnz] = strtod(fields[2], NULL);
		nnz++;
	}
	fclose(f);
	for (; last < fx->m.n; last++)
		fx->m.indptr[last + 1] = nnz;

	snprintf(path, sizeof(path), "%s/sparse_y.csv", dir);
	f = fopen(path, "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL)
	{
		if (f)
			fclose(f);
		return false;
	}
	for (i = 0; i < 2; i++)
	{
		fx->y[i] = xmalloc(sizeof(int) * fx->m.n);
		fx->pred[i] = xmalloc(sizeof(int) * fx->m.n);
	}
	while (fgets(line, sizeof(line), f) != NULL)
	{
		int			row;

		if (split_csv(line, fields) != 5)
			break;
		row = atoi(fields[0]);
		if (row != nrows || row >= fx->m.n)
			break;
		fx->y[0][row] = atoi(fields[1]);
		fx->y[1][row] = atoi(fields[2]);
		fx->pred[0][row] = atoi(fields[3]);
		fx->pred[1][row] = atoi(fields[4]);
		nrows++;
	}
	fclose(f);
	return nrows == fx->m.n && nnz > 0;
}

static void
free_fixture(Fixture *fx)
{
	int			i;

	csr_free(&fx->m);
	for (i = 0; i < 2; i++)
	{
		free(fx->y[i]);
		free(fx->pred[i]);
	}
}

/* Number of rows of m whose most probable class under coef is not pred's */
static int
prediction_mismatches(const Csr *m, int k, const double *coef, const int *pred)
{
	double		proba[MAX_CLASSES];
	int			bad = 0;
	int			i;

	for (i = 0; i < m->n; i++)
	{
		int64_t		t0 = m->indptr[i];

		sparse_logreg_predict_proba(m->d, k, coef, (int) (m->indptr[i + 1] - t0),
									m->indices + t0, m->values + t0, proba);
		if (argmax(k, proba) != pred[i])
			bad++;
	}
	return bad;
}

/*
 * One problem of the sparse fixture (which: 0 multiclass, 1 binary):
 * agreement with scikit-learn, then determinism, warm starts, stopping when
 * tol cannot be met, fitting on a subset of rows and the iteration limit.
 */
static void
test_fixture_fit(const char *name, const char *dir, const Fixture *fx,
				 int which)
{
	int			k = (which == 0) ? fx->k : 2;
	int			d = fx->m.d;
	int			dim = d + 1;
	int			ncoef = logreg_ncoef(d, k);
	const int  *y = fx->y[which];
	SparseLogregProblem p = make_problem(&fx->m, k, y, fx->C[which]);
	LogregResult res;
	LogregResult res2;
	LogregStatus status;
	char		path[4096];
	double	   *want = xmalloc(sizeof(double) * (ncoef + 1));
	double	   *coef = xmalloc(sizeof(double) * ncoef);
	double	   *coef2 = xmalloc(sizeof(double) * ncoef);
	bool	   *used = xmalloc(sizeof(bool) * d);
	double		worst = 0.0;
	int			nwant;
	int			unused = 0;
	bool		unused_zero = true;
	int			j;
	int			a;
	int64_t		t;

	snprintf(path, sizeof(path), "%s/sparse_%s_coef.csv", dir, name);
	nwant = read_index_values(path, want, ncoef + 1);

	status = sparse_logreg_fit(&p, coef, 0, &res);
	diag("sparse %s: %d iterations, objective %.12g, scaled gradient %.3g",
		 name, res.iterations, res.objective, res.grad_norm);
	ok(status == LOGREG_OK && res.converged == 1 && res.grad_norm <= FIT_TOL,
	   "sparse %s: fit converges (status %d, scaled gradient %.2g <= %g)",
	   name, (int) status, res.grad_norm, FIT_TOL);

	for (j = 0; j < ncoef && nwant == ncoef; j++)
		worst = fmax(worst, fabs(coef[j] - want[j]) / fmax(1.0, fabs(want[j])));
	ok(nwant == ncoef && worst <= SKLEARN_COEF_TOL,
	   "sparse %s: %d coefficients match scikit-learn (worst difference %.2g)",
	   name, nwant, worst);
	ok(prediction_mismatches(&fx->m, k, coef, fx->pred[which]) == 0,
	   "sparse %s: the training rows' predicted classes are scikit-learn's",
	   name);

	/* Columns no row uses get weight 0 */
	for (t = 0; t < fx->m.indptr[fx->m.n]; t++)
		used[fx->m.indices[t]] = true;
	for (j = 0; j < d; j++)
		if (!used[j])
		{
			unused++;
			for (a = 0; a < logreg_nvec(k); a++)
				unused_zero = unused_zero && coef[(size_t) a * dim + j] == 0.0;
		}
	ok(unused > 0 && unused_zero,
	   "sparse %s: the %d columns no row uses have weight 0", name, unused);

	/* Determinism */
	status = sparse_logreg_fit(&p, coef2, 0, &res2);
	ok(status == LOGREG_OK && memcmp(coef, coef2, sizeof(double) * ncoef) == 0 &&
	   res2.iterations == res.iterations,
	   "sparse %s: a second fit gives bit-identical coefficients", name);

	/* Warm start at the solution */
	memcpy(coef2, coef, sizeof(double) * ncoef);
	status = sparse_logreg_fit(&p, coef2, 1, &res2);
	ok(status == LOGREG_OK && res2.iterations <= 2 &&
	   max_diff(coef, coef2, ncoef) <= 1e-9,
	   "sparse %s: warm start at the solution takes %d iterations (<= 2)",
	   name, res2.iterations);

	/*
	 * Warm start at the solution with weights on unused columns and (k > 2)
	 * all intercepts shifted by 5, which leaves the softmax unchanged: both
	 * are dropped on entry, so it is the solution again
	 */
	memcpy(coef2, coef, sizeof(double) * ncoef);
	for (j = 0; j < d; j++)
		if (!used[j])
			for (a = 0; a < logreg_nvec(k); a++)
				coef2[(size_t) a * dim + j] = 3.0;
	if (k > 2)
		for (a = 0; a < k; a++)
			coef2[(size_t) a * dim + d] += 5.0;
	status = sparse_logreg_fit(&p, coef2, 1, &res2);
	ok(status == LOGREG_OK && res2.iterations <= 2 &&
	   max_diff(coef, coef2, ncoef) <= 1e-9,
	   "sparse %s: warm start with weights on unused columns%s returns the "
	   "solution in %d iterations", name,
	   k > 2 ? " and shifted intercepts" : "", res2.iterations);

	/* A far start (the solution times -3) converges to the same solution */
	for (j = 0; j < ncoef; j++)
		coef2[j] = -3.0 * coef[j];
	status = sparse_logreg_fit(&p, coef2, 1, &res2);
	ok(status == LOGREG_OK && max_diff(coef, coef2, ncoef) <= 1e-6,
	   "sparse %s: a far start converges to the same solution in %d "
	   "iterations (off by %.2g)", name, res2.iterations,
	   max_diff(coef, coef2, ncoef));

	/*
	 * tol 0 is below what double precision resolves: the fit ends when the
	 * line search finds no decrease, well before max_iter, at the solution
	 */
	memcpy(coef2, coef, sizeof(double) * ncoef);
	p.tol = 0.0;
	status = sparse_logreg_fit(&p, coef2, 0, &res2);
	ok(status == LOGREG_NOT_CONVERGED && res2.iterations < p.max_iter &&
	   res2.grad_norm < FIT_TOL && max_diff(coef, coef2, ncoef) <= 1e-6,
	   "sparse %s: tol 0 stops when no progress is left, after %d "
	   "iterations (scaled gradient %.2g, off by %.2g)", name,
	   res2.iterations, res2.grad_norm, max_diff(coef, coef2, ncoef));
	p.tol = FIT_TOL;

	/*
	 * Fitting on a subset of the rows (every row but multiples of 3, the
	 * others labeled -1) is fitting a matrix of only those rows
	 */
	{
		int		   *rows = xmalloc(sizeof(int) * fx->m.n);
		int		   *yall = xmalloc(sizeof(int) * fx->m.n);
		int		   *ysub = xmalloc(sizeof(int) * fx->m.n);
		int			nrows = 0;
		int			i;
		Csr			sub;
		SparseLogregProblem ps;
		SparseLogregProblem pr = p;
		LogregStatus s1;
		LogregStatus s2;

		for (i = 0; i < fx->m.n; i++)
		{
			yall[i] = -1;
			if (i % 3 != 0)
			{
				yall[i] = y[i];
				ysub[nrows] = y[i];
				rows[nrows++] = i;
			}
		}
		csr_select(&fx->m, rows, nrows, &sub);
		ps = make_problem(&sub, k, ysub, fx->C[which]);
		pr.rows = rows;
		pr.nrows = nrows;
		pr.y = yall;
		s1 = sparse_logreg_fit(&ps, coef, 0, &res);
		s2 = sparse_logreg_fit(&pr, coef2, 0, &res2);
		ok(s1 == LOGREG_OK && s2 == LOGREG_OK &&
		   memcmp(coef, coef2, sizeof(double) * ncoef) == 0 &&
		   res.iterations == res2.iterations,
		   "sparse %s: fitting %d listed rows (the others labeled -1) is "
		   "bit-identical to fitting a matrix of only those rows",
		   name, nrows);

		free(rows);
		free(yall);
		free(ysub);
		csr_free(&sub);
	}

	/* max_iter reached: NOT_CONVERGED with the iterate in coef */
	p.max_iter = 1;
	status = sparse_logreg_fit(&p, coef2, 0, &res2);
	ok(status == LOGREG_NOT_CONVERGED && res2.converged == 0 &&
	   res2.iterations == 1 && res2.grad_norm > p.tol &&
	   all_finite(coef2, ncoef) && max_abs(coef2, ncoef) > 0.0,
	   "sparse %s: one iteration allowed reports LOGREG_NOT_CONVERGED", name);

	free(want);
	free(coef);
	free(coef2);
	free(used);
}

/*
 * With no features (or only empty rows) the optimum is the class
 * frequencies: the intercepts are unpenalised.
 */
static void
test_intercept_only(void)
{
	int64_t		indptr[11] = {0};
	int			y3[10] = {0, 1, 1, 2, 2, 2, 2, 2, 1, 0};
	int			y2[10] = {0, 1, 1, 1, 0, 1, 1, 1, 1, 0};
	double		freq3[3] = {0.2, 0.3, 0.5};
	double		coef3[3 * 6];
	double		coef2[6];
	double		proba[3];
	Csr			m;
	SparseLogregProblem p;
	LogregStatus s3;
	LogregStatus s2;
	bool		good;
	int			c;

	m.n = 10;
	m.d = 5;
	m.indptr = indptr;
	m.indices = NULL;
	m.values = NULL;
	p = make_problem(&m, 3, y3, 1.0);
	s3 = sparse_logreg_fit(&p, coef3, 0, NULL);
	sparse_logreg_predict_proba(5, 3, coef3, 0, NULL, NULL, proba);
	good = (s3 == LOGREG_OK);
	for (c = 0; c < 3; c++)
		good = good && fabs(proba[c] - freq3[c]) <= 1e-9;
	for (c = 0; c < 5; c++)
		good = good && coef3[c] == 0.0 && coef3[6 + c] == 0.0 &&
			coef3[12 + c] == 0.0;

	p = make_problem(&m, 2, y2, 1.0);
	s2 = sparse_logreg_fit(&p, coef2, 0, NULL);
	sparse_logreg_predict_proba(5, 2, coef2, 0, NULL, NULL, proba);
	ok(good && s2 == LOGREG_OK && fabs(proba[1] - 0.7) <= 1e-9,
	   "rows without non-zeros: weights 0, probabilities the class "
	   "frequencies (0.2, 0.3, 0.5) and 0.7");
}

/* Probabilities stay finite and normalised for huge scores */
static void
test_predict_extremes(void)
{
	/* d = 3, k = 3: class c's weight on column c is 1, the others -1 */
	double		coef3[3 * 4] = {
		1.0, -1.0, -1.0, 0.0,
		-1.0, 1.0, -1.0, 0.5,
		-1.0, -1.0, 1.0, -0.5,
	};
	double		coef2[4] = {1.0, -1.0, 0.0, 0.25};
	int			idx[2] = {1, 2};
	double		big[2] = {1e6, -1e6};
	double		p3[3];
	double		p2[2];
	int			out_idx[2] = {1, 7};
	double		p_in[3];
	double		p_out[3];

	sparse_logreg_predict_proba(3, 3, coef3, 2, idx, big, p3);
	sparse_logreg_predict_proba(3, 2, coef2, 2, idx, big, p2);
	ok(isfinite(p3[0]) && isfinite(p3[1]) && isfinite(p3[2]) &&
	   p3[1] == 1.0 && p3[0] >= 0.0 && p3[2] >= 0.0 &&
	   fabs(p3[0] + p3[1] + p3[2] - 1.0) <= 1e-15 &&
	   isfinite(p2[0]) && isfinite(p2[1]) && p2[0] == 1.0 && p2[1] >= 0.0 &&
	   p2[0] + p2[1] == 1.0,
	   "probabilities for values of +-1e6 are finite and sum to 1");

	sparse_logreg_predict_proba(3, 3, coef3, 1, idx, big, p_in);
	sparse_logreg_predict_proba(3, 3, coef3, 2, out_idx, big, p_out);
	ok(memcmp(p_in, p_out, sizeof(p_in)) == 0,
	   "a column outside [0, d) is ignored by predict_proba");
}

/* Bad input is rejected with LOGREG_BAD_INPUT */
static void
test_bad_input(void)
{
	int64_t		indptr[5] = {0, 2, 3, 5, 6};
	int			indices[6] = {0, 2, 1, 0, 2, 1};
	double		values[6] = {1.0, 0.5, -1.0, 2.0, 1.0, 0.3};
	int			y[4] = {0, 1, 2, 1};
	int			rows[2] = {1, 3};
	double		coef[3 * 4];
	Csr			m = {4, 3, indptr, indices, values};
	SparseLogregProblem good = make_problem(&m, 3, y, 1.0);
	SparseLogregProblem p;
	bool		all = true;

	good.tol = 1e-8;
	ok(sparse_logreg_fit(&good, coef, 0, NULL) == LOGREG_OK,
	   "the reference small problem fits");

	p = good;
	p.x.n = 0;
	all = all && sparse_logreg_fit(&p, coef, 0, NULL) == LOGREG_BAD_INPUT;
	p = good;
	p.rows = rows;
	p.nrows = 0;
	all = all && sparse_logreg_fit(&p, coef, 0, NULL) == LOGREG_BAD_INPUT;
	p = good;
	p.k = 1;
	all = all && sparse_logreg_fit(&p, coef, 0, NULL) == LOGREG_BAD_INPUT;
	p = good;
	p.x.d = -1;
	all = all && sparse_logreg_fit(&p, coef, 0, NULL) == LOGREG_BAD_INPUT;
	p = good;
	p.C = 0.0;
	all = all && sparse_logreg_fit(&p, coef, 0, NULL) == LOGREG_BAD_INPUT;
	p = good;
	p.C = INFINITY;
	all = all && sparse_logreg_fit(&p, coef, 0, NULL) == LOGREG_BAD_INPUT;
	p = good;
	p.C = NAN;
	all = all && sparse_logreg_fit(&p, coef, 0, NULL) == LOGREG_BAD_INPUT;
	p = good;
	p.max_iter = 0;
	all = all && sparse_logreg_fit(&p, coef, 0, NULL) == LOGREG_BAD_INPUT;
	p = good;
	p.tol = -1e-6;
	all = all && sparse_logreg_fit(&p, coef, 0, NULL) == LOGREG_BAD_INPUT;
	p = good;
	p.tol = NAN;
	all = all && sparse_logreg_fit(&p, coef, 0, NULL) == LOGREG_BAD_INPUT;
	ok(all, "n < 1, no listed rows, k < 2, d < 0, C 0, infinite or NaN, "
	   "max_iter < 1, tol < 0 or NaN are bad input");

	y[2] = 3;
	ok(sparse_logreg_fit(&good, coef, 0, NULL) == LOGREG_BAD_INPUT,
	   "a label >= k is bad input");
	y[2] = -1;
	ok(sparse_logreg_fit(&good, coef, 0, NULL) == LOGREG_BAD_INPUT,
	   "a negative label is bad input");
	p = good;
	p.rows = rows;
	p.nrows = 2;
	ok(sparse_logreg_fit(&p, coef, 0, NULL) == LOGREG_OK,
	   "a bad label on a row not listed in rows is not looked at");
	y[2] = 2;

	rows[1] = 4;
	ok(sparse_logreg_fit(&p, coef, 0, NULL) == LOGREG_BAD_INPUT,
	   "a listed row outside [0, n) is bad input");
	rows[1] = 3;

	indices[3] = 3;
	all = sparse_logreg_fit(&good, coef, 0, NULL) == LOGREG_BAD_INPUT;
	indices[3] = -1;
	all = all && sparse_logreg_fit(&good, coef, 0, NULL) == LOGREG_BAD_INPUT;
	indices[3] = 0;
	ok(all, "a column index outside [0, d) is bad input");

	values[4] = NAN;
	all = sparse_logreg_fit(&good, coef, 0, NULL) == LOGREG_BAD_INPUT;
	values[4] = -INFINITY;
	all = all && sparse_logreg_fit(&good, coef, 0, NULL) == LOGREG_BAD_INPUT;
	values[4] = 1.0;
	ok(all, "a NaN or infinite value is bad input");

	memset(coef, 0, sizeof(coef));
	coef[5] = NAN;
	all = sparse_logreg_fit(&good, coef, 1, NULL) == LOGREG_BAD_INPUT;
	coef[5] = INFINITY;
	all = all && sparse_logreg_fit(&good, coef, 1, NULL) == LOGREG_BAD_INPUT;
	coef[5] = 0.0;
	ok(all && sparse_logreg_fit(&good, coef, 1, NULL) == LOGREG_OK,
	   "a non-finite warm-start coefficient is bad input");

	indptr[2] = 1;
	ok(sparse_logreg_fit(&good, coef, 0, NULL) == LOGREG_BAD_INPUT,
	   "decreasing row offsets are bad input");
	indptr[2] = 3;
}

int
main(int argc, char **argv)
{
	const char *fixture_dir = argc > 1 ? argv[1] : "test/fixtures";
	char		data_dir[4096];
	char		path[4096 + 64];
	Fixture		fx;
	double	   *x = NULL;
	int		   *y = NULL;
	int			n = 0;
	int			d = 0;
	int			i;

	if (argc > 2)
		snprintf(data_dir, sizeof(data_dir), "%s", argv[2]);
	else
		snprintf(data_dir, sizeof(data_dir), "%s/../data", fixture_dir);

	test_predict_extremes();
	test_intercept_only();
	test_bad_input();

	snprintf(path, sizeof(path), "%s/vehicle.csv", data_dir);
	if (ok(read_vehicle(path, &n, &d, &x, &y) && n == 846 && d == 18,
		   "read %s (846 rows, 18 features)", path))
	{
		test_vehicle("multiclass", n, d, x, y, 4, 1.0);
		for (i = 0; i < n; i++)
			y[i] = (y[i] == 3) ? 1 : 0;
		test_vehicle("binary", n, d, x, y, 2, 0.5);
		free(x);
		free(y);
	}

	if (ok(read_fixture(fixture_dir, &fx),
		   "read the sparse fixture from %s", fixture_dir))
	{
		diag("sparse fixture: %d rows, %d columns, %lld non-zeros, %d classes",
			 fx.m.n, fx.m.d, (long long) fx.m.indptr[fx.m.n], fx.k);
		test_fixture_fit("multiclass", fixture_dir, &fx, 0);
		test_fixture_fit("binary", fixture_dir, &fx, 1);
	}
	free_fixture(&fx);

	printf("1..%d\n", test_count);
	if (failures > 0)
		diag("%d of %d tests failed", failures, test_count);
	return failures > 0 ? 1 : 0;
}
