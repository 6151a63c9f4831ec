/*
 * test_calibrate.c
 *		Unit tests of calibrate.c: temperature scaling, the expected
 *		calibration error, the Brier score and the rule that keeps a
 *		temperature only when it makes calibration better.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"
#include "metrics.h"
#include "tap.h"

/* A deterministic generator of our own: the same draws on every platform */
static unsigned long long lcg_state = 42;

static double
uniform(void)
{
	lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double) (lcg_state >> 11) / 9007199254740992.0;
}

/*
 * n rows of k classes: true probabilities q from random scores, the label
 * drawn from q, and the reported probabilities q under temperature t_model
 * (t_model < 1: overconfident).  proba and y are filled.
 */
static void
make_rows(int n, int k, double t_model, double *proba, int *y)
{
	int			i;
	int			c;

	for (i = 0; i < n; i++)
	{
		double	   *p = proba + (size_t) i * k;
		double		u;
		double		acc = 0.0;

		for (c = 0; c < k; c++)
			p[c] = 3.0 * uniform();
		proba_softmax(k, p);
		u = uniform();
		y[i] = k - 1;
		for (c = 0; c < k; c++)
		{
			acc += p[c];
			if (u < acc)
			{
				y[i] = c;
				break;
			}
		}
		calib_apply(k, p, t_model);
	}
}

static void apply_reference(int k, double *proba, double t);
static void test_apply_many(void);

static void
test_apply(void)
{
	double		p[2] = {0.8, 0.2};
	double		z[3] = {0.5, 0.0, 0.5};
	double		q[4] = {0.1, 0.4, 0.3, 0.2};
	double		t;
	bool		same = true;

	calib_apply(2, p, 0.5);
	ok(fabs(p[0] - 0.64 / 0.68) < 1e-12 && fabs(p[1] - 0.04 / 0.68) < 1e-12,
	   "T = 0.5 squares and normalises: (0.8, 0.2) -> (%.6f, %.6f)", p[0], p[1]);
	calib_apply(3, z, 2.0);
	ok(z[0] == 0.5 && z[1] == 0.0 && z[2] == 0.5, "a zero probability stays zero");
	p[0] = 0.8;
	p[1] = 0.2;
	calib_apply(2, p, 1.0);
	ok(p[0] == 0.8 && p[1] == 0.2, "T = 1 changes nothing");
	for (t = 0.05; t < 40.0; t *= 1.7)
	{
		double		r[4] = {0.1, 0.4, 0.3, 0.2};
		double		conf;

		calib_apply(4, r, t);
		same = same && proba_argmax(4, r, &conf) == proba_argmax(4, q, NULL) &&
			r[1] > r[2] && r[2] > r[3] && r[3] > r[0];
	}
	ok(same, "no temperature changes the order of the classes");
	test_apply_many();
}

/*
 * calib_apply as it computed each log three times, for the comparison
 * below: the same doubles are expected, bit for bit
 */
static void
apply_reference(int k, double *proba, double t)
{
	double		top = -HUGE_VAL;
	double		sum = 0.0;
	int			c;

	for (c = 0; c < k; c++)
		if (proba[c] > 0.0 && log(proba[c]) / t > top)
			top = log(proba[c]) / t;
	if (top == -HUGE_VAL)
		return;
	for (c = 0; c < k; c++)
	{
		proba[c] = proba[c] > 0.0 ? exp(log(proba[c]) / t - top) : 0.0;
		sum += proba[c];
	}
	for (c = 0; c < k; c++)
		proba[c] /= sum;
}

/* 8 and 70 classes (kept on the stack, and not), some of them zero */
static void
test_apply_many(void)
{
	int			ks[2] = {8, 70};
	int			i;

	for (i = 0; i < 2; i++)
	{
		double		a[70];
		double		b[70];
		double		sum = 0.0;
		bool		same = true;
		int			c;

		for (c = 0; c < ks[i]; c++)
			sum += (a[c] = c % 5 == 3 ? 0.0 : 1.0 / (1.0 + c * 0.37));
		for (c = 0; c < ks[i]; c++)
			b[c] = a[c] /= sum;
		calib_apply(ks[i], a, 0.731);
		apply_reference(ks[i], b, 0.731);
		for (c = 0; c < ks[i]; c++)
			same = same && memcmp(&a[c], &b[c], sizeof(double)) == 0;
		ok(same, "%d classes: the very doubles of three logs a class", ks[i]);
	}
	{
		double		z[3] = {0.0, 0.0, 0.0};

		calib_apply(3, z, 0.5);
		ok(z[0] == 0.0 && z[1] == 0.0 && z[2] == 0.0, "no positive probability: left as it is");
	}
}

static void
test_measures(void)
{
	/* four rows of two classes, worked out by hand */
	double		proba[8] = {0.9, 0.1, 0.9, 0.1, 0.6, 0.4, 0.3, 0.7};
	int			y[4] = {0, 1, 0, 1};
	CalibrationBin bins[CALIB_BINS];
	double		ece = calib_ece(4, 2, proba, y, 1.0, NULL, bins);
	double		brier = calib_brier(4, 2, proba, y, 1.0);
	double		loss = calib_log_loss(4, 2, proba, y, 1.0, NULL, -1);
	int			folds[4] = {0, 1, 0, 1};

	/* bins of width 1/15: 0.9 in bin 13, 0.6 in 9, 0.7 in 10 */
	ok(fabs(ece - (0.5 * 0.4 + 0.25 * 0.4 + 0.25 * 0.3)) < 1e-12,
	   "ECE: 2/4 x |0.5 - 0.9| + 1/4 x |1 - 0.6| + 1/4 x |1 - 0.7| = %.6f", ece);
	ok(bins[13].rows == 2 && fabs(bins[13].confidence - 0.9) < 1e-12 &&
	   fabs(bins[13].accuracy - 0.5) < 1e-12 && bins[9].rows == 1 && bins[10].rows == 1 &&
	   bins[0].rows == 0,
	   "reliability bins: 2 rows at 0.9 (half right), one at 0.6, one at 0.7");
	ok(fabs(brier - (0.02 + 1.62 + 0.32 + 0.18) / 4) < 1e-12,
	   "Brier score: (0.02 + 1.62 + 0.32 + 0.18) / 4 = %.6f", brier);
	ok(fabs(loss + (log(0.9) + log(0.1) + log(0.6) + log(0.7)) / 4) < 1e-12,
	   "log-loss: -(ln 0.9 + ln 0.1 + ln 0.6 + ln 0.7) / 4");
	ok(fabs(calib_log_loss(4, 2, proba, y, 1.0, folds, 1) + (log(0.9) + log(0.6)) / 2) < 1e-12,
	   "log-loss leaving fold 1 out: rows 0 and 2 only");
}

static void
test_overconfident(void)
{
	int			n = 4000;
	int			k = 4;
	double	   *proba = xmalloc(sizeof(double) * n * k);
	int		   *y = xmalloc(sizeof(int) * n);
	int		   *fold = xmalloc(sizeof(int) * n);
	double		t;
	CalibrationChoice choice;
	int			i;

	lcg_state = 7;
	make_rows(n, k, 0.4, proba, y);
	for (i = 0; i < n; i++)
		fold[i] = i % 5;
	t = calib_fit_temperature(n, k, proba, y, NULL, -1);
	ok(fabs(t - 2.5) < 0.25, "an overconfident model (T 0.4) is undone: fitted T %.3f, about 2.5", t);
	ok(calib_log_loss(n, k, proba, y, t, NULL, -1) < calib_log_loss(n, k, proba, y, 1.0, NULL, -1),
	   "the fitted temperature lowers the log-loss");
	ok(calib_choose(n, k, proba, y, fold, 5, &choice), "calib_choose takes the rows");
	ok(choice.method == CALIBRATION_TEMPERATURE && fabs(choice.temperature - t) < 1e-9,
	   "and keeps the temperature fitted on all rows (%.3f)", choice.temperature);
	ok(choice.ece_crossfit < choice.ece_uncalibrated / 2,
	   "cross-fitted ECE %.4f, less than half the uncalibrated %.4f",
	   choice.ece_crossfit, choice.ece_uncalibrated);
	ok(choice.log_loss_crossfit < choice.log_loss_uncalibrated,
	   "cross-fitted log-loss %.4f < %.4f", choice.log_loss_crossfit, choice.log_loss_uncalibrated);
	free(proba);
	free(y);
	free(fold);
}

static void
test_calibrated(void)
{
	/* eight rows at (0.75, 0.25), six of them right: calibrated exactly */
	double		proba[16];
	int			y[8] = {0, 0, 0, 1, 0, 0, 0, 1};
	int			fold[8] = {0, 0, 0, 0, 1, 1, 1, 1};
	CalibrationChoice choice;
	int			i;

	for (i = 0; i < 8; i++)
	{
		proba[2 * i] = 0.75;
		proba[2 * i + 1] = 0.25;
	}
	ok(calib_ece(8, 2, proba, y, 1.0, NULL, NULL) < 1e-12, "a calibrated model has ECE 0");
	ok(fabs(calib_fit_temperature(8, 2, proba, y, NULL, -1) - 1.0) < 1e-6,
	   "its fitted temperature is 1");
	ok(calib_choose(8, 2, proba, y, fold, 2, &choice) &&
	   choice.method == CALIBRATION_NONE && choice.temperature == 1.0,
	   "calib_choose keeps no calibration: nothing would get better");
}

static void
test_all_right(void)
{
	/* 20 rows, each right at 0.9 (two classes): the log-loss alone would
	 * sharpen to CALIB_T_MIN; the mean confidence stops at 21 / 22 */
	double		proba[40];
	int			y[20];
	double		t;
	double		work[2];
	int			i;

	for (i = 0; i < 20; i++)
	{
		y[i] = i % 2;
		proba[2 * i + y[i]] = 0.9;
		proba[2 * i + 1 - y[i]] = 0.1;
	}
	t = calib_fit_temperature(20, 2, proba, y, NULL, -1);
	work[0] = 0.9;
	work[1] = 0.1;
	calib_apply(2, work, t);
	ok(t > CALIB_T_MIN && t < 1.0, "every row right: sharpened, but not to CALIB_T_MIN (T %.4f)", t);
	ok(fabs(work[0] - 21.0 / 22.0) < 1e-6,
	   "the confidence stops at (right + 1) / (rows + 2) = 21/22 (%.6f)", work[0]);
}

static void
test_bad_input(void)
{
	double		proba[4] = {0.5, 0.5, 0.5, 0.5};
	int			y[2] = {0, 1};
	int			fold[2] = {0, 1};
	int			bad_fold[2] = {0, 2};
	int			bad_y[2] = {0, 2};
	CalibrationChoice choice;

	ok(!calib_choose(2, 2, proba, y, fold, 1, &choice) && choice.temperature == 1.0,
	   "one fold: refused, no calibration");
	ok(!calib_choose(2, 2, proba, y, bad_fold, 2, &choice), "a fold out of range: refused");
	ok(!calib_choose(2, 2, proba, bad_y, fold, 2, &choice), "a class out of range: refused");
	ok(!calib_choose(1, 2, proba, y, fold, 2, &choice), "one row: refused");
}

int
main(void)
{
	test_apply();
	test_measures();
	test_overconfident();
	test_calibrated();
	test_all_right();
	test_bad_input();
	return tap_finish();
}
