/*
 * shared.c
 *		Shared memory of hitl: one slot per database (the work waiting for
 *		it, its worker if one runs, the commands the worker gives way to),
 *		the launcher's latch, and the condition variable hitl.wait() sleeps
 *		on.
 *
 * Backends that change labels wake their database's worker when their
 * transaction commits (an XactCallback), never before: a rolled-back change
 * wakes nobody.  When the database has no worker, the wake goes to the
 * launcher, which starts one as soon as fewer than hitl.max_workers run.
 *
 * A command that needs strong locks on a model's table (or on hitl's own
 * tables) registers itself in the slot for the rest of its transaction
 * (hitl_give_way): the worker drops what it does on that table at once and
 * leaves it alone until the transaction ends, so the two never wait on each
 * other in a cycle.
 *
 * The worker's side of its slot (taking its wake-ups, saying which table it
 * works on, leaving) is here too, so that every access to a slot under the
 * mutex is in this file; and so are the SQL-callable hitl._wake() and
 * hitl._workers_available().  The one difference between major versions
 * (shmem_request_hook) is hidden by compat.h.
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "hitl.h"
#include "progress.h"
#include "settings.h"
#include "shared.h"

HitlShared *hitl_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* this backend: wake the worker when the current transaction commits */
static bool wake_pending = false;
static bool xact_callback_registered = false;
static Oid	pending_rels[HITL_MAX_DIRTY_TABLES];
static int	npending = 0;
static bool pending_all = false;

/* this backend registered commands the worker gives way to */
static bool give_way_pending = false;

static void register_xact_callback(void);

/* Ask for hitl's shared memory (see hitl_hook_shmem_request in compat.h) */
static void
hitl_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(HitlShared)));
	RequestAddinShmemSpace(MAXALIGN(hitl_progress_shmem_size()));
}

/* Make or attach hitl's shared memory (shmem_startup_hook) */
static void
hitl_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	hitl_shared = ShmemInitStruct("hitl", sizeof(HitlShared), &found);
	if (!found)
	{
		memset(hitl_shared, 0, sizeof(HitlShared));
		SpinLockInit(&hitl_shared->mutex);
		ConditionVariableInit(&hitl_shared->progress);
		hitl_shared->rescan = true;
	}
	hitl_progress_shmem_startup();
	LWLockRelease(AddinShmemInitLock);
}

/* Install the hooks that ask for and set up the shared memory */
void
hitl_shared_init(void)
{
	prev_shmem_request_hook = hitl_hook_shmem_request(hitl_shmem_request);
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = hitl_shmem_startup;
}

/* Is the shared memory there (hitl preloaded)? */
bool
hitl_shared_available(void)
{
	return hitl_shared != NULL;
}

/* Find a database's slot, making it when asked (under the mutex) */
HitlDatabaseSlot *
hitl_slot_for(Oid dboid, bool create)
{
	HitlDatabaseSlot *free_slot = NULL;
	int			i;

	for (i = 0; i < HITL_MAX_DATABASES; i++)
	{
		HitlDatabaseSlot *slot = &hitl_shared->dbs[i];

		if (slot->dboid == dboid)
			return slot;
		if (slot->dboid == InvalidOid && free_slot == NULL)
			free_slot = slot;
	}
	if (create && free_slot != NULL)
	{
		memset(free_slot, 0, sizeof(HitlDatabaseSlot));
		free_slot->dboid = dboid;
		free_slot->look_all = true;
	}
	return create ? free_slot : NULL;
}

/* Does the slot have work and no worker (under the mutex)? */
bool
hitl_slot_wants_worker(HitlDatabaseSlot *slot, TimestampTz now)
{
	if (slot->dboid == InvalidOid || slot->absent || slot->dropping ||
		slot->pid != 0)
		return false;
	return slot->work || slot->look_all || slot->dirty_all || slot->ndirty > 0 ||
		(slot->retry_at != 0 && slot->retry_at <= now);
}

/*
 * Wake a database's worker; when it has none, have the launcher start one
 * (which then finds the work to do by itself).
 */
void
hitl_wake_database(Oid dboid, const Oid *rels, int nrels, bool all)
{
	HitlDatabaseSlot *slot;
	Latch	   *latch = NULL;
	int			i;

	if (hitl_shared == NULL)
		return;
	SpinLockAcquire(&hitl_shared->mutex);
	slot = hitl_slot_for(dboid, true);
	if (slot != NULL)
	{
		slot->work = true;
		slot->absent = false;
		slot->dirty_all |= all;
		for (i = 0; i < nrels && !slot->dirty_all; i++)
		{
			int			j;

			for (j = 0; j < slot->ndirty; j++)
				if (slot->dirty[j] == rels[i])
					break;
			if (j < slot->ndirty)
				continue;
			if (slot->ndirty == HITL_MAX_DIRTY_TABLES)
				slot->dirty_all = true;
			else
				slot->dirty[slot->ndirty++] = rels[i];
		}
		latch = slot->pid != 0 ? slot->latch : NULL;
	}
	if (latch == NULL)
	{
		hitl_shared->rescan = true;
		latch = hitl_shared->launcher_latch;
	}
	SpinLockRelease(&hitl_shared->mutex);
	if (latch != NULL)
		SetLatch(latch);
}

/* Have the launcher start a worker for a database that has none */
void
hitl_ensure_worker(Oid dboid)
{
	HitlDatabaseSlot *slot;
	Latch	   *latch = NULL;

	if (hitl_shared == NULL)
		return;
	SpinLockAcquire(&hitl_shared->mutex);
	slot = hitl_slot_for(dboid, true);
	if (slot != NULL && slot->pid == 0)
	{
		slot->work = true;
		slot->absent = false;
		hitl_shared->rescan = true;
		latch = hitl_shared->launcher_latch;
	}
	SpinLockRelease(&hitl_shared->mutex);
	if (latch != NULL)
		SetLatch(latch);
}

/* Ask the launcher to look at pg_database and the slots again */
void
hitl_wake_launcher(void)
{
	Latch	   *latch;

	if (hitl_shared == NULL)
		return;
	SpinLockAcquire(&hitl_shared->mutex);
	hitl_shared->rescan = true;
	latch = hitl_shared->launcher_latch;
	SpinLockRelease(&hitl_shared->mutex);
	if (latch != NULL)
		SetLatch(latch);
}

/*
 * The transaction that registered commands to give way to ended: free its
 * entries (the worker comes back for the models it left alone by itself,
 * soon: see worker.c).
 */
static void
end_give_way(void)
{
	int			i;

	give_way_pending = false;
	SpinLockAcquire(&hitl_shared->mutex);
	for (i = 0; i < HITL_MAX_DATABASES; i++)
	{
		HitlDatabaseSlot *slot = &hitl_shared->dbs[i];
		int			j;

		if (slot->dboid != MyDatabaseId)
			continue;
		for (j = 0; j < HITL_MAX_GIVE_WAY; j++)
			if (slot->give_ways[j].pid == MyProcPid)
				slot->give_ways[j].pid = 0;
	}
	SpinLockRelease(&hitl_shared->mutex);
}

/*
 * At the end of a transaction: wake the worker at commit (not at a
 * rollback), and free the commands registered to give way.
 */
static void
wake_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (give_way_pending)
				end_give_way();
			/* a disabled worker is not woken: it looks at everything when enabled */
			if (wake_pending && hitl_enabled)
				hitl_wake_database(MyDatabaseId, pending_rels, npending, pending_all);
			wake_pending = false;
			pending_all = false;
			npending = 0;
			break;
		case XACT_EVENT_PREPARE:
			/* the prepared transaction keeps its locks: the worker waits then */
			if (give_way_pending)
				end_give_way();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			if (give_way_pending)
				end_give_way();
			wake_pending = false;
			pending_all = false;
			npending = 0;
			break;
		default:
			break;
	}
}

/* Register wake_xact_callback once per backend */
static void
register_xact_callback(void)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(wake_xact_callback, NULL);
		xact_callback_registered = true;
	}
}

/* Remember to wake the worker for relid (InvalidOid: every table) at commit */
void
hitl_wake_at_commit(Oid relid)
{
	int			i;

	if (hitl_shared == NULL)
		return;
	register_xact_callback();
	wake_pending = true;
	if (!OidIsValid(relid))
	{
		pending_all = true;
		return;
	}
	for (i = 0; i < npending; i++)
		if (pending_rels[i] == relid)
			return;
	if (npending == HITL_MAX_DIRTY_TABLES)
		pending_all = true;
	else
		pending_rels[npending++] = relid;
}

/*
 * Remember to wake the worker at commit for a round of work that rescores
 * no table unless its models ask for it (their labels moved, their
 * version is not scored)
 */
void
hitl_wake_work_at_commit(void)
{
	if (hitl_shared == NULL)
		return;
	register_xact_callback();
	wake_pending = true;
}

PG_FUNCTION_INFO_V1(hitl_wake_work);

/*
 * hitl._wake_work(): hitl_wake_work_at_commit, for a model on a
 * distributed table once its worker nodes know it: the worker then takes
 * its labels from them (section 29 of the SQL)
 */
Datum
hitl_wake_work(PG_FUNCTION_ARGS)
{
	hitl_wake_work_at_commit();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(hitl_wake);

/*
 * hitl._wake(): wake this database's worker (or have the launcher start
 * one) when the transaction commits.  Called by CREATE EXTENSION: a worker
 * woken earlier would not see the extension yet.
 */
Datum
hitl_wake(PG_FUNCTION_ARGS)
{
	hitl_wake_at_commit(InvalidOid);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(hitl_workers_available);

/* hitl._workers_available(): is hitl preloaded, so that workers run? */
Datum
hitl_workers_available(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(hitl_shared_available());
}

/* Wake the backends sleeping in hitl.wait() */
void
hitl_broadcast_progress(void)
{
	if (hitl_shared != NULL)
		ConditionVariableBroadcast(&hitl_shared->progress);
}

/*
 * Make the worker drop its work on relid (every table with InvalidOid) now,
 * and with hold, stay away from it until the transaction ends.
 */
void
hitl_give_way(Oid relid, bool hold)
{
	HitlDatabaseSlot *slot;
	pid_t		worker = 0;
	int			i;
	int			free_entry = -1;
	bool		known = false;

	if (hitl_shared == NULL)
		return;
	if (hold)
		register_xact_callback();
	SpinLockAcquire(&hitl_shared->mutex);
	/* no slot: no worker can be at work in this database; nor for itself */
	slot = hitl_slot_for(MyDatabaseId, false);
	if (slot == NULL || slot->absent || slot->pid == MyProcPid)
	{
		SpinLockRelease(&hitl_shared->mutex);
		return;
	}
	for (i = 0; i < HITL_MAX_GIVE_WAY; i++)
	{
		HitlGiveWay *g = &slot->give_ways[i];

		if (g->pid == MyProcPid && (g->relid == relid || g->relid == InvalidOid))
			known = true;
		else if (g->pid == 0 && free_entry < 0)
			free_entry = i;
	}
	/* with every entry taken, the worker is still told to drop its work */
	if (hold && !known && free_entry >= 0)
	{
		slot->give_ways[free_entry].pid = MyProcPid;
		slot->give_ways[free_entry].relid = relid;
		give_way_pending = true;
	}
	if (slot->pid != 0 && OidIsValid(slot->current_relid) &&
		(!OidIsValid(relid) || relid == slot->current_relid))
	{
		slot->give_way = true;
		worker = slot->pid;
	}
	SpinLockRelease(&hitl_shared->mutex);
	if (worker != 0)
		kill(worker, SIGINT);
}

/* Does a command in progress hold relid (or every table)?  Under the mutex. */
bool
hitl_slot_gives_way(HitlDatabaseSlot *slot, Oid relid)
{
	int			i;

	for (i = 0; i < HITL_MAX_GIVE_WAY; i++)
	{
		HitlGiveWay *g = &slot->give_ways[i];

		if (g->pid != 0 && (!OidIsValid(g->relid) || g->relid == relid))
			return true;
	}
	return false;
}

/* ------------------------------------------------------------------------
 * A database worker's side of its slot
 * ------------------------------------------------------------------------ */

/* The slot has no worker any more (under the mutex) */
static void
clear_worker(HitlDatabaseSlot *slot)
{
	slot->pid = 0;
	slot->latch = NULL;
	slot->current_relid = InvalidOid;
	slot->give_way = false;
}

/* Take a database's slot for the calling worker (see shared.h) */
HitlDatabaseSlot *
hitl_slot_attach(Oid dboid, TimestampTz *retry_at)
{
	HitlDatabaseSlot *slot;

	SpinLockAcquire(&hitl_shared->mutex);
	slot = hitl_slot_for(dboid, true);
	if (slot == NULL || slot->pid != 0 || slot->dropping)
	{
		SpinLockRelease(&hitl_shared->mutex);
		return NULL;
	}
	slot->pid = MyProcPid;
	slot->latch = MyLatch;
	/* a retry that is due is what this worker was started for */
	*retry_at = slot->retry_at;
	slot->retry_at = 0;
	slot->give_way = false;
	SpinLockRelease(&hitl_shared->mutex);
	return slot;
}

/* Free the worker's slot at its exit (see shared.h) */
void
hitl_slot_detach(HitlDatabaseSlot *slot, bool idle, bool in_round)
{
	SpinLockAcquire(&hitl_shared->mutex);
	if (slot->pid == MyProcPid)
		clear_worker(slot);
	if (!idle && in_round)
		slot->look_all = true;
	else if (!idle)
		slot->work = true;
	SpinLockRelease(&hitl_shared->mutex);
	hitl_broadcast_progress();
	hitl_wake_launcher();
}

/* Take the slot's wake-ups (see shared.h) */
void
hitl_slot_take_wakes(HitlDatabaseSlot *slot, bool *work, bool *look_all, bool *dirty)
{
	SpinLockAcquire(&hitl_shared->mutex);
	*work = slot->work;
	*look_all = slot->look_all;
	*dirty = slot->dirty_all || slot->ndirty > 0;
	slot->work = false;
	slot->look_all = false;
	SpinLockRelease(&hitl_shared->mutex);
}

/* Read a flag of a slot and clear it, under the mutex */
static bool
take_flag(bool *flag)
{
	bool		value;

	SpinLockAcquire(&hitl_shared->mutex);
	value = *flag;
	*flag = false;
	SpinLockRelease(&hitl_shared->mutex);
	return value;
}

/* Did labels move since the last take? */
bool
hitl_slot_take_work(HitlDatabaseSlot *slot)
{
	return take_flag(&slot->work);
}

/* Take the tables whose rows changed (see shared.h) */
int
hitl_slot_take_dirty(HitlDatabaseSlot *slot, Oid *changed, bool *all)
{
	int			n;

	SpinLockAcquire(&hitl_shared->mutex);
	n = slot->ndirty;
	memcpy(changed, slot->dirty, sizeof(Oid) * n);
	*all = slot->dirty_all;
	slot->ndirty = 0;
	slot->dirty_all = false;
	SpinLockRelease(&hitl_shared->mutex);
	return n;
}

/* Say which table the worker works on, unless it must leave it alone */
bool
hitl_slot_set_current(HitlDatabaseSlot *slot, Oid relid)
{
	bool		ok = true;

	SpinLockAcquire(&hitl_shared->mutex);
	if (OidIsValid(relid) && hitl_slot_gives_way(slot, relid))
		ok = false;
	slot->current_relid = ok ? relid : InvalidOid;
	SpinLockRelease(&hitl_shared->mutex);
	return ok;
}

/* Was the worker's cancel a request to give way? */
bool
hitl_slot_take_give_way(HitlDatabaseSlot *slot)
{
	return take_flag(&slot->give_way);
}

/* Must the worker leave every model alone (DROP EXTENSION hitl)? */
bool
hitl_slot_holds_off(HitlDatabaseSlot *slot)
{
	bool		hold_off;

	SpinLockAcquire(&hitl_shared->mutex);
	hold_off = hitl_slot_gives_way(slot, InvalidOid);
	SpinLockRelease(&hitl_shared->mutex);
	return hold_off;
}

/* hitl is not in the slot's database */
void
hitl_slot_mark_absent(HitlDatabaseSlot *slot)
{
	SpinLockAcquire(&hitl_shared->mutex);
	if (!slot->work && !slot->look_all)
		slot->absent = true;
	SpinLockRelease(&hitl_shared->mutex);
}

/* Free the slot when the worker is to leave (see shared.h) */
bool
hitl_slot_release_if_idle(HitlDatabaseSlot *slot, TimestampTz last_work,
						  TimestampTz retry_at, bool *others_wait)
{
	bool		leave;

	SpinLockAcquire(&hitl_shared->mutex);
	*others_wait = hitl_shared->nwaiting > 0;
	leave = *others_wait ||
		(!slot->work && !slot->look_all && !slot->dirty_all &&
		 slot->ndirty == 0 &&
		 TimestampDifferenceExceeds(last_work, GetCurrentTimestamp(),
									hitl_naptime * 1000));
	if (leave)
	{
		slot->retry_at = retry_at;
		clear_worker(slot);
	}
	SpinLockRelease(&hitl_shared->mutex);
	return leave;
}
