/*
 * hitl.c
 *		Module entry point: _PG_init, the settings, and the
 *		cache-invalidation trigger.
 */
#include "postgres.h"

#include <dlfcn.h>

#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/rel.h"

#include "compat.h"
#include "hitl.h"
#include "shared.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

bool		hitl_enabled = true;
int			hitl_naptime = 60;
int			hitl_retrain_delay = 200;
int			hitl_batch_size = 10000;
int			hitl_max_workers = 2;
int			hitl_work_timeout = 600000;

/*
 * The settings, all under the hitl. prefix.
 */
static void
define_settings(void)
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
							"Bursts of labels within this delay make one retraining.",
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
	MarkGUCPrefixReserved("hitl");
}

/*
 * Pin OpenBLAS, when it is the BLAS in use, to one thread: a backend is one
 * process serving one query, and parallelism comes from running many of
 * them.  Other BLAS libraries do not have the symbol and are left alone.
 */
static void
pin_blas_threads(void)
{
	void		(*set_threads) (int);

	set_threads = (void (*) (int)) dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
	if (set_threads != NULL)
		set_threads(1);
}

/*
 * Module load.
 */
void
_PG_init(void)
{
	pin_blas_threads();
	define_settings();
	hitl_cache_init();
	if (process_shared_preload_libraries_in_progress)
	{
		hitl_shared_init();
		hitl_launcher_register();
	}
}

PG_FUNCTION_INFO_V1(hitl_invalidate_cache);

/*
 * Statement trigger on hitl.models and hitl.model_versions: any change to
 * them makes every backend drop the models it has cached for predict().
 * The invalidation is sent at commit, like a catalog change.
 */
Datum
hitl_invalidate_cache(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "hitl_invalidate_cache: not called by trigger manager");

	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}
