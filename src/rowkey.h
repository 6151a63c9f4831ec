/*
 * rowkey.h
 *		A row's key: the one builder of it, in SQL and in C (rowkey.c).
 */
#ifndef HITL_ROWKEY_H
#define HITL_ROWKEY_H

#include "postgres.h"

#include "fmgr.h"
#include "storage/itemptr.h"

#include "catalog.h"

/*
 * SQL expression of a row's key as jsonb, from the key columns of a table
 * aliased as alias: jsonb_build_object('id', alias.id, ...).
 */
extern char *rowkey_sql(const HitlModel *model, const char *alias);

/* The key columns as a comma-separated list of alias.column, for ORDER BY */
extern char *rowkey_columns_sql(const HitlModel *model, const char *alias);

/*
 * The key of the row at a ctid of the model's table, as jsonb text, for
 * error messages ("?" when the row is gone).  Runs in the caller's SPI
 * connection.
 */
extern char *rowkey_text_at(const HitlModel *model, ItemPointer tid);

/*
 * The same key built in C from the values of the key columns, for the label
 * triggers (no SQL per row): prepared once per table, then called per row.
 */
typedef struct RowKeyBuilder
{
	int			nkeys;
	Datum		names[INDEX_MAX_KEYS];	/* text */
	FmgrInfo	flinfo;			/* jsonb_build_object('k1', $1, 'k2', $2...) */
} RowKeyBuilder;

/*
 * Prepare a builder for nkeys columns of those names and types; what it
 * keeps is allocated in mcxt.
 */
extern void rowkey_builder_init(RowKeyBuilder *b, int nkeys, char *const *names,
								const Oid *types, MemoryContext mcxt);

/* A row's key as jsonb, from the values of its key columns */
extern Datum rowkey_build(RowKeyBuilder *b, const Datum *values, const bool *nulls);

#endif
