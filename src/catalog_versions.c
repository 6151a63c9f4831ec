/*
 * catalog_versions.c
 *		Reading and writing hitl.model_versions: a model's trained versions,
 *		and the record in hitl.models of which version is current and which
 *		one's scores are written.
 *
 * A version is read as the current role (row-level security of hitl's
 * tables decides what it sees) and written as the owner of hitl's tables,
 * by the callers that checked what the role may do (catalog_lock_model).
 *
 * Nothing read from hitl.model_versions is trusted: a restored or
 * hand-edited row is checked against its model (array lengths, dimensions,
 * indexes) before any code indexes with it, and refused with XX001.  Large
 * arrays (coefficients, naive Bayes sums) are read and written as raw
 * memory, without a Datum per element.
 */
#include "postgres.h"

#include <errno.h>
#include <limits.h>
#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "calibrate.h"
#include "catalog.h"
#include "compat.h"
#include "logreg.h"
#include "security.h"
#include "spi_check.h"
#include "train.h"

/* The columns of a version, as read_version_row() reads them */
#define VERSION_COLUMNS \
	"version, n_labeled, classes, feature_names, feature_dims," \
	" feature_means, feature_scales, coefficients," \
	" idf_buckets, idf, n_documents, vocabulary, class_counts, count_index," \
	" counts, label_snapshot::text, metrics->>'data_hash'," \
	" (metrics->'calibration'->'temperature')::text," \
	" metrics OPERATOR(pg_catalog.?) 'cv_pending'," \
	" coalesce((metrics->>'accuracy_from')::pg_catalog.int4, version)"

/* ... and their positions */
enum
{
	COL_VERSION = 1,
	COL_N_LABELED,
	COL_CLASSES,
	COL_FEATURE_NAMES,
	COL_FEATURE_DIMS,
	COL_MEANS,
	COL_SCALES,
	COL_COEFFICIENTS,
	COL_IDF_BUCKETS,
	COL_IDF,
	COL_N_DOCUMENTS,
	COL_VOCABULARY,
	COL_CLASS_COUNTS,
	COL_COUNT_INDEX,
	COL_COUNTS,
	COL_LABEL_SNAPSHOT,
	COL_DATA_HASH,
	COL_TEMPERATURE,
	COL_CV_PENDING,
	COL_FIGURES_FROM
};

/* Column value of the current SPI result, NULL-safe */
static Datum
spi_value(HeapTuple tuple, int col, bool *isnull)
{
	return SPI_getbinval(tuple, SPI_tuptable->tupdesc, col, isnull);
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
 * Read the row of a version (as the current role: row-level security
 * applies); 42704 when it is not there.  The row is SPI's.
 */
static HeapTuple
read_version_row(const HitlModel *model, int version)
{
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		values[2];

	values[0] = CStringGetTextDatum(model->name);
	values[1] = Int32GetDatum(version);
	if (catalog_execute(CATALOG_AS_CALLER,
						"SELECT " VERSION_COLUMNS
						" FROM hitl.model_versions WHERE model = $1 AND version = $2",
						2, argtypes, values, NULL, true,
						SPI_OK_SELECT, "reading hitl.model_versions") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("version %d of model \"%s\" does not exist", version, model->name)));
	return SPI_tuptable->vals[0];
}

/*
 * Read what every version has: its classes (at least two), its feature
 * columns and their dimensions (checked against the model's columns), the
 * names, means and scales of the expanded features.
 */
static void
load_dense_part(const HitlModel *model, HitlVersion *v, HeapTuple tup)
{
	bool		isnull;
	int32	   *dims;
	int			ndims;
	int64		expected_d;
	int			i;

	v->version = DatumGetInt32(spi_value(tup, COL_VERSION, &isnull));
	v->n_labeled = DatumGetInt32(spi_value(tup, COL_N_LABELED, &isnull));
	v->classes = catalog_text_array(spi_value(tup, COL_CLASSES, &isnull), &v->n_classes);
	if (v->n_classes < 2)
		corrupted(model, v->version, "classes");
	v->feature_names = catalog_text_array(spi_value(tup, COL_FEATURE_NAMES, &isnull), &v->d);

	dims = fixed_array_copy(spi_value(tup, COL_FEATURE_DIMS, &isnull), INT4OID,
							sizeof(int32), &ndims, "feature_dims");
	if (ndims != model->n_feature_columns)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("version %d of model \"%s\" has %d feature columns, the model %d",
						v->version, model->name, ndims, model->n_feature_columns)));
	v->n_feature_columns = ndims;
	v->feature_dims = palloc(sizeof(int) * Max(ndims, 1));
	for (i = 0; i < ndims; i++)
		v->feature_dims[i] = dims[i];
	expected_d = expected_dense_features(model, v->version, v->feature_dims, ndims);
	if (expected_d >= 0 && expected_d != v->d)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("version %d of model \"%s\" has %d feature names for " INT64_FORMAT " features",
						v->version, model->name, v->d, expected_d),
				 errhint("Train the model again with hitl.train().")));

	v->means = float8_array_to_doubles(spi_value(tup, COL_MEANS, &isnull), v->d,
									   "feature means");
	v->scales = float8_array_to_doubles(spi_value(tup, COL_SCALES, &isnull), v->d,
										"feature scales");
}

/*
 * Read a sparse version's text statistics, when it has them: the buckets
 * met in the table, their idf, the number of documents.
 */
static void
load_idf(const HitlModel *model, HitlVersion *v, HeapTuple tup)
{
	bool		isnull;
	Datum		d;
	int			n;

	d = spi_value(tup, COL_IDF_BUCKETS, &isnull);
	if (isnull)
		return;
	v->idf_buckets = fixed_array_copy(d, INT4OID, sizeof(int32), &v->n_idf, "idf_buckets");
	d = spi_value(tup, COL_IDF, &isnull);
	if (isnull)
		corrupted(model, v->version, "idf");
	v->idf = fixed_array_copy(d, FLOAT8OID, sizeof(float8), &n, "idf");
	if (n != v->n_idf)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("hitl model version has %d idf values for %d buckets", n, v->n_idf)));
	d = spi_value(tup, COL_N_DOCUMENTS, &isnull);
	if (isnull)
		corrupted(model, v->version, "document count");
	v->n_documents = DatumGetInt64(d);
}

/*
 * Read a naive Bayes version's statistics: the class counts (one per
 * class), the sums and their indexes (as many of each), the label log
 * snapshot they include.
 */
static void
load_nbayes_sums(const HitlModel *model, HitlVersion *v, HeapTuple tup)
{
	bool		isnull;
	Datum		d;
	int			col;
	int			n;

	for (col = COL_CLASS_COUNTS; col <= COL_COUNTS; col++)
	{
		(void) spi_value(tup, col, &isnull);
		if (isnull)
			corrupted(model, v->version, "naive Bayes statistics");
	}
	v->class_counts = fixed_array_copy(spi_value(tup, COL_CLASS_COUNTS, &isnull), FLOAT8OID,
									   sizeof(float8), &n, "class_counts");
	if (n != v->n_classes)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("hitl model version has %d class counts for %d classes",
						n, v->n_classes)));
	v->count_index = fixed_array_copy(spi_value(tup, COL_COUNT_INDEX, &isnull), INT8OID,
									  sizeof(int64), &n, "count_index");
	v->n_counts = n;
	v->counts = fixed_array_copy(spi_value(tup, COL_COUNTS, &isnull), FLOAT8OID,
								 sizeof(float8), &n, "counts");
	if (n != v->n_counts)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("hitl model version has %d counts for %lld indexes",
						n, (long long) v->n_counts)));
	d = spi_value(tup, COL_LABEL_SNAPSHOT, &isnull);
	v->label_snapshot = isnull ? NULL : TextDatumGetCString(d);
	v->coef = NULL;
}

/*
 * Read a sparse version's parameters (text statistics, vocabulary, then the
 * naive Bayes sums or the logistic coefficients over the dense features and
 * the vocabulary), and check them.
 */
static void
load_sparse_part(const HitlModel *model, HitlVersion *v, HeapTuple tup)
{
	bool		isnull;
	Datum		d;
	int			n;
	int			expected;

	load_idf(model, v, tup);
	d = spi_value(tup, COL_VOCABULARY, &isnull);
	if (isnull)
		corrupted(model, v->version, "vocabulary");
	v->vocabulary = fixed_array_copy(d, INT4OID, sizeof(int32), &v->n_vocabulary,
									 "vocabulary");
	if (model_is_nbayes(model))
		load_nbayes_sums(model, v, tup);
	else
	{
		expected = checked_ncoef(model, v->version, (int64) v->d + v->n_vocabulary,
								 v->n_classes);
		d = spi_value(tup, COL_COEFFICIENTS, &isnull);
		if (isnull)
			corrupted(model, v->version, "coefficients");
		v->coef = fixed_array_copy(d, FLOAT8OID, sizeof(float8), &n, "coefficients");
		if (n != expected)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("hitl model version has %d coefficients, expected %d",
							n, expected)));
	}
	check_sparse_version(model, v);
}

/*
 * The temperature of a version's calibration, "temperature" of its
 * metrics' "calibration": 1 when there is none (a version trained without
 * cross-validation, or before calibration existed); XX001 when it is not a
 * number within calibrate.h's bounds.
 */
static double
load_temperature(const HitlModel *model, int version, HeapTuple tup)
{
	bool		isnull;
	Datum		d = spi_value(tup, COL_TEMPERATURE, &isnull);
	char	   *str;
	char	   *end;
	double		t;

	if (isnull)
		return 1.0;
	str = TextDatumGetCString(d);
	errno = 0;
	t = strtod(str, &end);
	if (errno != 0 || end == str || *end != '\0' || !(t >= CALIB_T_MIN && t <= CALIB_T_MAX))
		corrupted(model, version, "calibration temperature");
	return t;
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
	HeapTuple	tup;
	HitlVersion *v;
	MemoryContext old;
	bool		isnull;
	Datum		h;

	tup = read_version_row(model, version);
	old = MemoryContextSwitchTo(mcxt);
	v = palloc0(sizeof(HitlVersion));
	/* the messages name the version asked for, before the row is read */
	v->version = version;
	load_dense_part(model, v, tup);
	if (model_is_sparse(model))
		load_sparse_part(model, v, tup);
	else
		v->coef = float8_array_to_doubles(spi_value(tup, COL_COEFFICIENTS, &isnull),
										  checked_ncoef(model, version, v->d, v->n_classes),
										  "coefficients");
	h = spi_value(tup, COL_DATA_HASH, &isnull);
	v->data_hash = isnull ? NULL : TextDatumGetCString(h);
	v->temperature = load_temperature(model, version, tup);
	h = spi_value(tup, COL_CV_PENDING, &isnull);
	v->cv_pending = !isnull && DatumGetBool(h);
	h = spi_value(tup, COL_FIGURES_FROM, &isnull);
	v->figures_from = isnull ? version : DatumGetInt32(h);
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

	values[0] = CStringGetTextDatum(model->name);
	values[1] = Int32GetDatum(version);
	*n = 0;
	if (catalog_execute(CATALOG_AS_CALLER,
						"SELECT classes FROM hitl.model_versions"
						" WHERE model = $1 AND version = $2",
						2, argtypes, values, NULL, true,
						SPI_OK_SELECT, "reading hitl.model_versions") == 0)
		return NULL;
	d = spi_value(SPI_tuptable->vals[0], 1, &isnull);
	if (isnull)
		return NULL;
	old = MemoryContextSwitchTo(mcxt);
	classes = catalog_text_array(d, n);
	MemoryContextSwitchTo(old);
	return classes;
}

/*
 * Record a version in the model's row with sql, whose $1 is the model's
 * name, $2 the version and $3 the name of status.
 */
static void
update_model_version(const HitlModel *model, const char *sql, int version,
					 ModelStatus status)
{
	Oid			argtypes[3] = {TEXTOID, INT4OID, TEXTOID};
	Datum		values[3];

	values[0] = CStringGetTextDatum(model->name);
	values[1] = Int32GetDatum(version);
	values[2] = CStringGetTextDatum(catalog_status_name(status));
	(void) catalog_execute(CATALOG_AS_OWNER, sql, 3, argtypes, values, NULL, false,
						   SPI_OK_UPDATE, "updating hitl.models");
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

	(void) catalog_execute(CATALOG_AS_OWNER,
						   "INSERT INTO hitl.model_versions (model, version, n_labeled, algorithm,"
						   " classes, feature_names, feature_dims, feature_means, feature_scales,"
						   " coefficients, metrics, train_ms, idf_buckets, idf, n_documents,"
						   " vocabulary, class_counts, count_index, counts, label_snapshot)"
						   " SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9,"
						   " $10::jsonb, $11, $12, $13, $14, $15, $16, $17, $18, $19::pg_snapshot"
						   " FROM hitl.model_versions WHERE model = $1"
						   " RETURNING version",
						   19, argtypes, values, nulls, false,
						   SPI_OK_INSERT_RETURNING, "recording the model version");
	v->version = DatumGetInt32(spi_value(SPI_tuptable->vals[0], 1, &isnull));

	/* it is the current version: trained now, its failures forgotten */
	update_model_version(model,
						 "UPDATE hitl.models SET current_version = $2, status = $3,"
						 " trained_at = now(), last_error = NULL, failed_at = NULL,"
						 " failures = 0, retry_at = NULL"
						 " WHERE name = $1",
						 v->version, MODEL_TRAINED);
	return v->version;
}

/*
 * Record that the scores in the table come from the given version.
 */
void
catalog_mark_scored(const HitlModel *model, int version)
{
	update_model_version(model,
						 "UPDATE hitl.models SET scored_version = $2, scored_at = now(),"
						 " status = CASE WHEN current_version = $2 THEN $3 ELSE status END,"
						 " last_error = NULL, failed_at = NULL, failures = 0, retry_at = NULL"
						 " WHERE name = $1",
						 version, MODEL_SCORED);
}

/* The keys of a version's metrics that its cross-validation gives */
#define CV_FIGURES_REGEX \
	"'^(cv_|per_class$|macro_f1$|confusion$|calibration$|ece|brier$|reliability$)'"

/*
 * Copy the cross-validated figures of version base (cv_*, per_class,
 * macro_f1, confusion, and the calibration with its figures: the version
 * scores with its base's calibration) into metrics, with "accuracy_from":
 * the version they were computed on (base, or the one base copied them
 * from).  A base
 * without figures adds nothing.  Read as the owner of hitl's tables.
 */
char *
catalog_with_base_figures(const HitlModel *model, int base, const char *metrics)
{
	Oid			argtypes[3] = {TEXTOID, INT4OID, TEXTOID};
	Datum		values[3];
	bool		isnull;

	values[0] = CStringGetTextDatum(model->name);
	values[1] = Int32GetDatum(base);
	values[2] = CStringGetTextDatum(metrics);
	if (catalog_execute(CATALOG_AS_OWNER,
						"SELECT ($3::pg_catalog.jsonb OPERATOR(pg_catalog.||) coalesce("
						"  (SELECT pg_catalog.jsonb_object_agg(e.key, e.value)"
						"   FROM pg_catalog.jsonb_each(v.metrics) e"
						"   WHERE e.key OPERATOR(pg_catalog.~) " CV_FIGURES_REGEX
						"   AND e.key OPERATOR(pg_catalog.<>) ALL (ARRAY['cv_pending', 'cv_deferred_ms']))"
						"  OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('accuracy_from',"
						"   coalesce(v.metrics OPERATOR(pg_catalog.->) 'accuracy_from', pg_catalog.to_jsonb(v.version))),"
						"  '{}'))::pg_catalog.text"
						" FROM hitl.model_versions v"
						" WHERE v.model OPERATOR(pg_catalog.=) $1 AND v.version OPERATOR(pg_catalog.=) $2"
						" AND v.metrics OPERATOR(pg_catalog.?) 'cv_accuracy'",
						3, argtypes, values, NULL, true,
						SPI_OK_SELECT, "reading the figures of the base version") == 0)
		return pstrdup(metrics);
	return TextDatumGetCString(spi_value(SPI_tuptable->vals[0], 1, &isnull));
}

/*
 * Put the cross-validated figures of metrics into version, whose
 * cross-validation was deferred ("cv_pending"), in place of those it
 * copied from its base (and of "accuracy_from"), with "cv_deferred_ms", the
 * time it took.  Returns the version's calibration temperature after (1
 * when none); *done is false when the version was not pending (another
 * session did it, or it is gone).  When the temperature is not
 * old_temperature, the one its stored scores were computed with, the model
 * no longer counts as scored with it (scored_version NULL, status
 * "trained"), in the same transaction: hitl.wait waits for, and the worker
 * or hitl.score does, a rescoring.  The worker rescores at once; should
 * that rescoring be canceled, its next round sees the model unscored.
 * Written as the owner of hitl's tables.
 */
double
catalog_replace_cv_figures(const HitlModel *model, int version, const char *metrics,
						   double ms, double old_temperature, bool *done)
{
	Oid			argtypes[4] = {TEXTOID, INT4OID, TEXTOID, FLOAT8OID};
	Datum		values[4];
	bool		isnull;
	Datum		d;
	double		t;

	values[0] = CStringGetTextDatum(model->name);
	values[1] = Int32GetDatum(version);
	values[2] = CStringGetTextDatum(metrics);
	values[3] = Float8GetDatum(ms);
	*done = catalog_execute(CATALOG_AS_OWNER,
							"UPDATE hitl.model_versions v SET metrics ="
							" coalesce((SELECT pg_catalog.jsonb_object_agg(e.key, e.value)"
							"   FROM pg_catalog.jsonb_each(v.metrics) e"
							"   WHERE e.key OPERATOR(pg_catalog.!~) " CV_FIGURES_REGEX
							"   AND e.key OPERATOR(pg_catalog.<>) 'accuracy_from'), '{}')"
							" OPERATOR(pg_catalog.||) coalesce((SELECT pg_catalog.jsonb_object_agg(e.key, e.value)"
							"   FROM pg_catalog.jsonb_each($3::pg_catalog.jsonb) e"
							"   WHERE e.key OPERATOR(pg_catalog.~) " CV_FIGURES_REGEX "), '{}')"
							" OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('cv_deferred_ms',"
							"   pg_catalog.round($4::pg_catalog.numeric, 1))"
							" WHERE v.model OPERATOR(pg_catalog.=) $1 AND v.version OPERATOR(pg_catalog.=) $2"
							" AND v.metrics OPERATOR(pg_catalog.?) 'cv_pending'"
							" RETURNING (v.metrics->'calibration'->>'temperature')::pg_catalog.float8",
							4, argtypes, values, NULL, false,
							SPI_OK_UPDATE_RETURNING, "recording the deferred cross-validation") > 0;
	if (!*done)
		return 1.0;
	d = spi_value(SPI_tuptable->vals[0], 1, &isnull);
	t = isnull ? 1.0 : DatumGetFloat8(d);
	if (t != old_temperature)
		update_model_version(model,
							 "UPDATE hitl.models SET scored_version = NULL,"
							 " status = CASE WHEN status = $3 THEN 'trained' ELSE status END"
							 " WHERE name = $1 AND scored_version = $2",
							 version, MODEL_SCORED);
	return t;
}


/*
 * The current version of a model as the worker's log line tells it: its
 * number, labels, training time and cross-validated accuracy (NaN when it
 * has none), read as the owner of hitl's tables.  False when the model has
 * no version.
 */
bool
catalog_current_version_summary(const char *name, VersionSummary *s)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	HeapTuple	tup;
	bool		isnull;
	Datum		d;

	values[0] = CStringGetTextDatum(name);
	if (catalog_execute(CATALOG_AS_OWNER,
						"SELECT v.version, v.n_labeled, v.train_ms,"
						" (v.metrics OPERATOR(pg_catalog.->>) 'cv_accuracy')::pg_catalog.float8,"
						" v.metrics OPERATOR(pg_catalog.?) 'cv_pending',"
						" (v.metrics OPERATOR(pg_catalog.->>) 'cv_deferred_ms')::pg_catalog.float8"
						" FROM hitl.models m JOIN hitl.model_versions v"
						" ON v.model OPERATOR(pg_catalog.=) m.name"
						" AND v.version OPERATOR(pg_catalog.=) m.current_version"
						" WHERE m.name OPERATOR(pg_catalog.=) $1",
						1, argtypes, values, NULL, false,
						SPI_OK_SELECT, "reading the current version") == 0)
		return false;
	tup = SPI_tuptable->vals[0];
	s->version = DatumGetInt32(spi_value(tup, 1, &isnull));
	s->n_labeled = DatumGetInt32(spi_value(tup, 2, &isnull));
	s->train_ms = DatumGetFloat8(spi_value(tup, 3, &isnull));
	d = spi_value(tup, 4, &isnull);
	s->cv_accuracy = isnull ? get_float8_nan() : DatumGetFloat8(d);
	s->cv_pending = DatumGetBool(spi_value(tup, 5, &isnull));
	d = spi_value(tup, 6, &isnull);
	s->cv_deferred_ms = isnull ? get_float8_nan() : DatumGetFloat8(d);
	return true;
}

/*
 * Has the database's hitl the stopping signal (sql/0.2.0/79-stopping.sql)?
 * Not before its update to 0.2.0, which this library may run under.
 */
bool
catalog_stop_signal_installed(void)
{
	Oid			nsp = get_namespace_oid("hitl", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("models", nsp) : InvalidOid;

	return OidIsValid(relid) && get_attnum(relid, "stop_suggested") != InvalidAttrNumber;
}

/*
 * Merge a version's stopping signal into its metrics, with the version
 * whose predictions it was compared with (compared, or with compared < 0
 * the model's scored version; 0: none) and its out-of-fold trend, and set
 * the model's stop_suggested; signal NULL: the trend alone (see train.h).
 * Written as the owner of hitl's tables.
 */
void
catalog_record_stop_signal(const HitlModel *model, int version, const char *signal,
						   int compared)
{
	Oid			argtypes[4] = {TEXTOID, INT4OID, TEXTOID, INT4OID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};

	if (!catalog_stop_signal_installed())
		return;
	values[0] = CStringGetTextDatum(model->name);
	values[1] = Int32GetDatum(version);
	if (signal != NULL)
		values[2] = CStringGetTextDatum(signal);
	else
		nulls[2] = 'n';
	values[3] = Int32GetDatum(compared);
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "UPDATE hitl.model_versions v SET metrics = v.metrics"
						   " OPERATOR(pg_catalog.||) coalesce($3::pg_catalog.jsonb"
						   "   OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object("
						   "   'stop_kappa_version', CASE WHEN $4 OPERATOR(pg_catalog.<) 0"
						   "   THEN m.scored_version ELSE NULLIF($4, 0) END), '{}')"
						   " OPERATOR(pg_catalog.||) hitl._stop_cv_trend(v.model, v.version, v.metrics)"
						   " FROM hitl.models m"
						   " WHERE m.name OPERATOR(pg_catalog.=) $1"
						   " AND v.model OPERATOR(pg_catalog.=) $1 AND v.version OPERATOR(pg_catalog.=) $2",
						   4, argtypes, values, nulls, false,
						   SPI_OK_UPDATE, "recording the stopping signal");
	if (signal == NULL)
		return;
	(void) catalog_execute(CATALOG_AS_OWNER,
						   "UPDATE hitl.models m SET stop_suggested ="
						   " hitl._stop_suggested(m.name, m.current_version, m.options)"
						   " WHERE m.name OPERATOR(pg_catalog.=) $1",
						   1, argtypes, values, NULL, false,
						   SPI_OK_UPDATE, "recording whether labeling may stop");
}
