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
	 * Positions by bucket (-1: none) in the version's idf and vocabulary,
	 * made at the first row that needs them (the version's arrays are
	 * complete by then) when buckets are few enough; else binary searches
	 */
	MemoryContext cxt;			/* where r was prepared */
	int32	   *idf_of;
	int32	   *vocab_of;

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
