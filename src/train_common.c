/*
 * train_common.c
 *		What every training shares: the classes of the labels and their
 *		order, the checks of the labels, the current version to build on,
 *		the hash of the training data and of its weights, the metrics JSON,
 *		and recording the version.
 *
 * Every kind of training (train_dense.c, train_text.c, train_nbayes.c,
 * train_incremental.c) calls these, and nothing here calls them: the
 * dependencies of the training files go one way.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "hashmix.h"
#include "logreg.h"
#include "spi_check.h"
#include "subxact.h"
#include "train.h"

/* The names of TrainFallback, in its order */
static const char *const fallback_names[] = {
	"none",
	"no_version",
	"damaged_version",
	"no_snapshot",
	"features_changed",
	"class_renamed",
	"restored",
	"new_class",
	"row_count_changed",
	"foreign_snapshot",
	"unlogged_change",
	"too_many_changes",
	"row_deleted",
	"too_large",
	"class_emptied",
	"negative_sum",
	"auto_labels",
	"weight_by_consensus",
};

StaticAssertDecl(lengthof(fallback_names) == FALLBACK_WEIGHTED + 1,
				 "a name for each TrainFallback");

/* The name of a TrainFallback, for the metrics and the log */
const char *
train_fallback_name(TrainFallback fallback)
{
	if ((int) fallback < 0 || (int) fallback >= (int) lengthof(fallback_names))
		elog(ERROR, "hitl: unknown fallback %d", (int) fallback);
	return fallback_names[fallback];
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

/* A label's index among a version's classes, or -1 (linear: few classes) */
int
train_version_class(const HitlVersion *v, const char *label)
{
	int			i;

	for (i = 0; i < v->n_classes; i++)
		if (strcmp(v->classes[i], label) == 0)
			return i;
	return -1;
}

/* See train.h */
char *
train_label_text(const HitlModel *model, Datum label, bool isnull)
{
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a label of model \"%s\" is NULL as text", model->name),
				 errdetail("The value of column \"%s\" is not NULL, but its type's cast to text made it NULL.",
						   model->label_column),
				 errhint("Make the cast return a text for every value, or drop it.")));
	return TextDatumGetCString(label);
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
	hitl_spi_check_rows(SPI_execute_with_args(sql.data, 1, argtypes, values, NULL, false, 0),
						SPI_OK_SELECT, (uint64) ls->n_classes, "ordering the classes");
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

/*
 * The part of a new version that says what it was trained on: n labeled
 * rows of the classes of labels, over the model's feature columns.
 */
void
train_version_init(HitlVersion *v, const HitlModel *model, const FeatureLayout *layout,
				   int n, const LabelSet *labels)
{
	v->n_labeled = n;
	v->n_classes = labels->n_classes;
	v->classes = labels->classes;
	v->n_feature_columns = layout->ncols;
	v->feature_dims = layout->dims;
	v->d = layout->d;
	v->feature_names = features_names(model, layout);
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

/* One word into a lane: a multiply by an odd number and a shift, each one to one */
#define HASH_LANE(l, w) \
	do { \
		(l) = ((l) ^ (w)) * UINT64CONST(0x9e3779b97f4a7c15); \
		(l) ^= (l) >> 29; \
	} while (0)

/*
 * Fold n bytes into a running 64-bit hash.  Training hashes every labeled
 * row's values (hundreds of megabytes at a million rows), so the bytes go
 * eight at a time into four independent lanes, word i into lane i % 4,
 * each step one to one: a change of any one word changes its lane's end
 * and so the result.  The last bytes (fewer than eight) and the length go
 * through hash_bytes_extended.  Several times faster than
 * hash_bytes_extended over the whole.
 */
uint64
train_hash_more(uint64 h, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t		words = n / 8;
	uint64		lane[4];
	size_t		i;

	lane[0] = h ^ UINT64CONST(0x243f6a8885a308d3);
	lane[1] = h ^ UINT64CONST(0x13198a2e03707344);
	lane[2] = h ^ UINT64CONST(0xa4093822299f31d0);
	lane[3] = h ^ UINT64CONST(0x082efa98ec4e6c89);
	for (i = 0; i + 4 <= words; i += 4)
	{
		uint64		w[4];

		memcpy(w, p + i * 8, sizeof(w));
		HASH_LANE(lane[0], w[0]);
		HASH_LANE(lane[1], w[1]);
		HASH_LANE(lane[2], w[2]);
		HASH_LANE(lane[3], w[3]);
	}
	for (; i < words; i++)
	{
		uint64		w;

		memcpy(&w, p + i * 8, sizeof(w));
		HASH_LANE(lane[i % 4], w);
	}
	/* each lane's end, rotated by a quarter more than the last's */
	h = 0;
	for (i = 0; i < 4; i++)
	{
		uint64		e = hash_mix64(lane[i]);

		h ^= (i == 0) ? e : (e << (16 * i) | e >> (64 - 16 * i));
	}
	h = hash_bytes_extended(p + words * 8, (int) (n % 8), h ^ (uint64) n);
	return hash_mix64(h);
}

/*
 * The options that shape a fit or its figures (C, max_iter, tol, cv_folds,
 * cv_group_column when set) end every hash
 */
char *
train_hash_finish(uint64 h, const HitlModel *model)
{
	h = train_hash_more(h, &model->C, sizeof(double));
	h = train_hash_more(h, &model->max_iter, sizeof(int));
	h = train_hash_more(h, &model->tol, sizeof(double));
	h = train_hash_more(h, &model->cv_folds, sizeof(int));
	if (model->cv_group_column != NULL)
		h = train_hash_more(h, model->cv_group_column, strlen(model->cv_group_column) + 1);
	return psprintf("%016llx", (unsigned long long) h);
}

/* See train.h */
bool
train_nb_rowsum(const TrainRun *run)
{
	return model_is_nbayes(run->model) && run->layout->n_text == 0 && !run->weighted;
}

/* See train.h */
char *
train_row_seed_sql(const HitlModel *model, const char *alias)
{
	if (model->cv_group_column == NULL)
		return "0::pg_catalog.int8";
	return psprintf("COALESCE(pg_catalog.hashtextextended(%s.%s::pg_catalog.text, 0), 1)",
					alias, quote_identifier(model->cv_group_column));
}

/* See train.h */
char *
train_nb_rowsum_hash(const HitlModel *model, const HitlVersion *v, int64 n,
					 const uint64 *class_hash)
{
	uint64		h = 0x6e627375;	/* any seed */
	int64		shape[3] = {n, v->d, v->n_classes};
	int			i;

	h = train_hash_more(h, shape, sizeof(shape));
	for (i = 0; i < v->n_classes; i++)
	{
		h = train_hash_more(h, v->classes[i], strlen(v->classes[i]) + 1);
		h = train_hash_more(h, &class_hash[i], sizeof(uint64));
	}
	h = train_hash_more(h, v->feature_dims, sizeof(int) * v->n_feature_columns);
	return train_hash_finish(h, model);
}

/*
 * Is weight_by_consensus on?  Read from the model's options as the owner
 * of hitl's tables, like the model itself; off in a database whose hitl
 * has no hitl.consensus yet (before 0.2.0), where the option cannot be set.
 */
bool
train_read_weighted(const HitlModel *model)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	Oid			nsp = get_namespace_oid("hitl", true);
	bool		isnull;

	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("consensus", nsp)))
		return false;
	values[0] = CStringGetTextDatum(model->name);
	if (catalog_execute(CATALOG_AS_OWNER,
						"SELECT coalesce((m.options OPERATOR(pg_catalog.->>) 'weight_by_consensus')"
						"::pg_catalog.bool, false) FROM hitl.models m"
						" WHERE m.name OPERATOR(pg_catalog.=) $1",
						1, argtypes, values, NULL, true, SPI_OK_SELECT,
						"reading option weight_by_consensus") != 1)
		return false;
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
									  &isnull)) && !isnull;
}

/*
 * The weights go into the hash with a mark, so that a version trained
 * weighted is told apart from one trained without, whatever the weights
 */
uint64
train_hash_weights(uint64 h, TrainRun *run, const double *w, int n)
{
	static const char mark[] = "weight_by_consensus";
	double		sum = 0.0;
	int			i;

	if (w == NULL)
		return h;
	for (i = 0; i < n; i++)
		sum += w[i];
	run->weight_sum = sum;
	h = train_hash_more(h, mark, sizeof(mark));
	return train_hash_more(h, w, sizeof(double) * (size_t) n);
}

/*
 * Models whose parameters would take too much memory are refused (54000):
 * what names them ("coefficients for logistic regression"), unit what they are
 * ("coefficients", "sums").
 */
void
train_check_size(const HitlModel *model, int n_classes, int d, int64 count, int64 limit,
				 const char *what, const char *unit, const char *hint)
{
	if (count > limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model \"%s\" has too many %s", model->name, what),
				 errdetail("%d classes and %d features give %lld %s; the limit is %lld.",
						   n_classes, d, (long long) count, unit, (long long) limit),
				 errhint("%s", hint)));
}

/*
 * Has version prev the classes of v, in the same order, and as many dense
 * features?  (A warm start needs both.)
 */
bool
train_same_classes(const HitlVersion *prev, const HitlVersion *v)
{
	int			i;

	if (prev == NULL || prev->n_classes != v->n_classes || prev->d != v->d)
		return false;
	for (i = 0; i < v->n_classes; i++)
		if (strcmp(prev->classes[i], v->classes[i]) != 0)
			return false;
	return true;
}

/*
 * A logistic fit (dense or sparse) that stopped at max_iter is recorded
 * anyway, with a WARNING; one that failed is an error.
 */
void
train_check_fit(const HitlModel *model, LogregStatus status, int iterations)
{
	if (status == LOGREG_NOT_CONVERGED)
		ereport(WARNING,
				(errmsg("model \"%s\" did not converge in %d iterations",
						model->name, iterations),
				 errhint("Raise the max_iter option or loosen tol; the version is recorded anyway.")));
	else if (status != LOGREG_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("training model \"%s\" failed: %s", model->name,
						logreg_status_message(status))));
}

/* Append "key": value to a JSON object under construction */
void
train_json_number(StringInfo buf, const char *key, double value)
{
	if (buf->len > 1)
		appendStringInfoString(buf, ", ");
	appendStringInfo(buf, "\"%s\": %.10g", key, value);
}

/* Append what a logistic fit reports */
void
train_json_fit(StringInfo buf, const LogregResult *res, bool warm)
{
	train_json_number(buf, "iterations", res->iterations);
	appendStringInfo(buf, ", \"converged\": %s, \"warm_start\": %s",
					 res->converged ? "true" : "false", warm ? "true" : "false");
	train_json_number(buf, "objective", res->objective);
}

/* prefix_accuracy, prefix_macro_f1, prefix_log_loss */
static void
json_prefixed(StringInfo buf, const char *prefix, const ClassMetrics *m)
{
	char		key[64];

	snprintf(key, sizeof(key), "%s_accuracy", prefix);
	train_json_number(buf, key, m->accuracy);
	snprintf(key, sizeof(key), "%s_macro_f1", prefix);
	train_json_number(buf, key, m->macro_f1);
	snprintf(key, sizeof(key), "%s_log_loss", prefix);
	train_json_number(buf, key, m->log_loss);
}

/* The training rows' figures, then the cross-validated ones when there are */
void
train_json_class_metrics(StringInfo buf, const ClassMetrics *train, int folds,
						 const ClassMetrics *cv)
{
	json_prefixed(buf, "train", train);
	if (cv != NULL)
	{
		train_json_number(buf, "cv_folds", folds);
		json_prefixed(buf, "cv", cv);
	}
}

/* Close a full training's metrics: the fallback when there was one, the hash */
void
train_json_finish(StringInfo buf, const TrainRun *run, const char *hash)
{
	if (run->fallback != FALLBACK_NONE)
		appendStringInfo(buf, ", \"fallback\": \"%s\"", train_fallback_name(run->fallback));
	if (run->weighted)
	{
		appendStringInfoString(buf, ", \"weighted\": true");
		train_json_number(buf, "weight_sum", run->weight_sum);
	}
	catalog_evaluation_json(buf, run->model->name);
	appendStringInfo(buf, ", \"data_hash\": \"%s\"}", hash);
}

/* Milliseconds since the run started */
static double
run_ms(const TrainRun *run)
{
	instr_time	duration;

	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, run->start);
	return INSTR_TIME_GET_MILLISEC(duration);
}

bool
train_stands(TrainRun *run, bool same)
{
	if (run->cv_when == TRAIN_CV_ONLY && !same)
	{
		run->cv_when = TRAIN_CV_INLINE;
		return false;
	}
	if (run->cv_when == TRAIN_CV_ONLY)
		return false;
	if (same && run->cv_when == TRAIN_CV_INLINE && run->prev->cv_pending)
	{
		run->cv_when = TRAIN_CV_ONLY;
		return false;
	}
	return same;
}

/* The training's duration is measured up to here, from run->start */
int
train_record(TrainRun *run, HitlVersion *v, const char *metrics)
{
	if (run->cv_when == TRAIN_CV_ONLY)
	{
		double		t = catalog_replace_cv_figures(run->model, run->prev->version, metrics,
												   run_ms(run), run->prev->temperature,
												   &run->cv_recorded);

		run->recalibrated = run->cv_recorded && t != run->prev->temperature;
		/* the version has figures of its own now: its out-of-fold trend */
		if (run->cv_recorded)
			catalog_record_stop_signal(run->model, run->prev->version, NULL, -1);
		return run->prev->version;
	}
	if (run->cv_deferred)
	{
		size_t		len = strlen(metrics);

		Assert(len > 0 && metrics[len - 1] == '}');
		metrics = psprintf("%.*s, \"cv_pending\": true}", (int) len - 1, metrics);
		metrics = catalog_with_base_figures(run->model, run->model->current_version, metrics);
	}
	return catalog_store_version(run->model, v, metrics, run_ms(run));
}
