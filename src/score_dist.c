/*
 * score_dist.c
 *		Scoring a model whose table Citus distributes: the rows are scored
 *		where they are, and the review queue is the merge of each shard's
 *		most uncertain rows.
 *
 * The version goes to the worker nodes first (the model's mirror,
 * catalog_citus_mirror).  Then one UPDATE joins the table to itself on its
 * primary key, which holds the distribution column, so that Citus sends
 * it whole to every shard: there hitl._score_row scores each row once,
 * with the mirror, and the row is written only when its prediction
 * changed or its confidence or uncertainty moved by more than the model's
 * score_tolerance.  No row travels to the coordinator.  The queue's
 * candidates come from a SELECT ordered by uncertainty with a LIMIT,
 * which Citus runs on each shard and merges.
 *
 * What the scoring of a plain table does besides is not done here: rows
 * are written in one statement (no batches, no retries of locked rows: a
 * row a labeler holds makes the UPDATE wait), and the queue has no
 * evaluation rows.  Strategies that rank the queue from the rows' features
 * (density, diverse, committee) and text models raise 0A000.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"

#include "catalog.h"
#include "metrics.h"
#include "model_cache.h"
#include "rowkey.h"
#include "score_dist.h"
#include "spi_check.h"

/* The type of the label column, as SQL */
static char *
label_type_sql(const HitlModel *model)
{
	AttrNumber	att = get_attnum(model->source, model->label_column);

	return format_type_be_qualified(get_atttype(model->source, att));
}

/* 0A000 for what the scoring of a distributed table does not do */
static void
check_supported(const HitlModel *model)
{
	const char *what = NULL;

	if (model->text_config != NULL)
		what = "text features";
	else if (model->strategy == UNCERTAINTY_DENSITY)
		what = "strategy \"density\"";
	else if (model->strategy == UNCERTAINTY_DIVERSE)
		what = "strategy \"diverse\"";
	else if (model->strategy == UNCERTAINTY_COMMITTEE)
		what = "strategy \"committee\"";
	if (what != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" on distributed table %s cannot be scored with %s",
						model->name, model->source_text, what),
				 errdetail("A distributed table is scored where its rows are, with the strategies margin, least_confidence and entropy, on number and array features."),
				 errhint("Use hitl.alter_model() to choose one of those strategies, or build the model on a plain table.")));
}

/* The UPDATE that scores and writes every shard's rows */
static char *
update_sql(const HitlModel *model)
{
	StringInfoData sql;
	const char *pred = quote_identifier(model->prediction_column);
	const char *conf = quote_identifier(model->confidence_column);
	const char *unc = quote_identifier(model->uncertainty_column);
	char	   *type = label_type_sql(model);
	int			i;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "UPDATE %s t SET %s = r.prediction::%s, %s = r.confidence, %s = r.uncertainty"
					 " FROM %s x CROSS JOIN LATERAL hitl._score_row($1, $2, x) r WHERE ",
					 model->source_text, pred, type, conf, unc, model->source_text);
	for (i = 0; i < model->n_key_columns; i++)
	{
		const char *k = quote_identifier(model->key_columns[i]);

		appendStringInfo(&sql, "x.%s = t.%s AND ", k, k);
	}
	appendStringInfo(&sql,
					 "(t.%s IS DISTINCT FROM r.prediction::%s"
					 " OR t.%s IS NULL OR t.%s IS NULL"
					 " OR abs(t.%s - r.confidence) > $3 OR abs(t.%s - r.uncertainty) > $3)",
					 pred, type, conf, unc, conf, unc);
	return sql.data;
}

/*
 * The queue's candidates: the most uncertain unlabeled rows, at most the
 * model's queue_size, as the arrays catalog_queue_fill takes (ranks, keys,
 * predictions, confidences, uncertainties, evaluations).
 */
static char *
queue_sql(const HitlModel *model)
{
	StringInfoData sql;
	char	   *keys = rowkey_columns_sql(model, "t");

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT array_agg(q.n ORDER BY q.n), array_agg(q.k ORDER BY q.n),"
					 " array_agg(q.p ORDER BY q.n), array_agg(q.c ORDER BY q.n),"
					 " array_agg(q.u ORDER BY q.n), array_agg(false ORDER BY q.n), count(*)"
					 " FROM (SELECT (row_number() OVER ())::int4 AS n, c.* FROM"
					 " (SELECT %s AS k, t.%s::text AS p, t.%s AS c, t.%s AS u FROM %s t"
					 " WHERE t.%s IS NULL AND t.%s IS NOT NULL AND t.%s IS NOT NULL AND t.%s IS NOT NULL"
					 " ORDER BY t.%s DESC, %s LIMIT $1) c) q",
					 rowkey_sql(model, "t"),
					 quote_identifier(model->prediction_column),
					 quote_identifier(model->confidence_column),
					 quote_identifier(model->uncertainty_column),
					 model->source_text,
					 quote_identifier(model->label_column),
					 quote_identifier(model->prediction_column),
					 quote_identifier(model->confidence_column),
					 quote_identifier(model->uncertainty_column),
					 quote_identifier(model->uncertainty_column), keys);
	return sql.data;
}

/* Fill the model's queue from its table's scores */
static void
store_queue(const HitlModel *model, int version)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	Datum		arrays[6];
	bool		isnull;
	int64		n;
	int			i;
	int			ret;

	values[0] = Int64GetDatum(model->queue_size);
	ret = SPI_execute_with_args(queue_sql(model), 1, argtypes, values, NULL, true, 0);
	hitl_spi_check_rows(ret, SPI_OK_SELECT, 1, "reading the queue's candidates from the shards");
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 7, &isnull));
	/* copied out of the result, which the next statement frees */
	for (i = 0; i < 6 && n > 0; i++)
		arrays[i] = datumCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											i + 1, &isnull), false, -1);
	catalog_queue_clear(model->name);
	if (n == 0)
		return;
	catalog_queue_fill(model->name, version, arrays[0], arrays[1], arrays[2], arrays[3],
					   arrays[4], arrays[5], n);
}

/*
 * Score the model's distributed table with its current version; returns
 * the rows written.  Runs inside an SPI connection, as a role that may
 * change the model.
 */
int64
score_distributed(const HitlModel *model)
{
	Oid			argtypes[3] = {TEXTOID, INT4OID, FLOAT8OID};
	Datum		values[3];
	int			ret;
	int64		written;

	check_supported(model);
	catalog_citus_mirror(model);

	values[0] = CStringGetTextDatum(model->name);
	values[1] = Int32GetDatum(model->current_version);
	values[2] = Float8GetDatum(model->score_tolerance);
	ret = SPI_execute_with_args(update_sql(model), 3, argtypes, values, NULL, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "hitl: scoring the shards of model \"%s\" failed: %s",
			 model->name, SPI_result_code_string(ret));
	written = (int64) SPI_processed;

	store_queue(model, model->current_version);
	catalog_mark_scored(model, model->current_version);
	return written;
}

PG_FUNCTION_INFO_V1(hitl_score_row);

/*
 * What hitl._score_row keeps from one row to the next of a statement: the
 * result's row descriptor and the model's name (the argument is the same
 * constant on every row of the UPDATE; it is compared, not trusted)
 */
typedef struct ScoreRowCall
{
	TupleDesc	desc;
	char	   *name;
} ScoreRowCall;

/*
 * hitl._score_row(model text, version integer, row record) returns
 * hitl.row_score: the row's prediction, confidence and uncertainty under
 * that version, which must be the model's current one here (55000
 * otherwise: a node whose mirror is behind never scores with it).
 */
Datum
hitl_score_row(PG_FUNCTION_ARGS)
{
	text	   *arg = PG_GETARG_TEXT_PP(0);
	int32		version = PG_GETARG_INT32(1);
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(2);
	ScoreRowCall *call = fcinfo->flinfo->fn_extra;
	CachedModel *cm;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	double		confidence;
	int			k;

	if (call == NULL)
	{
		TupleDesc	desc;
		MemoryContext old;

		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "hitl: _score_row must return a row");
		old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		call = palloc0(sizeof(ScoreRowCall));
		call->desc = BlessTupleDesc(CreateTupleDescCopy(desc));
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = call;
	}
	if (call->name == NULL || strlen(call->name) != VARSIZE_ANY_EXHDR(arg) ||
		memcmp(call->name, VARDATA_ANY(arg), VARSIZE_ANY_EXHDR(arg)) != 0)
		call->name = MemoryContextStrdup(fcinfo->flinfo->fn_mcxt, text_to_cstring(arg));

	cm = model_cache_lookup(call->name);
	if (cm->version->version != version)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" is at version %d on this node, not %d",
						call->name, cm->version->version, version),
				 errhint("The coordinator sends each version to the worker nodes before it scores with it: score the model again.")));
	predict_row_proba(cm, row, "hitl._score_row");
	k = proba_argmax(cm->version->n_classes, cm->proba, &confidence);

	values[0] = CStringGetTextDatum(cm->version->classes[k]);
	values[1] = Float8GetDatum(confidence);
	values[2] = Float8GetDatum(uncertainty_score(cm->model->strategy, cm->version->n_classes,
												 cm->proba));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(call->desc, values, nulls)));
}
