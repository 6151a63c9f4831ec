/*
 * score_parallel.h
 *		The scan of a scoring, by several processes in parallel
 *		(score_parallel.c).
 */
#ifndef HITL_SCORE_PARALLEL_H
#define HITL_SCORE_PARALLEL_H

#include "postgres.h"

#include "storage/dsm.h"
#include "storage/shm_toc.h"

#include "score_scan.h"

/*
 * Scan and score the table of scan->s in parallel when it is large enough
 * and hitl.max_parallel_scoring allows; the rows that changed and the
 * candidates end in scan as a scan by this backend alone would leave them.
 * Returns false, having done nothing, when the scan is not for parallel
 * workers (the caller scans alone).
 */
extern bool score_scan_parallel(ScoreScan *scan);

/* The entry point of a parallel scoring's workers */
extern PGDLLEXPORT void hitl_score_parallel_main(dsm_segment *seg, shm_toc *toc);

#endif
