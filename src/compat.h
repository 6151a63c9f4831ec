/*
 * compat.h
 *		Differences between the PostgreSQL major versions hitl is written
 *		for (15-18; its tests run on 15 and 18, and it compiles against 17).
 *
 * Every #if PG_VERSION_NUM of the project lives here, as macros or static
 * inline functions under one name, so that the .c files read the same on
 * every version.
 */
#ifndef HITL_COMPAT_H
#define HITL_COMPAT_H

#include "postgres.h"

#include "miscadmin.h"
#include "storage/itemptr.h"

/* its views read as their reader (security_invoker), which came in 15 */
#if PG_VERSION_NUM < 150000
#error "hitl requires PostgreSQL 15 or later"
#endif

/*
 * pg_noreturn, written before a declaration, replaced the trailing
 * pg_attribute_noreturn() in 18; before, the attribute (GCC's
 * __attribute__((noreturn)) where there is one) is valid there too.
 */
#if PG_VERSION_NUM < 180000
#define pg_noreturn pg_attribute_noreturn()
#endif

/*
 * Install fn as shmem_request_hook (in which shared memory is requested
 * from 15 on) and return the hook it replaces, which fn calls first when
 * set.  One name for it, should a later version change how it is done.
 */
static inline shmem_request_hook_type
hitl_hook_shmem_request(shmem_request_hook_type fn)
{
	shmem_request_hook_type prev = shmem_request_hook;

	shmem_request_hook = fn;
	return prev;
}

/* varatt.h was split out of postgres.h in 16 */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/* ProcessUtility_hook's parameters (readOnlyTree came in 14) */
#define HITL_UTILITY_PARAMS \
	PlannedStmt *pstmt, const char *queryString, bool readOnlyTree, \
	ProcessUtilityContext context, ParamListInfo params, \
	QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc
#define HITL_UTILITY_ARGS \
	pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc

/* index_insert() (indexUnchanged came in 14) */
#define hitl_index_insert(index, values, isnull, tid, heap, check, info) \
	index_insert(index, values, isnull, tid, heap, check, false, info)

/* tid Datum conversions became functions of storage/itemptr.h in 16 */
#if PG_VERSION_NUM < 160000
#define DatumGetItemPointer(X) ((ItemPointer) DatumGetPointer(X))
#define ItemPointerGetDatum(X) PointerGetDatum(X)
#define PG_GETARG_ITEMPOINTER(n) DatumGetItemPointer(PG_GETARG_DATUM(n))
#endif

/* stringToQualifiedNameList() gained a soft-error context in 16 */
#if PG_VERSION_NUM >= 160000
#define hitl_qualified_name_list(string) stringToQualifiedNameList(string, NULL)
#else
#define hitl_qualified_name_list(string) stringToQualifiedNameList(string)
#endif

/*
 * pg_namespace_aclcheck() and its kin became object_aclcheck() with the
 * catalog's OID in 16
 */
#if PG_VERSION_NUM >= 160000
#include "catalog/pg_namespace.h"
#define hitl_namespace_aclcheck(nsp, role, mode) \
	object_aclcheck(NamespaceRelationId, nsp, role, mode)
#else
#define hitl_namespace_aclcheck(nsp, role, mode) \
	pg_namespace_aclcheck(nsp, role, mode)
#endif

/* getIdentitySequence() takes the open relation, not its OID, from 17 */
#if PG_VERSION_NUM >= 170000
#define hitl_identity_sequence(rel, attnum, missing_ok) \
	getIdentitySequence(rel, attnum, missing_ok)
#else
#define hitl_identity_sequence(rel, attnum, missing_ok) \
	getIdentitySequence(RelationGetRelid(rel), attnum, missing_ok)
#endif

/*
 * RelationGetPrimaryKeyIndex() gained deferrable_ok in 18; before, it never
 * returned a deferrable primary key, as with deferrable_ok false
 */
#if PG_VERSION_NUM >= 180000
#define hitl_primary_key_index(rel) RelationGetPrimaryKeyIndex(rel, false)
#else
#define hitl_primary_key_index(rel) RelationGetPrimaryKeyIndex(rel)
#endif

#endif
