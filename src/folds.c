/*
 * folds.c
 *		The folds of hitl's cross-validations (see folds.h).
 *
 * Folds assigned by row position (row i in fold i % folds) are only honest
 * when the rows come in random order, and tables rarely do: rows labeled
 * class by class, or a thread's messages one after the other, put a class
 * or a thread in one fold, and the held-out figures say nothing of the
 * unlabeled rows.  Here each class is spread evenly over the folds after a
 * shuffle, and rows that belong together (a customer, a thread, a cluster
 * of near-duplicates) are kept in one fold, so that a model is never
 * tested on a copy of what it learned.
 *
 * The generator is splitmix64, of our own, not random(): the folds, and so
 * the figures, are the same on every platform and server.
 *
 * Plain C, no PostgreSQL types; see numeric_alloc.h for allocation.
 */
#include <stddef.h>
#include <stdlib.h>

#include "folds.h"
#include "numeric_alloc.h"

/* One group of rows: its rows are order[start .. start + size - 1] */
typedef struct FoldGroup
{
	int			start;
	int			size;
	uint64_t	tiebreak;		/* drawn from the seed and the key */
} FoldGroup;

/* qsort()'s context: no reentrant qsort in C99 */
typedef struct RowOrder
{
	int			row;
	bool		isnull;
	uint64_t	key;
} RowOrder;

static int	compare_rows(const void *a, const void *b);
static int	compare_groups(const void *a, const void *b);
static uint64_t mix64(uint64_t z);
static void assign_stratified(int n, int k, const int *y, int nfolds, uint64_t seed, int *fold);
static void assign_groups(int n, int k, const int *y, const uint64_t *group,
						  const bool *group_null, int nfolds, uint64_t seed, int *fold);
static int	best_fold(const RowOrder *rows, const FoldGroup *g, const int *y, int k, int nfolds,
					  const double *target, const double *have, const int *size);

/* splitmix64's finalizer: a bijection of 64-bit values that mixes every bit */
static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

void
folds_rng_init(FoldsRng *rng, uint64_t seed)
{
	rng->state = seed;
}

/* splitmix64: the state advances by the golden ratio, the output is mixed */
uint64_t
folds_rng_next(FoldsRng *rng)
{
	rng->state += UINT64_C(0x9e3779b97f4a7c15);
	return mix64(rng->state);
}

/*
 * A uniform integer below bound: draws in the last incomplete multiple of
 * bound are drawn again, so that every value is equally likely.
 */
uint64_t
folds_rng_below(FoldsRng *rng, uint64_t bound)
{
	uint64_t	limit = UINT64_MAX - UINT64_MAX % bound;
	uint64_t	r;

	do
		r = folds_rng_next(rng);
	while (r >= limit);
	return r % bound;
}

uint64_t
folds_hash_bytes(const void *data, size_t n)
{
	const unsigned char *p = data;
	uint64_t	h = UINT64_C(0xcbf29ce484222325);
	size_t		i;

	for (i = 0; i < n; i++)
	{
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* Rows by group: keyed ones by key, then those of NULL, each in row order */
static int
compare_rows(const void *a, const void *b)
{
	const RowOrder *ra = a;
	const RowOrder *rb = b;

	if (ra->isnull != rb->isnull)
		return ra->isnull ? 1 : -1;
	if (!ra->isnull && ra->key != rb->key)
		return ra->key < rb->key ? -1 : 1;
	return (ra->row > rb->row) - (ra->row < rb->row);
}

/* Groups largest first, then by their tie-break, then by their first row */
static int
compare_groups(const void *a, const void *b)
{
	const FoldGroup *ga = a;
	const FoldGroup *gb = b;

	if (ga->size != gb->size)
		return ga->size > gb->size ? -1 : 1;
	if (ga->tiebreak != gb->tiebreak)
		return ga->tiebreak < gb->tiebreak ? -1 : 1;
	return (ga->start > gb->start) - (ga->start < gb->start);
}

/*
 * Each class's rows, in row order, shuffled (Fisher-Yates) and dealt to the
 * folds in turn; the deal of a class starts where the last one stopped.
 */
static void
assign_stratified(int n, int k, const int *y, int nfolds, uint64_t seed, int *fold)
{
	int		   *rows = hitl_alloc(sizeof(int) * n);
	FoldsRng	rng;
	int			next = 0;
	int			c;

	folds_rng_init(&rng, seed);
	for (c = 0; c < k; c++)
	{
		int			m = 0;
		int			i;

		for (i = 0; i < n; i++)
			if (y[i] == c)
				rows[m++] = i;
		for (i = m - 1; i > 0; i--)
		{
			int			j = (int) folds_rng_below(&rng, (uint64_t) i + 1);
			int			t = rows[i];

			rows[i] = rows[j];
			rows[j] = t;
		}
		for (i = 0; i < m; i++)
		{
			fold[rows[i]] = next;
			next = (next + 1) % nfolds;
		}
		hitl_check_interrupts();
	}
	hitl_free(rows);
}

/*
 * The fold that needs group g most: the largest sum over its rows of
 * target[class] - have[fold][class]; fewer rows, then the lower fold, on
 * ties.
 */
static int
best_fold(const RowOrder *rows, const FoldGroup *g, const int *y, int k, int nfolds,
		  const double *target, const double *have, const int *size)
{
	int			best = 0;
	double		best_need = 0.0;
	int			f;

	for (f = 0; f < nfolds; f++)
	{
		double		need = 0.0;
		int			i;

		for (i = g->start; i < g->start + g->size; i++)
		{
			int			c = y[rows[i].row];

			need += target[c] - have[(size_t) f * k + c];
		}
		if (f == 0 || need > best_need ||
			(need == best_need && size[f] < size[best]))
		{
			best = f;
			best_need = need;
		}
	}
	return best;
}

/*
 * Whole groups, largest first, each into the fold that needs its classes
 * most (best_fold).
 */
static void
assign_groups(int n, int k, const int *y, const uint64_t *group, const bool *group_null,
			  int nfolds, uint64_t seed, int *fold)
{
	RowOrder   *rows = hitl_alloc(sizeof(RowOrder) * n);
	FoldGroup  *groups = hitl_alloc(sizeof(FoldGroup) * n);
	double	   *target = hitl_alloc(sizeof(double) * k);
	double	   *have = hitl_alloc(sizeof(double) * (size_t) nfolds * k);
	int		   *size = hitl_alloc(sizeof(int) * nfolds);
	int			ngroups = 0;
	int			i;
	int			g;

	for (i = 0; i < n; i++)
	{
		rows[i].row = i;
		rows[i].isnull = group_null != NULL && group_null[i];
		rows[i].key = rows[i].isnull ? 0 : group[i];
		target[y[i]] += 1.0 / nfolds;
	}
	qsort(rows, n, sizeof(RowOrder), compare_rows);
	for (i = 0; i < n; i++)
	{
		if (i == 0 || rows[i].isnull || rows[i - 1].isnull || rows[i].key != rows[i - 1].key)
		{
			groups[ngroups].start = i;
			groups[ngroups].size = 0;
			/* a group of NULL has no key: its row stands for it */
			groups[ngroups].tiebreak = mix64(seed ^ (rows[i].isnull ?
													 mix64((uint64_t) rows[i].row) : rows[i].key));
			ngroups++;
		}
		groups[ngroups - 1].size++;
	}
	qsort(groups, ngroups, sizeof(FoldGroup), compare_groups);

	for (g = 0; g < ngroups; g++)
	{
		int			f = best_fold(rows, &groups[g], y, k, nfolds, target, have, size);

		for (i = groups[g].start; i < groups[g].start + groups[g].size; i++)
		{
			fold[rows[i].row] = f;
			have[(size_t) f * k + y[rows[i].row]] += 1.0;
		}
		size[f] += groups[g].size;
		if (g % 1024 == 0)
			hitl_check_interrupts();
	}
	hitl_free(rows);
	hitl_free(groups);
	hitl_free(target);
	hitl_free(have);
	hitl_free(size);
}

/* See folds.h */
int
folds_assign(int n, int k, const int *y, const uint64_t *group, const bool *group_null,
			 int nfolds, uint64_t seed, int *fold)
{
	bool	   *used;
	int			nonempty = 0;
	int			i;

	if (n < 1 || k < 1 || nfolds < 1 || y == NULL || fold == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (y[i] < 0 || y[i] >= k)
			return -1;
	if (group == NULL)
		assign_stratified(n, k, y, nfolds, seed, fold);
	else
		assign_groups(n, k, y, group, group_null, nfolds, seed, fold);

	used = hitl_alloc(sizeof(bool) * nfolds);
	for (i = 0; i < n; i++)
		used[fold[i]] = true;
	for (i = 0; i < nfolds; i++)
		nonempty += used[i] ? 1 : 0;
	hitl_free(used);
	return nonempty;
}
