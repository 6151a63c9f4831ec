/*
 * classifier.h
 *		A loaded version in memory, evaluated on one row at a time: the class
 *		probabilities of a row, whatever the model (dense logistic regression,
 *		logistic regression on sparse text features, or naive Bayes).
 *
 * Scoring (score.c) and hitl.predict() (predict_sql.c) both evaluate rows
 * through here; neither reads the model's parameters itself.
 */
#ifndef HITL_CLASSIFIER_H
#define HITL_CLASSIFIER_H

#include "postgres.h"

#include "catalog.h"
#include "dataset.h"
#include "nbayes.h"
#include "sparserow.h"

typedef struct Classifier
{
	const HitlModel *model;
	const HitlVersion *version;
	const FeatureLayout *layout;
	bool		sparse;
	SparseRow	row;			/* sparse models */
	NBayesModel nb;				/* naive Bayes */
	double	   *nb_dense;		/* its deltas as a positions x classes table,
								 * when small enough; else NULL */
	double	   *x;				/* dense models: one row */
	bool	   *missing;
} Classifier;

/*
 * Prepare to evaluate rows with a version (allocates in the current memory
 * context; raises an error when the version's data is inconsistent).
 */
extern void classifier_init(Classifier *c, const HitlModel *model,
							const FeatureLayout *layout, const HitlVersion *version);

/*
 * Probabilities of the row whose feature column values are values/isnull
 * into proba (n_classes doubles).  Returns FEATURE_OK, or what is wrong
 * with the row and in which column.  Allocates only what converting the
 * values needs (detoasting, text parsing): callers reset a per-row context.
 */
extern FeatureStatus classifier_proba(Classifier *c, const Datum *values,
									  const bool *isnull, double *proba, int *bad_col);

/* The model's feature space for naive Bayes' smoothing */
extern double classifier_nb_dimension(const HitlModel *model, const FeatureLayout *layout);

#endif
