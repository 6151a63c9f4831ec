/*
 * train.c
 *		hitl.train(): read the labeled rows, fit, cross-validate, record a
 *		version.
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

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "common/hashfn.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "compat.h"
#include "crossval.h"
#include "dataset.h"
#include "logreg.h"
#include "metrics.h"
#include "scaler.h"
#include "subxact.h"
#include "train.h"

/* Newton's method stores a p x p Hessian: keep p within reason */
#define HITL_MAX_COEFFICIENTS 4096


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
} TrainingSet;

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

/* The class of a label: its index among the labels met so far (linear: few classes) */
int
train_class_of(LabelSet *ls, const char *label, MemoryContext cxt)
{
	int			k;

	for (k = 0; k < ls->n_classes; k++)
		if (strcmp(ls->classes[k], label) == 0)
			return k;
	if (ls->classes == NULL)
	{
		ls->capacity = 16;
		ls->classes = MemoryContextAlloc(cxt, sizeof(char *) * ls->capacity);
	}
	else if (ls->n_classes == ls->capacity)
	{
		ls->capacity *= 2;
		ls->classes = repalloc(ls->classes, sizeof(char *) * ls->capacity);
	}
	ls->classes[ls->n_classes] = MemoryContextStrdup(cxt, label);
	return ls->n_classes++;
}

/*
 * Enough labels, of at least two classes, to train?  Raises the error
 * otherwise.
 */
void
train_check_labels(const HitlModel *model, int n, const LabelSet *ls)
{
	if (n < model->min_labels)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has too few labels to train", model->name),
				 errdetail_plural("%d row is labeled; training needs at least %d (option min_labels).",
								  "%d rows are labeled; training needs at least %d (option min_labels).",
								  n, n, model->min_labels),
				 errhint("Label more rows, or lower min_labels.")));
	if (ls->n_classes < 2)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has only one class labeled", model->name),
				 errdetail("All %d labeled rows have the label \"%s\".", n, ls->classes[0]),
				 errhint("Label rows of at least two classes.")));
}

/*
 * Number the classes in the label type's order (so an enum's classes come
 * in its order, integers numerically), and renumber the rows' classes y.
 */
void
train_order_classes(const HitlModel *model, LabelSet *ls, int n, int *y)
{
	Oid			label_type = get_atttype(model->source,
										 get_attnum(model->source, model->label_column));
	StringInfoData sql;
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		values[1];
	Datum	   *labels = palloc(sizeof(Datum) * Max(ls->n_classes, 1));
	int		   *renumber = palloc(sizeof(int) * Max(ls->n_classes, 1));
	char	  **ordered = palloc(sizeof(char *) * Max(ls->n_classes, 1));
	int			i;
	int			ret;

	if (ls->n_classes == 0)
		return;
	for (i = 0; i < ls->n_classes; i++)
		labels[i] = CStringGetTextDatum(ls->classes[i]);
	values[0] = PointerGetDatum(construct_array(labels, ls->n_classes, TEXTOID, -1,
												false, TYPALIGN_INT));
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT u.o::int4 - 1 FROM unnest($1) WITH ORDINALITY AS u(l, o)"
					 " ORDER BY u.l::%s", format_type_be_qualified(label_type));
	ret = SPI_execute_with_args(sql.data, 1, argtypes, values, NULL, false, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != (uint64) ls->n_classes)
		elog(ERROR, "hitl: ordering the classes failed: %s", SPI_result_code_string(ret));
	for (i = 0; i < ls->n_classes; i++)
	{
		bool		isnull;
		int			first_seen = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
															 SPI_tuptable->tupdesc, 1, &isnull));

		renumber[first_seen] = i;
		ordered[i] = ls->classes[first_seen];
	}
	SPI_freetuptable(SPI_tuptable);
	for (i = 0; i < n; i++)
		y[i] = renumber[y[i]];
	memcpy(ls->classes, ordered, sizeof(char *) * ls->n_classes);
}

/* read_training_set()'s state */
typedef struct TrainingScan
{
	const HitlModel *model;
	const FeatureLayout *layout;
	TrainingSet *ts;
	MemoryContext cxt;			/* where the set lives */
} TrainingScan;

/* One labeled row: ctid, the feature columns, the label as text */
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
						catalog_row_key_text(st->model, DatumGetItemPointer(values[0])));
	ts->y[ts->n] = train_class_of(&ts->labels,
								  TextDatumGetCString(values[st->layout->ncols + 1]), st->cxt);
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

/* Fold n bytes into a running 64-bit hash */
uint64
train_hash_more(uint64 h, const void *data, size_t n)
{
	const unsigned char *p = data;

	/* hash_bytes_extended() takes an int length: feed it in slices */
	while (n > 0)
	{
		int			len = (int) Min(n, (size_t) (1 << 30));

		h = hash_bytes_extended(p, len, h);
		p += len;
		n -= len;
	}
	return h;
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
	for (i = 0; i < ts->labels.n_classes; i++)
		h = train_hash_more(h, ts->labels.classes[i], strlen(ts->labels.classes[i]) + 1);
	h = train_hash_more(h, &model->C, sizeof(double));
	h = train_hash_more(h, &model->max_iter, sizeof(int));
	h = train_hash_more(h, &model->tol, sizeof(double));
	h = train_hash_more(h, &model->cv_folds, sizeof(int));
	return psprintf("%016llx", (unsigned long long) h);
}

/* catalog_load_version() of the current version, for run_in_subtransaction */
typedef struct CurrentVersion
{
	const HitlModel *model;
	MemoryContext cxt;
	HitlVersion *version;
} CurrentVersion;

static void
load_current(void *arg)
{
	CurrentVersion *cv = arg;

	cv->version = catalog_load_version(cv->model, cv->model->current_version, cv->cxt);
}

/*
 * The model's current version, to build on (warm start, incremental update,
 * or to see that nothing changed), or NULL: none yet, or one whose stored
 * arrays are inconsistent (XX001).  A damaged version is not built on: the
 * training starts from scratch, with a WARNING, and so repairs the model.
 */
HitlVersion *
train_load_current(const HitlModel *model, MemoryContext cxt)
{
	CurrentVersion cv;

	if (model->current_version == 0)
		return NULL;
	cv.model = model;
	cv.cxt = cxt;
	cv.version = NULL;
	if (!run_in_subtransaction(load_current, &cv, ERRCODE_DATA_CORRUPTED))
	{
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("version %d of model \"%s\" is damaged: training from scratch",
						model->current_version, model->name),
				 errdetail("Its stored arrays are inconsistent, so the new version is not built on it.")));
		return NULL;
	}
	return cv.version;
}

/* Append "key": value to a JSON object under construction */
void
train_json_number(StringInfo buf, const char *key, double value)
{
	if (buf->len > 1)
		appendStringInfoString(buf, ", ");
	appendStringInfo(buf, "\"%s\": %.10g", key, value);
}

/*
 * Train a new version of a model and record it.
 */
int
train_model(const char *name, bool incremental)
{
	MemoryContext cxt;
	MemoryContext old;
	HitlModel  *model;
	FeatureLayout *layout;
	TrainingSet ts;
	HitlVersion v;
	HitlVersion *prev = NULL;
	LogregProblem prob;
	LogregResult res;
	LogregStatus st;
	ClassMetrics train_metrics;
	ClassMetrics cv_metrics;
	bool		have_cv = false;
	bool		do_cv;
	double	   *raw_x = NULL;
	StringInfoData metrics;
	char	   *hash;
	double	   *proba;
	int			ncoef;
	int			i;
	int			version;
	instr_time	start;
	instr_time	duration;

	INSTR_TIME_SET_CURRENT(start);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "hitl train",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	model = catalog_load_model(name, cxt);
	catalog_lock_model(model);
	/* reload: another training may have committed while we waited */
	model = catalog_load_model(name, cxt);
	layout = features_resolve(model);
	features_detect_dims(layout, model);
	if (model_is_sparse(model))
	{
		version = train_sparse_model(model, layout, incremental);
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		return version;
	}
	read_training_set(model, layout, &ts, cxt);

	train_check_labels(model, ts.n, &ts.labels);

	/* nothing new to learn from: the current version stands */
	hash = training_hash(model, layout, &ts);
	if (model->current_version > 0)
	{
		prev = train_load_current(model, cxt);
		if (prev != NULL && prev->data_hash != NULL && strcmp(prev->data_hash, hash) == 0)
		{
			version = model->current_version;
			MemoryContextSwitchTo(old);
			MemoryContextDelete(cxt);
			return version;
		}
	}
	ncoef = logreg_ncoef(ts.d, ts.labels.n_classes);
	if (ncoef > HITL_MAX_COEFFICIENTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model \"%s\" has too many coefficients for Newton's method", name),
				 errdetail("%d classes and %d features give %d coefficients; the limit is %d.",
						   ts.labels.n_classes, ts.d, ncoef, HITL_MAX_COEFFICIENTS),
				 errhint("Use fewer features or fewer classes.")));

	/* standardize, imputing missing values with the mean */
	memset(&v, 0, sizeof(v));
	v.n_labeled = ts.n;
	v.n_classes = ts.labels.n_classes;
	v.classes = ts.labels.classes;
	v.n_feature_columns = layout->ncols;
	v.feature_dims = layout->dims;
	v.d = ts.d;
	v.feature_names = features_names(model, layout);
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

	/* warm start from the current version when it has the same shape */
	v.coef = palloc0(sizeof(double) * ncoef);
	if (prev != NULL)
	{
		if (prev->n_classes == v.n_classes && prev->d == v.d)
		{
			for (i = 0; i < v.n_classes; i++)
				if (strcmp(prev->classes[i], v.classes[i]) != 0)
					break;
			if (i < v.n_classes)
				prev = NULL;
		}
		else
			prev = NULL;
	}
	if (prev != NULL)
		memcpy(v.coef, prev->coef, sizeof(double) * ncoef);

	prob.n = ts.n;
	prob.d = ts.d;
	prob.k = ts.labels.n_classes;
	prob.x = ts.x;
	prob.y = ts.y;
	prob.C = model->C;
	prob.max_iter = model->max_iter;
	prob.tol = model->tol;
	st = logreg_fit(&prob, v.coef, prev != NULL, &res);
	if (st == LOGREG_NOT_CONVERGED)
		ereport(WARNING,
				(errmsg("model \"%s\" did not converge in %d iterations", name, res.iterations),
				 errhint("Raise the max_iter option or loosen tol; the version is recorded anyway.")));
	else if (st != LOGREG_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("training model \"%s\" failed: %s", name, logreg_status_message(st))));

	/* metrics on the training rows, then cross-validated */
	proba = palloc_extended(sizeof(double) * (size_t) ts.n * ts.labels.n_classes, MCXT_ALLOC_HUGE);
	for (i = 0; i < ts.n; i++)
		logreg_predict_proba(ts.d, ts.labels.n_classes, v.coef, ts.x + (size_t) i * ts.d,
							 proba + (size_t) i * ts.labels.n_classes);
	class_metrics(ts.n, ts.labels.n_classes, proba, ts.y, &train_metrics);
	if (do_cv)
	{
		LogregProblem raw = prob;

		raw.x = raw_x;
		have_cv = crossval_logreg(&raw, ts.missing, model->cv_folds, v.coef,
								  &cv_metrics) == 0;
	}

	initStringInfo(&metrics);
	appendStringInfoChar(&metrics, '{');
	train_json_number(&metrics, "n_labeled", ts.n);
	train_json_number(&metrics, "n_classes", ts.labels.n_classes);
	train_json_number(&metrics, "n_features", ts.d);
	train_json_number(&metrics, "iterations", res.iterations);
	appendStringInfo(&metrics, ", \"converged\": %s, \"warm_start\": %s, \"data_hash\": \"%s\"",
					 res.converged ? "true" : "false", prev != NULL ? "true" : "false", hash);
	train_json_number(&metrics, "objective", res.objective);
	train_json_number(&metrics, "train_accuracy", train_metrics.accuracy);
	train_json_number(&metrics, "train_macro_f1", train_metrics.macro_f1);
	train_json_number(&metrics, "train_log_loss", train_metrics.log_loss);
	if (have_cv)
	{
		train_json_number(&metrics, "cv_folds", model->cv_folds);
		train_json_number(&metrics, "cv_accuracy", cv_metrics.accuracy);
		train_json_number(&metrics, "cv_macro_f1", cv_metrics.macro_f1);
		train_json_number(&metrics, "cv_log_loss", cv_metrics.log_loss);
	}
	appendStringInfoChar(&metrics, '}');

	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	version = catalog_store_version(model, &v, metrics.data,
									INSTR_TIME_GET_MILLISEC(duration));

	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return version;
}

PG_FUNCTION_INFO_V1(hitl_train);

/*
 * hitl.train(model text, incremental boolean) returns integer
 */
Datum
hitl_train(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		incremental = PG_GETARG_BOOL(1);
	int			version;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "hitl: SPI_connect failed");
	version = train_model(name, incremental);
	SPI_finish();
	PG_RETURN_INT32(version);
}
