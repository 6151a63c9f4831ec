/*
 * label_buffer.c
 *		Label updates kept per row and (sub)transaction, written to the label
 *		log per statement, or before commit.
 *
 * Label updates cannot be logged through transition tables: one on every
 * UPDATE would copy every row of every scoring UPDATE.  So a row trigger,
 * whose WHEN clause lets it fire only when the label changed, keeps here
 * what the log needs (the row's key, both labels, the prediction and
 * confidence it had), and a statement trigger on the same UPDATE writes
 * all of it at once.  A scoring UPDATE costs a comparison per row and one
 * call of the statement trigger, which finds nothing kept.
 *
 * The kept changes belong to the (sub)transaction that made them: a
 * subtransaction that aborts takes its changes along, a statement writes
 * only the changes of its own subtransaction level, and anything left when
 * the transaction commits (an UPDATE through a parent table fires no
 * statement trigger on the child) is written then.  The buffers live in a
 * child of TopTransactionContext and go with it.
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "label_internal.h"
#include "shared.h"

/*
 * The label changes of one model kept by the row trigger until its
 * statement trigger writes them: one array per value, with the
 * subtransaction level each change was made at.  Values, in order: the key
 * columns (of the new row), the old label, the new label, the old
 * prediction and the old confidence.
 */
typedef struct LabelBuffer
{
	struct LabelBuffer *next;
	char		model[HITL_MODEL_NAME_LEN];
	Oid			relid;
	bool		usable;
	int			nkeys;
	int			nvalues;		/* nkeys + 4 */
	LabelColumn columns[INDEX_MAX_KEYS + 4];
	int			n;				/* changes kept */
	int			capacity;
	Datum	   *values[INDEX_MAX_KEYS + 4];
	bool	   *nulls[INDEX_MAX_KEYS + 4];
	int		   *levels;
	MemoryContext data_cxt;		/* copies of pass-by-reference values */
} LabelBuffer;

#define BUF_OLD_LABEL(b)	((b)->nkeys)
#define BUF_NEW_LABEL(b)	((b)->nkeys + 1)
#define BUF_PREDICTION(b)	((b)->nkeys + 2)
#define BUF_CONFIDENCE(b)	((b)->nkeys + 3)

/* this transaction's buffers, in a child of TopTransactionContext */
static MemoryContext buffer_cxt = NULL;
static LabelBuffer *buffers = NULL;
static LabelBuffer *last_buffer = NULL;

static bool callbacks_registered = false;

static LabelBuffer *find_buffer(const char *model, Oid relid);
static void buffer_set_columns(LabelBuffer *buf, const LabelInfo *info);
static bool buffer_matches(const LabelBuffer *buf, const LabelInfo *info);
static LabelBuffer *get_buffer(const char *model, Relation rel);
static void buffer_grow(LabelBuffer *buf);
static Datum keep_value(Datum value, const LabelColumn *col);
static void buffer_write(LabelBuffer *buf, LabelInfo *info, int start);
static void flush_buffer(LabelBuffer *buf, Relation rel, int level);
static void flush_all_buffers(void *arg);
static void label_xact_callback(XactEvent event, void *arg);
static void label_subxact_callback(SubXactEvent event, SubTransactionId subid,
								   SubTransactionId parent_subid, void *arg);

/* The buffer of a model on a table, if this transaction has one */
static LabelBuffer *
find_buffer(const char *model, Oid relid)
{
	LabelBuffer *buf;

	if (last_buffer != NULL && last_buffer->relid == relid &&
		strcmp(last_buffer->model, model) == 0)
		return last_buffer;
	for (buf = buffers; buf != NULL; buf = buf->next)
		if (buf->relid == relid && strcmp(buf->model, model) == 0)
			return last_buffer = buf;
	return NULL;
}

/* Take the columns of a (re)loaded model into a buffer */
static void
buffer_set_columns(LabelBuffer *buf, const LabelInfo *info)
{
	int			i;

	buf->usable = info->usable;
	if (!info->usable)
		return;
	buf->nkeys = info->nkeys;
	buf->nvalues = info->nkeys + 4;
	for (i = 0; i < info->nkeys; i++)
		buf->columns[i] = info->keys[i];
	buf->columns[BUF_OLD_LABEL(buf)] = info->label;
	buf->columns[BUF_NEW_LABEL(buf)] = info->label;
	buf->columns[BUF_PREDICTION(buf)] = info->prediction;
	buf->columns[BUF_CONFIDENCE(buf)] = info->confidence;
}

/* Do a buffer's columns still match the model as cached now? */
static bool
buffer_matches(const LabelBuffer *buf, const LabelInfo *info)
{
	int			i;

	if (!info->usable || info->nkeys != buf->nkeys)
		return false;
	for (i = 0; i < info->nkeys; i++)
		if (info->keys[i].attnum != buf->columns[i].attnum ||
			info->keys[i].typid != buf->columns[i].typid)
			return false;
	return info->label.typid == buf->columns[BUF_OLD_LABEL(buf)].typid &&
		info->prediction.typid == buf->columns[BUF_PREDICTION(buf)].typid &&
		info->confidence.typid == buf->columns[BUF_CONFIDENCE(buf)].typid;
}

/*
 * The buffer of a model on a table, made (or brought up to date, when it
 * holds nothing) from the cached model.
 */
static LabelBuffer *
get_buffer(const char *model, Relation rel)
{
	LabelBuffer *buf = find_buffer(model, RelationGetRelid(rel));

	if (buf != NULL && buf->n > 0)
		return buf;

	if (buf == NULL)
	{
		if (buffer_cxt == NULL)
			buffer_cxt = AllocSetContextCreate(TopTransactionContext,
											   "hitl label changes",
											   ALLOCSET_DEFAULT_SIZES);
		buf = MemoryContextAllocZero(buffer_cxt, sizeof(LabelBuffer));
		strlcpy(buf->model, model, HITL_MODEL_NAME_LEN);
		buf->relid = RelationGetRelid(rel);
		buf->data_cxt = AllocSetContextCreate(buffer_cxt, "hitl label values",
											  ALLOCSET_DEFAULT_SIZES);
		buf->next = buffers;
		buffers = buf;
		last_buffer = buf;
	}
	buffer_set_columns(buf, label_info(model, rel));
	return buf;
}

/* Make room for twice as many changes (16 at first) */
static void
buffer_grow(LabelBuffer *buf)
{
	int			capacity = buf->capacity == 0 ? 16 : buf->capacity * 2;
	int			i;

	for (i = 0; i < buf->nvalues; i++)
	{
		if (buf->capacity == 0)
		{
			buf->values[i] = MemoryContextAllocHuge(buffer_cxt, sizeof(Datum) * capacity);
			buf->nulls[i] = MemoryContextAllocHuge(buffer_cxt, sizeof(bool) * capacity);
		}
		else
		{
			buf->values[i] = repalloc_huge(buf->values[i], sizeof(Datum) * capacity);
			buf->nulls[i] = repalloc_huge(buf->nulls[i], sizeof(bool) * capacity);
		}
	}
	if (buf->capacity == 0)
		buf->levels = MemoryContextAllocHuge(buffer_cxt, sizeof(int) * capacity);
	else
		buf->levels = repalloc_huge(buf->levels, sizeof(int) * capacity);
	buf->capacity = capacity;
}

/* A copy of a value that outlives the tuple it came from */
static Datum
keep_value(Datum value, const LabelColumn *col)
{
	if (col->typbyval)
		return value;
	if (col->typlen == -1)
		return PointerGetDatum(PG_DETOAST_DATUM_COPY(value));
	return datumCopy(value, false, col->typlen);
}

/*
 * Row trigger after an UPDATE that changed the label: keep the row's key,
 * both labels and the prediction and confidence it had.
 */
void
label_buffer_keep(TriggerData *trigdata, const char *model)
{
	LabelBuffer *buf = get_buffer(model, trigdata->tg_relation);
	TupleTableSlot *old_slot = trigdata->tg_trigslot;
	TupleTableSlot *new_slot = trigdata->tg_newslot;
	MemoryContext old_cxt;
	int			i;

	if (!buf->usable)
		return;
	if (buf->n == buf->capacity)
		buffer_grow(buf);

	old_cxt = MemoryContextSwitchTo(buf->data_cxt);
	for (i = 0; i < buf->nvalues; i++)
	{
		const LabelColumn *col = &buf->columns[i];
		TupleTableSlot *slot = (i < buf->nkeys || i == BUF_NEW_LABEL(buf)) ? new_slot : old_slot;
		bool		isnull;
		Datum		value = slot_getattr(slot, col->attnum, &isnull);

		buf->nulls[i][buf->n] = isnull;
		buf->values[i][buf->n] = isnull ? (Datum) 0 : keep_value(value, col);
	}
	MemoryContextSwitchTo(old_cxt);
	buf->levels[buf->n] = GetCurrentTransactionNestLevel();
	buf->n++;
}

/* Write a buffer's changes from the start'th on to the label log */
static void
buffer_write(LabelBuffer *buf, LabelInfo *info, int start)
{
	LabelLogWriter *w = label_log_open(buf->model);
	int			o = BUF_OLD_LABEL(buf);
	int			n = BUF_NEW_LABEL(buf);
	int			p = BUF_PREDICTION(buf);
	int			c = BUF_CONFIDENCE(buf);
	int			e;

	if (w == NULL)
		return;
	for (e = start; e < buf->n; e++)
	{
		Datum		keys[INDEX_MAX_KEYS];
		bool		key_nulls[INDEX_MAX_KEYS];
		int			i;

		for (i = 0; i < buf->nkeys; i++)
		{
			keys[i] = buf->values[i][e];
			key_nulls[i] = buf->nulls[i][e];
		}
		label_log_change(w, info, keys, key_nulls,
						 buf->values[o][e], buf->nulls[o][e],
						 buf->values[n][e], buf->nulls[n][e],
						 buf->values[p][e], buf->nulls[p][e],
						 buf->values[c][e], buf->nulls[c][e]);
	}
	label_log_close(w);
}

/*
 * Write the changes a buffer keeps from the given subtransaction level (and
 * deeper ones, which have all ended).  Changes kept under columns that have
 * changed since are not logged, with a warning.
 */
static void
flush_buffer(LabelBuffer *buf, Relation rel, int level)
{
	int			start = buf->n;
	LabelInfo  *info;

	while (start > 0 && buf->levels[start - 1] >= level)
		start--;
	if (start == buf->n)
		return;
	hitl_wake_at_commit(RelationGetRelid(rel));

	info = label_info(buf->model, rel);
	if (buffer_matches(buf, info))
		buffer_write(buf, info, start);
	else if (info->usable)
		ereport(WARNING,
				(errmsg("label changes of model \"%s\" were not logged", buf->model),
				 errdetail("The table changed while the statement ran.")));

	buf->n = start;
	if (start == 0)
		MemoryContextReset(buf->data_cxt);
}

/* Statement trigger after UPDATE: write what its rows kept */
void
label_buffer_flush(TriggerData *trigdata, const char *model)
{
	LabelBuffer *buf = find_buffer(model, RelationGetRelid(trigdata->tg_relation));

	if (buf != NULL && buf->n > 0)
		flush_buffer(buf, trigdata->tg_relation, GetCurrentTransactionNestLevel());
}

/*
 * Before commit: write what no statement trigger wrote (rows of the table
 * updated through a parent table fire the row trigger, not the statement
 * trigger).
 */
static void
flush_all_buffers(void *arg)
{
	LabelBuffer *buf;
	bool		pushed = false;

	for (buf = buffers; buf != NULL; buf = buf->next)
	{
		Relation	rel;

		if (buf->n == 0)
			continue;
		rel = try_relation_open(buf->relid, AccessShareLock);
		if (rel == NULL)
		{
			buf->n = 0;
			continue;
		}
		/* no statement runs any more: take a snapshot to read hitl.models */
		if (!pushed)
		{
			PushActiveSnapshot(GetTransactionSnapshot());
			pushed = true;
		}
		flush_buffer(buf, rel, 1);
		relation_close(rel, AccessShareLock);
	}
	if (pushed)
		PopActiveSnapshot();
}

/*
 * Transaction callback: write the changes left before commit; forget the
 * buffers when the transaction ends (their memory goes with it).
 */
static void
label_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (buffers != NULL)
				label_log_run(flush_all_buffers, NULL);
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* the memory goes with TopTransactionContext */
			buffers = NULL;
			last_buffer = NULL;
			buffer_cxt = NULL;
			break;
		default:
			break;
	}
}

/*
 * A subtransaction that aborts drops the changes it kept; one that commits
 * hands them to its parent.  Changes of a subtransaction are the last ones
 * of each buffer: those of its children were handed to it or dropped.
 */
static void
label_subxact_callback(SubXactEvent event, SubTransactionId subid,
					   SubTransactionId parent_subid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	LabelBuffer *buf;
	int			i;

	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	for (buf = buffers; buf != NULL; buf = buf->next)
	{
		for (i = buf->n; i > 0 && buf->levels[i - 1] >= level; i--)
			if (event == SUBXACT_EVENT_COMMIT_SUB)
				buf->levels[i - 1] = level - 1;
		if (event == SUBXACT_EVENT_ABORT_SUB)
		{
			buf->n = i;
			if (i == 0)
				MemoryContextReset(buf->data_cxt);
		}
	}
}

/* Register the transaction and subtransaction callbacks, once */
void
label_buffer_register(void)
{
	if (callbacks_registered)
		return;
	RegisterXactCallback(label_xact_callback, NULL);
	RegisterSubXactCallback(label_subxact_callback, NULL);
	callbacks_registered = true;
}
