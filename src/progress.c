/*
 * progress.c
 *		The progress of long work: each backend (user sessions running
 *		hitl.train or hitl.score, and hitl's workers) publishes what it does
 *		(model, phase, rows done and total, start, pid) in a slot of its own
 *		in shared memory, and hitl._progress() reads every slot of the
 *		current database for the view hitl.progress.
 *
 * PostgreSQL's pg_stat_progress_* views know a fixed set of commands only,
 * hence slots of our own: one per backend, indexed by the backend's place in
 * ProcGlobal->allProcs (the first MaxBackends places are those of the
 * backends and background workers), so no two backends ever write one slot.
 * A slot is written by its backend alone, between two increments of a change
 * counter (odd while a write is under way), and readers copy it without a
 * lock, again until the counter was the same even value before and after
 * the copy: the way pgstat publishes backend activity.
 *
 * A report is cleared by hitl_progress_end, and by the abort of the
 * (sub)transaction that began it and at the backend's exit, so an ERROR
 * never leaves a stale row.  A scoring that commits between batches keeps
 * its report across the commits.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_class.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "hitl.h"
#include "progress.h"

/* One backend's report; pid 0: none */
typedef struct HitlProgressSlot
{
	uint32		changecount;	/* odd while being written */
	pid_t		pid;
	Oid			dboid;
	Oid			source;			/* the model's table */
	Oid			owner;			/* the model's owner (0: role gone) */
	int32		phase;
	int64		done;
	int64		total;
	TimestampTz started_at;
	char		model[HITL_MODEL_NAME_LEN];
} HitlProgressSlot;

/* Names of the phases, in the order of HitlPhase */
static const char *const phase_names[] = {
	"reading", "training", "cross-validating", "scoring", "writing"
};

/* The slots, MaxBackends of them (NULL when hitl is not preloaded) */
static HitlProgressSlot *slots = NULL;
static int	nslots = 0;

/* Nested reports kept track of (deeper ones count as one more level) */
#define MAX_NESTING 8

/*
 * This backend's report: its slot, the nesting of hitl_progress_begin
 * calls, and the (sub)transaction level of each.
 */
static HitlProgressSlot *my_slot = NULL;
static int	depth = 0;
static int	begin_levels[MAX_NESTING];
static bool callbacks_registered = false;

static HitlProgressSlot *own_slot(void);
static void clear_report(void);
static void progress_xact_callback(XactEvent event, void *arg);
static void progress_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
									  SubTransactionId parentSubid, void *arg);
static void progress_exit(int code, Datum arg);
static int64 table_estimate(Oid relid);
static bool copy_slot(const volatile HitlProgressSlot *src, HitlProgressSlot *dst);
static bool may_see(const HitlProgressSlot *s);

/* Open and close a write of the current backend's slot */
#define SLOT_WRITE_BEGIN(s) \
	do { (s)->changecount++; pg_write_barrier(); } while (0)
#define SLOT_WRITE_END(s) \
	do { pg_write_barrier(); (s)->changecount++; } while (0)

/* Shared memory for one slot per backend */
Size
hitl_progress_shmem_size(void)
{
	return mul_size(MaxBackends, sizeof(HitlProgressSlot));
}

/* Make or attach the slots (shmem_startup_hook, under AddinShmemInitLock) */
void
hitl_progress_shmem_startup(void)
{
	bool		found;

	slots = ShmemInitStruct("hitl progress", hitl_progress_shmem_size(), &found);
	nslots = MaxBackends;
	if (!found)
		memset(slots, 0, hitl_progress_shmem_size());
}

/* This backend's slot, NULL without shared memory or outside the backends */
static HitlProgressSlot *
own_slot(void)
{
	int			i;

	if (slots == NULL || MyProc == NULL)
		return NULL;
	i = (int) (MyProc - ProcGlobal->allProcs);
	if (i < 0 || i >= nslots)
		return NULL;
	return &slots[i];
}

/* Clear this backend's report */
static void
clear_report(void)
{
	depth = 0;
	if (my_slot == NULL)
		return;
	SLOT_WRITE_BEGIN(my_slot);
	my_slot->pid = 0;
	SLOT_WRITE_END(my_slot);
	my_slot = NULL;
}

/* An aborted transaction clears the report */
static void
progress_xact_callback(XactEvent event, void *arg)
{
	if (depth > 0 && (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT))
		clear_report();
}

/*
 * An aborted subtransaction ends the reports begun in it (or deeper), and
 * clears the report when none is left.
 */
static void
progress_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();

	if (depth == 0 || event != SUBXACT_EVENT_ABORT_SUB)
		return;
	while (depth > 0 && begin_levels[Min(depth, MAX_NESTING) - 1] >= level)
		depth--;
	if (depth == 0)
		clear_report();
}

/* The backend leaves: clear its report */
static void
progress_exit(int code, Datum arg)
{
	clear_report();
}

/* The planner's estimate of the rows of a table (0: unknown) */
static int64
table_estimate(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	double		reltuples = 0;

	if (!HeapTupleIsValid(tuple))
		return 0;
	reltuples = ((Form_pg_class) GETSTRUCT(tuple))->reltuples;
	ReleaseSysCache(tuple);
	return reltuples > 0 ? (int64) reltuples : 0;
}

/*
 * Start reporting work on a model, phase reading; a nested call keeps the
 * outer report.
 */
void
hitl_progress_begin(const char *model, Oid relid, Oid owner)
{
	HitlProgressSlot *s;

	if (depth < MAX_NESTING)
		begin_levels[depth] = GetCurrentTransactionNestLevel();
	if (depth++ > 0)
		return;
	s = own_slot();
	if (s == NULL)
		return;
	if (!callbacks_registered)
	{
		RegisterXactCallback(progress_xact_callback, NULL);
		RegisterSubXactCallback(progress_subxact_callback, NULL);
		before_shmem_exit(progress_exit, (Datum) 0);
		callbacks_registered = true;
	}
	my_slot = s;
	SLOT_WRITE_BEGIN(s);
	s->pid = MyProcPid;
	s->dboid = MyDatabaseId;
	s->source = relid;
	s->owner = owner;
	s->phase = HITL_PHASE_READING;
	s->done = 0;
	s->total = table_estimate(relid);
	s->started_at = GetCurrentTimestamp();
	strlcpy(s->model, model, HITL_MODEL_NAME_LEN);
	SLOT_WRITE_END(s);
}

/* The work is over: clear the report when the outermost work ends */
void
hitl_progress_end(void)
{
	if (depth > 0 && --depth == 0)
		clear_report();
}

/* Enter a phase, done 0 of total */
void
hitl_progress_phase(HitlPhase phase, int64 total)
{
	if (my_slot == NULL)
		return;
	SLOT_WRITE_BEGIN(my_slot);
	my_slot->phase = phase;
	my_slot->done = 0;
	my_slot->total = Max(total, 0);
	SLOT_WRITE_END(my_slot);
}

/* Rows (iterations, folds) done in the phase; the total grows to match */
void
hitl_progress_done(int64 done)
{
	if (my_slot == NULL)
		return;
	SLOT_WRITE_BEGIN(my_slot);
	my_slot->done = done;
	if (my_slot->total < done)
		my_slot->total = done;
	SLOT_WRITE_END(my_slot);
}

/* The phase's total, once known */
void
hitl_progress_total(int64 total)
{
	if (my_slot == NULL)
		return;
	SLOT_WRITE_BEGIN(my_slot);
	my_slot->total = Max(total, my_slot->done);
	SLOT_WRITE_END(my_slot);
}

/*
 * Copy a slot another backend may be writing; false when the copy caught a
 * write under way (try again).
 */
static bool
copy_slot(const volatile HitlProgressSlot *src, HitlProgressSlot *dst)
{
	uint32		before = src->changecount;

	pg_read_barrier();
	memcpy(dst, (const HitlProgressSlot *) src, sizeof(HitlProgressSlot));
	pg_read_barrier();
	return (before & 1) == 0 && before == src->changecount;
}

/*
 * May the current role see the model of a report?  As the policy
 * models_read of hitl.models says: members of the model's owner, and the
 * roles that may read its table.
 */
static bool
may_see(const HitlProgressSlot *s)
{
	bool		missing = false;

	if (OidIsValid(s->owner) && has_privs_of_role(GetUserId(), s->owner))
		return true;
	return pg_class_aclcheck_ext(s->source, GetUserId(), ACL_SELECT, &missing) == ACLCHECK_OK &&
		!missing;
}

PG_FUNCTION_INFO_V1(hitl_progress);

/*
 * hitl._progress() returns setof (model, phase, rows_done, rows_total,
 * started_at, pid): the reports of the current database's backends, on
 * the models the current role may see.
 */
Datum
hitl_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < nslots; i++)
	{
		HitlProgressSlot s;
		Datum		values[6];
		bool		nulls[6] = {false};

		while (!copy_slot(&slots[i], &s))
			CHECK_FOR_INTERRUPTS();
		if (s.pid == 0 || s.dboid != MyDatabaseId ||
			s.phase < 0 || s.phase > HITL_PHASE_WRITING || !may_see(&s))
			continue;
		s.model[HITL_MODEL_NAME_LEN - 1] = '\0';
		values[0] = CStringGetTextDatum(s.model);
		values[1] = CStringGetTextDatum(phase_names[s.phase]);
		values[2] = Int64GetDatum(s.done);
		values[3] = Int64GetDatum(s.total);
		values[4] = TimestampTzGetDatum(s.started_at);
		values[5] = Int32GetDatum(s.pid);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
