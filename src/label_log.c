/*
 * label_log.c
 *		The writer of hitl.label_log: the one place its rows are written.
 *
 * The label log is provenance, and only the label triggers write it: PUBLIC
 * has no write privilege on it, and this file is its writer (the one write
 * of hitl's tables outside the catalog*.c files, on purpose).  Rows are not
 * written through SQL but as batches of heap tuples (table_multi_insert)
 * with their index entries: that costs a fraction of an INSERT statement
 * per labelled row, needs no privilege on hitl's tables (a role with UPDATE
 * on the model's table, and nothing more, labels rows), and runs no code as
 * anyone but the role that changed the labels.
 *
 * A writer serves one model and statement: the values every row shares
 * (model, role, time, transaction, the model's current version) are made
 * once when it opens.  Each row's key and labels are made by label_info.c
 * (jsonb_build_object, the label type's cast to text).
 *
 * An entry tells whether the row was an evaluation row of the model's
 * queue when its label changed (drawn at random, not for its uncertainty:
 * see queue.c): the writer reads the keys of those rows once when it opens
 * (a few: a share of the queue) and looks each row's key up among them.
 *
 * An entry says who wrote the label (source): 'model' while hitl.auto_label
 * writes (autolabel.c's flag), with the deciding version, and 'human'
 * otherwise.  A machine label is never an evaluation row's label.  The keys
 * of the rows a person labels are collected when the model has machine
 * labels, and those rows leave hitl.auto_labels when the writer closes.
 *
 * The only code run while the log is written that is not hitl's is such a
 * cast, which could be a user's function; one that changed labels would
 * find a log half written.  label_log_run() marks the time the log is
 * written, so that the trigger refuses to run inside it.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "autolabel.h"
#include "catalog.h"
#include "compat.h"
#include "label_internal.h"
#include "labels.h"

/* log rows written per table_multi_insert() */
#define LOG_BATCH 1000

/*
 * Writing log rows: a batch of tuples, inserted together with their index
 * entries, and the values every row of one statement shares.
 */
struct LabelLogWriter
{
	const LabelLogTable *table;
	Relation	rel;
	int			nindexes;
	Relation   *indexes;
	IndexInfo **index_info;
	EState	   *estate;			/* for index expressions, if ever any */
	BulkInsertState bistate;
	CommandId	cid;
	MemoryContext cxt;			/* the writer's, for its slots */
	MemoryContext batch_cxt;	/* values of the rows of a batch */
	TupleTableSlot *slots[LOG_BATCH];
	int			nslots;			/* made so far */
	int			n;				/* filled */
	Datum		model;
	Datum		role;
	Datum		at;
	Datum		txid;
	Datum		version;
	bool		version_null;
	AttrNumber	evaluation_att; /* hitl.label_log.evaluation */
	char	  **evaluation_keys;	/* of the evaluation rows, sorted */
	int			n_evaluation_keys;
	AttrNumber	source_att;		/* hitl.label_log.source */
	AttrNumber	decided_att;	/* hitl.label_log.decided_version */
	bool		machine;		/* written by hitl.auto_label */
	bool		consensus;		/* written by a consensus refresh */
	int			decided_version;
	bool		forget;			/* collect human keys: the model has machine labels */
	Datum	   *human_keys;		/* in cxt */
	int			n_human_keys;
	int			human_capacity;
	char	   *model_name;
};

/* the label log is being written (see label_log_run) */
static bool log_busy = false;

static void writer_open_indexes(LabelLogWriter *w);
static void writer_insert_index_entries(LabelLogWriter *w, TupleTableSlot *slot);
static void writer_flush(LabelLogWriter *w);
static void writer_add(LabelLogWriter *w, Datum row_key, Datum *old_label,
					   Datum *new_label, Datum *prediction, Datum *confidence);
static void writer_source(LabelLogWriter *w, Datum row_key, Datum *values, bool *isnull);
static int	key_text_cmp(const void *a, const void *b);
static bool is_evaluation_row(const LabelLogWriter *w, Datum row_key);

/*
 * Start writing log rows of a model.  NULL (and nothing to close) when the
 * model is gone: a model is dropped under a lock on its table that waits
 * for the transactions writing to it (see hitl._drop_label_log).
 */
LabelLogWriter *
label_log_open(const char *model)
{
	LabelModelRow row;
	LabelLogWriter *w;
	NameData   *role;

	if (!catalog_label_model(model, &row, CurrentMemoryContext))
		return NULL;
	w = palloc0(sizeof(LabelLogWriter));
	w->table = catalog_label_log_table();
	w->model = CStringGetTextDatum(model);
	role = palloc0(sizeof(NameData));
	namestrcpy(role, GetUserNameFromId(GetUserId(), false));
	w->role = NameGetDatum(role);
	w->at = TimestampTzGetDatum(GetCurrentStatementStartTimestamp());
	w->txid = FullTransactionIdGetDatum(GetTopFullTransactionId());
	w->version = Int32GetDatum(row.version);
	w->version_null = row.version_null;

	w->evaluation_att = get_attnum(w->table->relid, "evaluation");
	if (w->evaluation_att != InvalidAttrNumber)
		w->n_evaluation_keys = catalog_evaluation_keys(model, CurrentMemoryContext,
													   &w->evaluation_keys);

	w->source_att = get_attnum(w->table->relid, "source");
	w->decided_att = get_attnum(w->table->relid, "decided_version");
	w->machine = autolabel_writing(&w->decided_version);
	w->consensus = false;
	w->model_name = pstrdup(model);
	w->forget = !w->machine && w->source_att != InvalidAttrNumber &&
		catalog_auto_labels_any(model);

	w->rel = table_open(w->table->relid, RowExclusiveLock);
	writer_open_indexes(w);
	w->cid = GetCurrentCommandId(true);
	w->cxt = CurrentMemoryContext;
	w->batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "hitl label log batch",
										 ALLOCSET_DEFAULT_SIZES);
	return w;
}

/* Open the indexes of hitl.label_log, to insert the entries of its rows */
static void
writer_open_indexes(LabelLogWriter *w)
{
	List	   *index_oids = RelationGetIndexList(w->rel);
	ListCell   *lc;
	int			i = 0;

	w->nindexes = list_length(index_oids);
	w->indexes = palloc(sizeof(Relation) * Max(w->nindexes, 1));
	w->index_info = palloc(sizeof(IndexInfo *) * Max(w->nindexes, 1));
	foreach(lc, index_oids)
	{
		w->indexes[i] = index_open(lfirst_oid(lc), RowExclusiveLock);
		w->index_info[i] = BuildIndexInfo(w->indexes[i]);
		i++;
	}
	list_free(index_oids);
}

/*
 * Insert the index entries of an inserted row.  Runs in w->batch_cxt.
 * hitl's own indexes need no executor state; an index with a predicate or
 * expressions, should one be added, gets one.
 */
static void
writer_insert_index_entries(LabelLogWriter *w, TupleTableSlot *slot)
{
	int			j;

	for (j = 0; j < w->nindexes; j++)
	{
		Relation	index = w->indexes[j];
		IndexInfo  *ii = w->index_info[j];
		Datum		values[INDEX_MAX_KEYS];
		bool		isnull[INDEX_MAX_KEYS];

		if (w->estate == NULL &&
			(ii->ii_Predicate != NIL || ii->ii_Expressions != NIL))
		{
			MemoryContextSwitchTo(w->cxt);
			w->estate = CreateExecutorState();
			MemoryContextSwitchTo(w->batch_cxt);
		}
		if (w->estate != NULL)
			GetPerTupleExprContext(w->estate)->ecxt_scantuple = slot;
		if (ii->ii_Predicate != NIL)
		{
			if (ii->ii_PredicateState == NULL)
			{
				MemoryContextSwitchTo(w->estate->es_query_cxt);
				ii->ii_PredicateState = ExecPrepareQual(ii->ii_Predicate, w->estate);
				MemoryContextSwitchTo(w->batch_cxt);
			}
			if (!ExecQual(ii->ii_PredicateState, GetPerTupleExprContext(w->estate)))
				continue;
		}
		FormIndexDatum(ii, slot, w->estate, values, isnull);
		hitl_index_insert(index, values, isnull, &slot->tts_tid, w->rel,
						  index->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
						  ii);
	}
	if (w->estate != NULL)
		ResetPerTupleExprContext(w->estate);
}

/* Insert the filled batch with its index entries */
static void
writer_flush(LabelLogWriter *w)
{
	MemoryContext old;
	int			i;

	if (w->n == 0)
		return;
	old = MemoryContextSwitchTo(w->cxt);
	if (w->n > 1 && w->bistate == NULL)
		w->bistate = GetBulkInsertState();
	MemoryContextSwitchTo(w->batch_cxt);
	table_multi_insert(w->rel, w->slots, w->n, w->cid, 0, w->bistate);
	for (i = 0; i < w->n; i++)
	{
		writer_insert_index_entries(w, w->slots[i]);
		ExecClearTuple(w->slots[i]);
	}
	MemoryContextSwitchTo(old);
	w->n = 0;
	MemoryContextReset(w->batch_cxt);
}

/*
 * Add a log row; its values were made in w->batch_cxt.  NULL labels,
 * prediction and confidence come as null pointers.
 */
static void
writer_add(LabelLogWriter *w, Datum row_key, Datum *old_label, Datum *new_label,
		   Datum *prediction, Datum *confidence)
{
	const AttrNumber *attnum = w->table->attnum;
	TupleTableSlot *slot;
	Datum	   *values;
	bool	   *isnull;

	if (w->n == w->nslots)
	{
		MemoryContext old = MemoryContextSwitchTo(w->cxt);

		w->slots[w->nslots++] = table_slot_create(w->rel, NULL);
		MemoryContextSwitchTo(old);
	}
	slot = w->slots[w->n];
	ExecClearTuple(slot);
	values = slot->tts_values;
	isnull = slot->tts_isnull;
	memset(isnull, true, sizeof(bool) * slot->tts_tupleDescriptor->natts);

#define SET(col, value) \
	(values[attnum[col] - 1] = (value), isnull[attnum[col] - 1] = false)

	SET(LABEL_LOG_ID, Int64GetDatum(nextval_internal(w->table->seqid, false)));
	SET(LABEL_LOG_MODEL, w->model);
	SET(LABEL_LOG_ROW_KEY, row_key);
	if (old_label)
		SET(LABEL_LOG_OLD_LABEL, *old_label);
	if (new_label)
		SET(LABEL_LOG_NEW_LABEL, *new_label);
	SET(LABEL_LOG_ROLE, w->role);
	SET(LABEL_LOG_AT, w->at);
	SET(LABEL_LOG_TXID, w->txid);
	if (!w->version_null)
		SET(LABEL_LOG_MODEL_VERSION, w->version);
	if (prediction)
		SET(LABEL_LOG_PREDICTION, *prediction);
	if (confidence)
		SET(LABEL_LOG_CONFIDENCE, *confidence);
#undef SET
	if (w->evaluation_att != InvalidAttrNumber)
	{
		values[w->evaluation_att - 1] = BoolGetDatum(!w->machine &&
													 is_evaluation_row(w, row_key));
		isnull[w->evaluation_att - 1] = false;
	}
	writer_source(w, row_key, values, isnull);

	ExecStoreVirtualTuple(slot);
	if (++w->n == LOG_BATCH)
		writer_flush(w);
}

/*
 * Set an entry's source and deciding version; keep the key of a row a
 * person labels when the model has machine labels (see label_log_close).
 */
static void
writer_source(LabelLogWriter *w, Datum row_key, Datum *values, bool *isnull)
{
	MemoryContext old;

	if (w->source_att == InvalidAttrNumber)
		return;
	values[w->source_att - 1] = CStringGetTextDatum(w->machine ? "model" :
													w->consensus ? "consensus" : "human");
	isnull[w->source_att - 1] = false;
	if (w->machine && w->decided_att != InvalidAttrNumber)
	{
		values[w->decided_att - 1] = Int32GetDatum(w->decided_version);
		isnull[w->decided_att - 1] = false;
	}
	if (!w->forget)
		return;
	old = MemoryContextSwitchTo(w->cxt);
	if (w->n_human_keys == w->human_capacity)
	{
		w->human_capacity = Max(w->human_capacity * 2, 64);
		w->human_keys = w->human_keys == NULL ?
			palloc_extended(sizeof(Datum) * w->human_capacity, MCXT_ALLOC_HUGE) :
			repalloc_huge(w->human_keys, sizeof(Datum) * w->human_capacity);
	}
	w->human_keys[w->n_human_keys++] = datumCopy(row_key, false, -1);
	MemoryContextSwitchTo(old);
}

/* bsearch: a key's text among the sorted keys */
static int
key_text_cmp(const void *a, const void *b)
{
	return strcmp((const char *) a, *(char *const *) b);
}

/* Is the row of that key (jsonb) an evaluation row of the queue? */
static bool
is_evaluation_row(const LabelLogWriter *w, Datum row_key)
{
	Jsonb	   *jb;
	char	   *text;

	if (w->n_evaluation_keys == 0)
		return false;
	jb = DatumGetJsonbP(row_key);
	text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	return bsearch(text, w->evaluation_keys, w->n_evaluation_keys, sizeof(char *),
				   key_text_cmp) != NULL;
}

/* Write what is left, close the log and free the writer */
void
label_log_close(LabelLogWriter *w)
{
	int			i;

	writer_flush(w);
	for (i = 0; i < w->nslots; i++)
		ExecDropSingleTupleTableSlot(w->slots[i]);
	if (w->bistate != NULL)
		FreeBulkInsertState(w->bistate);
	if (w->estate != NULL)
		FreeExecutorState(w->estate);
	for (i = 0; i < w->nindexes; i++)
		index_close(w->indexes[i], RowExclusiveLock);
	table_close(w->rel, RowExclusiveLock);
	MemoryContextDelete(w->batch_cxt);
	/* the rows a person labeled are no longer machine-labeled */
	catalog_auto_labels_forget(w->model_name, w->n_human_keys, w->human_keys);
	pfree(w);
}

/*
 * Log one change: the row's key values, its labels before and after and
 * its prediction and confidence (each NULL when isnull says so).
 */
void
label_log_change(LabelLogWriter *w, LabelInfo *info, const Datum *keys,
				 const bool *key_nulls, Datum old_label, bool old_null,
				 Datum new_label, bool new_null, Datum prediction,
				 bool prediction_null, Datum confidence, bool confidence_null)
{
	MemoryContext old = MemoryContextSwitchTo(w->batch_cxt);
	Datum		key = rowkey_build(&info->row_key, keys, key_nulls);

	if (!old_null)
		old_label = label_text(&info->label_text, old_label);
	if (!new_null)
		new_label = label_text(&info->label_text, new_label);
	if (!prediction_null)
		prediction = label_text(&info->prediction_text, prediction);
	/* a consensus refit's write of this table, not a trigger's elsewhere */
	w->consensus = label_consensus_written(info->key.relid);
	writer_add(w, key, old_null ? NULL : &old_label, new_null ? NULL : &new_label,
			   prediction_null ? NULL : &prediction,
			   confidence_null ? NULL : &confidence);
	MemoryContextSwitchTo(old);
}

/* Is the label log being written now? */
bool
label_log_busy(void)
{
	return log_busy;
}

/*
 * Run fn(arg) marked as writing the label log; the mark is removed when it
 * returns or fails.
 */
void
label_log_run(void (*fn) (void *arg), void *arg)
{
	log_busy = true;
	PG_TRY();
	{
		fn(arg);
	}
	PG_FINALLY();
	{
		log_busy = false;
	}
	PG_END_TRY();
}
