/*
 * autolabel.c
 *		hitl.auto_label(): label the unlabeled rows the model is sure of,
 *		at a precision target, and the worker's run of it.
 *
 * The threshold comes from the out-of-fold store of the model's last
 * cross-validated full training (hitl.oof_predictions, catalog_oof.c): the
 * lowest calibrated confidence t such that the out-of-fold predictions of
 * confidence at least t have a one-sided 95% Wilson lower bound of their
 * precision of at least the target (proportion.c precision_threshold).
 * The unlabeled rows whose confidence (the calibrated confidence of the
 * current version: the confidence column, computed again within
 * score_tolerance of the threshold) reaches it get their prediction as label, run as
 * the calling role (who needs UPDATE on the label column; row-level
 * security applies).
 *
 * The rows are written in batches of batch_size, in the table's physical
 * order: one scan (no lock) finds the ctid of the first candidate of each
 * batch, then each batch is one UPDATE over the candidates of its ctid range
 * (a TID range scan; the first range starts at the table's start, the last
 * runs to its end).  The batches run in the caller's transaction, each
 * statement with its own snapshot (READ COMMITTED): the rows a batch labeled
 * stay locked until the transaction ends, as any UPDATE's, but a row of a
 * later range is neither read for update nor locked before its batch, so a
 * person labeling it meanwhile does not wait for the auto-labeling, and the
 * batch then finds its label and leaves it.  (A single UPDATE over all the
 * candidates may lock all of them before writing the first, as a merge join
 * or a hash join too big for work_mem does.)  Subtransactions would not
 * help: the locks of a committed subtransaction pass to its parent.  A row
 * that a concurrent UPDATE moves into a range already done is left for the
 * next auto-labeling.
 *
 * A human label is never overwritten.  A batch changes only rows whose
 * label is NULL: it first locks its candidates FOR UPDATE SKIP LOCKED (a
 * row a person is labeling now is skipped, not waited for), and a row whose
 * label was written between the scan and the lock is re-checked by the lock
 * (READ COMMITTED follows it to its new version and drops it, the WHERE no
 * longer holding) or fails the transaction (REPEATABLE READ and above).
 *
 * While the batches run, a backend-local flag tells the label trigger
 * (label_log.c) to log its changes with source 'model' and the deciding
 * version; it is reset when the last batch returns or one fails.  The labels
 * written go to hitl.auto_labels, a random audit_fraction of them (a
 * fixed-seed generator, folds.h) marked audited.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/itemptr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"

#include "autolabel.h"
#include "catalog.h"
#include "labels.h"
#include "folds.h"
#include "proportion.h"
#include "rowkey.h"
#include "score.h"
#include "security.h"
#include "spi_check.h"

/* hitl.auto_label's batches are running: their labels are the model's */
static bool writing = false;
static int	writing_version = 0;

/* The threshold found for a model, or why there is none */
typedef struct AutoThreshold
{
	bool		found;
	double		threshold;
	long		covered;
	long		right;
	int			pairs;			/* out-of-fold predictions it rests on */
	int			version;		/* of the training that made them */
} AutoThreshold;

static void check_arguments(FunctionCallInfo fcinfo, double *target, double *fraction);
static void check_model(const HitlModel *model);
static bool check_scored(const HitlModel *model, bool raise);
static void find_threshold(const HitlModel *model, double target, AutoThreshold *t);
static void notice_none(const HitlModel *model, double target, const AutoThreshold *t);
static int	batch_bounds(const HitlModel *model, const char *candidate_sql, double threshold,
						 ItemPointer *bounds);
static Datum *draw_audited(const HitlModel *model, uint64 n, double fraction);
static uint64 write_batches(const HitlModel *model, const char *candidate_sql,
							double threshold, ItemPointer bounds, int nbatches,
							Datum **keys, Datum **labels);
static int64 label_rows(const HitlModel *model, double threshold, double fraction);
static int64 auto_label(const char *name, double target, double fraction, bool worker);

PG_FUNCTION_INFO_V1(hitl_auto_label);
PG_FUNCTION_INFO_V1(hitl_auto_label_threshold);

bool
autolabel_writing(int *version)
{
	if (writing && version != NULL)
		*version = writing_version;
	return writing;
}

/* target_precision in (0.5, 1), audit_fraction in [0, 1] (22023); model given */
static void
check_arguments(FunctionCallInfo fcinfo, double *target, double *fraction)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model must not be NULL"),
				 errhint("Name the model to auto-label.")));
	*target = PG_ARGISNULL(1) ? NAN : PG_GETARG_FLOAT8(1);
	if (!(*target > 0.5 && *target < 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target_precision must be greater than 0.5 and less than 1"),
				 errhint("Give the precision the machine labels must reach, such as 0.95.")));
	if (fraction == NULL)
		return;
	*fraction = PG_ARGISNULL(2) ? NAN : PG_GETARG_FLOAT8(2);
	if (!(*fraction >= 0.0 && *fraction <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("audit_fraction must be between 0 and 1"),
				 errhint("Give the share of the machine labels to audit, such as 0.05; 0 audits none.")));
}

/* The model must have been trained, and cross-validate (55000) */
static void
check_model(const HitlModel *model)
{
	if (model->cv_folds < 2)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" does not cross-validate", model->name),
				 errdetail("Auto-labeling takes its threshold from the out-of-fold predictions of a cross-validated training."),
				 errhint("Set cv_folds to 2 or more with hitl.alter_model(), then train the model again with hitl.train().")));
	if (model->current_version == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has not been trained", model->name),
				 errhint("Label enough rows and train it with hitl.train().")));
}

/*
 * The confidence column must hold the current version's scores (55000
 * when raise, else false): labels are decided by the version that wrote
 * them.
 */
static bool
check_scored(const HitlModel *model, bool raise)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	int			scored;

	values[0] = CStringGetTextDatum(model->name);
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "SELECT m.scored_version FROM hitl.models m"
						   " WHERE m.name OPERATOR(pg_catalog.=) $1",
						   1, argtypes, values, NULL, true, SPI_OK_SELECT,
						   "reading the scored version");
	scored = SPI_processed == 0 ? 0 :
		DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (SPI_processed > 0 && !isnull && scored == model->current_version)
		return true;
	if (raise)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the scores of model \"%s\" are not of its current version %d",
						model->name, model->current_version),
				 errdetail("Auto-labeling compares the confidence column with the threshold of the current version."),
				 errhint("Score the model with hitl.score() first (the worker does after each retraining).")));
	return false;
}

/* The threshold of the target from the model's out-of-fold store */
static void
find_threshold(const HitlModel *model, double target, AutoThreshold *t)
{
	double	   *confidence;
	bool	   *right;

	memset(t, 0, sizeof(*t));
	t->pairs = oof_read_pairs(model->name, &confidence, &right, &t->version);
	if (t->pairs > 0)
		t->found = precision_threshold(t->pairs, confidence, right, target, Z_ONE_SIDED_95,
									   &t->threshold, &t->covered, &t->right);
}

/* NOTICE why nothing is labeled */
static void
notice_none(const HitlModel *model, double target, const AutoThreshold *t)
{
	if (t->pairs == 0)
		ereport(NOTICE,
				(errmsg("model \"%s\" auto-labels nothing: it has no out-of-fold predictions",
						model->name),
				 errdetail("Its last full training did not cross-validate (at least two labeled rows per fold are needed)."),
				 errhint("Label more rows and train the model again with hitl.train().")));
	else
		ereport(NOTICE,
				(errmsg("model \"%s\" auto-labels nothing: no confidence threshold reaches precision %g",
						model->name, target),
				 errdetail("Among its %d out-of-fold predictions, no set of the most confident has a one-sided 95%% lower bound of its precision of at least %g.",
						   t->pairs, target),
				 errhint("Label more rows, or lower target_precision.")));
}

/*
 * The candidates of the batches, in the table's physical order: the ctid of
 * the first candidate of each batch of batch_size (one scan, no lock).
 * Returns how many batches; *bounds their first ctids.
 */
static int
batch_bounds(const HitlModel *model, const char *candidate_sql, double threshold,
			 ItemPointer *bounds)
{
	StringInfoData sql;
	Oid			argtypes[2] = {FLOAT8OID, INT8OID};
	Datum		values[2];
	uint64		n;
	uint64		i;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT c.tid FROM (SELECT t.ctid AS tid, pg_catalog.row_number()"
					 " OVER (ORDER BY t.ctid) AS r FROM %s t WHERE %s) c"
					 " WHERE (c.r OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.%%) $2"
					 " OPERATOR(pg_catalog.=) 0 ORDER BY c.tid",
					 model->source_text, candidate_sql);
	values[0] = Float8GetDatum(threshold);
	values[1] = Int64GetDatum((int64) model->batch_size);
	n = catalog_execute(CATALOG_AS_CALLER, sql.data, 2, argtypes, values, NULL, false,
						SPI_OK_SELECT, "finding the rows to auto-label");
	*bounds = palloc_extended(sizeof(ItemPointerData) * (n + 1), MCXT_ALLOC_HUGE);
	for (i = 0; i < n; i++)
	{
		bool		isnull;

		ItemPointerCopy((ItemPointer) DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[i],
														  SPI_tuptable->tupdesc, 1, &isnull)),
						&(*bounds)[i]);
	}
	SPI_freetuptable(SPI_tuptable);
	pfree(sql.data);
	return (int) n;
}

/*
 * Which of n machine labels are audited: a random share fraction of them,
 * a partial shuffle drawn with a fixed seed.
 */
static Datum *
draw_audited(const HitlModel *model, uint64 n, double fraction)
{
	Datum	   *audited = palloc_extended(sizeof(Datum) * n, MCXT_ALLOC_HUGE);
	uint64	   *order = palloc_extended(sizeof(uint64) * n, MCXT_ALLOC_HUGE);
	FoldsRng	rng;
	uint64		want;
	uint64		i;

	for (i = 0; i < n; i++)
	{
		audited[i] = BoolGetDatum(false);
		order[i] = i;
	}
	want = (uint64) ceil(fraction * (double) n);
	if (want > n)
		want = n;
	folds_rng_init(&rng, FOLDS_SEED ^ folds_hash_bytes(model->name, strlen(model->name)));
	for (i = 0; i < want; i++)
	{
		uint64		j = i + folds_rng_below(&rng, n - i);
		uint64		swap = order[i];

		order[i] = order[j];
		order[j] = swap;
		audited[order[i]] = BoolGetDatum(true);
	}
	pfree(order);
	return audited;
}


/*
 * One batch's UPDATE of machine labels, as the caller: they are no
 * annotator's answers (answer.c), whatever the model's annotators_per_row.
 */
static uint64
write_machine_labels(Oid relid, const char *sql, Oid *argtypes, Datum *values)
{
	volatile uint64 got = 0;

	label_answers_suspend(relid, true);
	PG_TRY();
	{
		got = catalog_execute(CATALOG_AS_CALLER, sql, 3, argtypes, values, NULL, false,
							  SPI_OK_SELECT, "writing the machine labels");
	}
	PG_FINALLY();
	{
		label_answers_suspend(relid, false);
	}
	PG_END_TRY();
	return got;
}
/*
 * Write the batches: each locks the candidates of its ctid range (SKIP
 * LOCKED), labels them, and appends the keys and labels it wrote to the
 * arrays.  Returns how many rows were labeled.
 */
static uint64
write_batches(const HitlModel *model, const char *candidate_sql, double threshold,
			  ItemPointer bounds, int nbatches, Datum **keys, Datum **labels)
{
	StringInfoData sql;
	Oid			argtypes[3] = {FLOAT8OID, TIDOID, TIDOID};
	Datum		values[3];
	ItemPointerData first;
	ItemPointerData end;
	uint64		n = 0;
	uint64		cap = 1024;
	int			b;

	/* the first batch starts at the table's start, the last runs to its end */
	ItemPointerSet(&first, 0, 0);
	ItemPointerSet(&end, InvalidBlockNumber, 0);
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "WITH c AS (SELECT t.ctid AS tid FROM %1$s t WHERE %2$s"
					 " AND t.ctid OPERATOR(pg_catalog.>=) $2 AND t.ctid OPERATOR(pg_catalog.<) $3"
					 " FOR UPDATE OF t SKIP LOCKED),"
					 " u AS (UPDATE %1$s t SET %3$s = t.%4$s"
					 " WHERE t.ctid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT c.tid FROM c))"
					 " AND %2$s"
					 " RETURNING %5$s AS k, t.%3$s::pg_catalog.text AS l)"
					 " SELECT u.k, u.l FROM u WHERE u.l IS NOT NULL",
					 model->source_text, candidate_sql, quote_identifier(model->label_column),
					 quote_identifier(model->prediction_column), rowkey_sql(model, "t"));
	*keys = palloc_extended(sizeof(Datum) * cap, MCXT_ALLOC_HUGE);
	*labels = palloc_extended(sizeof(Datum) * cap, MCXT_ALLOC_HUGE);
	values[0] = Float8GetDatum(threshold);
	for (b = 0; b < nbatches; b++)
	{
		uint64		got;
		uint64		i;

		CHECK_FOR_INTERRUPTS();
		values[1] = PointerGetDatum(b == 0 ? &first : &bounds[b]);
		values[2] = PointerGetDatum(b == nbatches - 1 ? &end : &bounds[b + 1]);
		got = write_machine_labels(model->source, sql.data, argtypes, values);
		if (n + got > cap)
		{
			cap = Max(cap * 2, n + got);
			*keys = repalloc_huge(*keys, sizeof(Datum) * cap);
			*labels = repalloc_huge(*labels, sizeof(Datum) * cap);
		}
		for (i = 0; i < got; i++, n++)
		{
			bool		isnull;

			(*keys)[n] = datumCopy(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
												 1, &isnull), false, -1);
			(*labels)[n] = datumCopy(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
												   2, &isnull), false, -1);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	pfree(sql.data);
	return n;
}

/*
 * Label, as the caller, the unlabeled rows whose confidence reaches the
 * threshold with their prediction, in batches of batch_size; record them in
 * hitl.auto_labels, a random share fraction of them audited.  Returns how
 * many.
 */
static int64
label_rows(const HitlModel *model, double threshold, double fraction)
{
	StringInfoData candidate;
	ItemPointer bounds;
	int			nbatches;
	uint64		n;
	Datum	   *keys;
	Datum	   *labels;

	/*
	 * A candidate: unlabeled, predicted, its confidence at least $1.  A
	 * stored confidence is within score_tolerance of the current version's
	 * (scoring rewrites it only when it moved by more), so it decides alone
	 * outside the band of score_tolerance around $1; in the band, the
	 * version's confidence is computed again (hitl.predict_proba, calibrated
	 * as scoring is), so that no row below the threshold is labeled.
	 */
	initStringInfo(&candidate);
	appendStringInfo(&candidate,
					 "t.%1$s IS NULL AND t.%2$s IS NOT NULL"
					 " AND t.%3$s OPERATOR(pg_catalog.>=)"
					 " ($1 OPERATOR(pg_catalog.-) '%4$.17g'::pg_catalog.float8)",
					 quote_identifier(model->label_column),
					 quote_identifier(model->prediction_column),
					 quote_identifier(model->confidence_column),
					 model->score_tolerance);
	if (model->score_tolerance > 0)
		appendStringInfo(&candidate,
						 " AND (t.%1$s OPERATOR(pg_catalog.>=)"
						 " ($1 OPERATOR(pg_catalog.+) '%2$.17g'::pg_catalog.float8)"
						 " OR ((hitl.predict_proba(%3$s, t) OPERATOR(pg_catalog.->>) t.%4$s::pg_catalog.text)"
						 "::pg_catalog.float8 OPERATOR(pg_catalog.>=) $1))",
						 quote_identifier(model->confidence_column),
						 model->score_tolerance,
						 quote_literal_cstr(model->name),
						 quote_identifier(model->prediction_column));
	nbatches = batch_bounds(model, candidate.data, threshold, &bounds);
	if (nbatches == 0)
		return 0;
	writing = true;
	writing_version = model->current_version;
	PG_TRY();
	{
		n = write_batches(model, candidate.data, threshold, bounds, nbatches, &keys, &labels);
	}
	PG_FINALLY();
	{
		writing = false;
	}
	PG_END_TRY();
	if (n == 0)
		return 0;
	catalog_auto_labels_add(model->name, model->current_version,
							PointerGetDatum(construct_array(keys, (int) n, JSONBOID, -1, false,
															TYPALIGN_INT)),
							PointerGetDatum(construct_array(labels, (int) n, TEXTOID, -1, false,
															TYPALIGN_INT)),
							PointerGetDatum(construct_array(draw_audited(model, n, fraction),
															(int) n, BOOLOID, 1, true,
															TYPALIGN_CHAR)));
	return (int64) n;
}

/*
 * Auto-label a model (SPI connected): checks, threshold, labels.  For the
 * worker, a model whose scores are not of its current version (a scoring
 * that gave way) is left for its next round.
 */
static int64
auto_label(const char *name, double target, double fraction, bool worker)
{
	HitlModel  *model = catalog_load_model(name, CurrentMemoryContext);
	AutoThreshold t;

	check_model(model);
	catalog_check_not_citus(model);
	/* no scoring may move the predictions while the batches read them */
	score_lock(model->name);
	if (!check_scored(model, !worker))
		return 0;
	find_threshold(model, target, &t);
	if (!t.found)
	{
		notice_none(model, target, &t);
		return 0;
	}
	return label_rows(model, t.threshold, fraction);
}

/*
 * hitl.auto_label(model text, target_precision float8, audit_fraction
 * float8) returns bigint: the rows labeled.
 */
Datum
hitl_auto_label(PG_FUNCTION_ARGS)
{
	double		target;
	double		fraction;
	int64		n;

	check_arguments(fcinfo, &target, &fraction);
	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	n = auto_label(text_to_cstring(PG_GETARG_TEXT_PP(0)), target, fraction, false);
	SPI_finish();
	PG_RETURN_INT64(n);
}

/*
 * hitl._auto_label_threshold(model text, target_precision float8) returns
 * float8: the threshold hitl.auto_label would use, NULL when none.
 */
Datum
hitl_auto_label_threshold(PG_FUNCTION_ARGS)
{
	double		target;
	HitlModel  *model;
	AutoThreshold t;

	check_arguments(fcinfo, &target, NULL);
	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	model = catalog_load_model(text_to_cstring(PG_GETARG_TEXT_PP(0)), CurrentMemoryContext);
	check_model(model);
	find_threshold(model, target, &t);
	SPI_finish();
	if (!t.found)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(t.threshold);
}

void
autolabel_for_worker(const char *model, Oid owner)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	double		target;
	HitlRoleScope scope;

	values[0] = CStringGetTextDatum(model);
	if (catalog_execute(CATALOG_AS_OWNER,
						"SELECT (m.options OPERATOR(pg_catalog.->>) 'auto_label_precision')"
						"::pg_catalog.float8 FROM hitl.models m"
						" WHERE m.name OPERATOR(pg_catalog.=) $1",
						1, argtypes, values, NULL, true, SPI_OK_SELECT,
						"reading option auto_label_precision") == 0)
		return;
	target = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
										  &isnull));
	if (isnull)
		return;
	hitl_role_enter(&scope, owner);
	(void) auto_label(model, target, 0.05, true);
	hitl_role_exit(&scope);
}
