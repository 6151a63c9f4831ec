/*
 * calibrate.h
 *		Calibration of class probabilities on out-of-fold predictions:
 *		temperature scaling, kept only when it does not make calibration
 *		worse, and the measures of calibration (expected calibration error,
 *		Brier score, reliability bins).
 *
 * Plain C, no PostgreSQL types.
 *
 * A model's out-of-fold probabilities (each labeled row predicted by a
 * model that did not see it) show how far its confidence is from its
 * accuracy.  Temperature scaling fits one number: the calibrated
 * probabilities are p_T(c) = p(c)^(1/T) / sum_j p(j)^(1/T), which keeps the
 * ranking of the classes (so the predicted class never changes) and only
 * sharpens (T < 1) or softens (T > 1) the confidence.
 *
 * The choice must never make calibration worse.  A temperature fitted and
 * judged on the same rows always looks better, so it is judged
 * cross-fitted: for each fold, a temperature fitted on the other folds'
 * rows calibrates the fold's rows; the temperature is kept (fitted again on
 * all rows) only when those cross-fitted probabilities have both a lower
 * log-loss and a lower expected calibration error than the uncalibrated
 * ones.  Otherwise the method is "none" and T is 1.
 */
#ifndef HITL_CALIBRATE_H
#define HITL_CALIBRATE_H

#include <stdbool.h>

/* Equal-width confidence bins of the expected calibration error */
#define CALIB_BINS 15

/* The smallest and largest temperature a fit returns */
#define CALIB_T_MIN 0.02
#define CALIB_T_MAX 50.0

typedef enum CalibrationMethod
{
	CALIBRATION_NONE = 0,		/* probabilities as the model gives them */
	CALIBRATION_TEMPERATURE		/* p^(1/T), normalised */
} CalibrationMethod;

/* One bin of a reliability diagram */
typedef struct CalibrationBin
{
	int			rows;			/* rows whose confidence falls in the bin */
	double		confidence;		/* their mean confidence (0 when empty) */
	double		accuracy;		/* the share of them predicted right */
} CalibrationBin;

/* What calib_choose decided, and the figures it decided on */
typedef struct CalibrationChoice
{
	CalibrationMethod method;
	double		temperature;	/* 1 with CALIBRATION_NONE */
	double		log_loss_uncalibrated;	/* of the out-of-fold probabilities */
	double		log_loss_crossfit;	/* with the cross-fitted temperatures */
	double		ece_uncalibrated;
	double		ece_crossfit;
} CalibrationChoice;

/*
 * Apply temperature t to a probability vector of k classes, in place.
 * Zero probabilities stay zero; t = 1 changes nothing.
 */
extern void calib_apply(int k, double *proba, double t);

/*
 * Mean log-loss of rows (row-major n x k probabilities, true classes y)
 * under temperature t, over the rows whose fold differs from skip_fold
 * (every row when fold is NULL or skip_fold < 0).  Probabilities are
 * clipped to [1e-15, 1] as class_metrics does.
 */
extern double calib_log_loss(int n, int k, const double *proba, const int *y,
							 double t, const int *fold, int skip_fold);

/*
 * The temperature in [CALIB_T_MIN, CALIB_T_MAX] that minimises
 * calib_log_loss over the same rows (the log-loss is convex in 1/T:
 * Newton's method in a bracket finds its minimum), or exactly 1 when no
 * temperature does better than none.  A sharpening (T < 1) is limited so
 * that the rows' mean confidence stays within (right + 1) / (rows + 2):
 * when every row is predicted right the log-loss falls all the way to
 * CALIB_T_MIN, which would make every confidence 1.
 */
extern double calib_fit_temperature(int n, int k, const double *proba, const int *y,
									const int *fold, int skip_fold);

/*
 * Expected calibration error of n rows under temperature t (per row: the
 * confidence is the largest calibrated probability, right when its class
 * is the label; CALIB_BINS equal-width bins over [0, 1], the last one
 * closed; the sum over bins of rows/n x |accuracy - confidence|).  With
 * temps not NULL, row i uses temps[i] instead of t.  Fills bins (an array
 * of CALIB_BINS) when not NULL.
 */
extern double calib_ece(int n, int k, const double *proba, const int *y,
						double t, const double *temps, CalibrationBin *bins);

/*
 * Multiclass Brier score under temperature t: the mean over rows of
 * sum_c (p(c) - [c = y])^2.
 */
extern double calib_brier(int n, int k, const double *proba, const int *y, double t);

/*
 * Decide how to calibrate n out-of-fold predictions whose rows are in
 * folds 0 .. nfolds - 1 (see the header comment).  False (and *out set to
 * no calibration) when the input cannot be used: n < 2, nfolds < 2, a fold
 * outside the range, or a class outside 0 .. k - 1.
 */
extern bool calib_choose(int n, int k, const double *proba, const int *y,
						 const int *fold, int nfolds, CalibrationChoice *out);

#endif
