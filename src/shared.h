/*
 * shared.h
 *		State shared by the launcher, the database workers and the backends:
 *		which database has a worker, how to wake it, and how to wait for it.
 *
 * It exists only when hitl is in shared_preload_libraries; without it every
 * function here is a harmless no-op and hitl_shared_available() says so.
 */
#ifndef HITL_SHARED_H
#define HITL_SHARED_H

#include "postgres.h"

#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/spin.h"

/* Databases that can have a worker at once */
#define HITL_MAX_DATABASES 64

/* Tables a slot remembers as changed; more, and every model is rescored */
#define HITL_MAX_DIRTY_TABLES 32

typedef struct HitlDatabaseSlot
{
	Oid			dboid;			/* InvalidOid: free slot */
	pid_t		pid;			/* its worker, 0 when none runs */
	Latch	   *latch;			/* the worker's latch while it runs */
	bool		work;			/* labels or rows changed since it last looked */
	bool		dirty_all;		/* rescore every model */
	int			ndirty;
	Oid			dirty[HITL_MAX_DIRTY_TABLES];	/* tables whose rows changed */
	bool		absent;			/* no hitl in that database: start no worker */
	bool		dropping;		/* DROP DATABASE under way: leave, do not return */
} HitlDatabaseSlot;

typedef struct HitlShared
{
	slock_t		mutex;			/* protects everything but the CV */
	pid_t		launcher_pid;
	Latch	   *launcher_latch;
	bool		rescan;			/* the launcher should look at pg_database */
	ConditionVariable progress; /* broadcast when a worker committed work */
	HitlDatabaseSlot dbs[HITL_MAX_DATABASES];
} HitlShared;

extern HitlShared *hitl_shared;

/* _PG_init, when preloading: ask for the shared memory and set it up */
extern void hitl_shared_init(void);

/* Is the shared state (and so the launcher and workers) there? */
extern bool hitl_shared_available(void);

/*
 * The slot of a database, made when missing (under the mutex, which the
 * caller holds); NULL when every slot is taken.
 */
extern HitlDatabaseSlot *hitl_slot_for(Oid dboid, bool create);

/*
 * Wake this database's worker when the current transaction commits, to look
 * at the models of a table whose labels or rows changed (InvalidOid: at
 * every model).  A rollback wakes nobody.  Safe to call often.
 */
extern void hitl_wake_at_commit(Oid relid);

/*
 * Wake a database's worker now (or have the launcher start one), telling it
 * which tables changed (rels, n of them; all: every table).
 */
extern void hitl_wake_database(Oid dboid, const Oid *rels, int nrels, bool all);

/* Ask the launcher to look for databases (CREATE EXTENSION hitl) */
extern void hitl_wake_launcher(void);

/* Tell waiters (hitl.wait) that a worker committed work */
extern void hitl_broadcast_progress(void);

#endif
