/*
 * test_strategy.c
 *		Unit tests of the query strategies' numerics (src/strategy_math.c):
 *		committee disagreement, information density and the diverse order,
 *		printing TAP.
 *
 * Expected values are worked out by hand in the comments, or against the
 * definitions computed the slow way (the density against the mean of the
 * cosines to every pool row).  Exits non-zero when any test fails.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "strategy_math.h"
#include "tap.h"

#define TOL 1e-9

static bool
near(double a, double b, double tol)
{
	return fabs(a - b) <= tol;
}

/* Is order a permutation of 0 .. n - 1? */
static bool
is_permutation(int n, const int *order)
{
	bool		seen[256] = {false};
	int			i;

	for (i = 0; i < n; i++)
	{
		if (order[i] < 0 || order[i] >= n || seen[order[i]])
			return false;
		seen[order[i]] = true;
	}
	return true;
}

static void
test_committee(void)
{
	/* 4 members, 3 classes: votes 0, 0, 1, 1 -> log 2 / log 3 */
	double		split[] = {0.6, 0.3, 0.1, 0.5, 0.4, 0.1, 0.2, 0.7, 0.1, 0.1, 0.8, 0.1};
	/* all vote class 2, with different probabilities */
	double		same[] = {0.1, 0.2, 0.7, 0.3, 0.3, 0.4, 0.0, 0.1, 0.9};
	/* 2 members, 2 classes, one vote each: the most spread, 1 */
	double		half[] = {0.9, 0.1, 0.2, 0.8};
	double		hard[] = {1.0, 0.0, 0.0, 1.0};
	double		agree[] = {0.3, 0.7, 0.3, 0.7};
	double		soft[] = {0.8, 0.2, 0.4, 0.6};

	ok(near(strategy_vote_entropy(4, 3, split), log(2.0) / log(3.0), TOL),
	   "vote entropy of votes 2/2/0 is log 2 / log 3 (%.6f)",
	   strategy_vote_entropy(4, 3, split));
	ok(strategy_vote_entropy(3, 3, same) == 0.0, "vote entropy of a unanimous committee is 0");
	ok(near(strategy_vote_entropy(2, 2, half), 1.0, TOL), "vote entropy of a 1/1 split of 2 is 1");
	ok(strategy_vote_entropy(1, 3, same) == 0.0, "vote entropy of one member is 0");

	/* KL of (1,0) and (0,1) to (1/2,1/2): log 2 each */
	ok(near(strategy_kl_consensus(2, 2, hard), log(2.0), TOL),
	   "mean KL of two opposite certain members is log 2");
	ok(near(strategy_kl_consensus(2, 2, agree), 0.0, TOL),
	   "mean KL of members that agree is 0");

	/*
	 * (0.8,0.2), (0.4,0.6), mean (0.6,0.4): 0.8 ln(4/3) + 0.2 ln(1/2) =
	 * 0.0915168, 0.4 ln(2/3) + 0.6 ln(3/2) = 0.0810930; mean 0.0863046
	 */
	ok(near(strategy_kl_consensus(2, 2, soft), 0.0863046217355343, 1e-12),
	   "mean KL of (0.8,0.2) and (0.4,0.6) is 0.0863046 (%.10f)",
	   strategy_kl_consensus(2, 2, soft));
	/* members agreeing on a certain class: zero probabilities add nothing */
	ok(near(strategy_kl_consensus(3, 3, (double[]) {0, 0, 1, 0, 0, 1, 0, 0, 1}), 0.0, TOL),
	   "mean KL of certain agreeing members is 0");
	/* a member that votes like the others but less sure still disagrees */
	ok(strategy_kl_consensus(3, 3, same) > 0.0 && strategy_vote_entropy(3, 3, same) == 0.0,
	   "KL sees disagreement in probabilities that vote entropy does not");
}

/*
 * The mean KL divergence to the consensus the other way: it equals the
 * entropy of the mean less the mean of the entropies (the generalised
 * Jensen-Shannon divergence), 0 log 0 = 0
 */
static double
kl_by_entropies(int m, int k, const double *proba)
{
	double		h_mean = 0.0;
	double		mean_h = 0.0;
	int			i;
	int			c;

	for (c = 0; c < k; c++)
	{
		double		pbar = 0.0;

		for (i = 0; i < m; i++)
			pbar += proba[i * k + c] / m;
		if (pbar > 0)
			h_mean -= pbar * log(pbar);
	}
	for (i = 0; i < m; i++)
		for (c = 0; c < k; c++)
			if (proba[i * k + c] > 0)
				mean_h -= proba[i * k + c] * log(proba[i * k + c]) / m;
	return h_mean - mean_h;
}

/* The KL disagreement of McCallum and Nigam, on cases worked out by hand */
static void
test_kl(void)
{
	/*
	 * (0.6,0.3,0.1), (0.2,0.5,0.3), (0.1,0.1,0.8); mean (0.3,0.3,0.4):
	 * 0.6 ln 2 + 0.1 ln(1/4) = 0.2772589; 0.2 ln(2/3) + 0.5 ln(5/3) + 0.3
	 * ln(3/4) = 0.0880150; 0.2 ln(1/3) + 0.8 ln 2 = 0.3347954; mean 0.2333564
	 */
	double		three[] = {0.6, 0.3, 0.1, 0.2, 0.5, 0.3, 0.1, 0.1, 0.8};
	/* the same members in another order, and the classes permuted */
	double		three_members[] = {0.1, 0.1, 0.8, 0.6, 0.3, 0.1, 0.2, 0.5, 0.3};
	double		three_classes[] = {0.1, 0.6, 0.3, 0.3, 0.2, 0.5, 0.8, 0.1, 0.1};
	/* zeros: (1/2,1/2,0), (0,1/2,1/2), mean (1/4,1/2,1/4): (1/2) ln 2 each */
	double		zeros[] = {0.5, 0.5, 0.0, 0.0, 0.5, 0.5};
	/* a certain member: (1,0), (1/2,1/2), mean (3/4,1/4): ln(4/3), (1/2) ln(4/3) */
	double		certain[] = {1.0, 0.0, 0.5, 0.5};
	/* mirror images (0.7,0.3), (0.3,0.7): 0.7 ln 1.4 + 0.3 ln 0.6 each */
	double		mirror[] = {0.7, 0.3, 0.3, 0.7};
	double		mirror_swapped[] = {0.3, 0.7, 0.7, 0.3};
	/* votes 2/1 of certain members: the entropy of the votes, ln 3 - (2/3) ln 2 */
	double		votes[] = {1, 0, 1, 0, 0, 1};
	/* three certain members on three classes: the most, ln 3 */
	double		apart[] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
	/* five members, four classes, with zeros, against the entropies' identity */
	double		five[] = {0.25, 0.25, 0.25, 0.25, 0.7, 0.0, 0.3, 0.0, 0.0, 0.0, 0.1, 0.9,
	0.4, 0.4, 0.2, 0.0, 0.05, 0.15, 0.3, 0.5};
	double		unanimous[] = {0.2, 0.3, 0.5, 0.2, 0.3, 0.5, 0.2, 0.3, 0.5, 0.2, 0.3, 0.5};

	ok(near(strategy_kl_consensus(3, 3, three), 0.23335644248804685, 1e-12),
	   "KL of three members of three classes is 0.2333564 (%.10f)",
	   strategy_kl_consensus(3, 3, three));
	ok(near(strategy_kl_consensus(3, 3, three_members), strategy_kl_consensus(3, 3, three), 1e-15),
	   "KL: the members' order does not matter");
	ok(near(strategy_kl_consensus(3, 3, three_classes), strategy_kl_consensus(3, 3, three), 1e-15),
	   "KL: the classes' order does not matter");
	ok(near(strategy_kl_consensus(2, 3, zeros), 0.5 * log(2.0), 1e-15),
	   "KL of (1/2,1/2,0) and (0,1/2,1/2) is (1/2) ln 2, zeros adding nothing");
	ok(near(strategy_kl_consensus(2, 2, certain), 0.75 * log(4.0 / 3.0), 1e-15),
	   "KL of (1,0) and (1/2,1/2) is (3/4) ln(4/3) (%.10f)",
	   strategy_kl_consensus(2, 2, certain));
	ok(near(strategy_kl_consensus(2, 2, mirror), 0.7 * log(1.4) + 0.3 * log(0.6), 1e-15) &&
	   near(strategy_kl_consensus(2, 2, mirror_swapped), strategy_kl_consensus(2, 2, mirror), 1e-15),
	   "KL of mirror images (0.7,0.3), (0.3,0.7) is 0.7 ln 1.4 + 0.3 ln 0.6, either way round");
	ok(near(strategy_kl_consensus(3, 2, votes), log(3.0) - 2.0 / 3.0 * log(2.0), 1e-15),
	   "KL of certain members voting 2/1 is the entropy of their votes");
	ok(near(strategy_kl_consensus(3, 3, apart), log(3.0), 1e-15),
	   "KL of three certain members on three classes is ln 3, its most");
	ok(near(strategy_kl_consensus(5, 4, five), kl_by_entropies(5, 4, five), 1e-12) &&
	   strategy_kl_consensus(5, 4, five) <= log(4.0),
	   "KL of five members of four classes is H(mean) - mean H, at most ln 4 (%.10f)",
	   strategy_kl_consensus(5, 4, five));
	ok(near(strategy_kl_consensus(4, 3, unanimous), 0.0, 1e-15),
	   "KL of members with the same probabilities is 0");
	ok(strategy_kl_consensus(1, 3, three) == 0.0 && strategy_kl_consensus(0, 3, three) == 0.0,
	   "KL of one member, or none, is 0");
}

/* The mean cosine of x to the rows of pool (n x d), the slow way */
static double
mean_cosine(int d, const double *x, int n, const double *pool)
{
	double		s = 0.0;
	int			i;
	int			j;

	for (i = 0; i < n; i++)
	{
		double		dot = 0.0;
		double		nx = 0.0;
		double		ny = 0.0;

		for (j = 0; j < d; j++)
		{
			dot += x[j] * pool[i * d + j];
			nx += x[j] * x[j];
			ny += pool[i * d + j] * pool[i * d + j];
		}
		if (nx > 0 && ny > 0)
			s += dot / sqrt(nx * ny);
	}
	return s / n;
}

static void
test_density(void)
{
	/* a pool of 5 rows in 4 dimensions, one zero row (similar to none) */
	double		pool[] = {1, 0, 0, 0, 0, 2, 0, 0, 1, 1, 0, 0, -1, 3, 2, 0, 0, 0, 0, 0};
	double		x[] = {3, 1, 0, 0.5};
	double		sum[4] = {0};
	double		ssum[4] = {0};
	double		unit[4] = {3, 4, 0, 0};
	int			idx[4];
	double		val[4];
	int			i;
	int			j;
	int			nnz;

	for (i = 0; i < 5; i++)
		strategy_pool_add(4, sum, pool + i * 4);
	ok(near(strategy_density(4, x, sum, 5), mean_cosine(4, x, 5, pool), 1e-12),
	   "dense density is the mean cosine to the pool (%.6f)", strategy_density(4, x, sum, 5));

	/* the same pool as sparse rows */
	for (i = 0; i < 5; i++)
	{
		nnz = 0;
		for (j = 0; j < 4; j++)
			if (pool[i * 4 + j] != 0)
			{
				idx[nnz] = j;
				val[nnz++] = pool[i * 4 + j];
			}
		strategy_pool_add_sparse(ssum, nnz, idx, val);
	}
	for (j = 0; j < 4; j++)
		ok(near(sum[j], ssum[j], 1e-12), "sparse pool sum %d equals dense", j);
	ok(near(strategy_density_sparse(3, (int[]) {0, 1, 3}, (double[]) {3, 1, 0.5}, ssum, 5),
			mean_cosine(4, x, 5, pool), 1e-12),
	   "sparse density is the mean cosine to the pool");
	ok(strategy_density(4, (double[]) {0, 0, 0, 0}, sum, 5) == 0.0, "a zero row has density 0");
	ok(strategy_density(4, x, sum, 0) == 0.0, "an empty pool gives density 0");

	ok(near(strategy_unit(4, unit), 5.0, TOL) && near(unit[0], 0.6, TOL) && near(unit[1], 0.8, TOL),
	   "strategy_unit divides by the norm and returns it");

	ok(near(strategy_density_score(0.8, 0.5, 1.0), 0.4, TOL), "score 0.8 x 0.5 = 0.4");
	ok(near(strategy_density_score(0.8, 0.25, 2.0), 0.05, TOL), "score 0.8 x 0.25^2 = 0.05");
	ok(strategy_density_score(0.8, -0.2, 1.0) == 0.0, "a negative density scores 0");
	ok(strategy_density_score(0.8, NAN, 1.0) == 0.0, "a NaN density scores 0");
}

/*
 * Candidates in clusters of near-copies: cluster c's rows point along axis
 * c (dimension nc), slightly tilted to the next axis by copy; uncertainty
 * falls with the cluster then with the copy, so that the uncertainty order
 * puts all copies of cluster 0 first.
 */
static void
make_clusters(int nc, int copies, double *x, double *u)
{
	int			c;
	int			r;

	for (c = 0; c < nc; c++)
		for (r = 0; r < copies; r++)
		{
			double	   *row = x + (c * copies + r) * nc;
			int			j;

			for (j = 0; j < nc; j++)
				row[j] = 0.0;
			row[c] = 1.0;
			row[(c + 1) % nc] = 0.01 * r;
			strategy_unit(nc, row);
			u[c * copies + r] = 0.99 - 0.02 * c - 0.001 * r;
		}
}

/* The cluster of each of the first n of an order is different */
static bool
first_distinct(int n, const int *order, int copies)
{
	bool		seen[64] = {false};
	int			i;

	for (i = 0; i < n; i++)
	{
		if (seen[order[i] / copies])
			return false;
		seen[order[i] / copies] = true;
	}
	return true;
}

static void
test_diverse(void)
{
	enum
	{
		NC = 10, COPIES = 10, N = NC * COPIES
	};
	static double x[N * NC];
	static double u[N];
	static int64_t indptr[N + 1];
	static int	indices[N * 2];
	static double values[N * 2];
	int			order[N];
	int			sorder[N];
	StrategyRows rows = {0};
	bool		same = true;
	bool		ranked = true;
	int			i;
	int			j;

	make_clusters(NC, COPIES, x, u);
	rows.n = N;
	rows.d = NC;
	rows.dense = x;
	strategy_diverse_order(u, &rows, STRATEGY_DIVERSE_LAMBDA, order);
	ok(is_permutation(N, order), "the diverse order is a permutation");
	ok(order[0] == 0, "the most uncertain comes first");
	ok(first_distinct(NC, order, COPIES),
	   "the first 10 of the diverse order are of 10 different clusters");
	/* once every cluster has one row placed, all others are near-copies */
	ok(order[NC] == 1, "then the most uncertain copy left (%d)", order[NC]);

	/* the same rows, sparse: each row has its two non-zeros */
	indptr[0] = 0;
	for (i = 0; i < N; i++)
	{
		int			k = 0;

		for (j = 0; j < NC; j++)
			if (x[i * NC + j] != 0.0)
			{
				indices[indptr[i] + k] = j;
				values[indptr[i] + k] = x[i * NC + j];
				k++;
			}
		indptr[i + 1] = indptr[i] + k;
	}
	rows.sparse = true;
	rows.dense = NULL;
	rows.csr.n = N;
	rows.csr.d = NC;
	rows.csr.indptr = indptr;
	rows.csr.indices = indices;
	rows.csr.values = values;
	strategy_diverse_order(u, &rows, STRATEGY_DIVERSE_LAMBDA, sorder);
	for (i = 0; i < N; i++)
		same = same && order[i] == sorder[i];
	ok(same, "sparse rows give the same order as dense");

	/* lambda 1: uncertainty alone, the ranked order */
	rows.sparse = false;
	rows.dense = x;
	strategy_diverse_order(u, &rows, 1.0, order);
	for (i = 0; i < N; i++)
		ranked = ranked && order[i] == i;
	ok(ranked, "lambda 1 keeps the uncertainty order");

	/* lambda 0: redundancy alone, still the first is the first by index */
	strategy_diverse_order(u, &rows, 0.0, order);
	ok(order[0] == 0 && first_distinct(NC, order, COPIES),
	   "lambda 0 spreads the clusters too");

	/* one candidate, and none */
	rows.n = 1;
	strategy_diverse_order(u, &rows, 0.5, order);
	ok(order[0] == 0, "one candidate: itself");
	rows.n = 0;
	strategy_diverse_order(u, &rows, 0.5, order);
	ok(true, "no candidate: nothing to order");
}

/*
 * Two candidates, the second much less uncertain but orthogonal to the
 * first: lambda u - (1 - lambda) cos.  Third: a copy of the first with u
 * 0.9.  Order after the first (u 0.9 copy: 0.5 x 0.9 - 0.5 x 1 = -0.05;
 * orthogonal u 0.2: 0.1): the orthogonal one.
 */
static void
test_trade(void)
{
	double		x[] = {1, 0, 0, 1, 1, 0};
	double		u[] = {0.95, 0.2, 0.9};
	int			order[3];
	StrategyRows rows = {0};

	rows.n = 3;
	rows.d = 2;
	rows.dense = x;
	strategy_diverse_order(u, &rows, 0.5, order);
	ok(order[0] == 0 && order[1] == 1 && order[2] == 2,
	   "an orthogonal row of u 0.2 beats a copy of u 0.9 (%d %d %d)",
	   order[0], order[1], order[2]);
	/* lambda 0.9: 0.81 - 0.1 = 0.71 against 0.18: the copy */
	strategy_diverse_order(u, &rows, 0.9, order);
	ok(order[1] == 2, "with lambda 0.9 the copy comes second");
	ok(near(strategy_rows_cos(&rows, 0, 2), 1.0, TOL) && near(strategy_rows_cos(&rows, 0, 1), 0.0, TOL),
	   "cosines of unit rows");
}

int
main(void)
{
	test_committee();
	test_kl();
	test_density();
	test_diverse();
	test_trade();
	return tap_finish();
}
