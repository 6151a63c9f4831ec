/*
 * score.h
 *		Scoring every row of a model's table and ranking its review queue.
 */
#ifndef HITL_SCORE_H
#define HITL_SCORE_H

#include "postgres.h"

/*
 * Score the named model's table with its current version; returns the
 * number of rows written.  Runs inside an SPI connection opened by the
 * caller; with commit_batches, that connection must be non-atomic, and the
 * transaction is committed after the queue is stored and after each batch.
 */
extern int64 score_model(const char *name, bool commit_batches);

#endif
