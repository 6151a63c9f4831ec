/*
 * train_dense.c
 *		Training logistic regression on numeric features: read the labeled
 *		rows, fit (Newton or L-BFGS, see logreg_solve.h),
 *		cross-validate, record a version.
 *
 * The rows are stored in primary-key order, whatever order the table holds
 * them in (dataset_read_labeled: one scan, one snapshot, no sort of whole
 * rows nor copy of them, a sort of their keys, after which the set's
 * arrays are moved into that order in place), so the same labeled data
 * always gives the same coefficients.  A model that
 * has a current version with the same classes and features is warm-started
 * from its coefficients.
 *
 * A training that would learn from exactly what the current version learned
 * from records nothing and returns the current version: each version keeps
 * a hash (metrics "data_hash") of its training set -- every labeled row's
 * feature values and label (and weight, with weight_by_consensus), in key
 * order, with the classes -- and of the options that shape the fit (C,
 * max_iter, tol, cv_folds).  Same labels on the same features with the
 * same options give the same model, so a new version would be a
 * duplicate; a change of a feature value of a labeled row, of a label (or
 * a weight), or of those options gives a new version.
 */
#include "postgres.h"

#include "storage/itemptr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "compat.h"
#include "logreg.h"
#include "logreg_solve.h"
#include "metrics.h"
#include "progress.h"
#include "rowkey.h"
#include "scaler.h"
#include "train.h"

/* The labeled rows of a model, as a dense matrix */
typedef struct TrainingSet
{
	int			n;
	int			d;
	double	   *x;				/* n x d, raw then standardized */
	bool	   *missing;		/* n x d */
	int		   *y;
	double	   *w;				/* weighted: each row's weight, else NULL */
	LabelSet	labels;
	TrainGroups groups;			/* with cv_group_column */
	TrainKeys	keys;			/* each row's key, for the audit */
} TrainingSet;

/* A row whose features could not be used */
typedef struct BadRow
{
	int			row;			/* its number in the scan */
	FeatureStatus status;		/* what is wrong, and where */
	int			col;
	ItemPointerData tid;
} BadRow;

/* read_training_set()'s state */
typedef struct TrainingScan
{
	const HitlModel *model;
	const FeatureLayout *layout;
	TrainingSet *ts;
	bool		weighted;		/* read each row's weight into ts->w */
	int			capacity;		/* rows ts has room for */
	MemoryContext cxt;			/* where the set lives */
	int		   *label_len;		/* each class's label's length (bytes) */
	BadRow	   *bad;			/* the rows with unusable features */
	int			nbad;
} TrainingScan;

static void training_set_grow(TrainingScan *st);
static int	training_class(TrainingScan *st, Datum label);
static void training_row(int row, Datum *values, bool *nulls, void *arg);
static void report_first_bad(const TrainingScan *st, const int *order);
static void training_set_order(TrainingSet *ts, const int *order);
static void read_training_set(const TrainRun *run, TrainingSet *ts, MemoryContext cxt);
static char *training_hash(TrainRun *run, const TrainingSet *ts);
static bool warm_start(const HitlVersion *prev, const HitlVersion *v, double *coef, int ncoef);

/* Room for twice the rows (1024 at first), in the set's context */
static void
training_set_grow(TrainingScan *st)
{
	TrainingSet *ts = st->ts;
	MemoryContext old = MemoryContextSwitchTo(st->cxt);
	int			cap = st->capacity ? st->capacity * 2 : 1024;

	if (st->capacity == 0)
	{
		ts->x = palloc_extended(sizeof(double) * cap * Max(ts->d, 1), MCXT_ALLOC_HUGE);
		ts->missing = palloc_extended(sizeof(bool) * cap * Max(ts->d, 1), MCXT_ALLOC_HUGE);
		ts->y = palloc_extended(sizeof(int) * cap, MCXT_ALLOC_HUGE);
		if (st->weighted)
			ts->w = palloc_extended(sizeof(double) * cap, MCXT_ALLOC_HUGE);
	}
	else
	{
		ts->x = repalloc_huge(ts->x, sizeof(double) * cap * Max(ts->d, 1));
		ts->missing = repalloc_huge(ts->missing, sizeof(bool) * cap * Max(ts->d, 1));
		ts->y = repalloc_huge(ts->y, sizeof(int) * cap);
		if (st->weighted)
			ts->w = repalloc_huge(ts->w, sizeof(double) * cap);
	}
	st->capacity = cap;
	MemoryContextSwitchTo(old);
}

/*
 * The class of a row's label (text), numbered in order of first sight:
 * compared in place with the classes seen (a few), a new one copied.
 */
static int
training_class(TrainingScan *st, Datum label)
{
	LabelSet   *ls = &st->ts->labels;
	text	   *t = DatumGetTextPP(label);
	const char *bytes = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	int			c;

	for (c = 0; c < ls->n_classes; c++)
		if (st->label_len[c] == len && memcmp(ls->classes[c], bytes, len) == 0)
			return c;
	c = train_class_of(ls, text_to_cstring(t), st->cxt);
	st->label_len = (c == 0) ? MemoryContextAlloc(st->cxt, sizeof(int) * ls->capacity)
		: repalloc(st->label_len, sizeof(int) * ls->capacity);
	st->label_len[c] = len;
	return c;
}

/*
 * One labeled row, the row-th the scan met: ctid, the feature columns, the
 * label as text, its group, its key, its weight.  Runs inside the executor
 * (see dataset.h): a row whose features cannot be used is remembered, and
 * the first in key order reported once the scan is over.
 */
static void
training_row(int row, Datum *values, bool *nulls, void *arg)
{
	TrainingScan *st = (TrainingScan *) arg;
	TrainingSet *ts = st->ts;
	FeatureStatus fs;
	int			bad_col;

	if (row == st->capacity)
		training_set_grow(st);
	fs = features_from_datums(st->layout, values + 1, nulls + 1,
							  ts->x + (size_t) row * ts->d,
							  ts->missing + (size_t) row * ts->d, &bad_col);
	if (fs != FEATURE_OK)
	{
		BadRow	   *b;

		st->bad = (st->nbad == 0) ? MemoryContextAlloc(st->cxt, sizeof(BadRow) * 16)
			: (st->nbad % 16 == 0) ? repalloc(st->bad, sizeof(BadRow) * (st->nbad + 16))
			: st->bad;
		b = &st->bad[st->nbad++];
		b->row = row;
		b->status = fs;
		b->col = bad_col;
		ItemPointerCopy(DatumGetItemPointer(values[0]), &b->tid);
	}
	if (nulls[st->layout->ncols + 1])
		(void) train_label_text(st->model, (Datum) 0, true);
	ts->y[row] = training_class(st, values[st->layout->ncols + 1]);
	if (st->model->cv_group_column != NULL)
		train_groups_add(&ts->groups, row, values[st->layout->ncols + 2],
						 nulls[st->layout->ncols + 2], st->cxt);
	if (!nulls[TRAIN_KEY_COLUMN(st->model, st->layout)])
		train_keys_add(&ts->keys, row, values[TRAIN_KEY_COLUMN(st->model, st->layout)], st->cxt);
	if (st->weighted)
		ts->w[row] = TRAIN_WEIGHT_OF(values[TRAIN_WEIGHT_COLUMN(st->model, st->layout)],
									 nulls[TRAIN_WEIGHT_COLUMN(st->model, st->layout)]);
	ts->n = row + 1;
}

/* Raise the error of the first row in key order (order) that is bad */
static void
report_first_bad(const TrainingScan *st, const int *order)
{
	int		   *which = palloc0(sizeof(int) * Max(st->ts->n, 1));
	int			i;

	for (i = 0; i < st->nbad; i++)
		which[st->bad[i].row] = i + 1;
	for (i = 0; i < st->ts->n; i++)
		if (which[order[i]] > 0)
		{
			const BadRow *b = &st->bad[which[order[i]] - 1];
			ItemPointerData tid = b->tid;

			features_report(st->model, st->layout, b->status, b->col,
							rowkey_text_at(st->model, &tid));
		}
	elog(ERROR, "hitl: a row with unusable features was lost");
}

/* Move the set's rows into key order (order: row numbers in that order) */
static void
training_set_order(TrainingSet *ts, const int *order)
{
	size_t		width = ts->d;

	if (width > 0)
	{
		dataset_permute(ts->x, sizeof(double) * width, ts->n, order);
		dataset_permute(ts->missing, sizeof(bool) * width, ts->n, order);
	}
	dataset_permute(ts->y, sizeof(int), ts->n, order);
	if (ts->w != NULL)
		dataset_permute(ts->w, sizeof(double), ts->n, order);
	if (ts->groups.key != NULL)
	{
		dataset_permute(ts->groups.key, sizeof(uint64), ts->n, order);
		dataset_permute(ts->groups.isnull, sizeof(bool), ts->n, order);
	}
	if (ts->keys.key != NULL)
		dataset_permute(ts->keys.key, sizeof(Datum), ts->n, order);
}

/*
 * Read the labeled rows and put them in primary-key order (see dataset.h:
 * one scan in the table's order, one snapshot, so the classes and the
 * rows agree, and a sort of the keys alone), with their weights when the
 * run is weighted.  The rows' keys are kept only for cross-validation's
 * audit.
 */
static void
read_training_set(const TrainRun *run, TrainingSet *ts, MemoryContext cxt)
{
	const HitlModel *model = run->model;
	const FeatureLayout *layout = run->layout;
	TrainingScan st;
	int		   *order;

	memset(ts, 0, sizeof(*ts));
	memset(&st, 0, sizeof(st));
	st.model = model;
	st.layout = layout;
	st.ts = ts;
	st.weighted = run->weighted;
	st.cxt = cxt;
	ts->d = layout->d;
	if (dataset_read_labeled(model, model->cv_folds >= 2, run->weighted, training_row, &st,
							 &order) != ts->n)
		elog(ERROR, "hitl: the labeled rows and their order disagree");
	if (st.nbad > 0)
		report_first_bad(&st, order);
	training_set_order(ts, order);
	pfree(order);
	train_order_classes(model, &ts->labels, ts->n, ts->y);
}

/*
 * Hash of what a dense training learns from: the raw training set (before
 * standardization), its weights, the classes and the options of the fit.
 * As 16 hex digits, for the version's metrics.
 */
static char *
training_hash(TrainRun *run, const TrainingSet *ts)
{
	const HitlModel *model = run->model;
	const FeatureLayout *layout = run->layout;
	uint64		h = 0x6869746c;	/* any seed */
	int32		shape[4] = {ts->n, ts->d, ts->labels.n_classes, layout->ncols};
	int			i;

	h = train_hash_more(h, shape, sizeof(shape));
	h = train_hash_more(h, layout->dims, sizeof(int) * layout->ncols);
	h = train_hash_more(h, ts->x, sizeof(double) * (size_t) ts->n * ts->d);
	h = train_hash_more(h, ts->missing, sizeof(bool) * (size_t) ts->n * ts->d);
	h = train_hash_more(h, ts->y, sizeof(int) * (size_t) ts->n);
	h = train_groups_hash(h, &ts->groups, ts->n);
	h = train_hash_weights(h, run, ts->w, ts->n);
	for (i = 0; i < ts->labels.n_classes; i++)
		h = train_hash_more(h, ts->labels.classes[i], strlen(ts->labels.classes[i]) + 1);
	return train_hash_finish(h, model);
}

/*
 * Start from the previous version's coefficients when it has the same
 * classes (in the same order) and features; returns whether coef was
 * filled.
 */
static bool
warm_start(const HitlVersion *prev, const HitlVersion *v, double *coef, int ncoef)
{
	if (!train_same_classes(prev, v))
		return false;
	memcpy(coef, prev->coef, sizeof(double) * ncoef);
	return true;
}

/*
 * Train a dense logistic model from scratch (warm-started when it can) and
 * record it, unless the current version learned from the same data.
 */
int
train_dense(TrainRun *run)
{
	HitlModel  *model = run->model;
	FeatureLayout *layout = run->layout;
	TrainingSet ts;
	HitlVersion v;
	LogregProblem prob;
	LogregResult res;
	LogregStatus status;
	ClassMetrics train_metrics;
	TrainCv		cv;
	bool		do_cv;
	bool		warm;
	double	   *raw_x = NULL;
	StringInfoData metrics;
	char	   *hash;
	double	   *proba;
	int			ncoef;

	read_training_set(run, &ts, CurrentMemoryContext);
	train_check_labels(model, ts.n, &ts.labels);

	/* nothing new to learn from: the current version stands */
	hash = training_hash(run, &ts);
	run->prev = train_load_current(model, CurrentMemoryContext);
	if (train_stands(run, run->prev != NULL && run->prev->data_hash != NULL &&
					 strcmp(run->prev->data_hash, hash) == 0))
		return model->current_version;
	ncoef = logreg_ncoef(ts.d, ts.labels.n_classes);
	/* the solvers keep a few tens of copies of the coefficients */
	train_check_size(model, ts.labels.n_classes, ts.d, ncoef, LOGREG_DENSE_MAX_COEF,
					 "coefficients for logistic regression", "coefficients",
					 "Use fewer features or fewer classes.");

	/* standardize, imputing missing values with the mean */
	memset(&v, 0, sizeof(v));
	train_version_init(&v, model, layout, ts.n, &ts.labels);
	v.means = palloc(sizeof(double) * Max(ts.d, 1));
	v.scales = palloc(sizeof(double) * Max(ts.d, 1));
	do_cv = model->cv_folds >= 2 && ts.n >= 2 * model->cv_folds;
	if (do_cv)
	{
		/* cross-validation standardizes each fold itself: keep the raw values */
		raw_x = palloc_extended(sizeof(double) * (size_t) ts.n * Max(ts.d, 1), MCXT_ALLOC_HUGE);
		memcpy(raw_x, ts.x, sizeof(double) * (size_t) ts.n * ts.d);
	}
	scaler_fit(ts.n, ts.d, ts.x, ts.missing, v.means, v.scales);
	scaler_apply(ts.n, ts.d, ts.x, ts.missing, v.means, v.scales);

	v.coef = palloc0(sizeof(double) * ncoef);
	warm = warm_start(run->prev, &v, v.coef, ncoef);
	prob.n = ts.n;
	prob.d = ts.d;
	prob.k = ts.labels.n_classes;
	prob.x = ts.x;
	prob.y = ts.y;
	prob.C = model->C;
	prob.max_iter = model->max_iter;
	prob.tol = model->tol;
	prob.weight = ts.w;
	hitl_progress_phase(HITL_PHASE_TRAINING, 1);
	status = logreg_solve(&prob, v.coef, warm, &res);
	hitl_progress_done(1);
	train_check_fit(model, status, res.iterations);

	/* metrics on the training rows, then cross-validated */
	proba = palloc_extended(sizeof(double) * (size_t) ts.n * ts.labels.n_classes, MCXT_ALLOC_HUGE);
	logreg_predict_proba_rows(ts.n, ts.d, ts.labels.n_classes, v.coef, ts.x, proba);
	class_metrics(ts.n, ts.labels.n_classes, proba, ts.y, &train_metrics);
	{
		LogregProblem raw = prob;
		TrainCvInput in = {TRAIN_CV_DENSE, ts.n, prob.k, ts.y};

		raw.x = raw_x;
		in.groups = model->cv_group_column ? &ts.groups : NULL;
		in.coef = v.coef;
		in.dense = &raw;
		in.missing = ts.missing;
		in.keys = ts.keys.key;
		in.classes = ts.labels.classes;
		(void) train_crossval(run, &in, &cv);	/* when do_cv */
	}

	initStringInfo(&metrics);
	appendStringInfoChar(&metrics, '{');
	train_json_number(&metrics, "n_labeled", ts.n);
	train_json_number(&metrics, "n_classes", ts.labels.n_classes);
	train_json_number(&metrics, "n_features", ts.d);
	train_json_fit(&metrics, &res, warm);
	appendStringInfo(&metrics, ", \"solver\": \"%s\"", logreg_solver_name(res.solver));
	train_json_number(&metrics, "tol", res.tol);
	train_json_class_metrics(&metrics, &train_metrics, model->cv_folds,
							 cv.done ? &cv.metrics : NULL);
	train_json_crossval(&metrics, model, &cv, ts.labels.classes);
	train_json_finish(&metrics, run, hash);
	return train_record(run, &v, metrics.data);
}
