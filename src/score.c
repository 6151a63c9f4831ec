/*
 * score.c
 *		hitl.score(): write prediction, confidence and uncertainty into the
 *		rows of a model's table, and rank the review candidates.
 *
 * One pass reads every row (features, label state, current scores) and
 * scores it in memory; rows whose scores did not move by more than the
 * model's score_tolerance are not written at all.  The most uncertain
 * unlabeled rows go to hitl.queue, ranked.  Writes follow in batches of
 * batch_size rows, queue candidates first, each batch one UPDATE joining the
 * table by ctid to arrays of new values.  Only the three output columns are
 * set, so the label (and anything else a user changes meanwhile) is never
 * overwritten, and with no index on the output columns the updates are HOT.
 *
 * A batch first tries its UPDATE under a short lock_timeout, in a
 * subtransaction; when a user holds a lock on one of its rows, the batch is
 * redone with SELECT ... FOR UPDATE SKIP LOCKED, and the skipped rows are
 * tried again at the end, a few times, before they are left for the next
 * scoring.  Scoring never waits long on a user.
 *
 * A ctid names a row only until the table is rewritten: in a scoring that
 * commits between batches (CALL hitl.score_in_batches, the worker), a VACUUM
 * FULL, CLUSTER, TRUNCATE and reload, or ALTER TABLE that rewrites can run
 * between two batches and put other rows at the ctids that were scored.  So
 * every write also checks the row's primary key, as read by the scan, and
 * only writes rows whose key is still the one scored: a rewrite can never
 * give a row another row's scores.  A changed relfilenode, or a ctid found
 * holding a row of another key, means the scan's ctids are stale: the
 * scoring then starts over in the next transaction (a new scan, a new
 * queue), so the rows it could not reach are scored all the same, and the
 * model is marked scored only by a scoring whose writes all found their rows.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "catalog.h"
#include "compat.h"
#include "dataset.h"
#include "labels.h"
#include "metrics.h"
#include "predictor.h"
#include "score.h"
#include "security.h"
#include "subxact.h"
#include "train.h"

/* lock_timeout of a batch's first attempt, in milliseconds */
#define BATCH_LOCK_TIMEOUT_MS "20"

/* rounds of retrying rows that were locked, and the first pause between */
#define LOCKED_RETRY_ROUNDS 6
#define LOCKED_RETRY_PAUSE_US 20000L

/* advisory lock class serialising the scorings of one model */
#define SCORE_LOCK_CLASS 0x6869746c

/* times a scoring starts over after its table was rewritten under it */
#define MAX_SCORE_RESTARTS 10

/* One row's new scores, waiting to be written */
typedef struct ScoredRow
{
	ItemPointerData tid;
	int32		cls;			/* class index, 0-based */
	bool		in_queue;		/* among the review candidates */
	double		confidence;
	double		uncertainty;
	Datum		key;			/* its primary key when scored: the value of
								 * the one key column, or a palloc'd array of
								 * the values of several (see key_save) */
} ScoredRow;

/* A review candidate: an unlabeled row and where the scan met it */
typedef struct Candidate
{
	ScoredRow	row;
	uint64		seq;
} Candidate;

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

static void
rowlist_add(RowList *list, const ScoredRow *row)
{
	if (list->n == list->capacity)
	{
		list->capacity = list->capacity ? list->capacity * 2 : 4096;
		if (list->rows == NULL)
			list->rows = MemoryContextAllocExtended(list->mcxt,
													sizeof(ScoredRow) * list->capacity,
													MCXT_ALLOC_HUGE);
		else
			list->rows = repalloc_huge(list->rows, sizeof(ScoredRow) * list->capacity);
	}
	list->rows[list->n++] = *row;
}

/*
 * Candidate heap: a min-heap of at most queue_size entries whose root is the
 * weakest candidate (lowest uncertainty; on ties, the one met last).
 */
static bool
candidate_weaker(const Candidate *a, const Candidate *b)
{
	if (a->row.uncertainty != b->row.uncertainty)
		return a->row.uncertainty < b->row.uncertainty;
	return a->seq > b->seq;
}

static void
heap_sift_down(Candidate *heap, int n, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1;
		int			r = l + 1;
		int			m = i;
		Candidate	tmp;

		if (l < n && candidate_weaker(&heap[l], &heap[m]))
			m = l;
		if (r < n && candidate_weaker(&heap[r], &heap[m]))
			m = r;
		if (m == i)
			return;
		tmp = heap[i];
		heap[i] = heap[m];
		heap[m] = tmp;
		i = m;
	}
}

static void
heap_offer(Candidate *heap, int *n, int cap, const Candidate *c)
{
	if (*n < cap)
	{
		int			i = (*n)++;

		heap[i] = *c;
		while (i > 0)
		{
			int			p = (i - 1) / 2;
			Candidate	tmp;

			if (!candidate_weaker(&heap[i], &heap[p]))
				break;
			tmp = heap[i];
			heap[i] = heap[p];
			heap[p] = tmp;
			i = p;
		}
	}
	else if (cap > 0 && candidate_weaker(&heap[0], c))
	{
		heap[0] = *c;
		heap_sift_down(heap, *n, 0);
	}
}

/* qsort: strongest candidate first */
static int
candidate_rank_cmp(const void *a, const void *b)
{
	const Candidate *ca = a;
	const Candidate *cb = b;

	if (candidate_weaker(cb, ca))
		return -1;
	if (candidate_weaker(ca, cb))
		return 1;
	return 0;
}

static int
tid_cmp(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

/* Everything one scoring needs */
typedef struct ScoreState
{
	HitlModel  *model;
	HitlVersion *version;
	FeatureLayout *layout;
	Predictor	predictor;
	Oid			label_type;
	bool		label_byval;
	char	   *label_type_sql;	/* label type, for casts in SQL */
	Datum	   *class_datums;	/* classes as values of the label type */
	MemoryContext cxt;			/* the scoring's memory, across commits */
	bool		commit_batches; /* commit after the queue and each batch */
	ScoreCommitFn commit;
	void	   *commit_arg;
	char	   *update_sql_text;
	SPIPlanPtr	update_plan;	/* generic plan: planning a batch's tid
								 * array as a constant costs more than the
								 * batch's writes */
	char	   *lock_sql;
	char	   *visible_sql;
	int64		written;

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
	char	   *key_check_sql;	/* does row t hold the key scored at its ctid? */
	char	   *moved_sql;		/* rows at a batch's ctids with another key */
	Oid			relfilenode;	/* the table's storage when it was scanned */
	bool		restart;		/* the scan's ctids are stale: start over */
} ScoreState;

/* The batch UPDATE's parameters before the key arrays */
#define BATCH_FIXED_PARAMS 6

/*
 * Keep the key of the row being scanned (values[0..nkeys-1]) beyond the
 * scan's per-row memory: by value for one pass-by-value column, else
 * copied (detoasted: a TOAST pointer does not survive a rewrite) into the
 * scoring's context.
 */
static Datum
key_save(const ScoreState *s, const Datum *values, const bool *nulls)
{
	MemoryContext old = MemoryContextSwitchTo(s->cxt);
	Datum	   *keys = NULL;
	Datum		result = (Datum) 0;
	int			i;

	if (s->nkeys > 1)
		keys = palloc(sizeof(Datum) * s->nkeys);
	for (i = 0; i < s->nkeys; i++)
	{
		Datum		v;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("key column \"%s\" of model \"%s\" holds a null",
							s->model->key_columns[i], s->model->name),
					 errdetail("Scoring finds each row by its primary key.")));
		if (s->key_typlen[i] == -1)
			v = PointerGetDatum(PG_DETOAST_DATUM_COPY(values[i]));
		else
			v = datumCopy(values[i], s->key_byval[i], s->key_typlen[i]);
		if (keys != NULL)
			keys[i] = v;
		else
			result = v;
	}
	MemoryContextSwitchTo(old);
	return keys != NULL ? PointerGetDatum(keys) : result;
}

/* Key column i of a scored row */
static inline Datum
key_value(const ScoreState *s, const ScoredRow *row, int i)
{
	if (s->nkeys == 1)
		return row->key;
	return ((const Datum *) DatumGetPointer(row->key))[i];
}

/* Free what key_save allocated */
static void
key_free(const ScoreState *s, Datum key)
{
	int			i;

	if (s->nkeys == 1)
	{
		if (!s->key_byval[0])
			pfree(DatumGetPointer(key));
		return;
	}
	for (i = 0; i < s->nkeys; i++)
		if (!s->key_byval[i])
			pfree(DatumGetPointer(((Datum *) DatumGetPointer(key))[i]));
	pfree(DatumGetPointer(key));
}

/* Key column k of rows[0..n-1], as an array of its base type */
static Datum
key_array(const ScoreState *s, const ScoredRow *rows, int n, int k)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = key_value(s, &rows[i], k);
	return PointerGetDatum(construct_array(d, n, s->key_types[k], s->key_typlen[k],
										   s->key_byval[k], s->key_typalign[k]));
}

/* The table's relfilenode, as the current transaction's catalog sees it */
static Oid
current_relfilenode(Oid relid)
{
	HeapTuple	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			result = InvalidOid;

	if (HeapTupleIsValid(tp))
	{
		result = ((Form_pg_class) GETSTRUCT(tp))->relfilenode;
		ReleaseSysCache(tp);
	}
	return result;
}

/*
 * Has the table been rewritten since it was scanned (or are the scan's
 * ctids otherwise known to be stale)?  Sees every rewrite committed so far;
 * one still in progress holds a lock that a write of ours waits for, and
 * the check after that write sees it.
 */
static bool
table_rewritten(ScoreState *s)
{
	AcceptInvalidationMessages();
	if (current_relfilenode(s->model->source) != s->relfilenode)
		s->restart = true;
	return s->restart;
}

/* Does a stored prediction equal class k? */
static bool
prediction_is(const ScoreState *s, Datum current, int k)
{
	if (s->label_byval)
		return current == s->class_datums[k];
	else
	{
		struct varlena *a = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(current));
		struct varlena *b = (struct varlena *) DatumGetPointer(s->class_datums[k]);

		return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
			memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
	}
}

static bool
moved(bool isnull, Datum current, double value, double tolerance)
{
	double		old;

	if (isnull)
		return true;
	old = DatumGetFloat8(current);
	if (tolerance == 0.0)
		return old != value;
	return fabs(old - value) > tolerance;
}

static Datum
tid_array(const ScoredRow *rows, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = ItemPointerGetDatum(&rows[i].tid);
	return PointerGetDatum(construct_array(d, n, TIDOID, sizeof(ItemPointerData),
										   false, TYPALIGN_SHORT));
}

static Datum
float8_array(Datum *d, int n)
{
	return PointerGetDatum(construct_array(d, n, FLOAT8OID, sizeof(float8),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * The parameters of a batch's UPDATE for rows[0..n-1]: $1 ctids, $2 class
 * numbers, $3 confidences, $4 uncertainties, $5 the classes, $6 positions
 * 1..n (hitl._pick of them finds a row's place in the key arrays), then one
 * array of keys per key column.
 */
static void
batch_params(const ScoreState *s, const ScoredRow *rows, int n, Oid *argtypes,
			 Datum *values)
{
	Datum	   *k = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *c = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *u = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *pos = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *cls = palloc(sizeof(Datum) * s->version->n_classes);
	int			i;

	for (i = 0; i < n; i++)
	{
		k[i] = Float8GetDatum((double) (rows[i].cls + 1));
		c[i] = Float8GetDatum(rows[i].confidence);
		u[i] = Float8GetDatum(rows[i].uncertainty);
		pos[i] = Float8GetDatum((double) (i + 1));
	}
	for (i = 0; i < s->version->n_classes; i++)
		cls[i] = CStringGetTextDatum(s->version->classes[i]);
	argtypes[0] = TIDARRAYOID;
	argtypes[1] = argtypes[2] = argtypes[3] = argtypes[5] = FLOAT8ARRAYOID;
	argtypes[4] = TEXTARRAYOID;
	values[0] = tid_array(rows, n);
	values[1] = float8_array(k, n);
	values[2] = float8_array(c, n);
	values[3] = float8_array(u, n);
	values[4] = PointerGetDatum(construct_array(cls, s->version->n_classes, TEXTOID, -1, false, TYPALIGN_INT));
	values[5] = float8_array(pos, n);
	for (i = 0; i < s->nkeys; i++)
	{
		argtypes[BATCH_FIXED_PARAMS + i] = s->key_array_types[i];
		values[BATCH_FIXED_PARAMS + i] = key_array(s, rows, n, i);
	}
}

/*
 * Run the batch's UPDATE for rows[0..n-1]; returns rows written.  It writes
 * a row only when the row at the ctid still has the key that was scored.
 * When it wrote fewer rows than asked, and the table was rewritten or one
 * of the ctids holds a row of another key, the scoring must start over
 * (s->restart).
 */
static int64
update_rows(ScoreState *s, const ScoredRow *rows, int n)
{
	int			nparams = BATCH_FIXED_PARAMS + s->nkeys;
	Oid		   *argtypes = palloc(sizeof(Oid) * nparams);
	Datum	   *values = palloc(sizeof(Datum) * nparams);
	int64		written;
	int			ret;

	batch_params(s, rows, n, argtypes, values);
	if (s->update_plan == NULL)
	{
		s->update_plan = SPI_prepare_cursor(s->update_sql_text, nparams, argtypes,
											CURSOR_OPT_GENERIC_PLAN);
		if (s->update_plan == NULL)
			elog(ERROR, "hitl: preparing the score update failed: %s",
				 SPI_result_code_string(SPI_result));
		if (s->commit_batches && SPI_keepplan(s->update_plan) != 0)
			elog(ERROR, "hitl: keeping the score update plan failed");
	}
	ret = SPI_execute_plan(s->update_plan, values, NULL, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "hitl: writing scores failed: %s", SPI_result_code_string(ret));
	written = (int64) SPI_processed;

	/* the UPDATE holds a lock on the table: its relfilenode is current */
	if (written < n && !table_rewritten(s))
	{
		bool		isnull;

		ret = SPI_execute_with_args(s->moved_sql, nparams, argtypes, values,
									NULL, false, 0);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "hitl: checking the rows' keys failed: %s",
				 SPI_result_code_string(ret));
		if (DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										1, &isnull)) > 0)
			s->restart = true;
		SPI_freetuptable(SPI_tuptable);
	}
	return written;
}

/* A way of writing a batch: all rows, or those not locked by others */
typedef void (*BatchWriter) (ScoreState *s, const ScoredRow *rows, int n,
							 RowList *skipped);

static void
write_all(ScoreState *s, const ScoredRow *rows, int n, RowList *skipped)
{
	s->written += update_rows(s, rows, n);
}

/* A batch writer's call, for run_in_subtransaction */
typedef struct BatchCall
{
	ScoreState *s;
	BatchWriter writer;
	const ScoredRow *rows;
	int			n;
	RowList    *skipped;
} BatchCall;

static void
call_batch_writer(void *arg)
{
	BatchCall  *c = (BatchCall *) arg;

	c->writer(c->s, c->rows, c->n, c->skipped);
}

/*
 * Run a batch writer under a short lock_timeout, in a subtransaction.
 * Returns false when it met a lock held by another session; what it wrote
 * and skipped is then undone.
 */
static bool
attempt_batch(ScoreState *s, BatchWriter writer, const ScoredRow *rows, int n,
			  RowList *skipped)
{
	BatchCall	call = {s, writer, rows, n, skipped};
	int64		written = s->written;
	int64		nskipped = skipped->n;
	int			nestlevel;
	bool		done;

	nestlevel = NewGUCNestLevel();
	(void) set_config_option("lock_timeout", BATCH_LOCK_TIMEOUT_MS,
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	done = run_in_subtransaction(call_batch_writer, &call,
								 ERRCODE_LOCK_NOT_AVAILABLE);
	AtEOXact_GUC(true, nestlevel);
	if (!done)
	{
		s->written = written;
		skipped->n = nskipped;
	}
	return done;
}

/* The row at tid in rows[0..n-1], sorted by tid (tid is a ScoredRow's first field) */
static ScoredRow *
find_row(ScoredRow *rows, int n, ItemPointer tid)
{
	return bsearch(tid, rows, n, sizeof(ScoredRow), tid_cmp);
}

/*
 * Write a batch while skipping rows other sessions have locked: lock what
 * can be locked (FOR UPDATE SKIP LOCKED), write those, and add the others
 * to *skipped.
 */
static void
update_batch_skip_locked(ScoreState *s, const ScoredRow *rows, int n, RowList *skipped)
{
	Oid			argtypes[1] = {TIDARRAYOID};
	Datum		values[1];
	ItemPointerData *locked;
	ScoredRow  *mine;
	ScoredRow  *others;
	int			nlocked;
	int			nmine = 0;
	int			nothers = 0;
	int			i;
	int			ret;

	values[0] = tid_array(rows, n);
	ret = SPI_execute_with_args(s->lock_sql, 1, argtypes, values, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "hitl: locking rows failed: %s", SPI_result_code_string(ret));
	nlocked = (int) SPI_processed;
	locked = palloc(sizeof(ItemPointerData) * Max(nlocked, 1));
	for (i = 0; i < nlocked; i++)
	{
		bool		isnull;

		locked[i] = *DatumGetItemPointer(SPI_getbinval(SPI_tuptable->vals[i],
													   SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	/* the query locked the table: a rewrite since the scan shows now */
	if (table_rewritten(s))
		return;
	qsort(locked, nlocked, sizeof(ItemPointerData), tid_cmp);

	mine = palloc(sizeof(ScoredRow) * Max(n, 1));
	others = palloc(sizeof(ScoredRow) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		if (bsearch(&rows[i].tid, locked, nlocked, sizeof(ItemPointerData), tid_cmp))
			mine[nmine++] = rows[i];
		else
			others[nothers++] = rows[i];
	}
	if (nmine > 0)
		s->written += update_rows(s, mine, nmine);

	/*
	 * Of the rows not locked, those still visible are held by other sessions:
	 * come back for them.  The others were changed since the scan and are
	 * scored again by the next scoring.
	 */
	if (nothers > 0)
	{
		qsort(others, nothers, sizeof(ScoredRow), tid_cmp);
		values[0] = tid_array(others, nothers);
		ret = SPI_execute_with_args(s->visible_sql, 1, argtypes, values, NULL, false, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "hitl: reading rows failed: %s", SPI_result_code_string(ret));
		for (i = 0; i < (int) SPI_processed; i++)
		{
			bool		isnull;
			ItemPointer tid = DatumGetItemPointer(SPI_getbinval(SPI_tuptable->vals[i],
																SPI_tuptable->tupdesc, 1, &isnull));
			ScoredRow  *row = find_row(others, nothers, tid);

			if (row != NULL)
				rowlist_add(skipped, row);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	pfree(mine);
	pfree(others);
	pfree(locked);
}

/*
 * Write a batch without waiting on other sessions: all of it when nothing is
 * locked; else the rows that can be locked, the others going to *skipped;
 * and when the table itself is locked (say by CREATE INDEX), none of it.
 */
static void
write_batch(ScoreState *s, const ScoredRow *rows, int n, RowList *skipped)
{
	int			i;

	if (n == 0)
		return;
	if (attempt_batch(s, write_all, rows, n, skipped))
		return;
	if (attempt_batch(s, update_batch_skip_locked, rows, n, skipped))
		return;
	for (i = 0; i < n; i++)
		rowlist_add(skipped, &rows[i]);
}

/*
 * Replace the model's review candidates.  Runs before any score is written:
 * the candidates are found by ctid, which a write changes, and kept only
 * when the row there has the key that was scored.  A ctid that holds a row
 * of another key (the scan's ctids are stale) sets s->restart and leaves
 * the queue empty.
 */
static void
store_queue(ScoreState *s, Candidate *cands, int n)
{
	StringInfoData sql;
	int			nparams = 7 + s->nkeys;
	Oid		   *argtypes = palloc(sizeof(Oid) * nparams);
	Datum	   *values = palloc(sizeof(Datum) * nparams);
	ScoredRow  *rows = palloc(sizeof(ScoredRow) * Max(n, 1));
	Datum	   *p = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *c = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *u = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *r = palloc(sizeof(Datum) * Max(n, 1));
	Oid			qtypes[7];
	Datum		qvalues[7];
	Datum		keyed[5];
	HitlRoleScope scope;
	bool		isnull;
	int			i;
	int			ret;

	argtypes[0] = TEXTOID;
	argtypes[1] = INT4OID;
	argtypes[2] = TIDARRAYOID;
	argtypes[3] = TEXTARRAYOID;
	argtypes[4] = FLOAT8ARRAYOID;
	argtypes[5] = FLOAT8ARRAYOID;
	argtypes[6] = INT4ARRAYOID;
	values[0] = CStringGetTextDatum(s->model->name);
	hitl_catalog_enter(&scope);
	ret = SPI_execute_with_args("DELETE FROM hitl.queue WHERE model = $1",
								1, argtypes, values, NULL, false, 0);
	if (ret != SPI_OK_DELETE)
		elog(ERROR, "hitl: clearing the queue failed: %s", SPI_result_code_string(ret));
	hitl_role_exit(&scope);
	if (n == 0)
		return;

	for (i = 0; i < n; i++)
	{
		rows[i] = cands[i].row;
		p[i] = CStringGetTextDatum(s->version->classes[cands[i].row.cls]);
		c[i] = Float8GetDatum(cands[i].row.confidence);
		u[i] = Float8GetDatum(cands[i].row.uncertainty);
		r[i] = Int32GetDatum(i + 1);
	}
	values[1] = Int32GetDatum(s->version->version);
	values[2] = tid_array(rows, n);
	values[3] = PointerGetDatum(construct_array(p, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[4] = PointerGetDatum(construct_array(c, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[5] = PointerGetDatum(construct_array(u, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[6] = PointerGetDatum(construct_array(r, n, INT4OID, sizeof(int32), true, TYPALIGN_INT));
	for (i = 0; i < s->nkeys; i++)
	{
		argtypes[7 + i] = s->key_array_types[i];
		values[7 + i] = key_array(s, rows, n, i);
	}

	/*
	 * The rows' keys as jsonb, read as the scoring role, of the candidates
	 * whose ctid holds the row scored; and how many ctids hold another row.
	 */
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT pg_catalog.array_agg(v.rank ORDER BY v.rank) FILTER (WHERE x.same),"
					 " pg_catalog.array_agg(%s ORDER BY v.rank) FILTER (WHERE x.same),"
					 " pg_catalog.array_agg(v.p ORDER BY v.rank) FILTER (WHERE x.same),"
					 " pg_catalog.array_agg(v.c ORDER BY v.rank) FILTER (WHERE x.same),"
					 " pg_catalog.array_agg(v.u ORDER BY v.rank) FILTER (WHERE x.same),"
					 " pg_catalog.count(*) FILTER (WHERE NOT x.same)"
					 " FROM ROWS FROM (pg_catalog.unnest($3), pg_catalog.unnest($4),"
					 " pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7)",
					 catalog_key_json_expr(s->model, "t"));
	for (i = 0; i < s->nkeys; i++)
		appendStringInfo(&sql, ", pg_catalog.unnest($%d)", 8 + i);
	appendStringInfoString(&sql, ") AS v(tid, p, c, u, rank");
	for (i = 0; i < s->nkeys; i++)
		appendStringInfo(&sql, ", k%d", i);
	appendStringInfo(&sql, ") JOIN %s t ON t.ctid OPERATOR(pg_catalog.=) v.tid"
					 " CROSS JOIN LATERAL (SELECT ", s->model->source_text);
	for (i = 0; i < s->nkeys; i++)
		appendStringInfo(&sql, "%st.%s %s v.k%d", i > 0 ? " AND " : "",
						 quote_identifier(s->model->key_columns[i]),
						 s->key_eq[i], i);
	appendStringInfoString(&sql, " AS same) x");
	ret = SPI_execute_with_args(sql.data, nparams, argtypes, values, NULL, false, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "hitl: reading the queue's keys failed: %s", SPI_result_code_string(ret));
	if (DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 6, &isnull)) > 0)
	{
		s->restart = true;
		return;
	}
	for (i = 0; i < 5; i++)
	{
		keyed[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &isnull);
		if (isnull)
			return;				/* none of the candidates is there any more */
		keyed[i] = datumCopy(keyed[i], false, -1);
	}

	/* hitl.queue is written as the owner of hitl's tables */
	qtypes[0] = TEXTOID;
	qtypes[1] = INT4OID;
	qtypes[2] = INT4ARRAYOID;
	qtypes[3] = JSONBARRAYOID;
	qtypes[4] = TEXTARRAYOID;
	qtypes[5] = FLOAT8ARRAYOID;
	qtypes[6] = FLOAT8ARRAYOID;
	qvalues[0] = values[0];
	qvalues[1] = values[1];
	for (i = 0; i < 5; i++)
		qvalues[i + 2] = keyed[i];
	hitl_catalog_enter(&scope);
	ret = SPI_execute_with_args("INSERT INTO hitl.queue (model, rank, row_key, prediction,"
								" confidence, uncertainty, version)"
								" SELECT $1, v.rank, v.k, v.p, v.c, v.u, $2"
								" FROM unnest($3, $4, $5, $6, $7) AS v(rank, k, p, c, u)",
								7, qtypes, qvalues, NULL, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "hitl: filling the queue failed: %s", SPI_result_code_string(ret));

	qvalues[0] = Int64GetDatum((int64) n);
	qtypes[0] = INT8OID;
	ret = SPI_execute_with_args("SELECT hitl._analyze_queue($1)", 1, qtypes, qvalues,
								NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "hitl: analyzing the queue failed: %s", SPI_result_code_string(ret));
	hitl_role_exit(&scope);
}

/*
 * The equality operator of a key column's base type (of its default btree
 * or hash operator class), schema-qualified for OPERATOR().
 */
static char *
key_eq_operator(Oid type, const char *column)
{
	TypeCacheEntry *tc = lookup_type_cache(type, TYPECACHE_EQ_OPR);
	HeapTuple	tp;
	Form_pg_operator op;
	char	   *result;

	if (!OidIsValid(tc->eq_opr))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("key column \"%s\" has type %s, which has no equality operator",
						column, format_type_be(type))));
	tp = SearchSysCache1(OPEROID, ObjectIdGetDatum(tc->eq_opr));
	if (!HeapTupleIsValid(tp))
		elog(ERROR, "cache lookup failed for operator %u", tc->eq_opr);
	op = (Form_pg_operator) GETSTRUCT(tp);
	result = psprintf("OPERATOR(%s.%s)",
					  quote_identifier(get_namespace_name(op->oprnamespace)),
					  NameStr(op->oprname));
	ReleaseSysCache(tp);
	return result;
}

/* The key columns' base types, and the SQL that checks them */
static void
prepare_keys(ScoreState *s)
{
	HitlModel  *m = s->model;
	StringInfoData sql;
	int			i;

	s->nkeys = m->n_key_columns;
	if (s->nkeys < 1)
		elog(ERROR, "hitl: model \"%s\" has no key columns", m->name);
	s->key_types = palloc(sizeof(Oid) * s->nkeys);
	s->key_typlen = palloc(sizeof(int16) * s->nkeys);
	s->key_byval = palloc(sizeof(bool) * s->nkeys);
	s->key_typalign = palloc(sizeof(char) * s->nkeys);
	s->key_array_types = palloc(sizeof(Oid) * s->nkeys);
	s->key_eq = palloc(sizeof(char *) * s->nkeys);

	/*
	 * t.k OPERATOR(=) ($7)[hitl._pick($1, $6, t.ctid)::int4] AND ...: the
	 * key scored at the row's ctid, looked up as its position in the batch.
	 * The arrays are of the base types: the column's value (of a domain, say)
	 * is compared as its base type, and nothing is cast to a domain or to a
	 * type of the user's.
	 */
	initStringInfo(&sql);
	for (i = 0; i < s->nkeys; i++)
	{
		const char *col = m->key_columns[i];
		AttrNumber	att = get_attnum(m->source, col);

		if (att == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("key column \"%s\" of model \"%s\" no longer exists",
							col, m->name)));
		s->key_types[i] = getBaseType(get_atttype(m->source, att));
		get_typlenbyvalalign(s->key_types[i], &s->key_typlen[i], &s->key_byval[i],
							 &s->key_typalign[i]);
		s->key_array_types[i] = get_array_type(s->key_types[i]);
		if (!OidIsValid(s->key_array_types[i]))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("key column \"%s\" has type %s, which has no array type",
							col, format_type_be(s->key_types[i]))));
		s->key_eq[i] = key_eq_operator(s->key_types[i], col);
		appendStringInfo(&sql, "%st.%s %s ($%d)[hitl._pick($1, $6, t.ctid)::pg_catalog.int4]",
						 i > 0 ? " AND " : "", quote_identifier(col), s->key_eq[i],
						 BATCH_FIXED_PARAMS + 1 + i);
	}
	s->key_check_sql = sql.data;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT pg_catalog.count(*) FROM %s t WHERE t.ctid OPERATOR(pg_catalog.=) ANY ($1)"
					 " AND NOT (%s)",
					 m->source_text, s->key_check_sql);
	s->moved_sql = sql.data;
}

/* Prepare the SQL and label values a scoring needs */
static void
prepare_state(ScoreState *s)
{
	HitlModel  *m = s->model;
	AttrNumber	att = get_attnum(m->source, m->label_column);
	Oid			typinput;
	Oid			typioparam;
	int16		typlen;
	int			i;
	StringInfoData sql;

	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("label column \"%s\" of model \"%s\" no longer exists",
						m->label_column, m->name)));
	prepare_keys(s);
	s->label_type = get_atttype(m->source, att);
	get_typlenbyval(s->label_type, &typlen, &s->label_byval);
	s->label_type_sql = format_type_be_qualified(s->label_type);
	getTypeInputInfo(s->label_type, &typinput, &typioparam);
	s->class_datums = palloc(sizeof(Datum) * s->version->n_classes);
	for (i = 0; i < s->version->n_classes; i++)
		s->class_datums[i] = OidInputFunctionCall(typinput, s->version->classes[i],
												  typioparam, -1);

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "UPDATE %s t SET %s = (SELECT $5::%s[])[hitl._pick($1, $2, t.ctid)::int4],"
					 " %s = hitl._pick($1, $3, t.ctid), %s = hitl._pick($1, $4, t.ctid)"
					 " WHERE t.ctid = ANY ($1) AND %s",
					 m->source_text, quote_identifier(m->prediction_column),
					 s->label_type_sql, quote_identifier(m->confidence_column),
					 quote_identifier(m->uncertainty_column), s->key_check_sql);
	s->update_sql_text = sql.data;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT t.ctid FROM %s t WHERE t.ctid = ANY ($1) FOR UPDATE SKIP LOCKED",
					 m->source_text);
	s->lock_sql = sql.data;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT t.ctid FROM %s t WHERE t.ctid = ANY ($1)",
					 m->source_text);
	s->visible_sql = sql.data;
}

/*
 * Serialise the scorings of one model: a transaction-level lock in the
 * advisory lock space (class 0x6869746c, the hash of the model's name), but
 * with a fourth field of 3, which the SQL advisory functions never use (1
 * and 2): no role can hold it off with pg_advisory_lock().  hitl._hold_scoring()
 * takes it for the roles that may change the model.  It shows in pg_locks
 * as an advisory lock with classid 1751741548 and objsubid 3.
 */
static void
lock_scoring(const char *name)
{
	LOCKTAG		tag;
	uint32		key = (uint32) DatumGetInt32(DirectFunctionCall1Coll(hashtext, C_COLLATION_OID,
																	 CStringGetTextDatum(name)));

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, SCORE_LOCK_CLASS, key, 3);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/*
 * In a scoring that commits as it goes (CALL hitl.score_in_batches), end
 * the transaction after a unit of work and start the next one.
 */
static void
batch_done(ScoreState *s)
{
	if (!s->commit_batches)
		return;
	s->commit(s->commit_arg);
	lock_scoring(s->model->name);
	/* the commit and SPI leave us in the transaction's contexts: come back */
	MemoryContextSwitchTo(s->cxt);
}

/*
 * A class of the current version that is no longer a value of the label's
 * enum (ALTER TYPE ... RENAME VALUE) cannot be written into the prediction
 * column: train the model from scratch first, with a WARNING, so that its
 * classes are the type's again.
 */
static bool
retrain_if_classes_gone(const char *name, MemoryContext cxt)
{
	HitlModel  *m = catalog_load_model(name, cxt);
	AttrNumber	att = get_attnum(m->source, m->label_column);
	char	  **classes;
	int			n_classes;
	const char *gone;

	if (att == InvalidAttrNumber ||
		get_typtype(getBaseType(get_atttype(m->source, att))) != TYPTYPE_ENUM)
		return false;
	/* the classes alone: the scoring loads the whole version afterwards */
	classes = catalog_load_classes(m, m->current_version, &n_classes, cxt);
	gone = label_missing_class(m->source, m->label_column, n_classes, classes);
	if (gone == NULL)
		return false;
	ereport(WARNING,
			(errmsg("class \"%s\" of model \"%s\" is no longer a value of its label type: training from scratch",
					gone, name),
			 errdetail("A value of the label's enum type was renamed or dropped.")));
	(void) train_model(name, false);
	return true;
}

/* The planner's estimate of a table's rows, to size arrays once */
static int64
estimate_rows(Oid relid)
{
	HeapTuple	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	int64		n = 0;

	if (HeapTupleIsValid(tp))
	{
		float4		reltuples = ((Form_pg_class) GETSTRUCT(tp))->reltuples;

		if (reltuples > 0)
			n = (int64) Min(reltuples * 1.1, 1e8);
		ReleaseSysCache(tp);
	}
	return n;
}

/* Pass 1's state */
typedef struct ScoreScan
{
	ScoreState *s;
	double	   *proba;			/* n_classes */
	RowList    *changed;		/* rows whose scores moved */
	Candidate  *heap;			/* review candidates */
	int			nheap;
	uint64		seq;			/* rows met */
} ScoreScan;

/* Would the candidate heap take c? */
static bool
heap_admits(const Candidate *heap, int n, int cap, const Candidate *c)
{
	return n < cap || (cap > 0 && candidate_weaker(&heap[0], c));
}

/*
 * One row of pass 1: ctid, label IS NULL, the three output columns, the key
 * columns, the feature columns.  Score it; keep it (with its key) when its
 * scores moved, offer it to the queue when unlabeled.
 */
static void
score_row(Datum *values, bool *nulls, void *arg)
{
	ScoreScan  *sc = (ScoreScan *) arg;
	ScoreState *s = sc->s;
	int			k = s->version->n_classes;
	int			feat = 5 + s->nkeys;
	ScoredRow	row;
	FeatureStatus st;
	int			bad_col;

	row.tid = *DatumGetItemPointer(values[0]);
	row.in_queue = false;
	row.key = (Datum) 0;
	st = predictor_proba(&s->predictor, values + feat, nulls + feat, sc->proba, &bad_col);
	if (st != FEATURE_OK)
		features_report(s->model, s->layout, st, bad_col,
						catalog_row_key_text(s->model, &row.tid));
	row.cls = proba_argmax(k, sc->proba, &row.confidence);
	row.uncertainty = uncertainty_score(s->model->strategy, k, sc->proba);

	if (nulls[2] || !prediction_is(s, values[2], row.cls) ||
		moved(nulls[3], values[3], row.confidence, s->model->score_tolerance) ||
		moved(nulls[4], values[4], row.uncertainty, s->model->score_tolerance))
	{
		row.key = key_save(s, values + 5, nulls + 5);
		rowlist_add(sc->changed, &row);
	}
	if (DatumGetBool(values[1]))
	{
		Candidate	c;

		c.row = row;
		c.seq = sc->seq;
		if (heap_admits(sc->heap, sc->nheap, s->model->queue_size, &c))
		{
			/* a key of its own: the heap frees the keys it drops */
			c.row.key = key_save(s, values + 5, nulls + 5);
			if (sc->nheap == s->model->queue_size)
				key_free(s, sc->heap[0].row.key);
			heap_offer(sc->heap, &sc->nheap, s->model->queue_size, &c);
		}
	}
	sc->seq++;
}

/*
 * Write one batch and end its unit of work; what the batch allocated is
 * freed with bcxt.
 */
static void
write_and_commit(ScoreState *s, const ScoredRow *rows, int n, RowList *skipped,
				 MemoryContext bcxt)
{
	/* a rewrite committed since the last batch: no need to try */
	if (!(s->commit_batches && table_rewritten(s)))
	{
		MemoryContextSwitchTo(bcxt);
		write_batch(s, rows, n, skipped);
	}
	batch_done(s);
	MemoryContextSwitchTo(s->cxt);
	MemoryContextReset(bcxt);
}

/*
 * Write the rows of changed that enter the queue (in_queue) or the others,
 * in batches of batch_size, committing after each (in a scoring that
 * commits), rows that were locked going to *skipped.  Stops early when the
 * scan's ctids turn out stale (s->restart).
 */
static void
write_rows(ScoreState *s, const RowList *changed, bool in_queue, RowList *skipped)
{
	ScoredRow  *batch = palloc(sizeof(ScoredRow) * s->model->batch_size);
	MemoryContext bcxt = AllocSetContextCreate(s->cxt, "hitl score batch",
											   ALLOCSET_DEFAULT_SIZES);
	int			nbatch = 0;
	int64		i;

	for (i = 0; i < changed->n && !s->restart; i++)
	{
		if (changed->rows[i].in_queue != in_queue)
			continue;
		batch[nbatch++] = changed->rows[i];
		if (nbatch == s->model->batch_size)
		{
			write_and_commit(s, batch, nbatch, skipped, bcxt);
			nbatch = 0;
			CHECK_FOR_INTERRUPTS();
		}
	}
	if (!s->restart)
		write_and_commit(s, batch, nbatch, skipped, bcxt);
	MemoryContextDelete(bcxt);
	pfree(batch);
}

/*
 * One scoring of the model's table, in the current transaction (and, in a
 * scoring that commits, those that follow): scan and score every row, store
 * the queue, write the rows that changed, come back for those that were
 * locked, and mark the model scored.  Returns false without marking it
 * when the scan's ctids turned out stale, for the caller to start over.
 * s has its memory context, commit settings and model set.
 */
static bool
score_pass(ScoreState *s)
{
	HitlVersion *v;
	StringInfoData sql;
	ScoreScan	scan;
	RowList		changed = {0};
	RowList		skipped = {0};
	Candidate  *heap;
	ItemPointerData *cand_tids;
	double	   *proba;
	int64		i;
	int			round;
	int			k;

	v = s->version = catalog_load_version(s->model, s->model->current_version, s->cxt);
	/* SPI calls leave us in SPI's context: what follows must outlive it */
	MemoryContextSwitchTo(s->cxt);
	s->layout = features_resolve(s->model);
	features_set_dims(s->layout, v->feature_dims);
	if (s->layout->d != v->d)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("version %d of model \"%s\" does not match its feature columns",
						v->version, s->model->name)));
	predictor_init(&s->predictor, s->model, s->layout, v);
	prepare_state(s);

	changed.mcxt = skipped.mcxt = s->cxt;
	heap = palloc(sizeof(Candidate) * s->model->queue_size);
	changed.capacity = Max(estimate_rows(s->model->source), 1024);
	changed.rows = palloc_extended(sizeof(ScoredRow) * changed.capacity, MCXT_ALLOC_HUGE);
	proba = palloc(sizeof(double) * v->n_classes);

	/* pass 1: score every row in memory */
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT t.ctid, t.%s IS NULL, t.%s, t.%s, t.%s, %s, %s FROM %s t",
					 quote_identifier(s->model->label_column),
					 quote_identifier(s->model->prediction_column),
					 quote_identifier(s->model->confidence_column),
					 quote_identifier(s->model->uncertainty_column),
					 catalog_key_list(s->model, "t"),
					 features_select_list(s->model, "t"), s->model->source_text);
	scan.s = s;
	scan.proba = proba;
	scan.changed = &changed;
	scan.heap = heap;
	scan.nheap = 0;
	scan.seq = 0;
	dataset_scan(dataset_open_cursor(sql.data), score_row, &scan);

	/*
	 * The ctids are those of this storage of the table: the scan's lock
	 * keeps it until this transaction ends.
	 */
	s->relfilenode = current_relfilenode(s->model->source);

	/* the review candidates, ranked, before any write moves a row */
	qsort(heap, scan.nheap, sizeof(Candidate), candidate_rank_cmp);
	store_queue(s, heap, scan.nheap);
	batch_done(s);
	if (s->restart)
		return false;

	/* pass 2: write, rows entering the queue first, then the others */
	cand_tids = palloc(sizeof(ItemPointerData) * Max(scan.nheap, 1));
	for (k = 0; k < scan.nheap; k++)
		cand_tids[k] = heap[k].row.tid;
	qsort(cand_tids, scan.nheap, sizeof(ItemPointerData), tid_cmp);
	for (i = 0; i < changed.n; i++)
		changed.rows[i].in_queue =
			bsearch(&changed.rows[i].tid, cand_tids, scan.nheap,
					sizeof(ItemPointerData), tid_cmp) != NULL;
	write_rows(s, &changed, true, &skipped);
	write_rows(s, &changed, false, &skipped);

	/* come back for the rows users had locked */
	for (round = 0; round < LOCKED_RETRY_ROUNDS && skipped.n > 0 && !s->restart; round++)
	{
		RowList		again = {.mcxt = s->cxt};

		pg_usleep(LOCKED_RETRY_PAUSE_US << round);
		CHECK_FOR_INTERRUPTS();
		for (i = 0; i < skipped.n && !s->restart; i += s->model->batch_size)
		{
			const ScoredRow *rows = skipped.rows + i;
			int			n = (int) Min((int64) s->model->batch_size, skipped.n - i);

			if (!attempt_batch(s, update_batch_skip_locked, rows, n, &again))
			{
				int			j;

				for (j = 0; j < n; j++)
					rowlist_add(&again, &rows[j]);
			}
		}
		batch_done(s);
		skipped = again;
	}
	if (s->restart)
		return false;

	/*
	 * The last check: a rewrite committed after the last write, or one that
	 * kept batches out with its lock (their rows are in skipped), would have
	 * moved the rows left unwritten.  While the lock taken here is held, no
	 * rewrite can come before the model is marked scored; a table locked by
	 * another session is left as locked rows are, with a NOTICE.
	 */
	if (s->commit_batches &&
		ConditionalLockRelationOid(s->model->source, AccessShareLock) &&
		table_rewritten(s))
		return false;

	if (skipped.n > 0)
		ereport(NOTICE,
				(errmsg("%lld rows of model \"%s\" were locked by other sessions and keep their old scores",
						(long long) skipped.n, s->model->name),
				 errhint("They are scored again by the next hitl.score().")));

	catalog_mark_scored(s->model, v->version);
	return true;
}

/*
 * Score every row of a model's table with its current version.  When the
 * table is rewritten under a scoring that commits between batches, the
 * scoring starts over in a new transaction, a few times at most.
 */
int64
score_model(const char *name, MemoryContext parent, ScoreCommitFn commit,
			void *commit_arg)
{
	MemoryContext cxt;
	MemoryContext old;
	HitlModel  *model;
	int64		written = 0;
	int			restarts;
	bool		pushed_snapshot = false;

	cxt = AllocSetContextCreate(parent, "hitl score", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	model = catalog_load_model(name, cxt);
	if (model->current_version == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has not been trained yet", name),
				 errhint("Label enough rows and call hitl.train().")));

	catalog_check_may_change(model, "score");

	/* one scoring of a model at a time */
	lock_scoring(name);
	if (retrain_if_classes_gone(name, cxt))
	{
		/* the scoring reads the new version: commit it, or see it */
		if (commit != NULL)
		{
			commit(commit_arg);
			lock_scoring(name);
			MemoryContextSwitchTo(cxt);
		}
		else
		{
			CommandCounterIncrement();
			PushCopiedSnapshot(GetActiveSnapshot());
			UpdateActiveSnapshotCommandId();
			pushed_snapshot = true;
		}
	}

	for (restarts = 0;; restarts++)
	{
		MemoryContext pass_cxt = AllocSetContextCreate(cxt, "hitl score pass",
													   ALLOCSET_DEFAULT_SIZES);
		ScoreState	s;
		bool		done;

		MemoryContextSwitchTo(pass_cxt);
		memset(&s, 0, sizeof(s));
		s.cxt = pass_cxt;
		s.commit_batches = commit != NULL;
		s.commit = commit;
		s.commit_arg = commit_arg;
		/* the version may have moved while we waited */
		s.model = catalog_load_model(name, pass_cxt);
		done = score_pass(&s);
		written += s.written;
		if (s.update_plan != NULL && s.commit_batches)
			SPI_freeplan(s.update_plan);
		MemoryContextSwitchTo(cxt);
		MemoryContextDelete(pass_cxt);
		if (done)
			break;
		if (restarts == MAX_SCORE_RESTARTS)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("the table of model \"%s\" was rewritten during each of %d scorings",
							name, MAX_SCORE_RESTARTS + 1),
					 errdetail("VACUUM FULL, CLUSTER, TRUNCATE and some forms of ALTER TABLE move every row of a table."),
					 errhint("Score the model again once the table is no longer rewritten.")));
		ereport(NOTICE,
				(errmsg("the table of model \"%s\" was rewritten during its scoring, which starts over",
						name)));
	}

	if (pushed_snapshot)
		PopActiveSnapshot();

	/* after commits, the context we were called in is gone: use parent */
	MemoryContextSwitchTo(commit != NULL ? parent : old);
	MemoryContextDelete(cxt);
	return written;
}

PG_FUNCTION_INFO_V1(hitl_score);

/*
 * hitl.score(model text) returns bigint
 */
Datum
hitl_score(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		written;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "hitl: SPI_connect failed");
	written = score_model(name, CurrentMemoryContext, NULL, NULL);
	SPI_finish();
	PG_RETURN_INT64(written);
}

PG_FUNCTION_INFO_V1(hitl_hold_scoring);

/*
 * hitl._hold_scoring(model text) returns void: hold off the scorings of a
 * model until the end of the transaction (they wait between two batches),
 * for a role that may change the model.
 */
Datum
hitl_hold_scoring(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	HitlModel  *model;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "hitl: SPI_connect failed");
	model = catalog_load_model(name, CurrentMemoryContext);
	catalog_check_may_change(model, "score");
	SPI_finish();
	lock_scoring(name);
	PG_RETURN_VOID();
}

/* The procedure's commit between batches */
static void
spi_commit(void *arg)
{
	SPI_commit();
	SPI_start_transaction();
}

PG_FUNCTION_INFO_V1(hitl_score_in_batches);

/*
 * CALL hitl.score_in_batches(model text, INOUT rows_written bigint)
 *
 * The same scoring as hitl.score(), committing after the queue is stored and
 * after every batch, so no lock is held longer than a batch and a long
 * rescoring does not hold back vacuum.  Inside a transaction block (where a
 * procedure cannot commit) it runs as one transaction, like hitl.score().
 */
Datum
hitl_score_in_batches(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		nonatomic;
	int64		written;
	TupleDesc	desc;
	Datum		result;
	bool		isnull = false;

	nonatomic = fcinfo->context != NULL && IsA(fcinfo->context, CallContext) &&
		!castNode(CallContext, fcinfo->context)->atomic;
	if (SPI_connect_ext(nonatomic ? SPI_OPT_NONATOMIC : 0) != SPI_OK_CONNECT)
		elog(ERROR, "hitl: SPI_connect failed");
	written = score_model(name, CurrentMemoryContext,
						  nonatomic ? spi_commit : NULL, NULL);
	SPI_finish();

	/* CALL returns the INOUT parameters as a row */
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "hitl: score_in_batches must return a row");
	desc = BlessTupleDesc(desc);
	result = Int64GetDatum(written);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, &result, &isnull)));
}

/* A batch's values, sorted by tid, for hitl._pick() */
typedef struct PickCache
{
	int			n;
	int			next;			/* where the previous lookup's successor is */
	ItemPointerData *tids;
	double	   *values;
} PickCache;

typedef struct PickPair
{
	ItemPointerData tid;
	double		value;
} PickPair;

PG_FUNCTION_INFO_V1(hitl_pick);

/*
 * hitl._pick(tids tid[], vals float8[], key tid) returns float8
 *
 * The value paired with key, or NULL.  The arrays are the parameters of one
 * UPDATE of a scoring batch, the same for every row it updates: they are
 * sorted once into fn_extra, then each row costs a binary search.  This lets
 * the batch UPDATE be a single TID scan over ctid = ANY(tids) instead of a
 * join, which measured twice as costly per row.
 */
Datum
hitl_pick(PG_FUNCTION_ARGS)
{
	PickCache  *cache = (PickCache *) fcinfo->flinfo->fn_extra;
	ItemPointer key = PG_GETARG_ITEMPOINTER(2);
	ItemPointer found;

	if (cache == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		ArrayType  *ta = PG_GETARG_ARRAYTYPE_P(0);
		ArrayType  *va = PG_GETARG_ARRAYTYPE_P(1);
		Datum	   *tids;
		Datum	   *vals;
		bool	   *tnulls;
		bool	   *vnulls;
		PickPair   *pairs;
		int			nt;
		int			nv;
		int			i;

		deconstruct_array(ta, TIDOID, sizeof(ItemPointerData), false, TYPALIGN_SHORT,
						  &tids, &tnulls, &nt);
		deconstruct_array(va, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &vals, &vnulls, &nv);
		if (nt != nv)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("hitl._pick needs arrays of the same length")));
		pairs = palloc(sizeof(PickPair) * Max(nt, 1));
		for (i = 0; i < nt; i++)
		{
			if (tnulls[i] || vnulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("hitl._pick arrays must not contain nulls")));
			pairs[i].tid = *DatumGetItemPointer(tids[i]);
			pairs[i].value = DatumGetFloat8(vals[i]);
		}
		qsort(pairs, nt, sizeof(PickPair), tid_cmp);
		cache = palloc(sizeof(PickCache));
		cache->n = nt;
		cache->next = 0;
		cache->tids = palloc(sizeof(ItemPointerData) * Max(nt, 1));
		cache->values = palloc(sizeof(double) * Max(nt, 1));
		for (i = 0; i < nt; i++)
		{
			cache->tids[i] = pairs[i].tid;
			cache->values[i] = pairs[i].value;
		}
		fcinfo->flinfo->fn_extra = cache;
		MemoryContextSwitchTo(old);
	}

	/* a TID scan visits the rows in tid order: try the next pair first */
	if (cache->next < cache->n && ItemPointerEquals(&cache->tids[cache->next], key))
		found = &cache->tids[cache->next];
	else
		found = bsearch(key, cache->tids, cache->n, sizeof(ItemPointerData), tid_cmp);
	if (found == NULL)
		PG_RETURN_NULL();
	cache->next = (found - cache->tids) + 1;
	PG_RETURN_FLOAT8(cache->values[found - cache->tids]);
}
