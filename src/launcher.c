/*
 * launcher.c
 *		The hitl launcher: a background worker that starts database workers
 *		when their databases have work, at most hitl.max_workers at once.
 *		(What moves workers out of the way of commands is in give_way.c.)
 *
 * The launcher connects to no database.  It reads pg_database (a shared
 * catalog) when asked to (at start, when a backend finds no worker for its
 * database, after CREATE EXTENSION hitl) and at least every hitl.naptime,
 * and keeps a slot per database.  A database wants a worker when a commit
 * woke it, when a model's retry is due, and once after a start (to finish
 * what a restart interrupted); the worker exits when it has had nothing to
 * do for hitl.naptime, as autovacuum's workers do, and after its round of
 * work while another database waits for a worker (what it still has to do
 * stays in its slot).  Waiting databases get workers in turn (round robin
 * over the slots), so none starves.  A worker that
 * finds no hitl in its database says so in its slot and exits; the
 * launcher starts none there again until a backend of that database wakes
 * it.  Workers are started with the launcher as their notify process, so
 * it hears of their exits at once.
 */
#include "postgres.h"


#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "give_way.h"
#include "hitl.h"
#include "settings.h"
#include "shared.h"

PGDLLEXPORT void hitl_launcher_main(Datum arg);

/* the launcher's handles of the workers it started, by slot */
static BackgroundWorkerHandle *handles[HITL_MAX_DATABASES];
static TimestampTz started_at[HITL_MAX_DATABASES];

/* the slot that got the last worker: the next look starts after it */
static int	last_started = HITL_MAX_DATABASES - 1;

/* a worker that stopped is not started again within this time */
#define RESTART_INTERVAL_MS 1000

static void launcher_detach(int code, Datum arg);
static void scan_databases(void);
static bool start_worker(int i, Oid dboid, const char *datname);
static long tend_workers(void);
static void look_at_everything(void);

/*
 * Register the launcher, and the utility hook that moves workers out of
 * the way of commands (from _PG_init, while preloading).
 */
void
hitl_launcher_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "hitl");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "hitl_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "hitl launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "hitl launcher");
	RegisterBackgroundWorker(&worker);
	hitl_give_way_hook_install();
}

static void
launcher_detach(int code, Datum arg)
{
	SpinLockAcquire(&hitl_shared->mutex);
	hitl_shared->launcher_pid = 0;
	hitl_shared->launcher_latch = NULL;
	hitl_shared->nwaiting = 0;
	SpinLockRelease(&hitl_shared->mutex);
}

/*
 * Read pg_database: make a slot for every database that accepts
 * connections (with its name, for messages), free the slots of databases
 * that are gone.
 */
static void
scan_databases(void)
{
	Oid			found[HITL_MAX_DATABASES * 4];
	NameData	names[HITL_MAX_DATABASES * 4];
	int			nfound = 0;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	int			i;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		/* templates, and databases half-dropped (connlimit -2), get none */
		if (!db->datallowconn || db->datistemplate || db->datconnlimit == -2)
			continue;
		if (nfound < (int) lengthof(found))
		{
			found[nfound] = db->oid;
			namestrcpy(&names[nfound], NameStr(db->datname));
			nfound++;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();

	SpinLockAcquire(&hitl_shared->mutex);
	for (i = 0; i < HITL_MAX_DATABASES; i++)
	{
		HitlDatabaseSlot *slot = &hitl_shared->dbs[i];
		int			j;
		bool		exists = false;

		if (slot->dboid == InvalidOid)
			continue;
		for (j = 0; j < nfound && !exists; j++)
			exists = found[j] == slot->dboid;
		if (!exists && slot->pid == 0 && handles[i] == NULL)
			slot->dboid = InvalidOid;
	}
	for (i = 0; i < nfound; i++)
	{
		HitlDatabaseSlot *slot = hitl_slot_for(found[i], true);

		if (slot == NULL)
		{
			SpinLockRelease(&hitl_shared->mutex);
			ereport(WARNING,
					(errmsg("hitl keeps track of at most %d databases; database \"%s\" gets no worker",
							HITL_MAX_DATABASES, NameStr(names[i]))));
			return;
		}
		slot->datname = names[i];
	}
	SpinLockRelease(&hitl_shared->mutex);
}

/* Start the worker of slot i; false when no background worker slot is free */
static bool
start_worker(int i, Oid dboid, const char *datname)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "hitl");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "hitl_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "hitl worker for database %s", datname);
	snprintf(worker.bgw_type, BGW_MAXLEN, "hitl worker");
	worker.bgw_main_arg = ObjectIdGetDatum(dboid);
	worker.bgw_notify_pid = MyProcPid;
	started_at[i] = GetCurrentTimestamp();
	return RegisterDynamicBackgroundWorker(&worker, &handles[i]);
}

/*
 * Forget the handles of workers that stopped, and start workers for the
 * databases that want one, while fewer than hitl.max_workers run: in turn,
 * starting after the slot that got the last one.  The idle workers are
 * told when other databases wait, so that they leave.  Returns how soon
 * (ms) to look again, -1 for no hurry.
 */
static long
tend_workers(void)
{
	TimestampTz now = GetCurrentTimestamp();
	long		soonest = -1;
	int			running = 0;
	int			nwaiting = 0;
	bool		no_slot = false;
	Latch	   *latches[HITL_MAX_DATABASES];
	int			nlatches = 0;
	int			i;
	int			k;

	for (i = 0; i < HITL_MAX_DATABASES; i++)
	{
		pid_t		pid;

		if (handles[i] != NULL &&
			GetBackgroundWorkerPid(handles[i], &pid) == BGWH_STOPPED)
		{
			pfree(handles[i]);
			handles[i] = NULL;
		}
		/* also the workers of a launcher that was restarted */
		SpinLockAcquire(&hitl_shared->mutex);
		if (handles[i] != NULL || hitl_shared->dbs[i].pid != 0)
			running++;
		SpinLockRelease(&hitl_shared->mutex);
	}

	for (k = 1; k <= HITL_MAX_DATABASES; k++)
	{
		HitlDatabaseSlot *slot;
		Oid			dboid;
		NameData	datname;
		bool		wanted;
		TimestampTz retry_at = 0;

		i = (last_started + k) % HITL_MAX_DATABASES;
		slot = &hitl_shared->dbs[i];
		SpinLockAcquire(&hitl_shared->mutex);
		dboid = slot->dboid;
		datname = slot->datname;
		/* a database the scan did not list (a template) gets no worker */
		wanted = hitl_enabled && handles[i] == NULL && datname.data[0] != '\0' &&
			hitl_slot_wants_worker(slot, now);
		if (!wanted && hitl_enabled && dboid != InvalidOid && !slot->absent &&
			slot->pid == 0 && handles[i] == NULL && slot->retry_at > now)
			retry_at = slot->retry_at;
		SpinLockRelease(&hitl_shared->mutex);

		if (retry_at != 0)
		{
			long		ms = TimestampDifferenceMilliseconds(now, retry_at) + 1;

			if (soonest < 0 || ms < soonest)
				soonest = ms;
		}
		if (!wanted)
			continue;
		if (!TimestampDifferenceExceeds(started_at[i], now, RESTART_INTERVAL_MS))
		{
			if (soonest < 0 || soonest > RESTART_INTERVAL_MS)
				soonest = RESTART_INTERVAL_MS;
			continue;
		}
		if (running >= hitl_max_workers || no_slot)
		{
			nwaiting++;
			continue;
		}
		if (!start_worker(i, dboid, NameStr(datname)))
		{
			ereport(WARNING,
					(errmsg("hitl could not start a worker for database \"%s\": no background worker slot is free",
							NameStr(datname)),
					 errhint("Raise max_worker_processes, or lower hitl.max_workers.")));
			no_slot = true;
			nwaiting++;
			if (soonest < 0 || soonest > hitl_naptime * 1000L)
				soonest = hitl_naptime * 1000L;
			continue;
		}
		running++;
		last_started = i;
	}

	SpinLockAcquire(&hitl_shared->mutex);
	hitl_shared->nwaiting = nwaiting;
	if (nwaiting > 0)
		for (i = 0; i < HITL_MAX_DATABASES; i++)
			if (hitl_shared->dbs[i].pid != 0 && hitl_shared->dbs[i].latch != NULL)
				latches[nlatches++] = hitl_shared->dbs[i].latch;
	SpinLockRelease(&hitl_shared->mutex);
	for (i = 0; i < nlatches; i++)
		SetLatch(latches[i]);
	return soonest;
}

/*
 * hitl.enabled was turned on: label commits woke nobody meanwhile, so
 * every database gets a look at every model, as after a start.
 */
static void
look_at_everything(void)
{
	int			i;

	SpinLockAcquire(&hitl_shared->mutex);
	for (i = 0; i < HITL_MAX_DATABASES; i++)
	{
		HitlDatabaseSlot *slot = &hitl_shared->dbs[i];

		if (slot->dboid == InvalidOid)
			continue;
		slot->look_all = true;
		slot->absent = false;
	}
	hitl_shared->rescan = true;
	SpinLockRelease(&hitl_shared->mutex);
}

/*
 * Launcher entry point.
 */
void
hitl_launcher_main(Datum arg)
{
	TimestampTz last_scan = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	SpinLockAcquire(&hitl_shared->mutex);
	hitl_shared->launcher_pid = MyProcPid;
	hitl_shared->launcher_latch = MyLatch;
	hitl_shared->rescan = true;
	SpinLockRelease(&hitl_shared->mutex);
	before_shmem_exit(launcher_detach, (Datum) 0);

	for (;;)
	{
		bool		rescan;
		long		timeout;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			bool		was_enabled = hitl_enabled;

			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			if (hitl_enabled && !was_enabled)
				look_at_everything();
		}

		SpinLockAcquire(&hitl_shared->mutex);
		rescan = hitl_shared->rescan;
		hitl_shared->rescan = false;
		SpinLockRelease(&hitl_shared->mutex);
		if (rescan || TimestampDifferenceExceeds(last_scan, GetCurrentTimestamp(),
												 hitl_naptime * 1000))
		{
			pgstat_report_activity(STATE_RUNNING, "looking for databases");
			scan_databases();
			last_scan = GetCurrentTimestamp();
		}
		timeout = tend_workers();
		if (timeout < 0 || timeout > hitl_naptime * 1000L)
			timeout = hitl_naptime * 1000L;

		pgstat_report_activity(STATE_IDLE, NULL);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
