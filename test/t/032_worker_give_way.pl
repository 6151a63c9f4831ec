# The worker never deadlocks with DDL on a model or its table and never
# makes it wait long: hitl.drop_model, hitl.create_model, ALTER TABLE,
# TRUNCATE and DROP EXTENSION run while the worker retrains and rescores,
# and the worker gives way.  And a lock a user holds (a model's row, a
# table) does not stop the worker's work on the other models.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/lib";
use HitlTest qw($WORKER_DOING);

my $node = PostgreSQL::Test::Cluster->new('worker_give_way');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'hitl'\nhitl.naptime = 300\nhitl.retrain_delay = 0\n");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE give');
$node->safe_psql('give', 'CREATE EXTENSION hitl');
$node->safe_psql('give', $WORKER_DOING);

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('give', $query);
}

# ---------------------------------------------------------------------------
# 1. A user's locks do not stall the worker's work on other models
# ---------------------------------------------------------------------------

sql(q{
CREATE ROLE olive LOGIN;
GRANT CREATE ON SCHEMA public TO olive;
});
foreach my $name ('a1', 'b1')
{
	sql(qq{
CREATE TABLE t_$name (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO t_$name
SELECT i, i % 10 + (i % 7) / 10.0, (i * 3) % 11,
	   CASE WHEN i <= 200 THEN CASE WHEN i % 10 < 5 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 2000) i;
ALTER TABLE t_$name OWNER TO olive;
SET ROLE olive;
SELECT hitl.create_model('$name', 't_$name', 'lab', ARRAY['x', 'y']);
RESET ROLE;
});
}

# a transaction left open on the row of model a1 (the worker looks at a1
# first: models are taken in name order)
my $holder = $node->background_psql('give');
$holder->query_safe(q{BEGIN; SELECT 1 FROM hitl.models WHERE name = 'a1' FOR UPDATE});
sql(q{UPDATE t_a1 SET lab = 'a' WHERE id = 201; UPDATE t_b1 SET lab = 'a' WHERE id = 201;});
my ($ret, $out, $err) = $node->psql('give', q{SELECT hitl.wait('b1', '60 s')}, timeout => 120);
is($out, '2', 'model a1 row-locked by an open transaction: b1 is retrained all the same (version 2)');
is(sql(q{SELECT status, failures, last_error IS NULL FROM hitl.models WHERE name = 'a1'}),
	'scored|0|t', 'a1 is not marked failed: the worker tries it later');
$holder->query_safe('COMMIT');
is(sql(q{SELECT hitl.wait('a1', '60 s')}), '2', 'once the transaction ends, a1 is retrained too');

# the owner holds an ACCESS EXCLUSIVE lock on a1's table
$holder->query_safe(q{SET ROLE olive; BEGIN; LOCK TABLE t_a1 IN ACCESS EXCLUSIVE MODE});
# one commit that has every model rescored (a1 first) and b1 retrained
sql(q{BEGIN; SELECT hitl._wake(); UPDATE t_b1 SET lab = 'b' WHERE id = 202; COMMIT;});
($ret, $out, $err) = $node->psql('give', q{SELECT hitl.wait('b1', '60 s')}, timeout => 120);
is($out, '3', 'the table of a1 locked by its owner: b1 is retrained all the same (version 3)');
$holder->query_safe('COMMIT');
$holder->quit;
sql(q{UPDATE t_a1 SET lab = 'b' WHERE id = 202});
is(sql(q{SELECT hitl.wait('a1', '60 s')}), '3', 'a1 afterwards (version 3)');
is(sql(q{SELECT string_agg(format('%s %s', name, failures), ', ' ORDER BY name) FROM hitl.models}),
	'a1 0, b1 0', 'no failure recorded for either');

# ---------------------------------------------------------------------------
# 2. DDL while the worker retrains and rescores model m
# ---------------------------------------------------------------------------

my $rows = 100000;
my $fill = qq{
INSERT INTO t
SELECT i, (i % 1000) / 100.0 + (i % 7) / 10.0, (i * 3) % 11,
	   CASE WHEN i % 20 = 0 THEN CASE WHEN i % 1000 < 500 THEN 'a' ELSE 'b' END END
FROM generate_series(1, $rows) i;
};
my $create = q{SELECT hitl.create_model('m', 't', 'lab', ARRAY['x', 'y'], options => '{"score_tolerance": 0}')};
sql(qq{CREATE TABLE t (id int PRIMARY KEY, x float8, y float8, lab text); $fill; $create;});
my $offset = -s $node->logfile;

# flip every label and wait until the worker works on m
sub keep_busy
{
	sql(q{UPDATE t SET lab = CASE lab WHEN 'a' THEN 'b' ELSE 'a' END WHERE lab IS NOT NULL});
	return sql(q{SELECT worker_doing('% model m')});
}

# run a DDL script in a session of its own, guarded by lock_timeout
sub ddl
{
	my ($what, $script) = @_;
	my ($ret, $out, $err) = $node->psql(
		'give', "SET lock_timeout = '30s';\n$script",
		on_error_stop => 1,
		timeout => 120);
	is($ret, 0, "$what returns, while the worker works on m");
	unlike($err, qr/40P01|deadlock/, "$what: no deadlock");
	unlike($err, qr/ERROR/, "$what: no error") or diag($err);
}

my @kinds = (
	[ 'drop_model, create_model', qq{SELECT hitl.drop_model('m'); $create;} ],
	[ 'ALTER TABLE ADD COLUMN', q{ALTER TABLE t ADD COLUMN c%d int} ],
	[ 'TRUNCATE', qq{BEGIN; TRUNCATE t; $fill; COMMIT;} ],
	[ 'drop_model in a transaction', qq{BEGIN; SELECT hitl.drop_model('m'); $create; COMMIT;} ]);
my $rounds = 12;
foreach my $round (1 .. $rounds)
{
	my ($what, $script) = @{ $kinds[ $round % @kinds ] };
	$script = sprintf($script, $round) if $script =~ /%d/;
	ok(keep_busy(), "round $round: the worker is busy with m");
	ddl("round $round: $what", $script);
}

sql(q{UPDATE t SET lab = 'a' WHERE id = 20});
ok(sql(q{SELECT hitl.wait('m', '60 s')}), 'afterwards the worker trains and scores m');
is( sql(
		q{SELECT status, failures, current_version = scored_version,
				 (SELECT count(*) FROM t WHERE lab_prediction IS DISTINCT FROM hitl.predict('m', t))
		  FROM hitl.models WHERE name = 'm'}),
	'scored|0|t|0', 'm is scored with its current version, without a failure');
my $log = slurp_file($node->logfile, $offset);
unlike($log, qr/deadlock detected/, 'no deadlock in the server log');
unlike($log, qr/hitl: model "m".* failed/, 'the worker recorded no failure');
like($log, qr/LOG:  hitl: work on model "m" of database "give" gave way to a command on its table/,
	'the worker logged that it gave way');

# ---------------------------------------------------------------------------
# 3. DROP EXTENSION hitl while the worker is busy
# ---------------------------------------------------------------------------

ok(keep_busy(), 'the worker is busy with m');
ddl('DROP EXTENSION hitl CASCADE', 'DROP EXTENSION hitl CASCADE');
ok( $node->poll_query_until(
		'give',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND datname = 'give'},
		'0'),
	'the worker leaves the database');

$node->stop;

done_testing();
