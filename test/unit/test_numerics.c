/*
 * test_numerics.c
 *		Unit tests of hitl's plain-C numerics, printing TAP.
 *
 * Checks the scaler and the metrics against hand-computed values, the
 * logistic regression against scikit-learn's solutions of the same problems
 * (written by test/fixtures/make_fixtures.py), and the properties the server
 * relies on: determinism, warm starts, convergence, cross-validation and
 * rejection of bad input.
 *
 * Usage: test_numerics [data_dir [fixture_dir]]
 * (defaults: test/data and test/fixtures, relative to the working directory).
 * Exits non-zero when any test fails.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crossval.h"
#include "logreg.h"
#include "metrics.h"
#include "numeric_alloc.h"
#include "scaler.h"
#include "tap.h"

#define MAX_CLASSES 64

/* Agreement demanded with scikit-learn */
#define COEF_TOL 1e-4			/* absolute, or relative above magnitude 1 */
#define ACCURACY_TOL 0.005		/* half a percentage point */
#define LOGLOSS_REL_TOL 0.01	/* 1% */
#define FIT_TOL 1e-10			/* the tol the fixtures were fitted with */

static bool
close_to(double got, double want, double tol)
{
	return fabs(got - want) <= tol;
}

/* A data set read from CSV: numeric features and a text label */
typedef struct Dataset
{
	int			n;
	int			d;
	double	   *x;				/* n x d */
	char	  **label;			/* n strings */
} Dataset;

/*
 * Read a CSV file with a header; the column named label_col is the label,
 * every other column a numeric feature.  Returns false when the file
 * cannot be read or has no such column.
 */
static bool
read_dataset(const char *path, const char *label_col, Dataset *ds)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = xmalloc(MAX_LINE);
	char	   *fields[MAX_FIELDS];
	int			nf;
	int			lab = -1;
	int			cap = 1024;
	int			j;

	memset(ds, 0, sizeof(*ds));
	if (f == NULL || fgets(line, MAX_LINE, f) == NULL)
	{
		if (f)
			fclose(f);
		free(line);
		return false;
	}
	nf = split_csv(line, fields);
	for (j = 0; j < nf; j++)
		if (strcmp(fields[j], label_col) == 0)
			lab = j;
	if (lab < 0)
	{
		fclose(f);
		free(line);
		return false;
	}
	ds->d = nf - 1;
	ds->x = xmalloc(sizeof(double) * cap * ds->d);
	ds->label = xmalloc(sizeof(char *) * cap);

	while (fgets(line, MAX_LINE, f) != NULL)
	{
		int			col = 0;

		if (line[0] == '\n' || line[0] == '\0')
			continue;
		if (split_csv(line, fields) != nf)
			break;
		if (ds->n == cap)
		{
			cap *= 2;
			ds->x = realloc(ds->x, sizeof(double) * cap * ds->d);
			ds->label = realloc(ds->label, sizeof(char *) * cap);
			if (ds->x == NULL || ds->label == NULL)
				exit(2);
		}
		for (j = 0; j < nf; j++)
		{
			if (j == lab)
				ds->label[ds->n] = strdup(fields[j]);
			else
				ds->x[(size_t) ds->n * ds->d + col++] = strtod(fields[j], NULL);
		}
		ds->n++;
	}
	fclose(f);
	free(line);
	return ds->n > 0;
}

static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * Map the text labels to class indices in sorted text order (the order
 * scikit-learn uses); returns the number of classes.
 */
static int
encode_labels(const Dataset *ds, int *y)
{
	char	   *classes[MAX_CLASSES];
	int			k = 0;
	int			i;
	int			c;

	for (i = 0; i < ds->n; i++)
	{
		for (c = 0; c < k; c++)
			if (strcmp(classes[c], ds->label[i]) == 0)
				break;
		if (c == k && k < MAX_CLASSES)
			classes[k++] = ds->label[i];
	}
	qsort(classes, k, sizeof(char *), compare_strings);
	for (i = 0; i < ds->n; i++)
		for (c = 0; c < k; c++)
			if (strcmp(classes[c], ds->label[i]) == 0)
				y[i] = c;
	return k;
}

/* Look up one metric of a metric,value fixture; NAN when absent */
static double
read_fixture_metric(const char *path, const char *name)
{
	FILE	   *f = fopen(path, "r");
	char		line[512];
	char	   *fields[MAX_FIELDS];
	double		value = NAN;

	if (f == NULL)
		return NAN;
	while (fgets(line, sizeof(line), f) != NULL)
		if (split_csv(line, fields) == 2 && strcmp(fields[0], name) == 0)
			value = strtod(fields[1], NULL);
	fclose(f);
	return value;
}

/* The vehicle data split as the fixtures split it, standardized */
typedef struct Split
{
	int			ntrain;
	int			ntest;
	int			d;
	double	   *xtrain;
	double	   *xtest;
	int		   *ytrain;
	int		   *ytest;
} Split;

/*
 * Split rows by 1-based row number (multiples of 4 are TEST) and
 * standardize both parts with a scaler fitted on TRAIN.
 */
static void
make_split(const Dataset *ds, const int *y, Split *sp)
{
	double	   *mean = xmalloc(sizeof(double) * ds->d);
	double	   *scale = xmalloc(sizeof(double) * ds->d);
	int			i;

	memset(sp, 0, sizeof(*sp));
	sp->d = ds->d;
	sp->xtrain = xmalloc(sizeof(double) * ds->n * ds->d);
	sp->xtest = xmalloc(sizeof(double) * ds->n * ds->d);
	sp->ytrain = xmalloc(sizeof(int) * ds->n);
	sp->ytest = xmalloc(sizeof(int) * ds->n);
	for (i = 0; i < ds->n; i++)
	{
		const double *row = ds->x + (size_t) i * ds->d;

		if ((i + 1) % 4 == 0)
		{
			memcpy(sp->xtest + (size_t) sp->ntest * ds->d, row,
				   sizeof(double) * ds->d);
			sp->ytest[sp->ntest++] = y[i];
		}
		else
		{
			memcpy(sp->xtrain + (size_t) sp->ntrain * ds->d, row,
				   sizeof(double) * ds->d);
			sp->ytrain[sp->ntrain++] = y[i];
		}
	}
	scaler_fit(sp->ntrain, sp->d, sp->xtrain, NULL, mean, scale);
	scaler_apply(sp->ntrain, sp->d, sp->xtrain, NULL, mean, scale);
	scaler_apply(sp->ntest, sp->d, sp->xtest, NULL, mean, scale);
	free(mean);
	free(scale);
}

static void
free_split(Split *sp)
{
	free(sp->xtrain);
	free(sp->xtest);
	free(sp->ytrain);
	free(sp->ytest);
}

/* Metrics of a fitted model on n rows */
static void
evaluate(int n, int d, int k, const double *coef, const double *x,
		 const int *y, ClassMetrics *m)
{
	double	   *proba = xmalloc(sizeof(double) * n * k);
	int			i;

	for (i = 0; i < n; i++)
		logreg_predict_proba(d, k, coef, x + (size_t) i * d, proba + (size_t) i * k);
	class_metrics(n, k, proba, y, m);
	free(proba);
}

/*
 * Max |gradient| / (C n) of the objective at coef, computed independently
 * of logreg.c's own passes: row by row from logreg_predict_proba().
 */
static double
scaled_gradient(const LogregProblem *p, const double *coef)
{
	int			nvec = logreg_nvec(p->k);
	int			dim = p->d + 1;
	int			ncoef = nvec * dim;
	double	   *g = xmalloc(sizeof(double) * ncoef);
	double	   *proba = xmalloc(sizeof(double) * p->k);
	double		gmax = 0.0;
	int			i;
	int			a;
	int			j;

	for (i = 0; i < p->n; i++)
	{
		const double *x = p->x + (size_t) i * p->d;

		logreg_predict_proba(p->d, p->k, coef, x, proba);
		for (a = 0; a < nvec; a++)
		{
			int			cls = (nvec == 1) ? 1 : a;
			double		r = proba[cls] - (p->y[i] == cls ? 1.0 : 0.0);

			for (j = 0; j < p->d; j++)
				g[a * dim + j] += p->C * r * x[j];
			g[a * dim + p->d] += p->C * r;
		}
	}
	for (a = 0; a < nvec; a++)
		for (j = 0; j < p->d; j++)
			g[a * dim + j] += coef[a * dim + j];
	for (j = 0; j < ncoef; j++)
		if (fabs(g[j]) > gmax)
			gmax = fabs(g[j]);
	free(g);
	free(proba);
	return gmax / (p->C * p->n);
}

/* (a) Standardization, with missing values and constant columns */
/*
 * Cross-validate p with row i in fold i % folds (folds < 2: the function's
 * own refusal) and summarise the out-of-fold probabilities in m.
 */
static int
crossval_by_position(const LogregProblem *p, const bool *missing, int folds,
					 const double *full_coef, ClassMetrics *m)
{
	int		   *fold = xmalloc(sizeof(int) * (p->n > 0 ? p->n : 1));
	double	   *proba = xmalloc(sizeof(double) * (p->n > 0 ? p->n : 1) * p->k);
	CrossvalFolds f;
	int			rc;
	int			i;

	for (i = 0; i < p->n; i++)
		fold[i] = folds > 0 ? i % folds : 0;
	f.nfolds = folds;
	f.fold = fold;
	/* more folds than rows: some fold would be empty, as before refused */
	rc = folds > p->n ? -1 : crossval_logreg(p, missing, &f, full_coef, proba);
	if (rc == 0)
		class_metrics(p->n, p->k, proba, p->y, m);
	free(fold);
	free(proba);
	return rc;
}

static void
test_scaler(void)
{
	/*
	 * Column 0: 1, 3, (missing), 5: mean 3, population variance 8/3.
	 * Column 1: constant 7.  Column 2: 2, 4, 6, 8: mean 5, variance 5.
	 * Column 3: all missing.  Column 4: constant 0.1, whose computed mean
	 * is not exactly 0.1.
	 */
	double		x[5 * 5] = {
		1, 7, 2, -1, 0.1,
		3, 7, 4, -1, 0.1,
		99, 7, 6, -1, 0.1,
		5, 7, 8, -1, 0.1,
		3, 7, 5, -1, 0.1,
	};
	bool		miss[5 * 5] = {
		0, 0, 0, 1, 0,
		0, 0, 0, 1, 0,
		1, 0, 0, 1, 0,
		0, 0, 0, 1, 0,
		0, 0, 0, 1, 0,
	};
	double		mean[5];
	double		scale[5];
	bool		good;
	int			i;

	/* Rows 0-3 are fitted; row 4 is only transformed */
	scaler_fit(4, 5, x, miss, mean, scale);
	ok(close_to(mean[0], 3.0, 1e-15) && mean[1] == 7.0 &&
	   close_to(mean[2], 5.0, 1e-15) && mean[3] == 0.0 &&
	   close_to(mean[4], 0.1, 1e-16),
	   "scaler means skip missing values (3, 7, 5, 0 for an empty column, 0.1)");
	ok(close_to(scale[0], sqrt(8.0 / 3.0), 1e-15) && scale[1] == 1.0 &&
	   close_to(scale[2], sqrt(5.0), 1e-15) && scale[3] == 1.0 &&
	   scale[4] == 1.0,
	   "scaler scales are population std devs, 1 for constant and empty columns");

	scaler_apply(5, 5, x, miss, mean, scale);
	ok(close_to(x[0], -2.0 / sqrt(8.0 / 3.0), 1e-15) &&
	   close_to(x[15], 2.0 / sqrt(8.0 / 3.0), 1e-15) &&
	   close_to(x[2], -3.0 / sqrt(5.0), 1e-15) &&
	   close_to(x[17], 3.0 / sqrt(5.0), 1e-15) &&
	   close_to(x[22], 0.0, 1e-15),
	   "scaler_apply standardizes present values");
	good = (x[10] == 0.0);
	for (i = 0; i < 5; i++)
		good = good && x[i * 5 + 1] == 0.0 && x[i * 5 + 3] == 0.0 &&
			fabs(x[i * 5 + 4]) < 1e-15;
	ok(good, "missing values become exactly 0, constant columns 0");
}

/* Largest relative difference between got and want (0 when equal) */
static double
rel_err(double got, double want)
{
	if (got == want)
		return 0.0;
	return fabs(got - want) / fmax(fabs(want), fabs(got));
}

/*
 * (a') Standardization of extreme but finite values: +-1e308 (whose squares
 * overflow), near DBL_MAX (whose sums overflow), denormals (whose squares
 * underflow), mixes of huge and tiny, constant and nearly constant columns,
 * and scoring rows far outside the training range.
 */
static void
test_scaler_extremes(void)
{
	const double big = 1e308;
	const double top = 1.7e308;
	const double tiny = 1e-310;
	const double near_big = nextafter(1e308, INFINITY);

	/*
	 * Columns: 0 +-1e308 alternating; 1 1.7e308 and 1.6e308; 2 three
	 * -1.7e308 and one 1.7e308; 3 +-1e-310 denormals; 4 1e-310 and 1e308;
	 * 5 constant 1e308; 6 constant 1e-310; 7 1e308 and its next double.
	 */
	double		x[4 * 8] = {
		big, top, -top, tiny, tiny, big, tiny, big,
		-big, 1.6e308, -top, -tiny, big, big, tiny, near_big,
		big, top, -top, tiny, tiny, big, tiny, big,
		-big, 1.6e308, top, -tiny, big, big, tiny, near_big,
	};
	double		mean[8];
	double		scale[8];
	double		row[8];
	bool		finite = true;
	int			i;

	scaler_fit(4, 8, x, NULL, mean, scale);
	for (i = 0; i < 8; i++)
		finite = finite && isfinite(mean[i]) && isfinite(scale[i]) && scale[i] > 0.0;
	ok(finite, "scaler: every mean and scale of extreme columns is finite, every scale positive");
	ok(mean[0] == 0.0 && rel_err(scale[0], big) < 1e-15,
	   "scaler: +-1e308 has mean 0 and scale 1e308 (got %g, %g)", mean[0], scale[0]);
	ok(rel_err(mean[1], 1.65e308) < 1e-15 && rel_err(scale[1], 0.05e308) < 1e-13,
	   "scaler: 1.7e308 and 1.6e308 have mean 1.65e308 and scale 5e306 (got %g, %g)",
	   mean[1], scale[1]);
	ok(rel_err(mean[2], -0.85e308) < 1e-15 &&
	   rel_err(scale[2], top * (sqrt(3.0) / 2.0)) < 1e-15,
	   "scaler: three -1.7e308 and one 1.7e308 have mean -8.5e307 and scale 1.7e308 sqrt(3)/2 (got %g, %g)",
	   mean[2], scale[2]);
	ok(mean[3] == 0.0 && rel_err(scale[3], tiny) < 1e-12,
	   "scaler: denormals +-1e-310 have mean 0 and scale 1e-310 (got %g, %g)",
	   mean[3], scale[3]);
	ok(rel_err(mean[4], 0.5e308) < 1e-15 && rel_err(scale[4], 0.5e308) < 1e-15,
	   "scaler: 1e-310 and 1e308 have mean and scale 5e307 (got %g, %g)",
	   mean[4], scale[4]);
	ok(mean[5] == big && scale[5] == 1.0 && mean[6] == tiny && scale[6] == 1.0,
	   "scaler: constant columns of 1e308 and of 1e-310 get their value as mean and scale 1");

	scaler_apply(4, 8, x, NULL, mean, scale);
	ok(fabs(x[0] - 1.0) < 1e-15 && fabs(x[8] + 1.0) < 1e-15 &&
	   fabs(x[1] - 1.0) < 1e-12 && fabs(x[9] + 1.0) < 1e-12,
	   "scaler_apply: +-1e308 and 1.7e308 / 1.6e308 become +-1 (got %g, %g, %g, %g)",
	   x[0], x[8], x[1], x[9]);
	ok(fabs(x[2] + 1.0 / sqrt(3.0)) < 1e-15 && fabs(x[26] - sqrt(3.0)) < 1e-15,
	   "scaler_apply: -1.7e308 becomes -1/sqrt(3), 1.7e308 (2.55e308 above the mean) sqrt(3) (got %g, %g)",
	   x[2], x[26]);
	ok(fabs(x[3] - 1.0) < 1e-12 && fabs(x[11] + 1.0) < 1e-12 &&
	   fabs(x[4] + 1.0) < 1e-15 && fabs(x[12] - 1.0) < 1e-15,
	   "scaler_apply: denormals become +-1, and so do 1e-310 and 1e308 (got %g, %g, %g, %g)",
	   x[3], x[11], x[4], x[12]);
	finite = true;
	for (i = 0; i < 4; i++)
		finite = finite && x[i * 8 + 5] == 0.0 && x[i * 8 + 6] == 0.0 &&
			fabs(x[i * 8 + 7]) < 1e-14;
	ok(finite, "scaler_apply: constant columns become 0, a column of 1e308 and its next double within 1e-14 of 0 (got %g)",
	   x[15]);

	/* scoring rows far outside a column of small values stay finite and bounded */
	row[0] = big;
	row[1] = -big;
	row[2] = 1.0;
	row[3] = 1e300;
	row[4] = -1e-300;
	row[5] = -big;
	row[6] = big;
	row[7] = -top;
	mean[0] = mean[1] = 1.5;
	scale[0] = scale[1] = 0.5;
	mean[2] = 0.0;
	scale[2] = ldexp(1.0, -1074);
	mean[3] = -1e300;
	scale[3] = 1e-300;
	scaler_apply(1, 8, row, NULL, mean, scale);
	ok(row[0] == SCALER_LIMIT && row[1] == -SCALER_LIMIT && row[2] == SCALER_LIMIT &&
	   row[3] == SCALER_LIMIT,
	   "scaler_apply: values far beyond the training range are clamped to +-%g",
	   SCALER_LIMIT);
	finite = true;
	for (i = 0; i < 8; i++)
		finite = finite && isfinite(row[i]) && fabs(row[i]) <= SCALER_LIMIT;
	ok(finite, "scaler_apply: every standardized value is finite, within the bound");
}

/*
 * A feature of +-1e308 that separates two classes, beside one of denormals
 * and a constant one of 1e308: after the scaler, Newton's method gets
 * finite inputs, gives the separating feature a positive weight and
 * classifies every row correctly.
 */
static void
test_extreme_fit(void)
{
	enum
	{
		N = 20, D = 3
	};
	double		x[N * D];
	double		mean[D];
	double		scale[D];
	double		coef[D + 1];
	double		proba[2];
	int			y[N];
	LogregProblem p;
	LogregStatus st;
	int			correct = 0;
	bool		finite = true;
	int			i;

	for (i = 0; i < N; i++)
	{
		y[i] = i % 2;
		x[i * D] = (i % 2) ? 1e308 : -1e308;
		x[i * D + 1] = (i % 3) ? 1e-310 : -2e-310;
		x[i * D + 2] = 1e308;
	}
	scaler_fit(N, D, x, NULL, mean, scale);
	scaler_apply(N, D, x, NULL, mean, scale);
	for (i = 0; i < N * D; i++)
		finite = finite && isfinite(x[i]) && fabs(x[i]) <= 10.0;
	ok(finite, "standardized +-1e308, denormals and a constant 1e308 are finite and small");

	memset(&p, 0, sizeof(p));
	p.n = N;
	p.d = D;
	p.k = 2;
	p.x = x;
	p.y = y;
	p.C = 1.0;
	p.max_iter = 100;
	p.tol = 1e-10;
	st = logreg_fit(&p, coef, 0, NULL);
	for (i = 0; i < N; i++)
	{
		logreg_predict_proba(D, 2, coef, x + i * D, proba);
		if ((proba[1] > 0.5) == (y[i] == 1))
			correct++;
	}
	ok(st == LOGREG_OK && coef[0] > 0.1 && coef[2] == 0.0 && correct == N,
	   "a feature of +-1e308 gets a positive weight (%g), the constant one 0 (%g), and all %d rows right (%d; status %d)",
	   coef[0], coef[2], N, correct, (int) st);
}

/* (b) Argmax, uncertainty strategies and classification metrics */
static void
test_metrics(void)
{
	double		tie[3] = {0.2, 0.4, 0.4};
	double		mixed[3] = {0.5, 0.3, 0.2};
	double		onehot[3] = {0.0, 1.0, 0.0};
	double		uniform[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
	double		even2[2] = {0.5, 0.5};
	double		conf = -1.0;
	int			top;

	/* y = 0 0 1 1 2, predictions 0 1 1 1 0 (the last a tie, lowest wins) */
	double		proba[5 * 4] = {
		0.7, 0.2, 0.1, 0.0,
		0.3, 0.6, 0.1, 0.0,
		0.1, 0.8, 0.1, 0.0,
		0.0, 1.0, 0.0, 0.0,
		0.5, 0.5, 0.0, 0.0,
	};
	int			y[5] = {0, 0, 1, 1, 2};
	ClassMetrics m;

	top = proba_argmax(3, tie, &conf);
	ok(top == 1 && conf == 0.4, "argmax breaks ties by the lowest index");

	ok(close_to(uncertainty_score(UNCERTAINTY_MARGIN, 3, mixed), 0.8, 1e-15) &&
	   close_to(uncertainty_score(UNCERTAINTY_LEAST_CONFIDENCE, 3, mixed), 0.5, 1e-15) &&
	   close_to(uncertainty_score(UNCERTAINTY_ENTROPY, 3, mixed),
				0.9372305632161295, 1e-14),
	   "margin 0.8, least confidence 0.5, entropy 0.93723 for (0.5, 0.3, 0.2)");
	ok(uncertainty_score(UNCERTAINTY_MARGIN, 3, onehot) == 0.0 &&
	   uncertainty_score(UNCERTAINTY_LEAST_CONFIDENCE, 3, onehot) == 0.0 &&
	   uncertainty_score(UNCERTAINTY_ENTROPY, 3, onehot) == 0.0,
	   "a certain prediction scores 0 under every strategy");
	ok(close_to(uncertainty_score(UNCERTAINTY_MARGIN, 3, uniform), 1.0, 1e-15) &&
	   close_to(uncertainty_score(UNCERTAINTY_LEAST_CONFIDENCE, 3, uniform),
				2.0 / 3.0, 1e-15) &&
	   close_to(uncertainty_score(UNCERTAINTY_ENTROPY, 3, uniform), 1.0, 1e-15) &&
	   uncertainty_score(UNCERTAINTY_MARGIN, 2, even2) == 1.0 &&
	   close_to(uncertainty_score(UNCERTAINTY_ENTROPY, 2, even2), 1.0, 1e-15),
	   "a uniform prediction scores margin 1, least confidence 1 - 1/k, entropy 1");

	class_metrics(5, 4, proba, y, &m);
	ok(m.n == 5 && close_to(m.accuracy, 0.6, 1e-15), "accuracy 3/5");

	/*
	 * F1: class 0 2*1/(2+1+1) = 0.5, class 1 4/5, class 2 0; class 3 is
	 * neither true nor predicted, so it does not count: (0.5 + 0.8 + 0) / 3.
	 */
	ok(close_to(m.macro_f1, 0.43333333333333335, 1e-15),
	   "macro-F1 over the classes true or predicted (0.4333)");

	/* -(ln .7 + ln .3 + ln .8 + ln(1 - 1e-15) + ln 1e-15) / 5 */
	ok(close_to(m.log_loss, 7.264513538897913, 1e-12),
	   "log-loss clips probabilities 0 and 1 to 1e-15 and 1 - 1e-15");
}

/* Probabilities stay finite and normalised for extreme scores */
static void
test_predict_extremes(void)
{
	double		coef3[3 * 2] = {1.0, 0.0, -1.0, 0.0, 0.0, 0.0};
	double		coef2[2] = {1.0, 0.0};
	double		x = 800.0;
	double		p3[3];
	double		p2[2];

	double		inf3[3] = {INFINITY, 0.0, INFINITY};
	double		ninf3[3] = {-INFINITY, -INFINITY, -INFINITY};
	double		mixed3[3] = {-INFINITY, 2.0, 1.0};

	proba_softmax(3, inf3);
	proba_softmax(3, ninf3);
	proba_softmax(3, mixed3);
	ok(inf3[0] == 0.5 && inf3[1] == 0.0 && inf3[2] == 0.5 &&
	   ninf3[0] == 1.0 / 3 && ninf3[1] == 1.0 / 3 && ninf3[2] == 1.0 / 3 &&
	   mixed3[0] == 0.0 && fabs(mixed3[1] - 1.0 / (1.0 + exp(-1.0))) < 1e-15,
	   "softmax of infinite scores: +inf classes share, all -inf uniform, a -inf class 0 "
	   "(got %g %g %g, %g %g %g)", inf3[0], inf3[1], inf3[2], ninf3[0], ninf3[1], ninf3[2]);

	logreg_predict_proba(1, 3, coef3, &x, p3);
	logreg_predict_proba(1, 2, coef2, &x, p2);
	ok(p3[0] == 1.0 && p3[1] >= 0.0 && p3[2] >= 0.0 &&
	   p2[1] == 1.0 && p2[0] >= 0.0 && p2[0] < 1e-300 &&
	   logreg_nvec(2) == 1 && logreg_nvec(5) == 5 && logreg_ncoef(18, 4) == 76,
	   "probabilities stay finite for scores of +-800; coefficient counts");
}

/*
 * (c) to (f) for one vehicle problem: agreement with scikit-learn,
 * determinism, warm start and convergence.
 */
static void
test_vehicle_fit(const char *name, const Split *sp, int k, double C,
				 const char *fixture_dir, bool full_checks)
{
	LogregProblem prob;
	LogregResult res;
	LogregResult res2;
	LogregStatus status;
	ClassMetrics m;
	char		path[4096];
	int			ncoef = logreg_ncoef(sp->d, k);
	double	   *want = xmalloc(sizeof(double) * (ncoef + 1));
	double	   *coef = xmalloc(sizeof(double) * ncoef);
	double	   *coef2 = xmalloc(sizeof(double) * ncoef);
	double		worst = 0.0;
	double		want_acc;
	double		want_ll;
	int			nwant;
	int			j;

	memset(&prob, 0, sizeof(prob));
	prob.n = sp->ntrain;
	prob.d = sp->d;
	prob.k = k;
	prob.x = sp->xtrain;
	prob.y = sp->ytrain;
	prob.C = C;
	prob.max_iter = 100;
	prob.tol = FIT_TOL;

	snprintf(path, sizeof(path), "%s/vehicle_%s.csv", fixture_dir, name);
	nwant = read_index_values(path, want, ncoef + 1);

	status = logreg_fit(&prob, coef, 0, &res);
	diag("%s: %d iterations, objective %.12g, scaled gradient %.3g",
		 name, res.iterations, res.objective, res.grad_norm);
	ok(status == LOGREG_OK && res.converged == 1 && res.grad_norm <= FIT_TOL,
	   "%s: fit converges (status %d, scaled gradient %.2g <= %g)",
	   name, (int) status, res.grad_norm, FIT_TOL);

	for (j = 0; j < ncoef && nwant == ncoef; j++)
	{
		double		err = fabs(coef[j] - want[j]) / fmax(1.0, fabs(want[j]));

		if (err > worst)
			worst = err;
	}
	ok(nwant == ncoef && worst <= COEF_TOL,
	   "%s: %d coefficients match scikit-learn (worst difference %.2g)",
	   name, nwant, worst);

	evaluate(sp->ntest, sp->d, k, coef, sp->xtest, sp->ytest, &m);
	snprintf(path, sizeof(path), "%s/vehicle_%s_metrics.csv", fixture_dir, name);
	want_acc = read_fixture_metric(path, "test_accuracy");
	want_ll = read_fixture_metric(path, "test_log_loss");
	ok(close_to(m.accuracy, want_acc, ACCURACY_TOL),
	   "%s: test accuracy %.4f vs scikit-learn %.4f", name, m.accuracy, want_acc);
	ok(close_to(m.log_loss, want_ll, LOGLOSS_REL_TOL * want_ll),
	   "%s: test log-loss %.6f vs scikit-learn %.6f", name, m.log_loss, want_ll);

	ok(scaled_gradient(&prob, coef) <= 1e-8,
	   "%s: independently computed gradient at the solution is %.2g",
	   name, scaled_gradient(&prob, coef));

	if (!full_checks)
		goto done;

	/* (d) determinism */
	status = logreg_fit(&prob, coef2, 0, &res2);
	ok(status == LOGREG_OK &&
	   memcmp(coef, coef2, sizeof(double) * ncoef) == 0 &&
	   res2.iterations == res.iterations,
	   "%s: a second fit gives bit-identical coefficients", name);

	/* (e) warm start at the solution, and with all intercepts shifted */
	memcpy(coef2, coef, sizeof(double) * ncoef);
	status = logreg_fit(&prob, coef2, 1, &res2);
	worst = 0.0;
	for (j = 0; j < ncoef; j++)
		worst = fmax(worst, fabs(coef2[j] - coef[j]));
	ok(status == LOGREG_OK && res2.iterations <= 2 && worst <= 1e-9,
	   "%s: warm start at the solution takes %d iterations (<= 2), moves %.2g",
	   name, res2.iterations, worst);

	if (k > 2)
	{
		/* The softmax is unchanged; the centred solution must come back */
		memcpy(coef2, coef, sizeof(double) * ncoef);
		for (j = 0; j < k; j++)
			coef2[j * (sp->d + 1) + sp->d] += 5.0;
		status = logreg_fit(&prob, coef2, 1, &res2);
		worst = 0.0;
		for (j = 0; j < ncoef; j++)
			worst = fmax(worst, fabs(coef2[j] - coef[j]));
		ok(status == LOGREG_OK && res2.iterations <= 2 && worst <= 1e-9,
		   "%s: warm start with intercepts shifted by 5 returns the centred "
		   "solution", name);
	}

	/* A far start (the solution times -3) still converges to it */
	for (j = 0; j < ncoef; j++)
		coef2[j] = -3.0 * coef[j];
	status = logreg_fit(&prob, coef2, 1, &res2);
	worst = 0.0;
	for (j = 0; j < ncoef; j++)
		worst = fmax(worst, fabs(coef2[j] - coef[j]));
	ok(status == LOGREG_OK && worst <= 1e-7,
	   "%s: a far start converges to the same solution in %d iterations",
	   name, res2.iterations);

	/*
	 * A saturated start: class 0's intercept at +1000 makes every
	 * probability exactly 0 or 1, so the Hessian is singular there and only
	 * the damped (Levenberg) solve can move.
	 */
	memcpy(coef2, coef, sizeof(double) * ncoef);
	coef2[sp->d] = 1000.0;
	status = logreg_fit(&prob, coef2, 1, &res2);
	worst = 0.0;
	for (j = 0; j < ncoef; j++)
		worst = fmax(worst, fabs(coef2[j] - coef[j]));
	ok(status == LOGREG_OK && worst <= 1e-7,
	   "%s: a saturated start (singular Hessian) converges in %d iterations"
	   " (status %d, off by %.2g)", name, res2.iterations, (int) status, worst);

	/* max_iter reached: NOT_CONVERGED with the iterate in coef */
	prob.max_iter = 1;
	status = logreg_fit(&prob, coef2, 0, &res2);
	ok(status == LOGREG_NOT_CONVERGED && res2.converged == 0 &&
	   res2.iterations == 1 && isfinite(coef2[0]) && coef2[0] != 0.0,
	   "%s: one iteration allowed reports LOGREG_NOT_CONVERGED", name);
	prob.max_iter = 100;

	/* (g) cross-validation, warm and cold */
	{
		ClassMetrics warm;
		ClassMetrics cold;
		int			rc_warm = crossval_by_position(&prob, NULL, 5, coef, &warm);
		int			rc_cold = crossval_by_position(&prob, NULL, 5, NULL, &cold);

		diag("%s: 5-fold accuracy %.4f, macro-F1 %.4f, log-loss %.4f",
			 name, warm.accuracy, warm.macro_f1, warm.log_loss);
		ok(rc_warm == 0 && warm.n == prob.n &&
		   warm.accuracy >= 0.5 && warm.accuracy <= 1.0 &&
		   warm.macro_f1 > 0.0 && warm.macro_f1 <= 1.0 &&
		   warm.log_loss > 0.0 && warm.log_loss < 2.0,
		   "%s: 5-fold cross-validation gives sane metrics", name);
		ok(rc_cold == 0 && close_to(cold.accuracy, warm.accuracy, 1e-12) &&
		   close_to(cold.log_loss, warm.log_loss, 1e-7),
		   "%s: cross-validation from a cold start agrees with the warm one",
		   name);
	}

done:
	free(want);
	free(coef);
	free(coef2);
}

/*
 * A training set in which a class is absent still fits with all k classes,
 * that class getting a low probability; cross-validation that produces such
 * folds succeeds.
 */
static void
test_absent_class(void)
{
	/* 1-d, three classes; class 2 only at rows 0 and 3 (fold 0 of 3) */
	double		x[12] = {3.0, -1.0, 0.5, 2.5, -1.5, 0.0, -0.5, 1.0, -2.0, 0.8, -1.2, 0.2};
	int			y[12] = {2, 0, 1, 2, 0, 1, 0, 1, 0, 1, 0, 1};
	int			ytrain[12] = {0, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1};
	LogregProblem prob;
	LogregResult res;
	LogregStatus status;
	ClassMetrics cv;
	double		coef[3 * 2];
	double		proba[3];
	int			rc;

	memset(&prob, 0, sizeof(prob));
	prob.n = 12;
	prob.d = 1;
	prob.k = 3;
	prob.x = x;
	prob.y = ytrain;
	prob.C = 1.0;
	prob.max_iter = 100;
	prob.tol = 1e-6;
	status = logreg_fit(&prob, coef, 0, &res);
	logreg_predict_proba(1, 3, coef, &x[0], proba);
	ok((status == LOGREG_OK || status == LOGREG_NOT_CONVERGED) &&
	   isfinite(coef[5]) && proba[2] < 1e-4,
	   "a class absent from the training rows gets probability %.2g (status %d)",
	   proba[2], (int) status);

	prob.y = y;
	rc = crossval_by_position(&prob, NULL, 3, NULL, &cv);
	ok(rc == 0 && cv.n == 12 && cv.accuracy >= 0.0 && cv.accuracy <= 1.0 &&
	   cv.log_loss > 0.0 && isfinite(cv.log_loss),
	   "cross-validation with a class missing from a fold's training part");
}

/*
 * Cross-validation with row weights: all 1 is no weights, bit for bit; the
 * weights of one fold's rows change the fits of the other folds only, so
 * the out-of-fold probabilities of that fold's rows stay as they were.
 */
static void
test_crossval_weights(void)
{
	double		x[12] = {3.0, -1.0, 0.5, 2.5, -1.5, 0.0, -0.5, 1.0, -2.0, 0.8, -1.2, 0.2};
	int			y[12] = {1, 0, 1, 1, 0, 1, 0, 1, 0, 0, 0, 1};
	double		w[12];
	int			fold[12];
	CrossvalFolds f = {3, fold};
	LogregProblem prob = {.n = 12, .d = 1, .k = 2, .x = x, .y = y, .C = 1.0, .max_iter = 100,
	.tol = 1e-10};
	double		plain[12 * 2];
	double		weighted[12 * 2];
	bool		same_held = true;
	bool		others_moved = true;
	int			r0;
	int			r1;
	int			i;

	for (i = 0; i < 12; i++)
	{
		fold[i] = i % 3;
		w[i] = 1.0;
	}
	r0 = crossval_logreg(&prob, NULL, &f, NULL, plain);
	prob.weight = w;
	r1 = crossval_logreg(&prob, NULL, &f, NULL, weighted);
	ok(r0 == 0 && r1 == 0 && memcmp(plain, weighted, sizeof(plain)) == 0,
	   "cross-validation: weights 1 are no weights, bit for bit");

	for (i = 0; i < 12; i += 3)
		w[i] = 4.0;				/* fold 0's rows */
	r1 = crossval_logreg(&prob, NULL, &f, NULL, weighted);
	for (i = 0; i < 12; i++)
	{
		bool		same = memcmp(plain + i * 2, weighted + i * 2, sizeof(double) * 2) == 0;

		if (fold[i] == 0)
			same_held = same_held && same;
		else
			others_moved = others_moved && !same;
	}
	ok(r1 == 0 && same_held && others_moved,
	   "cross-validation: the weights of fold 0's rows weigh in the fits of folds 1 and 2 only");
}

/*
 * Cross-validation standardizes each fold with its own training rows, so an
 * affine change of units of the raw features (and a missing value) changes
 * nothing in its metrics.
 */
static void
test_crossval_scaling(void)
{
	int			n = 60;
	double		x[60 * 2];
	double		x2[60 * 2];
	bool		missing[60 * 2];
	int			y[60];
	LogregProblem prob;
	ClassMetrics a;
	ClassMetrics b;
	int			i;
	int			rc1;
	int			rc2;

	for (i = 0; i < n; i++)
	{
		y[i] = i % 3;
		x[2 * i] = y[i] + 0.7 * sin(i * 1.3);
		x[2 * i + 1] = (i % 5) - 0.5 * y[i] + 0.3 * cos(i * 0.7);
		x2[2 * i] = 1000.0 * x[2 * i] + 5.0;
		x2[2 * i + 1] = 0.01 * x[2 * i + 1] - 3.0;
		missing[2 * i] = missing[2 * i + 1] = false;
	}
	missing[2 * 7 + 1] = true;

	memset(&prob, 0, sizeof(prob));
	prob.n = n;
	prob.d = 2;
	prob.k = 3;
	prob.y = y;
	prob.C = 1.0;
	prob.max_iter = 100;
	prob.tol = 1e-10;
	prob.x = x;
	rc1 = crossval_by_position(&prob, missing, 4, NULL, &a);
	prob.x = x2;
	rc2 = crossval_by_position(&prob, missing, 4, NULL, &b);
	ok(rc1 == 0 && rc2 == 0 && fabs(a.log_loss - b.log_loss) < 1e-8 &&
	   a.accuracy == b.accuracy,
	   "cross-validation standardizes per fold: metrics independent of units (log-loss %.10f vs %.10f)",
	   a.log_loss, b.log_loss);
}

/* (h) Bad input is rejected with LOGREG_BAD_INPUT */
static void
test_bad_input(void)
{
	double		x[4] = {0.0, 1.0, 2.0, 3.0};
	int			y[4] = {0, 1, 0, 1};
	double		coef[4];
	LogregProblem good;
	LogregProblem p;
	bool		all = true;
	int			rc;
	ClassMetrics m;

	memset(&good, 0, sizeof(good));
	good.n = 4;
	good.d = 1;
	good.k = 2;
	good.x = x;
	good.y = y;
	good.C = 1.0;
	good.max_iter = 50;
	good.tol = 1e-8;

	p = good;
	ok(logreg_fit(&p, coef, 0, NULL) == LOGREG_OK,
	   "the reference small problem fits");

	p = good;
	p.n = 0;
	all = all && logreg_fit(&p, coef, 0, NULL) == LOGREG_BAD_INPUT;
	p = good;
	p.k = 1;
	all = all && logreg_fit(&p, coef, 0, NULL) == LOGREG_BAD_INPUT;
	p = good;
	p.d = -1;
	all = all && logreg_fit(&p, coef, 0, NULL) == LOGREG_BAD_INPUT;
	p = good;
	p.C = 0.0;
	all = all && logreg_fit(&p, coef, 0, NULL) == LOGREG_BAD_INPUT;
	p = good;
	p.max_iter = 0;
	all = all && logreg_fit(&p, coef, 0, NULL) == LOGREG_BAD_INPUT;
	p = good;
	p.tol = NAN;
	all = all && logreg_fit(&p, coef, 0, NULL) == LOGREG_BAD_INPUT;
	ok(all, "n < 1, k < 2, d < 0, C <= 0, max_iter < 1, tol NaN are bad input");

	y[2] = 2;
	ok(logreg_fit(&good, coef, 0, NULL) == LOGREG_BAD_INPUT,
	   "a label >= k is bad input");
	y[2] = -1;
	ok(logreg_fit(&good, coef, 0, NULL) == LOGREG_BAD_INPUT,
	   "a negative label is bad input");
	y[2] = 0;
	x[1] = NAN;
	ok(logreg_fit(&good, coef, 0, NULL) == LOGREG_BAD_INPUT,
	   "a NaN feature is bad input");
	x[1] = 1.0;

	rc = crossval_by_position(&good, NULL, 1, NULL, &m);
	ok(rc == -1 && crossval_by_position(&good, NULL, 5, NULL, &m) == -1,
	   "cross-validation rejects folds < 2 and folds > n");
}

int
main(int argc, char **argv)
{
	const char *data_dir = argc > 1 ? argv[1] : "test/data";
	const char *fixture_dir = argc > 2 ? argv[2] : "test/fixtures";
	char		path[4096];
	Dataset		ds;
	Split		sp;
	int		   *y;
	int			k;
	int			i;

	test_scaler();
	test_scaler_extremes();
	test_extreme_fit();
	test_metrics();
	test_predict_extremes();
	test_absent_class();
	test_crossval_scaling();
	test_crossval_weights();
	test_bad_input();

	snprintf(path, sizeof(path), "%s/vehicle.csv", data_dir);
	if (!ok(read_dataset(path, "Class", &ds) && ds.n == 846 && ds.d == 18,
			"read %s (846 rows, 18 features)", path))
	{
		printf("1..%d\n", test_count);
		return 1;
	}
	y = xmalloc(sizeof(int) * ds.n);
	k = encode_labels(&ds, y);
	ok(k == 4, "vehicle has 4 classes");

	make_split(&ds, y, &sp);
	test_vehicle_fit("multiclass", &sp, k, 1.0, fixture_dir, true);
	free_split(&sp);

	/* Binary: van (class 3 in sorted order) against the rest */
	for (i = 0; i < ds.n; i++)
		y[i] = (y[i] == 3) ? 1 : 0;
	make_split(&ds, y, &sp);
	test_vehicle_fit("binary", &sp, 2, 0.5, fixture_dir, true);
	free_split(&sp);

	for (i = 0; i < ds.n; i++)
		free(ds.label[i]);
	free(ds.label);
	free(ds.x);
	free(y);

	printf("1..%d\n", test_count);
	if (failures > 0)
		diag("%d of %d tests failed", failures, test_count);
	return failures > 0 ? 1 : 0;
}
