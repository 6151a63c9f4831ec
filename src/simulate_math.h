/*
 * simulate_math.h
 *		Replaying an active-learning campaign on fully labeled data: the
 *		held-out split, the stratified seed labels, the batch picking of
 *		each query strategy and the learning-curve loop.
 *
 * Plain C, no PostgreSQL types.  The data are n rows of d dense features
 * (a missing mask beside them) with classes 0 .. k - 1.  For each repeat,
 * a stratified share of every class is held out as the test set; the rest
 * is the pool, whose labels are hidden except for the stratified seed.
 * Each round the model (logistic regression fitted by logreg_solve on the
 * standardized labeled rows, as the worker trains, or multinomial naive
 * Bayes on the raw values) is evaluated on the test set, then the strategy picks the next batch of pool rows from the
 * model's class probabilities on them, until the budget of labels.
 *
 * Everything is deterministic given the seed: the split, the seed labels,
 * the random strategy and the committee's bootstrap resamples draw from a
 * splitmix64 generator whose stream depends on the seed and the repeat
 * (and the strategy, for the picks), so repeats differ and the same
 * arguments give bit-identical curves.  Only the seconds of each round
 * are not reproducible.
 *
 * Each round also compares the model's predictions on the pool rows still
 * unlabeled with the previous round's (Cohen's kappa): the stopping signal
 * of train_stopping.c, from which hitl.simulation_summary says where the
 * stopping rule would have stopped.
 */
#ifndef HITL_SIMULATE_MATH_H
#define HITL_SIMULATE_MATH_H

#include <stdbool.h>
#include <stdint.h>

#include "sparse.h"
#include "strategy_math.h"

/*
 * The query strategies: a name in sim_strategy_from_name and a case in
 * sim_pick (simulate_pick.c) each.
 */
typedef enum SimStrategy
{
	SIM_RANDOM = 0,
	SIM_MARGIN,
	SIM_LEAST_CONFIDENCE,
	SIM_ENTROPY,
	SIM_DENSITY,				/* margin x mean cosine to the pool */
	SIM_DIVERSE,				/* the diverse order of the top candidates */
	SIM_COMMITTEE,				/* disagreement of a bootstrap committee:
								 * vote entropy, or KL (committee_kl) */
	SIM_N_STRATEGIES
} SimStrategy;

/* The names of the known strategies, for a hint: "random, margin, ..." */
#define SIM_STRATEGY_NAMES "random, margin, least_confidence, entropy, density, diverse, committee"

/* The strategy of a name, -1 when unknown */
extern int	sim_strategy_from_name(const char *name);
extern const char *sim_strategy_name(SimStrategy s);

/* A splitmix64 generator */
typedef struct SimRng
{
	uint64_t	state;
} SimRng;

extern void sim_rng_seed(SimRng *rng, uint64_t seed, uint64_t stream);
extern uint64_t sim_rng_next(SimRng *rng);
/* Uniform in [0, n), n >= 1 */
extern int	sim_rng_below(SimRng *rng, int n);

/*
 * The candidates of the diverse strategy: the top of the pool by margin,
 * as many as the review queue puts in diverse order (queue_diverse.c)
 */
#define SIM_DIVERSE_CANDIDATES 1000

/*
 * Pick the next batch among npool pool rows: proba holds their class
 * probabilities (npool x k, row-major), rows their feature vectors (the
 * standardized dense features, or the sparse vectors of a text model;
 * used by density and diverse only, may be NULL for the others), u the
 * committee's disagreements (npool values, SIM_COMMITTEE only; NULL
 * otherwise), rng the random stream.  Writes min(batch, npool) distinct
 * positions in [0, npool) into out (best first) and returns their count.
 * As the review queue ranks (strategy_math.h), ties going to the lower
 * position: the uncertainty strategies by uncertainty_score (metrics.h);
 * density by strategy_density_score of the margin and the mean cosine to
 * the npool rows; diverse takes the first batch of strategy_diverse_order
 * over the SIM_DIVERSE_CANDIDATES rows of highest margin uncertainty
 * (unit vectors of the rows); committee by u.
 */
extern int	sim_pick(SimStrategy s, int npool, int k, const double *proba,
					 const StrategyRows *rows, const double *u, int batch, SimRng *rng,
					 int *out);

/*
 * The committee strategy's uncertainty of npool rows (standardized xp,
 * npool x d): m logistic regressions (C, max_iter, tol), member j fitted
 * on a bootstrap resample of the nl labeled rows (xl standardized, yl),
 * nl draws with replacement from rng, a row weighing how often it is
 * drawn; u receives each row's disagreement: the members' mean KL
 * divergence to their mean (strategy_kl_consensus) when kl, else their
 * vote entropy (strategy_vote_entropy).  False when the solver refuses a
 * member.
 */
extern bool sim_committee_uncertainty(int nl, int d, int k, const double *xl, const int *yl,
									  int npool, const double *xp, int m, bool kl, double C,
									  int max_iter, double tol, SimRng *rng, double *u);

/*
 * Cohen's kappa of two predictions a and b of n rows (classes in [0, k)):
 * (p_o - p_e) / (1 - p_e); NaN when n < 2 or p_e = 1, as agreement.h.
 */
extern double sim_kappa(int n, int k, const int *a, const int *b);

/*
 * Most class probabilities of the data's rows (rows x classes), and most
 * parameters of a text model (classes x (dense features + buckets)), a
 * simulation holds: 512 MB of doubles
 */
#define SIM_MAX_COEFFICIENTS (64 * 1024 * 1024)

/*
 * Most dense feature values (rows x features) a simulation reads: 128 MB
 * of doubles, of which the engine keeps a few copies
 */
#define SIM_MAX_DENSE_VALUES (16 * 1024 * 1024)

/* The data */
typedef struct SimData
{
	int			n;
	int			d;
	int			k;
	const double *x;			/* n x d raw values */
	const bool *missing;		/* n x d, true: missing (may be NULL) */
	const int  *y;				/* n classes in [0, k) */

	/*
	 * Text features, or NULL: n rows over the buckets (text->d columns),
	 * each row's buckets ascending with their tf-idf weights
	 * (simulate_sparse.h)
	 */
	const SparseMatrix *text;
} SimData;

/* The model retrained each round */
typedef enum SimAlgorithm
{
	SIM_LOGISTIC = 0,			/* standardized, logreg_solve (C, max_iter, tol) */
	SIM_NAIVE_BAYES				/* raw values >= 0 (missing: 0), multinomial, alpha */
} SimAlgorithm;

/* The campaign */
typedef struct SimParams
{
	SimAlgorithm algorithm;
	double		alpha;
	int			initial_labels;
	int			batch_size;
	int			budget;
	int			repeats;
	double		test_fraction;
	double		C;
	int			max_iter;
	double		tol;
	uint64_t	seed;
	int			committee_size; /* members of the committee strategy */
	bool		committee_kl;	/* its disagreement: KL, else vote entropy */
	int			nstrategies;
	const SimStrategy *strategies;
} SimParams;

/* What sim_check finds wrong */
typedef enum SimError
{
	SIM_OK = 0,
	SIM_ERR_ONE_CLASS,			/* fewer than 2 classes */
	SIM_ERR_SMALL_CLASS,		/* a class has fewer than 2 rows */
	SIM_ERR_SEED_BELOW_CLASSES, /* initial_labels < k */
	SIM_ERR_SEED_BEYOND_POOL,	/* initial_labels > pool */
	SIM_ERR_BUDGET_BEYOND_POOL, /* budget > pool */
	SIM_ERR_FIT,				/* the solver refused the data */
	SIM_ERR_NEGATIVE,			/* naive Bayes: a value below 0 */
	SIM_ERR_COMMITTEE_NBAYES,	/* naive Bayes has no committee */
	SIM_ERR_TOO_LARGE			/* more coefficients than a model may have */
} SimError;

/* The held-out split and the seed of one repeat (row numbers of the data) */
typedef struct SimSplit
{
	int			ntest;
	int			npool;			/* pool rows, the seed rows first */
	int			nseed;
	int		   *test;
	int		   *pool;
} SimSplit;

/* One point of a learning curve */
typedef struct SimPoint
{
	int			strategy;		/* index into SimParams.strategies */
	int			repeat;
	int			round;
	int			labels;
	double		accuracy;
	double		macro_f1;
	double		log_loss;
	double		ece;
	/*
	 * Cohen's kappa of this round's and the previous round's predictions
	 * on the rows still unlabeled (the pool less the labeled): the
	 * stopping signal (train_stopping.c); NaN at round 0, or when
	 * undefined
	 */
	double		kappa;
	double		seconds;		/* of this round: fit, evaluation and pick */
} SimPoint;

/* Receives each point, and each repeat's full-data accuracy */
typedef struct SimSink
{
	void		(*point) (void *arg, const SimPoint *p);
	void		(*full) (void *arg, int repeat, double accuracy);
	void	   *arg;
} SimSink;

/* The test rows each class gives up (n_c rows): round(f n_c) within [1, n_c - 1] */
extern int	sim_class_test_rows(int n_c, double test_fraction);

/* Check the data against the campaign; SIM_OK when it can run */
extern SimError sim_check(const SimData *data, const SimParams *p, int *pool_rows);

/* The split of a repeat (arrays allocated by hitl_alloc) */
extern void sim_split(const SimData *data, const SimParams *p, int repeat, SimSplit *out);
extern void sim_split_free(SimSplit *s);

/*
 * Rounds of one curve: round 0 at initial_labels, each next adds a batch
 * (the last one fewer to end on the budget).
 */
extern int	sim_rounds(const SimParams *p);

/* Run every repeat and strategy; SIM_OK, or SIM_ERR_FIT */
extern SimError sim_run(const SimData *data, const SimParams *p, const SimSink *sink);

#endif
