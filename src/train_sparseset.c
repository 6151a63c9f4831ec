/*
 * train_sparseset.c
 *		Reading the labeled rows of a text or naive Bayes model as sparse
 *		vectors over the version's positions, for a training from scratch.
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
 * Both sparse kinds (train_text.c, train_nbayes.c) start here; the arithmetic
 * of positions is in vocab.c.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "storage/itemptr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "agg_math.h"
#include "compat.h"
#include "rowkey.h"
#include "spi_check.h"
#include "scaler.h"
#include "sparserow.h"
#include "termcache.h"
#include "tfidf.h"
#include "train.h"
#include "vocab.h"

/* Pass 1's state: a bag for each row and the document frequencies */
typedef struct IdfScan
{
	const FeatureLayout *layout;
	SparseRow  *r;
	int32	   *df;				/* buckets */
	int64		n;				/* rows */
	int			used;			/* buckets with df > 0 */
} IdfScan;

/* Pass 2's state */
typedef struct LabeledScan
{
	const HitlModel *model;
	const FeatureLayout *layout;
	SparseRow  *r;
	SparseSet  *s;
	MemoryContext cxt;			/* where the set lives */
	bool		nbayes;
	bool		weighted;		/* read each row's weight into s->w */
	uint64	   *class_hash;		/* train_nb_rowsum: per class (in the order
								 * met), its rows' hashes added up, else NULL */
	int			hash_capacity;	/* ... classes it has room for */
	double	   *x0;				/* ... and a row's features, NULL as 0 */
} LabeledScan;

static void set_grow_rows(SparseSet *s, bool weighted);
static void set_add_terms(SparseSet *s, const TermBag *bag);
static void idf_row(Datum *values, bool *nulls, void *arg);
static void compute_idf(const HitlModel *model, const FeatureLayout *layout, SparseRow *r,
						HitlVersion *v);
static void labeled_row(Datum *values, bool *nulls, void *arg);
static uint64 *read_labeled(const TrainRun *run, SparseRow *r, SparseSet *s);
static void lay_out(const HitlModel *model, const FeatureLayout *layout, SparseTraining *t);
static char *sparse_training_hash(TrainRun *run, const SparseTraining *t);

/* Room for twice the rows (1024 at first), and their weights when weighted */
static void
set_grow_rows(SparseSet *s, bool weighted)
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
		if (weighted)
			s->w = palloc_extended(sizeof(double) * cap, MCXT_ALLOC_HUGE);
	}
	else
	{
		s->x = repalloc_huge(s->x, sizeof(double) * cap * d);
		s->missing = repalloc_huge(s->missing, sizeof(bool) * cap * d);
		s->y = repalloc_huge(s->y, sizeof(int) * cap);
		s->tptr = repalloc_huge(s->tptr, sizeof(int64) * (cap + 1));
		if (weighted)
			s->w = repalloc_huge(s->w, sizeof(double) * cap);
	}
	s->capacity = cap;
}

/* Append a row's text terms */
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

/* One row of pass 1: its buckets count once each */
static void
idf_row(Datum *values, bool *nulls, void *arg)
{
	IdfScan    *st = (IdfScan *) arg;
	TermBag    *bag = &st->r->bag;
	int			i;

	st->r->cache = values[st->layout->ncols];
	st->r->cache_null = nulls[st->layout->ncols];
	sparserow_bag(st->r, values, nulls);
	for (i = 0; i < bag->n; i++)
		if (st->df[bag->bucket[i]]++ == 0)
			st->used++;
	st->n++;
}

/*
 * In the worker, a text logistic model's retraining takes the current
 * version's idf instead of reading every row again, while the table has as
 * many rows as it was computed over (as an incremental naive Bayes update
 * keeps its idf).  Labels alone do not change the idf; texts edited since
 * do, a little, and the deferred cross-validation that follows (which
 * computes it afresh: train_crossvalidate_current) then finds other data
 * and trains a version with the new idf.  False when the idf must be
 * computed.
 */
static bool
reuse_idf(TrainRun *run, HitlVersion *v)
{
	const HitlVersion *prev = run->prev;
	StringInfoData sql;
	bool		isnull;
	int64		rows;

	if (run->cv_when != TRAIN_CV_DEFER || model_is_nbayes(run->model) || prev == NULL ||
		prev->n_idf == 0 || prev->idf_buckets == NULL || prev->idf == NULL)
		return false;
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT pg_catalog.count(*) FROM %s", run->model->source_text);
	hitl_spi_check(SPI_execute(sql.data, true, 0), SPI_OK_SELECT, "counting the table's rows");
	rows = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (rows != prev->n_documents)
		return false;
	v->n_documents = prev->n_documents;
	v->n_idf = prev->n_idf;
	v->idf_buckets = palloc_extended(sizeof(int32) * prev->n_idf, MCXT_ALLOC_HUGE);
	v->idf = palloc_extended(sizeof(double) * prev->n_idf, MCXT_ALLOC_HUGE);
	memcpy(v->idf_buckets, prev->idf_buckets, sizeof(int32) * prev->n_idf);
	memcpy(v->idf, prev->idf, sizeof(double) * prev->n_idf);
	run->idf_reused = true;
	return true;
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
	appendStringInfo(&sql, "SELECT %s%s FROM %s t",
					 features_select_list(model, "t"), termcache_select(model, "t"),
					 model->source_text);
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
 * One labeled row of pass 2: ctid, the features, the label as text, its
 * group, its key, its weight, its cached terms
 */
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
		set_grow_rows(s, st->weighted); /* repalloc: stays in the set's context */
	x = s->x + (size_t) s->n * s->d;
	missing = s->missing + (size_t) s->n * s->d;
	fs = features_from_datums(layout, values + 1, nulls + 1, x, missing, &bad_col);
	if (fs == FEATURE_OK && st->nbayes && sparserow_negative(layout, x, missing, &bad_col))
		fs = FEATURE_NEGATIVE;
	if (fs != FEATURE_OK)
		features_report(st->model, layout, fs, bad_col,
						rowkey_text_at(st->model, DatumGetItemPointer(values[0])));
	if (layout->n_text > 0)
	{
		int			c = TRAIN_EXTRA_COLUMN(st->model, layout);

		st->r->cache = values[c];
		st->r->cache_null = nulls[c];
		sparserow_text(st->r, values + 1, nulls + 1);
	}
	label = train_label_text(st->model, values[layout->ncols + 1], nulls[layout->ncols + 1]);
	rowcxt = MemoryContextSwitchTo(st->cxt);
	s->y[s->n] = train_class_of(&s->labels, label, st->cxt);
	if (st->model->cv_group_column != NULL)
		train_groups_add(&s->groups, s->n, values[layout->ncols + 2],
						 nulls[layout->ncols + 2], st->cxt);
	train_keys_add(&s->keys, s->n, values[TRAIN_KEY_COLUMN(st->model, layout)], st->cxt);
	if (st->weighted)
		s->w[s->n] = TRAIN_WEIGHT_OF(values[TRAIN_WEIGHT_COLUMN(st->model, layout)],
									 nulls[TRAIN_WEIGHT_COLUMN(st->model, layout)]);
	if (layout->n_text > 0)
		set_add_terms(s, &st->r->bag);
	if (st->class_hash != NULL)
	{
		int			c = TRAIN_EXTRA_COLUMN(st->model, layout) + 1;
		int			cls = s->y[s->n];
		int			j;

		if (cls >= st->hash_capacity)
		{
			st->class_hash = repalloc(st->class_hash, sizeof(uint64) * st->hash_capacity * 2);
			memset(st->class_hash + st->hash_capacity, 0, sizeof(uint64) * st->hash_capacity);
			st->hash_capacity *= 2;
		}
		for (j = 0; j < s->d; j++)
			st->x0[j] = missing[j] ? 0.0 : x[j];
		st->class_hash[cls] += agg_nbsums_row_hash(st->x0, s->d,
												   (uint64) DatumGetInt64(values[c]));
	}
	s->n++;
	s->tptr[s->n] = s->tnnz;
	MemoryContextSwitchTo(rowcxt);
}

/*
 * Pass 2: the labeled rows in primary-key order, dense values raw and text
 * weighted with the version's idf, with the rows' weights when the run is
 * weighted.  Returns, when train_nb_rowsum, the sum of the rows' hashes
 * of each class (in the classes' order), else NULL.
 */
static uint64 *
read_labeled(const TrainRun *run, SparseRow *r, SparseSet *s)
{
	const HitlModel *model = run->model;
	const FeatureLayout *layout = run->layout;
	LabeledScan st = {model, layout, r, s, CurrentMemoryContext, model_is_nbayes(model),
	run->weighted, NULL, 0, NULL};
	char	   *extra = termcache_select(model, "t");
	uint64	   *sums = NULL;
	char	  **met;
	int			i;

	memset(s, 0, sizeof(*s));
	s->d = layout->d;
	set_grow_rows(s, run->weighted);
	if (train_nb_rowsum(run))
	{
		st.hash_capacity = 16;
		st.class_hash = palloc0(sizeof(uint64) * st.hash_capacity);
		st.x0 = palloc(sizeof(double) * Max(layout->d, 1));
		extra = psprintf("%s, %s", extra, train_row_seed_sql(model, "t"));
	}
	dataset_scan(dataset_open_labeled_with(model, extra, run->weighted), labeled_row, &st);
	termcache_note(r->cache_hits, r->cache_misses);
	/* the classes in the order met, to carry their hash sums into the order given */
	met = palloc(sizeof(char *) * Max(s->labels.n_classes, 1));
	memcpy(met, s->labels.classes, sizeof(char *) * s->labels.n_classes);
	train_order_classes(model, &s->labels, s->n, s->y);
	if (st.class_hash != NULL)
	{
		sums = palloc0(sizeof(uint64) * Max(s->labels.n_classes, 1));
		for (i = 0; i < s->labels.n_classes; i++)
		{
			int			old;

			for (old = 0; met[old] != s->labels.classes[i]; old++)
				;
			sums[i] = st.class_hash[old];
		}
	}
	return sums;
}

/*
 * The version's features and vocabulary, and the rows as a CSR matrix over
 * its positions: dense features first (all of them, standardized, for
 * logistic; the non-zero raw values for naive Bayes, a NULL being 0), then
 * the vocabulary's buckets.
 */
static void
lay_out(const HitlModel *model, const FeatureLayout *layout, SparseTraining *t)
{
	bool		nb = model_is_nbayes(model);
	SparseSet  *s = &t->s;
	HitlVersion *v = &t->v;
	int64		cap = (int64) s->n * s->d + s->tnnz;
	VocabRows	rows;
	int64		e;
	int			i;

	train_version_init(v, model, layout, s->n, &s->labels);
	v->means = palloc0(sizeof(double) * Max(s->d, 1));
	v->scales = palloc(sizeof(double) * Max(s->d, 1));
	for (i = 0; i < s->d; i++)
		v->scales[i] = 1.0;
	v->n_vocabulary = vocab_build(Max(model->buckets, 1), s->tnnz, s->tbucket, &v->vocabulary);
	if (!nb)
	{
		/* logistic standardizes the dense features, as the dense model does */
		scaler_fit(s->n, s->d, s->x, s->missing, v->means, v->scales);
		scaler_apply(s->n, s->d, s->x, s->missing, v->means, v->scales);
	}
	else
		for (e = 0; e < (int64) s->n * s->d; e++)
			if (s->missing[e])
				s->x[e] = 0.0;

	t->indptr = palloc_extended(sizeof(int64) * (s->n + 1), MCXT_ALLOC_HUGE);
	t->indices = palloc_extended(sizeof(int) * Max(cap, 1), MCXT_ALLOC_HUGE);
	t->values = palloc_extended(sizeof(double) * Max(cap, 1), MCXT_ALLOC_HUGE);
	rows.n = s->n;
	rows.d = s->d;
	rows.x = s->x;
	rows.tptr = s->tptr;
	rows.tbucket = s->tbucket;
	rows.tweight = s->tweight;
	(void) vocab_csr(&rows, v->vocabulary, v->n_vocabulary, nb, t->indptr, t->indices,
					 t->values);
	t->X.n = s->n;
	t->X.d = s->d + v->n_vocabulary;
	t->X.indptr = t->indptr;
	t->X.indices = t->indices;
	t->X.values = t->values;
	pfree(s->x);
	pfree(s->missing);
}

/*
 * A hash of everything a full training learns from: the labeled rows'
 * sparse features, their labels, weights and classes, the idf of the table
 * (which scoring uses too) and the options of the fit.
 */
static char *
sparse_training_hash(TrainRun *run, const SparseTraining *t)
{
	const HitlModel *model = run->model;
	const HitlVersion *v = &t->v;
	const SparseMatrix *X = &t->X;
	uint64		h = 0x73706172;	/* any seed */
	int64		shape[4] = {X->n, X->d, v->n_classes, v->n_documents};
	int			i;

	if (train_nb_rowsum(run))
		return train_nb_rowsum_hash(model, v, X->n, t->class_hash);

	h = train_hash_more(h, shape, sizeof(shape));
	h = train_hash_more(h, t->indptr, sizeof(int64) * ((size_t) X->n + 1));
	h = train_hash_more(h, t->indices, sizeof(int) * (size_t) t->indptr[X->n]);
	h = train_hash_more(h, t->values, sizeof(double) * (size_t) t->indptr[X->n]);
	h = train_hash_more(h, t->s.y, sizeof(int) * (size_t) X->n);
	h = train_groups_hash(h, &t->s.groups, X->n);
	h = train_hash_weights(h, run, t->s.w, X->n);
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
	return train_hash_finish(h, model);
}

/*
 * Does the current version stand, having learned from the same data?
 * Naive Bayes keeps a version the next incremental updates can start from:
 * one with a label snapshot, trained after any restore of the log.
 * Otherwise this training records a new one, unless it could not do better
 * (it runs in a labeling transaction too, and gets no snapshot either).
 */
bool
train_sparse_stands(TrainRun *run, bool has_snapshot, const char *hash)
{
	const HitlVersion *prev = run->prev;
	bool		reusable;

	if (prev == NULL)
		return train_stands(run, false);
	if (!model_is_nbayes(run->model))
		reusable = true;
	else if (prev->label_snapshot != NULL)
		reusable = !catalog_restored_since(run->model, prev);
	else
		reusable = !has_snapshot;
	return train_stands(run, reusable && prev->data_hash != NULL &&
						strcmp(prev->data_hash, hash) == 0);
}

/*
 * Read a sparse training's input: the idf (text), the label snapshot (naive
 * Bayes), the labeled rows laid out over their vocabulary, and the hash of
 * it all; false when the current version stands.
 */
bool
train_sparse_read(TrainRun *run, SparseTraining *t)
{
	HitlModel  *model = run->model;
	FeatureLayout *layout = run->layout;
	SparseRow	r;

	memset(t, 0, sizeof(*t));
	sparserow_init(&r, model, layout, &t->v);
	if (layout->n_text > 0 && !reuse_idf(run, &t->v))
		compute_idf(model, layout, &r, &t->v);
	/* weighted sums are no start for an update (train_incremental.c) */
	if (model_is_nbayes(model) && !run->weighted)
		t->v.label_snapshot = catalog_label_snapshot(model, CurrentMemoryContext);
	t->class_hash = read_labeled(run, &r, &t->s);
	train_check_labels(model, t->s.n, &t->s.labels);
	lay_out(model, layout, t);
	t->hash = sparse_training_hash(run, t);
	if (train_sparse_stands(run, t->v.label_snapshot != NULL, t->hash))
		return false;
	if (t->s.tbucket != NULL)
	{
		pfree(t->s.tbucket);
		pfree(t->s.tweight);
	}
	return true;
}

/* Open the metrics common to every sparse version (naive Bayes, text logistic) */
void
train_sparse_metrics(StringInfo buf, const HitlVersion *v, int64 nnz, bool incremental)
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
