/*
 * catalog_citus.c
 *		What hitl asks of Citus' metadata and of the worker nodes for a model
 *		on a distributed table: whether a table is hash-distributed, which
 *		table a shard belongs to, the model's mirror on the worker nodes,
 *		and the label log entries the worker nodes hold (section 29 of the
 *		SQL, which does the work; this file calls it).
 *
 * Without the citus extension in the database, each answer is one
 * syscache lookup and no statement runs.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "catalog.h"
#include "spi_check.h"

static bool
citus_present(void)
{
	return OidIsValid(get_extension_oid("citus", true));
}

/* The first column of the first row SPI read, or isnull */
static Datum
first_value(bool *isnull)
{
	*isnull = true;
	if (SPI_processed < 1)
		return (Datum) 0;
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
}

/*
 * The distributed table of which the relation is a shard on this node
 * (hitl._citus_shard_parent), or InvalidOid.  Makes its own SPI connection
 * (the label triggers call it).
 */
Oid
catalog_citus_shard_parent(Oid relid)
{
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		values[1];
	Datum		parent;
	bool		isnull;
	Oid			result = InvalidOid;

	if (!citus_present())
		return InvalidOid;
	values[0] = ObjectIdGetDatum(relid);
	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	catalog_execute(CATALOG_AS_OWNER, "SELECT hitl._citus_shard_parent($1)", 1, argtypes,
					values, NULL, true, SPI_OK_SELECT,
					"looking the shard up in Citus' metadata");
	parent = first_value(&isnull);
	if (!isnull)
		result = DatumGetObjectId(parent);
	SPI_finish();
	return result;
}

/*
 * Send the model's row and current version to every worker node, as the
 * owner of hitl's tables (Citus connects to the nodes as it), and make its
 * review view one for a distributed table, as the current role, when it is
 * not yet (its table was distributed after the model was made).  The
 * caller checked that the current role may change the model.  Runs inside
 * an SPI connection.
 */
void
catalog_citus_mirror(const HitlModel *model)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];

	values[0] = CStringGetTextDatum(model->name);
	catalog_execute(CATALOG_AS_OWNER, "SELECT hitl._citus_mirror($1)", 1, argtypes,
					values, NULL, false, SPI_OK_SELECT,
					"sending the model to the Citus worker nodes");
	catalog_execute(CATALOG_AS_CALLER, "SELECT hitl._citus_adopt_review_view($1)", 1,
					argtypes, values, NULL, false, SPI_OK_SELECT,
					"making the review view for the distributed table");
}

/*
 * The first column of sql (one text parameter: the model's name), run as
 * the owner of hitl's tables, or NULL; what names it in errors
 */
static Datum
owner_value(const char *sql, const char *model, const char *what, bool *isnull)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];

	values[0] = CStringGetTextDatum(model);
	catalog_execute(CATALOG_AS_OWNER, sql, 1, argtypes, values, NULL, false, SPI_OK_SELECT,
					what);
	return first_value(isnull);
}

/*
 * Take the model's label log entries from the worker nodes into
 * hitl.label_log (hitl._citus_pull_labels); returns how many came.  Runs
 * inside an SPI connection.
 */
int64
catalog_citus_pull_labels(const char *model)
{
	bool		isnull;
	Datum		n;

	if (!citus_present())
		return 0;
	n = owner_value("SELECT hitl._citus_pull_labels($1)", model,
					"taking the label changes from the Citus worker nodes", &isnull);
	return isnull ? 0 : DatumGetInt64(n);
}

/*
 * The label log entries of a model on a distributed table that hitl.wait
 * waits for: the coordinator's and those the worker nodes hold that it
 * has not taken (hitl._citus_wait_target).  Runs inside an SPI connection.
 */
int64
catalog_citus_wait_target(const char *model)
{
	bool		isnull;
	Datum		n = owner_value("SELECT hitl._citus_wait_target($1)", model,
								"counting the label changes on the Citus worker nodes", &isnull);

	return isnull ? 0 : DatumGetInt64(n);
}

PG_FUNCTION_INFO_V1(hitl_citus_send_model);

/*
 * hitl._citus_send_model(model text) returns void: catalog_citus_mirror,
 * for create_model, once the current role may change the model (42501)
 */
Datum
hitl_citus_send_model(PG_FUNCTION_ARGS)
{
	HitlModel  *model;

	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	model = catalog_load_model(text_to_cstring(PG_GETARG_TEXT_PP(0)), CurrentMemoryContext);
	catalog_check_may_change(model, "score");
	if (catalog_citus_distributed(model->source))
		catalog_citus_mirror(model);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * Is the table of the named model hash-distributed?  Read as the owner of
 * hitl's tables.  Runs inside an SPI connection.
 */
bool
catalog_citus_model_distributed(const char *model)
{
	bool		isnull;
	Datum		d;

	if (!citus_present())
		return false;
	d = owner_value("SELECT hitl._citus_distribution_column(m.source) IS NOT NULL"
					" FROM hitl.models m WHERE m.name = $1", model,
					"looking the model's table up in Citus' metadata", &isnull);
	return !isnull && DatumGetBool(d);
}

/*
 * Run, as the current role and with citus.enable_unsafe_triggers on, the
 * statements (one text a row) that query returns as the owner of hitl's
 * tables: the label triggers' DDL on a distributed table.  Citus sends
 * the DDL to the worker nodes over connections of the role that runs it,
 * and every statement of one transaction on a distributed table must go
 * through one role's connections: a statement of another role would wait
 * there for the locks of the caller's own statements (the ALTER TABLE of
 * create_model, of drop_model).  Runs inside an SPI connection.
 */
void
catalog_citus_run_as_caller(const char *query, int nargs, Oid *argtypes, Datum *values,
							const char *what)
{
	List	   *statements = NIL;
	ListCell   *lc;
	uint64		i;
	int			nest;

	/* not read-only: it sees what the transaction did so far (a model deleted) */
	catalog_execute(CATALOG_AS_OWNER, query, nargs, argtypes, values, NULL, false,
					SPI_OK_SELECT, what);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			statements = lappend(statements, TextDatumGetCString(d));
	}
	nest = NewGUCNestLevel();
	(void) set_config_option("citus.enable_unsafe_triggers", "on", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	foreach(lc, statements)
	{
		int			ret = SPI_execute((const char *) lfirst(lc), false, 0);

		hitl_spi_check(ret, ret == SPI_OK_SELECT ? SPI_OK_SELECT : SPI_OK_UTILITY, what);
	}
	AtEOXact_GUC(true, nest);
}

/*
 * The hitl worker's look at a model on a distributed table: on the
 * coordinator, take the label changes the worker nodes logged (1); on a
 * worker node the model is a mirror, which the coordinator trains and
 * scores (-1); any other table, 0.  Runs inside an SPI connection.
 */
int
catalog_citus_worker_look(Oid source, const char *model)
{
	if (!catalog_citus_distributed(source))
		return 0;
	if (catalog_citus_worker_node())
		return -1;
	(void) catalog_citus_pull_labels(model);
	return 1;
}
