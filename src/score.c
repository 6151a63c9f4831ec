/*
 * score.c
 *		hitl.score(): write prediction, confidence and uncertainty into the
 *		rows of a model's table, and rank the review candidates.
 *
 * This file holds the scoring pass and the SQL-callable functions; the rest
 * of the family is declared in score.h (the rows and their keys, the batch
 * writes) and queue.h (the review queue).
 *
 * One pass reads every row (features, label state, current scores, primary
 * key) and scores it in memory; rows whose scores did not move by more than
 * the model's score_tolerance are not written at all.  The most uncertain
 * unlabeled rows go to hitl.queue, ranked (queue.c).  Writes follow in
 * batches of batch_size rows, queue candidates first (score_write.c); rows
 * that users held locked are tried again a few times, with growing pauses,
 * before they are left for the next scoring.
 *
 * A scoring that commits between batches (CALL hitl.score_in_batches, the
 * worker) can see its table rewritten between two batches (VACUUM FULL,
 * CLUSTER, TRUNCATE and reload, ALTER TABLE): the scan's ctids are then
 * stale (score_rows.c), and the scoring starts over in the next transaction
 * (a new scan, a new queue), so the rows it could not reach are scored all
 * the same, and the model is marked scored only by a scoring whose writes
 * all found their rows.
 *
 * The scorings of one model are serialised by a lock of their own, taken
 * again in each transaction of a scoring that commits.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "tcop/dest.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "catalog.h"
#include "compat.h"
#include "labels.h"
#include "metrics.h"
#include "progress.h"
#include "queue.h"
#include "rowkey.h"
#include "score.h"
#include "score_dist.h"
#include "score_parallel.h"
#include "score_scan.h"
#include "termcache.h"
#include "spi_check.h"
#include "train.h"

/* rounds of retrying rows that were locked, and the first pause between */
#define LOCKED_RETRY_ROUNDS 6
#define LOCKED_RETRY_PAUSE_US 20000L

/* times a scoring starts over after its table was rewritten under it */
#define MAX_SCORE_RESTARTS 10

static void batch_done(ScoreState *s);
static bool retrain_if_classes_gone(const char *name, MemoryContext cxt);
static void score_scan(ScoreState *s, ScoreScan *scan, RowList *changed);
static void write_and_commit(ScoreState *s, const ScoredRow *rows, int n,
							 RowList *skipped, MemoryContext bcxt);
static void write_rows(ScoreState *s, const RowList *changed, bool in_queue,
					   RowList *skipped);
static void retry_locked(ScoreState *s, RowList *skipped);
static bool score_pass(ScoreState *s);
static bool score_take_snapshot(const char *name, MemoryContext cxt,
								  ScoreCommitFn commit, void *commit_arg);
static bool score_attempt(const char *name, MemoryContext cxt, ScoreCommitFn commit,
						  void *commit_arg, int64 *written);
static void spi_commit(void *arg);

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
	score_lock(s->model->name);
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
	(void) train_model(name, false, TRAIN_CV_INLINE);
	return true;
}

/*
 * Pass 1: read and score every row in memory, the rows that changed going
 * to changed, the unlabeled ones offered to scan->heap, in parallel when
 * the table is large enough (score_parallel.c); then note the table's
 * storage the ctids belong to.
 */
static void
score_scan(ScoreState *s, ScoreScan *scan, RowList *changed)
{
	changed->mcxt = s->cxt;
	score_scan_init(s, scan, changed);
	scan->report = true;
	hitl_progress_phase(HITL_PHASE_SCORING, score_estimate_rows(s->model->source));

	/*
	 * density needs the whole pool before any row's score (two serial
	 * scans); committee its members, fitted here, in this process
	 */
	if (s->model->strategy == UNCERTAINTY_COMMITTEE)
		score_committee_fit(scan);
	if (s->model->strategy == UNCERTAINTY_DENSITY ||
		s->model->strategy == UNCERTAINTY_COMMITTEE || !score_scan_parallel(scan))
	{
		SPIPlanPtr	plan = score_scan_prepare(score_scan_sql(s, false), false);

		if (s->model->strategy == UNCERTAINTY_DENSITY)
			score_scan_pool(scan, plan);
		score_scan_run(scan, plan, NULL);
		SPI_freeplan(plan);
	}
	hitl_progress_done((int64) (scan->met + scan->met_elsewhere));
	if (s->classifier.sparse)
		termcache_note(s->classifier.row.cache_hits, s->classifier.row.cache_misses);

	/*
	 * The ctids are those of this storage of the table: the scan's lock
	 * keeps it until this transaction ends.
	 */
	score_note_storage(s);
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
	if (!(s->commit_batches && score_table_rewritten(s)))
	{
		MemoryContextSwitchTo(bcxt);
		write_batch(s, rows, n, skipped);
		hitl_progress_done(s->written);
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
			rows_sort_by_tid(batch, nbatch);
			write_and_commit(s, batch, nbatch, skipped, bcxt);
			nbatch = 0;
			CHECK_FOR_INTERRUPTS();
		}
	}
	if (!s->restart)
	{
		rows_sort_by_tid(batch, nbatch);
		write_and_commit(s, batch, nbatch, skipped, bcxt);
	}
	MemoryContextDelete(bcxt);
	pfree(batch);
}

/*
 * Come back for the rows users had locked, a few rounds with growing
 * pauses, in batches, committing after each round (in a scoring that
 * commits).  On return, *skipped holds the rows still locked.
 */
static void
retry_locked(ScoreState *s, RowList *skipped)
{
	int			round;

	for (round = 0; round < LOCKED_RETRY_ROUNDS && skipped->n > 0 && !s->restart; round++)
	{
		RowList		again = {.mcxt = s->cxt};
		int64		i;

		pg_usleep(LOCKED_RETRY_PAUSE_US << round);
		CHECK_FOR_INTERRUPTS();
		for (i = 0; i < skipped->n && !s->restart; i += s->model->batch_size)
			write_batch_skip_locked(s, skipped->rows + i,
									(int) Min((int64) s->model->batch_size, skipped->n - i),
									&again);
		batch_done(s);
		*skipped = again;
	}
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
	ScoreScan	scan;
	RowList		changed = {0};
	RowList		skipped = {0};

	score_load(s);
	score_write_prepare(s);
	skipped.mcxt = s->cxt;
	score_scan(s, &scan, &changed);

	/* the review candidates, ranked, before any write moves a row */
	candidates_rank(s, &scan.heap);
	queue_store(s, &scan.heap);
	batch_done(s);
	if (s->restart)
		return false;

	/* pass 2: write, rows entering the queue first, then the others */
	queue_mark_members(&scan.heap, &changed);
	hitl_progress_phase(HITL_PHASE_WRITING, changed.n);
	write_rows(s, &changed, true, &skipped);
	write_rows(s, &changed, false, &skipped);
	retry_locked(s, &skipped);
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
		score_table_rewritten(s))
		return false;

	if (skipped.n > 0)
		ereport(NOTICE,
				(errmsg("%lld rows of model \"%s\" were locked by other sessions and keep their old scores",
						(long long) skipped.n, s->model->name),
				 errhint("They are scored again by the next hitl.score().")));

	catalog_mark_scored(s->model, s->version->version);
	return true;
}

/*
 * Before a scoring: when the model had to be trained again (its classes
 * left the label's enum), make the new version the one the scoring reads:
 * commit it in a scoring that commits.  A scoring that does not commit
 * (hitl.score) reads in a new snapshot that sees what its transaction
 * wrote so far, that version and the writes of an earlier scoring in the
 * same statement (whose rows the statement's snapshot sees in their
 * versions before it): returns true, the caller pops that snapshot at the
 * end.
 */
static bool
score_take_snapshot(const char *name, MemoryContext cxt, ScoreCommitFn commit,
					  void *commit_arg)
{
	bool		retrained = retrain_if_classes_gone(name, cxt);

	if (commit != NULL)
	{
		if (retrained)
		{
			commit(commit_arg);
			score_lock(name);
			MemoryContextSwitchTo(cxt);
		}
		return false;
	}
	CommandCounterIncrement();
	PushCopiedSnapshot(GetActiveSnapshot());
	UpdateActiveSnapshotCommandId();
	return true;
}

/*
 * One attempt at scoring the model, in a memory context of its own under
 * cxt; adds the rows it wrote to *written.  Returns false when the scoring
 * must start over.
 */
static bool
score_attempt(const char *name, MemoryContext cxt, ScoreCommitFn commit,
			  void *commit_arg, int64 *written)
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
	*written += s.written;
	score_write_release(&s);
	MemoryContextSwitchTo(cxt);
	MemoryContextDelete(pass_cxt);
	return done;
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
	bool		pushed_snapshot;

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
	score_lock(name);

	/* a distributed table is scored where its rows are */
	if (catalog_citus_distributed(model->source))
	{
		written = score_distributed(model);
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		return written;
	}

	hitl_progress_begin(name, model->source, model->owner);
	pushed_snapshot = score_take_snapshot(name, cxt, commit, commit_arg);

	for (restarts = 0; !score_attempt(name, cxt, commit, commit_arg, &written); restarts++)
	{
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
	hitl_progress_end();

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

	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "connecting to SPI");
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

	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "connecting to SPI");
	model = catalog_load_model(name, CurrentMemoryContext);
	catalog_check_may_change(model, "score");
	SPI_finish();
	score_lock(name);
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
	hitl_spi_check(SPI_connect_ext(nonatomic ? SPI_OPT_NONATOMIC : 0), SPI_OK_CONNECT,
				   "connecting to SPI");
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
