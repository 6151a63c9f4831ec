/*
 * explain.c
 *		hitl.explain(): the features of one row that pushed its prediction
 *		most, for a person reviewing why the row is uncertain.
 *
 * The row is evaluated exactly as hitl.predict() evaluates it (the cached
 * model, predict_row_proba), so the values explained are those the model
 * saw: standardized numbers for logistic models, raw values for naive
 * Bayes, and for text the tf-idf weighted, normalised value of each bucket.
 * A text column is explained by its terms: the row's own text is tokenized
 * again, and each distinct term is reported with its bucket's value and
 * weight (terms sharing a bucket show the same numbers).  The arithmetic is
 * in explain_math.c.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "explain_math.h"
#include "metrics.h"
#include "catalog.h"
#include "model_cache.h"
#include "texthash.h"
#include "vocab.h"

/* A row's text terms, as hitl.explain() collects them */
typedef struct TermList
{
	int			n;
	int			capacity;
	char	  **utf8;			/* as hashed, NUL-terminated */
	int		   *bucket;
	const TextOptions *opts;
} TermList;

static void check_args(FunctionCallInfo fcinfo, int *top);
static int	row_hint(const CachedModel *cm);
static void check_row(FunctionCallInfo fcinfo, CachedModel *cm);
static int	dense_items(CachedModel *cm, int pred, int runner_up, ExplainItem **items);
static int	sparse_items(CachedModel *cm, int pred, int runner_up, ExplainItem **items);
static void collect_terms(CachedModel *cm, TermList *terms);
static void add_term(const char *term, int len, void *arg);
static char *term_name(const char *utf8);
static double bag_value(const TermBag *bag, int bucket);
static void emit_items(FunctionCallInfo fcinfo, const ExplainItem *items, int n);

PG_FUNCTION_INFO_V1(hitl_explain);

/*
 * hitl.explain(model text, row anyelement, top int DEFAULT 10) returns
 * table (feature text, value float8, weight float8, contribution float8,
 * runner_up_contribution float8)
 */
Datum
hitl_explain(PG_FUNCTION_ARGS)
{
	CachedModel *cm;
	const HitlVersion *v;
	ExplainItem *items;
	int			top;
	int			pred;
	int			runner_up;
	int			n;

	check_args(fcinfo, &top);
	cm = model_cache_lookup(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	check_row(fcinfo, cm);
	predict_row_proba(cm, PG_GETARG_HEAPTUPLEHEADER(1), "hitl.explain");

	v = cm->version;
	pred = proba_argmax(v->n_classes, cm->proba, NULL);
	runner_up = explain_runner_up(v->n_classes, cm->proba, pred);
	if (cm->classifier.sparse)
		n = sparse_items(cm, pred, runner_up, &items);
	else
		n = dense_items(cm, pred, runner_up, &items);
	explain_sort(n, items);
	emit_items(fcinfo, items, Min(n, top));
	return (Datum) 0;
}

/*
 * The model name and top: neither NULL, top at least 1.
 */
static void
check_args(FunctionCallInfo fcinfo, int *top)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model must not be NULL"),
				 errhint("Name the model, as in SELECT e.* FROM t, hitl.explain('m', t) e.")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top must not be NULL"),
				 errhint("Ask for the number of features to show, 1 or more.")));
	*top = PG_GETARG_INT32(2);
	if (*top <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("top must be at least 1, not %d", *top),
				 errhint("Ask for the number of features to show, 1 or more.")));
}

/* The hint of the errors on the row */
static int
row_hint(const CachedModel *cm)
{
	return errhint("Pass a whole row of table %s, as in SELECT e.* FROM %s t, hitl.explain('%s', t) e.",
				   cm->model->source_text, cm->model->source_text, cm->model->name);
}

/*
 * The row: not NULL, and a row of the model's table (the error
 * predict_row_proba would raise, with hitl.explain's hint).
 */
static void
check_row(FunctionCallInfo fcinfo, CachedModel *cm)
{
	Oid			argtype = get_fn_expr_argtype(fcinfo->flinfo, 1);
	Oid			rowtype = InvalidOid;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("row must not be NULL"),
				 row_hint(cm)));
	if (OidIsValid(argtype) && type_is_rowtype(argtype))
		rowtype = HeapTupleHeaderGetTypeId(PG_GETARG_HEAPTUPLEHEADER(1));
	/* a row of a Citus shard of the table: predict_row_proba reads it */
	if (rowtype != cm->rowtype &&
		!(OidIsValid(rowtype) && OidIsValid(typeidTypeRelid(rowtype)) &&
		  catalog_citus_shard_parent(typeidTypeRelid(rowtype)) == cm->model->source))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("row is of type %s, not of the type of table %s",
						format_type_be(OidIsValid(rowtype) ? rowtype : argtype),
						cm->model->source_text),
				 row_hint(cm)));
}

/*
 * A dense logistic model: every feature, standardized, with its weights.
 */
static int
dense_items(CachedModel *cm, int pred, int runner_up, ExplainItem **items)
{
	const HitlVersion *v = cm->version;
	int		   *col = palloc(sizeof(int) * Max(v->d, 1));
	int			i;

	*items = palloc(sizeof(ExplainItem) * Max(v->d, 1));
	for (i = 0; i < v->d; i++)
	{
		col[i] = i;
		(*items)[i].feature = v->feature_names[i];
	}
	explain_logreg(v->d, v->n_classes, v->coef, pred, runner_up, v->d, col,
				   cm->classifier.x, *items);
	return v->d;
}

/*
 * A sparse model (text logistic regression or naive Bayes): its dense
 * features (0 where the converted row has no entry), then the distinct
 * terms of the row's text, each with its bucket's value.
 */
static int
sparse_items(CachedModel *cm, int pred, int runner_up, ExplainItem **out)
{
	const HitlVersion *v = cm->version;
	const SparseRow *r = &cm->classifier.row;
	TermList	terms;
	ExplainItem *items;
	int			n = v->d;
	int		   *col;
	double	   *x;
	int			i;

	memset(&terms, 0, sizeof(terms));
	if (cm->layout->n_text > 0)
		collect_terms(cm, &terms);
	items = palloc_extended(sizeof(ExplainItem) * ((Size) n + terms.n + 1), MCXT_ALLOC_HUGE);
	col = palloc_extended(sizeof(int) * ((Size) n + terms.n + 1), MCXT_ALLOC_HUGE);
	x = palloc_extended(sizeof(double) * ((Size) n + terms.n + 1),
						MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	*out = items;
	for (i = 0; i < v->d; i++)
	{
		col[i] = i;
		items[i].feature = v->feature_names[i];
	}
	for (i = 0; i < r->nnz && r->idx[i] < v->d; i++)
		x[r->idx[i]] = r->val[i];
	for (i = 0; i < terms.n; i++)
	{
		int			p = vocab_position(v->vocabulary, v->n_vocabulary, terms.bucket[i]);

		col[n] = p >= 0 ? v->d + p : -1;
		x[n] = bag_value(&r->bag, terms.bucket[i]);
		items[n].feature = term_name(terms.utf8[i]);
		n++;
	}
	if (model_is_nbayes(cm->model))
		explain_nbayes(&cm->classifier.nb, pred, runner_up, n, col, x, items);
	else
		explain_logreg(v->d + v->n_vocabulary, v->n_classes, v->coef, pred, runner_up,
					   n, col, x, items);
	return n;
}

/* qsort: strings in byte order */
static int
cstring_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * The distinct terms of the row's text columns (the values predict_row_proba
 * left in cm->values) and their buckets.
 */
static void
collect_terms(CachedModel *cm, TermList *terms)
{
	const FeatureLayout *l = cm->layout;
	int			out = 0;
	int			i;

	terms->opts = &cm->classifier.row.text;
	terms->capacity = 64;
	terms->utf8 = palloc(sizeof(char *) * terms->capacity);
	terms->n = 0;
	for (i = 0; i < l->ncols; i++)
		if (l->is_text[i] && !cm->nulls[i])
			textfeat_terms(terms->opts, cm->values[i], add_term, terms);

	qsort(terms->utf8, terms->n, sizeof(char *), cstring_cmp);
	terms->bucket = palloc(sizeof(int) * Max(terms->n, 1));
	for (i = 0; i < terms->n; i++)
	{
		int			sign;

		if (out > 0 && strcmp(terms->utf8[out - 1], terms->utf8[i]) == 0)
			continue;
		terms->utf8[out] = terms->utf8[i];
		texthash_term(terms->utf8[out], strlen(terms->utf8[out]), terms->opts->buckets,
					  &terms->bucket[out], &sign);
		out++;
	}
	terms->n = out;
}

/* textfeat_terms' callback: keep a copy of the term */
static void
add_term(const char *term, int len, void *arg)
{
	TermList   *terms = (TermList *) arg;

	if (terms->n == terms->capacity)
	{
		terms->capacity *= 2;
		terms->utf8 = repalloc_huge(terms->utf8, sizeof(char *) * terms->capacity);
	}
	terms->utf8[terms->n++] = pnstrdup(term, len);
}

/* A term (UTF-8) in the database's encoding, to show it */
static char *
term_name(const char *utf8)
{
	if (GetDatabaseEncoding() == PG_SQL_ASCII)
		return (char *) utf8;
	return pg_any_to_server(utf8, strlen(utf8), PG_UTF8);
}

/* The row's value of a text bucket (0: not in its bag) */
static double
bag_value(const TermBag *bag, int bucket)
{
	int			lo = 0;
	int			hi = bag->n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (bag->bucket[mid] == bucket)
			return bag->count[mid];
		if (bag->bucket[mid] < bucket)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0.0;
}

/* The first n items as the function's rows */
static void
emit_items(FunctionCallInfo fcinfo, const ExplainItem *items, int n)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < n; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false};

		values[0] = CStringGetTextDatum(items[i].feature);
		values[1] = Float8GetDatum(items[i].value);
		values[2] = Float8GetDatum(items[i].weight);
		values[3] = Float8GetDatum(items[i].contribution);
		values[4] = Float8GetDatum(items[i].runner_up);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}
