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
#include "utils/builtins.h"

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
 * Is the table hash-distributed by Citus (hitl._citus_distribution_column)?
 * Runs inside an SPI connection.
 */
bool
catalog_citus_distributed(Oid relid)
{
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		values[1];
	bool		isnull;

	if (!citus_present())
		return false;
	values[0] = ObjectIdGetDatum(relid);
	catalog_execute(CATALOG_AS_OWNER, "SELECT hitl._citus_distribution_column($1)", 1,
					argtypes, values, NULL, true, SPI_OK_SELECT,
					"looking the table up in Citus' metadata");
	(void) first_value(&isnull);
	return !isnull;
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
 * current role (Citus connects to the nodes as it), and make its review
 * view one for a distributed table when it is not yet (its table was
 * distributed after the model was made).  Runs inside an SPI connection.
 */
void
catalog_citus_mirror(const HitlModel *model)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];

	values[0] = CStringGetTextDatum(model->name);
	catalog_execute(CATALOG_AS_CALLER, "SELECT hitl._citus_mirror($1)", 1, argtypes,
					values, NULL, false, SPI_OK_SELECT,
					"sending the model to the Citus worker nodes");
	catalog_execute(CATALOG_AS_CALLER, "SELECT hitl._citus_adopt_review_view($1)", 1,
					argtypes, values, NULL, false, SPI_OK_SELECT,
					"making the review view for the distributed table");
}

/*
 * Take the model's label log entries from the worker nodes into
 * hitl.label_log (hitl._citus_pull_labels); returns how many came.  Runs
 * inside an SPI connection.
 */
int64
catalog_citus_pull_labels(const char *model)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	Datum		n;
	bool		isnull;

	if (!citus_present())
		return 0;
	values[0] = CStringGetTextDatum(model);
	catalog_execute(CATALOG_AS_OWNER, "SELECT hitl._citus_pull_labels($1)", 1, argtypes,
					values, NULL, false, SPI_OK_SELECT,
					"taking the label changes from the Citus worker nodes");
	n = first_value(&isnull);
	return isnull ? 0 : DatumGetInt64(n);
}

/*
 * Does this database have a model on a distributed table (on the
 * coordinator: the worker node's mirrors are not counted)?  Runs inside an
 * SPI connection.
 */
bool
catalog_citus_any_distributed_model(void)
{
	bool		isnull;
	Datum		any;

	if (!citus_present() || catalog_citus_worker_node())
		return false;
	catalog_execute(CATALOG_AS_OWNER,
					"SELECT EXISTS (SELECT 1 FROM hitl.models m"
					" WHERE hitl._citus_distribution_column(m.source) IS NOT NULL)",
					0, NULL, NULL, NULL, true, SPI_OK_SELECT,
					"looking for models on distributed tables");
	any = first_value(&isnull);
	return !isnull && DatumGetBool(any);
}

/*
 * The label log entries of a model on a distributed table that hitl.wait
 * waits for: the coordinator's and those the worker nodes hold that it
 * has not taken (hitl._citus_wait_target).  Runs inside an SPI connection.
 */
int64
catalog_citus_wait_target(const char *model)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	Datum		n;
	bool		isnull;

	values[0] = CStringGetTextDatum(model);
	catalog_execute(CATALOG_AS_OWNER, "SELECT hitl._citus_wait_target($1)", 1, argtypes,
					values, NULL, false, SPI_OK_SELECT,
					"counting the label changes on the Citus worker nodes");
	n = first_value(&isnull);
	return isnull ? 0 : DatumGetInt64(n);
}
