/*
 * train_stopping.c
 *		The stopping signal of a new version: how far its predictions agree
 *		with the previous version's on the unlabeled rows (Cohen's kappa,
 *		stabilizing predictions: Bloodgood and Vijay-Shanker 2009), and its
 *		mean uncertainty there.
 *
 * The previous version's predictions are those the table's prediction
 * column holds when the version is recorded: its scoring wrote them (rows
 * it did not reach yet hold NULL and are left out).  The new version's are
 * computed here, from the version as recorded (read back as the scoring
 * reads it: the same classifier, the same calibration), and not written:
 * the scoring that follows writes them.
 *
 * The worker computes the signal after the new version's scoring instead,
 * so that it is not between a label and the fresh queue: the table then
 * holds the new version's predictions, and the previous ones are computed
 * from the version that had scored the table when the new one was trained
 * (the same argmax its scoring wrote), on the same sample.
 *
 * The comparison reads at most STOP_SAMPLE_ROWS unlabeled rows, those of
 * smallest hash of their key among a fixed share of the table's pages (see
 * stop_pass_sql): a sample that stays about the same from version to
 * version, and costs a small part of scoring every row at each training
 * (test/bench/stopping.sh).  The kappa itself is agreement.c's, the two
 * versions taken as two annotators of each row.
 *
 * The figures go into the version's metrics ("stop_*", see
 * sql/0.2.0/79-stopping.sql), with the out-of-fold accuracy trend and
 * hitl.models.stop_suggested, through catalog_record_stop_signal.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "agreement.h"
#include "catalog.h"
#include "classifier.h"
#include "rowkey.h"
#include "spi_check.h"
#include "termcache.h"
#include "train.h"

/*
 * The unlabeled rows a version's predictions are compared on, at most; 0
 * compares them all (a build with -DHITL_STOP_SAMPLE_ROWS=0 measures what
 * that costs: see test/bench/stopping.sh)
 */
#ifndef HITL_STOP_SAMPLE_ROWS
#define HITL_STOP_SAMPLE_ROWS 10000
#endif
#define STOP_SAMPLE_ROWS HITL_STOP_SAMPLE_ROWS

/* The unlabeled rows the sampled pages hold, as a multiple of the limit */
#define STOP_SAMPLE_MARGIN 1.25

/* The comparison under way */
typedef struct StopPass
{
	const HitlModel *model;
	const HitlVersion *v;
	const FeatureLayout *layout;
	Classifier	classifier;
	double	   *proba;			/* k: one row's probabilities */
	const HitlVersion *prev_v;	/* the version compared with, computed (after
								 * the scoring), or NULL: the table's */
	Classifier	prev_classifier;	/* ... its classifier */
	double	   *prev_proba;		/* ... one row's probabilities */
	int			n_extra;		/* previous predictions of classes v has not */
	char	  **extra;			/* ... their names (index k + i) */
	AnnotatorAnswer *answers;	/* 2 per row: the previous version (annotator
								 * 0) and this one (1) */
	int			n;				/* rows compared */
	int			capacity;		/* rows answers has room for */
	double		uncertainty_sum;
	MemoryContext cxt;			/* the pass's memory */
} StopPass;

static char *stop_key_hash_sql(const HitlModel *model);
static char *stop_hash_threshold(const HitlModel *model, int limit);
static char *stop_pass_sql(const HitlModel *model, int n_labeled, int limit);
static double stop_estimate_rows(Oid relid, char *relkind);
static int	stop_class_of(StopPass *p, const char *name);
static void stop_row(Datum *values, bool *nulls, void *arg);
static void stop_json_number(StringInfo buf, const char *key, double value);
static void stop_json(StringInfo buf, const StopPass *p);
static void stop_prev_init(StopPass *p, int compared);

/*
 * The SQL of a row's key hash, from the key columns of the table aliased t:
 * hash_record_extended of them when each has an extended hash function
 * (integer, text and uuid keys: cheaper than the other), else the hash
 * of their text.
 */
static char *
stop_key_hash_sql(const HitlModel *model)
{
	char	   *keys = rowkey_columns_sql(model, "t");
	int			i;

	for (i = 0; i < model->n_key_columns; i++)
	{
		AttrNumber	att = get_attnum(model->source, model->key_columns[i]);
		TypeCacheEntry *tc;

		if (att == InvalidAttrNumber)
			break;
		tc = lookup_type_cache(getBaseType(get_atttype(model->source, att)),
							   TYPECACHE_HASH_EXTENDED_PROC);
		if (!OidIsValid(tc->hash_extended_proc))
			break;
	}
	if (i == model->n_key_columns)
		return psprintf("pg_catalog.hash_record_extended(ROW(%s), 0)", keys);
	return psprintf("pg_catalog.hashtextextended(ROW(%s)::pg_catalog.text, 0)", keys);
}

/*
 * A Citus distributed table (whose coordinator's table has no row count,
 * and whose LIMIT Citus runs on each shard, which would send each shard's
 * smallest hashes): " AND <key hash> <= x", x such that about
 * STOP_SAMPLE_MARGIN times the limit of the unlabeled rows pass, from
 * their count (pushed down to the shards); "" when there are fewer.  The
 * rows of smallest hash are among those, as on a plain table.
 */
static char *
stop_hash_threshold(const HitlModel *model, int limit)
{
	bool		isnull;
	double		rows;
	double		share;

	hitl_spi_check_rows(SPI_execute(psprintf("SELECT pg_catalog.count(*)::float8 FROM %s t"
											 " WHERE t.%s IS NULL AND t.%s IS NOT NULL",
											 model->source_text,
											 quote_identifier(model->label_column),
											 quote_identifier(model->prediction_column)),
									true, 0),
						SPI_OK_SELECT, 1, "counting the unlabeled rows of the shards");
	rows = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull || rows <= STOP_SAMPLE_MARGIN * limit)
		return "";
	/* the hashes are spread over the whole of int64 */
	share = STOP_SAMPLE_MARGIN * limit / rows;
	return psprintf(" AND %s <= " INT64_FORMAT, stop_key_hash_sql(model),
					(int64) (-9223372036854775808.0 + share * 18446744073709551616.0));
}

/*
 * The query of the comparison: the previous prediction as text, the
 * feature columns and the term cache's column of the unlabeled rows that
 * have a prediction; with a limit, those of smallest hash of their key.
 *
 * Reading every row to sort their hashes costs about as much as scoring
 * them all (a cursor's scan is not parallel), so a plain table whose
 * unlabeled rows (pg_class.reltuples less the version's labeled rows) are
 * more than STOP_SAMPLE_MARGIN times the limit is read through
 * TABLESAMPLE SYSTEM: a fixed share of its pages (REPEATABLE: the same
 * pages from version to version, and a larger share takes a superset)
 * holding about that many unlabeled rows, among which those of smallest
 * key hash are taken.  A row that an update moved to another page may
 * leave the sample or enter it: the sample is stable but for them.
 */
static char *
stop_pass_sql(const HitlModel *model, int n_labeled, int limit)
{
	char		relkind;
	double		rows = stop_estimate_rows(model->source, &relkind) - n_labeled;
	char	   *sample = "";
	char	   *below = "";

	if (limit > 0 && catalog_citus_distributed(model->source))
		below = stop_hash_threshold(model, limit);
	else if (limit > 0 && rows > STOP_SAMPLE_MARGIN * limit && relkind == RELKIND_RELATION)
		sample = psprintf(" TABLESAMPLE SYSTEM (%.6f) REPEATABLE (0)",
						  100.0 * STOP_SAMPLE_MARGIN * limit / rows);
	return psprintf("SELECT t.%s::pg_catalog.text, %s%s FROM %s t%s"
					" WHERE t.%s IS NULL AND t.%s IS NOT NULL%s%s",
					quote_identifier(model->prediction_column),
					features_select_list(model, "t"), termcache_select(model, "t"),
					model->source_text, sample, quote_identifier(model->label_column),
					quote_identifier(model->prediction_column), below,
					limit <= 0 ? "" :
					psprintf(" ORDER BY %s, %s LIMIT %d", stop_key_hash_sql(model),
							 rowkey_columns_sql(model, "t"), limit));
}

/* The rows of a table as pg_class says (0 when it does not know), its kind */
static double
stop_estimate_rows(Oid relid, char *relkind)
{
	HeapTuple	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	double		rows = 0.0;

	*relkind = '\0';
	if (HeapTupleIsValid(tp))
	{
		rows = Max(((Form_pg_class) GETSTRUCT(tp))->reltuples, 0.0);
		*relkind = ((Form_pg_class) GETSTRUCT(tp))->relkind;
		ReleaseSysCache(tp);
	}
	return rows;
}

/*
 * The index of a previous prediction's class: that of the version's class
 * of that name, or one after them for a class it has not (a class gone
 * since, which never agrees).
 */
static int
stop_class_of(StopPass *p, const char *name)
{
	int			i;

	for (i = 0; i < p->v->n_classes; i++)
		if (strcmp(p->v->classes[i], name) == 0)
			return i;
	for (i = 0; i < p->n_extra; i++)
		if (strcmp(p->extra[i], name) == 0)
			return p->v->n_classes + i;
	p->extra = p->n_extra == 0 ?
		MemoryContextAlloc(p->cxt, sizeof(char *)) :
		repalloc(p->extra, sizeof(char *) * (p->n_extra + 1));
	p->extra[p->n_extra] = MemoryContextStrdup(p->cxt, name);
	return p->v->n_classes + p->n_extra++;
}

/*
 * One row of the comparison: its previous prediction and the new
 * version's, as two answers; a row whose features cannot be read (the
 * scoring will say why) is left out.
 */
static void
stop_row(Datum *values, bool *nulls, void *arg)
{
	StopPass   *p = (StopPass *) arg;
	int			k = p->v->n_classes;
	int			ncols = p->layout->ncols;
	int			bad_col;
	int			prev;
	int			cls;

	if (p->n >= PG_INT32_MAX / 2)
		return;
	if (p->classifier.sparse)
	{
		p->classifier.row.cache = values[1 + ncols];
		p->classifier.row.cache_null = nulls[1 + ncols];
	}
	if (classifier_proba(&p->classifier, values + 1, nulls + 1, p->proba, &bad_col) !=
		FEATURE_OK)
		return;
	if (p->n == p->capacity)
	{
		p->capacity *= 2;
		p->answers = repalloc_huge(p->answers, sizeof(AnnotatorAnswer) * 2 * p->capacity);
	}
	cls = proba_argmax(k, p->proba, NULL);
	if (p->prev_v != NULL)
	{
		if (p->prev_classifier.sparse)
		{
			p->prev_classifier.row.cache = values[1 + ncols];
			p->prev_classifier.row.cache_null = nulls[1 + ncols];
		}
		if (classifier_proba(&p->prev_classifier, values + 1, nulls + 1, p->prev_proba,
							 &bad_col) != FEATURE_OK)
			return;
		prev = stop_class_of(p, p->prev_v->classes[proba_argmax(p->prev_v->n_classes,
																p->prev_proba, NULL)]);
	}
	else
		prev = stop_class_of(p, train_label_text(p->model, values[0], nulls[0]));
	p->answers[2 * p->n] = (AnnotatorAnswer)
	{
		p->n, 0, prev
	};
	p->answers[2 * p->n + 1] = (AnnotatorAnswer)
	{
		p->n, 1, cls
	};
	p->uncertainty_sum += uncertainty_score(p->model->strategy, k, p->proba);
	p->n++;
}

/* Append "key": value, or null when value is not finite */
static void
stop_json_number(StringInfo buf, const char *key, double value)
{
	if (isfinite(value))
		train_json_number(buf, key, value);
	else
		appendStringInfo(buf, "%s\"%s\": null", buf->len > 1 ? ", " : "", key);
}

/* Append the figures of a pass to an open JSON object */
static void
stop_json(StringInfo buf, const StopPass *p)
{
	double		kappa = NAN;
	long		common = 0;
	int			k = p->v->n_classes + p->n_extra;

	if (p->n >= 2 && k <= CONSENSUS_MAX_CLASSES)
		(void) agreement_measure(p->n, 2, k, p->answers, 2 * p->n, AGREEMENT_COHEN_KAPPA,
								 0, 1, 0, &kappa, &common);
	stop_json_number(buf, "stop_kappa_previous", kappa);
	train_json_number(buf, "stop_kappa_rows", p->n);
	stop_json_number(buf, "stop_sample_rows", STOP_SAMPLE_ROWS > 0 ? STOP_SAMPLE_ROWS : NAN);
	stop_json_number(buf, "stop_mean_uncertainty",
					 p->n > 0 ? p->uncertainty_sum / p->n : NAN);
}

/*
 * The version compared with, computed: its classifier in p, on a layout of
 * its own dims (a text model's may differ from the new version's).
 */
static void
stop_prev_init(StopPass *p, int compared)
{
	FeatureLayout *layout;

	p->prev_v = catalog_load_version(p->model, compared, p->cxt);
	MemoryContextSwitchTo(p->cxt);
	layout = features_resolve(p->model);
	features_set_dims(layout, p->prev_v->feature_dims);
	classifier_init(&p->prev_classifier, p->model, layout, p->prev_v);
	p->prev_proba = palloc(sizeof(double) * p->prev_v->n_classes);
}

/*
 * Compare the predictions of the model's version (just recorded) with the
 * previous ones, and record the signal.  compared < 0: those the table
 * holds (the version was just trained, its scoring still to come);
 * otherwise those of version compared, computed (the table already holds
 * the new version's; 0: there was none, no row is compared).
 */
void
train_stop_signal(const HitlModel *model, int version, int compared)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "hitl stop signal",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	StopPass	p;
	FeatureLayout *layout;
	StringInfoData buf;
	instr_time	start;
	instr_time	duration;
	Portal		portal;
	int			level;

	INSTR_TIME_SET_CURRENT(start);
	/* the version just recorded, read back: its row must be visible */
	CommandCounterIncrement();
	PushCopiedSnapshot(GetActiveSnapshot());
	UpdateActiveSnapshotCommandId();
	memset(&p, 0, sizeof(p));
	p.cxt = cxt;
	p.model = model;
	p.v = catalog_load_version(model, version, cxt);
	MemoryContextSwitchTo(cxt);
	layout = features_resolve(model);
	features_set_dims(layout, p.v->feature_dims);
	p.layout = layout;
	classifier_init(&p.classifier, model, layout, p.v);
	p.proba = palloc(sizeof(double) * p.v->n_classes);
	p.capacity = STOP_SAMPLE_ROWS > 0 ? STOP_SAMPLE_ROWS : 65536;
	p.answers = palloc_extended(sizeof(AnnotatorAnswer) * 2 * p.capacity, MCXT_ALLOC_HUGE);
	if (compared > 0)
		stop_prev_init(&p, compared);
	if (compared != 0)
	{
		/* as the training's reads: compiling the query costs more than it saves */
		level = NewGUCNestLevel();
		(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		portal = dataset_open_cursor(stop_pass_sql(model, p.v->n_labeled, STOP_SAMPLE_ROWS));
		AtEOXact_GUC(true, level);
		dataset_scan(portal, stop_row, &p);
	}
	PopActiveSnapshot();

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	stop_json(&buf, &p);
	appendStringInfoChar(&buf, '}');
	catalog_record_stop_signal(model, version, buf.data, compared);
	/* its time is not in the metrics: the same data gives the same metrics */
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	ereport(DEBUG1,
			(errmsg_internal("hitl: model \"%s\": stopping signal of version %d on %d rows in %.1f ms%s",
							 model->name, version, p.n, INSTR_TIME_GET_MILLISEC(duration),
							 compared < 0 ? "" : " (after its scoring)")));
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}
