/*
 * score_committee.c
 *		The committee strategy (query by committee): committee_size models
 *		fitted on bootstrap resamples of the labeled rows, and each row's
 *		uncertainty their disagreement on it, by the model's
 *		committee_measure: the entropy of their votes, or their mean KL
 *		divergence to the committee's mean probabilities.
 *
 * The members are fitted by the scoring, before its scan, and kept only
 * for it: a version stores one model, and a committee is quick to fit
 * again on the labeled rows (the table's few).  They are logistic
 * regressions in the version's feature space: the labeled rows are read
 * and converted by the version's classifier (numbers standardized with its
 * scaler; text as its tf-idf terms over its vocabulary), so a member
 * scores a row from the same converted row the version's prediction comes
 * from.  Member j's resample draws n rows with replacement (a row weighs
 * how many times it is drawn), from a generator seeded with the model's
 * name, the version and j: the same committee at every scoring of a
 * version.  C, max_iter and tol are the model's.  Naive Bayes models have
 * no committee (create_model and alter_model refuse it).
 *
 * The uncertainty column holds the vote entropy (strategy_vote_entropy,
 * in [0, 1]) or, with committee_measure 'kl', the KL disagreement
 * (strategy_kl_consensus, in nats, from 0 to log(min(m, k))); the
 * prediction and confidence stay the version's.  With m members the vote
 * entropy takes few values: the rows it ties are ranked among themselves
 * as any tie of the queue, in table order.  Both options are read at each
 * scoring, so a change of either applies from the next one (hitl.score, or
 * the worker's next), as a change of strategy does; the version, and so
 * the committee, stays.  The scan that follows is by one process (the
 * members are in this one's memory).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "folds.h"
#include "logreg.h"
#include "logreg_solve.h"
#include "score_scan.h"
#include "sparse_logreg.h"
#include "spi_check.h"
#include "strategy_math.h"
#include "termcache.h"
#include "train.h"

/* The members of a committee, fitted for one scoring */
typedef struct Committee
{
	int			m;
	int			k;
	bool		kl;				/* committee_measure 'kl', else vote entropy */
	int			dim;			/* features: v->d, or v->d + n_vocabulary */
	bool		sparse;
	double	  **coef;			/* m x logreg_ncoef(dim, k) */
	double	   *proba;			/* scratch: m x k */
} Committee;

/* The labeled rows, converted */
typedef struct LabeledSet
{
	int			n;
	int			cap;
	int		   *y;
	double	   *x;				/* dense: n x dim */
	int64_t    *indptr;			/* sparse: CSR */
	int		   *indices;
	double	   *values;
	int64_t		nnz_cap;
} LabeledSet;

static void committee_options(const HitlModel *model, Committee *cm);
static void labeled_add(LabeledSet *ls, const Classifier *c, int dim, int y);
static void read_labeled(ScoreState *s, LabeledSet *ls, int dim);
static void fit_member(const ScoreState *s, Committee *cm, const LabeledSet *ls, int j);

/*
 * The model's committee_size and committee_measure options into cm->m and
 * cm->kl (their defaults when absent: 5, vote entropy)
 */
static void
committee_options(const HitlModel *model, Committee *cm)
{
	Oid			argtype = TEXTOID;
	Datum		arg = CStringGetTextDatum(model->name);
	bool		isnull;
	int			ret;
	int			m;

	ret = SPI_execute_with_args("SELECT COALESCE((options OPERATOR(pg_catalog.->>)"
								" 'committee_size')::pg_catalog.int4, 5),"
								" COALESCE(options OPERATOR(pg_catalog.->>) 'committee_measure'"
								" OPERATOR(pg_catalog.=) 'kl', false)"
								" FROM hitl.models WHERE name OPERATOR(pg_catalog.=) $1",
								1, &argtype, &arg, NULL, true, 1);
	hitl_spi_check_rows(ret, SPI_OK_SELECT, 1, "reading the model's committee options");
	m = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	cm->m = Max(2, Min(m, 20));
	cm->kl = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
}

/* Append the row the classifier just converted, of class y */
static void
labeled_add(LabeledSet *ls, const Classifier *c, int dim, int y)
{
	if (ls->n == ls->cap)
	{
		ls->cap = Max(64, ls->cap * 2);
		ls->y = repalloc_huge(ls->y, sizeof(int) * ls->cap);
		ls->indptr = repalloc_huge(ls->indptr, sizeof(int64_t) * (ls->cap + 1));
		if (!c->sparse)
			ls->x = repalloc_huge(ls->x, sizeof(double) * ls->cap * Max(dim, 1));
	}
	ls->y[ls->n] = y;
	if (!c->sparse)
		memcpy(ls->x + (Size) ls->n * dim, c->x, sizeof(double) * dim);
	else
	{
		int64_t		at = ls->indptr[ls->n];

		while (at + c->row.nnz > ls->nnz_cap)
		{
			ls->nnz_cap *= 2;
			ls->indices = repalloc_huge(ls->indices, sizeof(int) * ls->nnz_cap);
			ls->values = repalloc_huge(ls->values, sizeof(double) * ls->nnz_cap);
		}
		memcpy(ls->indices + at, c->row.idx, sizeof(int) * c->row.nnz);
		memcpy(ls->values + at, c->row.val, sizeof(double) * c->row.nnz);
		ls->indptr[ls->n + 1] = at + c->row.nnz;
	}
	ls->n++;
}

/*
 * Read the labeled rows of the version's classes (a label it does not know
 * is left out) and convert them as the version's classifier does
 */
static void
read_labeled(ScoreState *s, LabeledSet *ls, int dim)
{
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext rowcxt = AllocSetContextCreate(cxt, "hitl committee row",
												 ALLOCSET_DEFAULT_SIZES);
	Classifier *c = &s->classifier;
	int			ncols = s->layout->ncols + 1;
	Datum	   *values = palloc(sizeof(Datum) * ncols);
	bool	   *nulls = palloc(sizeof(bool) * ncols);
	double	   *proba = palloc(sizeof(double) * s->version->n_classes);
	StringInfoData sql;
	Portal		portal;

	ls->cap = 64;
	ls->y = palloc(sizeof(int) * ls->cap);
	ls->indptr = palloc0(sizeof(int64_t) * (ls->cap + 1));
	if (c->sparse)
	{
		ls->nnz_cap = 1024;
		ls->indices = palloc(sizeof(int) * ls->nnz_cap);
		ls->values = palloc(sizeof(double) * ls->nnz_cap);
	}
	else
		ls->x = palloc(sizeof(double) * ls->cap * Max(dim, 1));

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT t.%s::pg_catalog.text, %s%s FROM %s t WHERE t.%s IS NOT NULL",
					 quote_identifier(s->model->label_column),
					 features_select_list(s->model, "t"), termcache_select(s->model, "t"),
					 s->model->source_text, quote_identifier(s->model->label_column));
	portal = SPI_cursor_open_with_args(NULL, sql.data, 0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		uint64		r;

		SPI_cursor_fetch(portal, true, 1000);
		MemoryContextSwitchTo(cxt);
		if (SPI_processed == 0)
			break;
		for (r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			Datum		label;
			bool		isnull;
			int			y;
			int			j;
			int			bad_col;
			FeatureStatus st;

			MemoryContextSwitchTo(rowcxt);
			label = SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull);
			y = train_version_class(s->version, train_label_text(s->model, label, isnull));
			for (j = 0; j < ncols; j++)
				values[j] = SPI_getbinval(tup, SPI_tuptable->tupdesc, j + 2, &nulls[j]);
			if (c->sparse)
			{
				c->row.cache = values[ncols - 1];
				c->row.cache_null = nulls[ncols - 1];
			}
			st = classifier_proba(c, values, nulls, proba, &bad_col);
			MemoryContextSwitchTo(cxt);
			if (y >= 0 && st == FEATURE_OK)
				labeled_add(ls, c, dim, y);
			MemoryContextReset(rowcxt);
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	MemoryContextSwitchTo(cxt);
	MemoryContextDelete(rowcxt);
}

/*
 * Fit member j on its bootstrap resample: n draws with replacement, each
 * row weighing how often it is drawn.  A fit that does not converge within
 * max_iter is kept (its last iterate is a model, as training keeps it).
 */
static void
fit_member(const ScoreState *s, Committee *cm, const LabeledSet *ls, int j)
{
	double	   *weight = palloc0(sizeof(double) * ls->n);
	FoldsRng	rng;
	LogregResult res;
	LogregStatus st;
	int			i;

	folds_rng_init(&rng, folds_hash_bytes(s->model->name, strlen(s->model->name)) ^
				   ((uint64) s->version->version << 20) ^ (uint64) (j + 1) * UINT64_C(0x9e3779b97f4a7c15));
	for (i = 0; i < ls->n; i++)
		weight[folds_rng_below(&rng, ls->n)] += 1.0;
	cm->coef[j] = palloc0(sizeof(double) * logreg_ncoef(cm->dim, cm->k));
	if (!cm->sparse)
	{
		LogregProblem p = {
			.n = ls->n, .d = cm->dim, .k = cm->k, .x = ls->x, .y = ls->y,
			.C = s->model->C, .max_iter = s->model->max_iter, .tol = s->model->tol,
			.weight = weight
		};

		st = logreg_solve(&p, cm->coef[j], 0, &res);
	}
	else
	{
		SparseLogregProblem p = {
			.x = {.n = ls->n, .d = cm->dim, .indptr = ls->indptr, .indices = ls->indices,
			.values = ls->values},
			.k = cm->k, .y = ls->y, .C = s->model->C, .max_iter = s->model->max_iter,
			.tol = s->model->tol, .weight = weight
		};

		st = sparse_logreg_fit(&p, cm->coef[j], 0, &res);
	}
	if (st != LOGREG_OK && st != LOGREG_NOT_CONVERGED)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("member %d of the committee of model \"%s\" could not be fitted",
						j + 1, s->model->name)));
	pfree(weight);
}

void
score_committee_fit(ScoreScan *scan)
{
	ScoreState *s = scan->s;
	const HitlVersion *v = s->version;
	Committee  *cm = palloc0(sizeof(Committee));
	LabeledSet	ls = {0};
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext fitcxt;
	int			j;

	if (model_is_nbayes(s->model))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" is naive Bayes, which has no committee", s->model->name),
				 errhint("Use another strategy, or a logistic model.")));
	committee_options(s->model, cm);
	MemoryContextSwitchTo(cxt);
	cm->k = v->n_classes;
	cm->sparse = s->classifier.sparse;
	cm->dim = cm->sparse ? v->d + v->n_vocabulary : v->d;
	cm->coef = palloc0(sizeof(double *) * cm->m);
	cm->proba = palloc(sizeof(double) * cm->m * cm->k);

	/* the labeled rows go with the fits; the members stay in cxt */
	fitcxt = AllocSetContextCreate(cxt, "hitl committee", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(fitcxt);
	read_labeled(s, &ls, cm->dim);
	for (j = 0; j < cm->m && ls.n > 0; j++)
	{
		Size		bytes = sizeof(double) * logreg_ncoef(cm->dim, cm->k);

		fit_member(s, cm, &ls, j);
		/* fitted in fitcxt: a copy stays */
		cm->coef[j] = memcpy(MemoryContextAlloc(cxt, bytes), cm->coef[j], bytes);
		CHECK_FOR_INTERRUPTS();
	}
	if (ls.n == 0)
		cm->m = 0;				/* nothing to fit on: every row scores 0 */
	MemoryContextSwitchTo(cxt);
	MemoryContextDelete(fitcxt);
	scan->committee = cm;
}

double
score_committee_uncertainty(const ScoreScan *scan)
{
	const Committee *cm = scan->committee;
	const Classifier *c = &scan->s->classifier;
	int			j;

	if (cm->m < 2)
		return 0.0;
	for (j = 0; j < cm->m; j++)
	{
		if (cm->sparse)
			sparse_logreg_predict_proba(cm->dim, cm->k, cm->coef[j], c->row.nnz, c->row.idx,
										c->row.val, cm->proba + (Size) j * cm->k);
		else
			logreg_predict_proba(cm->dim, cm->k, cm->coef[j], c->x, cm->proba + (Size) j * cm->k);
	}
	return cm->kl ? strategy_kl_consensus(cm->m, cm->k, cm->proba)
		: strategy_vote_entropy(cm->m, cm->k, cm->proba);
}
