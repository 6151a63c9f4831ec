/*
 * rowkey.c
 *		A row's key, as hitl.label_log, hitl.queue and error messages show
 *		it: a jsonb object of the key columns, {"id": 42}.
 *
 * The key is built in three places, and all of them come here so that it
 * is the same object everywhere: SQL text for the statements that read a
 * model's table (the queue, error messages naming a row), and a C call of
 * jsonb_build_object for the label triggers, which must not run SQL for
 * every labeled row.  The C call is made as the SQL expression would make
 * it: jsonb_build_object reads its arguments' types from the call
 * expression, which is built here from the key columns' types.
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "compat.h"
#include "rowkey.h"

/* The key as a SQL expression over the table aliased alias */
char *
rowkey_sql(const HitlModel *model, const char *alias)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "pg_catalog.jsonb_build_object(");
	for (i = 0; i < model->n_key_columns; i++)
		appendStringInfo(&buf, "%s%s, %s.%s", i > 0 ? ", " : "",
						 quote_literal_cstr(model->key_columns[i]), alias,
						 quote_identifier(model->key_columns[i]));
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/* The key columns, for ORDER BY */
char *
rowkey_columns_sql(const HitlModel *model, const char *alias)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < model->n_key_columns; i++)
		appendStringInfo(&buf, "%s%s.%s", i > 0 ? ", " : "", alias,
						 quote_identifier(model->key_columns[i]));
	return buf.data;
}

/* The key of the row at tid as text, "?" when the row is gone */
char *
rowkey_text_at(const HitlModel *model, ItemPointer tid)
{
	StringInfoData sql;
	Oid			argtypes[1] = {TIDOID};
	Datum		values[1];
	bool		isnull;
	Datum		d;
	int			ret;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s::pg_catalog.text FROM %s t"
					 " WHERE t.ctid OPERATOR(pg_catalog.=) $1",
					 rowkey_sql(model, "t"), model->source_text);
	values[0] = ItemPointerGetDatum(tid);
	ret = SPI_execute_with_args(sql.data, 1, argtypes, values, NULL, true, 1);
	/* only for a message: a row that cannot be read is named "?" */
	if (ret != SPI_OK_SELECT || SPI_processed == 0)
		return pstrdup("?");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? pstrdup("?") : TextDatumGetCString(d);
}

/*
 * Prepare a builder: the key columns' names as text, and the call
 * expression jsonb_build_object reads its arguments' types from.
 */
void
rowkey_builder_init(RowKeyBuilder *b, int nkeys, char *const *names,
					const Oid *types, MemoryContext mcxt)
{
	MemoryContext old = MemoryContextSwitchTo(mcxt);
	List	   *args = NIL;
	int			i;

	Assert(nkeys >= 1 && nkeys <= INDEX_MAX_KEYS);
	b->nkeys = nkeys;
	for (i = 0; i < nkeys; i++)
	{
		b->names[i] = PointerGetDatum(cstring_to_text(names[i]));
		args = lappend(args, makeNullConst(TEXTOID, -1, DEFAULT_COLLATION_OID));
		args = lappend(args, makeNullConst(types[i], -1, InvalidOid));
	}
	MemSet(&b->flinfo, 0, sizeof(FmgrInfo));
	b->flinfo.fn_addr = jsonb_build_object;
	b->flinfo.fn_oid = InvalidOid;
	b->flinfo.fn_nargs = 2 * nkeys;
	b->flinfo.fn_strict = false;
	b->flinfo.fn_mcxt = mcxt;
	b->flinfo.fn_expr = (Node *) makeFuncExpr(InvalidOid, JSONBOID, args, InvalidOid,
											  InvalidOid, COERCE_EXPLICIT_CALL);
	MemoryContextSwitchTo(old);
}

/* Call jsonb_build_object on the names and the row's key values */
Datum
rowkey_build(RowKeyBuilder *b, const Datum *values, const bool *nulls)
{
	LOCAL_FCINFO(fcinfo, 2 * INDEX_MAX_KEYS);
	Datum		result;
	int			i;

	InitFunctionCallInfoData(*fcinfo, &b->flinfo, 2 * b->nkeys, InvalidOid, NULL, NULL);
	for (i = 0; i < b->nkeys; i++)
	{
		fcinfo->args[2 * i].value = b->names[i];
		fcinfo->args[2 * i].isnull = false;
		fcinfo->args[2 * i + 1].value = values[i];
		fcinfo->args[2 * i + 1].isnull = nulls[i];
	}
	result = FunctionCallInvoke(fcinfo);
	if (fcinfo->isnull)
		elog(ERROR, "hitl: jsonb_build_object returned NULL");
	return result;
}
