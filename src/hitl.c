/*
 * hitl.c
 *		Module entry point: _PG_init.
 *
 *		It only wires the other files up; the settings are in settings.c.
 */
#include "postgres.h"

#include <dlfcn.h>

#include "fmgr.h"
#include "miscadmin.h"

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
