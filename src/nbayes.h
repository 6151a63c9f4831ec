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

#include "sparse.h"

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
 * weight 1 adds a labeled row, -1 removes it.  Any weight w >= 0 is a
 * training weight (scikit-learn's sample_weight): the class's rows and
 * sums grow by w and w times the values, as w copies of the row would make
 * them (up to the rounding of the sums); 0 leaves them as they are.
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
 * nbayes_model_build from statistics being accumulated (their
 * nbayes_counts_nonzeros).  Returns 0, or -1 as nbayes_model_build.
 */
extern int	nbayes_model_from_counts(NBayesModel *nb, const NBayesCounts *c, double alpha,
									 double dimension);

/*
 * Class probabilities of a row: nnz positions idx (values val, >= 0) plus
 * the total mass of the row's features, those outside the positions
 * included.  proba has k doubles.  Values up to DBL_MAX give finite
 * probabilities, also when the log-likelihoods or the mass overflow.
 */
extern void nbayes_predict_proba(const NBayesModel *nb, int nnz, const int *idx,
								 const double *val, double mass, double *proba);

/*
 * nbayes_predict_proba of row i of X, whose mass is the sum of its values
 * (every feature of the row has a position).
 */
extern void nbayes_predict_row(const NBayesModel *nb, const SparseMatrix *X, int i,
							   double *proba);

/*
 * Following label changes (nbayes_update.c).  A version stores its
 * non-zero sums (nbayes_counts_nonzeros' form); an update loads them into
 * dense statistics over the positions of its new vocabulary, moves each
 * changed row from its old class to its new one, and checks that the
 * result is what counting the labeled rows afresh would give.
 */

/*
 * Statistics c (initialised for k classes and its m positions) from stored
 * ones: class_count (k rows per class) and n sums at index (old position *
 * k + class) with values count; old position p goes to map[p] (map NULL:
 * positions unchanged).
 */
extern void nbayes_counts_load(NBayesCounts *c, const double *class_count, int64_t n,
							   const int64_t *index, const double *count, const int *map);

/* A label change of a row: its values at positions, its classes (-1: none) */
typedef struct NBayesChange
{
	int			old_class;		/* -1: the row was unlabeled */
	int			new_class;		/* -1: its label was cleared */
	int			nnz;
	const int  *idx;			/* positions */
	const double *val;
} NBayesChange;

/* Apply a change: the row out of its old class, into its new one */
extern void nbayes_counts_change(NBayesCounts *c, const NBayesChange *ch);

/* What nbayes_counts_check finds */
typedef enum NBayesCheck
{
	NBAYES_CHECK_OK,
	NBAYES_CHECK_CLASS_EMPTIED, /* a class has no row left */
	NBAYES_CHECK_ROWS_DIFFER,	/* a class has another number of rows */
	NBAYES_CHECK_NEGATIVE_SUM	/* a sum went below zero */
} NBayesCheck;

/*
 * Are updated statistics what a full count gives: every class with rows,
 * as many rows per class as class_rows (k numbers: the table's labels), and
 * no sum below zero (rounding residue aside)?  The first of these that
 * fails, in that order.
 */
extern NBayesCheck nbayes_counts_check(const NBayesCounts *c, const int64_t *class_rows);

#endif
