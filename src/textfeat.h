/*
 * textfeat.h
 *		Text columns as hashed terms.
 *
 * A text value is split into lexemes by PostgreSQL's text search parser and
 * dictionaries (the model's text search configuration, as to_tsvector does),
 * optionally followed by its word bigrams (two consecutive lexemes joined by
 * a space); each term is hashed into one of a fixed number of buckets (see
 * texthash.h).  The terms are hashed as UTF-8 whatever the database's
 * encoding, so a model sees the same buckets in every database.
 *
 * At most max_bytes bytes of a value are read (cut at a character
 * boundary); the rest is ignored, so a very long text costs bounded memory.
 */
#ifndef HITL_TEXTFEAT_H
#define HITL_TEXTFEAT_H

#include "postgres.h"

#include "catalog.h"

typedef struct TextOptions
{
	Oid			config;			/* text search configuration */
	bool		bigrams;
	int			buckets;		/* a power of two */
	bool		sign;			/* signed counts (logistic) or plain counts */
	int			max_bytes;
} TextOptions;

/* One row's terms: buckets and their (signed) counts */
typedef struct TermBag
{
	int			n;
	int			capacity;
	int		   *bucket;
	double	   *count;
} TermBag;

/* The text options of a model (resolving its configuration's name) */
extern void textfeat_options(const HitlModel *model, TextOptions *opts);

/*
 * A text value's first max_bytes bytes at most, cut at a character boundary
 * (*len bytes of VARDATA_ANY of the result; a copy unless value was plain)
 */
extern text *textfeat_prefix(Datum value, int max_bytes, int *len);

/* Room for at least n entries in a bag */
extern void termbag_reserve(TermBag *bag, int n);

/* Empty a bag, keeping its memory */
extern void termbag_reset(TermBag *bag);

/* Called with each term of a text, in order (UTF-8, not terminated) */
typedef void (*TermFn) (const char *term, int len, void *arg);

/*
 * Call fn with each term of one text value, in the order textfeat_add
 * hashes them (hitl.explain() names a row's terms with it)
 */
extern void textfeat_terms(const TextOptions *opts, Datum value, TermFn fn, void *arg);

/* Add the terms of one text value to a bag (unsorted, duplicates kept) */
extern void textfeat_add(const TextOptions *opts, Datum value, TermBag *bag);

/* Sort the bag by bucket, summing duplicates and dropping zero sums */
extern void termbag_finish(TermBag *bag);

#endif
