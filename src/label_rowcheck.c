/*
 * label_rowcheck.c
 *		hitl._source_row_visible(model, row_key): what a reader may see of
 *		the rows the label log and the review queue are about.
 *
 * The read policies of hitl.label_log and hitl.queue show an entry of a
 * table with row-level security only when the reader sees its row (see
 * sql/0.2.0/30-labels.sql): the row is looked up by its key, as the
 * reader, so that the table's own policies decide.  The lookup is a plan
 * kept per model and backend, built from the model's row of hitl.models
 * (read past row-level security by catalog_labels.c: this runs inside the
 * policies of hitl's tables) and the table's key columns.  The relcache
 * callback that forgets the plans is here, beside them.
 */
#include "postgres.h"

#include "access/transam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "hitl.h"
#include "labels.h"
#include "spi_check.h"

PG_FUNCTION_INFO_V1(hitl_source_row_visible);

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

static void rowcheck_relcache_callback(Datum arg, Oid relid);
static void rowcheck_reset(void);
static bool rowcheck_sql(RowCheck *rc, const LabelModelRow *row, StringInfo sql);
static void rowcheck_build(RowCheck *rc);
static int	rowcheck_run(SPIPlanPtr plan, Datum row_key);
static RowCheck *rowcheck_get(const char *model);

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
	if (relid == InvalidOid || catalog_is_models_table(relid))
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

/* Free the plans and the cache */
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
 * The lookup of a model's row by its key: each key column compared to the
 * row key's text cast to the column's base type.  Only built-in base types
 * are compared (their input functions and equality operators are
 * PostgreSQL's): a domain's CHECK, a user type's input function or a
 * user's cast or operator would run as every reader.  Operators and types
 * are named with their schema.  False when a key column is missing or of
 * another type.
 */
static bool
rowcheck_sql(RowCheck *rc, const LabelModelRow *row, StringInfo sql)
{
	int			i;

	appendStringInfo(sql, "SELECT 1 FROM %s t WHERE ",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(row->source)),
												get_rel_name(row->source)));
	for (i = 0; i < row->nkeys; i++)
	{
		AttrNumber	attnum = get_attnum(row->source, row->key_columns[i]);
		Oid			base;

		if (attnum == InvalidAttrNumber)
			return false;
		base = getBaseType(get_atttype(row->source, attnum));
		if (base >= FirstNormalObjectId)
			return false;
		rc->attnums[i] = attnum;
		appendStringInfo(sql,
						 "%st.%s OPERATOR(pg_catalog.=) CAST(($1 OPERATOR(pg_catalog.->>) %s) AS %s)",
						 i > 0 ? " AND " : "", quote_identifier(row->key_columns[i]),
						 quote_literal_cstr(row->key_columns[i]),
						 format_type_extended(base, -1, FORMAT_TYPE_FORCE_QUALIFY));
	}
	appendStringInfoString(sql, " LIMIT 1");
	return true;
}

/* Build the check of a model's rows (unusable when it cannot have one) */
static void
rowcheck_build(RowCheck *rc)
{
	LabelModelRow row;
	StringInfoData sql;
	Oid			argtypes[1] = {JSONBOID};

	rc->usable = false;
	rc->plan = NULL;
	rc->source = InvalidOid;
	if (!catalog_label_model(rc->model, &row, CurrentMemoryContext) ||
		row.nkeys < 1 || row.nkeys > INDEX_MAX_KEYS ||
		!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(row.source)))
		return;
	rc->source = row.source;
	rc->nkeys = row.nkeys;

	initStringInfo(&sql);
	if (!rowcheck_sql(rc, &row, &sql))
		return;

	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	rc->plan = SPI_prepare(sql.data, 1, argtypes);
	if (rc->plan == NULL)
		hitl_spi_check(SPI_result, SPI_OK_SELECT, "preparing the row check");
	hitl_spi_check(SPI_keepplan(rc->plan), 0, "keeping the row check");
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
	RowCheck	built;
	RowCheck   *rc;
	bool		found;

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
	memset(&built, 0, sizeof(built));
	strlcpy(built.model, model, HITL_MODEL_NAME_LEN);
	rowcheck_build(&built);
	rc = hash_search(rowcheck_cache, model, HASH_ENTER, &found);
	memcpy(rc, &built, sizeof(RowCheck));
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

	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	hitl_spi_check(rowcheck_run(rc->plan, row_key), SPI_OK_SELECT, "checking a row");
	found = SPI_processed > 0;
	SPI_finish();
	PG_RETURN_BOOL(found);
}
