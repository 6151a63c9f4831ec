/*
 * rowaccess.h
 *		What a role may do to a model's rows, checked as that role: label
 *		them (UPDATE on the label column), and see one of them by its key.
 */
#ifndef HITL_ROWACCESS_H
#define HITL_ROWACCESS_H

#include "access/htup.h"

#include "hitl.h"

/*
 * 42501 unless the current role holds UPDATE on the model's label column
 * (the table's privilege or the column's): "permission denied to <what> of
 * model", with the detail "<doing> takes UPDATE on column ...".
 */
extern void rowaccess_check_update(const HitlModel *model, const char *what,
								   const char *doing);

/*
 * The SQL condition that a row of the model's table, under alias, has the
 * key the jsonb expression key_expr holds.  Needs an SPI connection.
 */
extern char *rowaccess_key_match(const HitlModel *model, const char *alias,
								 const char *key_expr);

/*
 * The row of the model's table with that key (jsonb), as the current role
 * sees it and may update it (row-level security applies; the row is
 * locked FOR KEY SHARE): a tuple of SPI_tuptable whose
 * first column is its key as hitl builds it; *label is its label as text,
 * NULL when unlabeled.  P0002 when there is none.  Needs an SPI connection.
 */
extern HeapTuple rowaccess_find_row(const HitlModel *model, Datum key, char **label);

#endif							/* HITL_ROWACCESS_H */
