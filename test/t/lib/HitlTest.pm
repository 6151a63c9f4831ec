# HitlTest.pm
#		What hitl's Perl TAP tests share.
package HitlTest;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Cluster;
our @EXPORT_OK = qw($WORKER_DOING worker_node three_class_table docs_table hold_oof_store
  signal_worker_on_oof poll_true);

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

# SQL making table $table (id, x1, x2, lab) of 3,000 rows, the first 300
# labeled with one of three classes a, b, c from a noisy rule of x1
sub three_class_table
{
	my ($table) = @_;
	return qq{
CREATE TABLE $table (id int PRIMARY KEY, x1 float8, x2 float8, lab text);
INSERT INTO $table SELECT i, (i * 37 % 101) / 10.0, (i * 53 % 97) / 10.0,
	CASE WHEN i <= 300 THEN CASE WHEN (i * 37 % 101 + i * 7 % 13) % 3 = 0 THEN 'a'
		WHEN (i * 37 % 101) < 50 THEN 'b' ELSE 'c' END END
FROM generate_series(1, 3000) i;
};
}

# SQL making table $table (id, body, lab) of $rows short texts on three
# topics (sport, cooking, computing), the first $labeled labeled with theirs
sub docs_table
{
	my ($table, $rows, $labeled) = @_;
	return qq{
CREATE TABLE $table (id int PRIMARY KEY, body text, lab text);
INSERT INTO $table
SELECT g, format('%s %s the %s', w[1 + t * 8 + g % 8], w[1 + t * 8 + (g * 3) % 8],
				 w[1 + t * 8 + (g * 5) % 8]),
	   CASE WHEN g <= $labeled THEN (ARRAY['sport', 'cooking', 'computing'])[1 + t] END
FROM generate_series(1, $rows) g, LATERAL (SELECT (g * 7 % 11) % 3 AS t) s,
	 (SELECT ARRAY['goal', 'match', 'team', 'score', 'league', 'coach', 'player', 'stadium',
				   'recipe', 'bake', 'flour', 'spicy', 'oven', 'sauce', 'garlic', 'butter',
				   'kernel', 'compile', 'server', 'cpu', 'database', 'query', 'network',
				   'debug'] AS w) words;
};
}

# A session of database $db holding hitl.oof_predictions locked against
# writes (SHARE: it is still read), so that no cross-validation can finish
# until the session's COMMIT
sub hold_oof_store
{
	my ($node, $db) = @_;
	my $session = $node->background_psql($db);
	$session->query_safe('BEGIN');
	$session->query_safe('LOCK TABLE hitl.oof_predictions IN SHARE MODE');
	return $session;
}

# SQL calling $fn (pg_cancel_backend or pg_terminate_backend) on the hitl
# worker as soon as it waits for a lock on hitl.oof_predictions; returns
# $fn's name, or fails when the worker never waits
sub signal_worker_on_oof
{
	my ($fn) = @_;
	return qq{DO \$\$
DECLARE
	p int;
BEGIN
	FOR i IN 1 .. 100000 LOOP
		PERFORM pg_stat_clear_snapshot();
		SELECT l.pid INTO p FROM pg_locks l JOIN pg_stat_activity a USING (pid)
			WHERE a.backend_type = 'hitl worker' AND NOT l.granted
			  AND l.relation = 'hitl.oof_predictions'::regclass;
		IF p IS NOT NULL THEN
			PERFORM $fn(p);
			RETURN;
		END IF;
		PERFORM pg_sleep(0.001);
	END LOOP;
	RAISE EXCEPTION 'the worker never waited';
END
\$\$; SELECT '$fn'};
}

# Poll $query in database $db until it returns 't', at most $tries times
# 0.2 s apart; true if it did
sub poll_true
{
	my ($node, $db, $query, $tries) = @_;
	for (1 .. $tries)
	{
		return 1 if $node->safe_psql($db, $query) eq 't';
		select(undef, undef, undef, 0.2);
	}
	return 0;
}

1;
