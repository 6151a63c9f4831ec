/*
 * termcache.h
 *		Each row's hashed term counts, kept in the row so that scoring and
 *		training read them instead of parsing the text again.
 *
 * Design.  Parsing (text search parser and dictionaries) and hashing are
 * most of the cost of a text model's scoring: a rescoring of 1,000,000
 * rows of about 20 words took 13.8 s parsing every row and 2.4 s reading
 * cached counts, so 83% of it was parsing and hashing (test/bench/README.md,
 * term_cache.sh).  So a text model adds one bytea column to its table,
 * "hitl_terms_<model>", beside its output columns, and a BEFORE INSERT OR
 * UPDATE OF <its text columns>, <that column> row trigger that fills it
 * (termcache_trigger.c).  The value is the row's finished bag (textfeat.h):
 * its buckets, ascending, and their summed (signed) counts, before tf, idf
 * and normalisation, which depend on the version and stay a cheap pass
 * over these counts (sparserow.c).
 *
 * Why a column and a trigger: the counts are in the same row version as
 * the text, so a rollback, a DELETE, a TRUNCATE, a COPY (row triggers
 * fire), an UPDATE that does not touch the text (the value is kept as it
 * is), pg_dump and restore (dumped with the table) and a concurrent
 * update need no more thought.  A side table keyed by row would need
 * AFTER triggers for each of these, a join at every scoring, and its own
 * vacuuming.
 *
 * Never stale, whatever wrote the value: the value carries two 64-bit
 * hashes, and a reader uses it only when both match, else parses the text
 * as before ("parse now"):
 *	- a fingerprint of what the tokenization depends on: the model's text
 *	  options (buckets, bigrams, signed counts, max_text_bytes), the
 *	  database's encoding, and the configuration's parser, its token-type to
 *	  dictionaries map, each dictionary's template and options.  An ALTER
 *	  TEXT SEARCH CONFIGURATION or DICTIONARY changes it, and so does a
 *	  restore into a database where the configuration has other OIDs (the
 *	  built-in ones keep theirs);
 *	- a hash of the text the model reads (each text column's first
 *	  max_text_bytes bytes, and which are NULL).  A value written while the
 *	  trigger was disabled, by a replica (session_replication_role), by a
 *	  user writing the column, or copied from another row fails it.
 * Checking the text hash costs a hash of bytes already read by the scan
 * (and a detoast of a text stored out of line or compressed), a small part
 * of parsing them.  A damaged value (wrong
 * length, buckets out of range or not ascending) is refused the same way.
 *
 * Rows written before the model existed have a NULL value until filled:
 * create_model fills them (an UPDATE setting the column to NULL fires the
 * trigger, which computes the value), and hitl.refresh_term_cache(model)
 * fills the rows whose value is missing or no longer matches, after a
 * configuration change or a restore.
 *
 * Security: the trigger runs as whoever writes the table.  It runs no SQL
 * and no user function: its arguments name the configuration
 * schema-qualified and the columns, it resolves them without search_path,
 * and parses as to_tsvector(regconfig, text) does.
 *
 * Models sharing a table each have their own column (their options may
 * differ); drop_model drops the column and the trigger.
 */
#ifndef HITL_TERMCACHE_H
#define HITL_TERMCACHE_H

#include "postgres.h"

#include "catalog.h"
#include "textfeat.h"

/* The name of a model's cache column and of its trigger */
extern char *termcache_column_name(const char *model_name);

/*
 * ", alias.<cache column>" when the model has its cache column (of type
 * bytea), else ", NULL::bytea": the last column of a scan's select list
 */
extern char *termcache_select(const HitlModel *model, const char *alias);

/* The fingerprint of what tokenization depends on (see above) */
extern uint64 termcache_fingerprint(const TextOptions *opts);

/*
 * The hash of the text a model reads: texts[0..n-1] (the model's text
 * columns in order), nulls[i] when NULL
 */
extern uint64 termcache_text_hash(const TextOptions *opts, int n, const Datum *texts,
								  const bool *nulls);

/* A finished bag (termbag_finish) and its hashes as a bytea */
extern bytea *termcache_encode(uint64 fingerprint, uint64 text_hash, const TermBag *bag);

/*
 * Decode a cached value into bag (a finished bag) when its hashes match
 * and it is well formed; false (bag emptied) otherwise.
 */
extern bool termcache_decode(Datum value, uint64 fingerprint, uint64 text_hash,
							 int buckets, TermBag *bag);

/*
 * Reading a value entry by entry, for a scan that puts each entry straight
 * where it is used (sparserow.c): termcache_open checks the header (false
 * when the fingerprint does not match, or n is more than the model's
 * buckets or than the size can hold), then termcache_next gives the n
 * entries in order, each checked as termcache_decode checks it (false: a
 * damaged value, to be parsed again), then termcache_done says whether
 * the value ended there.  The
 * caller compares text_hash with the row's text's hash itself, before or
 * after the entries: the value is the row's only when both match.  The
 * entries are read inline: a call per entry cost a scan more than the
 * reading itself.
 */
typedef struct TermCacheReader
{
	const char *p;				/* the next entry */
	const char *end;
	uint64		text_hash;		/* the hash of the text the value was made of */
	int32		n;				/* entries */
	int32		buckets;		/* the model's buckets, the bound of each */
	int64		bucket;			/* the last entry's bucket, -1 before the first */
} TermCacheReader;

extern bool termcache_open(Datum value, uint64 fingerprint, int buckets,
						   TermCacheReader *rd);

/*
 * A variable-length integer at p, not past end, into *v (see termcache.c
 * for the format); returns the byte after it, or NULL when it runs past
 * end or past 32 bits.  Nearly all take one to three bytes (a count, a
 * bucket's distance from the previous one): those are read first.
 */
static inline const char *
termcache_varint(const char *p, const char *end, uint32 *v)
{
	uint32		result = 0;
	int			shift = 0;

	if (end - p >= 3)
	{
		uint32		b0 = (unsigned char) p[0];
		uint32		b1 = (unsigned char) p[1];
		uint32		b2 = (unsigned char) p[2];

		if (b0 < 0x80)
		{
			*v = b0;
			return p + 1;
		}
		if (b1 < 0x80)
		{
			*v = (b0 & 0x7f) | (b1 << 7);
			return p + 2;
		}
		if (b2 < 0x80)
		{
			*v = (b0 & 0x7f) | ((b1 & 0x7f) << 7) | (b2 << 14);
			return p + 3;
		}
	}
	while (p < end)
	{
		uint32		b = (unsigned char) *p++;

		if (shift == 28 && b > 0x0f)
			return NULL;
		result |= (b & 0x7f) << shift;
		if (b < 0x80)
		{
			*v = result;
			return p;
		}
		shift += 7;
		if (shift > 28)
			return NULL;
	}
	return NULL;
}

/*
 * The next entry of rd: its bucket and its count (a whole number, never
 * zero); false when it is damaged (past the value's end, a bucket not
 * above the previous one or out of range, a zero count)
 */
static inline bool
termcache_next(TermCacheReader *rd, int32 *bucket, int32 *count)
{
	uint32		delta;
	uint32		zz;

	if ((rd->p = termcache_varint(rd->p, rd->end, &delta)) == NULL ||
		(rd->p = termcache_varint(rd->p, rd->end, &zz)) == NULL)
		return false;
	*count = (int32) (zz >> 1) ^ -(int32) (zz & 1);
	if (rd->bucket >= 0 && delta == 0)
		return false;
	rd->bucket = Max(rd->bucket, 0) + delta;
	if (rd->bucket >= rd->buckets || *count == 0)
		return false;
	*bucket = (int32) rd->bucket;
	return true;
}

/* Did the entries end at the value's end? */
static inline bool
termcache_done(const TermCacheReader *rd)
{
	return rd->p == rd->end;
}

/*
 * Note how many rows of the last scan read their counts from the cache
 * (hits) and how many were parsed (misses); hitl._term_cache_last()
 * returns them
 */
extern void termcache_note(int64 hits, int64 misses);

#endif
