/*
 * dataset.h
 *		From rows of a source table to feature vectors.
 *
 * A model's feature columns expand to d numbers: one per scalar column
 * (integers, floats, numeric; booleans as 0/1) and one per element of an
 * array column (real[] or double precision[] of a fixed length).  A NULL
 * value, or a NULL array element, is reported as missing: the caller
 * imputes it with the training mean.  Any finite double is a valid value;
 * NaN, the infinities and numerics beyond the range of double precision are
 * refused (features_report names the column and the row).  Text columns
 * (text, varchar) expand to no dense feature: they become hashed sparse
 * terms (see textfeat.h), and the conversion here skips them.
 */
#ifndef HITL_DATASET_H
#define HITL_DATASET_H

#include "postgres.h"

#include "access/attnum.h"
#include "access/tupdesc.h"
#include "executor/spi.h"

#include "catalog.h"
#include "compat.h"

typedef struct FeatureLayout
{
	int			ncols;			/* feature columns */
	AttrNumber *attnums;		/* their numbers in the source table */
	Oid		   *types;			/* their types */
	bool	   *is_array;
	bool	   *is_text;
	int			n_text;			/* text columns */
	int		   *dims;			/* 0 for scalars; array length (-1: unknown) */
	int		   *offsets;		/* first expanded index of each column */
	int			d;				/* expanded features (valid once dims known) */
	bool		all_float8;		/* every column a float8 scalar: feature i is column i */
} FeatureLayout;

typedef enum FeatureStatus
{
	FEATURE_OK = 0,
	FEATURE_NOT_FINITE,			/* NaN or infinity */
	FEATURE_OUT_OF_RANGE,		/* a numeric beyond the range of double */
	FEATURE_BAD_LENGTH,			/* array of another length than the model's */
	FEATURE_BAD_SHAPE,			/* array with more than one dimension */
	FEATURE_NEGATIVE			/* below zero, for naive Bayes */
} FeatureStatus;

/* Column numbers and types of a model's feature columns; array dims unknown */
extern FeatureLayout *features_resolve(const HitlModel *model);

/* Set array lengths (one per column, 0 for scalars) and compute offsets/d */
extern void features_set_dims(FeatureLayout *layout, const int *dims);

/*
 * Find each array column's length from the table (the first non-null
 * value); raises an error when an array column holds no value at all, or,
 * then, that the model has no labeled row when none is labeled.  Runs
 * queries through SPI.
 */
extern void features_detect_dims(FeatureLayout *layout, const HitlModel *model);

/*
 * Convert one row's feature values (values[i], isnull[i] for feature column
 * i) into x[0..d-1] and missing[0..d-1].  Returns FEATURE_OK, or what is
 * wrong and in which column (*bad_col).
 */
extern FeatureStatus features_from_datums(const FeatureLayout *layout,
										  const Datum *values, const bool *isnull,
										  double *x, bool *missing, int *bad_col);

/* Raise the error for a row whose features could not be converted */
pg_noreturn extern void features_report(const HitlModel *model,
										const FeatureLayout *layout,
										FeatureStatus status, int bad_col,
										const char *row_key);

/* Names of the d expanded features: column, or column[i] for arrays */
extern char **features_names(const HitlModel *model, const FeatureLayout *layout);

/* "alias.f1, alias.f2, ..." for a SELECT list */
extern char *features_select_list(const HitlModel *model, const char *alias);

/*
 * Open a read-only cursor on the labeled rows in primary-key order: ctid,
 * the feature columns, the label as text, with cv_group_column the row's
 * group as text, the row's key as jsonb, and last its training weight
 * (float8).
 *
 * The weight is NULL unless weighted (the model's weight_by_consensus):
 * then it is the confidence of the row's consensus on its label
 * (hitl.consensus, joined on its primary key), NULL for a row without
 * one, and the rows whose consensus has confidence 0 are left out, as if
 * unlabeled.  Without weighted the query is the one of an unweighted
 * model, with no join.
 */
extern Portal dataset_open_labeled(const HitlModel *model);

/* dataset_open_labeled, weighted or not, with extra (", expr, ...") after the weight */
extern Portal dataset_open_labeled_with(const HitlModel *model, const char *extra,
										bool weighted);

/*
 * Called by dataset_scan() for each row: its columns' values and nulls.  It
 * runs in a memory context reset after each row: what must outlive the row
 * is allocated in an explicitly named context.
 */
typedef void (*DatasetRowFn) (Datum *values, bool *nulls, void *arg);

/*
 * Call fn for every row of a cursor, then close it.  Rows are fetched in
 * batches; interrupts are checked after each row; the caller's memory
 * context is current again on return (SPI calls would leave SPI's).
 */
extern void dataset_scan(Portal portal, DatasetRowFn fn, void *arg);

/*
 * The labeled rows in primary-key order without sorting them.  Sorting
 * whole rows (hundreds of features) costs more than reading them: one scan
 * in the table's order streams every row from the executor to the caller
 * (no tuple table, no copy of the row), numbered as met, while only the
 * rows' keys, with their numbers, are sorted as ORDER BY sorts them.  The
 * caller stores each row at its number, then moves its arrays into key
 * order with dataset_permute.
 *
 * fn is called for each row with its number (0, 1, ...) and the columns
 * of dataset_open_labeled() (the key NULL unless with_key, the weight NULL
 * unless weighted), then the key columns.  It runs inside the executor, in
 * a memory context reset after each row: it must not run queries, and what
 * must outlive the row is allocated in an explicitly named context.
 */
typedef void (*DatasetRowAtFn) (int row, Datum *values, bool *nulls, void *arg);

/*
 * Call fn for every labeled row (weighted: as dataset_open_labeled says);
 * returns their number n, and *order (n ints, palloc'd): the row numbers
 * in primary-key order.
 */
extern int	dataset_read_labeled(const HitlModel *model, bool with_key, bool weighted,
								 DatasetRowAtFn fn, void *arg, int **order);

/*
 * Put element order[i] of base (n elements of size bytes) at i (through a
 * copy up to 512 MB, in place beyond)
 */
extern void dataset_permute(void *base, size_t size, int n, const int *order);

/* Open a read-only cursor on a query (no parameters) */
extern Portal dataset_open_cursor(const char *sql);

/*
 * Enter a GUC nesting level with JIT compilation off (queries planned
 * meanwhile keep it off); leave it with AtEOXact_GUC(true, level)
 */
extern int	dataset_no_jit_enter(void);

#endif
