/*
 * tap.c
 *		TAP output and CSV reading for hitl's plain-C unit tests.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

int			test_count = 0;
int			failures = 0;

bool
ok(bool cond, const char *fmt,...)
{
	va_list		args;

	test_count++;
	if (!cond)
		failures++;
	printf("%sok %d - ", cond ? "" : "not ", test_count);
	va_start(args, fmt);
	vprintf(fmt, args);
	va_end(args);
	printf("\n");
	fflush(stdout);
	return cond;
}

void
diag(const char *fmt,...)
{
	va_list		args;

	printf("# ");
	va_start(args, fmt);
	vprintf(fmt, args);
	va_end(args);
	printf("\n");
}

void *
xmalloc(size_t size)
{
	void	   *p = calloc(1, size ? size : 1);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return p;
}

int
split_csv(char *line, char **fields)
{
	int			nf = 0;
	char	   *s = line;

	line[strcspn(line, "\r\n")] = '\0';
	for (;;)
	{
		char	   *end = strchr(s, ',');
		size_t		len;

		if (end != NULL)
			*end = '\0';
		len = strlen(s);
		if (len >= 2 && s[0] == '"' && s[len - 1] == '"')
		{
			s[len - 1] = '\0';
			s++;
		}
		if (nf < MAX_FIELDS)
			fields[nf++] = s;
		if (end == NULL)
			break;
		s = end + 1;
	}
	return nf;
}

int
read_index_values(const char *path, double *values, int max)
{
	FILE	   *f = fopen(path, "r");
	char		line[512];
	char	   *fields[MAX_FIELDS];
	int			count = 0;

	if (f == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) == NULL)
	{
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL)
	{
		if (split_csv(line, fields) != 2 || count >= max || atoi(fields[0]) != count)
		{
			fclose(f);
			return -1;
		}
		values[count++] = strtod(fields[1], NULL);
	}
	fclose(f);
	return count;
}

int
tap_finish(void)
{
	printf("1..%d\n", test_count);
	return failures == 0 ? 0 : 1;
}
