/*
 * crossval.c
 *		k-fold cross-validation of the logistic model.
 *
 * The trainer reports held-out metrics with every model version: each row
 * is predicted by a model that did not see it, and the out-of-fold
 * probabilities of all rows are summarised by class_metrics() and
 * confusion_count().  The folds are given: folds.c assigns them, stratified
 * by class and shuffled with a fixed seed, groups kept whole.  Each fold
 * standardizes with the means and scales of its own training part, as the
 * full model does with all rows, so nothing of the held-out rows leaks into
 * their predictions.
 *
 * Plain C, no PostgreSQL types; see numeric_alloc.h for allocation.
 */
#include <stddef.h>
#include <string.h>

#include "crossval.h"
#include "logreg_solve.h"
#include "numeric_alloc.h"
#include "scaler.h"

/* Rows copied between two interrupt checks */
#define CROSSVAL_CHUNK_ROWS 8192

/*
 * Copy the rows outside fold into the training part (x, missing, y, and
 * the weights when p has some); returns their count.
 */
static int
training_part(const LogregProblem *p, const bool *missing, const CrossvalFolds *f, int fold,
			  double *train_x, bool *train_missing, int *train_y, double *train_w)
{
	int			ntrain = 0;
	int			i;

	for (i = 0; i < p->n; i++)
	{
		if (i % CROSSVAL_CHUNK_ROWS == 0)
			hitl_check_interrupts();
		if (f->fold[i] == fold)
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
		if (p->weight != NULL)
			train_w[ntrain] = p->weight[i];
		ntrain++;
	}
	return ntrain;
}

/*
 * Cross-validate the model of problem p over the folds f; see crossval.h.
 *
 * Each fold's training part keeps all k classes even when some of them do
 * not occur in it: the fit then gives those classes low probabilities, which
 * is the honest prediction for rows of a class the model has not seen.  A
 * fold fit that stops at max_iter is used as it is.  Returns -1 on invalid
 * arguments or when a fold fit fails outright (bad input, or a Hessian that
 * cannot be factorised).
 */
int
crossval_logreg(const LogregProblem *p, const bool *missing, const CrossvalFolds *f,
				const double *full_coef, double *proba)
{
	LogregProblem sub;
	size_t		width;
	double	   *train_x;
	bool	   *train_missing;
	int		   *train_y;
	double	   *train_w = NULL;
	double	   *mean;
	double	   *scale;
	double	   *row;
	double	   *coef;
	int			ncoef;
	int			fold;
	int			result = 0;
	int			i;

	if (p == NULL || proba == NULL || p->d < 0 || p->k < 2 || p->y == NULL ||
		(p->d > 0 && p->x == NULL) || !crossval_folds_valid(f, p->n))
		return -1;

	ncoef = logreg_ncoef(p->d, p->k);
	width = p->d > 0 ? p->d : 1;
	train_x = hitl_alloc(sizeof(double) * (size_t) p->n * width);
	train_missing = hitl_alloc(sizeof(bool) * (size_t) p->n * width);
	train_y = hitl_alloc(sizeof(int) * p->n);
	if (p->weight != NULL)
		train_w = hitl_alloc(sizeof(double) * p->n);
	mean = hitl_alloc(sizeof(double) * width);
	scale = hitl_alloc(sizeof(double) * width);
	row = hitl_alloc(sizeof(double) * width);
	coef = hitl_alloc(sizeof(double) * ncoef);

	for (fold = 0; fold < f->nfolds && result == 0; fold++)
	{
		LogregStatus status;
		int			ntrain;

		ntrain = training_part(p, missing, f, fold, train_x, train_missing, train_y,
							   train_w);
		if (ntrain == p->n)
			continue;			/* an empty fold */
		scaler_fit(ntrain, p->d, train_x, missing ? train_missing : NULL, mean, scale);
		scaler_apply(ntrain, p->d, train_x, missing ? train_missing : NULL, mean, scale);

		sub = *p;
		sub.n = ntrain;
		sub.x = train_x;
		sub.y = train_y;
		sub.weight = train_w;
		if (full_coef != NULL)
			memcpy(coef, full_coef, sizeof(double) * ncoef);
		status = logreg_solve(&sub, coef, full_coef != NULL, NULL);
		if (status != LOGREG_OK && status != LOGREG_NOT_CONVERGED)
		{
			result = -1;
			break;
		}

		for (i = 0; i < p->n; i++)
		{
			if (f->fold[i] != fold)
				continue;
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

	hitl_free(train_x);
	hitl_free(train_missing);
	hitl_free(train_y);
	if (train_w != NULL)
		hitl_free(train_w);
	hitl_free(mean);
	hitl_free(scale);
	hitl_free(row);
	hitl_free(coef);
	return result;
}
