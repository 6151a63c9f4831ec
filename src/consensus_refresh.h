/*
 * consensus_refresh.h
 *		Refitting a model's consensus model (Dawid-Skene) to all its answers
 *		and writing the labels the new fit changed (consensus_refresh.c).
 */
#ifndef HITL_CONSENSUS_REFRESH_H
#define HITL_CONSENSUS_REFRESH_H

#include "postgres.h"

#include "fmgr.h"

/* hitl.refresh_consensus(model text) RETURNS bigint */
extern Datum hitl_refresh_consensus(PG_FUNCTION_ARGS);

/*
 * For the worker (SPI connected): refresh the consensus of a model with
 * several annotators per row when answers came since its last fit.
 * Returns the rows written, -1 when there was nothing to do.
 */
extern int64 consensus_refresh_if_moved(const char *name);

#endif							/* HITL_CONSENSUS_REFRESH_H */
