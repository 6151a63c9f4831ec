/*
 * textfeat.c
 *		Text columns as hashed terms (see textfeat.h), and hitl.text_terms().
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "tsearch/ts_type.h"
#include "tsearch/ts_utils.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/regproc.h"

#include "compat.h"
#include "texthash.h"
#include "textfeat.h"

/*
 * Hand a term to fn as UTF-8.  A SQL_ASCII database has no encoding to
 * convert from: its bytes are hashed as they are.
 */
static void
emit_term(const char *term, int len, TermFn fn, void *arg)
{
	char	   *utf8;

	if (GetDatabaseEncoding() == PG_SQL_ASCII)
	{
		fn(term, len, arg);
		return;
	}
	utf8 = pg_server_to_any(term, len, PG_UTF8);

	fn(utf8, utf8 == term ? len : (int) strlen(utf8), arg);
	if (utf8 != term)
		pfree(utf8);
}

/*
 * The terms of buf[0..len-1]: each lexeme, then, with bigrams, each pair of
 * consecutive lexemes (a dictionary giving several lexemes for one word
 * pairs only the first with its neighbours).
 */
static void
for_each_term(Oid config, bool bigrams, char *buf, int len, TermFn fn, void *arg)
{
	ParsedText	prs;
	StringInfoData pair;
	int			prev = -1;
	int			i;

	prs.lenwords = Max(len / 6, 2);
	if ((Size) prs.lenwords > MaxAllocSize / sizeof(ParsedWord))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a text value of %d bytes is too long to split into terms", len),
				 errhint("Lower the option max_text_bytes: the rest of a longer text is ignored.")));
	prs.curwords = 0;
	prs.pos = 0;
	prs.words = palloc(sizeof(ParsedWord) * prs.lenwords);
	parsetext(config, &prs, buf, len);

	for (i = 0; i < prs.curwords; i++)
		emit_term(prs.words[i].word, prs.words[i].len, fn, arg);
	if (bigrams)
	{
		initStringInfo(&pair);
		for (i = 0; i < prs.curwords; i++)
		{
			ParsedWord *w = &prs.words[i];

			/* another lexeme of the same word (positions saturate at the last) */
			if (prev >= 0 && w->pos.pos == prs.words[prev].pos.pos &&
				w->pos.pos < MAXENTRYPOS - 1)
				continue;
			if (prev >= 0)
			{
				resetStringInfo(&pair);
				appendBinaryStringInfo(&pair, prs.words[prev].word, prs.words[prev].len);
				appendStringInfoChar(&pair, ' ');
				appendBinaryStringInfo(&pair, w->word, w->len);
				emit_term(pair.data, pair.len, fn, arg);
			}
			prev = i;
		}
		pfree(pair.data);
	}
	for (i = 0; i < prs.curwords; i++)
		pfree(prs.words[i].word);
	pfree(prs.words);
}

/*
 * A text value's first max_bytes bytes at most, cut at a character
 * boundary.  A value stored in line and not compressed is read where it
 * is; only the others are fetched (their first max_bytes bytes).
 */
text *
textfeat_prefix(Datum value, int max_bytes, int *len)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(value);
	text	   *t;
	int			n;

	if (max_bytes > 0 && !VARATT_IS_EXTERNAL(v) && !VARATT_IS_COMPRESSED(v))
		t = (text *) v;
	else
		t = DatumGetTextPSlice(value, 0, max_bytes);
	n = VARSIZE_ANY_EXHDR(t);
	if (max_bytes > 0 && n > max_bytes)
		n = max_bytes;

	/* a value cut short may end inside a character: drop its bytes */
	*len = n >= max_bytes ? pg_mbcliplen(VARDATA_ANY(t), n, n) : n;
	return t;
}

/* The text options of a model, resolving its configuration's name */
void
textfeat_options(const HitlModel *model, TextOptions *opts)
{
	List	   *names = hitl_qualified_name_list(model->text_config);

	opts->config = get_ts_config_oid(names, false);
	opts->bigrams = model->bigrams;
	opts->buckets = model->buckets;
	opts->sign = model->algorithm == MODEL_LOGISTIC;
	opts->max_bytes = model->max_text_bytes;
}

/* Empty a bag, keeping its arrays for the next row */
void
termbag_reset(TermBag *bag)
{
	bag->n = 0;
}

/* Room for at least n entries in a bag (its arrays stay in their context) */
void
termbag_reserve(TermBag *bag, int n)
{
	if (n <= bag->capacity)
		return;
	if (bag->capacity == 0)
		bag->capacity = 256;
	if ((Size) n > MaxAllocSize / sizeof(double))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a row has too many terms: more than %d",
						(int) (MaxAllocSize / sizeof(double))),
				 errhint("Lower the option max_text_bytes, or use fewer text columns.")));
	while (bag->capacity < n)
		bag->capacity = (Size) bag->capacity * 2 > MaxAllocSize / sizeof(double) ?
			(int) (MaxAllocSize / sizeof(double)) : bag->capacity * 2;
	if (bag->bucket == NULL)
	{
		bag->bucket = palloc(sizeof(int) * bag->capacity);
		bag->count = palloc(sizeof(double) * bag->capacity);
	}
	else
	{
		bag->bucket = repalloc(bag->bucket, sizeof(int) * bag->capacity);
		bag->count = repalloc(bag->count, sizeof(double) * bag->capacity);
	}
}

typedef struct HashArg
{
	const TextOptions *opts;
	TermBag    *bag;
} HashArg;

/* Add one term's bucket and (signed) count to the bag, growing it */
static void
hash_term(const char *term, int len, void *arg)
{
	HashArg    *h = (HashArg *) arg;
	TermBag    *bag = h->bag;
	int			bucket;
	int			sign;

	texthash_term(term, len, h->opts->buckets, &bucket, &sign);
	if (bag->n == bag->capacity)
		termbag_reserve(bag, bag->n + 1);
	bag->bucket[bag->n] = bucket;
	bag->count[bag->n] = h->opts->sign ? (double) sign : 1.0;
	bag->n++;
}

/*
 * Call fn with each term of one text value (its first max_bytes bytes), as
 * UTF-8, freeing the detoasted copy.
 */
void
textfeat_terms(const TextOptions *opts, Datum value, TermFn fn, void *arg)
{
	int			len;
	text	   *t = textfeat_prefix(value, opts->max_bytes, &len);

	if (len > 0)
		for_each_term(opts->config, opts->bigrams, VARDATA_ANY(t), len, fn, arg);
	if ((Pointer) t != DatumGetPointer(value))
		pfree(t);
}

/* Add the terms of one text value to a bag */
void
textfeat_add(const TextOptions *opts, Datum value, TermBag *bag)
{
	HashArg		h = {opts, bag};

	textfeat_terms(opts, value, hash_term, &h);
}

/* qsort: ascending int64 */
static int
int64_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* sort (bucket, count) pairs by bucket */
static void
sort_pairs(int *bucket, double *count, int n)
{
	int			i;

	/* insertion sort for short bags, else qsort on packed pairs */
	if (n < 32)
	{
		for (i = 1; i < n; i++)
		{
			int			b = bucket[i];
			double		c = count[i];
			int			j = i - 1;

			while (j >= 0 && bucket[j] > b)
			{
				bucket[j + 1] = bucket[j];
				count[j + 1] = count[j];
				j--;
			}
			bucket[j + 1] = b;
			count[j + 1] = c;
		}
	}
	else
	{
		int64	   *packed = palloc(sizeof(int64) * n);

		/* a count is +-1 per term before merging: pack sign with bucket */
		for (i = 0; i < n; i++)
			packed[i] = ((int64) bucket[i] << 1) | (count[i] < 0 ? 1 : 0);
		qsort(packed, n, sizeof(int64), int64_cmp);
		for (i = 0; i < n; i++)
		{
			bucket[i] = (int) (packed[i] >> 1);
			count[i] = (packed[i] & 1) ? -1.0 : 1.0;
		}
		pfree(packed);
	}
}

/* Sort the bag by bucket, summing duplicates and dropping zero sums */
void
termbag_finish(TermBag *bag)
{
	int			out = 0;
	int			i;

	sort_pairs(bag->bucket, bag->count, bag->n);
	for (i = 0; i < bag->n; i++)
	{
		if (out > 0 && bag->bucket[out - 1] == bag->bucket[i])
			bag->count[out - 1] += bag->count[i];
		else
		{
			if (out > 0 && bag->count[out - 1] == 0.0)
				out--;
			bag->bucket[out] = bag->bucket[i];
			bag->count[out] = bag->count[i];
			out++;
		}
	}
	if (out > 0 && bag->count[out - 1] == 0.0)
		out--;
	bag->n = out;
}

/* hitl.text_terms(): collect the terms as text */
typedef struct CollectArg
{
	Datum	   *terms;
	int			n;
	int			capacity;
} CollectArg;

/* Append one term, in the database's encoding, as a text Datum */
static void
collect_term(const char *term, int len, void *arg)
{
	CollectArg *c = (CollectArg *) arg;
	char	   *server = GetDatabaseEncoding() == PG_SQL_ASCII ?
		pnstrdup(term, len) : pg_any_to_server(term, len, PG_UTF8);

	if (c->n == c->capacity)
	{
		c->capacity *= 2;
		c->terms = repalloc(c->terms, sizeof(Datum) * c->capacity);
	}
	c->terms[c->n++] = PointerGetDatum(cstring_to_text_with_len(server, strlen(server)));
}

PG_FUNCTION_INFO_V1(hitl_text_terms);

/*
 * hitl.text_terms(document text, config regconfig, bigrams boolean)
 * returns text[]: the terms a model hashes, in order.
 */
Datum
hitl_text_terms(PG_FUNCTION_ARGS)
{
	text	   *doc = PG_GETARG_TEXT_PP(0);
	Oid			config = PG_GETARG_OID(1);
	bool		bigrams = PG_GETARG_BOOL(2);
	CollectArg	c;

	c.n = 0;
	c.capacity = 64;
	c.terms = palloc(sizeof(Datum) * c.capacity);
	if (VARSIZE_ANY_EXHDR(doc) > 0)
		for_each_term(config, bigrams, VARDATA_ANY(doc), VARSIZE_ANY_EXHDR(doc),
					  collect_term, &c);
	PG_RETURN_ARRAYTYPE_P(construct_array(c.terms, c.n, TEXTOID, -1, false, TYPALIGN_INT));
}
