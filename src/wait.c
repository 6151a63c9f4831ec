/*
 * wait.c
 *		hitl.wait(): block until every label committed before the call is in
 *		a trained version whose scores are written.
 *
 * It sleeps on the condition variable the workers broadcast after each
 * commit, checking the model's row with a fresh snapshot each time it is
 * woken (and at least every second), so it neither polls hard nor misses a
 * wake-up.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "security.h"
#include "shared.h"

/* The longest sleep between two looks, whatever the broadcasts */
#define WAIT_RECHECK_MS 1000

typedef struct ModelProgress
{
	int64		processed_labels;
	int			current_version;	/* 0 when none */
	int			scored_version;		/* 0 when none */
	char	   *status;
	char	   *last_error;
	TimestampTz failed_at;		/* 0 when never */
} ModelProgress;

static void
read_progress(const char *name, ModelProgress *p)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	Datum		d;
	int			ret;

	values[0] = CStringGetTextDatum(name);
	ret = SPI_execute_with_args("SELECT processed_labels, coalesce(current_version, 0),"
								" coalesce(scored_version, 0), status, last_error,"
								" coalesce(failed_at, '-infinity')"
								" FROM hitl.models WHERE name = $1",
								1, argtypes, values, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "hitl: reading the model failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" was dropped while waiting", name)));
	p->processed_labels = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	p->current_version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	p->scored_version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	p->status = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull);
	p->last_error = isnull ? NULL : TextDatumGetCString(d);
	p->failed_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 6, &isnull));
}

PG_FUNCTION_INFO_V1(hitl_wait);

/*
 * hitl.wait(model text, timeout interval) returns integer: the version whose
 * scores are in the table (NULL when the model has too few labels to train).
 */
Datum
hitl_wait(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Interval   *timeout = PG_GETARG_INTERVAL_P(1);
	double		timeout_s;
	TimestampTz deadline;
	TimestampTz started = GetCurrentTimestamp();
	int64		target;
	ModelProgress p;
	bool		first_look = true;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	HitlRoleScope scope;
	int			ret;

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
	timeout_s = DatumGetFloat8(DirectFunctionCall2(interval_part,
												   CStringGetTextDatum("epoch"),
												   IntervalPGetDatum(timeout)));
	if (timeout_s < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout must not be negative")));
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										   (int64) (Min(timeout_s, 1e9) * 1000.0));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "hitl: SPI_connect failed");
	(void) catalog_load_model(name, CurrentMemoryContext);	/* exists, visible */

	/*
	 * The labels committed before this call: all of them, as the worker
	 * counts them (a count read past the log's row-level security, which
	 * shows a tenant only its own rows' entries; only the number is used).
	 */
	values[0] = CStringGetTextDatum(name);
	hitl_catalog_enter(&scope);
	ret = SPI_execute_with_args("SELECT pg_catalog.count(*) FROM hitl.label_log"
								" WHERE model OPERATOR(pg_catalog.=) $1",
								1, argtypes, values, NULL, false, 1);
	hitl_role_exit(&scope);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "hitl: reading the label log failed: %s", SPI_result_code_string(ret));
	target = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	/*
	 * No wake-up of a running worker here: the label commits woke it
	 * already, and a wake would restart its wait for the end of the burst.
	 * But when the model is behind and the database has no worker (it left,
	 * idle, before a retry was due, or was stopped), have one started.
	 */
	ConditionVariablePrepareToSleep(&hitl_shared->progress);
	for (;;)
	{
		long		remaining;

		read_progress(name, &p);
		if (first_look && (p.processed_labels < target ||
						   p.scored_version != p.current_version))
			hitl_ensure_worker(MyDatabaseId);
		first_look = false;
		if (strcmp(p.status, "broken") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("model \"%s\" is broken", name),
					 errdetail("%s", p.last_error ? p.last_error : "no detail"),
					 errhint("Drop the model and create it again.")));
		if (p.processed_labels >= target && p.scored_version == p.current_version)
			break;
		if (strcmp(p.status, "failed") == 0 && p.failed_at >= started)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("model \"%s\" failed while waiting: %s", name,
							p.last_error ? p.last_error : "unknown error"),
					 errhint("The worker retries it with a back-off; see hitl.models.")));
		remaining = (long) (TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline));
		if (remaining <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("timed out waiting for model \"%s\"", name),
					 errdetail("The trained version includes " INT64_FORMAT " of the " INT64_FORMAT " label log entries to wait for; version %d is trained, version %d scored; status %s%s%s.",
							   p.processed_labels, target, p.current_version,
							   p.scored_version, p.status,
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
