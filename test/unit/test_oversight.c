/*
 * test_oversight.c
 *		Unit tests of the numerics of oversight: Wilson bounds, the
 *		two-proportion test and the threshold of a precision target
 *		(proportion.c), and confident learning (confident.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "confident.h"
#include "proportion.h"
#include "tap.h"

static void
test_wilson(void)
{
	double		low;
	double		high;
	double		z = Z_ONE_SIDED_95;

	wilson_interval(95, 100, Z_TWO_SIDED_95, &low, &high);
	ok(fabs(low - 0.8882495307680808) < 1e-12 && fabs(high - 0.9784563208456318) < 1e-12,
	   "Wilson 95%% of 95/100: [%.6f, %.6f]", low, high);
	wilson_interval(0, 10, Z_TWO_SIDED_95, &low, &high);
	ok(low == 0.0 && fabs(high - 0.2775327998628892) < 1e-12,
	   "0/10: [0, %.6f], never below 0", high);
	wilson_interval(7, 7, z, &low, &high);
	ok(fabs(low - 7.0 / (7.0 + z * z)) < 1e-12 && high == 1.0,
	   "7/7: the lower bound is n / (n + z^2) = %.6f, the upper 1", low);
	wilson_interval(0, 0, z, &low, &high);
	ok(low == 0.0 && high == 1.0, "no trial: [0, 1]");
}

static void
test_two_proportions(void)
{
	double		p = two_proportion_p(50, 100, 30, 100);

	ok(fabs(p - 0.003892417122778627) < 1e-12, "50/100 against 30/100: p = %.6f", p);
	ok(fabs(two_proportion_p(30, 100, 50, 100) - p) < 1e-15, "two-sided: the same either way");
	ok(two_proportion_p(5, 10, 5, 10) == 1.0, "equal proportions: p = 1");
	ok(two_proportion_p(10, 10, 20, 20) == 1.0 && two_proportion_p(1, 0, 1, 2) == 1.0,
	   "all right in both, or an empty group: nothing to tell apart, p = 1");
}

static void
test_threshold(void)
{
	double		conf[6] = {0.7, 0.9, 0.8, 0.6, 0.5, 0.55};
	bool		right[6] = {true, true, true, false, true, false};
	double		t = -1;
	long		covered = -1;
	long		correct = -1;
	double		z = Z_ONE_SIDED_95;

	/* 3 right at 0.9, 0.8, 0.7: the lower bound of 3/3 is 3 / (3 + z^2) = 0.5258 */
	bool		found = precision_threshold(6, conf, right, 0.5, z, &t, &covered, &correct);

	ok(found && t == 0.7 && covered == 3 && correct == 3,
	   "target 0.5: threshold 0.7, covering the 3 right predictions (got %.2f, %ld, %ld)",
	   t, covered, correct);
	ok(!precision_threshold(6, conf, right, 0.6, z, &t, &covered, &correct),
	   "target 0.6: no threshold (3/3 bounds 0.526; 0.6 brings a wrong one)");
	ok(conf[0] == 0.7 && conf[3] == 0.6 && right[3] == false, "the input is left as it was");
}

static void
test_threshold_ties_and_lowest(void)
{
	/* 40 right at 0.99, then one wrong at 0.9, then 40 right at 0.8 */
	double		conf[81];
	bool		right[81];
	double		t;
	long		covered;
	long		correct;
	int			i;

	for (i = 0; i < 81; i++)
	{
		conf[i] = i < 40 ? 0.99 : (i == 40 ? 0.9 : 0.8);
		right[i] = i != 40;
	}
	ok(precision_threshold(81, conf, right, 0.9, Z_ONE_SIDED_95, &t, &covered, &correct) &&
	   t == 0.8 && covered == 81 && correct == 80,
	   "the lowest qualifying confidence is taken (0.8: 80/81), ties taken whole");
	right[0] = false;
	conf[0] = 0.8;
	ok(precision_threshold(81, conf, right, 0.97, Z_ONE_SIDED_95, &t, &covered, &correct) == false,
	   "target 0.97 with two wrong among 81: no threshold");
}

static void
test_confident(void)
{
	/* worked by hand: t0 = (0.9 + 0.7 + 0.2) / 3 = 0.6, t1 = (0.7 + 0.9) / 2 = 0.8 */
	double		proba[10] = {0.9, 0.1, 0.7, 0.3, 0.2, 0.8, 0.3, 0.7, 0.1, 0.9};
	int			y[5] = {0, 0, 0, 1, 1};
	double		t[2];
	bool		suspect[5];
	double		p3[9] = {0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.5, 0.4, 0.1};
	int			y3[3] = {0, 1, 0};
	double		t3[3];
	bool		s3[3];

	confident_thresholds(5, 2, proba, y, t);
	ok(fabs(t[0] - 0.6) < 1e-12 && fabs(t[1] - 0.8) < 1e-12,
	   "thresholds: 0.6 for class 0, 0.8 for class 1");
	ok(confident_suspects(5, 2, proba, y, t, suspect) == 1 &&
	   !suspect[0] && !suspect[1] && suspect[2] && !suspect[3] && !suspect[4],
	   "one suspect: row 2, labeled 0 at 0.2 while class 1 reaches 0.8");
	confident_thresholds(3, 3, p3, y3, t3);
	ok(t3[2] == 2.0, "a class no row is labeled with: threshold 2, out of reach");
	ok(confident_suspects(3, 3, p3, y3, t3, s3) == 0,
	   "row 2, labeled 0 at 0.5, under its threshold 0.65 but reaching no other: not suspect");
}

int
main(void)
{
	test_wilson();
	test_two_proportions();
	test_threshold();
	test_threshold_ties_and_lowest();
	test_confident();
	return tap_finish();
}
