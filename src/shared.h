/*
 * shared.h
 *		State shared by the launcher, the database workers and the backends:
 *		which database wants a worker and which has one, how to wake it, how
 *		to make it give way to a command, and how to wait for it.
 *
 * It exists only when hitl is in shared_preload_libraries; without it every
 * function here is a harmless no-op and hitl_shared_available() says so.
 */
#ifndef HITL_SHARED_H
#define HITL_SHARED_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/spin.h"

/* Databases hitl keeps track of at once (and the cap of hitl.max_workers) */
#define HITL_MAX_DATABASES 64

/* Tables a slot remembers as changed; more, and every model is rescored */
#define HITL_MAX_DIRTY_TABLES 32

/* Commands in progress a worker gives way to, per database */
#define HITL_MAX_GIVE_WAY 16

/*
 * A command in progress (ALTER TABLE, TRUNCATE, drop_model, DROP EXTENSION,
 * ...) that the worker must not compete with for locks: until the
 * transaction of backend pid ends, the worker leaves the models of relid
 * alone (of every table when relid is InvalidOid).
 */
typedef struct HitlGiveWay
{
	pid_t		pid;			/* 0: free entry */
	Oid			relid;
} HitlGiveWay;

typedef struct HitlDatabaseSlot
{
	Oid			dboid;			/* InvalidOid: free slot */
	NameData	datname;		/* for messages; empty until the launcher saw it */
	pid_t		pid;			/* its worker, 0 when none runs */
	Latch	   *latch;			/* the worker's latch while it runs */
	bool		work;			/* labels or rows changed since it last looked */
	bool		look_all;		/* look at (and rescore) every model: after a
								 * start, hitl.enabled turned on, or a worker
								 * that did not finish */
	bool		dirty_all;		/* rescore every model */
	int			ndirty;
	Oid			dirty[HITL_MAX_DIRTY_TABLES];	/* tables whose rows changed */
	TimestampTz retry_at;		/* a model's retry is due then (0: none) */
	bool		absent;			/* no hitl in that database: start no worker */
	bool		dropping;		/* DROP/CREATE DATABASE under way: keep out */
	/* what the worker works on, and the commands it gives way to */
	Oid			current_relid;	/* the table of the model it works on */
	bool		give_way;		/* the cancel it gets is a request to give way */
	HitlGiveWay give_ways[HITL_MAX_GIVE_WAY];
} HitlDatabaseSlot;

typedef struct HitlShared
{
	slock_t		mutex;			/* protects everything but the CV */
	pid_t		launcher_pid;
	Latch	   *launcher_latch;
	bool		rescan;			/* the launcher should look at pg_database */
	int			nwaiting;		/* databases waiting for a free worker */
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
 * caller holds); NULL when every slot is taken.  A new slot asks for a look
 * at every model.
 */
extern HitlDatabaseSlot *hitl_slot_for(Oid dboid, bool create);

/* Does a slot want a worker started now (under the mutex)? */
extern bool hitl_slot_wants_worker(HitlDatabaseSlot *slot, TimestampTz now);

/*
 * Wake this database's worker when the current transaction commits, to look
 * at the models of a table whose labels or rows changed (InvalidOid: at
 * every model).  A rollback wakes nobody.  Safe to call often.
 */
extern void hitl_wake_at_commit(Oid relid);

/*
 * Wake a database's worker now, or have the launcher start one, telling it
 * which tables changed (rels, n of them; all: every table).
 */
extern void hitl_wake_database(Oid dboid, const Oid *rels, int nrels, bool all);

/* Have the launcher start a worker for a database that has none (hitl.wait) */
extern void hitl_ensure_worker(Oid dboid);

/* Ask the launcher to look for databases (CREATE EXTENSION hitl) */
extern void hitl_wake_launcher(void);

/* Tell waiters (hitl.wait) that a worker committed work */
extern void hitl_broadcast_progress(void);

/*
 * Make this database's worker give way to the current transaction: it
 * drops what it is doing on the models of relid (every model with
 * InvalidOid) now and, with hold, leaves them alone until the transaction
 * ends.
 */
extern void hitl_give_way(Oid relid, bool hold);

/*
 * For the worker: must it leave the models of relid alone now (a command
 * asked it to give way)?  Under the mutex.
 */
extern bool hitl_slot_gives_way(HitlDatabaseSlot *slot, Oid relid);

#endif
