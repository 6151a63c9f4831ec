/*
 * give_way.c
 *		Moving hitl's workers out of the way of commands: the utility hook
 *		and the trigger on hitl.models that make a database's worker stop
 *		or drop what it does.
 *
 * Commands on databases (DROP DATABASE, ALTER DATABASE ... RENAME / SET
 * TABLESPACE, CREATE DATABASE ... TEMPLATE) wait for no other session to be
 * connected: the worker of that database is stopped and kept stopped while
 * they run.  Commands that take strong locks on a model's table (ALTER
 * TABLE, TRUNCATE, CREATE INDEX or TRIGGER, RENAME, DROP TABLE), DROP
 * EXTENSION hitl and hitl.drop_model register themselves in the database's
 * slot for the rest of their transaction (hitl_give_way, shared.c): the
 * worker drops its work on that table at once and leaves it alone until
 * the transaction ends, so that the two never wait on each other.
 */
#include "postgres.h"

#include <signal.h>

#include "catalog/namespace.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "tcop/utility.h"

#include "catalog.h"
#include "compat.h"
#include "give_way.h"
#include "shared.h"

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static void run_without_worker(Oid dboid, HITL_UTILITY_PARAMS);
static void give_way_to_relation(RangeVar *rv);
static void give_way_to_command(Node *parsetree);
static const char *createdb_template(CreatedbStmt *stmt);
static void hitl_ProcessUtility(HITL_UTILITY_PARAMS);

void
hitl_give_way_hook_install(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = hitl_ProcessUtility;
}

/*
 * Stop the worker of a database and keep it stopped while the statement
 * runs: DROP DATABASE, ALTER DATABASE ... RENAME / SET TABLESPACE and
 * CREATE DATABASE ... TEMPLATE wait for no other session to be connected.
 * A worker stopped in the middle of its work is started again afterwards
 * (see worker.c); an idle one is not.
 */
static void
run_without_worker(Oid dboid, HITL_UTILITY_PARAMS)
{
	HitlDatabaseSlot *volatile slot;
	pid_t		pid = 0;
	int			waited;

	SpinLockAcquire(&hitl_shared->mutex);
	slot = hitl_slot_for(dboid, false);
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

/* The worker gives way to the current transaction on this table */
static void
give_way_to_relation(RangeVar *rv)
{
	Oid			relid;

	if (rv == NULL)
		return;
	relid = RangeVarGetRelid(rv, NoLock, true);
	if (OidIsValid(relid))
		hitl_give_way(relid, true);
}

/*
 * Commands that take strong locks on a table (or drop hitl): the worker
 * drops its work on the table's models and leaves them alone until the
 * transaction ends, so that it neither delays the command nor deadlocks
 * with it.
 */
static void
give_way_to_command(Node *parsetree)
{
	ListCell   *lc;

	switch (nodeTag(parsetree))
	{
		case T_AlterTableStmt:
			give_way_to_relation(((AlterTableStmt *) parsetree)->relation);
			break;
		case T_TruncateStmt:
			foreach(lc, ((TruncateStmt *) parsetree)->relations)
				give_way_to_relation(lfirst_node(RangeVar, lc));
			break;
		case T_IndexStmt:
			give_way_to_relation(((IndexStmt *) parsetree)->relation);
			break;
		case T_CreateTrigStmt:
			give_way_to_relation(((CreateTrigStmt *) parsetree)->relation);
			break;
		case T_RenameStmt:
			give_way_to_relation(((RenameStmt *) parsetree)->relation);
			break;
		case T_DropStmt:
			{
				DropStmt   *drop = (DropStmt *) parsetree;

				if (drop->removeType == OBJECT_TABLE)
				{
					foreach(lc, drop->objects)
						give_way_to_relation(makeRangeVarFromNameList(lfirst(lc)));
				}
				else if (drop->removeType == OBJECT_EXTENSION)
				{
					foreach(lc, drop->objects)
						if (strcmp(strVal(lfirst(lc)), "hitl") == 0)
						{
							/* every model, and wake it at commit so that it leaves */
							hitl_give_way(InvalidOid, true);
							hitl_wake_at_commit(InvalidOid);
						}
				}
				break;
			}
		default:
			break;
	}
}

/* The template of a CREATE DATABASE (template1 when not named) */
static const char *
createdb_template(CreatedbStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		if (strcmp(def->defname, "template") == 0 && def->arg != NULL)
			return defGetString(def);
	}
	return "template1";
}

/*
 * The utility hook: a command on a database runs without that database's
 * worker; a command on a model's table (or DROP EXTENSION hitl) makes the
 * worker give way.
 */
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
		else if (IsA(parsetree, CreatedbStmt))
			dbname = createdb_template((CreatedbStmt *) parsetree);
		else
			give_way_to_command(parsetree);
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

	if (prev_ProcessUtility)
		prev_ProcessUtility(HITL_UTILITY_ARGS);
	else
		standard_ProcessUtility(HITL_UTILITY_ARGS);
}

PG_FUNCTION_INFO_V1(hitl_give_way_trigger);

/*
 * Trigger on hitl.models, BEFORE DELETE (hitl.drop_model): for each
 * statement, the worker drops what it is doing, so that the row locks the
 * DELETE takes never wait for a training; for each row, it also leaves the
 * model's table alone until the transaction ends.
 */
Datum
hitl_give_way_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "hitl_give_way_trigger: not called by trigger manager");

	if (TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
	{
		Oid			source = catalog_model_row_source(trigdata->tg_relation,
													  trigdata->tg_trigtuple);

		if (OidIsValid(source))
			hitl_give_way(source, true);
		return PointerGetDatum(trigdata->tg_trigtuple);
	}
	hitl_give_way(InvalidOid, false);
	return PointerGetDatum(NULL);
}
