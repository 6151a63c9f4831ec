/*
 * score_scan.c
 *		The scan of a scoring: read rows of the model's table and score them
 *		in memory, keeping those whose scores moved and offering the
 *		unlabeled ones to the review queue's candidates.
 *
 * The rows come straight from the executor (a DestReceiver), read in its
 * slot with no copy of the row made.  A scan runs the whole table in one
 * query, or, in a parallel scoring (score_parallel.c), block ranges of it,
 * each process its own; both end in the same rows and candidates.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "tcop/dest.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "progress.h"
#include "rowkey.h"
#include "score_scan.h"
#include "strategy_math.h"
#include "termcache.h"

/* The scan's columns before the key columns: see score_scan_sql */
#define SCAN_FIXED_COLUMNS 5

/* Rows scanned between two reports of progress */
#define SCAN_PROGRESS_ROWS 10000

/*
 * Where the scan's query sends its rows: straight to score_row, which reads
 * them in the executor's slot (a cursor's fetch copies every row into a
 * tuple table, then it is taken apart again).
 */
typedef struct ScanReceiver
{
	DestReceiver pub;
	ScoreScan  *scan;
	MemoryContext rowcxt;		/* reset after each row */
} ScanReceiver;

static bool prediction_is(const ScoreState *s, Datum current, int k);
static bool moved(bool isnull, Datum current, double value, double tolerance);
static void prepare_state(ScoreState *s);
static void pool_add(ScoreScan *sc);
static double row_density(const ScoreScan *sc);
static bool score_row(Datum *values, bool *nulls, ScoreScan *sc);
static bool scan_receive(TupleTableSlot *slot, DestReceiver *self);
static void scan_startup(DestReceiver *self, int operation, TupleDesc desc);
static void scan_nothing(DestReceiver *self);

int64
score_estimate_rows(Oid relid)
{
	HeapTuple	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	int64		n = 0;

	if (HeapTupleIsValid(tp))
	{
		float4		reltuples = ((Form_pg_class) GETSTRUCT(tp))->reltuples;

		if (reltuples > 0)
			n = (int64) Min(reltuples * 1.1, 1e8);
		ReleaseSysCache(tp);
	}
	return n;
}

/* Does a stored prediction equal class k? */
static bool
prediction_is(const ScoreState *s, Datum current, int k)
{
	if (s->label_byval)
		return current == s->class_datums[k];
	else
	{
		struct varlena *a = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(current));
		struct varlena *b = (struct varlena *) DatumGetPointer(s->class_datums[k]);

		return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
			memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
	}
}

/* Does a score move from its stored value by more than the tolerance? */
static bool
moved(bool isnull, Datum current, double value, double tolerance)
{
	double		old;

	if (isnull)
		return true;
	old = DatumGetFloat8(current);
	if (tolerance == 0.0)
		return old != value;
	return fabs(old - value) > tolerance;
}

/*
 * Prepare what the scan needs: the key columns, the label's type and the
 * classes as its values.
 */
static void
prepare_state(ScoreState *s)
{
	HitlModel  *m = s->model;
	AttrNumber	att = get_attnum(m->source, m->label_column);
	Oid			typinput;
	Oid			typioparam;
	int16		typlen;
	int			i;

	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("label column \"%s\" of model \"%s\" no longer exists",
						m->label_column, m->name)));
	score_prepare_keys(s);
	s->label_type = get_atttype(m->source, att);
	get_typlenbyval(s->label_type, &typlen, &s->label_byval);
	s->label_type_sql = format_type_be_qualified(s->label_type);
	getTypeInputInfo(s->label_type, &typinput, &typioparam);
	s->class_datums = palloc(sizeof(Datum) * s->version->n_classes);
	for (i = 0; i < s->version->n_classes; i++)
		s->class_datums[i] = OidInputFunctionCall(typinput, s->version->classes[i],
												  typioparam, -1);
}

void
score_load(ScoreState *s)
{
	HitlVersion *v;

	v = s->version = catalog_load_version(s->model, s->model->current_version, s->cxt);
	/* SPI calls leave us in SPI's context: what follows must outlive it */
	MemoryContextSwitchTo(s->cxt);
	s->layout = features_resolve(s->model);
	features_set_dims(s->layout, v->feature_dims);
	if (s->layout->d != v->d)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("version %d of model \"%s\" does not match its feature columns",
						v->version, s->model->name)));
	classifier_init(&s->classifier, s->model, s->layout, v);
	prepare_state(s);
}

/* Add the feature vector of the row just scored to the pool's sum */
static void
pool_add(ScoreScan *sc)
{
	const Classifier *c = &sc->s->classifier;

	if (c->sparse)
		strategy_pool_add_sparse(sc->pool_sum, c->row.nnz, c->row.idx, c->row.val);
	else
		strategy_pool_add(sc->pool_dim, sc->pool_sum, c->x);
	sc->pool_n += 1.0;
}

/* The density of the row just scored: its mean cosine to the pool */
static double
row_density(const ScoreScan *sc)
{
	const Classifier *c = &sc->s->classifier;

	if (c->sparse)
		return strategy_density_sparse(c->row.nnz, c->row.idx, c->row.val,
									   sc->pool_sum, sc->pool_n);
	return strategy_density(sc->pool_dim, c->x, sc->pool_sum, sc->pool_n);
}

/*
 * One row of the scan (the columns of score_scan_sql).  Score it; keep it
 * (with its key) when its scores moved, offer it to the queue when
 * unlabeled.  Returns false, the row noted in sc, when its features cannot
 * be read: the error is raised once the scan's query is over (naming the
 * row takes a query).
 */
static bool
score_row(Datum *values, bool *nulls, ScoreScan *sc)
{
	ScoreState *s = sc->s;
	int			k = s->version->n_classes;
	int			feat = SCAN_FIXED_COLUMNS + s->nkeys;
	ScoredRow	row;
	FeatureStatus st;
	int			bad_col;

	row.tid = *DatumGetItemPointer(values[0]);
	row.in_queue = false;
	row.key = (Datum) 0;
	if (s->classifier.sparse)
	{
		s->classifier.row.cache = values[feat + s->layout->ncols];
		s->classifier.row.cache_null = nulls[feat + s->layout->ncols];
	}
	st = classifier_proba(&s->classifier, values + feat, nulls + feat, sc->proba, &bad_col);
	if (st != FEATURE_OK)
	{
		sc->bad_status = st;
		sc->bad_col = bad_col;
		sc->bad_tid = row.tid;
		return false;
	}
	if (sc->pool_pass)
	{
		if (DatumGetBool(values[1]))
			pool_add(sc);
		sc->met++;
		return true;
	}
	row.cls = proba_argmax(k, sc->proba, &row.confidence);
	row.uncertainty = uncertainty_score(s->model->strategy, k, sc->proba);
	if (sc->pool_sum != NULL)
		row.uncertainty = strategy_density_score(row.uncertainty, row_density(sc),
												 STRATEGY_DENSITY_BETA);
	else if (sc->committee != NULL)
		row.uncertainty = score_committee_uncertainty(sc);

	if (nulls[2] || !prediction_is(s, values[2], row.cls) ||
		moved(nulls[3], values[3], row.confidence, s->model->score_tolerance) ||
		moved(nulls[4], values[4], row.uncertainty, s->model->score_tolerance))
	{
		row.key = rowkey_save(s, values + SCAN_FIXED_COLUMNS, nulls + SCAN_FIXED_COLUMNS);
		rowlist_add(sc->changed, &row);
	}
	if (DatumGetBool(values[1]))
		candidates_offer(s, &sc->heap, &row, score_row_seq(&row.tid),
						 values + SCAN_FIXED_COLUMNS, nulls + SCAN_FIXED_COLUMNS);
	sc->met++;
	return true;
}

/* A row of the scan's query, in the executor's slot: score it */
static bool
scan_receive(TupleTableSlot *slot, DestReceiver *self)
{
	ScanReceiver *r = (ScanReceiver *) self;
	ScoreScan  *scan = r->scan;
	MemoryContext old;
	bool		more;

	slot_getallattrs(slot);
	old = MemoryContextSwitchTo(r->rowcxt);
	more = score_row(slot->tts_values, slot->tts_isnull, scan);
	MemoryContextSwitchTo(old);
	MemoryContextReset(r->rowcxt);
	if (scan->poll != NULL && scan->met % SCAN_POLL_ROWS == 0)
		scan->poll(scan, scan->poll_arg);
	if (scan->report && scan->met % SCAN_PROGRESS_ROWS == 0)
		hitl_progress_done((int64) (scan->met + scan->met_elsewhere));
	CHECK_FOR_INTERRUPTS();
	return more;
}

static void
scan_startup(DestReceiver *self, int operation, TupleDesc desc)
{
}

static void
scan_nothing(DestReceiver *self)
{
}

void
score_scan_init(ScoreState *s, ScoreScan *scan, RowList *changed)
{
	memset(scan, 0, sizeof(*scan));
	if (changed->capacity == 0)
		changed->capacity = Max(score_estimate_rows(s->model->source), 1024);
	changed->rows = palloc_extended(sizeof(ScoredRow) * changed->capacity,
									MCXT_ALLOC_HUGE);
	changed->n = 0;
	scan->s = s;
	scan->proba = palloc(sizeof(double) * s->version->n_classes);
	scan->changed = changed;
	candidates_init(&scan->heap, s);
	scan->bad_status = FEATURE_OK;
}

char *
score_scan_sql(const ScoreState *s, bool tid_range)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT t.ctid, t.%s IS NULL, t.%s, t.%s, t.%s, %s, %s%s FROM %s t",
					 quote_identifier(s->model->label_column),
					 quote_identifier(s->model->prediction_column),
					 quote_identifier(s->model->confidence_column),
					 quote_identifier(s->model->uncertainty_column),
					 rowkey_columns_sql(s->model, "t"),
					 features_select_list(s->model, "t"), termcache_select(s->model, "t"),
					 s->model->source_text);
	if (tid_range)
		appendStringInfoString(&sql, " WHERE t.ctid >= $1 AND t.ctid < $2");
	return sql.data;
}

void
score_scan_pool(ScoreScan *scan, SPIPlanPtr plan)
{
	const HitlVersion *v = scan->s->version;

	scan->pool_dim = scan->s->classifier.sparse ? v->d + v->n_vocabulary : v->d;
	scan->pool_sum = palloc_extended(sizeof(double) * Max(scan->pool_dim, 1),
									 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	scan->pool_n = 0.0;
	scan->pool_pass = true;
	score_scan_run(scan, plan, NULL);
	scan->pool_pass = false;
	scan->met = 0;
}

/*
 * Planned as a cursor would be, without parallel workers: a whole table's
 * rows come in the table's order.
 */
SPIPlanPtr
score_scan_prepare(const char *sql, bool tid_range)
{
	Oid			argtypes[2] = {TIDOID, TIDOID};
	SPIPlanPtr	plan;

	plan = SPI_prepare_cursor(sql, tid_range ? 2 : 0, argtypes, CURSOR_OPT_NO_SCROLL);
	if (plan == NULL)
		elog(ERROR, "hitl: preparing the scan failed: %s",
			 SPI_result_code_string(SPI_result));
	return plan;
}

void
score_scan_run(ScoreScan *scan, SPIPlanPtr plan, Datum *params)
{
	MemoryContext cxt = CurrentMemoryContext;
	ScanReceiver r;
	SPIExecuteOptions xopts = {0};
	ParamListInfo pli = NULL;
	int			ret;

	memset(&r, 0, sizeof(r));
	r.pub.receiveSlot = scan_receive;
	r.pub.rStartup = scan_startup;
	r.pub.rShutdown = scan_nothing;
	r.pub.rDestroy = scan_nothing;
	r.pub.mydest = DestNone;
	r.scan = scan;
	r.rowcxt = AllocSetContextCreate(cxt, "hitl scan row", ALLOCSET_DEFAULT_SIZES);

	if (params != NULL)
	{
		int			i;

		pli = makeParamList(2);
		for (i = 0; i < 2; i++)
		{
			pli->params[i].value = params[i];
			pli->params[i].isnull = false;
			pli->params[i].pflags = PARAM_FLAG_CONST;
			pli->params[i].ptype = TIDOID;
		}
	}
	xopts.params = pli;
	xopts.read_only = true;
	xopts.dest = (DestReceiver *) &r;
	ret = SPI_execute_plan_extended(plan, &xopts);
	if (ret < 0)
		elog(ERROR, "hitl: the scan failed: %s", SPI_result_code_string(ret));
	/* SPI calls leave us in SPI's context */
	MemoryContextSwitchTo(cxt);
	MemoryContextDelete(r.rowcxt);
	if (pli != NULL)
		pfree(pli);

	if (scan->bad_status != FEATURE_OK)
		features_report(scan->s->model, scan->s->layout, scan->bad_status,
						scan->bad_col, rowkey_text_at(scan->s->model, &scan->bad_tid));
}
