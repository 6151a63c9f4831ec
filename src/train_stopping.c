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
 * The comparison reads at most STOP_SAMPLE_ROWS unlabeled rows, those of
 * smallest hash of their key: a sample that stays the same from version to
 * version but for the rows labeled meanwhile, and costs a scan of the
 * table's keys rather than the scoring of every row at each training (see
 * the figures in the README).  The kappa itself is agreement.c's, the
 * two versions taken as two annotators of each row.
 *
 * The figures go into the version's metrics ("stop_*", see
 * sql/0.2.0/79-stopping.sql), with the out-of-fold accuracy trend and
 * hitl.models.stop_suggested, through catalog_record_stop_signal.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "agreement.h"
#include "classifier.h"
#include "rowkey.h"
#include "termcache.h"
#include "train.h"

/* The unlabeled rows a version's predictions are compared on, at most */
#define STOP_SAMPLE_ROWS 10000

/* The comparison under way */
typedef struct StopPass
{
	const HitlModel *model;
	const HitlVersion *v;
	const FeatureLayout *layout;
	Classifier	classifier;
	double	   *proba;			/* k: one row's probabilities */
	int			n_extra;		/* previous predictions of classes v has not */
	char	  **extra;			/* ... their names (index k + i) */
	AnnotatorAnswer *answers;	/* 2 per row: the previous version (annotator
								 * 0) and this one (1) */
	int			n;				/* rows compared */
	double		uncertainty_sum;
	MemoryContext cxt;			/* the pass's memory */
} StopPass;

static char *stop_pass_sql(const HitlModel *model, int limit);
static int	stop_class_of(StopPass *p, const char *name);
static void stop_row(Datum *values, bool *nulls, void *arg);
static void stop_json_number(StringInfo buf, const char *key, double value);
static void stop_json(StringInfo buf, const StopPass *p, double ms);

/*
 * The query of the comparison: the previous prediction as text, the
 * feature columns and the term cache's column of the unlabeled rows that
 * have a prediction, the limit of smallest hash of their key.
 */
static char *
stop_pass_sql(const HitlModel *model, int limit)
{
	char	   *keys = rowkey_columns_sql(model, "t");

	return psprintf("SELECT t.%s::pg_catalog.text, %s%s FROM %s t"
					" WHERE t.%s IS NULL AND t.%s IS NOT NULL"
					" ORDER BY pg_catalog.hashtextextended(ROW(%s)::pg_catalog.text, 0), %s"
					" LIMIT %d",
					quote_identifier(model->prediction_column),
					features_select_list(model, "t"), termcache_select(model, "t"),
					model->source_text, quote_identifier(model->label_column),
					quote_identifier(model->prediction_column), keys, keys, limit);
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

	if (p->n >= STOP_SAMPLE_ROWS)
		return;
	if (p->classifier.sparse)
	{
		p->classifier.row.cache = values[1 + ncols];
		p->classifier.row.cache_null = nulls[1 + ncols];
	}
	if (classifier_proba(&p->classifier, values + 1, nulls + 1, p->proba, &bad_col) !=
		FEATURE_OK)
		return;
	cls = proba_argmax(k, p->proba, NULL);
	prev = stop_class_of(p, TextDatumGetCString(values[0]));
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
stop_json(StringInfo buf, const StopPass *p, double ms)
{
	double		kappa = NAN;
	long		common = 0;
	int			k = p->v->n_classes + p->n_extra;

	if (p->n >= 2 && k <= CONSENSUS_MAX_CLASSES)
		(void) agreement_measure(p->n, 2, k, p->answers, 2 * p->n, AGREEMENT_COHEN_KAPPA,
								 0, 1, 0, &kappa, &common);
	stop_json_number(buf, "stop_kappa_previous", kappa);
	train_json_number(buf, "stop_kappa_rows", p->n);
	train_json_number(buf, "stop_sample_rows", STOP_SAMPLE_ROWS);
	stop_json_number(buf, "stop_mean_uncertainty",
					 p->n > 0 ? p->uncertainty_sum / p->n : NAN);
	train_json_number(buf, "stop_ms", round(ms * 10.0) / 10.0);
}

/*
 * Compare the predictions of the model's version (just recorded) with the
 * previous ones the table holds, and record the signal.
 */
void
train_stop_signal(const HitlModel *model, int version)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "hitl stop signal",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	StopPass	p;
	FeatureLayout *layout;
	StringInfoData buf;
	instr_time	start;
	instr_time	duration;

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
	p.answers = palloc(sizeof(AnnotatorAnswer) * 2 * STOP_SAMPLE_ROWS);
	dataset_scan(dataset_open_cursor(stop_pass_sql(model, STOP_SAMPLE_ROWS)), stop_row, &p);
	PopActiveSnapshot();

	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	stop_json(&buf, &p, INSTR_TIME_GET_MILLISEC(duration));
	appendStringInfoChar(&buf, '}');
	catalog_record_stop_signal(model, version, buf.data);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}
