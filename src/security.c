/*
 * security.c
 *		Running hitl's work as another role: the model's owner for the
 *		worker's training and scoring, the owner of hitl's tables for the
 *		writes to them.
 *
 * This is what vacuum_rel() and RefreshMatViewByOid() do for a table's
 * owner: SetUserIdAndSecContext() with SECURITY_RESTRICTED_OPERATION (no
 * SET ROLE, no temporary objects, no session-level escape), NewGUCNestLevel()
 * so that AtEOXact_GUC() takes back whatever user code set, even with
 * set_config(..., false), and a search_path where nobody's schema comes
 * before pg_catalog.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "hitl.h"
#include "security.h"

/*
 * Run as role from here: restricted operation, a GUC nest level of its own,
 * the safe search_path.
 */
void
hitl_role_enter(HitlRoleScope *scope, Oid role)
{
	GetUserIdAndSecContext(&scope->saved_userid, &scope->saved_sec_context);
	SetUserIdAndSecContext(role,
						   scope->saved_sec_context | SECURITY_RESTRICTED_OPERATION);
	scope->nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", HITL_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/* Roll back the settings changed in the scope, and take back the role */
void
hitl_role_exit(HitlRoleScope *scope)
{
	AtEOXact_GUC(false, scope->nestlevel);
	SetUserIdAndSecContext(scope->saved_userid, scope->saved_sec_context);
}

/* The owner of hitl's tables: the owner of hitl.models */
Oid
hitl_catalog_owner(void)
{
	Oid			nsp = get_namespace_oid(HITL_SCHEMA, false);
	Oid			relid = get_relname_relid("models", nsp);
	HeapTuple	tuple;
	Oid			owner;

	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!OidIsValid(relid) || !HeapTupleIsValid(tuple))
		elog(ERROR, "hitl: table hitl.models is missing");
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

/* Enter a scope as the owner of hitl's tables */
void
hitl_catalog_enter(HitlRoleScope *scope)
{
	hitl_role_enter(scope, hitl_catalog_owner());
}
