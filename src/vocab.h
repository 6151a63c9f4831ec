/*
 * vocab.h
 *		The vocabulary of a sparse model, and the positions over it.
 *
 * Plain C, no PostgreSQL types.  A vocabulary is an ascending array of
 * distinct text buckets: those that have parameters.  A model's positions
 * are its d dense features, then the vocabulary's buckets (bucket
 * vocab[i] at position d + i).  Naive Bayes sums are indexed by
 * position * k + class.  These are the steps of a training that only move
 * numbers between positions: building the vocabulary from the labeled
 * rows, extending it by the buckets of changed rows, dropping the buckets
 * no sum uses any more, and laying rows out over it as compressed sparse
 * rows.  Arrays returned are allocated with hitl_alloc.
 */
#ifndef HITL_VOCAB_H
#define HITL_VOCAB_H

#include <stdint.h>

/* Index of a bucket in a vocabulary of n buckets, or -1 (binary search) */
extern int	vocab_position(const int32_t *vocab, int n, int bucket);

/*
 * The distinct buckets among the nnz of buckets (each in [0, n_buckets)),
 * ascending, into *vocab.  Returns their number.
 */
extern int	vocab_build(int n_buckets, int64_t nnz, const int *buckets, int32_t **vocab);

/*
 * The n buckets of vocab and the n_extra of extra (in any order, repeats
 * allowed), ascending and distinct, into *out.  Returns their number.
 */
extern int	vocab_extend(const int32_t *vocab, int n, int n_extra, const int *extra,
						 int32_t **out);

/*
 * Where each position over vocabulary from (n_from buckets) lies over
 * vocabulary to (n_to buckets), both after d dense features: map[p] for p
 * in [0, d + n_from); a dense position stays, a bucket not in to gets -1.
 */
extern void vocab_map_positions(int d, const int32_t *from, int n_from,
								const int32_t *to, int n_to, int *map);

/*
 * Drop from vocab (n buckets after d dense positions) the buckets that no
 * entry of count_index (n_counts entries position * k + class) uses, and
 * renumber count_index to the positions that are left.  Returns the new
 * number of buckets; vocab keeps its order.
 */
extern int	vocab_compact(int d, int k, int n, int32_t *vocab, int64_t n_counts,
						  int64_t *count_index);

/*
 * n rows of d raw dense values (x, n x d) and text terms (row i's buckets
 * tbucket[tptr[i] .. tptr[i + 1] - 1] and weights tweight), to be laid out
 * over a vocabulary.
 */
typedef struct VocabRows
{
	int			n;
	int			d;
	const double *x;
	const int64_t *tptr;		/* n + 1 */
	const int  *tbucket;		/* every bucket is in the vocabulary */
	const double *tweight;
} VocabRows;

/*
 * The rows as compressed sparse rows over the positions: the dense values
 * first (all of them, or with skip_zero only those that are not zero), then
 * each term at its bucket's position.  indptr has n + 1 entries; indices
 * and values room for n * d + tptr[n].  Returns the non-zeros.
 */
extern int64_t vocab_csr(const VocabRows *rows, const int32_t *vocab, int m, int skip_zero,
						 int64_t *indptr, int *indices, double *values);

#endif
