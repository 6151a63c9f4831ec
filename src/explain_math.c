/*
 * explain_math.c
 *		Contributions of a row's features to its predicted class and to the
 *		runner-up (see explain_math.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explain_math.h"

int
explain_runner_up(int k, const double *proba, int pred)
{
	int			best = -1;
	int			c;

	for (c = 0; c < k; c++)
		if (c != pred && (best < 0 || proba[c] > proba[best]))
			best = c;
	return best;
}

double
explain_logreg_weight(int ncol, int k, const double *coef, int c, int j)
{
	if (k == 2)
		return (c == 1 ? 0.5 : -0.5) * coef[j];
	return coef[(size_t) c * ((size_t) ncol + 1) + j];
}

void
explain_logreg(int ncol, int k, const double *coef, int pred, int runner_up,
			   int n, const int *col, const double *x, ExplainItem *items)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		ExplainItem *it = &items[i];
		double		w_runner_up = 0.0;

		it->value = x[i];
		it->weight = 0.0;
		if (col[i] >= 0 && col[i] < ncol)
		{
			it->weight = explain_logreg_weight(ncol, k, coef, pred, col[i]);
			w_runner_up = explain_logreg_weight(ncol, k, coef, runner_up, col[i]);
		}
		it->contribution = it->weight * x[i];
		it->runner_up = w_runner_up * x[i];
	}
}

/* ln(sum + alpha) - ln(alpha) of a class at a position, 0 without a sum */
static double
nbayes_delta(const NBayesModel *nb, int pos, int c)
{
	int64_t		e;

	for (e = nb->ptr[pos]; e < nb->ptr[pos + 1]; e++)
		if (nb->cls[e] == c)
			return nb->delta[e];
	return 0.0;
}

double
explain_nbayes_ratio(const NBayesModel *nb, int pos, int pred, int runner_up)
{
	double		ratio = -(nb->log_denom[pred] - nb->log_denom[runner_up]);

	/* ln(alpha) cancels out between the two classes */
	if (pos >= 0 && pos < nb->m)
		ratio += nbayes_delta(nb, pos, pred) - nbayes_delta(nb, pos, runner_up);
	return ratio;
}

void
explain_nbayes(const NBayesModel *nb, int pred, int runner_up,
			   int n, const int *pos, const double *x, ExplainItem *items)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		ExplainItem *it = &items[i];

		it->value = x[i];
		it->weight = explain_nbayes_ratio(nb, pos[i], pred, runner_up);
		it->contribution = x[i] * it->weight;
		it->runner_up = 0.0 - it->contribution;	/* 0, not -0, for no contribution */
	}
}

/* qsort: |contribution| descending, then feature, then value */
static int
item_cmp(const void *a, const void *b)
{
	const ExplainItem *x = (const ExplainItem *) a;
	const ExplainItem *y = (const ExplainItem *) b;
	double		ax = fabs(x->contribution);
	double		ay = fabs(y->contribution);
	int			r;

	if (ax != ay)
		return ax > ay ? -1 : 1;
	r = strcmp(x->feature, y->feature);
	if (r != 0)
		return r;
	return x->value < y->value ? -1 : x->value > y->value ? 1 : 0;
}

void
explain_sort(int n, ExplainItem *items)
{
	if (n > 1)
		qsort(items, (size_t) n, sizeof(ExplainItem), item_cmp);
}
