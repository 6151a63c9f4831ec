/*
 * metrics.c
 *		Classification metrics and active-learning uncertainty scores.
 *
 * The scorer turns each row's class probabilities into a prediction, a
 * confidence and an uncertainty score (which orders the review queue); the
 * trainer summarises held-out probabilities as accuracy, macro-F1,
 * log-loss, a confusion matrix and per-class figures for
 * hitl.model_versions.  Definitions follow scikit-learn where
 * it has one, so the numbers can be compared.
 *
 * Plain C, no PostgreSQL types; see numeric_alloc.h for allocation.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "metrics.h"
#include "numeric_alloc.h"

/* Probabilities are clipped to [LOGLOSS_EPS, 1 - LOGLOSS_EPS] in log-loss */
#define LOGLOSS_EPS 1e-15

/* Rows processed between two interrupt checks */
#define METRICS_CHUNK_ROWS 8192

/*
 * Turn scores into probabilities in place: exp(z - max z), normalised.
 * Infinite scores have a limit, and it is what they get: the classes whose
 * score is +infinity share the probability, and when every score is
 * -infinity the classes are equally likely (exp(inf - inf) would be NaN).
 */
void
proba_softmax(int k, double *z)
{
	double		zmax = z[0];
	double		sum = 0.0;
	int			c;

	for (c = 1; c < k; c++)
		if (z[c] > zmax)
			zmax = z[c];
	for (c = 0; c < k; c++)
	{
		if (isinf(zmax))
			z[c] = (z[c] == zmax) ? 1.0 : 0.0;
		else
			z[c] = exp(z[c] - zmax);
		sum += z[c];
	}
	for (c = 0; c < k; c++)
		z[c] /= sum;
}

/*
 * Return the index of the largest probability, the lowest index on ties,
 * and store that probability in *confidence when it is not NULL.
 */
int
proba_argmax(int k, const double *proba, double *confidence)
{
	int			best = 0;
	int			c;

	for (c = 1; c < k; c++)
	{
		if (proba[c] > proba[best])
			best = c;
	}
	if (confidence != NULL)
		*confidence = k > 0 ? proba[best] : 0.0;
	return best;
}

/*
 * Return the uncertainty of a probability vector under a query strategy:
 * 0 for a certain prediction, larger for rows more worth labeling.
 *
 * Margin is 1 - (p1 - p2) with p1 >= p2 the two largest probabilities;
 * least confidence is 1 - p1; entropy is -sum p log p divided by log k, so
 * that the uniform distribution scores 1.  The result is clamped to [0, 1]
 * against rounding.
 */
double
uncertainty_score(UncertaintyStrategy strategy, int k, const double *proba)
{
	double		score = 0.0;
	double		p1 = -1.0;
	double		p2 = -1.0;
	int			c;

	if (k < 2)
		return 0.0;

	switch (strategy)
	{
		case UNCERTAINTY_MARGIN:
		case UNCERTAINTY_DENSITY:
		case UNCERTAINTY_DIVERSE:
		case UNCERTAINTY_COMMITTEE:
			for (c = 0; c < k; c++)
			{
				if (proba[c] > p1)
				{
					p2 = p1;
					p1 = proba[c];
				}
				else if (proba[c] > p2)
					p2 = proba[c];
			}
			score = 1.0 - (p1 - p2);
			break;

		case UNCERTAINTY_LEAST_CONFIDENCE:
			for (c = 0; c < k; c++)
			{
				if (proba[c] > p1)
					p1 = proba[c];
			}
			score = 1.0 - p1;
			break;

		case UNCERTAINTY_ENTROPY:
			for (c = 0; c < k; c++)
			{
				if (proba[c] > 0.0)
					score -= proba[c] * log(proba[c]);
			}
			score /= log((double) k);
			break;
	}

	if (!(score > 0.0))			/* also maps NaN to 0 */
		score = 0.0;
	if (score > 1.0)
		score = 1.0;
	return score;
}

/* See metrics.h */
double
metrics_row_loss(double p)
{
	if (!(p >= LOGLOSS_EPS))	/* also catches NaN */
		p = LOGLOSS_EPS;
	if (p > 1.0 - LOGLOSS_EPS)
		p = 1.0 - LOGLOSS_EPS;
	return -log(p);
}

/*
 * The figures of n rows (n > 0) from their correct predictions, summed
 * log-losses and per-class true positives, false positives and false
 * negatives: macro-F1 over the classes that occur
 */
static void
metrics_finish(int n, int k, double correct, double loss, const double *tp,
			   const double *fp, const double *fn, ClassMetrics *out)
{
	double		f1_sum = 0.0;
	int			present = 0;
	int			c;

	for (c = 0; c < k; c++)
	{
		double		denom = 2.0 * tp[c] + fp[c] + fn[c];

		if (denom > 0.0)
		{
			f1_sum += 2.0 * tp[c] / denom;
			present++;
		}
	}
	out->accuracy = correct / n;
	out->macro_f1 = present > 0 ? f1_sum / present : 0.0;
	out->log_loss = loss / n;
}

/*
 * Compute accuracy, macro-F1 and mean log-loss of n rows of predicted
 * probabilities (n x k, row-major) against the true classes y.
 *
 * The predicted class of a row is proba_argmax().  Macro-F1 averages the
 * per-class F1 = 2 TP / (2 TP + FP + FN) over the classes that occur in y
 * or among the predictions, like scikit-learn's f1_score(average='macro').
 * A label outside [0, k) counts as a wrong prediction with probability
 * LOGLOSS_EPS.  With n == 0 every metric is 0.
 */
void
class_metrics(int n, int k, const double *proba, const int *y,
			  ClassMetrics *out)
{
	double	   *tp;
	double	   *fp;
	double	   *fn;
	double		correct = 0.0;
	double		loss = 0.0;
	int			i;

	out->n = n;
	out->accuracy = 0.0;
	out->macro_f1 = 0.0;
	out->log_loss = 0.0;
	if (n <= 0 || k <= 0)
		return;

	tp = hitl_alloc(sizeof(double) * k);
	fp = hitl_alloc(sizeof(double) * k);
	fn = hitl_alloc(sizeof(double) * k);

	for (i = 0; i < n; i++)
	{
		const double *row = proba + (size_t) i * k;
		int			pred = proba_argmax(k, row, NULL);
		int			label = y[i];
		double		p = LOGLOSS_EPS;

		if (i % METRICS_CHUNK_ROWS == 0)
			hitl_check_interrupts();

		if (label >= 0 && label < k)
			p = row[label];
		loss += metrics_row_loss(p);

		if (pred == label)
		{
			correct += 1.0;
			tp[pred] += 1.0;
		}
		else
		{
			fp[pred] += 1.0;
			if (label >= 0 && label < k)
				fn[label] += 1.0;
		}
	}

	metrics_finish(n, k, correct, loss, tp, fp, fn, out);
	hitl_free(tp);
	hitl_free(fp);
	hitl_free(fn);
}

/* See metrics.h */
void
class_metrics_counts(int n, int k, double loss_sum, const double *confusion,
					 ClassMetrics *out)
{
	double	   *tp;
	double	   *fp;
	double	   *fn;
	double		correct = 0.0;
	int			c;
	int			t;

	out->n = n;
	out->accuracy = 0.0;
	out->macro_f1 = 0.0;
	out->log_loss = 0.0;
	if (n <= 0 || k <= 0)
		return;
	tp = hitl_alloc(sizeof(double) * k);
	fp = hitl_alloc(sizeof(double) * k);
	fn = hitl_alloc(sizeof(double) * k);
	for (t = 0; t < k; t++)
		for (c = 0; c < k; c++)
		{
			double		count = confusion[(size_t) t * k + c];

			if (c == t)
			{
				correct += count;
				tp[c] += count;
			}
			else
			{
				fp[c] += count;
				fn[t] += count;
			}
		}
	metrics_finish(n, k, correct, loss_sum, tp, fp, fn, out);
	hitl_free(tp);
	hitl_free(fp);
	hitl_free(fn);
}

/* See metrics.h */
void
confusion_count(int n, int k, const double *proba, const int *y, int64_t *counts)
{
	int			i;

	memset(counts, 0, sizeof(int64_t) * (size_t) k * k);
	for (i = 0; i < n; i++)
	{
		if (i % METRICS_CHUNK_ROWS == 0)
			hitl_check_interrupts();
		if (y[i] < 0 || y[i] >= k)
			continue;
		counts[(size_t) y[i] * k + proba_argmax(k, proba + (size_t) i * k, NULL)]++;
	}
}

/*
 * Per class: TP on the diagonal, FN the rest of its row, FP the rest of
 * its column.
 */
double
class_report(int k, const int64_t *counts, ClassReport *out)
{
	double		f1_sum = 0.0;
	int			present = 0;
	int			c;
	int			j;

	for (c = 0; c < k; c++)
	{
		double		tp = (double) counts[(size_t) c * k + c];
		double		fn = 0.0;
		double		fp = 0.0;

		for (j = 0; j < k; j++)
			if (j != c)
			{
				fn += (double) counts[(size_t) c * k + j];
				fp += (double) counts[(size_t) j * k + c];
			}
		out[c].support = (int64_t) (tp + fn);
		out[c].precision = tp + fp > 0.0 ? tp / (tp + fp) : 0.0;
		out[c].recall = tp + fn > 0.0 ? tp / (tp + fn) : 0.0;
		out[c].f1 = 2.0 * tp + fp + fn > 0.0 ? 2.0 * tp / (2.0 * tp + fp + fn) : 0.0;
		if (2.0 * tp + fp + fn > 0.0)
		{
			f1_sum += out[c].f1;
			present++;
		}
	}
	return present > 0 ? f1_sum / present : 0.0;
}
