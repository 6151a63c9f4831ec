/*
 * queue_diverse.c
 *		The diverse strategy: the review queue put in an order where a row's
 *		near-copies do not follow it (ranked batch-mode sampling).
 *
 * The scan keeps the queue's candidates by margin uncertainty, as for
 * margin, and not their features: a table's features do not fit in
 * memory.  Once ranked, the first QUEUE_DIVERSE_MAX candidates (the whole
 * queue at the default queue_size) have their features read again, by
 * ctid, in one query (the scan's lock keeps the ctids until the queue is
 * stored), turned into the model's feature vectors by the classifier that
 * scored them (dense: scaled; text: the hashed tf-idf terms, sparse), and
 * made unit vectors.  strategy_diverse_order then puts them in the greedy
 * order of lambda x uncertainty - (1 - lambda) x the largest cosine to the
 * rows before (strategy_math.h: lambda 0.5).  The evaluation rows are put
 * among them afterwards, at their places, as for any strategy.
 *
 * Cost: O(n^2) dot products for n candidates, n <= QUEUE_DIVERSE_MAX, and
 * the memory of n feature vectors.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "queue.h"
#include "spi_check.h"
#include "strategy_math.h"
#include "termcache.h"

/* Candidates put in diverse order; those after keep the uncertainty order */
#define QUEUE_DIVERSE_MAX 1000

/* The feature vectors of n candidates, in rank order, being gathered */
typedef struct DiverseRows
{
	int			n;
	int			dim;
	bool		sparse;
	double	   *dense;			/* n x dim */
	int		   *nnz;			/* sparse: each row's non-zeros */
	int		  **idx;
	double	  **val;
} DiverseRows;

static char *diverse_sql(const ScoreState *s);
static void gather_row(ScoreState *s, DiverseRows *dr, int i, Datum *values, bool *nulls,
					   double *proba, MemoryContext keep);
static void read_vectors(ScoreState *s, const CandidateHeap *heap, DiverseRows *dr);
static void to_strategy_rows(DiverseRows *dr, StrategyRows *rows);

/*
 * The query of the candidates' features: their place ($1, the ctids in
 * rank order), the feature columns and the term cache's.
 */
static char *
diverse_sql(const ScoreState *s)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT (v.i - 1)::pg_catalog.int4, %s%s"
					 " FROM pg_catalog.unnest($1) WITH ORDINALITY AS v(tid, i)"
					 " JOIN %s t ON t.ctid OPERATOR(pg_catalog.=) v.tid",
					 features_select_list(s->model, "t"), termcache_select(s->model, "t"),
					 s->model->source_text);
	return sql.data;
}

/*
 * The feature vector of candidate i from its feature columns (values, nulls),
 * kept unit in dr (sparse rows allocated in keep); a row that cannot be read
 * (changed since the scan) keeps a zero vector, similar to none.
 */
static void
gather_row(ScoreState *s, DiverseRows *dr, int i, Datum *values, bool *nulls, double *proba,
		   MemoryContext keep)
{
	Classifier *c = &s->classifier;
	int			bad_col;

	if (c->sparse)
	{
		c->row.cache = values[s->layout->ncols];
		c->row.cache_null = nulls[s->layout->ncols];
	}
	if (classifier_proba(c, values, nulls, proba, &bad_col) != FEATURE_OK)
		return;
	if (!dr->sparse)
	{
		memcpy(dr->dense + (Size) i * dr->dim, c->x, sizeof(double) * dr->dim);
		strategy_unit(dr->dim, dr->dense + (Size) i * dr->dim);
		return;
	}
	dr->nnz[i] = c->row.nnz;
	dr->idx[i] = MemoryContextAlloc(keep, sizeof(int) * Max(c->row.nnz, 1));
	dr->val[i] = MemoryContextAlloc(keep, sizeof(double) * Max(c->row.nnz, 1));
	memcpy(dr->idx[i], c->row.idx, sizeof(int) * c->row.nnz);
	memcpy(dr->val[i], c->row.val, sizeof(double) * c->row.nnz);
	strategy_unit(c->row.nnz, dr->val[i]);
}

/* Read the feature vectors of the first dr->n candidates into dr */
static void
read_vectors(ScoreState *s, const CandidateHeap *heap, DiverseRows *dr)
{
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext rowcxt;
	ScoredRow  *rows = palloc(sizeof(ScoredRow) * dr->n);
	int			ncols = s->layout->ncols + 1;
	Datum	   *values = palloc(sizeof(Datum) * ncols);
	bool	   *nulls = palloc(sizeof(bool) * ncols);
	double	   *proba = palloc(sizeof(double) * s->version->n_classes);
	Oid			argtype = TIDARRAYOID;
	Datum		arg;
	uint64		r;
	int			i;
	int			j;
	int			ret;

	for (i = 0; i < dr->n; i++)
		rows[i] = heap->items[i].row;
	arg = rows_tid_array(rows, dr->n);
	ret = SPI_execute_with_args(diverse_sql(s), 1, &argtype, &arg, NULL, true, 0);
	hitl_spi_check(ret, SPI_OK_SELECT, "reading the queue's features");
	MemoryContextSwitchTo(cxt);
	rowcxt = AllocSetContextCreate(cxt, "hitl diverse row", ALLOCSET_DEFAULT_SIZES);
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		bool		isnull;

		i = DatumGetInt32(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		for (j = 0; j < ncols; j++)
			values[j] = SPI_getbinval(tup, SPI_tuptable->tupdesc, j + 2, &nulls[j]);
		if (i < 0 || i >= dr->n)
			elog(ERROR, "hitl: candidate %d of %d out of range", i, dr->n);
		/* the vectors in cxt, what converting a row needs in rowcxt */
		MemoryContextSwitchTo(rowcxt);
		gather_row(s, dr, i, values, nulls, proba, cxt);
		MemoryContextSwitchTo(cxt);
		MemoryContextReset(rowcxt);
	}
	SPI_freetuptable(SPI_tuptable);
	MemoryContextDelete(rowcxt);
}

/* dr's rows as strategy_math wants them (sparse rows into one CSR) */
static void
to_strategy_rows(DiverseRows *dr, StrategyRows *rows)
{
	memset(rows, 0, sizeof(*rows));
	rows->n = dr->n;
	rows->d = dr->dim;
	rows->sparse = dr->sparse;
	if (!dr->sparse)
		rows->dense = dr->dense;
	else
	{
		int64_t    *indptr = palloc(sizeof(int64_t) * (dr->n + 1));
		int64_t		total = 0;
		int		   *indices;
		double	   *vals;
		int			i;

		for (i = 0; i < dr->n; i++)
			total += dr->nnz[i];
		indices = palloc_extended(sizeof(int) * Max(total, 1), MCXT_ALLOC_HUGE);
		vals = palloc_extended(sizeof(double) * Max(total, 1), MCXT_ALLOC_HUGE);
		indptr[0] = 0;
		for (i = 0; i < dr->n; i++)
		{
			if (dr->nnz[i] > 0)
			{
				memcpy(indices + indptr[i], dr->idx[i], sizeof(int) * dr->nnz[i]);
				memcpy(vals + indptr[i], dr->val[i], sizeof(double) * dr->nnz[i]);
			}
			indptr[i + 1] = indptr[i] + dr->nnz[i];
		}
		rows->csr.n = dr->n;
		rows->csr.d = dr->dim;
		rows->csr.indptr = indptr;
		rows->csr.indices = indices;
		rows->csr.values = vals;
	}
}

void
candidates_diversify(ScoreState *s, CandidateHeap *heap)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "hitl diverse",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	const HitlVersion *v = s->version;
	DiverseRows dr = {0};
	StrategyRows rows;
	Candidate  *head;
	double	   *u;
	int		   *order;
	int			i;

	dr.n = Min(heap->n, QUEUE_DIVERSE_MAX);
	if (dr.n < 2)
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		return;
	}
	dr.sparse = s->classifier.sparse;
	dr.dim = dr.sparse ? v->d + v->n_vocabulary : v->d;
	if (dr.sparse)
	{
		dr.nnz = palloc0(sizeof(int) * dr.n);
		dr.idx = palloc0(sizeof(int *) * dr.n);
		dr.val = palloc0(sizeof(double *) * dr.n);
	}
	else
		dr.dense = palloc_extended(sizeof(double) * dr.n * Max(dr.dim, 1),
								   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	read_vectors(s, heap, &dr);
	to_strategy_rows(&dr, &rows);

	u = palloc(sizeof(double) * dr.n);
	order = palloc(sizeof(int) * dr.n);
	for (i = 0; i < dr.n; i++)
		u[i] = heap->items[i].row.uncertainty;
	strategy_diverse_order(u, &rows, STRATEGY_DIVERSE_LAMBDA, order);

	head = palloc(sizeof(Candidate) * dr.n);
	for (i = 0; i < dr.n; i++)
		head[i] = heap->items[order[i]];
	memcpy(heap->items, head, sizeof(Candidate) * dr.n);

	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}
