/*
 * subxact.h
 *		Running a piece of work in a subtransaction that may fail in one
 *		expected way.
 */
#ifndef HITL_SUBXACT_H
#define HITL_SUBXACT_H

#include "postgres.h"

/*
 * Run fn(arg) in an internal subtransaction.  Returns true when it
 * completed; false when it failed with the SQLSTATE expected (its work is
 * then rolled back).  Any other error is re-thrown after the rollback.
 */
extern bool run_in_subtransaction(void (*fn) (void *arg), void *arg,
								  int expected_sqlerrcode);

/*
 * run_in_subtransaction, expecting the SQLSTATE expected or, with
 * category, any of its class (expected is then a class, such as
 * ERRCODE_DATA_EXCEPTION)
 */
extern bool run_in_subtransaction_matching(void (*fn) (void *arg), void *arg, int expected,
										   bool category);

#endif
