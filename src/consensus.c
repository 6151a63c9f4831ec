/*
 * consensus.c
 *		Majority vote and Dawid-Skene over several annotators' answers (see
 *		consensus.h for the model, its smoothing and its stopping rule).
 *
 * Plain C, no PostgreSQL types.  The answers are first checked and sorted
 * by (item, annotator) into an AnswerSet; every sum then runs over the
 * items in order and over each item's answers in the order of annotators,
 * so the results do not depend on the order the answers came in.
 *
 * Cost: an iteration of EM reads every answer twice (M-step and E-step),
 * O(nanswers k), plus O(m k k) to normalise the confusion matrices and to
 * compare them with the previous iteration's (the stopping rule).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "consensus.h"
#include "numeric_alloc.h"

static int	compare_answers(const void *a, const void *b);
static int	check_sizes(int n, int m, int k, const AnnotatorAnswer *answers, int nanswers);
static void vote_shares(const AnswerSet *set, double *posterior);
static void m_step(const AnswerSet *set, const double *posterior, double alpha,
				   double *prior, double *confusion, double *logpi);
static double e_step(const AnswerSet *set, const double *prior, const double *logpi,
					 double *posterior);
static double parameter_change(const double *parameters, double *previous, size_t count);
static void finish_result(const AnswerSet *set, DawidSkeneResult *r);

/* The names of the statuses, by -status */
static const char *const status_names[] = {
	"ok",
	"number of items, annotators, classes or answers out of range",
	"item out of range",
	"annotator out of range",
	"class out of range",
	"two answers of one annotator on one item",
	"argument out of range"
};

const char *
consensus_status_name(int status)
{
	if (status > 0 || -status >= (int) (sizeof(status_names) / sizeof(status_names[0])))
		return "unknown status";
	return status_names[-status];
}

/* Order answers by item, then annotator */
static int
compare_answers(const void *a, const void *b)
{
	const AnnotatorAnswer *x = a;
	const AnnotatorAnswer *y = b;

	if (x->item != y->item)
		return (x->item > y->item) - (x->item < y->item);
	return (x->annotator > y->annotator) - (x->annotator < y->annotator);
}

/* CONSENSUS_OK when the sizes are in range */
static int
check_sizes(int n, int m, int k, const AnnotatorAnswer *answers, int nanswers)
{
	if (n < 1 || n > CONSENSUS_MAX_ITEMS || m < 1 || m > CONSENSUS_MAX_ANNOTATORS ||
		k < 1 || k > CONSENSUS_MAX_CLASSES ||
		(size_t) m * k * k > CONSENSUS_MAX_CELLS)
		return CONSENSUS_BAD_SIZE;
	if (nanswers < 0 || (nanswers > 0 && answers == NULL) ||
		(double) nanswers > (double) n * m)
		return CONSENSUS_BAD_SIZE;
	return CONSENSUS_OK;
}

int
answer_set_build(int n, int m, int k, const AnnotatorAnswer *answers, int nanswers,
				 AnswerSet *set)
{
	AnnotatorAnswer *sorted;
	int			status = check_sizes(n, m, k, answers, nanswers);
	int			a;

	memset(set, 0, sizeof(*set));
	if (status != CONSENSUS_OK)
		return status;
	for (a = 0; a < nanswers; a++)
	{
		if (answers[a].item < 0 || answers[a].item >= n)
			return CONSENSUS_BAD_ITEM;
		if (answers[a].annotator < 0 || answers[a].annotator >= m)
			return CONSENSUS_BAD_ANNOTATOR;
		if (answers[a].label < 0 || answers[a].label >= k)
			return CONSENSUS_BAD_CLASS;
	}
	sorted = hitl_alloc(sizeof(AnnotatorAnswer) * (size_t) nanswers);
	if (nanswers > 0)
		memcpy(sorted, answers, sizeof(AnnotatorAnswer) * (size_t) nanswers);
	qsort(sorted, nanswers, sizeof(AnnotatorAnswer), compare_answers);
	for (a = 1; a < nanswers; a++)
		if (compare_answers(&sorted[a - 1], &sorted[a]) == 0)
		{
			hitl_free(sorted);
			return CONSENSUS_DUPLICATE;
		}
	set->n = n;
	set->m = m;
	set->k = k;
	set->nanswers = nanswers;
	/* one block for the three arrays */
	set->start = hitl_alloc(sizeof(int) * ((size_t) n + 1 + 2 * (size_t) nanswers));
	set->annotator = set->start + n + 1;
	set->label = set->annotator + nanswers;
	for (a = 0; a < nanswers; a++)
	{
		set->start[sorted[a].item + 1]++;
		set->annotator[a] = sorted[a].annotator;
		set->label[a] = sorted[a].label;
	}
	for (a = 0; a < n; a++)
		set->start[a + 1] += set->start[a];
	hitl_free(sorted);
	return CONSENSUS_OK;
}

void
answer_set_free(AnswerSet *set)
{
	hitl_free(set->start);		/* the block of the three arrays */
	memset(set, 0, sizeof(*set));
}

int
answer_set_counts(const AnswerSet *set, int item, int *count)
{
	int			a;

	memset(count, 0, sizeof(int) * set->k);
	for (a = set->start[item]; a < set->start[item + 1]; a++)
		count[set->label[a]]++;
	return set->start[item + 1] - set->start[item];
}

void
consensus_majority_set(const AnswerSet *set, int *label, double *share)
{
	int		   *count = hitl_alloc(sizeof(int) * set->k);
	int			i;

	for (i = 0; i < set->n; i++)
	{
		int			total = answer_set_counts(set, i, count);
		int			best = -1;
		int			top = 0;
		int			c;

		for (c = 0; c < set->k; c++)
			if (count[c] > top)
			{
				top = count[c];
				best = c;
			}
			else if (count[c] == top && top > 0)
				best = -1;
		if (label != NULL)
			label[i] = best;
		if (share != NULL)
			share[i] = total > 0 ? (double) top / total : 0.0;
	}
	hitl_free(count);
}

int
consensus_majority(int n, int m, int k, const AnnotatorAnswer *answers, int nanswers,
				   int *label, double *share)
{
	AnswerSet	set;
	int			status = answer_set_build(n, m, k, answers, nanswers, &set);

	if (status != CONSENSUS_OK)
		return status;
	consensus_majority_set(&set, label, share);
	answer_set_free(&set);
	return CONSENSUS_OK;
}

void
dawid_skene_defaults(DawidSkeneOptions *options)
{
	options->tol = DAWID_SKENE_TOL;
	options->max_iter = DAWID_SKENE_MAX_ITER;
	options->smoothing = DAWID_SKENE_SMOOTHING;
}

/* The starting posteriors: each item's share of answers per class */
static void
vote_shares(const AnswerSet *set, double *posterior)
{
	int		   *count = hitl_alloc(sizeof(int) * set->k);
	int			i;
	int			c;

	for (i = 0; i < set->n; i++)
	{
		int			total = answer_set_counts(set, i, count);

		for (c = 0; c < set->k; c++)
			posterior[(size_t) i * set->k + c] = total > 0 ? (double) count[c] / total : 0.0;
	}
	hitl_free(count);
}

/*
 * The M-step: the smoothed priors and confusion matrices under the
 * posteriors of the items that have answers, and the logarithms of the
 * confusion matrices in logpi.
 */
static void
m_step(const AnswerSet *set, const double *posterior, double alpha,
	   double *prior, double *confusion, double *logpi)
{
	int			k = set->k;
	size_t		cells = (size_t) set->m * k * k;
	size_t		row;
	int			answered = 0;
	int			i;
	int			a;
	int			t;

	for (t = 0; t < k; t++)
		prior[t] = alpha;
	for (row = 0; row < cells; row++)
		confusion[row] = alpha;
	for (i = 0; i < set->n; i++)
	{
		const double *p = posterior + (size_t) i * k;

		if (set->start[i] == set->start[i + 1])
			continue;
		answered++;
		for (t = 0; t < k; t++)
			prior[t] += p[t];
		for (a = set->start[i]; a < set->start[i + 1]; a++)
		{
			double	   *pi = confusion + (size_t) set->annotator[a] * k * k + set->label[a];

			for (t = 0; t < k; t++)
				pi[(size_t) t * k] += p[t];
		}
	}
	for (t = 0; t < k; t++)
		prior[t] /= answered + k * alpha;
	for (row = 0; row < cells; row += k)
	{
		double		sum = 0.0;
		int			g;

		for (g = 0; g < k; g++)
			sum += confusion[row + g];
		for (g = 0; g < k; g++)
		{
			confusion[row + g] /= sum;
			logpi[row + g] = log(confusion[row + g]);
		}
	}
	hitl_check_interrupts();
}

/*
 * The E-step: the posteriors under the priors and the logarithms of the
 * confusion matrices, in log space; returns the log-likelihood.
 */
static double
e_step(const AnswerSet *set, const double *prior, const double *logpi, double *posterior)
{
	double		loglik = 0.0;
	int			k = set->k;
	int			i;
	int			a;
	int			t;

	for (i = 0; i < set->n; i++)
	{
		double	   *p = posterior + (size_t) i * k;
		double		top = -INFINITY;
		double		sum = 0.0;
		double		lse;

		if (set->start[i] == set->start[i + 1])
		{
			memcpy(p, prior, sizeof(double) * k);
			continue;
		}
		for (t = 0; t < k; t++)
			p[t] = log(prior[t]);
		for (a = set->start[i]; a < set->start[i + 1]; a++)
		{
			const double *lp = logpi + (size_t) set->annotator[a] * k * k + set->label[a];

			for (t = 0; t < k; t++)
				p[t] += lp[(size_t) t * k];
		}
		for (t = 0; t < k; t++)
			top = fmax(top, p[t]);
		for (t = 0; t < k; t++)
			sum += exp(p[t] - top);
		lse = top + log(sum);
		for (t = 0; t < k; t++)
			p[t] = exp(p[t] - lse);
		loglik += lse;
	}
	hitl_check_interrupts();
	return loglik;
}

/*
 * The largest absolute difference between parameters and previous (count
 * doubles each); then copies parameters into previous
 */
static double
parameter_change(const double *parameters, double *previous, size_t count)
{
	double		change = 0.0;
	size_t		c;

	for (c = 0; c < count; c++)
	{
		change = fmax(change, fabs(parameters[c] - previous[c]));
		previous[c] = parameters[c];
	}
	return change;
}

/* Labels, confidences, answer counts and accuracies from the posteriors */
static void
finish_result(const AnswerSet *set, DawidSkeneResult *r)
{
	int			k = set->k;
	double	   *right = hitl_alloc(sizeof(double) * set->m);
	int			i;
	int			a;
	int			t;

	for (i = 0; i < set->n; i++)
	{
		const double *p = r->posterior + (size_t) i * k;
		int			best = 0;

		for (t = 1; t < k; t++)
			if (p[t] > p[best])
				best = t;
		r->label[i] = set->start[i] < set->start[i + 1] ? best : -1;
		r->confidence[i] = r->label[i] >= 0 ? p[best] : 0.0;
		for (a = set->start[i]; a < set->start[i + 1]; a++)
		{
			right[set->annotator[a]] += p[set->label[a]];
			r->answers[set->annotator[a]]++;
		}
	}
	for (a = 0; a < set->m; a++)
		r->accuracy[a] = r->answers[a] > 0 ? right[a] / r->answers[a] : NAN;
	hitl_free(right);
}

int
dawid_skene_set(const AnswerSet *set, const DawidSkeneOptions *options,
				DawidSkeneResult *result)
{
	DawidSkeneOptions defaults;
	int			k = set->k;
	size_t		cells = (size_t) set->m * k * k;
	double	   *logpi;
	double	   *previous;
	double		change;

	memset(result, 0, sizeof(*result));
	if (options == NULL)
	{
		dawid_skene_defaults(&defaults);
		options = &defaults;
	}
	if (!(options->tol > 0.0) || options->max_iter < 1 || !(options->smoothing > 0.0) ||
		!isfinite(options->smoothing))
		return CONSENSUS_BAD_ARGUMENT;
	result->n = set->n;
	result->m = set->m;
	result->k = k;
	/* one block: the doubles, then the ints; prior and confusion adjacent */
	result->posterior = hitl_alloc(sizeof(double) * ((size_t) set->n * (k + 1) + k + cells + set->m) +
								   sizeof(int) * ((size_t) set->n + set->m));
	result->confidence = result->posterior + (size_t) set->n * k;
	result->prior = result->confidence + set->n;
	result->confusion = result->prior + k;
	result->accuracy = result->confusion + cells;
	result->label = (int *) (result->accuracy + set->m);
	result->answers = result->label + set->n;
	/* one block: logpi, then the previous M-step's prior and confusion */
	logpi = hitl_alloc(sizeof(double) * (2 * cells + k));
	previous = logpi + cells;

	vote_shares(set, result->posterior);
	while (result->iterations < options->max_iter && !result->converged)
	{
		m_step(set, result->posterior, options->smoothing, result->prior, result->confusion,
			   logpi);
		/* the priors and the confusion matrices, adjacent in the block */
		change = parameter_change(result->prior, previous, k + cells);
		result->log_likelihood = e_step(set, result->prior, logpi, result->posterior);
		result->converged = result->iterations > 0 && change < options->tol;
		result->iterations++;
	}
	finish_result(set, result);
	hitl_free(logpi);
	return CONSENSUS_OK;
}

int
dawid_skene(int n, int m, int k, const AnnotatorAnswer *answers, int nanswers,
			const DawidSkeneOptions *options, DawidSkeneResult *result)
{
	AnswerSet	set;
	int			status;

	memset(result, 0, sizeof(*result));
	status = answer_set_build(n, m, k, answers, nanswers, &set);
	if (status != CONSENSUS_OK)
		return status;
	status = dawid_skene_set(&set, options, result);
	answer_set_free(&set);
	return status;
}

void
dawid_skene_free(DawidSkeneResult *result)
{
	hitl_free(result->posterior);	/* the block of every array */
	memset(result, 0, sizeof(*result));
}

int
dawid_skene_item(int m, int k, const double *prior, const double *confusion,
				 int nanswers, const int *annotator, const int *label, double *posterior)
{
	double		top = -INFINITY;
	double		sum = 0.0;
	int			a;
	int			t;

	if (m < 1 || k < 1 || k > CONSENSUS_MAX_CLASSES || m > CONSENSUS_MAX_ANNOTATORS ||
		nanswers < 0)
		return CONSENSUS_BAD_SIZE;
	for (a = 0; a < nanswers; a++)
	{
		if (annotator[a] < 0 || annotator[a] >= m)
			return CONSENSUS_BAD_ANNOTATOR;
		if (label[a] < 0 || label[a] >= k)
			return CONSENSUS_BAD_CLASS;
	}
	for (t = 0; t < k; t++)
		posterior[t] = log(prior[t]);
	for (a = 0; a < nanswers; a++)
	{
		const double *pi = confusion + (size_t) annotator[a] * k * k + label[a];

		for (t = 0; t < k; t++)
			posterior[t] += log(pi[(size_t) t * k]);
	}
	for (t = 0; t < k; t++)
		top = fmax(top, posterior[t]);
	if (!isfinite(top))
		return CONSENSUS_BAD_ARGUMENT;	/* a zero probability on every class */
	for (t = 0; t < k; t++)
		sum += exp(posterior[t] - top);
	for (t = 0; t < k; t++)
		posterior[t] = exp(posterior[t] - top) / sum;
	return CONSENSUS_OK;
}

void
dawid_skene_pooled(const DawidSkeneResult *result, double *pooled)
{
	size_t		cells = (size_t) result->k * result->k;
	double		total = 0.0;
	int			j;
	size_t		c;

	for (j = 0; j < result->m; j++)
		total += result->answers[j];
	memset(pooled, 0, sizeof(double) * cells);
	for (j = 0; j < result->m; j++)
	{
		double		w = total > 0 ? result->answers[j] / total : 1.0 / result->m;

		for (c = 0; c < cells; c++)
			pooled[c] += w * result->confusion[(size_t) j * cells + c];
	}
}
