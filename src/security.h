/*
 * security.h
 *		Running hitl's work as another role, the way PostgreSQL's maintenance
 *		commands run on behalf of a table's owner.
 *
 * A scope sets the role with SECURITY_RESTRICTED_OPERATION, opens a GUC
 * nest level and sets a safe search_path (pg_catalog, pg_temp).  Leaving it
 * rolls back every setting changed inside (also a session-level
 * set_config() in a user's trigger) and restores the role.  An error inside
 * a scope needs no exit call: the (sub)transaction's abort restores both.
 *
 * Scopes do not span transactions: commit inside one only after leaving it,
 * and enter a new one in the next transaction.
 */
#ifndef HITL_SECURITY_H
#define HITL_SECURITY_H

#include "postgres.h"

typedef struct HitlRoleScope
{
	Oid			saved_userid;
	int			saved_sec_context;
	int			nestlevel;
} HitlRoleScope;

/* The search_path every scope runs with */
#define HITL_SAFE_SEARCH_PATH "pg_catalog, pg_temp"

/* Run as role (restricted, own GUC level, safe search_path) until the exit */
extern void hitl_role_enter(HitlRoleScope *scope, Oid role);
extern void hitl_role_exit(HitlRoleScope *scope);

/*
 * The owner of hitl's own tables (the role that created the extension).
 * hitl's functions write those tables as this role, inside a scope, once
 * they have checked what the calling role may do: no other role has any
 * write privilege on them.
 */
extern Oid	hitl_catalog_owner(void);

/* Enter a scope as hitl_catalog_owner() */
extern void hitl_catalog_enter(HitlRoleScope *scope);

#endif
