/*
 * labels.c
 *		The label log: the triggers on a model's table that record every
 *		label change in hitl.label_log, and wake the database's worker when
 *		the transaction commits.
 *
 * Inserted and deleted rows are logged by statement triggers with
 * transition tables: one INSERT ... SELECT per statement, however many
 * rows it touched.  Label updates cannot be logged that way: PostgreSQL
 * allows no transition table on an UPDATE OF column trigger, and without
 * the column list every scoring UPDATE would fill one.  So a row trigger,
 * which fires only when the label changed, keeps what the log needs in
 * memory, and a statement trigger on the same UPDATE writes all of it with
 * one INSERT from arrays.  Scoring UPDATEs set no label and fire neither.
 *
 * The kept changes belong to the (sub)transaction that made them: a
 * subtransaction that aborts takes its changes along, a statement writes
 * only the changes of its own subtransaction level, and anything left
 * when the transaction commits (an UPDATE through a parent table fires no
 * statement trigger on the child) is written then.
 *
 * The log is written as the table's owner, as PostgreSQL's foreign-key
 * triggers do: a role that may change the labels need not see hitl's
 * tables.  The role recorded is the one that changed the labels.  No
 * training happens here; the worker is woken at commit, never before.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "hitl.h"
#include "labels.h"
#include "shared.h"

/* model names are at most 50 bytes (a CHECK of hitl.models) */
#define MODEL_NAME_LEN 64

/* the transition tables, as the triggers name them */
#define NEW_ROWS "hitl_new"
#define OLD_ROWS "hitl_old"

/* The INSERTs into hitl.label_log, one plan each per model */
typedef enum LogKind
{
	LOG_INSERTED,				/* rows inserted with a label */
	LOG_DELETED,				/* labeled rows deleted */
	LOG_UPDATED,				/* labels changed, kept by the row trigger */
	LOG_KINDS
} LogKind;

/* A column of the model's table the triggers read */
typedef struct LabelColumn
{
	char	   *name;
	AttrNumber	attnum;
	Oid			typid;
	Oid			arraytypid;
	int16		typlen;
	bool		typbyval;
	char		typalign;
} LabelColumn;

/*
 * What the triggers know of a model on a table, cached per backend until
 * hitl.models or the table changes (relcache invalidation).
 */
typedef struct LabelInfoKey
{
	char		model[MODEL_NAME_LEN];
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
	SPIPlanPtr	plans[LOG_KINDS];
} LabelInfo;

static MemoryContext info_cxt = NULL;
static HTAB *info_cache = NULL;
static bool info_stale = false;
static Oid	models_relid = InvalidOid;

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
	char		model[MODEL_NAME_LEN];
	Oid			relid;
	bool		usable;
	int			nkeys;
	int			nvalues;		/* nkeys + 4 */
	LabelColumn columns[INDEX_MAX_KEYS + 4];	/* names not kept */
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

/* The identity the log is written with, and the one to return to */
typedef struct SavedUser
{
	Oid			userid;
	int			sec_context;
} SavedUser;

PG_FUNCTION_INFO_V1(hitl_label_trigger);

static void
check_spi(int ret, int expected, const char *what)
{
	if (ret != expected)
		elog(ERROR, "hitl: %s failed: %s", what, SPI_result_code_string(ret));
}

/* Act as the table's owner until restore_user() */
static void
become_owner(Relation rel, SavedUser *saved)
{
	GetUserIdAndSecContext(&saved->userid, &saved->sec_context);
	SetUserIdAndSecContext(rel->rd_rel->relowner,
						   saved->sec_context | SECURITY_LOCAL_USERID_CHANGE);
}

static void
restore_user(const SavedUser *saved)
{
	SetUserIdAndSecContext(saved->userid, saved->sec_context);
}

/* ------------------------------------------------------------------------
 * The per-backend cache of models
 * ------------------------------------------------------------------------ */

/*
 * Relcache callback: hitl.models changed (its trigger sends an
 * invalidation), a cached model's table changed, or everything was reset.
 * Only a flag is set here; the cache is rebuilt at the next lookup.
 */
static void
label_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	LabelInfo  *info;

	if (info_cache == NULL || info_stale)
		return;
	if (relid == InvalidOid || relid == models_relid)
	{
		info_stale = true;
		return;
	}
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
	if (info_cache != NULL)
	{
		HASH_SEQ_STATUS status;
		LabelInfo  *info;
		int			k;

		hash_seq_init(&status, info_cache);
		while ((info = hash_seq_search(&status)) != NULL)
			for (k = 0; k < LOG_KINDS; k++)
				if (info->plans[k] != NULL)
					SPI_freeplan(info->plans[k]);
	}
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
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
		return false;
	col->name = MemoryContextStrdup(info_cxt, name);
	col->attnum = attnum;
	col->typid = TupleDescAttr(desc, attnum - 1)->atttypid;
	col->arraytypid = get_array_type(col->typid);
	get_typlenbyvalalign(col->typid, &col->typlen, &col->typbyval, &col->typalign);
	return OidIsValid(col->arraytypid);
}

/*
 * Read a model from hitl.models and find its columns in the table.  The
 * model is not usable when it does not exist, belongs to another table, is
 * broken, or names a column the table does not have any more.  Call as the
 * table's owner, inside SPI.
 */
static void
info_read(LabelInfo *info, Relation rel)
{
	static const char *sql =
		"SELECT m.source::pg_catalog.oid, m.status, m.label_column, m.key_columns,"
		" m.prediction_column, m.confidence_column"
		" FROM hitl.models m WHERE m.name OPERATOR(pg_catalog.=) $1";
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	HeapTuple	tuple;
	TupleDesc	desc;
	bool		isnull;
	Datum	   *keys;
	int			nkeys;
	char	   *status;
	int			ret;
	int			i;

	info->usable = false;
	args[0] = CStringGetTextDatum(info->key.model);
	ret = SPI_execute_with_args(sql, 1, argtypes, args, NULL, true, 1);
	check_spi(ret, SPI_OK_SELECT, "reading hitl.models");
	if (SPI_processed != 1)
		return;
	tuple = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	if (DatumGetObjectId(SPI_getbinval(tuple, desc, 1, &isnull)) != info->key.relid)
		return;
	status = SPI_getvalue(tuple, desc, 2);
	if (status == NULL || strcmp(status, "broken") == 0)
		return;

	deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 4, &isnull)),
					  NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR,
					  &keys, NULL, &nkeys);
	if (nkeys < 1 || nkeys > INDEX_MAX_KEYS)
		return;
	info->nkeys = nkeys;
	for (i = 0; i < nkeys; i++)
		if (!resolve_column(rel, NameStr(*DatumGetName(keys[i])), &info->keys[i]))
			return;
	if (!resolve_column(rel, SPI_getvalue(tuple, desc, 3), &info->label) ||
		!resolve_column(rel, SPI_getvalue(tuple, desc, 5), &info->prediction) ||
		!resolve_column(rel, SPI_getvalue(tuple, desc, 6), &info->confidence))
		return;
	info->usable = true;
}

/*
 * The cached model of that name on that table, read (as the table's owner)
 * when missing.
 */
static LabelInfo *
label_info(const char *model, Relation rel)
{
	LabelInfoKey key;
	LabelInfo  *info;
	LabelInfo	loaded;
	SavedUser	saved;
	bool		found;
	int			ret;

	if (!callbacks_registered)
		elog(ERROR, "hitl: label callbacks are not registered");
	if (info_stale)
		info_cache_reset();
	if (info_cache == NULL)
	{
		HASHCTL		ctl;
		Oid			nsp = get_namespace_oid(HITL_SCHEMA, false);

		models_relid = get_relname_relid("models", nsp);
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
	strlcpy(key.model, model, MODEL_NAME_LEN);
	key.relid = RelationGetRelid(rel);
	info = hash_search(info_cache, &key, HASH_FIND, NULL);
	if (info != NULL)
		return info;

	/* read first, so that an error leaves no half-made entry */
	memset(&loaded, 0, sizeof(loaded));
	loaded.key = key;
	become_owner(rel, &saved);
	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "hitl: SPI_connect failed: %s", SPI_result_code_string(ret));
	info_read(&loaded, rel);
	SPI_finish();
	restore_user(&saved);
	info = hash_search(info_cache, &key, HASH_ENTER, &found);
	memcpy(info, &loaded, sizeof(LabelInfo));
	return info;
}

/* ------------------------------------------------------------------------
 * Writing the log
 * ------------------------------------------------------------------------ */

/* The INSERT target and the columns every kind of entry shares */
static void
append_insert_head(StringInfo sql)
{
	appendStringInfoString(sql,
						   "INSERT INTO hitl.label_log (model, row_key, old_label, new_label, role,"
						   " model_version, prediction, confidence)"
						   " SELECT $1, pg_catalog.jsonb_build_object(");
}

/* the model's version, read once per statement (an InitPlan) */
#define VERSION_SUBQUERY \
	"(SELECT m.current_version FROM hitl.models m WHERE m.name OPERATOR(pg_catalog.=) $1)"

/*
 * The INSERT logging the labeled rows of a transition table: the
 * arguments are the model's name and the role that changed the rows.
 */
static char *
transition_sql(const LabelInfo *info, bool inserted)
{
	StringInfoData sql;
	const char *label = quote_identifier(info->label.name);
	int			i;

	initStringInfo(&sql);
	append_insert_head(&sql);
	for (i = 0; i < info->nkeys; i++)
		appendStringInfo(&sql, "%s%s, t.%s", i > 0 ? ", " : "",
						 quote_literal_cstr(info->keys[i].name),
						 quote_identifier(info->keys[i].name));
	appendStringInfo(&sql, "), %s, %s, $2::pg_catalog.name, " VERSION_SUBQUERY ","
					 " t.%s::pg_catalog.text, t.%s::pg_catalog.float8"
					 " FROM %s t WHERE t.%s IS NOT NULL",
					 inserted ? "NULL" : psprintf("t.%s::pg_catalog.text", label),
					 inserted ? psprintf("t.%s::pg_catalog.text", label) : "NULL",
					 quote_identifier(info->prediction.name),
					 quote_identifier(info->confidence.name),
					 inserted ? NEW_ROWS : OLD_ROWS, label);
	return sql.data;
}

/*
 * The INSERT logging kept label changes: the arguments are the model's
 * name, the role, then one array per kept value (see LabelBuffer).
 */
static char *
update_sql(const LabelInfo *info)
{
	StringInfoData sql;
	int			nvalues = info->nkeys + 4;
	int			i;

	initStringInfo(&sql);
	append_insert_head(&sql);
	for (i = 0; i < info->nkeys; i++)
		appendStringInfo(&sql, "%s%s, u.k%d", i > 0 ? ", " : "",
						 quote_literal_cstr(info->keys[i].name), i + 1);
	appendStringInfoString(&sql,
						   "), u.o::pg_catalog.text, u.n::pg_catalog.text, $2::pg_catalog.name, "
						   VERSION_SUBQUERY ", u.p::pg_catalog.text, u.c::pg_catalog.float8"
						   " FROM ROWS FROM (");
	for (i = 0; i < nvalues; i++)
		appendStringInfo(&sql, "%spg_catalog.unnest($%d)", i > 0 ? ", " : "", i + 3);
	appendStringInfoString(&sql, ") AS u(");
	for (i = 0; i < info->nkeys; i++)
		appendStringInfo(&sql, "k%d, ", i + 1);
	appendStringInfoString(&sql, "o, n, p, c)");
	return sql.data;
}

/* The plan of one kind of INSERT for a model, prepared once */
static SPIPlanPtr
log_plan(LabelInfo *info, LogKind kind)
{
	Oid			argtypes[INDEX_MAX_KEYS + 6];
	int			nargs = 2;
	char	   *sql;
	SPIPlanPtr	plan;
	int			i;

	if (info->plans[kind] != NULL)
		return info->plans[kind];

	argtypes[0] = TEXTOID;
	argtypes[1] = TEXTOID;
	if (kind == LOG_UPDATED)
	{
		for (i = 0; i < info->nkeys; i++)
			argtypes[nargs++] = info->keys[i].arraytypid;
		argtypes[nargs++] = info->label.arraytypid;
		argtypes[nargs++] = info->label.arraytypid;
		argtypes[nargs++] = info->prediction.arraytypid;
		argtypes[nargs++] = info->confidence.arraytypid;
		sql = update_sql(info);
	}
	else
		sql = transition_sql(info, kind == LOG_INSERTED);

	plan = SPI_prepare(sql, nargs, argtypes);
	if (plan == NULL)
		elog(ERROR, "hitl: preparing the label log INSERT failed: %s",
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "hitl: keeping the label log plan failed");
	info->plans[kind] = plan;
	return plan;
}

/* The name of the role now acting, as a text Datum */
static Datum
current_role_text(const SavedUser *saved)
{
	return CStringGetTextDatum(GetUserNameFromId(saved->userid, false));
}

/*
 * Statement trigger after INSERT or DELETE: log the rows of the transition
 * table that carry a label, with one INSERT ... SELECT.
 */
static void
log_transition_table(TriggerData *trigdata, const char *model, bool inserted)
{
	Tuplestorestate *rows = inserted ? trigdata->tg_newtable : trigdata->tg_oldtable;
	LabelInfo  *info;
	SavedUser	saved;
	Datum		args[2];
	int			ret;

	if (rows == NULL || tuplestore_tuple_count(rows) == 0)
		return;
	hitl_wake_at_commit();

	become_owner(trigdata->tg_relation, &saved);
	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "hitl: SPI_connect failed: %s", SPI_result_code_string(ret));
	info = label_info(model, trigdata->tg_relation);
	if (info->usable)
	{
		SPIPlanPtr	plan;

		/* the plan reads the transition table: register it first */
		check_spi(SPI_register_trigger_data(trigdata), SPI_OK_TD_REGISTER,
				  "registering the transition table");
		plan = log_plan(info, inserted ? LOG_INSERTED : LOG_DELETED);
		args[0] = CStringGetTextDatum(model);
		args[1] = current_role_text(&saved);
		ret = SPI_execute_plan(plan, args, NULL, false, 0);
		check_spi(ret, SPI_OK_INSERT, "writing hitl.label_log");
	}
	SPI_finish();
	restore_user(&saved);
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
	for (i = 0; i < buf->nvalues; i++)
		buf->columns[i].name = NULL;	/* the cache may go; names are not needed */
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
		strlcpy(buf->model, model, MODEL_NAME_LEN);
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
		int			capacity = buf->capacity == 0 ? 64 : buf->capacity * 2;

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
 * deeper ones, which have all ended), with one INSERT per
 * HITL_LABEL_FLUSH_ROWS changes.
 */
static void
flush_buffer(LabelBuffer *buf, Relation rel, int level)
{
	int			start = buf->n;
	LabelInfo  *info;
	SavedUser	saved;
	int			ret;

	while (start > 0 && buf->levels[start - 1] >= level)
		start--;
	if (start == buf->n)
		return;
	hitl_wake_at_commit();

	become_owner(rel, &saved);
	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "hitl: SPI_connect failed: %s", SPI_result_code_string(ret));
	info = label_info(buf->model, rel);
	if (buffer_matches(buf, info))
	{
		SPIPlanPtr	plan = log_plan(info, LOG_UPDATED);
		Datum		args[INDEX_MAX_KEYS + 6];
		int			from;
		int			i;

		args[0] = CStringGetTextDatum(buf->model);
		args[1] = current_role_text(&saved);
		for (from = start; from < buf->n; from += HITL_LABEL_FLUSH_ROWS)
		{
			int			count = Min(buf->n - from, HITL_LABEL_FLUSH_ROWS);
			int			lbound = 1;

			for (i = 0; i < buf->nvalues; i++)
			{
				const LabelColumn *col = &buf->columns[i];

				args[i + 2] = PointerGetDatum(construct_md_array(buf->values[i] + from,
																 buf->nulls[i] + from,
																 1, &count, &lbound,
																 col->typid, col->typlen,
																 col->typbyval, col->typalign));
			}
			ret = SPI_execute_plan(plan, args, NULL, false, 0);
			check_spi(ret, SPI_OK_INSERT, "writing hitl.label_log");
			for (i = 0; i < buf->nvalues; i++)
				pfree(DatumGetPointer(args[i + 2]));
		}
	}
	else if (info->usable)
		ereport(WARNING,
				(errmsg("label changes of model \"%s\" were not logged", buf->model),
				 errdetail("The table changed while the statement ran.")));
	SPI_finish();
	restore_user(&saved);

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
		flush_buffer(buf, rel, 1);
		relation_close(rel, AccessShareLock);
	}
}

static void
label_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			flush_all_buffers();
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
		elog(ERROR, "hitl_label_trigger: not called by trigger manager");
	event = trigdata->tg_event;
	if (!TRIGGER_FIRED_AFTER(event) || trigdata->tg_trigger->tgnargs != 1)
		elog(ERROR, "hitl_label_trigger: must fire AFTER, with the model's name as argument");
	model = trigdata->tg_trigger->tgargs[0];
	register_callbacks();

	if (TRIGGER_FIRED_BY_UPDATE(event))
	{
		if (TRIGGER_FIRED_FOR_ROW(event))
			keep_update(trigdata, model);
		else
			flush_update(trigdata, model);
	}
	else if (TRIGGER_FIRED_FOR_ROW(event))
		elog(ERROR, "hitl_label_trigger: fires per row on UPDATE only");
	else if (TRIGGER_FIRED_BY_INSERT(event))
		log_transition_table(trigdata, model, true);
	else if (TRIGGER_FIRED_BY_DELETE(event))
		log_transition_table(trigdata, model, false);
	else if (TRIGGER_FIRED_BY_TRUNCATE(event))
		hitl_wake_at_commit();

	return PointerGetDatum(NULL);
}
