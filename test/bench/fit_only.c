/*
 * fit_only.c
 *		The fit alone, outside the server: what test/bench/train_shapes.sh
 *		reports beside hitl.train's train_ms, which also counts reading the
 *		rows through SPI, standardizing and the training metrics.
 *
 * Reads a data set of helper.py synthetic (id, features, truth, is_test),
 * standardizes the training rows as hitl does (src/scaler.c), and times
 * logreg_solve (src/logreg_solve.c) with hitl's defaults (max_iter 100,
 * tol 1e-8, which logreg_solve scales to 1e-5 for L-BFGS) from a cold
 * start, reps times.  Prints the median time in ms,
 * the iterations and the solver.
 *
 * Usage: fit_only DATA.csv C REPS
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logreg.h"
#include "logreg_solve.h"
#include "scaler.h"

static int
compare_doubles(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	FILE	   *f;
	char	   *line = malloc(1 << 20);
	int			cap = 1024;
	int			n = 0;
	int			d = 0;
	int			k = 0;
	double	   *x;
	int		   *y;
	double	   *means;
	double	   *scales;
	double	   *coef;
	double		times[64];
	LogregProblem p;
	LogregResult res;
	int			reps;
	int			r;

	if (argc != 4 || (f = fopen(argv[1], "r")) == NULL ||
		fgets(line, 1 << 20, f) == NULL)
	{
		fprintf(stderr, "usage: fit_only DATA.csv C REPS\n");
		return 2;
	}
	for (char *c = line; *c; c++)
		d += (*c == ',');
	d -= 2;						/* id, truth, is_test */
	x = malloc(sizeof(double) * cap * d);
	y = malloc(sizeof(int) * cap);
	while (fgets(line, 1 << 20, f) != NULL)
	{
		char	   *tok = strtok(line, ",");
		double	   *row;
		int			j;

		if (n == cap)
		{
			cap *= 2;
			x = realloc(x, sizeof(double) * cap * d);
			y = realloc(y, sizeof(int) * cap);
		}
		row = x + (size_t) n * d;
		for (j = 0; j < d; j++)
			row[j] = atof(strtok(NULL, ","));
		y[n] = atoi(strtok(NULL, ","));
		tok = strtok(NULL, ",\r\n");
		if (tok[0] == 't')
			continue;			/* a test row */
		if (y[n] + 1 > k)
			k = y[n] + 1;
		n++;
	}
	fclose(f);

	means = malloc(sizeof(double) * d);
	scales = malloc(sizeof(double) * d);
	scaler_fit(n, d, x, NULL, means, scales);
	scaler_apply(n, d, x, NULL, means, scales);
	coef = malloc(sizeof(double) * logreg_ncoef(d, k));
	p.n = n;
	p.d = d;
	p.k = k;
	p.x = x;
	p.y = y;
	p.C = atof(argv[2]);
	p.max_iter = 100;
	p.tol = 1e-8;
	reps = atoi(argv[3]);
	if (reps < 1 || reps > 64)
		reps = 1;
	for (r = 0; r < reps; r++)
	{
		struct timespec t0;
		struct timespec t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (logreg_solve(&p, coef, 0, &res) > LOGREG_NOT_CONVERGED)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		times[r] = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	}
	qsort(times, reps, sizeof(double), compare_doubles);
	printf("%.1f %d %s\n", times[reps / 2], res.iterations, logreg_solver_name(res.solver));
	return 0;
}
