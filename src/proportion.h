/*
 * proportion.h
 *		Confidence bounds and tests of proportions, and the confidence
 *		threshold that reaches a precision target: what auto-labeling,
 *		the evaluation accuracy and the slices of a model rest on.
 *
 * Plain C, no PostgreSQL types.
 *
 * Bounds are Wilson score bounds: for k successes in n trials, with z the
 * normal quantile, the bounds of
 *
 *	(p + z^2/2n -/+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n),  p = k/n
 *
 * They stay within [0, 1], are never empty, and hold their level far better
 * than the plain normal interval when p is near 0 or 1 or n is small, which
 * is where precision targets such as 0.95 live.
 */
#ifndef HITL_PROPORTION_H
#define HITL_PROPORTION_H

#include <stdbool.h>

/* normal quantiles: one-sided 95% (0.95) and two-sided 95% (0.975) */
#define Z_ONE_SIDED_95 1.6448536269514722
#define Z_TWO_SIDED_95 1.959963984540054

/*
 * The Wilson score interval of k successes in n trials at quantile z:
 * *low and *high (both 0 and 1 when n is 0, the proportion being unknown).
 */
extern void wilson_interval(long k, long n, double z, double *low, double *high);

/*
 * The two-sided p-value of the test that two proportions (k1 of n1, k2 of
 * n2) are equal, with the pooled normal approximation; 1 when either n is
 * 0 or the pooled proportion is 0 or 1 (nothing to tell apart).
 */
extern double two_proportion_p(long k1, long n1, long k2, long n2);

/*
 * The threshold of a precision target.  n predictions have a confidence
 * and are right or not (out-of-fold: each by a model that did not see its
 * row).  The threshold is the lowest confidence t among them such that the
 * predictions with confidence >= t have a one-sided lower bound (Wilson, at
 * quantile z) of their precision of at least target.  Returns false when
 * none does (too few predictions, or too many wrong among the confident
 * ones); otherwise *threshold, and *covered and *right: how many
 * predictions reach it and how many of those are right.  The input arrays
 * are not changed.
 */
extern bool precision_threshold(int n, const double *confidence, const bool *right,
								double target, double z, double *threshold,
								long *covered, long *right_count);

#endif
