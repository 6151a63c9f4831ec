/*
 * rowaccess.c
 *		What a role may do to a model's rows, checked as that role:
 *		hitl.confirm_label, hitl.next_rows and hitl.skip label rows or act
 *		for a person who does, and so need what labeling needs.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "catalog.h"
#include "rowaccess.h"
#include "rowkey.h"

/* 42501 unless the caller holds UPDATE on the model's label column */
void
rowaccess_check_update(const HitlModel *model, const char *what, const char *doing)
{
	AttrNumber	attnum = get_attnum(model->source, model->label_column);

	/* the table's privilege, or the column's own */
	if (attnum == InvalidAttrNumber ||
		(pg_class_aclcheck(model->source, GetUserId(), ACL_UPDATE) != ACLCHECK_OK &&
		 pg_attribute_aclcheck(model->source, attnum, GetUserId(), ACL_UPDATE) != ACLCHECK_OK))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s of model \"%s\"", what, model->name),
				 errdetail("%s takes UPDATE on column \"%s\" of %s.",
						   doing, model->label_column, model->source_text),
				 errhint("Ask the table's owner to GRANT UPDATE (%s) ON %s.",
						 quote_identifier(model->label_column), model->source_text)));
}

/*
 * The condition, as SQL, that a row of the model's table (alias) has the
 * key that key_expr, a jsonb expression, holds (hitl._key_match).
 */
char *
rowaccess_key_match(const HitlModel *model, const char *alias, const char *key_expr)
{
	Oid			match_types[4] = {OIDOID, TEXTARRAYOID, TEXTOID, TEXTOID};
	Datum		match_values[4];
	Datum	   *names;
	bool		isnull;
	int			i;

	names = palloc(sizeof(Datum) * model->n_key_columns);
	for (i = 0; i < model->n_key_columns; i++)
		names[i] = CStringGetTextDatum(model->key_columns[i]);
	match_values[0] = ObjectIdGetDatum(model->source);
	match_values[1] = PointerGetDatum(construct_array(names, model->n_key_columns, TEXTOID,
													  -1, false, TYPALIGN_INT));
	match_values[2] = CStringGetTextDatum(alias);
	match_values[3] = CStringGetTextDatum(key_expr);
	(void) catalog_execute(CATALOG_AS_CALLER,
						   "SELECT hitl._key_match($1::pg_catalog.regclass, $2::pg_catalog.name[],"
						   " $3, $4)", 4, match_types, match_values, NULL, true,
						   SPI_OK_SELECT, "building the key condition");
	return TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * The row of the model's table with that key, as the caller sees it
 * (row-level security applies): its key as hitl builds it, and its label
 * as text (NULL: unlabeled).  P0002 when there is none.
 */
HeapTuple
rowaccess_find_row(const HitlModel *model, Datum key, char **label)
{
	Oid			key_type = JSONBOID;
	StringInfoData sql;
	bool		isnull;

	initStringInfo(&sql);
	/* locked as an UPDATE would: the table's UPDATE policies apply too */
	appendStringInfo(&sql, "SELECT %s, t.%s::pg_catalog.text FROM %s t WHERE %s FOR KEY SHARE OF t",
					 rowkey_sql(model, "t"), quote_identifier(model->label_column),
					 model->source_text, rowaccess_key_match(model, "t", "$1"));
	if (catalog_execute(CATALOG_AS_CALLER, sql.data, 1, &key_type, &key, NULL, false,
						SPI_OK_SELECT, "reading the row") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("model \"%s\" has no row of key %s", model->name,
						DatumGetCString(DirectFunctionCall1(jsonb_out, key))),
				 errhint("Give the row's key as a jsonb object of its primary key columns, as in hitl.audit_queue.")));
	(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	*label = isnull ? NULL : SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	return SPI_tuptable->vals[0];
}
