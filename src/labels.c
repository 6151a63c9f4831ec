/*
 * labels.c
 *		The label log: the triggers on a model's table that record every
 *		label change in hitl.label_log, and wake the database's worker when
 *		the transaction commits; and what a reader may see of the rows the
 *		log and the review queue are about.
 *
 * Inserted and deleted rows are logged by statement triggers with
 * transition tables, once per statement however many rows it touched.
 * Label updates cannot be logged that way: a transition table on every
 * UPDATE would copy every row of every scoring UPDATE.  So a row trigger,
 * whose WHEN clause lets it fire only when the label changed, keeps what the
 * log needs in memory, and a statement trigger on the same UPDATE writes all
 * of it at once.  Neither has a column list: a label set by a BEFORE trigger
 * or computed by a generated column changes without being named in the
 * UPDATE.  A scoring UPDATE costs a comparison per row and one call of the
 * statement trigger, which finds nothing kept.
 *
 * The kept changes belong to the (sub)transaction that made them: a
 * subtransaction that aborts takes its changes along, a statement writes
 * only the changes of its own subtransaction level, and anything left when
 * the transaction commits (an UPDATE through a parent table fires no
 * statement trigger on the child) is written then.
 *
 * Log rows are written here, not through SQL: batches of heap tuples
 * (table_multi_insert) and their index entries, the row keys made by
 * jsonb_build_object as hitl.queue makes them, the labels turned into text
 * by their cast as hitl.train() does.  That costs a fraction of an INSERT
 * statement per UPDATE, needs no privilege on hitl's tables (a role with
 * UPDATE on the table, and nothing more, labels rows), and runs no code as
 * anyone but the role that changed the labels.  No training happens here;
 * the worker is woken at commit, never before.  Nothing else writes the
 * log: PUBLIC has no write privilege on it.
 *
 * The read policies of hitl.label_log and hitl.queue show an entry of a
 * table with row-level security only when the reader sees its row:
 * hitl._source_row_visible() looks the row up by its key, as the reader,
 * with a plan kept per model (see sql/0.2.0/30-labels.sql).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_coerce.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/xid8.h"

#include "compat.h"
#include "hitl.h"
#include "labels.h"
#include "security.h"
#include "shared.h"

/* log rows written per table_multi_insert() */
#define LOG_BATCH 1000

/* The columns of hitl.label_log */
enum
{
	LOG_ID,
	LOG_MODEL,
	LOG_ROW_KEY,
	LOG_OLD_LABEL,
	LOG_NEW_LABEL,
	LOG_ROLE,
	LOG_AT,
	LOG_TXID,
	LOG_MODEL_VERSION,
	LOG_PREDICTION,
	LOG_CONFIDENCE,
	LOG_NCOLUMNS
};

static const char *const log_column_names[LOG_NCOLUMNS] = {
	"id", "model", "row_key", "old_label", "new_label", "role", "at", "txid",
	"model_version", "prediction", "confidence"
};

/* The columns of hitl.models read here */
enum
{
	MODEL_NAME,
	MODEL_SOURCE,
	MODEL_STATUS,
	MODEL_LABEL_COLUMN,
	MODEL_KEY_COLUMNS,
	MODEL_PREDICTION_COLUMN,
	MODEL_CONFIDENCE_COLUMN,
	MODEL_CURRENT_VERSION,
	MODEL_NCOLUMNS
};

static const char *const model_column_names[MODEL_NCOLUMNS] = {
	"name", "source", "status", "label_column", "key_columns",
	"prediction_column", "confidence_column", "current_version"
};

/*
 * hitl.label_log and hitl.models, found once per backend (and again after
 * they change: relcache invalidation).
 */
typedef struct HitlTables
{
	bool		valid;
	Oid			log_relid;
	Oid			log_seqid;		/* the sequence of label_log.id */
	AttrNumber	log_attnum[LOG_NCOLUMNS];
	Oid			models_relid;
	Oid			models_pkey;
	AttrNumber	models_attnum[MODEL_NCOLUMNS];
} HitlTables;

static HitlTables tables;

/* A row of hitl.models, as far as the triggers need it */
typedef struct ModelRow
{
	Oid			source;
	bool		broken;
	char	   *label_column;
	int			nkeys;
	char	  **key_columns;
	char	   *prediction_column;
	char	   *confidence_column;
	int32		version;
	bool		version_null;
} ModelRow;

/* How a label's type becomes text: as its cast to text does */
typedef enum TextHow
{
	TEXT_AS_IS,					/* text, or binary compatible (varchar) */
	TEXT_CAST_FUNCTION,			/* a cast function (boolean: 'true') */
	TEXT_OUTPUT_FUNCTION		/* I/O conversion (integers, enums) */
} TextHow;

typedef struct TextCast
{
	TextHow		how;
	int			nargs;			/* of the cast function */
	FmgrInfo	fn;
} TextCast;

/* A column of the model's table the triggers read */
typedef struct LabelColumn
{
	AttrNumber	attnum;
	Oid			typid;
	int16		typlen;
	bool		typbyval;
} LabelColumn;

/*
 * What the triggers know of a model on a table, cached per backend until
 * hitl.models or the table changes (relcache invalidation).
 */
typedef struct LabelInfoKey
{
	char		model[HITL_MODEL_NAME_LEN];
	Oid			relid;
} LabelInfoKey;

typedef struct LabelInfo
{
	LabelInfoKey key;			/* hash key */
	bool		usable;			/* false: no such model here, or it is broken */
	int			nkeys;
	LabelColumn keys[INDEX_MAX_KEYS];
	LabelColumn label;
	LabelColumn prediction;
	LabelColumn confidence;
	Datum		key_names[INDEX_MAX_KEYS];	/* text */
	FmgrInfo	row_key;		/* jsonb_build_object('k1', $1, 'k2', $2...) */
	TextCast	label_text;
	TextCast	prediction_text;
} LabelInfo;

static MemoryContext info_cxt = NULL;
static HTAB *info_cache = NULL;
static bool info_stale = false;

/*
 * The label changes of one model kept by the row trigger until its
 * statement trigger writes them: one array per value, with the
 * subtransaction level each change was made at.  Values, in order: the key
 * columns (of the new row), the old label, the new label, the old
 * prediction and the old confidence.
 */
typedef struct LabelBuffer
{
	struct LabelBuffer *next;
	char		model[HITL_MODEL_NAME_LEN];
	Oid			relid;
	bool		usable;
	int			nkeys;
	int			nvalues;		/* nkeys + 4 */
	LabelColumn columns[INDEX_MAX_KEYS + 4];
	int			n;				/* changes kept */
	int			capacity;
	Datum	   *values[INDEX_MAX_KEYS + 4];
	bool	   *nulls[INDEX_MAX_KEYS + 4];
	int		   *levels;
	MemoryContext data_cxt;		/* copies of pass-by-reference values */
} LabelBuffer;

#define BUF_OLD_LABEL(b)	((b)->nkeys)
#define BUF_NEW_LABEL(b)	((b)->nkeys + 1)
#define BUF_PREDICTION(b)	((b)->nkeys + 2)
#define BUF_CONFIDENCE(b)	((b)->nkeys + 3)

/* this transaction's buffers, in a child of TopTransactionContext */
static MemoryContext buffer_cxt = NULL;
static LabelBuffer *buffers = NULL;
static LabelBuffer *last_buffer = NULL;

static bool callbacks_registered = false;

/* a label trigger runs (never two at once: see hitl_label_trigger) */
static bool in_label_trigger = false;

/*
 * Writing log rows: a batch of tuples, inserted together with their index
 * entries, and the values every row of one statement shares.
 */
typedef struct LogWriter
{
	Relation	rel;
	int			nindexes;
	Relation   *indexes;
	IndexInfo **index_info;
	EState	   *estate;			/* for index expressions, if ever any */
	BulkInsertState bistate;
	CommandId	cid;
	MemoryContext cxt;			/* the writer's, for its slots */
	MemoryContext batch_cxt;	/* values of the rows of a batch */
	TupleTableSlot *slots[LOG_BATCH];
	int			nslots;			/* made so far */
	int			n;				/* filled */
	Datum		model;
	Datum		role;
	Datum		at;
	Datum		txid;
	Datum		version;
	bool		version_null;
} LogWriter;

/*
 * Checking rows of a table with row-level security, per model: the query
 * that looks a row up by its key, as the reader.  Cached per backend until
 * hitl.models or the table changes.
 */
typedef struct RowCheck
{
	char		model[HITL_MODEL_NAME_LEN];	/* hash key */
	bool		usable;			/* false: no such model, or a key of a type
								 * that is not built in: no row is shown */
	Oid			source;
	int			nkeys;
	AttrNumber	attnums[INDEX_MAX_KEYS];
	SPIPlanPtr	plan;			/* SELECT 1 FROM t WHERE <key> = <row key> */
} RowCheck;

static HTAB *rowcheck_cache = NULL;
static bool rowcheck_stale = false;
static bool rowcheck_callback_registered = false;

/*
 * Row checks running now: a table's policy may read hitl.label_log, and so
 * check rows itself; the plans are freed only when none runs.
 */
static int	rowcheck_depth = 0;

PG_FUNCTION_INFO_V1(hitl_label_trigger);
PG_FUNCTION_INFO_V1(hitl_source_row_visible);
PG_FUNCTION_INFO_V1(hitl_attach_label_triggers);

/* ------------------------------------------------------------------------
 * hitl's tables
 * ------------------------------------------------------------------------ */

static AttrNumber
column_of(Oid relid, const char *name)
{
	AttrNumber	attnum = get_attnum(relid, name);

	if (attnum == InvalidAttrNumber)
		elog(ERROR, "hitl: column \"%s\" of relation %u is missing", name, relid);
	return attnum;
}

/* Find hitl.label_log and hitl.models (again after they changed) */
static void
find_tables(void)
{
	Oid			nsp;
	Relation	models;
	int			i;

	if (tables.valid)
		return;
	nsp = get_namespace_oid(HITL_SCHEMA, false);
	tables.log_relid = get_relname_relid("label_log", nsp);
	tables.models_relid = get_relname_relid("models", nsp);
	if (!OidIsValid(tables.log_relid) || !OidIsValid(tables.models_relid))
		elog(ERROR, "hitl: hitl.label_log or hitl.models is missing");
	for (i = 0; i < LOG_NCOLUMNS; i++)
		tables.log_attnum[i] = column_of(tables.log_relid, log_column_names[i]);
	for (i = 0; i < MODEL_NCOLUMNS; i++)
		tables.models_attnum[i] = column_of(tables.models_relid, model_column_names[i]);
	tables.log_seqid = getIdentitySequence(tables.log_relid, tables.log_attnum[LOG_ID], false);
	models = table_open(tables.models_relid, AccessShareLock);
	tables.models_pkey = RelationGetPrimaryKeyIndex(models);
	table_close(models, AccessShareLock);
	if (!OidIsValid(tables.models_pkey))
		elog(ERROR, "hitl: hitl.models has no primary key");
	tables.valid = true;
}

/* The text value of a text column of a tuple, or NULL */
static char *
text_attr(HeapTuple tuple, TupleDesc desc, int column, MemoryContext cxt)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, tables.models_attnum[column], desc, &isnull);

	if (isnull)
		return NULL;
	return MemoryContextStrdup(cxt, TextDatumGetCString(d));
}

/* The name value of a name column of a tuple, or NULL */
static char *
name_attr(HeapTuple tuple, TupleDesc desc, int column, MemoryContext cxt)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, tables.models_attnum[column], desc, &isnull);

	if (isnull)
		return NULL;
	return MemoryContextStrdup(cxt, NameStr(*DatumGetName(d)));
}

/*
 * Read a model's row of hitl.models, as the current statement sees it,
 * past row-level security.  False when there is none.
 */
static bool
read_model(const char *model, ModelRow *row, MemoryContext cxt)
{
	Relation	models;
	Relation	pkey;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		found = false;

	if (!ActiveSnapshotSet())
		elog(ERROR, "hitl: no snapshot to read hitl.models with");
	find_tables();
	models = table_open(tables.models_relid, AccessShareLock);
	pkey = index_open(tables.models_pkey, AccessShareLock);
	ScanKeyEntryInitialize(&key, 0, tables.models_attnum[MODEL_NAME],
						   BTEqualStrategyNumber, InvalidOid,
						   pkey->rd_indcollation[0], F_TEXTEQ,
						   CStringGetTextDatum(model));
	scan = systable_beginscan(models, tables.models_pkey, true,
							  GetActiveSnapshot(), 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		TupleDesc	desc = RelationGetDescr(models);
		bool		isnull;
		Datum		d;
		char	   *status;

		found = true;
		row->source = DatumGetObjectId(heap_getattr(tuple, tables.models_attnum[MODEL_SOURCE],
													desc, &isnull));
		status = text_attr(tuple, desc, MODEL_STATUS, cxt);
		row->broken = status == NULL || strcmp(status, "broken") == 0;
		row->label_column = name_attr(tuple, desc, MODEL_LABEL_COLUMN, cxt);
		row->prediction_column = name_attr(tuple, desc, MODEL_PREDICTION_COLUMN, cxt);
		row->confidence_column = name_attr(tuple, desc, MODEL_CONFIDENCE_COLUMN, cxt);
		d = heap_getattr(tuple, tables.models_attnum[MODEL_CURRENT_VERSION], desc,
						 &row->version_null);
		row->version = row->version_null ? 0 : DatumGetInt32(d);
		row->nkeys = 0;
		row->key_columns = NULL;
		d = heap_getattr(tuple, tables.models_attnum[MODEL_KEY_COLUMNS], desc, &isnull);
		if (!isnull)
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);
			Datum	   *elems;
			int			i;

			deconstruct_array(DatumGetArrayTypeP(d), NAMEOID, NAMEDATALEN, false,
							  TYPALIGN_CHAR, &elems, NULL, &row->nkeys);
			row->key_columns = palloc(sizeof(char *) * Max(row->nkeys, 1));
			for (i = 0; i < row->nkeys; i++)
				row->key_columns[i] = pstrdup(NameStr(*DatumGetName(elems[i])));
			MemoryContextSwitchTo(old);
		}
	}
	systable_endscan(scan);
	index_close(pkey, AccessShareLock);
	table_close(models, AccessShareLock);
	return found;
}

/* ------------------------------------------------------------------------
 * The per-backend cache of models
 * ------------------------------------------------------------------------ */

/*
 * Relcache callback: hitl.models changed (its trigger sends an
 * invalidation), a cached model's table changed, or everything was reset.
 * Only flags are set here; the cache is rebuilt at the next lookup.
 */
static void
label_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	LabelInfo  *info;

	if (relid == InvalidOid || relid == tables.models_relid || relid == tables.log_relid)
	{
		tables.valid = false;
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

static void
info_cache_reset(void)
{
	if (info_cxt != NULL)
		MemoryContextDelete(info_cxt);
	info_cxt = NULL;
	info_cache = NULL;
	info_stale = false;
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

/* How values of a type become text, as their cast to text does it */
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

static Datum
text_cast(TextCast *cast, Datum value)
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

/*
 * The row key: jsonb_build_object('k1', k1, ...), called as the SQL
 * expression of hitl.queue would call it (it reads its arguments' types
 * from the call expression).
 */
static void
row_key_init(LabelInfo *info)
{
	MemoryContext old = MemoryContextSwitchTo(info_cxt);
	List	   *args = NIL;
	int			i;

	for (i = 0; i < info->nkeys; i++)
	{
		args = lappend(args, makeNullConst(TEXTOID, -1, DEFAULT_COLLATION_OID));
		args = lappend(args, makeNullConst(info->keys[i].typid, -1, InvalidOid));
	}
	MemSet(&info->row_key, 0, sizeof(FmgrInfo));
	info->row_key.fn_addr = jsonb_build_object;
	info->row_key.fn_oid = InvalidOid;
	info->row_key.fn_nargs = 2 * info->nkeys;
	info->row_key.fn_strict = false;
	info->row_key.fn_mcxt = info_cxt;
	info->row_key.fn_expr = (Node *) makeFuncExpr(InvalidOid, JSONBOID, args, InvalidOid,
												  InvalidOid, COERCE_EXPLICIT_CALL);
	MemoryContextSwitchTo(old);
}

static Datum
row_key(LabelInfo *info, const Datum *values, const bool *nulls)
{
	LOCAL_FCINFO(fcinfo, 2 * INDEX_MAX_KEYS);
	Datum		result;
	int			i;

	InitFunctionCallInfoData(*fcinfo, &info->row_key, 2 * info->nkeys, InvalidOid, NULL, NULL);
	for (i = 0; i < info->nkeys; i++)
	{
		fcinfo->args[2 * i].value = info->key_names[i];
		fcinfo->args[2 * i].isnull = false;
		fcinfo->args[2 * i + 1].value = values[i];
		fcinfo->args[2 * i + 1].isnull = nulls[i];
	}
	result = FunctionCallInvoke(fcinfo);
	if (fcinfo->isnull)
		elog(ERROR, "hitl: jsonb_build_object returned NULL");
	return result;
}

/* A key column's name as text, kept with the cache */
static Datum
key_name_text(const char *name)
{
	MemoryContext old = MemoryContextSwitchTo(info_cxt);
	Datum		d = PointerGetDatum(cstring_to_text(name));

	MemoryContextSwitchTo(old);
	return d;
}

/* Fill in what the triggers need of a model on a table */
static void
info_load(LabelInfo *info, Relation rel)
{
	ModelRow	row;
	int			i;

	info->usable = false;
	if (!read_model(info->key.model, &row, info_cxt) ||
		row.source != RelationGetRelid(rel) || row.broken ||
		row.nkeys < 1 || row.nkeys > INDEX_MAX_KEYS)
		return;
	info->nkeys = row.nkeys;
	for (i = 0; i < row.nkeys; i++)
	{
		if (!resolve_column(rel, row.key_columns[i], &info->keys[i]))
			return;
		info->key_names[i] = key_name_text(row.key_columns[i]);
	}
	if (!resolve_column(rel, row.label_column, &info->label) ||
		!resolve_column(rel, row.prediction_column, &info->prediction) ||
		!resolve_column(rel, row.confidence_column, &info->confidence) ||
		info->confidence.typid != FLOAT8OID ||
		!text_cast_init(&info->label_text, info->label.typid) ||
		!text_cast_init(&info->prediction_text, info->prediction.typid))
		return;
	row_key_init(info);
	info->usable = true;
}

/*
 * The cached model of that name on that table, read when missing.
 */
static LabelInfo *
label_info(const char *model, Relation rel)
{
	LabelInfoKey key;
	LabelInfo  *info;
	bool		found;

	if (info_stale)
		info_cache_reset();
	if (info_cache == NULL)
	{
		HASHCTL		ctl;

		info_cxt = AllocSetContextCreate(TopMemoryContext, "hitl label triggers",
										 ALLOCSET_SMALL_SIZES);
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(LabelInfoKey);
		ctl.entrysize = sizeof(LabelInfo);
		ctl.hcxt = info_cxt;
		info_cache = hash_create("hitl label triggers", 16, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	memset(&key, 0, sizeof(key));
	strlcpy(key.model, model, HITL_MODEL_NAME_LEN);
	key.relid = RelationGetRelid(rel);
	info = hash_search(info_cache, &key, HASH_FIND, NULL);
	if (info != NULL)
		return info;

	/* read first, so that an error leaves no half-made entry */
	{
		LabelInfo	loaded;

		memset(&loaded, 0, sizeof(loaded));
		loaded.key = key;
		info_load(&loaded, rel);
		info = hash_search(info_cache, &key, HASH_ENTER, &found);
		memcpy(info, &loaded, sizeof(LabelInfo));
	}
	return info;
}

/* ------------------------------------------------------------------------
 * Writing the log
 * ------------------------------------------------------------------------ */

/*
 * Start writing log rows of a model.  False (and nothing to close) when the
 * model is gone: a model is dropped under a lock on its table that waits
 * for the transactions writing to it (see hitl._drop_label_log).
 */
static bool
writer_open(LogWriter *w, const char *model)
{
	ModelRow	row;
	NameData   *role;
	int			i;

	memset(w, 0, sizeof(LogWriter));
	if (!read_model(model, &row, CurrentMemoryContext))
		return false;
	w->model = CStringGetTextDatum(model);
	role = palloc0(sizeof(NameData));
	namestrcpy(role, GetUserNameFromId(GetUserId(), false));
	w->role = NameGetDatum(role);
	w->at = TimestampTzGetDatum(GetCurrentStatementStartTimestamp());
	w->txid = FullTransactionIdGetDatum(GetTopFullTransactionId());
	w->version = Int32GetDatum(row.version);
	w->version_null = row.version_null;

	w->rel = table_open(tables.log_relid, RowExclusiveLock);
	{
		List	   *index_oids = RelationGetIndexList(w->rel);
		ListCell   *lc;

		w->nindexes = list_length(index_oids);
		w->indexes = palloc(sizeof(Relation) * Max(w->nindexes, 1));
		w->index_info = palloc(sizeof(IndexInfo *) * Max(w->nindexes, 1));
		i = 0;
		foreach(lc, index_oids)
		{
			w->indexes[i] = index_open(lfirst_oid(lc), RowExclusiveLock);
			w->index_info[i] = BuildIndexInfo(w->indexes[i]);
			i++;
		}
		list_free(index_oids);
	}
	w->cid = GetCurrentCommandId(true);
	w->cxt = CurrentMemoryContext;
	w->batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "hitl label log batch",
										 ALLOCSET_DEFAULT_SIZES);
	return true;
}

/* Insert the filled batch with its index entries */
static void
writer_flush(LogWriter *w)
{
	MemoryContext old;
	int			i;
	int			j;

	if (w->n == 0)
		return;
	old = MemoryContextSwitchTo(w->cxt);
	if (w->n > 1 && w->bistate == NULL)
		w->bistate = GetBulkInsertState();
	MemoryContextSwitchTo(w->batch_cxt);
	table_multi_insert(w->rel, w->slots, w->n, w->cid, 0, w->bistate);
	for (i = 0; i < w->n; i++)
	{
		TupleTableSlot *slot = w->slots[i];

		for (j = 0; j < w->nindexes; j++)
		{
			Relation	index = w->indexes[j];
			IndexInfo  *ii = w->index_info[j];
			Datum		values[INDEX_MAX_KEYS];
			bool		isnull[INDEX_MAX_KEYS];

			/* (hitl's own indexes need no executor state; others might) */
			if (w->estate == NULL &&
				(ii->ii_Predicate != NIL || ii->ii_Expressions != NIL))
			{
				MemoryContextSwitchTo(w->cxt);
				w->estate = CreateExecutorState();
				MemoryContextSwitchTo(w->batch_cxt);
			}
			if (w->estate != NULL)
				GetPerTupleExprContext(w->estate)->ecxt_scantuple = slot;
			if (ii->ii_Predicate != NIL)
			{
				if (ii->ii_PredicateState == NULL)
				{
					MemoryContextSwitchTo(w->estate->es_query_cxt);
					ii->ii_PredicateState = ExecPrepareQual(ii->ii_Predicate, w->estate);
					MemoryContextSwitchTo(w->batch_cxt);
				}
				if (!ExecQual(ii->ii_PredicateState, GetPerTupleExprContext(w->estate)))
					continue;
			}
			FormIndexDatum(ii, slot, w->estate, values, isnull);
			hitl_index_insert(index, values, isnull, &slot->tts_tid, w->rel,
							  index->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
							  ii);
		}
		if (w->estate != NULL)
			ResetPerTupleExprContext(w->estate);
		ExecClearTuple(slot);
	}
	MemoryContextSwitchTo(old);
	w->n = 0;
	MemoryContextReset(w->batch_cxt);
}

/*
 * Add a log row; its values were made in w->batch_cxt.  NULL labels,
 * prediction and confidence come as null pointers.
 */
static void
writer_add(LogWriter *w, Datum row_key, Datum *old_label, Datum *new_label,
		   Datum *prediction, Datum *confidence)
{
	TupleTableSlot *slot;
	Datum	   *values;
	bool	   *isnull;

	if (w->n == w->nslots)
	{
		MemoryContext old = MemoryContextSwitchTo(w->cxt);

		w->slots[w->nslots++] = table_slot_create(w->rel, NULL);
		MemoryContextSwitchTo(old);
	}
	slot = w->slots[w->n];
	ExecClearTuple(slot);
	values = slot->tts_values;
	isnull = slot->tts_isnull;
	memset(isnull, true, sizeof(bool) * slot->tts_tupleDescriptor->natts);

#define SET(col, value) \
	(values[tables.log_attnum[col] - 1] = (value), isnull[tables.log_attnum[col] - 1] = false)

	SET(LOG_ID, Int64GetDatum(nextval_internal(tables.log_seqid, false)));
	SET(LOG_MODEL, w->model);
	SET(LOG_ROW_KEY, row_key);
	if (old_label)
		SET(LOG_OLD_LABEL, *old_label);
	if (new_label)
		SET(LOG_NEW_LABEL, *new_label);
	SET(LOG_ROLE, w->role);
	SET(LOG_AT, w->at);
	SET(LOG_TXID, w->txid);
	if (!w->version_null)
		SET(LOG_MODEL_VERSION, w->version);
	if (prediction)
		SET(LOG_PREDICTION, *prediction);
	if (confidence)
		SET(LOG_CONFIDENCE, *confidence);
#undef SET

	ExecStoreVirtualTuple(slot);
	if (++w->n == LOG_BATCH)
		writer_flush(w);
}

static void
writer_close(LogWriter *w)
{
	int			i;

	writer_flush(w);
	for (i = 0; i < w->nslots; i++)
		ExecDropSingleTupleTableSlot(w->slots[i]);
	if (w->bistate != NULL)
		FreeBulkInsertState(w->bistate);
	if (w->estate != NULL)
		FreeExecutorState(w->estate);
	for (i = 0; i < w->nindexes; i++)
		index_close(w->indexes[i], RowExclusiveLock);
	table_close(w->rel, RowExclusiveLock);
	MemoryContextDelete(w->batch_cxt);
}

/*
 * Log one change: the row's key values, its labels before and after and
 * its prediction and confidence (each NULL when isnull says so).
 */
static void
log_change(LogWriter *w, LabelInfo *info, const Datum *keys, const bool *key_nulls,
		   Datum old_label, bool old_null, Datum new_label, bool new_null,
		   Datum prediction, bool prediction_null, Datum confidence, bool confidence_null)
{
	MemoryContext old = MemoryContextSwitchTo(w->batch_cxt);
	Datum		key = row_key(info, keys, key_nulls);

	if (!old_null)
		old_label = text_cast(&info->label_text, old_label);
	if (!new_null)
		new_label = text_cast(&info->label_text, new_label);
	if (!prediction_null)
		prediction = text_cast(&info->prediction_text, prediction);
	writer_add(w, key, old_null ? NULL : &old_label, new_null ? NULL : &new_label,
			   prediction_null ? NULL : &prediction,
			   confidence_null ? NULL : &confidence);
	MemoryContextSwitchTo(old);
}

/*
 * Statement trigger after INSERT or DELETE: log the rows of the transition
 * table that carry a label.
 */
static void
log_transition_table(TriggerData *trigdata, const char *model, bool inserted)
{
	Tuplestorestate *rows = inserted ? trigdata->tg_newtable : trigdata->tg_oldtable;
	Relation	rel = trigdata->tg_relation;
	LabelInfo  *info;
	LogWriter	w;
	TupleTableSlot *slot;
	int			readptr;
	int			i;

	if (rows == NULL || tuplestore_tuple_count(rows) == 0)
		return;
	hitl_wake_at_commit(RelationGetRelid(rel));

	info = label_info(model, rel);
	if (!info->usable || !writer_open(&w, model))
		return;

	/* a read pointer of our own: other triggers read the same rows */
	readptr = tuplestore_alloc_read_pointer(rows, 0);
	tuplestore_select_read_pointer(rows, readptr);
	tuplestore_rescan(rows);
	slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	while (tuplestore_gettupleslot(rows, true, false, slot))
	{
		Datum		keys[INDEX_MAX_KEYS];
		bool		key_nulls[INDEX_MAX_KEYS];
		Datum		label;
		Datum		prediction;
		Datum		confidence;
		bool		label_null;
		bool		prediction_null;
		bool		confidence_null;

		label = slot_getattr(slot, info->label.attnum, &label_null);
		if (label_null)
			continue;
		for (i = 0; i < info->nkeys; i++)
			keys[i] = slot_getattr(slot, info->keys[i].attnum, &key_nulls[i]);
		prediction = slot_getattr(slot, info->prediction.attnum, &prediction_null);
		confidence = slot_getattr(slot, info->confidence.attnum, &confidence_null);
		if (inserted)
			log_change(&w, info, keys, key_nulls, (Datum) 0, true, label, false,
					   prediction, prediction_null, confidence, confidence_null);
		else
			log_change(&w, info, keys, key_nulls, label, false, (Datum) 0, true,
					   prediction, prediction_null, confidence, confidence_null);
	}
	ExecDropSingleTupleTableSlot(slot);
	writer_close(&w);
}

/* ------------------------------------------------------------------------
 * Label updates: kept per row, written per statement
 * ------------------------------------------------------------------------ */

static LabelBuffer *
find_buffer(const char *model, Oid relid)
{
	LabelBuffer *buf;

	if (last_buffer != NULL && last_buffer->relid == relid &&
		strcmp(last_buffer->model, model) == 0)
		return last_buffer;
	for (buf = buffers; buf != NULL; buf = buf->next)
		if (buf->relid == relid && strcmp(buf->model, model) == 0)
			return last_buffer = buf;
	return NULL;
}

/* Take the columns of a (re)loaded model into a buffer */
static void
buffer_set_columns(LabelBuffer *buf, const LabelInfo *info)
{
	int			i;

	buf->usable = info->usable;
	if (!info->usable)
		return;
	buf->nkeys = info->nkeys;
	buf->nvalues = info->nkeys + 4;
	for (i = 0; i < info->nkeys; i++)
		buf->columns[i] = info->keys[i];
	buf->columns[BUF_OLD_LABEL(buf)] = info->label;
	buf->columns[BUF_NEW_LABEL(buf)] = info->label;
	buf->columns[BUF_PREDICTION(buf)] = info->prediction;
	buf->columns[BUF_CONFIDENCE(buf)] = info->confidence;
}

/* Do a buffer's columns still match the model as cached now? */
static bool
buffer_matches(const LabelBuffer *buf, const LabelInfo *info)
{
	int			i;

	if (!info->usable || info->nkeys != buf->nkeys)
		return false;
	for (i = 0; i < info->nkeys; i++)
		if (info->keys[i].attnum != buf->columns[i].attnum ||
			info->keys[i].typid != buf->columns[i].typid)
			return false;
	return info->label.typid == buf->columns[BUF_OLD_LABEL(buf)].typid &&
		info->prediction.typid == buf->columns[BUF_PREDICTION(buf)].typid &&
		info->confidence.typid == buf->columns[BUF_CONFIDENCE(buf)].typid;
}

/*
 * The buffer of a model on a table, made (or brought up to date, when it
 * holds nothing) from the cached model.
 */
static LabelBuffer *
get_buffer(const char *model, Relation rel)
{
	LabelBuffer *buf = find_buffer(model, RelationGetRelid(rel));

	if (buf != NULL && buf->n > 0)
		return buf;

	if (buf == NULL)
	{
		if (buffer_cxt == NULL)
			buffer_cxt = AllocSetContextCreate(TopTransactionContext,
											   "hitl label changes",
											   ALLOCSET_DEFAULT_SIZES);
		buf = MemoryContextAllocZero(buffer_cxt, sizeof(LabelBuffer));
		strlcpy(buf->model, model, HITL_MODEL_NAME_LEN);
		buf->relid = RelationGetRelid(rel);
		buf->data_cxt = AllocSetContextCreate(buffer_cxt, "hitl label values",
											  ALLOCSET_DEFAULT_SIZES);
		buf->next = buffers;
		buffers = buf;
		last_buffer = buf;
	}
	buffer_set_columns(buf, label_info(model, rel));
	return buf;
}

/* A copy of a value that outlives the tuple it came from */
static Datum
keep_value(Datum value, const LabelColumn *col)
{
	if (col->typbyval)
		return value;
	if (col->typlen == -1)
		return PointerGetDatum(PG_DETOAST_DATUM_COPY(value));
	return datumCopy(value, false, col->typlen);
}

/*
 * Row trigger after an UPDATE that changed the label: keep the row's key,
 * both labels and the prediction and confidence it had.
 */
static void
keep_update(TriggerData *trigdata, const char *model)
{
	LabelBuffer *buf = get_buffer(model, trigdata->tg_relation);
	TupleTableSlot *old_slot = trigdata->tg_trigslot;
	TupleTableSlot *new_slot = trigdata->tg_newslot;
	MemoryContext old_cxt;
	int			i;

	if (!buf->usable)
		return;

	if (buf->n == buf->capacity)
	{
		int			capacity = buf->capacity == 0 ? 16 : buf->capacity * 2;

		for (i = 0; i < buf->nvalues; i++)
		{
			if (buf->capacity == 0)
			{
				buf->values[i] = MemoryContextAllocHuge(buffer_cxt, sizeof(Datum) * capacity);
				buf->nulls[i] = MemoryContextAllocHuge(buffer_cxt, sizeof(bool) * capacity);
			}
			else
			{
				buf->values[i] = repalloc_huge(buf->values[i], sizeof(Datum) * capacity);
				buf->nulls[i] = repalloc_huge(buf->nulls[i], sizeof(bool) * capacity);
			}
		}
		if (buf->capacity == 0)
			buf->levels = MemoryContextAllocHuge(buffer_cxt, sizeof(int) * capacity);
		else
			buf->levels = repalloc_huge(buf->levels, sizeof(int) * capacity);
		buf->capacity = capacity;
	}

	old_cxt = MemoryContextSwitchTo(buf->data_cxt);
	for (i = 0; i < buf->nvalues; i++)
	{
		const LabelColumn *col = &buf->columns[i];
		TupleTableSlot *slot = (i < buf->nkeys || i == BUF_NEW_LABEL(buf)) ? new_slot : old_slot;
		bool		isnull;
		Datum		value = slot_getattr(slot, col->attnum, &isnull);

		buf->nulls[i][buf->n] = isnull;
		buf->values[i][buf->n] = isnull ? (Datum) 0 : keep_value(value, col);
	}
	MemoryContextSwitchTo(old_cxt);
	buf->levels[buf->n] = GetCurrentTransactionNestLevel();
	buf->n++;
}

/*
 * Write the changes a buffer keeps from the given subtransaction level (and
 * deeper ones, which have all ended).
 */
static void
flush_buffer(LabelBuffer *buf, Relation rel, int level)
{
	int			start = buf->n;
	LabelInfo  *info;
	LogWriter	w;

	while (start > 0 && buf->levels[start - 1] >= level)
		start--;
	if (start == buf->n)
		return;
	hitl_wake_at_commit(RelationGetRelid(rel));

	info = label_info(buf->model, rel);
	if (!buffer_matches(buf, info))
	{
		if (info->usable)
			ereport(WARNING,
					(errmsg("label changes of model \"%s\" were not logged", buf->model),
					 errdetail("The table changed while the statement ran.")));
	}
	else if (writer_open(&w, buf->model))
	{
		int			o = BUF_OLD_LABEL(buf);
		int			n = BUF_NEW_LABEL(buf);
		int			p = BUF_PREDICTION(buf);
		int			c = BUF_CONFIDENCE(buf);
		int			e;

		for (e = start; e < buf->n; e++)
		{
			Datum		keys[INDEX_MAX_KEYS];
			bool		key_nulls[INDEX_MAX_KEYS];
			int			i;

			for (i = 0; i < buf->nkeys; i++)
			{
				keys[i] = buf->values[i][e];
				key_nulls[i] = buf->nulls[i][e];
			}
			log_change(&w, info, keys, key_nulls,
					   buf->values[o][e], buf->nulls[o][e],
					   buf->values[n][e], buf->nulls[n][e],
					   buf->values[p][e], buf->nulls[p][e],
					   buf->values[c][e], buf->nulls[c][e]);
		}
		writer_close(&w);
	}

	buf->n = start;
	if (start == 0)
		MemoryContextReset(buf->data_cxt);
}

/* Statement trigger after UPDATE OF the label: write what the rows kept */
static void
flush_update(TriggerData *trigdata, const char *model)
{
	LabelBuffer *buf = find_buffer(model, RelationGetRelid(trigdata->tg_relation));

	if (buf != NULL && buf->n > 0)
		flush_buffer(buf, trigdata->tg_relation, GetCurrentTransactionNestLevel());
}

/*
 * Before commit: write what no statement trigger wrote (rows of the table
 * updated through a parent table fire the row trigger, not the statement
 * trigger).
 */
static void
flush_all_buffers(void)
{
	LabelBuffer *buf;
	bool		pushed = false;

	for (buf = buffers; buf != NULL; buf = buf->next)
	{
		Relation	rel;

		if (buf->n == 0)
			continue;
		rel = try_relation_open(buf->relid, AccessShareLock);
		if (rel == NULL)
		{
			buf->n = 0;
			continue;
		}
		/* no statement runs any more: take a snapshot to read hitl.models */
		if (!pushed)
		{
			PushActiveSnapshot(GetTransactionSnapshot());
			pushed = true;
		}
		flush_buffer(buf, rel, 1);
		relation_close(rel, AccessShareLock);
	}
	if (pushed)
		PopActiveSnapshot();
}

static void
label_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (buffers == NULL)
				break;
			in_label_trigger = true;
			PG_TRY();
			{
				flush_all_buffers();
			}
			PG_FINALLY();
			{
				in_label_trigger = false;
			}
			PG_END_TRY();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* the memory goes with TopTransactionContext */
			buffers = NULL;
			last_buffer = NULL;
			buffer_cxt = NULL;
			break;
		default:
			break;
	}
}

/*
 * A subtransaction that aborts drops the changes it kept; one that commits
 * hands them to its parent.  Changes of a subtransaction are the last ones
 * of each buffer: those of its children were handed to it or dropped.
 */
static void
label_subxact_callback(SubXactEvent event, SubTransactionId subid,
					   SubTransactionId parent_subid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	LabelBuffer *buf;
	int			i;

	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	for (buf = buffers; buf != NULL; buf = buf->next)
	{
		for (i = buf->n; i > 0 && buf->levels[i - 1] >= level; i--)
			if (event == SUBXACT_EVENT_COMMIT_SUB)
				buf->levels[i - 1] = level - 1;
		if (event == SUBXACT_EVENT_ABORT_SUB)
		{
			buf->n = i;
			if (i == 0)
				MemoryContextReset(buf->data_cxt);
		}
	}
}

static void
register_callbacks(void)
{
	if (callbacks_registered)
		return;
	CacheRegisterRelcacheCallback(label_relcache_callback, (Datum) 0);
	RegisterXactCallback(label_xact_callback, NULL);
	RegisterSubXactCallback(label_subxact_callback, NULL);
	callbacks_registered = true;
}

/* ------------------------------------------------------------------------
 * Installing the triggers
 * ------------------------------------------------------------------------ */

/*
 * hitl._attach_label_triggers(model): create the label triggers a model's
 * table lacks.  The caller must be a member of the model's owner or may
 * update its table (the rule for changing a model); the triggers are then
 * created by hitl._create_label_triggers as the owner of hitl's tables, who
 * may create triggers on any table.  A model the caller does not see, or
 * that does not exist, has nothing to attach.
 */
Datum
hitl_attach_label_triggers(PG_FUNCTION_ARGS)
{
	Datum		model = PG_GETARG_DATUM(0);
	Oid			argtypes[1] = {TEXTOID};
	HitlRoleScope scope;
	bool		isnull;
	bool		allowed;
	int			ret;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "hitl: SPI_connect failed");
	ret = SPI_execute_with_args("SELECT pg_catalog.pg_has_role(m.owner, 'USAGE')"
								" OR pg_catalog.has_table_privilege(m.source, 'UPDATE')"
								" FROM hitl.models m WHERE m.name = $1",
								1, argtypes, &model, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "hitl: reading model \"%s\" failed: %s",
			 TextDatumGetCString(model), SPI_result_code_string(ret));
	if (SPI_processed == 0)
	{
		SPI_finish();
		PG_RETURN_VOID();
	}
	allowed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull || !allowed)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to attach the label triggers of model \"%s\"",
						TextDatumGetCString(model)),
				 errhint("Only members of the model's owner and roles that may update its table attach them.")));

	hitl_catalog_enter(&scope);
	ret = SPI_execute_with_args("SELECT hitl._create_label_triggers($1)",
								1, argtypes, &model, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "hitl: creating the label triggers of model \"%s\" failed: %s",
			 TextDatumGetCString(model), SPI_result_code_string(ret));
	hitl_role_exit(&scope);
	SPI_finish();
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------------------
 * What a reader may see: rows of tables with row-level security
 * ------------------------------------------------------------------------ */

/*
 * Relcache callback: hitl.models or a checked table changed.  The plans
 * themselves follow their table (the plan cache replans them); what is
 * dropped here is what they were built from (the key columns).
 */
static void
rowcheck_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	RowCheck   *rc;

	if (rowcheck_cache == NULL || rowcheck_stale)
		return;
	if (relid == InvalidOid || relid == tables.models_relid)
	{
		rowcheck_stale = true;
		return;
	}
	hash_seq_init(&status, rowcheck_cache);
	while ((rc = hash_seq_search(&status)) != NULL)
	{
		if (rc->source == relid)
		{
			rowcheck_stale = true;
			hash_seq_term(&status);
			break;
		}
	}
}

static void
rowcheck_reset(void)
{
	HASH_SEQ_STATUS status;
	RowCheck   *rc;

	hash_seq_init(&status, rowcheck_cache);
	while ((rc = hash_seq_search(&status)) != NULL)
		if (rc->plan != NULL)
			SPI_freeplan(rc->plan);
	hash_destroy(rowcheck_cache);
	rowcheck_cache = NULL;
	rowcheck_stale = false;
}

/*
 * Build the check of a model's rows: a lookup of the table by its key
 * columns, each compared to the row key's text cast to the column's base
 * type.  Only built-in base types are compared (their input functions and
 * equality operators are PostgreSQL's): a domain's CHECK, a user type's
 * input function or a user's cast or operator would run as every reader.
 * Operators and types are named with their schema.
 */
static void
rowcheck_build(RowCheck *rc)
{
	ModelRow	row;
	StringInfoData sql;
	Oid			argtypes[1] = {JSONBOID};
	int			i;

	rc->usable = false;
	rc->plan = NULL;
	rc->source = InvalidOid;
	if (!read_model(rc->model, &row, CurrentMemoryContext) ||
		row.nkeys < 1 || row.nkeys > INDEX_MAX_KEYS ||
		!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(row.source)))
		return;
	rc->source = row.source;
	rc->nkeys = row.nkeys;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT 1 FROM %s t WHERE ",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(row.source)),
												get_rel_name(row.source)));
	for (i = 0; i < row.nkeys; i++)
	{
		AttrNumber	attnum = get_attnum(row.source, row.key_columns[i]);
		Oid			base;

		if (attnum == InvalidAttrNumber)
			return;
		base = getBaseType(get_atttype(row.source, attnum));
		if (base >= FirstNormalObjectId)
			return;
		rc->attnums[i] = attnum;
		appendStringInfo(&sql,
						 "%st.%s OPERATOR(pg_catalog.=) CAST(($1 OPERATOR(pg_catalog.->>) %s) AS %s)",
						 i > 0 ? " AND " : "", quote_identifier(row.key_columns[i]),
						 quote_literal_cstr(row.key_columns[i]),
						 format_type_extended(base, -1, FORMAT_TYPE_FORCE_QUALIFY));
	}
	appendStringInfoString(&sql, " LIMIT 1");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "hitl: SPI_connect failed");
	rc->plan = SPI_prepare(sql.data, 1, argtypes);
	if (rc->plan == NULL)
		elog(ERROR, "hitl: preparing the row check of model \"%s\" failed: %s",
			 rc->model, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(rc->plan) != 0)
		elog(ERROR, "hitl: keeping the row check of model \"%s\" failed", rc->model);
	SPI_finish();
	rc->usable = true;
}

/* Run a row check, counted in rowcheck_depth while it runs */
static int
rowcheck_run(SPIPlanPtr plan, Datum row_key)
{
	int			ret;

	rowcheck_depth++;
	PG_TRY();
	{
		ret = SPI_execute_plan(plan, &row_key, NULL, true, 1);
	}
	PG_FINALLY();
	{
		rowcheck_depth--;
	}
	PG_END_TRY();
	return ret;
}

/* The cached check of a model's rows, built when missing */
static RowCheck *
rowcheck_get(const char *model)
{
	RowCheck   *rc;
	bool		found;

	find_tables();
	if (!rowcheck_callback_registered)
	{
		CacheRegisterRelcacheCallback(rowcheck_relcache_callback, (Datum) 0);
		rowcheck_callback_registered = true;
	}
	if (rowcheck_stale && rowcheck_depth == 0)
		rowcheck_reset();
	if (rowcheck_cache == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = HITL_MODEL_NAME_LEN;
		ctl.entrysize = sizeof(RowCheck);
		rowcheck_cache = hash_create("hitl row checks", 16, &ctl, HASH_ELEM | HASH_STRINGS);
	}
	rc = hash_search(rowcheck_cache, model, HASH_FIND, NULL);
	if (rc != NULL)
		return rc;

	/* build first, so that an error leaves no half-made entry */
	{
		RowCheck	built;

		memset(&built, 0, sizeof(built));
		strlcpy(built.model, model, HITL_MODEL_NAME_LEN);
		rowcheck_build(&built);
		rc = hash_search(rowcheck_cache, model, HASH_ENTER, &found);
		memcpy(rc, &built, sizeof(RowCheck));
	}
	return rc;
}

/*
 * hitl._source_row_visible(model, row_key): may the current role see the
 * row of the model's table that row_key names?  The row is looked up as the
 * current role, so the table's row-level security decides; a role that may
 * not read the key columns sees no row.  The policies of hitl.label_log and
 * hitl.queue call this only for tables where row-level security applies to
 * the reader.
 */
Datum
hitl_source_row_visible(PG_FUNCTION_ARGS)
{
	text	   *model = PG_GETARG_TEXT_PP(0);
	Datum		row_key = PG_GETARG_DATUM(1);
	char		name[HITL_MODEL_NAME_LEN];
	RowCheck   *rc;
	Oid			user = GetUserId();
	bool		found;
	int			ret;
	int			i;

	if (VARSIZE_ANY_EXHDR(model) >= HITL_MODEL_NAME_LEN)
		PG_RETURN_BOOL(false);	/* no model has such a name */
	text_to_cstring_buffer(model, name, HITL_MODEL_NAME_LEN);
	rc = rowcheck_get(name);
	if (!rc->usable)
		PG_RETURN_BOOL(false);
	if (pg_class_aclcheck(rc->source, user, ACL_SELECT) != ACLCHECK_OK)
	{
		for (i = 0; i < rc->nkeys; i++)
			if (pg_attribute_aclcheck(rc->source, rc->attnums[i], user, ACL_SELECT) != ACLCHECK_OK)
				PG_RETURN_BOOL(false);
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "hitl: SPI_connect failed");
	ret = rowcheck_run(rc->plan, row_key);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "hitl: checking a row of model \"%s\" failed: %s",
			 name, SPI_result_code_string(ret));
	found = SPI_processed > 0;
	SPI_finish();
	PG_RETURN_BOOL(found);
}

/*
 * The first class of a version that is no longer a value of the model's
 * label type, or NULL.  Classes are stored as text; an enum value renamed
 * (ALTER TYPE ... RENAME VALUE) or dropped leaves a class that no label can
 * take any more and that cannot be written into the prediction column.
 * Only enums (or domains over them) can lose values; the lookup runs no
 * code of the type.
 */
const char *
label_missing_class(Oid source, const char *label_column, int n_classes, char **classes)
{
	AttrNumber	attnum = get_attnum(source, label_column);
	Oid			base;
	int			i;

	if (attnum == InvalidAttrNumber)
		return NULL;
	base = getBaseType(get_atttype(source, attnum));
	if (!type_is_enum(base))
		return NULL;
	for (i = 0; i < n_classes; i++)
		if (strlen(classes[i]) >= NAMEDATALEN ||
			!SearchSysCacheExists2(ENUMTYPOIDNAME, ObjectIdGetDatum(base),
								   CStringGetDatum(classes[i])))
			return classes[i];
	return NULL;
}

/* ------------------------------------------------------------------------
 * The trigger
 * ------------------------------------------------------------------------ */

/*
 * hitl._label_trigger(model): the label triggers of a model, told apart by
 * event and level (see hitl._attach_label_triggers).
 */
Datum
hitl_label_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TriggerEvent event;
	const char *model;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("hitl._label_trigger() must be called as a trigger")));
	event = trigdata->tg_event;
	if (!TRIGGER_FIRED_AFTER(event) || trigdata->tg_trigger->tgnargs != 1 ||
		(TRIGGER_FIRED_FOR_ROW(event) && !TRIGGER_FIRED_BY_UPDATE(event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\" of table \"%s\" cannot use hitl._label_trigger()",
						trigdata->tg_trigger->tgname,
						RelationGetRelationName(trigdata->tg_relation)),
				 errdetail("Label triggers fire AFTER, per statement or per row on UPDATE, with the model's name as their argument."),
				 errhint("hitl.create_model() makes them.")));
	model = trigdata->tg_trigger->tgargs[0];
	register_callbacks();

	/*
	 * The only code run here that is not hitl's is a cast of a key or label
	 * to jsonb or text, which could be a user's function; one that changed
	 * labels would find a log half written.
	 */
	if (in_label_trigger)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("labels of hitl model \"%s\" cannot change while hitl writes its label log",
						model),
				 errdetail("A cast of a key or label column to jsonb or text changed labels.")));
	in_label_trigger = true;
	PG_TRY();
	{
		if (TRIGGER_FIRED_BY_UPDATE(event))
		{
			if (TRIGGER_FIRED_FOR_ROW(event))
				keep_update(trigdata, model);
			else
				flush_update(trigdata, model);
		}
		else if (TRIGGER_FIRED_BY_INSERT(event))
			log_transition_table(trigdata, model, true);
		else if (TRIGGER_FIRED_BY_DELETE(event))
			log_transition_table(trigdata, model, false);
		else if (TRIGGER_FIRED_BY_TRUNCATE(event))
			hitl_wake_at_commit(RelationGetRelid(trigdata->tg_relation));
	}
	PG_FINALLY();
	{
		in_label_trigger = false;
	}
	PG_END_TRY();

	return PointerGetDatum(NULL);
}
