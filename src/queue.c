/*
 * queue.c
 *		Ranking a scoring's review candidates and storing the review queue.
 *
 * The scan of a scoring (score.c) offers every unlabeled row to a bounded
 * heap that keeps the queue_size most uncertain (on ties, those met first):
 * ranking costs O(rows log queue_size) time and O(queue_size) memory,
 * whatever the table's size.  The candidates, ranked, replace the model's
 * queue before any score is written: they are found by ctid, which a write
 * changes.  Each is stored under its primary key as jsonb, read from the
 * table as the scoring role, and only when the row at its ctid still has
 * the key that was scored (see score_rows.c): a ctid holding a row of
 * another key means the table was rewritten, and the scoring starts over.
 * hitl.queue itself is written by the catalog layer (catalog_queue.c).
 *
 * A share of the queue (option evaluation_rate) is not chosen for its
 * uncertainty but at random among the unlabeled rows: the evaluation rows,
 * on which the labels people give measure the model's accuracy without the
 * bias of active learning (catalog_evaluation.c).  E = round(queue_size x
 * evaluation_rate) are drawn (that share of the unlabeled rows when there
 * are fewer), the heap keeps queue_size - E.  The draw is
 * a bottom-k sample: each row's key is hashed with a seed made of the
 * model's name and version, and the E rows of the lowest hashes are kept,
 * in a second bounded set beside the heap.  That is a uniform sample, as
 * Algorithm R's would be, but one that does not depend on the order the
 * scan meets the rows in: a scoring's own writes move rows in the table,
 * and the next scoring of the same version must draw the same rows.  The
 * evaluation rows are spread evenly among the ranks (the j-th of E in a
 * queue of N at rank round((j + 1) x N / (E + 1))), so that people who
 * label in queue order meet them as often as anywhere else.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "folds.h"
#include "queue.h"
#include "rowkey.h"
#include "spi_check.h"

/* The arrays of the candidates' query before the key arrays ($1 .. $6) */
#define QUEUE_FIXED_PARAMS 6

/* The aggregates of that query, in its select list */
#define QUEUE_KEYED_COLUMNS 6

/* FNV-1a's prime, to fold the hashes of several key columns */
#define DRAW_FOLD_PRIME UINT64_C(0x100000001b3)

static bool candidate_weaker(const Candidate *a, const Candidate *b);
static void heap_sift_down(Candidate *heap, int n, int i);
static void heap_sift_up(Candidate *heap, int i);
static int	candidate_rank_cmp(const void *a, const void *b);
static uint64 key_draw(const ScoreState *s, uint64 seed, const Datum *keyvals);
static void sample_offer(const ScoreState *s, CandidateHeap *heap, const Candidate *c,
						 const Datum *keyvals, const bool *keynulls);
static int	draw_cmp(const void *a, const void *b);
static void merge_sample(CandidateHeap *heap);
static void queue_params(const ScoreState *s, const CandidateHeap *heap,
						 Oid *argtypes, Datum *values);
static char *queue_keyed_sql(const ScoreState *s);
static int	uint64_cmp(const void *a, const void *b);

/* Is candidate a weaker than b: less uncertain, or as uncertain and met later? */
static bool
candidate_weaker(const Candidate *a, const Candidate *b)
{
	if (a->row.uncertainty != b->row.uncertainty)
		return a->row.uncertainty < b->row.uncertainty;
	return a->seq > b->seq;
}

/* Move heap[i] down to its place in a heap of n */
static void
heap_sift_down(Candidate *heap, int n, int i)
{
	for (;;)
	{
		int			l = 2 * i + 1;
		int			r = l + 1;
		int			m = i;
		Candidate	tmp;

		if (l < n && candidate_weaker(&heap[l], &heap[m]))
			m = l;
		if (r < n && candidate_weaker(&heap[r], &heap[m]))
			m = r;
		if (m == i)
			return;
		tmp = heap[i];
		heap[i] = heap[m];
		heap[m] = tmp;
		i = m;
	}
}

/* Move heap[i] up to its place */
static void
heap_sift_up(Candidate *heap, int i)
{
	while (i > 0)
	{
		int			p = (i - 1) / 2;
		Candidate	tmp;

		if (!candidate_weaker(&heap[i], &heap[p]))
			break;
		tmp = heap[i];
		heap[i] = heap[p];
		heap[p] = tmp;
		i = p;
	}
}

/*
 * An empty heap for a scoring's queue: E evaluation rows, drawn with a seed
 * of the model's name and version, and queue_size - E others
 */
void
candidates_init(CandidateHeap *heap, const ScoreState *s)
{
	int			queue_size = s->model->queue_size;
	int			e = (int) floor(queue_size * s->model->evaluation_rate + 0.5);

	/* none before the update from 0.1.0: nowhere to mark them */
	if (!catalog_evaluation_ready())
		e = 0;
	e = Max(0, Min(e, queue_size));
	heap->cap = queue_size - e;
	heap->items = palloc(sizeof(Candidate) * Max(heap->cap, 1));
	heap->n = 0;
	heap->sample_cap = e;
	heap->sample = palloc(sizeof(Candidate) * Max(e, 1));
	heap->nsample = 0;
	heap->sample_max = 0;
	heap->queue_size = queue_size;
	heap->rate = s->model->evaluation_rate;
	heap->offered = 0;
	heap->seed = folds_hash_bytes(s->model->name, strlen(s->model->name)) ^
		((uint64) s->version->version * UINT64_C(0x9e3779b97f4a7c15));
}

/*
 * A row's place in the random order of the rows: a hash of its key's
 * values (their bytes) and the seed, the same however the rows are met.
 */
static uint64
key_draw(const ScoreState *s, uint64 seed, const Datum *keyvals)
{
	uint64		h = seed;
	FoldsRng	rng;
	int			i;

	for (i = 0; i < s->nkeys; i++)
	{
		Datum		d = keyvals[i];
		uint64		part;

		if (s->key_byval[i])
			part = folds_hash_bytes(&d, sizeof(Datum));
		else if (s->key_typlen[i] > 0)
			part = folds_hash_bytes(DatumGetPointer(d), s->key_typlen[i]);
		else if (s->key_typlen[i] == -1)
		{
			struct varlena *v = PG_DETOAST_DATUM_PACKED(d);

			part = folds_hash_bytes(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
			if ((Pointer) v != DatumGetPointer(d))
				pfree(v);
		}
		else
			part = folds_hash_bytes(DatumGetCString(d), strlen(DatumGetCString(d)));
		h = (h ^ part) * DRAW_FOLD_PRIME;
	}
	folds_rng_init(&rng, h);
	return folds_rng_next(&rng);
}

/*
 * Offer a row to the evaluation sample: it enters while the sample is not
 * full, or in the place of the highest draw when its own is lower.
 */
static void
sample_offer(const ScoreState *s, CandidateHeap *heap, const Candidate *c,
			 const Datum *keyvals, const bool *keynulls)
{
	Candidate	e = *c;
	int			i;

	e.draw = key_draw(s, heap->seed, keyvals);
	e.evaluation = true;
	if (heap->nsample < heap->sample_cap)
	{
		e.row.key = rowkey_save(s, keyvals, keynulls);
		heap->sample[heap->nsample++] = e;
	}
	else if (e.draw < heap->sample[heap->sample_max].draw)
	{
		e.row.key = rowkey_save(s, keyvals, keynulls);
		rowkey_free(s, heap->sample[heap->sample_max].row.key);
		heap->sample[heap->sample_max] = e;
	}
	else
		return;
	/* the new highest: rare once the sample is full */
	heap->sample_max = 0;
	for (i = 1; i < heap->nsample; i++)
		if (heap->sample[i].draw > heap->sample[heap->sample_max].draw)
			heap->sample_max = i;
}

/*
 * Offer a row to the heap: it enters while the heap is not full, or in the
 * place of the weakest candidate when stronger.  Only a row that enters
 * gets a copy of its key (the heap frees the keys it drops).  The row is
 * offered to the evaluation sample too.
 */
void
candidates_offer(const ScoreState *s, CandidateHeap *heap, const ScoredRow *row,
				 uint64 seq, const Datum *keyvals, const bool *keynulls)
{
	Candidate	c;

	c.row = *row;
	c.seq = seq;
	c.draw = 0;
	c.evaluation = false;
	heap->offered++;
	if (heap->sample_cap > 0)
		sample_offer(s, heap, &c, keyvals, keynulls);
	if (heap->n < heap->cap)
	{
		c.row.key = rowkey_save(s, keyvals, keynulls);
		heap->items[heap->n] = c;
		heap_sift_up(heap->items, heap->n);
		heap->n++;
	}
	else if (heap->cap > 0 && candidate_weaker(&heap->items[0], &c))
	{
		c.row.key = rowkey_save(s, keyvals, keynulls);
		rowkey_free(s, heap->items[0].row.key);
		heap->items[0] = c;
		heap_sift_down(heap->items, heap->n, 0);
	}
}

/* qsort: strongest candidate first */
static int
candidate_rank_cmp(const void *a, const void *b)
{
	const Candidate *ca = a;
	const Candidate *cb = b;

	if (candidate_weaker(cb, ca))
		return -1;
	if (candidate_weaker(ca, cb))
		return 1;
	return 0;
}

/* qsort: lowest draw first */
static int
draw_cmp(const void *a, const void *b)
{
	const Candidate *ca = a;
	const Candidate *cb = b;

	if (ca->draw != cb->draw)
		return ca->draw < cb->draw ? -1 : 1;
	return 0;
}

int
candidates_seq_cmp(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a;
	uint64		y = *(const uint64 *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/*
 * Put the evaluation sample among the ranked candidates: a candidate that
 * is in the sample too leaves its place to it, and the j-th of the E
 * evaluation rows (by draw) takes rank round((j + 1) x N / (E + 1)) of the
 * N, or the next one free.  With fewer unlabeled rows than queue_size, E
 * is the share of those (the lowest draws of the sample: still a sample).
 */
static void
merge_sample(CandidateHeap *heap)
{
	double		pool = Min((double) heap->offered, (double) heap->queue_size);
	int			ne = Min(heap->nsample, (int) floor(pool * heap->rate + 0.5));
	uint64	   *seqs = palloc(sizeof(uint64) * Max(ne, 1));
	Candidate  *merged;
	int		   *at = palloc(sizeof(int) * Max(ne, 1));
	int			nheap = 0;
	int			n;
	int			i;
	int			j;
	int			r;

	if (ne <= 0)
		return;
	qsort(heap->sample, heap->nsample, sizeof(Candidate), draw_cmp);
	for (j = 0; j < ne; j++)
		seqs[j] = heap->sample[j].seq;
	qsort(seqs, ne, sizeof(uint64), candidates_seq_cmp);
	for (i = 0; i < heap->n; i++)
		if (bsearch(&heap->items[i].seq, seqs, ne, sizeof(uint64), candidates_seq_cmp) == NULL)
			heap->items[nheap++] = heap->items[i];
	n = nheap + ne;
	for (j = 0; j < ne; j++)
		at[j] = (int) floor((double) (j + 1) * n / (ne + 1) + 0.5) - 1;
	/* where the heap lives: a scoring that commits writes after commits */
	merged = MemoryContextAlloc(GetMemoryChunkContext(heap->items),
								sizeof(Candidate) * Max(n, 1));
	for (r = 0, i = 0, j = 0; r < n; r++)
	{
		if (j < ne && (r >= at[j] || i == nheap))
			merged[r] = heap->sample[j++];
		else
			merged[r] = heap->items[i++];
	}
	heap->items = merged;
	heap->n = n;
	heap->cap = n;
	pfree(seqs);
	pfree(at);
}

/*
 * Rank the queue: the candidates strongest first (diverse: in diverse
 * order), the sample among them
 */
void
candidates_rank(ScoreState *s, CandidateHeap *heap)
{
	qsort(heap->items, heap->n, sizeof(Candidate), candidate_rank_cmp);
	if (s->model->strategy == UNCERTAINTY_DIVERSE)
		candidates_diversify(s, heap);
	if (heap->nsample > 0)
		merge_sample(heap);
}

/*
 * The parameters of the candidates' query: $1 ctids, $2 predictions, $3
 * confidences, $4 uncertainties, $5 ranks 1..n, $6 evaluation rows or not,
 * then one array of keys per key column.
 */
static void
queue_params(const ScoreState *s, const CandidateHeap *heap, Oid *argtypes,
			 Datum *values)
{
	int			n = heap->n;
	ScoredRow  *rows = palloc(sizeof(ScoredRow) * Max(n, 1));
	Datum	   *p = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *c = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *u = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *r = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *e = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
	{
		const ScoredRow *row = &heap->items[i].row;

		rows[i] = *row;
		p[i] = CStringGetTextDatum(s->version->classes[row->cls]);
		c[i] = Float8GetDatum(row->confidence);
		u[i] = Float8GetDatum(row->uncertainty);
		r[i] = Int32GetDatum(i + 1);
		e[i] = BoolGetDatum(heap->items[i].evaluation);
	}
	argtypes[0] = TIDARRAYOID;
	argtypes[1] = TEXTARRAYOID;
	argtypes[2] = FLOAT8ARRAYOID;
	argtypes[3] = FLOAT8ARRAYOID;
	argtypes[4] = INT4ARRAYOID;
	argtypes[5] = BOOLARRAYOID;
	values[0] = rows_tid_array(rows, n);
	values[1] = PointerGetDatum(construct_array(p, n, TEXTOID, -1, false, TYPALIGN_INT));
	values[2] = PointerGetDatum(construct_array(c, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[3] = PointerGetDatum(construct_array(u, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[4] = PointerGetDatum(construct_array(r, n, INT4OID, sizeof(int32), true, TYPALIGN_INT));
	values[5] = PointerGetDatum(construct_array(e, n, BOOLOID, sizeof(bool), true, TYPALIGN_CHAR));
	for (i = 0; i < s->nkeys; i++)
	{
		argtypes[QUEUE_FIXED_PARAMS + i] = s->key_array_types[i];
		values[QUEUE_FIXED_PARAMS + i] = rowkey_array(s, rows, n, i);
	}
}

/*
 * The candidates' query: ranks, keys as jsonb, predictions, confidences and
 * uncertainties of the candidates whose ctid holds the row scored (each an
 * array, in rank order), whether each is an evaluation row, and how many
 * ctids hold another row.  It reads
 * the table as the scoring role.
 */
static char *
queue_keyed_sql(const ScoreState *s)
{
	StringInfoData sql;
	int			i;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT pg_catalog.array_agg(v.rank ORDER BY v.rank) FILTER (WHERE x.same),"
					 " pg_catalog.array_agg(%s ORDER BY v.rank) FILTER (WHERE x.same),"
					 " pg_catalog.array_agg(v.p ORDER BY v.rank) FILTER (WHERE x.same),"
					 " pg_catalog.array_agg(v.c ORDER BY v.rank) FILTER (WHERE x.same),"
					 " pg_catalog.array_agg(v.u ORDER BY v.rank) FILTER (WHERE x.same),"
					 " pg_catalog.array_agg(v.e ORDER BY v.rank) FILTER (WHERE x.same),"
					 " pg_catalog.count(*) FILTER (WHERE NOT x.same)"
					 " FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
					 " pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5),"
					 " pg_catalog.unnest($6)",
					 rowkey_sql(s->model, "t"));
	for (i = 0; i < s->nkeys; i++)
		appendStringInfo(&sql, ", pg_catalog.unnest($%d)", QUEUE_FIXED_PARAMS + 1 + i);
	appendStringInfoString(&sql, ") AS v(tid, p, c, u, rank, e");
	for (i = 0; i < s->nkeys; i++)
		appendStringInfo(&sql, ", k%d", i);
	appendStringInfo(&sql, ") JOIN %s t ON t.ctid OPERATOR(pg_catalog.=) v.tid"
					 " CROSS JOIN LATERAL (SELECT ", s->model->source_text);
	for (i = 0; i < s->nkeys; i++)
		appendStringInfo(&sql, "%st.%s %s v.k%d", i > 0 ? " AND " : "",
						 quote_identifier(s->model->key_columns[i]),
						 s->key_eq[i], i);
	appendStringInfoString(&sql, " AS same) x");
	return sql.data;
}

/*
 * Replace the model's review candidates.  Runs before any score is written:
 * the candidates are found by ctid, which a write changes, and kept only
 * when the row there has the key that was scored.  A ctid that holds a row
 * of another key (the scan's ctids are stale) sets s->restart and leaves
 * the queue as it was, so that its readers never see it empty meanwhile.
 */
void
queue_store(ScoreState *s, const CandidateHeap *heap)
{
	int			nparams = QUEUE_FIXED_PARAMS + s->nkeys;
	Oid		   *argtypes = palloc(sizeof(Oid) * nparams);
	Datum	   *values = palloc(sizeof(Datum) * nparams);
	Datum		keyed[QUEUE_KEYED_COLUMNS];
	bool		isnull;
	int			i;
	int			ret;

	if (heap->n == 0)
	{
		catalog_queue_clear(s->model->name);
		return;
	}

	queue_params(s, heap, argtypes, values);
	ret = SPI_execute_with_args(queue_keyed_sql(s), nparams, argtypes, values,
								NULL, false, 0);
	hitl_spi_check_rows(ret, SPI_OK_SELECT, 1, "reading the queue's keys");
	if (DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
									QUEUE_KEYED_COLUMNS + 1, &isnull)) > 0)
	{
		/* the queue stays as it was for its readers until the new pass */
		s->restart = true;
		return;
	}
	for (i = 0; i < QUEUE_KEYED_COLUMNS; i++)
	{
		keyed[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &isnull);
		if (isnull)
			break;				/* none of the candidates is there any more */
		keyed[i] = datumCopy(keyed[i], false, -1);
	}
	catalog_queue_clear(s->model->name);
	if (i < QUEUE_KEYED_COLUMNS)
		return;
	catalog_queue_fill(s->model->name, s->version->version, keyed[0], keyed[1],
					   keyed[2], keyed[3], keyed[4], keyed[5], (int64) heap->n);
}

/* A ctid as one integer, in the ctids' order */
static inline uint64
tid_key(const ItemPointerData *tid)
{
	return ((uint64) ItemPointerGetBlockNumberNoCheck(tid) << 16) |
		ItemPointerGetOffsetNumberNoCheck(tid);
}

/* qsort comparison of two uint64 */
static int
uint64_cmp(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a;
	uint64		y = *(const uint64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * Mark the rows of changed that are among the candidates (in_queue), which
 * the scoring writes first.
 */
void
queue_mark_members(const CandidateHeap *heap, RowList *changed)
{
	uint64	   *keys = palloc(sizeof(uint64) * Max(heap->n, 1));
	int64		i;
	int			k;

	/* a ctid as one integer (block, then line pointer): compared inline */
	for (k = 0; k < heap->n; k++)
		keys[k] = tid_key(&heap->items[k].row.tid);
	qsort(keys, heap->n, sizeof(uint64), uint64_cmp);
	for (i = 0; i < changed->n; i++)
	{
		uint64		key = tid_key(&changed->rows[i].tid);
		int			lo = 0;
		int			hi = heap->n;

		while (lo < hi)
		{
			int			mid = lo + (hi - lo) / 2;

			if (keys[mid] < key)
				lo = mid + 1;
			else
				hi = mid;
		}
		changed->rows[i].in_queue = lo < heap->n && keys[lo] == key;
	}
	pfree(keys);
}
