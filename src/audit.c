/*
 * audit.c
 *		The audit queue: labels the model doubts, found by confident
 *		learning over the out-of-fold probabilities of a training, and
 *		hitl.confirm_label(), by which a person says a doubted label is right.
 *
 * A label is suspect when confident learning flags it (confident.c: another
 * class reaches its threshold while the label's probability stays below
 * its own), or when the folds predict another class while the label's
 * probability stays below its threshold: a row whose probabilities are
 * spread over several classes reaches no other class's threshold, and the
 * first rule alone missed such wrong labels (on digits with 5% of the
 * labels flipped, 79% of the first K rows were flipped ones against 90%
 * for the K lowest probabilities of the label).
 *
 * Each full training that cross-validates replaces the model's audit store
 * (hitl.audit, through catalog_audit.c) with its suspect labels, ranked by
 * the out-of-fold probability of the given label, lowest first; one that
 * does not cross-validate empties it.  Incremental updates never call
 * train_crossval() and so leave it as it was.  The rows' keys come with the
 * labeled rows (dataset_open_labeled's last column), in the order the
 * training read them, which is the order of the probabilities.
 *
 * The per-model audit view (section 68 of the SQL) shows the suspects whose
 * current label is still the audited one and that no confirmation covers.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"

#include "autolabel.h"
#include "catalog.h"
#include "metrics.h"
#include "confident.h"
#include "rowkey.h"
#include "spi_check.h"
#include "train.h"

/* A suspect row and the probability of its label, for the ranking */
typedef struct AuditSuspect
{
	int			row;
	double		quality;
} AuditSuspect;

static int	suspect_cmp(const void *a, const void *b);
static void confirm_check_update(const HitlModel *model);
static HeapTuple confirm_find_row(const HitlModel *model, Datum key, char **label);

PG_FUNCTION_INFO_V1(hitl_confirm_label);

/*
 * Record a row's key (jsonb) in keys, copied into cxt, growing its array
 * as needed.
 */
void
train_keys_add(TrainKeys *keys, int row, Datum value, MemoryContext cxt)
{
	MemoryContext old;

	if (row >= keys->capacity)
	{
		int			cap = Max(keys->capacity * 2, Max(row + 1, 1024));

		if (keys->capacity == 0)
			keys->key = MemoryContextAllocExtended(cxt, sizeof(Datum) * cap, MCXT_ALLOC_HUGE);
		else
			keys->key = repalloc_huge(keys->key, sizeof(Datum) * cap);
		keys->capacity = cap;
	}
	old = MemoryContextSwitchTo(cxt);
	keys->key[row] = datumCopy(value, false, -1);
	MemoryContextSwitchTo(old);
}

/* qsort: lowest probability of the label first, then reading order */
static int
suspect_cmp(const void *a, const void *b)
{
	const AuditSuspect *x = (const AuditSuspect *) a;
	const AuditSuspect *y = (const AuditSuspect *) b;

	if (x->quality != y->quality)
		return x->quality < y->quality ? -1 : 1;
	return x->row - y->row;
}

/*
 * Replace the model's audit store with the suspect labels of a
 * cross-validation, or empty it when there was none.
 */
void
audit_record(const HitlModel *model, const TrainCvInput *in, const TrainCv *cv)
{
	double	   *thresholds;
	bool	   *suspect;
	AuditSuspect *list;
	Datum	   *keys;
	Datum	   *labels;
	Datum	   *suggested;
	Datum	   *quality;
	int			n;
	int			i;
	int			j;

	if (!cv->done || in->keys == NULL || in->classes == NULL)
	{
		catalog_audit_replace(model->name, 0, (Datum) 0, (Datum) 0, (Datum) 0, (Datum) 0);
		return;
	}
	thresholds = palloc(sizeof(double) * cv->k);
	suspect = palloc_extended(sizeof(bool) * Max(cv->n, 1), MCXT_ALLOC_HUGE);
	confident_thresholds(cv->n, cv->k, cv->proba, in->y, thresholds);
	n = confident_suspects(cv->n, cv->k, cv->proba, in->y, thresholds, suspect);
	/* and the rows the folds predict as another class, below their label's threshold */
	for (i = 0; i < cv->n; i++)
	{
		const double *p = cv->proba + (size_t) i * cv->k;

		if (!suspect[i] && proba_argmax(cv->k, p, NULL) != in->y[i] && p[in->y[i]] < thresholds[in->y[i]])
		{
			suspect[i] = true;
			n++;
		}
	}
	list = palloc_extended(sizeof(AuditSuspect) * Max(n, 1), MCXT_ALLOC_HUGE);
	for (i = 0, j = 0; i < cv->n; i++)
		if (suspect[i])
		{
			list[j].row = i;
			list[j].quality = cv->proba[(size_t) i * cv->k + in->y[i]];
			j++;
		}
	qsort(list, n, sizeof(AuditSuspect), suspect_cmp);

	keys = palloc(sizeof(Datum) * Max(n, 1));
	labels = palloc(sizeof(Datum) * Max(n, 1));
	suggested = palloc(sizeof(Datum) * Max(n, 1));
	quality = palloc(sizeof(Datum) * Max(n, 1));
	for (j = 0; j < n; j++)
	{
		int			row = list[j].row;

		keys[j] = in->keys[row];
		labels[j] = CStringGetTextDatum(in->classes[in->y[row]]);
		suggested[j] = CStringGetTextDatum(in->classes[proba_argmax(cv->k, cv->proba + (size_t) row * cv->k, NULL)]);
		quality[j] = Float8GetDatum(list[j].quality);
	}
	catalog_audit_replace(model->name, n,
						  PointerGetDatum(construct_array(keys, n, JSONBOID, -1, false, TYPALIGN_INT)),
						  PointerGetDatum(construct_array(labels, n, TEXTOID, -1, false, TYPALIGN_INT)),
						  PointerGetDatum(construct_array(suggested, n, TEXTOID, -1, false, TYPALIGN_INT)),
						  PointerGetDatum(construct_array(quality, n, FLOAT8OID, sizeof(float8),
														  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)));
}

/* The caller must hold UPDATE on the model's label column (42501) */
static void
confirm_check_update(const HitlModel *model)
{
	AttrNumber	attnum = get_attnum(model->source, model->label_column);

	/* the table's privilege, or the column's own */
	if (attnum == InvalidAttrNumber ||
		(pg_class_aclcheck(model->source, GetUserId(), ACL_UPDATE) != ACLCHECK_OK &&
		 pg_attribute_aclcheck(model->source, attnum, GetUserId(), ACL_UPDATE) != ACLCHECK_OK))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to confirm labels of model \"%s\"", model->name),
				 errdetail("Confirming a label takes UPDATE on column \"%s\" of %s.",
						   model->label_column, model->source_text),
				 errhint("Ask the table's owner to GRANT UPDATE (%s) ON %s.",
						 quote_identifier(model->label_column), model->source_text)));
}

/*
 * The row of the model's table with that key, as the caller sees it
 * (row-level security applies): its key as hitl builds it, and its label
 * as text (NULL: unlabeled).  P0002 when there is none.
 */
static HeapTuple
confirm_find_row(const HitlModel *model, Datum key, char **label)
{
	Oid			match_types[2] = {OIDOID, TEXTARRAYOID};
	Datum		match_values[2];
	Datum	   *names;
	Oid			key_type = JSONBOID;
	StringInfoData sql;
	bool		isnull;
	int			i;

	names = palloc(sizeof(Datum) * model->n_key_columns);
	for (i = 0; i < model->n_key_columns; i++)
		names[i] = CStringGetTextDatum(model->key_columns[i]);
	match_values[0] = ObjectIdGetDatum(model->source);
	match_values[1] = PointerGetDatum(construct_array(names, model->n_key_columns, TEXTOID,
													  -1, false, TYPALIGN_INT));
	(void) catalog_execute(CATALOG_AS_CALLER,
						   "SELECT hitl._key_match($1::pg_catalog.regclass, $2::pg_catalog.name[],"
						   " 't', '$1')", 2, match_types, match_values, NULL, true,
						   SPI_OK_SELECT, "building the key condition");
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s, t.%s::pg_catalog.text FROM %s t WHERE %s",
					 rowkey_sql(model, "t"), quote_identifier(model->label_column),
					 model->source_text,
					 TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0],
													   SPI_tuptable->tupdesc, 1, &isnull)));
	if (catalog_execute(CATALOG_AS_CALLER, sql.data, 1, &key_type, &key, NULL, true,
						SPI_OK_SELECT, "reading the row to confirm") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("model \"%s\" has no row of key %s", model->name,
						DatumGetCString(DirectFunctionCall1(jsonb_out, key))),
				 errhint("Give the row's key as a jsonb object of its primary key columns, as in hitl.audit_queue.")));
	(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	*label = isnull ? NULL : SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	return SPI_tuptable->vals[0];
}

/*
 * hitl.confirm_label(model text, row_key jsonb) returns void: log that the
 * caller confirms the current label of a labeled row, which keeps the row
 * out of the model's audit queue until its label changes.
 */
Datum
hitl_confirm_label(PG_FUNCTION_ARGS)
{
	HitlModel  *model;
	HeapTuple	row;
	char	   *label;
	char	   *role;
	bool		isnull;
	Datum		key;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model and row_key must not be NULL"),
				 errhint("Name the model and give the row's key, as in hitl.audit_queue.")));
	role = GetUserNameFromId(GetUserId(), false);
	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	model = catalog_load_model(text_to_cstring(PG_GETARG_TEXT_PP(0)), CurrentMemoryContext);
	confirm_check_update(model);
	row = confirm_find_row(model, PG_GETARG_DATUM(1), &label);
	if (label == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("row %s of model \"%s\" is not labeled",
						SPI_getvalue(row, SPI_tuptable->tupdesc, 1), model->name),
				 errhint("Only a label can be confirmed: label the row with an UPDATE.")));
	key = datumCopy(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull), false, -1);
	catalog_audit_confirm(model->name, key, label, role);
	catalog_auto_labels_confirmed(model->name, key);
	SPI_finish();
	PG_RETURN_VOID();
}
