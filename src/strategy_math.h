/*
 * strategy_math.h
 *		The numerics of the query strategies beyond one model's uncertainty:
 *		committee disagreement, information density and diverse batches.
 *
 * Plain C, no PostgreSQL types.
 *
 * Committee (query by committee): m models each give a row k class
 * probabilities.  Vote entropy is the entropy of the members' votes (each
 * votes its most probable class); the mean KL divergence to the consensus
 * is sum_i KL(p_i || pbar) / m with pbar the members' mean, which is 0
 * when they agree, whatever they agree on.  Vote entropy sees only the
 * votes; KL also sees members that vote alike with different certainty,
 * and does not tie rows as the few values of m votes do.
 *
 * Information density: a row worth labeling is uncertain and typical of
 * the unlabeled pool, not an outlier.  Its density is its mean cosine
 * similarity to the pool's rows, (1/N) sum_j xhat . yhat_j = xhat . mean(yhat)
 * (hats: rows divided by their norm), so one pass over the pool summing
 * its unit rows is enough, and each row's density is one dot product.  The
 * ranking score is uncertainty x max(0, density)^beta.
 *
 * Diverse batch (ranked batch-mode sampling): candidates with uncertainties
 * u_i and unit feature vectors are put in an order greedily: the next is
 * the one maximising lambda u_i - (1 - lambda) max_j cos(x_i, x_j) over the
 * rows j already placed (0 before the first), ties going to the lower
 * index (the candidates come ranked by uncertainty).  A near-copy of a
 * placed row loses about (1 - lambda) x 1 and comes after rows that differ.
 */
#ifndef HITL_STRATEGY_MATH_H
#define HITL_STRATEGY_MATH_H

#include <stdbool.h>
#include <stdint.h>

#include "sparse.h"

/* The exponent of the density in the density strategy's score */
#define STRATEGY_DENSITY_BETA 1.0

/*
 * lambda of the diverse order: uncertainty and redundancy weigh the same.
 * (The share of the pool still unlabeled, as in ranked batch-mode sampling,
 * is near 1 in a fresh campaign, where near-copies would still come
 * together: see strategy_diverse_order.)
 */
#define STRATEGY_DIVERSE_LAMBDA 0.5

/*
 * Vote entropy of m members' probabilities (proba row-major m x k): the
 * entropy of the share of votes of each class, divided by log(min(m, k)),
 * the most the votes can spread, so that it is in [0, 1]: 0 when all vote
 * alike.  0 when m < 2 or k < 2.
 */
extern double strategy_vote_entropy(int m, int k, const double *proba);

/*
 * Mean KL divergence of m members' probabilities (m x k) to their mean
 * (McCallum and Nigam's KL disagreement), in nats, from 0 when they agree
 * to at most log(min(m, k)) (certain members spread evenly over the
 * classes).  A member's zero probabilities add nothing (0 log 0 = 0).  Of
 * certain members (probabilities 0 and 1) it is the entropy of their votes.
 * 0 when m < 2.
 */
extern double strategy_kl_consensus(int m, int k, const double *proba);

/* Divide x (d values) by its norm in place; returns the norm (x kept when 0) */
extern double strategy_unit(int d, double *x);

/* Add x / |x| (d values) to sum; nothing when x is zero */
extern void strategy_pool_add(int d, double *sum, const double *x);

/* The same for a sparse row (nnz values at positions idx) */
extern void strategy_pool_add_sparse(double *sum, int nnz, const int *idx,
									 const double *val);

/*
 * A row's density: its mean cosine similarity to the pool, xhat . sum / n
 * (sum of the pool's n unit rows, from strategy_pool_add); 0 when n is 0
 * or x is zero.
 */
extern double strategy_density(int d, const double *x, const double *sum, double n);
extern double strategy_density_sparse(int nnz, const int *idx, const double *val,
									  const double *sum, double n);

/* The density strategy's score: u x max(0, density)^beta */
extern double strategy_density_score(double u, double density, double beta);

/*
 * Candidates' unit feature vectors: n rows, dense (rows of d values in
 * dense) or sparse (the rows of csr); a zero row is similar to none.
 */
typedef struct StrategyRows
{
	int			n;
	int			d;
	bool		sparse;
	const double *dense;
	SparseMatrix csr;
} StrategyRows;

/* Cosine of unit rows a and b */
extern double strategy_rows_cos(const StrategyRows *rows, int a, int b);

/*
 * The diverse order of n candidates (uncertainties u, unit vectors rows):
 * order receives a permutation of 0 .. n - 1, the greedy choice of
 * lambda u_i - (1 - lambda) max cos to those before.  O(n^2) dot products.
 */
extern void strategy_diverse_order(const double *u, const StrategyRows *rows,
								   double lambda, int *order);

#endif
