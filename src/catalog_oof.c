/*
 * catalog_oof.c
 *		A model's out-of-fold store (hitl.oof_predictions), replaced by
 *		each full training, and its machine labels (hitl.auto_labels)
 *		(declared in autolabel.h).
 *
 * PUBLIC holds no write privilege on either table: they are written here
 * alone, as the owner of hitl's tables, once the caller has been checked
 * (the training checks that the role may change the model; auto_label
 * writes the labels themselves as its caller first, and the label trigger
 * removes the rows of labels a person changed).  Which rows to label is
 * autolabel.c's business; this file only stores what it is given.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "autolabel.h"
#include "catalog.h"
#include "metrics.h"
#include "spi_check.h"
#include "train.h"


/* Does hitl hold that table (a database not yet updated from 0.1.0 does not)? */
bool
hitl_table_exists(const char *name)
{
	Oid			nsp = get_namespace_oid("hitl", true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid(name, nsp));
}

/*
 * Replace the model's out-of-fold store with the prediction and calibrated
 * confidence of every labeled row of a cross-validation, or empty it when
 * there was none.  The version is the one given, or with 0 the one the
 * training is about to record.
 */
void
oof_record(const HitlModel *model, const TrainCvInput *in, const TrainCv *cv, int version)
{
	Oid			argtypes[6] = {TEXTOID, JSONBARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	FLOAT8ARRAYOID, INT4OID};
	Datum		values[6];
	Datum	   *class_text;
	Datum	   *labels;
	Datum	   *predicted;
	Datum	   *confidence;
	int			n;
	int			i;

	if (!hitl_table_exists("oof_predictions"))
		return;
	values[0] = CStringGetTextDatum(model->name);
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "DELETE FROM hitl.oof_predictions WHERE model OPERATOR(pg_catalog.=) $1",
						   1, argtypes, values, NULL, false, SPI_OK_DELETE,
						   "emptying the out-of-fold store");
	if (!cv->done || in->keys == NULL || in->classes == NULL || cv->n == 0)
		return;
	n = cv->n;
	labels = palloc_extended(sizeof(Datum) * n, MCXT_ALLOC_HUGE);
	predicted = palloc_extended(sizeof(Datum) * n, MCXT_ALLOC_HUGE);
	confidence = palloc_extended(sizeof(Datum) * n, MCXT_ALLOC_HUGE);
	/* each class's name as text once, shared by the rows of the arrays */
	class_text = palloc(sizeof(Datum) * cv->k);
	for (i = 0; i < cv->k; i++)
		class_text[i] = CStringGetTextDatum(in->classes[i]);
	for (i = 0; i < n; i++)
	{
		double		p_best;
		int			best = proba_argmax(cv->k, cv->proba + (size_t) i * cv->k, &p_best);

		labels[i] = class_text[in->y[i]];
		predicted[i] = class_text[best];
		confidence[i] = Float8GetDatum(p_best);
	}
	values[1] = PointerGetDatum(construct_array((Datum *) in->keys, n, JSONBOID, -1, false,
												TYPALIGN_INT));
	values[2] = PointerGetDatum(construct_array(labels, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[3] = PointerGetDatum(construct_array(predicted, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[4] = PointerGetDatum(construct_array(confidence, n, FLOAT8OID, sizeof(float8),
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[5] = Int32GetDatum(version);
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "INSERT INTO hitl.oof_predictions (model, version, row_key, label,"
						   " predicted, confidence)"
						   " SELECT $1, CASE WHEN $6 OPERATOR(pg_catalog.>) 0 THEN $6 ELSE"
						   "  (SELECT COALESCE(pg_catalog.max(mv.version), 0)"
						   "   OPERATOR(pg_catalog.+) 1 FROM hitl.model_versions mv"
						   "   WHERE mv.model OPERATOR(pg_catalog.=) $1) END,"
						   "  v.k, v.l, v.p, v.c"
						   " FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3),"
						   "  pg_catalog.unnest($4), pg_catalog.unnest($5)) AS v(k, l, p, c)"
						   " ON CONFLICT (model, version, row_key) DO NOTHING",
						   6, argtypes, values, NULL, false, SPI_OK_INSERT,
						   "filling the out-of-fold store");
}

/*
 * The model's stored out-of-fold pairs: *confidence and *right (predicted
 * = label), allocated in the current context, and their version.  Returns
 * how many (0: none; *version is then 0).  Read as the owner of hitl's
 * tables: the threshold rests on every labeled row, whoever may see it.
 */
int
oof_read_pairs(const char *model, double **confidence, bool **right, int *version)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	uint64		n;
	uint64		i;

	*version = 0;
	*confidence = NULL;
	*right = NULL;
	if (!hitl_table_exists("oof_predictions"))
		return 0;
	values[0] = CStringGetTextDatum(model);
	n = catalog_execute(CATALOG_AS_OWNER,
						"SELECT o.confidence, o.predicted OPERATOR(pg_catalog.=) o.label, o.version"
						" FROM hitl.oof_predictions o WHERE o.model OPERATOR(pg_catalog.=) $1",
						1, argtypes, values, NULL, true, SPI_OK_SELECT,
						"reading the out-of-fold store");
	if (n == 0)
		return 0;
	*confidence = palloc_extended(sizeof(double) * n, MCXT_ALLOC_HUGE);
	*right = palloc_extended(sizeof(bool) * n, MCXT_ALLOC_HUGE);
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		(*confidence)[i] = DatumGetFloat8(SPI_getbinval(tup, desc, 1, &isnull));
		(*right)[i] = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
		*version = Max(*version, DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull)));
	}
	return (int) n;
}

/*
 * Record the machine labels written by one auto-labeling: keys (jsonb[])
 * and labels (text[]), audited (bool[]), with the deciding version and the
 * model's last label log entry now (the entries of these labels).
 */
void
catalog_auto_labels_add(const char *model, int version, Datum keys, Datum labels,
						Datum audited)
{
	Oid			argtypes[5] = {TEXTOID, INT4OID, JSONBARRAYOID, TEXTARRAYOID, BOOLARRAYOID};
	Datum		values[5];

	values[0] = CStringGetTextDatum(model);
	values[1] = Int32GetDatum(version);
	values[2] = keys;
	values[3] = labels;
	values[4] = audited;
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "INSERT INTO hitl.auto_labels AS a (model, row_key, label, version,"
						   " audited, log_id)"
						   " SELECT $1, v.k, v.l, $2, v.a, (SELECT pg_catalog.max(l.id)"
						   "  FROM hitl.label_log l WHERE l.model OPERATOR(pg_catalog.=) $1)"
						   " FROM ROWS FROM (pg_catalog.unnest($3), pg_catalog.unnest($4),"
						   "  pg_catalog.unnest($5)) AS v(k, l, a)"
						   " ON CONFLICT (model, row_key) DO UPDATE SET label = excluded.label,"
						   "  version = excluded.version, audited = excluded.audited,"
						   "  at = excluded.at, log_id = excluded.log_id",
						   5, argtypes, values, NULL, false, SPI_OK_INSERT,
						   "recording the machine labels");
}

/* Does the model train on its machine labels (option train_on_auto_labels)? */
bool
catalog_trains_on_auto_labels(const char *model)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	bool		on = false;

	values[0] = CStringGetTextDatum(model);
	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	if (catalog_execute(CATALOG_AS_OWNER,
						"SELECT coalesce((m.options OPERATOR(pg_catalog.->>) 'train_on_auto_labels')"
						"::pg_catalog.bool, false) FROM hitl.models m"
						" WHERE m.name OPERATOR(pg_catalog.=) $1",
						1, argtypes, values, NULL, true, SPI_OK_SELECT,
						"reading option train_on_auto_labels") > 0)
		on = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) &&
			!isnull;
	SPI_finish();
	return on;
}

/* Has the model any machine label now? */
bool
catalog_auto_labels_any(const char *model)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		any;

	if (!hitl_table_exists("auto_labels"))
		return false;
	values[0] = CStringGetTextDatum(model);
	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	any = catalog_execute(CATALOG_AS_OWNER,
						  "SELECT 1 FROM hitl.auto_labels a"
						  " WHERE a.model OPERATOR(pg_catalog.=) $1 LIMIT 1",
						  1, argtypes, values, NULL, true, SPI_OK_SELECT,
						  "looking for machine labels") > 0;
	SPI_finish();
	return any;
}

/*
 * A person changed the labels of the rows of these keys (n of them): they
 * are no longer machine labels.
 */
void
catalog_auto_labels_forget(const char *model, int n, Datum *keys)
{
	Oid			argtypes[2] = {TEXTOID, JSONBARRAYOID};
	Datum		values[2];

	if (n == 0)
		return;
	values[0] = CStringGetTextDatum(model);
	values[1] = PointerGetDatum(construct_array(keys, n, JSONBOID, -1, false, TYPALIGN_INT));
	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "DELETE FROM hitl.auto_labels a WHERE a.model OPERATOR(pg_catalog.=) $1"
						   " AND a.row_key OPERATOR(pg_catalog.=) ANY ($2)",
						   2, argtypes, values, NULL, false, SPI_OK_DELETE,
						   "forgetting machine labels a person changed");
	SPI_finish();
}

/*
 * The confirmation just logged of the row of that key (catalog_audit_confirm)
 * covers a machine label when the row's label is one: mark it so.
 */
void
catalog_auto_labels_confirmed(const char *model, Datum row_key)
{
	Oid			argtypes[2] = {TEXTOID, JSONBOID};
	Datum		values[2];

	if (!hitl_table_exists("auto_labels"))
		return;
	values[0] = CStringGetTextDatum(model);
	values[1] = row_key;
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "UPDATE hitl.label_confirmations c SET auto_label = true"
						   " WHERE c.model OPERATOR(pg_catalog.=) $1"
						   " AND c.row_key OPERATOR(pg_catalog.=) $2"
						   " AND c.id OPERATOR(pg_catalog.=) (SELECT pg_catalog.max(x.id)"
						   "  FROM hitl.label_confirmations x WHERE x.model OPERATOR(pg_catalog.=) $1"
						   "  AND x.row_key OPERATOR(pg_catalog.=) $2)"
						   " AND EXISTS (SELECT 1 FROM hitl.auto_labels a"
						   "  WHERE a.model OPERATOR(pg_catalog.=) $1"
						   "  AND a.row_key OPERATOR(pg_catalog.=) $2"
						   "  AND a.label OPERATOR(pg_catalog.=) c.label)",
						   2, argtypes, values, NULL, false, SPI_OK_UPDATE,
						   "marking the confirmation of a machine label");
}

/*
 * The condition (" AND ...", or "") that keeps the machine labels of a
 * model out of its training rows (key_sql: the row's key), unless its option
 * train_on_auto_labels is true.  Evaluated by the reader of the rows, who
 * may read hitl.auto_labels (row-level security: the rows of the model's
 * table it sees).
 */
char *
autolabel_exclusion_sql(const HitlModel *model, const char *key_sql)
{
	StringInfoData buf;

	/*
	 * a distributed table has no machine labels (hitl.auto_label refuses
	 * it), and Citus joins none of its rows to a table of the coordinator's
	 */
	if (!hitl_table_exists("auto_labels") || catalog_citus_distributed(model->source))
		return "";
	initStringInfo(&buf);
	appendStringInfo(&buf,
					 " AND (COALESCE((SELECT (m.options OPERATOR(pg_catalog.->>)"
					 " 'train_on_auto_labels')::pg_catalog.bool FROM hitl.models m"
					 " WHERE m.name OPERATOR(pg_catalog.=) %s), false)"
					 " OR NOT EXISTS (SELECT 1 FROM hitl.auto_labels a"
					 " WHERE a.model OPERATOR(pg_catalog.=) %s"
					 " AND a.row_key OPERATOR(pg_catalog.=) %s))",
					 quote_literal_cstr(model->name), quote_literal_cstr(model->name), key_sql);
	return buf.data;
}
