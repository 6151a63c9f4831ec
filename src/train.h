/*
 * train.h
 *		Training a model on the labeled rows of its table.
 */
#ifndef HITL_TRAIN_H
#define HITL_TRAIN_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "catalog.h"
#include "dataset.h"

/* The classes met while reading labels */
typedef struct LabelSet
{
	int			n_classes;
	int			capacity;
	char	  **classes;
} LabelSet;

/* Index of a label's class, adding it when new (copies live in cxt) */
extern int	train_class_of(LabelSet *ls, const char *label, MemoryContext cxt);

/* Raise the error when there are too few labels or fewer than two classes */
extern void train_check_labels(const HitlModel *model, int n, const LabelSet *ls);

/*
 * Put the classes in the label type's order and renumber the n class
 * indexes in y accordingly.  Runs a query through SPI.
 */
extern void train_order_classes(const HitlModel *model, LabelSet *ls, int n, int *y);

/* Append "key": value to a JSON object being built in buf ("{" already there) */
extern void train_json_number(StringInfo buf, const char *key, double value);

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

/*
 * Train a new version of the named model and record it; returns the version
 * number.  With incremental, a naive Bayes model applies only the label
 * changes since its current version when it can.  Runs inside an SPI
 * connection opened by the caller.
 */
extern int	train_model(const char *name, bool incremental);

/*
 * Train a sparse model (text features or naive Bayes); with incremental, a
 * naive Bayes model applies the label changes since its current version
 * when it can (else it trains from scratch).  model is locked; layout has
 * its dims.  Returns the version number.
 */
extern int	train_sparse_model(HitlModel *model, FeatureLayout *layout, bool incremental);

#endif
