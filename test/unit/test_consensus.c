/*
 * test_consensus.c
 *		Unit tests of majority vote and Dawid-Skene (src/consensus.c) and of
 *		the agreement measures (src/agreement.c), printing TAP.
 *
 * References: test/fixtures/make_consensus_fixtures.py writes a
 * Dawid-Skene fit made by an independent numpy implementation (same start,
 * smoothing and stopping rule), scikit-learn's Cohen's kappa on pairs of
 * annotators, and Fleiss' kappa and Krippendorff's alpha from their
 * formulas.  Dawid-Skene's posteriors and confusion matrices must agree to
 * DS_TOL = 1e-6; both fits stop at the same iteration, so they agree far
 * closer than that in practice.  The agreement measures are ratios of
 * counts and must agree to AGREE_TOL = 1e-12.
 *
 * The default stop must be converged, not merely slow: on the fixture and
 * on the simulated answers below, the default fit's posteriors must lie
 * within CONVERGED_TOL = 1e-5 of those of a fit run to TIGHT_TOL = 1e-12,
 * with the same labels.  (A stop on the log-likelihood's change, 1e-9
 * per answer, fails it: 0.55 and 7 labels on the fixture, 5.6e-4 on the
 * simulation.)
 *
 * Simulated annotators are drawn here with folds.c's generator (splitmix64,
 * the same sequence everywhere): 2,000 items of 5 equally likely classes,
 * three annotators right with probability 0.95, 0.85 and 0.65 and wrong
 * uniformly over the other four classes.  Majority vote counts a tie as
 * wrong (it gives no label).
 *
 * Usage: test_consensus [fixture_dir]   (default test/fixtures)
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agreement.h"
#include "consensus.h"
#include "folds.h"
#include "tap.h"

#define DS_TOL 1e-6
#define AGREE_TOL 1e-12
#define CONVERGED_TOL 1e-5
#define TIGHT_TOL 1e-12
#define MAX_ANSWERS 4096
#define MAX_SIM_ITEMS 2000
#define MAX_SIM_ANNOTATORS 20

/* The reference fit of the ds fixture */
typedef struct DsFixture
{
	int			n;
	int			m;
	int			k;
	int			nanswers;
	AnnotatorAnswer answers[MAX_ANSWERS];
	int			iterations;
	bool		converged;
	double		log_likelihood;
	double		prior[8];
	double		posterior[MAX_ANSWERS];
	double		confusion[256];
	double		accuracy[8];
} DsFixture;

/* Simulated answers */
typedef struct Simulation
{
	int			n;
	int			m;
	int			k;
	int			nanswers;
	int			truth[MAX_SIM_ITEMS];
	int			right[MAX_SIM_ANNOTATORS];	/* per annotator */
	AnnotatorAnswer *answers;
} Simulation;

/*
 * Read the answers of path (of dataset, in its first column, when dataset
 * is not NULL) into answers; returns their count, or -1
 */
static int
read_answers(const char *path, const char *dataset, AnnotatorAnswer *answers, int max)
{
	char		line[512];
	char	   *fields[MAX_FIELDS];
	FILE	   *f = fopen(path, "r");
	int			skip = dataset != NULL ? 1 : 0;
	int			count = 0;

	if (f == NULL || fgets(line, sizeof(line), f) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL && count >= 0)
	{
		if (split_csv(line, fields) != 3 + skip || count >= max)
			count = -1;
		else if (dataset == NULL || strcmp(fields[0], dataset) == 0)
		{
			answers[count].item = atoi(fields[skip]);
			answers[count].annotator = atoi(fields[skip + 1]);
			answers[count].label = atoi(fields[skip + 2]);
			count++;
		}
	}
	fclose(f);
	return count;
}

/* Store one row "what,a,b,c,value" of the expected fit into fx */
static void
store_expected(DsFixture *fx, char **fields)
{
	const char *what = fields[0];
	int			a = atoi(fields[1]);
	int			b = atoi(fields[2]);
	int			c = atoi(fields[3]);
	double		v = strtod(fields[4], NULL);

	if (strcmp(what, "n") == 0)
		fx->n = (int) v;
	else if (strcmp(what, "m") == 0)
		fx->m = (int) v;
	else if (strcmp(what, "k") == 0)
		fx->k = (int) v;
	else if (strcmp(what, "iterations") == 0)
		fx->iterations = (int) v;
	else if (strcmp(what, "converged") == 0)
		fx->converged = v != 0;
	else if (strcmp(what, "log_likelihood") == 0)
		fx->log_likelihood = v;
	else if (strcmp(what, "prior") == 0)
		fx->prior[a] = v;
	else if (strcmp(what, "posterior") == 0)
		fx->posterior[a * fx->k + b] = v;
	else if (strcmp(what, "confusion") == 0)
		fx->confusion[(a * fx->k + b) * fx->k + c] = v;
	else if (strcmp(what, "accuracy") == 0)
		fx->accuracy[a] = v;
}

static bool
read_ds_fixture(const char *dir, DsFixture *fx)
{
	char		path[1024];
	char		line[512];
	char	   *fields[MAX_FIELDS];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/consensus_ds_answers.csv", dir);
	fx->nanswers = read_answers(path, NULL, fx->answers, MAX_ANSWERS);
	snprintf(path, sizeof(path), "%s/consensus_ds_expected.csv", dir);
	if (fx->nanswers < 0 || (f = fopen(path, "r")) == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (split_csv(line, fields) == 5)
			store_expected(fx, fields);
	fclose(f);
	return fx->n > 0 && fx->n * fx->k <= MAX_ANSWERS && fx->m <= 8 &&
		fx->m * fx->k * fx->k <= 256;
}

/* Test that x and y (count doubles each) agree within DS_TOL */
static void
check_close(const char *what, const double *x, const double *y, size_t count)
{
	double		worst = 0.0;
	size_t		i;

	for (i = 0; i < count; i++)
		if (fabs(x[i] - y[i]) > worst)
			worst = fabs(x[i] - y[i]);
	ok(worst < DS_TOL, "%s within %g of the reference (largest difference %.2e)",
	   what, DS_TOL, worst);
}

/*
 * The default fit r of these answers is converged: its posteriors lie
 * within CONVERGED_TOL of those of a fit run to TIGHT_TOL, with the same
 * labels, and both fits report convergence
 */
static void
check_converged(const char *what, const AnnotatorAnswer *answers, int nanswers,
				const DawidSkeneResult *r)
{
	DawidSkeneOptions options;
	DawidSkeneResult tight;
	double		moved = 0.0;
	size_t		i;

	dawid_skene_defaults(&options);
	options.tol = TIGHT_TOL;
	options.max_iter = 100000;
	dawid_skene(r->n, r->m, r->k, answers, nanswers, &options, &tight);
	for (i = 0; i < (size_t) r->n * r->k; i++)
		moved = fmax(moved, fabs(tight.posterior[i] - r->posterior[i]));
	ok(r->converged && tight.converged && moved < CONVERGED_TOL &&
	   memcmp(tight.label, r->label, sizeof(int) * r->n) == 0,
	   "%s: the default fit (%d iterations, log-likelihood %.6f) is converged: to tol %g "
	   "(%d iterations, %.6f) its posteriors move by %.2e at most (< %g), no label changes",
	   what, r->iterations, r->log_likelihood, TIGHT_TOL, tight.iterations,
	   tight.log_likelihood, moved, CONVERGED_TOL);
	dawid_skene_free(&tight);
}

/* Shuffle answers in place (Fisher-Yates, folds.c's generator) */
static void
shuffle_answers(AnnotatorAnswer *answers, int count, uint64_t seed)
{
	FoldsRng	rng;
	int			i;

	folds_rng_init(&rng, seed);
	for (i = count - 1; i > 0; i--)
	{
		int			j = (int) folds_rng_below(&rng, (uint64_t) i + 1);
		AnnotatorAnswer t = answers[i];

		answers[i] = answers[j];
		answers[j] = t;
	}
}

/*
 * Majority vote by hand: a unanimous item, a tie of two, an item without
 * answer, a majority of two against one, a three-way tie
 */
static void
test_majority(void)
{
	AnnotatorAnswer answers[] = {
		{0, 0, 1}, {0, 1, 1}, {0, 2, 1},
		{1, 0, 0}, {1, 2, 1},
		{3, 0, 2}, {3, 1, 0}, {3, 2, 2},
		{4, 0, 0}, {4, 1, 1}, {4, 2, 2}
	};
	int			label[5];
	double		share[5];
	int			status = consensus_majority(5, 3, 3, answers, 11, label, share);

	ok(status == CONSENSUS_OK, "majority vote: status ok");
	ok(label[0] == 1 && share[0] == 1.0, "unanimous: class 1, share 1");
	ok(label[1] == -1 && share[1] == 0.5, "a tie of two: -1, share 0.5");
	ok(label[2] == -1 && share[2] == 0.0, "no answer: -1, share 0");
	ok(label[3] == 2 && fabs(share[3] - 2.0 / 3.0) < 1e-15, "two against one: class 2, share 2/3");
	ok(label[4] == -1 && fabs(share[4] - 1.0 / 3.0) < 1e-15, "a three-way tie: -1, share 1/3");
	ok(consensus_majority(5, 3, 3, answers, 11, NULL, share) == CONSENSUS_OK,
	   "either output may be NULL");
}

/* Dawid-Skene against the numpy fit, then on the same answers shuffled */
static void
test_ds_fixture(DsFixture *fx)
{
	DawidSkeneResult r;
	DawidSkeneResult again;
	int			k = fx->k;
	int			empty = -1;
	bool		smoothed = true;
	bool		answered[MAX_ANSWERS] = {false};
	int			i;
	int			t;

	ok(dawid_skene(fx->n, fx->m, k, fx->answers, fx->nanswers, NULL, &r) == CONSENSUS_OK,
	   "Dawid-Skene on the fixture (%d items, %d annotators, %d classes, %d answers)",
	   fx->n, fx->m, k, fx->nanswers);
	ok(r.iterations == fx->iterations && r.converged && fx->converged,
	   "converged after %d iterations, as the reference (%d)", r.iterations, fx->iterations);
	ok(fabs(r.log_likelihood - fx->log_likelihood) < DS_TOL,
	   "log-likelihood %.9f, reference %.9f", r.log_likelihood, fx->log_likelihood);
	check_close("posteriors", r.posterior, fx->posterior, (size_t) fx->n * k);
	check_close("confusion matrices", r.confusion, fx->confusion, (size_t) fx->m * k * k);
	check_close("priors", r.prior, fx->prior, k);
	check_close("estimated accuracies", r.accuracy, fx->accuracy, fx->m);
	for (t = 0; t < k; t++)
		smoothed = smoothed && r.confusion[(3 * k + t) * k + 2] > 0.0;
	ok(smoothed, "annotator 3 never gave class 2: its column is small but not zero (%.2e)",
	   r.confusion[(3 * k) * k + 2]);
	for (i = 0; i < fx->nanswers; i++)
		answered[fx->answers[i].item] = true;
	for (i = 0; i < fx->n && empty < 0; i++)
		if (!answered[i])
			empty = i;
	ok(empty >= 0 && r.label[empty] == -1 && r.confidence[empty] == 0.0 &&
	   memcmp(r.posterior + empty * k, r.prior, sizeof(double) * k) == 0,
	   "an item without answer (%d): label -1, confidence 0, posterior = prior", empty);
	ok(r.label[0] >= 0 && r.confidence[0] == r.posterior[r.label[0]],
	   "confidence is the posterior of the label");
	check_converged("fixture", fx->answers, fx->nanswers, &r);

	shuffle_answers(fx->answers, fx->nanswers, 42);
	dawid_skene(fx->n, fx->m, k, fx->answers, fx->nanswers, NULL, &again);
	ok(again.iterations == r.iterations && again.log_likelihood == r.log_likelihood &&
	   memcmp(again.posterior, r.posterior, sizeof(double) * fx->n * k) == 0 &&
	   memcmp(again.confusion, r.confusion, sizeof(double) * fx->m * k * k) == 0 &&
	   memcmp(again.accuracy, r.accuracy, sizeof(double) * fx->m) == 0 &&
	   memcmp(again.label, r.label, sizeof(int) * fx->n) == 0,
	   "the answers shuffled: the same fit, bit for bit");
	dawid_skene_free(&again);
	dawid_skene_free(&r);
}

/*
 * n items of k equally likely classes, each answered by m annotators, j
 * right with probability accuracy[j] and otherwise uniform over the
 * other classes
 */
static void
simulate(Simulation *s, int n, int m, int k, const double *accuracy, uint64_t seed)
{
	FoldsRng	rng;
	int			i;
	int			j;

	folds_rng_init(&rng, seed);
	s->n = n;
	s->m = m;
	s->k = k;
	s->nanswers = n * m;
	s->answers = xmalloc(sizeof(AnnotatorAnswer) * n * m);
	memset(s->right, 0, sizeof(s->right));
	for (i = 0; i < n; i++)
	{
		s->truth[i] = (int) folds_rng_below(&rng, k);
		for (j = 0; j < m; j++)
		{
			AnnotatorAnswer *a = &s->answers[i * m + j];
			double		u = (double) (folds_rng_next(&rng) >> 11) / 9007199254740992.0;
			int			wrong = (int) folds_rng_below(&rng, k - 1);

			a->item = i;
			a->annotator = j;
			a->label = u < accuracy[j] ? s->truth[i] : (wrong < s->truth[i] ? wrong : wrong + 1);
			s->right[j] += a->label == s->truth[i] ? 1 : 0;
		}
	}
}

/* How many of the n labels are the truth */
static int
count_right(const int *label, const int *truth, int n)
{
	int			right = 0;
	int			i;

	for (i = 0; i < n; i++)
		right += label[i] == truth[i] ? 1 : 0;
	return right;
}

/* Three annotators, 2,000 items, 5 classes, as issue 13 asks */
static void
test_simulated(void)
{
	static const double accuracy[3] = {0.95, 0.85, 0.65};
	static Simulation s;
	DawidSkeneResult r;
	int		   *vote;
	int			ds_right;
	int			vote_right;
	int			j;

	simulate(&s, 2000, 3, 5, accuracy, UINT64_C(20261207));
	vote = xmalloc(sizeof(int) * s.n);
	ok(consensus_majority(s.n, s.m, s.k, s.answers, s.nanswers, vote, NULL) == CONSENSUS_OK &&
	   dawid_skene(s.n, s.m, s.k, s.answers, s.nanswers, NULL, &r) == CONSENSUS_OK,
	   "simulated: majority vote and Dawid-Skene run");
	ds_right = count_right(r.label, s.truth, s.n);
	vote_right = count_right(vote, s.truth, s.n);
	ok(r.converged, "simulated: converged in %d iterations", r.iterations);
	ok(ds_right >= vote_right,
	   "Dawid-Skene right on %d of %d items (%.4f), majority vote on %d (%.4f, ties wrong)",
	   ds_right, s.n, (double) ds_right / s.n, vote_right, (double) vote_right / s.n);
	check_converged("simulated", s.answers, s.nanswers, &r);
	for (j = 0; j < s.m; j++)
	{
		double		truth = (double) s.right[j] / s.n;

		ok(fabs(r.accuracy[j] - truth) < 0.03,
		   "annotator %d (drawn at %.2f): estimated accuracy %.4f, empirical %.4f",
		   j, accuracy[j], r.accuracy[j], truth);
	}
	dawid_skene_free(&r);
	free(vote);
	free(s.answers);
}

/* Twenty annotators on every item: finite, normalised, right */
static void
test_twenty(void)
{
	double		accuracy[20];
	static Simulation s;
	DawidSkeneResult r;
	bool		finite = true;
	bool		normalised = true;
	int			i;
	int			t;

	for (i = 0; i < 20; i++)
		accuracy[i] = 0.5 + 0.45 * i / 19.0;
	simulate(&s, 1000, 20, 4, accuracy, UINT64_C(7));
	ok(dawid_skene(s.n, s.m, s.k, s.answers, s.nanswers, NULL, &r) == CONSENSUS_OK,
	   "twenty annotators, 1,000 items: Dawid-Skene runs");
	for (i = 0; i < s.n; i++)
	{
		double		sum = 0.0;

		for (t = 0; t < s.k; t++)
		{
			finite = finite && isfinite(r.posterior[i * s.k + t]);
			sum += r.posterior[i * s.k + t];
		}
		normalised = normalised && fabs(sum - 1.0) < 1e-12;
	}
	for (i = 0; i < s.m * s.k * s.k; i++)
		finite = finite && isfinite(r.confusion[i]) && r.confusion[i] > 0.0;
	ok(finite && isfinite(r.log_likelihood) && r.converged,
	   "every posterior, confusion cell and the log-likelihood (%.3f) finite", r.log_likelihood);
	ok(normalised, "every posterior sums to 1");
	ok(count_right(r.label, s.truth, s.n) == s.n, "every consensus right");
	ok(fabs(r.accuracy[0] - (double) s.right[0] / s.n) < 0.03 &&
	   fabs(r.accuracy[19] - (double) s.right[19] / s.n) < 0.03,
	   "the worst and best annotators' accuracies estimated within 0.03 (%.4f, %.4f)",
	   r.accuracy[0], r.accuracy[19]);
	dawid_skene_free(&r);
	free(s.answers);
}

/* One reference value against the measure over the answers */
static void
check_measure(const char *dataset, char **fields, const AnnotatorAnswer *answers,
			  int nanswers, const int *size)
{
	const char *what = fields[1];
	AgreementMeasure measure = strcmp(what, "cohen") == 0 ? AGREEMENT_COHEN_KAPPA :
	strcmp(what, "fleiss") == 0 ? AGREEMENT_FLEISS_KAPPA : AGREEMENT_KRIPPENDORFF_ALPHA;
	double		want = strtod(fields[5], NULL);
	long		want_count = atol(fields[6]);
	double		value;
	long		count;
	int			status;

	status = agreement_measure(size[0], size[1], size[2], answers, nanswers, measure,
							   atoi(fields[2]), atoi(fields[3]), atoi(fields[4]), &value, &count);
	ok(status == CONSENSUS_OK && fabs(value - want) < AGREE_TOL && count == want_count,
	   "%s %s (%s, %s, r %s): %.15f on %ld items, reference %.15f on %ld",
	   dataset, what, fields[2], fields[3], fields[4], value, count, want, want_count);
}

/* Every reference value of one agreement data set */
static void
test_agreement_set(const char *dir, const char *dataset, const int *size)
{
	static AnnotatorAnswer answers[MAX_ANSWERS];
	char		path[1024];
	char		line[512];
	char	   *fields[MAX_FIELDS];
	int			nanswers;
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/consensus_agreement_answers.csv", dir);
	nanswers = read_answers(path, dataset, answers, MAX_ANSWERS);
	snprintf(path, sizeof(path), "%s/consensus_agreement_expected.csv", dir);
	if (!ok(nanswers > 0 && (f = fopen(path, "r")) != NULL, "agreement set %s read", dataset))
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (split_csv(line, fields) == 7 && strcmp(fields[0], dataset) == 0)
			check_measure(dataset, fields, answers, nanswers, size);
	fclose(f);
}

static void
test_agreement_fixtures(const char *dir)
{
	char		path[1024];
	char		line[512];
	char	   *fields[MAX_FIELDS];
	int			sets = 0;
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/consensus_agreement_sets.csv", dir);
	if ((f = fopen(path, "r")) == NULL)
	{
		ok(false, "%s read", path);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL)
		if (split_csv(line, fields) == 4 && strcmp(fields[0], "dataset") != 0)
		{
			int			size[3] = {atoi(fields[1]), atoi(fields[2]), atoi(fields[3])};

			test_agreement_set(dir, fields[0], size);
			sets++;
		}
	fclose(f);
	ok(sets == 3, "three agreement data sets");
}

/* The three measures over triples, in *cohen, *fleiss (r) and *alpha */
static void
measure_all(int n, int m, int k, const AnnotatorAnswer *answers, int nanswers, int r,
			double *cohen, double *fleiss, double *alpha, long *count)
{
	agreement_measure(n, m, k, answers, nanswers, AGREEMENT_COHEN_KAPPA, 0, 1, 0, cohen,
					  &count[0]);
	agreement_measure(n, m, k, answers, nanswers, AGREEMENT_FLEISS_KAPPA, 0, 0, r, fleiss,
					  &count[1]);
	agreement_measure(n, m, k, answers, nanswers, AGREEMENT_KRIPPENDORFF_ALPHA, 0, 0, 0,
					  alpha, &count[2]);
}

/*
 * Textbook cases, checked by hand:
 *
 * Cohen (Wikipedia's example): 50 items, both say 0 on 20, a 0 and b 1 on
 * 5, a 1 and b 0 on 10, both 1 on 15.  p_o = 35/50 = 0.7; a says 0 on 25,
 * b on 30: p_e = (25 30 + 25 20) / 2500 = 0.5; kappa = 0.2 / 0.5 = 0.4.
 *
 * Fleiss (1971), as on Wikipedia: 10 items, 14 raters, 5 classes, the
 * counts below.  The column sums are 20, 28, 39, 21, 32 of 140, so P_e =
 * (400 + 784 + 1521 + 441 + 1024) / 19600 = 417/1960; the P_i sum to
 * 3.7802 = 1720/455, P = 172/455; kappa = (172/455 - 417/1960) / (1 -
 * 417/1960) = 4211/20059 = 0.2099 (published: 0.210).
 *
 * Krippendorff (2011, "Computing Krippendorff's alpha-reliability"), four
 * observers, 12 units, values 1 to 5 (here 0 to 4), missing values: 11
 * units have two values or more, n = 40 of them (9, 13, 10, 5, 3 per
 * value, sum of squares 384).  Disagreeing pairs, each weighted
 * 1 / (m_u - 1): unit 2 (2, 2, 3, 2) 6 / 3 = 2, unit 6 (1, 2, 3, 4)
 * 12 / 3 = 4, unit 8 (1, 1, 2, 1) 6 / 3 = 2; 8 in all.  Expected:
 * 40^2 - 384 = 1216.  alpha = 1 - 39 x 8 / 1216 = 113/152 = 0.7434
 * (published: 0.743).
 */
static void
test_textbook(void)
{
	static const int fleiss_table[10][5] = {
		{0, 0, 0, 0, 14}, {0, 2, 6, 4, 2}, {0, 0, 3, 5, 6}, {0, 3, 9, 2, 0}, {2, 2, 8, 1, 1},
		{7, 7, 0, 0, 0}, {3, 2, 6, 3, 0}, {2, 5, 3, 2, 2}, {6, 5, 2, 1, 0}, {0, 2, 2, 3, 7}
	};
	static const int kripp[4][12] = {
		{1, 2, 3, 3, 2, 1, 4, 1, 2, 0, 0, 0},
		{1, 2, 3, 3, 2, 2, 4, 1, 2, 5, 0, 3},
		{0, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 0},
		{1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, 0}
	};
	static const int cohen_cells[4][3] = {{0, 0, 20}, {0, 1, 5}, {1, 0, 10}, {1, 1, 15}};
	AnnotatorAnswer answers[200];
	int			count = 0;
	int			i;
	int			j;
	int			c;
	int			times;
	double		value;
	long		items;

	for (c = 0; c < 4; c++)
		for (j = 0; j < cohen_cells[c][2]; j++, count += 2)
		{
			answers[count] = (AnnotatorAnswer) {count / 2, 0, cohen_cells[c][0]};
			answers[count + 1] = (AnnotatorAnswer) {count / 2, 1, cohen_cells[c][1]};
		}
	agreement_measure(50, 2, 2, answers, count, AGREEMENT_COHEN_KAPPA, 0, 1, 0, &value, &items);
	ok(fabs(value - 0.4) < 1e-15 && items == 50, "Cohen's textbook case: kappa %.15f = 0.4", value);

	count = 0;
	for (i = 0; i < 10; i++)
		for (c = 0, j = 0; c < 5; c++)
			for (times = 0; times < fleiss_table[i][c]; times++, j++)
				answers[count++] = (AnnotatorAnswer) {i, j, c};
	agreement_measure(10, 14, 5, answers, count, AGREEMENT_FLEISS_KAPPA, 0, 0, 14, &value, &items);
	ok(fabs(value - 4211.0 / 20059.0) < 1e-15 && items == 10,
	   "Fleiss' textbook case: kappa %.15f = 4211/20059", value);

	count = 0;
	for (j = 0; j < 4; j++)
		for (i = 0; i < 12; i++)
			if (kripp[j][i] > 0)
				answers[count++] = (AnnotatorAnswer) {i, j, kripp[j][i] - 1};
	agreement_measure(12, 4, 5, answers, count, AGREEMENT_KRIPPENDORFF_ALPHA, 0, 0, 0, &value,
					  &items);
	ok(fabs(value - 113.0 / 152.0) < 1e-15 && items == 11,
	   "Krippendorff's textbook case: alpha %.15f = 113/152 over 11 units", value);
}

/* Perfect agreement, no variation, too few items */
static void
test_agreement_edges(void)
{
	AnnotatorAnswer answers[18];
	double		cohen;
	double		fleiss;
	double		alpha;
	long		count[3];
	int			i;
	int			j;

	for (i = 0; i < 6; i++)
		for (j = 0; j < 3; j++)
			answers[i * 3 + j] = (AnnotatorAnswer) {i, j, i % 3};
	measure_all(6, 3, 3, answers, 18, 3, &cohen, &fleiss, &alpha, count);
	ok(cohen == 1.0 && fleiss == 1.0 && alpha == 1.0 && count[0] == 6 && count[1] == 6 &&
	   count[2] == 6, "all agree, over three classes: every measure 1");

	for (i = 0; i < 18; i++)
		answers[i].label = 2;
	measure_all(6, 3, 3, answers, 18, 3, &cohen, &fleiss, &alpha, count);
	ok(isnan(cohen) && isnan(fleiss) && isnan(alpha) && count[0] == 6,
	   "every answer one class: chance agreement is total, every measure NaN");

	answers[0] = (AnnotatorAnswer) {0, 0, 0};
	answers[1] = (AnnotatorAnswer) {0, 1, 1};
	answers[2] = (AnnotatorAnswer) {1, 0, 1};
	answers[3] = (AnnotatorAnswer) {2, 1, 0};
	measure_all(3, 3, 2, answers, 4, 3, &cohen, &fleiss, &alpha, count);
	ok(isnan(cohen) && count[0] == 1, "Cohen on one common item: NaN, 1 item");
	ok(isnan(fleiss) && count[1] == 0, "Fleiss without an item of r answers: NaN, 0 items");
	ok(alpha == 1.0 - 1.0 * 2.0 / 2.0 && count[2] == 1,
	   "alpha over one pairable item (0, 1): 1 - (n - 1) 2 / 2 = 0");
	measure_all(3, 3, 2, answers + 2, 2, 2, &cohen, &fleiss, &alpha, count);
	ok(isnan(alpha) && count[2] == 0, "alpha without a pairable item: NaN");
}

/* Every bad input gives its status, and nothing is computed */
static void
test_bad_input(void)
{
	AnnotatorAnswer good[2] = {{0, 0, 1}, {0, 1, 1}};
	struct
	{
		int			n,
					m,
					k,
					nanswers;
		AnnotatorAnswer answer;
		int			status;
		const char *what;
	}			cases[] = {
		{0, 2, 2, 2, {0, 0, 0}, CONSENSUS_BAD_SIZE, "no item"},
		{2, 0, 2, 2, {0, 0, 0}, CONSENSUS_BAD_SIZE, "no annotator"},
		{2, 2, 0, 2, {0, 0, 0}, CONSENSUS_BAD_SIZE, "no class"},
		{2, 2, CONSENSUS_MAX_CLASSES + 1, 2, {0, 0, 0}, CONSENSUS_BAD_SIZE, "too many classes"},
		{2, CONSENSUS_MAX_ANNOTATORS, 1000, 2, {0, 0, 0}, CONSENSUS_BAD_SIZE,
		"too many confusion cells"},
		{2, 2, 2, -1, {0, 0, 0}, CONSENSUS_BAD_SIZE, "a negative answer count"},
		{2, 2, 2, 2, {2, 0, 0}, CONSENSUS_BAD_ITEM, "item n"},
		{2, 2, 2, 2, {-1, 0, 0}, CONSENSUS_BAD_ITEM, "item -1"},
		{2, 2, 2, 2, {1, 2, 0}, CONSENSUS_BAD_ANNOTATOR, "annotator m"},
		{2, 2, 2, 2, {1, -1, 0}, CONSENSUS_BAD_ANNOTATOR, "annotator -1"},
		{2, 2, 2, 2, {1, 0, 2}, CONSENSUS_BAD_CLASS, "class k"},
		{2, 2, 2, 2, {1, 0, -1}, CONSENSUS_BAD_CLASS, "class -1"},
		{2, 2, 2, 2, {0, 0, 0}, CONSENSUS_DUPLICATE, "a second answer of annotator 0 on item 0"},
	};
	DawidSkeneOptions options;
	DawidSkeneResult r;
	AnswerSet	set;
	double		value;
	long		count;
	int			i;

	for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++)
	{
		AnnotatorAnswer answers[2] = {good[0], cases[i].answer};
		int			ds = dawid_skene(cases[i].n, cases[i].m, cases[i].k, answers,
									 cases[i].nanswers, NULL, &r);
		int			mv = consensus_majority(cases[i].n, cases[i].m, cases[i].k, answers,
										   cases[i].nanswers, NULL, NULL);
		int			ag = agreement_measure(cases[i].n, cases[i].m, cases[i].k, answers,
										   cases[i].nanswers, AGREEMENT_KRIPPENDORFF_ALPHA,
										   0, 0, 0, &value, &count);

		ok(ds == cases[i].status && mv == ds && ag == ds && r.posterior == NULL && isnan(value),
		   "%s: %s (%d)", cases[i].what, consensus_status_name(ds), ds);
	}
	ok(dawid_skene(2, 2, 2, NULL, 2, NULL, &r) == CONSENSUS_BAD_SIZE,
	   "answers NULL with a count: bad size");
	dawid_skene_defaults(&options);
	options.tol = 0.0;
	ok(dawid_skene(2, 2, 2, good, 2, &options, &r) == CONSENSUS_BAD_ARGUMENT,
	   "tol 0: bad argument");
	dawid_skene_defaults(&options);
	options.smoothing = 0.0;
	ok(dawid_skene(2, 2, 2, good, 2, &options, &r) == CONSENSUS_BAD_ARGUMENT,
	   "smoothing 0: bad argument");
	dawid_skene_defaults(&options);
	options.max_iter = 1;
	ok(dawid_skene(2, 2, 2, good, 2, &options, &r) == CONSENSUS_OK && r.iterations == 1 &&
	   !r.converged && r.label[0] == 1 && r.label[1] == -1,
	   "max_iter 1: one iteration, not converged");
	dawid_skene_free(&r);

	answer_set_build(2, 2, 2, good, 2, &set);
	ok(agreement_cohen_kappa(&set, 0, 0, &value, &count) == CONSENSUS_BAD_ARGUMENT &&
	   agreement_cohen_kappa(&set, 0, 2, &value, &count) == CONSENSUS_BAD_ANNOTATOR,
	   "Cohen of an annotator with itself, or of annotator m: refused");
	ok(agreement_fleiss_kappa(&set, 1, &value, &count) == CONSENSUS_BAD_ARGUMENT &&
	   agreement_fleiss_kappa(&set, 3, &value, &count) == CONSENSUS_BAD_ARGUMENT,
	   "Fleiss with r = 1 or r > m: refused");
	ok(agreement_measure(2, 2, 2, good, 2, (AgreementMeasure) 7, 0, 1, 0, &value, &count) ==
	   CONSENSUS_BAD_ARGUMENT, "an unknown measure: refused");
	answer_set_free(&set);
}

/*
 * dawid_skene_item under the fit's parameters gives every item the fit's
 * posterior (the E-step's formula); an unseen annotator's pooled matrix
 * has rows summing to 1 and lies between the fitted annotators' diagonals.
 */
static void
test_item_posterior(void)
{
	static const double accuracy[3] = {0.95, 0.85, 0.65};
	static Simulation s;
	DawidSkeneResult r;
	double		post[5];
	double		pooled[25];
	double		worst = 0.0;
	int			ann[3];
	int			lab[3];
	int			i;
	int			t;
	int			a;
	bool		rows_ok = true;
	bool		between = true;

	simulate(&s, 500, 3, 5, accuracy, UINT64_C(7));
	ok(dawid_skene(s.n, s.m, s.k, s.answers, s.nanswers, NULL, &r) == CONSENSUS_OK,
	   "item posterior: the fit runs");
	for (i = 0; i < s.n; i++)
	{
		int			na = 0;

		for (a = 0; a < s.nanswers; a++)
			if (s.answers[a].item == i)
			{
				ann[na] = s.answers[a].annotator;
				lab[na++] = s.answers[a].label;
			}
		if (dawid_skene_item(r.m, r.k, r.prior, r.confusion, na, ann, lab, post) != CONSENSUS_OK)
		{
			worst = INFINITY;
			break;
		}
		for (t = 0; t < r.k; t++)
			worst = fmax(worst, fabs(post[t] - r.posterior[(size_t) i * r.k + t]));
	}
	ok(worst < 1e-12, "item posterior: every item's posterior is the fit's (largest difference %.3g)",
	   worst);
	ok(dawid_skene_item(r.m, r.k, r.prior, r.confusion, 0, ann, lab, post) == CONSENSUS_OK &&
	   fabs(post[0] - r.prior[0]) < 1e-15 && fabs(post[4] - r.prior[4]) < 1e-15,
	   "item posterior: an item without answers gets the prior");
	ann[0] = 3;
	lab[0] = 0;
	ok(dawid_skene_item(r.m, r.k, r.prior, r.confusion, 1, ann, lab, post) == CONSENSUS_BAD_ANNOTATOR,
	   "item posterior: an annotator outside the fit is refused");
	ann[0] = 0;
	lab[0] = 5;
	ok(dawid_skene_item(r.m, r.k, r.prior, r.confusion, 1, ann, lab, post) == CONSENSUS_BAD_CLASS,
	   "item posterior: a class outside the fit is refused");
	dawid_skene_pooled(&r, pooled);
	for (t = 0; t < r.k; t++)
	{
		double		sum = 0.0;
		double		lo = INFINITY;
		double		hi = -INFINITY;
		int			g;
		int			j;

		for (g = 0; g < r.k; g++)
			sum += pooled[t * r.k + g];
		rows_ok = rows_ok && fabs(sum - 1.0) < 1e-12;
		for (j = 0; j < r.m; j++)
		{
			lo = fmin(lo, r.confusion[(size_t) j * 25 + t * 5 + t]);
			hi = fmax(hi, r.confusion[(size_t) j * 25 + t * 5 + t]);
		}
		between = between && pooled[t * 5 + t] >= lo && pooled[t * 5 + t] <= hi;
	}
	ok(rows_ok, "pooled matrix: every row sums to 1");
	ok(between, "pooled matrix: each diagonal entry lies between the annotators'");
	dawid_skene_free(&r);
	free(s.answers);
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "test/fixtures";
	static DsFixture fx;

	test_majority();
	if (ok(read_ds_fixture(dir, &fx), "fixture consensus_ds read from %s", dir))
		test_ds_fixture(&fx);
	test_simulated();
	test_twenty();
	test_item_posterior();
	test_agreement_fixtures(dir);
	test_textbook();
	test_agreement_edges();
	test_bad_input();
	return tap_finish();
}
