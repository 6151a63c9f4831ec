/*
 * nbayes_update.c
 *		Naive Bayes statistics following label changes (see nbayes.h).
 *
 * An incremental update must give what a full training on the same table
 * gives.  Its arithmetic is here, apart from the SQL that finds the
 * changes, so that it is unit-tested as plain C: sums loaded onto new
 * positions, a row subtracted from its old class and added to its new
 * one, and the checks that tell an update that cannot be trusted (a class
 * emptied, rows per class that do not add up, a negative sum: a row whose
 * features changed after it was counted).
 *
 * Plain C, no PostgreSQL types; see numeric_alloc.h for allocation.
 */
#include "nbayes.h"
#include "numeric_alloc.h"

/*
 * Copy the class rows, then put each stored sum at its class and its
 * (mapped) position; every other sum stays zero.
 */
void
nbayes_counts_load(NBayesCounts *c, const double *class_count, int64_t n,
				   const int64_t *index, const double *count, const int *map)
{
	int64_t		i;
	int			cls;

	for (cls = 0; cls < c->k; cls++)
		c->class_count[cls] = class_count[cls];
	for (i = 0; i < n; i++)
	{
		int64_t		pos = index[i] / c->k;

		cls = (int) (index[i] % c->k);
		if (map != NULL)
			pos = map[pos];
		c->feature_count[(size_t) cls * c->m + pos] = count[i];
	}
}

/* Subtract the row from its old class, add it to its new one */
void
nbayes_counts_change(NBayesCounts *c, const NBayesChange *ch)
{
	if (ch->old_class >= 0)
		nbayes_counts_add(c, ch->old_class, ch->nnz, ch->idx, ch->val, -1.0);
	if (ch->new_class >= 0)
		nbayes_counts_add(c, ch->new_class, ch->nnz, ch->idx, ch->val, 1.0);
}

/*
 * Row counts are whole numbers held as doubles: they are compared rounded,
 * a class below one half having no row left.
 */
NBayesCheck
nbayes_counts_check(const NBayesCounts *c, const int64_t *class_rows)
{
	int			cls;

	for (cls = 0; cls < c->k; cls++)
	{
		if (c->class_count[cls] < 0.5)
			return NBAYES_CHECK_CLASS_EMPTIED;
		if ((int64_t) (c->class_count[cls] + 0.5) != class_rows[cls])
			return NBAYES_CHECK_ROWS_DIFFER;
	}
	if (!nbayes_counts_nonnegative(c))
		return NBAYES_CHECK_NEGATIVE_SUM;
	return NBAYES_CHECK_OK;
}
