/*
 * wait.c
 *		hitl.wait(): block until every label committed before the call is in
 *		a trained version whose scores are written (and, when asked, its
 *		cross-validation, which the worker does after the scoring, is done).
 *
 * It sleeps on the condition variable the workers broadcast after each
 * commit, checking the model's row with a fresh snapshot each time it is
 * woken (and at least every second), so it neither polls hard nor misses a
 * wake-up.  The model's progress is read as the worker reads it
 * (catalog_read_progress), as the calling role.
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "shared.h"
#include "spi_check.h"

/* The longest sleep between two looks, whatever the broadcasts */
#define WAIT_RECHECK_MS 1000

static TimestampTz wait_deadline(Interval *timeout);
static void read_progress(const char *name, bool first, ModelProgress *p);
static bool check_progress(const char *name, const ModelProgress *p,
						   int64 target, bool cross_validated, TimestampTz started);

/*
 * The end of a wait of timeout from now; 22023 when it is negative.
 */
static TimestampTz
wait_deadline(Interval *timeout)
{
	double		timeout_s;

	timeout_s = DatumGetFloat8(DirectFunctionCall2(interval_part,
												   CStringGetTextDatum("epoch"),
												   IntervalPGetDatum(timeout)));
	if (timeout_s < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout must not be negative")));
	return TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
									   (int64) (Min(timeout_s, 1e9) * 1000.0));
}

/*
 * Read the model's progress, as the caller (the first time also counting
 * its label log); 42704 when it was dropped meanwhile.
 */
static void
read_progress(const char *name, bool first, ModelProgress *p)
{
	if (!catalog_read_progress(name, first, true, p))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" was dropped while waiting", name)));
}

/*
 * Is the wait over: every entry of the label log up to target is in the
 * trained version, whose scores are written (and, with cross_validated,
 * whose cross-validation is not pending)?  Raises an error when the model
 * is broken, or failed since the wait started.
 */
static bool
check_progress(const char *name, const ModelProgress *p, int64 target,
			   bool cross_validated, TimestampTz started)
{
	if (p->status == MODEL_BROKEN)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" is broken", name),
				 errdetail("%s", p->last_error ? p->last_error : "no detail"),
				 errhint("Drop the model and create it again.")));
	if (p->processed_labels >= target && p->scored_version == p->current_version &&
		!(cross_validated && p->cv_pending))
		return true;
	if (p->status == MODEL_FAILED && p->failed_at >= started)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" failed while waiting: %s", name,
						p->last_error ? p->last_error : "unknown error"),
				 errhint("The worker retries it with a back-off; see hitl.models.")));
	return false;
}

PG_FUNCTION_INFO_V1(hitl_wait);

/*
 * hitl.wait(model text, timeout interval, cross_validated boolean) returns
 * integer: the version whose scores are in the table (NULL when the model
 * has too few labels to train).  0.1.0's hitl.wait(text, interval) calls
 * it without the third argument, until the extension is updated.
 */
Datum
hitl_wait(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz deadline;
	TimestampTz started = GetCurrentTimestamp();
	int64		target = 0;
	ModelProgress p;
	bool		first_look = true;
	bool		cross_validated = PG_NARGS() > 2 && PG_GETARG_BOOL(2);
	HitlModel  *model;
	bool		distributed;

	if (!hitl_shared_available())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("hitl's background workers are not running"),
				 errhint("Add hitl to shared_preload_libraries and restart the server, or call hitl.train() and hitl.score() yourself.")));
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("hitl.wait() cannot run in a REPEATABLE READ or SERIALIZABLE transaction"),
				 errdetail("Its snapshot would never show the worker's progress.")));
	deadline = wait_deadline(PG_GETARG_INTERVAL_P(1));

	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	model = catalog_load_model(name, CurrentMemoryContext);	/* exists, visible */
	distributed = catalog_citus_distributed(model->source);

	/*
	 * The labels committed before this call: all of them, as the worker
	 * counts them, at the first look.  No wake-up of a running worker here:
	 * the label commits woke it already, and a wake would restart its wait
	 * for the end of the burst.  But when the model is behind and the
	 * database has no worker (it left, idle, before a retry was due, or was
	 * stopped), have one started.
	 */
	ConditionVariablePrepareToSleep(&hitl_shared->progress);
	for (;;)
	{
		long		remaining;

		read_progress(name, first_look, &p);
		if (first_look)
		{
			/*
			 * a distributed table: also the entries the worker nodes logged,
			 * which the worker takes from them
			 */
			target = distributed ? catalog_citus_wait_target(name) : p.logged;
			if (p.processed_labels < target || p.scored_version != p.current_version ||
				(cross_validated && p.cv_pending))
				hitl_ensure_worker(MyDatabaseId);
		}
		first_look = false;
		if (check_progress(name, &p, target, cross_validated, started))
			break;
		remaining = (long) (TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline));
		if (remaining <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("timed out waiting for model \"%s\"", name),
					 errdetail("The trained version includes " INT64_FORMAT " of the " INT64_FORMAT " label log entries to wait for; version %d is trained, version %d scored; status %s%s%s.",
							   p.processed_labels, target, p.current_version,
							   p.scored_version, catalog_status_name(p.status),
							   p.last_error ? ", last error: " : "",
							   p.last_error ? p.last_error : ""),
					 errhint("Check that hitl.enabled is on, and look for the model's errors in the server log.")));
		(void) ConditionVariableTimedSleep(&hitl_shared->progress,
										   Min(remaining, WAIT_RECHECK_MS),
										   PG_WAIT_EXTENSION);
		CHECK_FOR_INTERRUPTS();
	}
	ConditionVariableCancelSleep();
	SPI_finish();
	if (p.current_version == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(p.current_version);
}
