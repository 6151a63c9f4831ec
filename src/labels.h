/*
 * labels.h
 *		The label log: triggers on a model's table that record every label
 *		change in hitl.label_log and wake the database's worker at commit.
 *
 * The C side is a family of files, label_*.c (see label_internal.h): the
 * trigger and its attachment, the label updates kept per statement, the
 * log's writer, the per-table cache of what the triggers know, the row
 * check of the policies; their reads of hitl.models are in
 * catalog_labels.c.
 *
 * The SQL side (the table and its policies, the view hitl.label_stats, the
 * functions that attach and detach the triggers, the event triggers, the
 * restore triggers) is in sql/hitl--0.1.0.sql and sql/0.2.0/30-labels.sql.
 * The worker reads a model's log from the id it last processed on: the
 * index on hitl.label_log (model, id) makes max(id) of one model a single
 * index probe.
 */
#ifndef HITL_LABELS_H
#define HITL_LABELS_H

#include "postgres.h"

#include "fmgr.h"

/* label_trigger.c */

/*
 * hitl._label_trigger(model): the one trigger function behind the label
 * triggers of a model, told apart by their event and level.
 */
extern Datum hitl_label_trigger(PG_FUNCTION_ARGS);

/*
 * answer.c: hitl's own label writes (hitl.auto_label) to table relid are
 * not annotators' answers; true suspends, false resumes (calls nest, for
 * one table).  Writes to other tables meanwhile (a trigger's) answer.
 */
extern void label_answers_suspend(Oid relid, bool on);

/*
 * answer.c: the label writes of a consensus refresh (consensus_refresh.c),
 * logged with source 'consensus'; true starts, false ends (calls nest).
 */
extern void label_consensus_writing(Oid relid, bool on);
extern bool label_consensus_written(Oid relid);

/*
 * hitl._attach_label_triggers(model): the missing label triggers of a
 * model, for a caller that may change it.
 */
extern Datum hitl_attach_label_triggers(PG_FUNCTION_ARGS);

/*
 * The first of a version's classes that is no longer a value of the
 * model's label type (an enum value renamed or dropped), or NULL.
 */
extern const char *label_missing_class(Oid source, const char *label_column,
									   int n_classes, char **classes);

/* label_rowcheck.c */

/*
 * hitl._source_row_visible(model, row_key): whether the current role may
 * see the row of the model's table a row key names (row-level security).
 */
extern Datum hitl_source_row_visible(PG_FUNCTION_ARGS);

#endif
