/*
 * tap.h
 *		What hitl's plain-C unit tests share: TAP output and CSV reading.
 */
#ifndef HITL_UNIT_TAP_H
#define HITL_UNIT_TAP_H

#include <stdbool.h>
#include <stddef.h>

#define MAX_LINE 65536
#define MAX_FIELDS 1024

/* Tests run and failed so far */
extern int	test_count;
extern int	failures;

/* Report one test result in TAP; returns cond */
extern bool ok(bool cond, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/* Print a TAP diagnostic line */
extern void diag(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* Zeroed memory, or exit */
extern void *xmalloc(size_t size);

/*
 * Split a CSV line in place into at most MAX_FIELDS fields, removing the
 * line end and surrounding double quotes.  No field may contain a comma.
 */
extern int	split_csv(char *line, char **fields);

/*
 * Read a CSV file of "idx,value" lines under a header, idx counting from 0,
 * into values (at most max); returns the count, or -1 when the file is
 * missing or malformed.
 */
extern int	read_index_values(const char *path, double *values, int max);

/* Print the plan; the exit status: 0 when every test passed */
extern int	tap_finish(void);

#endif
