/*
 * predictor.c
 *		Class probabilities of a row under a version (see predictor.h).
 */
#include "postgres.h"

#include "logreg.h"
#include "predictor.h"
#include "scaler.h"
#include "sparse_logreg.h"

double
predictor_nb_dimension(const HitlModel *model, const FeatureLayout *layout)
{
	return (double) layout->d + (layout->n_text > 0 ? (double) model->buckets : 0.0);
}

void
predictor_init(Predictor *p, const HitlModel *model, const FeatureLayout *layout,
			   const HitlVersion *version)
{
	/*
	 * The row buffers are sized by the version, filled by the layout: they
	 * must agree (catalog_load_version() checked the version's dimensions
	 * against the columns; this holds whatever built the layout).
	 */
	if (layout->d != version->d)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("version %d of model \"%s\" has %d features, its table's columns give %d",
						version->version, model->name, version->d, layout->d),
				 errhint("Train the model again with hitl.train().")));
	memset(p, 0, sizeof(*p));
	p->model = model;
	p->version = version;
	p->layout = layout;
	p->sparse = model_is_sparse(model);
	if (!p->sparse)
	{
		p->x = palloc(sizeof(double) * Max(version->d, 1));
		p->missing = palloc(sizeof(bool) * Max(version->d, 1));
		return;
	}
	sparserow_init(&p->row, model, layout, version);
	if (model_is_nbayes(model) &&
		nbayes_model_build(&p->nb, version->n_classes, version->d + version->n_vocabulary,
						   version->class_counts, version->n_counts, version->count_index,
						   version->counts, model->alpha,
						   predictor_nb_dimension(model, layout)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("version %d of model \"%s\" has invalid naive Bayes statistics",
						version->version, model->name)));
}

FeatureStatus
predictor_proba(Predictor *p, const Datum *values, const bool *isnull, double *proba,
				int *bad_col)
{
	const HitlVersion *v = p->version;
	FeatureStatus st;

	if (!p->sparse)
	{
		st = features_from_datums(p->layout, values, isnull, p->x, p->missing, bad_col);
		if (st != FEATURE_OK)
			return st;
		scaler_apply(1, v->d, p->x, p->missing, v->means, v->scales);
		logreg_predict_proba(v->d, v->n_classes, v->coef, p->x, proba);
		return FEATURE_OK;
	}
	st = sparserow_convert(&p->row, values, isnull, bad_col);
	if (st != FEATURE_OK)
		return st;
	if (model_is_nbayes(p->model))
		nbayes_predict_proba(&p->nb, p->row.nnz, p->row.idx, p->row.val, p->row.mass, proba);
	else
		sparse_logreg_predict_proba(v->d + v->n_vocabulary, v->n_classes, v->coef,
									p->row.nnz, p->row.idx, p->row.val, proba);
	return FEATURE_OK;
}
