# Training statistics where the rows are: hitl's training aggregates on a
# distributed table.  Citus pushes each one down to the shards (the worker
# nodes compute partial states, worker_partial_agg, or
# worker_binary_partial_agg in Citus 14) and combines the parts on the
# coordinator (coord_combine_agg, coord_binary_combine_agg) with
# hitl._agg_combine.  The
# results equal those over a plain copy of the same rows (naive Bayes' sums
# of whole numbers exactly, a gradient to 1e-12), and what the shards send
# the coordinator does not grow with the rows: twice the rows move about as
# many bytes, where reading the rows moves twice as many.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use HitlCitus qw(citus_cluster);

my ($coord, @workers) = citus_cluster('aggs');

# $n rows of 8 whole-number features in 0..4 (one shifted by the class), 3
# classes, a tenth of the rows unlabeled; the same rows on every call
sub rows_sql
{
	my ($table, $n) = @_;
	return qq{
CREATE TABLE $table (id int PRIMARY KEY, c int, lab text, x float8[]);
INSERT INTO $table
SELECT i, CASE WHEN i % 10 <> 0 THEN i % 3 END,
	   CASE WHEN i % 10 <> 0 THEN 'c' || (i % 3) END,
	   ARRAY(SELECT ((i * 7 + j * 13) % 5 + CASE WHEN j = i % 3 THEN 1 ELSE 0 END)::float8
			 FROM generate_series(0, 7) j)
FROM generate_series(1, $n) i;
};
}

$coord->safe_psql('postgres',
		"SET citus.shard_count = 4;\n"
	  . rows_sql('dist', 4000)
	  . rows_sql('dist2', 8000)
	  . rows_sql('plain', 4000) . q{
SELECT create_distributed_table('dist', 'id');
SELECT create_distributed_table('dist2', 'id');
});

# the coefficients of one solver pass (3 classes: 3 x 9), and a naive Bayes
# model for hitl._nb_eval ([k, d, alpha, dimension, rows, sums]), as
# literals: the nodes get the values, not a query to run
my $coef = "'"
  . $coord->safe_psql('postgres',
	q{SELECT ARRAY(SELECT ((i * 37) % 19 - 9) / 40.0 FROM generate_series(1, 27) i)::float8[]})
  . "'::float8[]";
my $model = "'"
  . $coord->safe_psql(
	'postgres', q{
SELECT ARRAY[3, 8, 1, 8]::float8[]
	|| ARRAY(SELECT s[c + 1][1] FROM generate_series(0, 2) c)
	|| ARRAY(SELECT s[c + 1][j + 2] FROM generate_series(0, 2) c, generate_series(0, 7) j ORDER BY c, j)
FROM (SELECT hitl._nb_stats(c, x, 3) s FROM plain) q})
  . "'::float8[]";

my %query = (
	nb_sums => q{SELECT string_agg(lab || ':' || s::text, ' ' ORDER BY lab)
	  FROM (SELECT lab, hitl._nb_sums(x, 0) s FROM %s WHERE lab IS NOT NULL GROUP BY lab) g},
	nb_stats => q{SELECT hitl._nb_stats(c, x, 3)::text FROM %s},
	nb_eval => qq{SELECT hitl._nb_eval(c, x, $model)::text FROM %s},);

foreach my $what (sort keys %query)
{
	my $sql = $query{$what};
	my $local = $coord->safe_psql('postgres', sprintf($sql, 'plain'));
	my $dist = $coord->safe_psql('postgres', sprintf($sql, 'dist'));
	isnt($local, '', "$what: a result over the plain table");
	if ($what eq 'nb_eval')
	{
		# the log-loss is a sum of logarithms: to rounding; the counts exactly
		my @l = split /,/, $local =~ s/[{}]//gr;
		my @d = split /,/, $dist =~ s/[{}]//gr;
		is(join(',', @d[ 0 .. 3, 5 .. $#d ]),
			join(',', @l[ 0 .. 3, 5 .. $#l ]),
			'nb_eval: the rows and confusion counts over the shards are those over the plain table');
		cmp_ok(abs($d[4] - $l[4]) / abs($l[4]), '<=', 1e-12, 'nb_eval: the log-loss to 1e-12');
		next;
	}
	is($dist, $local, "$what: the sums over the shards are those over the plain table");
}

my $grad_diff = $coord->safe_psql(
	'postgres', qq{
SELECT max(abs(a - b)) / max(abs(b))
FROM unnest((SELECT hitl._logreg_grad(c, x, $coef, 3) FROM dist),
			(SELECT hitl._logreg_grad(c, x, $coef, 3) FROM plain)) u(a, b)});
cmp_ok($grad_diff, '<=', 1e-12, 'logreg_grad: the gradient over the shards is the plain one to 1e-12');

# Citus' plan: the aggregate runs on the worker nodes, once per shard, and is
# combined on the coordinator
my $plan = $coord->safe_psql('postgres',
	q{EXPLAIN (VERBOSE, COSTS OFF) SELECT lab, hitl._nb_sums(x, 0) FROM dist WHERE lab IS NOT NULL GROUP BY lab});
like($plan, qr/Task Count: 4/, 'the plan has a task per shard');
like($plan, qr/worker_(binary_)?partial_agg\(.*hitl\._nb_sums/s,
	'each shard computes a partial state of hitl._nb_sums');
like($plan, qr/coord_(binary_)?combine_agg/, 'the coordinator combines the states');

# What the shards send the coordinator: the text of each shard's partial
# states (what worker_partial_agg returns), against the text of the rows a
# training that reads them would fetch, measured on every shard with
# run_command_on_shards, for 4,000 and 8,000 rows.  (EXPLAIN ANALYZE's
# count of the bytes received fails on a custom aggregate's partial state,
# a cstring, in the Citus releases tested.)
sub bytes_from_shards
{
	my ($table, $select) = @_;
	return $coord->safe_psql('postgres',
		"SELECT sum(result::bigint) FROM run_command_on_shards('$table', \$\$$select\$\$)");
}

# a gradient's state without its final function, on every node, for the
# shards to compute theirs
foreach my $node ($coord, @workers)
{
	$node->safe_psql('postgres', q{
SET citus.enable_ddl_propagation = off;
CREATE AGGREGATE public.lr_state(integer, float8[], float8[], integer)
	(SFUNC = hitl._logreg_grad_step, STYPE = float8[]);
});
}

my %bytes;
foreach my $t ('dist', 'dist2')
{
	$bytes{$t}{sums} = bytes_from_shards($t,
		q{SELECT sum(octet_length(lab) + octet_length(s::text)) FROM (SELECT lab, hitl._nb_sums(x, 0) s FROM %s WHERE lab IS NOT NULL GROUP BY lab) q});
	$bytes{$t}{grad} = bytes_from_shards($t,
		qq{SELECT octet_length(public.lr_state(c, x, $coef, 3)::text) FROM %s});
	$bytes{$t}{rows} = bytes_from_shards($t,
		q{SELECT sum(octet_length(lab) + octet_length(x::text)) FROM %s WHERE lab IS NOT NULL});
}
note(sprintf('bytes from the nodes (4,000 / 8,000 rows): naive Bayes sums %d / %d, a gradient %d / %d, the rows %d / %d',
		map { ($bytes{dist}{$_}, $bytes{dist2}{$_}) } qw(sums grad rows)));
# as many values either way, whose larger sums may take a digit more
cmp_ok($bytes{dist}{sums}, '>', 0, 'the sums move some bytes');
cmp_ok($bytes{dist2}{sums}, '<=', 1.15 * $bytes{dist}{sums},
	'naive Bayes sums: twice the rows move about as many bytes');
cmp_ok($bytes{dist2}{grad}, '<=', 1.15 * $bytes{dist}{grad},
	'a gradient: twice the rows move about as many bytes');
cmp_ok($bytes{dist2}{rows}, '>=', 1.9 * $bytes{dist}{rows}, 'reading the rows moves twice as many');
cmp_ok($bytes{dist}{sums} * 10, '<', $bytes{dist}{rows}, 'the sums move a tenth of what the rows do, or less');

done_testing();
