# The Citus cluster the tests of test/citus/ run on: a coordinator and two
# worker nodes with citus and hitl preloaded and created on each, the
# workers added to the coordinator, and a table distributed by its primary
# key over both.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use HitlCitus qw(citus_cluster citus_extversion);

my ($coord, @workers) = citus_cluster('setup');
my @nodes = ($coord, @workers);

# every node: both libraries preloaded, citus first; both extensions there
foreach my $node (@nodes)
{
	my $name = $node->name;
	is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
		'citus,hitl', "$name preloads citus and hitl");
	is( $node->safe_psql(
			'postgres',
			q{SELECT string_agg(extname || ' ' || extversion, ', ' ORDER BY extname)
			  FROM pg_extension WHERE extname IN ('citus', 'hitl')}),
		'citus ' . (citus_extversion($node) // '(none for this server)') . ', hitl 0.2.0',
		"$name has the citus of its server and hitl 0.2.0");
	is($node->safe_psql('postgres', q{SELECT count(*) FROM hitl.models}),
		'0', "$name: hitl's catalog is readable");
}

# the coordinator knows both workers, active
is( $coord->safe_psql(
		'postgres',
		q{SELECT string_agg(node_port::text, ',' ORDER BY node_port)
		  FROM citus_get_active_worker_nodes()}),
	join(',', sort { $a <=> $b } map { $_->port } @workers),
	'the coordinator has both workers, active');

# a table distributed by its primary key: a label column and two features
$coord->safe_psql(
	'postgres', q{
CREATE TABLE items (id int PRIMARY KEY, x1 float8, x2 float8, lab text);
INSERT INTO items
SELECT i, (i * 37 % 1009) / 100.0, (i * 53 % 97) / 10.0,
	   CASE WHEN i <= 300 THEN CASE WHEN (i * 37 % 1009) / 100.0 + (i % 7) / 3.0 > 6 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 1000) i;
SELECT create_distributed_table('items', 'id');
});

is( $coord->safe_psql(
		'postgres',
		q{SELECT citus_table_type || ' by ' || distribution_column || ', ' || shard_count || ' shards'
		  FROM citus_tables WHERE table_name = 'items'::regclass}),
	'distributed by id, 32 shards', 'items is distributed by id');

# shards on both workers, and the rows on the workers
is( $coord->safe_psql(
		'postgres',
		q{SELECT string_agg(DISTINCT nodeport::text, ',' ORDER BY nodeport::text)
		  FROM citus_shards WHERE table_name = 'items'::regclass}),
	join(',', sort map { $_->port } @workers),
	'the shards of items are on both workers');
foreach my $w (@workers)
{
	my $shard_rows = $coord->safe_psql(
		'postgres',
		sprintf(
			q{SELECT sum(result::bigint) FROM run_command_on_placements('items',
				'SELECT count(*) FROM %%s') WHERE nodeport = %d},
			$w->port));
	cmp_ok($shard_rows, '>', 0, $w->name . ' holds rows of items');
}
is( $coord->safe_psql(
		'postgres',
		q{SELECT count(*) || ' ' || count(lab) FROM items}),
	'1000 300', 'the coordinator reads all 1000 rows, 300 labeled');
is( $coord->safe_psql(
		'postgres',
		q{SELECT sum(result::bigint) FROM run_command_on_placements('items', 'SELECT count(*) FROM %s')}),
	'1000', 'the shards hold the 1000 rows once');

# what the coordinator distributes is seen on every worker with hitl there
foreach my $w (@workers)
{
	is( $w->safe_psql(
			'postgres',
			q{SELECT count(*) FROM pg_dist_partition WHERE logicalrelid = 'items'::regclass}),
		'1', $w->name . ' has the metadata of items');
}

done_testing();
