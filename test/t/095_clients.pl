# The clients analysts use: a JDBC client (libpostgresql-jdbc-java) and an
# ODBC client (psqlODBC through unixODBC), both compiled here from
# test/clients/, read hitl as a BI tool does (the relations and their
# columns through the driver's metadata, then SELECT) and write labels with
# prepared statements.  Asserted: every column of the BI views is reported
# with a standard SQL type a BI tool charts, and every column of hitl's
# other relations that is not (jsonb, arrays, regclass) has a plain
# alternative in a BI view; what each driver reads equals what psql reads;
# a label written through each driver is in the table and in the label log
# with the driver's role, and the worker retrains on it; an enum label from
# JDBC needs stringtype=unspecified or a cast (without, the driver's type
# mismatch, 42804).  A missing driver or compiler fails the test.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# psql, the JVM and psqlODBC all show timestamps in UTC
$ENV{PGTZ} = 'UTC';

my $src = ($ENV{TESTDIR} // '.') . '/test/clients';
my $jar = '/usr/share/java/postgresql.jar';
my $tmp = PostgreSQL::Test::Utils::tempdir;

# the drivers and compilers: missing ones fail (CI installs them)
sub have_program
{
	my ($name) = @_;
	return scalar grep { -x "$_/$name" } split(/:/, $ENV{PATH} // ''), '/usr/bin';
}
ok(-r $jar, "the JDBC driver is at $jar (libpostgresql-jdbc-java)")
  or die "missing $jar";
ok(have_program('javac') && have_program('java'), 'javac and java are installed (a JDK)')
  or die 'missing javac or java';
ok(have_program('cc'), 'cc is installed') or die 'missing cc';
ok(-r '/usr/include/sql.h', 'the unixODBC headers are installed (unixodbc-dev)')
  or die 'missing /usr/include/sql.h';
my ($drivers) = run_command([ 'odbcinst', '-q', '-d' ]);
like($drivers, qr/^\[PostgreSQL Unicode\]$/m,
	'unixODBC knows the driver "PostgreSQL Unicode" (odbc-postgresql)')
  or die 'missing the ODBC driver';

# compile both clients
my ($out, $err);
ok( IPC::Run::run(
		[ 'javac', '-d', $tmp, "$src/HitlJdbc.java" ],
		'>', \$out, '2>', \$err),
	'the JDBC client compiles')
  or die "javac: $err";
ok( IPC::Run::run(
		[
			'cc', '-Wall', '-Wextra', '-Werror', '-o', "$tmp/hitl_odbc",
			"$src/hitl_odbc.c", '-lodbc'
		],
		'>', \$out, '2>', \$err),
	'the ODBC client compiles')
  or die "cc: $err";

my $node = PostgreSQL::Test::Cluster->new('clients');
$node->init;
# pgjdbc has no Unix socket: JDBC comes over TCP, ODBC over the socket
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'hitl'
hitl.naptime = 1
listen_addresses = '127.0.0.1'
});
$node->start;
my $port = $node->port;
my $socket_dir = $node->host;

$node->safe_psql('postgres', 'CREATE DATABASE clients');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('clients', $query);
}

# a model on numbers (with an array feature) and a naive Bayes model on
# text whose label is an enum; two analysts who read and label the tables
sql(q{
CREATE EXTENSION hitl;
CREATE ROLE ana_jdbc LOGIN;
CREATE ROLE ana_odbc LOGIN;
CREATE TYPE public.mood AS ENUM ('happy', 'sad');
CREATE TABLE public.nums (id int PRIMARY KEY, x float8, y float8, emb real[], lab text);
INSERT INTO public.nums
SELECT i, i % 7, (i * 13) % 11, ARRAY[i % 3, i % 5]::real[],
	   CASE WHEN i <= 20 THEN CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 40) i;
SELECT hitl.create_model('numm', 'public.nums', 'lab', ARRAY['x', 'y', 'emb']);
CREATE TABLE public.docs (id bigint PRIMARY KEY, body text, m public.mood);
INSERT INTO public.docs
SELECT i, CASE WHEN i % 2 = 0 THEN 'great fun day' ELSE 'awful rain day' END || ' ' || i,
	   CASE WHEN i <= 16 THEN CASE WHEN i % 2 = 0 THEN 'happy' ELSE 'sad' END::public.mood END
FROM generate_series(1, 40) i;
SELECT hitl.create_model('docm', 'public.docs', 'm', ARRAY['body'], algorithm => 'naive_bayes');
GRANT SELECT, UPDATE ON public.nums, public.docs TO ana_jdbc, ana_odbc;
GRANT SELECT ON public.numm_review_queue, public.docm_review_queue TO ana_jdbc, ana_odbc;
UPDATE public.nums SET lab = 'a' WHERE id = 21;
UPDATE public.docs SET m = 'sad' WHERE id = 17;
});
like(sql(q{SELECT hitl.wait('numm') || ' ' || hitl.wait('docm')}), qr/^\d+ \d+$/,
	'both models are retrained on the labels given in psql');

my $jdbc_url = "jdbc:postgresql://127.0.0.1:$port/clients?user=ana_jdbc";
my $odbc_conn =
  "Driver={PostgreSQL Unicode};Servername=$socket_dir;Port=$port;"
  . 'Database=clients;Username=ana_odbc;BoolsAsChar=0';

# Runs a client on a script (lines of tab-separated fields); returns its output
sub run_client
{
	my ($driver, @lines) = @_;
	my $script = join('', map { join("\t", @$_) . "\n" } @lines);
	my @cmd =
	  $driver eq 'jdbc'
	  ? ('java', '-Duser.timezone=UTC', '-cp', "$jar:$tmp", 'HitlJdbc')
	  : ("$tmp/hitl_odbc");
	my ($stdout, $stderr) = ('', '');
	my $ok = IPC::Run::run(\@cmd, '<', \$script, '>', \$stdout, '2>', \$stderr,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	ok($ok, "the $driver client ran") or diag($stderr);
	return $stdout;
}

# The relations a BI tool reads, each with an order for its rows
my %order = (
	'public.numm_review_queue' => 'rank',
	'public.docm_review_queue' => 'rank',
	'hitl.review_queue' => 'model, rank',
	'hitl.models' => 'name',
	'hitl.model_versions' => 'model, version',
	'hitl.label_stats' => 'model, role',
	'hitl.model_overview' => 'model',
	'hitl.model_metrics' => 'model, version',
	'hitl.model_coefficients' => 'model, version, class, position',
	'hitl.review_candidates' => 'model, rank',
	'hitl.review_features' => 'model, rank, feature_number, element');
my @bi_views = qw(hitl.label_stats hitl.model_overview hitl.model_metrics
  hitl.model_coefficients hitl.review_candidates hitl.review_features);

# Columns a BI tool cannot chart, and where their plain alternative is:
# the BI view, its column, and a condition its row must meet.  A column
# without an alternative is a model parameter or state for hitl's own use.
my %alternative = (
	'hitl.models.source' => [ 'hitl.model_overview', 'table_name', q{model = 'numm' AND table_schema = 'public' AND table_name = 'nums'} ],
	'hitl.models.feature_columns' => [ 'hitl.model_overview', 'feature_columns', q{model = 'numm' AND feature_columns = 'x, y, emb'} ],
	'hitl.models.key_columns' => [ 'hitl.model_overview', 'key_columns', q{model = 'numm' AND key_columns = 'id'} ],
	'hitl.models.added_columns' => [ 'hitl.model_overview', 'added_columns', q{model = 'docm' AND added_columns = 'm_prediction, m_confidence, m_uncertainty'} ],
	'hitl.models.options' => [ 'hitl.model_overview', 'options_text', q{model = 'docm' AND alpha = 1 AND min_labels = 10 AND options_text::jsonb ->> 'text_config' = text_config} ],
	'hitl.model_versions.classes' => [ 'hitl.model_metrics', 'classes', q{model = 'docm' AND classes = 'happy, sad'} ],
	'hitl.model_versions.metrics' => [ 'hitl.model_metrics', 'metrics_text', q{model = 'numm' AND version = 1 AND cv_folds = 5 AND cv_accuracy = (metrics_text::jsonb ->> 'cv_accuracy')::float8 AND converged IS NOT NULL} ],
	'hitl.model_versions.feature_names' => [ 'hitl.model_coefficients', 'feature', q{model = 'numm' AND kind = 'numeric' AND feature = 'emb[2]' AND position = 4} ],
	'hitl.model_versions.feature_dims' => [ 'hitl.model_coefficients', 'feature', q{model = 'numm' AND feature = 'emb[1]' AND position = 3} ],
	'hitl.model_versions.feature_means' => [ 'hitl.model_coefficients', 'feature_mean', q{model = 'numm' AND version = 1 AND feature = 'x' AND feature_mean = (SELECT avg(x) FROM public.nums WHERE id <= 20)} ],
	'hitl.model_versions.feature_scales' => [ 'hitl.model_coefficients', 'feature_scale', q{model = 'numm' AND kind = 'numeric' AND feature_scale > 0} ],
	'hitl.model_versions.coefficients' => [ 'hitl.model_coefficients', 'coefficient', q{model = 'numm' AND kind = 'intercept' AND coefficient IS NOT NULL} ],
	'hitl.review_queue.row_key' => [ 'hitl.review_candidates', 'row_key', q{model = 'numm' AND row_key::jsonb = jsonb_build_object('id', key_value::int)} ],
	'public.numm_review_queue.emb' => [ 'hitl.review_features', 'value_number', q{model = 'numm' AND feature = 'emb' AND element = 2 AND value_number = (SELECT emb[2] FROM public.nums WHERE id = key_value::int)} ]);
my @internal = map { "hitl.model_versions.$_" } qw(idf_buckets idf vocabulary
  class_counts count_index counts label_snapshot);

# The standard SQL types a BI tool charts: java.sql.Types and ODBC's SQL_*
my %chartable = (
	jdbc => { map { $_ => 1 } (-7, 16, -6, 5, 4, -5, 6, 7, 8, 2, 3, 1, 12, -1, -15, -9, -16, 91, 92, 93, 2013, 2014) },
	odbc => { map { $_ => 1 } (-7, -6, 5, 4, -5, 6, 7, 8, 2, 3, 1, 12, -1, -8, -9, -10, 9, 91, 92, 93) });

# The PostgreSQL types whose columns a BI tool charts as they are (mood is
# this test's enum): psqlODBC reports jsonb and arrays as SQL_VARCHAR, so
# the type's name decides too
my %plain_type = map { $_ => 1 }
  qw(bool int2 int4 int8 float4 float8 numeric text varchar bpchar name
  timestamptz timestamp date mood);

# What psql reads, as a role, one line per row, fields separated by tabs
sub psql_rows
{
	my ($role, $query) = @_;
	my $rows = $node->safe_psql('clients', "SET ROLE $role;\n$query",
		extra_params => [ '-F', "\t" ]);
	return $rows eq '' ? [] : [ split /\n/, $rows ];
}

# Two fields are equal: as text, as numbers (within rounding), or as the
# same timestamp (psqlODBC drops the UTC offset)
sub same_field
{
	my ($a, $b) = @_;
	return 1 if $a eq $b;
	my $num = qr/^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
	return abs($a - $b) <= 1e-12 * (abs($a) > 1 ? abs($a) : 1)
	  if $a =~ $num && $b =~ $num;
	(my $sa = $a) =~ s/\+00$//;
	(my $sb = $b) =~ s/\+00$//;
	return $sa eq $sb;
}

sub same_rows
{
	my ($got, $want) = @_;
	return 0 unless @$got == @$want;
	for my $i (0 .. $#$got)
	{
		my @g = split /\t/, $got->[$i], -1;
		my @w = split /\t/, $want->[$i], -1;
		return 0 unless @g == @w;
		for my $j (0 .. $#g)
		{
			return 0 unless same_field($g[$j], $w[$j]);
		}
	}
	return 1;
}

for my $driver (qw(jdbc odbc))
{
	my $role = "ana_$driver";
	my $connect = $driver eq 'jdbc' ? $jdbc_url : $odbc_conn;
	my @script = ([ 'connect', $connect ], [ 'meta', 'hitl', '%' ], [ 'meta', 'public', '%' ]);
	push @script, [ 'select', $_, "SELECT * FROM $_ ORDER BY $order{$_}" ] for sort keys %order;
	my $output = run_client($driver, @script);
	like($output, qr/^CONNECT\tOK$/m, "$driver: connected as $role");

	my (%columns, %rows);
	for my $line (split /\n/, $output)
	{
		my @f = split /\t/, $line, -1;
		$columns{"$f[1].$f[2]"}{ $f[3] } = [ $f[4], $f[5] ] if $f[0] eq 'COLUMN';
		push @{ $rows{ $f[1] } }, join("\t", @f[ 2 .. $#f ]) if $f[0] eq 'ROW';
		$rows{ $f[1] } //= [] if $f[0] eq 'ROWS';
	}

	for my $rel (sort keys %order)
	{
		# every column, as psql sees it, reported through the driver's metadata
		my $attrs = psql_rows($role, qq{
SELECT attname FROM pg_attribute WHERE attrelid = '$rel'::regclass AND attnum > 0
AND NOT attisdropped ORDER BY attnum});
		is_deeply([ sort keys %{ $columns{$rel} // {} } ], [ sort @$attrs ],
			"$driver: the metadata lists every column of $rel");
		my $is_bi = grep { $_ eq $rel } @bi_views;
		for my $col (@$attrs)
		{
			my ($code, $type) = @{ $columns{$rel}{$col} // [ 'none', 'none' ] };
			my $plain = $chartable{$driver}{$code} && $plain_type{$type};
			if ($is_bi)
			{
				ok($plain,
					"$driver: BI view column $rel.$col is a standard SQL type ($code, $type)");
			}
			elsif (!$plain)
			{
				my $alt = $alternative{"$rel.$col"};
				if (grep { $_ eq "$rel.$col" } @internal)
				{
					pass("$driver: $rel.$col ($code, $type) is a model parameter, not for charting");
				}
				elsif (!defined $alt)
				{
					fail("$driver: $rel.$col ($code, $type) has a plain alternative");
				}
				else
				{
					my ($view, $alt_col, $cond) = @$alt;
					my ($alt_code, $alt_type) = @{ $columns{$view}{$alt_col} // [ 'none', 'none' ] };
					ok($chartable{$driver}{$alt_code} && $plain_type{$alt_type},
						"$driver: $rel.$col ($code, $type) has a plain alternative, $view.$alt_col");
					is(psql_rows($role, "SELECT count(*) > 0 FROM $view WHERE $cond")->[0], 't',
						"$driver: $view.$alt_col holds what $rel.$col does");
				}
			}
		}

		# the rows, as psql reads them
		my $want = psql_rows($role, "SELECT * FROM $rel ORDER BY $order{$rel}");
		cmp_ok(scalar @$want, '>', 0, "psql reads rows of $rel as $role");
		ok(same_rows($rows{$rel} // [], $want), "$driver: reads $rel as psql does")
		  or diag(explain({ got => $rows{$rel}, want => $want }));
	}
}

# the coefficients a BI tool reads give the model's probabilities: for two
# classes, a sigmoid of the weighed standardized features plus the
# intercept, divided by the temperature of the version's calibration
is( psql_rows('ana_jdbc', q{
SELECT count(*) = (SELECT count(*) FROM hitl.review_candidates WHERE model = 'numm')
	   AND bool_and(abs(1 / (1 + exp(-z / t)) - p) < 1e-9)
FROM (SELECT f.key_value,
			 sum(c.coefficient * (f.value_number - c.feature_mean) / c.feature_scale)
			 + min(i.coefficient) AS z,
			 min((SELECT coalesce((mv.metrics->'calibration'->>'temperature')::float8, 1)
				  FROM hitl.model_versions mv
				  WHERE mv.model = f.model AND mv.version = v.version)) AS t,
			 min((SELECT (hitl.predict_proba('numm', n) ->> 'b')::float8
				  FROM public.nums n WHERE n.id = f.key_value::int)) AS p
	  FROM hitl.review_features f
	  JOIN hitl.model_metrics v ON v.model = f.model AND v.is_current
	  JOIN hitl.model_coefficients c ON c.model = f.model AND c.version = v.version
		   AND c.feature = f.feature || coalesce('[' || f.element || ']', '')
	  JOIN hitl.model_coefficients i ON i.model = f.model AND i.version = v.version
		   AND i.kind = 'intercept'
	  WHERE f.model = 'numm'
	  GROUP BY f.key_value) r})->[0],
	't', 'hitl.model_coefficients and hitl.review_features give the probabilities of hitl.predict_proba');

# labels written with prepared statements, the label bound as a string
my $jdbc = run_client(
	'jdbc',
	[ 'connect', $jdbc_url ],
	[ 'exec', 'text', 'UPDATE public.nums SET lab = ? WHERE id = ?', 's:a', 'i:31' ],
	[ 'exec', 'enum', 'UPDATE public.docs SET m = ? WHERE id = ?', 's:happy', 'i:31' ],
	[ 'exec', 'enum_cast', 'UPDATE public.docs SET m = CAST(? AS public.mood) WHERE id = ?', 's:happy', 'i:32' ],
	[ 'connect', "$jdbc_url&stringtype=unspecified" ],
	[ 'exec', 'enum_unspecified', 'UPDATE public.docs SET m = ? WHERE id = ?', 's:sad', 'i:33' ]);
like($jdbc, qr/^EXEC\ttext\tOK\t1$/m, 'jdbc: a text label is written');
like($jdbc, qr/^EXEC\tenum\tERROR\t42804\t.*column "m" is of type mood but expression is of type character varying/m,
	'jdbc: an enum label bound as a string fails with the type mismatch (42804)');
like($jdbc, qr/^EXEC\tenum_cast\tOK\t1$/m, 'jdbc: an enum label with a cast is written');
like($jdbc, qr/^EXEC\tenum_unspecified\tOK\t1$/m,
	'jdbc: an enum label with stringtype=unspecified is written');

my $odbc = run_client(
	'odbc',
	[ 'connect', $odbc_conn ],
	[ 'exec', 'text', 'UPDATE public.nums SET lab = ? WHERE id = ?', 's:b', 'i:34' ],
	[ 'exec', 'enum', 'UPDATE public.docs SET m = ? WHERE id = ?', 's:sad', 'i:35' ],
	[ 'exec', 'enum_bad', 'UPDATE public.docs SET m = ? WHERE id = ?', 's:angry', 'i:36' ]);
like($odbc, qr/^EXEC\ttext\tOK\t1$/m, 'odbc: a text label is written');
like($odbc, qr/^EXEC\tenum\tOK\t1$/m,
	'odbc: an enum label bound as a string is written (psqlODBC leaves its type to the server)');
like($odbc, qr/^EXEC\tenum_bad\tERROR\t22P02\t.*invalid input value for enum mood: "angry"/m,
	'odbc: a label that is no value of the enum fails (22P02)');

is(sql(q{SELECT string_agg(id || '=' || coalesce(lab, '-'), ' ' ORDER BY id) FROM public.nums WHERE id IN (31, 34)}),
	'31=a 34=b', 'the text labels are in the table');
is(sql(q{SELECT string_agg(id || '=' || coalesce(m::text, '-'), ' ' ORDER BY id) FROM public.docs WHERE id BETWEEN 31 AND 36}),
	'31=- 32=happy 33=sad 34=- 35=sad 36=-', 'the enum labels are in the table, the failed ones not');
is( sql(q{
SELECT string_agg(model || ' ' || (row_key ->> 'id') || ' ' || new_label || ' ' || role, ', '
				  ORDER BY model, (row_key ->> 'id')::int)
FROM hitl.label_log WHERE role IN ('ana_jdbc', 'ana_odbc')}),
	'docm 32 happy ana_jdbc, docm 33 sad ana_jdbc, docm 35 sad ana_odbc, '
	  . 'numm 31 a ana_jdbc, numm 34 b ana_odbc',
	'the label log has every label written, with the role of the driver that wrote it');

# the worker retrains on them, and the BI views show it to both drivers
like(sql(q{SELECT hitl.wait('numm') || ' ' || hitl.wait('docm')}), qr/^\d+ \d+$/,
	'the worker retrains both models on the labels the drivers wrote');
is( sql(q{
SELECT string_agg(model || ' ' || n_labeled, ', ' ORDER BY model)
FROM hitl.model_metrics WHERE is_current}),
	'docm 20, numm 23', 'the new versions count the new labels');
for my $driver (qw(jdbc odbc))
{
	my $output = run_client(
		$driver,
		[ 'connect', $driver eq 'jdbc' ? $jdbc_url : $odbc_conn ],
		[
			'select', 'current',
			'SELECT model, version, n_labeled FROM hitl.model_metrics WHERE is_current ORDER BY model'
		],
		[
			'select', 'stats',
			q{SELECT model, role, labels FROM hitl.label_stats WHERE role LIKE 'ana%' ORDER BY model, role}
		]);
	like($output, qr/^ROW\tcurrent\tdocm\t\d+\t20\nROW\tcurrent\tnumm\t\d+\t23\nROWS\tcurrent\t2$/m,
		"$driver: hitl.model_metrics shows the versions trained on the drivers' labels");
	like(
		$output,
		qr/^ROW\tstats\tdocm\tana_jdbc\t2\nROW\tstats\tdocm\tana_odbc\t1\nROW\tstats\tnumm\tana_jdbc\t1\nROW\tstats\tnumm\tana_odbc\t1\nROWS\tstats\t4$/m,
		"$driver: hitl.label_stats counts the labels of each driver's role");
}

$node->stop;
done_testing();
