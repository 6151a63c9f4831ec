/*
 * sparse.h
 *		Compressed sparse rows, the shape of text features.
 *
 * Plain C, no PostgreSQL types.  Row i's non-zeros are
 * indices[indptr[i] .. indptr[i + 1] - 1] (columns, ascending) with the
 * matching values.  Memory is proportional to the non-zeros, never to
 * rows x columns.
 */
#ifndef HITL_SPARSE_H
#define HITL_SPARSE_H

#include <stdint.h>

typedef struct SparseMatrix
{
	int			n;				/* rows */
	int			d;				/* columns */
	const int64_t *indptr;		/* n + 1 offsets, indptr[0] == 0 */
	const int  *indices;		/* columns in [0, d), ascending within a row */
	const double *values;
} SparseMatrix;

#endif
