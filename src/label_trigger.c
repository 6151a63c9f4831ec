/*
 * label_trigger.c
 *		The label triggers on a model's table, which record every label
 *		change in hitl.label_log and wake the database's worker when the
 *		transaction commits; and their attachment.
 *
 * One trigger function serves every label trigger of a model, told apart
 * by event and level.  Inserted and deleted rows are logged here, by
 * statement triggers with transition tables, once per statement however
 * many rows it touched.  Label updates are kept per row and written per
 * statement by label_buffer.c (a transition table on every UPDATE would
 * copy every row of every scoring UPDATE).  None of the triggers has a
 * column list: a label set by a BEFORE trigger or computed by a generated
 * column changes without being named in the UPDATE.
 *
 * No training happens here; the worker is woken at commit, never before.
 * The log's rows are written by label_log.c, as the role that changed the
 * labels, with no privilege on hitl's tables.
 *
 * Also here: whether a version's classes are all still values of the
 * model's label type, for the trainer and the scorer.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "catalog.h"
#include "label_internal.h"
#include "labels.h"
#include "security.h"
#include "shared.h"
#include "spi_check.h"

PG_FUNCTION_INFO_V1(hitl_label_trigger);
PG_FUNCTION_INFO_V1(hitl_attach_label_triggers);

/* What one call of the trigger function is about */
typedef struct LabelTriggerCall
{
	TriggerData *trigdata;
	const char *model;
} LabelTriggerCall;

static void log_transition_table(TriggerData *trigdata, const char *model, bool inserted);
static void label_trigger_dispatch(void *arg);

/*
 * Statement trigger after INSERT or DELETE: log the rows of the transition
 * table that carry a label.
 */
static void
log_transition_table(TriggerData *trigdata, const char *model, bool inserted)
{
	Tuplestorestate *rows = inserted ? trigdata->tg_newtable : trigdata->tg_oldtable;
	Relation	rel = trigdata->tg_relation;
	LabelInfo  *info;
	LabelLogWriter *w;
	TupleTableSlot *slot;
	int			readptr;
	int			i;

	if (rows == NULL || tuplestore_tuple_count(rows) == 0)
		return;
	hitl_wake_at_commit(RelationGetRelid(rel));

	info = label_info(model, rel);
	if (!info->usable || (w = label_log_open(model)) == NULL)
		return;

	/* a read pointer of our own: other triggers read the same rows */
	readptr = tuplestore_alloc_read_pointer(rows, 0);
	tuplestore_select_read_pointer(rows, readptr);
	tuplestore_rescan(rows);
	slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	while (tuplestore_gettupleslot(rows, true, false, slot))
	{
		Datum		keys[INDEX_MAX_KEYS];
		bool		key_nulls[INDEX_MAX_KEYS];
		Datum		label;
		Datum		prediction;
		Datum		confidence;
		bool		label_null;
		bool		prediction_null;
		bool		confidence_null;

		label = slot_getattr(slot, info->label.attnum, &label_null);
		if (label_null)
			continue;
		for (i = 0; i < info->nkeys; i++)
			keys[i] = slot_getattr(slot, info->keys[i].attnum, &key_nulls[i]);
		prediction = slot_getattr(slot, info->prediction.attnum, &prediction_null);
		confidence = slot_getattr(slot, info->confidence.attnum, &confidence_null);
		if (inserted)
			label_log_change(w, info, keys, key_nulls, (Datum) 0, true, label, false,
							 prediction, prediction_null, confidence, confidence_null);
		else
			label_log_change(w, info, keys, key_nulls, label, false, (Datum) 0, true,
							 prediction, prediction_null, confidence, confidence_null);
	}
	ExecDropSingleTupleTableSlot(slot);
	label_log_close(w);
}

/* Do what a label trigger's event and level ask */
static void
label_trigger_dispatch(void *arg)
{
	LabelTriggerCall *call = (LabelTriggerCall *) arg;
	TriggerData *trigdata = call->trigdata;
	TriggerEvent event = trigdata->tg_event;

	if (TRIGGER_FIRED_BY_UPDATE(event))
	{
		if (TRIGGER_FIRED_FOR_ROW(event))
			label_buffer_keep(trigdata, call->model);
		else
			label_buffer_flush(trigdata, call->model);
	}
	else if (TRIGGER_FIRED_BY_INSERT(event))
		log_transition_table(trigdata, call->model, true);
	else if (TRIGGER_FIRED_BY_DELETE(event))
		log_transition_table(trigdata, call->model, false);
	else if (TRIGGER_FIRED_BY_TRUNCATE(event))
		hitl_wake_at_commit(RelationGetRelid(trigdata->tg_relation));
}

/* Is it named as hitl names a model's answer trigger, hitl_..._label_ans? */
static bool
is_answer_trigger(const char *name)
{
	size_t		len = strlen(name);
	const char *suffix = "_label_ans";

	return strncmp(name, "hitl_", 5) == 0 && len > strlen(suffix) + 5 &&
		strcmp(name + len - strlen(suffix), suffix) == 0;
}

/*
 * hitl._label_trigger(model): the label triggers of a model, told apart by
 * event and level (see hitl._attach_label_triggers).
 */
Datum
hitl_label_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TriggerEvent event;
	LabelTriggerCall call;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("hitl._label_trigger() must be called as a trigger")));
	event = trigdata->tg_event;
	/*
	 * BEFORE, per row, on UPDATE: an annotator's answer (answer.c), from the
	 * trigger hitl names so only
	 */
	if (TRIGGER_FIRED_BEFORE(event) && TRIGGER_FIRED_FOR_ROW(event) &&
		TRIGGER_FIRED_BY_UPDATE(event) && trigdata->tg_trigger->tgnargs == 1 &&
		is_answer_trigger(trigdata->tg_trigger->tgname))
		return PointerGetDatum(label_answer(trigdata, trigdata->tg_trigger->tgargs[0]));
	if (!TRIGGER_FIRED_AFTER(event) || trigdata->tg_trigger->tgnargs != 1 ||
		(TRIGGER_FIRED_FOR_ROW(event) && !TRIGGER_FIRED_BY_UPDATE(event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\" of table \"%s\" cannot use hitl._label_trigger()",
						trigdata->tg_trigger->tgname,
						RelationGetRelationName(trigdata->tg_relation)),
				 errdetail("Label triggers fire AFTER, per statement or per row on UPDATE, or BEFORE per row on UPDATE, with the model's name as their argument."),
				 errhint("hitl.create_model() makes them.")));
	call.trigdata = trigdata;
	call.model = trigdata->tg_trigger->tgargs[0];
	label_buffer_register();

	/*
	 * The only code run here that is not hitl's is a cast of a key or label
	 * to jsonb or text, which could be a user's function; one that changed
	 * labels would find a log half written.
	 */
	if (label_log_busy())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("labels of hitl model \"%s\" cannot change while hitl writes its label log",
						call.model),
				 errdetail("A cast of a key or label column to jsonb or text changed labels.")));
	label_log_run(label_trigger_dispatch, &call);

	return PointerGetDatum(NULL);
}

/*
 * hitl._attach_label_triggers(model): create the label triggers a model's
 * table lacks.  The caller must be a member of the model's owner or may
 * update its table (the rule for changing a model); the triggers are then
 * created by hitl._create_label_triggers as the owner of hitl's tables, who
 * may create triggers on any table.  On a distributed table they are
 * created as the caller, who must be allowed to (the table's owner): see
 * catalog_citus_run_as_caller.  A model the caller does not see, or that
 * does not exist, has nothing to attach.
 */
Datum
hitl_attach_label_triggers(PG_FUNCTION_ARGS)
{
	Datum		model = PG_GETARG_DATUM(0);
	char	   *name = TextDatumGetCString(model);
	Oid			argtypes[1] = {TEXTOID};
	HitlRoleScope scope;
	LabelTriggerRight right;

	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	right = catalog_label_trigger_right(name);
	if (right == LABEL_TRIGGER_NO_MODEL)
	{
		SPI_finish();
		PG_RETURN_VOID();
	}
	if (right != LABEL_TRIGGER_ALLOWED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to attach the label triggers of model \"%s\"",
						name),
				 errhint("Only members of the model's owner and roles that may update its table attach them.")));

	/*
	 * a distributed table: created as the caller, who must be allowed to
	 * (catalog_citus_run_as_caller says why)
	 */
	if (catalog_citus_model_distributed(name))
	{
		catalog_citus_run_as_caller("SELECT hitl._label_trigger_ddl($1)", 1, argtypes, &model,
									"creating the label triggers");
		SPI_finish();
		PG_RETURN_VOID();
	}
	hitl_catalog_enter(&scope);
	hitl_spi_check(SPI_execute_with_args("SELECT hitl._create_label_triggers($1)",
										 1, argtypes, &model, NULL, false, 0),
				   SPI_OK_SELECT, "creating the label triggers");
	hitl_role_exit(&scope);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * The first class of a version that is no longer a value of the model's
 * label type, or NULL.  Classes are stored as text; an enum value renamed
 * (ALTER TYPE ... RENAME VALUE) or dropped leaves a class that no label can
 * take any more and that cannot be written into the prediction column.
 * Only enums (or domains over them) can lose values; the lookup runs no
 * code of the type.
 */
const char *
label_missing_class(Oid source, const char *label_column, int n_classes, char **classes)
{
	AttrNumber	attnum = get_attnum(source, label_column);
	Oid			base;
	int			i;

	if (attnum == InvalidAttrNumber)
		return NULL;
	base = getBaseType(get_atttype(source, attnum));
	if (!type_is_enum(base))
		return NULL;
	for (i = 0; i < n_classes; i++)
		if (strlen(classes[i]) >= NAMEDATALEN ||
			!SearchSysCacheExists2(ENUMTYPOIDNAME, ObjectIdGetDatum(base),
								   CStringGetDatum(classes[i])))
			return classes[i];
	return NULL;
}
