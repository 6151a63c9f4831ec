# A model made on a plain table whose table Citus distributes afterwards.
# Citus refuses to distribute a table with hitl's label triggers unless
# citus.enable_unsafe_triggers is on; when it was, hitl.train and
# hitl.score refuse the model with 0A000 (its rows are in shards), and
# hitl.drop_model drops it with that setting on.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use HitlCitus qw(citus_cluster);

my ($coord, @workers) = citus_cluster('later');

$coord->safe_psql(
	'postgres', q{
CREATE TABLE items (id int PRIMARY KEY, x1 float8, x2 float8, lab text);
INSERT INTO items
SELECT i, (i * 37 % 1009) / 100.0, (i * 53 % 97) / 10.0,
	   CASE WHEN i <= 300 THEN CASE WHEN (i * 37 % 1009) / 100.0 + (i % 7) / 3.0 > 6 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 1000) i;
});
is( $coord->safe_psql(
		'postgres', q{SELECT hitl.create_model('m', 'items', 'lab', ARRAY['x1', 'x2'])}),
	'1', 'a model on the plain table: version 1');

# psql's error output of $sql on the coordinator (VERBOSITY verbose)
sub error_of
{
	my ($sql) = @_;
	my ($stdout, $stderr);
	$coord->psql('postgres', "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout, stderr => \$stderr);
	return $stderr;
}

like(
	error_of(q{SELECT create_distributed_table('items', 'id')}),
	qr/ERROR:  XX000: cannot distribute relation "items" because it has triggers/,
	'Citus refuses to distribute the table with its label triggers');

$coord->safe_psql('postgres',
	q{SET citus.enable_unsafe_triggers = on; SELECT create_distributed_table('items', 'id')});
is($coord->safe_psql('postgres', q{SELECT hitl._citus_table_kind('items')}),
	'distributed', 'with citus.enable_unsafe_triggers on, it is distributed');

foreach my $call ('hitl.train', 'hitl.score')
{
	my $err = error_of("SELECT $call('m')");
	like(
		$err,
		qr/ERROR:  0A000: table public\.items of model "m" is a Citus distributed table: hitl does not support distributed tables yet/,
		"$call: 0A000 naming Citus");
	like(
		$err,
		qr/HINT:  Drop the model \(with citus\.enable_unsafe_triggers on, for its label triggers\) and build it on a plain table\./,
		"$call: the hint");
}
is( $coord->safe_psql('postgres', q{SELECT current_version FROM hitl.models WHERE name = 'm'}),
	'1', 'no version was recorded');

# the model goes with hitl.drop_model, which drops the label triggers:
# Citus refuses that on a distributed table unless
# citus.enable_unsafe_triggers is on
like(
	error_of(q{SELECT hitl.drop_model('m')}),
	qr/ERROR:  XX000: triggers are not supported on distributed tables/,
	'hitl.drop_model: Citus refuses to drop the label triggers');
$coord->safe_psql('postgres',
	q{SET citus.enable_unsafe_triggers = on; SELECT hitl.drop_model('m', true)});
is($coord->safe_psql('postgres', q{SELECT count(*) FROM hitl.models}),
	'0', 'with citus.enable_unsafe_triggers on, the model is dropped');
is( $coord->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_trigger WHERE tgrelid = 'items'::regclass AND NOT tgisinternal}),
	'0', 'with its label triggers');
foreach my $w (@workers)
{
	is( $w->safe_psql(
			'postgres',
			q{SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
			  WHERE c.relname LIKE 'items%' AND NOT t.tgisinternal}),
		'0', $w->name . ': no label trigger left on the shards');
}

done_testing();
