/*
 * nbayes.h
 *		Multinomial naive Bayes with additive smoothing.
 *
 * Plain C, no PostgreSQL types.  The model is scikit-learn's
 * MultinomialNB(alpha = alpha, fit_prior = True).  Its sufficient statistics
 * are sums over the labeled rows: per class, the number of rows and the sum
 * of each feature.  Adding a row adds to its class, removing subtracts, so a
 * model follows label changes exactly.
 *
 * Features are indexed by "positions" [0, m): the features that have
 * statistics.  The smoothing counts every feature of the model's space, D
 * of them (D >= m): a feature no labeled row has contributes alpha to every
 * class's denominator, and its own probability is the same in every class,
 * so at prediction time it only counts through the row's total mass.
 */
#ifndef HITL_NBAYES_H
#define HITL_NBAYES_H

#include <stdint.h>

/* Statistics being accumulated: dense k x m sums, class-major */
typedef struct NBayesCounts
{
	int			k;
	int			m;
	double	   *class_count;	/* k: rows */
	double	   *feature_count;	/* k x m: sums of feature values */
} NBayesCounts;

/* Zeroed statistics for k classes and m positions (hitl_alloc) */
extern void nbayes_counts_init(NBayesCounts *c, int k, int m);
extern void nbayes_counts_free(NBayesCounts *c);

/*
 * Add weight times a row (nnz positions idx with values val) to class cls:
 * weight 1 adds a labeled row, -1 removes it.
 */
extern void nbayes_counts_add(NBayesCounts *c, int cls, int nnz, const int *idx,
							  const double *val, double weight);

/*
 * Are all sums zero or more, rounding residue aside?  (A sum that went
 * negative had a row removed with other values than it was added with.)
 */
extern int	nbayes_counts_nonnegative(const NBayesCounts *c);

/*
 * The non-zero feature sums (those above 1e-12 of the largest finite sum in
 * magnitude: smaller ones are what rounding leaves after a row is added and
 * removed; a sum that overflowed is kept, for nbayes_model_build to refuse),
 * position-major: index[i] = position * k + class
 * (ascending) and count[i].  Returns their number; index and count are
 * allocated with hitl_alloc.
 */
extern int64_t nbayes_counts_nonzeros(const NBayesCounts *c, int64_t **index,
									  double **count);

/* What prediction needs, built from the statistics */
typedef struct NBayesModel
{
	int			k;
	int			m;
	double	   *log_prior;		/* k: ln(rows of c / rows) */
	double	   *log_denom;		/* k: ln(sum of c's feature sums + alpha * D) */
	int64_t    *ptr;			/* m + 1: each position's entries in cls/delta */
	int		   *cls;			/* classes with a non-zero sum at the position */
	double	   *delta;			/* ln(sum + alpha) - ln(alpha) for them */
} NBayesModel;

/*
 * Build the prediction tables from statistics in nbayes_counts_nonzeros'
 * form (index ascending, positions below m).  Returns 0, or -1 when the
 * input is invalid (alpha <= 0, D < m, a class without rows, a negative
 * or non-finite sum, an index out of range or out of order).  A class's
 * sums may add up to more than DBL_MAX.
 */
extern int	nbayes_model_build(NBayesModel *nb, int k, int m, const double *class_count,
							   int64_t nnz, const int64_t *index, const double *count,
							   double alpha, double dimension);
extern void nbayes_model_free(NBayesModel *nb);

/*
 * Class probabilities of a row: nnz positions idx (values val, >= 0) plus
 * the total mass of the row's features, those outside the positions
 * included.  proba has k doubles.  Values up to DBL_MAX give finite
 * probabilities, also when the log-likelihoods or the mass overflow.
 */
extern void nbayes_predict_proba(const NBayesModel *nb, int nnz, const int *idx,
								 const double *val, double mass, double *proba);

#endif
