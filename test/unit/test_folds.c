/*
 * test_folds.c
 *		Unit tests of the folds of a cross-validation (folds.c) and of the
 *		figures computed from out-of-fold predictions (confusion_count,
 *		class_report in metrics.c), printing TAP.
 *
 * The expected values are worked out by hand in the comments.  Exits
 * non-zero when any test fails.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "folds.h"
#include "metrics.h"
#include "tap.h"

/* Rows of class c in fold f, for each (f, c): counts[f * k + c] */
static void
count_folds(int n, int k, const int *y, const int *fold, int nfolds, int *counts)
{
	int			i;

	memset(counts, 0, sizeof(int) * nfolds * k);
	for (i = 0; i < n; i++)
		counts[fold[i] * k + y[i]]++;
}

/* splitmix64 seeded with 0 gives the published sequence, on every platform */
static void
test_rng(void)
{
	FoldsRng	rng;
	uint64_t	a;
	uint64_t	b;
	uint64_t	c;
	bool		below = true;
	int			i;

	folds_rng_init(&rng, 0);
	a = folds_rng_next(&rng);
	b = folds_rng_next(&rng);
	c = folds_rng_next(&rng);
	ok(a == UINT64_C(0xe220a8397b1dcdaf) && b == UINT64_C(0x6e789e6aa1b965f4) &&
	   c == UINT64_C(0x06c45d188009454f),
	   "splitmix64 from seed 0: e220a8397b1dcdaf, 6e789e6aa1b965f4, 06c45d188009454f");
	for (i = 0; i < 1000; i++)
		below = below && folds_rng_below(&rng, 7) < 7;
	ok(below && folds_rng_below(&rng, 1) == 0, "folds_rng_below stays below its bound");
	/* FNV-1a of "a" is af63dc4c8601ec8c */
	ok(folds_hash_bytes("a", 1) == UINT64_C(0xaf63dc4c8601ec8c) &&
	   folds_hash_bytes("", 0) == UINT64_C(0xcbf29ce484222325),
	   "FNV-1a: \"a\" and the empty string");
}

/*
 * Classes in blocks, as rows labeled one class after the other come in key
 * order: 12 rows of class 0, then 6 of class 1, in 3 folds.  Each fold gets
 * 4 of class 0 and 2 of class 1, where position folds (i % 3) would too,
 * but a shuffled 3 of every 4 rows of class 0 do not stay in their
 * position's fold.
 */
static void
test_stratified_blocks(void)
{
	int			y[18];
	int			fold[18];
	int			again[18];
	int			other[18];
	int			counts[3 * 2];
	int			moved = 0;
	int			differ = 0;
	int			used;
	int			i;

	for (i = 0; i < 18; i++)
		y[i] = i < 12 ? 0 : 1;
	used = folds_assign(18, 2, y, NULL, NULL, 3, FOLDS_SEED, fold);
	count_folds(18, 2, y, fold, 3, counts);
	ok(used == 3 && counts[0] == 4 && counts[2] == 4 && counts[4] == 4 &&
	   counts[1] == 2 && counts[3] == 2 && counts[5] == 2,
	   "classes in blocks: each of 3 folds gets 4 rows of class 0 and 2 of class 1");
	for (i = 0; i < 18; i++)
		moved += fold[i] != i % 3;
	ok(moved > 0, "the rows are shuffled: %d of 18 are not in fold i %% 3", moved);

	(void) folds_assign(18, 2, y, NULL, NULL, 3, FOLDS_SEED, again);
	(void) folds_assign(18, 2, y, NULL, NULL, 3, FOLDS_SEED + 1, other);
	for (i = 0; i < 18; i++)
		differ += again[i] != fold[i] ? 1 : 0;
	ok(differ == 0, "the same seed gives the same folds");
	differ = 0;
	for (i = 0; i < 18; i++)
		differ += other[i] != fold[i] ? 1 : 0;
	ok(differ > 0, "another seed gives other folds (%d rows moved)", differ);
}

/*
 * 7 rows of class 0 and 5 of class 1, interleaved, in 3 folds.  Class 0 is
 * dealt to folds 0, 1, 2, 0, 1, 2, 0 (3, 2, 2 rows), class 1 goes on from
 * fold 1: 1, 2, 0, 1, 2 (1, 2, 2 rows): every fold has 4 rows.
 */
static void
test_stratified_uneven(void)
{
	static const int y[12] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0};
	int			fold[12];
	int			counts[3 * 2];

	(void) folds_assign(12, 2, y, NULL, NULL, 3, FOLDS_SEED, fold);
	count_folds(12, 2, y, fold, 3, counts);
	ok(counts[0] == 3 && counts[2] == 2 && counts[4] == 2 &&
	   counts[1] == 1 && counts[3] == 2 && counts[5] == 2,
	   "uneven classes: class 0 as 3, 2, 2 and class 1 as 1, 2, 2 over the folds");
}

/*
 * Groups, 3 folds; class 0 and class 1 have 7 rows each, 7/3 per fold.
 *	A (key 10): 4 rows of class 0		B (key 20): 3 rows of class 1
 *	C (key 30): 2 rows of class 0		D (key 40): 2 rows of class 1
 *	E (key 50): 1 row of class 0		two rows of class 1 with NULL groups
 * Largest first: A goes to fold 0 (all need it alike, the lowest fold);
 * B needs 7 everywhere, fold 0 has rows: fold 1.  C and D (either order)
 * both go to fold 2 (C: folds 1 and 2 need 4.67, fold 2 has fewer rows; D:
 * folds 0 and 2 need 4.67, fold 2 has fewer rows).  Of the single rows, E
 * (class 0) needs fold 1 most (2.33 against -1.67 and 0.33); each NULL row
 * (class 1) needs fold 0 most (2.33, then 1.33).  Whatever the order of
 * the ties, fold 0 = A and the NULL rows, fold 1 = B and E, fold 2 = C, D.
 */
static void
test_groups(void)
{
	static const int y[14] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 1};
	static const uint64_t key[14] = {10, 20, 10, 20, 10, 20, 10, 40, 30, 30, 40, 0, 50, 0};
	static const bool isnull[14] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1};
	static const int expected[14] = {0, 1, 0, 1, 0, 1, 0, 2, 2, 2, 2, 0, 1, 0};
	int			ry[14];
	uint64_t	rkey[14];
	bool		risnull[14];
	int			fold[14];
	int			rfold[14];
	int			used;
	int			right = 0;
	int			same = 0;
	int			i;

	used = folds_assign(14, 2, y, key, isnull, 3, FOLDS_SEED, fold);
	for (i = 0; i < 14; i++)
		right += fold[i] == expected[i] ? 1 : 0;
	ok(used == 3 && right == 14,
	   "groups: whole groups, largest first, to the fold that needs them (%d of 14 rows as by hand)",
	   right);

	/* the rows in reverse order: the groups keep their folds */
	for (i = 0; i < 14; i++)
	{
		ry[i] = y[13 - i];
		rkey[i] = key[13 - i];
		risnull[i] = isnull[13 - i];
	}
	(void) folds_assign(14, 2, ry, rkey, risnull, 3, FOLDS_SEED, rfold);
	for (i = 0; i < 14; i++)
		same += rfold[13 - i] == fold[i] ? 1 : 0;
	ok(same == 14, "groups: the same folds whatever the order of the rows (%d of 14)", same);

	/* two groups for three folds: one fold stays empty */
	used = folds_assign(4, 2, (const int[]) {0, 1, 0, 1}, (const uint64_t[]) {1, 1, 2, 2},
						NULL, 3, FOLDS_SEED, fold);
	ok(used == 2 && fold[0] == fold[1] && fold[2] == fold[3] && fold[0] != fold[2],
	   "two groups in three folds: two folds get rows, no group split");
}

/* A group never spans two folds, on a larger set */
static void
test_groups_never_split(void)
{
	int			n = 500;
	int			y[500];
	uint64_t	key[500];
	int			fold[500];
	int			first[50];
	int			counts[5 * 3];
	bool		whole = true;
	int			min = n;
	int			max = 0;
	int			i;

	for (i = 0; i < 50; i++)
		first[i] = -1;
	for (i = 0; i < n; i++)
	{
		key[i] = (uint64_t) ((i * 7) % 50);
		y[i] = (int) (key[i] % 3);	/* a group is of one class, as duplicates are */
	}
	(void) folds_assign(n, 3, y, key, NULL, 5, FOLDS_SEED, fold);
	for (i = 0; i < n; i++)
	{
		if (first[key[i]] < 0)
			first[key[i]] = fold[i];
		whole = whole && first[key[i]] == fold[i];
	}
	count_folds(n, 3, y, fold, 5, counts);
	for (i = 0; i < 5; i++)
	{
		int			size = counts[i * 3] + counts[i * 3 + 1] + counts[i * 3 + 2];

		min = size < min ? size : min;
		max = size > max ? size : max;
	}
	ok(whole, "50 groups of 10 rows in 5 folds: no group split");
	ok(min == 100 && max == 100, "50 groups of 10 rows in 5 folds: 10 groups a fold (%d to %d rows)",
	   min, max);
}

static void
test_invalid(void)
{
	int			y[3] = {0, 1, 2};
	int			fold[3];

	ok(folds_assign(0, 2, y, NULL, NULL, 2, 1, fold) == -1 &&
	   folds_assign(3, 2, y, NULL, NULL, 2, 1, fold) == -1 &&
	   folds_assign(3, 3, y, NULL, NULL, 0, 1, fold) == -1,
	   "no rows, a class outside [0, k), no folds: -1");
}

/*
 * y = 0, 0, 1, 1, 2 predicted 0, 1, 1, 1, 0.  Confusion [[1, 1, 0],
 * [0, 2, 0], [1, 0, 0]].  Class 0: precision 1/2, recall 1/2, F1 1/2;
 * class 1: precision 2/3, recall 1, F1 4/5; class 2: all 0, support 1.
 * Macro F1 (1/2 + 4/5 + 0) / 3, as class_metrics.
 */
static void
test_report(void)
{
	static const int y[5] = {0, 0, 1, 1, 2};
	static const double proba[5 * 3] = {
		0.8, 0.1, 0.1, 0.3, 0.6, 0.1, 0.2, 0.7, 0.1, 0.1, 0.5, 0.4, 0.5, 0.2, 0.3
	};
	static const int64_t expected[9] = {1, 1, 0, 0, 2, 0, 1, 0, 0};
	int64_t		counts[9];
	ClassReport r[3];
	ClassMetrics m;
	double		macro;

	confusion_count(5, 3, proba, y, counts);
	ok(memcmp(counts, expected, sizeof(counts)) == 0,
	   "confusion matrix: rows are true classes, columns predictions");
	macro = class_report(3, counts, r);
	ok(r[0].precision == 0.5 && r[0].recall == 0.5 && r[0].f1 == 0.5 && r[0].support == 2,
	   "class 0: precision, recall and F1 1/2, support 2");
	ok(fabs(r[1].precision - 2.0 / 3.0) < 1e-15 && r[1].recall == 1.0 &&
	   fabs(r[1].f1 - 0.8) < 1e-15 && r[1].support == 2,
	   "class 1: precision 2/3, recall 1, F1 4/5, support 2");
	ok(r[2].precision == 0.0 && r[2].recall == 0.0 && r[2].f1 == 0.0 && r[2].support == 1,
	   "class 2, never predicted: 0, 0, 0, support 1");
	class_metrics(5, 3, proba, y, &m);
	ok(fabs(macro - 1.3 / 3.0) < 1e-15 && fabs(macro - m.macro_f1) < 1e-15,
	   "macro F1 %.15g = (1/2 + 4/5 + 0) / 3, as class_metrics", macro);
}

int
main(void)
{
	test_rng();
	test_stratified_blocks();
	test_stratified_uneven();
	test_groups();
	test_groups_never_split();
	test_invalid();
	test_report();
	return tap_finish();
}
