/*
 * hitl_odbc.c
 *		An ODBC client of hitl (unixODBC and psqlODBC), doing what a BI tool
 *		does: it lists relations and their columns through SQLTables and
 *		SQLColumns, reads them, and writes labels with prepared statements.
 *
 * It reads commands from standard input, one a line, fields separated by
 * tabs, and prints one result line per fact, fields separated by tabs:
 *
 *	connect CONNSTR					CONNECT OK | CONNECT ERROR sqlstate message
 *	meta SCHEMA PATTERN				TABLE schema name type
 *									COLUMN schema table column code type_name odbc_name
 *	select LABEL SQL				RSCOL label position name code odbc_name
 *									ROW label value...
 *									ROWS label count
 *									SELECT label ERROR sqlstate message
 *	exec LABEL SQL PARAM...			EXEC label OK row_count
 *									EXEC label ERROR sqlstate message
 *
 * A PARAM is s:TEXT (bound as SQL_C_CHAR to an SQL_VARCHAR parameter) or
 * i:NUMBER (SQL_C_SBIGINT to SQL_BIGINT).  In ROW lines a NULL is empty, a
 * boolean (SQL_BIT) is t or f, and tabs and newlines of values are spaces.
 * Any other failure ends the program with status 1.
 *
 * Compiled by test/t/095_clients.pl with cc ... -lodbc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sql.h>
#include <sqlext.h>

#define MAX_FIELDS 16
#define MAX_TABLES 256
#define NAME_LEN 256

static SQLHENV env = SQL_NULL_HENV;
static SQLHDBC dbc = SQL_NULL_HDBC;

/* The standard name of an ODBC SQL type code */
static const char *
odbc_name(int code)
{
	switch (code)
	{
		case SQL_CHAR: return "SQL_CHAR";
		case SQL_VARCHAR: return "SQL_VARCHAR";
		case SQL_LONGVARCHAR: return "SQL_LONGVARCHAR";
		case SQL_WCHAR: return "SQL_WCHAR";
		case SQL_WVARCHAR: return "SQL_WVARCHAR";
		case SQL_WLONGVARCHAR: return "SQL_WLONGVARCHAR";
		case SQL_BIT: return "SQL_BIT";
		case SQL_TINYINT: return "SQL_TINYINT";
		case SQL_SMALLINT: return "SQL_SMALLINT";
		case SQL_INTEGER: return "SQL_INTEGER";
		case SQL_BIGINT: return "SQL_BIGINT";
		case SQL_REAL: return "SQL_REAL";
		case SQL_FLOAT: return "SQL_FLOAT";
		case SQL_DOUBLE: return "SQL_DOUBLE";
		case SQL_NUMERIC: return "SQL_NUMERIC";
		case SQL_DECIMAL: return "SQL_DECIMAL";
		case SQL_TYPE_DATE: return "SQL_TYPE_DATE";
		case SQL_TYPE_TIME: return "SQL_TYPE_TIME";
		case SQL_TYPE_TIMESTAMP: return "SQL_TYPE_TIMESTAMP";
		case SQL_BINARY: return "SQL_BINARY";
		case SQL_VARBINARY: return "SQL_VARBINARY";
		case SQL_LONGVARBINARY: return "SQL_LONGVARBINARY";
		case SQL_GUID: return "SQL_GUID";
		case SQL_UNKNOWN_TYPE: return "SQL_UNKNOWN_TYPE";
		default: return "OTHER";
	}
}

/* Tabs, newlines and carriage returns become spaces */
static void
flatten(char *s)
{
	for (; *s; s++)
		if (*s == '\t' || *s == '\n' || *s == '\r')
			*s = ' ';
}

/* The first diagnostic record of a handle: its SQLSTATE and message */
static void
diag(SQLSMALLINT type, SQLHANDLE handle, char *state, char *message, size_t size)
{
	SQLINTEGER	native;
	SQLSMALLINT len;

	strcpy(state, "?????");
	message[0] = '\0';
	if (!SQL_SUCCEEDED(SQLGetDiagRec(type, handle, 1, (SQLCHAR *) state, &native,
									 (SQLCHAR *) message, (SQLSMALLINT) size, &len)))
		strcpy(message, "(no diagnostic)");
	flatten(message);
}

/* Ends the program when a call failed */
static void
check(SQLRETURN rc, SQLSMALLINT type, SQLHANDLE handle, const char *what)
{
	char		state[6];
	char		message[1024];

	if (SQL_SUCCEEDED(rc) || rc == SQL_NO_DATA)
		return;
	diag(type, handle, state, message, sizeof(message));
	fprintf(stderr, "%s failed: %s %s\n", what, state, message);
	exit(1);
}

static SQLHSTMT
new_stmt(void)
{
	SQLHSTMT	stmt;

	check(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &stmt), SQL_HANDLE_DBC, dbc, "SQLAllocHandle");
	return stmt;
}

static void
do_connect(const char *connstr)
{
	char		state[6];
	char		message[1024];
	SQLRETURN	rc;

	if (dbc != SQL_NULL_HDBC)
	{
		SQLDisconnect(dbc);
		SQLFreeHandle(SQL_HANDLE_DBC, dbc);
	}
	check(SQLAllocHandle(SQL_HANDLE_DBC, env, &dbc), SQL_HANDLE_ENV, env, "SQLAllocHandle");
	rc = SQLDriverConnect(dbc, NULL, (SQLCHAR *) connstr, SQL_NTS, NULL, 0, NULL,
						  SQL_DRIVER_NOPROMPT);
	if (SQL_SUCCEEDED(rc))
	{
		printf("CONNECT\tOK\n");
		return;
	}
	diag(SQL_HANDLE_DBC, dbc, state, message, sizeof(message));
	printf("CONNECT\tERROR\t%s\t%s\n", state, message);
	SQLFreeHandle(SQL_HANDLE_DBC, dbc);
	dbc = SQL_NULL_HDBC;
}

/* A name as a search pattern that matches only itself */
static void
escape_pattern(const char *name, char *out, size_t size)
{
	size_t		n = 0;

	for (; *name && n + 2 < size; name++)
	{
		if (*name == '_' || *name == '%' || *name == '\\')
			out[n++] = '\\';
		out[n++] = *name;
	}
	out[n] = '\0';
}

/* The columns of one relation, as SQLColumns reports them */
static void
print_columns(const char *schema, const char *table)
{
	SQLHSTMT	stmt = new_stmt();
	char		pattern[2 * NAME_LEN];
	char		schem[NAME_LEN], tab[NAME_LEN], col[NAME_LEN], type_name[NAME_LEN];
	SQLSMALLINT data_type;
	SQLLEN		ind;

	escape_pattern(table, pattern, sizeof(pattern));
	check(SQLColumns(stmt, NULL, 0, (SQLCHAR *) schema, SQL_NTS, (SQLCHAR *) pattern, SQL_NTS,
					 (SQLCHAR *) "%", SQL_NTS), SQL_HANDLE_STMT, stmt, "SQLColumns");
	while (SQL_SUCCEEDED(SQLFetch(stmt)))
	{
		SQLGetData(stmt, 2, SQL_C_CHAR, schem, sizeof(schem), &ind);
		SQLGetData(stmt, 3, SQL_C_CHAR, tab, sizeof(tab), &ind);
		SQLGetData(stmt, 4, SQL_C_CHAR, col, sizeof(col), &ind);
		SQLGetData(stmt, 5, SQL_C_SSHORT, &data_type, 0, &ind);
		SQLGetData(stmt, 6, SQL_C_CHAR, type_name, sizeof(type_name), &ind);
		printf("COLUMN\t%s\t%s\t%s\t%d\t%s\t%s\n", schem, tab, col, data_type, type_name,
			   odbc_name(data_type));
	}
	SQLFreeHandle(SQL_HANDLE_STMT, stmt);
}

static void
do_meta(const char *schema, const char *pattern)
{
	SQLHSTMT	stmt = new_stmt();
	static char names[MAX_TABLES][NAME_LEN];
	char		schem[NAME_LEN], type[NAME_LEN];
	SQLLEN		ind;
	int			n = 0;
	int			i;

	check(SQLTables(stmt, NULL, 0, (SQLCHAR *) schema, SQL_NTS, (SQLCHAR *) pattern, SQL_NTS,
					(SQLCHAR *) "TABLE,VIEW", SQL_NTS), SQL_HANDLE_STMT, stmt, "SQLTables");
	while (n < MAX_TABLES && SQL_SUCCEEDED(SQLFetch(stmt)))
	{
		SQLGetData(stmt, 2, SQL_C_CHAR, schem, sizeof(schem), &ind);
		SQLGetData(stmt, 3, SQL_C_CHAR, names[n], NAME_LEN, &ind);
		SQLGetData(stmt, 4, SQL_C_CHAR, type, sizeof(type), &ind);
		printf("TABLE\t%s\t%s\t%s\n", schem, names[n], type);
		n++;
	}
	SQLFreeHandle(SQL_HANDLE_STMT, stmt);
	for (i = 0; i < n; i++)
		print_columns(schema, names[i]);
}

/* One value of the current row, NULL as the empty string */
static void
print_value(SQLHSTMT stmt, SQLUSMALLINT col, SQLSMALLINT type)
{
	char		buf[8192];
	SQLLEN		ind;
	SQLRETURN	rc;

	putchar('\t');
	for (;;)
	{
		rc = SQLGetData(stmt, col, SQL_C_CHAR, buf, sizeof(buf), &ind);
		if (rc == SQL_NO_DATA)
			break;
		check(rc, SQL_HANDLE_STMT, stmt, "SQLGetData");
		if (ind == SQL_NULL_DATA)
			break;
		flatten(buf);
		if (type == SQL_BIT)
			fputs(strcmp(buf, "0") == 0 ? "f" : "t", stdout);
		else
			fputs(buf, stdout);
		if (rc == SQL_SUCCESS)
			break;
	}
}

static void
do_select(const char *label, const char *sql)
{
	SQLHSTMT	stmt = new_stmt();
	SQLSMALLINT ncols;
	SQLSMALLINT types[256];
	long		rows = 0;
	int			i;

	if (!SQL_SUCCEEDED(SQLExecDirect(stmt, (SQLCHAR *) sql, SQL_NTS)))
	{
		char		state[6];
		char		message[1024];

		diag(SQL_HANDLE_STMT, stmt, state, message, sizeof(message));
		printf("SELECT\t%s\tERROR\t%s\t%s\n", label, state, message);
		SQLFreeHandle(SQL_HANDLE_STMT, stmt);
		return;
	}
	check(SQLNumResultCols(stmt, &ncols), SQL_HANDLE_STMT, stmt, "SQLNumResultCols");
	if (ncols > 256)
		ncols = 256;
	for (i = 1; i <= ncols; i++)
	{
		char		name[NAME_LEN];
		SQLSMALLINT len, digits, nullable;
		SQLULEN		size;

		check(SQLDescribeCol(stmt, i, (SQLCHAR *) name, sizeof(name), &len, &types[i - 1],
							 &size, &digits, &nullable), SQL_HANDLE_STMT, stmt, "SQLDescribeCol");
		printf("RSCOL\t%s\t%d\t%s\t%d\t%s\n", label, i, name, types[i - 1],
			   odbc_name(types[i - 1]));
	}
	while (SQL_SUCCEEDED(SQLFetch(stmt)))
	{
		printf("ROW\t%s", label);
		for (i = 1; i <= ncols; i++)
			print_value(stmt, i, types[i - 1]);
		putchar('\n');
		rows++;
	}
	printf("ROWS\t%s\t%ld\n", label, rows);
	SQLFreeHandle(SQL_HANDLE_STMT, stmt);
}

static void
do_exec(char **f, int nf)
{
	SQLHSTMT	stmt = new_stmt();
	SQLBIGINT	ints[MAX_FIELDS];
	SQLLEN		inds[MAX_FIELDS];
	SQLLEN		count = -1;
	SQLRETURN	rc;
	int			i;

	check(SQLPrepare(stmt, (SQLCHAR *) f[2], SQL_NTS), SQL_HANDLE_STMT, stmt, "SQLPrepare");
	for (i = 3; i < nf; i++)
	{
		SQLUSMALLINT p = (SQLUSMALLINT) (i - 2);
		char	   *v = f[i] + 2;

		if (strncmp(f[i], "s:", 2) == 0)
		{
			inds[i] = SQL_NTS;
			rc = SQLBindParameter(stmt, p, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR,
								  strlen(v), 0, v, 0, &inds[i]);
		}
		else if (strncmp(f[i], "i:", 2) == 0)
		{
			ints[i] = strtoll(v, NULL, 10);
			inds[i] = 0;
			rc = SQLBindParameter(stmt, p, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT,
								  0, 0, &ints[i], 0, &inds[i]);
		}
		else
		{
			fprintf(stderr, "parameter neither s: nor i: %s\n", f[i]);
			exit(1);
		}
		check(rc, SQL_HANDLE_STMT, stmt, "SQLBindParameter");
	}
	rc = SQLExecute(stmt);
	if (SQL_SUCCEEDED(rc))
	{
		check(SQLRowCount(stmt, &count), SQL_HANDLE_STMT, stmt, "SQLRowCount");
		printf("EXEC\t%s\tOK\t%ld\n", f[1], (long) count);
	}
	else
	{
		char		state[6];
		char		message[1024];

		diag(SQL_HANDLE_STMT, stmt, state, message, sizeof(message));
		printf("EXEC\t%s\tERROR\t%s\t%s\n", f[1], state, message);
	}
	SQLFreeHandle(SQL_HANDLE_STMT, stmt);
}

int
main(void)
{
	char		line[65536];

	check(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env), SQL_HANDLE_ENV, env,
		  "SQLAllocHandle");
	check(SQLSetEnvAttr(env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER) SQL_OV_ODBC3, 0),
		  SQL_HANDLE_ENV, env, "SQLSetEnvAttr");
	while (fgets(line, sizeof(line), stdin))
	{
		char	   *f[MAX_FIELDS];
		int			nf = 0;
		char	   *p = line;

		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		while (nf < MAX_FIELDS)
		{
			f[nf++] = p;
			p = strchr(p, '\t');
			if (p == NULL)
				break;
			*p++ = '\0';
		}
		if (strcmp(f[0], "connect") == 0 && nf == 2)
			do_connect(f[1]);
		else if (strcmp(f[0], "meta") == 0 && nf == 3)
			do_meta(f[1], f[2]);
		else if (strcmp(f[0], "select") == 0 && nf == 3)
			do_select(f[1], f[2]);
		else if (strcmp(f[0], "exec") == 0 && nf >= 3)
			do_exec(f, nf);
		else
		{
			fprintf(stderr, "bad command: %s\n", f[0]);
			return 1;
		}
		fflush(stdout);
	}
	if (dbc != SQL_NULL_HDBC)
	{
		SQLDisconnect(dbc);
		SQLFreeHandle(SQL_HANDLE_DBC, dbc);
	}
	SQLFreeHandle(SQL_HANDLE_ENV, env);
	return 0;
}
