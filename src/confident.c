/*
 * confident.c
 *		Confident learning on out-of-fold probabilities: the per-class
 *		thresholds and the suspect labels (see confident.h).
 *
 * Plain C, no PostgreSQL types.  Two linear passes over the rows.
 */
#include "confident.h"
#include "numeric_alloc.h"

void
confident_thresholds(int n, int k, const double *proba, const int *y,
					 double *thresholds)
{
	long	   *count = hitl_alloc(sizeof(long) * k);
	int			i;
	int			c;

	for (c = 0; c < k; c++)
		thresholds[c] = 0.0;
	for (i = 0; i < n; i++)
	{
		if (y[i] < 0 || y[i] >= k)
			continue;
		thresholds[y[i]] += proba[(size_t) i * k + y[i]];
		count[y[i]]++;
	}
	for (c = 0; c < k; c++)
		thresholds[c] = count[c] > 0 ? thresholds[c] / count[c] : 2.0;
	hitl_free(count);
}

int
confident_suspects(int n, int k, const double *proba, const int *y,
				   const double *thresholds, bool *suspect)
{
	int			found = 0;
	int			i;
	int			c;

	for (i = 0; i < n; i++)
	{
		const double *p = proba + (size_t) i * k;

		suspect[i] = false;
		if (y[i] < 0 || y[i] >= k || p[y[i]] >= thresholds[y[i]])
			continue;
		for (c = 0; c < k && !suspect[i]; c++)
			suspect[i] = c != y[i] && p[c] >= thresholds[c];
		found += suspect[i] ? 1 : 0;
	}
	hitl_check_interrupts();
	return found;
}
