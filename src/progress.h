/*
 * progress.h
 *		Progress of long work (a training or a scoring), published by each
 *		backend in a slot of shared memory of its own and read by the view
 *		hitl.progress from any session.
 *
 * Without hitl in shared_preload_libraries there are no slots: every
 * function here is then a no-op and the view is empty.
 */
#ifndef HITL_PROGRESS_H
#define HITL_PROGRESS_H

#include "postgres.h"

/* What the work is doing (the names are in progress.c) */
typedef enum HitlPhase
{
	HITL_PHASE_READING,			/* reading the labeled rows */
	HITL_PHASE_TRAINING,		/* fitting the model */
	HITL_PHASE_CROSSVAL,		/* cross-validating it */
	HITL_PHASE_SCORING,			/* scoring the table's rows */
	HITL_PHASE_WRITING			/* writing the scores that moved */
} HitlPhase;

/* Shared memory the slots need, and setting it up (from shared.c's hooks) */
extern Size hitl_progress_shmem_size(void);
extern void hitl_progress_shmem_startup(void);

/*
 * Start reporting work on a model (nested calls, such as a training inside
 * a scoring, share the outer report); phase reading, total the planner's
 * estimate of the rows of table relid.  The report is shown to the roles
 * that see the model: members of owner, readers of relid.  Every hitl_progress_begin is paired
 * with a hitl_progress_end; an error clears the report by itself.
 */
extern void hitl_progress_begin(const char *model, Oid relid, Oid owner);
extern void hitl_progress_end(void);

/* Enter a phase: done 0 of total */
extern void hitl_progress_phase(HitlPhase phase, int64 total);

/* The rows (or iterations, or folds) done in the current phase */
extern void hitl_progress_done(int64 done);

/* The phase's total, when it becomes known */
extern void hitl_progress_total(int64 total);

#endif
