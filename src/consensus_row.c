/*
 * consensus_row.c
 *		One row's consensus under a model's consensus options and its fit
 *		(see consensus_row.h and sql/0.2.0/76-consensus.sql).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "consensus.h"
#include "consensus_row.h"

/* The backend's copy of the last fit read, and of whose model */
static MemoryContext fit_cxt = NULL;
static ConsensusRule cached;
static char cached_model[NAMEDATALEN * 2];

static int	compare_strings(const void *a, const void *b);
static void read_fit(const char *model, TimestampTz fitted_at);
static bool decide_by_fit(const ConsensusRule *rule, int n, const RoleAnswer *answers,
						  RowConsensus *out);
static void decide_by_majority(int n, const RoleAnswer *answers, RowConsensus *out);

static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The elements of a one-dimensional array of SPI's row as C strings or doubles */
static int
array_of(int col, Oid elemtype, void **out)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);
	ArrayType  *a = DatumGetArrayTypeP(d);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	int			n;
	int			i;

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(a, elemtype, typlen, typbyval, typalign, &elems, NULL, &n);
	if (elemtype == FLOAT8OID)
	{
		double	   *v = palloc(sizeof(double) * Max(n, 1));

		for (i = 0; i < n; i++)
			v[i] = DatumGetFloat8(elems[i]);
		*out = v;
	}
	else
	{
		char	  **v = palloc(sizeof(char *) * Max(n, 1));

		for (i = 0; i < n; i++)
			v[i] = elemtype == NAMEOID ? pstrdup(NameStr(*DatumGetName(elems[i])))
				: TextDatumGetCString(elems[i]);
		*out = v;
	}
	return n;
}

/* Read the model's fit into the backend's copy */
static void
read_fit(const char *model, TimestampTz fitted_at)
{
	static SPIPlanPtr fit_plan = NULL;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	MemoryContext old;
	int			cells;

	if (fit_cxt == NULL)
		fit_cxt = AllocSetContextCreate(TopMemoryContext, "hitl consensus fit",
										ALLOCSET_SMALL_SIZES);
	MemoryContextReset(fit_cxt);
	cached.nclasses = cached.nroles = 0;
	cached_model[0] = '\0';
	values[0] = CStringGetTextDatum(model);
	if (catalog_execute_kept(CATALOG_AS_OWNER, &fit_plan,
						"SELECT f.classes, f.roles, f.prior, f.confusion, f.full_rows"
						" FROM hitl.consensus_fits f WHERE f.model OPERATOR(pg_catalog.=) $1",
						1, argtypes, values, NULL, false, SPI_OK_SELECT,
						"reading a consensus fit") == 0)
		return;
	old = MemoryContextSwitchTo(fit_cxt);
	cached.nclasses = array_of(1, TEXTOID, (void **) &cached.classes);
	cached.nroles = array_of(2, NAMEOID, (void **) &cached.roles);
	(void) array_of(3, FLOAT8OID, (void **) &cached.prior);
	cells = array_of(4, FLOAT8OID, (void **) &cached.confusion);
	MemoryContextSwitchTo(old);
	{
		bool		isnull;

		cached.full_rows = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
													   SPI_tuptable->tupdesc, 5, &isnull));
	}
	if (cells != (cached.nroles + 1) * cached.nclasses * cached.nclasses)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("consensus fit of model \"%s\" is inconsistent", model),
				 errdetail("%d classes and %d roles, %d confusion entries.",
						   cached.nclasses, cached.nroles, cells),
				 errhint("Run hitl.refresh_consensus('%s') to fit it again.", model)));
	cached.fitted_at = fitted_at;
	strlcpy(cached_model, model, sizeof(cached_model));
}

ConsensusRule *
consensus_rule(const char *model)
{
	static SPIPlanPtr rule_plan = NULL;
	static ConsensusRule rule;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	bool		fit_null;
	char	   *method;
	TimestampTz fitted_at;
	HeapTuple	row;
	TupleDesc	desc;

	values[0] = CStringGetTextDatum(model);
	if (catalog_execute_kept(CATALOG_AS_OWNER, &rule_plan,
						"SELECT coalesce((m.options OPERATOR(pg_catalog.->>) 'annotators_per_row')::pg_catalog.int4, 1),"
						" m.options OPERATOR(pg_catalog.->>) 'consensus',"
						" coalesce((m.options OPERATOR(pg_catalog.->>) 'consensus_threshold')::pg_catalog.float8, "
						CppAsString2(CONSENSUS_DEFAULT_THRESHOLD) "),"
						" f.fitted_at"
						" FROM hitl.models m LEFT JOIN hitl.consensus_fits f"
						" ON f.model OPERATOR(pg_catalog.=) m.name"
						" WHERE m.name OPERATOR(pg_catalog.=) $1",
						1, argtypes, values, NULL, false, SPI_OK_SELECT,
						"reading a model's consensus options") == 0)
		return NULL;
	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	memset(&rule, 0, sizeof(rule));
	rule.per_row = DatumGetInt32(SPI_getbinval(row, desc, 1, &isnull));
	method = SPI_getvalue(row, desc, 2);
	rule.method = method == NULL ? CONSENSUS_AUTOMATIC :
		strcmp(method, "majority") == 0 ? CONSENSUS_MAJORITY : CONSENSUS_DAWID_SKENE;
	rule.threshold = DatumGetFloat8(SPI_getbinval(row, desc, 3, &isnull));
	fitted_at = DatumGetTimestampTz(SPI_getbinval(row, desc, 4, &fit_null));
	if (fit_null || rule.method == CONSENSUS_MAJORITY)
		return &rule;
	if (strcmp(cached_model, model) != 0 || cached.fitted_at != fitted_at)
		read_fit(model, fitted_at);
	if (cached_model[0] == '\0')
		return &rule;			/* dropped meanwhile */
	rule.fitted_at = cached.fitted_at;
	rule.nclasses = cached.nclasses;
	rule.classes = cached.classes;
	rule.nroles = cached.nroles;
	rule.roles = cached.roles;
	rule.prior = cached.prior;
	rule.confusion = cached.confusion;
	rule.full_rows = cached.full_rows;
	return &rule;
}

bool
consensus_uses_fit(const ConsensusRule *rule)
{
	if (rule->nclasses == 0 || rule->method == CONSENSUS_MAJORITY)
		return false;
	return rule->method == CONSENSUS_DAWID_SKENE || rule->full_rows >= CONSENSUS_AUTO_MIN_ROWS;
}

/* Dawid-Skene's consensus; false when a label is not one of the fit's */
static bool
decide_by_fit(const ConsensusRule *rule, int n, const RoleAnswer *answers, RowConsensus *out)
{
	int		   *annotator = palloc(sizeof(int) * n);
	int		   *label = palloc(sizeof(int) * n);
	double	   *posterior = palloc(sizeof(double) * rule->nclasses);
	int			best = 0;
	int			i;
	int			status;

	for (i = 0; i < n; i++)
	{
		char	  **c = bsearch(&answers[i].label, rule->classes, rule->nclasses,
								sizeof(char *), compare_strings);
		char	  **r = bsearch(&answers[i].role, rule->roles, rule->nroles,
								sizeof(char *), compare_strings);

		if (c == NULL)
			return false;
		label[i] = (int) (c - rule->classes);
		/* a role the fit did not see gets the pooled matrix */
		annotator[i] = r == NULL ? rule->nroles : (int) (r - rule->roles);
	}
	status = dawid_skene_item(rule->nroles + 1, rule->nclasses, rule->prior, rule->confusion,
							  n, annotator, label, posterior);
	if (status != CONSENSUS_OK)
		elog(ERROR, "hitl: Dawid-Skene posterior: %s", consensus_status_name(status));
	for (i = 1; i < rule->nclasses; i++)
		if (posterior[i] > posterior[best])
			best = i;
	out->method = "dawid_skene";
	out->confidence = posterior[best];
	out->label = posterior[best] >= rule->threshold ? pstrdup(rule->classes[best]) : NULL;
	return true;
}

/* Majority vote: the label most answers gave, none on a tie */
static void
decide_by_majority(int n, const RoleAnswer *answers, RowConsensus *out)
{
	int			top = 0;
	int			second = 0;
	int			i;
	int			j;

	out->label = NULL;
	for (i = 0; i < n; i++)
	{
		int			count = 0;
		bool		seen = false;

		for (j = 0; j < n && !seen; j++)
		{
			seen = j < i && strcmp(answers[j].label, answers[i].label) == 0;
			count += strcmp(answers[j].label, answers[i].label) == 0;
		}
		if (seen)
			continue;			/* counted at its first answer */
		if (count > top)
		{
			second = top;
			top = count;
			out->label = answers[i].label;
		}
		else if (count > second)
			second = count;
	}
	if (top == second)
		out->label = NULL;
	out->method = "majority";
	out->confidence = n > 0 ? (double) top / n : 0.0;
}

bool
consensus_decide(const ConsensusRule *rule, int n, const RoleAnswer *answers, RowConsensus *out)
{
	const RoleAnswer *adjudicated = NULL;
	int			i;

	for (i = 0; i < n; i++)
		if (answers[i].adjudication &&
			(adjudicated == NULL || answers[i].at >= adjudicated->at))
			adjudicated = &answers[i];
	if (adjudicated != NULL)
	{
		out->label = adjudicated->label;
		out->confidence = 1.0;
		out->method = "adjudication";
		return true;
	}
	if (n < rule->per_row)
		return false;
	if (consensus_uses_fit(rule) && decide_by_fit(rule, n, answers, out))
		return true;
	decide_by_majority(n, answers, out);
	return true;
}

void
consensus_store(const char *model, Datum row_key, const RowConsensus *c, int answers)
{
	static SPIPlanPtr store_plan = NULL;
	Oid			argtypes[6] = {TEXTOID, JSONBOID, TEXTOID, FLOAT8OID, TEXTOID, INT4OID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

	values[0] = CStringGetTextDatum(model);
	values[1] = row_key;
	values[2] = c->label ? CStringGetTextDatum(c->label) : (Datum) 0;
	nulls[2] = c->label ? ' ' : 'n';
	values[3] = Float8GetDatum(c->confidence);
	values[4] = CStringGetTextDatum(c->method);
	values[5] = Int32GetDatum(answers);
	(void) catalog_execute_kept(CATALOG_AS_OWNER, &store_plan,
						   "INSERT INTO hitl.consensus AS c (model, row_key, label, confidence, method,"
						   " answers, updated_at)"
						   " VALUES ($1, $2, $3, $4, $5, $6, pg_catalog.statement_timestamp())"
						   " ON CONFLICT (model, row_key) DO UPDATE"
						   " SET label = EXCLUDED.label, confidence = EXCLUDED.confidence,"
						   " method = EXCLUDED.method, answers = EXCLUDED.answers,"
						   " updated_at = EXCLUDED.updated_at",
						   6, argtypes, values, nulls, false, SPI_OK_INSERT,
						   "storing a row's consensus");
}
