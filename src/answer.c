/*
 * answer.c
 *		Several annotators per row: with the model option annotators_per_row
 *		k > 1, an UPDATE of the label column is one role's answer, and the
 *		column holds the row's consensus, written here.
 *
 * The model's BEFORE UPDATE OF <label> row trigger (kind "ans": any
 * UPDATE that sets the label, to a new value or not) calls label_answer().
 * The role's answer goes into hitl.answers (one per role and row: answering
 * again replaces it, and setting the label to NULL takes it back), every
 * answer into hitl.answer_log, both as the owner of hitl's tables.  A row
 * that has its k answers takes no new role's answer but an adjudicator's
 * (42501).  The new label of the statement is then replaced by the row's
 * consensus (consensus_row.c):
 *
 *	- an adjudication, when a role that may adjudicate (a member of the
 *	  model's owner or of hitl_adjudicator) answered: the last one wins;
 *	- else, once the row has k answers, majority vote or Dawid-Skene
 *	  (option consensus), NULL when they leave none (the row then waits
 *	  for an adjudication);
 *	- else the label the row had (NULL for a row not labeled yet).
 *
 * So one annotator never overwrites another, and the label log (the AFTER
 * triggers) records the consensus changes.  hitl's own writes of labels
 * (hitl.auto_label, the consensus refit) suspend this with
 * label_answers_suspend().  The statements run for every row answered, so
 * they are prepared once per backend (catalog_execute_kept).
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "consensus_row.h"
#include "label_internal.h"
#include "labels.h"
#include "shared.h"
#include "spi_check.h"

#define ADJUDICATOR_ROLE "hitl_adjudicator"

/* the table whose label writes are hitl's own, and how deep (0: none) */
static Oid	suspended_rel = InvalidOid;
static int	suspended = 0;
static Oid	consensus_rel = InvalidOid;
static int	consensus_writes = 0;

/* Enter or leave a scope of writes to relid; nested scopes name one table */
static void
scope_of(Oid *rel, int *depth, Oid relid, bool on)
{
	if (on)
	{
		if (*depth > 0 && *rel != relid)
			elog(ERROR, "hitl: label writes to two tables at once");
		*rel = relid;
		(*depth)++;
	}
	else if (--(*depth) == 0)
		*rel = InvalidOid;
	Assert(*depth >= 0);
}

/* One row's answer, and what the row's answers say after it */
typedef struct Answer
{
	const char *model;
	Datum		row_key;		/* jsonb */
	Datum		role;			/* name */
	char	   *label;			/* NULL: the role takes its answer back */
	char	   *old_label;		/* the row's label before the statement */
	bool		adjudication;
	int			k;				/* annotators_per_row */
} Answer;

/* hitl's own label writes do not go through answers (nesting allowed) */
void
label_answers_suspend(Oid relid, bool on)
{
	scope_of(&suspended_rel, &suspended, relid, on);
}

/* The consensus refresh's label writes: logged with source 'consensus' */
void
label_consensus_writing(Oid relid, bool on)
{
	scope_of(&consensus_rel, &consensus_writes, relid, on);
}

bool
label_consensus_written(Oid relid)
{
	return consensus_writes > 0 && relid == consensus_rel;
}

/* May the current role adjudicate the model's rows? */
static bool
may_adjudicate(const char *owner)
{
	Oid			me = GetUserId();
	Oid			role;

	if (owner != NULL && OidIsValid(role = get_role_oid(owner, true)) &&
		has_privs_of_role(me, role))
		return true;
	role = get_role_oid(ADJUDICATOR_ROLE, true);
	return OidIsValid(role) && has_privs_of_role(me, role);
}

/* A string out of SPI's memory, into the caller's */
static char *
spi_string(int row, int col)
{
	char	   *s = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
	char	   *out;

	if (s == NULL)
		return NULL;
	out = SPI_palloc(strlen(s) + 1);
	strcpy(out, s);
	return out;
}

/* Store (or take back) the role's answer; returns its answer before */
static char *
store_answer(const Answer *a)
{
	static SPIPlanPtr read_plan = NULL;
	static SPIPlanPtr delete_plan = NULL;
	static SPIPlanPtr insert_plan = NULL;
	Oid			argtypes[5] = {TEXTOID, JSONBOID, NAMEOID, TEXTOID, BOOLOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	char	   *before = NULL;
	int			others = 0;
	uint64		n;
	uint64		i;

	values[0] = CStringGetTextDatum(a->model);
	values[1] = a->row_key;
	values[2] = a->role;
	values[3] = a->label ? CStringGetTextDatum(a->label) : (Datum) 0;
	nulls[3] = a->label ? ' ' : 'n';
	values[4] = BoolGetDatum(a->adjudication);
	/* the row's answers, locked: the role's own, and how many others gave */
	n = catalog_execute_kept(CATALOG_AS_OWNER, &read_plan,
							 "SELECT a.role OPERATOR(pg_catalog.=) $3, a.label FROM hitl.answers a"
							 " WHERE a.model OPERATOR(pg_catalog.=) $1"
							 " AND a.row_key OPERATOR(pg_catalog.=) $2 FOR UPDATE",
							 3, argtypes, values, nulls, false, SPI_OK_SELECT, "reading a row's answers");
	for (i = 0; i < n; i++)
	{
		bool		isnull;

		if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)))
			before = spi_string(i, 2);
		else
			others++;
	}
	if (before == NULL && a->label != NULL && !a->adjudication && others >= a->k)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("row %s of model \"%s\" has its %d answers",
						DatumGetCString(DirectFunctionCall1(jsonb_out, a->row_key)), a->model, a->k),
				 errdetail("Only an adjudicator settles a row with annotators_per_row answers: a member of the model's owner or of role %s.",
						   ADJUDICATOR_ROLE),
				 errhint("GRANT %s TO the expert who decides such rows.", ADJUDICATOR_ROLE)));
	if (a->label == NULL)
		(void) catalog_execute_kept(CATALOG_AS_OWNER, &delete_plan,
							   "DELETE FROM hitl.answers a WHERE a.model OPERATOR(pg_catalog.=) $1"
							   " AND a.row_key OPERATOR(pg_catalog.=) $2 AND a.role OPERATOR(pg_catalog.=) $3",
							   3, argtypes, values, nulls, false, SPI_OK_DELETE, "taking an answer back");
	else
		(void) catalog_execute_kept(CATALOG_AS_OWNER, &insert_plan,
							   "INSERT INTO hitl.answers AS a (model, row_key, role, label, adjudication, answered_at)"
							   " VALUES ($1, $2, $3, $4, $5, pg_catalog.statement_timestamp())"
							   " ON CONFLICT (model, row_key, role) DO UPDATE"
							   " SET label = EXCLUDED.label, adjudication = EXCLUDED.adjudication,"
							   " answered_at = EXCLUDED.answered_at",
							   5, argtypes, values, nulls, false, SPI_OK_INSERT, "storing an answer");
	return before;
}

/*
 * The row's consensus under rule (*answers gets how many answers it has):
 * when it has one, recorded in hitl.consensus and its label returned (NULL:
 * none); else the label the row had.
 */
static char *
consensus_of(const Answer *a, ConsensusRule *rule, int *answers)
{
	static SPIPlanPtr answers_plan = NULL;
	Oid			argtypes[2] = {TEXTOID, JSONBOID};
	Datum		values[2];
	uint64		n;
	uint64		i;
	RoleAnswer *list;
	RowConsensus c;

	values[0] = CStringGetTextDatum(a->model);
	values[1] = a->row_key;
	n = catalog_execute_kept(CATALOG_AS_OWNER, &answers_plan,
						"SELECT a.role, a.label, a.adjudication, a.answered_at"
						" FROM hitl.answers a WHERE a.model OPERATOR(pg_catalog.=) $1"
						" AND a.row_key OPERATOR(pg_catalog.=) $2",
						2, argtypes, values, NULL, false, SPI_OK_SELECT, "reading a row's answers");
	list = palloc(sizeof(RoleAnswer) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		bool		isnull;

		list[i].role = spi_string(i, 1);
		list[i].label = spi_string(i, 2);
		list[i].adjudication = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i],
														  SPI_tuptable->tupdesc, 3, &isnull));
		list[i].at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[i],
													   SPI_tuptable->tupdesc, 4, &isnull));
	}
	*answers = (int) n;
	if (!consensus_decide(rule, (int) n, list, &c))
		return a->old_label;
	consensus_store(a->model, a->row_key, &c, (int) n);
	if (c.label == NULL)
		return NULL;
	return strcpy(SPI_palloc(strlen(c.label) + 1), c.label);
}

/* hitl.answer_log: who answered what, and the consensus after */
static void
log_answer(const Answer *a, const char *before, const char *consensus)
{
	static SPIPlanPtr log_plan = NULL;
	Oid			argtypes[7] = {TEXTOID, JSONBOID, NAMEOID, TEXTOID, TEXTOID, BOOLOID, TEXTOID};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};

	values[0] = CStringGetTextDatum(a->model);
	values[1] = a->row_key;
	values[2] = a->role;
	values[3] = before ? CStringGetTextDatum(before) : (Datum) 0;
	nulls[3] = before ? ' ' : 'n';
	values[4] = a->label ? CStringGetTextDatum(a->label) : (Datum) 0;
	nulls[4] = a->label ? ' ' : 'n';
	values[5] = BoolGetDatum(a->adjudication);
	values[6] = consensus ? CStringGetTextDatum(consensus) : (Datum) 0;
	nulls[6] = consensus ? ' ' : 'n';
	(void) catalog_execute_kept(CATALOG_AS_OWNER, &log_plan,
						   "INSERT INTO hitl.answer_log (model, row_key, role, old_answer, new_answer,"
						   " adjudication, consensus, at)"
						   " VALUES ($1, $2, $3, $4, $5, $6, $7, pg_catalog.statement_timestamp())",
						   7, argtypes, values, nulls, false, SPI_OK_INSERT, "logging an answer");
}

/* The label column's value as text, or NULL */
static char *
label_of(LabelInfo *info, HeapTuple tuple, TupleDesc desc)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, info->label.attnum, desc, &isnull);

	return isnull ? NULL : TextDatumGetCString(label_text(&info->label_text, d));
}

/*
 * The BEFORE UPDATE row trigger of a model's label: record the role's
 * answer and return the row with the consensus as its label.
 */
HeapTuple
label_answer(TriggerData *trigdata, const char *model)
{
	Relation	rel = trigdata->tg_relation;
	TupleDesc	desc = RelationGetDescr(rel);
	HeapTuple	newtup = trigdata->tg_newtuple;
	LabelInfo  *info = label_info(model, rel);
	Datum		keys[INDEX_MAX_KEYS];
	bool		key_nulls[INDEX_MAX_KEYS];
	Answer		a;
	ConsensusRule *rule;
	char	   *before;
	char	   *consensus;
	int			answers;
	int			i;
	Datum		value;
	bool		isnull;
	int			attnum;

	/*
	 * hitl's own writes to this table only: a trigger that writes another
	 * table meanwhile answers there as anyone does
	 */
	if (!info->usable || info->annotators <= 1 ||
		(suspended > 0 && RelationGetRelid(rel) == suspended_rel))
		return newtup;
	for (i = 0; i < info->nkeys; i++)
		keys[i] = heap_getattr(newtup, info->keys[i].attnum, desc, &key_nulls[i]);
	a.model = model;
	a.row_key = rowkey_build(&info->row_key, keys, key_nulls);
	a.role = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	a.label = label_of(info, newtup, desc);
	a.old_label = label_of(info, trigdata->tg_trigtuple, desc);
	a.adjudication = may_adjudicate(info->owner);

	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	rule = consensus_rule(model);
	if (rule == NULL || rule->per_row <= 1)
	{
		SPI_finish();			/* dropped, or back to one annotator per row */
		return newtup;
	}
	a.k = rule->per_row;
	before = store_answer(&a);
	consensus = consensus_of(&a, rule, &answers);
	log_answer(&a, before, consensus);
	SPI_finish();
	/* the worker refits the consensus model when answers came */
	hitl_wake_at_commit(RelationGetRelid(rel));

	if ((consensus == NULL && a.label == NULL) ||
		(consensus != NULL && a.label != NULL && strcmp(consensus, a.label) == 0))
		return newtup;
	isnull = consensus == NULL;
	value = isnull ? (Datum) 0 :
		OidInputFunctionCall(info->label_input, consensus, info->label_ioparam,
							 TupleDescAttr(desc, info->label.attnum - 1)->atttypmod);
	attnum = info->label.attnum;
	return heap_modify_tuple_by_cols(newtup, desc, 1, &attnum, &value, &isnull);
}
