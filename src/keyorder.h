/*
 * keyorder.h
 *		The order of a scan's rows by a single key column of a type passed by
 *		value (an integer primary key, the common case), without a tuplesort.
 *
 * dataset_read_labeled numbers the labeled rows as the table's scan meets
 * them and needs their numbers in key order, as ORDER BY gives it.  A
 * tuplesort of (key, number) tuples does that for any key, but forms a
 * tuple per row.  For one key column of a type passed by value the keys
 * are kept here in an array and their order found by a merge of the runs
 * the scan already holds them in (a table written in key order and then
 * updated holds a few long runs): one comparison per row when the rows
 * come in key order, no tuple at all.  The comparison is the type's
 * default btree ordering with the column's collation, as ORDER BY's.
 * Keys are a primary key's, so distinct: the order is then the only one,
 * the tuplesort's.  Should two keys be equal (the primary key dropped
 * since), key_order_finish says so and the caller sorts as before.
 */
#ifndef HITL_KEYORDER_H
#define HITL_KEYORDER_H

#include "postgres.h"

#include "catalog.h"

typedef struct KeyOrder KeyOrder;

/*
 * The order of rows by the model's key, or NULL when it has several key
 * columns or one of a type passed by reference (the caller sorts tuples).
 * Lives in the current memory context.
 */
extern KeyOrder *key_order_begin(const HitlModel *model);

/* Append the key of the next row (not NULL) */
extern void key_order_add(KeyOrder *ko, Datum key);

/* The keys appended, in their order of arrival */
extern int	key_order_count(const KeyOrder *ko);
extern Datum key_order_key(const KeyOrder *ko, int i);

/*
 * Put the row numbers (0 .. key_order_count - 1) into key order in order;
 * false, order then undefined, when two keys are equal.
 */
extern bool key_order_finish(KeyOrder *ko, int *order);

/* Free the keys */
extern void key_order_end(KeyOrder *ko);

#endif
