/*
 * score_parallel.c
 *		The scan of a scoring in parallel: the table's blocks in ranges,
 *		taken in turn by the scoring's own backend and parallel workers.
 *
 * When a model's table has at least 3 x min_parallel_table_scan_size of
 * blocks, a scoring starts a parallel worker, two at 9 x, and so on, up to
 * hitl.max_parallel_scoring (from max_parallel_workers), in a parallel
 * context: they see its
 * transaction, snapshot, role and settings.  Every process, the backend
 * too, takes the next range of blocks from a shared counter and runs the
 * scan's query on it (a TID range scan), until no block is left: a worker
 * that could not start leaves its share to the others.  Each worker loads
 * the same version of the model and scores its rows as a scan alone would
 * (score_scan.c), then sends back through a message queue of its own the
 * rows whose scores moved, as they come, and at its end its review
 * candidates and counts; the backend takes them in between its own rows.
 *
 * The backend merges: the rows that changed join its own list, and the
 * workers' candidates are offered to its own heap.  The most uncertain rows
 * of the whole table are among the most uncertain of each part, and the
 * lowest draws among each part's lowest, so the queue is the one a scan
 * alone would find: ties are broken by a row's place in the table
 * (score_row_seq), not by the order it was met in.  Only the scan is
 * parallel: the writes that follow are the backend's, out of parallel mode.
 *
 * Errors in a worker (a row whose features cannot be read) come back to
 * the backend as its own, with their SQLSTATE, and end the scoring.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "optimizer/cost.h"
#include "optimizer/paths.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/bufmgr.h"
#include "storage/latch.h"
#include "storage/predicate.h"
#include "storage/shm_mq.h"
#include "storage/shm_toc.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "catalog.h"
#include "rowkey.h"
#include "score_parallel.h"
#include "settings.h"

/* The keys of the parallel context's table of contents */
#define KEY_SHARED UINT64CONST(0x4849544c00000001)
#define KEY_NAME UINT64CONST(0x4849544c00000002)
#define KEY_QUEUES UINT64CONST(0x4849544c00000003)

/* The message queue of each worker, and what a worker sends at once */
#define QUEUE_BYTES ((Size) 1024 * 1024)
#define SEND_BYTES (64 * 1024)

/* Ranges: about this many per process, of at most this many blocks */
#define RANGES_PER_PROCESS 16
#define MAX_RANGE_BLOCKS 1024

/* What the processes share */
typedef struct ScoreShared
{
	int32		version;		/* the version the backend scores with */
	uint64		nblocks;		/* the table's blocks when the scan began */
	uint64		range;			/* blocks per range */
	pg_atomic_uint64 next;		/* the first block of the next range */
} ScoreShared;

/* A message begins with its kind */
#define MSG_ROWS 'r'			/* uint64 rows met since the last, then rows */
#define MSG_DONE 'd'			/* a DoneRecord */

/* A row in a message, followed by its key's values (datumSerialize) */
typedef struct RowRecord
{
	ItemPointerData tid;
	bool		candidate;		/* a review candidate, else a changed row */
	int32		cls;
	double		confidence;
	double		uncertainty;
	uint64		seq;
} RowRecord;

/* A worker's last message */
typedef struct DoneRecord
{
	uint64		offered;		/* unlabeled rows met */
	int64		cache_hits;
	int64		cache_misses;
} DoneRecord;

/* A worker's sending side */
typedef struct Sender
{
	shm_mq_handle *mqh;
	const ScoreScan *scan;
	StringInfoData buf;
	uint64		met_sent;		/* rows met, as far as sent */
} Sender;

/* The backend's receiving side */
typedef struct Receiver
{
	ScoreScan  *scan;
	int			nqueues;
	shm_mq_handle **mqh;		/* NULL once the worker detached */
	MemoryContext tmpcxt;		/* reset after each message */
	int			done;			/* workers whose last message came */
	uint64		offered;		/* unlabeled rows the workers met */
	uint64		reoffered;		/* their candidates, offered here again */
	int64		cache_hits;
	int64		cache_misses;
} Receiver;

static int	workers_for_size(uint64 nblocks, int most);
static int	plan_workers(const ScoreState *s, uint64 *nblocks, uint64 *range);
static void scan_ranges(ScoreScan *scan, ScoreShared *sh);
static void send_message(Sender *snd, bool force);
static void send_begin(Sender *snd);
static void send_flush(Sender *snd, bool force);
static void send_row(Sender *snd, const ScoreState *s, const ScoredRow *row,
					 bool candidate, uint64 seq);
static void worker_poll(ScoreScan *scan, void *arg);
static void send_candidates(Sender *snd, ScoreScan *scan);
static void receive_message(Receiver *rcv, const char *data, Size n);
static void receive(Receiver *rcv, bool wait);
static void leader_poll(ScoreScan *scan, void *arg);

/* Workers for a table of nblocks: one at 3 x the threshold, two at 9 x... */
static int
workers_for_size(uint64 nblocks, int most)
{
	uint64		threshold = (uint64) Max(min_parallel_table_scan_size, 0);
	int			n = 0;

	if (threshold == 0)
		return most;
	for (threshold *= 3; n < most && nblocks >= threshold; threshold *= 3)
	{
		n++;
		if (threshold > PG_UINT64_MAX / 3)
			break;
	}
	return n;
}

/*
 * How many workers a scoring of s's table starts (0: none), the table's
 * blocks and the blocks per range.  The table must be a heap table of
 * the database's (another session cannot read a temporary table) without
 * inheritance children (the scan reads their rows too, at ctids of their
 * own blocks, not the parent's), and scanned by TID ranges (enable_tidscan:
 * else each range would read the whole table).  A worker takes tens of
 * milliseconds to start and load the model, so the first comes at 3 x the
 * planner's min_parallel_table_scan_size, the next at 9 x, and so on (the
 * planner's own steps, one step later; with the setting 0, all of them at
 * once, as tests use it).  No more workers are
 * planned than max_parallel_workers could ever give: each has its message
 * queue in the shared memory, and the ranges are sized for them.
 *
 * A serializable scoring's scan reads the whole table, but a TID range
 * scan takes no predicate lock: the table is locked here, as a sequential
 * scan would.
 */
static int
plan_workers(const ScoreState *s, uint64 *nblocks, uint64 *range)
{
	Oid			relid = s->model->source;
	char		relkind = get_rel_relkind(relid);
	int			nworkers = Min(hitl_max_parallel_scoring,
							   Min(max_parallel_workers, max_worker_processes));
	Relation	rel;

	if (nworkers <= 0 || IsInParallelMode() || !IsUnderPostmaster || !enable_tidscan)
		return 0;
	if ((relkind != RELKIND_RELATION && relkind != RELKIND_MATVIEW) ||
		get_rel_persistence(relid) == RELPERSISTENCE_TEMP || has_subclass(relid))
		return 0;
	/* after the scan's snapshot: a row it sees is in one of these blocks */
	rel = table_open(relid, AccessShareLock);
	*nblocks = RelationGetNumberOfBlocks(rel);
	/* ranges of ctids are ranges of blocks in heap tables (not every AM's) */
	nworkers = workers_for_size(*nblocks, nworkers);
	if (rel->rd_rel->relam != HEAP_TABLE_AM_OID || *nblocks < 2 || nworkers == 0)
	{
		table_close(rel, NoLock);
		return 0;
	}
	PredicateLockRelation(rel, GetActiveSnapshot());
	table_close(rel, NoLock);
	*range = *nblocks / ((uint64) (nworkers + 1) * RANGES_PER_PROCESS);
	*range = Max(1, Min(*range, MAX_RANGE_BLOCKS));
	/* at least a range each */
	nworkers = (int) Min((uint64) nworkers, (*nblocks + *range - 1) / *range - 1);
	return nworkers;
}

/* Scan the ranges of blocks left, one after another, until none is */
static void
scan_ranges(ScoreScan *scan, ScoreShared *sh)
{
	SPIPlanPtr	plan = score_scan_prepare(score_scan_sql(scan->s, true), true);

	for (;;)
	{
		uint64		start = pg_atomic_fetch_add_u64(&sh->next, sh->range);
		uint64		end;
		ItemPointerData lo;
		ItemPointerData hi;
		Datum		params[2];

		/* (a range without a row calls no receiver, which checks too) */
		CHECK_FOR_INTERRUPTS();
		if (start >= sh->nblocks)
			break;
		end = Min(start + sh->range, sh->nblocks);
		/* (block, 0) sorts before every row of the block */
		ItemPointerSet(&lo, (BlockNumber) start, 0);
		ItemPointerSet(&hi, (BlockNumber) end, 0);
		params[0] = PointerGetDatum(&lo);
		params[1] = PointerGetDatum(&hi);
		score_scan_run(scan, plan, params);
	}
	SPI_freeplan(plan);
}

/* Send the message in snd->buf to the backend (flushed at once with force) */
static void
send_message(Sender *snd, bool force)
{
	if (shm_mq_send(snd->mqh, snd->buf.len, snd->buf.data, false, force) != SHM_MQ_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("the backend of a parallel scoring is gone")));
}

/* An empty message of rows */
static void
send_begin(Sender *snd)
{
	uint64		zero = 0;

	resetStringInfo(&snd->buf);
	appendStringInfoChar(&snd->buf, MSG_ROWS);
	appendBinaryStringInfo(&snd->buf, (const char *) &zero, sizeof(zero));
}

/*
 * Send the message of rows so far (when it holds any, or force), with the
 * rows met since the last
 */
static void
send_flush(Sender *snd, bool force)
{
	if (snd->buf.len > (int) (1 + sizeof(uint64)) || force)
	{
		uint64		met = snd->scan->met - snd->met_sent;

		memcpy(snd->buf.data + 1, &met, sizeof(met));
		snd->met_sent = snd->scan->met;
		send_message(snd, false);
	}
	send_begin(snd);
}

/* Add a row to the message, sending it when it is large enough */
static void
send_row(Sender *snd, const ScoreState *s, const ScoredRow *row, bool candidate,
		 uint64 seq)
{
	RowRecord	rec;
	int			i;

	memset(&rec, 0, sizeof(rec));
	rec.tid = row->tid;
	rec.candidate = candidate;
	rec.cls = row->cls;
	rec.confidence = row->confidence;
	rec.uncertainty = row->uncertainty;
	rec.seq = seq;
	appendBinaryStringInfo(&snd->buf, (const char *) &rec, sizeof(rec));
	for (i = 0; i < s->nkeys; i++)
	{
		Datum		v = s->nkeys == 1 ? row->key :
			((const Datum *) DatumGetPointer(row->key))[i];
		Size		size = datumEstimateSpace(v, false, s->key_byval[i], s->key_typlen[i]);
		char	   *p;

		enlargeStringInfo(&snd->buf, (int) size);
		p = snd->buf.data + snd->buf.len;
		datumSerialize(v, false, s->key_byval[i], s->key_typlen[i], &p);
		snd->buf.len += (int) size;
	}
	if (snd->buf.len >= SEND_BYTES)
		send_flush(snd, false);
}

/*
 * A worker's poll: the rows that changed go to the message (their keys
 * freed), sent once large enough.
 */
static void
worker_poll(ScoreScan *scan, void *arg)
{
	Sender	   *snd = (Sender *) arg;
	RowList    *changed = scan->changed;
	int64		i;

	for (i = 0; i < changed->n; i++)
	{
		send_row(snd, scan->s, &changed->rows[i], false, 0);
		rowkey_free(scan->s, changed->rows[i].key);
	}
	changed->n = 0;
}

/*
 * A worker's candidates: those of its heap and of its evaluation sample,
 * each row once (it can be in both: the heap's rows are looked up by their
 * places, sorted, as both can hold up to queue_size rows).
 */
static void
send_candidates(Sender *snd, ScoreScan *scan)
{
	CandidateHeap *heap = &scan->heap;
	uint64	   *seqs = palloc(sizeof(uint64) * Max(heap->n, 1));
	int			i;

	for (i = 0; i < heap->n; i++)
	{
		send_row(snd, scan->s, &heap->items[i].row, true, heap->items[i].seq);
		seqs[i] = heap->items[i].seq;
	}
	qsort(seqs, heap->n, sizeof(uint64), candidates_seq_cmp);
	for (i = 0; i < heap->nsample; i++)
		if (bsearch(&heap->sample[i].seq, seqs, heap->n, sizeof(uint64), candidates_seq_cmp) == NULL)
			send_row(snd, scan->s, &heap->sample[i].row, true, heap->sample[i].seq);
	pfree(seqs);
}

void
hitl_score_parallel_main(dsm_segment *seg, shm_toc *toc)
{
	ScoreShared *sh = shm_toc_lookup(toc, KEY_SHARED, false);
	char	   *name = shm_toc_lookup(toc, KEY_NAME, false);
	char	   *queues = shm_toc_lookup(toc, KEY_QUEUES, false);
	shm_mq	   *mq = (shm_mq *) (queues + (Size) ParallelWorkerNumber * QUEUE_BYTES);
	MemoryContext cxt;
	ScoreState	s;
	ScoreScan	scan;
	RowList		changed = {0};
	Sender		snd;
	DoneRecord	done;

	shm_mq_set_sender(mq, MyProc);
	snd.mqh = shm_mq_attach(mq, seg, NULL);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "hitl: SPI_connect failed");
	cxt = AllocSetContextCreate(TopTransactionContext, "hitl parallel scoring",
								ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);
	initStringInfo(&snd.buf);
	snd.scan = &scan;
	snd.met_sent = 0;
	send_begin(&snd);

	memset(&s, 0, sizeof(s));
	s.cxt = cxt;
	s.model = catalog_load_model(name, cxt);
	if (s.model->current_version != sh->version)
		elog(ERROR, "hitl: a parallel worker sees version %d of model \"%s\", its backend %d",
			 s.model->current_version, name, sh->version);
	score_load(&s);

	changed.mcxt = cxt;
	changed.capacity = 2 * SCAN_POLL_ROWS;
	score_scan_init(&s, &scan, &changed);
	scan.poll = worker_poll;
	scan.poll_arg = &snd;
	scan_ranges(&scan, sh);

	worker_poll(&scan, &snd);
	send_candidates(&snd, &scan);
	send_flush(&snd, true);

	memset(&done, 0, sizeof(done));
	done.offered = scan.heap.offered;
	if (s.classifier.sparse)
	{
		done.cache_hits = s.classifier.row.cache_hits;
		done.cache_misses = s.classifier.row.cache_misses;
	}
	resetStringInfo(&snd.buf);
	appendStringInfoChar(&snd.buf, MSG_DONE);
	appendBinaryStringInfo(&snd.buf, (const char *) &done, sizeof(done));
	send_message(&snd, true);
	SPI_finish();
}

/* A message from a worker, in the backend */
static void
receive_message(Receiver *rcv, const char *data, Size n)
{
	ScoreScan  *scan = rcv->scan;
	ScoreState *s = scan->s;
	const char *p = data + 1;
	const char *end = data + n;
	MemoryContext old;
	Datum	   *vals;
	bool	   *nulls;
	uint64		met;

	if (n >= 1 + sizeof(DoneRecord) && data[0] == MSG_DONE)
	{
		DoneRecord	d;

		memcpy(&d, p, sizeof(d));
		rcv->offered += d.offered;
		rcv->cache_hits += d.cache_hits;
		rcv->cache_misses += d.cache_misses;
		rcv->done++;
		return;
	}
	if (n < 1 + sizeof(uint64) || data[0] != MSG_ROWS)
		elog(ERROR, "hitl: a parallel scoring worker sent a message of an unknown kind");
	memcpy(&met, p, sizeof(met));
	p += sizeof(met);
	scan->met_elsewhere += met;

	old = MemoryContextSwitchTo(rcv->tmpcxt);
	vals = palloc(sizeof(Datum) * s->nkeys);
	nulls = palloc(sizeof(bool) * s->nkeys);
	while (p < end)
	{
		RowRecord	rec;
		ScoredRow	row;
		int			i;

		memcpy(&rec, p, sizeof(rec));
		p += sizeof(rec);
		for (i = 0; i < s->nkeys; i++)
		{
			char	   *q = (char *) p;

			vals[i] = datumRestore(&q, &nulls[i]);
			p = q;
		}
		memset(&row, 0, sizeof(row));
		row.tid = rec.tid;
		row.cls = rec.cls;
		row.confidence = rec.confidence;
		row.uncertainty = rec.uncertainty;
		if (rec.candidate)
		{
			candidates_offer(s, &scan->heap, &row, rec.seq, vals, nulls);
			rcv->reoffered++;
		}
		else
		{
			row.key = rowkey_save(s, vals, nulls);
			rowlist_add(scan->changed, &row);
		}
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(rcv->tmpcxt);
}

/*
 * Take the messages waiting in the workers' queues; with wait, until every
 * worker has detached (its work over, or an error).
 */
static void
receive(Receiver *rcv, bool wait)
{
	for (;;)
	{
		bool		live = false;
		bool		got = false;
		int			i;

		for (i = 0; i < rcv->nqueues; i++)
		{
			while (rcv->mqh[i] != NULL)
			{
				Size		n;
				void	   *data;
				shm_mq_result res = shm_mq_receive(rcv->mqh[i], &n, &data, true);

				if (res == SHM_MQ_WOULD_BLOCK)
				{
					live = true;
					break;
				}
				if (res == SHM_MQ_DETACHED)
				{
					shm_mq_detach(rcv->mqh[i]);
					rcv->mqh[i] = NULL;
					break;
				}
				receive_message(rcv, data, n);
				got = true;
			}
		}
		if (!wait || !live)
			return;
		if (!got)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1L,
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
		/* an error of a worker comes back here */
		CHECK_FOR_INTERRUPTS();
	}
}

/* The backend's poll, between its own rows */
static void
leader_poll(ScoreScan *scan, void *arg)
{
	receive((Receiver *) arg, false);
}

bool
score_scan_parallel(ScoreScan *scan)
{
	ScoreState *s = scan->s;
	uint64		nblocks = 0;
	uint64		range = 1;
	int			nworkers = plan_workers(s, &nblocks, &range);
	ParallelContext *pcxt;
	ScoreShared *sh;
	char	   *name;
	char	   *queues;
	Receiver	rcv;
	int			i;

	if (nworkers == 0)
		return false;

	EnterParallelMode();
	pcxt = CreateParallelContext("hitl", "hitl_score_parallel_main", nworkers);
	shm_toc_estimate_chunk(&pcxt->estimator, sizeof(ScoreShared));
	shm_toc_estimate_chunk(&pcxt->estimator, strlen(s->model->name) + 1);
	shm_toc_estimate_chunk(&pcxt->estimator, QUEUE_BYTES * nworkers);
	shm_toc_estimate_keys(&pcxt->estimator, 3);
	InitializeParallelDSM(pcxt);

	sh = shm_toc_allocate(pcxt->toc, sizeof(ScoreShared));
	sh->version = s->version->version;
	sh->nblocks = nblocks;
	sh->range = range;
	pg_atomic_init_u64(&sh->next, 0);
	shm_toc_insert(pcxt->toc, KEY_SHARED, sh);
	name = shm_toc_allocate(pcxt->toc, strlen(s->model->name) + 1);
	strcpy(name, s->model->name);
	shm_toc_insert(pcxt->toc, KEY_NAME, name);
	queues = shm_toc_allocate(pcxt->toc, QUEUE_BYTES * nworkers);
	for (i = 0; i < nworkers; i++)
	{
		shm_mq	   *mq = shm_mq_create(queues + (Size) i * QUEUE_BYTES, QUEUE_BYTES);

		shm_mq_set_receiver(mq, MyProc);
	}
	shm_toc_insert(pcxt->toc, KEY_QUEUES, queues);

	LaunchParallelWorkers(pcxt);

	memset(&rcv, 0, sizeof(rcv));
	rcv.scan = scan;
	rcv.nqueues = pcxt->nworkers_launched;
	rcv.mqh = palloc0(sizeof(shm_mq_handle *) * Max(rcv.nqueues, 1));
	for (i = 0; i < rcv.nqueues; i++)
		rcv.mqh[i] = shm_mq_attach((shm_mq *) (queues + (Size) i * QUEUE_BYTES),
								   pcxt->seg, pcxt->worker[i].bgwhandle);
	rcv.tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "hitl parallel rows",
									   ALLOCSET_DEFAULT_SIZES);

	/* the backend scans ranges too, taking the workers' rows in between */
	scan->poll = leader_poll;
	scan->poll_arg = &rcv;
	scan_ranges(scan, sh);
	scan->poll = NULL;
	receive(&rcv, true);
	WaitForParallelWorkersToFinish(pcxt);
	if (rcv.done != rcv.nqueues)
		elog(ERROR, "hitl: %d of the %d workers of a parallel scoring ended early",
			 rcv.nqueues - rcv.done, rcv.nqueues);

	/* the candidates offered again were counted once already */
	scan->heap.offered += rcv.offered - rcv.reoffered;
	s->classifier.row.cache_hits += rcv.cache_hits;
	s->classifier.row.cache_misses += rcv.cache_misses;

	ereport(DEBUG1,
			(errmsg("hitl: model \"%s\" scored by %d parallel workers beside its backend (%d planned), %llu blocks in ranges of %llu",
					s->model->name, pcxt->nworkers_launched, nworkers,
					(unsigned long long) nblocks, (unsigned long long) range)));
	MemoryContextDelete(rcv.tmpcxt);
	pfree(rcv.mqh);
	DestroyParallelContext(pcxt);
	ExitParallelMode();
	return true;
}
