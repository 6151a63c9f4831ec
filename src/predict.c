/*
 * predict.c
 *		hitl.predict() and hitl.predict_proba() on whole rows, with a
 *		per-backend cache of trained models.
 *
 * The cache holds, per model name, the model's configuration and current
 * version.  Any change to hitl.models or hitl.model_versions fires a trigger
 * that sends a relcache invalidation at commit; this backend's callback then
 * marks the cache stale, and the next call reloads.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "catalog.h"
#include "compat.h"
#include "dataset.h"
#include "hitl.h"
#include "metrics.h"
#include "predictor.h"

#define MODEL_NAME_LEN 64

/*
 * Models are cached per role: what a role may read of hitl's tables is
 * decided by row-level security, so one role's cached model must never
 * answer another's call.
 */
typedef struct CacheKey
{
	char		name[MODEL_NAME_LEN];
	Oid			userid;
} CacheKey;

typedef struct CachedModel
{
	CacheKey	key;			/* hash key */
	HitlModel  *model;
	HitlVersion *version;
	FeatureLayout *layout;
	Oid			rowtype;		/* the source table's row type */

	Predictor	predictor;

	/* scratch space for one row, so that a call allocates nothing */
	Datum	   *values;
	bool	   *nulls;
	double	   *proba;
} CachedModel;

static MemoryContext cache_cxt = NULL;
static HTAB *cache = NULL;
static bool cache_stale = false;

/* hitl.models and hitl.model_versions, looked up when the cache is made */
static Oid	models_relid = InvalidOid;
static Oid	versions_relid = InvalidOid;

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

void
hitl_cache_init(void)
{
	CacheRegisterRelcacheCallback(cache_relcache_callback, (Datum) 0);
}

void
hitl_cache_invalidate(void)
{
	if (cache_cxt != NULL)
		MemoryContextDelete(cache_cxt);
	cache_cxt = NULL;
	cache = NULL;
	cache_stale = false;
}

/*
 * The cached model of that name, loaded when missing.
 */
static CachedModel *
cache_lookup(const char *name)
{
	CachedModel *entry;
	CacheKey	key;
	bool		found;
	MemoryContext old;

	if (strlen(name) >= MODEL_NAME_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name)));
	if (cache_stale)
		hitl_cache_invalidate();
	if (cache == NULL)
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

	memset(&key, 0, sizeof(key));
	strlcpy(key.name, name, MODEL_NAME_LEN);
	key.userid = GetUserId();
	entry = hash_search(cache, &key, HASH_FIND, NULL);
	if (entry != NULL)
		return entry;

	/* load it in a context of its own, entered only once complete */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "hitl: SPI_connect failed");
	{
		MemoryContext loadcxt = AllocSetContextCreate(cache_cxt, "hitl cached model",
													  ALLOCSET_SMALL_SIZES);
		HitlModel  *model;
		HitlVersion *version;
		FeatureLayout *layout;

		PG_TRY();
		{
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
			MemoryContextSwitchTo(old);
		}
		PG_CATCH();
		{
			MemoryContextDelete(loadcxt);
			PG_RE_THROW();
		}
		PG_END_TRY();
		SPI_finish();

		entry = hash_search(cache, &key, HASH_ENTER, &found);
		entry->model = model;
		entry->version = version;
		entry->layout = layout;
		entry->rowtype = get_rel_type_id(model->source);
		entry->values = MemoryContextAlloc(loadcxt, sizeof(Datum) * Max(layout->ncols, 1));
		entry->nulls = MemoryContextAlloc(loadcxt, sizeof(bool) * Max(layout->ncols, 1));
		old = MemoryContextSwitchTo(loadcxt);
		predictor_init(&entry->predictor, model, layout, version);
		MemoryContextSwitchTo(old);
		entry->proba = MemoryContextAlloc(loadcxt, sizeof(double) * version->n_classes);
	}
	return entry;
}

/*
 * Class probabilities of a row under a cached model, into cm->proba.
 */
static void
row_proba(CachedModel *cm, HeapTupleHeader row)
{
	FeatureLayout *l = cm->layout;
	Oid			rowtype = HeapTupleHeaderGetTypeId(row);
	TupleDesc	desc;
	HeapTupleData tuple;
	FeatureStatus st;
	int			bad_col;
	int			i;

	if (rowtype != cm->rowtype)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("row is of type %s, not of the type of table %s",
						format_type_be(rowtype), cm->model->source_text),
				 errhint("Pass a whole row of the model's table, as in SELECT hitl.predict('%s', t) FROM %s t.",
						 cm->model->name, cm->model->source_text)));

	desc = lookup_rowtype_tupdesc(rowtype, HeapTupleHeaderGetTypMod(row));
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	for (i = 0; i < l->ncols; i++)
		cm->values[i] = heap_getattr(&tuple, l->attnums[i], desc, &cm->nulls[i]);
	ReleaseTupleDesc(desc);

	st = predictor_proba(&cm->predictor, cm->values, cm->nulls, cm->proba, &bad_col);
	if (st != FEATURE_OK)
		features_report(cm->model, l, st, bad_col, "passed to hitl.predict");
}

PG_FUNCTION_INFO_V1(hitl_predict);

/*
 * hitl.predict(model text, row record) returns text
 */
Datum
hitl_predict(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(1);
	CachedModel *cm = cache_lookup(name);
	int			k;

	row_proba(cm, row);
	k = proba_argmax(cm->version->n_classes, cm->proba, NULL);
	PG_RETURN_TEXT_P(cstring_to_text(cm->version->classes[k]));
}

PG_FUNCTION_INFO_V1(hitl_predict_proba);

/*
 * hitl.predict_proba(model text, row record) returns jsonb
 */
Datum
hitl_predict_proba(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(1);
	CachedModel *cm = cache_lookup(name);
	int			k = cm->version->n_classes;
	StringInfoData buf;
	int			i;

	row_proba(cm, row);
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (i = 0; i < k; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, cm->version->classes[i]);
		appendStringInfo(&buf, ": %.17g", cm->proba[i]);
	}
	appendStringInfoChar(&buf, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
