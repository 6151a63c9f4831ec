/*
 * sparserow.c
 *		Rows of sparse models as sparse vectors (see sparserow.h).
 */
#include "postgres.h"

#include "scaler.h"
#include "sparserow.h"
#include "termcache.h"
#include "tfidf.h"
#include "vocab.h"

/* Tables of positions by bucket: at most 4 bytes x 2^22 buckets each */
#define SPARSEROW_MAX_TABLE_BUCKETS (1 << 22)

static int32 *position_table(SparseRow *r, const int32 *list, int n);
static inline int position_of(const int32 *table, const int32 *list, int n, int bucket);

/* A table of each bucket's position in list[0..n-1] (ascending), or NULL */
static int32 *
position_table(SparseRow *r, const int32 *list, int n)
{
	int			buckets = r->model->buckets;
	int32	   *table;
	int			i;

	if (buckets < 1 || buckets > SPARSEROW_MAX_TABLE_BUCKETS)
		return NULL;
	table = MemoryContextAlloc(r->cxt, sizeof(int32) * buckets);
	memset(table, 0xff, sizeof(int32) * buckets);	/* -1 */
	for (i = 0; i < n; i++)
		if (list[i] >= 0 && list[i] < buckets)
			table[list[i]] = i;
	return table;
}

/* The position of a bucket in list, through its table when there is one */
static inline int
position_of(const int32 *table, const int32 *list, int n, int bucket)
{
	if (table != NULL)
		return table[bucket];
	return vocab_position(list, n, bucket);
}

void
sparserow_init(SparseRow *r, const HitlModel *model, const FeatureLayout *layout,
			   const HitlVersion *version)
{
	memset(r, 0, sizeof(*r));
	r->cxt = CurrentMemoryContext;
	r->model = model;
	r->layout = layout;
	r->version = version;
	r->nbayes = model_is_nbayes(model);
	r->cache_null = true;
	if (layout->n_text > 0)
	{
		textfeat_options(model, &r->text);
		r->fingerprint = termcache_fingerprint(&r->text);
		r->texts = palloc(sizeof(Datum) * layout->n_text);
		r->text_nulls = palloc(sizeof(bool) * layout->n_text);
	}
	r->x = palloc(sizeof(double) * Max(layout->d, 1));
	r->missing = palloc(sizeof(bool) * Max(layout->d, 1));
	/* the bag's arrays live here: repalloc keeps them in this context */
	r->bag.capacity = 256;
	r->bag.bucket = palloc(sizeof(int) * r->bag.capacity);
	r->bag.count = palloc(sizeof(double) * r->bag.capacity);
	r->capacity = layout->d + 256;
	r->idx = palloc(sizeof(int) * r->capacity);
	r->val = palloc(sizeof(double) * r->capacity);
}

/* Look for a negative value among the present dense values of a row */
bool
sparserow_negative(const FeatureLayout *layout, const double *x, const bool *missing,
				   int *bad_col)
{
	int			i;

	for (i = 0; i < layout->ncols; i++)
	{
		int			len = layout->is_text[i] ? 0 : layout->is_array[i] ? layout->dims[i] : 1;
		int			j;

		for (j = 0; j < len; j++)
			if (!missing[layout->offsets[i] + j] && x[layout->offsets[i] + j] < 0.0)
			{
				*bad_col = i;
				return true;
			}
	}
	return false;
}

void
sparserow_bag(SparseRow *r, const Datum *values, const bool *isnull)
{
	int			n = 0;
	int			i;

	for (i = 0; i < r->layout->ncols; i++)
		if (r->layout->is_text[i])
		{
			r->texts[n] = values[i];
			r->text_nulls[n] = isnull[i];
			n++;
		}
	if (!r->cache_null &&
		termcache_decode(r->cache, r->fingerprint,
						 termcache_text_hash(&r->text, n, r->texts, r->text_nulls),
						 r->text.buckets, &r->bag))
	{
		r->cache_null = true;
		r->cache_hits++;
		return;
	}
	r->cache_null = true;
	r->cache_misses++;
	termbag_reset(&r->bag);
	for (i = 0; i < n; i++)
		if (!r->text_nulls[i])
			textfeat_add(&r->text, r->texts[i], &r->bag);
	termbag_finish(&r->bag);
}

void
sparserow_text(SparseRow *r, const Datum *values, const bool *isnull)
{
	const HitlVersion *v = r->version;
	double		unseen = tfidf_idf(v->n_documents, 0);
	int			i;

	sparserow_bag(r, values, isnull);
	if (r->idf_of == NULL)
		r->idf_of = position_table(r, v->idf_buckets, v->n_idf);
	for (i = 0; i < r->bag.n; i++)
	{
		int			p = position_of(r->idf_of, v->idf_buckets, v->n_idf, r->bag.bucket[i]);

		r->bag.count[i] = tfidf_tf(r->bag.count[i]) * (p >= 0 ? v->idf[p] : unseen);
	}
	tfidf_normalise(r->bag.n, r->bag.count);
}

static void
ensure_capacity(SparseRow *r, int n)
{
	if (n <= r->capacity)
		return;
	while (r->capacity < n)
		r->capacity *= 2;
	r->idx = repalloc(r->idx, sizeof(int) * r->capacity);
	r->val = repalloc(r->val, sizeof(double) * r->capacity);
}

FeatureStatus
sparserow_convert(SparseRow *r, const Datum *values, const bool *isnull, int *bad_col)
{
	const HitlVersion *v = r->version;
	const FeatureLayout *l = r->layout;
	FeatureStatus st;
	int			d = l->d;
	int			i;

	st = features_from_datums(l, values, isnull, r->x, r->missing, bad_col);
	if (st != FEATURE_OK)
		return st;
	r->nnz = 0;
	r->mass = 0.0;
	if (r->nbayes)
	{
		if (sparserow_negative(l, r->x, r->missing, bad_col))
			return FEATURE_NEGATIVE;
		ensure_capacity(r, d);
		for (i = 0; i < d; i++)
		{
			double		x = r->missing[i] ? 0.0 : r->x[i];

			if (x != 0.0)
			{
				r->idx[r->nnz] = i;
				r->val[r->nnz] = x;
				r->nnz++;
				r->mass += x;
			}
		}
	}
	else
	{
		scaler_apply(1, d, r->x, r->missing, v->means, v->scales);
		ensure_capacity(r, d);
		for (i = 0; i < d; i++)
		{
			r->idx[i] = i;
			r->val[i] = r->x[i];
		}
		r->nnz = d;
	}

	if (l->n_text > 0)
	{
		sparserow_text(r, values, isnull);
		if (r->vocab_of == NULL)
			r->vocab_of = position_table(r, v->vocabulary, v->n_vocabulary);
		ensure_capacity(r, r->nnz + r->bag.n);
		for (i = 0; i < r->bag.n; i++)
		{
			int			p = position_of(r->vocab_of, v->vocabulary, v->n_vocabulary,
										r->bag.bucket[i]);

			r->mass += r->bag.count[i];
			if (p < 0)
				continue;
			r->idx[r->nnz] = d + p;
			r->val[r->nnz] = r->bag.count[i];
			r->nnz++;
		}
	}
	return FEATURE_OK;
}
