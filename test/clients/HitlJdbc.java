/*
 * HitlJdbc.java
 *		A JDBC client of hitl, doing what a BI tool does: it lists relations and
 *		their columns through DatabaseMetaData, reads them, and writes labels
 *		with prepared statements.
 *
 * It reads commands from standard input, one a line, fields separated by
 * tabs, and prints one result line per fact, fields separated by tabs:
 *
 *	connect URL						CONNECT OK | CONNECT ERROR sqlstate message
 *	meta SCHEMA PATTERN				TABLE schema name type
 *									COLUMN schema table column code type_name jdbc_name
 *	select LABEL SQL				RSCOL label position name code jdbc_name
 *									ROW label value...
 *									ROWS label count
 *									SELECT label ERROR sqlstate message
 *	exec LABEL SQL PARAM...			EXEC label OK update_count
 *									EXEC label ERROR sqlstate message
 *
 * A PARAM is s:TEXT (bound with setString) or i:NUMBER (bound with setLong).
 * In ROW lines a NULL is empty, a boolean is t or f, and tabs and newlines
 * of values are spaces.  Any other failure ends the program with status 1.
 *
 * Compiled and run by test/t/095_clients.pl, with the driver of
 * libpostgresql-jdbc-java (/usr/share/java/postgresql.jar).
 */

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.JDBCType;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;

public class HitlJdbc
{
	private static Connection conn;

	public static void main(String[] args) throws Exception
	{
		BufferedReader in = new BufferedReader(
			new InputStreamReader(System.in, StandardCharsets.UTF_8));
		String line;

		while ((line = in.readLine()) != null)
		{
			if (line.isEmpty())
				continue;
			String[] f = line.split("\t", -1);
			switch (f[0])
			{
				case "connect":
					connect(f[1]);
					break;
				case "meta":
					meta(f[1], f[2]);
					break;
				case "select":
					select(f[1], f[2]);
					break;
				case "exec":
					exec(f);
					break;
				default:
					throw new IllegalArgumentException("unknown command: " + f[0]);
			}
			System.out.flush();
		}
		if (conn != null)
			conn.close();
	}

	/* the standard name of a java.sql.Types code, UNKNOWN when it has none */
	private static String jdbcName(int code)
	{
		try
		{
			return JDBCType.valueOf(code).getName();
		}
		catch (IllegalArgumentException e)
		{
			return "UNKNOWN";
		}
	}

	/* a message or value on one line of a tab-separated output line */
	private static String flat(String s)
	{
		return s == null ? "" : s.replace('\t', ' ').replace('\n', ' ').replace('\r', ' ');
	}

	private static void out(String... fields)
	{
		System.out.println(String.join("\t", fields));
	}

	private static void connect(String url)
	{
		try
		{
			if (conn != null)
				conn.close();
			conn = DriverManager.getConnection(url);
			conn.setAutoCommit(true);
			out("CONNECT", "OK");
		}
		catch (SQLException e)
		{
			conn = null;
			out("CONNECT", "ERROR", e.getSQLState(), flat(e.getMessage()));
		}
	}

	/* the tables and views of a schema, and their columns, as the driver reports them */
	private static void meta(String schema, String pattern) throws SQLException
	{
		DatabaseMetaData md = conn.getMetaData();

		try (ResultSet t = md.getTables(null, schema, pattern, new String[] {"TABLE", "VIEW"}))
		{
			while (t.next())
			{
				String name = t.getString("TABLE_NAME");

				out("TABLE", t.getString("TABLE_SCHEM"), name, t.getString("TABLE_TYPE"));
				try (ResultSet c = md.getColumns(null, schema, name, "%"))
				{
					while (c.next())
					{
						int code = c.getInt("DATA_TYPE");

						out("COLUMN", c.getString("TABLE_SCHEM"), c.getString("TABLE_NAME"),
							c.getString("COLUMN_NAME"), Integer.toString(code),
							c.getString("TYPE_NAME"), jdbcName(code));
					}
				}
			}
		}
	}

	private static void select(String label, String sql)
	{
		try (Statement st = conn.createStatement();
			 ResultSet rs = st.executeQuery(sql))
		{
			ResultSetMetaData md = rs.getMetaData();
			int n = md.getColumnCount();
			long rows = 0;

			for (int i = 1; i <= n; i++)
				out("RSCOL", label, Integer.toString(i), md.getColumnLabel(i),
					Integer.toString(md.getColumnType(i)), jdbcName(md.getColumnType(i)));
			while (rs.next())
			{
				StringBuilder row = new StringBuilder("ROW\t").append(label);

				for (int i = 1; i <= n; i++)
				{
					int code = md.getColumnType(i);
					String v;

					if (code == Types.BIT || code == Types.BOOLEAN)
					{
						boolean b = rs.getBoolean(i);
						v = rs.wasNull() ? null : (b ? "t" : "f");
					}
					else
						v = rs.getString(i);
					row.append('\t').append(flat(v));
				}
				System.out.println(row);
				rows++;
			}
			out("ROWS", label, Long.toString(rows));
		}
		catch (SQLException e)
		{
			out("SELECT", label, "ERROR", e.getSQLState(), flat(e.getMessage()));
		}
	}

	private static void exec(String[] f) throws SQLException
	{
		String label = f[1];

		try (PreparedStatement ps = conn.prepareStatement(f[2]))
		{
			for (int i = 3; i < f.length; i++)
			{
				String p = f[i];

				if (p.startsWith("s:"))
					ps.setString(i - 2, p.substring(2));
				else if (p.startsWith("i:"))
					ps.setLong(i - 2, Long.parseLong(p.substring(2)));
				else
					throw new IllegalArgumentException("parameter neither s: nor i: " + p);
			}
			out("EXEC", label, "OK", Integer.toString(ps.executeUpdate()));
		}
		catch (SQLException e)
		{
			out("EXEC", label, "ERROR", e.getSQLState(), flat(e.getMessage()));
		}
	}
}
