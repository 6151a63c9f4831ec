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
#include "rowaccess.h"
#include "spi_check.h"
#include "train.h"

/* A suspect row and the probability of its label, for the ranking */
typedef struct AuditSuspect
{
	int			row;
	double		quality;
} AuditSuspect;

static int	suspect_cmp(const void *a, const void *b);

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
	rowaccess_check_update(model, "confirm labels", "Confirming a label");
	/* a distributed table's row is found by its key on its shard */
	if (!catalog_citus_distributed(model->source))
		catalog_check_not_citus(model);
	row = rowaccess_find_row(model, PG_GETARG_DATUM(1), &label);
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
