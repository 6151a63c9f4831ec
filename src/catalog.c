/*
 * catalog.c
 *		Reading and writing hitl.models and hitl.model_versions through SPI.
 *
 * Reads run as the current user, so hitl's row-level security decides
 * which models a role may see, in a scope with a safe search_path (a
 * caller's search_path must not pick the operators of these queries).  No
 * role but the owner of hitl's tables may write them: a write here first
 * checks what the calling role may do with the model, then runs as that
 * owner in a restricted scope with a safe search_path (see security.c).
 * The SQL-callable writers (_model_insert, _model_delete, alter_model) are
 * here for that reason: only C code knows which role called it.
 *
 * Nothing read from hitl.model_versions is trusted: a restored or
 * hand-edited row is checked against its model (array lengths, dimensions,
 * indexes) before any code indexes with it, and refused with XX001.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rls.h"

#include "catalog.h"
#include "compat.h"
#include "logreg.h"
#include "security.h"
#include "shared.h"
#include "spi_check.h"

/* Column value of the current SPI result, NULL-safe */
static Datum
spi_value(HeapTuple tuple, int col, bool *isnull)
{
	return SPI_getbinval(tuple, SPI_tuptable->tupdesc, col, isnull);
}

/* text[] datum into a palloc'd array of C strings */
static char **
text_array_to_cstrings(Datum arr, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	char	  **out;
	int			i;

	deconstruct_array(DatumGetArrayTypeP(arr), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, n);
	out = palloc(sizeof(char *) * Max(*n, 1));
	for (i = 0; i < *n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("hitl's tables hold a null in a text array")));
		out[i] = TextDatumGetCString(elems[i]);
	}
	return out;
}

/* float8[] datum into a palloc'd array of n doubles (n must match) */
static double *
float8_array_to_doubles(Datum arr, int expected, const char *what)
{
	ArrayType  *a = DatumGetArrayTypeP(arr);
	Datum	   *elems;
	bool	   *nulls;
	double	   *out;
	int			n;
	int			i;

	deconstruct_array(a, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	if (n != expected)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("hitl model version has %d %s, expected %d", n, what, expected)));
	out = palloc(sizeof(double) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("hitl model version has a null in its %s", what)));
		out[i] = DatumGetFloat8(elems[i]);
	}
	return out;
}

/*
 * Contents of a one-dimensional array without nulls of a fixed-length type
 * (float8, int4, int8), copied into palloc'd memory; *n gets the length.
 * Large model arrays are read this way, without a Datum per element.
 */
static void *
fixed_array_copy(Datum arr, Oid elemtype, int elemsize, int *n, const char *what)
{
	ArrayType  *a = DatumGetArrayTypeP(arr);
	void	   *out;

	if (ARR_ELEMTYPE(a) != elemtype || ARR_HASNULL(a) || ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("hitl model version has a malformed %s array", what)));
	*n = ARR_NDIM(a) == 0 ? 0 : ARR_DIMS(a)[0];
	out = palloc_extended((Size) elemsize * Max(*n, 1), MCXT_ALLOC_HUGE);
	/* without nulls the data follows the header and the dimensions */
	if (*n > 0)
		memcpy(out, (char *) a + ARR_OVERHEAD_NONULLS(ARR_NDIM(a)), (Size) elemsize * *n);
	return out;
}

/* Array of n values of a fixed-length type from memory, without Datums */
static Datum
fixed_array_from(const void *x, int n, Oid elemtype, int elemsize)
{
	Size		nbytes = (Size) elemsize * n;
	Size		size = ARR_OVERHEAD_NONULLS(1) + nbytes;
	ArrayType  *a = palloc_extended(size, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

	SET_VARSIZE(a, size);
	a->ndim = n > 0 ? 1 : 0;
	a->dataoffset = 0;
	a->elemtype = elemtype;
	if (n > 0)
	{
		ARR_DIMS(a)[0] = n;
		ARR_LBOUND(a)[0] = 1;
		memcpy((char *) a + ARR_OVERHEAD_NONULLS(1), x, nbytes);
	}
	else
		SET_VARSIZE(a, ARR_OVERHEAD_NONULLS(0));
	return PointerGetDatum(a);
}

static Datum
doubles_to_array(const double *x, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = Float8GetDatum(x[i]);
	return PointerGetDatum(construct_array(d, n, FLOAT8OID, sizeof(float8),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

static Datum
ints_to_array(const int *x, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = Int32GetDatum(x[i]);
	return PointerGetDatum(construct_array(d, n, INT4OID, sizeof(int32), true,
										   TYPALIGN_INT));
}

static Datum
cstrings_to_array(char **x, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(x[i]);
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * The names of the states and algorithms, as hitl.models stores them: the
 * one mapping between the enums of catalog.h and their text.
 */
static const char *const status_names[] = {
	[MODEL_WAITING_FOR_LABELS] = "waiting_for_labels",
	[MODEL_TRAINED] = "trained",
	[MODEL_SCORED] = "scored",
	[MODEL_FAILED] = "failed",
	[MODEL_BROKEN] = "broken",
};

static const char *const algorithm_names[] = {
	[MODEL_LOGISTIC] = "logistic",
	[MODEL_NAIVE_BAYES] = "naive_bayes",
};

static const char *const strategy_names[] = {
	[UNCERTAINTY_MARGIN] = "margin",
	[UNCERTAINTY_LEAST_CONFIDENCE] = "least_confidence",
	[UNCERTAINTY_ENTROPY] = "entropy",
};

/* Index of name in names[n]; an error names what when it is not there */
static int
name_index(const char *const *names, int n, const char *name, const char *what)
{
	int			i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	elog(ERROR, "hitl: unknown %s \"%s\"", what, name);
	return 0;					/* keep compiler quiet */
}

const char *
catalog_status_name(ModelStatus status)
{
	Assert(status >= 0 && status < lengthof(status_names));
	return status_names[status];
}

ModelStatus
catalog_status_parse(const char *name)
{
	return (ModelStatus) name_index(status_names, lengthof(status_names),
									name, "model status");
}

const char *
catalog_algorithm_name(ModelAlgorithm algorithm)
{
	Assert(algorithm >= 0 && algorithm < lengthof(algorithm_names));
	return algorithm_names[algorithm];
}

ModelAlgorithm
catalog_algorithm_parse(const char *name)
{
	return (ModelAlgorithm) name_index(algorithm_names, lengthof(algorithm_names),
									   name, "algorithm");
}

static UncertaintyStrategy
strategy_from_name(const char *s)
{
	return (UncertaintyStrategy) name_index(strategy_names, lengthof(strategy_names),
											s, "strategy");
}

/*
 * Enter a scope for reading hitl's tables as the current role: its own
 * rights (row-level security applies), a safe search_path.
 */
static void
catalog_read_enter(HitlRoleScope *scope)
{
	hitl_role_enter(scope, GetUserId());
}

/* Does a model of that name exist, whether or not the current role sees it? */
static bool
catalog_model_exists(const char *name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	HitlRoleScope scope;
	int			ret;

	values[0] = CStringGetTextDatum(name);
	hitl_catalog_enter(&scope);
	ret = SPI_execute_with_args("SELECT 1 FROM hitl.models WHERE name = $1",
								1, argtypes, values, NULL, true, 1);
	hitl_role_exit(&scope);
	hitl_spi_check(ret, SPI_OK_SELECT, "looking up the model");
	return SPI_processed > 0;
}

/*
 * Load a model's configuration by name.
 *
 * The owner is a role name since 0.2.0 (a regrole before): it is matched as
 * either, so that this library also serves a database not yet updated.  A
 * name is matched exactly: the quoted form of a role's name is only what a
 * regrole reads as (a role named "Admin", quotes included, whose model
 * outlived it, must not make the role Admin its owner).
 */
HitlModel *
catalog_load_model(const char *name, MemoryContext mcxt)
{
	const char *sql =
		"SELECT name, source::oid, label_column::text, feature_columns::text[],"
		" key_columns::text[], prediction_column::text, confidence_column::text,"
		" uncertainty_column::text, algorithm, strategy, "
		CATALOG_OWNER_OID_SQL ","
		" coalesce(current_version, 0),"
		" (options->>'C')::float8, (options->>'min_labels')::int,"
		" (options->>'max_iter')::int, (options->>'tol')::float8,"
		" (options->>'cv_folds')::int, (options->>'score_tolerance')::float8,"
		" (options->>'queue_size')::int,"
		" coalesce((options->>'batch_size')::int, current_setting('hitl.batch_size')::int),"
		" options->>'text_config', coalesce((options->>'bigrams')::bool, false),"
		" coalesce((options->>'buckets')::int, 0), coalesce((options->>'max_text_bytes')::int, 0),"
		" coalesce((options->>'alpha')::float8, 1.0)"
		" FROM hitl.models m WHERE name = $1";
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	HeapTuple	tup;
	HitlModel  *m;
	MemoryContext old;
	HitlRoleScope scope;
	bool		isnull;
	char	   *relname;
	char	   *nspname;
	int			ret;

	values[0] = CStringGetTextDatum(name);
	catalog_read_enter(&scope);
	ret = SPI_execute_with_args(sql, 1, argtypes, values, NULL, true, 1);
	hitl_role_exit(&scope);
	hitl_spi_check(ret, SPI_OK_SELECT, "reading hitl.models");
	if (SPI_processed == 0)
	{
		/* hidden by row-level security, or not there at all? */
		if (catalog_model_exists(name))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for model \"%s\"", name),
					 errhint("A model can be used by its owner and by roles that can read its table.")));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errhint("See hitl.models for the models you can use.")));
	}

	tup = SPI_tuptable->vals[0];
	old = MemoryContextSwitchTo(mcxt);
	m = palloc0(sizeof(HitlModel));
	m->name = TextDatumGetCString(spi_value(tup, 1, &isnull));
	m->source = DatumGetObjectId(spi_value(tup, 2, &isnull));
	m->label_column = TextDatumGetCString(spi_value(tup, 3, &isnull));
	m->feature_columns = text_array_to_cstrings(spi_value(tup, 4, &isnull),
												&m->n_feature_columns);
	m->key_columns = text_array_to_cstrings(spi_value(tup, 5, &isnull),
											&m->n_key_columns);
	m->prediction_column = TextDatumGetCString(spi_value(tup, 6, &isnull));
	m->confidence_column = TextDatumGetCString(spi_value(tup, 7, &isnull));
	m->uncertainty_column = TextDatumGetCString(spi_value(tup, 8, &isnull));
	m->algorithm = catalog_algorithm_parse(TextDatumGetCString(spi_value(tup, 9, &isnull)));
	m->strategy = strategy_from_name(TextDatumGetCString(spi_value(tup, 10, &isnull)));
	m->owner = DatumGetObjectId(spi_value(tup, 11, &isnull));
	m->current_version = DatumGetInt32(spi_value(tup, 12, &isnull));
	m->C = DatumGetFloat8(spi_value(tup, 13, &isnull));
	m->min_labels = DatumGetInt32(spi_value(tup, 14, &isnull));
	m->max_iter = DatumGetInt32(spi_value(tup, 15, &isnull));
	m->tol = DatumGetFloat8(spi_value(tup, 16, &isnull));
	m->cv_folds = DatumGetInt32(spi_value(tup, 17, &isnull));
	m->score_tolerance = DatumGetFloat8(spi_value(tup, 18, &isnull));
	m->queue_size = DatumGetInt32(spi_value(tup, 19, &isnull));
	m->batch_size = DatumGetInt32(spi_value(tup, 20, &isnull));
	{
		Datum		cfg = spi_value(tup, 21, &isnull);

		m->text_config = isnull ? NULL : TextDatumGetCString(cfg);
	}
	m->bigrams = DatumGetBool(spi_value(tup, 22, &isnull));
	m->buckets = DatumGetInt32(spi_value(tup, 23, &isnull));
	m->max_text_bytes = DatumGetInt32(spi_value(tup, 24, &isnull));
	m->alpha = DatumGetFloat8(spi_value(tup, 25, &isnull));

	relname = get_rel_name(m->source);
	nspname = relname ? get_namespace_name(get_rel_namespace(m->source)) : NULL;
	if (relname == NULL || nspname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the table of model \"%s\" no longer exists", name),
				 errhint("Drop the model with hitl.drop_model().")));
	m->source_text = (char *) quote_qualified_identifier(nspname, relname);
	MemoryContextSwitchTo(old);
	return m;
}

/* Raise the error for a version whose stored arrays are inconsistent */
static void
corrupted(const HitlModel *model, int version, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("version %d of model \"%s\" has invalid %s", version, model->name, what),
			 errhint("Train the model again with hitl.train().")));
}

/* Are the n values strictly increasing, within [0, limit)? */
static bool
increasing_below(const int32 *a, int n, int64 limit)
{
	int			i;

	for (i = 0; i < n; i++)
		if (a[i] < 0 || a[i] >= limit || (i > 0 && a[i] <= a[i - 1]))
			return false;
	return true;
}

/*
 * Check what a sparse version's arrays must satisfy before anything indexes
 * with them (rows of hitl.model_versions can be written by SQL).
 */
static void
check_sparse_version(const HitlModel *model, const HitlVersion *v)
{
	int64		i;

	if (!increasing_below(v->vocabulary, v->n_vocabulary,
						  model->text_config ? model->buckets : 0))
		corrupted(model, v->version, "vocabulary");
	if (model->text_config != NULL &&
		(v->idf_buckets == NULL || !increasing_below(v->idf_buckets, v->n_idf, model->buckets)))
		corrupted(model, v->version, "idf buckets");
	for (i = 0; i < v->n_idf; i++)
		if (!(v->idf[i] > 0.0) || !isfinite(v->idf[i]))
			corrupted(model, v->version, "idf");
	if (!model_is_nbayes(model))
		return;
	for (i = 0; i < v->n_classes; i++)
		if (!(v->class_counts[i] > 0.0) || !isfinite(v->class_counts[i]))
			corrupted(model, v->version, "class counts");
	for (i = 0; i < v->n_counts; i++)
		if (v->count_index[i] < 0 ||
			v->count_index[i] >= (int64) (v->d + v->n_vocabulary) * v->n_classes ||
			(i > 0 && v->count_index[i] <= v->count_index[i - 1]) ||
			!(v->counts[i] >= 0.0) || !isfinite(v->counts[i]))
			corrupted(model, v->version, "naive Bayes sums");
}

/*
 * The number of expanded features the feature columns of a model give with
 * those dims (scalars 1, arrays their length, text none), after checking
 * each dim against its column's type; -1 when a column no longer resolves
 * (features_resolve() reports that before anything is used).
 */
static int64
expected_dense_features(const HitlModel *model, int version, const int *dims, int n)
{
	int64		d = 0;
	int			i;

	for (i = 0; i < n; i++)
	{
		AttrNumber	att = get_attnum(model->source, model->feature_columns[i]);
		Oid			type;

		if (att == InvalidAttrNumber)
			return -1;
		type = get_atttype(model->source, att);
		switch (type)
		{
			case FLOAT4ARRAYOID:
			case FLOAT8ARRAYOID:
				if (dims[i] < 1)
					corrupted(model, version, "feature dimensions");
				d += dims[i];
				break;
			case TEXTOID:
			case VARCHAROID:
				if (dims[i] != 0)
					corrupted(model, version, "feature dimensions");
				break;
			default:
				if (dims[i] != 0)
					corrupted(model, version, "feature dimensions");
				d += 1;
				break;
		}
	}
	return d;
}

/* The number of coefficients of a logistic version, checked against overflow */
static int
checked_ncoef(const HitlModel *model, int version, int64 p, int k)
{
	if (p < 0 || k < 2 || (p + 1) * (int64) k > (int64) (MaxAllocHugeSize / sizeof(double)) ||
		(p + 1) * (int64) k > INT_MAX)
		corrupted(model, version, "dimensions");
	return logreg_ncoef((int) p, k);
}

/*
 * Load one version of a model, and check everything that code will index
 * with: the classes (at least two), the feature columns and their
 * dimensions against the model's columns, the names, means and scales (one
 * per expanded feature), the coefficients (logistic) or the statistics
 * (naive Bayes), the text buckets and their idf.  XX001 otherwise.
 */
HitlVersion *
catalog_load_version(const HitlModel *model, int version, MemoryContext mcxt)
{
	const char *sql =
		"SELECT version, n_labeled, classes, feature_names, feature_dims,"
		" feature_means, feature_scales, coefficients,"
		" idf_buckets, idf, n_documents, vocabulary, class_counts, count_index,"
		" counts, label_snapshot::text, metrics->>'data_hash'"
		" FROM hitl.model_versions WHERE model = $1 AND version = $2";
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		values[2];
	HeapTuple	tup;
	HitlVersion *v;
	MemoryContext old;
	HitlRoleScope scope;
	bool		isnull;
	int32	   *dims;
	int			ndims;
	int64		expected_d;
	int			i;
	int			ret;

	values[0] = CStringGetTextDatum(model->name);
	values[1] = Int32GetDatum(version);
	catalog_read_enter(&scope);
	ret = SPI_execute_with_args(sql, 2, argtypes, values, NULL, true, 1);
	hitl_role_exit(&scope);
	hitl_spi_check(ret, SPI_OK_SELECT, "reading hitl.model_versions");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("version %d of model \"%s\" does not exist", version, model->name)));

	tup = SPI_tuptable->vals[0];
	old = MemoryContextSwitchTo(mcxt);
	v = palloc0(sizeof(HitlVersion));
	v->version = DatumGetInt32(spi_value(tup, 1, &isnull));
	v->n_labeled = DatumGetInt32(spi_value(tup, 2, &isnull));
	v->classes = text_array_to_cstrings(spi_value(tup, 3, &isnull), &v->n_classes);
	if (v->n_classes < 2)
		corrupted(model, version, "classes");
	v->feature_names = text_array_to_cstrings(spi_value(tup, 4, &isnull), &v->d);

	dims = fixed_array_copy(spi_value(tup, 5, &isnull), INT4OID, sizeof(int32), &ndims,
							"feature_dims");
	if (ndims != model->n_feature_columns)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("version %d of model \"%s\" has %d feature columns, the model %d",
						version, model->name, ndims, model->n_feature_columns)));
	v->n_feature_columns = ndims;
	v->feature_dims = palloc(sizeof(int) * Max(ndims, 1));
	for (i = 0; i < ndims; i++)
		v->feature_dims[i] = dims[i];
	expected_d = expected_dense_features(model, version, v->feature_dims, ndims);
	if (expected_d >= 0 && expected_d != v->d)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("version %d of model \"%s\" has %d feature names for " INT64_FORMAT " features",
						version, model->name, v->d, expected_d),
				 errhint("Train the model again with hitl.train().")));

	v->means = float8_array_to_doubles(spi_value(tup, 6, &isnull), v->d, "feature means");
	v->scales = float8_array_to_doubles(spi_value(tup, 7, &isnull), v->d, "feature scales");

	if (model_is_sparse(model))
	{
		Datum		d;
		int			n;
		int			expected;

		d = spi_value(tup, 9, &isnull);
		if (!isnull)
		{
			v->idf_buckets = fixed_array_copy(d, INT4OID, sizeof(int32), &v->n_idf, "idf_buckets");
			d = spi_value(tup, 10, &isnull);
			if (isnull)
				corrupted(model, version, "idf");
			v->idf = fixed_array_copy(d, FLOAT8OID, sizeof(float8), &n, "idf");
			if (n != v->n_idf)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("hitl model version has %d idf values for %d buckets", n, v->n_idf)));
			d = spi_value(tup, 11, &isnull);
			if (isnull)
				corrupted(model, version, "document count");
			v->n_documents = DatumGetInt64(d);
		}
		d = spi_value(tup, 12, &isnull);
		if (isnull)
			corrupted(model, version, "vocabulary");
		v->vocabulary = fixed_array_copy(d, INT4OID, sizeof(int32), &v->n_vocabulary,
										 "vocabulary");
		if (model_is_nbayes(model))
		{
			int			col;

			for (col = 13; col <= 15; col++)
			{
				(void) spi_value(tup, col, &isnull);
				if (isnull)
					corrupted(model, version, "naive Bayes statistics");
			}
			v->class_counts = fixed_array_copy(spi_value(tup, 13, &isnull), FLOAT8OID,
											   sizeof(float8), &n, "class_counts");
			if (n != v->n_classes)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("hitl model version has %d class counts for %d classes",
								n, v->n_classes)));
			v->count_index = fixed_array_copy(spi_value(tup, 14, &isnull), INT8OID,
											  sizeof(int64), &n, "count_index");
			v->n_counts = n;
			v->counts = fixed_array_copy(spi_value(tup, 15, &isnull), FLOAT8OID,
										 sizeof(float8), &n, "counts");
			if (n != v->n_counts)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("hitl model version has %d counts for %lld indexes",
								n, (long long) v->n_counts)));
			d = spi_value(tup, 16, &isnull);
			v->label_snapshot = isnull ? NULL : TextDatumGetCString(d);
			v->coef = NULL;
		}
		else
		{
			expected = checked_ncoef(model, version, (int64) v->d + v->n_vocabulary,
									 v->n_classes);
			d = spi_value(tup, 8, &isnull);
			if (isnull)
				corrupted(model, version, "coefficients");
			v->coef = fixed_array_copy(d, FLOAT8OID, sizeof(float8), &n, "coefficients");
			if (n != expected)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("hitl model version has %d coefficients, expected %d",
								n, expected)));
		}
	}
	else
		v->coef = float8_array_to_doubles(spi_value(tup, 8, &isnull),
										  checked_ncoef(model, version, v->d, v->n_classes),
										  "coefficients");
	if (model_is_sparse(model))
		check_sparse_version(model, v);
	{
		Datum		h = spi_value(tup, 17, &isnull);

		v->data_hash = isnull ? NULL : TextDatumGetCString(h);
	}
	MemoryContextSwitchTo(old);
	return v;
}

/*
 * The classes of a version alone, without reading or checking its other
 * arrays; NULL (and *n 0) when the version is not there.
 */
char	  **
catalog_load_classes(const HitlModel *model, int version, int *n, MemoryContext mcxt)
{
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		values[2];
	MemoryContext old;
	char	  **classes;
	bool		isnull;
	Datum		d;
	int			ret;

	values[0] = CStringGetTextDatum(model->name);
	values[1] = Int32GetDatum(version);
	ret = SPI_execute_with_args("SELECT classes FROM hitl.model_versions"
								" WHERE model = $1 AND version = $2",
								2, argtypes, values, NULL, true, 1);
	hitl_spi_check(ret, SPI_OK_SELECT, "reading hitl.model_versions");
	*n = 0;
	if (SPI_processed == 0)
		return NULL;
	d = spi_value(SPI_tuptable->vals[0], 1, &isnull);
	if (isnull)
		return NULL;
	old = MemoryContextSwitchTo(mcxt);
	classes = text_array_to_cstrings(d, n);
	MemoryContextSwitchTo(old);
	return classes;
}

/*
 * May the current role change the model (train it, score it, record what
 * it did)?  Its owner's members may, and so may the roles that can update
 * its table.  Raises 42501 otherwise.  No role trains or scores a model
 * while row-level security of its table applies to it: a training would
 * learn from the rows that role sees only, and a scoring would mark the
 * model scored with the other rows' scores left as they were.
 */
void
catalog_check_may_change(const HitlModel *model, const char *action)
{
	Oid			role = GetUserId();

	if (strcmp(action, "alter") != 0 &&
		check_enable_rls(model->source, InvalidOid, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("row-level security of table %s hides rows from role \"%s\"",
						get_rel_name(model->source), GetUserNameFromId(role, false)),
				 errdetail("%s model \"%s\" as this role would read only the rows it may see, and record the work as done for every row.",
						   strcmp(action, "train") == 0 ? "Training" : "Scoring", model->name),
				 errhint("Train and score the model as a role that sees every row of its table (its owner), or leave it to the background worker.")));
	if (has_privs_of_role(role, model->owner))
		return;
	if (pg_class_aclcheck(model->source, role, ACL_UPDATE) == ACLCHECK_OK)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s model \"%s\"", action, model->name),
			 errhint("%s needs UPDATE on the model's table, or membership in the model's owner role.",
					 strcmp(action, "train") == 0 ? "Training" :
					 strcmp(action, "score") == 0 ? "Scoring" : "Changing a model")));
}

/*
 * Lock a model's row for training, after checking that the role may:
 * concurrent trainings of one model get consecutive version numbers.
 */
void
catalog_lock_model(const HitlModel *model)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	HitlRoleScope scope;
	int			ret;

	catalog_check_may_change(model, "train");
	values[0] = CStringGetTextDatum(model->name);
	hitl_catalog_enter(&scope);
	ret = SPI_execute_with_args("SELECT 1 FROM hitl.models WHERE name = $1 FOR UPDATE",
								1, argtypes, values, NULL, false, 0);
	hitl_spi_check(ret, SPI_OK_SELECT, "locking the model");
	hitl_role_exit(&scope);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" was dropped", model->name)));
}

/*
 * Record a new version and make it current (the caller holds the model's
 * row lock: see catalog_lock_model).
 */
int
catalog_store_version(const HitlModel *model, HitlVersion *v,
					  const char *metrics_json, double train_ms)
{
	Oid			argtypes[19] = {TEXTOID, INT4OID, TEXTOID, TEXTARRAYOID,
		TEXTARRAYOID, INT4ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID,
		FLOAT8ARRAYOID, TEXTOID, FLOAT8OID, INT4ARRAYOID, FLOAT8ARRAYOID,
		INT8OID, INT4ARRAYOID, FLOAT8ARRAYOID, INT8ARRAYOID, FLOAT8ARRAYOID,
	TEXTOID};
	Datum		values[19];
	char		nulls[19];
	bool		isnull;
	bool		nb = model_is_nbayes(model);
	bool		text = v->idf_buckets != NULL;
	HitlRoleScope scope;
	int			ret;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = CStringGetTextDatum(model->name);
	values[1] = Int32GetDatum(v->n_labeled);
	values[2] = CStringGetTextDatum(catalog_algorithm_name(model->algorithm));
	values[3] = cstrings_to_array(v->classes, v->n_classes);
	values[4] = cstrings_to_array(v->feature_names, v->d);
	values[5] = ints_to_array(v->feature_dims, v->n_feature_columns);
	values[6] = doubles_to_array(v->means, v->d);
	values[7] = doubles_to_array(v->scales, v->d);
	if (nb)
		values[8] = fixed_array_from(NULL, 0, FLOAT8OID, sizeof(float8));
	else
		values[8] = fixed_array_from(v->coef,
									 logreg_ncoef(v->d + v->n_vocabulary, v->n_classes),
									 FLOAT8OID, sizeof(float8));
	values[9] = CStringGetTextDatum(metrics_json);
	values[10] = Float8GetDatum(train_ms);
	if (text)
	{
		values[11] = fixed_array_from(v->idf_buckets, v->n_idf, INT4OID, sizeof(int32));
		values[12] = fixed_array_from(v->idf, v->n_idf, FLOAT8OID, sizeof(float8));
		values[13] = Int64GetDatum(v->n_documents);
	}
	else
		nulls[11] = nulls[12] = nulls[13] = 'n';
	if (model_is_sparse(model))
		values[14] = fixed_array_from(v->vocabulary, v->n_vocabulary, INT4OID, sizeof(int32));
	else
		nulls[14] = 'n';
	if (nb)
	{
		values[15] = fixed_array_from(v->class_counts, v->n_classes, FLOAT8OID, sizeof(float8));
		values[16] = fixed_array_from(v->count_index, (int) v->n_counts, INT8OID, sizeof(int64));
		values[17] = fixed_array_from(v->counts, (int) v->n_counts, FLOAT8OID, sizeof(float8));
	}
	else
		nulls[15] = nulls[16] = nulls[17] = 'n';
	if (v->label_snapshot != NULL)
		values[18] = CStringGetTextDatum(v->label_snapshot);
	else
		nulls[18] = 'n';

	hitl_catalog_enter(&scope);
	ret = SPI_execute_with_args(
								"INSERT INTO hitl.model_versions (model, version, n_labeled, algorithm,"
								" classes, feature_names, feature_dims, feature_means, feature_scales,"
								" coefficients, metrics, train_ms, idf_buckets, idf, n_documents,"
								" vocabulary, class_counts, count_index, counts, label_snapshot)"
								" SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9,"
								" $10::jsonb, $11, $12, $13, $14, $15, $16, $17, $18, $19::pg_snapshot"
								" FROM hitl.model_versions WHERE model = $1"
								" RETURNING version",
								19, argtypes, values, nulls, false, 0);
	hitl_spi_check(ret, SPI_OK_INSERT_RETURNING, "recording the model version");
	v->version = DatumGetInt32(spi_value(SPI_tuptable->vals[0], 1, &isnull));

	{
		Oid			uptypes[2] = {TEXTOID, INT4OID};
		Datum		upvalues[2];

		upvalues[0] = CStringGetTextDatum(model->name);
		upvalues[1] = Int32GetDatum(v->version);
		ret = SPI_execute_with_args(
									"UPDATE hitl.models SET current_version = $2, status = 'trained',"
									" trained_at = now(), last_error = NULL, failed_at = NULL,"
									" failures = 0, retry_at = NULL"
									" WHERE name = $1",
									2, uptypes, upvalues, NULL, false, 0);
		hitl_spi_check(ret, SPI_OK_UPDATE, "updating hitl.models");
	}
	hitl_role_exit(&scope);
	return v->version;
}

/*
 * Record that the scores in the table come from the given version.
 */
void
catalog_mark_scored(const HitlModel *model, int version)
{
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		values[2];
	HitlRoleScope scope;
	int			ret;

	values[0] = CStringGetTextDatum(model->name);
	values[1] = Int32GetDatum(version);
	hitl_catalog_enter(&scope);
	ret = SPI_execute_with_args(
								"UPDATE hitl.models SET scored_version = $2, scored_at = now(),"
								" status = CASE WHEN current_version = $2 THEN 'scored' ELSE status END,"
								" last_error = NULL, failed_at = NULL, failures = 0, retry_at = NULL"
								" WHERE name = $1",
								2, argtypes, values, NULL, false, 0);
	hitl_spi_check(ret, SPI_OK_UPDATE, "updating hitl.models");
	hitl_role_exit(&scope);
}

char *
catalog_key_json_expr(const HitlModel *model, const char *alias)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "jsonb_build_object(");
	for (i = 0; i < model->n_key_columns; i++)
		appendStringInfo(&buf, "%s%s, %s.%s", i > 0 ? ", " : "",
						 quote_literal_cstr(model->key_columns[i]), alias,
						 quote_identifier(model->key_columns[i]));
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

char *
catalog_key_list(const HitlModel *model, const char *alias)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < model->n_key_columns; i++)
		appendStringInfo(&buf, "%s%s.%s", i > 0 ? ", " : "", alias,
						 quote_identifier(model->key_columns[i]));
	return buf.data;
}

/*
 * The key of the row at tid, as jsonb text ("?" when the row is gone).
 */
char *
catalog_row_key_text(const HitlModel *model, ItemPointer tid)
{
	StringInfoData sql;
	Oid			argtypes[1] = {TIDOID};
	Datum		values[1];
	bool		isnull;
	Datum		d;
	int			ret;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s::text FROM %s t WHERE t.ctid = $1",
					 catalog_key_json_expr(model, "t"), model->source_text);
	values[0] = ItemPointerGetDatum(tid);
	ret = SPI_execute_with_args(sql.data, 1, argtypes, values, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed == 0)
		return pstrdup("?");
	d = spi_value(SPI_tuptable->vals[0], 1, &isnull);
	return isnull ? pstrdup("?") : TextDatumGetCString(d);
}

/* ------------------------------------------------------------------------
 * SQL-callable writers of hitl.models, each checking the calling role
 * ------------------------------------------------------------------------ */

/* The argument, or 22004 naming it when it is NULL */
static Datum
required_arg(FunctionCallInfo fcinfo, int arg, const char *what)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	return PG_GETARG_DATUM(arg);
}

/* Oid of a role by name, InvalidOid when there is none */
static Oid
role_oid_or_invalid(const char *role)
{
	return get_role_oid(role, true);
}

PG_FUNCTION_INFO_V1(hitl_model_insert);

/*
 * hitl._model_insert(name, source, label_column, feature_columns,
 *		prediction_column, confidence_column, uncertainty_column,
 *		added_columns, algorithm, strategy, options)
 *
 * Record a model owned by the calling role.  create_model has checked
 * everything before; this checks again what decides who may do it (SELECT
 * and UPDATE on the table, CREATE in its schema), and derives what must not
 * come from the caller: the key columns (the table's primary key), the
 * review view (the table's schema, the model's name) and the options
 * (resolved again).
 */
Datum
hitl_model_insert(PG_FUNCTION_ARGS)
{
	const char *names[11] = {"name", "source", "label_column", "feature_columns",
		"prediction_column", "confidence_column", "uncertainty_column",
		"added_columns", "algorithm", "strategy", "options"};
	Oid			argtypes[12] = {TEXTOID, OIDOID, NAMEOID, NAMEARRAYOID, NAMEOID, NAMEOID,
		NAMEOID, NAMEARRAYOID, TEXTOID, TEXTOID, JSONBOID, NAMEOID};
	Datum		values[12];
	Oid			role = GetUserId();
	Oid			source;
	Oid			nsp;
	HitlRoleScope scope;
	char		relkind;
	int			i;
	int			ret;

	for (i = 0; i < 11; i++)
		values[i] = required_arg(fcinfo, i, names[i]);
	source = DatumGetObjectId(values[1]);
	relkind = get_rel_relkind(source);
	if (relkind == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", source)));
	if (relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an ordinary table", get_rel_name(source))));
	if (pg_class_aclcheck(source, role, ACL_SELECT) != ACLCHECK_OK ||
		pg_class_aclcheck(source, role, ACL_UPDATE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(source)),
				 errhint("A model needs SELECT and UPDATE on its table.")));
	nsp = get_rel_namespace(source);
	if (pg_namespace_aclcheck(nsp, role, ACL_CREATE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for schema %s", get_namespace_name(nsp)),
				 errhint("The review view of a model is created in the schema of its table.")));
	values[11] = DirectFunctionCall1(namein,
									 CStringGetDatum(GetUserNameFromId(role, false)));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "hitl: SPI_connect failed");
	hitl_catalog_enter(&scope);
	ret = SPI_execute_with_args(
								"INSERT INTO hitl.models (name, source, label_column, feature_columns,"
								" key_columns, prediction_column, confidence_column, uncertainty_column,"
								" added_columns, review_view, view_schema, view_name, algorithm, strategy,"
								" options, owner)"
								" SELECT $1, c.oid, $3, $4, k.keys, $5, $6, $7, $8,"
								" format('%I.%I', n.nspname, $1 || '_review_queue'), n.nspname,"
								" ($1 || '_review_queue')::name, $9, $10,"
								" hitl._resolve_options($11, $9, EXISTS (SELECT 1 FROM pg_attribute a"
								"   WHERE a.attrelid = c.oid AND a.attname = ANY ($4) AND a.attnum > 0"
								"   AND NOT a.attisdropped AND a.atttypid IN ('text'::regtype, 'varchar'::regtype))),"
								" $12"
								" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,"
								" LATERAL (SELECT array_agg(a.attname ORDER BY u.o) AS keys"
								"   FROM pg_index x"
								"   CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS u(attnum, o)"
								"   JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.attnum"
								"   WHERE x.indrelid = c.oid AND x.indisprimary) k"
								" WHERE c.oid = $2",
								12, argtypes, values, NULL, false, 0);
	hitl_spi_check(ret, SPI_OK_INSERT, "recording the model");
	hitl_role_exit(&scope);
	SPI_finish();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(hitl_model_delete);

/*
 * hitl._model_delete(name)
 *
 * Delete a model's row (its versions, queue and label log go with it) and
 * remove its label triggers, for the members of its owner only.
 */
Datum
hitl_model_delete(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			argtypes[2] = {TEXTOID, OIDOID};
	Datum		values[2];
	HitlRoleScope scope;
	bool		isnull;
	Datum		owner;
	int			ret;

	values[0] = CStringGetTextDatum(name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "hitl: SPI_connect failed");
	hitl_catalog_enter(&scope);
	ret = SPI_execute_with_args("SELECT owner::text, source::oid FROM hitl.models"
								" WHERE name = $1 FOR UPDATE",
								1, argtypes, values, NULL, false, 1);
	hitl_role_exit(&scope);
	hitl_spi_check(ret, SPI_OK_SELECT, "reading hitl.models");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name)));
	owner = spi_value(SPI_tuptable->vals[0], 1, &isnull);
	values[1] = spi_value(SPI_tuptable->vals[0], 2, &isnull);
	if (!has_privs_of_role(GetUserId(),
						   role_oid_or_invalid(TextDatumGetCString(owner))))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of model \"%s\"", name)));

	hitl_catalog_enter(&scope);
	ret = SPI_execute_with_args("DELETE FROM hitl.models WHERE name = $1",
								1, argtypes, values, NULL, false, 0);
	hitl_spi_check(ret, SPI_OK_DELETE, "deleting the model");
	ret = SPI_execute_with_args("SELECT hitl._detach_label_triggers($1, $2::regclass)",
								2, argtypes, values, NULL, false, 0);
	hitl_spi_check(ret, SPI_OK_SELECT, "removing the label triggers");
	hitl_role_exit(&scope);
	SPI_finish();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(hitl_output_column_model);

/*
 * hitl._output_column_model(source, output_column) returns text
 *
 * The model (whoever sees it) that writes that column of the table, or
 * NULL; for the roles that may update the table, who could add a model
 * writing it.
 */
Datum
hitl_output_column_model(PG_FUNCTION_ARGS)
{
	Oid			source = PG_GETARG_OID(0);
	Oid			argtypes[2] = {OIDOID, NAMEOID};
	Datum		values[2];
	HitlRoleScope scope;
	bool		isnull;
	Datum		model;
	int			ret;

	if (pg_class_aclcheck(source, GetUserId(), ACL_UPDATE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(source))));
	values[0] = ObjectIdGetDatum(source);
	values[1] = PG_GETARG_DATUM(1);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "hitl: SPI_connect failed");
	hitl_catalog_enter(&scope);
	ret = SPI_execute_with_args("SELECT m.name FROM hitl.models m"
								" WHERE m.source = $1::regclass AND $2 IN (m.prediction_column,"
								" m.confidence_column, m.uncertainty_column)"
								" ORDER BY m.name LIMIT 1",
								2, argtypes, values, NULL, true, 1);
	hitl_role_exit(&scope);
	hitl_spi_check(ret, SPI_OK_SELECT, "reading hitl.models");
	if (SPI_processed == 0)
	{
		SPI_finish();
		PG_RETURN_NULL();
	}
	model = spi_value(SPI_tuptable->vals[0], 1, &isnull);
	model = SPI_datumTransfer(model, false, -1);
	SPI_finish();
	PG_RETURN_DATUM(model);
}

PG_FUNCTION_INFO_V1(hitl_alter_model);

/*
 * hitl.alter_model(name, options, strategy, enabled, owner)
 *
 * Change what may change of a model; NULL arguments leave things as they
 * are.  The roles that may train a model (its owner's members, the roles
 * with UPDATE on its table) change its options, strategy and enabled; only
 * its owner's members give it to another role, one they are members of.
 * Options are merged into the model's and checked (the algorithm and the
 * text options cannot change: see _guard_model_update).
 */
Datum
hitl_alter_model(PG_FUNCTION_ARGS)
{
	char	   *name;
	HitlModel  *model;
	Oid			argtypes[5] = {TEXTOID, JSONBOID, TEXTOID, BOOLOID, NAMEOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	HitlRoleScope scope;
	int			i;
	int			ret;

	name = TextDatumGetCString(required_arg(fcinfo, 0, "name"));
	for (i = 1; i < 5; i++)
	{
		if (PG_ARGISNULL(i))
		{
			nulls[i] = 'n';
			values[i] = (Datum) 0;
		}
		else
			values[i] = PG_GETARG_DATUM(i);
	}
	values[0] = CStringGetTextDatum(name);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "hitl: SPI_connect failed");
	model = catalog_load_model(name, CurrentMemoryContext);
	catalog_check_may_change(model, "alter");
	if (nulls[2] == ' ')
	{
		char	   *strategy = TextDatumGetCString(values[2]);

		if (strcmp(strategy, "margin") != 0 && strcmp(strategy, "least_confidence") != 0 &&
			strcmp(strategy, "entropy") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown query strategy \"%s\"", strategy),
					 errhint("Known strategies: margin, least_confidence, entropy.")));
	}
	if (nulls[4] == ' ')
	{
		const char *new_owner = NameStr(*DatumGetName(values[4]));
		Oid			new_oid = role_oid_or_invalid(new_owner);

		if (!has_privs_of_role(GetUserId(), model->owner))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("must be owner of model \"%s\"", name),
					 errhint("Only the members of a model's owner give it to another role.")));
		if (!OidIsValid(new_oid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("role \"%s\" does not exist", new_owner)));
		if (!has_privs_of_role(GetUserId(), new_oid))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("must be a member of role \"%s\" to give it model \"%s\"",
							new_owner, name)));
	}
	if (nulls[1] == ' ')
	{
		Jsonb	   *opts = DatumGetJsonbP(values[1]);

		if (!JB_ROOT_IS_OBJECT(opts) || JB_ROOT_IS_SCALAR(opts))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("options must be a jsonb object"),
					 errhint("Pass the options to change, like '{\"C\": 0.5}'.")));
	}

	hitl_catalog_enter(&scope);
	ret = SPI_execute_with_args("UPDATE hitl.models SET"
								" options = CASE WHEN $2 IS NULL THEN options ELSE options || $2 END,"
								" strategy = coalesce($3, strategy),"
								" enabled = coalesce($4, enabled),"
								" owner = coalesce($5, owner)"
								" WHERE name = $1",
								5, argtypes, values, nulls, false, 0);
	hitl_spi_check(ret, SPI_OK_UPDATE, "updating hitl.models");
	hitl_role_exit(&scope);
	/* enabled again: the worker looks at the model's labels at commit */
	if (nulls[3] == ' ' && DatumGetBool(values[3]))
		hitl_wake_at_commit(model->source);
	SPI_finish();
	PG_RETURN_VOID();
}
