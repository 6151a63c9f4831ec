/*
 * hitl.h
 *		Declarations shared by hitl's server-side files.
 */
#ifndef HITL_H
#define HITL_H

#include "postgres.h"

/* The schema of the extension (fixed: the extension is not relocatable) */
#define HITL_SCHEMA "hitl"

/*
 * Longest model name, with its terminating zero: names are at most 50 bytes
 * (a CHECK of hitl.models), and buffers are sized for any of them.
 */
#define HITL_MODEL_NAME_LEN 64

/*
 * launcher.c: register the launcher, and install the utility hook of
 * give_way.c (preloading only)
 */
extern void hitl_launcher_register(void);

/* model_cache.c: drop every model cached by this backend */
extern void hitl_cache_invalidate(void);

/* model_cache.c: register the cache invalidation callback (called by _PG_init) */
extern void hitl_cache_init(void);

#endif
