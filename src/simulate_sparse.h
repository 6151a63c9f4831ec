/*
 * simulate_sparse.h
 *		The model of a simulation with text features, retrained each round:
 *		sparse rows over the dense features and the vocabulary of the
 *		labeled rows, as the worker trains a text model (sparserow.h).
 *
 * Plain C, no PostgreSQL types.  The data's text part holds each row's
 * text buckets (ascending) with their tf-idf weights, L2-normalised over
 * the row's text, the idf being of all the data's rows (the worker's is of
 * all the table's).  A fit makes the buckets the labeled rows use the
 * vocabulary, numbered after the d dense features: logistic regression
 * standardizes the dense features on the labeled rows (a missing value
 * becomes the mean) and fits by L-BFGS from zero (sparse_logreg.h);
 * naive Bayes takes the dense values as they are (missing: 0) and its
 * dimension is d + buckets.  A bucket outside the vocabulary has no
 * parameter, but still counts in a row's mass for naive Bayes.
 */
#ifndef HITL_SIMULATE_SPARSE_H
#define HITL_SIMULATE_SPARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "nbayes.h"
#include "simulate_math.h"
#include "strategy_math.h"

typedef struct SimSparse
{
	const SimData *data;
	const SimParams *p;
	int			d;				/* dense features */
	int			k;
	int			buckets;		/* the text part's columns */
	int			nvocab;
	int		   *pos;			/* per bucket: its vocabulary position, or -1 */
	int		   *vocab;			/* the vocabulary's buckets, ascending */
	double	   *mean;			/* dense standardization (logistic) */
	double	   *scale;
	double	   *coef;			/* logreg_ncoef(d + nvocab, k) */
	NBayesModel nb;
	bool		nb_built;
	/* rows as sparse vectors (scratch): rows over positions or columns */
	int64_t    *indptr;
	int		   *indices;
	double	   *values;
	double	   *mass;			/* naive Bayes: each row's sum of values */
	int		   *y;
	double	   *x;				/* scratch: dense rows */
	bool	   *missing;
	int64_t		capacity;		/* of indices and values */
} SimSparse;

extern void sim_sparse_init(SimSparse *s, const SimData *data, const SimParams *p);
extern void sim_sparse_free(SimSparse *s);

/* Fit on m rows (row numbers of the data); false when the solver refuses */
extern bool sim_sparse_fit(SimSparse *s, const int *rows, int m);

/* Class probabilities of m rows under the last fit into proba (m x k) */
extern void sim_sparse_predict(SimSparse *s, const int *rows, int m, double *proba);

/*
 * The m rows as vectors for the similarity strategies (density, diverse):
 * columns the d dense features (standardized as by the last fit, for
 * logistic regression) then the buckets; valid until the next call.
 */
extern void sim_sparse_rows(SimSparse *s, const int *rows, int m, StrategyRows *out);

/*
 * The committee strategy on text: members logistic regressions fitted on
 * bootstrap resamples of the nl labeled rows lab (over the last fit's
 * vocabulary and standardization), u receiving the disagreement of each
 * of the na rows avail (sim_committee_uncertainty's measure).  False when
 * the solver refuses a member.
 */
extern bool sim_sparse_committee(SimSparse *s, const int *lab, int nl, const int *avail, int na,
								 SimRng *rng, double *u);

#endif
