/*
 * termcache.c
 *		The cached term counts of a row: its name, hashes and encoding (see
 *		termcache.h for the design).
 *
 * A value is, its header's integers in the machine's byte order (a value
 * moved to a machine of the other order fails the magic number and is
 * parsed again):
 *
 *		uint32	magic (TERMCACHE_MAGIC, which says the format's version)
 *		int32	n, the bag's entries
 *		uint64	fingerprint
 *		uint64	text hash
 *		n entries, each two variable-length integers (7 bits a byte, low
 *		bits first, the high bit set on all bytes but the last):
 *			the bucket, less the previous entry's bucket (the first: the
 *			bucket itself); buckets strictly ascend, each in [0, buckets)
 *			the count, zigzag-coded (0, -1, 1, -2 ... as 0, 1, 2, 3 ...),
 *			never zero
 *
 * Counts are whole numbers (sums of +-1 or of 1), so they are stored as
 * integers and read back as the very doubles termbag_finish made.  A row's
 * buckets lie about buckets / n apart and most counts are 1: an entry takes
 * about 3 bytes, where two int32 took 8, and the table a scoring reads is
 * that much smaller.  The entries are read by termcache_next, in
 * termcache.h so that a scan's loop reads them inline.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_ts_dict.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "tsearch/ts_cache.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "termcache.h"

#define TERMCACHE_MAGIC 0x48544332	/* "HTC2" */
#define TERMCACHE_HEADER (2 * sizeof(uint32) + 2 * sizeof(uint64))

/* The most bytes of a variable-length 32-bit integer */
#define VARINT_MAX_BYTES 5

static char *put_varint(char *p, uint32 v);

static void fingerprint_dictionary(StringInfo buf, Oid dict);

/* the last scan's counts, in this backend */
static int64 last_hits = 0;
static int64 last_misses = 0;

void
termcache_note(int64 hits, int64 misses)
{
	last_hits = hits;
	last_misses = misses;
	elog(DEBUG1, "hitl: " INT64_FORMAT " rows read their term counts from the cache, "
		 INT64_FORMAT " were parsed", hits, misses);
}

PG_FUNCTION_INFO_V1(hitl_term_cache_last);

/* hitl._term_cache_last(): the rows of this backend's last scan, read and parsed */
Datum
hitl_term_cache_last(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "hitl: return type must be a row type");
	values[0] = Int64GetDatum(last_hits);
	values[1] = Int64GetDatum(last_misses);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

char *
termcache_column_name(const char *model_name)
{
	return psprintf("hitl_terms_%s", model_name);
}

char *
termcache_select(const HitlModel *model, const char *alias)
{
	char	   *column = termcache_column_name(model->name);
	AttrNumber	att = get_attnum(model->source, column);

	if (model->text_config == NULL || att == InvalidAttrNumber ||
		get_atttype(model->source, att) != BYTEAOID)
		return ", NULL::pg_catalog.bytea";
	return psprintf(", %s.%s", alias, quote_identifier(column));
}

/* A dictionary's template and options, into buf */
static void
fingerprint_dictionary(StringInfo buf, Oid dict)
{
	HeapTuple	tp = SearchSysCache1(TSDICTOID, ObjectIdGetDatum(dict));
	Form_pg_ts_dict form;
	Datum		options;
	bool		isnull;

	appendBinaryStringInfo(buf, (char *) &dict, sizeof(dict));
	if (!HeapTupleIsValid(tp))
		return;
	form = (Form_pg_ts_dict) GETSTRUCT(tp);
	appendBinaryStringInfo(buf, (char *) &form->dicttemplate, sizeof(Oid));
	options = SysCacheGetAttr(TSDICTOID, tp, Anum_pg_ts_dict_dictinitoption, &isnull);
	if (!isnull)
	{
		char	   *s = TextDatumGetCString(options);

		appendStringInfoString(buf, s);
		pfree(s);
	}
	appendStringInfoChar(buf, '\0');
	ReleaseSysCache(tp);
}

/*
 * The options, the encoding, then the configuration: its parser and, for
 * each token type, the number of its dictionaries and each of them.
 */
uint64
termcache_fingerprint(const TextOptions *opts)
{
	TSConfigCacheEntry *cfg = lookup_ts_config_cache(opts->config);
	StringInfoData buf;
	int32		head[6];
	uint64		result;
	int			i;
	int			j;

	head[0] = TERMCACHE_MAGIC;
	head[1] = opts->buckets;
	head[2] = opts->bigrams;
	head[3] = opts->sign;
	head[4] = opts->max_bytes;
	head[5] = GetDatabaseEncoding();
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, (char *) head, sizeof(head));
	appendBinaryStringInfo(&buf, (char *) &cfg->cfgId, sizeof(Oid));
	appendBinaryStringInfo(&buf, (char *) &cfg->prsId, sizeof(Oid));
	for (i = 0; i < cfg->lenmap; i++)
	{
		int32		len = cfg->map[i].len;

		appendBinaryStringInfo(&buf, (char *) &i, sizeof(i));
		appendBinaryStringInfo(&buf, (char *) &len, sizeof(len));
		for (j = 0; j < len; j++)
			fingerprint_dictionary(&buf, cfg->map[i].dictIds[j]);
	}
	result = hash_bytes_extended((const unsigned char *) buf.data, buf.len, 0);
	pfree(buf.data);
	return result;
}

/* Each column: whether NULL, its length, its bytes, chained by the seed */
uint64
termcache_text_hash(const TextOptions *opts, int n, const Datum *texts, const bool *nulls)
{
	uint64		h = 0x68746331;
	int			i;

	for (i = 0; i < n; i++)
	{
		text	   *t;
		int			len;

		if (nulls[i])
		{
			h = hash_bytes_extended((const unsigned char *) "", 0, h ^ 0x9e3779b97f4a7c15);
			continue;
		}
		t = textfeat_prefix(texts[i], opts->max_bytes, &len);
		h = hash_bytes_extended((const unsigned char *) VARDATA_ANY(t), len,
								h + (uint64) len + 1);
		if ((Pointer) t != DatumGetPointer(texts[i]))
			pfree(t);
	}
	return h;
}

/* Write v as a variable-length integer at p; returns the byte after it */
static char *
put_varint(char *p, uint32 v)
{
	while (v >= 0x80)
	{
		*p++ = (char) ((v & 0x7f) | 0x80);
		v >>= 7;
	}
	*p++ = (char) v;
	return p;
}

bytea *
termcache_encode(uint64 fingerprint, uint64 text_hash, const TermBag *bag)
{
	Size		room = TERMCACHE_HEADER + 2 * VARINT_MAX_BYTES * (Size) bag->n;
	bytea	   *result = palloc(VARHDRSZ + room);
	char	   *start = VARDATA(result);
	char	   *p = start;
	uint32		magic = TERMCACHE_MAGIC;
	int32		n = bag->n;
	int32		prev = 0;
	int			i;

	memcpy(p, &magic, sizeof(magic));
	memcpy(p + 4, &n, sizeof(n));
	memcpy(p + 8, &fingerprint, sizeof(fingerprint));
	memcpy(p + 16, &text_hash, sizeof(text_hash));
	p += TERMCACHE_HEADER;
	for (i = 0; i < n; i++)
	{
		int32		b = bag->bucket[i];
		int32		c = (int32) rint(bag->count[i]);

		p = put_varint(p, (uint32) (b - prev));
		p = put_varint(p, ((uint32) c << 1) ^ (uint32) (c >> 31));
		prev = b;
	}
	SET_VARSIZE(result, VARHDRSZ + (p - start));
	return result;
}

bool
termcache_open(Datum value, uint64 fingerprint, int buckets, TermCacheReader *rd)
{
	bytea	   *v = DatumGetByteaPP(value);
	const char *p = VARDATA_ANY(v);
	Size		size = VARSIZE_ANY_EXHDR(v);
	uint32		magic;
	int32		n;
	uint64		fp;
	uint64		th;

	if (size < TERMCACHE_HEADER)
		return false;
	memcpy(&magic, p, sizeof(magic));
	memcpy(&n, p + 4, sizeof(n));
	memcpy(&fp, p + 8, sizeof(fp));
	memcpy(&th, p + 16, sizeof(th));
	/*
	 * An entry takes two bytes at least, and has a bucket of its own: a
	 * value claiming more entries is refused before room is made for them
	 */
	if (magic != TERMCACHE_MAGIC || fp != fingerprint || n < 0 || n > buckets ||
		(Size) n > (size - TERMCACHE_HEADER) / 2)
		return false;
	rd->p = p + TERMCACHE_HEADER;
	rd->end = p + size;
	rd->text_hash = th;
	rd->n = n;
	rd->buckets = buckets;
	rd->bucket = -1;
	return true;
}

bool
termcache_decode(Datum value, uint64 fingerprint, uint64 text_hash, int buckets,
				 TermBag *bag)
{
	TermCacheReader rd;
	int			i;

	bag->n = 0;
	if (!termcache_open(value, fingerprint, buckets, &rd) || rd.text_hash != text_hash)
		return false;
	termbag_reserve(bag, rd.n);
	for (i = 0; i < rd.n; i++)
	{
		int32		bucket;
		int32		c;

		if (!termcache_next(&rd, &bucket, &c))
			return false;
		bag->bucket[i] = bucket;
		bag->count[i] = (double) c;
	}
	if (!termcache_done(&rd))
		return false;
	bag->n = rd.n;
	return true;
}
