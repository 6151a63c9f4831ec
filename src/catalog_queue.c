/*
 * catalog_queue.c
 *		A model's review queue in hitl.queue: emptied and filled again by
 *		each scoring (declared at the end of catalog.h).
 *
 * PUBLIC holds no write privilege on hitl.queue: it is written here alone,
 * as the owner of hitl's tables (hitl_catalog_enter), once the scoring has
 * checked that the calling role may change the model.  Which rows enter the
 * queue, and how they rank, is the scoring's business (queue.c); this file
 * only stores what it is given.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "catalog.h"
#include "security.h"
#include "spi_check.h"

static void queue_execute(const char *sql, int nargs, Oid *argtypes, Datum *values,
						  int expected, const char *what);

/*
 * Run one statement on hitl.queue as the owner of hitl's tables, checking
 * its result.
 */
static void
queue_execute(const char *sql, int nargs, Oid *argtypes, Datum *values,
			  int expected, const char *what)
{
	HitlRoleScope scope;
	int			ret;

	hitl_catalog_enter(&scope);
	ret = SPI_execute_with_args(sql, nargs, argtypes, values, NULL, false, 0);
	hitl_spi_check(ret, expected, what);
	hitl_role_exit(&scope);
}

/* Empty the model's queue */
void
catalog_queue_clear(const char *model)
{
	Oid			argtype = TEXTOID;
	Datum		value = CStringGetTextDatum(model);

	queue_execute("DELETE FROM hitl.queue WHERE model = $1", 1, &argtype, &value,
				  SPI_OK_DELETE, "clearing the queue");
}

/*
 * Insert the candidates into the model's queue, then let
 * hitl._analyze_queue() bring the queue's statistics up to n_candidates
 * rows, so that the review views plan an index scan that stops early.
 */
void
catalog_queue_fill(const char *model, int version, Datum ranks, Datum keys,
				   Datum predictions, Datum confidences, Datum uncertainties,
				   Datum evaluations, int64 n_candidates)
{
	Oid			argtypes[8] = {TEXTOID, INT4OID, INT4ARRAYOID, JSONBARRAYOID,
	TEXTARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, BOOLARRAYOID};
	Datum		values[8];
	Oid			count_type = INT8OID;
	Datum		count = Int64GetDatum(n_candidates);

	values[0] = CStringGetTextDatum(model);
	values[1] = Int32GetDatum(version);
	values[2] = ranks;
	values[3] = keys;
	values[4] = predictions;
	values[5] = confidences;
	values[6] = uncertainties;
	values[7] = evaluations;
	if (catalog_evaluation_ready())
		queue_execute("INSERT INTO hitl.queue (model, rank, row_key, prediction,"
					  " confidence, uncertainty, version, evaluation)"
					  " SELECT $1, v.rank, v.k, v.p, v.c, v.u, $2, v.e"
					  " FROM unnest($3, $4, $5, $6, $7, $8) AS v(rank, k, p, c, u, e)",
					  8, argtypes, values, SPI_OK_INSERT, "filling the queue");
	else
		queue_execute("INSERT INTO hitl.queue (model, rank, row_key, prediction,"
					  " confidence, uncertainty, version)"
					  " SELECT $1, v.rank, v.k, v.p, v.c, v.u, $2"
					  " FROM unnest($3, $4, $5, $6, $7) AS v(rank, k, p, c, u)",
					  7, argtypes, values, SPI_OK_INSERT, "filling the queue");
	queue_execute("SELECT hitl._analyze_queue($1)", 1, &count_type, &count,
				  SPI_OK_SELECT, "analyzing the queue");
}
