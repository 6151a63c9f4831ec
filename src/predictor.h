/*
 * predictor.h
 *		Class probabilities of a row under a trained version, whatever the
 *		model: dense logistic regression, logistic regression on sparse
 *		(text) features, or naive Bayes.  Scoring and hitl.predict() both go
 *		through here.
 */
#ifndef HITL_PREDICTOR_H
#define HITL_PREDICTOR_H

#include "postgres.h"

#include "catalog.h"
#include "dataset.h"
#include "nbayes.h"
#include "sparserow.h"

typedef struct Predictor
{
	const HitlModel *model;
	const HitlVersion *version;
	const FeatureLayout *layout;
	bool		sparse;
	SparseRow	row;			/* sparse models */
	NBayesModel nb;				/* naive Bayes */
	double	   *x;				/* dense models: one row */
	bool	   *missing;
} Predictor;

/*
 * Prepare to predict with a version (allocates in the current memory
 * context; raises an error when the version's data is inconsistent).
 */
extern void predictor_init(Predictor *p, const HitlModel *model,
						   const FeatureLayout *layout, const HitlVersion *version);

/*
 * Probabilities of the row whose feature column values are values/isnull
 * into proba (n_classes doubles).  Returns FEATURE_OK, or what is wrong
 * with the row and in which column.  Allocates only what converting the
 * values needs (detoasting, text parsing): callers reset a per-row context.
 */
extern FeatureStatus predictor_proba(Predictor *p, const Datum *values,
									 const bool *isnull, double *proba, int *bad_col);

/* The model's feature space for naive Bayes' smoothing */
extern double predictor_nb_dimension(const HitlModel *model, const FeatureLayout *layout);

#endif
