/*
 * numeric_alloc.c
 *		Allocation and interrupt hooks used by the plain-C numerics.
 */
#ifdef HITL_STANDALONE

#include <stdio.h>
#include <stdlib.h>

#include "numeric_alloc.h"

void *
hitl_alloc(size_t size)
{
	void	   *p = calloc(1, size ? size : 1);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		abort();
	}
	return p;
}

void
hitl_free(void *ptr)
{
	free(ptr);
}

void
hitl_check_interrupts(void)
{
}

#else

#include "postgres.h"

#include "miscadmin.h"

#include "numeric_alloc.h"

void *
hitl_alloc(size_t size)
{
	return palloc_extended(size ? size : 1, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

void
hitl_free(void *ptr)
{
	if (ptr != NULL)
		pfree(ptr);
}

void
hitl_check_interrupts(void)
{
	CHECK_FOR_INTERRUPTS();
}

#endif
