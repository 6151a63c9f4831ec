/*
 * agg_math.h
 *		The states of hitl's training aggregates: sums over rows that can be
 *		added up in any grouping.
 *
 * Plain C, no PostgreSQL types.  Training statistics are sums over the
 * labeled rows, so an aggregate can compute them a part of the table at a
 * time (a parallel worker's, a Citus shard's) and add the parts together
 * (its combine function).  A state is one array of doubles:
 *
 *		[kind, k, d, sums...]
 *
 * kind names what the sums are, k is the number of classes and d the number
 * of features; every element after the header is a sum over rows, so
 * combining two states of the same kind, k and d adds them element by
 * element (agg_combine).
 *
 * Naive Bayes (AGG_KIND_NBAYES): k row counts, then k x d feature sums,
 * class-major: what nbayes_counts_add accumulates for unweighted rows, in
 * the same order (so the same rows in the same order give the same sums bit
 * for bit, and integer values give exact sums in any order while they stay
 * below 2^53).
 *
 * Logistic regression (AGG_KIND_LOGREG): at given coefficients (logreg.h's
 * layout, ncoef = logreg_ncoef(d, k) of them), the number of rows, the sum
 * of their log-losses and the sum of the loss's gradients (ncoef doubles):
 * the data part of the objective, before C and the penalty, which
 * agg_logreg_finish adds as logreg_dense_objective does.
 *
 * Naive Bayes by class (AGG_KIND_NBSUMS, k = 1: the query groups the rows
 * by label): the number of rows, their non-zero values, four 16-bit limbs
 * of the sum of the rows' 64-bit hashes (agg_nbsums_row_hash), then the d
 * feature sums.  Each
 * limb's sum is a whole number below 2^53 for up to 2^37 rows, so it is
 * exact in any grouping, and so is the sum of the hashes modulo 2^64 it
 * gives (agg_nbsums_hash): a fingerprint of the rows that does not depend
 * on their order.
 *
 * Naive Bayes' figures on its training rows (AGG_KIND_NBEVAL, d = 0): the
 * number of rows, the sum of their log-losses, then the k x k confusion
 * counts (true class-major), from which class_metrics_counts gives what
 * class_metrics gives over the same rows.
 */
#ifndef HITL_AGG_MATH_H
#define HITL_AGG_MATH_H

#include <stdint.h>

/* What a state sums (its element 0) */
typedef enum AggKind
{
	AGG_KIND_NBAYES = 1,
	AGG_KIND_LOGREG = 2,
	AGG_KIND_NBSUMS = 3,
	AGG_KIND_NBEVAL = 4
} AggKind;

/* Elements before the sums: kind, k, d */
#define AGG_HEADER 3

/* The positions of the logistic regression state's sums */
#define AGG_LOGREG_ROWS AGG_HEADER
#define AGG_LOGREG_LOSS (AGG_HEADER + 1)
#define AGG_LOGREG_GRAD (AGG_HEADER + 2)

/* The positions of the naive Bayes by class state's sums */
#define AGG_NBSUMS_ROWS AGG_HEADER
#define AGG_NBSUMS_NNZ (AGG_HEADER + 1)
#define AGG_NBSUMS_HASH (AGG_HEADER + 2)	/* 4 limbs, lowest first */
#define AGG_NBSUMS_SUMS (AGG_HEADER + 6)

/* The positions of the naive Bayes figures state's sums */
#define AGG_NBEVAL_ROWS AGG_HEADER
#define AGG_NBEVAL_LOSS (AGG_HEADER + 1)
#define AGG_NBEVAL_CONFUSION (AGG_HEADER + 2)

/* Limits on k, d and a state's length (elements) */
#define AGG_MAX_CLASSES 100000
#define AGG_MAX_FEATURES 1000000
#define AGG_MAX_LENGTH (16 * 1024 * 1024)

/* What agg_check_row finds in a row's features */
typedef enum AggRowStatus
{
	AGG_ROW_OK = 0,
	AGG_ROW_NOT_FINITE,			/* NaN or infinite */
	AGG_ROW_NEGATIVE			/* below zero (naive Bayes only) */
} AggRowStatus;

/*
 * The length of a state of kind for k classes and d features, or -1 when k
 * or d is out of range (k < 2 or above AGG_MAX_CLASSES, d < 0 or above
 * AGG_MAX_FEATURES; for AGG_KIND_NBSUMS k = 1, for AGG_KIND_NBEVAL d = 0)
 * or the length would exceed AGG_MAX_LENGTH.
 */
extern int64_t agg_state_length(AggKind kind, int k, int d);

/* Write the header of a state (its sums must be zeroed already) */
extern void agg_state_init(double *s, AggKind kind, int k, int d);

/*
 * Is the array s of len doubles a state: a known kind, k and d in range
 * and integral, len the length they give?  Sets kind, k and d when it is.
 */
extern int	agg_state_valid(const double *s, int64_t len, AggKind *kind, int *k, int *d);

/*
 * The first of d values x that is not finite, or (nonnegative set) below
 * zero; its index in *bad.
 */
extern AggRowStatus agg_check_row(const double *x, int d, int nonnegative, int *bad);

/* Add state t to state s (same kind, k and d, len elements) */
extern void agg_combine(double *s, const double *t, int64_t len);

/* Are all the sums of a state (len elements) finite? */
extern int	agg_sums_finite(const double *s, int64_t len);

/* Naive Bayes: add a row of class cls (in [0, k)) with features x (d) */
extern void agg_nbayes_add(double *s, int cls, const double *x);

/*
 * A row's hash: its features x (d), a zero of either sign hashing as +0,
 * chained from seed (its group's hash, or 0)
 */
extern uint64_t agg_nbsums_row_hash(const double *x, int d, uint64_t seed);

/*
 * Naive Bayes by class: add a row with features x (d, zero or more) and
 * seed (see agg_nbsums_row_hash)
 */
extern void agg_nbsums_add(double *s, const double *x, uint64_t seed);

/* The sum modulo 2^64 of the row hashes of a naive Bayes by class state */
extern uint64_t agg_nbsums_hash(const double *s);

/*
 * Naive Bayes' figures: add a row of class cls whose predicted
 * probabilities are proba (k); its log-loss is -ln(p of cls) with p
 * clipped to [1e-15, 1 - 1e-15] and its prediction the first class of
 * highest probability, as class_metrics counts them.
 */
extern void agg_nbeval_add(double *s, int cls, const double *proba);

/*
 * Logistic regression: add a row of class cls (in [0, k)) with features x
 * (d, standardized), at coefficients coef (ncoef); z is scratch for
 * logreg_nvec(k) doubles.
 */
extern void agg_logreg_add(double *s, int cls, const double *x, const double *coef,
						   double *z);

/*
 * The objective 0.5 ||weights||^2 + C * loss at coef, from a logistic
 * regression state, and its gradient into grad (ncoef doubles; with k > 2
 * the intercepts' part centred): what logreg_dense_objective gives over
 * the same rows, up to the rounding of the sums' order.
 */
extern double agg_logreg_finish(const double *s, const double *coef, double C, double *grad);

#endif
