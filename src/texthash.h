/*
 * texthash.h
 *		The hashing trick for text features.
 *
 * Plain C, no PostgreSQL types.  A term (a lexeme, or two lexemes joined by
 * one space for a bigram) is hashed with MurmurHash3 (x86, 32 bits, seed 0)
 * over its bytes; the bucket is |h| mod buckets and the sign is that of h
 * read as a signed 32-bit integer.  These are the choices of scikit-learn's
 * HashingVectorizer, so the same terms land in the same buckets with the
 * same signs there and here.
 */
#ifndef HITL_TEXTHASH_H
#define HITL_TEXTHASH_H

#include <stddef.h>
#include <stdint.h>

/* MurmurHash3_x86_32 of len bytes */
extern uint32_t texthash_murmur3(const void *key, size_t len, uint32_t seed);

/*
 * Bucket in [0, buckets) and sign (+1 or -1) of a term of len bytes.
 * buckets >= 1.
 */
extern void texthash_term(const char *term, size_t len, int buckets,
						  int *bucket, int *sign);

#endif
