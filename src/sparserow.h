/*
 * sparserow.h
 *		A row of a sparse model (text features, naive Bayes) as a sparse
 *		vector over the model's positions.
 *
 * Positions are the d dense features (numbers, booleans, array elements)
 * followed by the text buckets of the version's vocabulary.  Logistic
 * models standardize the dense features (a NULL becomes the mean); naive
 * Bayes takes them as they are (a NULL is 0, a negative value an error).
 * Text columns are hashed into buckets (textfeat.h), weighted by sublinear
 * tf and the version's idf (a bucket no row of the table had at training
 * gets the idf of a term in no document) and L2-normalised over the row's
 * text; buckets outside the vocabulary have no parameter and are dropped,
 * but still count in the row's mass (naive Bayes' denominator).
 */
#ifndef HITL_SPARSEROW_H
#define HITL_SPARSEROW_H

#include "postgres.h"

#include "catalog.h"
#include "dataset.h"
#include "textfeat.h"

/* tf of the counts up to this many is looked up in a table, not computed */
#define SPARSEROW_TF_TABLE 64

typedef struct SparseRow
{
	const HitlModel *model;
	const FeatureLayout *layout;
	const HitlVersion *version;
	bool		nbayes;
	TextOptions text;			/* valid when layout->n_text > 0 */

	/*
	 * The cached term counts of the next row (termcache.h): set cache and
	 * cache_null before converting a row; a conversion leaves cache_null
	 * true.  A value that does not match is parsed again (a miss).
	 */
	uint64		fingerprint;
	Datum		cache;
	bool		cache_null;
	int64		cache_hits;
	int64		cache_misses;
	Datum	   *texts;			/* scratch: the text columns' values */
	bool	   *text_nulls;

	/*
	 * Each bucket of the version (of its idf, and of its vocabulary once
	 * rows are converted): its idf and its position in the vocabulary, in
	 * an open-addressing table of a power of two slots, at most 2/3 full;
	 * made at the first row that needs it (the version's arrays are
	 * complete by then).  A table indexed by bucket would cost a cache
	 * miss per term; this one is small enough to stay in cache.
	 */
	MemoryContext cxt;			/* where r was prepared */
	struct BucketSlot *map;
	uint32		map_mask;
	int			map_shift;
	bool		map_vocab;		/* the vocabulary is in the map */
	double		unseen_idf;		/* of a bucket no row had at training */
	double	   *tf;				/* tf of the counts -SPARSEROW_TF_TABLE ..
								 * SPARSEROW_TF_TABLE, at SPARSEROW_TF_TABLE
								 * + count */
	int		   *bag_pos;		/* scratch: vocabulary position of each term */
	int32	   *bag_whole;		/* scratch: each term's count, read from the
								 * cache as the whole number it is */
	int			bag_scratch_capacity;	/* of bag_pos and bag_whole */

	/*
	 * Where the evaluation that follows a conversion reads the parameters
	 * of a position (optional, set by the caller): position j's at
	 * param_base + j * param_stride.  Each text term's are fetched into
	 * the cache as soon as its position is known, so that they have
	 * arrived when the evaluation reads them.
	 */
	const char *param_base;
	Size		param_stride;

	/* the last row converted */
	TermBag		bag;			/* its text: buckets and weights */
	int			nnz;
	int		   *idx;			/* positions, ascending */
	double	   *val;
	double		mass;			/* sum of all its feature values */

	/* scratch */
	double	   *x;
	bool	   *missing;
	int			capacity;
} SparseRow;

/* Prepare for rows of a model's version (allocates in the current context) */
extern void sparserow_init(SparseRow *r, const HitlModel *model,
						   const FeatureLayout *layout, const HitlVersion *version);

/*
 * The finished bag of a row's text (r->bag: buckets ascending, counts),
 * from its cached counts when they match, else by parsing its text
 */
extern void sparserow_bag(SparseRow *r, const Datum *values, const bool *isnull);

/*
 * The weighted, normalised text terms of a row into r->bag (buckets
 * ascending), using the version's idf.
 */
extern void sparserow_text(SparseRow *r, const Datum *values, const bool *isnull);

/*
 * Convert a row (values/isnull of the feature columns) into r->nnz, r->idx,
 * r->val and r->mass.  Returns FEATURE_OK or what is wrong and in which
 * column.
 */
extern FeatureStatus sparserow_convert(SparseRow *r, const Datum *values,
									   const bool *isnull, int *bad_col);

/*
 * Is a present dense value of a row (x, missing: d values) negative, which
 * naive Bayes refuses?  The column in *bad_col.
 */
extern bool sparserow_negative(const FeatureLayout *layout, const double *x,
							   const bool *missing, int *bad_col);

#endif
