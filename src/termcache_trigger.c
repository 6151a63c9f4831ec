/*
 * termcache_trigger.c
 *		hitl._term_cache_trigger(): the BEFORE INSERT OR UPDATE OF <text
 *		columns>, <cache column> row trigger that writes a row's cached term
 *		counts (see termcache.h).
 *
 * It runs as whoever writes the table, so it runs no SQL and calls no
 * function a user could define or shadow: its arguments give everything,
 * the configuration's name schema-qualified (resolved without search_path)
 * and the columns by name (resolved in the table's descriptor).  What it
 * resolves is kept for the statement in fn_extra.
 *
 * Arguments: model name, configuration (qualified), bigrams (t/f), buckets,
 * signed counts (t/f), max_text_bytes, cache column, then the text columns
 * in the order of the model's feature columns.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "tsearch/ts_cache.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/rel.h"

#include "compat.h"
#include "termcache.h"

#define TRIGGER_FIXED_ARGS 7

/* What a statement's calls share */
typedef struct TriggerState
{
	Oid			trigger;		/* whose arguments these are */
	TextOptions opts;
	uint64		fingerprint;
	int			cache_attnum;
	int			ntext;
	int		   *text_attnums;
	TermBag		bag;
} TriggerState;

static int	column_number(Relation rel, const char *name, const char *model);
static TriggerState *trigger_state(FunctionCallInfo fcinfo, TriggerData *td);

/* A column's number in rel, or an error naming the model */
static int
column_number(Relation rel, const char *name, const char *model)
{
	int			attnum = SPI_fnumber(RelationGetDescr(rel), name);

	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of the term cache of model \"%s\" does not exist",
						name, model),
				 errhint("Drop the model with hitl.drop_model() and create it again.")));
	return attnum;
}

/* The statement's state, resolved at its first row */
static TriggerState *
trigger_state(FunctionCallInfo fcinfo, TriggerData *td)
{
	TriggerState *st = (TriggerState *) fcinfo->flinfo->fn_extra;
	Trigger    *tg = td->tg_trigger;
	char	  **args = tg->tgargs;
	MemoryContext old;
	List	   *names;
	int			i;

	if (st != NULL && st->trigger == tg->tgoid)
		return st;
	if (tg->tgnargs < TRIGGER_FIXED_ARGS + 1)
		elog(ERROR, "hitl: term cache trigger \"%s\" has %d arguments", tg->tgname,
			 tg->tgnargs);
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	st = palloc0(sizeof(TriggerState));
	st->trigger = tg->tgoid;
	names = hitl_qualified_name_list(args[1]);
	/* an unqualified name would be looked up in the writer's search_path */
	if (list_length(names) != 2)
		elog(ERROR, "hitl: term cache trigger \"%s\" names no schema", tg->tgname);
	/* a configuration dropped since: the rows get no value (parsed, as before) */
	st->opts.config = get_ts_config_oid(names, true);
	st->opts.bigrams = args[2][0] == 't';
	st->opts.buckets = pg_strtoint32(args[3]);
	st->opts.sign = args[4][0] == 't';
	st->opts.max_bytes = pg_strtoint32(args[5]);
	if (st->opts.buckets < 1 || st->opts.max_bytes < 1)
		elog(ERROR, "hitl: term cache trigger \"%s\" has bad arguments", tg->tgname);
	if (OidIsValid(st->opts.config))
		st->fingerprint = termcache_fingerprint(&st->opts);
	st->cache_attnum = column_number(td->tg_relation, args[6], args[0]);
	if (TupleDescAttr(RelationGetDescr(td->tg_relation), st->cache_attnum - 1)->atttypid != BYTEAOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of the term cache of model \"%s\" is not of type bytea",
						args[6], args[0])));
	st->ntext = tg->tgnargs - TRIGGER_FIXED_ARGS;
	st->text_attnums = palloc(sizeof(int) * st->ntext);
	for (i = 0; i < st->ntext; i++)
		st->text_attnums[i] = column_number(td->tg_relation, args[TRIGGER_FIXED_ARGS + i],
											args[0]);
	termbag_reserve(&st->bag, 256);
	MemoryContextSwitchTo(old);
	fcinfo->flinfo->fn_extra = st;
	return st;
}

PG_FUNCTION_INFO_V1(hitl_term_cache_trigger);

/*
 * Compute the row's bag from its text columns and store it with its hashes
 * in the cache column, whatever the statement put there.
 */
Datum
hitl_term_cache_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TriggerState *st;
	HeapTuple	tuple;
	TupleDesc	desc;
	Datum	   *texts;
	bool	   *nulls;
	Datum		value;
	bool		isnull = false;
	int			i;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("hitl._term_cache_trigger() must be a BEFORE INSERT OR UPDATE row trigger")));
	st = trigger_state(fcinfo, td);
	tuple = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	desc = RelationGetDescr(td->tg_relation);
	if (!OidIsValid(st->opts.config))
	{
		isnull = true;
		value = (Datum) 0;
		tuple = heap_modify_tuple_by_cols(tuple, desc, 1, &st->cache_attnum, &value, &isnull);
		return PointerGetDatum(tuple);
	}
	texts = palloc(sizeof(Datum) * st->ntext);
	nulls = palloc(sizeof(bool) * st->ntext);
	termbag_reset(&st->bag);
	for (i = 0; i < st->ntext; i++)
	{
		texts[i] = heap_getattr(tuple, st->text_attnums[i], desc, &nulls[i]);
		if (!nulls[i])
			textfeat_add(&st->opts, texts[i], &st->bag);
	}
	termbag_finish(&st->bag);
	value = PointerGetDatum(termcache_encode(st->fingerprint,
											 termcache_text_hash(&st->opts, st->ntext,
																 texts, nulls),
											 &st->bag));
	tuple = heap_modify_tuple_by_cols(tuple, desc, 1, &st->cache_attnum, &value, &isnull);
	return PointerGetDatum(tuple);
}
