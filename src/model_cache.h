/*
 * model_cache.h
 *		This backend's cache of loaded models, for hitl.predict() and
 *		hitl.predict_proba() (predict_sql.c).
 *
 * hitl.h declares the two entry points _PG_init needs (hitl_cache_init,
 * hitl_cache_invalidate); this header the cache's entries.
 */
#ifndef HITL_MODEL_CACHE_H
#define HITL_MODEL_CACHE_H

#include "postgres.h"

#include "access/htup.h"

#include "catalog.h"
#include "classifier.h"
#include "dataset.h"
#include "hitl.h"

/*
 * Models are cached per role: what a role may read of hitl's tables is
 * decided by row-level security, so one role's cached model must never
 * answer another's call.
 */
typedef struct CacheKey
{
	char		name[HITL_MODEL_NAME_LEN];
	Oid			userid;
} CacheKey;

/* A model and its current version, ready to evaluate rows */
typedef struct CachedModel
{
	CacheKey	key;			/* hash key */
	HitlModel  *model;
	HitlVersion *version;
	FeatureLayout *layout;
	Oid			rowtype;		/* the source table's row type */
	/* a Citus shard's row type met last, and its feature columns' numbers */
	Oid			shard_rowtype;
	AttrNumber *shard_attnums;

	Classifier	classifier;

	/* scratch space for one row, so that a call allocates nothing */
	Datum	   *values;
	bool	   *nulls;
	double	   *proba;
} CachedModel;

/*
 * The model of that name as the current role sees it, loaded (with its
 * current version) when it is not cached or the cache is stale.  Raises an
 * error when there is no such model or it has no version yet.
 */
extern CachedModel *model_cache_lookup(const char *name);

/*
 * Evaluate a whole row of the model's table (predict_sql.c): its class
 * probabilities into cm->proba, its features left in cm->classifier (dense
 * models: the standardized row in x; sparse models: the converted row).
 * Raises an error naming caller (the SQL function) when the row is of
 * another type or its features cannot be converted.
 */
extern void predict_row_proba(CachedModel *cm, HeapTupleHeader row, const char *caller);

#endif
