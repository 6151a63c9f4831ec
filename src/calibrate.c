/*
 * calibrate.c
 *		Temperature scaling of class probabilities, chosen on out-of-fold
 *		predictions so that it never makes calibration worse, and the
 *		measures it is judged by (see calibrate.h).
 *
 * Plain C, no PostgreSQL types.  Every pass over the rows is linear; a fit
 * makes about ten of them (Newton's method on 1/T), and a choice one fit
 * per fold and one on all rows.  A cancel is checked once per pass.
 */
#include <math.h>
#include <string.h>

#include "calibrate.h"
#include "metrics.h"
#include "numeric_alloc.h"

/* log-loss clipping, as class_metrics does */
#define CALIB_EPS 1e-15

/* calib_apply keeps the scaled logs of at most this many classes */
#define CALIB_LOCAL_CLASSES 64

/* the most steps of the search for a temperature (it needs about ten) */
#define CALIB_NEWTON_STEPS 100

static bool row_counts(const int *fold, int skip_fold, int i);
static double *log_probabilities(int n, int k, const double *proba);
static double loss_and_derivatives(int n, int k, const double *z, const int *y,
								   const int *fold, int skip_fold, double b,
								   double *d1, double *d2);
static double fit_temperature(int n, int k, const double *z, const int *y,
							  const int *fold, int skip_fold);
static double mean_confidence(int n, int k, const double *z, const int *fold,
							  int skip_fold, double b);
static double cap_sharpening(int n, int k, const double *z, const int *y,
							 const int *fold, int skip_fold, double b);
static double tempered_label_proba(int k, const double *row, int label, double t,
								   double *work, double *confidence, int *top);

/* Does row i count, when rows of fold skip_fold are left out? */
static bool
row_counts(const int *fold, int skip_fold, int i)
{
	return fold == NULL || skip_fold < 0 || fold[i] != skip_fold;
}

/*
 * Each class's log(p) / t is computed once: with up to CALIB_LOCAL_CLASSES
 * classes into an array on the stack, beyond that again where it is used
 * (the same doubles either way).  A scoring calls this for every row, and
 * log is most of its cost.
 */
void
calib_apply(int k, double *proba, double t)
{
	double		z[CALIB_LOCAL_CLASSES];
	bool		keep = k <= CALIB_LOCAL_CLASSES;
	double		top = -HUGE_VAL;
	double		sum = 0.0;
	int			c;

	if (t == 1.0)
		return;
	for (c = 0; c < k; c++)
		if (proba[c] > 0.0)
		{
			double		zc = log(proba[c]) / t;

			if (keep)
				z[c] = zc;
			if (zc > top)
				top = zc;
		}
	if (top == -HUGE_VAL)
		return;					/* no positive probability: nothing to scale */
	for (c = 0; c < k; c++)
	{
		proba[c] = proba[c] > 0.0 ? exp((keep ? z[c] : log(proba[c]) / t) - top) : 0.0;
		sum += proba[c];
	}
	for (c = 0; c < k; c++)
		proba[c] /= sum;
}

/*
 * A row's probabilities (k of them) under temperature t, in work: returns
 * the calibrated probability of the label, and its largest probability and
 * that class in *confidence and *top.
 */
static double
tempered_label_proba(int k, const double *row, int label, double t,
					 double *work, double *confidence, int *top)
{
	memcpy(work, row, sizeof(double) * k);
	calib_apply(k, work, t);
	*top = proba_argmax(k, work, confidence);
	return work[label];
}

double
calib_log_loss(int n, int k, const double *proba, const int *y, double t,
			   const int *fold, int skip_fold)
{
	double	   *work = hitl_alloc(sizeof(double) * k);
	double		sum = 0.0;
	int			rows = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		double		p;
		double		confidence;
		int			top;

		if (!row_counts(fold, skip_fold, i))
			continue;
		p = tempered_label_proba(k, proba + (size_t) i * k, y[i], t, work,
								 &confidence, &top);
		p = fmin(fmax(p, CALIB_EPS), 1.0);
		sum -= log(p);
		rows++;
	}
	hitl_free(work);
	hitl_check_interrupts();
	return rows > 0 ? sum / rows : 0.0;
}

/*
 * The clipped log-probabilities z = log p of n rows, as the log-loss clips
 * them (a fit reads them about ten times: computed once).
 */
static double *
log_probabilities(int n, int k, const double *proba)
{
	double	   *z = hitl_alloc(sizeof(double) * n * k);
	size_t		e;

	for (e = 0; e < (size_t) n * k; e++)
		z[e] = log(fmin(fmax(proba[e], CALIB_EPS), 1.0));
	return z;
}

/*
 * The log-loss of the rows that count as a function of b = 1/T, with its
 * first and second derivatives, in one pass over the log-probabilities z:
 * the loss of a row is -b z_y + log sum_c exp(b z_c), its derivative
 * -z_y + E[z] and its second derivative Var[z] (under the calibrated
 * probabilities), so the loss is convex in b.
 */
static double
loss_and_derivatives(int n, int k, const double *z, const int *y,
					 const int *fold, int skip_fold, double b,
					 double *d1, double *d2)
{
	double		loss = 0.0;
	double		g = 0.0;
	double		h = 0.0;
	int			rows = 0;
	int			i;
	int			c;

	for (i = 0; i < n; i++)
	{
		const double *zi = z + (size_t) i * k;
		double		top = -HUGE_VAL;
		double		sum = 0.0;
		double		mean = 0.0;
		double		second = 0.0;

		if (!row_counts(fold, skip_fold, i))
			continue;
		for (c = 0; c < k; c++)
			top = fmax(top, b * zi[c]);
		for (c = 0; c < k; c++)
		{
			double		w = exp(b * zi[c] - top);

			sum += w;
			mean += w * zi[c];
			second += w * zi[c] * zi[c];
		}
		mean /= sum;
		second /= sum;
		loss += -b * zi[y[i]] + top + log(sum);
		g += mean - zi[y[i]];
		h += fmax(second - mean * mean, 0.0);
		rows++;
	}
	hitl_check_interrupts();
	if (rows == 0)
	{
		*d1 = *d2 = 0.0;
		return 0.0;
	}
	*d1 = g / rows;
	*d2 = h / rows;
	return loss / rows;
}

/*
 * The mean confidence (largest probability) of the rows that count under
 * b = 1/T, from their log-probabilities z.
 */
static double
mean_confidence(int n, int k, const double *z, const int *fold, int skip_fold, double b)
{
	double		sum = 0.0;
	int			rows = 0;
	int			i;
	int			c;

	for (i = 0; i < n; i++)
	{
		const double *zi = z + (size_t) i * k;
		double		top = -HUGE_VAL;
		double		total = 0.0;

		if (!row_counts(fold, skip_fold, i))
			continue;
		for (c = 0; c < k; c++)
			top = fmax(top, b * zi[c]);
		for (c = 0; c < k; c++)
			total += exp(b * zi[c] - top);
		sum += 1.0 / total;
		rows++;
	}
	hitl_check_interrupts();
	return rows > 0 ? sum / rows : 0.0;
}

/*
 * Limit a sharpening b = 1/T > 1: the log-loss keeps falling as T goes to 0
 * when (nearly) every row is predicted right, and its minimum would make
 * every confidence 1, ranking no row above another.  So the mean
 * confidence of the rows may not exceed their accuracy estimated with one
 * more right and one more wrong row, (right + 1) / (rows + 2): returns the
 * largest b in [1, b] within that bound (bisection: the mean confidence
 * grows with b), 1 when even b = 1 is above it.
 */
static double
cap_sharpening(int n, int k, const double *z, const int *y, const int *fold,
			   int skip_fold, double b)
{
	double		bound;
	double		lo = 1.0;
	double		hi = b;
	int			right = 0;
	int			rows = 0;
	int			i;
	int			step;

	for (i = 0; i < n; i++)
	{
		if (!row_counts(fold, skip_fold, i))
			continue;
		right += proba_argmax(k, z + (size_t) i * k, NULL) == y[i];
		rows++;
	}
	bound = (right + 1.0) / (rows + 2.0);
	if (mean_confidence(n, k, z, fold, skip_fold, b) <= bound)
		return b;
	if (mean_confidence(n, k, z, fold, skip_fold, 1.0) >= bound)
		return 1.0;
	for (step = 0; step < 60 && hi - lo > 1e-9 * hi; step++)
	{
		double		mid = sqrt(lo * hi);

		if (mean_confidence(n, k, z, fold, skip_fold, mid) <= bound)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/*
 * calib_fit_temperature on log-probabilities.  The minimum in b = 1/T is
 * where the derivative changes sign: at a bound of [1/CALIB_T_MAX,
 * 1/CALIB_T_MIN] when it does not within them, else found by Newton's
 * method, kept inside a bracket that bisection (in log b: the bracket
 * spans decades) shrinks when a step would leave it.
 */
static double
fit_temperature(int n, int k, const double *z, const int *y, const int *fold,
				int skip_fold)
{
	double		lo = 1.0 / CALIB_T_MAX;
	double		hi = 1.0 / CALIB_T_MIN;
	double		b = 1.0;
	double		g;
	double		h;
	double		at_one = loss_and_derivatives(n, k, z, y, fold, skip_fold, 1.0, &g, &h);
	double		g_bound;
	int			step;

	(void) loss_and_derivatives(n, k, z, y, fold, skip_fold, g > 0.0 ? lo : hi,
								&g_bound, &h);
	if (g > 0.0 && g_bound >= 0.0)
		b = lo;					/* still falling at the softest: there */
	else if (g < 0.0 && g_bound <= 0.0)
		b = hi;					/* still falling at the sharpest */
	else
	{
		(void) loss_and_derivatives(n, k, z, y, fold, skip_fold, 1.0, &g, &h);
		for (step = 0; step < CALIB_NEWTON_STEPS && fabs(g) >= 1e-12; step++)
		{
			double		next;

			if (g > 0.0)
				hi = b;
			else
				lo = b;
			next = h > 0.0 ? b - g / h : -1.0;
			if (!(next > lo && next < hi))
				next = sqrt(lo * hi);
			if (fabs(next - b) <= 1e-12 * b)
				break;
			b = next;
			(void) loss_and_derivatives(n, k, z, y, fold, skip_fold, b, &g, &h);
		}
	}
	/* no scaling when it does no better (a flat loss: one class only) */
	if (at_one <= loss_and_derivatives(n, k, z, y, fold, skip_fold, b, &g, &h))
		return 1.0;
	if (b > 1.0)
		b = cap_sharpening(n, k, z, y, fold, skip_fold, b);
	return 1.0 / b;
}

double
calib_fit_temperature(int n, int k, const double *proba, const int *y,
					  const int *fold, int skip_fold)
{
	double	   *z = log_probabilities(n, k, proba);
	double		t = fit_temperature(n, k, z, y, fold, skip_fold);

	hitl_free(z);
	return t;
}

double
calib_ece(int n, int k, const double *proba, const int *y, double t,
		  const double *temps, CalibrationBin *bins)
{
	CalibrationBin local[CALIB_BINS];
	CalibrationBin *b = bins != NULL ? bins : local;
	double	   *work = hitl_alloc(sizeof(double) * k);
	double		ece = 0.0;
	int			i;
	int			j;

	memset(b, 0, sizeof(CalibrationBin) * CALIB_BINS);
	for (i = 0; i < n; i++)
	{
		double		confidence;
		int			top;

		(void) tempered_label_proba(k, proba + (size_t) i * k, y[i],
									temps != NULL ? temps[i] : t, work,
									&confidence, &top);
		j = (int) (confidence * CALIB_BINS);
		j = j < 0 ? 0 : (j >= CALIB_BINS ? CALIB_BINS - 1 : j);
		b[j].rows++;
		b[j].confidence += confidence;
		b[j].accuracy += top == y[i] ? 1.0 : 0.0;
	}
	hitl_free(work);
	for (j = 0; j < CALIB_BINS; j++)
	{
		if (b[j].rows == 0)
			continue;
		b[j].confidence /= b[j].rows;
		b[j].accuracy /= b[j].rows;
		ece += (double) b[j].rows / n * fabs(b[j].accuracy - b[j].confidence);
	}
	return ece;
}

double
calib_brier(int n, int k, const double *proba, const int *y, double t)
{
	double	   *work = hitl_alloc(sizeof(double) * k);
	double		sum = 0.0;
	int			i;
	int			c;

	for (i = 0; i < n; i++)
	{
		memcpy(work, proba + (size_t) i * k, sizeof(double) * k);
		calib_apply(k, work, t);
		for (c = 0; c < k; c++)
		{
			double		d = work[c] - (c == y[i] ? 1.0 : 0.0);

			sum += d * d;
		}
	}
	hitl_free(work);
	return n > 0 ? sum / n : 0.0;
}

bool
calib_choose(int n, int k, const double *proba, const int *y, const int *fold,
			 int nfolds, CalibrationChoice *out)
{
	double	   *temps;
	double	   *fold_t;
	double	   *work;
	double	   *z;
	double		sum = 0.0;
	int			i;
	int			f;

	memset(out, 0, sizeof(CalibrationChoice));
	out->method = CALIBRATION_NONE;
	out->temperature = 1.0;
	if (n < 2 || nfolds < 2 || k < 1)
		return false;
	for (i = 0; i < n; i++)
		if (fold[i] < 0 || fold[i] >= nfolds || y[i] < 0 || y[i] >= k)
			return false;

	/* each fold's rows calibrated by a temperature fitted on the others */
	z = log_probabilities(n, k, proba);
	fold_t = hitl_alloc(sizeof(double) * nfolds);
	for (f = 0; f < nfolds; f++)
		fold_t[f] = fit_temperature(n, k, z, y, fold, f);
	temps = hitl_alloc(sizeof(double) * n);
	work = hitl_alloc(sizeof(double) * k);
	for (i = 0; i < n; i++)
	{
		temps[i] = fold_t[fold[i]];
		memcpy(work, proba + (size_t) i * k, sizeof(double) * k);
		calib_apply(k, work, temps[i]);
		sum -= log(fmin(fmax(work[y[i]], CALIB_EPS), 1.0));
	}
	hitl_free(work);
	out->log_loss_uncalibrated = calib_log_loss(n, k, proba, y, 1.0, NULL, -1);
	out->log_loss_crossfit = sum / n;
	out->ece_uncalibrated = calib_ece(n, k, proba, y, 1.0, NULL, NULL);
	out->ece_crossfit = calib_ece(n, k, proba, y, 1.0, temps, NULL);
	hitl_free(temps);
	hitl_free(fold_t);

	if (out->log_loss_crossfit < out->log_loss_uncalibrated &&
		out->ece_crossfit < out->ece_uncalibrated)
	{
		out->temperature = fit_temperature(n, k, z, y, NULL, -1);
		if (out->temperature != 1.0)
			out->method = CALIBRATION_TEMPERATURE;
	}
	hitl_free(z);
	return true;
}
