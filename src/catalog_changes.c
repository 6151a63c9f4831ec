/*
 * catalog_changes.c
 *		What a training reads of the label log and of the labels: the
 *		snapshot a version records, the entries since a version's snapshot,
 *		the restores of the log, and the labels a table holds per class.
 *
 * These are the queries an incremental naive Bayes update rests on (see
 * train_incremental.c): part of the catalog layer, as every statement on
 * hitl's own tables.  Each runs through SPI in the caller's connection and
 * copies what it returns into the memory context the caller names.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "hitl.h"
#include "spi_check.h"

/*
 * The label_snapshot of a version: the snapshot the current command reads
 * with, as pg_snapshot text, saying which label log entries of the model the
 * version includes.  The current transaction's own entries are visible to
 * the command but not to a snapshot taken later elsewhere, and entries it
 * may still write would carry the same transaction id: so when it has
 * written entries of the model there is no snapshot that tells (NULL: the
 * next incremental update trains from scratch), and otherwise its id is
 * listed as running, for whatever it writes after.
 */
char *
catalog_label_snapshot(const HitlModel *model, MemoryContext cxt)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	bool		isnull;
	Datum		d;

	args[0] = CStringGetTextDatum(model->name);
	hitl_spi_check_rows(SPI_execute_with_args(
											  "WITH s AS (SELECT pg_current_snapshot() AS snap,"
											  " pg_current_xact_id_if_assigned() AS me)"
											  " SELECT CASE"
											  " WHEN me IS NOT NULL AND EXISTS (SELECT 1 FROM hitl.label_log l"
											  "  WHERE l.model = $1 AND l.txid = me) THEN NULL"
											  " WHEN me IS NULL OR NOT pg_visible_in_snapshot(me, snap) THEN snap::text"
											  " ELSE pg_snapshot_xmin(snap)::text || ':' || pg_snapshot_xmax(snap)::text"
											  "  || ':' || (SELECT string_agg(x::text, ',' ORDER BY x::text::int8)"
											  "  FROM (SELECT pg_snapshot_xip(snap) AS x UNION ALL SELECT me) AS u)"
											  " END FROM s",
											  1, argtypes, args, NULL, true, 1),
						SPI_OK_SELECT, 1, "reading the snapshot");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? NULL : MemoryContextStrdup(cxt, TextDatumGetCString(d));
}

/*
 * Were label log entries of the model restored (pg_restore, or rows
 * inserted by hand) after version prev was trained?  Restored entries carry
 * no transaction id (hitl._restore_label_log) and count as included in
 * every version; a version that did not include them, such as one restored
 * with them, must not be updated from the log.  Its label snapshot comes
 * from the other cluster: it is trusted only when it shows the restoring
 * transaction committed, and was trained after the restore started.  The
 * last restore of any model's entries counts too (the row of the empty
 * name): a model whose own log was empty was restored from the same dump.
 */
bool
catalog_restored_since(const HitlModel *model, const HitlVersion *prev)
{
	Oid			argtypes[3] = {TEXTOID, TEXTOID, INT4OID};
	Datum		args[3];
	bool		isnull;

	/* hitl.restored_logs came with 0.2.0: no restore is recorded before */
	if (!OidIsValid(get_relname_relid("restored_logs", get_namespace_oid(HITL_SCHEMA, false))))
		return false;
	args[0] = CStringGetTextDatum(model->name);
	args[1] = CStringGetTextDatum(prev->label_snapshot);
	args[2] = Int32GetDatum(prev->version);
	hitl_spi_check_rows(SPI_execute_with_args("SELECT EXISTS (SELECT 1 FROM hitl.restored_logs r"
											  " JOIN hitl.model_versions v ON v.model = r.model"
											  " WHERE r.model IN ($1, '') AND v.version = $3"
											  " AND (NOT pg_catalog.pg_visible_in_snapshot(r.txid, $2::pg_catalog.pg_snapshot)"
											  " OR v.trained_at < r.restored_at))",
											  3, argtypes, args, NULL, true, 1),
						SPI_OK_SELECT, 1, "reading the restores of the label log");
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Does a version's label snapshot lie in the future of this cluster's
 * current snapshot?  Then it came from another cluster (a restored dump)
 * and its transaction ids mean nothing here.
 */
bool
catalog_snapshot_from_future(const char *snapshot)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	bool		isnull;

	args[0] = CStringGetTextDatum(snapshot);
	hitl_spi_check_rows(SPI_execute_with_args("SELECT pg_snapshot_xmax($1::pg_snapshot)"
											  " > pg_snapshot_xmax(pg_current_snapshot())",
											  1, argtypes, args, NULL, true, 1),
						SPI_OK_SELECT, 1, "comparing snapshots");
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * The label log entries of the model that the snapshot does not include,
 * in the order they were written, at most limit of them: their row keys
 * (jsonb) and labels before and after (NULL: none).  Entries restored from
 * a dump (no transaction id) are included in every snapshot.  Returns
 * their number; *changes is allocated in cxt.
 */
int
catalog_label_changes(const HitlModel *model, const char *snapshot, int limit,
					  MemoryContext cxt, CatalogLabelChange **changes)
{
	Oid			argtypes[3] = {TEXTOID, TEXTOID, INT4OID};
	Datum		args[3];
	MemoryContext old;
	CatalogLabelChange *out;
	int			n;
	int			i;

	args[0] = CStringGetTextDatum(model->name);
	args[1] = CStringGetTextDatum(snapshot);
	args[2] = Int32GetDatum(limit);
	hitl_spi_check(SPI_execute_with_args(
										 "SELECT l.row_key, l.old_label, l.new_label FROM hitl.label_log l"
										 " WHERE l.model = $1 AND l.txid IS NOT NULL"
										 " AND NOT pg_visible_in_snapshot(l.txid, $2::pg_snapshot)"
										 " ORDER BY l.id LIMIT $3",
										 3, argtypes, args, NULL, true, 0),
				   SPI_OK_SELECT, "reading the label log");
	n = (int) SPI_processed;
	old = MemoryContextSwitchTo(cxt);
	out = palloc(sizeof(CatalogLabelChange) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;

		out[i].row_key = datumCopy(SPI_getbinval(tup, desc, 1, &isnull), false, -1);
		d = SPI_getbinval(tup, desc, 2, &isnull);
		out[i].old_label = isnull ? NULL : TextDatumGetCString(d);
		d = SPI_getbinval(tup, desc, 3, &isnull);
		out[i].new_label = isnull ? NULL : TextDatumGetCString(d);
	}
	MemoryContextSwitchTo(old);
	SPI_freetuptable(SPI_tuptable);
	*changes = out;
	return n;
}

/*
 * The labels the model's table holds, per value of the label column: into
 * *labels (as text, NULL for the unlabeled rows) and *counts, allocated in
 * cxt; *rows gets the table's rows.  Returns the number of values.
 */
int
catalog_count_labels(const HitlModel *model, MemoryContext cxt, char ***labels,
					 int64 **counts, int64 *rows)
{
	StringInfoData sql;
	MemoryContext old;
	int			n;
	int			i;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT t.%s::text, count(*) FROM %s t GROUP BY 1",
					 quote_identifier(model->label_column), model->source_text);
	hitl_spi_check(SPI_execute(sql.data, true, 0), SPI_OK_SELECT, "counting labels");
	n = (int) SPI_processed;
	old = MemoryContextSwitchTo(cxt);
	*labels = palloc(sizeof(char *) * Max(n, 1));
	*counts = palloc(sizeof(int64) * Max(n, 1));
	*rows = 0;
	for (i = 0; i < n; i++)
	{
		bool		isnull;
		bool		countnull;
		Datum		label = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1,
										  &isnull);

		(*labels)[i] = isnull ? NULL : TextDatumGetCString(label);
		(*counts)[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
												   SPI_tuptable->tupdesc, 2, &countnull));
		*rows += (*counts)[i];
	}
	MemoryContextSwitchTo(old);
	SPI_freetuptable(SPI_tuptable);
	return n;
}
