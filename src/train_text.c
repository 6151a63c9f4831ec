/*
 * train_text.c
 *		Training logistic regression with text features: L-BFGS over the
 *		labeled rows' sparse vectors, warm-started from the current version.
 *
 * The rows come from train_sparseset.c (dense features standardized, text
 * weighted by the table's idf).  The previous version's coefficients are
 * moved to the positions of the new vocabulary; a bucket new to it starts
 * at zero.  Logistic regression always trains on the whole table: an
 * incremental training asked for trains as a full one.
 */
#include "postgres.h"

#include "logreg.h"
#include "metrics.h"
#include "progress.h"
#include "sparse_logreg.h"
#include "train.h"
#include "vocab.h"

static bool warm_start(const HitlVersion *prev, const HitlVersion *v, double *coef);

/*
 * Warm start: the previous version's coefficients, moved to the new
 * positions (same classes and dense features needed).  Returns whether
 * coef was filled.
 */
static bool
warm_start(const HitlVersion *prev, const HitlVersion *v, double *coef)
{
	int			nvec = logreg_nvec(v->n_classes);
	int			dnew = v->d + v->n_vocabulary;
	int			dold;
	int		   *map;
	int			i;
	int			c;

	if (!train_same_classes(prev, v) || prev->coef == NULL || prev->vocabulary == NULL)
		return false;
	dold = prev->d + prev->n_vocabulary;
	map = palloc(sizeof(int) * Max(dold, 1));
	vocab_map_positions(v->d, prev->vocabulary, prev->n_vocabulary, v->vocabulary,
						v->n_vocabulary, map);
	for (c = 0; c < nvec; c++)
	{
		const double *from = prev->coef + (size_t) c * (dold + 1);
		double	   *to = coef + (size_t) c * (dnew + 1);

		for (i = 0; i < dold; i++)
			if (map[i] >= 0)
				to[map[i]] = from[i];
		to[dnew] = from[dold];
	}
	pfree(map);
	return true;
}

/*
 * Train a text logistic model from scratch and record it, unless the
 * current version learned from the same data.
 */
int
train_text(TrainRun *run)
{
	HitlModel  *model = run->model;
	SparseTraining t;
	SparseLogregProblem p;
	LogregResult res;
	LogregStatus status;
	ClassMetrics train_metrics;
	TrainCvInput in = {TRAIN_CV_SPARSE};
	TrainCv		cv;
	StringInfoData metrics;
	double	   *proba;
	int64		ncoef;
	bool		warm;
	int			i;

	if (!train_sparse_read(run, &t))
		return model->current_version;
	ncoef = logreg_ncoef(t.X.d, t.v.n_classes);
	train_check_size(model, t.v.n_classes, t.X.d, ncoef, HITL_MAX_SPARSE_COEFFICIENTS,
					 "coefficients", "coefficients",
					 "Lower the buckets option, or use fewer classes.");
	t.v.coef = palloc_extended(sizeof(double) * ncoef, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	warm = warm_start(run->prev, &t.v, t.v.coef);
	memset(&p, 0, sizeof(p));
	p.x = t.X;
	p.k = t.v.n_classes;
	p.y = t.s.y;
	p.weight = t.s.w;
	p.C = model->C;
	p.max_iter = model->max_iter;
	p.tol = model->tol;
	hitl_progress_phase(HITL_PHASE_TRAINING, 1);
	status = sparse_logreg_fit(&p, t.v.coef, warm, &res);
	hitl_progress_done(1);
	train_check_fit(model, status, res.iterations);

	proba = palloc_extended(sizeof(double) * (size_t) t.X.n * t.v.n_classes, MCXT_ALLOC_HUGE);
	for (i = 0; i < t.X.n; i++)
		sparse_logreg_predict_proba(t.X.d, t.v.n_classes, t.v.coef,
									(int) (t.indptr[i + 1] - t.indptr[i]),
									t.indices + t.indptr[i], t.values + t.indptr[i],
									proba + (size_t) i * t.v.n_classes);
	class_metrics(t.X.n, t.v.n_classes, proba, t.s.y, &train_metrics);
	in.n = t.X.n;
	in.k = t.v.n_classes;
	in.y = t.s.y;
	in.groups = model->cv_group_column ? &t.s.groups : NULL;
	in.keys = t.s.keys.key;
	in.classes = t.v.classes;
	in.coef = t.v.coef;
	in.sparse = &p;
	(void) train_crossval(run, &in, &cv);

	train_sparse_metrics(&metrics, &t.v, t.indptr[t.X.n], false);
	train_json_fit(&metrics, &res, warm);
	/* text is always solved by L-BFGS (src/sparse_logreg.c) */
	appendStringInfoString(&metrics, ", \"solver\": \"lbfgs\"");
	if (run->idf_reused)
		appendStringInfoString(&metrics, ", \"idf_reused\": true");
	train_json_class_metrics(&metrics, &train_metrics, model->cv_folds,
							 cv.done ? &cv.metrics : NULL);
	train_json_crossval(&metrics, model, &cv, t.v.classes);
	train_json_finish(&metrics, run, t.hash);
	return train_record(run, &t.v, metrics.data);
}
