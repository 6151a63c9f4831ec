/*
 * numeric_alloc.h
 *		Memory allocation for hitl's numerics.
 *
 * The numerical code (scaler, logreg, metrics, crossval) is plain C with no
 * PostgreSQL types.  It allocates through these two functions.  Inside the
 * server they map to palloc/pfree in the current memory context, so an error
 * or a cancel that unwinds through the numerics loses nothing; in the
 * standalone unit tests (HITL_STANDALONE) they map to malloc/free.
 */
#ifndef HITL_NUMERIC_ALLOC_H
#define HITL_NUMERIC_ALLOC_H

#include <stddef.h>

/* Zeroed allocation; never returns NULL (the server raises an error instead) */
extern void *hitl_alloc(size_t size);
extern void hitl_free(void *ptr);

/*
 * Called from long numeric loops.  Inside the server it is
 * CHECK_FOR_INTERRUPTS(), so pg_cancel_backend() works mid-training.
 */
extern void hitl_check_interrupts(void);

#endif
