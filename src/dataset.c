/*
 * dataset.c
 *		Feature columns of a source table: their layout and the conversion of
 *		their values to doubles, and the scans that read them.
 *
 * Reading the labeled rows is most of a dense training's time besides the
 * fit when done naively: sorting whole rows by key (an external sort once
 * they outgrow work_mem), copying each into an SPI tuple table, deforming
 * it again, and JIT-compiling the query's hundreds of column references.
 * dataset_read_labeled (dense training) scans the rows in the table's
 * order, streams them from the executor to the caller through a
 * DestReceiver, and sorts only their keys (with each row's number) as
 * ORDER BY would -- one key column passed by value, an integer primary
 * key, without a tuplesort: keyorder.c merges the runs of keys the scan
 * meets -- and the caller moves its rows into that order.  The cursors
 * of dataset_open_labeled (text training) are planned with JIT off.  With
 * weight_by_consensus both queries join hitl.consensus on its primary key
 * for each row's weight (weight_join): one join, which the planner makes a
 * hash join when the rows are many; without it they have no join.
 */
#include "postgres.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "access/htup_details.h"
#include "executor/tuptable.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "parser/parse_oper.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/tuplesort.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "autolabel.h"
#include "dataset.h"
#include "keyorder.h"
#include "progress.h"
#include "rowkey.h"
#include "spi_check.h"

/* Rows read between two progress reports of dataset_read_labeled */
#define SCAN_PROGRESS_ROWS 10000

/*
 * Column numbers and types of the feature columns.  Columns that vanished or
 * changed type since create_model raise an error naming them.
 */
FeatureLayout *
features_resolve(const HitlModel *model)
{
	FeatureLayout *l = palloc0(sizeof(FeatureLayout));
	int			n = model->n_feature_columns;
	int			i;

	l->ncols = n;
	l->attnums = palloc(sizeof(AttrNumber) * n);
	l->types = palloc(sizeof(Oid) * n);
	l->is_array = palloc(sizeof(bool) * n);
	l->is_text = palloc0(sizeof(bool) * n);
	l->dims = palloc(sizeof(int) * n);
	l->offsets = palloc(sizeof(int) * n);
	for (i = 0; i < n; i++)
	{
		AttrNumber	att = get_attnum(model->source, model->feature_columns[i]);
		Oid			type;

		if (att == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("feature column \"%s\" of model \"%s\" no longer exists",
							model->feature_columns[i], model->name),
					 errhint("Drop the model and create it again with the columns the table has.")));
		type = get_atttype(model->source, att);
		switch (type)
		{
			case INT2OID:
			case INT4OID:
			case INT8OID:
			case FLOAT4OID:
			case FLOAT8OID:
			case NUMERICOID:
			case BOOLOID:
				l->is_array[i] = false;
				l->dims[i] = 0;
				break;
			case FLOAT4ARRAYOID:
			case FLOAT8ARRAYOID:
				l->is_array[i] = true;
				l->dims[i] = -1;
				break;
			case TEXTOID:
			case VARCHAROID:
				l->is_array[i] = false;
				l->is_text[i] = true;
				l->n_text++;
				l->dims[i] = 0;
				break;
			default:
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("feature column \"%s\" has unsupported type %s",
								model->feature_columns[i], format_type_be(type))));
		}
		l->attnums[i] = att;
		l->types[i] = type;
	}
	l->all_float8 = true;
	for (i = 0; i < n; i++)
		if (l->types[i] != FLOAT8OID)
			l->all_float8 = false;
	return l;
}

/*
 * Set each column's array length (0 for scalars), its first expanded
 * index, and the number of expanded features d.
 */
void
features_set_dims(FeatureLayout *layout, const int *dims)
{
	int			d = 0;
	int			i;

	for (i = 0; i < layout->ncols; i++)
	{
		layout->dims[i] = dims[i];
		layout->offsets[i] = d;
		if (!layout->is_text[i])
			d += layout->is_array[i] ? dims[i] : 1;
	}
	layout->d = d;
}

/*
 * Raise an error when no row of the model's table is labeled.  Called when
 * an array column holds no value at all: on a table without labels, what
 * stops training is the missing labels, and that is what to report.
 */
static void
check_some_labeled(const HitlModel *model)
{
	StringInfoData sql;
	int			ret;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT 1 FROM %s t WHERE t.%s IS NOT NULL LIMIT 1",
					 model->source_text, quote_identifier(model->label_column));
	ret = SPI_execute(sql.data, true, 1);
	hitl_spi_check(ret, SPI_OK_SELECT, "looking for labeled rows");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model \"%s\" has no labeled rows", model->name),
				 errdetail("No row has a value in label column \"%s\"; training needs at least %d labeled rows (option min_labels), of at least two classes.",
						   model->label_column, model->min_labels),
				 errhint("Label rows, then train again.")));
	pfree(sql.data);
}

/*
 * Array lengths from the data: the first non-null value of each array column.
 */
void
features_detect_dims(FeatureLayout *layout, const HitlModel *model)
{
	int		   *dims = palloc(sizeof(int) * layout->ncols);
	int			i;

	for (i = 0; i < layout->ncols; i++)
	{
		StringInfoData sql;
		bool		isnull;
		int			ret;

		dims[i] = 0;
		if (!layout->is_array[i])
			continue;
		initStringInfo(&sql);
		appendStringInfo(&sql,
						 "SELECT cardinality(t.%1$s) FROM %2$s t WHERE t.%1$s IS NOT NULL LIMIT 1",
						 quote_identifier(model->feature_columns[i]), model->source_text);
		ret = SPI_execute(sql.data, true, 1);
		hitl_spi_check(ret, SPI_OK_SELECT, "reading array lengths");
		if (SPI_processed == 0)
		{
			check_some_labeled(model);
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("array feature column \"%s\" has no values",
							model->feature_columns[i]),
					 errdetail("The length of an array feature is taken from the data.")));
		}
		dims[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, 1, &isnull));
		if (dims[i] < 1)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("array feature column \"%s\" holds empty arrays",
							model->feature_columns[i])));
	}
	features_set_dims(layout, dims);
}

/*
 * A numeric as a double, without raising an error: PostgreSQL's cast raises
 * one that echoes the whole value (hundreds of digits) and names no row.
 * Returns false when the value is beyond the range of double precision: its
 * magnitude above DBL_MAX, or not zero but below the smallest denormal.
 * NaN and the infinities convert to themselves; the caller refuses them.
 */
static bool
numeric_to_double(Datum v, double *result)
{
	char	   *text = DatumGetCString(DirectFunctionCall1(numeric_out, v));
	char	   *end;
	double		d;
	bool		range_error;

	errno = 0;
	d = strtod(text, &end);
	range_error = (errno == ERANGE);
	if (end == text || *end != '\0')
		elog(ERROR, "hitl: a numeric's text form is not a number");
	pfree(text);
	*result = d;
	/* ERANGE with a denormal result is only a loss of precision */
	return !(range_error && (d == 0.0 || isinf(d)));
}

/*
 * Scalar datum of a supported type as a double; false when a numeric is
 * beyond the range of double precision.
 */
static bool
scalar_value(Datum v, Oid type, double *result)
{
	switch (type)
	{
		case INT2OID:
			*result = (double) DatumGetInt16(v);
			return true;
		case INT4OID:
			*result = (double) DatumGetInt32(v);
			return true;
		case INT8OID:
			*result = (double) DatumGetInt64(v);
			return true;
		case FLOAT4OID:
			*result = (double) DatumGetFloat4(v);
			return true;
		case FLOAT8OID:
			*result = DatumGetFloat8(v);
			return true;
		case NUMERICOID:
			return numeric_to_double(v, result);
		case BOOLOID:
			*result = DatumGetBool(v) ? 1.0 : 0.0;
			return true;
	}
	elog(ERROR, "hitl: unsupported feature type %u", type);
	return false;				/* keep compiler quiet */
}

/*
 * Convert one row's feature values to doubles: a scalar column to one, an
 * array column to one per element; NULLs are reported as missing, text
 * columns skipped.  Stops at the first value that cannot be used.
 */
FeatureStatus
features_from_datums(const FeatureLayout *layout, const Datum *values,
					 const bool *isnull, double *x, bool *missing, int *bad_col)
{
	int			i;

	/* the common case, in one simple loop: the same numbers */
	if (layout->all_float8)
	{
		for (i = 0; i < layout->ncols; i++)
		{
			double		v = isnull[i] ? 0.0 : DatumGetFloat8(values[i]);

			if (!isfinite(v))
			{
				*bad_col = i;
				return FEATURE_NOT_FINITE;
			}
			x[i] = v;
			missing[i] = isnull[i];
		}
		return FEATURE_OK;
	}
	for (i = 0; i < layout->ncols; i++)
	{
		int			off = layout->offsets[i];

		if (layout->is_text[i])
			continue;
		if (!layout->is_array[i])
		{
			if (isnull[i])
			{
				x[off] = 0.0;
				missing[off] = true;
			}
			else
			{
				double		v;

				if (!scalar_value(values[i], layout->types[i], &v))
				{
					*bad_col = i;
					return FEATURE_OUT_OF_RANGE;
				}
				if (!isfinite(v))
				{
					*bad_col = i;
					return FEATURE_NOT_FINITE;
				}
				x[off] = v;
				missing[off] = false;
			}
		}
		else if (isnull[i])
		{
			int			j;

			for (j = 0; j < layout->dims[i]; j++)
			{
				x[off + j] = 0.0;
				missing[off + j] = true;
			}
		}
		else
		{
			ArrayType  *a = DatumGetArrayTypeP(values[i]);
			bool		is4 = layout->types[i] == FLOAT4ARRAYOID;
			Datum	   *elems;
			bool	   *enulls;
			int			n;
			int			j;

			if (ARR_NDIM(a) > 1)
			{
				*bad_col = i;
				return FEATURE_BAD_SHAPE;
			}
			deconstruct_array(a, is4 ? FLOAT4OID : FLOAT8OID,
							  is4 ? sizeof(float4) : sizeof(float8),
							  is4 ? true : FLOAT8PASSBYVAL,
							  is4 ? TYPALIGN_INT : TYPALIGN_DOUBLE,
							  &elems, &enulls, &n);
			if (n != layout->dims[i])
			{
				*bad_col = i;
				return FEATURE_BAD_LENGTH;
			}
			for (j = 0; j < n; j++)
			{
				double		v;

				if (enulls[j])
				{
					x[off + j] = 0.0;
					missing[off + j] = true;
					continue;
				}
				v = is4 ? (double) DatumGetFloat4(elems[j]) : DatumGetFloat8(elems[j]);
				if (!isfinite(v))
				{
					*bad_col = i;
					return FEATURE_NOT_FINITE;
				}
				x[off + j] = v;
				missing[off + j] = false;
			}
			pfree(elems);
			pfree(enulls);
			if ((Pointer) a != DatumGetPointer(values[i]))
				pfree(a);
		}
	}
	return FEATURE_OK;
}

/* Raise the error that describes why a row's features could not be used */
void
features_report(const HitlModel *model, const FeatureLayout *layout,
				FeatureStatus status, int bad_col, const char *row_key)
{
	const char *col = model->feature_columns[bad_col];

	if (status == FEATURE_OUT_OF_RANGE)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("feature column \"%s\" is out of the range of double precision in row %s",
						col, row_key),
				 errdetail("Features are read as double precision: a magnitude above about 1.8e308, or not zero and below about 4.9e-324, cannot be represented."),
				 errhint("Rescale the column, or set the value to NULL.")));
	if (status == FEATURE_NOT_FINITE)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("feature column \"%s\" is NaN or infinite in row %s", col, row_key),
				 errdetail("Features must be finite numbers; NULL is allowed and is imputed with the training mean."),
				 errhint("Set the value to NULL or to a finite number.")));
	if (status == FEATURE_NEGATIVE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("feature column \"%s\" is negative in row %s", col, row_key),
				 errdetail("Naive Bayes features are counts: they must be zero or more."),
				 errhint("Use algorithm logistic for features that can be negative.")));
	if (status == FEATURE_BAD_SHAPE)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("feature column \"%s\" holds a multidimensional array in row %s", col, row_key),
				 errdetail("Array features must be one-dimensional.")));
	ereport(ERROR,
			(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
			 errmsg("feature column \"%s\" holds arrays of different lengths", col),
			 errdetail("Row %s does not have %d elements like the others.", row_key,
					   layout->dims[bad_col]),
			 errhint("Array features are embeddings: give every row the same length, or NULL.")));
}

/* The names of the expanded features, stored with a trained version */
char **
features_names(const HitlModel *model, const FeatureLayout *layout)
{
	char	  **names = palloc(sizeof(char *) * Max(layout->d, 1));
	int			i;

	for (i = 0; i < layout->ncols; i++)
	{
		int			off = layout->offsets[i];
		int			j;

		if (layout->is_text[i])
			continue;
		if (!layout->is_array[i])
			names[off] = pstrdup(model->feature_columns[i]);
		else
			for (j = 0; j < layout->dims[i]; j++)
				names[off + j] = psprintf("%s[%d]", model->feature_columns[i], j + 1);
	}
	return names;
}

/* The feature columns as a SELECT list, each qualified by alias */
char *
features_select_list(const HitlModel *model, const char *alias)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < model->n_feature_columns; i++)
		appendStringInfo(&buf, "%s%s.%s", i > 0 ? ", " : "", alias,
						 quote_identifier(model->feature_columns[i]));
	return buf.data;
}

/*
 * The join that gives each labeled row its weight (weight_by_consensus):
 * the consensus of the row (hitl.consensus, on its primary key: the model
 * and the row's key) when it is on the label the row holds, as w.  A row
 * without one, or whose label is not its consensus (given before
 * annotators_per_row rose, a machine label), weighs 1 (w.confidence NULL).
 * Read as the reader of the rows: training needs a role that sees every
 * row of the table, which sees every consensus of the model
 * (consensus_read).
 */
static void
weight_join(StringInfo sql, const HitlModel *model, const char *key)
{
	appendStringInfo(sql, " LEFT JOIN hitl.consensus w"
					 " ON w.model OPERATOR(pg_catalog.=) %s"
					 " AND w.row_key OPERATOR(pg_catalog.=) %s"
					 " AND w.label OPERATOR(pg_catalog.=) t.%s::pg_catalog.text",
					 quote_literal_cstr(model->name), key,
					 quote_identifier(model->label_column));
}

/*
 * The query of the labeled rows: ctid, the features, the label as text,
 * with cv_group_column the row's group as text, then the row's key as
 * jsonb (NULL unless with_key), its weight (see weight_join) and extra
 * (", expr, ...").  Machine labels (hitl.auto_labels) are left out unless
 * the model's option train_on_auto_labels is true.  ordered: in
 * primary-key order.
 */
static char *
labeled_sql(const HitlModel *model, const char *extra, bool with_key, bool weighted,
			bool ordered)
{
	StringInfoData sql;
	char	   *key = rowkey_sql(model, "t");

	/* features first, so that deforming a row never walks past the label */
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT t.ctid, %s, t.%s::text",
					 features_select_list(model, "t"), quote_identifier(model->label_column));
	if (model->cv_group_column != NULL)
		appendStringInfo(&sql, ", t.%s::text", quote_identifier(model->cv_group_column));
	appendStringInfo(&sql, ", %s, %s%s", with_key ? key : "NULL::pg_catalog.jsonb",
					 weighted ? "w.confidence" : "NULL::pg_catalog.float8", extra);
	appendStringInfo(&sql, " FROM %s t", model->source_text);
	if (weighted)
		weight_join(&sql, model, key);
	appendStringInfo(&sql, " WHERE t.%s IS NOT NULL%s%s",
					 quote_identifier(model->label_column),
					 weighted ? " AND (w.confidence IS NULL"
					 " OR w.confidence OPERATOR(pg_catalog.>) 0::pg_catalog.float8)" : "",
					 autolabel_exclusion_sql(model, key));
	if (ordered)
		appendStringInfo(&sql, " ORDER BY %s", rowkey_columns_sql(model, "t"));
	return sql.data;
}

/*
 * Enter a GUC nesting level with JIT compilation off: hitl's scans read
 * each row once with a few expressions, and compiling them (hundreds of
 * columns) costs more than it saves.  The plan keeps the setting it was
 * made with; leave the level with AtEOXact_GUC(true, level).
 */
int
dataset_no_jit_enter(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/*
 * A read-only cursor on the labeled rows, in primary-key order: ctid, the
 * features, the label as text, with cv_group_column the row's group as
 * text, the row's key as jsonb (for the audit of its label) and a NULL
 * weight.
 */
Portal
dataset_open_labeled(const HitlModel *model)
{
	return dataset_open_labeled_with(model, "", false);
}

/* dataset_open_labeled, weighted or not, with extra (", expr, ...") last */
Portal
dataset_open_labeled_with(const HitlModel *model, const char *extra, bool weighted)
{
	int			level = dataset_no_jit_enter();
	Portal		portal = dataset_open_cursor(labeled_sql(model, extra, true, weighted, true));

	AtEOXact_GUC(true, level);
	return portal;
}

/* dataset_read_labeled's receiver of the executor's rows */
typedef struct RowReceiver
{
	DestReceiver pub;
	DatasetRowAtFn fn;
	void	   *arg;
	MemoryContext rowcxt;
	int			nkeys;			/* key columns, last in each row */
	Tuplesortstate *sort;		/* the keys and row numbers */
	TupleTableSlot *keyslot;	/* one row's keys and number, to sort */
	TupleTableSlot *sortedslot; /* the same, sorted */
	KeyOrder   *ko;				/* one key passed by value: no sort above */
	int64		nread;
} RowReceiver;

/* Put the keys of row number row into the sort, with that number */
static void
key_sort_put(RowReceiver *r, const Datum *keys, const bool *nulls, int row)
{
	TupleTableSlot *ks = r->keyslot;
	int			j;

	ExecClearTuple(ks);
	for (j = 0; j < r->nkeys; j++)
	{
		ks->tts_values[j] = keys[j];
		ks->tts_isnull[j] = nulls[j];
	}
	ks->tts_values[r->nkeys] = Int32GetDatum((int32) row);
	ks->tts_isnull[r->nkeys] = false;
	ExecStoreVirtualTuple(ks);
	tuplesort_puttupleslot(r->sort, ks);
}

/*
 * Give up the key order of keyorder.c (a NULL key, or two equal): the keys
 * it holds go to the sort, in the order they came, as they would have.
 */
static void
key_order_to_sort(RowReceiver *r)
{
	bool		isnull = false;
	int			i;

	for (i = 0; i < key_order_count(r->ko); i++)
	{
		Datum		key = key_order_key(r->ko, i);

		key_sort_put(r, &key, &isnull, i);
	}
	key_order_end(r->ko);
	r->ko = NULL;
}

/*
 * One row, as the executor made it: its values are read in place (no copy
 * into a tuple table) and handed to fn with its number; its keys go to the
 * sort with that number.
 */
static bool
row_receive(TupleTableSlot *slot, DestReceiver *self)
{
	RowReceiver *r = (RowReceiver *) self;
	int			first = slot->tts_tupleDescriptor->natts - r->nkeys;
	MemoryContext old;

	if (r->nread >= PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many labeled rows to train on")));
	slot_getallattrs(slot);
	old = MemoryContextSwitchTo(r->rowcxt);
	r->fn((int) r->nread, slot->tts_values, slot->tts_isnull, r->arg);
	MemoryContextSwitchTo(old);
	if (r->ko != NULL && slot->tts_isnull[first])
		key_order_to_sort(r);
	if (r->ko != NULL)
		key_order_add(r->ko, slot->tts_values[first]);
	else
		key_sort_put(r, slot->tts_values + first, slot->tts_isnull + first, (int) r->nread);
	MemoryContextReset(r->rowcxt);
	if (++r->nread % SCAN_PROGRESS_ROWS == 0)
		hitl_progress_done(r->nread);
	CHECK_FOR_INTERRUPTS();
	return true;
}

static void
row_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
row_shutdown(DestReceiver *self)
{
}

static void
row_destroy(DestReceiver *self)
{
}

/*
 * A sort of the model's key columns, as ORDER BY sorts them (their types'
 * default ordering, their collations, ascending), carrying each row's
 * number after them; *in and *out receive slots of that shape, to put rows
 * in (virtual) and to get them out (minimal tuples).
 */
static Tuplesortstate *
key_sort_begin(const HitlModel *model, TupleTableSlot **in, TupleTableSlot **out)
{
	int			nkeys = model->n_key_columns;
	TupleDesc	desc = CreateTemplateTupleDesc(nkeys + 1);
	AttrNumber *attnums = palloc(sizeof(AttrNumber) * nkeys);
	Oid		   *ops = palloc(sizeof(Oid) * nkeys);
	Oid		   *colls = palloc(sizeof(Oid) * nkeys);
	bool	   *nulls_first = palloc0(sizeof(bool) * nkeys);
	int			j;

	for (j = 0; j < nkeys; j++)
	{
		AttrNumber	att = get_attnum(model->source, model->key_columns[j]);
		Oid			type;
		int32		typmod;

		if (att == InvalidAttrNumber)
			elog(ERROR, "hitl: key column \"%s\" not found", model->key_columns[j]);
		get_atttypetypmodcoll(model->source, att, &type, &typmod, &colls[j]);
		get_sort_group_operators(type, true, false, false, &ops[j], NULL, NULL, NULL);
		TupleDescInitEntry(desc, (AttrNumber) (j + 1), NULL, type, typmod, 0);
		TupleDescInitEntryCollation(desc, (AttrNumber) (j + 1), colls[j]);
		attnums[j] = (AttrNumber) (j + 1);
	}
	TupleDescInitEntry(desc, (AttrNumber) (nkeys + 1), NULL, INT4OID, -1, 0);
	*in = MakeSingleTupleTableSlot(desc, &TTSOpsVirtual);
	*out = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	return tuplesort_begin_heap(desc, nkeys, attnums, ops, colls, nulls_first,
								work_mem, NULL, TUPLESORT_NONE);
}

/*
 * Call fn for every labeled row, numbered in the table's order, and
 * return their number; *order receives the numbers in key order (see
 * dataset.h).
 */
int
dataset_read_labeled(const HitlModel *model, bool with_key, bool weighted,
					 DatasetRowAtFn fn, void *arg, int **order)
{
	RowReceiver r;
	SPIExecuteOptions opt;
	StringInfoData keys;
	int			level;
	int			ret;
	int			i;

	memset(&r, 0, sizeof(r));
	r.pub.receiveSlot = row_receive;
	r.pub.rStartup = row_startup;
	r.pub.rShutdown = row_shutdown;
	r.pub.rDestroy = row_destroy;
	/* not DestNone (SPI would report SPI_OK_UTILITY) nor DestSPI (no tuple table) */
	r.pub.mydest = DestTuplestore;
	r.fn = fn;
	r.arg = arg;
	r.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "hitl labeled row",
									 ALLOCSET_DEFAULT_SIZES);
	r.nkeys = model->n_key_columns;
	r.sort = key_sort_begin(model, &r.keyslot, &r.sortedslot);
	r.ko = key_order_begin(model);
	initStringInfo(&keys);
	appendStringInfo(&keys, ", %s", rowkey_columns_sql(model, "t"));
	memset(&opt, 0, sizeof(opt));
	opt.read_only = true;
	opt.dest = &r.pub;
	level = dataset_no_jit_enter();
	ret = SPI_execute_extended(labeled_sql(model, keys.data, with_key, weighted, false), &opt);
	AtEOXact_GUC(true, level);
	hitl_spi_check(ret, SPI_OK_SELECT, "reading the labeled rows");
	hitl_progress_done(r.nread);

	*order = palloc_extended(sizeof(int) * Max(r.nread, 1), MCXT_ALLOC_HUGE);
	if (r.ko != NULL && !key_order_finish(r.ko, *order))
		key_order_to_sort(&r);
	if (r.ko == NULL)
		tuplesort_performsort(r.sort);
	for (i = 0; r.ko == NULL && i < r.nread; i++)
	{
		bool		isnull;

		if (!tuplesort_gettupleslot(r.sort, true, false, r.sortedslot, NULL))
			elog(ERROR, "hitl: the sort of the labeled rows lost a row");
		(*order)[i] = DatumGetInt32(slot_getattr(r.sortedslot, r.nkeys + 1, &isnull));
	}
	if (r.ko != NULL)
		key_order_end(r.ko);
	tuplesort_end(r.sort);
	ExecDropSingleTupleTableSlot(r.keyslot);
	ExecDropSingleTupleTableSlot(r.sortedslot);
	MemoryContextDelete(r.rowcxt);
	return (int) r.nread;
}

/*
 * Arrays up to this size are put in order through a copy: a row read from
 * anywhere, written in sequence.  Following the permutation's cycles in
 * place reads and writes rows at random, which costs several times more
 * once the rows came in another order than their keys' (a table whose
 * scores were rewritten holds its rows in the order of the writes).
 */
#define PERMUTE_COPY_MAX_BYTES ((size_t) 512 * 1024 * 1024)

/*
 * Put element order[i] of base (n elements of size bytes) at i: through a
 * copy when it is at most PERMUTE_COPY_MAX_BYTES, else in place, each cycle
 * of the permutation moving through one element's copy.
 */
void
dataset_permute(void *base, size_t size, int n, const int *order)
{
	char	   *b = (char *) base;
	char	   *saved;
	bool	   *done;
	int			start;

	if ((size_t) Max(n, 1) * size <= PERMUTE_COPY_MAX_BYTES)
	{
		char	   *copy = palloc_extended(Max((size_t) n * size, 1), MCXT_ALLOC_HUGE);
		int			i;

		for (i = 0; i < n; i++)
			memcpy(copy + (size_t) i * size, b + (size_t) order[i] * size, size);
		memcpy(b, copy, (size_t) n * size);
		pfree(copy);
		return;
	}
	saved = palloc(Max(size, 1));
	done = palloc_extended(Max(n, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (start = 0; start < n; start++)
	{
		int			i = start;

		if (done[start])
			continue;
		memcpy(saved, b + (size_t) start * size, size);
		for (;;)
		{
			int			from = order[i];

			done[i] = true;
			if (from == start)
			{
				memcpy(b + (size_t) i * size, saved, size);
				break;
			}
			memcpy(b + (size_t) i * size, b + (size_t) from * size, size);
			i = from;
		}
	}
	pfree(saved);
	pfree(done);
}

#define SCAN_FETCH_ROWS 10000

/*
 * Fetch a cursor's rows in batches and call fn on each, in a per-row
 * memory context reset after the call; then close the cursor.
 */
void
dataset_scan(Portal portal, DatasetRowFn fn, void *arg)
{
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext rowcxt = AllocSetContextCreate(cxt, "hitl scan row",
												 ALLOCSET_DEFAULT_SIZES);
	Datum	   *values = NULL;
	bool	   *nulls = NULL;
	int64		nread = 0;

	for (;;)
	{
		SPITupleTable *tt;
		uint64		n;
		uint64		i;

		SPI_cursor_fetch(portal, true, SCAN_FETCH_ROWS);
		MemoryContextSwitchTo(cxt);
		/* fn may run queries of its own: keep this batch's table */
		tt = SPI_tuptable;
		n = SPI_processed;
		if (n == 0)
			break;
		if (values == NULL)
		{
			values = palloc(sizeof(Datum) * tt->tupdesc->natts);
			nulls = palloc(sizeof(bool) * tt->tupdesc->natts);
		}
		for (i = 0; i < n; i++)
		{
			MemoryContextSwitchTo(rowcxt);
			heap_deform_tuple(tt->vals[i], tt->tupdesc, values, nulls);
			fn(values, nulls, arg);
			MemoryContextSwitchTo(cxt);
			MemoryContextReset(rowcxt);
			CHECK_FOR_INTERRUPTS();
		}
		SPI_freetuptable(tt);
		nread += n;
		hitl_progress_done(nread);
	}
	SPI_cursor_close(portal);
	MemoryContextSwitchTo(cxt);
	MemoryContextDelete(rowcxt);
}

/* A read-only, no-scroll cursor on a query without parameters */
Portal
dataset_open_cursor(const char *sql)
{
	Portal		portal;

	portal = SPI_cursor_open_with_args(NULL, sql, 0, NULL, NULL, NULL, true,
									   CURSOR_OPT_NO_SCROLL);
	if (portal == NULL)
		elog(ERROR, "hitl: could not open a cursor: %s",
			 SPI_result_code_string(SPI_result));
	return portal;
}
