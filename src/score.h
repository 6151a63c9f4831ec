/*
 * score.h
 *		Scoring every row of a model's table and ranking its review queue.
 */
#ifndef HITL_SCORE_H
#define HITL_SCORE_H

#include "postgres.h"

/* Ends the transaction after a unit of work and begins the next */
typedef void (*ScoreCommitFn) (void *arg);

/*
 * Score the named model's table with its current version; returns the
 * number of rows written.  Runs inside an SPI connection opened by the
 * caller.  Its working memory is a child of parent.  With a commit
 * function, the transaction is committed after the queue is stored and
 * after each batch (parent must then outlive the transactions); without,
 * all is one transaction.
 */
extern int64 score_model(const char *name, MemoryContext parent,
						 ScoreCommitFn commit, void *commit_arg);

#endif
