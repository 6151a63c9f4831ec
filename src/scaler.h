/*
 * scaler.h
 *		Feature standardization with mean imputation of missing values.
 *
 * Plain C, no PostgreSQL types.  Matrices are row-major, n rows by d columns.
 */
#ifndef HITL_SCALER_H
#define HITL_SCALER_H

#include <stdbool.h>

/*
 * Fit means and scales on x (n x d).  missing, when not NULL, is an n x d
 * mask: true marks a missing value, whose slot in x is ignored.  mean[j] is
 * the mean of the present values of column j (0 when none is present);
 * scale[j] is their population standard deviation (ddof = 0), or 1 when it
 * is zero or no value is present, as scikit-learn's StandardScaler does.
 */
extern void scaler_fit(int n, int d, const double *x, const bool *missing,
					   double *mean, double *scale);

/*
 * Standardize x in place: x = (x - mean) / scale.  Missing values (mask true)
 * become exactly 0, i.e. they are imputed with the training mean.
 */
extern void scaler_apply(int n, int d, double *x, const bool *missing,
						 const double *mean, const double *scale);

#endif
