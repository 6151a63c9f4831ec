# The life of the background workers: a worker comes for a database where
# hitl is created after the server started and leaves when hitl is dropped;
# it steps aside for DROP DATABASE and ALTER DATABASE ... RENAME (and comes
# back when they fail); terminated workers and launchers are replaced; no
# worker runs on a standby (one does once it is promoted); and the pending
# work is finished after a restart, an immediate shutdown or a kill -9 in
# the middle of training or scoring, with no label, log row or version lost.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/lib";
use HitlTest qw($WORKER_DOING);
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('worker_lifecycle');
$node->init(allows_streaming => 1);
# a long naptime: workers must come and go because they are told to; the
# server restarts after a crash (PostgreSQL::Test::Cluster turns that off)
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'hitl'\nhitl.naptime = 300\n"
	  . "restart_after_crash = on\nmax_wal_size = 1GB\n");
$node->start;

sub worker_count
{
	my ($db, $n) = @_;
	$n //= $node;
	return $n->safe_psql('postgres',
		qq{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND datname = '$db'});
}

sub worker_pid
{
	my ($db) = @_;
	return $node->safe_psql('postgres',
		qq{SELECT pid FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND datname = '$db'});
}

sub launcher_pid
{
	return $node->safe_psql('postgres',
		q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'hitl launcher'});
}

# Poll until the number of workers of a database is $n; returns the seconds taken
sub wait_for_workers
{
	my ($db, $n, $on) = @_;
	$on //= $node;
	my $t0 = time;
	$on->poll_query_until('postgres',
		qq{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND datname = '$db'},
		$n)
	  or return undef;
	return time - $t0;
}

# A table of $rows rows, every $every-th labeled, and model $name on it
sub make_model
{
	my ($db, $name, $rows, $every) = @_;
	$node->safe_psql(
		$db, qq{
CREATE TABLE $name (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO $name
SELECT i, (i % 1000) / 100.0 + (i % 7) / 10.0, (i * 3) % 11,
	   CASE WHEN i % $every = 0 THEN CASE WHEN i % 1000 < 500 THEN 'a' ELSE 'b' END END
FROM generate_series(1, $rows) i;
SELECT hitl.create_model('$name', '$name', 'lab', ARRAY['x', 'y']);
});
}

my $worker_doing = $WORKER_DOING;

# ---------------------------------------------------------------------------
# 1. CREATE EXTENSION in a database made after the start: a worker comes
# ---------------------------------------------------------------------------

my $launcher = launcher_pid();
ok($launcher, 'the launcher runs');
ok( $node->poll_query_until(
		'postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'hitl worker'}, '0'),
	'no worker stays while no database has hitl');

$node->safe_psql('postgres', 'CREATE DATABASE late');
$node->safe_psql('late', 'CREATE EXTENSION hitl');
my $secs = wait_for_workers('late', 1);
ok(defined $secs, 'a worker starts for database late without a restart');
# (poll_query_until gives up after 180 s: a worker that came only at
# hitl.naptime, 300 s, would not count)
note(sprintf('the worker came after %.1f s', $secs // -1));
is(launcher_pid(), $launcher, 'started by the same launcher');

make_model('late', 'first', 1000, 5);
$node->safe_psql('late', q{UPDATE first SET lab = 'a' WHERE id = 1});
is($node->safe_psql('late', q{SELECT hitl.wait('first')}), '2', 'the worker trains version 2 after a label');
# (and cross-validates it after its scoring, logging a line of its own,
# then rescores when the calibration moved: the worker is idle after that)
ok( $node->poll_query_until(
		'late', q{SELECT NOT (metrics ? 'cv_pending') FROM hitl.model_versions WHERE model = 'first' AND version = 2
				  AND NOT EXISTS (SELECT FROM pg_stat_activity
								  WHERE backend_type = 'hitl worker' AND datname = 'late' AND state = 'active')}),
	'then cross-validates it, and is idle');

# ---------------------------------------------------------------------------
# 2. DROP EXTENSION: the worker leaves quietly; it comes back with hitl
# ---------------------------------------------------------------------------

my $pid = worker_pid('late');
my $offset = -s $node->logfile;
$node->safe_psql('late', 'DROP EXTENSION hitl CASCADE');
$secs = wait_for_workers('late', 0);
ok(defined $secs, 'DROP EXTENSION hitl: the worker leaves');
note(sprintf('it left after %.1f s', $secs // -1));
my $log = slurp_file($node->logfile, $offset);
unlike($log, qr/\[$pid\]/, 'quietly: the worker logged nothing');
unlike($log, qr/PID $pid\) exited with exit code [1-9]|PID $pid\) was terminated/,
	'and exited with status 0');
$node->safe_psql('late', 'CREATE EXTENSION hitl');
ok(defined wait_for_workers('late', 1), 'CREATE EXTENSION hitl again: a worker comes back');
make_model('late', 'm', 1000, 5);
$node->safe_psql('late', q{UPDATE m SET lab = 'b' WHERE id = 2});
is($node->safe_psql('late', q{SELECT hitl.wait('m')}), '2', 'and works');

# ---------------------------------------------------------------------------
# 3. DROP DATABASE with a worker attached: idle, then in the middle of a
#    scoring
# ---------------------------------------------------------------------------

$node->safe_psql('postgres', 'CREATE DATABASE doomed');
$node->safe_psql('doomed', 'CREATE EXTENSION hitl');
make_model('doomed', 'd', 1000, 5);
ok(defined wait_for_workers('doomed', 1), 'a worker runs for database doomed');
$pid = worker_pid('doomed');
my $t0 = time;
my ($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE doomed', timeout => 60);
my $took = time - $t0;
# DROP DATABASE waits 5 s for the other sessions to leave, then fails: it
# succeeds only when the worker left (and no time bound is needed)
is($ret, 0, 'DROP DATABASE succeeds with a worker attached');
is($err, '', 'without a message');
note(sprintf('DROP DATABASE took %.2f s', $took));
is($node->safe_psql('postgres', qq{SELECT count(*) FROM pg_stat_activity WHERE pid = $pid}),
	'0', 'the worker is gone');

$node->safe_psql('postgres', 'CREATE DATABASE doomed2');
$node->safe_psql('doomed2', 'CREATE EXTENSION hitl');
$node->safe_psql('doomed2', $worker_doing);
make_model('doomed2', 'd', 200000, 200);
ok(defined wait_for_workers('doomed2', 1), 'a worker runs for database doomed2');
# flip every label: the worker retrains and rewrites all 200,000 rows
$node->safe_psql('doomed2',
	q{UPDATE d SET lab = CASE lab WHEN 'a' THEN 'b' ELSE 'a' END WHERE lab IS NOT NULL});
$pid = $node->safe_psql('doomed2', q{SELECT worker_doing('scoring model d')});
ok($pid, 'the worker of doomed2 is scoring');
$t0 = time;
($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE doomed2', timeout => 60);
$took = time - $t0;
is($ret, 0, 'DROP DATABASE succeeds while the worker is scoring');
is($err, '', 'without a message, the worker having left in the middle of its scoring');
note(sprintf('DROP DATABASE took %.2f s', $took));
is($node->safe_psql('postgres', qq{SELECT count(*) FROM pg_stat_activity WHERE pid = $pid}),
	'0', 'the worker is gone');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_database WHERE datname LIKE 'doomed%'}),
	'0', 'both databases are dropped');
is(launcher_pid(), $launcher, 'the launcher is still the same');
is(worker_count('late'), '1', 'the worker of database late is still there');
$node->safe_psql('late', q{UPDATE m SET lab = 'b' WHERE id = 3});
is($node->safe_psql('late', q{SELECT hitl.wait('m')}), '3', 'and still works');

# DROP DATABASE that fails (another session is connected): the worker
# comes back
$node->safe_psql('postgres', 'CREATE DATABASE busy');
$node->safe_psql('busy', 'CREATE EXTENSION hitl');
ok(defined wait_for_workers('busy', 1), 'a worker runs for database busy');
$pid = worker_pid('busy');
my $session = $node->background_psql('busy');
($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE busy', timeout => 60);
isnt($ret, 0, 'DROP DATABASE busy fails while another session is connected');
like($err, qr/database "busy" is being accessed by other users/, 'because of that session');
like($err, qr/There is 1 other session using the database\./, 'one session: not the worker');
ok(defined wait_for_workers('busy', 1), 'the worker of busy comes back');
isnt(worker_pid('busy'), $pid, 'a new one');
$session->quit;
is($node->psql('postgres', 'DROP DATABASE busy'), 0, 'DROP DATABASE busy succeeds once the session left');

# ALTER DATABASE ... RENAME also needs the database to itself
$node->safe_psql('postgres', 'CREATE DATABASE ren');
$node->safe_psql('ren', 'CREATE EXTENSION hitl');
ok(defined wait_for_workers('ren', 1), 'a worker runs for database ren');
$t0 = time;
($ret, $out, $err) = $node->psql('postgres', 'ALTER DATABASE ren RENAME TO ren2', timeout => 60);
$took = time - $t0;
# (like DROP DATABASE, it fails when other sessions stay connected)
is($ret, 0, 'ALTER DATABASE ren RENAME TO ren2 succeeds with a worker attached');
note(sprintf('ALTER DATABASE took %.2f s', $took));
ok(defined wait_for_workers('ren2', 1), 'the worker comes back for ren2');
$node->safe_psql('postgres', 'DROP DATABASE ren2');

# ---------------------------------------------------------------------------
# 4. Terminated processes come back
# ---------------------------------------------------------------------------

# the database postgres had a worker at the start, which found no hitl
# there and left: CREATE EXTENSION brings one back
$node->safe_psql('postgres', 'CREATE EXTENSION hitl');
ok(defined wait_for_workers('postgres', 1), 'CREATE EXTENSION in database postgres: a worker comes');

# pg_terminate_backend of a worker: the launcher starts another
$pid = worker_pid('late');
is($node->safe_psql('postgres', qq{SELECT pg_terminate_backend($pid)}), 't', 'pg_terminate_backend of the worker of late');
ok($node->poll_query_until('postgres', qq{SELECT count(*) FROM pg_stat_activity WHERE pid = $pid}, '0'),
	'it leaves');
ok(defined wait_for_workers('late', 1), 'the launcher starts another one');
$node->safe_psql('late', q{UPDATE m SET lab = 'a' WHERE id = 8});
is($node->safe_psql('late', q{SELECT hitl.wait('m')}), '4', 'which trains version 4');

# pg_terminate_backend of the launcher: the postmaster starts another one
# (bgw_restart_time 5 s); the workers go on meanwhile
$pid = worker_pid('late');
is($node->safe_psql('postgres', qq{SELECT pg_terminate_backend($launcher)}), 't',
	'pg_terminate_backend of the launcher');
ok( $node->poll_query_until(
		'postgres', qq{
SELECT count(*) = 1 AND bool_and(pid <> $launcher)
FROM pg_stat_activity WHERE backend_type = 'hitl launcher'}),
	'a new launcher starts');
$launcher = launcher_pid();
is(worker_pid('late'), $pid, 'the worker of late stayed');
$node->safe_psql('postgres', 'CREATE DATABASE later');
$node->safe_psql('later', 'CREATE EXTENSION hitl');
ok(defined wait_for_workers('later', 1), 'the new launcher starts workers for new databases');
$node->safe_psql('late', q{UPDATE m SET lab = 'b' WHERE id = 9});
is($node->safe_psql('late', q{SELECT hitl.wait('m')}), '5', 'the worker of late trains version 5');
$node->safe_psql('postgres', 'DROP DATABASE later');

# ---------------------------------------------------------------------------
# 5. A standby runs no worker (and no launcher); promoted, it does
# ---------------------------------------------------------------------------

$node->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'backup', has_streaming => 1);
$standby->start;
$node->wait_for_catchup($standby);

my $mv = $node->safe_psql('late', q{SELECT current_version FROM hitl.models WHERE name = 'm'});
is($standby->safe_psql('late', q{SELECT status, current_version FROM hitl.models WHERE name = 'm'}),
	"scored|$mv", "the standby has the model, at version $mv");
$node->safe_psql('late', q{UPDATE m SET lab = 'a' WHERE id = 4});
$mv++;
is($node->safe_psql('late', q{SELECT hitl.wait('m')}), $mv, "the primary trains version $mv");
$node->wait_for_catchup($standby);
is($standby->safe_psql('late', q{SELECT max(version) FROM hitl.model_versions WHERE model = 'm'}),
	$mv, "the standby has version $mv by replication");
is($standby->safe_psql('late', q{SELECT hitl.wait('m', '5 s')}),
	$mv, 'hitl.wait on the standby returns the replicated version');
is( $standby->safe_psql(
		'postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'hitl%'}),
	'0', 'no hitl launcher nor worker on the standby');
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'it is in recovery');

$standby->promote;
ok(defined wait_for_workers('late', 1, $standby), 'promoted, it starts a worker for database late');
$standby->safe_psql('late', q{UPDATE m SET lab = 'b' WHERE id = 5});
is($standby->safe_psql('late', q{SELECT hitl.wait('m')}), $mv + 1,
	'which trains version ' . ($mv + 1) . ' on the promoted node');
$standby->stop;

# ---------------------------------------------------------------------------
# 6. Pending labels are trained after a restart and after an immediate
#    shutdown
# ---------------------------------------------------------------------------

# a restart with hitl.enabled off: no worker, labels are only logged
sub restart_disabled
{
	$node->append_conf('postgresql.conf', "hitl.enabled = off\n");
	$node->restart;
	is(worker_count('late'), '0', 'hitl.enabled off: no worker');
}

sub enable
{
	$node->adjust_conf('postgresql.conf', 'hitl.enabled', 'on');
}

my $log_sql = q{SELECT count(*) FROM hitl.label_log WHERE model = 'm'};
my $labels_sql = q{SELECT md5(string_agg(id || ':' || lab, ',' ORDER BY id)) FROM m WHERE lab IS NOT NULL};

restart_disabled();
$node->safe_psql('late', q{UPDATE m SET lab = 'a' WHERE id = 6});
my $logged = $node->safe_psql('late', $log_sql);
my $labels = $node->safe_psql('late', $labels_sql);
is( $node->safe_psql(
		'late', q{SELECT processed_labels < (SELECT count(*) FROM hitl.label_log WHERE model = 'm'),
						 current_version FROM hitl.models WHERE name = 'm'}),
	"t|$mv", "a label waits in the log; version $mv is current on the old primary");
enable();
$node->restart;
$mv++;
is($node->safe_psql('late', q{SELECT hitl.wait('m')}), $mv, "after a restart, the worker trains it: version $mv");
is($node->safe_psql('late', $labels_sql), $labels, 'every label is there');
is($node->safe_psql('late', $log_sql), $logged, 'every log row');

restart_disabled();
$node->safe_psql('late', q{UPDATE m SET lab = 'b' WHERE id = 7});
$logged = $node->safe_psql('late', $log_sql);
$labels = $node->safe_psql('late', $labels_sql);
$node->stop('immediate');
enable();
$node->start;
$mv++;
is($node->safe_psql('late', q{SELECT hitl.wait('m')}), $mv,
	"after an immediate shutdown, the worker trains the pending label: version $mv");
is($node->safe_psql('late', $labels_sql), $labels, 'every label is there');
is($node->safe_psql('late', $log_sql), $logged, 'every log row');
is($node->safe_psql('late', q{SELECT string_agg(version::text, ',' ORDER BY version) FROM hitl.model_versions WHERE model = 'm'}),
	join(',', 1 .. $mv), 'and every version');

# ---------------------------------------------------------------------------
# 7. kill -9 of the worker and an immediate shutdown in the middle of
#    training and of scoring: 300,000 rows, 100,000 labeled
# ---------------------------------------------------------------------------

$node->safe_psql('postgres', 'CREATE DATABASE big');
$node->safe_psql('big', 'CREATE EXTENSION hitl');
$node->safe_psql('big', $worker_doing);
make_model('big', 'big', 300000, 3);
ok(defined wait_for_workers('big', 1), 'a worker runs for database big');

my $big_log_sql = q{SELECT count(*) FROM hitl.label_log WHERE model = 'big'};
my $big_labels_sql =
  q{SELECT count(*) FILTER (WHERE lab = 'a'), count(*) FILTER (WHERE lab = 'b'),
		   md5(string_agg(id || ':' || lab, ',' ORDER BY id)) FROM big WHERE lab IS NOT NULL};
my $versions_sql = q{SELECT string_agg(version::text, ',' ORDER BY version) FROM hitl.model_versions WHERE model = 'big'};
my $fresh_sql = q{
SELECT m.status, m.current_version = m.scored_version,
	   (SELECT count(*) FROM big t WHERE t.lab_prediction IS DISTINCT FROM hitl.predict('big', t))
FROM hitl.models m WHERE m.name = 'big'};

# What the labels will be once swapped, before the swap
my $swapped_sql =
  q{SELECT count(*) FILTER (WHERE lab = 'b'), count(*) FILTER (WHERE lab = 'a'),
		   md5(string_agg(id || ':' || CASE lab WHEN 'a' THEN 'b' ELSE 'a' END, ',' ORDER BY id))
	FROM big WHERE lab IS NOT NULL};

# Swap every label in one transaction, then catch the worker $doing
# something ("training model big"): the polling starts right after the
# commit, in the same psql, since a fast training can be over before
# another psql would look.  Returns (its pid, the labels and the count of
# log rows the swap leaves), for a kill at once.  First the worker is done
# with the version before, its cross-validation included (and a rescoring
# that may follow it), so that what it is caught doing is the swap's work.
sub swap_labels
{
	my ($doing) = @_;
	$node->safe_psql('big', q{SELECT hitl.wait('big', '180 s', cross_validated => true)});
	$node->poll_query_until('big', q{
SELECT count(*) = 0 FROM pg_stat_activity
WHERE backend_type = 'hitl worker' AND datname = current_database() AND state = 'active'})
	  or die 'the worker stays busy';
	my $labels = $node->safe_psql('big', $swapped_sql);
	my $logged = $node->safe_psql('big', $big_log_sql) + 100000;
	my $pid = $node->safe_psql('big', qq{
UPDATE big SET lab = CASE lab WHEN 'a' THEN 'b' ELSE 'a' END WHERE lab IS NOT NULL;
SELECT worker_doing('$doing');});
	return ($pid, $labels, $logged);
}

# Wait until the server accepts queries again after a crash restart.  Not
# poll_query_until: it writes its query to psql's stdin, and a psql that
# exits at once (the server still restarting) breaks that pipe, which
# IPC::Run turns into a die.  Each try here is caught.
# After a kill -9 at log offset $from: the postmaster first has to notice
# it and take the server down (until then the old server still answers),
# then crash recovery has to end
sub wait_for_restart
{
	my ($from) = @_;
	$node->wait_for_log(qr/all server processes terminated; reinitializing/, $from);
	foreach (1 .. 1800)
	{
		my $up = eval {
			my ($rc, $out) = $node->psql('big', 'SELECT NOT pg_is_in_recovery()');
			$rc == 0 && $out eq 't';
		};
		return 1 if $up;
		Time::HiRes::usleep(100_000);
	}
	return 0;
}

my $v = $node->safe_psql('big', q{SELECT hitl.wait('big')});
is($v, '1', 'model big is at version 1');

# kill -9 while training
my ($labels_at, $log_at);
($pid, $labels_at, $log_at) = swap_labels('training model big');
ok($pid, 'the worker is training');
$offset = -s $node->logfile;
kill 'KILL', $pid;
ok(wait_for_restart($offset), 'kill -9 of the worker while training: the server restarts');
like(slurp_file($node->logfile, $offset),
	qr/\(PID $pid\) was terminated by signal 9/, 'the postmaster saw the kill');
is($node->safe_psql('big', $big_labels_sql), $labels_at, 'no label lost');
is($node->safe_psql('big', $big_log_sql), $log_at, 'no log row lost: 100,000 label changes logged');
# the new worker may have trained the labels again already: no version is
# lost, and the only one that may have come is the next
like($node->safe_psql('big', $versions_sql), qr/^1(,2)?$/,
	'the versions committed before are there, and at most the next one');
is($node->safe_psql('big', q{SELECT hitl.wait('big')}), $v + 1, 'the worker trains the labels again');
is($node->safe_psql('big', $fresh_sql), 'scored|t|0', 'and scores every row');
isnt(worker_pid('big'), $pid, 'a new worker does it');
$v++;

# kill -9 while scoring
($pid, $labels_at, $log_at) = swap_labels('scoring model big');
ok($pid, 'the worker is scoring');
$offset = -s $node->logfile;
kill 'KILL', $pid;
ok(wait_for_restart($offset), 'kill -9 of the worker while scoring: the server restarts');
is($node->safe_psql('big', $big_labels_sql), $labels_at, 'no label lost');
is($node->safe_psql('big', $big_log_sql), $log_at, 'no log row lost');
is($node->safe_psql('big', $versions_sql), join(',', 1 .. $v + 1),
	'version ' . ($v + 1) . ', trained before the kill, is still there after the restart');
is($node->safe_psql('big', q{SELECT hitl.wait('big')}), $v + 1,
	'the worker finishes the scoring of that version');
is($node->safe_psql('big', $fresh_sql), 'scored|t|0', 'every row has its scores');
$v++;

# immediate shutdown while scoring
($pid, $labels_at, $log_at) = swap_labels('scoring model big');
ok($pid, 'the worker is scoring');
$node->stop('immediate');
$node->start;
is($node->safe_psql('big', $big_labels_sql), $labels_at, 'after an immediate shutdown: no label lost');
is($node->safe_psql('big', $big_log_sql), $log_at, 'no log row lost');
is($node->safe_psql('big', q{SELECT hitl.wait('big')}), $v + 1,
	'the worker finishes the pending work');
is($node->safe_psql('big', $fresh_sql), 'scored|t|0', 'every row has its scores');
is($node->safe_psql('big', $versions_sql), join(',', 1 .. $v + 1), 'every version is there');

$node->stop;

done_testing();
