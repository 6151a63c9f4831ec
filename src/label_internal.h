/*
 * label_internal.h
 *		The label log's family of files, and what they share.
 *
 * The family, each file using only those below it (labels.h declares what
 * the rest of hitl and the SQL side call):
 *
 *	label_trigger.c		the trigger function, its attachment, the logging
 *						of inserted and deleted rows (transition tables)
 *	label_buffer.c		label updates kept per row and (sub)transaction,
 *						written per statement or before commit
 *	label_log.c			the writer of hitl.label_log's rows
 *	label_info.c		what the triggers know of a model on a table,
 *						cached per backend: columns, text casts, row key
 *	label_rowcheck.c	hitl._source_row_visible, beside the others: the
 *						row check of the label log's and queue's policies
 *
 * Their reads of hitl.models and the finding of hitl.label_log are in
 * catalog_labels.c (catalog.h).
 */
#ifndef HITL_LABEL_INTERNAL_H
#define HITL_LABEL_INTERNAL_H

#include "postgres.h"

#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/relcache.h"

#include "hitl.h"
#include "rowkey.h"

/* ------------------------------------------------------------------------
 * label_info.c: a model on a table, as the triggers see it
 * ------------------------------------------------------------------------ */

/* How a label's type becomes text: as its cast to text does */
typedef enum TextHow
{
	TEXT_AS_IS,					/* text, or binary compatible (varchar) */
	TEXT_CAST_FUNCTION,			/* a cast function (boolean: 'true') */
	TEXT_OUTPUT_FUNCTION		/* I/O conversion (integers, enums) */
} TextHow;

typedef struct TextCast
{
	TextHow		how;
	int			nargs;			/* of the cast function */
	FmgrInfo	fn;
} TextCast;

/* A column of the model's table the triggers read */
typedef struct LabelColumn
{
	AttrNumber	attnum;
	Oid			typid;
	int16		typlen;
	bool		typbyval;
} LabelColumn;

/*
 * What the triggers know of a model on a table, cached per backend until
 * hitl.models or the table changes (relcache invalidation).
 */
typedef struct LabelInfoKey
{
	char		model[HITL_MODEL_NAME_LEN];
	Oid			relid;
} LabelInfoKey;

typedef struct LabelInfo
{
	LabelInfoKey key;			/* hash key */
	bool		usable;			/* false: no such model here, or it is broken */
	int			nkeys;
	LabelColumn keys[INDEX_MAX_KEYS];
	LabelColumn label;
	LabelColumn prediction;
	LabelColumn confidence;
	RowKeyBuilder row_key;		/* the row key from the key columns */
	TextCast	label_text;
	TextCast	prediction_text;
	int			annotators;		/* option annotators_per_row */
	char		owner[NAMEDATALEN]; /* the model's owner */
	Oid			label_input;	/* the label type's input function */
	Oid			label_ioparam;
} LabelInfo;

/* The cached model of that name on that table, read when missing */
extern LabelInfo *label_info(const char *model, Relation rel);

/* A value as text, as its type's cast to text makes it */
extern Datum label_text(TextCast *cast, Datum value);

/* ------------------------------------------------------------------------
 * label_log.c: writing hitl.label_log
 * ------------------------------------------------------------------------ */

typedef struct LabelLogWriter LabelLogWriter;

/*
 * Start writing log rows of a model; NULL (and nothing to close) when the
 * model is gone.
 */
extern LabelLogWriter *label_log_open(const char *model);

/*
 * Log one change: the row's key values, its labels before and after and
 * its prediction and confidence (each NULL when its null flag says so).
 */
extern void label_log_change(LabelLogWriter *w, LabelInfo *info,
							 const Datum *keys, const bool *key_nulls,
							 Datum old_label, bool old_null,
							 Datum new_label, bool new_null,
							 Datum prediction, bool prediction_null,
							 Datum confidence, bool confidence_null);

/* Write what is left and release the writer */
extern void label_log_close(LabelLogWriter *w);

/* Does hitl write a label log now (a label trigger or the flush at commit)? */
extern bool label_log_busy(void);

/* Run fn(arg) marked as writing the label log (unmarked also on error) */
extern void label_log_run(void (*fn) (void *arg), void *arg);

/* ------------------------------------------------------------------------
 * label_buffer.c: label updates kept per row, written per statement
 * ------------------------------------------------------------------------ */

/* Register the transaction callbacks that write or drop the kept changes */
extern void label_buffer_register(void);

/*
 * Row trigger after an UPDATE that changed the label: keep the row's key,
 * both labels and the prediction and confidence it had.
 */
extern void label_buffer_keep(TriggerData *trigdata, const char *model);

/* answer.c: an annotator's answer, and the row with its consensus */
extern HeapTuple label_answer(TriggerData *trigdata, const char *model);

/* Statement trigger after UPDATE: write what its rows kept */
extern void label_buffer_flush(TriggerData *trigdata, const char *model);

#endif
