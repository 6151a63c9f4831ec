# Workers on demand: a database gets a worker when it has work, at most
# hitl.max_workers run at once, idle ones exit, and every database's work
# gets done in turn.  Idle, hitl holds no background worker slot, so
# parallel queries get their workers; CREATE DATABASE ... TEMPLATE of a
# database with hitl succeeds while its worker runs, and with hitl.enabled
# off no worker runs at all.  Log lines name databases, not OIDs.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $ndb = 10;
my $node = PostgreSQL::Test::Cluster->new('worker_on_demand');
$node->init;
# four background worker slots: the launcher, two hitl workers, and one
# left for parallel query; idle workers leave after 2 s
$node->append_conf('postgresql.conf',
	    "shared_preload_libraries = 'hitl'\n"
	  . "max_worker_processes = 4\n"
	  . "hitl.max_workers = 2\n"
	  . "hitl.naptime = 2\n");
$node->start;

my $count_workers =
  q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'hitl worker'};

# Ten databases, each with hitl and a model trained at version 1
foreach my $i (0 .. $ndb - 1)
{
	$node->safe_psql('postgres', "CREATE DATABASE d$i");
	$node->safe_psql(
		"d$i", q{
CREATE EXTENSION hitl;
CREATE TABLE t (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO t
SELECT i, i % 10 + (i % 7) / 10.0, (i * 3) % 11,
	   CASE WHEN i <= 200 THEN CASE WHEN i % 10 < 5 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 5000) i;
SELECT hitl.create_model('m', 't', 'lab', ARRAY['x', 'y']);
});
}
is( $node->safe_psql(
		'd9', q{SELECT status, current_version FROM hitl.models WHERE name = 'm'}),
	'scored|1', "$ndb databases with a model at version 1");

# a session samples the number of hitl workers until told to stop
$node->safe_psql(
	'postgres', q{
CREATE TABLE samples (n int);
CREATE TABLE stop_sampling ();
CREATE PROCEDURE sample() LANGUAGE plpgsql AS $$
BEGIN
	LOOP
		PERFORM pg_stat_clear_snapshot();
		INSERT INTO samples
		SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'hitl worker';
		COMMIT;
		EXIT WHEN EXISTS (SELECT FROM stop_sampling);
		PERFORM pg_sleep(0.005);
	END LOOP;
END
$$;
});
my $sampler = $node->background_psql('postgres');
$sampler->query_until(qr/sampling/, "\\echo sampling\nCALL sample();\n");

# a label in each database: each model is retrained
foreach my $i (0 .. $ndb - 1)
{
	$node->safe_psql("d$i", q{UPDATE t SET lab = 'a' WHERE id = 201});
}
foreach my $i (0 .. $ndb - 1)
{
	my ($ret, $out, $err) =
	  $node->psql("d$i", q{SELECT hitl.wait('m', '120 s')}, timeout => 180);
	is($out, '2', "database d$i: hitl.wait returns version 2, trained by a worker");
}

# idle workers leave
ok($node->poll_query_until('postgres', $count_workers, '0'),
	'once the work is done, every idle worker exits');

$node->safe_psql('postgres', 'INSERT INTO stop_sampling DEFAULT VALUES');
$sampler->quit;
my ($nsamples, $max) = split /\|/,
  $node->safe_psql('postgres', 'SELECT count(*), max(n) FROM samples');
cmp_ok($nsamples, '>', 10, "the number of hitl workers was sampled ($nsamples times)");
cmp_ok($max, '<=', 2, "at most 2 hitl workers at any sampled moment (hitl.max_workers; saw $max)");
cmp_ok($max, '>=', 1, 'and workers did run');

# idle, hitl holds no background worker slot: a parallel query gets workers
$node->safe_psql('d0', 'CREATE TABLE p AS SELECT i FROM generate_series(1, 100000) i; ANALYZE p');
my $plan = $node->safe_psql(
	'd0', q{
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM p;
});
like($plan, qr/Workers Planned: 2/, 'the plan is parallel');
my ($launched) = $plan =~ /Workers Launched: (\d+)/;
cmp_ok($launched // 0, '>=', 1, 'a parallel query gets background workers while hitl is idle');

# CREATE DATABASE ... TEMPLATE of a database whose worker is running
$node->safe_psql('d1', q{UPDATE t SET lab = 'b' WHERE id = 202});
ok( $node->poll_query_until(
		'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND datname = 'd1'},
		'1'),
	'a label in d1: its worker runs');
my ($ret, $out, $err) = $node->psql('postgres', 'CREATE DATABASE c1 TEMPLATE d1', timeout => 60);
is($ret, 0, 'CREATE DATABASE c1 TEMPLATE d1 succeeds while the worker of d1 runs');
is($err, '', 'without a message');
is($node->safe_psql('c1', q{SELECT count(*) FROM hitl.models}), '1', 'c1 has the model of d1');
is($node->safe_psql('d1', q{SELECT hitl.wait('m', '60 s')}), '3',
	'the label in d1 is trained afterwards (version 3)');

# createdb -T with hitl.enabled off: no worker at all
$node->safe_psql('postgres', 'ALTER SYSTEM SET hitl.enabled = off');
$node->reload;
ok($node->poll_query_until('d2', 'SHOW hitl.enabled', 'off'), 'hitl.enabled is off');
$node->safe_psql('d2', q{UPDATE t SET lab = 'b' WHERE id = 203});
ok($node->poll_query_until('postgres', $count_workers, '0'), 'hitl.enabled off: no hitl worker runs');
$node->command_ok(
	[ 'createdb', '-h', $node->host, '-p', $node->port, '-T', 'd2', 'c2' ],
	'createdb -T d2 c2 succeeds with hitl.enabled off');
is($node->safe_psql('postgres', $count_workers), '0', 'still no hitl worker');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET hitl.enabled');
$node->reload;
is($node->safe_psql('d2', q{SELECT hitl.wait('m', '60 s')}), '3',
	'hitl.enabled on again: the label written while it was off is trained (version 3)');

# hitl.max_workers = 1 and a database that always has work: the others
# still get their turn
$node->safe_psql('postgres', 'ALTER SYSTEM SET hitl.max_workers = 1');
$node->reload;
ok($node->poll_query_until('d3', 'SHOW hitl.max_workers', '1'), 'hitl.max_workers is 1');
$node->safe_psql('d3', q{
CREATE TABLE go ();
INSERT INTO go DEFAULT VALUES;
CREATE PROCEDURE keep_labeling() LANGUAGE plpgsql AS $$
DECLARE
	i int := 0;
BEGIN
	WHILE EXISTS (SELECT FROM go) LOOP
		UPDATE t SET lab = CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END WHERE id = 300;
		COMMIT;
		i := i + 1;
		PERFORM pg_sleep(0.001);
	END LOOP;
END
$$;
});
my $labeler = $node->background_psql('d3');
$labeler->query_until(qr/labeling/, "\echo labeling
CALL keep_labeling();
");
ok( $node->poll_query_until(
		'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND datname = 'd3'},
		'1'),
	'd3 gets labels all the time: its worker is busy');
$node->safe_psql('d4', q{UPDATE t SET lab = 'b' WHERE id = 204});
is($node->safe_psql('d4', q{SELECT hitl.wait('m', '60 s')}), '3',
	'd4 still gets a worker in turn: its label is trained (version 3)');
$node->safe_psql('d3', 'DELETE FROM go');
$labeler->quit;
$node->safe_psql('postgres', 'ALTER SYSTEM RESET hitl.max_workers');
$node->reload;

# a failing model is retried at its retry_at, by workers started for it
# (an idle worker leaves after 2 s; retries come 2, 4, 8 s apart)
$node->safe_psql(
	'd5', q{
CREATE ROLE fay LOGIN;
ALTER TABLE t OWNER TO fay;
UPDATE hitl.models SET owner = 'fay' WHERE name = 'm';
REVOKE SELECT ON t FROM fay;
UPDATE t SET lab = 'b' WHERE id = 205;
});
ok( $node->poll_query_until(
		'd5', q{SELECT failures >= 3 AND status = 'failed' FROM hitl.models WHERE name = 'm'}),
	'a failing model is retried by itself, again and again, by workers started when a retry is due');
$node->safe_psql('d5', 'GRANT SELECT ON t TO fay');
ok( $node->poll_query_until(
		'd5', q{SELECT status = 'scored' AND failures = 0 FROM hitl.models WHERE name = 'm'}),
	'once the owner can read the table again, the next retry succeeds');
is($node->safe_psql('d5', q{SELECT hitl.wait('m', '60 s')}), '3', 'version 3 has the label');

# log lines name databases, not OIDs
my $log = slurp_file($node->logfile);
unlike($log, qr/hitl[^\n]*database \d+/, 'no hitl log line names a database by its OID');
unlike($log, qr/could not start a worker/, 'no worker failed to start');

$node->stop;

done_testing();
