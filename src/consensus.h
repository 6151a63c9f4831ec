/*
 * consensus.h
 *		Combining several annotators' answers on each item: majority vote and
 *		the EM model of Dawid and Skene (1979).
 *
 * Plain C, no PostgreSQL types.
 *
 * The input is a list of answers, triples (item, annotator, class), each
 * 0-based: n items, m annotators, k classes, at most one answer per (item,
 * annotator), any number of answers per item (none to m).  The answers are
 * checked and sorted by (item, annotator) into an AnswerSet before anything
 * is computed, so the same answers in any order give the same results, bit
 * for bit.  Functions return CONSENSUS_OK (0) or a negative ConsensusStatus
 * on bad input; they never abort.
 *
 * Dawid-Skene.  Each annotator j has a confusion matrix pi[j][t][g], the
 * probability that j gives class g to an item whose true class is t, and
 * the classes have priors.  EM alternates:
 *	- M-step: from the posteriors T[i][t] (the probability that item i is of
 *	  class t), prior[t] = (alpha + sum_i T[i][t]) / (N + k alpha) over the N
 *	  items with at least one answer, and pi[j][t][g] = (alpha + sum over the
 *	  items j gave g of T[i][t]) / (row sum).  The additive smoothing alpha
 *	  (DAWID_SKENE_SMOOTHING, 0.01) keeps every probability above zero: an
 *	  annotator who never gave class g, or a class no item seems to have,
 *	  gets a small probability rather than a zero that would veto a class.
 *	- E-step: log T[i][t] = log prior[t] + sum over i's answers of
 *	  log pi[j][t][g], normalised by log-sum-exp, so that twenty annotators
 *	  on an item never underflow; the item's log-likelihood is that
 *	  log-sum-exp, and the log-likelihood is their sum.
 * The posteriors start from majority vote's soft counts: T[i][t] = the
 * share of i's answers that are t (a tie spreads the item evenly over the
 * tied classes).  One iteration is an M-step then an E-step.
 *
 * Stopping.  EM stops when no class prior and no confusion-matrix entry
 * moved by tol or more from the previous iteration's M-step (converged),
 * or after max_iter iterations (not converged).  EM converges linearly:
 * near the maximum each step is about a fixed fraction r of the one
 * before, so when the steps fall below tol the parameters still lie some
 * tol r / (1 - r) from the maximum, and r is close to 1 where the
 * likelihood is flat (few items for the number of confusion cells).  The
 * log-likelihood moves by about the square of the parameters' steps, so
 * a rule on its change stops EM far sooner, where it crawls: at 1e-9 per
 * answer it stopped test_consensus's fixture (200 items, 4 annotators, 3
 * classes) at iteration 138, log-likelihood -499.566, posteriors up to
 * 0.55 from those at the maximum (-499.531) and 7 labels different.
 * With the parameters' rule, the posteriors at the stop were, against a
 * fit run to tol 1e-15, within 230 tol on the fixture (r about 0.983:
 * each tenfold of tol costs 133 iterations) and within 540 tol on
 * test_consensus's 2,000 simulated items of 3 annotators (r about 0.90,
 * 21 iterations).  Hence the default DAWID_SKENE_TOL = 1e-9: posteriors
 * within 6e-7 of the maximum's on both (1e-7 would leave 2e-5 and 5e-5),
 * after 1,796 and 123 iterations; rounding moves the parameters by 1e-16
 * or so, far below it.  An iteration costs O(nanswers k + m k k), so
 * DAWID_SKENE_MAX_ITER = 10,000 bounds a fit at 10,000 passes over the
 * answers: five times what the fixture needs.  A data set whose r is
 * closer to 1 may stop further from its maximum, or reach max_iter;
 * converged says which.
 *
 * The confusion matrices, priors and log-likelihood returned are those of
 * the last M-step, the posteriors those of the E-step that follows it.
 * Items without any answer take no part in the fit: their posterior is the
 * prior, their label -1 and their confidence 0.
 */
#ifndef HITL_CONSENSUS_H
#define HITL_CONSENSUS_H

#include <stdbool.h>
#include <stddef.h>

/* Limits on the sizes */
#define CONSENSUS_MAX_ITEMS 100000000
#define CONSENSUS_MAX_ANNOTATORS 100000
#define CONSENSUS_MAX_CLASSES 1000
/* At most this many confusion cells (m k k), 1 GB of doubles */
#define CONSENSUS_MAX_CELLS (((size_t) 1) << 27)

/* The defaults of Dawid-Skene */
#define DAWID_SKENE_TOL 1e-9
#define DAWID_SKENE_MAX_ITER 10000
#define DAWID_SKENE_SMOOTHING 0.01

typedef enum ConsensusStatus
{
	CONSENSUS_OK = 0,
	CONSENSUS_BAD_SIZE = -1,	/* n, m, k or the answer count out of range */
	CONSENSUS_BAD_ITEM = -2,	/* an item outside [0, n) */
	CONSENSUS_BAD_ANNOTATOR = -3,	/* an annotator outside [0, m) */
	CONSENSUS_BAD_CLASS = -4,	/* a class outside [0, k) */
	CONSENSUS_DUPLICATE = -5,	/* two answers for one (item, annotator) */
	CONSENSUS_BAD_ARGUMENT = -6 /* another argument out of range */
} ConsensusStatus;

/* One answer: annotator gave class to item */
typedef struct AnnotatorAnswer
{
	int			item;
	int			annotator;
	int			label;
} AnnotatorAnswer;

/*
 * Checked answers, by item: those of item i are at positions start[i] to
 * start[i + 1] - 1 of annotator[] and label[], in the order of annotators.
 */
typedef struct AnswerSet
{
	int			n;
	int			m;
	int			k;
	int			nanswers;
	int		   *start;			/* n + 1 */
	int		   *annotator;		/* nanswers */
	int		   *label;			/* nanswers */
} AnswerSet;

typedef struct DawidSkeneOptions
{
	double		tol;			/* on the parameters' largest change, > 0 */
	int			max_iter;		/* >= 1 */
	double		smoothing;		/* alpha, > 0 */
} DawidSkeneOptions;

typedef struct DawidSkeneResult
{
	int			n;
	int			m;
	int			k;
	double	   *posterior;		/* n x k: T[i][t] */
	int		   *label;			/* n: argmax of T[i] (lowest class on ties) */
	double	   *confidence;		/* n: T[i][label[i]] */
	double	   *prior;			/* k */
	double	   *confusion;		/* m x k x k: pi[j][t][g] */
	double	   *accuracy;		/* m: see dawid_skene() */
	int		   *answers;		/* m: how many answers each annotator gave */
	int			iterations;
	bool		converged;
	double		log_likelihood;
} DawidSkeneResult;

/* A human-readable name of a status, for messages */
extern const char *consensus_status_name(int status);

/*
 * Check nanswers answers against n items, m annotators and k classes and
 * sort them into set (to free with answer_set_free).  Returns CONSENSUS_OK
 * or the first problem found (sizes, then the answers' ranges, then
 * duplicates); on error set holds nothing to free.
 */
extern int	answer_set_build(int n, int m, int k, const AnnotatorAnswer *answers,
							 int nanswers, AnswerSet *set);
extern void answer_set_free(AnswerSet *set);

/* Count item's answers per class into count (k); returns their number */
extern int	answer_set_counts(const AnswerSet *set, int item, int *count);

/*
 * Majority vote: label[i] is the class with the most answers on item i,
 * or -1 on a tie between classes or when the item has no answer; share[i]
 * is the number of answers of the most frequent class over the item's
 * answers (also on a tie; 0 without answers).  Either output may be NULL.
 */
extern int	consensus_majority(int n, int m, int k, const AnnotatorAnswer *answers,
							   int nanswers, int *label, double *share);
extern void consensus_majority_set(const AnswerSet *set, int *label, double *share);

/* The default options: DAWID_SKENE_TOL, _MAX_ITER and _SMOOTHING */
extern void dawid_skene_defaults(DawidSkeneOptions *options);

/*
 * Fit Dawid-Skene (options NULL: the defaults) into result, allocated here
 * (free with dawid_skene_free, also after an error).  Returns CONSENSUS_OK
 * or a status.
 *
 * The estimated accuracy of annotator j is the expected share of j's
 * answers that are right under the posteriors: (1 / n_j) times the sum
 * over the items j answered of T[i][g_ij], g_ij being j's answer.  It
 * estimates the share of j's answers that are right (the empirical
 * accuracy), whatever the mix of classes j was given; NaN for an annotator
 * without answers.  (The prior-weighted accuracy, sum over t of prior[t]
 * pi[j][t][t], follows from the result when wanted.)
 */
extern int	dawid_skene(int n, int m, int k, const AnnotatorAnswer *answers,
						int nanswers, const DawidSkeneOptions *options,
						DawidSkeneResult *result);
extern int	dawid_skene_set(const AnswerSet *set, const DawidSkeneOptions *options,
							DawidSkeneResult *result);
extern void dawid_skene_free(DawidSkeneResult *result);

/*
 * The posterior of one item under fitted parameters: prior (k) and the
 * confusion matrices of m annotators (m x k x k, pi[j][t][g]), for its
 * nanswers answers (annotator[a] in [0, m), label[a] in [0, k)), into
 * posterior (k); the E-step's formula, so an item of the fit gets the
 * fit's posterior.  Returns CONSENSUS_OK or a status.
 */
extern int	dawid_skene_item(int m, int k, const double *prior, const double *confusion,
							 int nanswers, const int *annotator, const int *label,
							 double *posterior);

/*
 * The confusion matrix of an annotator the fit did not see (k x k): the
 * fitted annotators' matrices, each weighted by its number of answers
 * (evenly when none has any).
 */
extern void dawid_skene_pooled(const DawidSkeneResult *result, double *pooled);

#endif
