/*
 * queue.h
 *		The review queue of a scoring: the most uncertain unlabeled rows,
 *		ranked, stored in hitl.queue (queue.c).
 */
#ifndef HITL_QUEUE_H
#define HITL_QUEUE_H

#include "postgres.h"

#include "score.h"

/* A review candidate: an unlabeled row and where the scan met it */
typedef struct Candidate
{
	ScoredRow	row;
	uint64		seq;
} Candidate;

/*
 * The best candidates met so far: a min-heap of at most cap entries whose
 * root is the weakest (lowest uncertainty; on ties, the one met last).
 */
typedef struct CandidateHeap
{
	Candidate  *items;
	int			n;
	int			cap;
} CandidateHeap;

/* An empty heap for the model's queue_size candidates (current context) */
extern void candidates_init(CandidateHeap *heap, int cap);

/*
 * Offer an unlabeled row met by the scan: when the heap takes it, its key
 * (keyvals/keynulls, the row's key columns) is saved with it, and the key of
 * the candidate it pushes out is freed.
 */
extern void candidates_offer(const ScoreState *s, CandidateHeap *heap,
							 const ScoredRow *row, uint64 seq,
							 const Datum *keyvals, const bool *keynulls);

/* Sort the heap's candidates strongest first: their ranks in the queue */
extern void candidates_rank(CandidateHeap *heap);

/*
 * Replace the model's queue with the ranked candidates.  Runs before any
 * score is written; sets s->restart (leaving the queue empty) when the
 * scan's ctids turn out stale.
 */
extern void queue_store(ScoreState *s, const CandidateHeap *heap);

/* Set in_queue on the rows of changed that are among the candidates */
extern void queue_mark_members(const CandidateHeap *heap, RowList *changed);

#endif
