/*
 * crossval.c
 *		k-fold cross-validation of the logistic model.
 *
 * The trainer reports held-out metrics with every model version: each row
 * is predicted by a model that did not see it, and the out-of-fold
 * probabilities of all rows are summarised by class_metrics().  Folds are
 * assigned by row position (row i is in fold i % folds), so the result is
 * deterministic for a given row order.  Each fold standardizes with the
 * means and scales of its own training part, as the full model does with
 * all rows, so nothing of the held-out rows leaks into their predictions.
 *
 * Plain C, no PostgreSQL types; see numeric_alloc.h for allocation.
 */
#include <stddef.h>
#include <string.h>

#include "crossval.h"
#include "numeric_alloc.h"
#include "scaler.h"

/* Rows copied between two interrupt checks */
#define CROSSVAL_CHUNK_ROWS 8192

/*
 * Cross-validate the model of problem p over folds folds; see crossval.h.
 *
 * Each fold's training part keeps all k classes even when some of them do
 * not occur in it: the fit then gives those classes low probabilities, which
 * is the honest prediction for rows of a class the model has not seen.  A
 * fold fit that stops at max_iter is used as it is.  Returns -1 on invalid
 * arguments or when a fold fit fails outright (bad input, or a Hessian that
 * cannot be factorised).
 */
int
crossval_logreg(const LogregProblem *p, const bool *missing, int folds,
				const double *full_coef, ClassMetrics *out)
{
	LogregProblem sub;
	double	   *train_x;
	bool	   *train_missing;
	int		   *train_y;
	double	   *mean;
	double	   *scale;
	double	   *row;
	double	   *coef;
	double	   *proba;
	int			ncoef;
	int			max_train;
	int			fold;
	int			result = 0;
	int			i;

	if (p == NULL || out == NULL || p->n < 2 || p->d < 0 || p->k < 2 ||
		folds < 2 || folds > p->n || p->y == NULL ||
		(p->d > 0 && p->x == NULL))
		return -1;

	ncoef = logreg_ncoef(p->d, p->k);
	max_train = p->n - p->n / folds;	/* the smallest fold has n / folds rows */
	train_x = hitl_alloc(sizeof(double) * (size_t) max_train * (p->d > 0 ? p->d : 1));
	train_missing = hitl_alloc(sizeof(bool) * (size_t) max_train * (p->d > 0 ? p->d : 1));
	train_y = hitl_alloc(sizeof(int) * max_train);
	mean = hitl_alloc(sizeof(double) * (p->d > 0 ? p->d : 1));
	scale = hitl_alloc(sizeof(double) * (p->d > 0 ? p->d : 1));
	row = hitl_alloc(sizeof(double) * (p->d > 0 ? p->d : 1));
	coef = hitl_alloc(sizeof(double) * ncoef);
	proba = hitl_alloc(sizeof(double) * (size_t) p->n * p->k);

	for (fold = 0; fold < folds && result == 0; fold++)
	{
		LogregStatus status;
		int			ntrain = 0;

		for (i = 0; i < p->n; i++)
		{
			if (i % CROSSVAL_CHUNK_ROWS == 0)
				hitl_check_interrupts();
			if (i % folds == fold)
				continue;
			if (p->d > 0)
			{
				memcpy(train_x + (size_t) ntrain * p->d,
					   p->x + (size_t) i * p->d, sizeof(double) * p->d);
				if (missing != NULL)
					memcpy(train_missing + (size_t) ntrain * p->d,
						   missing + (size_t) i * p->d, sizeof(bool) * p->d);
			}
			train_y[ntrain] = p->y[i];
			ntrain++;
		}
		scaler_fit(ntrain, p->d, train_x, missing ? train_missing : NULL, mean, scale);
		scaler_apply(ntrain, p->d, train_x, missing ? train_missing : NULL, mean, scale);

		sub = *p;
		sub.n = ntrain;
		sub.x = train_x;
		sub.y = train_y;
		if (full_coef != NULL)
			memcpy(coef, full_coef, sizeof(double) * ncoef);
		status = logreg_fit(&sub, coef, full_coef != NULL, NULL);
		if (status != LOGREG_OK && status != LOGREG_NOT_CONVERGED)
		{
			result = -1;
			break;
		}

		for (i = fold; i < p->n; i += folds)
		{
			if (p->d > 0)
			{
				memcpy(row, p->x + (size_t) i * p->d, sizeof(double) * p->d);
				scaler_apply(1, p->d, row, missing ? missing + (size_t) i * p->d : NULL,
							 mean, scale);
			}
			logreg_predict_proba(p->d, p->k, coef, p->d > 0 ? row : NULL,
								 proba + (size_t) i * p->k);
		}
	}

	if (result == 0)
		class_metrics(p->n, p->k, proba, p->y, out);

	hitl_free(train_x);
	hitl_free(train_missing);
	hitl_free(train_y);
	hitl_free(mean);
	hitl_free(scale);
	hitl_free(row);
	hitl_free(coef);
	hitl_free(proba);
	return result;
}
