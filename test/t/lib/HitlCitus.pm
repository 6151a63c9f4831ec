# HitlCitus.pm
#		A Citus cluster on this machine for the tests of test/citus/: a
#		coordinator and two worker nodes, each with citus and hitl
#		preloaded and created in database postgres.
package HitlCitus;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Cluster;
our @EXPORT_OK = qw(citus_cluster citus_extversion);

# The Citus release test/lib/citus.sh builds for each server major version,
# as the extversion of its extension: 13.2.2 for 15, 14.0.1 for 17 and 18.
my %citus_extversion = (15 => '13.2-1', 17 => '14.0-1', 18 => '14.0-1');

# The extversion citus should have on $node's server (undef for a server
# the suite builds no Citus for, which fails the comparison).
sub citus_extversion
{
	my ($node) = @_;
	my $major = $node->pg_version->major(separator => '.');
	return $citus_extversion{$major};
}

# A started node named $name with citus and hitl preloaded, citus and hitl
# created in database postgres.  Citus sends no statistics anywhere, and the
# hitl worker sleeps (the tests call what they need).
sub citus_node
{
	my ($name) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf(
		'postgresql.conf', q{
shared_preload_libraries = 'citus,hitl'
citus.enable_statistics_collection = off
max_worker_processes = 16
hitl.naptime = 300
hitl.retrain_delay = 0
});
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION citus');
	$node->safe_psql('postgres', 'CREATE EXTENSION hitl');
	return $node;
}

# ($coordinator, $worker1, $worker2): three nodes named "${prefix}_coord",
# "${prefix}_w1" and "${prefix}_w2", the workers added to the coordinator
# (which knows its own host and port too).  They reach each other by their
# Unix sockets (or 127.0.0.1 where the test modules use TCP).
sub citus_cluster
{
	my ($prefix) = @_;
	my $coord = citus_node("${prefix}_coord");
	my @workers = map { citus_node("${prefix}_w$_") } (1, 2);
	$coord->safe_psql('postgres',
		sprintf(q{SELECT citus_set_coordinator_host('%s', %d)}, $coord->host, $coord->port));
	foreach my $w (@workers)
	{
		$coord->safe_psql('postgres',
			sprintf(q{SELECT citus_add_node('%s', %d)}, $w->host, $w->port));
	}
	return ($coord, @workers);
}

1;
