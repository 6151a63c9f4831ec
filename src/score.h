/*
 * score.h
 *		Scoring every row of a model's table: the family of files that do it.
 *
 *	score.c			the scoring pass and the SQL-callable hitl.score*
 *	score_rows.c	the scored rows: where they are (ctids, the table's
 *					storage) and whose they are (their primary keys)
 *	score_write.c	writing the scores in batches, without waiting on users
 *	queue.c			ranking the review candidates and storing the queue
 *					(declared in queue.h)
 *	queue_diverse.c	the diverse strategy's order of the queue (queue.h)
 *	score_committee.c	the committee strategy's members (score_scan.h)
 *
 * The calls go one way: score.c calls the others; queue.c and score_write.c
 * call score_rows.c; score_rows.c calls none of them.  What they share is
 * the scoring's state, ScoreState, set up by score.c.
 *
 * Other files need only score_model().
 */
#ifndef HITL_SCORE_H
#define HITL_SCORE_H

#include "postgres.h"

#include "executor/spi.h"
#include "storage/itemptr.h"

#include "catalog.h"
#include "classifier.h"
#include "dataset.h"

/* Ends the transaction after a unit of work and begins the next */
typedef void (*ScoreCommitFn) (void *arg);

/* Serialise with the model's scorings until the transaction ends (score_lock.c) */
extern void score_lock(const char *name);

/*
 * Score the named model's table with its current version; returns the
 * number of rows written.  Runs inside an SPI connection opened by the
 * caller.  Its working memory is a child of parent.  With a commit
 * function, the transaction is committed after the queue is stored and
 * after each batch (parent must then outlive the transactions); without,
 * all is one transaction.
 */
extern int64 score_model(const char *name, MemoryContext parent,
						 ScoreCommitFn commit, void *commit_arg);

/* One row's new scores, waiting to be written */
typedef struct ScoredRow
{
	ItemPointerData tid;		/* first: rows sorted by tid are searched by
								 * tid alone */
	int32		cls;			/* class index, 0-based */
	bool		in_queue;		/* among the review candidates */
	double		confidence;
	double		uncertainty;
	Datum		key;			/* its primary key when scored: the value of
								 * the one key column, or a palloc'd array of
								 * the values of several (see rowkey_save) */
} ScoredRow;

/*
 * Growable array of rows, in a memory context of its own choosing: SPI
 * calls leave CurrentMemoryContext on SPI's context, which a scoring that
 * commits between batches loses at every commit.
 */
typedef struct RowList
{
	MemoryContext mcxt;
	ScoredRow  *rows;
	int64		n;
	int64		capacity;
} RowList;

/* Everything one scoring needs */
typedef struct ScoreState
{
	HitlModel  *model;
	HitlVersion *version;
	FeatureLayout *layout;
	Classifier	classifier;
	Oid			label_type;
	bool		label_byval;
	char	   *label_type_sql;	/* label type, for casts in SQL */
	Datum	   *class_datums;	/* classes as values of the label type */
	MemoryContext cxt;			/* the scoring's memory, across commits */
	bool		commit_batches; /* commit after the queue and each batch */
	ScoreCommitFn commit;
	void	   *commit_arg;
	int64		written;

	/* the batch writes' SQL (score_write.c) */
	char	   *update_sql_text;
	SPIPlanPtr	update_plan;	/* generic plan: planning a batch's tid
								 * array as a constant costs more than the
								 * batch's writes */
	char	   *update_range_sql_text;	/* the same over a range of ctids */
	SPIPlanPtr	update_range_plan;
	double		rows_per_page;	/* the table's, when scanned (0: unknown) */
	Oid			prediction_array_type;	/* array of the label's type */
	bool		pick_any;		/* hitl._pick_any() is there (not before
								 * the update from 0.1.0) */
	char	   *lock_sql;
	char	   *visible_sql;
	char	   *key_check_sql;	/* does row t hold the key scored at its ctid? */
	char	   *moved_sql;		/* rows at a batch's ctids with another key */

	/*
	 * The primary key, read by the scan and checked by every write.  Keys
	 * are compared in their columns' base types (a domain's base type), with
	 * the equality operator of the type's default operator class.
	 */
	int			nkeys;
	Oid		   *key_types;		/* base types */
	int16	   *key_typlen;
	bool	   *key_byval;
	char	   *key_typalign;
	Oid		   *key_array_types;
	char	  **key_eq;			/* OPERATOR(schema.=) of each */
	Oid			relfilenode;	/* the table's storage when it was scanned */
	bool		restart;		/* the scan's ctids are stale: start over */
} ScoreState;

/* score_rows.c */

/* Append a row to a list, growing it in the list's memory context */
extern void rowlist_add(RowList *list, const ScoredRow *row);

/* qsort/bsearch comparison of two ItemPointers (or of structs led by one) */
extern int	score_tid_cmp(const void *a, const void *b);

/* Sort rows[0..n-1] by ctid */
extern void rows_sort_by_tid(ScoredRow *rows, int n);

/* The ctids of rows[0..n-1] as a tid[] */
extern Datum rows_tid_array(const ScoredRow *rows, int n);

/* Set up the key columns' types and equality operators in s */
extern void score_prepare_keys(ScoreState *s);

/* Keep the key of the row being scanned (values[0..nkeys-1]) in s->cxt */
extern Datum rowkey_save(const ScoreState *s, const Datum *values, const bool *nulls);

/* Free what rowkey_save allocated */
extern void rowkey_free(const ScoreState *s, Datum key);

/* Key column k of rows[0..n-1], as an array of its base type */
extern Datum rowkey_array(const ScoreState *s, const ScoredRow *rows, int n, int k);

/* Note the table's storage the scan's ctids belong to */
extern void score_note_storage(ScoreState *s);

/*
 * Has the table been rewritten since it was scanned (or are the scan's
 * ctids otherwise known to be stale)?  Sets s->restart when so.
 */
extern bool score_table_rewritten(ScoreState *s);

/* score_write.c */

/* Build the SQL of the batch writes (after score_prepare_keys) */
extern void score_write_prepare(ScoreState *s);

/* Free what score_write_prepare and the writes kept beyond a transaction */
extern void score_write_release(ScoreState *s);

/*
 * Write a batch without waiting on other sessions: all of it when nothing is
 * locked; else the rows that can be locked, the others going to *skipped;
 * and when the table itself is locked, none of it.
 */
extern void write_batch(ScoreState *s, const ScoredRow *rows, int n, RowList *skipped);

/*
 * Write the rows of a batch that no other session holds, the others going
 * to *skipped: the second attempt of write_batch, and how rows that were
 * locked are tried again.
 */
extern void write_batch_skip_locked(ScoreState *s, const ScoredRow *rows, int n,
									RowList *skipped);

#endif
