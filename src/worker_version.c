/*
 * worker_version.c
 *		What the database worker does around a version it trains: its log
 *		line, and its stopping signal once the version is scored.
 *
 * A version the worker trains gets its stopping signal (train_stopping.c)
 * after its scoring, not when it is recorded: the signal reads a sample of
 * the table and predicts it, and the review queue need not wait for that.
 * The table then holds the new version's predictions, so the previous ones
 * are computed from the version that had scored the table when the new one
 * was trained, remembered here until the scoring is done.  What is
 * remembered lives as long as the worker: a worker that ends between a
 * training and its scoring (a crash, pg_terminate_backend) leaves that
 * version without a signal.
 */
#include "postgres.h"

#include <math.h>

#include "nodes/pg_list.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "train.h"
#include "worker_version.h"

/* A version waiting for its stopping signal */
typedef struct PendingSignal
{
	char		name[NAMEDATALEN];
	int			version;
	int			compared;
} PendingSignal;

/* The versions waiting, in the worker's lifetime */
static List *pending = NIL;
static MemoryContext pending_cxt = NULL;

void
worker_log_new_version(const char *name, const char *dbname, int previous,
					   bool crossvalidated)
{
	VersionSummary v;
	char		accuracy[64];

	if (!catalog_current_version_summary(name, &v))
		return;
	if (crossvalidated)
	{
		if (v.version != previous)
			return;
		if (isnan(v.cv_accuracy))
			strlcpy(accuracy, "not cross-validated (too few rows)", sizeof(accuracy));
		else
			snprintf(accuracy, sizeof(accuracy), "cv accuracy %.4f", v.cv_accuracy);
		ereport(LOG,
				(errmsg("hitl: model \"%s\" of database \"%s\": version %d cross-validated after its scoring in %.0f ms, %s",
						name, dbname, v.version, v.cv_deferred_ms, accuracy)));
		return;
	}
	if (v.version <= previous)
		return;					/* no new version (nothing it learns changed) */
	if (v.cv_pending)
		strlcpy(accuracy, "cross-validated after its scoring", sizeof(accuracy));
	else if (isnan(v.cv_accuracy))
		strlcpy(accuracy, "not cross-validated", sizeof(accuracy));
	else
		snprintf(accuracy, sizeof(accuracy), "cv accuracy %.4f", v.cv_accuracy);
	ereport(LOG,
			(errmsg("hitl: model \"%s\" of database \"%s\": version %d trained on %d labels in %.0f ms, %s",
					name, dbname, v.version, v.n_labeled, v.train_ms, accuracy)));
}

void
worker_stop_signal_later(const char *name, int version, int compared)
{
	MemoryContext old;
	PendingSignal *ps;

	if (pending_cxt == NULL)
		pending_cxt = AllocSetContextCreate(TopMemoryContext, "hitl stop signals",
											ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(pending_cxt);
	ps = palloc0(sizeof(PendingSignal));
	strlcpy(ps->name, name, NAMEDATALEN);
	ps->version = version;
	ps->compared = compared;
	pending = lappend(pending, ps);
	MemoryContextSwitchTo(old);
}

bool
worker_stop_signal_waits(const char *name)
{
	ListCell   *lc;

	foreach(lc, pending)
	{
		if (strcmp(((PendingSignal *) lfirst(lc))->name, name) == 0)
			return true;
	}
	return false;
}

void
worker_stop_signal_now(const char *name)
{
	for (;;)
	{
		PendingSignal ps;
		ListCell   *lc;
		bool		found = false;

		foreach(lc, pending)
		{
			if (strcmp(((PendingSignal *) lfirst(lc))->name, name) == 0)
			{
				ps = *(PendingSignal *) lfirst(lc);
				pfree(lfirst(lc));
				pending = foreach_delete_current(pending, lc);
				found = true;
				break;
			}
		}
		if (!found)
			return;
		(void) train_stop_signal_after(ps.name, ps.version, ps.compared);
	}
}
