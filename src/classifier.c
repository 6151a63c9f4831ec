/*
 * classifier.c
 *		Class probabilities of a row under a loaded version (see
 *		classifier.h).
 *
 * The version's parameters are read once, by classifier_init; each row then
 * costs its conversion to features (dense, or sparse for text and naive
 * Bayes) and one evaluation by the plain-C numerics.  The probabilities
 * are calibrated (calib_apply with the version's temperature, 1 when it
 * has none) before anything reads them: the confidence, the uncertainty
 * and the prediction written by scoring, and hitl.predict_proba, all see
 * the calibrated ones.
 */
#include "postgres.h"

#include <math.h>

#include "calibrate.h"
#include "classifier.h"
#include "logreg.h"
#include "metrics.h"
#include "scaler.h"
#include "sparse_logreg.h"

/*
 * Naive Bayes' table of deltas by position and class (nb_dense) is made
 * when it has at most this many entries, and at most about as many bytes
 * as the lists of the non-zero ones it replaces
 */
#define NB_DENSE_MAX_ENTRIES (1 << 21)

static double *nb_dense_table(const NBayesModel *nb);
static bool nb_dense_proba(const Classifier *c, int nnz, const int *idx,
						   const double *val, double mass, double *proba);

/*
 * The dimension of naive Bayes' feature space: the dense features, plus
 * every text bucket when the model has text columns.
 */
double
classifier_nb_dimension(const HitlModel *model, const FeatureLayout *layout)
{
	return (double) layout->d + (layout->n_text > 0 ? (double) model->buckets : 0.0);
}

/*
 * Naive Bayes' deltas as a table of positions x classes (zero where the
 * lists have none), or NULL when it would be too large.  A row's terms
 * then read one short run of the table each, instead of a position's
 * list of classes and deltas.
 */
static double *
nb_dense_table(const NBayesModel *nb)
{
	int64		entries = (int64) nb->m * nb->k;
	int64		nnz = nb->ptr[nb->m];
	double	   *table;
	int			j;

	if (entries > NB_DENSE_MAX_ENTRIES || entries > 2 * nnz + 65536)
		return NULL;
	table = palloc0(sizeof(double) * Max(entries, 1));
	for (j = 0; j < nb->m; j++)
	{
		int64		e;

		for (e = nb->ptr[j]; e < nb->ptr[j + 1]; e++)
			table[(int64) j * nb->k + nb->cls[e]] = nb->delta[e];
	}
	return table;
}

/*
 * Naive Bayes' class probabilities of a row through nb_dense (whose rows
 * of the row's text terms sparserow_convert had fetched): the same
 * joint log-likelihoods as nbayes_predict_proba's, the same products added
 * in the same order (the table's zeros add a zero, which changes no sum
 * but the sign of a zero one, which the softmax does not see), and the
 * same softmax.  Returns false, proba undefined, when one of them is not
 * finite: nbayes_predict_proba then takes the row, whose values it scales.
 */
static bool
nb_dense_proba(const Classifier *c, int nnz, const int *idx, const double *val,
			   double mass, double *proba)
{
	const NBayesModel *nb = &c->nb;
	int			k = nb->k;
	int			cls;
	int			i;

	if (mass < 0.0)
		return false;
	for (cls = 0; cls < k; cls++)
		proba[cls] = nb->log_prior[cls] - mass * nb->log_denom[cls];
	for (i = 0; i < nnz; i++)
	{
		const double *row = c->nb_dense + (int64) idx[i] * k;
		double		v = val[i];

		for (cls = 0; cls < k; cls++)
			proba[cls] += v * row[cls];
	}
	for (cls = 0; cls < k; cls++)
		if (!isfinite(proba[cls]))
			return false;
	proba_softmax(k, proba);
	return true;
}

/*
 * Prepare c to evaluate rows with version: row buffers for a dense model,
 * the sparse row converter and the naive Bayes parameters for the others.
 */
void
classifier_init(Classifier *c, const HitlModel *model, const FeatureLayout *layout,
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
	if (!(version->temperature > 0.0))
		elog(ERROR, "hitl: version %d of model \"%s\" has no calibration temperature",
			 version->version, model->name);
	memset(c, 0, sizeof(*c));
	c->model = model;
	c->version = version;
	c->layout = layout;
	c->sparse = model_is_sparse(model);
	if (!c->sparse)
	{
		c->x = palloc(sizeof(double) * Max(version->d, 1));
		c->missing = palloc(sizeof(bool) * Max(version->d, 1));
		return;
	}
	sparserow_init(&c->row, model, layout, version);
	if (model_is_nbayes(model) &&
		nbayes_model_build(&c->nb, version->n_classes, version->d + version->n_vocabulary,
						   version->class_counts, version->n_counts, version->count_index,
						   version->counts, model->alpha,
						   classifier_nb_dimension(model, layout)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("version %d of model \"%s\" has invalid naive Bayes statistics",
						version->version, model->name)));
	if (model_is_nbayes(model))
		c->nb_dense = nb_dense_table(&c->nb);
	if (c->nb_dense != NULL)
	{
		c->row.param_base = (const char *) c->nb_dense;
		c->row.param_stride = sizeof(double) * c->nb.k;
	}
}

/*
 * Convert one row's feature values and evaluate the model on them, into
 * proba, calibrated with the version's temperature.
 */
FeatureStatus
classifier_proba(Classifier *c, const Datum *values, const bool *isnull, double *proba,
				 int *bad_col)
{
	const HitlVersion *v = c->version;
	FeatureStatus st;

	if (!c->sparse)
	{
		st = features_from_datums(c->layout, values, isnull, c->x, c->missing, bad_col);
		if (st != FEATURE_OK)
			return st;
		scaler_apply(1, v->d, c->x, c->missing, v->means, v->scales);
		logreg_predict_proba(v->d, v->n_classes, v->coef, c->x, proba);
		calib_apply(v->n_classes, proba, v->temperature);
		return FEATURE_OK;
	}
	st = sparserow_convert(&c->row, values, isnull, bad_col);
	if (st != FEATURE_OK)
		return st;
	if (model_is_nbayes(c->model))
	{
		if (c->nb_dense == NULL ||
			!nb_dense_proba(c, c->row.nnz, c->row.idx, c->row.val, c->row.mass, proba))
			nbayes_predict_proba(&c->nb, c->row.nnz, c->row.idx, c->row.val, c->row.mass,
								 proba);
	}
	else
		sparse_logreg_predict_proba(v->d + v->n_vocabulary, v->n_classes, v->coef,
									c->row.nnz, c->row.idx, c->row.val, proba);
	calib_apply(v->n_classes, proba, v->temperature);
	return FEATURE_OK;
}
