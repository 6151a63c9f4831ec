/*
 * subxact.c
 *		Running a piece of work in a subtransaction that may fail in one
 *		expected way (a lock timeout while scoring, too few labels while the
 *		worker trains), the way PL/pgSQL runs an exception block.
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "subxact.h"

/*
 * Run fn(arg) in an internal subtransaction; an error of the expected
 * SQLSTATE rolls it back and returns false, any other is re-thrown (see
 * subxact.h).  The caller's memory context and resource owner are current
 * again on return.
 */
bool
run_in_subtransaction(void (*fn) (void *arg), void *arg, int expected_sqlerrcode)
{
	return run_in_subtransaction_matching(fn, arg, expected_sqlerrcode, false);
}

/* See subxact.h */
bool
run_in_subtransaction_matching(void (*fn) (void *arg), void *arg, int expected,
							   bool category)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool done = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
		if ((category ? ERRCODE_TO_CATEGORY(edata->sqlerrcode) : edata->sqlerrcode) !=
			expected)
			ReThrowError(edata);
		FreeErrorData(edata);
		done = false;
	}
	PG_END_TRY();
	return done;
}
