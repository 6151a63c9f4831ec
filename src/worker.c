/*
 * worker.c
 *		The database worker: retrains and rescores the models of one
 *		database when their labels or rows change, then leaves.
 *
 * The launcher starts it when its database has work (see launcher.c).  It
 * waits hitl.retrain_delay for the burst of label commits to end, and then,
 * model by model:
 *
 *	- retrains when hitl.label_log has more entries for the model than its
 *	  processed_labels (warm-started: see train.c), and records how many it
 *	  saw.  A count, not the largest id: ids are given out at insert, so a
 *	  transaction that took a smaller id can commit after a larger one;
 *	  entries only accumulate, so a count that did not grow means no entry
 *	  came;
 *	- rescores the table, committing after every batch (see score.c).
 *
 * Woken while it runs, it does the same again.  With nothing to do for
 * hitl.naptime it exits, leaving in its slot when a model's retry is due;
 * and when another database waits for a worker, it exits after its round
 * (leaving what is still to do in its slot), so that databases take turns.
 *
 * Each model's work runs as the model's owner the way core runs maintenance
 * for a table's owner (security.h): restricted, in a GUC nest level rolled
 * back when the work ends (before every commit), with a safe search_path,
 * so that nothing the owner's code sets outlives it.  The worker's own
 * queries on hitl's tables run as their owner, with the same safe
 * search_path.
 *
 * The worker never waits long on a lock: lock waits end after
 * WORKER_LOCK_TIMEOUT_MS, and a model whose lock was not available is
 * tried again soon, without it counting as a failure.  Commands that need
 * strong locks on a model's table make the worker drop that work at once
 * and stay away until their transaction ends (hitl_give_way); it logs
 * that it gave way and comes back soon.
 *
 * A failure is caught, written to hitl.models (status, last_error,
 * failed_at, failures, retry_at), logged once per distinct error, and
 * retried with a doubling back-off; the other models go on.  A model
 * marked 'broken' (its table or columns changed, see the event trigger) is
 * left alone.  The worker never runs during recovery and leaves quietly
 * when hitl is dropped from its database, when hitl.enabled is turned off,
 * or when the database is dropped.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
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
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "compat.h"
#include "hitl.h"
#include "score.h"
#include "security.h"
#include "settings.h"
#include "shared.h"
#include "subxact.h"
#include "train.h"

PGDLLEXPORT void hitl_worker_main(Datum arg);

/* the longest back-off after repeated failures of a model, in seconds */
#define MAX_RETRY_DELAY_S 3600

/* the longest the worker waits for a lock (lock_timeout) */
#define WORKER_LOCK_TIMEOUT "500ms"

/* a model left alone (a lock was taken, a command ran) is tried again after */
#define GIVE_WAY_RETRY_MS 1000

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
static char *my_dbname = NULL;

/* the worker's own role, restored after each model's work (also on error) */
static Oid	worker_userid;
static int	worker_sec_context;

/* the scope of a scoring, left and entered again at each commit */
static HitlRoleScope score_scope;

/* the worker exits because it has nothing to do (or nowhere to work) */
static bool leaving_idle = false;

/*
 * The time budget of one model's work (hitl.work_timeout): past it the work
 * is canceled (again every second) and counts as the model's failure.
 */
static TimeoutId work_timeout_id;
static volatile sig_atomic_t work_timed_out = false;

/* the worker is in a round of work on its models */
static volatile bool in_round = false;

static void worker_detach(int code, Datum arg);
static void begin_work(void);
static void end_work(void);
static void commit_between_batches(void *arg);
static void check_spi(int ret, int expected, const char *what);
static List *load_models(bool *installed);
static void train_named_model(void *name);
static void work_on_model(WorkerModel *m, bool rescore);
static void work_timeout_handler(void);
static void start_work_budget(void);
static void end_work_budget(void);
static long record_failure(WorkerModel *m, ErrorData *edata);
static bool set_current_model(WorkerModel *m);
static bool take_give_way(void);
static long work_on_database(bool rescore_all, const Oid *changed, int nchanged);
static void let_burst_settle(void);
static void leave_if_idle(TimestampTz last_work, TimestampTz retry_at);
static const char *my_database(void);

/*
 * At exit: free the slot for the next worker.  A worker that did not leave
 * because it was idle (terminated, stopped for DROP DATABASE, failed) is
 * replaced: when stopped in the middle of a round, which may have left a
 * scoring half done, the next one looks at every model; when stopped
 * between rounds, at the models whose labels moved.
 */
static void
worker_detach(int code, Datum arg)
{
	if (my_slot == NULL)
		return;
	SpinLockAcquire(&hitl_shared->mutex);
	if (my_slot->pid == MyProcPid)
	{
		my_slot->pid = 0;
		my_slot->latch = NULL;
		my_slot->current_relid = InvalidOid;
		my_slot->give_way = false;
	}
	if (!leaving_idle && in_round)
		my_slot->look_all = true;
	else if (!leaving_idle)
		my_slot->work = true;
	SpinLockRelease(&hitl_shared->mutex);
	hitl_broadcast_progress();
	hitl_wake_launcher();
}

/* The database's name, for messages (read once, at start) */
static const char *
my_database(void)
{
	return my_dbname != NULL ? my_dbname : "?";
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
 * score.c's commit between batches: leave the owner's scope (taking back
 * whatever the batch's triggers set), commit, and enter a new scope in the
 * next transaction.
 */
static void
commit_between_batches(void *arg)
{
	WorkerModel *m = (WorkerModel *) arg;

	hitl_role_exit(&score_scope);
	end_work();
	CHECK_FOR_INTERRUPTS();
	begin_work();
	hitl_role_enter(&score_scope, m->owner);
}

static void
check_spi(int ret, int expected, const char *what)
{
	if (ret != expected)
		elog(ERROR, "hitl: %s failed: %s", what, SPI_result_code_string(ret));
}

/*
 * The models of the database, read as the owner of hitl's tables.
 * *installed is false when hitl is no longer installed here.
 */
static List *
load_models(bool *installed)
{
	List	   *models = NIL;
	HitlRoleScope scope;
	uint64		i;

	begin_work();
	*installed = OidIsValid(get_extension_oid("hitl", true));
	if (!*installed)
	{
		end_work();
		return NIL;
	}
	hitl_catalog_enter(&scope);
	/*
	 * The owner's OID is 0 when the role is gone.  A disabled model
	 * (hitl.alter_model) is left alone; before 0.2.0 there is no "enabled"
	 * column.
	 */
	check_spi(SPI_execute("SELECT name, " CATALOG_OWNER_OID_SQL ", status,"
						  " coalesce(retry_at OPERATOR(pg_catalog.>) pg_catalog.now(), false),"
						  " greatest(0, pg_catalog.date_part('epoch', retry_at OPERATOR(pg_catalog.-) pg_catalog.now())"
						  " OPERATOR(pg_catalog.*) 1000)::pg_catalog.int8,"
						  " source::pg_catalog.oid"
						  " FROM hitl.models m"
						  " WHERE coalesce((pg_catalog.to_jsonb(m) OPERATOR(pg_catalog.->>) 'enabled')::pg_catalog.bool, true)"
						  " ORDER BY name", true, 0),
			  SPI_OK_SELECT, "reading the models");
	hitl_role_exit(&scope);
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
		m->retry_in_ms = (long) DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
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
 * Retrain a model when its label log moved, then rescore it.  Training and
 * scoring run as the model's owner; the reads and writes of hitl.models
 * around them as the owner of hitl's tables.
 */
static void
work_on_model(WorkerModel *m, bool rescore)
{
	HitlRoleScope scope;
	Oid			argtypes[2] = {TEXTOID, INT8OID};
	Datum		values[2];
	bool		isnull;
	int64		logged;
	int64		processed;
	int			version;
	int			scored;
	int			ret;
	char		activity[NAMEDATALEN + 32];

	/* 1. retrain when labels changed */
	begin_work();
	values[0] = CStringGetTextDatum(m->name);
	hitl_catalog_enter(&scope);
	ret = SPI_execute_with_args(
								"SELECT (SELECT pg_catalog.count(*) FROM hitl.label_log l"
								" WHERE l.model OPERATOR(pg_catalog.=) $1),"
								" processed_labels, coalesce(current_version, 0),"
								" coalesce(scored_version, 0)"
								" FROM hitl.models WHERE name OPERATOR(pg_catalog.=) $1",
								1, argtypes, values, NULL, true, 0);
	hitl_role_exit(&scope);
	check_spi(ret, SPI_OK_SELECT, "reading the label log");
	if (SPI_processed == 0)
	{
		/* dropped meanwhile */
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
		hitl_role_enter(&scope, m->owner);
		trained = run_in_subtransaction(train_named_model, m->name,
										ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE);
		hitl_role_exit(&scope);

		values[0] = CStringGetTextDatum(m->name);
		values[1] = Int64GetDatum(logged);
		hitl_catalog_enter(&scope);
		ret = SPI_execute_with_args(trained ?
									"UPDATE hitl.models SET processed_labels = $2"
									" WHERE name OPERATOR(pg_catalog.=) $1" :
									"UPDATE hitl.models SET processed_labels = $2,"
									" status = CASE WHEN current_version IS NULL"
									" THEN 'waiting_for_labels' ELSE status END,"
									" failures = 0, retry_at = NULL"
									" WHERE name OPERATOR(pg_catalog.=) $1",
									2, argtypes, values, NULL, false, 0);
		hitl_role_exit(&scope);
		check_spi(ret, SPI_OK_UPDATE, "recording the label log position");
		if (!trained && version == 0)
		{
			end_work();
			return;
		}
		rescore = rescore || trained;
	}
	end_work();

	/* 2. rescore, a batch per transaction: when woken, or the version moved */
	if (!rescore && scored == version)
		return;
	snprintf(activity, sizeof(activity), "scoring model %s", m->name);
	pgstat_report_activity(STATE_RUNNING, activity);
	begin_work();
	hitl_role_enter(&score_scope, m->owner);
	(void) score_model(m->name, worker_cxt, commit_between_batches, m);
	hitl_role_exit(&score_scope);
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
	HitlRoleScope scope;
	bool		isnull;
	bool		repeated;
	int			failures;
	int			ret;

	begin_work();
	values[0] = CStringGetTextDatum(m->name);
	values[1] = CStringGetTextDatum(edata->message ? edata->message : "unknown error");
	values[2] = Int32GetDatum(MAX_RETRY_DELAY_S);
	hitl_catalog_enter(&scope);
	ret = SPI_execute_with_args(
								"WITH old AS (SELECT last_error FROM hitl.models"
								" WHERE name OPERATOR(pg_catalog.=) $1)"
								" UPDATE hitl.models m SET status = 'failed', last_error = $2,"
								" failed_at = pg_catalog.now(),"
								" failures = m.failures OPERATOR(pg_catalog.+) 1,"
								" retry_at = pg_catalog.now() OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs =>"
								" least(pg_catalog.power(2, m.failures OPERATOR(pg_catalog.+) 1), $3))"
								" FROM old WHERE m.name OPERATOR(pg_catalog.=) $1"
								" RETURNING old.last_error IS NOT DISTINCT FROM $2, m.failures",
								3, argtypes, values, NULL, false, 0);
	hitl_role_exit(&scope);
	check_spi(ret, SPI_OK_UPDATE_RETURNING, "recording a failure");
	if (SPI_processed == 1)
	{
		repeated = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		failures = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		backoff_ms = 1000L * Min(1L << Min(failures, 20), MAX_RETRY_DELAY_S);
		if (!repeated)
			ereport(LOG,
					(errmsg("hitl: model \"%s\" of database \"%s\" failed: %s",
							m->name, my_database(), edata->message),
					 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
					 errhint("It is retried with a back-off (failure %d); see hitl.models.last_error.",
							 failures)));
	}
	end_work();
	return backoff_ms;
}

/*
 * Say in the slot which table the worker works on now (InvalidOid: none).
 * False when a command asked it to leave that table alone.
 */
static bool
set_current_model(WorkerModel *m)
{
	bool		ok = true;

	SpinLockAcquire(&hitl_shared->mutex);
	if (m != NULL && hitl_slot_gives_way(my_slot, m->source))
		ok = false;
	my_slot->current_relid = (m != NULL && ok) ? m->source : InvalidOid;
	SpinLockRelease(&hitl_shared->mutex);
	return ok;
}

/* Was the cancel the worker got a request to give way?  Clears it. */
static bool
take_give_way(void)
{
	bool		give_way;

	SpinLockAcquire(&hitl_shared->mutex);
	give_way = my_slot->give_way;
	my_slot->give_way = false;
	SpinLockRelease(&hitl_shared->mutex);
	return give_way;
}

/*
 * Timeout handler: a model's work went past hitl.work_timeout.  Cancel it as
 * a statement timeout does; the handler fires again every second.
 */
static void
work_timeout_handler(void)
{
	work_timed_out = true;
	kill(MyProcPid, SIGINT);
}

/* Start counting a model's work against hitl.work_timeout */
static void
start_work_budget(void)
{
	work_timed_out = false;
	if (hitl_work_timeout > 0)
		enable_timeout_every(work_timeout_id,
							 TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														 hitl_work_timeout),
							 1000);
}

static void
end_work_budget(void)
{
	disable_timeout(work_timeout_id, false);
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
	bool		hold_off;

	/* DROP EXTENSION hitl under way: not even hitl.models is to be read */
	SpinLockAcquire(&hitl_shared->mutex);
	hold_off = hitl_slot_gives_way(my_slot, InvalidOid);
	SpinLockRelease(&hitl_shared->mutex);
	if (hold_off)
		return GIVE_WAY_RETRY_MS;

	MemoryContextReset(worker_cxt);
	models = load_models(&installed);
	if (!installed)
	{
		/* hitl was dropped from this database: leave until it is back */
		SpinLockAcquire(&hitl_shared->mutex);
		my_slot->absent = true;
		SpinLockRelease(&hitl_shared->mutex);
		leaving_idle = true;
		proc_exit(0);
	}

	foreach(lc, models)
	{
		WorkerModel *m = lfirst(lc);

		CHECK_FOR_INTERRUPTS();
		if (strcmp(m->status, "broken") == 0 || !OidIsValid(m->owner))
			continue;
		if (m->retry_later)
		{
			if (next_retry < 0 || m->retry_in_ms < next_retry)
				next_retry = Max(m->retry_in_ms, 1);
			continue;
		}
		if (!set_current_model(m))
		{
			/* a command on its table is under way: come back soon */
			if (next_retry < 0 || next_retry > GIVE_WAY_RETRY_MS)
				next_retry = GIVE_WAY_RETRY_MS;
			continue;
		}

		PG_TRY();
		{
			bool		rescore = rescore_all;
			int			i;

			for (i = 0; i < nchanged && !rescore; i++)
				rescore = changed[i] == m->source;
			start_work_budget();
			work_on_model(m, rescore);
			end_work_budget();
			/* a budget that ran out just as the work ended cancels nothing */
			if (work_timed_out)
				QueryCancelPending = false;
			set_current_model(NULL);
		}
		PG_CATCH();
		{
			ErrorData  *edata;
			bool		gave_way;
			bool		timed_out;

			end_work_budget();
			timed_out = work_timed_out;
			MemoryContextSwitchTo(worker_cxt);
			edata = CopyErrorData();
			FlushErrorState();
			AbortOutOfAnyTransaction();
			MemoryContextSwitchTo(worker_cxt);
			SetUserIdAndSecContext(worker_userid, worker_sec_context);
			set_current_model(NULL);
			gave_way = take_give_way();

			if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED && timed_out && !gave_way)
			{
				/* over its time budget: a failure, retried with a back-off */
				long		backoff;

				edata->message = psprintf("its work took longer than hitl.work_timeout (%d ms)",
										  hitl_work_timeout);
				edata->detail = NULL;
				backoff = record_failure(m, edata);
				if (next_retry < 0 || backoff < next_retry)
					next_retry = backoff;
			}
			else if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED && gave_way)
			{
				/* a command on the model's table asked for it */
				ereport(LOG,
						(errmsg("hitl: work on model \"%s\" of database \"%s\" gave way to a command on its table",
								m->name, my_database()),
						 errdetail("It is done again once the command's transaction ends.")));
				if (next_retry < 0 || next_retry > GIVE_WAY_RETRY_MS)
					next_retry = GIVE_WAY_RETRY_MS;
			}
			else if (edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
			{
				/* someone holds a lock it needs: not a failure, try later */
				ereport(DEBUG1,
						(errmsg("hitl: work on model \"%s\" of database \"%s\" gave way to a lock: %s",
								m->name, my_database(), edata->message)));
				if (next_retry < 0 || next_retry > GIVE_WAY_RETRY_MS)
					next_retry = GIVE_WAY_RETRY_MS;
			}
			else if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			{
				/* a cancel (pg_cancel_backend) is not the model's failure */
				ereport(LOG,
						(errmsg("hitl: work on model \"%s\" was canceled", m->name),
						 errdetail("It is done again in a moment.")));
				if (next_retry < 0 || next_retry > GIVE_WAY_RETRY_MS)
					next_retry = GIVE_WAY_RETRY_MS;
			}
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
 * Exit after hitl.naptime without work, or, after a round or while idle,
 * at once when another database waits for a worker: the work still to do
 * stays in the slot, and the launcher starts a worker for it in turn.  The
 * slot also keeps when a retry is due.  Decided under the mutex: a wake
 * that comes first is not lost, one that comes after goes to the launcher.
 */
static void
leave_if_idle(TimestampTz last_work, TimestampTz retry_at)
{
	bool		leave;
	bool		others_wait;

	SpinLockAcquire(&hitl_shared->mutex);
	others_wait = hitl_shared->nwaiting > 0;
	leave = others_wait ||
		(!my_slot->work && !my_slot->look_all && !my_slot->dirty_all &&
		 my_slot->ndirty == 0 &&
		 TimestampDifferenceExceeds(last_work, GetCurrentTimestamp(),
									hitl_naptime * 1000));
	if (leave)
	{
		my_slot->retry_at = retry_at;
		my_slot->pid = 0;
		my_slot->latch = NULL;
		my_slot->current_relid = InvalidOid;
		my_slot->give_way = false;
	}
	SpinLockRelease(&hitl_shared->mutex);
	if (!leave)
		return;
	leaving_idle = true;
	ereport(DEBUG1,
			(errmsg("hitl worker for database \"%s\" exits: %s", my_database(),
					others_wait ? "other databases wait for a worker" :
					"nothing to do")));
	proc_exit(0);
}

/*
 * Worker entry point: main_arg is the database's OID.
 */
void
hitl_worker_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	volatile TimestampTz last_work;
	volatile TimestampTz retry_at = 0;

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
	/* a retry that is due is what this worker was started for */
	retry_at = my_slot->retry_at;
	my_slot->retry_at = 0;
	my_slot->give_way = false;
	SpinLockRelease(&hitl_shared->mutex);
	before_shmem_exit(worker_detach, (Datum) 0);

	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("hitl worker");
	GetUserIdAndSecContext(&worker_userid, &worker_sec_context);
	work_timeout_id = RegisterTimeout(USER_TIMEOUT, work_timeout_handler);
	worker_cxt = AllocSetContextCreate(TopMemoryContext, "hitl worker",
									   ALLOCSET_DEFAULT_SIZES);
	StartTransactionCommand();
	my_dbname = MemoryContextStrdup(TopMemoryContext,
									get_database_name(MyDatabaseId));
	CommitTransactionCommand();
	/* no lock wait of the worker is long (a session setting of its own) */
	SetConfigOption("lock_timeout", WORKER_LOCK_TIMEOUT, PGC_SUSET, PGC_S_OVERRIDE);
	last_work = GetCurrentTimestamp();

	for (;;)
	{
		bool		work;
		bool		look_all;
		bool		dirty;
		volatile bool busy;
		long		timeout;
		volatile long next_retry = -1;
		TimestampTz now;

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		/* disabled: leave; the launcher has every model looked at when enabled */
		if (!hitl_enabled)
		{
			leaving_idle = true;
			proc_exit(0);
		}

		SpinLockAcquire(&hitl_shared->mutex);
		work = my_slot->work;
		look_all = my_slot->look_all;
		dirty = my_slot->dirty_all || my_slot->ndirty > 0;
		my_slot->work = false;
		my_slot->look_all = false;
		SpinLockRelease(&hitl_shared->mutex);
		now = GetCurrentTimestamp();

		busy = work || look_all || dirty || (retry_at != 0 && retry_at <= now);
		PG_TRY();
		{
			/* a cancel arriving while idle is taken here, and ignored below */
			CHECK_FOR_INTERRUPTS();
			if (busy)
			{
				Oid			changed[HITL_MAX_DIRTY_TABLES];
				int			nchanged;
				bool		all;

				if (work && !look_all && hitl_retrain_delay > 0)
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
				 * whose table changed, and all of them at a first look, to
				 * finish what a restart interrupted.
				 */
				in_round = true;
				next_retry = work_on_database(look_all || all, changed, nchanged);
				in_round = false;
			}
		}
		PG_CATCH();
		{
			ErrorData  *edata;
			bool		gave_way;

			/*
			 * Not a model's failure (those are caught per model): a
			 * cancel, or hitl's own tables could not be read.  Log it
			 * and go on.
			 */
			MemoryContextSwitchTo(worker_cxt);
			edata = CopyErrorData();
			FlushErrorState();
			AbortOutOfAnyTransaction();
			SetUserIdAndSecContext(worker_userid, worker_sec_context);
			in_round = false;
			set_current_model(NULL);
			gave_way = take_give_way();
			if (edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
				(edata->sqlerrcode == ERRCODE_QUERY_CANCELED && gave_way))
				next_retry = GIVE_WAY_RETRY_MS;
			else if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
				ereport(LOG, (errmsg("hitl: worker was canceled while idle")));
			else
			{
				ereport(LOG,
						(errmsg("hitl: worker could not read the models of database \"%s\": %s",
								my_database(), edata->message),
						 errhint("It tries again after hitl.naptime.")));
				next_retry = hitl_naptime * 1000L;
			}
			FreeErrorData(edata);
		}
		PG_END_TRY();
		if (busy)
		{
			last_work = GetCurrentTimestamp();
			retry_at = next_retry >= 0 ?
				TimestampTzPlusMilliseconds(last_work, next_retry) : 0;
		}
		leave_if_idle(last_work, retry_at);

		/* sleep until woken, a retry is due, or it is time to leave */
		now = GetCurrentTimestamp();
		timeout = hitl_naptime * 1000L -
			TimestampDifferenceMilliseconds(last_work, now);
		if (retry_at != 0)
			timeout = Min(timeout, TimestampDifferenceMilliseconds(now, retry_at));
		timeout = Max(timeout, 1);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
