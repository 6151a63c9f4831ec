/*
 * train_dense.c
 *		Training logistic regression on numeric features: read the labeled
 *		rows, fit (Newton or L-BFGS, see logreg_solve.h),
 *		cross-validate, record a version.
 *
 * The rows are read in primary-key order through one cursor (one snapshot),
 * so the same labeled data always gives the same coefficients.  A model that
 * has a current version with the same classes and features is warm-started
 * from its coefficients.
 *
 * A training that would learn from exactly what the current version learned
 * from records nothing and returns the current version: each version keeps
 * a hash (metrics "data_hash") of its training set -- every labeled row's
 * feature values and label, in key order, with the classes -- and of the
 * options that shape the fit (C, max_iter, tol, cv_folds).  Same labels on
 * the same features with the same options give the same model, so a new
 * version would be a duplicate; a change of a feature value of a labeled
 * row, of a label, or of those options gives a new version.
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
	int			capacity;
	int			d;
	double	   *x;				/* n x d, raw then standardized */
	bool	   *missing;		/* n x d */
	int		   *y;
	LabelSet	labels;
	TrainGroups groups;			/* with cv_group_column */
	TrainKeys	keys;			/* each row's key, for the audit */
} TrainingSet;

/* read_training_set()'s state */
typedef struct TrainingScan
{
	const HitlModel *model;
	const FeatureLayout *layout;
	TrainingSet *ts;
	MemoryContext cxt;			/* where the set lives */
} TrainingScan;

static void training_set_grow(TrainingSet *ts);
static void training_row(Datum *values, bool *nulls, void *arg);
static void read_training_set(const HitlModel *model, const FeatureLayout *layout,
							  TrainingSet *ts, MemoryContext cxt);
static char *training_hash(const HitlModel *model, const FeatureLayout *layout,
						   const TrainingSet *ts);
static bool warm_start(const HitlVersion *prev, const HitlVersion *v, double *coef, int ncoef);

/* Room for twice the rows (1024 at first) */
static void
training_set_grow(TrainingSet *ts)
{
	int			cap = ts->capacity ? ts->capacity * 2 : 1024;

	if (ts->capacity == 0)
	{
		ts->x = palloc_extended(sizeof(double) * cap * Max(ts->d, 1), MCXT_ALLOC_HUGE);
		ts->missing = palloc_extended(sizeof(bool) * cap * Max(ts->d, 1), MCXT_ALLOC_HUGE);
		ts->y = palloc_extended(sizeof(int) * cap, MCXT_ALLOC_HUGE);
	}
	else
	{
		ts->x = repalloc_huge(ts->x, sizeof(double) * cap * Max(ts->d, 1));
		ts->missing = repalloc_huge(ts->missing, sizeof(bool) * cap * Max(ts->d, 1));
		ts->y = repalloc_huge(ts->y, sizeof(int) * cap);
	}
	ts->capacity = cap;
}

/* One labeled row: ctid, the feature columns, the label as text, its group */
static void
training_row(Datum *values, bool *nulls, void *arg)
{
	TrainingScan *st = (TrainingScan *) arg;
	TrainingSet *ts = st->ts;
	FeatureStatus fs;
	int			bad_col;

	if (ts->n == ts->capacity)
	{
		MemoryContext old = MemoryContextSwitchTo(st->cxt);

		training_set_grow(ts);
		MemoryContextSwitchTo(old);
	}
	fs = features_from_datums(st->layout, values + 1, nulls + 1,
							  ts->x + (size_t) ts->n * ts->d,
							  ts->missing + (size_t) ts->n * ts->d, &bad_col);
	if (fs != FEATURE_OK)
		features_report(st->model, st->layout, fs, bad_col,
						rowkey_text_at(st->model, DatumGetItemPointer(values[0])));
	ts->y[ts->n] = train_class_of(&ts->labels,
								  TextDatumGetCString(values[st->layout->ncols + 1]), st->cxt);
	if (st->model->cv_group_column != NULL)
		train_groups_add(&ts->groups, ts->n, values[st->layout->ncols + 2],
						 nulls[st->layout->ncols + 2], st->cxt);
	train_keys_add(&ts->keys, ts->n, values[TRAIN_KEY_COLUMN(st->model, st->layout)], st->cxt);
	ts->n++;
}

/*
 * Read the labeled rows, in primary-key order, through one cursor: one
 * snapshot, so the classes and the rows agree.
 */
static void
read_training_set(const HitlModel *model, const FeatureLayout *layout,
				  TrainingSet *ts, MemoryContext cxt)
{
	TrainingScan st = {model, layout, ts, cxt};

	memset(ts, 0, sizeof(*ts));
	ts->d = layout->d;
	dataset_scan(dataset_open_labeled(model), training_row, &st);
	train_order_classes(model, &ts->labels, ts->n, ts->y);
}

/*
 * Hash of what a dense training learns from: the raw training set (before
 * standardization), the classes and the options of the fit.  As 16 hex
 * digits, for the version's metrics.
 */
static char *
training_hash(const HitlModel *model, const FeatureLayout *layout, const TrainingSet *ts)
{
	uint64		h = 0x6869746c;	/* any seed */
	int32		shape[4] = {ts->n, ts->d, ts->labels.n_classes, layout->ncols};
	int			i;

	h = train_hash_more(h, shape, sizeof(shape));
	h = train_hash_more(h, layout->dims, sizeof(int) * layout->ncols);
	h = train_hash_more(h, ts->x, sizeof(double) * (size_t) ts->n * ts->d);
	h = train_hash_more(h, ts->missing, sizeof(bool) * (size_t) ts->n * ts->d);
	h = train_hash_more(h, ts->y, sizeof(int) * (size_t) ts->n);
	h = train_groups_hash(h, &ts->groups, ts->n);
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
	int			i;

	read_training_set(model, layout, &ts, CurrentMemoryContext);
	train_check_labels(model, ts.n, &ts.labels);

	/* nothing new to learn from: the current version stands */
	hash = training_hash(model, layout, &ts);
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
	hitl_progress_phase(HITL_PHASE_TRAINING, 1);
	status = logreg_solve(&prob, v.coef, warm, &res);
	hitl_progress_done(1);
	train_check_fit(model, status, res.iterations);

	/* metrics on the training rows, then cross-validated */
	proba = palloc_extended(sizeof(double) * (size_t) ts.n * ts.labels.n_classes, MCXT_ALLOC_HUGE);
	for (i = 0; i < ts.n; i++)
		logreg_predict_proba(ts.d, ts.labels.n_classes, v.coef, ts.x + (size_t) i * ts.d,
							 proba + (size_t) i * ts.labels.n_classes);
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
	train_json_class_metrics(&metrics, &train_metrics, model->cv_folds,
							 cv.done ? &cv.metrics : NULL);
	train_json_crossval(&metrics, model, &cv, ts.labels.classes);
	train_json_finish(&metrics, run, hash);
	return train_record(run, &v, metrics.data);
}
