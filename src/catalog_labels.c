/*
 * catalog_labels.c
 *		hitl.models and hitl.label_log as the label triggers and the row
 *		check read them (declared at the end of catalog.h).
 *
 * A label trigger runs as whichever role changed labels, a role that may
 * see no row of hitl.models (its row-level security) and may hold no
 * privilege on it.  The triggers still need their model's row, so it is
 * read here directly from the heap, through the primary key, with the
 * active snapshot: no SQL runs, no policy applies, no code of any role is
 * called.  The same read serves the row check of hitl._source_row_visible,
 * which runs inside the policies of hitl.label_log and hitl.queue and must
 * not query hitl.models through SQL (its policy would apply again).
 *
 * The relations, columns, sequence and index of hitl.models and
 * hitl.label_log are found once per backend and again after a relcache
 * invalidation of either table or of all relations; the callback that
 * forgets them is beside them here.  The label log's rows are written by
 * its one writer, label_log.c, with what catalog_label_log_table() finds.
 *
 * The check of who may attach a model's label triggers reads hitl.models
 * through SQL, as the calling role, so that hitl's row-level security
 * decides which models it sees.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "catalog.h"
#include "compat.h"
#include "hitl.h"
#include "spi_check.h"

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
	MODEL_OWNER,
	MODEL_OPTIONS,
	MODEL_NCOLUMNS
};

static const char *const model_column_names[MODEL_NCOLUMNS] = {
	"name", "source", "status", "label_column", "key_columns",
	"prediction_column", "confidence_column", "current_version", "owner", "options"
};

static const char *const log_column_names[LABEL_LOG_NCOLUMNS] = {
	"id", "model", "row_key", "old_label", "new_label", "role", "at", "txid",
	"model_version", "prediction", "confidence"
};

/*
 * hitl.models and hitl.label_log, found once per backend (and again after
 * they change).  The relids stay set when valid is cleared: the
 * invalidation callbacks of the label caches compare with them.
 */
typedef struct HitlTables
{
	bool		valid;
	Oid			models_relid;
	Oid			models_pkey;
	AttrNumber	models_attnum[MODEL_NCOLUMNS];
	LabelLogTable log;
} HitlTables;

static HitlTables tables;
static bool tables_callback_registered = false;

static void tables_relcache_callback(Datum arg, Oid relid);
static AttrNumber column_of(Oid relid, const char *name);
static void find_tables(void);
static char *string_attr(HeapTuple tuple, TupleDesc desc, int column, MemoryContext cxt);
static void model_row_fill(LabelModelRow *row, HeapTuple tuple, TupleDesc desc,
						   MemoryContext cxt);

/*
 * Relcache callback: forget the tables when hitl.models or hitl.label_log
 * changed, or every relation was reset.  Reads nothing.
 */
static void
tables_relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == tables.models_relid ||
		relid == tables.log.relid)
		tables.valid = false;
}

/* A column's number; a missing column of hitl's tables can't happen */
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
	Relation	log;
	Relation	models;
	int			i;

	if (tables.valid)
		return;
	if (!tables_callback_registered)
	{
		CacheRegisterRelcacheCallback(tables_relcache_callback, (Datum) 0);
		tables_callback_registered = true;
	}
	nsp = get_namespace_oid(HITL_SCHEMA, false);
	tables.log.relid = get_relname_relid("label_log", nsp);
	tables.models_relid = get_relname_relid("models", nsp);
	if (!OidIsValid(tables.log.relid) || !OidIsValid(tables.models_relid))
		elog(ERROR, "hitl: hitl.label_log or hitl.models is missing");
	for (i = 0; i < LABEL_LOG_NCOLUMNS; i++)
		tables.log.attnum[i] = column_of(tables.log.relid, log_column_names[i]);
	for (i = 0; i < MODEL_NCOLUMNS; i++)
		tables.models_attnum[i] = column_of(tables.models_relid, model_column_names[i]);
	log = table_open(tables.log.relid, AccessShareLock);
	tables.log.seqid = hitl_identity_sequence(log, tables.log.attnum[LABEL_LOG_ID],
											  false);
	table_close(log, AccessShareLock);
	models = table_open(tables.models_relid, AccessShareLock);
	tables.models_pkey = hitl_primary_key_index(models);
	table_close(models, AccessShareLock);
	if (!OidIsValid(tables.models_pkey))
		elog(ERROR, "hitl: hitl.models has no primary key");
	tables.valid = true;
}

/* hitl.label_log's relation, sequence and columns */
const LabelLogTable *
catalog_label_log_table(void)
{
	find_tables();
	return &tables.log;
}

/* Is relid hitl.models, as last found? */
bool
catalog_is_models_table(Oid relid)
{
	return OidIsValid(relid) && relid == tables.models_relid;
}

/* The value of a text or name column of a tuple as a string, or NULL */
static char *
string_attr(HeapTuple tuple, TupleDesc desc, int column, MemoryContext cxt)
{
	AttrNumber	attnum = tables.models_attnum[column];
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnum, desc, &isnull);

	if (isnull)
		return NULL;
	if (TupleDescAttr(desc, attnum - 1)->atttypid == NAMEOID)
		return MemoryContextStrdup(cxt, NameStr(*DatumGetName(d)));
	return MemoryContextStrdup(cxt, TextDatumGetCString(d));
}

/* Fill in a model's row from its tuple of hitl.models, copied into cxt */
static void
model_row_fill(LabelModelRow *row, HeapTuple tuple, TupleDesc desc, MemoryContext cxt)
{
	bool		isnull;
	Datum		d;
	char	   *status;

	row->source = DatumGetObjectId(heap_getattr(tuple, tables.models_attnum[MODEL_SOURCE],
												desc, &isnull));
	status = string_attr(tuple, desc, MODEL_STATUS, cxt);
	row->status = status == NULL ? MODEL_BROKEN : catalog_status_parse(status);
	row->label_column = string_attr(tuple, desc, MODEL_LABEL_COLUMN, cxt);
	row->prediction_column = string_attr(tuple, desc, MODEL_PREDICTION_COLUMN, cxt);
	row->confidence_column = string_attr(tuple, desc, MODEL_CONFIDENCE_COLUMN, cxt);
	d = heap_getattr(tuple, tables.models_attnum[MODEL_CURRENT_VERSION], desc,
					 &row->version_null);
	row->version = row->version_null ? 0 : DatumGetInt32(d);
	/* a regrole before 0.2.0 (a library newer than the database's SQL) */
	d = heap_getattr(tuple, tables.models_attnum[MODEL_OWNER], desc, &isnull);
	if (isnull)
		row->owner = NULL;
	else if (TupleDescAttr(desc, tables.models_attnum[MODEL_OWNER] - 1)->atttypid == REGROLEOID)
		row->owner = MemoryContextStrdup(cxt, GetUserNameFromId(DatumGetObjectId(d), true) ?
										 GetUserNameFromId(DatumGetObjectId(d), true) : "");
	else
		row->owner = string_attr(tuple, desc, MODEL_OWNER, cxt);
	row->annotators = 1;
	d = heap_getattr(tuple, tables.models_attnum[MODEL_OPTIONS], desc, &isnull);
	if (!isnull)
	{
		Datum		k = PointerGetDatum(NULL);

		if (DatumGetBool(DirectFunctionCall2(jsonb_exists, d,
											 CStringGetTextDatum("annotators_per_row"))))
			k = DirectFunctionCall2(jsonb_object_field_text, d,
									CStringGetTextDatum("annotators_per_row"));
		if (DatumGetPointer(k) != NULL)
			row->annotators = pg_strtoint32(TextDatumGetCString(k));
	}
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

/*
 * Read a model's row of hitl.models, as the active snapshot sees it, past
 * row-level security.  False when there is none.
 */
bool
catalog_label_model(const char *model, LabelModelRow *row, MemoryContext cxt)
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
		found = true;
		model_row_fill(row, tuple, RelationGetDescr(models), cxt);
	}
	systable_endscan(scan);
	index_close(pkey, AccessShareLock);
	table_close(models, AccessShareLock);
	return found;
}

/*
 * May the current role attach the label triggers of a model?  The rule for
 * changing a model: a member of its owner, or a role that may update its
 * table.  A model the role does not see is no model.
 */
LabelTriggerRight
catalog_label_trigger_right(const char *model)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(model)};
	bool		isnull;
	bool		allowed;

	hitl_spi_check(SPI_execute_with_args("SELECT pg_catalog.pg_has_role(m.owner, 'USAGE')"
										 " OR pg_catalog.has_table_privilege(m.source, 'UPDATE')"
										 " FROM hitl.models m WHERE m.name OPERATOR(pg_catalog.=) $1",
										 1, argtypes, values, NULL, true, 1),
				   SPI_OK_SELECT, "reading hitl.models");
	if (SPI_processed == 0)
		return LABEL_TRIGGER_NO_MODEL;
	allowed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										 1, &isnull));
	return (!isnull && allowed) ? LABEL_TRIGGER_ALLOWED : LABEL_TRIGGER_DENIED;
}
