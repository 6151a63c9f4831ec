/*
 * train_nbsums.c
 *		Training naive Bayes from scratch by aggregates: the labeled rows are
 *		added up where they lie, in parallel, and only sums come back.
 *
 * Naive Bayes learns per class the number of rows and the sums of their
 * features, so a training from scratch needs no row in memory: one query
 * groups the labeled rows by label and adds them up with hitl._nb_sums
 * (agg_nbtrain.c), which parallel query splits among workers on one server
 * (and Citus could among its nodes); a second, hitl._nb_eval, scores them
 * with the model those sums make, for its figures on its training rows.
 * Reading the rows into one process in key order (train_nbayes.c) costs
 * twice as much as the aggregates in one process, three times as much as
 * with two parallel workers, at a million rows (test/bench/train_aggregates.sh).
 *
 * It serves models without text, unweighted, whose training does not
 * cross-validate at once: cv_folds 0, or the worker's trainings, which
 * leave the cross-validation for after the scoring (it reads the rows in
 * key order then, and finds the same data hash: train_nb_rowsum).
 * Otherwise, with hitl.train_by_aggregates off, or when a row cannot be
 * read as a feature vector (a value below zero,
 * NaN, a numeric beyond double precision, an array of another shape: any
 * error of class 22 in the sums' query, rolled back), the training reads
 * the rows as before, which reports what is wrong with the row's key.
 *
 * The version is the one reading the rows gives: the same classes, sums,
 * label snapshot, data hash and figures, except that sums of values that
 * are not whole numbers may differ in their last bits (they are added in
 * another order), as may the figures' log-loss.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "agg_math.h"
#include "autolabel.h"
#include "classifier.h"
#include "metrics.h"
#include "nbayes.h"
#include "progress.h"
#include "rowkey.h"
#include "settings.h"
#include "spi_check.h"
#include "subxact.h"
#include "train.h"
#include "vocab.h"

/* The doubles of a float8[] without NULLs (ARR_DATA_PTR, without its sign warning) */
#define STATE_VALUES(a) ((double *) (((char *) (a)) + ARR_OVERHEAD_NONULLS(ARR_NDIM(a))))

/* What the sums' query gives, per label */
typedef struct NbSums
{
	const TrainRun *run;
	const char *from;			/* FROM ... WHERE ... of the labeled rows */
	const char *features;		/* the feature vector of a row */
	int			ngroups;
	char	  **labels;			/* per group: the label as text */
	double	  **state;			/* ... and its AGG_KIND_NBSUMS state */
	int		   *d;				/* ... and its features */
} NbSums;

static char *features_sql(const HitlModel *model, const FeatureLayout *layout);
static char *labeled_from_sql(const HitlModel *model);
static void run_sums(void *arg);
static void figures(const NbSums *q, const NBayesCounts *c, double dimension,
					char **classes, ClassMetrics *out);

/*
 * The row's feature vector as a float8[] of the layout's d values, NULL as
 * 0 as naive Bayes counts it: runs of scalar columns in one ARRAY[...],
 * array columns (NULL elements as 0) concatenated in column order
 */
static char *
features_sql(const HitlModel *model, const FeatureLayout *layout)
{
	StringInfoData buf;
	bool		in_scalars = false;
	int			parts = 0;
	int			col;

	initStringInfo(&buf);
	for (col = 0; col < layout->ncols; col++)
	{
		const char *name = quote_identifier(model->feature_columns[col]);

		if (layout->is_array[col])
		{
			if (in_scalars)
				appendStringInfoString(&buf, "]::pg_catalog.float8[]");
			in_scalars = false;
			/* an array of another shape gets a NULL, which _nb_sums refuses */
			appendStringInfo(&buf, "%s(CASE WHEN t.%s IS NULL"
							 " THEN pg_catalog.array_fill(0::pg_catalog.float8, ARRAY[%d])"
							 " WHEN pg_catalog.array_ndims(t.%s) OPERATOR(pg_catalog.=) 1"
							 " AND pg_catalog.array_length(t.%s, 1) OPERATOR(pg_catalog.=) %d"
							 " THEN pg_catalog.array_replace(t.%s::pg_catalog.float8[],"
							 " NULL::pg_catalog.float8, 0::pg_catalog.float8)"
							 " ELSE ARRAY[NULL::pg_catalog.float8] END)",
							 parts++ > 0 ? " OPERATOR(pg_catalog.||) " : "", name,
							 Max(layout->dims[col], 0), name, name, layout->dims[col], name);
			continue;
		}
		if (!in_scalars)
			appendStringInfo(&buf, "%sARRAY[", parts++ > 0 ? " OPERATOR(pg_catalog.||) " : "");
		else
			appendStringInfoString(&buf, ", ");
		in_scalars = true;
		if (layout->types[col] == BOOLOID)
			appendStringInfo(&buf, "COALESCE(t.%s::pg_catalog.int4::pg_catalog.float8, 0)", name);
		else
			appendStringInfo(&buf, "COALESCE(t.%s::pg_catalog.float8, 0)", name);
	}
	if (in_scalars)
		appendStringInfoString(&buf, "]::pg_catalog.float8[]");
	if (parts == 0)
		appendStringInfoString(&buf, "'{}'::pg_catalog.float8[]");
	return buf.data;
}

/*
 * FROM and WHERE of the labeled rows, as training reads them (dataset.c):
 * machine labels left out unless the model trains on them.  The condition
 * is an anti-join, which parallel workers can run, and there is none when
 * the model has no machine label (read in the training's snapshot, by the
 * reader of the rows, as dataset.c's condition reads them).
 */
static char *
labeled_from_sql(const HitlModel *model)
{
	char	   *from = psprintf(" FROM %s t WHERE t.%s IS NOT NULL", model->source_text,
								quote_identifier(model->label_column));
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;

	if (!hitl_table_exists("auto_labels") || catalog_trains_on_auto_labels(model->name))
		return from;
	values[0] = CStringGetTextDatum(model->name);
	hitl_spi_check_rows(SPI_execute_with_args("SELECT EXISTS (SELECT FROM hitl.auto_labels a"
											  " WHERE a.model OPERATOR(pg_catalog.=) $1)",
											  1, argtypes, values, NULL, true, 0),
						SPI_OK_SELECT, 1, "looking for machine labels");
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		return from;
	return psprintf("%s AND NOT EXISTS (SELECT FROM hitl.auto_labels a"
					" WHERE a.model OPERATOR(pg_catalog.=) %s AND a.row_key OPERATOR(pg_catalog.=) %s)",
					from, quote_literal_cstr(model->name), rowkey_sql(model, "t"));
}

/* The sums' query, in a subtransaction (see train_nbayes_sums) */
static void
run_sums(void *arg)
{
	NbSums	   *q = (NbSums *) arg;
	const HitlModel *model = q->run->model;
	char	   *sql;
	uint64		i;

	/*
	 * grouped by the label's text, byte for byte, as reading the rows tells
	 * classes apart: not by the label type's equality, nor the column's
	 * collation (a case-insensitive one would merge classes)
	 */
	sql = psprintf("SELECT t.%s::pg_catalog.text COLLATE pg_catalog.\"C\","
				   " hitl._nb_sums(%s, %s)%s GROUP BY 1",
				   quote_identifier(model->label_column), q->features,
				   train_row_seed_sql(model, "t"), q->from);
	hitl_spi_check(SPI_execute(sql, true, 0), SPI_OK_SELECT, "adding up the labeled rows");
	q->ngroups = (int) SPI_processed;
	q->labels = palloc(sizeof(char *) * Max(q->ngroups, 1));
	q->state = palloc(sizeof(double *) * Max(q->ngroups, 1));
	q->d = palloc(sizeof(int) * Max(q->ngroups, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;
		Datum		label = SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull);
		bool		state_null;
		Datum		state = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &state_null);
		ArrayType  *a;
		AggKind		kind;
		int			k;
		int			d;
		int64		len;

		if (state_null)
			elog(ERROR, "hitl: hitl._nb_sums gave no state of its kind");
		a = DatumGetArrayTypeP(state);
		len = ARR_NDIM(a) == 1 ? ARR_DIMS(a)[0] : 0;
		if (ARR_HASNULL(a) ||
			!agg_state_valid(STATE_VALUES(a), len, &kind, &k, &d) ||
			kind != AGG_KIND_NBSUMS)
			elog(ERROR, "hitl: hitl._nb_sums gave no state of its kind");
		q->labels[i] = train_label_text(model, label, isnull);
		q->state[i] = palloc(sizeof(double) * len);
		memcpy(q->state[i], STATE_VALUES(a), sizeof(double) * len);
		q->d[i] = d;
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * The model's figures on its training rows (class_metrics of what
 * nbayes_predict_row gives them), by hitl._nb_eval over the same rows
 */
static void
figures(const NbSums *q, const NBayesCounts *c, double dimension, char **classes,
		ClassMetrics *out)
{
	const HitlModel *model = q->run->model;
	int64		len = 4 + (int64) c->k * (1 + c->m);
	Datum	   *model_arg = palloc(sizeof(Datum) * len);
	Datum	   *class_arg = palloc(sizeof(Datum) * c->k);
	Oid			argtypes[2] = {TEXTARRAYOID, FLOAT8ARRAYOID};
	Datum		values[2];
	char	   *sql;
	ArrayType  *a;
	const double *s;
	bool		isnull;
	Datum		result;
	int64		e;
	int			i;

	model_arg[0] = Float8GetDatum(c->k);
	model_arg[1] = Float8GetDatum(c->m);
	model_arg[2] = Float8GetDatum(model->alpha);
	model_arg[3] = Float8GetDatum(dimension);
	for (i = 0; i < c->k; i++)
	{
		model_arg[4 + i] = Float8GetDatum(c->class_count[i]);
		class_arg[i] = CStringGetTextDatum(classes[i]);
	}
	for (e = 0; e < (int64) c->k * c->m; e++)
		model_arg[4 + c->k + e] = Float8GetDatum(c->feature_count[e]);
	values[0] = PointerGetDatum(construct_array(class_arg, c->k, TEXTOID, -1, false,
												TYPALIGN_INT));
	values[1] = PointerGetDatum(construct_array(model_arg, (int) len, FLOAT8OID,
												sizeof(float8), FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));
	sql = psprintf("SELECT hitl._nb_eval(pg_catalog.array_position($1 COLLATE pg_catalog.\"C\","
				   " t.%s::pg_catalog.text COLLATE pg_catalog.\"C\") OPERATOR(pg_catalog.-) 1, %s, $2)%s",
				   quote_identifier(model->label_column), q->features, q->from);
	hitl_spi_check_rows(SPI_execute_with_args(sql, 2, argtypes, values, NULL, true, 0),
						SPI_OK_SELECT, 1, "scoring the labeled rows");
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "hitl: hitl._nb_eval found no labeled row");
	a = DatumGetArrayTypeP(result);
	if (ARR_NDIM(a) != 1 || ARR_HASNULL(a) ||
		ARR_DIMS(a)[0] != AGG_NBEVAL_CONFUSION + c->k * c->k)
		elog(ERROR, "hitl: hitl._nb_eval gave no state of its kind");
	s = STATE_VALUES(a);
	class_metrics_counts((int) s[AGG_NBEVAL_ROWS], c->k, s[AGG_NBEVAL_LOSS],
						 s + AGG_NBEVAL_CONFUSION, out);
	SPI_freetuptable(SPI_tuptable);
}

/* See train.h */
int
train_nbayes_sums(TrainRun *run)
{
	HitlModel  *model = run->model;
	FeatureLayout *layout = run->layout;
	NbSums		q;
	HitlVersion v;
	LabelSet	ls;
	NBayesCounts c;
	NBayesModel nb;
	ClassMetrics train_metrics;
	TrainCvInput in = {TRAIN_CV_NBAYES};
	TrainCv		cv;
	StringInfoData metrics;
	int		   *y;
	double		dimension;
	double		nnz = 0.0;
	uint64	   *class_hash;
	char	   *data_hash;
	int64		n = 0;
	int			level;
	int			i;
	int			j;

	if (!hitl_train_by_aggregates || !train_nb_rowsum(run) || run->cv_when == TRAIN_CV_ONLY ||
		(run->cv_when == TRAIN_CV_INLINE && model->cv_folds >= 2))
		return -1;

	memset(&v, 0, sizeof(v));
	memset(&ls, 0, sizeof(ls));
	memset(&q, 0, sizeof(q));
	q.run = run;
	q.from = labeled_from_sql(model);
	q.features = features_sql(model, layout);
	/* the label snapshot first, as train_sparse_read takes it */
	v.label_snapshot = catalog_label_snapshot(model, CurrentMemoryContext);
	hitl_progress_phase(HITL_PHASE_READING, 1);
	level = dataset_no_jit_enter();
	if (!run_in_subtransaction_matching(run_sums, &q, ERRCODE_DATA_EXCEPTION, true))
	{
		AtEOXact_GUC(true, level);
		ereport(DEBUG1,
				(errmsg_internal("hitl: model \"%s\": a labeled row is no feature vector for the aggregates: reading the rows",
								 model->name)));
		return -1;
	}
	hitl_progress_done(1);

	/* the classes in the label type's order */
	y = palloc(sizeof(int) * Max(q.ngroups, 1));
	for (i = 0; i < q.ngroups; i++)
	{
		if (q.d[i] != layout->d)
		{
			AtEOXact_GUC(true, level);
			return -1;			/* an array of another length: reading says which */
		}
		y[i] = train_class_of(&ls, q.labels[i], CurrentMemoryContext);
		n += (int64) q.state[i][AGG_NBSUMS_ROWS];
		nnz += q.state[i][AGG_NBSUMS_NNZ];
	}
	/* hitl._nb_eval's confusion counts (k x k) must fit in its state */
	if (agg_state_length(AGG_KIND_NBEVAL, Max(ls.n_classes, 2), 0) < 0)
	{
		AtEOXact_GUC(true, level);
		return -1;
	}
	if (n > INT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model \"%s\" has more labeled rows than one training takes",
						model->name)));
	train_order_classes(model, &ls, q.ngroups, y);
	class_hash = palloc0(sizeof(uint64) * Max(ls.n_classes, 1));
	for (i = 0; i < q.ngroups; i++)
		class_hash[y[i]] = agg_nbsums_hash(q.state[i]);
	train_check_labels(model, (int) n, &ls);

	train_version_init(&v, model, layout, (int) n, &ls);
	v.means = palloc0(sizeof(double) * Max(layout->d, 1));
	v.scales = palloc(sizeof(double) * Max(layout->d, 1));
	for (j = 0; j < layout->d; j++)
		v.scales[j] = 1.0;
	v.n_vocabulary = vocab_build(Max(model->buckets, 1), 0, NULL, &v.vocabulary);
	{
		char	   *hash = train_nb_rowsum_hash(model, &v, n, class_hash);

		if (train_sparse_stands(run, v.label_snapshot != NULL, hash))
		{
			AtEOXact_GUC(true, level);
			return model->current_version;
		}
		data_hash = hash;
	}
	in.n = (int) n;
	in.k = ls.n_classes;
	in.classes = ls.classes;
	if (train_crossval_now(run, &in))
	{
		/* the cross-validation reads the rows: so does the training */
		AtEOXact_GUC(true, level);
		return -1;
	}
	train_check_size(model, ls.n_classes, layout->d, (int64) ls.n_classes * layout->d,
					 HITL_MAX_SPARSE_COEFFICIENTS, "statistics", "sums",
					 "Lower the buckets option, or use fewer classes.");

	hitl_progress_phase(HITL_PHASE_TRAINING, 1);
	nbayes_counts_init(&c, ls.n_classes, layout->d);
	for (i = 0; i < q.ngroups; i++)
	{
		c.class_count[y[i]] = q.state[i][AGG_NBSUMS_ROWS];
		memcpy(c.feature_count + (size_t) y[i] * layout->d, q.state[i] + AGG_NBSUMS_SUMS,
			   sizeof(double) * layout->d);
	}
	train_nb_check_sums(model, layout, &c, ls.classes);
	dimension = classifier_nb_dimension(model, layout);
	if (nbayes_model_from_counts(&nb, &c, model->alpha, dimension) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("the naive Bayes statistics of model \"%s\" are invalid", model->name),
				 errdetail("A class has no rows, a sum is negative, or alpha is not above 0.")));
	nbayes_model_free(&nb);
	figures(&q, &c, dimension, ls.classes, &train_metrics);
	AtEOXact_GUC(true, level);
	hitl_progress_done(1);

	/* no cross-validation now: deferred, or none (which empties the audit) */
	(void) train_crossval(run, &in, &cv);
	train_nb_store_counts(&v, &c);

	train_sparse_metrics(&metrics, &v, (int64) nnz, false);
	train_json_number(&metrics, "alpha", model->alpha);
	appendStringInfoString(&metrics, ", \"aggregates\": true");
	train_json_class_metrics(&metrics, &train_metrics, model->cv_folds, NULL);
	train_json_crossval(&metrics, model, &cv, ls.classes);
	train_json_finish(&metrics, run, data_hash);
	return train_record(run, &v, metrics.data);
}
