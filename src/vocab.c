/*
 * vocab.c
 *		Vocabulary and positions of sparse models (see vocab.h).
 *
 * Kept apart from the training's SQL and memory contexts so that the
 * position arithmetic, where an off-by-one moves a sum to another bucket
 * without any error, is unit-tested as plain C (test/unit/test_train.c).
 *
 * Plain C, no PostgreSQL types; see numeric_alloc.h for allocation.
 */
#include <stdlib.h>
#include <string.h>

#include "numeric_alloc.h"
#include "vocab.h"

/* Binary search of a bucket in an ascending vocabulary */
int
vocab_position(const int32_t *vocab, int n, int bucket)
{
	int			lo = 0;
	int			hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (vocab[mid] == bucket)
			return mid;
		if (vocab[mid] < bucket)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/*
 * Mark the buckets used in a table of n_buckets flags, then list the
 * marked ones in order: linear in the buckets and the non-zeros, no sort.
 */
int
vocab_build(int n_buckets, int64_t nnz, const int *buckets, int32_t **vocab)
{
	unsigned char *used = hitl_alloc(n_buckets > 0 ? n_buckets : 1);
	int64_t		i;
	int			m = 0;
	int			b;

	for (i = 0; i < nnz; i++)
		if (!used[buckets[i]])
		{
			used[buckets[i]] = 1;
			m++;
		}
	*vocab = hitl_alloc(sizeof(int32_t) * (m > 0 ? m : 1));
	m = 0;
	for (b = 0; b < n_buckets; b++)
		if (used[b])
			(*vocab)[m++] = b;
	hitl_free(used);
	return m;
}

static int
int32_cmp(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a;
	int32_t		y = *(const int32_t *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * The buckets of extra that vocab lacks are appended, then the whole is
 * sorted and its repeats dropped (a changed row's buckets repeat across
 * rows); with nothing new, vocab is copied as it is.
 */
int
vocab_extend(const int32_t *vocab, int n, int n_extra, const int *extra, int32_t **out)
{
	int32_t    *v = hitl_alloc(sizeof(int32_t) * ((size_t) n + n_extra + 1));
	int			m = n;
	int			i;

	memcpy(v, vocab, sizeof(int32_t) * n);
	for (i = 0; i < n_extra; i++)
		if (vocab_position(vocab, n, extra[i]) < 0)
			v[m++] = extra[i];
	if (m > n)
	{
		int			kept = 0;

		qsort(v, m, sizeof(int32_t), int32_cmp);
		for (i = 0; i < m; i++)
			if (kept == 0 || v[kept - 1] != v[i])
				v[kept++] = v[i];
		m = kept;
	}
	*out = v;
	return m;
}

/*
 * Dense positions map to themselves; each bucket of from is looked up in
 * to.
 */
void
vocab_map_positions(int d, const int32_t *from, int n_from, const int32_t *to, int n_to,
					int *map)
{
	int			p;

	for (p = 0; p < d; p++)
		map[p] = p;
	for (p = 0; p < n_from; p++)
	{
		int			at = vocab_position(to, n_to, from[p]);

		map[d + p] = at < 0 ? -1 : d + at;
	}
}

/*
 * A first pass flags the buckets some entry uses, a second numbers them in
 * order (moving them down in vocab), a third rewrites the entries' indexes.
 */
int
vocab_compact(int d, int k, int n, int32_t *vocab, int64_t n_counts, int64_t *count_index)
{
	int		   *renumber = hitl_alloc(sizeof(int) * (n > 0 ? n : 1));
	int			m = 0;
	int64_t		i;
	int			j;

	for (j = 0; j < n; j++)
		renumber[j] = -1;
	for (i = 0; i < n_counts; i++)
	{
		int64_t		pos = count_index[i] / k;

		if (pos >= d)
			renumber[pos - d] = 0;
	}
	for (j = 0; j < n; j++)
		if (renumber[j] == 0)
		{
			renumber[j] = m;
			vocab[m++] = vocab[j];
		}
	for (i = 0; i < n_counts; i++)
	{
		int64_t		pos = count_index[i] / k;

		if (pos >= d)
			count_index[i] = (d + renumber[pos - d]) * (int64_t) k + count_index[i] % k;
	}
	hitl_free(renumber);
	return m;
}

/*
 * Row by row: the dense values (the zeros left out with skip_zero), then
 * the terms, each at d plus its bucket's index in the vocabulary.
 */
int64_t
vocab_csr(const VocabRows *rows, const int32_t *vocab, int m, int skip_zero,
		  int64_t *indptr, int *indices, double *values)
{
	int64_t		nnz = 0;
	int			i;

	indptr[0] = 0;
	for (i = 0; i < rows->n; i++)
	{
		const double *x = rows->x + (size_t) i * rows->d;
		int64_t		t;
		int			j;

		for (j = 0; j < rows->d; j++)
		{
			if (skip_zero && x[j] == 0.0)
				continue;
			indices[nnz] = j;
			values[nnz] = x[j];
			nnz++;
		}
		for (t = rows->tptr[i]; t < rows->tptr[i + 1]; t++)
		{
			indices[nnz] = rows->d + vocab_position(vocab, m, rows->tbucket[t]);
			values[nnz] = rows->tweight[t];
			nnz++;
		}
		indptr[i + 1] = nnz;
	}
	return nnz;
}
