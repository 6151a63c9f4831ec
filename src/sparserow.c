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
static void map_ensure(SparseRow *r, bool with_vocab);
static inline const BucketSlot *map_find(const BucketSlot *map, uint32 mask, int shift,
										 int32 bucket);
static inline double tf_of(const double *tf, double count);
static inline double tf_of_whole(const double *tf, int32 count);
static int row_texts(SparseRow *r, const Datum *values, const bool *isnull);
static void scratch_reserve(SparseRow *r);
static bool read_cache(SparseRow *r, int n);
static void parse_texts(SparseRow *r, int n);
static bool bag_terms(SparseRow *r, const Datum *values, const bool *isnull, bool with_vocab);
static pg_attribute_always_inline double weigh_terms(SparseRow *r, int *pos, bool whole);
static double weigh_bag(SparseRow *r, int *pos, bool whole);
static void text_entries(SparseRow *r, double scale);

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

/* The map, with the vocabulary when with_vocab, built when missing */
static void
map_ensure(SparseRow *r, bool with_vocab)
{
	if (r->map == NULL || (with_vocab && !r->map_vocab))
		map_build(r, with_vocab);
}

/*
 * The slot of a bucket in the map (r->map, map_mask, map_shift), or NULL
 * when the version has none.  The loops that call it keep the map's
 * fields in locals: with -fno-strict-aliasing, each store of a term would
 * have them read from r again.
 */
static inline const BucketSlot *
map_find(const BucketSlot *map, uint32 mask, int shift, int32 bucket)
{
	uint32		h = ((uint32) bucket * BUCKET_HASH_MULTIPLIER) >> shift;

	for (;;)
	{
		const BucketSlot *slot = &map[h];

		if (slot->bucket == bucket)
			return slot;
		if (slot->bucket < 0)
			return NULL;
		h = (h + 1) & mask;
	}
}

/* tfidf_tf of a count: from the table (r->tf) when a small whole number */
static inline double
tf_of(const double *tf, double count)
{
	double		a = fabs(count);

	if (a <= SPARSEROW_TF_TABLE && a == (double) (int) a)
		return tf[SPARSEROW_TF_TABLE + (int) count];
	return tfidf_tf(count);
}

/*
 * tf_of of a count known to be a whole number (read from the cache): the
 * same double, without the checks that it is one.  The range test adds in
 * unsigned arithmetic: a count near PG_INT32_MAX does not overflow.
 */
static inline double
tf_of_whole(const double *tf, int32 count)
{
	if ((uint32) count + SPARSEROW_TF_TABLE <= 2 * SPARSEROW_TF_TABLE)
		return tf[SPARSEROW_TF_TABLE + count];
	return tfidf_tf((double) count);
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
	/* a negative count's tf is minus its absolute value's, as tfidf_tf's */
	r->tf = palloc(sizeof(double) * (2 * SPARSEROW_TF_TABLE + 1));
	for (i = -SPARSEROW_TF_TABLE; i <= SPARSEROW_TF_TABLE; i++)
		r->tf[SPARSEROW_TF_TABLE + i] = i < 0 ? -tfidf_tf((double) -i) : tfidf_tf((double) i);
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

/* The row's text columns into r->texts and r->text_nulls; returns how many */
static int
row_texts(SparseRow *r, const Datum *values, const bool *isnull)
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
	return n;
}

/* Room in bag_pos and bag_whole for as many terms as the bag holds */
static void
scratch_reserve(SparseRow *r)
{
	if (r->bag.capacity <= r->bag_scratch_capacity)
		return;
	r->bag_scratch_capacity = r->bag.capacity;
	if (r->bag_pos != NULL)
	{
		pfree(r->bag_pos);
		pfree(r->bag_whole);
	}
	r->bag_pos = MemoryContextAlloc(r->cxt, sizeof(int) * r->bag_scratch_capacity);
	r->bag_whole = MemoryContextAlloc(r->cxt, sizeof(int32) * r->bag_scratch_capacity);
}

/*
 * The cached terms of the row (its n texts in r->texts), when they match:
 * the buckets into r->bag, the counts into r->bag_whole (r->bag.count is
 * left as it was).  The map is built: each term's slot is fetched into
 * the cache while the next entries are decoded and the text is hashed,
 * so that weigh_terms finds it there; hence the hash last.
 */
static bool
read_cache(SparseRow *r, int n)
{
	TermCacheReader rd;
	int		   *buckets;
	int32	   *counts;
	const BucketSlot *map = r->map;
	int			shift = r->map_shift;
	int			i;

	if (!termcache_open(r->cache, r->fingerprint, r->text.buckets, &rd))
		return false;
	termbag_reserve(&r->bag, rd.n);
	scratch_reserve(r);
	buckets = r->bag.bucket;
	counts = r->bag_whole;
	for (i = 0; i < rd.n; i++)
	{
		int32		bucket;
		int32		count;

		if (!termcache_next(&rd, &bucket, &count))
			return false;
		buckets[i] = bucket;
		counts[i] = count;
#ifdef __GNUC__
		__builtin_prefetch(&map[((uint32) bucket * BUCKET_HASH_MULTIPLIER) >> shift]);
#endif
	}
	if (!termcache_done(&rd) ||
		termcache_text_hash(&r->text, n, r->texts, r->text_nulls) != rd.text_hash)
		return false;
	r->bag.n = rd.n;
	return true;
}

/* Parse the row's n texts (r->texts) into r->bag: buckets and counts */
static void
parse_texts(SparseRow *r, int n)
{
	int			i;

	termbag_reset(&r->bag);
	for (i = 0; i < n; i++)
		if (!r->text_nulls[i])
			textfeat_add(&r->text, r->texts[i], &r->bag);
	termbag_finish(&r->bag);
}

void
sparserow_bag(SparseRow *r, const Datum *values, const bool *isnull)
{
	int			n = row_texts(r, values, isnull);

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
	parse_texts(r, n);
}

/*
 * The terms of a row's text, as sparserow_bag's, for weigh_bag: returns
 * true when they were read from the cache, their counts in r->bag_whole,
 * false when parsed, their counts in r->bag.count.  bag_pos and bag_whole
 * have room for them, and the map (with the vocabulary when with_vocab)
 * is built.
 */
static bool
bag_terms(SparseRow *r, const Datum *values, const bool *isnull, bool with_vocab)
{
	int			n = row_texts(r, values, isnull);
	bool		hit;

	map_ensure(r, with_vocab);
	hit = !r->cache_null && read_cache(r, n);
	r->cache_null = true;
	if (hit)
	{
		r->cache_hits++;
		return true;
	}
	r->cache_misses++;
	parse_texts(r, n);
	scratch_reserve(r);
	return false;
}

/*
 * The loop of weigh_bag, made twice: for counts read from the cache and
 * for parsed ones.  Each term's weight into r->bag.count, its vocabulary
 * position into pos; returns the sum of the weights' squares, added in
 * the order of the terms as tfidf_normalise adds them.
 */
static pg_attribute_always_inline double
weigh_terms(SparseRow *r, int *pos, bool whole)
{
	const BucketSlot *map = r->map;
	uint32		mask = r->map_mask;
	int			shift = r->map_shift;
	double		unseen_idf = r->unseen_idf;
	const double *tf = r->tf;
	const int  *buckets = r->bag.bucket;
	const int32 *counts = r->bag_whole;
	double	   *weights = r->bag.count;
	int			n = r->bag.n;
	double		ss = 0.0;
	int			i;

	for (i = 0; i < n; i++)
	{
		const BucketSlot *slot = map_find(map, mask, shift, buckets[i]);
		double		w;

		w = (whole ? tf_of_whole(tf, counts[i]) : tf_of(tf, weights[i])) *
			(slot != NULL ? slot->idf : unseen_idf);
		weights[i] = w;
		if (pos != NULL)
			pos[i] = slot != NULL ? slot->vocab : -1;
		ss += w * w;
	}
	return ss;
}

/*
 * Weigh the terms of r->bag (bag_terms') with tf and the version's idf;
 * with pos, each term's position in the vocabulary (-1: none) too.
 * Returns the factor that normalises them (tfidf_normalise's), which the
 * caller applies in its own pass over the terms: one pass fewer.
 */
static double
weigh_bag(SparseRow *r, int *pos, bool whole)
{
	double		ss;

	if (whole)
		ss = weigh_terms(r, pos, true);
	else
	{
#ifdef __GNUC__
		int			i;

		/* the terms' slots are far apart: have their memory read at once */
		for (i = 0; i < r->bag.n; i++)
			__builtin_prefetch(&r->map[((uint32) r->bag.bucket[i] * BUCKET_HASH_MULTIPLIER) >>
									   r->map_shift]);
#endif
		ss = weigh_terms(r, pos, false);
	}
	return tfidf_scale(ss);
}

void
sparserow_text(SparseRow *r, const Datum *values, const bool *isnull)
{
	bool		whole = bag_terms(r, values, isnull, false);
	double		scale = weigh_bag(r, NULL, whole);
	int			i;

	for (i = 0; i < r->bag.n; i++)
		r->bag.count[i] *= scale;
}

/*
 * The weighed terms of r->bag (weigh_bag's, with their vocabulary
 * positions in bag_pos) after the d dense features of r->idx and r->val:
 * each weight normalised (times scale) where it is copied, added to the
 * row's mass, and kept when in the vocabulary, its parameters fetched
 * (param_base).  The fields are read into locals once: a store through a
 * pointer would have them read again.
 */
static void
text_entries(SparseRow *r, double scale)
{
	const int  *pos = r->bag_pos;
	double	   *weights = r->bag.count;
	int		   *idx = r->idx;
	double	   *val = r->val;
	const char *param_base = r->param_base;
	Size		stride = r->param_stride;
	int			d = r->layout->d;
	int			n = r->bag.n;
	int			nnz = r->nnz;
	double		mass = r->mass;
	int			i;

	for (i = 0; i < n; i++)
	{
		int			p = pos[i];
		double		w = weights[i] * scale;

		weights[i] = w;
		mass += w;
		if (p < 0)
			continue;
#ifdef __GNUC__
		if (param_base != NULL)
		{
			const char *param = param_base + (Size) (d + p) * stride;

			__builtin_prefetch(param);
			__builtin_prefetch(param + stride - 1);
		}
#endif
		idx[nnz] = d + p;
		val[nnz] = w;
		nnz++;
	}
	r->nnz = nnz;
	r->mass = mass;
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
		bool		whole = bag_terms(r, values, isnull, true);
		double		scale = weigh_bag(r, r->bag_pos, whole);

		ensure_capacity(r, r->nnz + r->bag.n);
		text_entries(r, scale);
	}
	return FEATURE_OK;
}
