/*
 * catalog_admin.c
 *		The SQL-callable writers of hitl.models: hitl._model_insert,
 *		hitl._model_delete, hitl._output_column_model and hitl.alter_model.
 *
 * No role but the owner of hitl's tables may write them.  These functions
 * are in C because only C code knows which role called it: each checks
 * what the calling role may do with the model (or its table), then writes
 * as that owner in a restricted scope with a safe search_path (see
 * security.c).
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "catalog.h"
#include "compat.h"
#include "security.h"
#include "shared.h"
#include "spi_check.h"

/* The argument, or 22004 naming it when it is NULL */
static Datum
required_arg(FunctionCallInfo fcinfo, int arg, const char *what)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	return PG_GETARG_DATUM(arg);
}

/* The query strategies, as create_model's check (hitl._check_options) lists them */
#define STRATEGY_LIST "margin, least_confidence, entropy, density, diverse, committee"

/* Is name a query strategy? */
static bool
strategy_known(const char *name)
{
	static const char *const known[] = {
		"margin", "least_confidence", "entropy", "density", "diverse", "committee"
	};
	int			i;

	for (i = 0; i < (int) lengthof(known); i++)
		if (strcmp(name, known[i]) == 0)
			return true;
	return false;
}

/* Oid of a role by name, InvalidOid when there is none */
static Oid
role_oid_or_invalid(const char *role)
{
	return get_role_oid(role, true);
}

PG_FUNCTION_INFO_V1(hitl_model_insert);

/*
 * hitl._model_insert(name, source, label_column, feature_columns,
 *		prediction_column, confidence_column, uncertainty_column,
 *		added_columns, algorithm, strategy, options)
 *
 * Record a model owned by the calling role.  create_model has checked
 * everything before; this checks again what decides who may do it (SELECT
 * and UPDATE on the table, CREATE in its schema), and derives what must not
 * come from the caller: the key columns (the table's primary key), the
 * review view (the table's schema, the model's name) and the options
 * (resolved again).
 */
Datum
hitl_model_insert(PG_FUNCTION_ARGS)
{
	const char *names[11] = {"name", "source", "label_column", "feature_columns",
		"prediction_column", "confidence_column", "uncertainty_column",
		"added_columns", "algorithm", "strategy", "options"};
	Oid			argtypes[12] = {TEXTOID, OIDOID, NAMEOID, NAMEARRAYOID, NAMEOID, NAMEOID,
		NAMEOID, NAMEARRAYOID, TEXTOID, TEXTOID, JSONBOID, NAMEOID};
	Datum		values[12];
	Oid			role = GetUserId();
	Oid			source;
	Oid			nsp;
	char		relkind;
	int			i;

	for (i = 0; i < 11; i++)
		values[i] = required_arg(fcinfo, i, names[i]);
	source = DatumGetObjectId(values[1]);
	relkind = get_rel_relkind(source);
	if (relkind == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", source)));
	if (relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an ordinary table", get_rel_name(source))));
	if (pg_class_aclcheck(source, role, ACL_SELECT) != ACLCHECK_OK ||
		pg_class_aclcheck(source, role, ACL_UPDATE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(source)),
				 errhint("A model needs SELECT and UPDATE on its table.")));
	nsp = get_rel_namespace(source);
	if (hitl_namespace_aclcheck(nsp, role, ACL_CREATE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for schema %s", get_namespace_name(nsp)),
				 errhint("The review view of a model is created in the schema of its table.")));
	values[11] = DirectFunctionCall1(namein,
									 CStringGetDatum(GetUserNameFromId(role, false)));

	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "INSERT INTO hitl.models (name, source, label_column, feature_columns,"
						   " key_columns, prediction_column, confidence_column, uncertainty_column,"
						   " added_columns, review_view, view_schema, view_name, algorithm, strategy,"
						   " options, owner)"
						   " SELECT $1, c.oid, $3, $4, k.keys, $5, $6, $7, $8,"
						   " format('%I.%I', n.nspname, $1 || '_review_queue'), n.nspname,"
						   " ($1 || '_review_queue')::name, $9, $10,"
						   " hitl._resolve_options($11, $9, EXISTS (SELECT 1 FROM pg_attribute a"
						   "   WHERE a.attrelid = c.oid AND a.attname = ANY ($4) AND a.attnum > 0"
						   "   AND NOT a.attisdropped AND a.atttypid IN ('text'::regtype, 'varchar'::regtype))),"
						   " $12"
						   " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,"
						   " LATERAL (SELECT array_agg(a.attname ORDER BY u.o) AS keys"
						   "   FROM pg_index x"
						   "   CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS u(attnum, o)"
						   "   JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.attnum"
						   "   WHERE x.indrelid = c.oid AND x.indisprimary) k"
						   " WHERE c.oid = $2",
						   12, argtypes, values, NULL, false,
						   SPI_OK_INSERT, "recording the model");
	SPI_finish();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(hitl_model_delete);

/*
 * hitl._model_delete(name)
 *
 * Delete a model's row (its versions, queue and label log go with it) and
 * remove its label triggers, for the members of its owner only.
 */
Datum
hitl_model_delete(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			argtypes[2] = {TEXTOID, OIDOID};
	Datum		values[2];
	bool		isnull;
	Datum		owner;

	values[0] = CStringGetTextDatum(name);
	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "SELECT owner::text, source::oid FROM hitl.models"
						   " WHERE name = $1 FOR UPDATE",
						   1, argtypes, values, NULL, false,
						   SPI_OK_SELECT, "reading hitl.models");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name)));
	owner = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	values[1] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (!has_privs_of_role(GetUserId(),
						   role_oid_or_invalid(TextDatumGetCString(owner))))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of model \"%s\"", name)));

	(void) catalog_execute(CATALOG_AS_OWNER,
						   "DELETE FROM hitl.models WHERE name = $1",
						   1, argtypes, values, NULL, false,
						   SPI_OK_DELETE, "deleting the model");
	/* on a distributed table, as the caller (catalog_citus_run_as_caller) */
	if (catalog_citus_distributed(DatumGetObjectId(values[1])))
		catalog_citus_run_as_caller("SELECT hitl._label_trigger_drop_ddl($1, $2::regclass)",
									2, argtypes, values, "removing the label triggers");
	else
		(void) catalog_execute(CATALOG_AS_OWNER,
							   "SELECT hitl._detach_label_triggers($1, $2::regclass)",
							   2, argtypes, values, NULL, false,
							   SPI_OK_SELECT, "removing the label triggers");
	SPI_finish();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(hitl_output_column_model);

/*
 * hitl._output_column_model(source, output_column) returns text
 *
 * The model (whoever sees it) that writes that column of the table, or
 * NULL; for the roles that may update the table, who could add a model
 * writing it.
 */
Datum
hitl_output_column_model(PG_FUNCTION_ARGS)
{
	Oid			source = PG_GETARG_OID(0);
	Oid			argtypes[2] = {OIDOID, NAMEOID};
	Datum		values[2];
	bool		isnull;
	Datum		model;

	if (pg_class_aclcheck(source, GetUserId(), ACL_UPDATE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(source))));
	values[0] = ObjectIdGetDatum(source);
	values[1] = PG_GETARG_DATUM(1);
	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "SELECT m.name FROM hitl.models m"
						   " WHERE m.source = $1::regclass AND $2 IN (m.prediction_column,"
						   " m.confidence_column, m.uncertainty_column)"
						   " ORDER BY m.name LIMIT 1",
						   2, argtypes, values, NULL, true,
						   SPI_OK_SELECT, "reading hitl.models");
	if (SPI_processed == 0)
	{
		SPI_finish();
		PG_RETURN_NULL();
	}
	model = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	model = SPI_datumTransfer(model, false, -1);
	SPI_finish();
	PG_RETURN_DATUM(model);
}

PG_FUNCTION_INFO_V1(hitl_alter_model);

/*
 * hitl.alter_model(name, options, strategy, enabled, owner)
 *
 * Change what may change of a model; NULL arguments leave things as they
 * are.  The roles that may train a model (its owner's members, the roles
 * with UPDATE on its table) change its options, strategy and enabled; only
 * its owner's members give it to another role, one they are members of.
 * Options are merged into the model's and checked (the algorithm and the
 * text options cannot change: see _guard_model_update).
 */
/* Whether options name a consensus option, whose change the worker applies */
static bool
consensus_options_given(Jsonb *options)
{
	static const char *const names[] = {"consensus", "consensus_threshold", "annotators_per_row"};
	size_t		i;

	for (i = 0; i < lengthof(names); i++)
	{
		JsonbValue	key;

		key.type = jbvString;
		key.val.string.val = (char *) names[i];
		key.val.string.len = strlen(names[i]);
		if (findJsonbValueFromContainer(&options->root, JB_FOBJECT, &key) != NULL)
			return true;
	}
	return false;
}

Datum
hitl_alter_model(PG_FUNCTION_ARGS)
{
	char	   *name;
	HitlModel  *model;
	Oid			argtypes[5] = {TEXTOID, JSONBOID, TEXTOID, BOOLOID, NAMEOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	int			i;

	name = TextDatumGetCString(required_arg(fcinfo, 0, "name"));
	for (i = 1; i < 5; i++)
	{
		if (PG_ARGISNULL(i))
		{
			nulls[i] = 'n';
			values[i] = (Datum) 0;
		}
		else
			values[i] = PG_GETARG_DATUM(i);
	}
	values[0] = CStringGetTextDatum(name);

	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	model = catalog_load_model(name, CurrentMemoryContext);
	catalog_check_may_change(model, "alter");
	if (nulls[2] == ' ')
	{
		char	   *strategy = TextDatumGetCString(values[2]);

		if (!strategy_known(strategy))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown query strategy \"%s\"", strategy),
					 errhint("Known strategies: %s.", STRATEGY_LIST)));
		if (strcmp(strategy, "committee") == 0 && model_is_nbayes(model))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("strategy \"committee\" needs algorithm logistic"),
					 errhint("Model \"%s\" is naive Bayes: use another strategy.", name)));
	}
	if (nulls[4] == ' ')
	{
		const char *new_owner = NameStr(*DatumGetName(values[4]));
		Oid			new_oid = role_oid_or_invalid(new_owner);

		if (!has_privs_of_role(GetUserId(), model->owner))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("must be owner of model \"%s\"", name),
					 errhint("Only the members of a model's owner give it to another role.")));
		if (!OidIsValid(new_oid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("role \"%s\" does not exist", new_owner)));
		if (!has_privs_of_role(GetUserId(), new_oid))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("must be a member of role \"%s\" to give it model \"%s\"",
							new_owner, name)));
	}
	if (nulls[1] == ' ')
	{
		Jsonb	   *opts = DatumGetJsonbP(values[1]);

		if (!JB_ROOT_IS_OBJECT(opts) || JB_ROOT_IS_SCALAR(opts))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("options must be a jsonb object"),
					 errhint("Pass the options to change, like '{\"C\": 0.5}'.")));
	}

	(void) catalog_execute(CATALOG_AS_OWNER,
						   "UPDATE hitl.models SET"
						   " options = CASE WHEN $2 IS NULL THEN options ELSE options || $2 END,"
						   " strategy = coalesce($3, strategy),"
						   " enabled = coalesce($4, enabled),"
						   " owner = coalesce($5, owner)"
						   " WHERE name = $1",
						   5, argtypes, values, nulls, false,
						   SPI_OK_UPDATE, "updating hitl.models");
	/*
	 * enabled again, or a new rule of consensus to apply: the worker looks
	 * at the model at commit
	 */
	if ((nulls[3] == ' ' && DatumGetBool(values[3])) ||
		(nulls[1] == ' ' && consensus_options_given(DatumGetJsonbP(values[1]))))
		hitl_wake_at_commit(model->source);
	SPI_finish();
	PG_RETURN_VOID();
}
