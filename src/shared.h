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

/* Wake it at commit for a round that rescores only the models that ask */
extern void hitl_wake_work_at_commit(void);

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

/* ------------------------------------------------------------------------
 * A database worker's side of its slot (each under the mutex, taken here)
 * ------------------------------------------------------------------------ */

/*
 * Take the slot of a database for the calling worker; NULL when another
 * worker has it or the database is being dropped.  *retry_at gets the
 * retry the worker was started for (0: none), taken from the slot.
 */
extern HitlDatabaseSlot *hitl_slot_attach(Oid dboid, TimestampTz *retry_at);

/*
 * Free the slot at the worker's exit.  A worker that did not leave idle is
 * replaced: one stopped in the middle of a round makes the next look at
 * every model; one stopped between rounds, at the models whose labels
 * moved.
 */
extern void hitl_slot_detach(HitlDatabaseSlot *slot, bool idle, bool in_round);

/*
 * Take the slot's wake-ups: labels moved (*work), every model to look at
 * (*look_all), tables whose rows changed (*dirty, kept for
 * hitl_slot_take_dirty).
 */
extern void hitl_slot_take_wakes(HitlDatabaseSlot *slot, bool *work,
								 bool *look_all, bool *dirty);

/* Did labels move again since the last take?  Clears it. */
extern bool hitl_slot_take_work(HitlDatabaseSlot *slot);

/*
 * Take the tables whose rows changed (changed: HITL_MAX_DIRTY_TABLES
 * entries); returns how many, *all when every table is to be rescored.
 */
extern int	hitl_slot_take_dirty(HitlDatabaseSlot *slot, Oid *changed, bool *all);

/*
 * Say which table the worker works on now (InvalidOid: none).  False, and
 * none, when a command asked it to leave that table alone.
 */
extern bool hitl_slot_set_current(HitlDatabaseSlot *slot, Oid relid);

/* Was the cancel the worker got a request to give way?  Clears it. */
extern bool hitl_slot_take_give_way(HitlDatabaseSlot *slot);

/* Must the worker leave every model alone now (DROP EXTENSION hitl)? */
extern bool hitl_slot_holds_off(HitlDatabaseSlot *slot);

/*
 * hitl is not installed in the slot's database: start no worker there.  Not
 * when a wake came since the wake-ups were last taken (CREATE EXTENSION hitl
 * may have committed after the worker looked): the slot then keeps its work,
 * and the next worker looks again.
 */
extern void hitl_slot_mark_absent(HitlDatabaseSlot *slot);

/*
 * Free the slot when the worker is to leave: at once when another database
 * waits for a worker (*others_wait), or after hitl.naptime since last_work
 * with no work left.  The slot keeps retry_at.  Decided under the mutex: a
 * wake that comes first is not lost, one that comes after goes to the
 * launcher.  True when the worker must leave.
 */
extern bool hitl_slot_release_if_idle(HitlDatabaseSlot *slot, TimestampTz last_work,
									  TimestampTz retry_at, bool *others_wait);


#endif
