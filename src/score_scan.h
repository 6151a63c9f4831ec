/*
 * score_scan.h
 *		The scan of a scoring: every row read and scored in memory
 *		(score_scan.c), by one process, or by several in parallel
 *		(score_parallel.c) that each scan block ranges of the table.
 */
#ifndef HITL_SCORE_SCAN_H
#define HITL_SCORE_SCAN_H

#include "postgres.h"

#include "executor/spi.h"

#include "queue.h"
#include "score.h"

/* The state of one process's scan */
typedef struct ScoreScan
{
	ScoreState *s;
	double	   *proba;			/* n_classes */
	RowList    *changed;		/* rows whose scores moved */
	CandidateHeap heap;			/* review candidates */
	uint64		met;			/* rows met */
	uint64		met_elsewhere;	/* rows other processes met (progress) */
	bool		report;			/* report progress (this backend's work) */

	/* called every SCAN_POLL_ROWS rows when set (parallel scans) */
	void		(*poll) (struct ScoreScan *scan, void *arg);
	void	   *poll_arg;

	/*
	 * The density strategy: the sum of the unlabeled rows' unit feature
	 * vectors (pool_dim values, NULL for other strategies), made by a first
	 * scan that only sums (pool_pass), and how many rows it summed
	 */
	double	   *pool_sum;
	int			pool_dim;
	double		pool_n;
	bool		pool_pass;

	/* the committee strategy's members (score_committee.c), or NULL */
	struct Committee *committee;

	/* a row whose features cannot be read stops the scan: which, and why */
	FeatureStatus bad_status;
	int			bad_col;
	ItemPointerData bad_tid;
} ScoreScan;

/* Rows between two calls of a scan's poll */
#define SCAN_POLL_ROWS 1024

/*
 * Load the model's current version (s->model set) and get ready to score
 * with it, in s->cxt (current on return): the classifier, the key columns,
 * the label's type and the classes as its values.
 */
extern void score_load(ScoreState *s);

/* The planner's estimate of a table's rows, to size arrays once */
extern int64 score_estimate_rows(Oid relid);

/*
 * Set up a scan of s's table, the rows that change going to changed (an
 * empty list, its memory context chosen, its capacity too or 0 for the
 * table's estimated rows), the candidates to scan->heap
 */
extern void score_scan_init(ScoreState *s, ScoreScan *scan, RowList *changed);

/*
 * The scan's SQL: ctid, label IS NULL, the three output columns, the key
 * columns, the feature columns (and the term cache's).  With tid_range,
 * only the rows of blocks $1 <= ctid < $2 (two tid parameters).
 */
extern char *score_scan_sql(const ScoreState *s, bool tid_range);

/*
 * Run the scan's plan with params (NULL: none), each row going to the
 * scan as the executor makes it; a row whose features cannot be read
 * raises its error after the query.
 */
extern void score_scan_run(ScoreScan *scan, SPIPlanPtr plan, Datum *params);

/*
 * The density strategy's first scan with plan (the whole table): the sum
 * of the unlabeled rows' unit feature vectors, which the scan that follows
 * uses for each row's density.  Not in parallel scans.
 */
extern void score_scan_pool(ScoreScan *scan, SPIPlanPtr plan);

/*
 * The committee strategy (score_committee.c): fit the members on bootstrap
 * resamples of the labeled rows, before the scan (not in parallel scans);
 * and their disagreement on the row the scan's classifier just converted,
 * by the model's committee_measure (vote entropy or KL).
 */
extern void score_committee_fit(ScoreScan *scan);
extern double score_committee_uncertainty(const ScoreScan *scan);

/* Prepare the scan's SQL, planned without parallel workers */
extern SPIPlanPtr score_scan_prepare(const char *sql, bool tid_range);

/*
 * A row's place in the table's order, which breaks ties among review
 * candidates: the same whichever process meets it, and when.
 */
static inline uint64
score_row_seq(const ItemPointerData *tid)
{
	return ((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 16) |
		ItemPointerGetOffsetNumberNoCheck(tid);
}

#endif
