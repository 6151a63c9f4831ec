/*
 * assign.c
 *		Rows for people who label at the same time: hitl.next_rows()
 *		reserves the most useful unlabeled rows of a model's review queue
 *		for the calling role, so that two annotators are not given the
 *		same row while it is reserved, and hitl.skip() lets an annotator
 *		pass on a row.
 *
 * A reservation is a row of hitl.reservations, (model, row_key, role).  A
 * row is given to at most annotators_per_row roles (1 unless set): its
 * answers (answer.c) and the running reservations of the roles that have
 * not answered it count.  The callers of one model take turns:
 * each locks the model's row of hitl.assignment_locks until its
 * transaction ends (two callers reserving at once could each hold a row
 * the other waits for).  next_rows then reads the queue as the caller
 * (the table's row-level security applies, and the rows must still be
 * unlabeled, not answered by the caller, not full), and reserves as the
 * owner of hitl's tables.
 * Each call gives the caller its batch anew: its reservations still
 * running first, in queue order, then the next rows, n in all; its other
 * reservations of the model are released.  A reservation lasts the
 * model's option reservation_timeout (seconds; 600 when absent).
 *
 * A skip (hitl.skips) keeps the row from the role that skipped it, and
 * from every role once skip_limit roles (2 when absent) skipped it; it is
 * kept with its reason and time.
 *
 * Both take what labeling takes: UPDATE on the label column.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "catalog.h"
#include "rowaccess.h"
#include "spi_check.h"

#define NEXT_ROWS_MAX 1000
#define SKIP_REASON_MAX 1000

/* The model's options for assignment, with their defaults */
typedef struct AssignOptions
{
	double		timeout_s;		/* reservation_timeout */
	int			skip_limit;
	int			k;				/* annotators_per_row */
} AssignOptions;

/* The candidates of a call, in the order they are offered */
typedef struct Candidates
{
	int			n;
	Datum	   *key;			/* jsonb */
	int32	   *rank;
	char	  **prediction;
	double	   *confidence;
	double	   *uncertainty;
	bool	   *reserved;
	TimestampTz *until;
} Candidates;

PG_FUNCTION_INFO_V1(hitl_next_rows);
PG_FUNCTION_INFO_V1(hitl_skip);

/* The model named by the first argument, checked for the caller */
static HitlModel *
load_for_caller(FunctionCallInfo fcinfo, const char *what, const char *doing)
{
	HitlModel  *model;

	model = catalog_load_model(text_to_cstring(PG_GETARG_TEXT_PP(0)), CurrentMemoryContext);
	rowaccess_check_update(model, what, doing);
	/* its rows are in Citus' shards, where no label of them can be logged */
	catalog_check_not_citus(model);
	return model;
}

/*
 * Wait for the model's other callers of next_rows (see the top).  What
 * follows reads with snapshots taken after the wait (SPI's read_only
 * false), so that it sees the reservations and labels of the caller it
 * waited for.
 */
static void
take_turn(const HitlModel *model)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];

	values[0] = CStringGetTextDatum(model->name);
	if (catalog_execute(CATALOG_AS_OWNER,
						"SELECT 1 FROM hitl.models m WHERE m.name OPERATOR(pg_catalog.=) $1 FOR KEY SHARE",
						1, argtypes, values, NULL, false, SPI_OK_SELECT, "locking the model") != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" was dropped", model->name)));
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "INSERT INTO hitl.assignment_locks AS l (model) VALUES ($1)"
						   " ON CONFLICT (model) DO UPDATE SET model = EXCLUDED.model",
						   1, argtypes, values, NULL, false, SPI_OK_INSERT,
						   "waiting for the model's other annotators");
}

static void
read_options(const HitlModel *model, AssignOptions *o)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;

	values[0] = CStringGetTextDatum(model->name);
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "SELECT coalesce((m.options OPERATOR(pg_catalog.->>) 'reservation_timeout')::pg_catalog.float8, 600),"
						   " coalesce((m.options OPERATOR(pg_catalog.->>) 'skip_limit')::pg_catalog.int4, 2),"
						   " coalesce((m.options OPERATOR(pg_catalog.->>) 'annotators_per_row')::pg_catalog.int4, 1)"
						   " FROM hitl.models m WHERE m.name OPERATOR(pg_catalog.=) $1",
						   1, argtypes, values, NULL, true, SPI_OK_SELECT,
						   "reading the options of assignment");
	if (SPI_processed != 1)
		elog(ERROR, "model \"%s\" vanished", model->name);
	o->timeout_s = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	o->skip_limit = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	o->k = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
}

/*
 * Of the queue's rows (*checked), those no candidate may be, those role
 * holds, and those others have started (answered), read as the owner of
 * hitl's tables: they only narrow and order what the caller sees.  A row is out when role skipped it or
 * skip_limit roles did, when role answered it, or when its answers and the
 * running reservations of the roles that have not answered it reach
 * annotators_per_row (1: a row one other role holds).
 */
static void
read_exclusions(const HitlModel *model, Datum role, const AssignOptions *o,
				Datum *excluded, Datum *mine, Datum *started, Datum *checked)
{
	Oid			argtypes[4] = {TEXTOID, NAMEOID, INT4OID, INT4OID};
	Datum		values[4];
	bool		isnull;

	values[0] = CStringGetTextDatum(model->name);
	values[1] = role;
	values[2] = Int32GetDatum(o->skip_limit);
	values[3] = Int32GetDatum(o->k);
	/*
	 * Only the queue's rows can be offered: answers, reservations and skips
	 * are joined to them (by hash, or through their primary keys, whichever
	 * the planner finds cheaper), not read whole for each call.
	 */
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "WITH q AS (SELECT q.row_key FROM hitl.queue q WHERE q.model OPERATOR(pg_catalog.=) $1),"
						   " a AS (SELECT a.row_key, pg_catalog.count(*) AS n,"
						   "  pg_catalog.bool_or(a.role OPERATOR(pg_catalog.=) $2) AS me"
						   "  FROM q JOIN hitl.answers a ON a.model OPERATOR(pg_catalog.=) $1"
						   "  AND a.row_key OPERATOR(pg_catalog.=) q.row_key GROUP BY a.row_key),"
						   " r AS (SELECT r.row_key, pg_catalog.count(*) FILTER (WHERE r.role OPERATOR(pg_catalog.<>) $2"
						   "  AND NOT EXISTS (SELECT FROM hitl.answers b WHERE b.model OPERATOR(pg_catalog.=) $1"
						   "   AND b.row_key OPERATOR(pg_catalog.=) r.row_key AND b.role OPERATOR(pg_catalog.=) r.role)) AS held,"
						   "  pg_catalog.bool_or(r.role OPERATOR(pg_catalog.=) $2) AS me"
						   "  FROM q JOIN hitl.reservations r ON r.model OPERATOR(pg_catalog.=) $1"
						   "  AND r.row_key OPERATOR(pg_catalog.=) q.row_key"
						   "  WHERE r.expires_at OPERATOR(pg_catalog.>) pg_catalog.clock_timestamp() GROUP BY r.row_key),"
						   " s AS (SELECT s.row_key, pg_catalog.count(*) AS n,"
						   "  pg_catalog.bool_or(s.role OPERATOR(pg_catalog.=) $2) AS me"
						   "  FROM q JOIN hitl.skips s ON s.model OPERATOR(pg_catalog.=) $1"
						   "  AND s.row_key OPERATOR(pg_catalog.=) q.row_key GROUP BY s.row_key)"
						   " SELECT coalesce(pg_catalog.array_agg(q.row_key) FILTER (WHERE s.me OR s.n OPERATOR(pg_catalog.>=) $3"
						   "  OR a.me OR coalesce(a.n, 0) OPERATOR(pg_catalog.+) coalesce(r.held, 0) OPERATOR(pg_catalog.>=) $4), '{}'),"
						   " coalesce(pg_catalog.array_agg(q.row_key) FILTER (WHERE r.me), '{}'),"
						   " coalesce(pg_catalog.array_agg(q.row_key) FILTER (WHERE a.n OPERATOR(pg_catalog.>) 0), '{}'),"
						   " coalesce(pg_catalog.array_agg(q.row_key), '{}')"
						   " FROM q LEFT JOIN a ON a.row_key OPERATOR(pg_catalog.=) q.row_key"
						   " LEFT JOIN r ON r.row_key OPERATOR(pg_catalog.=) q.row_key"
						   " LEFT JOIN s ON s.row_key OPERATOR(pg_catalog.=) q.row_key",
						   4, argtypes, values, NULL, false, SPI_OK_SELECT,
						   "reading reservations, answers and skips");
	*excluded = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
												&isnull), false, -1);
	*mine = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2,
											&isnull), false, -1);
	*started = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3,
											   &isnull), false, -1);
	*checked = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4,
											   &isnull), false, -1);
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Keep the candidates whose row is still unlabeled, up to limit, in
 * order: one lookup by key each, as the caller, through a plan whose key
 * is a parameter (so that the table's row-level security, if any, still
 * lets its primary key index serve).
 */
static void
keep_unlabeled(const HitlModel *model, Candidates *c, int limit)
{
	Oid			key_type = JSONBOID;
	StringInfoData sql;
	HitlRoleScope scope;
	SPIPlanPtr	plan;
	int			kept = 0;
	int			i;

	initStringInfo(&sql);
	/*
	 * Locked FOR SHARE, as an UPDATE would find the row: its UPDATE policies
	 * apply, and a label committed since the caller's snapshot is seen (read
	 * committed) or fails the call with 40001 (repeatable read), never
	 * offered.  Only the rows given are checked, so only they stay locked.
	 * A row another session is updating now (an annotator answering it) is
	 * passed over, not waited for: waiting there, while holding the turn
	 * of the model's callers, deadlocked with that session's next UPDATE.
	 */
	appendStringInfo(&sql, "SELECT 1 FROM %s t WHERE %s AND t.%s IS NULL FOR SHARE OF t SKIP LOCKED",
					 model->source_text, rowaccess_key_match(model, "t", "$1"),
					 quote_identifier(model->label_column));
	catalog_read_enter(&scope);
	plan = SPI_prepare(sql.data, 1, &key_type);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	for (i = 0; i < c->n && kept < limit; i++)
	{
		CHECK_FOR_INTERRUPTS();
		hitl_spi_check(SPI_execute_plan(plan, &c->key[i], NULL, false, 1), SPI_OK_SELECT,
					   "reading a row to offer");
		if (SPI_processed == 0)
			continue;
		c->key[kept] = c->key[i];
		c->rank[kept] = c->rank[i];
		c->prediction[kept] = c->prediction[i];
		c->confidence[kept] = c->confidence[i];
		c->uncertainty[kept] = c->uncertainty[i];
		kept++;
	}
	SPI_freeplan(plan);
	hitl_role_exit(&scope);
	c->n = kept;
}

/*
 * The rows that may be offered to role, as it sees them: in the queue
 * (whose row-level security shows the rows the caller sees), unlabeled,
 * skipped neither by it nor by skip_limit roles, reserved by nobody else;
 * those it holds first, then by rank.  At most limit.
 */
static void
read_candidates(const HitlModel *model, Datum role, const AssignOptions *o, int limit,
				Candidates *c)
{
	Oid			argtypes[6] = {TEXTOID, JSONBARRAYOID, JSONBARRAYOID, JSONBARRAYOID, INT4OID,
		JSONBARRAYOID};
	Datum		values[6];
	int			fetch = limit * 2 + 50;
	int			i;

	values[0] = CStringGetTextDatum(model->name);
	read_exclusions(model, role, o, &values[1], &values[2], &values[3], &values[5]);
	for (;;)
	{
		int			got;

		values[4] = Int32GetDatum(fetch);
		got = (int) catalog_execute(CATALOG_AS_CALLER,
		/* joins by hash: arrays of thousands of keys stay linear */
									"SELECT q.row_key, q.rank, q.prediction, q.confidence, q.uncertainty"
									" FROM hitl.queue q"
									" LEFT JOIN (SELECT DISTINCT m.k FROM pg_catalog.unnest($3) m (k)) mine"
									" ON mine.k OPERATOR(pg_catalog.=) q.row_key"
									" LEFT JOIN (SELECT DISTINCT s.k FROM pg_catalog.unnest($4) s (k)) started"
									" ON started.k OPERATOR(pg_catalog.=) q.row_key"
									/*
									 * only rows the exclusions looked at: a
									 * scoring may have replaced the queue since
									 */
									" JOIN (SELECT DISTINCT c.k FROM pg_catalog.unnest($6) c (k)) checked"
									" ON checked.k OPERATOR(pg_catalog.=) q.row_key"
									" WHERE q.model OPERATOR(pg_catalog.=) $1"
									" AND NOT EXISTS (SELECT FROM pg_catalog.unnest($2) e (k)"
									" WHERE e.k OPERATOR(pg_catalog.=) q.row_key)"
									" ORDER BY mine.k IS NOT NULL DESC, started.k IS NOT NULL DESC, q.rank"
									" LIMIT $5",
									6, argtypes, values, NULL, false, SPI_OK_SELECT,
									"reading the rows to offer");
		c->n = got;
		c->key = palloc(sizeof(Datum) * Max(c->n, 1));
		c->rank = palloc(sizeof(int32) * Max(c->n, 1));
		c->prediction = palloc(sizeof(char *) * Max(c->n, 1));
		c->confidence = palloc(sizeof(double) * Max(c->n, 1));
		c->uncertainty = palloc(sizeof(double) * Max(c->n, 1));
		for (i = 0; i < c->n; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;

			c->key[i] = datumCopy(SPI_getbinval(tup, desc, 1, &isnull), false, -1);
			c->rank[i] = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
			c->prediction[i] = SPI_getvalue(tup, desc, 3);
			c->confidence[i] = DatumGetFloat8(SPI_getbinval(tup, desc, 4, &isnull));
			c->uncertainty[i] = DatumGetFloat8(SPI_getbinval(tup, desc, 5, &isnull));
		}
		SPI_freetuptable(SPI_tuptable);
		keep_unlabeled(model, c, limit);
		/* enough unlabeled rows, or the queue has no more */
		if (c->n >= limit || got < fetch || fetch >= INT_MAX / 4)
			break;
		fetch *= 4;
	}
	c->reserved = palloc0(sizeof(bool) * Max(c->n, 1));
	c->until = palloc0(sizeof(TimestampTz) * Max(c->n, 1));
}

/*
 * Reserve candidates [from, to) for role (or renew its reservations of
 * them); returns how many it got.
 */
static int
reserve(const HitlModel *model, Datum role, const AssignOptions *o, Candidates *c,
		int from, int to)
{
	Oid			argtypes[4] = {TEXTOID, NAMEOID, FLOAT8OID, JSONBARRAYOID};
	Datum		values[4];
	int			got = 0;
	uint64		i;

	values[0] = CStringGetTextDatum(model->name);
	values[1] = role;
	values[2] = Float8GetDatum(o->timeout_s);
	values[3] = PointerGetDatum(construct_array(c->key + from, to - from, JSONBOID, -1, false,
												TYPALIGN_INT));
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "WITH c AS (SELECT u.k, u.o FROM pg_catalog.unnest($4) WITH ORDINALITY u (k, o)),"
						   " r AS (INSERT INTO hitl.reservations AS r (model, row_key, role, reserved_at, expires_at)"
						   "  SELECT $1, c.k, $2, pg_catalog.clock_timestamp(),"
						   "   pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => $3)"
						   "  FROM c ORDER BY c.o"
						   "  ON CONFLICT (model, row_key, role) DO UPDATE"
						   "  SET reserved_at = EXCLUDED.reserved_at, expires_at = EXCLUDED.expires_at"
						   "  RETURNING r.row_key, r.expires_at)"
						   " SELECT c.o::pg_catalog.int4, r.expires_at FROM c JOIN r"
						   " ON r.row_key OPERATOR(pg_catalog.=) c.k",
						   4, argtypes, values, NULL, false, SPI_OK_SELECT,
						   "reserving rows");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int			at = from - 1 + DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
																  SPI_tuptable->tupdesc, 1, &isnull));

		c->reserved[at] = true;
		c->until[at] = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 2, &isnull));
		got++;
	}
	SPI_freetuptable(SPI_tuptable);
	return got;
}

/* Release role's reservations of the model but those of the batch */
static void
release_others(const HitlModel *model, Datum role, const Candidates *c)
{
	Oid			argtypes[3] = {TEXTOID, NAMEOID, JSONBARRAYOID};
	Datum		values[3];
	Datum	   *kept = palloc(sizeof(Datum) * Max(c->n, 1));
	int			n = 0;
	int			i;

	for (i = 0; i < c->n; i++)
		if (c->reserved[i])
			kept[n++] = c->key[i];
	values[0] = CStringGetTextDatum(model->name);
	values[1] = role;
	values[2] = PointerGetDatum(construct_array(kept, n, JSONBOID, -1, false, TYPALIGN_INT));
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "DELETE FROM hitl.reservations r WHERE r.model OPERATOR(pg_catalog.=) $1"
						   " AND ((r.role OPERATOR(pg_catalog.=) $2 AND r.row_key OPERATOR(pg_catalog.<>) ALL ($3))"
						   " OR r.expires_at OPERATOR(pg_catalog.<=) pg_catalog.clock_timestamp())",
						   3, argtypes, values, NULL, false, SPI_OK_DELETE,
						   "releasing reservations");
}

/*
 * hitl.next_rows(model text, n integer) returns table (row_key jsonb, rank
 * integer, prediction text, confidence float8, uncertainty float8,
 * reserved_until timestamptz): reserve up to n rows of the model's review
 * queue for the calling role, and return them in queue order.
 */
Datum
hitl_next_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HitlModel  *model;
	AssignOptions o;
	Candidates	c;
	Datum		role;
	int			n;
	int			i;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model and n must not be NULL")));
	n = PG_GETARG_INT32(1);
	if (n < 1 || n > NEXT_ROWS_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("n must be from 1 to %d, not %d", NEXT_ROWS_MAX, n)));
	InitMaterializedSRF(fcinfo, 0);
	role = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	model = load_for_caller(fcinfo, "take rows", "Taking rows to label");
	take_turn(model);
	read_options(model, &o);
	/* the callers take turns: no other can take these rows meanwhile */
	read_candidates(model, role, &o, n, &c);
	if (c.n > 0 && reserve(model, role, &o, &c, 0, c.n) != c.n)
		elog(ERROR, "hitl: rows of model \"%s\" were reserved by another caller", model->name);
	release_others(model, role, &c);
	for (i = 0; i < c.n; i++)
	{
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};

		if (!c.reserved[i])
			continue;
		values[0] = c.key[i];
		values[1] = Int32GetDatum(c.rank[i]);
		values[2] = CStringGetTextDatum(c.prediction[i]);
		values[3] = Float8GetDatum(c.confidence[i]);
		values[4] = Float8GetDatum(c.uncertainty[i]);
		values[5] = TimestampTzGetDatum(c.until[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * hitl.skip(model text, row_key jsonb, reason text) returns void: the
 * calling role passes on an unlabeled row it sees; its reservation of the
 * row, if any, goes.
 */
Datum
hitl_skip(PG_FUNCTION_ARGS)
{
	Oid			argtypes[4] = {TEXTOID, JSONBOID, NAMEOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	HitlModel  *model;
	HeapTuple	row;
	char	   *label;
	bool		isnull;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model and row_key must not be NULL"),
				 errhint("Name the model and give the row's key, as hitl.next_rows returns it.")));
	values[2] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	model = load_for_caller(fcinfo, "skip rows", "Skipping a row");
	row = rowaccess_find_row(model, PG_GETARG_DATUM(1), &label);
	if (label != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("row %s of model \"%s\" is labeled", SPI_getvalue(row, SPI_tuptable->tupdesc, 1),
						model->name),
				 errhint("Only a row without a label can be skipped.")));
	values[0] = CStringGetTextDatum(model->name);
	values[1] = datumCopy(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull), false, -1);
	if (PG_ARGISNULL(2))
		nulls[3] = 'n';
	else
		values[3] = PG_GETARG_DATUM(2);
	if (!PG_ARGISNULL(2) &&
		DatumGetInt32(DirectFunctionCall1(textlen, values[3])) > SKIP_REASON_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("a skip's reason is at most %d characters", SKIP_REASON_MAX)));
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "INSERT INTO hitl.skips AS s (model, row_key, role, reason, skipped_at)"
						   " VALUES ($1, $2, $3, $4, pg_catalog.statement_timestamp())"
						   " ON CONFLICT (model, row_key, role) DO UPDATE"
						   " SET reason = EXCLUDED.reason, skipped_at = EXCLUDED.skipped_at",
						   4, argtypes, values, nulls, false, SPI_OK_INSERT, "logging the skip");
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "DELETE FROM hitl.reservations r WHERE r.model OPERATOR(pg_catalog.=) $1"
						   " AND r.row_key OPERATOR(pg_catalog.=) $2 AND r.role OPERATOR(pg_catalog.=) $3",
						   3, argtypes, values, NULL, false, SPI_OK_DELETE, "releasing the skipped row");
	SPI_finish();
	PG_RETURN_VOID();
}
