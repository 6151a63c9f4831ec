/*
 * hitl.c
 *		Module entry point: _PG_init and the cache-invalidation trigger.
 *
 *		It only wires the other files up; the settings are in settings.c.
 */
#include "postgres.h"

#include <dlfcn.h>

#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/inval.h"
#include "utils/rel.h"

#include "compat.h"
#include "hitl.h"
#include "settings.h"
#include "shared.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

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
	settings_define();
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
