/*
 * score_rows.c
 *		The rows of a scoring: where they are and whose they are.
 *
 * A scoring reads every row once, then writes the rows whose scores moved,
 * finding them again by ctid: one TID scan per batch, with no index needed.
 * But a ctid names a row only until the table is rewritten: in a scoring
 * that commits between batches (CALL hitl.score_in_batches, the worker), a
 * VACUUM FULL, CLUSTER, TRUNCATE and reload, or ALTER TABLE that rewrites
 * can run between two batches and put other rows at the ctids that were
 * scored.  So each scored row also keeps its primary key as the scan read
 * it, and every write checks it (score_write.c, queue.c); and the table's
 * storage (its relfilenode) is noted at the scan, so that a rewrite shows.
 *
 * Keys are kept in their columns' base types (a domain's base type) and
 * compared with the equality operator of the type's default operator class,
 * so nothing is cast to a domain or to a type of the user's.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "compat.h"
#include "score.h"

static char *key_eq_operator(Oid type, const char *column);
static Datum rowkey_value(const ScoreState *s, const ScoredRow *row, int i);
static Oid	current_relfilenode(Oid relid);

/* Append a row to a list, growing it (by doubling) in the list's context */
void
rowlist_add(RowList *list, const ScoredRow *row)
{
	if (list->n == list->capacity)
	{
		list->capacity = list->capacity ? list->capacity * 2 : 4096;
		if (list->rows == NULL)
			list->rows = MemoryContextAllocExtended(list->mcxt,
													sizeof(ScoredRow) * list->capacity,
													MCXT_ALLOC_HUGE);
		else
			list->rows = repalloc_huge(list->rows, sizeof(ScoredRow) * list->capacity);
	}
	list->rows[list->n++] = *row;
}

/*
 * The order of two ctids as a single integer comparison: block, then line
 * pointer.
 */
static inline uint64
tid_order(const ItemPointerData *tid)
{
	return ((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 16) |
		ItemPointerGetOffsetNumberNoCheck(tid);
}

#define ST_SORT sort_rows_by_tid
#define ST_ELEMENT_TYPE ScoredRow
#define ST_COMPARE(a, b) \
	(tid_order(&(a)->tid) < tid_order(&(b)->tid) ? -1 : \
	 tid_order(&(a)->tid) > tid_order(&(b)->tid) ? 1 : 0)
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * Sort rows[0..n-1] by ctid, the order a TID scan visits them in: a batch
 * sorted so costs its UPDATE no sort of its own (qsort's check for sorted
 * input), and hitl._pick() finds each row at the next place.  Comparisons
 * are inlined; input already sorted (a serial scan's) costs one pass.
 */
void
rows_sort_by_tid(ScoredRow *rows, int n)
{
	sort_rows_by_tid(rows, n);
}

/* Compare two ItemPointers, for qsort and bsearch */
int
score_tid_cmp(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

/* The ctids of rows[0..n-1] as a tid[] */
Datum
rows_tid_array(const ScoredRow *rows, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = ItemPointerGetDatum(&rows[i].tid);
	return PointerGetDatum(construct_array(d, n, TIDOID, sizeof(ItemPointerData),
										   false, TYPALIGN_SHORT));
}

/*
 * The equality operator of a key column's base type (of its default btree
 * or hash operator class), schema-qualified for OPERATOR().
 */
static char *
key_eq_operator(Oid type, const char *column)
{
	TypeCacheEntry *tc = lookup_type_cache(type, TYPECACHE_EQ_OPR);
	HeapTuple	tp;
	Form_pg_operator op;
	char	   *result;

	if (!OidIsValid(tc->eq_opr))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("key column \"%s\" has type %s, which has no equality operator",
						column, format_type_be(type))));
	tp = SearchSysCache1(OPEROID, ObjectIdGetDatum(tc->eq_opr));
	if (!HeapTupleIsValid(tp))
		elog(ERROR, "cache lookup failed for operator %u", tc->eq_opr);
	op = (Form_pg_operator) GETSTRUCT(tp);
	result = psprintf("OPERATOR(%s.%s)",
					  quote_identifier(get_namespace_name(op->oprnamespace)),
					  NameStr(op->oprname));
	ReleaseSysCache(tp);
	return result;
}

/*
 * Set up the key columns' base types, their storage, array types and
 * equality operators in s (allocated in the current memory context).
 */
void
score_prepare_keys(ScoreState *s)
{
	HitlModel  *m = s->model;
	int			i;

	s->nkeys = m->n_key_columns;
	if (s->nkeys < 1)
		elog(ERROR, "hitl: model \"%s\" has no key columns", m->name);
	s->key_types = palloc(sizeof(Oid) * s->nkeys);
	s->key_typlen = palloc(sizeof(int16) * s->nkeys);
	s->key_byval = palloc(sizeof(bool) * s->nkeys);
	s->key_typalign = palloc(sizeof(char) * s->nkeys);
	s->key_array_types = palloc(sizeof(Oid) * s->nkeys);
	s->key_eq = palloc(sizeof(char *) * s->nkeys);

	for (i = 0; i < s->nkeys; i++)
	{
		const char *col = m->key_columns[i];
		AttrNumber	att = get_attnum(m->source, col);

		if (att == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("key column \"%s\" of model \"%s\" no longer exists",
							col, m->name)));
		s->key_types[i] = getBaseType(get_atttype(m->source, att));
		get_typlenbyvalalign(s->key_types[i], &s->key_typlen[i], &s->key_byval[i],
							 &s->key_typalign[i]);
		s->key_array_types[i] = get_array_type(s->key_types[i]);
		if (!OidIsValid(s->key_array_types[i]))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("key column \"%s\" has type %s, which has no array type",
							col, format_type_be(s->key_types[i]))));
		s->key_eq[i] = key_eq_operator(s->key_types[i], col);
	}
}

/*
 * Keep the key of the row being scanned (values[0..nkeys-1]) beyond the
 * scan's per-row memory: by value for one pass-by-value column, else
 * copied (detoasted: a TOAST pointer does not survive a rewrite) into the
 * scoring's context.
 */
Datum
rowkey_save(const ScoreState *s, const Datum *values, const bool *nulls)
{
	MemoryContext old = MemoryContextSwitchTo(s->cxt);
	Datum	   *keys = NULL;
	Datum		result = (Datum) 0;
	int			i;

	if (s->nkeys > 1)
		keys = palloc(sizeof(Datum) * s->nkeys);
	for (i = 0; i < s->nkeys; i++)
	{
		Datum		v;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("key column \"%s\" of model \"%s\" holds a null",
							s->model->key_columns[i], s->model->name),
					 errdetail("Scoring finds each row by its primary key.")));
		if (s->key_typlen[i] == -1)
			v = PointerGetDatum(PG_DETOAST_DATUM_COPY(values[i]));
		else
			v = datumCopy(values[i], s->key_byval[i], s->key_typlen[i]);
		if (keys != NULL)
			keys[i] = v;
		else
			result = v;
	}
	MemoryContextSwitchTo(old);
	return keys != NULL ? PointerGetDatum(keys) : result;
}

/* Key column i of a scored row */
static Datum
rowkey_value(const ScoreState *s, const ScoredRow *row, int i)
{
	if (s->nkeys == 1)
		return row->key;
	return ((const Datum *) DatumGetPointer(row->key))[i];
}

/* Free what rowkey_save allocated */
void
rowkey_free(const ScoreState *s, Datum key)
{
	int			i;

	if (s->nkeys == 1)
	{
		if (!s->key_byval[0])
			pfree(DatumGetPointer(key));
		return;
	}
	for (i = 0; i < s->nkeys; i++)
		if (!s->key_byval[i])
			pfree(DatumGetPointer(((Datum *) DatumGetPointer(key))[i]));
	pfree(DatumGetPointer(key));
}

/* Key column k of rows[0..n-1], as an array of its base type */
Datum
rowkey_array(const ScoreState *s, const ScoredRow *rows, int n, int k)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = rowkey_value(s, &rows[i], k);
	return PointerGetDatum(construct_array(d, n, s->key_types[k], s->key_typlen[k],
										   s->key_byval[k], s->key_typalign[k]));
}

/* The table's relfilenode, as the current transaction's catalog sees it */
static Oid
current_relfilenode(Oid relid)
{
	HeapTuple	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			result = InvalidOid;

	if (HeapTupleIsValid(tp))
	{
		result = ((Form_pg_class) GETSTRUCT(tp))->relfilenode;
		ReleaseSysCache(tp);
	}
	return result;
}

/*
 * Note the table's storage, right after the scan: the ctids are those of
 * this storage, which the scan's lock keeps until the transaction ends.
 */
void
score_note_storage(ScoreState *s)
{
	s->relfilenode = current_relfilenode(s->model->source);
}

/*
 * Has the table been rewritten since it was scanned (or are the scan's
 * ctids otherwise known to be stale)?  Sees every rewrite committed so far;
 * one still in progress holds a lock that a write of ours waits for, and
 * the check after that write sees it.
 */
bool
score_table_rewritten(ScoreState *s)
{
	AcceptInvalidationMessages();
	if (current_relfilenode(s->model->source) != s->relfilenode)
		s->restart = true;
	return s->restart;
}
