/*
 * model_cache.c
 *		A per-backend cache of trained models, for hitl.predict() and
 *		hitl.predict_proba() (predict_sql.c).
 *
 * Predicting on rows one call at a time must not read a version's
 * parameters at every call: the cache holds, per model name and role, the
 * model's configuration, its current version and a classifier ready to
 * evaluate rows.  Any change to hitl.models or hitl.model_versions fires a
 * trigger (hitl_invalidate_cache, at the end of this file) that sends a
 * relcache invalidation at commit; this backend's
 * callback then marks the cache stale, and the next lookup reloads.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "model_cache.h"
#include "spi_check.h"

static MemoryContext cache_cxt = NULL;
static HTAB *cache = NULL;
static bool cache_stale = false;

/* hitl.models and hitl.model_versions, looked up when the cache is made */
static Oid	models_relid = InvalidOid;
static Oid	versions_relid = InvalidOid;

static void cache_relcache_callback(Datum arg, Oid relid);
static void cache_create(void);
static void cache_load(CachedModel *entry, const char *name, MemoryContext loadcxt);

/*
 * Relcache callback: an invalidation of hitl.models or hitl.model_versions
 * (sent by their trigger), or a full reset, makes the cache stale.  Only a
 * flag is set here: freeing happens at the next lookup, outside the callback.
 */
static void
cache_relcache_callback(Datum arg, Oid relid)
{
	if (cache != NULL &&
		(relid == InvalidOid || relid == models_relid || relid == versions_relid))
		cache_stale = true;
}

/* Register the invalidation callback (once per backend, from _PG_init) */
void
hitl_cache_init(void)
{
	CacheRegisterRelcacheCallback(cache_relcache_callback, (Datum) 0);
}

/* Drop every cached model */
void
hitl_cache_invalidate(void)
{
	if (cache_cxt != NULL)
		MemoryContextDelete(cache_cxt);
	cache_cxt = NULL;
	cache = NULL;
	cache_stale = false;
}

/* Create the empty cache, in a context of its own under TopMemoryContext */
static void
cache_create(void)
{
	HASHCTL		ctl;
	Oid			nsp = get_namespace_oid(HITL_SCHEMA, false);

	models_relid = get_relname_relid("models", nsp);
	versions_relid = get_relname_relid("model_versions", nsp);
	cache_cxt = AllocSetContextCreate(TopMemoryContext, "hitl model cache",
									  ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(CacheKey);
	ctl.entrysize = sizeof(CachedModel);
	ctl.hcxt = cache_cxt;
	cache = hash_create("hitl model cache", 16, &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * Load the model and its current version into entry's fields (all but its
 * key), in loadcxt.  Runs inside an SPI connection.
 */
static void
cache_load(CachedModel *entry, const char *name, MemoryContext loadcxt)
{
	HitlModel  *model;
	HitlVersion *version;
	FeatureLayout *layout;
	MemoryContext old;

	model = catalog_load_model(name, loadcxt);
	if (model->current_version == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has not been trained yet", name),
				 errhint("Label enough rows and call hitl.train().")));
	version = catalog_load_version(model, model->current_version, loadcxt);
	old = MemoryContextSwitchTo(loadcxt);
	layout = features_resolve(model);
	features_set_dims(layout, version->feature_dims);

	entry->model = model;
	entry->version = version;
	entry->layout = layout;
	entry->rowtype = get_rel_type_id(model->source);
	entry->shard_rowtype = InvalidOid;
	entry->shard_attnums = NULL;
	entry->values = palloc(sizeof(Datum) * Max(layout->ncols, 1));
	entry->nulls = palloc(sizeof(bool) * Max(layout->ncols, 1));
	classifier_init(&entry->classifier, model, layout, version);
	entry->proba = palloc(sizeof(double) * version->n_classes);
	MemoryContextSwitchTo(old);
}

/*
 * The cached model of that name for the current role, loaded when missing.
 * A model is entered in the cache only once completely loaded: a failed
 * load leaves nothing behind.
 */
CachedModel *
model_cache_lookup(const char *name)
{
	CachedModel *entry;
	CachedModel loaded;
	CacheKey	key;
	bool		found;
	MemoryContext loadcxt;

	if (strlen(name) >= HITL_MODEL_NAME_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name)));
	if (cache_stale)
		hitl_cache_invalidate();
	if (cache == NULL)
		cache_create();

	memset(&key, 0, sizeof(key));
	strlcpy(key.name, name, HITL_MODEL_NAME_LEN);
	key.userid = GetUserId();
	entry = hash_search(cache, &key, HASH_FIND, NULL);
	if (entry != NULL)
		return entry;

	/* load it in a context of its own, entered only once complete */
	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "connecting to SPI");
	loadcxt = AllocSetContextCreate(cache_cxt, "hitl cached model",
									ALLOCSET_SMALL_SIZES);
	PG_TRY();
	{
		cache_load(&loaded, name, loadcxt);
	}
	PG_CATCH();
	{
		MemoryContextDelete(loadcxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	SPI_finish();

	entry = hash_search(cache, &key, HASH_ENTER, &found);
	loaded.key = entry->key;
	*entry = loaded;
	return entry;
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
