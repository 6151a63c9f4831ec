/*
 * train_sparse.c
 *		Training sparse models: text features (logistic regression by
 *		L-BFGS) and naive Bayes (counts), the latter also incrementally.
 *
 * A full training reads the table twice through cursors that share one
 * snapshot.  The first pass tokenizes every row's text, counting in how many
 * rows each bucket occurs, which gives the idf.  The second reads the
 * labeled rows in primary-key order and keeps each one as a sparse vector:
 * its dense features and its weighted, normalised text buckets.  The
 * buckets the labeled rows use become the version's vocabulary, numbered
 * after the dense features; only they get parameters.  Memory grows with
 * the non-zeros of the labeled rows and with the buckets (4 bytes each, for
 * the document frequencies), never with rows x buckets.
 *
 * An incremental naive Bayes update reads the label log entries that the
 * current version does not include (those not visible in the snapshot it
 * recorded), fetches their rows by primary key, and subtracts each row from
 * its old class and adds it to its new one.  The idf and the table's other
 * rows stay as they were: the result is what a full training on the same
 * table would give, to rounding.  When that cannot hold (a new class, a
 * class left without rows, a row that is gone, more changes than labeled
 * rows, a class renamed in the label's enum type, a version restored from
 * another cluster) it trains from scratch instead.  Log entries restored
 * from a dump carry no transaction id and count as included in every
 * version: they are never applied twice.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "storage/itemptr.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "compat.h"
#include "dataset.h"
#include "hitl.h"
#include "labels.h"
#include "logreg.h"
#include "metrics.h"
#include "nbayes.h"
#include "predictor.h"
#include "scaler.h"
#include "sparse.h"
#include "sparse_logreg.h"
#include "sparserow.h"
#include "tfidf.h"
#include "train.h"



static bool restored_since(const HitlModel *model, const HitlVersion *prev);
/* Models of more coefficients (or naive Bayes sums) need too much memory */
#define HITL_MAX_SPARSE_COEFFICIENTS (64 * 1024 * 1024)

/* The labeled rows of a sparse model */
typedef struct SparseSet
{
	int			n;
	int			capacity;
	int			d;				/* dense features */
	double	   *x;				/* n x d, raw */
	bool	   *missing;		/* n x d */
	int		   *y;
	LabelSet	labels;
	/* text: per row, buckets ascending and their weights */
	int64	   *tptr;			/* n + 1 */
	int		   *tbucket;
	double	   *tweight;
	int64		tnnz;
	int64		tcapacity;
} SparseSet;

static void
set_grow_rows(SparseSet *s)
{
	int			cap = s->capacity ? s->capacity * 2 : 1024;
	int			d = Max(s->d, 1);

	if (s->capacity == 0)
	{
		s->x = palloc_extended(sizeof(double) * cap * d, MCXT_ALLOC_HUGE);
		s->missing = palloc_extended(sizeof(bool) * cap * d, MCXT_ALLOC_HUGE);
		s->y = palloc_extended(sizeof(int) * cap, MCXT_ALLOC_HUGE);
		s->tptr = palloc_extended(sizeof(int64) * (cap + 1), MCXT_ALLOC_HUGE);
		s->tptr[0] = 0;
	}
	else
	{
		s->x = repalloc_huge(s->x, sizeof(double) * cap * d);
		s->missing = repalloc_huge(s->missing, sizeof(bool) * cap * d);
		s->y = repalloc_huge(s->y, sizeof(int) * cap);
		s->tptr = repalloc_huge(s->tptr, sizeof(int64) * (cap + 1));
	}
	s->capacity = cap;
}

static void
set_add_terms(SparseSet *s, const TermBag *bag)
{
	int			i;

	if (s->tnnz + bag->n > s->tcapacity)
	{
		int64		cap = Max(s->tcapacity * 2, s->tnnz + bag->n + 4096);

		if (s->tcapacity == 0)
		{
			s->tbucket = palloc_extended(sizeof(int) * cap, MCXT_ALLOC_HUGE);
			s->tweight = palloc_extended(sizeof(double) * cap, MCXT_ALLOC_HUGE);
		}
		else
		{
			s->tbucket = repalloc_huge(s->tbucket, sizeof(int) * cap);
			s->tweight = repalloc_huge(s->tweight, sizeof(double) * cap);
		}
		s->tcapacity = cap;
	}
	for (i = 0; i < bag->n; i++)
	{
		s->tbucket[s->tnnz] = bag->bucket[i];
		s->tweight[s->tnnz] = bag->count[i];
		s->tnnz++;
	}
}

static int
int32_cmp(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* Is any present dense value of a row negative?  (naive Bayes) */
static bool
negative_feature(const FeatureLayout *l, const double *x, const bool *missing, int *bad_col)
{
	int			i;

	for (i = 0; i < l->ncols; i++)
	{
		int			len = l->is_text[i] ? 0 : l->is_array[i] ? l->dims[i] : 1;
		int			j;

		for (j = 0; j < len; j++)
			if (!missing[l->offsets[i] + j] && x[l->offsets[i] + j] < 0.0)
			{
				*bad_col = i;
				return true;
			}
	}
	return false;
}

/* Pass 1's state: a bag for each row and the document frequencies */
typedef struct IdfScan
{
	const FeatureLayout *layout;
	SparseRow  *r;
	int32	   *df;				/* buckets */
	int64		n;				/* rows */
	int			used;			/* buckets with df > 0 */
} IdfScan;

static void
idf_row(Datum *values, bool *nulls, void *arg)
{
	IdfScan    *st = (IdfScan *) arg;
	TermBag    *bag = &st->r->bag;
	int			i;

	termbag_reset(bag);
	for (i = 0; i < st->layout->ncols; i++)
		if (st->layout->is_text[i] && !nulls[i])
			textfeat_add(&st->r->text, values[i], bag);
	termbag_finish(bag);
	for (i = 0; i < bag->n; i++)
		if (st->df[bag->bucket[i]]++ == 0)
			st->used++;
	st->n++;
}

/*
 * Pass 1: document frequencies of the buckets over every row of the table,
 * into v's idf arrays.
 */
static void
compute_idf(const HitlModel *model, const FeatureLayout *layout, SparseRow *r,
			HitlVersion *v)
{
	StringInfoData sql;
	IdfScan		st = {layout, r, NULL, 0, 0};
	int			used = 0;
	int			b;

	st.df = palloc_extended(sizeof(int32) * model->buckets, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s FROM %s t",
					 features_select_list(model, "t"), model->source_text);
	dataset_scan(dataset_open_cursor(sql.data), idf_row, &st);

	v->n_documents = st.n;
	v->n_idf = st.used;
	v->idf_buckets = palloc_extended(sizeof(int32) * Max(st.used, 1), MCXT_ALLOC_HUGE);
	v->idf = palloc_extended(sizeof(double) * Max(st.used, 1), MCXT_ALLOC_HUGE);
	for (b = 0; b < model->buckets; b++)
		if (st.df[b] > 0)
		{
			v->idf_buckets[used] = b;
			v->idf[used] = tfidf_idf(st.n, st.df[b]);
			used++;
		}
	pfree(st.df);
}

/*
 * The label_snapshot of a version: the snapshot the current command reads
 * with, as pg_snapshot text, saying which label log entries of the model the
 * version includes.  The current transaction's own entries are visible to
 * the command but not to a snapshot taken later elsewhere, and entries it
 * may still write would carry the same transaction id: so when it has
 * written entries of the model there is no snapshot that tells (NULL: the
 * next incremental update trains from scratch), and otherwise its id is
 * listed as running, for whatever it writes after.
 */
static char *
label_snapshot(const HitlModel *model, MemoryContext cxt)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	bool		isnull;
	Datum		d;
	int			ret;

	args[0] = CStringGetTextDatum(model->name);
	ret = SPI_execute_with_args(
								"WITH s AS (SELECT pg_current_snapshot() AS snap,"
								" pg_current_xact_id_if_assigned() AS me)"
								" SELECT CASE"
								" WHEN me IS NOT NULL AND EXISTS (SELECT 1 FROM hitl.label_log l"
								"  WHERE l.model = $1 AND l.txid = me) THEN NULL"
								" WHEN me IS NULL OR NOT pg_visible_in_snapshot(me, snap) THEN snap::text"
								" ELSE pg_snapshot_xmin(snap)::text || ':' || pg_snapshot_xmax(snap)::text"
								"  || ':' || (SELECT string_agg(x::text, ',' ORDER BY x::text::int8)"
								"  FROM (SELECT pg_snapshot_xip(snap) AS x UNION ALL SELECT me) AS u)"
								" END FROM s",
								1, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "hitl: reading the snapshot failed: %s", SPI_result_code_string(ret));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? NULL : MemoryContextStrdup(cxt, TextDatumGetCString(d));
}

/* Pass 2's state */
typedef struct LabeledScan
{
	const HitlModel *model;
	const FeatureLayout *layout;
	SparseRow  *r;
	SparseSet  *s;
	MemoryContext cxt;			/* where the set lives */
	bool		nbayes;
} LabeledScan;

/* One labeled row: ctid, the feature columns, the label as text */
static void
labeled_row(Datum *values, bool *nulls, void *arg)
{
	LabeledScan *st = (LabeledScan *) arg;
	const FeatureLayout *layout = st->layout;
	SparseSet  *s = st->s;
	FeatureStatus fs;
	MemoryContext rowcxt;
	int			bad_col;
	double	   *x;
	bool	   *missing;
	char	   *label;

	if (s->n == s->capacity)
		set_grow_rows(s);		/* repalloc: stays in the set's context */
	x = s->x + (size_t) s->n * s->d;
	missing = s->missing + (size_t) s->n * s->d;
	fs = features_from_datums(layout, values + 1, nulls + 1, x, missing, &bad_col);
	if (fs == FEATURE_OK && st->nbayes && negative_feature(layout, x, missing, &bad_col))
		fs = FEATURE_NEGATIVE;
	if (fs != FEATURE_OK)
		features_report(st->model, layout, fs, bad_col,
						catalog_row_key_text(st->model, DatumGetItemPointer(values[0])));
	if (layout->n_text > 0)
		sparserow_text(st->r, values + 1, nulls + 1);
	label = TextDatumGetCString(values[layout->ncols + 1]);
	rowcxt = MemoryContextSwitchTo(st->cxt);
	s->y[s->n] = train_class_of(&s->labels, label, st->cxt);
	if (layout->n_text > 0)
		set_add_terms(s, &st->r->bag);
	s->n++;
	s->tptr[s->n] = s->tnnz;
	MemoryContextSwitchTo(rowcxt);
}

/*
 * Pass 2: the labeled rows in primary-key order, dense values raw and text
 * weighted with v's idf.
 */
static void
read_labeled(const HitlModel *model, const FeatureLayout *layout, SparseRow *r,
			 SparseSet *s)
{
	LabeledScan st = {model, layout, r, s, CurrentMemoryContext, model_is_nbayes(model)};

	memset(s, 0, sizeof(*s));
	s->d = layout->d;
	set_grow_rows(s);
	dataset_scan(dataset_open_labeled(model), labeled_row, &st);
	train_order_classes(model, &s->labels, s->n, s->y);
}

/* The buckets the labeled rows use, ascending, into v's vocabulary */
static void
build_vocabulary(const HitlModel *model, const SparseSet *s, HitlVersion *v)
{
	bool	   *used = palloc_extended(sizeof(bool) * Max(model->buckets, 1),
									   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	int64		i;
	int			m = 0;
	int			b;

	for (i = 0; i < s->tnnz; i++)
		if (!used[s->tbucket[i]])
		{
			used[s->tbucket[i]] = true;
			m++;
		}
	v->n_vocabulary = m;
	v->vocabulary = palloc_extended(sizeof(int32) * Max(m, 1), MCXT_ALLOC_HUGE);
	m = 0;
	for (b = 0; b < model->buckets; b++)
		if (used[b])
			v->vocabulary[m++] = b;
	pfree(used);
}

/*
 * The rows as a CSR matrix over positions: dense features first (all of
 * them, standardized, for logistic; the non-zero raw values for naive
 * Bayes), then the vocabulary's buckets.
 */
static void
build_matrix(const SparseSet *s, const HitlVersion *v, bool nb, SparseMatrix *X,
			 int64 **indptr_out, int **indices_out, double **values_out)
{
	int64		cap = (int64) s->n * s->d + s->tnnz;
	int64	   *indptr = palloc_extended(sizeof(int64) * (s->n + 1), MCXT_ALLOC_HUGE);
	int		   *indices = palloc_extended(sizeof(int) * Max(cap, 1), MCXT_ALLOC_HUGE);
	double	   *values = palloc_extended(sizeof(double) * Max(cap, 1), MCXT_ALLOC_HUGE);
	int64		nnz = 0;
	int			i;

	indptr[0] = 0;
	for (i = 0; i < s->n; i++)
	{
		const double *x = s->x + (size_t) i * s->d;
		int64		t;
		int			j;

		for (j = 0; j < s->d; j++)
		{
			if (nb && x[j] == 0.0)
				continue;
			indices[nnz] = j;
			values[nnz] = x[j];
			nnz++;
		}
		for (t = s->tptr[i]; t < s->tptr[i + 1]; t++)
		{
			indices[nnz] = s->d + sparserow_position(v->vocabulary, v->n_vocabulary,
													 s->tbucket[t]);
			values[nnz] = s->tweight[t];
			nnz++;
		}
		indptr[i + 1] = nnz;
	}
	X->n = s->n;
	X->d = s->d + v->n_vocabulary;
	X->indptr = indptr;
	X->indices = indices;
	X->values = values;
	*indptr_out = indptr;
	*indices_out = indices;
	*values_out = values;
}

/* Naive Bayes prediction tables from dense counts */
static void
nb_build(const HitlModel *model, const FeatureLayout *layout, const NBayesCounts *c,
		 NBayesModel *nb)
{
	int64	   *index;
	double	   *count;
	int64		n = nbayes_counts_nonzeros(c, &index, &count);

	if (nbayes_model_build(nb, c->k, c->m, c->class_count, n, index, count, model->alpha,
						   predictor_nb_dimension(model, layout)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("the naive Bayes statistics of model \"%s\" are invalid", model->name),
				 errdetail("A class has no rows, a sum is negative, or alpha is not above 0.")));
	pfree(index);
	pfree(count);
}

/* Out-of-fold metrics of naive Bayes: counts minus each fold's rows */
static bool
nb_crossval(const HitlModel *model, const FeatureLayout *layout, const SparseMatrix *X,
			const int *y, const NBayesCounts *all, ClassMetrics *out)
{
	int			folds = model->cv_folds;
	int			k = all->k;
	double	   *proba = palloc_extended(sizeof(double) * (size_t) X->n * k, MCXT_ALLOC_HUGE);
	NBayesCounts c;
	int			fold;
	int			i;

	nbayes_counts_init(&c, k, all->m);
	for (fold = 0; fold < folds; fold++)
	{
		NBayesModel nb;

		memcpy(c.class_count, all->class_count, sizeof(double) * k);
		memcpy(c.feature_count, all->feature_count, sizeof(double) * (size_t) k * all->m);
		for (i = fold; i < X->n; i += folds)
			nbayes_counts_add(&c, y[i], (int) (X->indptr[i + 1] - X->indptr[i]),
							  X->indices + X->indptr[i], X->values + X->indptr[i], -1.0);
		for (i = 0; i < k; i++)
			if (c.class_count[i] < 0.5)
			{
				nbayes_counts_free(&c);
				return false;	/* a class only in this fold */
			}
		nb_build(model, layout, &c, &nb);
		for (i = fold; i < X->n; i += folds)
		{
			int64		a = X->indptr[i];
			int64		e;
			double		mass = 0.0;

			for (e = a; e < X->indptr[i + 1]; e++)
				mass += X->values[e];
			nbayes_predict_proba(&nb, (int) (X->indptr[i + 1] - a), X->indices + a,
								 X->values + a, mass, proba + (size_t) i * k);
		}
		nbayes_model_free(&nb);
		CHECK_FOR_INTERRUPTS();
	}
	nbayes_counts_free(&c);
	class_metrics(X->n, k, proba, y, out);
	return true;
}

/* Out-of-fold metrics of logistic regression, each fold warm-started */
static bool
logistic_crossval(const HitlModel *model, const SparseLogregProblem *full,
				  const double *coef, ClassMetrics *out)
{
	int			folds = model->cv_folds;
	int			n = full->x.n;
	int			k = full->k;
	int			ncoef = logreg_ncoef(full->x.d, k);
	double	   *proba = palloc_extended(sizeof(double) * (size_t) n * k, MCXT_ALLOC_HUGE);
	double	   *fold_coef = palloc_extended(sizeof(double) * ncoef, MCXT_ALLOC_HUGE);
	int		   *rows = palloc_extended(sizeof(int) * n, MCXT_ALLOC_HUGE);
	int			fold;
	int			i;

	for (fold = 0; fold < folds; fold++)
	{
		SparseLogregProblem p = *full;
		LogregStatus st;
		int			nrows = 0;

		for (i = 0; i < n; i++)
			if (i % folds != fold)
				rows[nrows++] = i;
		p.rows = rows;
		p.nrows = nrows;
		memcpy(fold_coef, coef, sizeof(double) * ncoef);
		st = sparse_logreg_fit(&p, fold_coef, 1, NULL);
		if (st != LOGREG_OK && st != LOGREG_NOT_CONVERGED)
			return false;
		for (i = fold; i < n; i += folds)
		{
			int64		a = full->x.indptr[i];

			sparse_logreg_predict_proba(full->x.d, k, fold_coef,
										(int) (full->x.indptr[i + 1] - a),
										full->x.indices + a, full->x.values + a,
										proba + (size_t) i * k);
		}
	}
	class_metrics(n, k, proba, full->y, out);
	pfree(proba);
	pfree(fold_coef);
	pfree(rows);
	return true;
}

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
	int			i;
	int			c;

	if (prev == NULL)
		return false;
	if (prev->n_classes != v->n_classes || prev->d != v->d || prev->coef == NULL ||
		prev->vocabulary == NULL)
		return false;
	for (i = 0; i < v->n_classes; i++)
		if (strcmp(prev->classes[i], v->classes[i]) != 0)
			return false;
	dold = prev->d + prev->n_vocabulary;
	for (c = 0; c < nvec; c++)
	{
		const double *from = prev->coef + (size_t) c * (dold + 1);
		double	   *to = coef + (size_t) c * (dnew + 1);

		memcpy(to, from, sizeof(double) * v->d);
		for (i = 0; i < prev->n_vocabulary; i++)
		{
			int			p = sparserow_position(v->vocabulary, v->n_vocabulary,
											   prev->vocabulary[i]);

			if (p >= 0)
				to[v->d + p] = from[prev->d + i];
		}
		to[dnew] = from[dold];
	}
	return true;
}

/*
 * A hash of everything a full training learns from: the labeled rows'
 * sparse features, their labels and classes, the idf of the table (which
 * scoring uses too) and the options of the fit.
 */
static char *
sparse_training_hash(const HitlModel *model, const HitlVersion *v, const SparseMatrix *X,
					 const int64 *indptr, const int *indices, const double *values,
					 const int *y)
{
	uint64		h = 0x73706172;	/* any seed */
	int64		shape[4] = {X->n, X->d, v->n_classes, v->n_documents};
	int			i;

	h = train_hash_more(h, shape, sizeof(shape));
	h = train_hash_more(h, indptr, sizeof(int64) * ((size_t) X->n + 1));
	h = train_hash_more(h, indices, sizeof(int) * (size_t) indptr[X->n]);
	h = train_hash_more(h, values, sizeof(double) * (size_t) indptr[X->n]);
	h = train_hash_more(h, y, sizeof(int) * (size_t) X->n);
	for (i = 0; i < v->n_classes; i++)
		h = train_hash_more(h, v->classes[i], strlen(v->classes[i]) + 1);
	h = train_hash_more(h, v->feature_dims, sizeof(int) * v->n_feature_columns);
	h = train_hash_more(h, v->vocabulary, sizeof(int32) * v->n_vocabulary);
	if (v->n_idf > 0)
	{
		h = train_hash_more(h, v->idf_buckets, sizeof(int32) * v->n_idf);
		h = train_hash_more(h, v->idf, sizeof(double) * v->n_idf);
	}
	h = train_hash_more(h, v->means, sizeof(double) * v->d);
	h = train_hash_more(h, v->scales, sizeof(double) * v->d);
	h = train_hash_more(h, &model->C, sizeof(double));
	h = train_hash_more(h, &model->max_iter, sizeof(int));
	h = train_hash_more(h, &model->tol, sizeof(double));
	h = train_hash_more(h, &model->cv_folds, sizeof(int));
	return psprintf("%016llx", (unsigned long long) h);
}

/*
 * Naive Bayes adds up each feature per class: refuse (22000, naming the
 * column and the class) a dense feature whose sum went beyond the range of
 * double precision, before the statistics are used.  Text weights are at
 * most 1 and cannot overflow.
 */
static void
nb_check_sums(const HitlModel *model, const FeatureLayout *layout, const NBayesCounts *c,
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

/* Metrics common to both algorithms */
static void
metrics_begin(StringInfo buf, const HitlVersion *v, int64 nnz, bool incremental)
{
	initStringInfo(buf);
	appendStringInfoChar(buf, '{');
	train_json_number(buf, "n_labeled", v->n_labeled);
	train_json_number(buf, "n_classes", v->n_classes);
	train_json_number(buf, "n_features", v->d + v->n_vocabulary);
	train_json_number(buf, "n_dense_features", v->d);
	train_json_number(buf, "vocabulary", v->n_vocabulary);
	train_json_number(buf, "n_documents", (double) v->n_documents);
	if (nnz >= 0)
		train_json_number(buf, "nnz", (double) nnz);
	appendStringInfo(buf, ", \"incremental\": %s", incremental ? "true" : "false");
}

static void
metrics_add(StringInfo buf, const char *prefix, const ClassMetrics *m)
{
	char		key[64];

	snprintf(key, sizeof(key), "%s_accuracy", prefix);
	train_json_number(buf, key, m->accuracy);
	snprintf(key, sizeof(key), "%s_macro_f1", prefix);
	train_json_number(buf, key, m->macro_f1);
	snprintf(key, sizeof(key), "%s_log_loss", prefix);
	train_json_number(buf, key, m->log_loss);
}

/*
 * Drop from v's vocabulary the buckets no class has a count for any more
 * (the rows that had them lost their labels), renumbering count_index: the
 * vocabulary of a full training is the buckets of the labeled rows.
 */
static void
compact_vocabulary(HitlVersion *v)
{
	int			k = v->n_classes;
	int		   *renumber = palloc(sizeof(int) * Max(v->n_vocabulary, 1));
	int			m = 0;
	int64		i;
	int			j;

	for (j = 0; j < v->n_vocabulary; j++)
		renumber[j] = -1;
	for (i = 0; i < v->n_counts; i++)
	{
		int64		pos = v->count_index[i] / k;

		if (pos >= v->d)
			renumber[pos - v->d] = 0;
	}
	for (j = 0; j < v->n_vocabulary; j++)
		if (renumber[j] == 0)
		{
			renumber[j] = m;
			v->vocabulary[m++] = v->vocabulary[j];
		}
	for (i = 0; i < v->n_counts; i++)
	{
		int64		pos = v->count_index[i] / k;

		if (pos >= v->d)
			v->count_index[i] = (v->d + renumber[pos - v->d]) * (int64) k +
				v->count_index[i] % k;
	}
	v->n_vocabulary = m;
	pfree(renumber);
}

/* Store the non-zero counts in v */
static void
nb_store_counts(HitlVersion *v, const NBayesCounts *c)
{
	int64	   *index;
	double	   *count;

	v->n_counts = nbayes_counts_nonzeros(c, &index, &count);
	v->count_index = index;
	v->counts = count;
	v->class_counts = c->class_count;
}

/*
 * Train from scratch.
 */
static int
train_full(HitlModel *model, FeatureLayout *layout, const HitlVersion *prev,
		   instr_time start)
{
	bool		nb = model_is_nbayes(model);
	HitlVersion v;
	SparseRow	r;
	SparseSet	s;
	SparseMatrix X;
	int64	   *indptr;
	int		   *indices;
	double	   *values;
	double	   *proba;
	ClassMetrics train_metrics;
	ClassMetrics cv_metrics;
	bool		have_cv = false;
	bool		do_cv;
	StringInfoData metrics;
	instr_time	duration;
	char	   *hash;
	int64		e;
	int			i;

	memset(&v, 0, sizeof(v));
	sparserow_init(&r, model, layout, &v);
	if (layout->n_text > 0)
		compute_idf(model, layout, &r, &v);
	if (nb)
		v.label_snapshot = label_snapshot(model, CurrentMemoryContext);
	read_labeled(model, layout, &r, &s);
	train_check_labels(model, s.n, &s.labels);

	v.n_labeled = s.n;
	v.n_classes = s.labels.n_classes;
	v.classes = s.labels.classes;
	v.n_feature_columns = layout->ncols;
	v.feature_dims = layout->dims;
	v.d = s.d;
	v.feature_names = features_names(model, layout);
	v.means = palloc0(sizeof(double) * Max(s.d, 1));
	v.scales = palloc(sizeof(double) * Max(s.d, 1));
	for (i = 0; i < s.d; i++)
		v.scales[i] = 1.0;
	build_vocabulary(model, &s, &v);
	if (!nb)
	{
		/* logistic standardizes the dense features, as the dense model does */
		scaler_fit(s.n, s.d, s.x, s.missing, v.means, v.scales);
		scaler_apply(s.n, s.d, s.x, s.missing, v.means, v.scales);
	}
	else
		for (e = 0; e < (int64) s.n * s.d; e++)
			if (s.missing[e])
				s.x[e] = 0.0;
	build_matrix(&s, &v, nb, &X, &indptr, &indices, &values);
	pfree(s.x);
	pfree(s.missing);

	/* nothing new to learn from: the current version stands */
	hash = sparse_training_hash(model, &v, &X, indptr, indices, values, s.y);
	if (prev != NULL)
	{
		/*
		 * Naive Bayes keeps a version the next incremental updates can
		 * start from: one with a label snapshot, trained after any restore
		 * of the log.  Otherwise this training records a new one, unless it
		 * could not do better (it runs in a labeling transaction too, and
		 * gets no snapshot either).
		 */
		bool		reusable;

		if (!nb)
			reusable = true;
		else if (prev->label_snapshot != NULL)
			reusable = !restored_since(model, prev);
		else
			reusable = v.label_snapshot == NULL;
		if (reusable && prev->data_hash != NULL && strcmp(prev->data_hash, hash) == 0)
			return model->current_version;
	}
	if (s.tbucket != NULL)
	{
		pfree(s.tbucket);
		pfree(s.tweight);
	}

	proba = palloc_extended(sizeof(double) * (size_t) s.n * v.n_classes, MCXT_ALLOC_HUGE);
	do_cv = model->cv_folds >= 2 && s.n >= 2 * model->cv_folds;
	if (nb)
	{
		NBayesCounts c;
		NBayesModel m;

		if ((int64) v.n_classes * X.d > HITL_MAX_SPARSE_COEFFICIENTS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("model \"%s\" has too many statistics", model->name),
					 errdetail("%d classes and %d features give %lld sums; the limit is %d.",
							   v.n_classes, X.d, (long long) v.n_classes * X.d,
							   HITL_MAX_SPARSE_COEFFICIENTS),
					 errhint("Lower the buckets option, or use fewer classes.")));
		nbayes_counts_init(&c, v.n_classes, X.d);
		for (i = 0; i < X.n; i++)
			nbayes_counts_add(&c, s.y[i], (int) (indptr[i + 1] - indptr[i]),
							  indices + indptr[i], values + indptr[i], 1.0);
		nb_check_sums(model, layout, &c, v.classes);
		nb_build(model, layout, &c, &m);
		for (i = 0; i < X.n; i++)
		{
			int64		e;
			double		mass = 0.0;

			for (e = indptr[i]; e < indptr[i + 1]; e++)
				mass += values[e];
			nbayes_predict_proba(&m, (int) (indptr[i + 1] - indptr[i]), indices + indptr[i],
								 values + indptr[i], mass, proba + (size_t) i * v.n_classes);
		}
		class_metrics(X.n, v.n_classes, proba, s.y, &train_metrics);
		if (do_cv)
			have_cv = nb_crossval(model, layout, &X, s.y, &c, &cv_metrics);
		nb_store_counts(&v, &c);
		metrics_begin(&metrics, &v, indptr[X.n], false);
		train_json_number(&metrics, "alpha", model->alpha);
	}
	else
	{
		SparseLogregProblem p;
		LogregResult res;
		LogregStatus st;
		int64		ncoef = logreg_ncoef(X.d, v.n_classes);
		bool		warm;

		if (ncoef > HITL_MAX_SPARSE_COEFFICIENTS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("model \"%s\" has too many coefficients", model->name),
					 errdetail("%d classes and %d features give %lld coefficients; the limit is %d.",
							   v.n_classes, X.d, (long long) ncoef,
							   HITL_MAX_SPARSE_COEFFICIENTS),
					 errhint("Lower the buckets option, or use fewer classes.")));
		v.coef = palloc_extended(sizeof(double) * ncoef, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		warm = warm_start(prev, &v, v.coef);
		memset(&p, 0, sizeof(p));
		p.x = X;
		p.k = v.n_classes;
		p.y = s.y;
		p.C = model->C;
		p.max_iter = model->max_iter;
		p.tol = model->tol;
		st = sparse_logreg_fit(&p, v.coef, warm, &res);
		if (st == LOGREG_NOT_CONVERGED)
			ereport(WARNING,
					(errmsg("model \"%s\" did not converge in %d iterations",
							model->name, res.iterations),
					 errhint("Raise the max_iter option or loosen tol; the version is recorded anyway.")));
		else if (st != LOGREG_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("training model \"%s\" failed: %s", model->name,
							logreg_status_message(st))));
		for (i = 0; i < X.n; i++)
			sparse_logreg_predict_proba(X.d, v.n_classes, v.coef,
										(int) (indptr[i + 1] - indptr[i]),
										indices + indptr[i], values + indptr[i],
										proba + (size_t) i * v.n_classes);
		class_metrics(X.n, v.n_classes, proba, s.y, &train_metrics);
		if (do_cv)
			have_cv = logistic_crossval(model, &p, v.coef, &cv_metrics);
		metrics_begin(&metrics, &v, indptr[X.n], false);
		train_json_number(&metrics, "iterations", res.iterations);
		appendStringInfo(&metrics, ", \"converged\": %s, \"warm_start\": %s",
						 res.converged ? "true" : "false", warm ? "true" : "false");
		train_json_number(&metrics, "objective", res.objective);
	}
	metrics_add(&metrics, "train", &train_metrics);
	if (have_cv)
	{
		train_json_number(&metrics, "cv_folds", model->cv_folds);
		metrics_add(&metrics, "cv", &cv_metrics);
	}
	appendStringInfo(&metrics, ", \"data_hash\": \"%s\"}", hash);

	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	return catalog_store_version(model, &v, metrics.data, INSTR_TIME_GET_MILLISEC(duration));
}

/* A label log entry not yet in the statistics */
typedef struct LabelChange
{
	int			old_class;		/* -1: none (the row was unlabeled) */
	int			new_class;		/* -1: none (the label was cleared) */
	int			row;			/* index of its row among those fetched */
} LabelChange;

/* Class index of a label among the version's classes, or -1 */
static int
class_index(const HitlVersion *v, const char *label)
{
	int			i;

	for (i = 0; i < v->n_classes; i++)
		if (strcmp(v->classes[i], label) == 0)
			return i;
	return -1;
}

/*
 * Are the classes of version prev still values of the model's label type?
 * A renamed enum value leaves every row of its class under a new label
 * without a log entry: the update would fall back anyway (a class the
 * version does not know), but the user learns here why the model is
 * trained from scratch.
 */
static bool
classes_still_labels(const HitlModel *model, const HitlVersion *prev)
{
	const char *missing = label_missing_class(model->source, model->label_column,
											  prev->n_classes, prev->classes);

	if (missing == NULL)
		return true;
	ereport(WARNING,
			(errmsg("class \"%s\" of model \"%s\" is no longer a value of its label type",
					missing, model->name),
			 errdetail("The label type changed since version %d (ALTER TYPE ... RENAME VALUE?).",
					   prev->version),
			 errhint("The model is trained from scratch.")));
	return false;
}

/*
 * Were label log entries of the model restored (pg_restore, or rows
 * inserted by hand) after version prev was trained?  Restored entries carry
 * no transaction id (hitl._restore_label_log) and count as included in
 * every version; a version that did not include them, such as one restored
 * with them, must not be updated from the log.  Its label snapshot comes
 * from the other cluster: it is trusted only when it shows the restoring
 * transaction committed, and was trained after the restore started.  The
 * last restore of any model's entries counts too (the row of the empty
 * name): a model whose own log was empty was restored from the same dump.
 */
static bool
restored_since(const HitlModel *model, const HitlVersion *prev)
{
	Oid			argtypes[3] = {TEXTOID, TEXTOID, INT4OID};
	Datum		args[3];
	bool		isnull;
	int			ret;

	/* hitl.restored_logs came with 0.2.0: no restore is recorded before */
	if (!OidIsValid(get_relname_relid("restored_logs", get_namespace_oid(HITL_SCHEMA, false))))
		return false;
	args[0] = CStringGetTextDatum(model->name);
	args[1] = CStringGetTextDatum(prev->label_snapshot);
	args[2] = Int32GetDatum(prev->version);
	ret = SPI_execute_with_args("SELECT EXISTS (SELECT 1 FROM hitl.restored_logs r"
								" JOIN hitl.model_versions v ON v.model = r.model"
								" WHERE r.model IN ($1, '') AND v.version = $3"
								" AND (NOT pg_catalog.pg_visible_in_snapshot(r.txid, $2::pg_catalog.pg_snapshot)"
								" OR v.trained_at < r.restored_at))",
								3, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "hitl: reading the restores of the label log failed: %s",
			 SPI_result_code_string(ret));
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Apply the label changes since version prev to its statistics and record
 * the result.  Returns the new version, prev's number when there was no
 * change, or 0 when an incremental update cannot give what a full training
 * would (the caller then trains from scratch).
 */
static int
train_incremental(HitlModel *model, FeatureLayout *layout, const HitlVersion *prev,
				  instr_time start)
{
	HitlVersion v;
	char	   *snapshot;
	int			nchanges;
	LabelChange *changes;
	Datum	   *keys;
	StringInfoData sql;
	Oid			argtypes[3] = {TEXTOID, TEXTOID, INT4OID};
	Datum		args[3];
	int64	   *table_counts;
	bool		labelnull;
	Oid			keytypes[1] = {JSONBARRAYOID};
	Datum		keyarg[1];
	char	   *match;
	bool		isnull;
	SparseRow	r;
	int		   *row_nnz;
	int		  **row_idx;		/* text buckets, then dense features */
	double	  **row_val;
	int		   *row_ndense;
	bool	   *row_found;
	int32	   *vocab;
	int			m_text;
	NBayesCounts c;
	StringInfoData metrics;
	instr_time	duration;
	int			nrows;
	int			ret;
	int			i;
	int			j;

	if (model->current_version == 0)
		return 0;
	if (prev == NULL || prev->label_snapshot == NULL || prev->class_counts == NULL ||
		prev->d != layout->d || (layout->n_text > 0) != (prev->idf_buckets != NULL))
		return 0;
	if (!classes_still_labels(model, prev) || restored_since(model, prev))
		return 0;

	/*
	 * The labels the table holds now, per class, and its rows: what the
	 * statistics must agree with once the changes are applied.  Rows
	 * inserted or deleted change a text model's idf, and labels can change
	 * without a log entry (TRUNCATE, triggers disabled): then only a full
	 * training gives what a full training gives.
	 */
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT t.%s::text, count(*) FROM %s t GROUP BY 1",
					 quote_identifier(model->label_column), model->source_text);
	ret = SPI_execute(sql.data, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "hitl: counting labels failed: %s", SPI_result_code_string(ret));
	table_counts = palloc0(sizeof(int64) * prev->n_classes);
	{
		int64		rows = 0;
		uint64		g;

		for (g = 0; g < SPI_processed; g++)
		{
			Datum		label = SPI_getbinval(SPI_tuptable->vals[g], SPI_tuptable->tupdesc, 1,
											  &isnull);
			int64		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[g],
														SPI_tuptable->tupdesc, 2, &labelnull));

			rows += n;
			if (isnull)
				continue;
			j = class_index(prev, TextDatumGetCString(label));
			if (j < 0)
				return 0;		/* a new class */
			table_counts[j] = n;
		}
		if (layout->n_text > 0 && rows != prev->n_documents)
			return 0;
	}
	SPI_freetuptable(SPI_tuptable);

	/* a version's snapshot from the future comes from another cluster */
	args[0] = CStringGetTextDatum(prev->label_snapshot);
	ret = SPI_execute_with_args("SELECT pg_snapshot_xmax($1::pg_snapshot)"
								" > pg_snapshot_xmax(pg_current_snapshot())",
								1, argtypes + 1, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "hitl: comparing snapshots failed: %s", SPI_result_code_string(ret));
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		return 0;

	/* the changes the version does not include (more than its labels: retrain) */
	snapshot = label_snapshot(model, CurrentMemoryContext);
	args[0] = CStringGetTextDatum(model->name);
	args[1] = CStringGetTextDatum(prev->label_snapshot);
	args[2] = Int32GetDatum(prev->n_labeled + 1);
	ret = SPI_execute_with_args(
								"SELECT l.row_key, l.old_label, l.new_label FROM hitl.label_log l"
								" WHERE l.model = $1 AND l.txid IS NOT NULL"
								" AND NOT pg_visible_in_snapshot(l.txid, $2::pg_snapshot)"
								" ORDER BY l.id LIMIT $3",
								3, argtypes, args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "hitl: reading the label log failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
	{
		for (i = 0; i < prev->n_classes; i++)
			if ((int64) (prev->class_counts[i] + 0.5) != table_counts[i])
				return 0;		/* labels changed that the log does not show */
		return prev->version;	/* nothing new */
	}
	nchanges = (int) SPI_processed;
	if (nchanges > prev->n_labeled)
		return 0;				/* cheaper, and the idf gets refreshed */
	changes = palloc(sizeof(LabelChange) * nchanges);
	keys = palloc(sizeof(Datum) * nchanges);
	for (i = 0; i < nchanges; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Datum		d;

		keys[i] = datumCopy(SPI_getbinval(tup, desc, 1, &isnull), false, -1);
		d = SPI_getbinval(tup, desc, 2, &isnull);
		changes[i].old_class = isnull ? -1 : class_index(prev, TextDatumGetCString(d));
		if (!isnull && changes[i].old_class < 0)
			return 0;
		d = SPI_getbinval(tup, desc, 3, &isnull);
		changes[i].new_class = isnull ? -1 : class_index(prev, TextDatumGetCString(d));
		if (!isnull && changes[i].new_class < 0)
			return 0;			/* a new class: the classes must be reordered */
		changes[i].row = i;
	}
	SPI_freetuptable(SPI_tuptable);

	/* the rows of the changes, as they are now (they may repeat) */
	{
		Oid			matchtypes[2] = {OIDOID, TEXTARRAYOID};
		Datum		matchargs[2];
		Datum	   *names = palloc(sizeof(Datum) * model->n_key_columns);

		for (j = 0; j < model->n_key_columns; j++)
			names[j] = CStringGetTextDatum(model->key_columns[j]);
		matchargs[0] = ObjectIdGetDatum(model->source);
		matchargs[1] = PointerGetDatum(construct_array(names, model->n_key_columns, TEXTOID,
													   -1, false, TYPALIGN_INT));
		ret = SPI_execute_with_args("SELECT hitl._key_match($1::regclass, $2::name[], 't', 'k.key')",
									2, matchtypes, matchargs, NULL, true, 1);
	}
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "hitl: building the key match failed");
	match = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											  1, &isnull));
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT k.ord::int4 - 1, %s FROM unnest($1) WITH ORDINALITY AS k(key, ord)"
					 " JOIN %s t ON %s",
					 features_select_list(model, "t"), model->source_text, match);
	keyarg[0] = PointerGetDatum(construct_array(keys, nchanges, JSONBOID, -1, false,
												TYPALIGN_INT));
	ret = SPI_execute_with_args(sql.data, 1, keytypes, keyarg, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "hitl: reading the changed rows failed: %s", SPI_result_code_string(ret));

	sparserow_init(&r, model, layout, prev);
	row_nnz = palloc0(sizeof(int) * nchanges);
	row_ndense = palloc0(sizeof(int) * nchanges);
	row_idx = palloc0(sizeof(int *) * nchanges);
	row_val = palloc0(sizeof(double *) * nchanges);
	row_found = palloc0(sizeof(bool) * nchanges);
	nrows = (int) SPI_processed;
	{
		Datum	   *values = palloc(sizeof(Datum) * (layout->ncols + 1));
		bool	   *nulls = palloc(sizeof(bool) * (layout->ncols + 1));
		SPITupleTable *tt = SPI_tuptable;

		for (i = 0; i < nrows; i++)
		{
			int			at;
			int			bad_col;
			FeatureStatus st;

			heap_deform_tuple(tt->vals[i], tt->tupdesc, values, nulls);
			at = DatumGetInt32(values[0]);
			/* the dense part through the converter; the text by bucket */
			st = features_from_datums(layout, values + 1, nulls + 1, r.x, r.missing, &bad_col);
			if (st == FEATURE_OK && negative_feature(layout, r.x, r.missing, &bad_col))
				st = FEATURE_NEGATIVE;
			if (st != FEATURE_OK)
				features_report(model, layout, st, bad_col, "changed since the last training");
			if (layout->n_text > 0)
				sparserow_text(&r, values + 1, nulls + 1);
			else
				r.bag.n = 0;
			row_ndense[at] = layout->d;
			row_nnz[at] = layout->d + r.bag.n;
			row_idx[at] = palloc(sizeof(int) * Max(row_nnz[at], 1));
			row_val[at] = palloc(sizeof(double) * Max(row_nnz[at], 1));
			for (j = 0; j < layout->d; j++)
			{
				row_idx[at][j] = j;
				row_val[at][j] = r.missing[j] ? 0.0 : r.x[j];
			}
			for (j = 0; j < r.bag.n; j++)
			{
				row_idx[at][layout->d + j] = r.bag.bucket[j];
				row_val[at][layout->d + j] = r.bag.count[j];
			}
			row_found[at] = true;
			CHECK_FOR_INTERRUPTS();
		}
		SPI_freetuptable(tt);
	}
	for (i = 0; i < nchanges; i++)
		if (!row_found[i])
			return 0;			/* the row is gone: its statistics are unknown */

	/* the vocabulary grows by the buckets of the changed rows */
	{
		int			cap = prev->n_vocabulary;

		for (i = 0; i < nchanges; i++)
			cap += row_nnz[i] - row_ndense[i];
		vocab = palloc(sizeof(int32) * Max(cap, 1));
		memcpy(vocab, prev->vocabulary, sizeof(int32) * prev->n_vocabulary);
		m_text = prev->n_vocabulary;
		for (i = 0; i < nchanges; i++)
			for (j = row_ndense[i]; j < row_nnz[i]; j++)
				if (sparserow_position(prev->vocabulary, prev->n_vocabulary, row_idx[i][j]) < 0)
					vocab[m_text++] = row_idx[i][j];
		if (m_text > prev->n_vocabulary)
		{
			int			out = 0;

			qsort(vocab, m_text, sizeof(int32), int32_cmp);
			for (i = 0; i < m_text; i++)
				if (out == 0 || vocab[out - 1] != vocab[i])
					vocab[out++] = vocab[i];
			m_text = out;
		}
	}

	/* the statistics on the new positions */
	if ((int64) prev->n_classes * (layout->d + m_text) > HITL_MAX_SPARSE_COEFFICIENTS)
		return 0;				/* the full training raises the error */
	nbayes_counts_init(&c, prev->n_classes, layout->d + m_text);
	memcpy(c.class_count, prev->class_counts, sizeof(double) * prev->n_classes);
	for (i = 0; i < prev->n_counts; i++)
	{
		int			pos = (int) (prev->count_index[i] / prev->n_classes);
		int			cls = (int) (prev->count_index[i] % prev->n_classes);

		if (pos >= prev->d)
			pos = prev->d + sparserow_position(vocab, m_text,
											   prev->vocabulary[pos - prev->d]);
		c.feature_count[(size_t) cls * c.m + pos] = prev->counts[i];
	}
	for (i = 0; i < nchanges; i++)
	{
		LabelChange *ch = &changes[i];
		int			n = row_nnz[ch->row];
		int		   *idx = row_idx[ch->row];

		for (j = row_ndense[ch->row]; j < n; j++)
			idx[j] = layout->d + sparserow_position(vocab, m_text, idx[j]);
		row_ndense[ch->row] = n;	/* mapped: never again */
		if (ch->old_class >= 0)
			nbayes_counts_add(&c, ch->old_class, n, idx, row_val[ch->row], -1.0);
		if (ch->new_class >= 0)
			nbayes_counts_add(&c, ch->new_class, n, idx, row_val[ch->row], 1.0);
	}
	nb_check_sums(model, layout, &c, prev->classes);
	for (i = 0; i < c.k; i++)
	{
		if (c.class_count[i] < 0.5)
			return 0;			/* a class without rows: the classes change */
		if ((int64) (c.class_count[i] + 0.5) != table_counts[i])
			return 0;			/* labels changed that the log does not show */
	}
	if (!nbayes_counts_nonnegative(&c))
		return 0;				/* a row's features changed since it was added */

	memset(&v, 0, sizeof(v));
	v.n_classes = prev->n_classes;
	v.classes = prev->classes;
	v.n_feature_columns = prev->n_feature_columns;
	v.feature_dims = prev->feature_dims;
	v.d = prev->d;
	v.feature_names = prev->feature_names;
	v.means = prev->means;
	v.scales = prev->scales;
	v.n_idf = prev->n_idf;
	v.idf_buckets = prev->idf_buckets;
	v.idf = prev->idf;
	v.n_documents = prev->n_documents;
	v.n_vocabulary = m_text;
	v.vocabulary = vocab;
	v.label_snapshot = snapshot;
	nb_store_counts(&v, &c);
	compact_vocabulary(&v);
	for (i = 0; i < c.k; i++)
		v.n_labeled += (int) (c.class_count[i] + 0.5);

	metrics_begin(&metrics, &v, -1, true);
	train_json_number(&metrics, "alpha", model->alpha);
	train_json_number(&metrics, "changes", nchanges);
	train_json_number(&metrics, "base_version", prev->version);
	appendStringInfoChar(&metrics, '}');
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	return catalog_store_version(model, &v, metrics.data, INSTR_TIME_GET_MILLISEC(duration));
}

int
train_sparse_model(HitlModel *model, FeatureLayout *layout, bool incremental)
{
	instr_time	start;
	HitlVersion *prev;
	int			version = 0;

	INSTR_TIME_SET_CURRENT(start);
	/* the current version, loaded (and checked) once for both paths */
	prev = train_load_current(model, CurrentMemoryContext);
	if (incremental && model_is_nbayes(model))
		version = train_incremental(model, layout, prev, start);
	if (version == 0)
		version = train_full(model, layout, prev, start);
	return version;
}
