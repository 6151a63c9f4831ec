/*
 * score_dist.h
 *		Scoring a model on a Citus distributed table (score_dist.c).
 */
#ifndef HITL_SCORE_DIST_H
#define HITL_SCORE_DIST_H

#include "catalog.h"

/*
 * Score the model's distributed table with its current version where its
 * rows are, and fill its queue; returns the rows written.  Inside an SPI
 * connection.
 */
extern int64 score_distributed(const HitlModel *model);

#endif
