/*
 * label_info.c
 *		What the label triggers know of a model on a table, cached per
 *		backend: its key, label, prediction and confidence columns, how its
 *		labels become text, and how a row's key becomes jsonb.
 *
 * A label trigger fires for every statement on a model's table, and its
 * row trigger for every label update: reading hitl.models and the table's
 * columns each time would cost more than the log itself.  So they are read
 * once per model and table, and again after hitl.models (whose trigger
 * sends an invalidation), the table or everything changed: the relcache
 * callback here only flags the cache as stale, and the next lookup builds
 * it anew.  A model that is missing, broken or whose columns no longer fit
 * is cached as unusable: its triggers log nothing; but on a shard of a Citus
 * table, where the model is missing because it is on the coordinator, the
 * change is refused.
 *
 * Labels are logged as text, as hitl.train() casts them, and row keys as
 * jsonb_build_object makes them for hitl.queue: both are called here as
 * the SQL expressions would call them.
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "parser/parse_coerce.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "catalog.h"
#include "label_internal.h"

static MemoryContext info_cxt = NULL;
static HTAB *info_cache = NULL;
static bool info_stale = false;

static void info_relcache_callback(Datum arg, Oid relid);
static void info_cache_reset(void);
static void info_cache_create(void);
static bool resolve_column(Relation rel, const char *name, LabelColumn *col);
static bool text_cast_init(TextCast *cast, Oid typid);
static void info_load(LabelInfo *info, Relation rel);

/*
 * Relcache callback: hitl.models changed (its trigger sends an
 * invalidation), a cached model's table changed, or everything was reset.
 * Only flags are set here; the cache is rebuilt at the next lookup.
 */
static void
info_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	LabelInfo  *info;

	if (relid == InvalidOid || catalog_is_models_table(relid))
	{
		info_stale = true;
		return;
	}
	if (info_cache == NULL || info_stale)
		return;
	hash_seq_init(&status, info_cache);
	while ((info = hash_seq_search(&status)) != NULL)
	{
		if (info->key.relid == relid)
		{
			info_stale = true;
			hash_seq_term(&status);
			break;
		}
	}
}

/*
 * Drop the cache and all it holds: the context stays, emptied, for the
 * next one.
 */
static void
info_cache_reset(void)
{
	if (info_cxt != NULL)
		MemoryContextReset(info_cxt);
	info_cache = NULL;
	info_stale = false;
}

/*
 * Make the (empty) cache; the first time, make its context and register
 * its invalidation.
 */
static void
info_cache_create(void)
{
	HASHCTL		ctl;

	if (info_cxt == NULL)
	{
		info_cxt = AllocSetContextCreate(TopMemoryContext, "hitl label triggers",
										 ALLOCSET_SMALL_SIZES);
		CacheRegisterRelcacheCallback(info_relcache_callback, (Datum) 0);
	}
	ctl.keysize = sizeof(LabelInfoKey);
	ctl.entrysize = sizeof(LabelInfo);
	ctl.hcxt = info_cxt;
	info_cache = hash_create("hitl label triggers", 16, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* A column of the table by name; false when it has none of that name */
static bool
resolve_column(Relation rel, const char *name, LabelColumn *col)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	if (name == NULL)
		return false;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
		{
			col->attnum = att->attnum;
			col->typid = att->atttypid;
			col->typlen = att->attlen;
			col->typbyval = att->attbyval;
			return true;
		}
	}
	return false;
}

/*
 * How values of a type become text, as their cast to text does it; false
 * when the type has no cast to text.
 */
static bool
text_cast_init(TextCast *cast, Oid typid)
{
	Oid			funcid = InvalidOid;

	switch (find_coercion_pathway(TEXTOID, typid, COERCION_EXPLICIT, &funcid))
	{
		case COERCION_PATH_RELABELTYPE:
			cast->how = TEXT_AS_IS;
			return true;
		case COERCION_PATH_FUNC:
			cast->how = TEXT_CAST_FUNCTION;
			cast->nargs = get_func_nargs(funcid);
			fmgr_info_cxt(funcid, &cast->fn, info_cxt);
			return true;
		case COERCION_PATH_COERCEVIAIO:
			{
				bool		varlena;

				cast->how = TEXT_OUTPUT_FUNCTION;
				getTypeOutputInfo(typid, &funcid, &varlena);
				fmgr_info_cxt(funcid, &cast->fn, info_cxt);
				return true;
			}
		default:
			break;
	}
	if (typid == TEXTOID)
	{
		cast->how = TEXT_AS_IS;
		return true;
	}
	return false;
}

/* A value as text, made by the cast text_cast_init() found */
Datum
label_text(TextCast *cast, Datum value)
{
	switch (cast->how)
	{
		case TEXT_AS_IS:
			return PointerGetDatum(PG_DETOAST_DATUM_PACKED(value));
		case TEXT_CAST_FUNCTION:
			if (cast->nargs == 3)
				return FunctionCall3(&cast->fn, value, Int32GetDatum(-1), BoolGetDatum(true));
			return FunctionCall1(&cast->fn, value);
		case TEXT_OUTPUT_FUNCTION:
			return CStringGetTextDatum(OutputFunctionCall(&cast->fn, value));
	}
	return (Datum) 0;			/* keep the compiler quiet */
}

/* Fill in what the triggers need of a model on a table */
static void
info_load(LabelInfo *info, Relation rel)
{
	LabelModelRow row;
	Oid			types[INDEX_MAX_KEYS];
	bool		found;
	int			i;

	info->usable = false;
	found = catalog_label_model(info->key.model, &row, info_cxt);
	/*
	 * A shard of the model's distributed table: the triggers fire there, on
	 * the node that holds it, and log into that node's label log, from
	 * where the coordinator takes the entries (catalog_citus.c).  The
	 * node knows the model by its mirror.
	 */
	if (found && row.source != RelationGetRelid(rel) &&
		catalog_citus_shard_parent(RelationGetRelid(rel)) != row.source)
		found = false;
	if (!found)
	{
		/*
		 * A shard of a table whose model this node does not know: Citus
		 * distributed the table after its model was made (the model has no
		 * mirror until it is scored), and a change left out of a label log
		 * would be lost to the model
		 */
		if (catalog_citus_shard(RelationGetRelid(rel)))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("hitl model \"%s\" cannot log changes to Citus shard %s",
							info->key.model, RelationGetRelationName(rel)),
					 errdetail("This node has no mirror of the model: Citus distributed the model's table after the model was made, and the coordinator sends the model to the worker nodes when it scores it."),
					 errhint("Score the model on the coordinator (hitl.score), then change its labels.")));
		return;
	}
	if (row.status == MODEL_BROKEN || row.nkeys < 1 || row.nkeys > INDEX_MAX_KEYS)
		return;
	info->nkeys = row.nkeys;
	for (i = 0; i < row.nkeys; i++)
	{
		if (!resolve_column(rel, row.key_columns[i], &info->keys[i]))
			return;
		types[i] = info->keys[i].typid;
	}
	if (!resolve_column(rel, row.label_column, &info->label) ||
		!resolve_column(rel, row.prediction_column, &info->prediction) ||
		!resolve_column(rel, row.confidence_column, &info->confidence) ||
		info->confidence.typid != FLOAT8OID ||
		!text_cast_init(&info->label_text, info->label.typid) ||
		!text_cast_init(&info->prediction_text, info->prediction.typid))
		return;
	rowkey_builder_init(&info->row_key, row.nkeys, row.key_columns, types, info_cxt);
	info->annotators = row.annotators;
	strlcpy(info->owner, row.owner ? row.owner : "", NAMEDATALEN);
	getTypeInputInfo(info->label.typid, &info->label_input, &info->label_ioparam);
	info->usable = true;
}

/*
 * The cached model of that name on that table, read when missing.
 */
LabelInfo *
label_info(const char *model, Relation rel)
{
	LabelInfoKey key;
	LabelInfo	loaded;
	LabelInfo  *info;
	bool		found;

	if (info_stale)
		info_cache_reset();
	if (info_cache == NULL)
		info_cache_create();

	memset(&key, 0, sizeof(key));
	strlcpy(key.model, model, HITL_MODEL_NAME_LEN);
	key.relid = RelationGetRelid(rel);
	info = hash_search(info_cache, &key, HASH_FIND, NULL);
	if (info != NULL)
		return info;

	/* read first, so that an error leaves no half-made entry */
	memset(&loaded, 0, sizeof(loaded));
	loaded.key = key;
	info_load(&loaded, rel);
	info = hash_search(info_cache, &key, HASH_ENTER, &found);
	memcpy(info, &loaded, sizeof(LabelInfo));
	return info;
}
