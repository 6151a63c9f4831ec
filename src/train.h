/*
 * train.h
 *		The training pipeline: hitl.train() and the worker's retraining.
 *
 * One family of files, one way: train.c loads and locks the model, picks
 * the training of its kind and, when asked, tries an incremental update
 * first; each kind has one file and one entry point (TrainFamilyFn):
 *
 *		train_dense.c		logistic regression on numeric features (Newton or L-BFGS)
 *		train_text.c		logistic regression with text features (L-BFGS)
 *		train_nbayes.c		naive Bayes, from scratch
 *		train_incremental.c	naive Bayes, the label changes since a version
 *
 * train_crossval.c cross-validates every kind: the folds (folds.c), the
 * out-of-fold probabilities, and the figures they give.  train_stopping.c
 * compares each new version's predictions with the previous version's
 * (the stopping signal): train.c calls it once the kind recorded the
 * version.
 *
 * The text and naive Bayes trainings read their labeled rows as sparse
 * vectors through train_sparseset.c; what every kind shares (classes,
 * label checks, the data hash, metrics JSON, recording a version) is in
 * train_common.c.  The calls go one way: train.c calls the kinds, the
 * incremental update calls naive Bayes helpers of train_nbayes.c, and all
 * of them call train_sparseset.c and train_common.c, which call none of
 * them.  The arithmetic is in plain-C files (vocab.c, nbayes*.c, folds.c,
 * crossval*.c, logreg.c, sparse_logreg.c), unit-tested in test/unit.
 */
#ifndef HITL_TRAIN_H
#define HITL_TRAIN_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "portability/instr_time.h"

#include "calibrate.h"
#include "catalog.h"
#include "dataset.h"
#include "logreg.h"
#include "metrics.h"
#include "nbayes.h"
#include "sparse.h"
#include "sparse_logreg.h"

/* Models of more coefficients (or naive Bayes sums) need too much memory */
#define HITL_MAX_SPARSE_COEFFICIENTS (64 * 1024 * 1024)

/*
 * Why an incremental update cannot give what a full training would, so
 * that the model is trained from scratch instead (names: train_fallback_name).
 */
typedef enum TrainFallback
{
	FALLBACK_NONE = 0,			/* the update applies */
	FALLBACK_NO_VERSION,		/* no current version */
	FALLBACK_DAMAGED_VERSION,	/* the current version's arrays are inconsistent */
	FALLBACK_NO_SNAPSHOT,		/* the version has no label snapshot */
	FALLBACK_FEATURES_CHANGED,	/* no naive Bayes sums, or other features */
	FALLBACK_CLASS_RENAMED,		/* a class is no longer a value of the label type */
	FALLBACK_RESTORED,			/* label log entries restored since the version */
	FALLBACK_NEW_CLASS,			/* a label of a class the version does not have */
	FALLBACK_ROW_COUNT_CHANGED, /* a text table's rows differ from its idf's */
	FALLBACK_FOREIGN_SNAPSHOT,	/* the version's snapshot is another cluster's */
	FALLBACK_UNLOGGED_CHANGE,	/* labels per class the log does not account for */
	FALLBACK_TOO_MANY_CHANGES,	/* more changes than labeled rows */
	FALLBACK_ROW_DELETED,		/* a changed row no longer exists */
	FALLBACK_TOO_LARGE,			/* too many sums with the new vocabulary */
	FALLBACK_CLASS_EMPTIED,		/* a class left without labeled rows */
	FALLBACK_NEGATIVE_SUM,		/* a sum went negative: a row's features changed */
	FALLBACK_AUTO_LABELS,		/* machine labels, which the model does not train on */
	FALLBACK_WEIGHTED			/* weight_by_consensus: a row's weight can
								 * change while its label does not */
} TrainFallback;

/* The name of a fallback, as in the metrics ("fallback") and the log */
extern const char *train_fallback_name(TrainFallback fallback);

/*
 * When a training cross-validates.  The worker defers it: a version it
 * trains is recorded with its base's figures and "cv_pending", scored, and
 * cross-validated after, when no label came meanwhile (TRAIN_CV_ONLY: the
 * same data is read again, the figures replace the base's in place).
 */
typedef enum TrainCvWhen
{
	TRAIN_CV_INLINE,			/* before recording the version (hitl.train) */
	TRAIN_CV_DEFER,				/* after its scoring (the worker) */
	TRAIN_CV_ONLY				/* the deferred cross-validation of the current
								 * version: nothing new is recorded */
} TrainCvWhen;

/* One training of a model: what train.c hands to the training of its kind */
typedef struct TrainRun
{
	HitlModel  *model;			/* locked */
	FeatureLayout *layout;		/* its dims known */
	HitlVersion *prev;			/* the current version, or NULL (none, or
								 * damaged); loaded by train.c for the sparse
								 * kinds, by train_dense.c itself */
	instr_time	start;
	TrainFallback fallback;		/* why an incremental update asked for fell
								 * back, or FALLBACK_NONE */
	TrainCvWhen cv_when;
	bool		cv_deferred;	/* the cross-validation was left for later */
	bool		idf_reused;		/* text: the current version's idf, not read
								 * again (train_sparseset.c) */
	bool		cv_recorded;	/* TRAIN_CV_ONLY: the figures were put in */
	bool		recalibrated;	/* ... and changed the version's calibration
								 * temperature */
	bool		weighted;		/* weight_by_consensus: rows weigh their
								 * consensus confidence (train_read_weighted) */
	double		weight_sum;		/* ... the sum of the weights trained on */
} TrainRun;

/*
 * The worker defers a version's cross-validation only while the figures it
 * copies were computed at most this many versions back: a steady stream of
 * labels still gets a version cross-validated (before its scoring) every
 * so often
 */
#define TRAIN_MAX_DEFERRED 4

/*
 * A training of one kind: returns the version number (a new one, or the
 * current one when it would learn nothing new).  train_incremental returns
 * 0 and sets run->fallback when the model must be trained from scratch.
 */
typedef int (*TrainFamilyFn) (TrainRun *run);

extern int	train_dense(TrainRun *run);
extern int	train_text(TrainRun *run);
extern int	train_nbayes(TrainRun *run);
extern int	train_incremental(TrainRun *run);

/*
 * A naive Bayes training from scratch by aggregates (train_nbsums.c):
 * returns the version, or -1 when this run must read the rows instead
 * (train_nbayes).
 */
extern int	train_nbayes_sums(TrainRun *run);

/*
 * Train a new version of the named model and record it; returns the version
 * number.  With incremental, a naive Bayes model applies only the label
 * changes since its current version when it can; when says when it
 * cross-validates (TRAIN_CV_INLINE or TRAIN_CV_DEFER).  Runs inside an SPI
 * connection opened by the caller.
 */
extern int	train_model(const char *name, bool incremental, TrainCvWhen when);

/*
 * Cross-validate the named model's current version when its cross-validation
 * was deferred: in place (*recorded) when it learned from the data the
 * table holds now, else by training a new version that cross-validates at
 * once.  True when a new version came (its scores are still to be
 * written); *recalibrated when the figures recorded in place moved the
 * calibration temperature (the model then no longer counts as scored:
 * catalog_replace_cv_figures).
 */
extern bool train_crossvalidate_current(const char *name, bool *recorded,
										bool *recalibrated);


/* train_common.c: what every kind shares */

/* The classes met while reading labels */
typedef struct LabelSet
{
	int			n_classes;
	int			capacity;
	char	  **classes;
} LabelSet;

/* Index of a label's class, adding it when new (copies live in cxt) */
extern int	train_class_of(LabelSet *ls, const char *label, MemoryContext cxt);

/* Index of a label among a version's classes, or -1 */
extern int	train_version_class(const HitlVersion *v, const char *label);

/*
 * A non-NULL label read as text (the query's cast): the text as a C
 * string, or 22004 when the cast gave NULL (a cast to text of the label
 * type's owner may)
 */
extern char *train_label_text(const HitlModel *model, Datum label, bool isnull);

/* Raise the error when there are too few labels or fewer than two classes */
extern void train_check_labels(const HitlModel *model, int n, const LabelSet *ls);

/*
 * Put the classes in the label type's order and renumber the n class
 * indexes in y accordingly.  Runs a query through SPI.
 */
extern void train_order_classes(const HitlModel *model, LabelSet *ls, int n, int *y);

/* Fill in what a new version was trained on: rows, classes, features */
extern void train_version_init(HitlVersion *v, const HitlModel *model,
							   const FeatureLayout *layout, int n, const LabelSet *labels);

/*
 * The model's current version to build on, or NULL (none yet, or damaged:
 * then a WARNING says the training starts from scratch).
 */
extern HitlVersion *train_load_current(const HitlModel *model, MemoryContext cxt);

/*
 * Fold n bytes into a running 64-bit hash: what a version was trained on
 * (metrics "data_hash"), so that a training that would learn from the same
 * data returns the current version instead of recording a copy.
 */
extern uint64 train_hash_more(uint64 h, const void *data, size_t n);

/* The options of the fit folded into a hash, and the hash as 16 hex digits */
extern char *train_hash_finish(uint64 h, const HitlModel *model);

/*
 * Does a naive Bayes training of run fingerprint its rows by the sums of
 * their hashes, a sum per class (agg_math.h's AGG_KIND_NBSUMS), whichever
 * way it reads them: a model without text, unweighted.  A row's hash is
 * agg_nbsums_row_hash of its features from the seed train_row_seed_sql
 * gives it (its group's hash with cv_group_column, else 0); the version's
 * data hash is train_nb_rowsum_hash's, from the classes (in their order)
 * and their rows' hash sums, with n and the options.  Reading the rows in
 * key order (train_sparseset.c) or adding them up by aggregates
 * (train_nbsums.c) gives the same hash.
 */
extern bool train_nb_rowsum(const TrainRun *run);
extern char *train_row_seed_sql(const HitlModel *model, const char *alias);
extern char *train_nb_rowsum_hash(const HitlModel *model, const HitlVersion *v, int64 n,
								  const uint64 *class_hash);

/* Raise 54000 when count (parameters of the model) is above limit */
extern void train_check_size(const HitlModel *model, int n_classes, int d, int64 count,
							 int64 limit, const char *what, const char *unit,
							 const char *hint);

/* Has version prev the classes of v in the same order, and its dense features? */
extern bool train_same_classes(const HitlVersion *prev, const HitlVersion *v);

/* The WARNING of a fit that did not converge, the ERROR of one that failed */
extern void train_check_fit(const HitlModel *model, LogregStatus status, int iterations);

/* Append "key": value to a JSON object being built in buf ("{" already there) */
extern void train_json_number(StringInfo buf, const char *key, double value);

/* Append a logistic fit's iterations, converged, warm_start and objective */
extern void train_json_fit(StringInfo buf, const LogregResult *res, bool warm);

/*
 * Append the accuracy, macro F1 and log loss of m, as prefix_accuracy etc.,
 * and for the cross-validated ones (cv non-NULL), cv_folds and cv_...
 */
extern void train_json_class_metrics(StringInfo buf, const ClassMetrics *train,
									 int folds, const ClassMetrics *cv);

/*
 * Close the metrics of a training from scratch: the reason an incremental
 * update fell back ("fallback"), when one was asked for, "weighted" and
 * "weight_sum" when weighted, and the data hash.
 */
extern void train_json_finish(StringInfo buf, const TrainRun *run, const char *hash);

/*
 * Per-row weights (weight_by_consensus).  With the option on, every
 * training reads the rows' weights with the rows (dataset_open_labeled:
 * the confidence of each row's consensus, 1 without one, rows of
 * confidence 0 left out), hands them to the solver and the
 * cross-validation (the out-of-fold figures stay counts of rows), folds
 * them into the data hash and records "weighted" and "weight_sum" in the
 * metrics.  Off, nothing of it runs: the same queries and versions as a
 * model without the option.
 */

/* Is weight_by_consensus on for the model (and hitl.consensus there)? */
extern bool train_read_weighted(const HitlModel *model);

/* A row's weight from its weight column (NULL: 1) */
#define TRAIN_WEIGHT_OF(value, isnull) ((isnull) ? 1.0 : DatumGetFloat8(value))

/*
 * Fold the n weights w into a running hash and sum them into
 * run->weight_sum; w NULL (not weighted) leaves h as it is
 */
extern uint64 train_hash_weights(uint64 h, TrainRun *run, const double *w, int n);

/*
 * Does the current version stand (same: it learned from the same data)?
 * A training of hitl.train finding a version whose cross-validation is
 * pending, with the same data, turns into that cross-validation; a
 * TRAIN_CV_ONLY finding other data (a feature changed, rows came, an
 * option) turns into a training that cross-validates at once.
 */
extern bool train_stands(TrainRun *run, bool same);

/*
 * Record version v with its metrics (a jsonb text); returns its number.  A
 * deferred cross-validation (run->cv_deferred) records the base's figures
 * and "cv_pending"; TRAIN_CV_ONLY records no version but puts the figures of
 * metrics into the current one and records its out-of-fold trend (a new
 * version's stopping signal is train.c's: train_stop_signal).
 */
extern int	train_record(TrainRun *run, HitlVersion *v, const char *metrics);


/* train_crossval.c: the cross-validation of every kind */

/* The groups of the labeled rows (cv_group_column), as hashes of their text */
typedef struct TrainGroups
{
	int			capacity;
	uint64	   *key;			/* per row: the hash of the group's text ... */
	bool	   *isnull;			/* ... or NULL: a group of its own */
} TrainGroups;

/* Record a row's group (value: text) in g, grown in cxt */
extern void train_groups_add(TrainGroups *g, int row, Datum value, bool isnull,
							 MemoryContext cxt);

/* Fold the n rows' groups into a running hash (see train_hash_more) */
extern uint64 train_groups_hash(uint64 h, const TrainGroups *g, int n);

/* The keys of the labeled rows (jsonb), for the audit of their labels */
typedef struct TrainKeys
{
	int			capacity;
	Datum	   *key;			/* per row: its key, copied into the set */
} TrainKeys;

/* The column of dataset_open_labeled() that holds the row's key */
#define TRAIN_KEY_COLUMN(model, layout) \
	((layout)->ncols + ((model)->cv_group_column != NULL ? 3 : 2))

/* ... its weight (NULL: 1), and the first column after them */
#define TRAIN_WEIGHT_COLUMN(model, layout) (TRAIN_KEY_COLUMN(model, layout) + 1)
#define TRAIN_EXTRA_COLUMN(model, layout) (TRAIN_KEY_COLUMN(model, layout) + 2)

/* audit.c: record a row's key (jsonb) in keys, grown in cxt */
extern void train_keys_add(TrainKeys *keys, int row, Datum value, MemoryContext cxt);

typedef enum TrainCvKind
{
	TRAIN_CV_DENSE,				/* dense logistic regression */
	TRAIN_CV_SPARSE,			/* logistic regression with text */
	TRAIN_CV_NBAYES				/* naive Bayes */
} TrainCvKind;

/* What to cross-validate: the labeled rows and the model of a kind */
typedef struct TrainCvInput
{
	TrainCvKind kind;
	int			n;				/* labeled rows ... */
	int			k;				/* ... their classes ... */
	const int  *y;				/* ... and each row's class */
	const TrainGroups *groups;	/* NULL without cv_group_column */
	const double *coef;			/* logistic: the fit on all rows */
	const LogregProblem *dense; /* dense: the raw rows */
	const bool *missing;
	const SparseLogregProblem *sparse;	/* text */
	const SparseMatrix *X;		/* naive Bayes: the rows, their weights (NULL:
								 * all 1), their sums ... */
	const double *weight;
	const NBayesCounts *counts;
	double		alpha;			/* ... and the smoothing */
	double		dimension;
	const Datum *keys;			/* n: each row's key (jsonb), for the audit */
	char	  **classes;		/* k: the classes' names, for the audit */
} TrainCvInput;

/* A cross-validation's out-of-fold probabilities and what they give */
typedef struct TrainCv
{
	bool		done;			/* false: not cross-validated */
	int			n;
	int			k;
	int			folds;			/* folds that got rows */
	int		   *fold;			/* n: each row's fold */
	double	   *proba;			/* n x k: each row's out-of-fold probabilities */
	ClassMetrics metrics;		/* accuracy, macro F1, log loss (calibrated) */
	int64	   *confusion;		/* k x k: [true * k + predicted] rows */
	ClassReport *report;		/* k: precision, recall, F1, support */
	double		macro_f1;
	CalibrationChoice calibration;	/* applied to proba */
	double		log_loss_uncalibrated;
	double		ece;			/* of proba, calibrated */
	double		brier;
	CalibrationBin reliability[CALIB_BINS];
} TrainCv;

/*
 * Cross-validate over the model's cv_folds folds when there are rows
 * enough, and the run does not defer it (run->cv_deferred is then set);
 * out->done says whether it was.  When it was, out->proba holds
 * the out-of-fold probabilities calibrated as out->calibration says.
 * Returns 0, or what the kind's cross-validation returned when it failed
 * (1: naive Bayes with a class in one fold only; -1: a fold fit failed).
 */
extern int	train_crossval(TrainRun *run, const TrainCvInput *in, TrainCv *out);

/*
 * Would train_crossval cross-validate in's rows now (not deferred, and
 * with folds and rows enough)?  Only in->n, in->k and in->classes are read.
 */
extern bool train_crossval_now(const TrainRun *run, const TrainCvInput *in);

/*
 * audit.c: replace the model's audit store with the suspect labels that
 * cv's out-of-fold probabilities find (confident learning), or empty it
 * when cv was not done.  Runs in the training's SPI connection.
 */
extern void audit_record(const HitlModel *model, const TrainCvInput *in, const TrainCv *cv);

/*
 * Append per_class, macro_f1, confusion, the calibration and its figures
 * (and cv_group_column) when cv->done
 */
extern void train_json_crossval(StringInfo buf, const HitlModel *model, const TrainCv *cv,
								char **classes);


/* train_sparseset.c: the labeled rows of a text or naive Bayes model */

/* The labeled rows of a sparse model */
typedef struct SparseSet
{
	int			n;
	int			capacity;
	int			d;				/* dense features */
	double	   *x;				/* n x d, raw */
	bool	   *missing;		/* n x d */
	int		   *y;
	double	   *w;				/* weighted: each row's weight, else NULL */
	LabelSet	labels;
	TrainGroups groups;			/* with cv_group_column */
	TrainKeys	keys;			/* each row's key, for the audit */
	/* text: per row, buckets ascending and their weights */
	int64	   *tptr;			/* n + 1 */
	int		   *tbucket;
	double	   *tweight;
	int64		tnnz;
	int64		tcapacity;
} SparseSet;

/* A sparse training's input, read and laid out over its vocabulary */
typedef struct SparseTraining
{
	HitlVersion v;				/* the version being built: classes, features,
								 * idf, vocabulary, label snapshot (naive Bayes) */
	SparseSet	s;				/* the rows' classes in s.y */
	SparseMatrix X;				/* the rows over the version's positions */
	int64	   *indptr;			/* X's arrays */
	int		   *indices;
	double	   *values;
	char	   *hash;			/* what the training learns from */
	uint64	   *class_hash;		/* train_nb_rowsum: per class, the sum of its
								 * rows' hashes */
} SparseTraining;

/*
 * Read the labeled rows of a text or naive Bayes model (and, with text,
 * the idf of the table) into t.  Returns false when the current version
 * was trained on the same data and stands: then nothing is to be recorded.
 */
extern bool train_sparse_read(TrainRun *run, SparseTraining *t);

/*
 * Does the current version stand, having learned from data of this hash?
 * has_snapshot: the new version would record a label snapshot (naive
 * Bayes, unweighted).
 */
extern bool train_sparse_stands(TrainRun *run, bool has_snapshot, const char *hash);

/* Open the metrics of a sparse version (nnz < 0: not reported) */
extern void train_sparse_metrics(StringInfo buf, const HitlVersion *v, int64 nnz,
								 bool incremental);


/* train_stopping.c: the stopping signal of a version */

/*
 * Compare the predictions of version (just recorded) with the previous
 * version's, on a fixed sample of the unlabeled rows: with compared < 0
 * those the model's table holds (before the version's scoring), else those
 * of version compared, computed (after it; 0: none); record the kappa and
 * the mean uncertainty in its metrics, with the out-of-fold trend, and
 * hitl.models.stop_suggested.  The worker's trainings (TRAIN_CV_DEFER)
 * leave it to the worker, after the scoring: train_stop_signal_after.
 */
extern void train_stop_signal(const HitlModel *model, int version, int compared);

/*
 * train.c: the stopping signal of the named model's version, compared
 * with version compared (see train_stop_signal), after the scoring; false
 * when the model or the version is gone, or hitl has no stopping signal.
 */
extern bool train_stop_signal_after(const char *name, int version, int compared);

/*
 * catalog_versions.c: merge signal (a jsonb object's text) into the
 * version's metrics with "stop_kappa_version" (compared; when negative the
 * model's scored version) and the out-of-fold trend (hitl._stop_cv_trend),
 * and set hitl.models.stop_suggested.  With signal NULL (figures of a
 * deferred cross-validation just recorded), the trend alone.
 */
extern void catalog_record_stop_signal(const HitlModel *model, int version,
									   const char *signal, int compared);

/* catalog_versions.c: has the database's hitl the stopping signal yet? */
extern bool catalog_stop_signal_installed(void);


/* train_nbayes.c: what the incremental update shares */

/* Refuse (22000) a dense feature whose sum per class overflowed */
extern void train_nb_check_sums(const HitlModel *model, const FeatureLayout *layout,
								const NBayesCounts *c, char **classes);

/* Store the non-zero sums of c in v */
extern void train_nb_store_counts(HitlVersion *v, const NBayesCounts *c);

#endif
