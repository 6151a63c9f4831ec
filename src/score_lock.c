/*
 * score_lock.c
 *		The lock that serialises the scorings of one model (declared in
 *		score.h).
 *
 * A transaction-level lock in the advisory lock space: class 0x6869746c,
 * the hash of the model's name, and a fourth field of 3, which the SQL
 * advisory functions never use (they use 1 and 2), so no role can hold it
 * off with pg_advisory_lock().  Scoring takes it (score.c), and so do
 * hitl._hold_scoring() for the roles that may change the model and
 * hitl.auto_label, so that no scoring moves the predictions it reads.  It
 * shows in pg_locks as an advisory lock with classid 1751741548 and
 * objsubid 3.  This file calls nothing else of hitl's, so that every file
 * may take the lock.
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/builtins.h"

#include "score.h"

/* advisory lock class serialising the scorings of one model */
#define SCORE_LOCK_CLASS 0x6869746c

void
score_lock(const char *name)
{
	LOCKTAG		tag;
	uint32		key = (uint32) DatumGetInt32(DirectFunctionCall1Coll(hashtext, C_COLLATION_OID,
																	 CStringGetTextDatum(name)));

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, SCORE_LOCK_CLASS, key, 3);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}
