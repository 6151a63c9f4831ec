/*
 * score_write.c
 *		Writing a scoring's rows in batches, without waiting on users.
 *
 * A batch is one UPDATE of the table's rows at the batch's ctids, each row
 * finding its values in the batch's arrays with hitl._pick() and
 * hitl._pick_any() (the arrays come sorted by ctid, as the scan visits the
 * rows: each row costs a comparison).  A batch that fills most of its range
 * of ctids (a full rescoring's) is read by a TID range scan, each page once;
 * a sparse one by a TID scan over ctid = ANY(tids), a fetch per row.  Only
 * the three output columns are set, so the label (and anything else a user
 * changes meanwhile) is never overwritten, and with no index on the output
 * columns the updates are HOT.  The UPDATE writes a row only when the row
 * at the ctid holds the primary key that was scored there (see
 * score_rows.c): a ctid the batch does not hold finds no key, and a rewrite
 * of the table can never give a row another row's scores.
 *
 * A batch first tries its UPDATE under a short lock_timeout, in a
 * subtransaction; when a user holds a lock on one of its rows, the batch is
 * redone with SELECT ... FOR UPDATE SKIP LOCKED, and the rows skipped go
 * back to the scoring (score.c), which tries them again a few times before
 * leaving them for the next scoring.  Scoring never waits long on a user.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "compat.h"
#include "score.h"
#include "spi_check.h"
#include "subxact.h"

/* lock_timeout of a batch's first attempt, in milliseconds */
#define BATCH_LOCK_TIMEOUT_MS "20"

/*
 * The batch UPDATE's parameters before the key arrays: $1 ctids, $2
 * predictions (values of the label's type), $3 confidences, $4
 * uncertainties, $5 and $6 the first and last ctid.
 */
#define BATCH_FIXED_PARAMS 6

/*
 * A batch whose rows are at least this fraction of the rows in its range
 * of ctids is written by a TID range scan (each page read once, its rows
 * in turn) instead of a fetch per ctid.
 */
#define RANGE_MIN_DENSITY 0.5

/* A way of writing a batch: all rows, or those not locked by others */
typedef void (*BatchWriter) (ScoreState *s, const ScoredRow *rows, int n,
							 RowList *skipped);

/* A batch writer's call, for run_in_subtransaction */
typedef struct BatchCall
{
	ScoreState *s;
	BatchWriter writer;
	const ScoredRow *rows;
	int			n;
	RowList    *skipped;
} BatchCall;

static void update_sql(ScoreState *s);
static bool pick_any_installed(void);
static double table_rows_per_page(Oid relid);
static bool batch_is_dense(const ScoreState *s, const ScoredRow *rows, int n,
						   ItemPointerData *first, ItemPointerData *last);
static Datum float8_array(Datum *d, int n);
static void batch_params(const ScoreState *s, const ScoredRow *rows, int n,
						 const ItemPointerData *first, const ItemPointerData *last,
						 Oid *argtypes, Datum *values);
static void batch_params_positions(const ScoreState *s, const ScoredRow *rows, int n,
								   Oid *argtypes, Datum *values);
static SPIPlanPtr update_plan(ScoreState *s, bool range, int nparams, Oid *argtypes);
static int64 update_rows(ScoreState *s, const ScoredRow *rows, int n);
static void write_all(ScoreState *s, const ScoredRow *rows, int n, RowList *skipped);
static void call_batch_writer(void *arg);
static bool attempt_batch(ScoreState *s, BatchWriter writer, const ScoredRow *rows,
						  int n, RowList *skipped);
static void update_batch_skip_locked(ScoreState *s, const ScoredRow *rows, int n,
									 RowList *skipped);
static void skip_visible(ScoreState *s, ScoredRow *others, int nothers,
						 RowList *skipped);

/*
 * Build the SQL of the batch writes: the UPDATE, the check of the rows'
 * keys, the locking of the rows that can be locked and the reading of
 * those still there.  Runs after score_prepare_keys().
 */
void
score_write_prepare(ScoreState *s)
{
	HitlModel  *m = s->model;
	StringInfoData sql;
	int			i;

	/*
	 * t.k OPERATOR(=) hitl._pick_any($1, $7, t.ctid) AND ...: the key scored
	 * at the row's ctid (NULL for a ctid not in the batch: the row is not
	 * written).  The arrays are of the base types: the column's value (of a
	 * domain, say) is compared as its base type, and nothing is cast to a
	 * domain or to a type of the user's.  Before the update from 0.1.0 (no
	 * hitl._pick_any), the key is found by its position in the batch:
	 * ($7)[hitl._pick($1, $6, t.ctid)::int4].
	 */
	s->pick_any = pick_any_installed();
	initStringInfo(&sql);
	for (i = 0; i < s->nkeys; i++)
		appendStringInfo(&sql,
						 s->pick_any ? "%st.%s %s hitl._pick_any($1, $%d, t.ctid)" :
						 "%st.%s %s ($%d)[hitl._pick($1, $6, t.ctid)::pg_catalog.int4]",
						 i > 0 ? " AND " : "", quote_identifier(m->key_columns[i]),
						 s->key_eq[i], BATCH_FIXED_PARAMS + 1 + i);
	s->key_check_sql = sql.data;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT pg_catalog.count(*) FROM %s t WHERE t.ctid OPERATOR(pg_catalog.=) ANY ($1)"
					 " AND NOT (%s)",
					 m->source_text, s->key_check_sql);
	s->moved_sql = sql.data;

	update_sql(s);

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT t.ctid FROM %s t WHERE t.ctid = ANY ($1) FOR UPDATE SKIP LOCKED",
					 m->source_text);
	s->lock_sql = sql.data;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT t.ctid FROM %s t WHERE t.ctid = ANY ($1)",
					 m->source_text);
	s->visible_sql = sql.data;
}

/*
 * The batch UPDATE, over a list of ctids and over a range of them.  The
 * prediction comes as a value of the label's type (the classes were read
 * with its input function): no cast in the UPDATE.  Before the update from
 * 0.1.0, it is the class's position in $5, the classes as text, cast once
 * per batch; and there is no range form.
 */
static void
update_sql(ScoreState *s)
{
	HitlModel  *m = s->model;
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql, "UPDATE %s t SET %s = ", m->source_text,
					 quote_identifier(m->prediction_column));
	if (s->pick_any)
	{
		s->prediction_array_type = get_array_type(s->label_type);
		if (!OidIsValid(s->prediction_array_type))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("the label type %s of model \"%s\" has no array type",
							s->label_type_sql, m->name)));
		appendStringInfoString(&sql, "hitl._pick_any($1, $2, t.ctid)");
	}
	else
		appendStringInfo(&sql, "(SELECT $5::%s[])[hitl._pick($1, $2, t.ctid)::int4]",
						 s->label_type_sql);
	appendStringInfo(&sql, ", %s = hitl._pick($1, $3, t.ctid), %s = hitl._pick($1, $4, t.ctid)"
					 " WHERE ",
					 quote_identifier(m->confidence_column),
					 quote_identifier(m->uncertainty_column));
	s->update_range_sql_text = psprintf("%st.ctid >= $5 AND t.ctid <= $6 AND %s",
										sql.data, s->key_check_sql);
	appendStringInfo(&sql, "t.ctid = ANY ($1) AND %s", s->key_check_sql);
	s->update_sql_text = sql.data;
	s->rows_per_page = s->pick_any ? table_rows_per_page(m->source) : 0.0;
}

/* Is hitl._pick_any() there (not before the update from 0.1.0)? */
static bool
pick_any_installed(void)
{
	Oid			args[3] = {TIDARRAYOID, ANYARRAYOID, TIDOID};

	return OidIsValid(LookupFuncName(list_make2(makeString("hitl"), makeString("_pick_any")),
									 3, args, true));
}

/*
 * Free the UPDATE's plan, kept beyond the transaction in a scoring that
 * commits between batches (in one that does not, SPI frees it).
 */
void
score_write_release(ScoreState *s)
{
	if (s->update_plan != NULL && s->commit_batches)
		SPI_freeplan(s->update_plan);
	if (s->update_range_plan != NULL && s->commit_batches)
		SPI_freeplan(s->update_range_plan);
	s->update_plan = NULL;
	s->update_range_plan = NULL;
}

/* Live rows per page of a table, from its statistics; 0 when unknown */
static double
table_rows_per_page(Oid relid)
{
	HeapTuple	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	double		r = 0.0;

	if (HeapTupleIsValid(tp))
	{
		Form_pg_class c = (Form_pg_class) GETSTRUCT(tp);

		if (c->relpages > 0 && c->reltuples > 0)
			r = c->reltuples / c->relpages;
		ReleaseSysCache(tp);
	}
	return r;
}

/*
 * Is the batch rows[0..n-1] dense in its range of ctids (from *first to
 * *last, set here), so that a TID range scan reads fewer rows than it
 * writes, or not many more?
 */
static bool
batch_is_dense(const ScoreState *s, const ScoredRow *rows, int n,
			   ItemPointerData *first, ItemPointerData *last)
{
	int			i;
	double		pages;

	*first = *last = rows[0].tid;
	for (i = 1; i < n; i++)
	{
		if (ItemPointerCompare((ItemPointer) &rows[i].tid, first) < 0)
			*first = rows[i].tid;
		if (ItemPointerCompare((ItemPointer) &rows[i].tid, last) > 0)
			*last = rows[i].tid;
	}
	pages = (double) ItemPointerGetBlockNumber(last) -
		(double) ItemPointerGetBlockNumber(first) + 1.0;
	return s->rows_per_page > 0 && n >= RANGE_MIN_DENSITY * pages * s->rows_per_page;
}

/* n float8 Datums as a float8[] */
static Datum
float8_array(Datum *d, int n)
{
	return PointerGetDatum(construct_array(d, n, FLOAT8OID, sizeof(float8),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * The parameters of a batch's UPDATE for rows[0..n-1]: $1 ctids, $2
 * predictions, $3 confidences, $4 uncertainties, $5 and $6 the first and
 * last ctid, then one array of keys per key column.
 */
static void
batch_params(const ScoreState *s, const ScoredRow *rows, int n,
			 const ItemPointerData *first, const ItemPointerData *last,
			 Oid *argtypes, Datum *values)
{
	Datum	   *p = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *c = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *u = palloc(sizeof(Datum) * Max(n, 1));
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			i;

	for (i = 0; i < n; i++)
	{
		p[i] = s->class_datums[rows[i].cls];
		c[i] = Float8GetDatum(rows[i].confidence);
		u[i] = Float8GetDatum(rows[i].uncertainty);
	}
	argtypes[0] = TIDARRAYOID;
	argtypes[2] = argtypes[3] = FLOAT8ARRAYOID;
	values[0] = rows_tid_array(rows, n);
	values[2] = float8_array(c, n);
	values[3] = float8_array(u, n);
	if (s->pick_any)
	{
		get_typlenbyvalalign(s->label_type, &typlen, &typbyval, &typalign);
		argtypes[1] = s->prediction_array_type;
		argtypes[4] = argtypes[5] = TIDOID;
		values[1] = PointerGetDatum(construct_array(p, n, s->label_type, typlen,
													typbyval, typalign));
		values[4] = ItemPointerGetDatum(first);
		values[5] = ItemPointerGetDatum(last);
	}
	else
		batch_params_positions(s, rows, n, argtypes, values);
	for (i = 0; i < s->nkeys; i++)
	{
		argtypes[BATCH_FIXED_PARAMS + i] = s->key_array_types[i];
		values[BATCH_FIXED_PARAMS + i] = rowkey_array(s, rows, n, i);
	}
}

/*
 * Before the update from 0.1.0: $2 the rows' class numbers (1-based), $5
 * the classes as text, $6 the positions 1..n, as floats for hitl._pick().
 */
static void
batch_params_positions(const ScoreState *s, const ScoredRow *rows, int n,
					   Oid *argtypes, Datum *values)
{
	Datum	   *k = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *pos = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *cls = palloc(sizeof(Datum) * s->version->n_classes);
	int			i;

	for (i = 0; i < n; i++)
	{
		k[i] = Float8GetDatum((double) (rows[i].cls + 1));
		pos[i] = Float8GetDatum((double) (i + 1));
	}
	for (i = 0; i < s->version->n_classes; i++)
		cls[i] = CStringGetTextDatum(s->version->classes[i]);
	argtypes[1] = argtypes[5] = FLOAT8ARRAYOID;
	argtypes[4] = TEXTARRAYOID;
	values[1] = float8_array(k, n);
	values[4] = PointerGetDatum(construct_array(cls, s->version->n_classes, TEXTOID, -1,
												false, TYPALIGN_INT));
	values[5] = float8_array(pos, n);
}

/* The plan of the batch UPDATE, over a list of ctids or over a range */
static SPIPlanPtr
update_plan(ScoreState *s, bool range, int nparams, Oid *argtypes)
{
	SPIPlanPtr *plan = range ? &s->update_range_plan : &s->update_plan;

	if (*plan == NULL)
	{
		*plan = SPI_prepare_cursor(range ? s->update_range_sql_text : s->update_sql_text,
								   nparams, argtypes, CURSOR_OPT_GENERIC_PLAN);
		if (*plan == NULL)
			elog(ERROR, "hitl: preparing the score update failed: %s",
				 SPI_result_code_string(SPI_result));
		if (s->commit_batches)
			hitl_spi_check(SPI_keepplan(*plan), 0, "keeping the score update plan");
	}
	return *plan;
}

/*
 * Run the batch's UPDATE for rows[0..n-1]; returns rows written.  It writes
 * a row only when the row at the ctid still has the key that was scored.
 * When it wrote fewer rows than asked, and the table was rewritten or one
 * of the ctids holds a row of another key, the scoring must start over
 * (s->restart).
 */
static int64
update_rows(ScoreState *s, const ScoredRow *rows, int n)
{
	int			nparams = BATCH_FIXED_PARAMS + s->nkeys;
	Oid		   *argtypes = palloc(sizeof(Oid) * nparams);
	Datum	   *values = palloc(sizeof(Datum) * nparams);
	int64		written;
	int			ret;
	ItemPointerData first;
	ItemPointerData last;
	bool		range = batch_is_dense(s, rows, n, &first, &last);

	batch_params(s, rows, n, &first, &last, argtypes, values);
	ret = SPI_execute_plan(update_plan(s, range, nparams, argtypes), values, NULL,
						   false, 0);
	hitl_spi_check(ret, SPI_OK_UPDATE, "writing scores");
	written = (int64) SPI_processed;

	/* the UPDATE holds a lock on the table: its relfilenode is current */
	if (written < n && !score_table_rewritten(s))
	{
		bool		isnull;

		ret = SPI_execute_with_args(s->moved_sql, nparams, argtypes, values,
									NULL, false, 0);
		hitl_spi_check_rows(ret, SPI_OK_SELECT, 1, "checking the rows' keys");
		if (DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										1, &isnull)) > 0)
			s->restart = true;
		SPI_freetuptable(SPI_tuptable);
	}
	return written;
}

/* Write every row of a batch (waiting on locks, up to lock_timeout) */
static void
write_all(ScoreState *s, const ScoredRow *rows, int n, RowList *skipped)
{
	s->written += update_rows(s, rows, n);
}

/* Run a batch writer's call (for run_in_subtransaction) */
static void
call_batch_writer(void *arg)
{
	BatchCall  *c = (BatchCall *) arg;

	c->writer(c->s, c->rows, c->n, c->skipped);
}

/*
 * Run a batch writer under a short lock_timeout, in a subtransaction.
 * Returns false when it met a lock held by another session; what it wrote
 * and skipped is then undone.
 */
static bool
attempt_batch(ScoreState *s, BatchWriter writer, const ScoredRow *rows, int n,
			  RowList *skipped)
{
	BatchCall	call = {s, writer, rows, n, skipped};
	int64		written = s->written;
	int64		nskipped = skipped->n;
	int			nestlevel;
	bool		done;

	nestlevel = NewGUCNestLevel();
	(void) set_config_option("lock_timeout", BATCH_LOCK_TIMEOUT_MS,
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	done = run_in_subtransaction(call_batch_writer, &call,
								 ERRCODE_LOCK_NOT_AVAILABLE);
	AtEOXact_GUC(true, nestlevel);
	if (!done)
	{
		s->written = written;
		skipped->n = nskipped;
	}
	return done;
}

/*
 * Write a batch while skipping rows other sessions have locked: lock what
 * can be locked (FOR UPDATE SKIP LOCKED), write those, and add the others
 * to *skipped.
 */
static void
update_batch_skip_locked(ScoreState *s, const ScoredRow *rows, int n, RowList *skipped)
{
	Oid			argtypes[1] = {TIDARRAYOID};
	Datum		values[1];
	ItemPointerData *locked;
	ScoredRow  *mine;
	ScoredRow  *others;
	int			nlocked;
	int			nmine = 0;
	int			nothers = 0;
	int			i;
	int			ret;

	values[0] = rows_tid_array(rows, n);
	ret = SPI_execute_with_args(s->lock_sql, 1, argtypes, values, NULL, false, 0);
	hitl_spi_check(ret, SPI_OK_SELECT, "locking rows");
	nlocked = (int) SPI_processed;
	locked = palloc(sizeof(ItemPointerData) * Max(nlocked, 1));
	for (i = 0; i < nlocked; i++)
	{
		bool		isnull;

		locked[i] = *DatumGetItemPointer(SPI_getbinval(SPI_tuptable->vals[i],
													   SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	/* the query locked the table: a rewrite since the scan shows now */
	if (score_table_rewritten(s))
		return;
	qsort(locked, nlocked, sizeof(ItemPointerData), score_tid_cmp);

	mine = palloc(sizeof(ScoredRow) * Max(n, 1));
	others = palloc(sizeof(ScoredRow) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		if (bsearch(&rows[i].tid, locked, nlocked, sizeof(ItemPointerData), score_tid_cmp))
			mine[nmine++] = rows[i];
		else
			others[nothers++] = rows[i];
	}
	if (nmine > 0)
		s->written += update_rows(s, mine, nmine);
	if (nothers > 0)
		skip_visible(s, others, nothers, skipped);
	pfree(mine);
	pfree(others);
	pfree(locked);
}

/*
 * Of the rows that could not be locked, those still visible are held by
 * other sessions: add them to *skipped, to come back for them.  The others
 * were changed since the scan and are scored again by the next scoring.
 * Sorts others by tid.
 */
static void
skip_visible(ScoreState *s, ScoredRow *others, int nothers, RowList *skipped)
{
	Oid			argtypes[1] = {TIDARRAYOID};
	Datum		values[1];
	int			ret;
	int			i;

	qsort(others, nothers, sizeof(ScoredRow), score_tid_cmp);
	values[0] = rows_tid_array(others, nothers);
	ret = SPI_execute_with_args(s->visible_sql, 1, argtypes, values, NULL, false, 0);
	hitl_spi_check(ret, SPI_OK_SELECT, "reading rows");
	for (i = 0; i < (int) SPI_processed; i++)
	{
		bool		isnull;
		ItemPointer tid = DatumGetItemPointer(SPI_getbinval(SPI_tuptable->vals[i],
															SPI_tuptable->tupdesc, 1, &isnull));

		/* a ScoredRow starts with its tid: others is searched by tid */
		ScoredRow  *row = bsearch(tid, others, nothers, sizeof(ScoredRow),
								  score_tid_cmp);

		if (row != NULL)
			rowlist_add(skipped, row);
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Write a batch without waiting on other sessions: all of it when nothing is
 * locked; else the rows that can be locked, the others going to *skipped;
 * and when the table itself is locked (say by CREATE INDEX), none of it.
 */
void
write_batch(ScoreState *s, const ScoredRow *rows, int n, RowList *skipped)
{
	if (n == 0)
		return;
	if (attempt_batch(s, write_all, rows, n, skipped))
		return;
	write_batch_skip_locked(s, rows, n, skipped);
}

/*
 * Write the rows of a batch that can be locked, the others going to
 * *skipped; when the table itself is locked, all go to *skipped.
 */
void
write_batch_skip_locked(ScoreState *s, const ScoredRow *rows, int n, RowList *skipped)
{
	int			i;

	if (attempt_batch(s, update_batch_skip_locked, rows, n, skipped))
		return;
	for (i = 0; i < n; i++)
		rowlist_add(skipped, &rows[i]);
}

/* A batch's values, sorted by tid, for hitl._pick() and hitl._pick_any() */
typedef struct PickCache
{
	MemoryContext cxt;			/* holds it all; NULL: built for one call */
	Datum		tids_arg;		/* the arguments it was built from */
	Datum		vals_arg;
	int			n;
	int			next;			/* where the previous lookup's successor is */
	ItemPointerData *tids;
	Datum	   *values;			/* pass-by-reference ones point into array */
	ArrayType  *array;			/* the values' array, copied */
} PickCache;

typedef struct PickPair
{
	ItemPointerData tid;		/* first: pairs are sorted by tid */
	Datum		value;
} PickPair;

static bool tids_sorted(const ItemPointerData *tids, int n);
static PickCache *pick_cache_build(FunctionCallInfo fcinfo, MemoryContext cxt);
static bool pick_args_stable(FunctionCallInfo fcinfo);
static int	pick_find(PickCache *cache, ItemPointer key);
static Datum pick_value(FunctionCallInfo fcinfo);

/* Are two ctids the same? (ItemPointerEquals, inlined) */
static inline bool
tid_equal(const ItemPointerData *a, const ItemPointerData *b)
{
	return a->ip_posid == b->ip_posid &&
		a->ip_blkid.bi_lo == b->ip_blkid.bi_lo &&
		a->ip_blkid.bi_hi == b->ip_blkid.bi_hi;
}

/* Are tids[0..n-1] in increasing order? */
static bool
tids_sorted(const ItemPointerData *tids, int n)
{
	int			i;

	for (i = 1; i < n; i++)
		if (ItemPointerCompare((ItemPointer) &tids[i - 1], (ItemPointer) &tids[i]) >= 0)
			return false;
	return true;
}

/*
 * The pairs of the arrays of hitl._pick() or hitl._pick_any() (arguments 0
 * and 1), sorted by tid, in cxt.  A scoring's batches come sorted by tid
 * (score.c): only arrays that are not get sorted here.
 */
static PickCache *
pick_cache_build(FunctionCallInfo fcinfo, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	ArrayType  *ta = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *va = PG_GETARG_ARRAYTYPE_P_COPY(1);
	PickCache  *cache = palloc(sizeof(PickCache));
	int			nt = ArrayGetNItems(ARR_NDIM(ta), ARR_DIMS(ta));
	int			nv;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	bool	   *vnulls;
	int			i;

	if (ARR_ELEMTYPE(ta) != TIDOID)
		elog(ERROR, "hitl._pick: the first array must be of tids");
	get_typlenbyvalalign(ARR_ELEMTYPE(va), &typlen, &typbyval, &typalign);
	deconstruct_array(va, ARR_ELEMTYPE(va), typlen, typbyval, typalign,
					  &cache->values, &vnulls, &nv);
	if (nt != nv)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("hitl._pick needs arrays of the same length")));
	if (ARR_HASNULL(ta) || ARR_HASNULL(va))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("hitl._pick arrays must not contain nulls")));
	cache->cxt = NULL;
	cache->tids_arg = PG_GETARG_DATUM(0);
	cache->vals_arg = PG_GETARG_DATUM(1);
	cache->array = va;
	cache->n = nt;
	cache->next = 0;
	/* without nulls, a tid[] is a C array of its elements */
	StaticAssertStmt(sizeof(ItemPointerData) == 6, "a tid takes 6 bytes");
	cache->tids = palloc(sizeof(ItemPointerData) * Max(nt, 1));
	memcpy(cache->tids, (char *) ta + ARR_OVERHEAD_NONULLS(ARR_NDIM(ta)),
		   sizeof(ItemPointerData) * nt);
	if (!tids_sorted(cache->tids, nt))
	{
		PickPair   *pairs = palloc(sizeof(PickPair) * Max(nt, 1));

		for (i = 0; i < nt; i++)
		{
			pairs[i].tid = cache->tids[i];
			pairs[i].value = cache->values[i];
		}
		qsort(pairs, nt, sizeof(PickPair), score_tid_cmp);
		for (i = 0; i < nt; i++)
		{
			cache->tids[i] = pairs[i].tid;
			cache->values[i] = pairs[i].value;
		}
		pfree(pairs);
	}
	MemoryContextSwitchTo(old);
	return cache;
}

/*
 * The place of key in a pick cache, or -1.  A TID scan visits the rows in
 * tid order: the next pair is tried first.
 */
static int
pick_find(PickCache *cache, ItemPointer key)
{
	ItemPointerData *found;

	if (cache->next < cache->n && tid_equal(&cache->tids[cache->next], key))
		found = &cache->tids[cache->next];
	else
		found = bsearch(key, cache->tids, cache->n, sizeof(ItemPointerData), score_tid_cmp);
	if (found == NULL)
		return -1;
	cache->next = (found - cache->tids) + 1;
	return found - cache->tids;
}

/*
 * May a pick cache built from this call's arrays serve the expression's
 * later calls?  Only when both arrays are constants or parameters of the
 * query (a batch UPDATE's are), the same for each of its rows; not when
 * they are computed per row (a join, VALUES), nor expanded arrays, which
 * PL/pgSQL changes in place.
 */
static bool
pick_args_stable(FunctionCallInfo fcinfo)
{
	int			i;

	for (i = 0; i < 2; i++)
		if (!get_fn_expr_arg_stable(fcinfo->flinfo, i) ||
			VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(PG_GETARG_DATUM(i))))
			return false;
	return true;
}

/*
 * The value paired with argument 2 in the arrays of arguments 0 and 1.  The
 * arrays are read once into fn_extra when they are stable (see above); a
 * PL/pgSQL expression keeps its fn_extra from one evaluation to the next,
 * so the cache serves only the arguments it was built from.  Other arrays
 * are read at each call, into the call's memory context.
 */
static Datum
pick_value(FunctionCallInfo fcinfo)
{
	PickCache  *cache = (PickCache *) fcinfo->flinfo->fn_extra;
	int			i;

	if (cache != NULL && (cache->tids_arg != PG_GETARG_DATUM(0) ||
						  cache->vals_arg != PG_GETARG_DATUM(1)))
	{
		MemoryContextDelete(cache->cxt);
		fcinfo->flinfo->fn_extra = cache = NULL;
	}
	if (cache == NULL && pick_args_stable(fcinfo))
	{
		MemoryContext cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt,
												  "hitl pick cache",
												  ALLOCSET_DEFAULT_SIZES);

		cache = pick_cache_build(fcinfo, cxt);
		cache->cxt = cxt;
		fcinfo->flinfo->fn_extra = cache;
	}
	else if (cache == NULL)
		cache = pick_cache_build(fcinfo, CurrentMemoryContext);
	i = pick_find(cache, PG_GETARG_ITEMPOINTER(2));
	if (i < 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(cache->values[i]);
}

PG_FUNCTION_INFO_V1(hitl_pick);

/*
 * hitl._pick(tids tid[], vals float8[], key tid) returns float8
 *
 * The value paired with key, or NULL.  The arrays are the parameters of one
 * UPDATE of a scoring batch, the same for every row it updates: they are
 * read once into fn_extra, then each row costs a comparison (or a binary
 * search).  This lets the batch UPDATE be a single TID scan over
 * ctid = ANY(tids) instead of a join, which measured twice as costly per
 * row.
 */
Datum
hitl_pick(PG_FUNCTION_ARGS)
{
	return pick_value(fcinfo);
}

PG_FUNCTION_INFO_V1(hitl_pick_any);

/*
 * hitl._pick_any(tids tid[], vals anyarray, key tid) returns anyelement
 *
 * hitl._pick() for an array of any type: the key scored at a ctid, the
 * prediction written there.  A value of a pass-by-reference type points
 * into the array's copy in fn_extra, which lasts as long as the query.
 */
Datum
hitl_pick_any(PG_FUNCTION_ARGS)
{
	return pick_value(fcinfo);
}
