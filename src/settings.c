/*
 * settings.c
 *		hitl's settings (GUCs), all under the hitl. prefix.
 *
 * The variables live here, apart from _PG_init, so that the files reading
 * them (the launcher, the workers, scoring) depend on this file alone and
 * nothing depends back on them.
 */
#include "postgres.h"

#include <limits.h>

#include "postmaster/bgworker_internals.h"
#include "utils/guc.h"

#include "compat.h"
#include "settings.h"
#include "shared.h"

bool		hitl_enabled = true;
int			hitl_citus_poll_interval = 1000;
int			hitl_naptime = 60;
int			hitl_retrain_delay = 200;
int			hitl_batch_size = 10000;
int			hitl_max_workers = 2;
int			hitl_work_timeout = 600000;
int			hitl_max_parallel_scoring = 2;
bool		hitl_train_by_aggregates = true;

/*
 * Define the settings, all under the hitl. prefix (called by _PG_init).
 */
void
settings_define(void)
{
	DefineCustomBoolVariable("hitl.enabled",
							 "Whether the background workers retrain and rescore models.",
							 "Off, labels are still logged; hitl.train() and hitl.score() still work.",
							 &hitl_enabled, true, PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("hitl.naptime",
							"Time an idle worker waits for work before it exits.",
							"Workers are started and woken when labels change; a worker with nothing to do for this long exits.",
							&hitl_naptime, 60, 1, 86400, PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("hitl.max_workers",
							"Most database workers running at once.",
							"A database gets a worker when it has work; waiting databases get one in turn.",
							&hitl_max_workers, 2, 1, HITL_MAX_DATABASES, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("hitl.retrain_delay",
							"Time a woken worker waits for more label changes before retraining.",
							"A worker woken within this delay of its last round waits for the burst of labels to end, so a burst makes one retraining; woken after a quiet spell, it starts at once.",
							&hitl_retrain_delay, 200, 0, 60000, PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("hitl.work_timeout",
							"Longest a worker works on one model before it gives up on it.",
							"Past it the model's work is canceled (again every second) and counts as a failure, retried with a back-off; 0 sets no limit.",
							&hitl_work_timeout, 600000, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("hitl.batch_size",
							"Rows per UPDATE when scores are written.",
							"A model's batch_size option, when set, takes precedence.",
							&hitl_batch_size, 10000, 100, 1000000, PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("hitl.max_parallel_scoring",
							"Most parallel workers one scoring starts beside its own process.",
							"A table of at least min_parallel_table_scan_size is scanned and scored by block ranges in parallel; the workers come from max_parallel_workers. 0 scores in one process.",
							&hitl_max_parallel_scoring, 2, 0, MAX_PARALLEL_WORKER_LIMIT, PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("hitl.train_by_aggregates",
							 "Trains naive Bayes models without text columns by aggregates, in parallel.",
							 "A training from scratch that does not cross-validate at once sums the labeled rows by parallel aggregates instead of reading them into one process. Off reads them as before.",
							 &hitl_train_by_aggregates, true, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("hitl.citus_poll_interval",
							"Time between two looks of a worker for labels on Citus worker nodes.",
							"While its database has a model on a distributed table, its worker stays and takes that model's label changes from the worker nodes, where the label triggers log them, at this interval.",
							&hitl_citus_poll_interval, 1000, 100, 3600000, PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("hitl");
}
