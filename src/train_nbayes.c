/*
 * train_nbayes.c
 *		Training naive Bayes from scratch: the sums of the labeled rows'
 *		features per class, in one pass, with cross-validated metrics.
 *
 * The rows come from train_sparseset.c (dense values raw, text weighted by
 * the table's idf; with weight_by_consensus each row added with its
 * weight).  The version records the non-zero sums and the label snapshot
 * they include (none when weighted), from which train_incremental.c later
 * applies only the label changes.  A naive Bayes training asked to be
 * incremental that could not be lands here, and its metrics say why
 * ("fallback").
 */
#include "postgres.h"

#include <math.h>

#include "classifier.h"
#include "compat.h"
#include "metrics.h"
#include "progress.h"
#include "nbayes.h"
#include "train.h"

pg_noreturn static void nb_invalid(const HitlModel *model);

/* Raise the error for statistics nbayes_model_build refuses */
static void
nb_invalid(const HitlModel *model)
{
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("the naive Bayes statistics of model \"%s\" are invalid", model->name),
			 errdetail("A class has no rows, a sum is negative, or alpha is not above 0.")));
}

/*
 * Naive Bayes adds up each feature per class: refuse (22000, naming the
 * column and the class) a dense feature whose sum went beyond the range of
 * double precision, before the statistics are used.  Text weights are at
 * most 1 and cannot overflow.
 */
void
train_nb_check_sums(const HitlModel *model, const FeatureLayout *layout, const NBayesCounts *c,
					char **classes)
{
	int			cls;
	int			col;

	for (cls = 0; cls < c->k; cls++)
		for (col = 0; col < layout->ncols; col++)
		{
			int			width = layout->is_array[col] ? layout->dims[col] : 1;
			int			j;

			if (layout->is_text[col])
				continue;
			for (j = 0; j < width; j++)
				if (!isfinite(c->feature_count[(size_t) cls * c->m + layout->offsets[col] + j]))
					ereport(ERROR,
							(errcode(ERRCODE_DATA_EXCEPTION),
							 errmsg("feature column \"%s\" of model \"%s\" adds up beyond the range of double precision",
									model->feature_columns[col], model->name),
							 errdetail("Its values over the labeled rows of class \"%s\" sum to more than 1.8e308.",
									   classes[cls]),
							 errhint("Naive Bayes adds up each feature per class: scale the column down.")));
		}
}

/* Store the non-zero sums of c, position-major, and its class rows in v */
void
train_nb_store_counts(HitlVersion *v, const NBayesCounts *c)
{
	int64	   *index;
	double	   *count;

	v->n_counts = nbayes_counts_nonzeros(c, &index, &count);
	v->count_index = index;
	v->counts = count;
	v->class_counts = c->class_count;
}

/*
 * Train a naive Bayes model from scratch and record it, unless the current
 * version learned from the same data.
 */
int
train_nbayes(TrainRun *run)
{
	HitlModel  *model = run->model;
	SparseTraining t;
	NBayesCounts c;
	NBayesModel nb;
	ClassMetrics train_metrics;
	TrainCvInput in = {TRAIN_CV_NBAYES};
	TrainCv		cv;
	StringInfoData metrics;
	double		dimension;
	double	   *proba;
	int			i;

	if (!train_sparse_read(run, &t))
		return model->current_version;
	train_check_size(model, t.v.n_classes, t.X.d, (int64) t.v.n_classes * t.X.d,
					 HITL_MAX_SPARSE_COEFFICIENTS, "statistics", "sums",
					 "Lower the buckets option, or use fewer classes.");
	nbayes_counts_init(&c, t.v.n_classes, t.X.d);
	hitl_progress_phase(HITL_PHASE_TRAINING, t.X.n);
	for (i = 0; i < t.X.n; i++)
		nbayes_counts_add(&c, t.s.y[i], (int) (t.indptr[i + 1] - t.indptr[i]),
						  t.indices + t.indptr[i], t.values + t.indptr[i],
						  t.s.w != NULL ? t.s.w[i] : 1.0);
	hitl_progress_done(t.X.n);
	train_nb_check_sums(model, run->layout, &c, t.v.classes);
	dimension = classifier_nb_dimension(model, run->layout);
	if (nbayes_model_from_counts(&nb, &c, model->alpha, dimension) != 0)
		nb_invalid(model);
	proba = palloc_extended(sizeof(double) * (size_t) t.X.n * t.v.n_classes, MCXT_ALLOC_HUGE);
	for (i = 0; i < t.X.n; i++)
		nbayes_predict_row(&nb, &t.X, i, proba + (size_t) i * t.v.n_classes);
	class_metrics(t.X.n, t.v.n_classes, proba, t.s.y, &train_metrics);
	in.n = t.X.n;
	in.k = t.v.n_classes;
	in.y = t.s.y;
	in.groups = model->cv_group_column ? &t.s.groups : NULL;
	in.keys = t.s.keys.key;
	in.classes = t.v.classes;
	in.X = &t.X;
	in.weight = t.s.w;
	in.counts = &c;
	in.alpha = model->alpha;
	in.dimension = dimension;
	if (train_crossval(run, &in, &cv) < 0)
		nb_invalid(model);
	train_nb_store_counts(&t.v, &c);

	train_sparse_metrics(&metrics, &t.v, t.indptr[t.X.n], false);
	train_json_number(&metrics, "alpha", model->alpha);
	train_json_class_metrics(&metrics, &train_metrics, model->cv_folds,
							 cv.done ? &cv.metrics : NULL);
	train_json_crossval(&metrics, model, &cv, t.v.classes);
	train_json_finish(&metrics, run, t.hash);
	return train_record(run, &t.v, metrics.data);
}
