/*
 * train_incremental.c
 *		Updating a naive Bayes version with the label changes since it was
 *		trained, instead of training from scratch.
 *
 * An update reads the label log entries that the current version does not
 * include (those not visible in the snapshot it recorded), fetches their
 * rows by primary key, and subtracts each row from its old class and adds
 * it to its new one.  The idf and the table's other rows stay as they were:
 * the result is what a full training on the same table would give, to
 * rounding.  Log entries restored from a dump carry no transaction id and
 * count as included in every version: they are never applied twice.
 *
 * It runs in named phases -- check the version and the table, read the
 * changes, fetch their rows, extend the vocabulary, apply -- and each one
 * says why, when the result could not be what a full training gives (a new
 * class, a class left without rows, a row that is gone, more changes than
 * labeled rows, a class renamed in the label's enum type, a version
 * restored from another cluster...): a TrainFallback, for which train.c
 * trains from scratch instead and says so in the version's metrics.  The
 * arithmetic is plain C, in vocab.c and nbayes_update.c.
 *
 * A model with weight_by_consensus is not updated: its rows weigh their
 * consensus confidence, which a new fit of the consensus changes for rows
 * whose label stays (no log entry), so only a full training is exact.  A
 * version trained so records no label snapshot either: no update starts
 * from its weighted sums once the option is off.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "autolabel.h"
#include "labels.h"
#include "nbayes.h"
#include "spi_check.h"
#include "sparserow.h"
#include "train.h"
#include "vocab.h"

/* A changed row as it is now: dense values, then its text buckets */
typedef struct ChangedRow
{
	bool		found;
	int			ndense;			/* the first entries: dense positions */
	int			nnz;
	int		   *idx;			/* dense positions, then buckets (positions
								 * once the vocabulary is known) */
	double	   *val;
} ChangedRow;

/* The state of an update, phase after phase */
typedef struct Update
{
	TrainRun   *run;
	const HitlVersion *prev;
	int64	   *table_rows;		/* per class of prev: the table's labeled rows */
	char	   *snapshot;		/* the new version's label snapshot */
	int			nchanges;
	CatalogLabelChange *log;	/* the log entries to apply ... */
	int		   *old_class;		/* ... their classes (-1: none) ... */
	int		   *new_class;
	ChangedRow *rows;			/* ... and their rows */
	int32	   *vocab;			/* the new vocabulary */
	int			m_text;
	NBayesCounts c;				/* the updated statistics */
} Update;

static TrainFallback check_version(const TrainRun *run);
static bool classes_still_labels(const HitlModel *model, const HitlVersion *prev);
static TrainFallback check_table(Update *u);
static TrainFallback read_changes(Update *u);
static void fetch_row(Update *u, HeapTuple tuple, TupleDesc desc, SparseRow *r);
static TrainFallback fetch_rows(Update *u);
static TrainFallback extend_vocabulary(Update *u);
static TrainFallback apply_changes(Update *u);
static int	record_update(Update *u);

/*
 * Can the current version be updated at all: one with naive Bayes sums
 * over the same features, and a label snapshot?
 */
static TrainFallback
check_version(const TrainRun *run)
{
	const HitlVersion *prev = run->prev;
	const FeatureLayout *layout = run->layout;

	if (run->model->current_version == 0)
		return FALLBACK_NO_VERSION;
	if (prev == NULL)
		return FALLBACK_DAMAGED_VERSION;
	if (prev->class_counts == NULL || prev->d != layout->d ||
		(layout->n_text > 0) != (prev->idf_buckets != NULL))
		return FALLBACK_FEATURES_CHANGED;
	if (prev->label_snapshot == NULL)
		return FALLBACK_NO_SNAPSHOT;
	return FALLBACK_NONE;
}

/*
 * Are the classes of version prev still values of the model's label type?
 * A renamed enum value leaves every row of its class under a new label
 * without a log entry: the update would fall back anyway (a class the
 * version does not know), but the user learns here why the model is
 * trained from scratch.
 */
static bool
classes_still_labels(const HitlModel *model, const HitlVersion *prev)
{
	const char *missing = label_missing_class(model->source, model->label_column,
											  prev->n_classes, prev->classes);

	if (missing == NULL)
		return true;
	ereport(WARNING,
			(errmsg("class \"%s\" of model \"%s\" is no longer a value of its label type",
					missing, model->name),
			 errdetail("The label type changed since version %d (ALTER TYPE ... RENAME VALUE?).",
					   prev->version),
			 errhint("The model is trained from scratch.")));
	return false;
}

/*
 * Phase 1, check the table: the labels it holds now, per class, and its
 * rows, which the statistics must agree with once the changes are applied.
 * Rows inserted or deleted change a text model's idf, and labels can change
 * without a log entry (TRUNCATE, triggers disabled): then only a full
 * training gives what a full training gives.
 */
static TrainFallback
check_table(Update *u)
{
	const HitlModel *model = u->run->model;
	const HitlVersion *prev = u->prev;
	TrainFallback fallback = check_version(u->run);
	char	  **labels;
	int64	   *counts;
	int64		rows;
	int			n;
	int			i;

	if (fallback != FALLBACK_NONE)
		return fallback;
	if (!classes_still_labels(model, prev))
		return FALLBACK_CLASS_RENAMED;
	if (catalog_restored_since(model, prev))
		return FALLBACK_RESTORED;
	/* the log holds machine labels, which a full training leaves out */
	if (catalog_auto_labels_any(model->name) && !catalog_trains_on_auto_labels(model->name))
		return FALLBACK_AUTO_LABELS;
	n = catalog_count_labels(model, CurrentMemoryContext, &labels, &counts, &rows);
	u->table_rows = palloc0(sizeof(int64) * prev->n_classes);
	for (i = 0; i < n; i++)
	{
		int			j;

		if (labels[i] == NULL)
			continue;
		j = train_version_class(prev, labels[i]);
		if (j < 0)
			return FALLBACK_NEW_CLASS;
		u->table_rows[j] = counts[i];
	}
	if (u->run->layout->n_text > 0 && rows != prev->n_documents)
		return FALLBACK_ROW_COUNT_CHANGED;
	if (catalog_snapshot_from_future(prev->label_snapshot))
		return FALLBACK_FOREIGN_SNAPSHOT;
	return FALLBACK_NONE;
}

/*
 * Phase 2, read the changes the version does not include, and their
 * classes.  No change at all leaves u->nchanges 0: the version stands,
 * unless labels changed that the log does not show.
 */
static TrainFallback
read_changes(Update *u)
{
	const HitlVersion *prev = u->prev;
	int			i;

	u->snapshot = catalog_label_snapshot(u->run->model, CurrentMemoryContext);
	u->nchanges = catalog_label_changes(u->run->model, prev->label_snapshot,
										prev->n_labeled + 1, CurrentMemoryContext, &u->log);
	if (u->nchanges == 0)
	{
		for (i = 0; i < prev->n_classes; i++)
			if ((int64) (prev->class_counts[i] + 0.5) != u->table_rows[i])
				return FALLBACK_UNLOGGED_CHANGE;
		return FALLBACK_NONE;
	}
	if (u->nchanges > prev->n_labeled)
		return FALLBACK_TOO_MANY_CHANGES;	/* cheaper, and the idf gets refreshed */
	u->old_class = palloc(sizeof(int) * u->nchanges);
	u->new_class = palloc(sizeof(int) * u->nchanges);
	for (i = 0; i < u->nchanges; i++)
	{
		const char *old_label = u->log[i].old_label;
		const char *new_label = u->log[i].new_label;

		u->old_class[i] = old_label ? train_version_class(prev, old_label) : -1;
		u->new_class[i] = new_label ? train_version_class(prev, new_label) : -1;
		if ((old_label && u->old_class[i] < 0) || (new_label && u->new_class[i] < 0))
			return FALLBACK_NEW_CLASS;	/* the classes must be reordered */
	}
	return FALLBACK_NONE;
}

/*
 * One fetched row (its change's index, then the feature columns): the
 * dense part through the converter, the text by bucket.
 */
static void
fetch_row(Update *u, HeapTuple tuple, TupleDesc desc, SparseRow *r)
{
	const HitlModel *model = u->run->model;
	const FeatureLayout *layout = u->run->layout;
	Datum	   *values = palloc(sizeof(Datum) * (layout->ncols + 1));
	bool	   *nulls = palloc(sizeof(bool) * (layout->ncols + 1));
	ChangedRow *row;
	FeatureStatus st;
	int			bad_col;
	int			j;

	heap_deform_tuple(tuple, desc, values, nulls);
	row = &u->rows[DatumGetInt32(values[0])];
	st = features_from_datums(layout, values + 1, nulls + 1, r->x, r->missing, &bad_col);
	if (st == FEATURE_OK && sparserow_negative(layout, r->x, r->missing, &bad_col))
		st = FEATURE_NEGATIVE;
	if (st != FEATURE_OK)
		features_report(model, layout, st, bad_col, "changed since the last training");
	if (layout->n_text > 0)
		sparserow_text(r, values + 1, nulls + 1);
	else
		r->bag.n = 0;
	row->ndense = layout->d;
	row->nnz = layout->d + r->bag.n;
	row->idx = palloc(sizeof(int) * Max(row->nnz, 1));
	row->val = palloc(sizeof(double) * Max(row->nnz, 1));
	for (j = 0; j < layout->d; j++)
	{
		row->idx[j] = j;
		row->val[j] = r->missing[j] ? 0.0 : r->x[j];
	}
	for (j = 0; j < r->bag.n; j++)
	{
		row->idx[layout->d + j] = r->bag.bucket[j];
		row->val[layout->d + j] = r->bag.count[j];
	}
	row->found = true;
	pfree(values);
	pfree(nulls);
}

/* Phase 3, fetch the rows of the changes, as they are now (they may repeat) */
static TrainFallback
fetch_rows(Update *u)
{
	const HitlModel *model = u->run->model;
	Oid			matchtypes[2] = {OIDOID, TEXTARRAYOID};
	Datum		matchargs[2];
	Oid			keytypes[1] = {JSONBARRAYOID};
	Datum		keyarg[1];
	Datum	   *names = palloc(sizeof(Datum) * model->n_key_columns);
	Datum	   *keys = palloc(sizeof(Datum) * u->nchanges);
	StringInfoData sql;
	SPITupleTable *tt;
	SparseRow	r;
	bool		isnull;
	char	   *match;
	uint64		nrows;
	uint64		row;
	int			i;

	for (i = 0; i < model->n_key_columns; i++)
		names[i] = CStringGetTextDatum(model->key_columns[i]);
	matchargs[0] = ObjectIdGetDatum(model->source);
	matchargs[1] = PointerGetDatum(construct_array(names, model->n_key_columns, TEXTOID,
												   -1, false, TYPALIGN_INT));
	hitl_spi_check_rows(SPI_execute_with_args("SELECT hitl._key_match($1::regclass, $2::name[], 't', 'k.key')",
											  2, matchtypes, matchargs, NULL, true, 1),
						SPI_OK_SELECT, 1, "building the key match");
	match = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											  1, &isnull));
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT k.ord::int4 - 1, %s FROM unnest($1) WITH ORDINALITY AS k(key, ord)"
					 " JOIN %s t ON %s",
					 features_select_list(model, "t"), model->source_text, match);
	for (i = 0; i < u->nchanges; i++)
		keys[i] = u->log[i].row_key;
	keyarg[0] = PointerGetDatum(construct_array(keys, u->nchanges, JSONBOID, -1, false,
												TYPALIGN_INT));
	hitl_spi_check(SPI_execute_with_args(sql.data, 1, keytypes, keyarg, NULL, true, 0),
				   SPI_OK_SELECT, "reading the changed rows");

	sparserow_init(&r, model, u->run->layout, u->prev);
	u->rows = palloc0(sizeof(ChangedRow) * u->nchanges);
	tt = SPI_tuptable;
	nrows = SPI_processed;
	for (row = 0; row < nrows; row++)
	{
		fetch_row(u, tt->vals[row], tt->tupdesc, &r);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_freetuptable(tt);
	for (i = 0; i < u->nchanges; i++)
		if (!u->rows[i].found)
			return FALLBACK_ROW_DELETED;	/* its statistics are unknown */
	return FALLBACK_NONE;
}

/* Phase 4, extend the vocabulary by the buckets of the changed rows */
static TrainFallback
extend_vocabulary(Update *u)
{
	const HitlVersion *prev = u->prev;
	int			n_extra = 0;
	int		   *extra;
	int			i;

	for (i = 0; i < u->nchanges; i++)
		n_extra += u->rows[i].nnz - u->rows[i].ndense;
	extra = palloc(sizeof(int) * Max(n_extra, 1));
	n_extra = 0;
	for (i = 0; i < u->nchanges; i++)
	{
		ChangedRow *row = &u->rows[i];

		memcpy(extra + n_extra, row->idx + row->ndense, sizeof(int) * (row->nnz - row->ndense));
		n_extra += row->nnz - row->ndense;
	}
	u->m_text = vocab_extend(prev->vocabulary, prev->n_vocabulary, n_extra, extra, &u->vocab);
	if ((int64) prev->n_classes * (u->run->layout->d + u->m_text) > HITL_MAX_SPARSE_COEFFICIENTS)
		return FALLBACK_TOO_LARGE;	/* the full training raises the error */
	return FALLBACK_NONE;
}

/*
 * Phase 5, apply: the version's sums moved to the new positions, each
 * changed row out of its old class and into its new one; then the checks
 * that the result is what a full count gives.
 */
static TrainFallback
apply_changes(Update *u)
{
	const HitlVersion *prev = u->prev;
	const FeatureLayout *layout = u->run->layout;
	int		   *map = palloc(sizeof(int) * Max(prev->d + prev->n_vocabulary, 1));
	int			i;

	vocab_map_positions(prev->d, prev->vocabulary, prev->n_vocabulary, u->vocab, u->m_text, map);
	nbayes_counts_init(&u->c, prev->n_classes, layout->d + u->m_text);
	nbayes_counts_load(&u->c, prev->class_counts, prev->n_counts, prev->count_index,
					   prev->counts, map);
	for (i = 0; i < u->nchanges; i++)
	{
		ChangedRow *row = &u->rows[i];
		NBayesChange ch;
		int			j;

		for (j = row->ndense; j < row->nnz; j++)
			row->idx[j] = layout->d + vocab_position(u->vocab, u->m_text, row->idx[j]);
		row->ndense = row->nnz; /* mapped: never again */
		ch.old_class = u->old_class[i];
		ch.new_class = u->new_class[i];
		ch.nnz = row->nnz;
		ch.idx = row->idx;
		ch.val = row->val;
		nbayes_counts_change(&u->c, &ch);
	}
	train_nb_check_sums(u->run->model, layout, &u->c, prev->classes);
	switch (nbayes_counts_check(&u->c, u->table_rows))
	{
		case NBAYES_CHECK_OK:
			return FALLBACK_NONE;
		case NBAYES_CHECK_CLASS_EMPTIED:
			return FALLBACK_CLASS_EMPTIED;	/* the classes change */
		case NBAYES_CHECK_ROWS_DIFFER:
			return FALLBACK_UNLOGGED_CHANGE;
		case NBAYES_CHECK_NEGATIVE_SUM:
			return FALLBACK_NEGATIVE_SUM;	/* a row's features changed since */
	}
	elog(ERROR, "hitl: unknown result of the naive Bayes check");
	return FALLBACK_NONE;		/* keep the compiler quiet */
}

/* Record the updated statistics as a new version */
static int
record_update(Update *u)
{
	const HitlVersion *prev = u->prev;
	HitlVersion v;
	StringInfoData metrics;
	int			i;

	memset(&v, 0, sizeof(v));
	v.n_classes = prev->n_classes;
	v.classes = prev->classes;
	v.n_feature_columns = prev->n_feature_columns;
	v.feature_dims = prev->feature_dims;
	v.d = prev->d;
	v.feature_names = prev->feature_names;
	v.means = prev->means;
	v.scales = prev->scales;
	v.n_idf = prev->n_idf;
	v.idf_buckets = prev->idf_buckets;
	v.idf = prev->idf;
	v.n_documents = prev->n_documents;
	v.vocabulary = u->vocab;
	v.label_snapshot = u->snapshot;
	train_nb_store_counts(&v, &u->c);
	v.n_vocabulary = vocab_compact(v.d, v.n_classes, u->m_text, v.vocabulary, v.n_counts,
								   v.count_index);
	for (i = 0; i < u->c.k; i++)
		v.n_labeled += (int) (u->c.class_count[i] + 0.5);

	train_sparse_metrics(&metrics, &v, -1, true);
	train_json_number(&metrics, "alpha", u->run->model->alpha);
	train_json_number(&metrics, "changes", u->nchanges);
	train_json_number(&metrics, "base_version", prev->version);
	/* the evaluation rows' accuracy reads the label log: as cheap as ever */
	catalog_evaluation_json(&metrics, u->run->model->name);
	appendStringInfoChar(&metrics, '}');
	/* leave-one-out needs every labeled row: the base's figures stand */
	return train_record(u->run, &v,
						catalog_with_base_figures(u->run->model, prev->version, metrics.data));
}

/*
 * Apply the label changes since the current version to its statistics and
 * record the result.  Returns the new version, the current one's number
 * when there was no change, or 0 with run->fallback saying why an
 * incremental update cannot give what a full training would.
 */
int
train_incremental(TrainRun *run)
{
	Update		u;
	TrainFallback fallback;

	memset(&u, 0, sizeof(u));
	u.run = run;
	u.prev = run->prev;
	/* the changes are of labels; the weights of the other rows may change too */
	if (run->weighted)
	{
		run->fallback = FALLBACK_WEIGHTED;
		return 0;
	}
	fallback = check_table(&u);
	if (fallback == FALLBACK_NONE)
		fallback = read_changes(&u);
	if (fallback == FALLBACK_NONE && u.nchanges == 0)
		return u.prev->version; /* nothing new */
	if (fallback == FALLBACK_NONE)
		fallback = fetch_rows(&u);
	if (fallback == FALLBACK_NONE)
		fallback = extend_vocabulary(&u);
	if (fallback == FALLBACK_NONE)
		fallback = apply_changes(&u);
	if (fallback != FALLBACK_NONE)
	{
		run->fallback = fallback;
		return 0;
	}
	return record_update(&u);
}
