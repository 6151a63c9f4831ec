/*
 * hashmix.h
 *		A 64-bit finaliser (splitmix64's), shared by the hashes of training
 *		data: every bit of its input moves about half of its output's bits,
 *		and it is one to one.
 *
 * Plain C, no PostgreSQL types.
 */
#ifndef HITL_HASHMIX_H
#define HITL_HASHMIX_H

#include <stdint.h>

static inline uint64_t
hash_mix64(uint64_t v)
{
	v ^= v >> 30;
	v *= UINT64_C(0xbf58476d1ce4e5b9);
	v ^= v >> 27;
	v *= UINT64_C(0x94d049bb133111eb);
	v ^= v >> 31;
	return v;
}

#endif
