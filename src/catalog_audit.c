/*
 * catalog_audit.c
 *		A model's audit store (hitl.audit), replaced by each full training,
 *		and the confirmations of labels (hitl.label_confirmations)
 *		(declared at the end of catalog.h).
 *
 * PUBLIC holds no write privilege on either table: they are written here
 * alone, as the owner of hitl's tables, once the caller has been checked
 * (the training checks that the role may change the model; confirm_label
 * that it may update the label column and sees the row).  Which labels are
 * suspect and how they rank is audit.c's business; this file only stores
 * what it is given.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "catalog.h"

/*
 * Replace the model's audit store with the suspects given (n of them, in
 * rank order): keys (jsonb[]), labels and suggestions (text[]), the
 * out-of-fold probability of each label (float8[]).  n = 0 empties it.
 * The version is the one the training is about to record; log_id, the
 * model's last label log entry then (a later change of a row's label takes
 * it out of hitl.audit_queue).
 */
void
catalog_audit_replace(const char *model, int n, Datum keys, Datum labels,
					  Datum suggested, Datum quality)
{
	Oid			argtypes[5] = {TEXTOID, JSONBARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	FLOAT8ARRAYOID};
	Datum		values[5];

	/* a database not yet updated from 0.1.0 has no audit store */
	if (!OidIsValid(get_relname_relid("audit", get_namespace_oid("hitl", true))))
		return;
	values[0] = CStringGetTextDatum(model);
	values[1] = keys;
	values[2] = labels;
	values[3] = suggested;
	values[4] = quality;
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "DELETE FROM hitl.audit WHERE model OPERATOR(pg_catalog.=) $1",
						   1, argtypes, values, NULL, false, SPI_OK_DELETE,
						   "emptying the audit store");
	if (n == 0)
		return;
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "INSERT INTO hitl.audit (model, row_key, label, suggested,"
						   " label_quality, suspect, rank, version, log_id)"
						   " SELECT $1, v.k, v.l, v.s, v.q, true, v.r::pg_catalog.int4,"
						   "  (SELECT COALESCE(pg_catalog.max(mv.version), 0)"
						   "   OPERATOR(pg_catalog.+) 1 FROM hitl.model_versions mv"
						   "   WHERE mv.model OPERATOR(pg_catalog.=) $1),"
						   "  (SELECT pg_catalog.max(l.id) FROM hitl.label_log l"
						   "   WHERE l.model OPERATOR(pg_catalog.=) $1)"
						   " FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3),"
						   "  pg_catalog.unnest($4), pg_catalog.unnest($5)) WITH ORDINALITY"
						   "  AS v(k, l, s, q, r)",
						   5, argtypes, values, NULL, false, SPI_OK_INSERT,
						   "filling the audit store");
}

/*
 * Log that role confirmed the label of the row of that key, with the last
 * label log entry of the model then (a later change of the row's label
 * ends the confirmation).
 */
void
catalog_audit_confirm(const char *model, Datum row_key, const char *label, const char *role)
{
	Oid			argtypes[4] = {TEXTOID, JSONBOID, TEXTOID, NAMEOID};
	Datum		values[4];

	values[0] = CStringGetTextDatum(model);
	values[1] = row_key;
	values[2] = CStringGetTextDatum(label);
	values[3] = DirectFunctionCall1(namein, CStringGetDatum(role));
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "INSERT INTO hitl.label_confirmations (model, row_key, label, role, log_id)"
						   " SELECT $1, $2, $3, $4, (SELECT pg_catalog.max(l.id) FROM hitl.label_log l"
						   "  WHERE l.model OPERATOR(pg_catalog.=) $1)",
						   4, argtypes, values, NULL, false, SPI_OK_INSERT,
						   "logging the confirmation of a label");
}
