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
	uint64		draw;			/* its place in the random order of rows */
	bool		evaluation;		/* drawn at random, not for its uncertainty */
} Candidate;

/*
 * The best candidates met so far: a min-heap of at most cap entries whose
 * root is the weakest (lowest uncertainty; on ties, the one met last); and
 * the evaluation sample, the at most sample_cap rows of the lowest draws.
 * Once ranked (candidates_rank), items holds the whole queue in rank order.
 */
typedef struct CandidateHeap
{
	Candidate  *items;
	int			n;
	int			cap;
	Candidate  *sample;
	int			nsample;
	int			sample_cap;
	int			sample_max;		/* the sample's highest draw, when full */
	uint64		seed;
	int			queue_size;
	double		rate;			/* evaluation_rate */
	uint64		offered;		/* unlabeled rows met */
} CandidateHeap;

/*
 * An empty heap for the queue of a scoring (current context): E =
 * round(queue_size x evaluation_rate) evaluation rows drawn at random, and
 * the queue_size - E most uncertain.  With fewer unlabeled rows than
 * queue_size, E is that share of them.
 */
extern void candidates_init(CandidateHeap *heap, const ScoreState *s);

/*
 * Offer an unlabeled row met by the scan: when the heap takes it, its key
 * (keyvals/keynulls, the row's key columns) is saved with it, and the key of
 * the candidate it pushes out is freed.
 */
extern void candidates_offer(const ScoreState *s, CandidateHeap *heap,
							 const ScoredRow *row, uint64 seq,
							 const Datum *keyvals, const bool *keynulls);

/* qsort and bsearch of row places (Candidate.seq): uint64 in order */
extern int	candidates_seq_cmp(const void *a, const void *b);

/*
 * Rank the queue: the heap's candidates strongest first (for the diverse
 * strategy, in diverse order: candidates_diversify), the evaluation rows
 * spread evenly among them (a row in both is an evaluation row)
 */
extern void candidates_rank(ScoreState *s, CandidateHeap *heap);

/*
 * The diverse strategy: put the first candidates, ranked, in an order where
 * near-copies do not come together (queue_diverse.c).  Reads their features
 * by ctid: before any write.
 */
extern void candidates_diversify(ScoreState *s, CandidateHeap *heap);

/*
 * Replace the model's queue with the ranked candidates.  Runs before any
 * score is written; sets s->restart (leaving the queue empty) when the
 * scan's ctids turn out stale.
 */
extern void queue_store(ScoreState *s, const CandidateHeap *heap);

/* Set in_queue on the rows of changed that are among the candidates */
extern void queue_mark_members(const CandidateHeap *heap, RowList *changed);

#endif
