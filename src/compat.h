/*
 * compat.h
 *		Differences between the PostgreSQL major versions hitl supports (13-17).
 *
 * Every #if PG_VERSION_NUM of the project lives here.
 */
#ifndef HITL_COMPAT_H
#define HITL_COMPAT_H

#include "postgres.h"

#include "miscadmin.h"
#include "storage/itemptr.h"

#if PG_VERSION_NUM < 130000
#error "hitl requires PostgreSQL 13 or later"
#endif

/* MarkGUCPrefixReserved() replaced EmitWarningsOnPlaceholders() in 15 */
#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

/*
 * shmem_request_hook came in 15, and shared memory must be requested in it
 * from then on; before, it is requested in _PG_init directly.  Hook fn
 * (15 and later) or run it at once (before); returns the hook it replaces
 * (NULL before 15), which fn calls first when set.
 */
#if PG_VERSION_NUM >= 150000
static inline shmem_request_hook_type
hitl_hook_shmem_request(shmem_request_hook_type fn)
{
	shmem_request_hook_type prev = shmem_request_hook;

	shmem_request_hook = fn;
	return prev;
}
#else
typedef void (*shmem_request_hook_type) (void);

static inline shmem_request_hook_type
hitl_hook_shmem_request(shmem_request_hook_type fn)
{
	fn();
	return NULL;
}
#endif

/* varatt.h was split out of postgres.h in 16 */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/* ProcessUtility_hook gained readOnlyTree in 14 */
#if PG_VERSION_NUM >= 140000
#define HITL_UTILITY_PARAMS \
	PlannedStmt *pstmt, const char *queryString, bool readOnlyTree, \
	ProcessUtilityContext context, ParamListInfo params, \
	QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc
#define HITL_UTILITY_ARGS \
	pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc
#else
#define HITL_UTILITY_PARAMS \
	PlannedStmt *pstmt, const char *queryString, \
	ProcessUtilityContext context, ParamListInfo params, \
	QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc
#define HITL_UTILITY_ARGS \
	pstmt, queryString, context, params, queryEnv, dest, qc
#endif

/* index_insert() gained indexUnchanged in 14 */
#if PG_VERSION_NUM >= 140000
#define hitl_index_insert(index, values, isnull, tid, heap, check, info) \
	index_insert(index, values, isnull, tid, heap, check, false, info)
#else
#define hitl_index_insert(index, values, isnull, tid, heap, check, info) \
	index_insert(index, values, isnull, tid, heap, check, info)
#endif

/* tid Datum conversions became functions of storage/itemptr.h in 16 */
#if PG_VERSION_NUM < 160000
#define DatumGetItemPointer(X) ((ItemPointer) DatumGetPointer(X))
#define ItemPointerGetDatum(X) PointerGetDatum(X)
#define PG_GETARG_ITEMPOINTER(n) DatumGetItemPointer(PG_GETARG_DATUM(n))
#endif

#endif
