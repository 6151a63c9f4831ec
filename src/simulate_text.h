/*
 * simulate_text.h
 *		The text columns of a simulation's rows as the sparse vectors of
 *		simulate_sparse.h.
 */
#ifndef HITL_SIMULATE_TEXT_H
#define HITL_SIMULATE_TEXT_H

#include "postgres.h"

#include "executor/spi.h"

#include "sparse.h"
#include "textfeat.h"

/*
 * The text columns of the rows of tt (attribute numbers cols[0 ..
 * ncols - 1]; a NULL is no text) taken in the order order[0 .. n - 1]:
 * each row's terms hashed into opts->buckets buckets (textfeat.h, all its
 * text columns in one bag), weighted by sublinear tf and the idf of the n
 * rows, and L2-normalised; out's arrays are palloc'd.
 */
extern void simulate_text_rows(SPITupleTable *tt, const int *cols, int ncols, const int *order,
							   int n, const TextOptions *opts, SparseMatrix *out);

#endif
