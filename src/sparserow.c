/*
 * sparserow.c
 *		Rows of sparse models as sparse vectors (see sparserow.h).
 */
#include "postgres.h"

#include <math.h>

#include "scaler.h"
#include "sparserow.h"
#include "termcache.h"
#include "tfidf.h"

/* A bucket of the version: its idf and its position in the vocabulary */
typedef struct BucketSlot
{
	int32		bucket;			/* -1: an empty slot */
	int32		vocab;			/* -1: not in the vocabulary */
	double		idf;
} BucketSlot;

/* Fibonacci hashing of a bucket number: its top bits spread the buckets */
#define BUCKET_HASH_MULTIPLIER 0x9E3779B1U

static int64 union_size(const int32 *a, int na, const int32 *b, int nb);
static BucketSlot *map_slot(SparseRow *r, int32 bucket);
static void map_build(SparseRow *r, bool with_vocab);
static inline const BucketSlot *map_find(const SparseRow *r, int32 bucket);
static inline double tf_of(const SparseRow *r, double count);
static void weigh_bag(SparseRow *r, int *pos);

/*
 * The number of buckets in two ascending lists together (usually the same
 * ones); their sum when one is not ascending
 */
static int64
union_size(const int32 *a, int na, const int32 *b, int nb)
{
	int64		n = 0;
	int			i = 0;
	int			j = 0;

	while (i < na || j < nb)
	{
		if ((i > 0 && i < na && a[i] <= a[i - 1]) || (j > 0 && j < nb && b[j] <= b[j - 1]))
			return (int64) na + nb;
		if (j == nb || (i < na && a[i] < b[j]))
			i++;
		else if (i == na || b[j] < a[i])
			j++;
		else
		{
			i++;
			j++;
		}
		n++;
	}
	return n;
}

/* The slot of a bucket in the map being built: its own, or an empty one */
static BucketSlot *
map_slot(SparseRow *r, int32 bucket)
{
	uint32		h = ((uint32) bucket * BUCKET_HASH_MULTIPLIER) >> r->map_shift;

	while (r->map[h].bucket >= 0 && r->map[h].bucket != bucket)
		h = (h + 1) & r->map_mask;
	return &r->map[h];
}

/*
 * (Re)build the map of the version's buckets: those of its idf, and with
 * with_vocab those of its vocabulary.  Negative numbers in the lists name
 * no bucket of a row and are left out.
 */
static void
map_build(SparseRow *r, bool with_vocab)
{
	const HitlVersion *v = r->version;
	int64		n = with_vocab ? union_size(v->idf_buckets, v->n_idf, v->vocabulary,
											v->n_vocabulary) : v->n_idf;
	int			bits = 4;
	Size		slots;
	int			i;

	/* at most two thirds full: probes stay short, the map small */
	while (((int64) 1 << bits) < n + n / 2)
		bits++;
	slots = (Size) 1 << bits;
	if (r->map != NULL)
		pfree(r->map);
	r->map = MemoryContextAllocHuge(r->cxt, sizeof(BucketSlot) * slots);
	r->map_mask = (uint32) (slots - 1);
	r->map_shift = 32 - bits;
	r->map_vocab = with_vocab;
	r->unseen_idf = tfidf_idf(v->n_documents, 0);
	for (i = 0; i < (int) slots; i++)
	{
		r->map[i].bucket = -1;
		r->map[i].vocab = -1;
		r->map[i].idf = r->unseen_idf;
	}
	for (i = 0; i < v->n_idf; i++)
		if (v->idf_buckets[i] >= 0)
		{
			BucketSlot *slot = map_slot(r, v->idf_buckets[i]);

			slot->bucket = v->idf_buckets[i];
			slot->idf = v->idf[i];
		}
	for (i = 0; with_vocab && i < v->n_vocabulary; i++)
		if (v->vocabulary[i] >= 0)
		{
			BucketSlot *slot = map_slot(r, v->vocabulary[i]);

			slot->bucket = v->vocabulary[i];
			slot->vocab = i;
		}
}

/* The slot of a bucket in the map, or NULL when the version has none */
static inline const BucketSlot *
map_find(const SparseRow *r, int32 bucket)
{
	uint32		h = ((uint32) bucket * BUCKET_HASH_MULTIPLIER) >> r->map_shift;

	for (;;)
	{
		const BucketSlot *slot = &r->map[h];

		if (slot->bucket == bucket)
			return slot;
		if (slot->bucket < 0)
			return NULL;
		h = (h + 1) & r->map_mask;
	}
}

/* tfidf_tf of a count: from the table when a small whole number */
static inline double
tf_of(const SparseRow *r, double count)
{
	double		a = fabs(count);

	if (a <= SPARSEROW_TF_TABLE && a == (double) (int) a)
		return count < 0.0 ? -r->tf[(int) a] : r->tf[(int) a];
	return tfidf_tf(count);
}

void
sparserow_init(SparseRow *r, const HitlModel *model, const FeatureLayout *layout,
			   const HitlVersion *version)
{
	int			i;

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
	r->tf = palloc(sizeof(double) * (SPARSEROW_TF_TABLE + 1));
	for (i = 0; i <= SPARSEROW_TF_TABLE; i++)
		r->tf[i] = tfidf_tf((double) i);
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

/*
 * Weigh the terms of r->bag with tf and the version's idf, and normalise
 * them; with pos, each term's position in the vocabulary (-1: none) too.
 */
static void
weigh_bag(SparseRow *r, int *pos)
{
	int			i;

	if (r->map == NULL || (pos != NULL && !r->map_vocab))
		map_build(r, pos != NULL);
#ifdef __GNUC__
	/* the terms' slots are far apart: have their memory read at once */
	for (i = 0; i < r->bag.n; i++)
		__builtin_prefetch(&r->map[((uint32) r->bag.bucket[i] * BUCKET_HASH_MULTIPLIER) >>
								   r->map_shift]);
#endif
	for (i = 0; i < r->bag.n; i++)
	{
		const BucketSlot *slot = map_find(r, r->bag.bucket[i]);

		r->bag.count[i] = tf_of(r, r->bag.count[i]) *
			(slot != NULL ? slot->idf : r->unseen_idf);
		if (pos != NULL)
			pos[i] = slot != NULL ? slot->vocab : -1;
	}
	tfidf_normalise(r->bag.n, r->bag.count);
}

void
sparserow_text(SparseRow *r, const Datum *values, const bool *isnull)
{
	sparserow_bag(r, values, isnull);
	weigh_bag(r, NULL);
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
		sparserow_bag(r, values, isnull);
		if (r->bag.n > r->bag_pos_capacity)
		{
			r->bag_pos_capacity = Max(r->bag.capacity, r->bag.n);
			if (r->bag_pos != NULL)
				pfree(r->bag_pos);
			r->bag_pos = MemoryContextAlloc(r->cxt, sizeof(int) * r->bag_pos_capacity);
		}
		weigh_bag(r, r->bag_pos);
		ensure_capacity(r, r->nnz + r->bag.n);
		for (i = 0; i < r->bag.n; i++)
		{
			int			p = r->bag_pos[i];

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
