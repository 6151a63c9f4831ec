/*
 * catalog.c
 *		Reading and writing hitl.models: a model's configuration, who may
 *		change it, its lock for training, and the state the worker keeps in
 *		it (the label log entries it processed, its failures and retries),
 *		which hitl.wait() reads.
 *
 * This file and its family (catalog_versions.c: hitl.model_versions;
 * catalog_admin.c: the SQL-callable writers of hitl.models) hold every
 * statement on hitl's tables that the rest of hitl runs, as pg_cron's
 * job_metadata.c does for its own: the other files call functions
 * declared in catalog.h.  Model states are enums (catalog.h) with one
 * mapping to the text hitl.models stores, here.
 *
 * Reads run as the current user, so hitl's row-level security decides
 * which models a role may see, in a scope with a safe search_path (a
 * caller's search_path must not pick the operators of these queries).  No
 * role but the owner of hitl's tables may write them: a write here first
 * checks what the calling role may do with the model (or is the worker's),
 * then runs as that owner in a restricted scope with a safe search_path
 * (see security.c).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "compat.h"
#include "security.h"
#include "spi_check.h"

/* The longest back-off after repeated failures of a model, in seconds */
#define MAX_RETRY_DELAY_S 3600

/* Column value of the current SPI result, NULL-safe */
static Datum
spi_value(HeapTuple tuple, int col, bool *isnull)
{
	return SPI_getbinval(tuple, SPI_tuptable->tupdesc, col, isnull);
}

/*
 * A text[] of hitl's tables as a palloc'd array of C strings; *n gets its
 * length.  XX001 when it holds a null.
 */
char	  **
catalog_text_array(Datum arr, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	char	  **out;
	int			i;

	deconstruct_array(DatumGetArrayTypeP(arr), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, n);
	out = palloc(sizeof(char *) * Max(*n, 1));
	for (i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("hitl's tables hold a null in a text array")));
		out[i] = TextDatumGetCString(elems[i]);
	}
	return out;
}

/*
 * The names of the states and algorithms, as hitl.models stores them: the
 * one mapping between the enums of catalog.h and their text.
 */
static const char *const status_names[] = {
	[MODEL_WAITING_FOR_LABELS] = "waiting_for_labels",
	[MODEL_TRAINED] = "trained",
	[MODEL_SCORED] = "scored",
	[MODEL_FAILED] = "failed",
	[MODEL_BROKEN] = "broken",
};

static const char *const algorithm_names[] = {
	[MODEL_LOGISTIC] = "logistic",
	[MODEL_NAIVE_BAYES] = "naive_bayes",
};

static const char *const strategy_names[] = {
	[UNCERTAINTY_MARGIN] = "margin",
	[UNCERTAINTY_LEAST_CONFIDENCE] = "least_confidence",
	[UNCERTAINTY_ENTROPY] = "entropy",
	[UNCERTAINTY_DENSITY] = "density",
	[UNCERTAINTY_DIVERSE] = "diverse",
	[UNCERTAINTY_COMMITTEE] = "committee",
};

/* Index of name in names[n]; an error names what when it is not there */
static int
name_index(const char *const *names, int n, const char *name, const char *what)
{
	int			i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	elog(ERROR, "hitl: unknown %s \"%s\"", what, name);
	return 0;					/* keep compiler quiet */
}

const char *
catalog_status_name(ModelStatus status)
{
	Assert(status >= 0 && status < lengthof(status_names));
	return status_names[status];
}

ModelStatus
catalog_status_parse(const char *name)
{
	return (ModelStatus) name_index(status_names, lengthof(status_names),
									name, "model status");
}

const char *
catalog_algorithm_name(ModelAlgorithm algorithm)
{
	Assert(algorithm >= 0 && algorithm < lengthof(algorithm_names));
	return algorithm_names[algorithm];
}

ModelAlgorithm
catalog_algorithm_parse(const char *name)
{
	return (ModelAlgorithm) name_index(algorithm_names, lengthof(algorithm_names),
									   name, "algorithm");
}

static UncertaintyStrategy
strategy_from_name(const char *s)
{
	return (UncertaintyStrategy) name_index(strategy_names, lengthof(strategy_names),
											s, "strategy");
}

/*
 * Enter a scope for reading hitl's tables as the current role: its own
 * rights (row-level security applies), a safe search_path.
 */
void
catalog_read_enter(HitlRoleScope *scope)
{
	hitl_role_enter(scope, GetUserId());
}

/*
 * Run a statement on hitl's tables in a scope of role as (see CatalogRole),
 * with its parameters (nulls as SPI takes them, NULL for none); raise an
 * error naming what unless SPI returns expected.  Returns the rows
 * processed (the result is SPI_tuptable).
 */
uint64
catalog_execute(CatalogRole as, const char *sql, int nargs, Oid *argtypes,
				Datum *values, const char *nulls, bool read_only, int expected,
				const char *what)
{
	HitlRoleScope scope;
	int			ret;

	if (as == CATALOG_AS_OWNER)
		hitl_catalog_enter(&scope);
	else
		catalog_read_enter(&scope);
	ret = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, read_only, 0);
	hitl_role_exit(&scope);
	hitl_spi_check(ret, expected, what);
	return SPI_processed;
}

/*
 * catalog_execute() of a statement prepared once per backend: *plan is
 * NULL the first time (prepared in the role's scope, then kept), the
 * statement's text the same at each call.  For statements a trigger runs
 * for every row: parsing and planning them each time cost more than
 * running them.
 */
uint64
catalog_execute_kept(CatalogRole as, SPIPlanPtr *plan, const char *sql, int nargs,
					 Oid *argtypes, Datum *values, const char *nulls, bool read_only,
					 int expected, const char *what)
{
	HitlRoleScope scope;
	int			ret;

	if (as == CATALOG_AS_OWNER)
		hitl_catalog_enter(&scope);
	else
		catalog_read_enter(&scope);
	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, argtypes);

		if (p == NULL)
			elog(ERROR, "hitl: preparing a statement for %s failed: %s", what,
				 SPI_result_code_string(SPI_result));
		hitl_spi_check(SPI_keepplan(p), 0, what);
		*plan = p;
	}
	ret = SPI_execute_plan(*plan, values, nulls, read_only, 0);
	hitl_role_exit(&scope);
	hitl_spi_check(ret, expected, what);
	return SPI_processed;
}

/*
 * catalog_execute() of a statement whose one parameter ($1) is a model's
 * name.
 */
static uint64
execute_by_name(CatalogRole as, const char *sql, const char *name,
				bool read_only, int expected, const char *what)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];

	values[0] = CStringGetTextDatum(name);
	return catalog_execute(as, sql, 1, argtypes, values, NULL, read_only,
						   expected, what);
}

/* Does a model of that name exist, whether or not the current role sees it? */
static bool
catalog_model_exists(const char *name)
{
	return execute_by_name(CATALOG_AS_OWNER, "SELECT 1 FROM hitl.models WHERE name = $1",
						   name, true, SPI_OK_SELECT, "looking up the model") > 0;
}

/*
 * Load a model's configuration by name.
 *
 * The owner is a role name since 0.2.0 (a regrole before): it is matched as
 * either, so that this library also serves a database not yet updated.  A
 * name is matched exactly: the quoted form of a role's name is only what a
 * regrole reads as (a role named "Admin", quotes included, whose model
 * outlived it, must not make the role Admin its owner).
 */
HitlModel *
catalog_load_model(const char *name, MemoryContext mcxt)
{
	const char *sql =
		"SELECT name, source::oid, label_column::text, feature_columns::text[],"
		" key_columns::text[], prediction_column::text, confidence_column::text,"
		" uncertainty_column::text, algorithm, strategy, "
		CATALOG_OWNER_OID_SQL ","
		" coalesce(current_version, 0),"
		" (options->>'C')::float8, (options->>'min_labels')::int,"
		" (options->>'max_iter')::int, (options->>'tol')::float8,"
		" (options->>'cv_folds')::int, (options->>'score_tolerance')::float8,"
		" (options->>'queue_size')::int,"
		" coalesce((options->>'batch_size')::int, current_setting('hitl.batch_size')::int),"
		" options->>'text_config', coalesce((options->>'bigrams')::bool, false),"
		" coalesce((options->>'buckets')::int, 0), coalesce((options->>'max_text_bytes')::int, 0),"
		" coalesce((options->>'alpha')::float8, 1.0), options->>'cv_group_column',"
		" coalesce((options->>'evaluation_rate')::float8, 0.05)"
		" FROM hitl.models m WHERE name = $1";
	HeapTuple	tup;
	HitlModel  *m;
	MemoryContext old;
	bool		isnull;
	char	   *relname;
	char	   *nspname;

	if (execute_by_name(CATALOG_AS_CALLER, sql, name, true,
						SPI_OK_SELECT, "reading hitl.models") == 0)
	{
		/* hidden by row-level security, or not there at all? */
		if (catalog_model_exists(name))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for model \"%s\"", name),
					 errhint("A model can be used by its owner and by roles that can read its table.")));
		if (catalog_citus_worker_node())
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("model \"%s\" is not on this Citus worker node", name),
					 errdetail("hitl's models are on the coordinator; Citus ran this call on a worker node, as it does with a function of a distributed table's rows."),
					 errhint("hitl does not support distributed tables yet: use the model on the rows of a plain table.")));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errhint("See hitl.models for the models you can use.")));
	}

	tup = SPI_tuptable->vals[0];
	old = MemoryContextSwitchTo(mcxt);
	m = palloc0(sizeof(HitlModel));
	m->name = TextDatumGetCString(spi_value(tup, 1, &isnull));
	m->source = DatumGetObjectId(spi_value(tup, 2, &isnull));
	m->label_column = TextDatumGetCString(spi_value(tup, 3, &isnull));
	m->feature_columns = catalog_text_array(spi_value(tup, 4, &isnull),
												&m->n_feature_columns);
	m->key_columns = catalog_text_array(spi_value(tup, 5, &isnull),
											&m->n_key_columns);
	m->prediction_column = TextDatumGetCString(spi_value(tup, 6, &isnull));
	m->confidence_column = TextDatumGetCString(spi_value(tup, 7, &isnull));
	m->uncertainty_column = TextDatumGetCString(spi_value(tup, 8, &isnull));
	m->algorithm = catalog_algorithm_parse(TextDatumGetCString(spi_value(tup, 9, &isnull)));
	m->strategy = strategy_from_name(TextDatumGetCString(spi_value(tup, 10, &isnull)));
	m->owner = DatumGetObjectId(spi_value(tup, 11, &isnull));
	m->current_version = DatumGetInt32(spi_value(tup, 12, &isnull));
	m->C = DatumGetFloat8(spi_value(tup, 13, &isnull));
	m->min_labels = DatumGetInt32(spi_value(tup, 14, &isnull));
	m->max_iter = DatumGetInt32(spi_value(tup, 15, &isnull));
	m->tol = DatumGetFloat8(spi_value(tup, 16, &isnull));
	m->cv_folds = DatumGetInt32(spi_value(tup, 17, &isnull));
	m->score_tolerance = DatumGetFloat8(spi_value(tup, 18, &isnull));
	m->queue_size = DatumGetInt32(spi_value(tup, 19, &isnull));
	m->batch_size = DatumGetInt32(spi_value(tup, 20, &isnull));
	{
		Datum		cfg = spi_value(tup, 21, &isnull);

		m->text_config = isnull ? NULL : TextDatumGetCString(cfg);
	}
	m->bigrams = DatumGetBool(spi_value(tup, 22, &isnull));
	m->buckets = DatumGetInt32(spi_value(tup, 23, &isnull));
	m->max_text_bytes = DatumGetInt32(spi_value(tup, 24, &isnull));
	m->alpha = DatumGetFloat8(spi_value(tup, 25, &isnull));
	{
		Datum		group = spi_value(tup, 26, &isnull);

		m->cv_group_column = isnull ? NULL : TextDatumGetCString(group);
	}
	/* 0.05 when absent: the models made before the option */
	m->evaluation_rate = DatumGetFloat8(spi_value(tup, 27, &isnull));

	relname = get_rel_name(m->source);
	nspname = relname ? get_namespace_name(get_rel_namespace(m->source)) : NULL;
	if (relname == NULL || nspname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the table of model \"%s\" no longer exists", name),
				 errhint("Drop the model with hitl.drop_model().")));
	m->source_text = (char *) quote_qualified_identifier(nspname, relname);
	MemoryContextSwitchTo(old);
	return m;
}

/*
 * What Citus makes of a table: "distributed", "reference" or "local"
 * (hitl._citus_table_kind), or NULL.  Without the citus extension in the
 * database this is one syscache lookup; Citus' catalog is read only when
 * it is there.
 */
static char *
catalog_citus_kind(Oid relid)
{
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		values[1];
	Datum		kind;
	bool		isnull;

	if (!OidIsValid(get_extension_oid("citus", true)))
		return NULL;
	values[0] = ObjectIdGetDatum(relid);
	if (catalog_execute(CATALOG_AS_OWNER, "SELECT hitl._citus_table_kind($1)", 1, argtypes,
						values, NULL, true, SPI_OK_SELECT,
						"looking the model's table up in Citus' metadata") != 1)
		return NULL;
	kind = spi_value(SPI_tuptable->vals[0], 1, &isnull);
	return isnull ? NULL : TextDatumGetCString(kind);
}

/*
 * Is the relation a shard of a Citus table on this node
 * (hitl._citus_shard)?  Without the citus extension, one syscache lookup.
 * Callable without an SPI connection (the label triggers): it makes its own.
 */
bool
catalog_citus_shard(Oid relid)
{
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		values[1];
	bool		isnull = true;
	bool		shard = false;

	if (!OidIsValid(get_extension_oid("citus", true)))
		return false;
	values[0] = ObjectIdGetDatum(relid);
	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	if (catalog_execute(CATALOG_AS_OWNER, "SELECT hitl._citus_shard($1)", 1, argtypes,
						values, NULL, true, SPI_OK_SELECT,
						"looking the table up in Citus' metadata") == 1)
		shard = DatumGetBool(spi_value(SPI_tuptable->vals[0], 1, &isnull));
	SPI_finish();
	return shard && !isnull;
}

/*
 * Is this database a Citus worker node (hitl._citus_worker_node)?  Without
 * the citus extension, one syscache lookup.
 */
bool
catalog_citus_worker_node(void)
{
	bool		isnull;

	if (!OidIsValid(get_extension_oid("citus", true)))
		return false;
	if (catalog_execute(CATALOG_AS_OWNER, "SELECT hitl._citus_worker_node()", 0, NULL,
						NULL, NULL, true, SPI_OK_SELECT,
						"looking this node up in Citus' metadata") != 1)
		return false;
	return DatumGetBool(spi_value(SPI_tuptable->vals[0], 1, &isnull)) && !isnull;
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

	if (!OidIsValid(get_extension_oid("citus", true)))
		return false;
	values[0] = ObjectIdGetDatum(relid);
	catalog_execute(CATALOG_AS_OWNER, "SELECT hitl._citus_distribution_column($1)", 1,
					argtypes, values, NULL, true, SPI_OK_SELECT,
					"looking the table up in Citus' metadata");
	if (SPI_processed < 1)
		return false;
	(void) spi_value(SPI_tuptable->vals[0], 1, &isnull);
	return !isnull;
}

/*
 * Raise 0A000 when Citus distributed the model's table after the model was
 * made (or made it a reference or Citus local table): its rows are in
 * shards, where the label triggers fire on other nodes and no ctid is the
 * table's.
 */
void
catalog_check_not_citus(const HitlModel *model)
{
	char	   *citus_kind = catalog_citus_kind(model->source);

	if (citus_kind != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table %s of model \"%s\" is a Citus %s table: hitl does not support this there yet",
						model->source_text, model->name, citus_kind),
				 errdetail("On a hash-distributed table a model is trained, scored and queued, and its labels are logged; audits, auto-labeling, assignments, slices and term caches need a plain table, and so does every use of a reference or Citus local table."),
				 errhint("Build the model on a plain table (undistribute_table() makes one of it) to use this.")));
}

/*
 * A model on a hash-distributed table is trained, scored and altered on
 * the coordinator; the worker nodes hold only its mirror (0A000 there).
 * Any other table of Citus' is refused (catalog_check_not_citus), unless
 * mirror_only (hitl.alter_model).
 */
static void
check_citus_may_change(const HitlModel *model, bool mirror_only)
{
	bool		distributed = catalog_citus_distributed(model->source);

	if (!distributed && !mirror_only)
		catalog_check_not_citus(model);
	else if (distributed && catalog_citus_worker_node())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" is a mirror on this Citus worker node", model->name),
				 errdetail("The coordinator sends a model on a distributed table to the worker nodes, for its label triggers and its scoring there."),
				 errhint("Train, score and alter the model on the coordinator.")));
}

PG_FUNCTION_INFO_V1(hitl_check_not_citus);

/*
 * hitl._check_not_citus(model text) returns void: catalog_check_not_citus
 * for the functions written in SQL (after their own checks of the model:
 * this one loads it as the caller, 42704 or 42501 when it may not)
 */
Datum
hitl_check_not_citus(PG_FUNCTION_ARGS)
{
	HitlModel  *model;

	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	model = catalog_load_model(text_to_cstring(PG_GETARG_TEXT_PP(0)), CurrentMemoryContext);
	catalog_check_not_citus(model);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * May the current role change the model (train it, score it, record what
 * it did)?  Its owner's members may, and so may the roles that can update
 * its table.  Raises 42501 otherwise.  No role trains or scores a model
 * while row-level security of its table applies to it: a training would
 * learn from the rows that role sees only, and a scoring would mark the
 * model scored with the other rows' scores left as they were.  Nor is a
 * model trained or scored whose table has inheritance children (0A000):
 * their rows would be read with the table's, though no label trigger of
 * theirs logs their labels, and their positions (ctid) are those of other
 * files, which the scoring's writes by position would mistake for the
 * table's.  Nor is one whose table Citus distributed after the model was
 * made (0A000): its rows are in shards on other nodes, where the label
 * triggers would fire and no ctid of the table's is.
 */
void
catalog_check_may_change(const HitlModel *model, const char *action)
{
	Oid			role = GetUserId();

	if (strcmp(action, "alter") != 0 &&
		find_inheritance_children(model->source, AccessShareLock) != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table %s of model \"%s\" has inheritance children",
						get_rel_name(model->source), model->name),
				 errdetail("hitl reads and writes the rows of one table; its children's labels are not logged."),
				 errhint("Detach the children (ALTER TABLE ... NO INHERIT %s), or build a model on each table.",
						 model->source_text)));

	/* altering is refused only for a mirror */
	check_citus_may_change(model, strcmp(action, "alter") == 0);

	if (strcmp(action, "alter") != 0 &&
		check_enable_rls(model->source, InvalidOid, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("row-level security of table %s hides rows from role \"%s\"",
						get_rel_name(model->source), GetUserNameFromId(role, false)),
				 errdetail("%s model \"%s\" as this role would read only the rows it may see, and record the work as done for every row.",
						   strcmp(action, "train") == 0 ? "Training" : "Scoring", model->name),
				 errhint("Train and score the model as a role that sees every row of its table (its owner), or leave it to the background worker.")));
	if (has_privs_of_role(role, model->owner))
		return;
	if (pg_class_aclcheck(model->source, role, ACL_UPDATE) == ACLCHECK_OK)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s model \"%s\"", action, model->name),
			 errhint("%s needs UPDATE on the model's table, or membership in the model's owner role.",
					 strcmp(action, "train") == 0 ? "Training" :
					 strcmp(action, "score") == 0 ? "Scoring" : "Changing a model")));
}

/*
 * Lock a model's row for training, after checking that the role may:
 * concurrent trainings of one model get consecutive version numbers.  NO
 * KEY UPDATE, so as not to wait for the key-share locks that the foreign
 * keys of hitl.reservations, hitl.skips and hitl.answers take on the row
 * for as long as an annotator's transaction lasts.
 */
void
catalog_lock_model(const HitlModel *model)
{
	catalog_check_may_change(model, "train");
	if (execute_by_name(CATALOG_AS_OWNER,
						"SELECT 1 FROM hitl.models WHERE name = $1 FOR NO KEY UPDATE",
						model->name, false, SPI_OK_SELECT, "locking the model") != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" was dropped", model->name)));
}

/*
 * The source table of a row of hitl.models (a trigger's tuple of that
 * table); InvalidOid when it is null.
 */
Oid
catalog_model_row_source(Relation models, HeapTuple tuple)
{
	TupleDesc	desc = RelationGetDescr(models);
	int			attnum = SPI_fnumber(desc, "source");
	bool		isnull;
	Datum		source;

	if (attnum <= 0)
		elog(ERROR, "hitl.models has no column source");
	source = heap_getattr(tuple, attnum, desc, &isnull);
	return isnull ? InvalidOid : DatumGetObjectId(source);
}

/*
 * The enabled models of the database, by name, read as the owner of hitl's
 * tables, copied into mcxt.  A disabled model (hitl.alter_model) is left
 * out; before 0.2.0 there is no "enabled" column.
 */
List *
catalog_list_models(MemoryContext mcxt)
{
	List	   *models = NIL;
	uint64		n;
	uint64		i;

	n = catalog_execute(CATALOG_AS_OWNER,
						"SELECT name, " CATALOG_OWNER_OID_SQL ", status,"
						" coalesce(retry_at OPERATOR(pg_catalog.>) pg_catalog.now(), false),"
						" greatest(0, pg_catalog.date_part('epoch', retry_at OPERATOR(pg_catalog.-) pg_catalog.now())"
						" OPERATOR(pg_catalog.*) 1000)::pg_catalog.int8,"
						" source::pg_catalog.oid"
						" FROM hitl.models m"
						" WHERE coalesce((pg_catalog.to_jsonb(m) OPERATOR(pg_catalog.->>) 'enabled')::pg_catalog.bool, true)"
						" ORDER BY name",
						0, NULL, NULL, NULL, true, SPI_OK_SELECT, "reading the models");
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		MemoryContext old = MemoryContextSwitchTo(mcxt);
		HitlModelEntry *m = palloc0(sizeof(HitlModelEntry));
		bool		isnull;

		m->name = TextDatumGetCString(spi_value(tup, 1, &isnull));
		m->owner = DatumGetObjectId(spi_value(tup, 2, &isnull));
		m->status = catalog_status_parse(TextDatumGetCString(spi_value(tup, 3, &isnull)));
		m->retry_later = DatumGetBool(spi_value(tup, 4, &isnull));
		m->retry_in_ms = (long) DatumGetInt64(spi_value(tup, 5, &isnull));
		m->source = DatumGetObjectId(spi_value(tup, 6, &isnull));
		models = lappend(models, m);
		MemoryContextSwitchTo(old);
	}
	return models;
}

/*
 * The number of entries of the label log of a model, all of them: counted
 * past the log's row-level security (which shows a tenant only its own
 * rows' entries), as the owner of hitl's tables; only the number is used.
 */
static int64
count_label_log(const char *name, bool fresh)
{
	bool		isnull;

	if (execute_by_name(CATALOG_AS_OWNER,
						"SELECT pg_catalog.count(*) FROM hitl.label_log"
						" WHERE model OPERATOR(pg_catalog.=) $1",
						name, !fresh, SPI_OK_SELECT, "reading the label log") != 1)
		elog(ERROR, "hitl: counting the label log returned no row");
	return DatumGetInt64(spi_value(SPI_tuptable->vals[0], 1, &isnull));
}

/*
 * Read how far a model's work is: the label log entries its training
 * processed, its current and scored versions, its status and last failure;
 * with count_log, also how many entries its label log has (counted first,
 * so that an entry counted is one the row's state may include).  The row is
 * read as the current role.  False when the model is not there (or not
 * seen).
 *
 * With fresh, each read takes a new snapshot (hitl.wait, polling);
 * without, both read with the transaction's active snapshot.  The worker
 * reads without: the training that follows in the same transaction sees at
 * least what that snapshot sees, so every entry counted as processed is one
 * the training had (with a fresh snapshot, a label committed in between was
 * counted but not trained on, and lost).
 */
bool
catalog_read_progress(const char *name, bool count_log, bool fresh,
					  ModelProgress *p)
{
	HeapTuple	tup;
	bool		isnull;
	Datum		d;

	p->logged = count_log ? count_label_log(name, fresh) : -1;
	if (execute_by_name(CATALOG_AS_CALLER,
						"SELECT processed_labels, coalesce(current_version, 0),"
						" coalesce(scored_version, 0), status, last_error,"
						" coalesce(failed_at, '-infinity'),"
						" coalesce((SELECT v.metrics OPERATOR(pg_catalog.?) 'cv_pending'"
						"  FROM hitl.model_versions v WHERE v.model OPERATOR(pg_catalog.=) $1"
						"  AND v.version OPERATOR(pg_catalog.=) current_version), false)"
						" FROM hitl.models WHERE name OPERATOR(pg_catalog.=) $1",
						name, !fresh, SPI_OK_SELECT, "reading the model's progress") == 0)
		return false;
	tup = SPI_tuptable->vals[0];
	p->processed_labels = DatumGetInt64(spi_value(tup, 1, &isnull));
	p->current_version = DatumGetInt32(spi_value(tup, 2, &isnull));
	p->scored_version = DatumGetInt32(spi_value(tup, 3, &isnull));
	p->status = catalog_status_parse(TextDatumGetCString(spi_value(tup, 4, &isnull)));
	d = spi_value(tup, 5, &isnull);
	p->last_error = isnull ? NULL : TextDatumGetCString(d);
	p->failed_at = DatumGetTimestampTz(spi_value(tup, 6, &isnull));
	p->cv_pending = DatumGetBool(spi_value(tup, 7, &isnull));
	return true;
}

/*
 * Record that a model's training (trained: it made a version) saw logged
 * entries of its label log.  A model that did not train (too few labels)
 * has no failure to retry; without any version it waits for labels.
 */
void
catalog_record_labels_seen(const char *name, int64 logged, bool trained)
{
	Oid			argtypes[3] = {TEXTOID, INT8OID, TEXTOID};
	Datum		values[3];

	values[0] = CStringGetTextDatum(name);
	values[1] = Int64GetDatum(logged);
	values[2] = CStringGetTextDatum(catalog_status_name(MODEL_WAITING_FOR_LABELS));
	(void) catalog_execute(CATALOG_AS_OWNER, trained ?
						   "UPDATE hitl.models SET processed_labels = $2"
						   " WHERE name OPERATOR(pg_catalog.=) $1" :
						   "UPDATE hitl.models SET processed_labels = $2,"
						   " status = CASE WHEN current_version IS NULL"
						   " THEN $3 ELSE status END,"
						   " failures = 0, retry_at = NULL"
						   " WHERE name OPERATOR(pg_catalog.=) $1",
						   3, argtypes, values, NULL, false,
						   SPI_OK_UPDATE, "recording the label log position");
}

/*
 * The back-off before the retry after a model's nth failure in a row, in
 * seconds: 2^n, at most MAX_RETRY_DELAY_S.
 */
static int
retry_delay_s(int failures)
{
	return (int) Min(1L << Min(Max(failures, 0), 20), MAX_RETRY_DELAY_S);
}

/*
 * Record a model's failure (its status, the error message, when, how many
 * in a row, when to retry) as the owner of hitl's tables.  The back-off is
 * computed here alone and written as retry_at.  False when the model is
 * gone; otherwise *f says how many failures in a row, whether the message
 * is the one recorded last, and how soon the retry is due.
 */
bool
catalog_record_failure(const char *name, const char *message, ModelFailure *f)
{
	Oid			argtypes[5] = {TEXTOID, TEXTOID, TEXTOID, INT4OID, FLOAT8OID};
	Datum		values[5];
	bool		isnull;
	Datum		last;
	int			delay_s;

	if (execute_by_name(CATALOG_AS_OWNER,
						"SELECT last_error, failures FROM hitl.models"
						" WHERE name OPERATOR(pg_catalog.=) $1 FOR NO KEY UPDATE",
						name, false, SPI_OK_SELECT, "reading the model's failures") != 1)
		return false;
	last = spi_value(SPI_tuptable->vals[0], 1, &isnull);
	f->repeated = !isnull && strcmp(TextDatumGetCString(last), message) == 0;
	f->failures = DatumGetInt32(spi_value(SPI_tuptable->vals[0], 2, &isnull)) + 1;
	delay_s = retry_delay_s(f->failures);
	f->retry_in_ms = 1000L * delay_s;

	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(message);
	values[2] = CStringGetTextDatum(catalog_status_name(MODEL_FAILED));
	values[3] = Int32GetDatum(f->failures);
	values[4] = Float8GetDatum((double) delay_s);
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "UPDATE hitl.models SET status = $3, last_error = $2,"
						   " failed_at = pg_catalog.now(), failures = $4,"
						   " retry_at = pg_catalog.now() OPERATOR(pg_catalog.+)"
						   " pg_catalog.make_interval(secs => $5)"
						   " WHERE name OPERATOR(pg_catalog.=) $1",
						   5, argtypes, values, NULL, false,
						   SPI_OK_UPDATE, "recording a failure");
	return true;
}
