/*
 * worker.c
 *		The database worker: retrains and rescores the models of one
 *		database when their labels or rows change.
 *
 * It sleeps in WaitLatch until a backend that changed labels or rows wakes
 * it at commit (or hitl.naptime passes), waits hitl.retrain_delay for the
 * burst to end, and then, model by model:
 *
 *	- retrains when hitl.label_log has more entries for the model than its
 *	  processed_labels (warm-started: see train.c), and records how many it
 *	  saw.  A count, not the largest id: ids are given out at insert, so a
 *	  transaction that took a smaller id can commit after a larger one;
 *	  entries only accumulate, so a count that did not grow means no entry
 *	  came;
 *	- rescores the table, committing after every batch (see score.c).
 *
 * Each model's work runs in transactions of its own, as the model's owner.
 * A failure is caught, written to hitl.models (status, last_error,
 * failed_at, failures, retry_at), logged once per distinct error, and
 * retried with a doubling back-off; the other models go on.  A model
 * marked 'broken' (its table or columns changed, see the event trigger) is
 * left alone.  The worker never runs during recovery and leaves quietly
 * when hitl is dropped from its database or the database is dropped.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "hitl.h"
#include "score.h"
#include "shared.h"
#include "subxact.h"
#include "train.h"

PGDLLEXPORT void hitl_worker_main(Datum arg);

/* the longest back-off after repeated failures of a model, in seconds */
#define MAX_RETRY_DELAY_S 3600

/* What the worker knows of a model between transactions */
typedef struct WorkerModel
{
	char	   *name;
	Oid			source;
	Oid			owner;
	char	   *status;
	bool		retry_later;	/* retry_at is in the future */
	long		retry_in_ms;
} WorkerModel;

static HitlDatabaseSlot *my_slot = NULL;
static MemoryContext worker_cxt = NULL;

/* the worker's own role, restored after each model's work (also on error) */
static Oid	worker_userid;
static int	worker_sec_context;

static void
worker_detach(int code, Datum arg)
{
	if (my_slot == NULL)
		return;
	SpinLockAcquire(&hitl_shared->mutex);
	my_slot->pid = 0;
	my_slot->latch = NULL;
	SpinLockRelease(&hitl_shared->mutex);
	hitl_broadcast_progress();
}

/* Begin a unit of work: a transaction with a snapshot and SPI */
static void
begin_work(void)
{
	/* now() and statement_timestamp() of the work: a worker must set it */
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "hitl: SPI_connect failed");
}

static void
end_work(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	/* the worker's updates count for autovacuum like anyone's */
	pgstat_report_stat(false);
	hitl_broadcast_progress();
}

/*
 * score.c's commit between batches: end the unit of work and begin the
 * next (the role, set for the model, stays).
 */
static void
commit_between_batches(void *arg)
{
	end_work();
	CHECK_FOR_INTERRUPTS();
	begin_work();
}

/* Run one SQL statement without parameters; returns SPI_processed */
static uint64
run_sql(const char *sql, int expected)
{
	int			ret = SPI_execute(sql, false, 0);

	if (ret != expected)
		elog(ERROR, "hitl: worker query failed: %s", SPI_result_code_string(ret));
	return SPI_processed;
}

/*
 * The models of the database, as the worker's (superuser) role sees them.
 * *installed is false when hitl is no longer installed here.
 */
static List *
load_models(bool *installed)
{
	List	   *models = NIL;
	uint64		i;

	begin_work();
	*installed = OidIsValid(get_extension_oid("hitl", true));
	if (!*installed)
	{
		end_work();
		return NIL;
	}
	run_sql("SELECT name, owner::oid, status, coalesce(retry_at > now(), false),"
			" greatest(0, extract(epoch FROM retry_at - now()) * 1000)::int8,"
			" source::oid"
			" FROM hitl.models ORDER BY name", SPI_OK_SELECT);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext old = MemoryContextSwitchTo(worker_cxt);
		WorkerModel *m = palloc0(sizeof(WorkerModel));
		bool		isnull;

		m->name = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
		m->owner = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		m->status = TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull));
		m->retry_later = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
		m->retry_in_ms = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
		m->source = DatumGetObjectId(SPI_getbinval(tup, desc, 6, &isnull));
		models = lappend(models, m);
		MemoryContextSwitchTo(old);
	}
	end_work();
	return models;
}

/* train_model() for run_in_subtransaction */
static void
train_named_model(void *name)
{
	(void) train_model((const char *) name, true);
}

/*
 * Retrain a model when its label log moved, then rescore it.  Runs as the
 * model's owner.
 */
static void
work_on_model(WorkerModel *m, bool rescore)
{
	Oid			save_userid = worker_userid;
	int			save_sec_context = worker_sec_context;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	int64		logged;
	int64		processed;
	int			version;
	int			scored;
	int			ret;
	char		activity[NAMEDATALEN + 32];

	/* 1. retrain when labels changed */
	begin_work();
	SetUserIdAndSecContext(m->owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	values[0] = CStringGetTextDatum(m->name);
	ret = SPI_execute_with_args(
								"SELECT (SELECT count(*) FROM hitl.label_log WHERE model = $1),"
								" processed_labels, coalesce(current_version, 0),"
								" coalesce(scored_version, 0)"
								" FROM hitl.models WHERE name = $1",
								1, argtypes, values, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "hitl: reading the label log failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
	{
		/* dropped meanwhile */
		SetUserIdAndSecContext(save_userid, save_sec_context);
		end_work();
		return;
	}
	logged = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	processed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	scored = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));

	if (logged > processed || version == 0)
	{
		bool		trained;

		snprintf(activity, sizeof(activity), "training model %s", m->name);
		pgstat_report_activity(STATE_RUNNING, activity);

		/* too few labels is a state, not a failure: train in a subtransaction */
		trained = run_in_subtransaction(train_named_model, m->name,
										ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE);

		values[0] = CStringGetTextDatum(m->name);
		{
			Oid			types[2] = {TEXTOID, INT8OID};
			Datum		vals[2];

			vals[0] = values[0];
			vals[1] = Int64GetDatum(logged);
			ret = SPI_execute_with_args(trained ?
										"UPDATE hitl.models SET processed_labels = $2 WHERE name = $1" :
										"UPDATE hitl.models SET processed_labels = $2,"
										" status = CASE WHEN current_version IS NULL"
										" THEN 'waiting_for_labels' ELSE status END,"
										" failures = 0, retry_at = NULL WHERE name = $1",
										2, types, vals, NULL, false, 0);
			if (ret != SPI_OK_UPDATE)
				elog(ERROR, "hitl: recording the label log position failed: %s",
					 SPI_result_code_string(ret));
		}
		if (!trained && version == 0)
		{
			SetUserIdAndSecContext(save_userid, save_sec_context);
			end_work();
			return;
		}
		rescore = rescore || trained;
	}
	SetUserIdAndSecContext(save_userid, save_sec_context);
	end_work();

	/* 2. rescore, a batch per transaction: when woken, or the version moved */
	if (!rescore && scored == version)
		return;
	snprintf(activity, sizeof(activity), "scoring model %s", m->name);
	pgstat_report_activity(STATE_RUNNING, activity);
	begin_work();
	SetUserIdAndSecContext(m->owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	(void) score_model(m->name, worker_cxt, commit_between_batches, NULL);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	end_work();
}

/*
 * Record a model's failure; log it when it is not the error logged last.
 * Returns the back-off before its retry, in milliseconds.
 */
static long
record_failure(WorkerModel *m, ErrorData *edata)
{
	long		backoff_ms = 1000;
	Oid			argtypes[3] = {TEXTOID, TEXTOID, INT4OID};
	Datum		values[3];
	bool		isnull;
	bool		repeated;
	int			failures;
	int			ret;

	begin_work();
	values[0] = CStringGetTextDatum(m->name);
	values[1] = CStringGetTextDatum(edata->message ? edata->message : "unknown error");
	values[2] = Int32GetDatum(MAX_RETRY_DELAY_S);
	ret = SPI_execute_with_args(
								"WITH old AS (SELECT last_error FROM hitl.models WHERE name = $1)"
								" UPDATE hitl.models m SET status = 'failed', last_error = $2,"
								" failed_at = now(), failures = m.failures + 1,"
								" retry_at = now() + make_interval(secs => least(power(2, m.failures + 1), $3))"
								" FROM old WHERE m.name = $1"
								" RETURNING old.last_error IS NOT DISTINCT FROM $2, m.failures",
								3, argtypes, values, NULL, false, 0);
	if (ret != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "hitl: recording a failure failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 1)
	{
		repeated = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		failures = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		backoff_ms = 1000L * Min(1L << Min(failures, 20), MAX_RETRY_DELAY_S);
		if (!repeated)
			ereport(LOG,
					(errmsg("hitl: model \"%s\" failed: %s", m->name, edata->message),
					 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
					 errhint("It is retried with a back-off (failure %d); see hitl.models.last_error.",
							 failures)));
	}
	end_work();
	return backoff_ms;
}

/*
 * Work on every model of the database: retrain those whose labels changed,
 * rescore those whose table changed (all of them with rescore_all).
 * Returns how soon (ms) a model's retry is due, or -1.
 */
static long
work_on_database(bool rescore_all, const Oid *changed, int nchanged)
{
	List	   *volatile models;
	ListCell   *lc;
	volatile long next_retry = -1;
	bool		installed;

	MemoryContextReset(worker_cxt);
	models = load_models(&installed);
	if (!installed)
	{
		/* hitl was dropped from this database: leave until it is back */
		SpinLockAcquire(&hitl_shared->mutex);
		my_slot->absent = true;
		SpinLockRelease(&hitl_shared->mutex);
		proc_exit(0);
	}

	foreach(lc, models)
	{
		WorkerModel *m = lfirst(lc);

		CHECK_FOR_INTERRUPTS();
		if (strcmp(m->status, "broken") == 0)
			continue;
		if (m->retry_later)
		{
			if (next_retry < 0 || m->retry_in_ms < next_retry)
				next_retry = Max(m->retry_in_ms, 1);
			continue;
		}

		PG_TRY();
		{
			bool		rescore = rescore_all;
			int			i;

			for (i = 0; i < nchanged && !rescore; i++)
				rescore = changed[i] == m->source;
			work_on_model(m, rescore);
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(worker_cxt);
			edata = CopyErrorData();
			FlushErrorState();
			AbortOutOfAnyTransaction();
			MemoryContextSwitchTo(worker_cxt);
			SetUserIdAndSecContext(worker_userid, worker_sec_context);

			/* a cancel (pg_cancel_backend) is not the model's failure */
			if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
				ereport(LOG,
						(errmsg("hitl: work on model \"%s\" was canceled", m->name)));
			else
			{
				long		backoff = record_failure(m, edata);

				if (next_retry < 0 || backoff < next_retry)
					next_retry = backoff;
			}
			FreeErrorData(edata);
			hitl_broadcast_progress();
		}
		PG_END_TRY();
	}
	pgstat_report_activity(STATE_IDLE, NULL);
	return next_retry;
}

/*
 * Wait until no wake has come for hitl.retrain_delay, so a burst of label
 * commits makes one retraining; but no longer than two delays in all, so
 * that a steady stream of labels still retrains at that pace.
 */
static void
let_burst_settle(void)
{
	int			rounds;

	for (rounds = 0; rounds < 2; rounds++)
	{
		bool		more;

		(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 hitl_retrain_delay, PG_WAIT_EXTENSION);
		CHECK_FOR_INTERRUPTS();
		SpinLockAcquire(&hitl_shared->mutex);
		more = my_slot->work;
		my_slot->work = false;
		SpinLockRelease(&hitl_shared->mutex);
		if (!more)
			return;
	}
}

/*
 * Worker entry point: main_arg is the database's OID.
 */
void
hitl_worker_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	volatile bool first = true;
	volatile long next_retry = -1;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	pqsignal(SIGINT, StatementCancelHandler);
	BackgroundWorkerUnblockSignals();

	SpinLockAcquire(&hitl_shared->mutex);
	my_slot = hitl_slot_for(dboid, true);
	if (my_slot == NULL || my_slot->pid != 0 || my_slot->dropping)
	{
		SpinLockRelease(&hitl_shared->mutex);
		my_slot = NULL;
		proc_exit(0);
	}
	my_slot->pid = MyProcPid;
	my_slot->latch = MyLatch;
	SpinLockRelease(&hitl_shared->mutex);
	before_shmem_exit(worker_detach, (Datum) 0);

	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("hitl worker");
	GetUserIdAndSecContext(&worker_userid, &worker_sec_context);
	worker_cxt = AllocSetContextCreate(TopMemoryContext, "hitl worker",
									   ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		bool		work;
		int			rc;
		long		timeout;

		if (ConfigReloadPending)
		{
			bool		was_enabled = hitl_enabled;

			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			/* nobody woke a disabled worker: once enabled, look at everything */
			if (hitl_enabled && !was_enabled)
				first = true;
		}

		SpinLockAcquire(&hitl_shared->mutex);
		work = my_slot->work;
		my_slot->work = false;
		SpinLockRelease(&hitl_shared->mutex);

		PG_TRY();
		{
			/* a cancel arriving while idle is taken here, and ignored below */
			CHECK_FOR_INTERRUPTS();
			if (hitl_enabled)
			{
				Oid			changed[HITL_MAX_DIRTY_TABLES];
				int			nchanged;
				bool		all;

				if (work && !first && hitl_retrain_delay > 0)
					let_burst_settle();

				/* the tables whose rows changed since the last look */
				SpinLockAcquire(&hitl_shared->mutex);
				nchanged = my_slot->ndirty;
				memcpy(changed, my_slot->dirty, sizeof(Oid) * nchanged);
				all = my_slot->dirty_all;
				my_slot->ndirty = 0;
				my_slot->dirty_all = false;
				SpinLockRelease(&hitl_shared->mutex);

				/*
				 * Retrain the models whose labels changed; rescore those
				 * whose table changed, and all of them at start, to finish
				 * what a crash interrupted.
				 */
				next_retry = work_on_database(first || all, changed, nchanged);
			}
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			/*
			 * Not a model's failure (those are caught per model): a cancel,
			 * or hitl's own tables could not be read.  Log it and go on.
			 */
			MemoryContextSwitchTo(worker_cxt);
			edata = CopyErrorData();
			FlushErrorState();
			AbortOutOfAnyTransaction();
			SetUserIdAndSecContext(worker_userid, worker_sec_context);
			if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
				ereport(LOG, (errmsg("hitl: worker was canceled while idle")));
			else
				ereport(LOG,
						(errmsg("hitl: worker could not read its database's models: %s",
								edata->message),
						 errhint("It tries again after hitl.naptime.")));
			FreeErrorData(edata);
			next_retry = -1;
		}
		PG_END_TRY();
		first = false;

		timeout = hitl_naptime * 1000L;
		if (next_retry >= 0 && next_retry < timeout)
			timeout = next_retry;
		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		(void) rc;
	}
}
