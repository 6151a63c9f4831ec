/*
 * consensus_refresh.c
 *		Fitting a model's Dawid-Skene consensus model to all its answers,
 *		and writing the consensus of the rows the new fit changed.
 *
 * hitl.refresh_consensus(model) does it for a role that may change the
 * model; the worker does it when answers came since the last fit
 * (consensus_refresh_if_moved).  The fit is kept in hitl.consensus_fits:
 * with option consensus 'dawid_skene', or absent and 20 rows with k
 * answers, the classes, roles, priors and confusion matrices (with the
 * pooled matrix for roles the fit did not see); else a row without
 * classes, which means majority vote.  Then every row with k answers (or
 * an adjudication) gets its consensus again under the new fit; those whose
 * label changed are written to hitl.consensus and, as the model's owner,
 * to the label column, but only where the column still holds the former
 * consensus: a newer answer, or a machine label on a row that had none,
 * is never overwritten.  The answer trigger is suspended for these writes
 * (they are hitl's, not a role's answers); the label log records them.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "hitl.h"
#include "consensus.h"
#include "consensus_refresh.h"
#include "consensus_row.h"
#include "labels.h"
#include "rowaccess.h"
#include "security.h"
#include "spi_check.h"

PG_FUNCTION_INFO_V1(hitl_refresh_consensus);

/*
 * The worker refits a Dawid-Skene fit once the answers logged since it
 * reach 1/20 of those it saw (at least one): each refit reads every answer,
 * so refitting at every answer would cost the square of their number; the
 * answers between refits are decided by the answer trigger under the
 * current fit.  Under majority vote (a fit without classes) every new
 * answer is enough: nothing is fitted.
 */
#define CONSENSUS_REFIT_SHARE 20

/* A model's answers, by row */
typedef struct AnswerTable
{
	int			nanswers;
	int			nrows;
	int		   *row_start;		/* nrows + 1 */
	Datum	   *row_key;		/* nrows */
	RoleAnswer *answers;		/* nanswers, by row */
	int			nroles;
	char	  **roles;			/* sorted */
	int			nclasses;
	char	  **classes;		/* sorted */
	int64		last_answer;
} AnswerTable;

/* The decided rows of a refresh */
typedef struct Decisions
{
	int			n;
	Datum	   *row_key;
	Datum	   *label;
	bool	   *label_null;
	Datum	   *confidence;
	Datum	   *method;
	Datum	   *answers;
} Decisions;

static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The distinct strings of list (n), sorted, into *out; returns how many */
static int
distinct_sorted(char **list, int n, char ***out)
{
	char	  **s = palloc(sizeof(char *) * Max(n, 1));
	int			d = 0;
	int			i;

	memcpy(s, list, sizeof(char *) * n);
	qsort(s, n, sizeof(char *), compare_strings);
	for (i = 0; i < n; i++)
		if (d == 0 || strcmp(s[d - 1], s[i]) != 0)
			s[d++] = s[i];
	*out = s;
	return d;
}

/* Read the model's answers, by row, and the last answer logged */
static void
read_answers(const char *model, AnswerTable *t)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	char	  **roles;
	char	  **labels;
	uint64		n;
	uint64		i;
	bool		isnull;

	values[0] = CStringGetTextDatum(model);
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "SELECT coalesce(pg_catalog.max(l.id), 0) FROM hitl.answer_log l"
						   " WHERE l.model OPERATOR(pg_catalog.=) $1",
						   1, argtypes, values, NULL, true, SPI_OK_SELECT, "reading the answer log");
	t->last_answer = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
												 1, &isnull));
	n = catalog_execute(CATALOG_AS_OWNER,
						"SELECT (pg_catalog.dense_rank() OVER (ORDER BY a.row_key))::pg_catalog.int4,"
						" a.row_key, a.role, a.label, a.adjudication, a.answered_at"
						" FROM hitl.answers a WHERE a.model OPERATOR(pg_catalog.=) $1"
						" ORDER BY a.row_key, a.role",
						1, argtypes, values, NULL, true, SPI_OK_SELECT, "reading the answers");
	if (n > (uint64) CONSENSUS_MAX_ITEMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model \"%s\" has too many answers for a consensus fit", model)));
	t->nanswers = (int) n;
	t->nrows = 0;
	t->answers = palloc(sizeof(RoleAnswer) * Max(n, 1));
	t->row_start = palloc(sizeof(int) * (n + 1));
	t->row_key = palloc(sizeof(Datum) * Max(n, 1));
	roles = palloc(sizeof(char *) * Max(n, 1));
	labels = palloc(sizeof(char *) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		int			item = DatumGetInt32(SPI_getbinval(row, desc, 1, &isnull)) - 1;
		RoleAnswer *a = &t->answers[i];

		CHECK_FOR_INTERRUPTS();

		if (item == t->nrows)
		{
			t->row_start[t->nrows] = (int) i;
			t->row_key[t->nrows++] = datumCopy(SPI_getbinval(row, desc, 2, &isnull), false, -1);
		}
		a->role = roles[i] = SPI_getvalue(row, desc, 3);
		a->label = labels[i] = SPI_getvalue(row, desc, 4);
		a->adjudication = DatumGetBool(SPI_getbinval(row, desc, 5, &isnull));
		a->at = DatumGetTimestampTz(SPI_getbinval(row, desc, 6, &isnull));
	}
	t->row_start[t->nrows] = (int) n;
	t->nroles = distinct_sorted(roles, (int) n, &t->roles);
	t->nclasses = distinct_sorted(labels, (int) n, &t->classes);
}

/* The rows with at least per_row answers */
static int
count_full_rows(const AnswerTable *t, int per_row)
{
	int			full = 0;
	int			r;

	for (r = 0; r < t->nrows; r++)
		full += t->row_start[r + 1] - t->row_start[r] >= per_row;
	return full;
}

static Datum
text_array(char **s, int n, Oid elemtype)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = elemtype == NAMEOID ? DirectFunctionCall1(namein, CStringGetDatum(s[i]))
			: CStringGetTextDatum(s[i]);
	if (elemtype == NAMEOID)
		return PointerGetDatum(construct_array(d, n, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR));
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

static Datum
float_array(const double *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = Float8GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, FLOAT8OID, sizeof(double), FLOAT8PASSBYVAL,
										   TYPALIGN_DOUBLE));
}

/*
 * Fit Dawid-Skene to every answer; r gets the result (its arrays to free
 * with dawid_skene_free), pooled the matrix of an unseen role (k x k).
 */
static void
fit(const char *model, const AnswerTable *t, DawidSkeneResult *r, double **pooled)
{
	AnnotatorAnswer *list = palloc(sizeof(AnnotatorAnswer) * Max(t->nanswers, 1));
	int			row;
	int			i;
	int			status;

	for (row = 0; row < t->nrows; row++)
		for (i = t->row_start[row]; i < t->row_start[row + 1]; i++)
		{
			const RoleAnswer *a = &t->answers[i];
			char	  **role = bsearch(&a->role, t->roles, t->nroles, sizeof(char *), compare_strings);
			char	  **label = bsearch(&a->label, t->classes, t->nclasses, sizeof(char *),
										compare_strings);

			list[i].item = row;
			list[i].annotator = (int) (role - t->roles);
			list[i].label = (int) (label - t->classes);
		}
	status = dawid_skene(t->nrows, t->nroles, t->nclasses, list, t->nanswers, NULL, r);
	if (status != CONSENSUS_OK)
	{
		dawid_skene_free(r);
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("cannot fit the consensus of model \"%s\": %s", model,
						consensus_status_name(status)),
				 errdetail("%d rows, %d roles, %d labels, %d answers.",
						   t->nrows, t->nroles, t->nclasses, t->nanswers)));
	}
	*pooled = palloc(sizeof(double) * t->nclasses * t->nclasses);
	dawid_skene_pooled(r, *pooled);
}

/*
 * Store the fit (with_fit false: a row without classes, majority vote),
 * stamped with the clock so that every backend sees it changed.
 */
static void
store_fit(const char *model, const AnswerTable *t, int full_rows, bool with_fit)
{
	Oid			argtypes[12] = {TEXTOID, TEXTARRAYOID, NAMEARRAYOID, FLOAT8ARRAYOID,
		FLOAT8ARRAYOID, INT4OID, INT4OID, INT8OID, INT4OID, BOOLOID, FLOAT8OID, INT8OID};
	Datum		values[12];
	DawidSkeneResult r;
	double	   *pooled;

	memset(&r, 0, sizeof(r));
	values[0] = CStringGetTextDatum(model);
	if (with_fit)
	{
		size_t		cells = (size_t) t->nclasses * t->nclasses;
		double	   *confusion = palloc(sizeof(double) * cells * (t->nroles + 1));

		fit(model, t, &r, &pooled);
		memcpy(confusion, r.confusion, sizeof(double) * cells * t->nroles);
		memcpy(confusion + cells * t->nroles, pooled, sizeof(double) * cells);
		values[1] = text_array(t->classes, t->nclasses, TEXTOID);
		values[2] = text_array(t->roles, t->nroles, NAMEOID);
		values[3] = float_array(r.prior, t->nclasses);
		values[4] = float_array(confusion, (int) (cells * (t->nroles + 1)));
	}
	else
	{
		values[1] = text_array(NULL, 0, TEXTOID);
		values[2] = text_array(NULL, 0, NAMEOID);
		values[3] = values[4] = float_array(NULL, 0);
	}
	values[5] = Int32GetDatum(t->nrows);
	values[6] = Int32GetDatum(full_rows);
	values[7] = Int64GetDatum(t->nanswers);
	values[8] = Int32GetDatum(r.iterations);
	values[9] = BoolGetDatum(with_fit ? r.converged : true);
	values[10] = Float8GetDatum(with_fit ? r.log_likelihood : 0.0);
	values[11] = Int64GetDatum(t->last_answer);
	if (with_fit)
		dawid_skene_free(&r);
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "INSERT INTO hitl.consensus_fits AS f (model, classes, roles, prior, confusion,"
						   " rows, full_rows, answers, iterations, converged, log_likelihood,"
						   " last_answer, fitted_at)"
						   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
						   " pg_catalog.clock_timestamp())"
						   " ON CONFLICT (model) DO UPDATE SET classes = EXCLUDED.classes,"
						   " roles = EXCLUDED.roles, prior = EXCLUDED.prior,"
						   " confusion = EXCLUDED.confusion, rows = EXCLUDED.rows,"
						   " full_rows = EXCLUDED.full_rows, answers = EXCLUDED.answers,"
						   " iterations = EXCLUDED.iterations, converged = EXCLUDED.converged,"
						   " log_likelihood = EXCLUDED.log_likelihood,"
						   " last_answer = EXCLUDED.last_answer, fitted_at = EXCLUDED.fitted_at",
						   12, argtypes, values, NULL, false, SPI_OK_INSERT,
						   "storing a consensus fit");
}

/* Every row's consensus under rule */
static void
decide_all(const AnswerTable *t, const ConsensusRule *rule, Decisions *d)
{
	int			row;

	d->n = 0;
	d->row_key = palloc(sizeof(Datum) * Max(t->nrows, 1));
	d->label = palloc(sizeof(Datum) * Max(t->nrows, 1));
	d->label_null = palloc(sizeof(bool) * Max(t->nrows, 1));
	d->confidence = palloc(sizeof(Datum) * Max(t->nrows, 1));
	d->method = palloc(sizeof(Datum) * Max(t->nrows, 1));
	d->answers = palloc(sizeof(Datum) * Max(t->nrows, 1));
	for (row = 0; row < t->nrows; row++)
	{
		int			first = t->row_start[row];
		int			n = t->row_start[row + 1] - first;
		RowConsensus c;

		CHECK_FOR_INTERRUPTS();
		if (!consensus_decide(rule, n, t->answers + first, &c))
			continue;
		d->row_key[d->n] = t->row_key[row];
		d->label_null[d->n] = c.label == NULL;
		d->label[d->n] = c.label ? CStringGetTextDatum(c.label) : (Datum) 0;
		d->confidence[d->n] = Float8GetDatum(c.confidence);
		d->method[d->n] = CStringGetTextDatum(c.method);
		d->answers[d->n] = Int32GetDatum(n);
		d->n++;
	}
}

/*
 * Record the decisions in hitl.consensus; returns (in SPI_tuptable) the
 * rows whose label changed: key, new label, former label.
 */
static uint64
record_decisions(const char *model, const Decisions *d)
{
	Oid			argtypes[6] = {TEXTOID, JSONBARRAYOID, TEXTARRAYOID, FLOAT8ARRAYOID,
		TEXTARRAYOID, INT4ARRAYOID};
	Datum		values[6];
	int			dims[1] = {d->n};
	int			lbs[1] = {1};

	values[0] = CStringGetTextDatum(model);
	values[1] = PointerGetDatum(construct_array(d->row_key, d->n, JSONBOID, -1, false, TYPALIGN_INT));
	values[2] = PointerGetDatum(construct_md_array(d->label, d->label_null, 1, dims, lbs,
												   TEXTOID, -1, false, TYPALIGN_INT));
	values[3] = PointerGetDatum(construct_array(d->confidence, d->n, FLOAT8OID, sizeof(double),
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[4] = PointerGetDatum(construct_array(d->method, d->n, TEXTOID, -1, false, TYPALIGN_INT));
	values[5] = PointerGetDatum(construct_array(d->answers, d->n, INT4OID, sizeof(int32), true,
												TYPALIGN_INT));
	return catalog_execute(CATALOG_AS_OWNER,
						   "WITH v AS (SELECT * FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3),"
						   " pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6))"
						   " AS v (row_key, label, confidence, method, answers)),"
						   " old AS (SELECT c.row_key, c.label FROM hitl.consensus c"
						   " WHERE c.model OPERATOR(pg_catalog.=) $1),"
						   " up AS (INSERT INTO hitl.consensus AS c (model, row_key, label, confidence,"
						   " method, answers, updated_at)"
						   " SELECT $1, v.row_key, v.label, v.confidence, v.method, v.answers,"
						   " pg_catalog.statement_timestamp() FROM v"
						   " ON CONFLICT (model, row_key) DO UPDATE SET label = EXCLUDED.label,"
						   " confidence = EXCLUDED.confidence, method = EXCLUDED.method,"
						   " answers = EXCLUDED.answers, updated_at = EXCLUDED.updated_at"
						   " WHERE (c.label, c.confidence, c.method, c.answers) IS DISTINCT FROM"
						   " (EXCLUDED.label, EXCLUDED.confidence, EXCLUDED.method, EXCLUDED.answers))"
						   " SELECT v.row_key, v.label, old.label FROM v LEFT JOIN old"
						   " ON old.row_key OPERATOR(pg_catalog.=) v.row_key"
						   " WHERE v.label IS DISTINCT FROM old.label",
						   6, argtypes, values, NULL, false, SPI_OK_SELECT,
						   "recording the consensus");
}

/*
 * Write the changed consensus labels (SPI_tuptable of record_decisions)
 * to the label column as the model's owner, where the column still holds
 * the former consensus; returns how many rows were written.
 */
static uint64
write_labels(const HitlModel *model, uint64 n)
{
	Oid			argtypes[3] = {JSONBARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
	Datum		values[3];
	Datum	   *cols[3];
	bool	   *nulls[3];
	int			dims[1] = {(int) n};
	int			lbs[1] = {1};
	Oid			types[3] = {JSONBOID, TEXTOID, TEXTOID};
	AttrNumber	attnum = get_attnum(model->source, model->label_column);
	Oid			typid;
	int32		typmod;
	Oid			collid;
	StringInfoData sql;
	HitlRoleScope scope;
	volatile uint64 written = 0;
	int			c;
	uint64		i;

	for (c = 0; c < 3; c++)
	{
		cols[c] = palloc(sizeof(Datum) * n);
		nulls[c] = palloc(sizeof(bool) * n);
		for (i = 0; i < n; i++)
			cols[c][i] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, c + 1,
									   &nulls[c][i]);
		values[c] = PointerGetDatum(construct_md_array(cols[c], nulls[c], 1, dims, lbs, types[c],
													   -1, false, TYPALIGN_INT));
	}
	get_atttypetypmodcoll(model->source, attnum, &typid, &typmod, &collid);
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "UPDATE %1$s t SET %2$s = v.label::%3$s"
					 " FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3))"
					 " AS v (row_key, label, former)"
					 " WHERE %4$s AND t.%2$s::pg_catalog.text IS NOT DISTINCT FROM v.former",
					 model->source_text, quote_identifier(model->label_column),
					 format_type_with_typemod(typid, typmod),
					 rowaccess_key_match(model, "t", "v.row_key"));
	hitl_role_enter(&scope, model->owner);
	label_answers_suspend(model->source, true);
	label_consensus_writing(model->source, true);
	PG_TRY();
	{
		written = catalog_execute(CATALOG_AS_CALLER, sql.data, 3, argtypes, values, NULL, false,
								  SPI_OK_UPDATE, "writing the consensus labels");
	}
	PG_FINALLY();
	{
		label_consensus_writing(model->source, false);
		label_answers_suspend(model->source, false);
	}
	PG_END_TRY();
	hitl_role_exit(&scope);
	return written;
}

/*
 * Refit the model's consensus and write the labels it changed (SPI
 * connected); returns how many rows were written.
 */
static int64
consensus_refresh(const HitlModel *model)
{
	AnswerTable t;
	ConsensusRule *rule;
	Decisions	d;
	int			full_rows;
	bool		with_fit;
	uint64		changed;

	rule = consensus_rule(model->name);
	if (rule == NULL || rule->per_row <= 1)
		return 0;
	read_answers(model->name, &t);
	full_rows = count_full_rows(&t, rule->per_row);
	with_fit = rule->per_row > 1 && t.nanswers > 0 &&
		(rule->method == CONSENSUS_DAWID_SKENE ||
		 (rule->method == CONSENSUS_AUTOMATIC && full_rows >= CONSENSUS_AUTO_MIN_ROWS));
	store_fit(model->name, &t, full_rows, with_fit);
	rule = consensus_rule(model->name);
	if (rule == NULL || rule->per_row <= 1)
		return 0;
	decide_all(&t, rule, &d);
	if (d.n == 0)
		return 0;
	changed = record_decisions(model->name, &d);
	if (changed == 0)
		return 0;
	return (int64) write_labels(model, changed);
}

/*
 * For the worker (SPI connected, as the owner of hitl's tables): refresh
 * the consensus of a model with several annotators per row when answers
 * came since its last fit.  Returns the rows written, -1 when nothing was
 * to do.
 */
int64
consensus_refresh_if_moved(const char *name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	HitlModel  *model;
	char		activity[NAMEDATALEN + 32];
	int64		written;

	/* hitl's tables of a version before answers (0.1.0, not updated yet) */
	if (!OidIsValid(get_relname_relid("consensus_fits", get_namespace_oid(HITL_SCHEMA, false))))
		return -1;
	values[0] = CStringGetTextDatum(name);
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "SELECT coalesce((m.options OPERATOR(pg_catalog.->>) 'annotators_per_row')::pg_catalog.int4, 1)"
						   " OPERATOR(pg_catalog.>) 1 AND (f.model IS NULL"
						   " OR (pg_catalog.cardinality(f.classes) OPERATOR(pg_catalog.=) 0"
						   "  AND EXISTS (SELECT FROM hitl.answer_log l WHERE l.model OPERATOR(pg_catalog.=) m.name"
						   "  AND l.id OPERATOR(pg_catalog.>) f.last_answer))"
						   " OR (SELECT pg_catalog.count(*) FROM hitl.answer_log l"
						   "  WHERE l.model OPERATOR(pg_catalog.=) m.name AND l.id OPERATOR(pg_catalog.>) f.last_answer)"
						   "  OPERATOR(pg_catalog.>=) GREATEST(1, f.answers OPERATOR(pg_catalog./) "
						   CppAsString2(CONSENSUS_REFIT_SHARE) "))"
						   " FROM hitl.models m LEFT JOIN hitl.consensus_fits f ON f.model OPERATOR(pg_catalog.=) m.name"
						   " WHERE m.name OPERATOR(pg_catalog.=) $1",
						   1, argtypes, values, NULL, true, SPI_OK_SELECT,
						   "checking a model's answers");
	if (SPI_processed == 0 ||
		!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		return -1;
	model = catalog_load_model(name, CurrentMemoryContext);
	snprintf(activity, sizeof(activity), "consensus of model %s", name);
	pgstat_report_activity(STATE_RUNNING, activity);
	written = consensus_refresh(model);
	if (written > 0)
		elog(DEBUG1, "hitl: model \"%s\": the consensus refit changed %lld labels",
			 name, (long long) written);
	return written;
}

/*
 * hitl.refresh_consensus(model text) RETURNS bigint: refit the consensus
 * of the model's answers now, and write the labels it changed; for a role
 * that may change the model.
 */
Datum
hitl_refresh_consensus(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	HitlModel  *model;
	int64		written;

	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	model = catalog_load_model(name, CurrentMemoryContext);
	catalog_check_may_change(model, "refresh the consensus of");
	written = consensus_refresh(model);
	SPI_finish();
	PG_RETURN_INT64(written);
}
