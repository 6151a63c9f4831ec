/*
 * annotator_stats.c
 *		How annotators agree, and how good each one is, from a model's
 *		answers (hitl.answers, several annotators per row): hitl.agreement()
 *		and hitl._annotator_quality(), behind the view hitl.annotator_stats.
 *
 * The answers are read as the caller (the row-level security of
 * hitl.answers shows the answers of the rows it sees), adjudications left
 * out, and numbered: rows, roles and labels in their sort order.  The
 * figures are computed by agreement.c (Cohen's kappa of each pair of
 * roles with at least AGREEMENT_MIN_COMMON rows in common, Fleiss' kappa
 * over the rows with annotators_per_row answers, Krippendorff's alpha over
 * the rows with two answers or more) and consensus.c (Dawid-Skene: each
 * role's confusion matrix and estimated accuracy).  A figure that is not
 * defined (too few rows, no variation) is NULL.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"

#include "agreement.h"
#include "catalog.h"
#include "consensus.h"
#include "spi_check.h"

#define AGREEMENT_MIN_COMMON 20

/* A model's answers, numbered */
typedef struct Answers
{
	int			n;				/* rows */
	int			m;				/* roles */
	int			k;				/* labels */
	int			per_row;		/* annotators_per_row */
	int			nanswers;
	AnnotatorAnswer *answer;
	char	  **role;			/* m */
	char	  **label;			/* k */
} Answers;

PG_FUNCTION_INFO_V1(hitl_agreement);
PG_FUNCTION_INFO_V1(hitl_annotator_quality);

/* Names by number, from column col of rows whose number is column num */
static char **
names_by_number(int count, int num_col, int name_col)
{
	char	  **names = palloc0(sizeof(char *) * Max(count, 1));
	uint64		i;

	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int			j = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
													num_col, &isnull));

		if (names[j] == NULL)
			names[j] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, name_col);
	}
	return names;
}

/* The model's answers as the caller sees them (no adjudication) */
static void
load_answers(const char *model, Answers *a)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	uint64		i;
	bool		isnull;

	memset(a, 0, sizeof(*a));
	values[0] = CStringGetTextDatum(model);
	(void) catalog_execute(CATALOG_AS_CALLER,
						   "SELECT coalesce((m.options OPERATOR(pg_catalog.->>) 'annotators_per_row')::pg_catalog.int4, 1)"
						   " FROM hitl.models m WHERE m.name OPERATOR(pg_catalog.=) $1",
						   1, argtypes, values, NULL, true, SPI_OK_SELECT, "reading the model");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", model)));
	a->per_row = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	(void) catalog_execute(CATALOG_AS_CALLER,
						   "SELECT (pg_catalog.dense_rank() OVER (ORDER BY a.row_key) - 1)::pg_catalog.int4,"
						   " (pg_catalog.dense_rank() OVER (ORDER BY a.role) - 1)::pg_catalog.int4,"
						   " (pg_catalog.dense_rank() OVER (ORDER BY a.label) - 1)::pg_catalog.int4,"
						   " a.role::pg_catalog.text, a.label"
						   " FROM hitl.answers a"
						   " WHERE a.model OPERATOR(pg_catalog.=) $1 AND NOT a.adjudication",
						   1, argtypes, values, NULL, true, SPI_OK_SELECT, "reading the answers");
	a->nanswers = (int) SPI_processed;
	a->answer = palloc(sizeof(AnnotatorAnswer) * Max(a->nanswers, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		a->answer[i].item = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		a->answer[i].annotator = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		a->answer[i].label = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		a->n = Max(a->n, a->answer[i].item + 1);
		a->m = Max(a->m, a->answer[i].annotator + 1);
		a->k = Max(a->k, a->answer[i].label + 1);
	}
	a->role = names_by_number(a->m, 2, 4);
	a->label = names_by_number(a->k, 3, 5);
}

/* An AnswerSet of the answers, or false when there are none */
static bool
build_set(const Answers *a, AnswerSet *set)
{
	int			status;

	if (a->nanswers == 0)
		return false;
	status = answer_set_build(a->n, a->m, Max(a->k, 1), a->answer, a->nanswers, set);
	if (status != CONSENSUS_OK)
		elog(ERROR, "hitl: the answers do not make a set: %s", consensus_status_name(status));
	return true;
}

/*
 * The start of both functions: the model (first argument) must be given;
 * the result is materialized; its answers are read, in an SPI connection
 * the caller finishes.  False when there are none.
 */
static bool
open_answers(FunctionCallInfo fcinfo, Answers *a, AnswerSet *set)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model must not be NULL")));
	InitMaterializedSRF(fcinfo, 0);
	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	load_answers(text_to_cstring(PG_GETARG_TEXT_PP(0)), a);
	return build_set(a, set);
}

/* One row of hitl.agreement() */
static void
put_measure(ReturnSetInfo *rsinfo, const char *measure, const char *a, const char *b,
			double value, long rows)
{
	Datum		values[5];
	bool		nulls[5] = {false, a == NULL, b == NULL, isnan(value), false};

	values[0] = CStringGetTextDatum(measure);
	values[1] = a ? DirectFunctionCall1(namein, CStringGetDatum(a)) : (Datum) 0;
	values[2] = b ? DirectFunctionCall1(namein, CStringGetDatum(b)) : (Datum) 0;
	values[3] = Float8GetDatum(value);
	values[4] = Int64GetDatum(rows);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * hitl.agreement(model text) returns table (measure text, role_a name,
 * role_b name, value float8, rows bigint)
 */
Datum
hitl_agreement(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Answers		a;
	AnswerSet	set;
	double		value;
	long		rows;
	int			i;
	int			j;

	if (open_answers(fcinfo, &a, &set))
	{
		for (i = 0; i < a.m; i++)
			for (j = i + 1; j < a.m; j++)
				if (agreement_cohen_kappa(&set, i, j, &value, &rows) == CONSENSUS_OK &&
					rows >= AGREEMENT_MIN_COMMON)
					put_measure(rsinfo, "cohen_kappa", a.role[i], a.role[j], value, rows);
		if (a.per_row >= 2 && agreement_fleiss_kappa(&set, a.per_row, &value, &rows) == CONSENSUS_OK)
			put_measure(rsinfo, "fleiss_kappa", NULL, NULL, value, rows);
		agreement_krippendorff_alpha(&set, &value, &rows);
		put_measure(rsinfo, "krippendorff_alpha", NULL, NULL, value, rows);
		answer_set_free(&set);
	}
	SPI_finish();
	return (Datum) 0;
}

/* A role's confusion matrix as jsonb: {"true label": {"given label": p}} */
static Datum
confusion_jsonb(const Answers *a, const DawidSkeneResult *r, int j)
{
	StringInfoData s;
	int			t;
	int			g;

	initStringInfo(&s);
	appendStringInfoChar(&s, '{');
	for (t = 0; t < r->k; t++)
	{
		if (t > 0)
			appendStringInfoString(&s, ", ");
		escape_json(&s, a->label[t]);
		appendStringInfoString(&s, ": {");
		for (g = 0; g < r->k; g++)
		{
			if (g > 0)
				appendStringInfoString(&s, ", ");
			escape_json(&s, a->label[g]);
			appendStringInfo(&s, ": %.17g", r->confusion[((size_t) j * r->k + t) * r->k + g]);
		}
		appendStringInfoChar(&s, '}');
	}
	appendStringInfoChar(&s, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data));
}

/*
 * hitl._annotator_quality(model text) returns table (role name, answers
 * bigint, estimated_accuracy float8, confusion jsonb): Dawid-Skene over
 * the model's answers
 */
Datum
hitl_annotator_quality(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Answers		a;
	AnswerSet	set;
	DawidSkeneOptions opts;
	DawidSkeneResult r;
	int			status;
	int			j;

	if (open_answers(fcinfo, &a, &set))
	{
		dawid_skene_defaults(&opts);
		status = dawid_skene_set(&set, &opts, &r);
		if (status != CONSENSUS_OK)
			elog(ERROR, "hitl: Dawid-Skene failed: %s", consensus_status_name(status));
		for (j = 0; j < r.m; j++)
		{
			Datum		values[4];
			bool		nulls[4] = {false, false, isnan(r.accuracy[j]), false};

			values[0] = DirectFunctionCall1(namein, CStringGetDatum(a.role[j]));
			values[1] = Int64GetDatum(r.answers[j]);
			values[2] = Float8GetDatum(r.accuracy[j]);
			values[3] = confusion_jsonb(&a, &r, j);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		dawid_skene_free(&r);
		answer_set_free(&set);
	}
	SPI_finish();
	return (Datum) 0;
}
