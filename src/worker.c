/*
 * worker.c
 *		The database worker: retrains and rescores the models of one
 *		database when their labels or rows change, then leaves.
 *
 * The launcher starts it when its database has work (see launcher.c).
 * Woken after a quiet spell (no round for hitl.retrain_delay), it starts at
 * once, so that a lone label reaches the queue without waiting; woken within
 * hitl.retrain_delay of its last round, while labels keep coming, it waits
 * for the burst of label commits to end.  Then, model by model:
 *
 *	- refits the consensus of a model with several annotators per row when
 *	  answers came (consensus_refresh.c);
 *	- retrains when hitl.label_log has more entries for the model than its
 *	  processed_labels (warm-started: see train.c): a count, not the largest
 *	  id, as ids are given out at insert and may commit out of order;
 *	- rescores the table, committing after every batch (see score.c).
 *
 * Woken while it runs, it does the same again.  With nothing to do for
 * hitl.naptime it exits, leaving in its slot when a model's retry is due;
 * when another database waits for a worker, it exits after its round
 * (leaving what is still to do in its slot), so that databases take turns.
 *
 * Each model's work runs as the model's owner the way core runs maintenance
 * for a table's owner (security.h): restricted, in a GUC nest level rolled
 * back when the work ends (before every commit), with a safe search_path, so
 * that nothing the owner's code sets outlives it.  The worker's own queries
 * on hitl's tables run as their owner, with the same safe search_path.
 *
 * The worker never waits long on a lock: lock waits end after
 * WORKER_LOCK_TIMEOUT_MS, and a model whose lock was not available is tried
 * again soon, without it counting as a failure.  Commands that need strong
 * locks on a model's table make the worker drop that work at once and stay
 * away until their transaction ends (hitl_give_way); it logs that it gave
 * way and comes back soon.
 *
 * A failure is caught, written to hitl.models (status, last_error, failed_at,
 * failures, retry_at), logged once per distinct error, and retried with a
 * doubling back-off (catalog_record_failure); the other models go on.  A
 * model marked 'broken' (its table or columns changed: the event trigger) is
 * left alone.  The worker never runs during recovery, and leaves quietly when
 * hitl is dropped from its database, hitl.enabled is off, or the database is
 * dropped.
 *
 * The worker runs no SQL on hitl's tables itself: it lists the models,
 * reads their progress and records what it did through the catalog layer
 * (catalog.h), and reads and changes its slot through shared.h.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
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
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "consensus_refresh.h"
#include "hitl.h"
#include "autolabel.h"
#include "score.h"
#include "security.h"
#include "settings.h"
#include "shared.h"
#include "spi_check.h"
#include "subxact.h"
#include "train.h"
#include "worker_version.h"

PGDLLEXPORT void hitl_worker_main(Datum arg);

/* the longest the worker waits for a lock (lock_timeout) */
#define WORKER_LOCK_TIMEOUT "500ms"

/* a model left alone (a lock was taken, a command ran) is tried again after */
#define GIVE_WAY_RETRY_MS 1000

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

/* when the last round ended (0: none yet), for hitl.retrain_delay */
static TimestampTz last_round_end = 0;

static void worker_detach(int code, Datum arg);
static const char *my_database(void);
static void begin_work(void);
static void end_work(void);
static void commit_between_batches(void *arg);
static List *list_models(void);
static void leave_if_hitl_absent(void);
static void train_named_model(void *name);
static bool retrain_if_labels_moved(HitlModelEntry *m, bool *rescore);
static bool work_on_model(HitlModelEntry *m, bool rescore);
static long record_failure(HitlModelEntry *m, ErrorData *edata);
static void work_timeout_handler(void);
static void start_work_budget(void);
static void end_work_budget(void);
static void soonest(volatile long *next_retry, long ms);
static void recover_from_error(ErrorData **edata, bool *gave_way);
static void model_failed(HitlModelEntry *m, volatile long *next_retry);
static void work_on_one(HitlModelEntry *m, bool rescore_all, const Oid *changed,
						int nchanged, volatile long *next_retry);
static long work_on_database(bool rescore_all, const Oid *changed, int nchanged);
static void let_burst_settle(void);
static void leave_if_idle(TimestampTz last_work, TimestampTz retry_at);
static void worker_start(Oid dboid, TimestampTz *retry_at);
static long run_round(bool work, bool look_all);
static long round_failed(void);
static void sleep_until_due(TimestampTz last_work, TimestampTz retry_at);

/*
 * At exit: free the slot for the next worker, which replaces this one when
 * it did not leave idle (see hitl_slot_detach).
 */
static void
worker_detach(int code, Datum arg)
{
	if (my_slot != NULL)
		hitl_slot_detach(my_slot, leaving_idle, in_round);
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
	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
}

/* End a unit of work: commit it, and tell the waiters */
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
	HitlModelEntry *m = (HitlModelEntry *) arg;

	hitl_role_exit(&score_scope);
	end_work();
	CHECK_FOR_INTERRUPTS();
	begin_work();
	hitl_role_enter(&score_scope, m->owner);
}

/*
 * The models of the database (see catalog_list_models).  When hitl is no
 * longer installed here, the worker marks its slot and leaves until it is
 * back.
 */
static List *
list_models(void)
{
	List	   *models;

	begin_work();
	leave_if_hitl_absent();
	models = catalog_list_models(worker_cxt);
	end_work();
	return models;
}

/*
 * In a unit of work: when hitl is no longer installed in the database,
 * end the work, mark the slot and leave, quietly.
 */
static void
leave_if_hitl_absent(void)
{
	if (OidIsValid(get_extension_oid("hitl", true)))
		return;
	end_work();
	hitl_slot_mark_absent(my_slot);
	leaving_idle = true;
	proc_exit(0);
}

/* A training of the worker: the model, and the version it gave */
typedef struct WorkerTraining
{
	const char *name;
	int			version;
} WorkerTraining;

/*
 * train_model() for run_in_subtransaction: the worker scores a version
 * before it cross-validates it (see crossvalidate_when_idle) and computes
 * its stopping signal (worker_version.c)
 */
static void
train_named_model(void *arg)
{
	WorkerTraining *t = (WorkerTraining *) arg;

	t->version = train_model(t->name, true, TRAIN_CV_DEFER);
}

/* The deferred cross-validation's outcome, for run_in_subtransaction */
typedef struct DeferredCv
{
	const char *name;
	bool		rescore;		/* a new version, to be scored */
	bool		recorded;		/* the figures were put in place */
} DeferredCv;

/*
 * The deferred cross-validation; when it moves the calibration, the stored
 * confidences are rewritten in its transaction (a failure takes both back).
 */
static void
crossvalidate_named_model(void *arg)
{
	DeferredCv *cv = (DeferredCv *) arg;
	bool		recalibrated;

	cv->rescore = train_crossvalidate_current(cv->name, &cv->recorded, &recalibrated);
	if (recalibrated)
		(void) score_model(cv->name, CurrentMemoryContext, NULL, NULL);
}
/*
 * In the current unit of work: retrain a model when its label log has
 * entries its last training did not see (or it has no version), and record
 * how many that training saw.  *rescore is set when a new version came.
 * False when there is nothing more to do on the model (it was dropped, or
 * has too few labels for a first version).
 */
static bool
retrain_if_labels_moved(HitlModelEntry *m, bool *rescore)
{
	ModelProgress p;
	HitlRoleScope scope;
	char		activity[NAMEDATALEN + 32];
	bool		trained;
	WorkerTraining t = {m->name, 0};

	if (!catalog_read_progress(m->name, true, false, &p))
		return false;			/* dropped meanwhile */
	if (p.logged <= p.processed_labels && p.current_version != 0)
	{
		/* no new label: rescore when woken, or when the version moved */
		*rescore = *rescore || p.scored_version != p.current_version;
		return true;
	}

	snprintf(activity, sizeof(activity), "training model %s", m->name);
	pgstat_report_activity(STATE_RUNNING, activity);

	/* too few labels is a state, not a failure: train in a subtransaction */
	hitl_role_enter(&scope, m->owner);
	trained = run_in_subtransaction(train_named_model, &t,
									ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE);
	hitl_role_exit(&scope);
	catalog_record_labels_seen(m->name, p.logged, trained);
	if (trained)
		worker_log_new_version(m->name, my_database(), p.current_version, false);
	if (trained && t.version > p.current_version)
		worker_stop_signal_later(m->name, t.version, p.scored_version);
	if (!trained && p.current_version == 0)
		return false;
	*rescore = *rescore || trained || p.scored_version != p.current_version;
	return true;
}

/*
 * In the current unit of work: give the model's current version the
 * cross-validated figures its training left for later (metrics
 * "cv_pending"), unless a label came since (the next version will).  A
 * version whose data changed otherwise (a feature, rows, an option) is
 * trained again, cross-validating at once.  True when a new version came,
 * whose scores are still to be written (a calibration that moved was
 * rescored with the figures: crossvalidate_named_model).  *pending says
 * whether the current version is still waiting for its cross-validation,
 * *recorded whether its figures were put in place.
 */
static bool
crossvalidate_when_idle(HitlModelEntry *m, bool *pending, bool *recorded)
{
	ModelProgress p;
	HitlRoleScope scope;
	DeferredCv	cv = {m->name, false, false};
	char		activity[NAMEDATALEN + 32];

	*pending = *recorded = false;
	if (!catalog_read_progress(m->name, true, false, &p) || !p.cv_pending)
		return false;
	*pending = true;
	if (p.logged > p.processed_labels)
		return false;
	snprintf(activity, sizeof(activity), "cross-validating model %s", m->name);
	pgstat_report_activity(STATE_RUNNING, activity);
	hitl_role_enter(&scope, m->owner);
	if (!run_in_subtransaction(crossvalidate_named_model, &cv,
							   ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE))
		cv.rescore = cv.recorded = false;
	hitl_role_exit(&scope);
	/* recorded in place, or a new version trained (not pending either) */
	*pending = !cv.recorded && !cv.rescore;
	*recorded = cv.recorded;
	worker_log_new_version(m->name, my_database(), p.current_version, cv.recorded);
	return cv.rescore;
}

/* Rescore a model, a batch per transaction, as its owner */
static void
rescore_model(HitlModelEntry *m)
{
	char		activity[NAMEDATALEN + 32];

	snprintf(activity, sizeof(activity), "scoring model %s", m->name);
	pgstat_report_activity(STATE_RUNNING, activity);
	begin_work();
	hitl_role_enter(&score_scope, m->owner);
	(void) score_model(m->name, worker_cxt, commit_between_batches, m);
	hitl_role_exit(&score_scope);
	end_work();
}

/*
 * Retrain a model when its label log moved, then rescore it, so that the
 * review queue is fresh; only then compute the new version's stopping
 * signal and cross-validate it (and,
 * in the same transaction, rewrite the confidences when its calibration
 * moved), then auto-label.  Training and
 * scoring run as the model's owner; the reads and writes of hitl.models
 * around them as the owner of hitl's tables.  True for a model on a
 * distributed table, whose labels are looked for every citus_poll_interval.
 */
static bool
work_on_model(HitlModelEntry *m, bool rescore)
{
	bool		go_on;
	bool		again;
	bool		pending;
	bool		recorded;
	int			citus;

	/*
	 * 0. a distributed table's labels from the worker nodes (a mirror there:
	 * nothing to do); refit the consensus of several annotators when answers
	 * came
	 */
	begin_work();
	if ((citus = catalog_citus_worker_look(m->source, m->name)) >= 0)
		(void) consensus_refresh_if_moved(m->name);
	end_work();
	if (citus < 0)
		return false;
	/* 1. retrain when labels changed (those of the refit too) */
	begin_work();
	go_on = retrain_if_labels_moved(m, &rescore);
	end_work();
	if (!go_on)
		return citus > 0;

	/* 2. rescore, a batch per transaction: when woken, or the version moved */
	if (rescore)
		rescore_model(m);

	/* 2b. the stopping signal of the versions trained, now that they scored */
	if (worker_stop_signal_waits(m->name))
	{
		HitlRoleScope scope;

		begin_work();
		hitl_role_enter(&scope, m->owner);
		worker_stop_signal_now(m->name);
		hitl_role_exit(&scope);
		end_work();
	}

	/*
	 * 3. the current version's cross-validation, now that the queue is
	 * fresh (also when an earlier try was canceled or failed)
	 */
	begin_work();
	again = crossvalidate_when_idle(m, &pending, &recorded);
	end_work();
	if (again)
		rescore_model(m);

	/*
	 * 4. auto-label at the option auto_label_precision, as the owner: with
	 * the threshold of the version that scored, so not while its
	 * cross-validation is pending
	 */
	if ((!rescore && !again && !recorded) || pending)
		return citus > 0;
	begin_work();
	autolabel_for_worker(m->name, m->owner);
	end_work();
	return citus > 0;
}

/*
 * Record a model's failure; log it when it is not the error logged last.
 * Returns the back-off before its retry, in milliseconds.
 */
static long
record_failure(HitlModelEntry *m, ErrorData *edata)
{
	ModelFailure f;
	long		backoff_ms = 1000;

	begin_work();
	if (catalog_record_failure(m->name,
							   edata->message ? edata->message : "unknown error", &f))
	{
		backoff_ms = f.retry_in_ms;
		if (!f.repeated)
			ereport(LOG,
					(errmsg("hitl: model \"%s\" of database \"%s\" failed: %s",
							m->name, my_database(), edata->message),
					 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
					 errhint("It is retried with a back-off (failure %d); see hitl.models.last_error.",
							 f.failures)));
	}
	end_work();
	return backoff_ms;
}

/* Past hitl.work_timeout: cancel as a statement timeout does (every second) */
static void
work_timeout_handler(void)
{
	work_timed_out = true;
	kill(MyProcPid, SIGINT);
}

/* Start counting a model's work against hitl.work_timeout (end_: stop) */
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

/* Make *next_retry (-1: none) no later than ms from now */
static void
soonest(volatile long *next_retry, long ms)
{
	if (*next_retry < 0 || ms < *next_retry)
		*next_retry = ms;
}

/*
 * In a PG_CATCH: take the error (into worker_cxt), abort the transaction,
 * restore the worker's role, say it works on no model, and whether the
 * cancel it may have got was a request to give way.
 */
static void
recover_from_error(ErrorData **edata, bool *gave_way)
{
	MemoryContextSwitchTo(worker_cxt);
	*edata = CopyErrorData();
	FlushErrorState();
	AbortOutOfAnyTransaction();
	MemoryContextSwitchTo(worker_cxt);
	SetUserIdAndSecContext(worker_userid, worker_sec_context);
	hitl_slot_set_current(my_slot, InvalidOid);
	*gave_way = hitl_slot_take_give_way(my_slot);
}

/*
 * In a PG_CATCH of a model's work: going over the time budget, or any other
 * error, is the model's failure, retried with a back-off; a cancel (to give
 * way, or plain) or a lock not available is not: the work is done again soon.
 */
static void
model_failed(HitlModelEntry *m, volatile long *next_retry)
{
	ErrorData  *edata;
	bool		gave_way;
	bool		timed_out;

	end_work_budget();
	timed_out = work_timed_out;
	recover_from_error(&edata, &gave_way);

	if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED && timed_out && !gave_way)
	{
		/* over its time budget: a failure, retried with a back-off */
		edata->message = psprintf("its work took longer than hitl.work_timeout (%d ms)",
								  hitl_work_timeout);
		edata->detail = NULL;
		soonest(next_retry, record_failure(m, edata));
	}
	else if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED && gave_way)
	{
		/* a command on the model's table asked for it */
		ereport(LOG,
				(errmsg("hitl: work on model \"%s\" of database \"%s\" gave way to a command on its table",
						m->name, my_database()),
				 errdetail("It is done again once the command's transaction ends.")));
		soonest(next_retry, GIVE_WAY_RETRY_MS);
	}
	else if (edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
	{
		/* someone holds a lock it needs: not a failure, try later */
		ereport(DEBUG1,
				(errmsg("hitl: work on model \"%s\" of database \"%s\" gave way to a lock: %s",
						m->name, my_database(), edata->message)));
		soonest(next_retry, GIVE_WAY_RETRY_MS);
	}
	else if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
	{
		/* a cancel (pg_cancel_backend) is not the model's failure */
		ereport(LOG,
				(errmsg("hitl: work on model \"%s\" was canceled", m->name),
				 errdetail("It is done again in a moment.")));
		soonest(next_retry, GIVE_WAY_RETRY_MS);
	}
	else
		soonest(next_retry, record_failure(m, edata));
	FreeErrorData(edata);
	hitl_broadcast_progress();
}

/*
 * Work on one model within its time budget: retrain it when its labels
 * changed, rescore it when its table changed (or rescore_all).  A broken
 * model, one whose owner is gone, one whose retry is not due and one whose
 * table a command holds are left alone.  *next_retry gets how soon (ms)
 * the model wants another look.
 */
static void
work_on_one(HitlModelEntry *m, bool rescore_all, const Oid *changed,
			int nchanged, volatile long *next_retry)
{
	if (m->status == MODEL_BROKEN || !OidIsValid(m->owner))
		return;
	if (m->retry_later)
	{
		soonest(next_retry, Max(m->retry_in_ms, 1));
		return;
	}
	if (!hitl_slot_set_current(my_slot, m->source))
	{
		/* a command on its table is under way: come back soon */
		soonest(next_retry, GIVE_WAY_RETRY_MS);
		return;
	}

	PG_TRY();
	{
		bool		rescore = rescore_all;
		int			i;

		for (i = 0; i < nchanged && !rescore; i++)
			rescore = changed[i] == m->source;
		start_work_budget();
		if (work_on_model(m, rescore))
			soonest(next_retry, hitl_citus_poll_interval);
		end_work_budget();
		/* a budget that ran out just as the work ended cancels nothing */
		if (work_timed_out)
			QueryCancelPending = false;
		hitl_slot_set_current(my_slot, InvalidOid);
	}
	PG_CATCH();
	{
		model_failed(m, next_retry);
	}
	PG_END_TRY();
}

/*
 * Work on every model of the database: retrain those whose labels changed,
 * rescore those whose table changed (all of them with rescore_all).
 * Returns how soon (ms) a model's retry is due, or -1.
 */
static long
work_on_database(bool rescore_all, const Oid *changed, int nchanged)
{
	List	   *models;
	ListCell   *lc;
	volatile long next_retry = -1;

	/* DROP EXTENSION hitl under way: not even hitl.models is to be read */
	if (hitl_slot_holds_off(my_slot))
		return GIVE_WAY_RETRY_MS;

	MemoryContextReset(worker_cxt);
	models = list_models();
	foreach(lc, models)
	{
		CHECK_FOR_INTERRUPTS();
		work_on_one(lfirst(lc), rescore_all, changed, nchanged, &next_retry);
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
		(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 hitl_retrain_delay, PG_WAIT_EXTENSION);
		CHECK_FOR_INTERRUPTS();
		if (!hitl_slot_take_work(my_slot))
			return;
	}
}

/*
 * Exit after hitl.naptime without work, or, after a round or while idle,
 * at once when another database waits for a worker: the work still to do
 * stays in the slot, and the launcher starts a worker for it in turn.  The
 * slot also keeps when a retry is due.
 */
static void
leave_if_idle(TimestampTz last_work, TimestampTz retry_at)
{
	bool		others_wait;

	if (!hitl_slot_release_if_idle(my_slot, last_work, retry_at, &others_wait))
		return;
	leaving_idle = true;
	ereport(DEBUG1,
			(errmsg("hitl worker for database \"%s\" exits: %s", my_database(),
					others_wait ? "other databases wait for a worker" :
					"nothing to do")));
	proc_exit(0);
}

/*
 * Start up: take the database's slot (leave when another worker has it),
 * connect, and set up what the rounds need.  *retry_at gets the retry the
 * worker was started for.
 */
static void
worker_start(Oid dboid, TimestampTz *retry_at)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	pqsignal(SIGINT, StatementCancelHandler);
	BackgroundWorkerUnblockSignals();

	my_slot = hitl_slot_attach(dboid, retry_at);
	if (my_slot == NULL)
		proc_exit(0);
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
}

/*
 * A round of work: after a burst of label commits settled (unless every
 * model is to be looked at, or the last round ended more than
 * hitl.retrain_delay ago: a wake after a quiet spell starts at once), retrain the models whose labels changed and
 * rescore those whose table changed, and all of them at a first look, to
 * finish what a restart interrupted.  Returns how soon (ms) a retry is
 * due, or -1.
 */
static long
run_round(bool work, bool look_all)
{
	Oid			changed[HITL_MAX_DIRTY_TABLES];
	int			nchanged;
	bool		all;
	long		next_retry;

	if (work && !look_all && hitl_retrain_delay > 0 && last_round_end != 0 &&
		!TimestampDifferenceExceeds(last_round_end, GetCurrentTimestamp(),
									hitl_retrain_delay))
		let_burst_settle();

	/* the tables whose rows changed since the last look */
	nchanged = hitl_slot_take_dirty(my_slot, changed, &all);

	in_round = true;
	next_retry = work_on_database(look_all || all, changed, nchanged);
	in_round = false;
	return next_retry;
}

/*
 * In a PG_CATCH of a round: an error that is not a model's failure (those
 * are caught per model): a cancel, or hitl's own tables could not be
 * read.  Log it and go on.  Returns how soon (ms) to try again, or -1.
 */
static long
round_failed(void)
{
	ErrorData  *edata;
	bool		gave_way;
	long		next_retry = -1;

	in_round = false;
	recover_from_error(&edata, &gave_way);

	/*
	 * DROP EXTENSION hitl committing while the worker waited for a lock on
	 * hitl's tables fails the round (the tables are gone): leave quietly, as
	 * list_models does, rather than come back after hitl.naptime.
	 */
	begin_work();
	leave_if_hitl_absent();
	end_work();

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
	return next_retry;
}

/*
 * Sleep until woken, a retry is due, or it is time to leave.  The latch was
 * reset before the wake-ups were last taken (see hitl_worker_main): a wake
 * that came since has set it again, and WaitLatch returns at once.
 */
static void
sleep_until_due(TimestampTz last_work, TimestampTz retry_at)
{
	TimestampTz now = GetCurrentTimestamp();
	long		timeout;

	timeout = hitl_naptime * 1000L -
		TimestampDifferenceMilliseconds(last_work, now);
	if (retry_at != 0)
		timeout = Min(timeout, TimestampDifferenceMilliseconds(now, retry_at));
	timeout = Max(timeout, 1);
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 timeout, PG_WAIT_EXTENSION);
}

/*
 * Worker entry point: main_arg is the database's OID.  Rounds of work when
 * woken or a retry is due, sleeps between them, and leaves when idle.
 *
 * The latch is reset at the top of each turn, before the wake-ups are
 * taken, and the worker sleeps only after a turn that found nothing to do.
 * A round may reset the latch itself (a lock wait, pg_sleep in a trigger of
 * the model's table, a condition variable: anything that waits on MyLatch),
 * so a wake that came during the round may have left its flag in the slot
 * and no latch set: after a round the worker takes the wake-ups again
 * instead of sleeping.
 */
void
hitl_worker_main(Datum arg)
{
	TimestampTz retry_at = 0;
	TimestampTz last_work;

	worker_start(DatumGetObjectId(arg), &retry_at);
	last_work = GetCurrentTimestamp();

	for (;;)
	{
		bool		work;
		bool		look_all;
		bool		dirty;
		volatile long next_retry = -1;

		ResetLatch(MyLatch);
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

		hitl_slot_take_wakes(my_slot, &work, &look_all, &dirty);
		if (!work && !look_all && !dirty &&
			(retry_at == 0 || retry_at > GetCurrentTimestamp()))
		{
			/* a cancel arriving while idle is taken here, and ignored */
			PG_TRY();
			{
				CHECK_FOR_INTERRUPTS();
			}
			PG_CATCH();
			{
				(void) round_failed();
			}
			PG_END_TRY();
			leave_if_idle(last_work, retry_at);
			sleep_until_due(last_work, retry_at);
			continue;
		}

		PG_TRY();
		{
			CHECK_FOR_INTERRUPTS();
			next_retry = run_round(work, look_all);
		}
		PG_CATCH();
		{
			next_retry = round_failed();
		}
		PG_END_TRY();
		last_work = last_round_end = GetCurrentTimestamp();
		retry_at = next_retry >= 0 ?
			TimestampTzPlusMilliseconds(last_work, next_retry) : 0;
		/* others waiting for a worker: leave after the round */
		leave_if_idle(last_work, retry_at);
	}
}
