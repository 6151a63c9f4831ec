/*
 * launcher.c
 *		The hitl launcher: a background worker that starts one worker per
 *		database where hitl is installed, and the utility hook that moves a
 *		worker out of the way of DROP DATABASE.
 *
 * The launcher connects to no database; it reads pg_database (a shared
 * catalog) when asked to (at start, when a backend finds no worker for its
 * database, after CREATE EXTENSION hitl) and at least every hitl.naptime.
 * A worker that finds no hitl in its database says so in its slot and
 * exits; the launcher starts none there again until a backend of that
 * database wakes it.  Workers are started with the launcher as their notify
 * process, so it hears of their exits at once.
 */
#include "postgres.h"

#include <signal.h>

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/utility.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "hitl.h"
#include "shared.h"

PGDLLEXPORT void hitl_launcher_main(Datum arg);

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* the launcher's handles of the workers it started, by slot */
static BackgroundWorkerHandle *handles[HITL_MAX_DATABASES];
static TimestampTz started_at[HITL_MAX_DATABASES];

/* a worker that stopped is not started again within this time */
#define RESTART_INTERVAL_MS 1000

static void hitl_ProcessUtility(HITL_UTILITY_PARAMS);

/*
 * Register the launcher (from _PG_init, while preloading).
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

	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = hitl_ProcessUtility;
}

static void
launcher_detach(int code, Datum arg)
{
	SpinLockAcquire(&hitl_shared->mutex);
	hitl_shared->launcher_pid = 0;
	hitl_shared->launcher_latch = NULL;
	SpinLockRelease(&hitl_shared->mutex);
}

/*
 * Read pg_database: make a slot for every database that accepts
 * connections, free the slots of databases that are gone.
 */
static void
scan_databases(void)
{
	Oid			found[HITL_MAX_DATABASES * 4];
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
			found[nfound++] = db->oid;
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
		if (hitl_slot_for(found[i], true) == NULL)
		{
			SpinLockRelease(&hitl_shared->mutex);
			ereport(WARNING,
					(errmsg("hitl serves at most %d databases", HITL_MAX_DATABASES)));
			return;
		}
	SpinLockRelease(&hitl_shared->mutex);
}

/* Start the worker of slot i; false when no background worker slot is free */
static bool
start_worker(int i, Oid dboid)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "hitl");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "hitl_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "hitl worker for database %u", dboid);
	snprintf(worker.bgw_type, BGW_MAXLEN, "hitl worker");
	worker.bgw_main_arg = ObjectIdGetDatum(dboid);
	worker.bgw_notify_pid = MyProcPid;
	started_at[i] = GetCurrentTimestamp();
	return RegisterDynamicBackgroundWorker(&worker, &handles[i]);
}

/*
 * Forget the handles of workers that stopped, and start the workers that
 * should run.  Returns how soon (ms) to look again, -1 for no hurry.
 */
static long
tend_workers(void)
{
	long		soonest = -1;
	int			i;

	for (i = 0; i < HITL_MAX_DATABASES; i++)
	{
		HitlDatabaseSlot *slot = &hitl_shared->dbs[i];
		pid_t		pid;
		Oid			dboid;
		bool		wanted;

		if (handles[i] != NULL &&
			GetBackgroundWorkerPid(handles[i], &pid) == BGWH_STOPPED)
		{
			pfree(handles[i]);
			handles[i] = NULL;
		}

		SpinLockAcquire(&hitl_shared->mutex);
		dboid = slot->dboid;
		wanted = dboid != InvalidOid && !slot->absent && !slot->dropping &&
			slot->pid == 0 && hitl_enabled;
		SpinLockRelease(&hitl_shared->mutex);
		if (!wanted || handles[i] != NULL)
			continue;

		if (!TimestampDifferenceExceeds(started_at[i], GetCurrentTimestamp(),
										RESTART_INTERVAL_MS))
		{
			soonest = RESTART_INTERVAL_MS;
			continue;
		}
		if (!start_worker(i, dboid))
		{
			ereport(WARNING,
					(errmsg("hitl could not start a worker for database %u", dboid),
					 errhint("Raise max_worker_processes.")));
			soonest = hitl_naptime * 1000L;
			break;
		}
	}
	return soonest;
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
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
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
		if (timeout < 0)
			timeout = hitl_naptime * 1000L;

		pgstat_report_activity(STATE_IDLE, NULL);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * Stop the worker of a database and keep it stopped while the statement
 * runs: DROP DATABASE (and ALTER DATABASE ... RENAME / SET TABLESPACE) wait
 * for no other session to be connected.
 */
static void
run_without_worker(Oid dboid, HITL_UTILITY_PARAMS)
{
	HitlDatabaseSlot *volatile slot;
	pid_t		pid = 0;
	int			waited;

	SpinLockAcquire(&hitl_shared->mutex);
	slot = hitl_slot_for(dboid, true);
	if (slot != NULL)
	{
		slot->dropping = true;
		pid = slot->pid;
	}
	SpinLockRelease(&hitl_shared->mutex);

	if (pid != 0)
		kill(pid, SIGTERM);
	PG_TRY();
	{
		/* the worker leaves within a moment; wait at most 10 s */
		for (waited = 0; slot != NULL && waited < 1000; waited++)
		{
			bool		gone;

			SpinLockAcquire(&hitl_shared->mutex);
			gone = slot->pid == 0;
			SpinLockRelease(&hitl_shared->mutex);
			if (gone)
				break;
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 10L, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		if (prev_ProcessUtility)
			prev_ProcessUtility(HITL_UTILITY_ARGS);
		else
			standard_ProcessUtility(HITL_UTILITY_ARGS);
	}
	PG_FINALLY();
	{
		if (slot != NULL)
		{
			SpinLockAcquire(&hitl_shared->mutex);
			slot->dropping = false;
			hitl_shared->rescan = true;
			SpinLockRelease(&hitl_shared->mutex);
			hitl_wake_launcher();
		}
	}
	PG_END_TRY();
}

static void
hitl_ProcessUtility(HITL_UTILITY_PARAMS)
{
	Node	   *parsetree = pstmt->utilityStmt;
	const char *dbname = NULL;

	if (hitl_shared != NULL)
	{
		if (IsA(parsetree, DropdbStmt))
			dbname = ((DropdbStmt *) parsetree)->dbname;
		else if (IsA(parsetree, RenameStmt) &&
				 ((RenameStmt *) parsetree)->renameType == OBJECT_DATABASE)
			dbname = ((RenameStmt *) parsetree)->subname;
		else if (IsA(parsetree, AlterDatabaseStmt))
			dbname = ((AlterDatabaseStmt *) parsetree)->dbname;
	}
	if (dbname != NULL)
	{
		Oid			dboid = get_database_oid(dbname, true);

		if (OidIsValid(dboid))
		{
			run_without_worker(dboid, HITL_UTILITY_ARGS);
			return;
		}
	}

	/* DROP EXTENSION hitl: wake the worker at commit, so that it leaves */
	if (hitl_shared != NULL && IsA(parsetree, DropStmt) &&
		((DropStmt *) parsetree)->removeType == OBJECT_EXTENSION)
	{
		ListCell   *lc;

		foreach(lc, ((DropStmt *) parsetree)->objects)
			if (strcmp(strVal(lfirst(lc)), "hitl") == 0)
				hitl_wake_at_commit(InvalidOid);
	}
	if (prev_ProcessUtility)
		prev_ProcessUtility(HITL_UTILITY_ARGS);
	else
		standard_ProcessUtility(HITL_UTILITY_ARGS);
}
