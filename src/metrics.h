/*
 * metrics.h
 *		Classification metrics and active-learning uncertainty scores.
 *
 * Plain C, no PostgreSQL types.
 */
#ifndef HITL_METRICS_H
#define HITL_METRICS_H

#include <stdint.h>

typedef enum UncertaintyStrategy
{
	UNCERTAINTY_MARGIN = 0,		/* 1 - (p1 - p2), p1 >= p2 the two largest */
	UNCERTAINTY_LEAST_CONFIDENCE,	/* 1 - p1 */
	UNCERTAINTY_ENTROPY,		/* -sum p log p / log k, in [0, 1] */
	UNCERTAINTY_DENSITY,		/* margin x density (strategy_math.h), by
								 * the scoring; here margin */
	UNCERTAINTY_DIVERSE,		/* margin, the queue in diverse order */
	UNCERTAINTY_COMMITTEE		/* a committee's disagreement (vote
								 * entropy or KL), by the scoring; here
								 * margin */
} UncertaintyStrategy;

/*
 * Top class of a probability vector (the lowest index on ties), and its
 * probability (the confidence) in *confidence when not NULL.
 */
extern int	proba_argmax(int k, const double *proba, double *confidence);

/*
 * Turn k scores (log-probabilities up to a constant) into probabilities in
 * place: exp(z - max z), normalised to sum 1, safe for any finite scores;
 * infinite ones get their limit (the classes at +infinity share the
 * probability; all at -infinity, all classes are equally likely).
 */
extern void proba_softmax(int k, double *z);

/* Uncertainty score in [0, 1] of a probability vector under a strategy */
extern double uncertainty_score(UncertaintyStrategy strategy, int k,
								const double *proba);

typedef struct ClassMetrics
{
	int			n;				/* rows evaluated */
	double		accuracy;		/* fraction of rows whose argmax is the label */
	double		macro_f1;		/* unweighted mean over classes present in
								 * y or predicted, as scikit-learn's f1_score(average='macro') */
	double		log_loss;		/* mean -log p(label), p clipped to [1e-15, 1 - 1e-15] */
} ClassMetrics;

/*
 * Metrics of n predictions: proba is n x k row-major, y the true classes.
 */
extern void class_metrics(int n, int k, const double *proba, const int *y,
						  ClassMetrics *out);

/* A row's log-loss, -ln p with p clipped to [1e-15, 1 - 1e-15] (NaN as 1e-15) */
extern double metrics_row_loss(double p);

/*
 * class_metrics of n rows from their sums: the sum of their log-losses
 * (clipped as class_metrics clips them) and their k x k confusion counts
 * (true class-major, rows outside [0, k) not counted).  The figures are
 * class_metrics' of the same rows, up to the order of the log-losses' sum.
 */
extern void class_metrics_counts(int n, int k, double loss_sum, const double *confusion,
								 ClassMetrics *out);

/*
 * The confusion matrix of n predictions: counts (k x k, row-major) gets, at
 * [t * k + p], the rows of true class t whose argmax is p.  Rows whose
 * label is outside [0, k) are not counted.
 */
extern void confusion_count(int n, int k, const double *proba, const int *y,
							int64_t *counts);

/* One class's figures, from a confusion matrix */
typedef struct ClassReport
{
	double		precision;		/* TP / (TP + FP), 0 when never predicted */
	double		recall;			/* TP / (TP + FN), 0 without rows */
	double		f1;				/* 2 TP / (2 TP + FP + FN), 0 when both are 0 */
	int64_t		support;		/* rows of the class: TP + FN */
} ClassReport;

/*
 * Precision, recall, F1 and support of each of the k classes of a
 * confusion matrix (as scikit-learn's classification_report, with
 * zero_division=0) into out; returns the macro F1, the mean F1 of the
 * classes that have rows or predictions (as class_metrics).
 */
extern double class_report(int k, const int64_t *counts, ClassReport *out);

#endif
