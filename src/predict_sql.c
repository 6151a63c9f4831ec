/*
 * predict_sql.c
 *		hitl.predict() and hitl.predict_proba(): the class, or every class's
 *		probability, of a whole row of a model's table.
 *
 * The model comes from this backend's cache (model_cache.c), so a call
 * costs the row's conversion to features and one evaluation, whether it
 * predicts one row or is called once per row of a large SELECT.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/json.h"
#include "utils/typcache.h"

#include "catalog.h"
#include "metrics.h"
#include "model_cache.h"

/*
 * The feature columns' numbers in a row of another type than the model's
 * table: a row of one of its Citus shards, which Citus passes when it runs
 * a function of the table's rows on the node that holds them.  A shard has
 * the table's columns, not necessarily at the same numbers (a shard made
 * after a column was dropped has no gap), so they are found by name, once
 * per row type.  Any other row type: 42804.
 */
static AttrNumber *
shard_attnums(CachedModel *cm, Oid rowtype, const char *caller)
{
	Oid			relid = typeidTypeRelid(rowtype);
	AttrNumber *attnums;
	int			i;

	if (rowtype == cm->shard_rowtype)
		return cm->shard_attnums;
	if (!OidIsValid(relid) || catalog_citus_shard_parent(relid) != cm->model->source)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("row is of type %s, not of the type of table %s",
						format_type_be(rowtype), cm->model->source_text),
				 errhint("Pass a whole row of the model's table, as in SELECT %s('%s', t) FROM %s t.",
						 caller, cm->model->name, cm->model->source_text)));
	attnums = MemoryContextAlloc(GetMemoryChunkContext(cm->values),
								 sizeof(AttrNumber) * Max(cm->layout->ncols, 1));
	for (i = 0; i < cm->layout->ncols; i++)
	{
		attnums[i] = get_attnum(relid, cm->model->feature_columns[i]);
		if (attnums[i] == InvalidAttrNumber ||
			get_atttype(relid, attnums[i]) != cm->layout->types[i])
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("shard %s of table %s has no column \"%s\" of type %s",
							get_rel_name(relid), cm->model->source_text,
							cm->model->feature_columns[i], format_type_be(cm->layout->types[i]))));
	}
	cm->shard_attnums = attnums;
	cm->shard_rowtype = rowtype;
	return attnums;
}

/*
 * Class probabilities of a row under a cached model, into cm->proba; the
 * row converted to features stays in cm->classifier.  caller names the
 * SQL function in the errors.
 */
void
predict_row_proba(CachedModel *cm, HeapTupleHeader row, const char *caller)
{
	FeatureLayout *l = cm->layout;
	Oid			rowtype = HeapTupleHeaderGetTypeId(row);
	TupleDesc	desc;
	HeapTupleData tuple;
	FeatureStatus st;
	int			bad_col;
	int			i;
	AttrNumber *attnums = rowtype == cm->rowtype ? l->attnums :
		shard_attnums(cm, rowtype, caller);

	desc = lookup_rowtype_tupdesc(rowtype, HeapTupleHeaderGetTypMod(row));
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	for (i = 0; i < l->ncols; i++)
		cm->values[i] = heap_getattr(&tuple, attnums[i], desc, &cm->nulls[i]);
	ReleaseTupleDesc(desc);

	st = classifier_proba(&cm->classifier, cm->values, cm->nulls, cm->proba, &bad_col);
	if (st != FEATURE_OK)
		features_report(cm->model, l, st, bad_col, psprintf("passed to %s", caller));
}

/*
 * The arguments of both functions, (model text, row record): the model from
 * the cache, its proba filled with the row's class probabilities.
 */
static CachedModel *
predict_args(FunctionCallInfo fcinfo)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(1);
	CachedModel *cm = model_cache_lookup(name);

	predict_row_proba(cm, row, "hitl.predict");
	return cm;
}

PG_FUNCTION_INFO_V1(hitl_predict);

/*
 * hitl.predict(model text, row record) returns text
 */
Datum
hitl_predict(PG_FUNCTION_ARGS)
{
	CachedModel *cm = predict_args(fcinfo);
	int			k;

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
	CachedModel *cm = predict_args(fcinfo);
	int			k = cm->version->n_classes;
	StringInfoData buf;
	int			i;

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
