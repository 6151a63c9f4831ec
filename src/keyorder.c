/*
 * keyorder.c
 *		The order of rows by one key column passed by value: a natural merge
 *		sort of their numbers (see keyorder.h).
 *
 * The keys are kept in arrival order; the row numbers are sorted by them.
 * Maximal ascending runs of the arrival order are found in one pass, then
 * merged pairwise until one is left: n - 1 comparisons when the keys came
 * in order, about n log2(runs) otherwise, at most n log2(n).
 */
#include "postgres.h"

#include "miscadmin.h"
#include "parser/parse_oper.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/sortsupport.h"

#include "keyorder.h"

struct KeyOrder
{
	SortSupportData ssup;
	Datum	   *keys;
	int			n;
	int			capacity;
};

KeyOrder *
key_order_begin(const HitlModel *model)
{
	KeyOrder   *ko;
	AttrNumber	att;
	Oid			type;
	int32		typmod;
	Oid			coll;
	Oid			lt;

	if (model->n_key_columns != 1)
		return NULL;
	att = get_attnum(model->source, model->key_columns[0]);
	if (att == InvalidAttrNumber)
		return NULL;
	get_atttypetypmodcoll(model->source, att, &type, &typmod, &coll);
	if (!get_typbyval(type))
		return NULL;
	get_sort_group_operators(type, true, false, false, &lt, NULL, NULL, NULL);
	ko = palloc0(sizeof(KeyOrder));
	ko->ssup.ssup_cxt = CurrentMemoryContext;
	ko->ssup.ssup_collation = coll;
	ko->ssup.ssup_nulls_first = false;
	PrepareSortSupportFromOrderingOp(lt, &ko->ssup);
	ko->capacity = 1024;
	ko->keys = palloc(sizeof(Datum) * ko->capacity);
	return ko;
}

void
key_order_add(KeyOrder *ko, Datum key)
{
	if (ko->n == ko->capacity)
	{
		ko->capacity = (ko->capacity > PG_INT32_MAX / 2) ? PG_INT32_MAX : ko->capacity * 2;
		ko->keys = repalloc_huge(ko->keys, sizeof(Datum) * (Size) ko->capacity);
	}
	ko->keys[ko->n++] = key;
}

int
key_order_count(const KeyOrder *ko)
{
	return ko->n;
}

Datum
key_order_key(const KeyOrder *ko, int i)
{
	return ko->keys[i];
}

/* Compare the keys of rows a and b */
static inline int
key_cmp(const KeyOrder *ko, int a, int b)
{
	return ApplySortComparator(ko->keys[a], false, ko->keys[b], false,
							   (SortSupport) &ko->ssup);
}

/* Merge the sorted runs src[lo, mid) and src[mid, hi) into dst[lo, hi) */
static void
merge_runs(const KeyOrder *ko, const int *src, int *dst, int lo, int mid, int hi)
{
	int			i = lo;
	int			j = mid;
	int			k = lo;

	while (i < mid && j < hi)
		dst[k++] = (key_cmp(ko, src[j], src[i]) < 0) ? src[j++] : src[i++];
	while (i < mid)
		dst[k++] = src[i++];
	while (j < hi)
		dst[k++] = src[j++];
}

bool
key_order_finish(KeyOrder *ko, int *order)
{
	int			n = ko->n;
	int		   *starts;
	int		   *tmp;
	int		   *src;
	int		   *dst;
	int			nruns = 0;
	int			i;

	for (i = 0; i < n; i++)
		order[i] = i;
	if (n < 2)
		return true;
	/* the ascending runs of the arrival order; nruns + 1 bounds */
	starts = palloc_extended(sizeof(int) * ((size_t) n + 1), MCXT_ALLOC_HUGE);
	starts[nruns++] = 0;
	for (i = 1; i < n; i++)
	{
		int			c = key_cmp(ko, i - 1, i);

		if (c == 0)
		{
			pfree(starts);
			return false;
		}
		if (c > 0)
			starts[nruns++] = i;
	}
	starts[nruns] = n;
	if (nruns == 1)
	{
		pfree(starts);
		return true;
	}
	tmp = palloc_extended(sizeof(int) * (size_t) n, MCXT_ALLOC_HUGE);
	src = order;
	dst = tmp;
	while (nruns > 1)
	{
		int			merged = 0;
		int			r;

		CHECK_FOR_INTERRUPTS();
		for (r = 0; r < nruns; r += 2)
		{
			if (r + 1 < nruns)
				merge_runs(ko, src, dst, starts[r], starts[r + 1], starts[r + 2]);
			else
				memcpy(dst + starts[r], src + starts[r],
					   sizeof(int) * (size_t) (starts[r + 1] - starts[r]));
			starts[merged++] = starts[r];
		}
		starts[merged] = n;
		nruns = merged;
		src = (src == order) ? tmp : order;
		dst = (dst == order) ? tmp : order;
	}
	if (src != order)
		memcpy(order, src, sizeof(int) * (size_t) n);
	/* equal keys, adjacent now, in different runs */
	for (i = 1; i < n; i++)
		if (key_cmp(ko, order[i - 1], order[i]) == 0)
			break;
	pfree(tmp);
	pfree(starts);
	return i == n;
}

void
key_order_end(KeyOrder *ko)
{
	pfree(ko->keys);
	pfree(ko);
}
