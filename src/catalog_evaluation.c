/*
 * catalog_evaluation.c
 *		The evaluation rows of a model: the keys of those in its queue, for
 *		the label log's writer, and the accuracy measured on those labeled,
 *		for a version's metrics (declared at the end of catalog.h).
 *
 * Rows chosen by active learning are the hardest, so the cross-validation
 * on them says little of the accuracy on the other rows.  A share of each
 * queue (option evaluation_rate) is drawn at random from the unlabeled rows
 * instead (queue.c) and marked evaluation.  When people label such a row,
 * the label log's writer notes it (evaluation = true beside the prediction
 * the row had), and each training compares: over the entries that first
 * labeled an evaluation row, the share whose label is the prediction is an
 * unbiased accuracy of the model on the rows it has not seen labeled.
 *
 * The writer runs as whichever role changed labels, with no SQL: the keys
 * are read here from hitl.queue's heap through its index of evaluation
 * rows (hitl.queue_evaluation), as catalog_labels.c reads hitl.models.  The accuracy is read with SQL as the
 * owner of hitl's tables (a training may run as a role the label log's
 * policy hides rows from).
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "catalog.h"
#include "compat.h"
#include "hitl.h"
#include "proportion.h"
#include "spi_check.h"

static bool column_exists(Oid nsp, const char *table, const char *column);
static int	key_cmp(const void *a, const void *b);
static void json_figure(StringInfo buf, const char *key, double value, bool known);

/* Does hitl's table have that column? */
static bool
column_exists(Oid nsp, const char *table, const char *column)
{
	Oid			relid = get_relname_relid(table, nsp);

	return OidIsValid(relid) && get_attnum(relid, column) != InvalidAttrNumber;
}

/*
 * Do hitl.queue and hitl.label_log have their evaluation columns?  Not
 * before the extension is updated from 0.1.0, whose tables this library
 * must still serve: no evaluation rows then.
 */
bool
catalog_evaluation_ready(void)
{
	Oid			nsp = get_namespace_oid(HITL_SCHEMA, false);

	return column_exists(nsp, "queue", "evaluation") &&
		column_exists(nsp, "label_log", "evaluation");
}

/* qsort: keys in strcmp order */
static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * The keys of the model's evaluation rows in its queue, as the active
 * snapshot sees them, sorted; returns their number (none before the
 * extension's evaluation column exists).
 */
int
catalog_evaluation_keys(const char *model, MemoryContext cxt, char ***keys)
{
	Oid			nsp = get_namespace_oid(HITL_SCHEMA, false);
	Oid			relid = get_relname_relid("queue", nsp);
	AttrNumber	model_att;
	AttrNumber	key_att;
	AttrNumber	eval_att;
	Relation	queue;
	Oid			index_oid;
	Relation	index;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	int			n = 0;
	int			cap = 16;

	*keys = NULL;
	if (!OidIsValid(relid))
		return 0;
	model_att = get_attnum(relid, "model");
	key_att = get_attnum(relid, "row_key");
	eval_att = get_attnum(relid, "evaluation");
	if (model_att == InvalidAttrNumber || key_att == InvalidAttrNumber ||
		eval_att == InvalidAttrNumber)
		return 0;
	if (!ActiveSnapshotSet())
		elog(ERROR, "hitl: no snapshot to read hitl.queue with");

	*keys = MemoryContextAlloc(cxt, sizeof(char *) * cap);
	queue = table_open(relid, AccessShareLock);
	/* the partial index of the evaluation rows, or the primary key */
	index_oid = get_relname_relid("queue_evaluation", nsp);
	if (!OidIsValid(index_oid))
		index_oid = hitl_primary_key_index(queue);
	if (!OidIsValid(index_oid))
		elog(ERROR, "hitl: hitl.queue has no index on model");
	index = index_open(index_oid, AccessShareLock);
	ScanKeyEntryInitialize(&key, 0, model_att, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[0], F_TEXTEQ,
						   CStringGetTextDatum(model));
	scan = systable_beginscan(queue, index_oid, true, GetActiveSnapshot(), 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tuple, eval_att, RelationGetDescr(queue), &isnull);
		Jsonb	   *jb;

		if (isnull || !DatumGetBool(d))
			continue;
		d = heap_getattr(tuple, key_att, RelationGetDescr(queue), &isnull);
		if (isnull)
			continue;
		jb = DatumGetJsonbP(d);
		if (n == cap)
		{
			cap *= 2;
			*keys = repalloc(*keys, sizeof(char *) * cap);
		}
		(*keys)[n++] = MemoryContextStrdup(cxt, JsonbToCString(NULL, &jb->root,
															   VARSIZE(jb)));
	}
	systable_endscan(scan);
	index_close(index, AccessShareLock);
	table_close(queue, AccessShareLock);
	qsort(*keys, n, sizeof(char *), key_cmp);
	return n;
}

/* Append "key": value, or "key": null when not known */
static void
json_figure(StringInfo buf, const char *key, double value, bool known)
{
	if (known)
		appendStringInfo(buf, "\"%s\": %.10g", key, value);
	else
		appendStringInfo(buf, "\"%s\": null", key);
}

/*
 * Append the evaluation figures: over the label log entries that set a
 * label on an evaluation row of the queue (evaluation = true, no label
 * before), the first of each row, the share whose label is the
 * prediction the row had ("accuracy"), its Wilson 95% bounds ("low",
 * "high") and the rows counted ("rows").  With no such row, the three
 * figures are null.  Nothing before the update from 0.1.0.
 */
void
catalog_evaluation_json(StringInfo buf, const char *model)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	int64		rows;
	int64		right;
	double		low;
	double		high;

	if (!catalog_evaluation_ready())
		return;
	values[0] = CStringGetTextDatum(model);
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "SELECT pg_catalog.count(*),"
						   " pg_catalog.count(*) FILTER (WHERE e.new_label OPERATOR(pg_catalog.=) e.prediction)"
						   " FROM (SELECT DISTINCT ON (l.row_key) l.new_label, l.prediction"
						   " FROM hitl.label_log l"
						   " WHERE l.model OPERATOR(pg_catalog.=) $1 AND l.evaluation"
						   " AND l.old_label IS NULL AND l.new_label IS NOT NULL"
						   " AND l.prediction IS NOT NULL"
						   " ORDER BY l.row_key, l.id) e",
						   1, argtypes, values, NULL, true,
						   SPI_OK_SELECT, "reading the evaluation rows");
	rows = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
									   1, &isnull));
	right = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										2, &isnull));
	wilson_interval((long) right, (long) rows, Z_TWO_SIDED_95, &low, &high);
	appendStringInfoString(buf, ", \"evaluation\": {");
	json_figure(buf, "accuracy", rows > 0 ? (double) right / (double) rows : 0, rows > 0);
	appendStringInfoString(buf, ", ");
	json_figure(buf, "low", low, rows > 0);
	appendStringInfoString(buf, ", ");
	json_figure(buf, "high", high, rows > 0);
	appendStringInfo(buf, ", \"rows\": " INT64_FORMAT "}", rows);
}
