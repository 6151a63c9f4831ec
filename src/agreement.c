/*
 * agreement.c
 *		Cohen's kappa, Fleiss' kappa and Krippendorff's alpha (nominal)
 *		over an AnswerSet (see agreement.h for the definitions).
 *
 * Plain C, no PostgreSQL types.  Each measure is one pass over the answers.
 * What can be counted is counted in 64-bit integers, so that the tests of
 * an undefined measure (chance agreement exactly 1, no disagreement to
 * expect) are exact rather than a comparison of rounded doubles.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "agreement.h"
#include "numeric_alloc.h"

static int	answer_of(const AnswerSet *set, int item, int annotator);
static int64_t count_classes(const AnswerSet *set, int item, int *count, int64_t *total);

/* The class annotator gave to item, or -1 */
static int
answer_of(const AnswerSet *set, int item, int annotator)
{
	int			a;

	for (a = set->start[item]; a < set->start[item + 1]; a++)
		if (set->annotator[a] >= annotator)
			return set->annotator[a] == annotator ? set->label[a] : -1;
	return -1;
}

/*
 * Count item's answers per class into count (k), add them to total (k);
 * returns the sum of the squared counts
 */
static int64_t
count_classes(const AnswerSet *set, int item, int *count, int64_t *total)
{
	int64_t		squares = 0;
	int			c;

	answer_set_counts(set, item, count);
	for (c = 0; c < set->k; c++)
	{
		squares += (int64_t) count[c] * count[c];
		total[c] += count[c];
	}
	return squares;
}

int
agreement_cohen_kappa(const AnswerSet *set, int a, int b, double *kappa, long *common)
{
	int64_t    *count_a;
	int64_t    *count_b;
	int64_t		n = 0;
	int64_t		agree = 0;
	int64_t		chance = 0;
	int			i;
	int			c;

	*kappa = NAN;
	*common = 0;
	if (a < 0 || a >= set->m || b < 0 || b >= set->m)
		return CONSENSUS_BAD_ANNOTATOR;
	if (a == b)
		return CONSENSUS_BAD_ARGUMENT;
	count_a = hitl_alloc(sizeof(int64_t) * set->k);
	count_b = hitl_alloc(sizeof(int64_t) * set->k);
	for (i = 0; i < set->n; i++)
	{
		int			la = answer_of(set, i, a);
		int			lb = la >= 0 ? answer_of(set, i, b) : -1;

		if (lb < 0)
			continue;
		n++;
		agree += la == lb ? 1 : 0;
		count_a[la]++;
		count_b[lb]++;
	}
	for (c = 0; c < set->k; c++)
		chance += count_a[c] * count_b[c];

	/*
	 * kappa = 1 - (1 - p_o) / (1 - p_e), with p_o = agree / n and p_e =
	 * chance / n^2: 1 - n (n - agree) / (n^2 - chance), p_e = 1 exactly when
	 * n^2 = chance.
	 */
	*common = (long) n;
	if (n >= 2 && n * n != chance)
		*kappa = 1.0 - (double) n * (double) (n - agree) / (double) (n * n - chance);
	hitl_free(count_a);
	hitl_free(count_b);
	return CONSENSUS_OK;
}

int
agreement_fleiss_kappa(const AnswerSet *set, int r, double *kappa, long *items)
{
	int64_t    *total = hitl_alloc(sizeof(int64_t) * set->k);
	int		   *count = hitl_alloc(sizeof(int) * set->k);
	int64_t		n = 0;
	int64_t		squares = 0;
	int64_t		nr;
	int64_t		chance = 0;
	int			i;
	int			c;

	*kappa = NAN;
	*items = 0;
	if (r < 2 || r > set->m)
	{
		hitl_free(total);
		hitl_free(count);
		return CONSENSUS_BAD_ARGUMENT;
	}
	for (i = 0; i < set->n; i++)
	{
		if (set->start[i + 1] - set->start[i] != r)
			continue;
		squares += count_classes(set, i, count, total);
		n++;
	}
	nr = n * r;
	for (c = 0; c < set->k; c++)
		chance += total[c] * total[c];
	*items = (long) n;
	if (n > 0 && chance != nr * nr)
	{
		double		p_mean = (double) (squares - nr) / ((double) nr * (r - 1));
		double		p_chance = (double) chance / ((double) nr * (double) nr);

		*kappa = (p_mean - p_chance) / (1.0 - p_chance);
	}
	hitl_free(total);
	hitl_free(count);
	return CONSENSUS_OK;
}

void
agreement_krippendorff_alpha(const AnswerSet *set, double *alpha, long *items)
{
	int64_t    *total = hitl_alloc(sizeof(int64_t) * set->k);
	int		   *count = hitl_alloc(sizeof(int) * set->k);
	int64_t		n = 0;
	int64_t		same = 0;
	double		observed = 0.0;
	int			i;
	int			c;

	*alpha = NAN;
	*items = 0;
	for (i = 0; i < set->n; i++)
	{
		int64_t		mu = set->start[i + 1] - set->start[i];
		int64_t		squares;

		if (mu < 2)
			continue;
		squares = count_classes(set, i, count, total);
		/* the item's pairs of different values, each weighted 1 / (m_u - 1) */
		observed += (double) (mu * mu - squares) / (double) (mu - 1);
		n += mu;
		(*items)++;
	}
	for (c = 0; c < set->k; c++)
		same += total[c] * total[c];
	/* sum over c != d of n_c n_d is n^2 - sum_c n_c^2 */
	if (n > 0 && n * n != same)
		*alpha = 1.0 - (double) (n - 1) * observed / (double) (n * n - same);
	hitl_free(total);
	hitl_free(count);
}

int
agreement_measure(int n, int m, int k, const AnnotatorAnswer *answers, int nanswers,
				  AgreementMeasure measure, int a, int b, int r, double *value, long *count)
{
	AnswerSet	set;
	int			status = answer_set_build(n, m, k, answers, nanswers, &set);

	*value = NAN;
	*count = 0;
	if (status != CONSENSUS_OK)
		return status;
	switch (measure)
	{
		case AGREEMENT_COHEN_KAPPA:
			status = agreement_cohen_kappa(&set, a, b, value, count);
			break;
		case AGREEMENT_FLEISS_KAPPA:
			status = agreement_fleiss_kappa(&set, r, value, count);
			break;
		case AGREEMENT_KRIPPENDORFF_ALPHA:
			agreement_krippendorff_alpha(&set, value, count);
			break;
		default:
			status = CONSENSUS_BAD_ARGUMENT;
			break;
	}
	answer_set_free(&set);
	return status;
}
