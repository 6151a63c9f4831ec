/*
 * folds.h
 *		Assigning rows to the folds of a cross-validation: stratified by
 *		class, shuffled by a fixed-seed generator of hitl's own, and with
 *		groups, each group kept whole in one fold.
 *
 * Plain C, no PostgreSQL types.  The same rows in the same order with the
 * same seed give the same folds on every platform and server.
 */
#ifndef HITL_FOLDS_H
#define HITL_FOLDS_H

#include <stdbool.h>
#include <stdint.h>

/* The seed of every cross-validation hitl runs */
#define FOLDS_SEED UINT64_C(0x6869746c666f6c64)

/* A 64-bit generator (splitmix64): the same sequence everywhere */
typedef struct FoldsRng
{
	uint64_t	state;
} FoldsRng;

extern void folds_rng_init(FoldsRng *rng, uint64_t seed);
extern uint64_t folds_rng_next(FoldsRng *rng);

/* A uniform integer in [0, bound), bound >= 1, without modulo bias */
extern uint64_t folds_rng_below(FoldsRng *rng, uint64_t bound);

/* FNV-1a of n bytes: a group's key from its text, the same everywhere */
extern uint64_t folds_hash_bytes(const void *data, size_t n);

/*
 * Assign each of the n rows (classes y, in [0, k)) to one of nfolds folds,
 * in fold[i].
 *
 * Without groups (group NULL) the rows of each class are shuffled and dealt
 * to the folds in turn, the deal going on from class to class: each class
 * is spread over the folds evenly (its counts in two folds differ by at
 * most one), and so are the rows.  Which row goes where depends on its
 * position among the rows of its class (hitl reads them in primary-key
 * order): the same table gives the same folds.
 *
 * With groups, rows of equal group[i] form a group and a row with
 * group_null[i] set (group_null may be NULL) is a group of its own.  Whole
 * groups are assigned, largest first (ties in an order drawn from the seed
 * and the group's key), each to the fold that needs its classes most: the
 * one for which the sum over classes of (rows of the class in the group) x
 * (the class's rows per fold - those the fold has) is the largest, the
 * fold with fewer rows on ties, then the lower fold.  A group never spans
 * two folds; groups with keys (not NULL) get the same fold whatever the
 * order of the rows.
 *
 * Returns the number of folds that got rows (fewer than nfolds when there
 * are fewer groups than folds), or -1 on invalid arguments (n < 1,
 * nfolds < 1, k < 1 or a class outside [0, k)).
 */
extern int	folds_assign(int n, int k, const int *y, const uint64_t *group,
						 const bool *group_null, int nfolds, uint64_t seed, int *fold);

#endif
