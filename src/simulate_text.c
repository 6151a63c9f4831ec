/*
 * simulate_text.c
 *		Tokenizing a simulation's text columns, with the text search
 *		configuration and hashing of a text model (textfeat.h), and
 *		weighting them as a training does (tfidf.h).
 */
#include "postgres.h"

#include "miscadmin.h"

#include "simulate_text.h"
#include "tfidf.h"

void
simulate_text_rows(SPITupleTable *tt, const int *cols, int ncols, const int *order, int n,
				   const TextOptions *opts, SparseMatrix *out)
{
	TermBag		bag = {0};
	int32	   *df = palloc0(sizeof(int32) * opts->buckets);
	int64	   *indptr = palloc_extended(sizeof(int64) * (n + 1), MCXT_ALLOC_HUGE);
	int64		capacity = 1024;
	int		   *indices = palloc_extended(sizeof(int) * capacity, MCXT_ALLOC_HUGE);
	double	   *values = palloc_extended(sizeof(double) * capacity, MCXT_ALLOC_HUGE);
	int			i,
				c;
	int64		e;

	indptr[0] = 0;
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = tt->vals[order[i]];

		CHECK_FOR_INTERRUPTS();
		termbag_reset(&bag);
		for (c = 0; c < ncols; c++)
		{
			bool		isnull;
			Datum		v = SPI_getbinval(tup, tt->tupdesc, cols[c], &isnull);

			if (!isnull)
				textfeat_add(opts, v, &bag);
		}
		termbag_finish(&bag);
		if (indptr[i] + bag.n > capacity)
		{
			while (indptr[i] + bag.n > capacity)
				capacity *= 2;
			indices = repalloc_huge(indices, sizeof(int) * capacity);
			values = repalloc_huge(values, sizeof(double) * capacity);
		}
		for (c = 0; c < bag.n; c++)
		{
			indices[indptr[i] + c] = bag.bucket[c];
			values[indptr[i] + c] = bag.count[c];
			df[bag.bucket[c]]++;
		}
		indptr[i + 1] = indptr[i] + bag.n;
	}
	for (i = 0; i < n; i++)
	{
		for (e = indptr[i]; e < indptr[i + 1]; e++)
			values[e] = tfidf_tf(values[e]) * tfidf_idf(n, df[indices[e]]);
		tfidf_normalise((int) (indptr[i + 1] - indptr[i]), values + indptr[i]);
	}
	pfree(df);
	out->n = n;
	out->d = opts->buckets;
	out->indptr = (const int64_t *) indptr;
	out->indices = indices;
	out->values = values;
}
