# HitlTest.pm
#		What hitl's Perl TAP tests share.
package HitlTest;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Cluster;
our @EXPORT_OK = qw($WORKER_DOING worker_node);

# SQL creating worker_doing(pattern): the pid of the current database's hitl
# worker once pg_stat_activity shows it active on a query LIKE pattern (for
# instance 'scoring model m'); an error after 60 s.
our $WORKER_DOING = q{
CREATE FUNCTION worker_doing(pattern text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	p int;
	deadline timestamptz := clock_timestamp() + interval '60 s';
BEGIN
	LOOP
		PERFORM pg_stat_clear_snapshot();
		SELECT pid INTO p FROM pg_stat_activity
		WHERE backend_type = 'hitl worker' AND datname = current_database()
		  AND state = 'active' AND query LIKE pattern;
		IF p IS NOT NULL THEN
			RETURN p;
		END IF;
		IF clock_timestamp() > deadline THEN
			RAISE EXCEPTION 'the hitl worker was not seen doing "%"', pattern;
		END IF;
		PERFORM pg_sleep(0.001);
	END LOOP;
END
$$;
};

# A started cluster named $name with hitl preloaded (hitl.naptime 300 s, no
# retrain delay, and the lines of $conf), and database $db with hitl in it.
sub worker_node
{
	my ($name, $db, $conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'hitl'\nhitl.naptime = 300\nhitl.retrain_delay = 0\n" . ($conf // ''));
	$node->start;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION hitl');
	return $node;
}

1;
