/*
 * tfidf.c
 *		Term weights (see tfidf.h).
 */
#include <math.h>

#include "tfidf.h"

double
tfidf_tf(double count)
{
	if (count > 0.0)
		return 1.0 + log(count);
	if (count < 0.0)
		return -(1.0 + log(-count));
	return 0.0;
}

double
tfidf_idf(int64_t n_documents, int64_t df)
{
	return log((1.0 + (double) n_documents) / (1.0 + (double) df)) + 1.0;
}

double
tfidf_scale(double ss)
{
	return ss <= 0.0 ? 1.0 : 1.0 / sqrt(ss);
}

void
tfidf_normalise(int nnz, double *values)
{
	double		ss = 0.0;
	double		scale;
	int			i;

	for (i = 0; i < nnz; i++)
		ss += values[i] * values[i];
	if (ss <= 0.0)
		return;
	scale = tfidf_scale(ss);
	for (i = 0; i < nnz; i++)
		values[i] *= scale;
}
