/*
 * explain_math.h
 *		Why a model predicts a class for a row: each feature's contribution
 *		to the predicted class and to the runner-up.
 *
 * Plain C, no PostgreSQL types.  hitl.explain() (explain.c) converts the
 * row as hitl.predict does and hands the values the model sees, with the
 * model's weights, to these functions.
 *
 * Logistic regression (logreg.h's coefficient layout, ncol features per
 * vector then the intercept): a class's score is z_c = w_c . x + b_c and
 * ln(p_pred / p_runner_up) = z_pred - z_runner_up.  With more than two
 * classes w_c is row c of the coefficients.  Two classes have one vector w
 * scoring class 1 against class 0; it is read as the two centred class
 * vectors w_1 = w / 2 and w_0 = -w / 2 (and b / 2, -b / 2), the form the
 * vectors of a multinomial model have (they sum to zero over the classes),
 * which give the same probabilities.  A feature's contribution is
 * w_pred[j] * x[j], its runner-up contribution w_runner_up[j] * x[j]; so
 *
 *		sum (contribution - runner_up) + b_pred - b_runner_up
 *			= ln(p_pred / p_runner_up).
 *
 * Naive Bayes (nbayes.h): ln P(f | c) = ln(sum_cf + alpha) - ln(sum_c +
 * alpha * D), scikit-learn's feature_log_prob_, for any feature f, also one
 * without statistics (sum_cf = 0).  A feature's weight is the log ratio
 * ln P(f | pred) - ln P(f | runner_up), its contribution value * weight and
 * its runner-up contribution the opposite; so
 *
 *		sum contribution + ln(prior_pred / prior_runner_up)
 *			= ln(p_pred / p_runner_up)
 *
 * when the features summed are all those of the row (its mass).
 */
#ifndef HITL_EXPLAIN_MATH_H
#define HITL_EXPLAIN_MATH_H

#include "nbayes.h"

/* One feature of a row, explained */
typedef struct ExplainItem
{
	const char *feature;		/* its name (not owned) */
	double		value;			/* its value as the model sees it */
	double		weight;
	double		contribution;	/* to the predicted class */
	double		runner_up;		/* to the runner-up class */
} ExplainItem;

/*
 * The runner-up of k >= 2 class probabilities: the most probable class
 * other than pred (the lowest index on ties).
 */
extern int	explain_runner_up(int k, const double *proba, int pred);

/*
 * Weight of feature j (j == ncol: the intercept) for class c of a logistic
 * model with ncol features and k classes, read as above.
 */
extern double explain_logreg_weight(int ncol, int k, const double *coef, int c, int j);

/*
 * Explain n features of a logistic model: feature i has value x[i] at
 * coefficient column col[i] (-1: none, so weight 0).  Fills value, weight,
 * contribution and runner_up of items[0..n-1].
 */
extern void explain_logreg(int ncol, int k, const double *coef, int pred, int runner_up,
						   int n, const int *col, const double *x, ExplainItem *items);

/*
 * ln P(f | pred) - ln P(f | runner_up) of a naive Bayes model for the
 * feature at position pos (-1: a feature without statistics).
 */
extern double explain_nbayes_ratio(const NBayesModel *nb, int pos, int pred, int runner_up);

/*
 * Explain n features of a naive Bayes model: feature i has value x[i] at
 * position pos[i] (-1: none).  Fills items[0..n-1] as explain_logreg.
 */
extern void explain_nbayes(const NBayesModel *nb, int pred, int runner_up,
						   int n, const int *pos, const double *x, ExplainItem *items);

/*
 * Sort items by absolute contribution, largest first, then by feature
 * name (byte order), then by value.
 */
extern void explain_sort(int n, ExplainItem *items);

#endif
