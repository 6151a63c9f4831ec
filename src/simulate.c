/*
 * simulate.c
 *		The SQL side of hitl.simulate: read the labeled rows through a query
 *		that hitl.simulate (sql/0.2.0/78-simulate.sql) builds and that runs
 *		as the caller (the table's privileges and row-level security apply
 *		as to a plain SELECT; nothing is written), hand them to the engine
 *		of simulate_math.c, and return the curves as rows.
 *
 * The query returns the label as text in its first column, in the order
 * of the labels' bytes (so the classes are numbered in that order), then
 * one column per feature column: float8 for a number, float8[] for an
 * embedding (every non-null array of a column the same length; a NULL
 * array, or a NULL element, is a missing value, imputed with the mean as
 * in training).
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "catalog/namespace.h"
#include "utils/regproc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/jsonb.h"

#include "compat.h"
#include "progress.h"
#include "security.h"
#include "simulate_math.h"
#include "simulate_text.h"

/* At most this many feature values per row (numbers and array elements) */
#define SIM_MAX_FEATURES 1000000

PG_FUNCTION_INFO_V1(hitl_simulate_run);
PG_FUNCTION_INFO_V1(hitl_simulation_split);
PG_FUNCTION_INFO_V1(hitl_drop_simulation);

/* The rows read */
typedef struct SimRows
{
	SimData		data;
	char	  **classes;
} SimRows;

/* Is a feature column (from 2) of the query's result text? */
static bool
is_text_column(TupleDesc desc, int col)
{
	return SPI_gettypeid(desc, col) == TEXTOID;
}

/*
 * The width of each dense feature column of the query's result (1: a
 * number, 0: a text column, which is not dense)
 */
static int *
column_widths(SPITupleTable *tt, int ncols)
{
	TupleDesc	desc = tt->tupdesc;
	int		   *width = palloc0(sizeof(int) * Max(ncols, 1));
	uint64		i;
	int			c;

	for (c = 0; c < ncols; c++)
	{
		Oid			typ = SPI_gettypeid(desc, c + 2);

		if (typ == FLOAT8OID || typ == TEXTOID)
		{
			width[c] = typ == FLOAT8OID ? 1 : 0;
			continue;
		}
		if (typ != FLOAT8ARRAYOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("the simulation's query returns column \"%s\" of type %s",
							SPI_fname(desc, c + 2), format_type_be(typ))));
		width[c] = -1;
		for (i = 0; i < tt->numvals; i++)
		{
			bool		isnull;
			Datum		v = SPI_getbinval(tt->vals[i], desc, c + 2, &isnull);
			ArrayType  *a;
			int			len;

			CHECK_FOR_INTERRUPTS();
			if (isnull)
				continue;
			a = DatumGetArrayTypeP(v);
			len = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
			if ((Pointer) a != DatumGetPointer(v))
				pfree(a);
			if (width[c] < 0)
				width[c] = len;
			else if (len != width[c])
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("feature column \"%s\" holds arrays of %d and %d elements",
								SPI_fname(desc, c + 2), width[c], len),
						 errhint("Every row's embedding must have the same length.")));
		}
		if (width[c] < 0)
			width[c] = 0;
	}
	return width;
}

/* A value, checked finite */
static double
finite_value(double v, TupleDesc desc, int col)
{
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("feature column \"%s\" holds a value that is not finite",
						SPI_fname(desc, col))));
	return v;
}

/* One row's dense features into x and mask */
static void
read_features(HeapTuple tup, TupleDesc desc, int ncols, const int *width,
			  double *x, bool *mask)
{
	int			c,
				off = 0;

	for (c = 0; c < ncols; c++)
	{
		bool		isnull;
		Datum		v;

		if (is_text_column(desc, c + 2))
			continue;
		v = SPI_getbinval(tup, desc, c + 2, &isnull);
		if (isnull)
		{
			memset(mask + off, true, sizeof(bool) * width[c]);
		}
		else if (width[c] == 1 && SPI_gettypeid(desc, c + 2) == FLOAT8OID)
			x[off] = finite_value(DatumGetFloat8(v), desc, c + 2);
		else
		{
			ArrayType  *a = DatumGetArrayTypeP(v);
			Datum	   *elems;
			bool	   *enulls;
			int			ne,
						e;

			deconstruct_array(a, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
							  &elems, &enulls, &ne);
			for (e = 0; e < ne; e++)
			{
				if (enulls[e])
					mask[off + e] = true;
				else
					x[off + e] = finite_value(DatumGetFloat8(elems[e]), desc, c + 2);
			}
			pfree(elems);
			pfree(enulls);
			if ((Pointer) a != DatumGetPointer(v))
				pfree(a);
		}
		off += width[c];
	}
}

/* A row's label (its type's output), and its place in the query's result */
typedef struct LabeledRow
{
	char	   *label;
	uint64		at;
} LabeledRow;

static int
labeled_row_cmp(const void *a, const void *b)
{
	const LabeledRow *x = a;
	const LabeledRow *y = b;
	int			c = strcmp(x->label, y->label);

	if (c != 0)
		return c;
	return (x->at > y->at) - (x->at < y->at);
}

/*
 * The rows of the query's result ordered by their label's text (its
 * bytes; the type's output function, never a cast, makes it), then in the
 * query's order
 */
static LabeledRow *
rows_by_label(SPITupleTable *tt)
{
	LabeledRow *lr = palloc_extended(sizeof(LabeledRow) * Max(tt->numvals, 1), MCXT_ALLOC_HUGE);
	uint64		i;

	for (i = 0; i < tt->numvals; i++)
	{
		CHECK_FOR_INTERRUPTS();
		lr[i].label = SPI_getvalue(tt->vals[i], tt->tupdesc, 1);
		lr[i].at = i;
		if (lr[i].label == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the simulation's rows must all be labeled")));
	}
	qsort(lr, tt->numvals, sizeof(LabeledRow), labeled_row_cmp);
	return lr;
}

/* Run the query (as the caller, read-only) and read its rows */
static void
read_rows(const char *query, const TextOptions *topts, SimRows *rows)
{
	SPITupleTable *tt;
	TupleDesc	desc;
	int			ncols,
				d = 0,
				c,
				ntext = 0;
	int		   *width;
	int		   *textcols;
	uint64		i;
	char	   *prev = NULL;
	SimData    *data = &rows->data;
	LabeledRow *lr;
	int		   *order;
	double	   *x;
	bool	   *mask;
	int		   *y;

	if (SPI_execute(query, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "hitl: the simulation's query failed");
	tt = SPI_tuptable;
	desc = tt->tupdesc;
	if (tt->numvals > (uint64) (INT_MAX - 1))
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("too many rows to simulate on")));
	ncols = desc->natts - 1;
	width = column_widths(tt, ncols);
	textcols = palloc(sizeof(int) * Max(ncols, 1));
	for (c = 0; c < ncols; c++)
	{
		/* in 64 bits: a few wide arrays of NULLs must not wrap around */
		int64		wide = (int64) d + width[c];

		if (is_text_column(desc, c + 2))
			textcols[ntext++] = c + 2;
		if (wide > SIM_MAX_FEATURES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many features to simulate on: more than %d", SIM_MAX_FEATURES)));
		d = (int) wide;
	}
	/* before any buffer of rows x features */
	if ((int64) tt->numvals * d > SIM_MAX_DENSE_VALUES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the simulation's data are too large: " UINT64_FORMAT " rows of %d features",
						tt->numvals, d),
				 errhint("A simulation holds at most %d feature values (rows x features); simulate on a sample of the rows.",
						 SIM_MAX_DENSE_VALUES)));
	x = palloc_extended(sizeof(double) * Max(tt->numvals, 1) * Max(d, 1),
						MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	mask = palloc_extended(sizeof(bool) * Max(tt->numvals, 1) * Max(d, 1),
						   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	y = palloc0(sizeof(int) * Max(tt->numvals, 1));
	rows->classes = palloc0(sizeof(char *) * Max(tt->numvals, 1));
	memset(data, 0, sizeof(*data));
	lr = rows_by_label(tt);
	order = palloc(sizeof(int) * Max(tt->numvals, 1));
	for (i = 0; i < tt->numvals; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (prev == NULL || strcmp(prev, lr[i].label) != 0)
			rows->classes[data->k++] = prev = lr[i].label;
		y[i] = data->k - 1;
		order[i] = (int) lr[i].at;
		read_features(tt->vals[lr[i].at], desc, ncols, width, x + i * d, mask + i * d);
	}
	data->n = (int) tt->numvals;
	data->d = d;
	data->x = x;
	data->missing = mask;
	data->y = y;
	if (ntext > 0)
	{
		SparseMatrix *t = palloc0(sizeof(SparseMatrix));

		simulate_text_rows(tt, textcols, ntext, order, data->n, topts, t);
		data->text = t;
	}
}

/* The strategies of a text[] argument, checked */
static SimStrategy *
strategies_arg(ArrayType *arr, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	int			ne,
				i,
				j;
	SimStrategy *out;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &ne);
	if (ne == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("strategies must name at least one strategy"),
				 errhint("Known strategies: %s.", SIM_STRATEGY_NAMES)));
	out = palloc(sizeof(SimStrategy) * ne);
	for (i = 0; i < ne; i++)
	{
		char	   *name = nulls[i] ? "NULL" : TextDatumGetCString(elems[i]);
		int			s = nulls[i] ? -1 : sim_strategy_from_name(name);

		if (s < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown strategy \"%s\"", name),
					 errhint("Known strategies: %s.", SIM_STRATEGY_NAMES)));
		for (j = 0; j < i; j++)
			if (out[j] == (SimStrategy) s)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("strategy \"%s\" is named twice", name)));
		out[i] = (SimStrategy) s;
	}
	*n = ne;
	return out;
}

/* An integer argument below lo or above hi: 22023 */
static int
int_arg(FunctionCallInfo fcinfo, int arg, const char *name, int lo, int hi)
{
	int			v = PG_GETARG_INT32(arg);

	if (v < lo || v > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be from %d to %d", name, lo, hi)));
	return v;
}

/*
 * The campaign from the arguments shared by both functions: (source,
 * label_column, feature_columns, strategies, algorithm, initial_labels,
 * batch_size, budget, repeats, test_fraction, options, seed), checked;
 * the query reading the data and the options resolved
 * (hitl._simulation_plan, as the caller), into plan's query and p, the
 * text options into text.  SPI connected.
 */
static void
params_args(FunctionCallInfo fcinfo, SimParams *p, char **query, Datum *resolved,
			TextOptions *topts)
{
	Oid			plan_types[5] = {REGCLASSOID, NAMEOID, NAMEARRAYOID, TEXTOID, JSONBOID};
	Datum		plan_values[5];
	Oid			opt_types[1] = {JSONBOID};
	Datum		opt_values[1];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	char	   *algorithm;
	int			i;

	for (i = 0; i < 12; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the arguments of a simulation may not be null")));
	memset(p, 0, sizeof(*p));
	memset(topts, 0, sizeof(*topts));
	p->strategies = strategies_arg(PG_GETARG_ARRAYTYPE_P(3), &p->nstrategies);
	algorithm = text_to_cstring(PG_GETARG_TEXT_PP(4));
	p->algorithm = strcmp(algorithm, "naive_bayes") == 0 ? SIM_NAIVE_BAYES : SIM_LOGISTIC;
	p->initial_labels = int_arg(fcinfo, 5, "initial_labels", 2, INT_MAX);
	p->batch_size = int_arg(fcinfo, 6, "batch_size", 1, INT_MAX);
	p->budget = int_arg(fcinfo, 7, "budget", p->initial_labels, INT_MAX);
	/* a batch beyond the budget is the budget: no count below overflows */
	p->batch_size = Min(p->batch_size, p->budget);
	p->repeats = int_arg(fcinfo, 8, "repeats", 1, 1000);
	p->test_fraction = PG_GETARG_FLOAT8(9);
	if (!(p->test_fraction > 0 && p->test_fraction < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("test_fraction must be above 0 and below 1")));
	p->seed = (uint64) (uint32) PG_GETARG_INT32(11);

	/* the query and the options (hitl._simulation_plan checks the algorithm) */
	for (i = 0; i < 3; i++)
		plan_values[i] = PG_GETARG_DATUM(i);
	plan_values[3] = PG_GETARG_DATUM(4);
	plan_values[4] = PG_GETARG_DATUM(10);
	if (SPI_execute_with_args("SELECT p.query, p.resolved FROM hitl._simulation_plan($1, $2, $3, $4, $5) p",
							  5, plan_types, plan_values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "hitl: could not plan the simulation");
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	*query = SPI_getvalue(tup, desc, 1);
	*resolved = SPI_datumTransfer(SPI_getbinval(tup, desc, 2, &isnull), false, -1);
	opt_values[0] = *resolved;
	if (SPI_execute_with_args("SELECT coalesce($1->>'C', $1->>'alpha')::pg_catalog.float8,"
							  " coalesce(($1->>'max_iter')::pg_catalog.int4, 100),"
							  " coalesce(($1->>'tol')::pg_catalog.float8, 1e-8),"
							  " coalesce(($1->>'committee_size')::pg_catalog.int4, 5),"
							  " $1->>'text_config', coalesce(($1->>'bigrams')::pg_catalog.bool, false),"
							  " coalesce(($1->>'buckets')::pg_catalog.int4, 262144),"
							  " coalesce(($1->>'max_text_bytes')::pg_catalog.int4, 1048576),"
							  " coalesce($1->>'committee_measure' = 'kl', false)",
							  1, opt_types, opt_values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "hitl: could not read the simulation's options");
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	p->C = DatumGetFloat8(SPI_getbinval(tup, desc, 1, &isnull));
	if (isnull || !(p->C > 0))
		elog(ERROR, "hitl: the simulation's options lack C or alpha");
	p->alpha = p->C;
	p->max_iter = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
	p->tol = DatumGetFloat8(SPI_getbinval(tup, desc, 3, &isnull));
	p->committee_size = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
	p->committee_kl = DatumGetBool(SPI_getbinval(tup, desc, 9, &isnull));
	if (p->max_iter < 1 || !(p->tol > 0) || p->committee_size < 2 || p->committee_size > 20)
		elog(ERROR, "hitl: simulation options out of range");
	if (SPI_getvalue(tup, desc, 5) != NULL)
	{
		topts->config = get_ts_config_oid(hitl_qualified_name_list(SPI_getvalue(tup, desc, 5)),
										 false);
		topts->bigrams = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));
		topts->buckets = DatumGetInt32(SPI_getbinval(tup, desc, 7, &isnull));
		topts->max_bytes = DatumGetInt32(SPI_getbinval(tup, desc, 8, &isnull));
		topts->sign = p->algorithm == SIM_LOGISTIC;
		if (topts->buckets < 16 || (topts->buckets & (topts->buckets - 1)) != 0 ||
			topts->max_bytes < 1024)
			elog(ERROR, "hitl: simulation text options out of range");
	}
}

/* Refuse data the campaign cannot run on */
static void
check_data(const SimRows *rows, const SimParams *p)
{
	int			pool;
	SimError	err = sim_check(&rows->data, p, &pool);

	if (err == SIM_OK)
		return;
	if (err == SIM_ERR_COMMITTEE_NBAYES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("strategy \"committee\" needs algorithm logistic"),
				 errhint("Naive Bayes models have no committee: use another strategy.")));
	if (err == SIM_ERR_NEGATIVE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a feature of a labeled row is negative"),
				 errhint("naive_bayes takes features of zero or more; use algorithm 'logistic'.")));
	if (err == SIM_ERR_TOO_LARGE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the simulation's data are too large: %d rows, %d classes, %d features",
						rows->data.n, rows->data.k,
						rows->data.d + (rows->data.text ? rows->data.text->d : 0)),
				 errhint("A simulation holds at most %d class probabilities (rows x classes) and as many parameters of a model.",
						 SIM_MAX_COEFFICIENTS)));
	if (err == SIM_ERR_BUDGET_BEYOND_POOL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("budget %d is beyond the pool of %d rows", p->budget, pool),
				 errhint("The pool is the labeled rows less the held-out test_fraction.")));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("too few labeled rows to simulate on"),
			 err == SIM_ERR_ONE_CLASS ?
			 errdetail("The table has %d labeled rows of %d classes; a simulation needs 2 classes.",
					   rows->data.n, rows->data.k) :
			 err == SIM_ERR_SMALL_CLASS ?
			 errdetail("A class has fewer than 2 labeled rows (one for the test set, one for the pool).") :
			 err == SIM_ERR_SEED_BELOW_CLASSES ?
			 errdetail("initial_labels %d is below the %d classes: the seed has a row of each.",
					   p->initial_labels, rows->data.k) :
			 errdetail("initial_labels %d is beyond the pool of %d rows.",
					   p->initial_labels, pool)));
}

/* The points of a run, kept until they are stored */
typedef struct RunOut
{
	const SimParams *p;
	SimPoint   *points;
	int			npoints;
	int			capacity;
	double		full_sum;		/* of the repeats' full-data accuracies */
	int64		done;
} RunOut;

static void
run_point(void *arg, const SimPoint *pt)
{
	RunOut	   *o = arg;

	if (o->npoints == o->capacity)
	{
		o->capacity *= 2;
		o->points = repalloc_huge(o->points, sizeof(SimPoint) * o->capacity);
	}
	o->points[o->npoints++] = *pt;
	hitl_progress_done(++o->done);
}

static void
run_full(void *arg, int repeat, double accuracy)
{
	((RunOut *) arg)->full_sum += accuracy;
}

/*
 * Record the simulation (as the owner of hitl's tables, in the calling
 * role's name) from hitl._simulate_run's arguments, with the options
 * resolved; returns its id.
 */
static int64
store_simulation(FunctionCallInfo fcinfo, Oid caller, Datum resolved)
{
	static const char *sql =
		"INSERT INTO hitl.simulations (role, source, label_column, feature_columns, strategies,"
		" algorithm, initial_labels, batch_size, budget, repeats, test_fraction, options, seed)"
		" VALUES ($1, hitl._simulation_source_name($2), $3, $4, $5, $6, $7, $8, $9, $10,"
		" $11, $12, $13) RETURNING id";
	Oid			types[13] = {NAMEOID, REGCLASSOID, NAMEOID, NAMEARRAYOID, TEXTARRAYOID, TEXTOID,
		INT4OID, INT4OID, INT4OID, INT4OID, FLOAT8OID, JSONBOID, INT4OID};
	Datum		values[13];
	HitlRoleScope scope;
	bool		isnull;
	int64		id;
	int			i;

	values[0] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(caller, false)));
	for (i = 0; i < 10; i++)
		values[i + 1] = PG_GETARG_DATUM(i);
	values[11] = resolved;
	values[12] = PG_GETARG_DATUM(11);
	hitl_catalog_enter(&scope);
	if (SPI_execute_with_args(sql, 13, types, values, NULL, false, 1) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "hitl: could not record the simulation");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	hitl_role_exit(&scope);
	return id;
}

/* Store the curves of simulation id and finish it (as the owner of hitl's tables) */
static void
store_curves(int64 id, const RunOut *o)
{
	Oid			types[11] = {INT8OID, TEXTOID, INT4OID, INT4OID, INT4OID, FLOAT8OID, FLOAT8OID,
		FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID};
	Oid			ftypes[2] = {INT8OID, FLOAT8OID};
	Datum		fvalues[2];
	HitlRoleScope scope;
	SPIPlanPtr	plan;
	int			i;

	hitl_catalog_enter(&scope);
	plan = SPI_prepare("INSERT INTO hitl.simulation_curves (simulation, strategy, repeat, round,"
					   " labels, accuracy, macro_f1, log_loss, ece, seconds, kappa)"
					   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)", 11, types);
	if (plan == NULL)
		elog(ERROR, "hitl: could not prepare the simulation's curves");
	for (i = 0; i < o->npoints; i++)
	{
		const SimPoint *pt = &o->points[i];
		Datum		v[11];
		char		nulls[11];

		CHECK_FOR_INTERRUPTS();
		v[0] = Int64GetDatum(id);
		v[1] = CStringGetTextDatum(sim_strategy_name(o->p->strategies[pt->strategy]));
		v[2] = Int32GetDatum(pt->repeat + 1);
		v[3] = Int32GetDatum(pt->round);
		v[4] = Int32GetDatum(pt->labels);
		v[5] = Float8GetDatum(pt->accuracy);
		v[6] = Float8GetDatum(pt->macro_f1);
		v[7] = Float8GetDatum(pt->log_loss);
		v[8] = Float8GetDatum(pt->ece);
		v[9] = Float8GetDatum(pt->seconds);
		v[10] = Float8GetDatum(isnan(pt->kappa) ? 0.0 : pt->kappa);
		memset(nulls, ' ', sizeof(nulls));
		nulls[10] = isnan(pt->kappa) ? 'n' : ' ';
		if (SPI_execute_plan(plan, v, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "hitl: could not store the simulation's curves");
		pfree(DatumGetPointer(v[1]));
	}
	fvalues[0] = Int64GetDatum(id);
	fvalues[1] = Float8GetDatum(o->full_sum / o->p->repeats);
	if (SPI_execute_with_args("UPDATE hitl.simulations SET finished_at = pg_catalog.clock_timestamp(),"
							  " full_accuracy = $2 WHERE id = $1", 2, ftypes, fvalues, NULL,
							  false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "hitl: could not finish the simulation");
	hitl_role_exit(&scope);
}

/*
 * hitl._simulate_run(source, label_column, feature_columns, strategies,
 * algorithm, initial_labels, batch_size, budget, repeats, test_fraction,
 * options, seed): reads the table's labeled rows as the caller through
 * hitl._simulation_plan's query, records the simulation in the caller's
 * name with its arguments (the options resolved), replays the campaign,
 * stores its curves and the full-data accuracy (the mean over repeats),
 * and returns its id.  hitl.simulate checks the arguments with friendlier
 * messages first; this checks them again, as anyone may call it.
 */
Datum
hitl_simulate_run(PG_FUNCTION_ARGS)
{
	Oid			caller = GetUserId();
	char	   *query;
	Datum		resolved;
	TextOptions topts;
	SimParams	p;
	SimRows		rows;
	SimSink		sink;
	RunOut		out;
	SimError	err;
	int64		id;

	SPI_connect();
	params_args(fcinfo, &p, &query, &resolved, &topts);
	id = store_simulation(fcinfo, caller, resolved);
	hitl_progress_begin(psprintf("simulation " INT64_FORMAT, id), PG_GETARG_OID(0), caller);
	hitl_progress_phase(HITL_PHASE_READING, 0);
	read_rows(query, &topts, &rows);
	check_data(&rows, &p);
	hitl_progress_phase(HITL_PHASE_TRAINING,
						(int64) p.repeats * p.nstrategies * sim_rounds(&p));
	memset(&out, 0, sizeof(out));
	out.p = &p;
	out.capacity = 1024;
	out.points = palloc_extended(sizeof(SimPoint) * out.capacity, MCXT_ALLOC_HUGE);
	sink.point = run_point;
	sink.full = run_full;
	sink.arg = &out;
	err = sim_run(&rows.data, &p, &sink);
	if (err != SIM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the model could not be fitted on the simulation's data"),
				 errhint("Check the options C, max_iter and tol, or alpha.")));
	hitl_progress_phase(HITL_PHASE_WRITING, out.npoints);
	store_curves(id, &out);
	SPI_finish();
	hitl_progress_end();
	PG_RETURN_INT64(id);
}

/*
 * hitl._simulation_split(source, ..., seed, repeat): the split of one
 * repeat (from 1), for comparing with another implementation: each row's
 * number in the data's order (from 0), its part ('test', 'seed' or
 * 'pool'), its label and features (a NULL element where missing).  Numbers
 * and embeddings only.
 */
Datum
hitl_simulation_split(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *query;
	Datum		resolved;
	TextOptions topts;
	SimParams	p;
	SimRows		rows;
	SimSplit	sp;
	int			repeat;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	params_args(fcinfo, &p, &query, &resolved, &topts);
	repeat = PG_ARGISNULL(12) ? 1 : PG_GETARG_INT32(12);
	if (repeat < 1 || repeat > p.repeats)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("repeat must be from 1 to %d", p.repeats)));
	read_rows(query, &topts, &rows);
	if (rows.data.text != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("hitl._simulation_split exports numbers and embeddings, not text columns")));
	check_data(&rows, &p);
	sim_split(&rows.data, &p, repeat - 1, &sp);
	for (i = 0; i < sp.ntest + sp.npool; i++)
	{
		int			row = i < sp.ntest ? sp.test[i] : sp.pool[i - sp.ntest];
		const char *part = i < sp.ntest ? "test" : (i - sp.ntest < sp.nseed) ? "seed" : "pool";
		Datum	   *elems = palloc(sizeof(Datum) * Max(rows.data.d, 1));
		bool	   *enulls = palloc(sizeof(bool) * Max(rows.data.d, 1));
		int			dims[1] = {rows.data.d};
		int			lbs[1] = {1};
		Datum		v[4];
		bool		nulls[4] = {false};
		int			j;

		for (j = 0; j < rows.data.d; j++)
		{
			size_t		at = (size_t) row * rows.data.d + j;

			elems[j] = Float8GetDatum(rows.data.x[at]);
			enulls[j] = rows.data.missing[at];
		}
		v[0] = Int32GetDatum(row);
		v[1] = CStringGetTextDatum(part);
		v[2] = CStringGetTextDatum(rows.classes[rows.data.y[row]]);
		v[3] = PointerGetDatum(construct_md_array(elems, enulls, 1, dims, lbs, FLOAT8OID,
												  8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nulls);
		pfree(elems);
		pfree(enulls);
		pfree(DatumGetPointer(v[1]));
		pfree(DatumGetPointer(v[2]));
		pfree(DatumGetPointer(v[3]));
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * hitl.drop_simulation(simulation): deletes a simulation and its curves,
 * for the members of the role that ran it (others: as if it did not
 * exist), as the owner of hitl's tables.
 */
Datum
hitl_drop_simulation(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};
	HitlRoleScope scope;
	bool		mine = false;

	SPI_connect();
	/* as the caller: row-level security shows the simulations it may see */
	if (SPI_execute_with_args("SELECT pg_catalog.pg_has_role(s.role, 'USAGE')"
							  " FROM hitl.simulations s WHERE s.id = $1"
							  " AND EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname = s.role)",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "hitl: could not read the simulation");
	if (SPI_processed == 1)
	{
		bool		isnull;

		mine = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
										  &isnull));
	}
	if (!mine)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("simulation " INT64_FORMAT " does not exist", id),
				 errhint("A role sees the simulations of the roles it is a member of.")));
	hitl_catalog_enter(&scope);
	if (SPI_execute_with_args("DELETE FROM hitl.simulations WHERE id = $1", 1, types, values,
							  NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "hitl: could not delete the simulation");
	hitl_role_exit(&scope);
	SPI_finish();
	PG_RETURN_VOID();
}
