/*
 * train_crossval.c
 *		The cross-validation of a training, for every kind of model: the
 *		folds, the out-of-fold probabilities, and what they give in the
 *		version's metrics.
 *
 * train_crossval() is the one place that produces out-of-fold
 * probabilities: the trainings describe their model (TrainCvInput) and get
 * the probabilities of every labeled row from a model that did not see it,
 * with the accuracy, macro F1, log loss, confusion matrix and per-class
 * figures computed from them.  The folds come from folds.c: stratified by
 * class, shuffled with a fixed seed, and with cv_group_column, each group
 * of rows kept in one fold.  The rows' groups are read with the labeled
 * rows (dataset_open_labeled) and kept as 64-bit hashes of their text.
 * With weight_by_consensus the rows' weights go into each fold's fit (or
 * sums); the folds and every figure from the out-of-fold probabilities
 * count rows, unweighted.
 *
 * The out-of-fold probabilities then choose the version's calibration
 * (calibrate.c: a temperature, kept only when cross-fitted it lowers both
 * the log-loss and the expected calibration error), and are calibrated in
 * place: the figures from them (log loss, ECE, Brier score, reliability)
 * and whatever reads them after train_crossval() see the probabilities
 * that scoring will give.  The accuracy and the confusion matrix do not
 * change: a temperature keeps each row's predicted class.
 */
#include "postgres.h"

#include "utils/json.h"

#include "autolabel.h"
#include "crossval.h"
#include "folds.h"
#include "progress.h"
#include "train.h"

static int	crossval_run(const HitlModel *model, const TrainCvInput *in, TrainCv *out);
static void json_per_class(StringInfo buf, const TrainCv *cv, char **classes);
static void json_confusion(StringInfo buf, const TrainCv *cv);
static void calibrate_out_of_fold(const TrainCvInput *in, int nfolds, TrainCv *out);
static void json_calibration(StringInfo buf, const TrainCv *cv);

/*
 * Record row's group, the text value of the group column (isnull: a group
 * of its own), growing the arrays of g in cxt as needed.
 */
void
train_groups_add(TrainGroups *g, int row, Datum value, bool isnull, MemoryContext cxt)
{
	if (row >= g->capacity)
	{
		int			cap = Max(g->capacity * 2, Max(row + 1, 1024));

		if (g->capacity == 0)
		{
			g->key = MemoryContextAllocExtended(cxt, sizeof(uint64) * cap, MCXT_ALLOC_HUGE);
			g->isnull = MemoryContextAllocExtended(cxt, sizeof(bool) * cap, MCXT_ALLOC_HUGE);
		}
		else
		{
			g->key = repalloc_huge(g->key, sizeof(uint64) * cap);
			g->isnull = repalloc_huge(g->isnull, sizeof(bool) * cap);
		}
		g->capacity = cap;
	}
	g->isnull[row] = isnull;
	g->key[row] = 0;
	if (!isnull)
	{
		text	   *t = DatumGetTextPP(value);

		g->key[row] = folds_hash_bytes(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	}
}

/* Fold the n rows' groups into a running hash (none: h as it is) */
uint64
train_groups_hash(uint64 h, const TrainGroups *g, int n)
{
	if (g->key == NULL || n == 0)
		return h;
	h = train_hash_more(h, g->key, sizeof(uint64) * (size_t) n);
	return train_hash_more(h, g->isnull, sizeof(bool) * (size_t) n);
}

/* The out-of-fold probabilities of the model in, by its kind */
static int
crossval_kind(const TrainCvInput *in, const CrossvalFolds *f, double *proba)
{
	switch (in->kind)
	{
		case TRAIN_CV_DENSE:
			return crossval_logreg(in->dense, in->missing, f, in->coef, proba);
		case TRAIN_CV_SPARSE:
			return crossval_sparse_logreg(in->sparse, f, in->coef, proba);
		case TRAIN_CV_NBAYES:
			return crossval_nbayes(in->X, in->y, in->weight, in->counts, f, in->alpha,
								   in->dimension, proba);
	}
	elog(ERROR, "hitl: unknown kind of cross-validation %d", (int) in->kind);
	return -1;					/* keep the compiler quiet */
}

/*
 * Cross-validate a model over its cv_folds folds, when it has the rows for
 * it (at least two per fold, and two folds that get rows): out->done says
 * whether it was.  Returns what the cross-validation of the kind returns
 * (0, 1 for naive Bayes with a class in one fold only, -1 when a fold fit
 * failed), 0 when there was none.
 */
static int
crossval_run(const HitlModel *model, const TrainCvInput *in, TrainCv *out)
{
	CrossvalFolds f;
	int			used;
	int			rc;

	memset(out, 0, sizeof(*out));
	out->n = in->n;
	out->k = in->k;
	if (model->cv_folds < 2 || in->n < 2 * model->cv_folds)
		return 0;
	out->fold = palloc_extended(sizeof(int) * in->n, MCXT_ALLOC_HUGE);
	used = folds_assign(in->n, in->k, in->y, in->groups ? in->groups->key : NULL,
						in->groups ? in->groups->isnull : NULL, model->cv_folds,
						FOLDS_SEED, out->fold);
	if (used < 2)
		return 0;				/* one group holds every row */
	out->folds = used;
	f.nfolds = model->cv_folds;
	f.fold = out->fold;
	out->proba = palloc_extended(sizeof(double) * (size_t) in->n * in->k,
								 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	hitl_progress_phase(HITL_PHASE_CROSSVAL, model->cv_folds);
	rc = crossval_kind(in, &f, out->proba);
	hitl_progress_done(model->cv_folds);
	if (rc != 0)
		return rc;

	out->done = true;
	calibrate_out_of_fold(in, model->cv_folds, out);
	class_metrics(in->n, in->k, out->proba, in->y, &out->metrics);
	out->confusion = palloc(sizeof(int64) * in->k * in->k);
	confusion_count(in->n, in->k, out->proba, in->y, (int64_t *) out->confusion);
	out->report = palloc(sizeof(ClassReport) * in->k);
	out->macro_f1 = class_report(in->k, (int64_t *) out->confusion, out->report);
	return 0;
}

/*
 * Choose the calibration of the out-of-fold probabilities of in's rows (in
 * folds 0 .. nfolds - 1), apply it to out->proba and compute the figures
 * of calibration: the uncalibrated log loss, then the ECE, reliability and
 * Brier score of the calibrated probabilities.
 */
static void
calibrate_out_of_fold(const TrainCvInput *in, int nfolds, TrainCv *out)
{
	int			i;

	out->log_loss_uncalibrated = calib_log_loss(in->n, in->k, out->proba, in->y, 1.0,
												NULL, -1);
	(void) calib_choose(in->n, in->k, out->proba, in->y, out->fold, nfolds,
						&out->calibration);
	for (i = 0; i < in->n; i++)
		calib_apply(in->k, out->proba + (size_t) i * in->k, out->calibration.temperature);
	out->ece = calib_ece(in->n, in->k, out->proba, in->y, 1.0, NULL, out->reliability);
	out->brier = calib_brier(in->n, in->k, out->proba, in->y, 1.0);
}

/*
 * "cv_log_loss_uncalibrated", "ece", "ece_uncalibrated", "brier",
 * "calibration": {"method", "temperature", and the cross-fitted figures it
 * was chosen on}, "reliability": [{"rows", "confidence", "accuracy"}, ...]
 * (CALIB_BINS equal-width bins of the calibrated confidence).  The
 * temperature is written with every digit: scoring applies the one read
 * back.
 */
static void
json_calibration(StringInfo buf, const TrainCv *cv)
{
	const CalibrationChoice *c = &cv->calibration;
	int			j;

	train_json_number(buf, "cv_log_loss_uncalibrated", cv->log_loss_uncalibrated);
	train_json_number(buf, "ece", cv->ece);
	train_json_number(buf, "ece_uncalibrated", c->ece_uncalibrated);
	train_json_number(buf, "brier", cv->brier);
	appendStringInfo(buf, ", \"calibration\": {\"method\": \"%s\", \"temperature\": %.17g,"
					 " \"log_loss_cross_fitted\": %.10g, \"ece_cross_fitted\": %.10g}",
					 c->method == CALIBRATION_TEMPERATURE ? "temperature" : "none",
					 c->temperature, c->log_loss_crossfit, c->ece_crossfit);
	appendStringInfoString(buf, ", \"reliability\": [");
	for (j = 0; j < CALIB_BINS; j++)
		appendStringInfo(buf, "%s{\"rows\": %d, \"confidence\": %.10g, \"accuracy\": %.10g}",
						 j > 0 ? ", " : "", cv->reliability[j].rows,
						 cv->reliability[j].confidence, cv->reliability[j].accuracy);
	appendStringInfoChar(buf, ']');
}

/*
 * Cross-validate (see crossval_run), then replace the model's audit store
 * with what the out-of-fold probabilities make of the labels, and its
 * out-of-fold store with every labeled row's prediction and confidence
 * (both emptied when there was no cross-validation).
 */
/*
 * May the worker's training leave its cross-validation for after the
 * scoring?  Only when there is a base whose figures it can copy (a first
 * version, or one after a damaged version, cross-validates at once), with
 * the same classes in the same order (its confusion matrix and per-class
 * figures are read by the new version's classes), computed at most
 * TRAIN_MAX_DEFERRED versions back, and when it would cross-validate at all.
 */
static bool
can_defer(const TrainRun *run, const TrainCvInput *in)
{
	const HitlModel *model = run->model;
	const HitlVersion *prev = run->prev;
	int			i;

	if (model->cv_folds < 2 || in->n < 2 * model->cv_folds || prev == NULL ||
		prev->version != model->current_version ||
		model->current_version - prev->figures_from >= TRAIN_MAX_DEFERRED ||
		prev->n_classes != in->k || in->classes == NULL)
		return false;
	for (i = 0; i < in->k; i++)
		if (strcmp(prev->classes[i], in->classes[i]) != 0)
			return false;
	return true;
}

bool
train_crossval_now(const TrainRun *run, const TrainCvInput *in)
{
	const HitlModel *model = run->model;

	if (model->cv_folds < 2 || in->n < 2 * model->cv_folds)
		return false;
	return !(run->cv_when == TRAIN_CV_DEFER && can_defer(run, in));
}

int
train_crossval(TrainRun *run, const TrainCvInput *in, TrainCv *out)
{
	const HitlModel *model = run->model;
	int			rc;

	if (run->cv_when == TRAIN_CV_DEFER && can_defer(run, in))
	{
		memset(out, 0, sizeof(*out));
		out->n = in->n;
		out->k = in->k;
		run->cv_deferred = true;
		return 0;
	}
	rc = crossval_run(model, in, out);
	audit_record(model, in, out);
	oof_record(model, in, out,
			   run->cv_when == TRAIN_CV_ONLY ? run->prev->version : 0);
	return rc;
}

/* "per_class": {"label": {"precision": p, "recall": r, "f1": f, "support": n}, ...} */
static void
json_per_class(StringInfo buf, const TrainCv *cv, char **classes)
{
	int			c;

	appendStringInfoString(buf, ", \"per_class\": {");
	for (c = 0; c < cv->k; c++)
	{
		if (c > 0)
			appendStringInfoString(buf, ", ");
		escape_json(buf, classes[c]);
		appendStringInfo(buf, ": {\"precision\": %.10g, \"recall\": %.10g, \"f1\": %.10g,"
						 " \"support\": " INT64_FORMAT "}",
						 cv->report[c].precision, cv->report[c].recall, cv->report[c].f1,
						 (int64) cv->report[c].support);
	}
	appendStringInfoChar(buf, '}');
}

/* "confusion": [[...], ...], a row per true class, a column per predicted one */
static void
json_confusion(StringInfo buf, const TrainCv *cv)
{
	int			t;
	int			p;

	appendStringInfoString(buf, ", \"confusion\": [");
	for (t = 0; t < cv->k; t++)
	{
		appendStringInfoString(buf, t > 0 ? ", [" : "[");
		for (p = 0; p < cv->k; p++)
			appendStringInfo(buf, "%s" INT64_FORMAT, p > 0 ? ", " : "",
							 cv->confusion[(size_t) t * cv->k + p]);
		appendStringInfoChar(buf, ']');
	}
	appendStringInfoChar(buf, ']');
}

/*
 * Append the figures of a cross-validation beyond cv_accuracy and the like:
 * per_class, macro_f1 and confusion, in the version's class order, the
 * calibration and its figures, and the group column when there is one.
 */
void
train_json_crossval(StringInfo buf, const HitlModel *model, const TrainCv *cv, char **classes)
{
	if (!cv->done)
		return;
	json_per_class(buf, cv, classes);
	train_json_number(buf, "macro_f1", cv->macro_f1);
	json_confusion(buf, cv);
	json_calibration(buf, cv);
	if (model->cv_group_column != NULL)
	{
		appendStringInfoString(buf, ", \"cv_group_column\": ");
		escape_json(buf, model->cv_group_column);
	}
}
