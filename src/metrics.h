/*
 * metrics.h
 *		Classification metrics and active-learning uncertainty scores.
 *
 * Plain C, no PostgreSQL types.
 */
#ifndef HITL_METRICS_H
#define HITL_METRICS_H

typedef enum UncertaintyStrategy
{
	UNCERTAINTY_MARGIN = 0,		/* 1 - (p1 - p2), p1 >= p2 the two largest */
	UNCERTAINTY_LEAST_CONFIDENCE,	/* 1 - p1 */
	UNCERTAINTY_ENTROPY			/* -sum p log p / log k, in [0, 1] */
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

#endif
