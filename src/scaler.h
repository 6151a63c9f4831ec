/*
 * scaler.h
 *		Feature standardization with mean imputation of missing values.
 *
 * Plain C, no PostgreSQL types.  Matrices are row-major, n rows by d columns.
 * Every finite double is a valid value, denormals and +-1.8e308 included:
 * fitting neither overflows nor underflows (see scaler.c).
 */
#ifndef HITL_SCALER_H
#define HITL_SCALER_H

#include <stdbool.h>

/*
 * Bound on a standardized value, in standard deviations.  A training row's
 * value is within sqrt(n) of 0; a row scored later can lie anywhere (1e308
 * against a column of small numbers), and is clamped to this bound so that
 * coefficients times values never overflow.  The class probabilities of a
 * row this far out are already 0 or 1 for any weight above 1e-90.
 */
#define SCALER_LIMIT 1e100

/*
 * Fit means and scales on x (n x d).  missing, when not NULL, is an n x d
 * mask: true marks a missing value, whose slot in x is ignored.  mean[j] is
 * the mean of the present values of column j (0 when none is present);
 * scale[j] is their population standard deviation (ddof = 0), as
 * scikit-learn's StandardScaler computes it.  A column that is constant, or
 * has no present value, gets scale 1; one whose variance is within rounding
 * error of zero (scikit-learn's test) gets max(1, |mean|), so that its
 * values map to within rounding error of 0 at any magnitude.
 */
extern void scaler_fit(int n, int d, const double *x, const bool *missing,
					   double *mean, double *scale);

/*
 * Standardize x in place: x = (x - mean) / scale, clamped to
 * +-SCALER_LIMIT, computed without overflow.  Missing values (mask true)
 * become exactly 0, i.e. they are imputed with the training mean.
 */
extern void scaler_apply(int n, int d, double *x, const bool *missing,
						 const double *mean, const double *scale);

#endif
