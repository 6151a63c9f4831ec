/*
 * predictor.h
 *		Transitional: the former name of classifier.h, kept only for the
 *		training files that still include it.  New code includes
 *		classifier.h; this header goes once no file includes it.
 */
#ifndef HITL_PREDICTOR_H
#define HITL_PREDICTOR_H

#include "classifier.h"

/* The former name of classifier_nb_dimension() */
static inline double
predictor_nb_dimension(const HitlModel *model, const FeatureLayout *layout)
{
	return classifier_nb_dimension(model, layout);
}

#endif
