/*
 * spi_check.h
 *		The one check of an SPI call's result, for every file that runs SQL.
 *
 * An SPI call that does not return what its caller expects is a bug or a
 * damaged catalog, never a user's mistake: it is reported with elog, naming
 * what was being done.
 */
#ifndef HITL_SPI_CHECK_H
#define HITL_SPI_CHECK_H

#include "postgres.h"

#include "executor/spi.h"

/* Raise an error unless ret is the expected SPI result code */
static inline void
hitl_spi_check(int ret, int expected, const char *what)
{
	if (ret != expected)
		elog(ERROR, "hitl: %s failed: %s", what, SPI_result_code_string(ret));
}

/*
 * Raise an error unless ret is the expected SPI result code and the call
 * processed exactly rows rows.
 */
static inline void
hitl_spi_check_rows(int ret, int expected, uint64 rows, const char *what)
{
	hitl_spi_check(ret, expected, what);
	if (SPI_processed != rows)
		elog(ERROR, "hitl: %s failed: " UINT64_FORMAT " rows instead of " UINT64_FORMAT,
			 what, (uint64) SPI_processed, rows);
}

#endif
