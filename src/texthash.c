/*
 * texthash.c
 *		MurmurHash3 (x86, 32 bits) and the bucket and sign of a term.
 *
 * The hash follows Austin Appleby's published description of
 * MurmurHash3_x86_32: 4-byte little-endian blocks mixed with the constants
 * c1 and c2, the 1 to 3 trailing bytes mixed the same way, then the length
 * and the 32-bit finaliser.  The result does not depend on the machine's
 * byte order.
 */
#include "texthash.h"

#define MURMUR_C1 0xcc9e2d51u
#define MURMUR_C2 0x1b873593u

/* rotate x left by r bits */
static inline uint32_t
rotl32(uint32_t x, int r)
{
	return (x << r) | (x >> (32 - r));
}

/* the mixing applied to every 4-byte block (and to the tail) */
static inline uint32_t
mix_block(uint32_t k)
{
	k *= MURMUR_C1;
	k = rotl32(k, 15);
	k *= MURMUR_C2;
	return k;
}

/* the final avalanche */
static inline uint32_t
finalise(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* MurmurHash3_x86_32 of len bytes, block by block, then the tail */
uint32_t
texthash_murmur3(const void *key, size_t len, uint32_t seed)
{
	const unsigned char *p = (const unsigned char *) key;
	size_t		nblocks = len / 4;
	uint32_t	h = seed;
	uint32_t	tail = 0;
	size_t		i;

	for (i = 0; i < nblocks; i++)
	{
		const unsigned char *b = p + 4 * i;
		uint32_t	k = (uint32_t) b[0] | ((uint32_t) b[1] << 8) |
			((uint32_t) b[2] << 16) | ((uint32_t) b[3] << 24);

		h ^= mix_block(k);
		h = rotl32(h, 13);
		h = h * 5 + 0xe6546b64u;
	}

	p += 4 * nblocks;
	switch (len & 3)
	{
		case 3:
			tail ^= (uint32_t) p[2] << 16;
			/* FALLTHROUGH */
		case 2:
			tail ^= (uint32_t) p[1] << 8;
			/* FALLTHROUGH */
		case 1:
			tail ^= (uint32_t) p[0];
			h ^= mix_block(tail);
	}

	h ^= (uint32_t) len;
	return finalise(h);
}

/* The bucket and sign of a term, as scikit-learn's HashingVectorizer */
void
texthash_term(const char *term, size_t len, int buckets, int *bucket, int *sign)
{
	int32_t		h = (int32_t) texthash_murmur3(term, len, 0);

	/* |INT32_MIN| does not fit: scikit-learn maps it as below, and so do we */
	if (h == INT32_MIN)
		*bucket = (int) ((INT32_MAX - (int64_t) (buckets - 1)) % buckets);
	else
		*bucket = (int) ((h < 0 ? -(int64_t) h : (int64_t) h) % buckets);
	*sign = h >= 0 ? 1 : -1;
}
