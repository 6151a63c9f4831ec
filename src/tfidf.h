/*
 * tfidf.h
 *		Term weights: sublinear term frequency, inverse document frequency,
 *		and the L2 normalisation of a row.
 *
 * Plain C, no PostgreSQL types.  The formulas are scikit-learn's
 * TfidfTransformer(sublinear_tf = True, smooth_idf = True, norm = 'l2'):
 *
 *		tf  = 1 + ln(count)					(count > 0)
 *		idf = ln((1 + n) / (1 + df)) + 1	(n documents, df of them with the term)
 *
 * With sign hashing a bucket's count is a signed sum; the sublinear tf keeps
 * its sign: sign(c) * (1 + ln|c|), and 0 stays 0.
 */
#ifndef HITL_TFIDF_H
#define HITL_TFIDF_H

#include <stdint.h>

extern double tfidf_tf(double count);
extern double tfidf_idf(int64_t n_documents, int64_t df);

/* Scale values[0..nnz-1] to unit Euclidean norm (all zeros stay zeros) */
extern void tfidf_normalise(int nnz, double *values);

/*
 * The factor by which tfidf_normalise multiplies values whose squares sum
 * to ss (summed in their order): 1 when it leaves them as they are
 */
extern double tfidf_scale(double ss);

#endif
