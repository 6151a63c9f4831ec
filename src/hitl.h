/*
 * hitl.h
 *		Declarations shared by hitl's server-side files.
 */
#ifndef HITL_H
#define HITL_H

#include "postgres.h"

/* The schema of the extension (fixed: the extension is not relocatable) */
#define HITL_SCHEMA "hitl"

/* Settings (hitl.c) */
extern bool hitl_enabled;
extern int	hitl_naptime;		/* seconds */
extern int	hitl_retrain_delay; /* milliseconds */
extern int	hitl_batch_size;
extern int	hitl_work_timeout;	/* milliseconds, 0: none */
extern int	hitl_max_workers;

/* launcher.c: register the launcher and the utility hook (preloading only) */
extern void hitl_launcher_register(void);

/* predict.c: drop every model cached by this backend */
extern void hitl_cache_invalidate(void);

/* predict.c: register the cache invalidation callback (called by _PG_init) */
extern void hitl_cache_init(void);

#endif
