# The background worker's loop: a committed label becomes a new version and
# a rescored table and queue by itself; hitl.wait() says when; a rollback,
# an idle worker and a reload cost nothing; bursts make one retraining; new
# rows get scored; pg_cancel_backend stops a scoring, not the worker; and
# without shared_preload_libraries CREATE EXTENSION warns.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/lib";
use HitlTest qw($WORKER_DOING);
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('worker_loop');
$node->init;
# a long naptime: everything below must happen because the worker is woken
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'hitl'\nhitl.naptime = 300\n");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE loop');
$node->safe_psql('loop', 'CREATE EXTENSION hitl');

# 2,000 rows, the first 200 labeled: a when x < 5, b otherwise
$node->safe_psql(
	'loop', q{
CREATE TABLE t (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO t
SELECT i, i % 10 + (i % 7) / 10.0, (i * 3) % 11,
	   CASE WHEN i <= 200 THEN CASE WHEN i % 10 < 5 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 2000) i;
});
# score_tolerance 0: every score that moves is rewritten
is( $node->safe_psql(
		'loop',
		q{SELECT hitl.create_model('m', 't', 'lab', ARRAY['x', 'y'], options => '{"score_tolerance": 0}')}),
	'1', 'create_model trains version 1');

sub sql
{
	my ($query, $db) = @_;
	return $node->safe_psql($db // 'loop', $query);
}

sub worker_pid
{
	my ($db) = @_;
	return sql(
		qq{SELECT pid FROM pg_stat_activity
		   WHERE backend_type = 'hitl worker' AND datname = '$db'}, $db);
}

sub model_row
{
	my ($name, $db) = @_;
	return sql(
		qq{SELECT status, current_version, scored_version FROM hitl.models
		   WHERE name = '$name'}, $db);
}

sub log_rows
{
	return sql(q{SELECT count(*) FROM hitl.label_log WHERE model = 'm'});
}

# Rows whose stored scores are not those of the current version (scoring
# rewrites a confidence only when it moved by more than score_tolerance)
my $stale = q{
SELECT count(*) FROM t, hitl.models m
WHERE m.name = 'm'
  AND (t.lab_prediction IS DISTINCT FROM hitl.predict('m', t)
	   OR abs(t.lab_confidence - (hitl.predict_proba('m', t) ->> hitl.predict('m', t))::float8)
		  > (m.options->>'score_tolerance')::float8 + 1e-12)
};
my $scores_md5 = q{
SELECT md5(string_agg(format('%s %s %s', id, lab_prediction, round(lab_confidence::numeric, 6)),
					  ',' ORDER BY id)) FROM t
};

# CPU ticks and context switches of a process, from /proc
sub proc_usage
{
	my ($pid) = @_;
	my $stat = slurp_file("/proc/$pid/stat");
	$stat =~ s/^.*\)\s+//s;    # past "pid (comm)"
	my @f = split /\s+/, $stat;
	my $status = slurp_file("/proc/$pid/status");
	my ($vol) = $status =~ /^voluntary_ctxt_switches:\s+(\d+)/m;
	my ($nonvol) = $status =~ /^nonvoluntary_ctxt_switches:\s+(\d+)/m;
	# fields 14 and 15 of the line are utime and stime
	return ($f[11] + $f[12], $vol + $nonvol);
}

# Wait until the worker of a database is asleep in its main WaitLatch,
# where it also applies a reload at once: wake it, wait for the round of
# work that follows, then for it to stay idle longer than
# hitl.retrain_delay (0.5 s unless told).  Idle alone is not enough: a
# woken worker waits out hitl.retrain_delay idle, in WaitLatch too.
sub wait_until_quiet
{
	my ($db, $secs) = @_;
	$secs //= 0.5;
	my $woken = $node->safe_psql($db, q{SELECT clock_timestamp()});
	$node->safe_psql($db, q{SELECT hitl._wake()});
	return $node->poll_query_until(
		$db, qq{
SELECT state = 'idle' AND wait_event = 'Extension' AND state_change > '$woken'
   AND now() - state_change > interval '$secs s'
FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND datname = '$db'
});
}

# ---------------------------------------------------------------------------
# 1. The launcher and the worker in pg_stat_activity
# ---------------------------------------------------------------------------

ok( $node->poll_query_until(
		'loop', q{
SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND datname = 'loop'},
		'1'),
	'a hitl worker runs for database loop');
is( sql(
		q{SELECT backend_type, application_name, datname FROM pg_stat_activity
		  WHERE backend_type = 'hitl worker' AND datname = 'loop'}),
	'hitl worker|hitl worker|loop',
	'backend_type and application_name "hitl worker", datname loop');
is( sql(
		q{SELECT count(*), bool_and(datname IS NULL) FROM pg_stat_activity
		  WHERE backend_type = 'hitl launcher'}),
	'1|t', 'one hitl launcher, connected to no database');
my $worker = worker_pid('loop');
my $launcher = sql(q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'hitl launcher'});

# ---------------------------------------------------------------------------
# 2. A label commit: a new version, rescored table and queue
# ---------------------------------------------------------------------------

my $v = sql(q{SELECT hitl.wait('m')});
is($v, sql(q{SELECT current_version FROM hitl.models WHERE name = 'm'}),
	'hitl.wait returns the current version when nothing is pending');
is(model_row('m'), "scored|$v|$v", 'the model is scored with it');

# label the top of the queue against the model's prediction
my ($top, $pred) = split /\|/,
  sql(q{SELECT id, lab_prediction FROM m_review_queue ORDER BY rank LIMIT 1});
my $label = $pred eq 'a' ? 'b' : 'a';
my $md5_before = sql($scores_md5);
my $log_before = log_rows();

# taken before the label: a fast worker may train before a later reading
my $committed_at = sql(q{SELECT clock_timestamp()});
sql(qq{UPDATE t SET lab = '$label' WHERE id = $top});
is(sql(qq{SELECT count(*) FROM m_review_queue WHERE id = $top}),
	'0', 'the labeled row leaves the review view at once');
is(log_rows(), $log_before + 1, 'the label change is in hitl.label_log');

is(sql(q{SELECT hitl.wait('m')}), $v + 1, 'hitl.wait returns the version trained on the new label');
# The worker cross-validates the version after scoring it; when that moves
# the calibration, the model counts as unscored until the rescoring that
# follows.  Wait for both before looking at the stored scores.
is(sql(q{SELECT hitl.wait('m', cross_validated => true)}), $v + 1,
	'hitl.wait with cross_validated returns the same version');
is(model_row('m'), 'scored|' . ($v + 1) . '|' . ($v + 1),
	'status scored, scored_version = current_version');
is( sql(
		qq{SELECT n_labeled, metrics->>'warm_start' FROM hitl.model_versions
		   WHERE model = 'm' AND version = $v + 1}),
	'201|true', 'the new version counts 201 labels and was warm-started');
is( sql(
		qq{SELECT v.trained_at > '$committed_at', m.trained_at > '$committed_at',
				  m.scored_at > '$committed_at'
		   FROM hitl.model_versions v JOIN hitl.models m ON m.name = v.model
		   WHERE v.model = 'm' AND v.version = $v + 1}),
	't|t|t',
	'trained_at (version and model) and scored_at are after the label');
is(sql($stale), '0', 'every row holds the scores of the new version');
isnt(sql($scores_md5), $md5_before, 'the stored scores changed');
is(sql(q{SELECT string_agg(DISTINCT version::text, ',') FROM hitl.queue WHERE model = 'm'}),
	$v + 1, 'the queue is ranked by the new version');
isnt(sql(q{SELECT id FROM m_review_queue ORDER BY rank LIMIT 1}),
	$top, 'the review view has a new top row');
is(sql(qq{SELECT lab FROM t WHERE id = $top}), $label, 'the label is intact');
is(sql(q{SELECT processed_labels = (SELECT count(*) FROM hitl.label_log WHERE model = 'm')
		 FROM hitl.models WHERE name = 'm'}),
	't', 'processed_labels counts every log entry');
$v++;

# ---------------------------------------------------------------------------
# 3. New unlabeled rows are scored without any label change
# ---------------------------------------------------------------------------

$log_before = log_rows();
sql(q{INSERT INTO t SELECT i, i % 10 + (i % 7) / 10.0, (i * 3) % 11, NULL
	  FROM generate_series(2001, 2100) i});
ok( $node->poll_query_until(
		'loop', q{SELECT count(*) FROM t WHERE id > 2000 AND lab_confidence IS NULL}, '0'),
	'the worker scores 100 newly inserted rows');
is(sql(q{SELECT count(*) FROM t WHERE id > 2000 AND lab_prediction IS NOT NULL}),
	'100', 'each has a prediction');
is(sql($stale), '0', 'with the current version');
is(model_row('m'), "scored|$v|$v", 'no new version for rows without labels');
is(log_rows(), $log_before, 'and nothing in the label log');

# rows inserted with a label, and labeled rows deleted, are label changes
sql(q{INSERT INTO t VALUES (2101, 1.5, 3, 'a'), (2102, 8.5, 4, 'b')});
is(sql(q{SELECT hitl.wait('m')}), $v + 1, 'two rows inserted with labels: a new version');
is(sql(qq{SELECT n_labeled FROM hitl.model_versions WHERE model = 'm' AND version = $v + 1}),
	'203', 'trained on 203 labels');
is(sql(q{SELECT count(*) FROM t WHERE id > 2100 AND lab_prediction IS NULL}), '0', 'the two rows are scored');
sql(q{DELETE FROM t WHERE id IN (2101, 2102)});
is(sql(q{SELECT hitl.wait('m')}), $v + 2, 'the two rows deleted: a new version');
is(sql(qq{SELECT n_labeled FROM hitl.model_versions WHERE model = 'm' AND version = $v + 2}),
	'201', 'trained on 201 labels');
is(log_rows(), $log_before + 4, 'four entries in the label log');
$log_before = log_rows();
$v += 2;

# ---------------------------------------------------------------------------
# 4. A rolled-back label change wakes nobody; an idle worker uses no CPU
# ---------------------------------------------------------------------------

ok(wait_until_quiet('loop'), 'the worker goes to sleep');
my $processed = sql(q{SELECT processed_labels FROM hitl.models WHERE name = 'm'});
my $state_change = sql(
	q{SELECT state_change FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND datname = 'loop'});
my ($cpu0, $switches0) = proc_usage($worker);

sql(q{BEGIN; UPDATE t SET lab = 'a' WHERE id = 1999; UPDATE t SET lab = 'b' WHERE id = 1998; ROLLBACK;});
# an observation window: nothing is expected to happen in it
usleep(2_000_000);

my ($cpu1, $switches1) = proc_usage($worker);
is($cpu1 - $cpu0, 0, 'no CPU time used by the worker over 2 s after a rollback');
is($switches1 - $switches0, 0, 'the worker was not even woken (no context switch)');
is( sql(
		q{SELECT state, wait_event_type, wait_event, state_change FROM pg_stat_activity
		  WHERE backend_type = 'hitl worker' AND datname = 'loop'}),
	"idle|Extension|Extension|$state_change",
	'it sleeps in WaitLatch (idle, wait event Extension) since before the rollback');
is(log_rows(), $log_before, 'the rolled-back change left nothing in the label log');
is(sql(q{SELECT count(*) FROM t WHERE id IN (1998, 1999) AND lab IS NOT NULL}),
	'0', 'nor a label');
is(sql(q{SELECT hitl.wait('m', '10 s')}), $v, 'hitl.wait returns the same version');
is(sql(q{SELECT processed_labels FROM hitl.models WHERE name = 'm'}),
	$processed, 'processed_labels did not move');
is(sql(q{SELECT max(version) FROM hitl.model_versions WHERE model = 'm'}),
	$v, 'no version was trained');

# ---------------------------------------------------------------------------
# 5. hitl.enabled = off: labels are logged, nothing is trained, hitl.wait
#    times out with SQLSTATE 57014
# ---------------------------------------------------------------------------

ok(wait_until_quiet('loop'), 'the worker is asleep');
sql(q{ALTER SYSTEM SET hitl.enabled = off});
sql(q{SELECT pg_reload_conf()});
ok($node->poll_query_until('loop', 'SHOW hitl.enabled', 'off'), 'hitl.enabled is off');

$log_before = log_rows();
sql(q{UPDATE t SET lab = 'b' WHERE id = 1990});
is(log_rows(), $log_before + 1, 'with hitl.enabled off the label is still logged');

my ($ret, $out, $err) =
  $node->psql('loop', qq{\\set VERBOSITY verbose\nSELECT hitl.wait('m', '1 s')});
isnt($ret, 0, 'hitl.wait fails');
like($err, qr/ERROR:  57014: timed out waiting for model "m"/, 'with 57014: timed out waiting');
like(
	$err,
	qr/DETAIL:  The trained version includes \d+ of the \d+ label log entries to wait for; version $v is trained, version $v scored; status scored\./,
	'DETAIL: how far the model got');
like($err, qr/HINT:  Check that hitl\.enabled is on/, 'HINT: check hitl.enabled');
is(model_row('m'), "scored|$v|$v", 'no version was trained');
ok( $node->poll_query_until(
		'loop', q{
SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND datname = 'loop'},
		'0'),
	'no worker runs while hitl.enabled is off');

sql(q{ALTER SYSTEM RESET hitl.enabled});
sql(q{SELECT pg_reload_conf()});
ok($node->poll_query_until('loop', 'SHOW hitl.enabled', 'on'), 'hitl.enabled is on again');
is(sql(q{SELECT hitl.wait('m')}), $v + 1, 'the pending label is trained');
is(sql(qq{SELECT n_labeled FROM hitl.model_versions WHERE model = 'm' AND version = $v + 1}),
	'202', 'the new version counts it');
$v++;

# ---------------------------------------------------------------------------
# 6. hitl.retrain_delay: a burst of label commits makes one retraining
# ---------------------------------------------------------------------------

sql(q{ALTER SYSTEM SET hitl.retrain_delay = '1s'});
sql(q{SELECT pg_reload_conf()});
ok($node->poll_query_until('loop', 'SHOW hitl.retrain_delay', '1s'), 'hitl.retrain_delay is 1s');
ok(wait_until_quiet('loop', 1.3), 'the worker is asleep');

$log_before = log_rows();
# ten transactions, one label each, in one session
sql(join "\n", map { "UPDATE t SET lab = 'a' WHERE id = " . (1900 + $_) . ';' } 1 .. 10);
is(log_rows(), $log_before + 10, 'ten label commits, ten log entries');
my $after_burst = sql(q{SELECT hitl.wait('m')});
cmp_ok($after_burst - $v, '<', 10, sprintf('fewer versions than commits (%d)', $after_burst - $v));
cmp_ok($after_burst - $v, '<=', 2, 'one retraining for the burst (two if the worker was busy)');
is(sql(qq{SELECT n_labeled FROM hitl.model_versions WHERE model = 'm' AND version = $after_burst}),
	'212', 'the last version has all ten labels');
$v = $after_burst;

# a steady stream of label commits, each within hitl.retrain_delay of the
# one before, for 3 s: the labels keep coming, the model should not wait
# for them to stop
ok(wait_until_quiet('loop', 1.3), 'the worker is asleep');
foreach my $i (1 .. 8)
{
	sql("UPDATE t SET lab = 'b' WHERE id = " . (1960 + $i));
	usleep(400_000);
}
my $during = sql(q{SELECT max(version) FROM hitl.model_versions WHERE model = 'm'});
{
	cmp_ok($during, '>', $v, 'a new version is trained while the stream of labels goes on');
}
$v = sql(q{SELECT hitl.wait('m')});
is(sql(qq{SELECT n_labeled FROM hitl.model_versions WHERE model = 'm' AND version = $v}),
	'220', 'after the stream, the last version has all its labels');

# a lone label after a quiet spell (no round for hitl.retrain_delay) is
# trained at once, without waiting the delay for a burst; a label that comes
# within the delay of the round it started waits for the burst to end.  The
# delay is far longer than such a round of this small table takes.
sql(q{ALTER SYSTEM SET hitl.retrain_delay = '10s'});
sql(q{SELECT pg_reload_conf()});
ok($node->poll_query_until('loop', 'SHOW hitl.retrain_delay', '10s'), 'hitl.retrain_delay is 10s');
ok(wait_until_quiet('loop', 10.3), 'the worker is asleep, its last round over 10s ago');
sql(q{UPDATE t SET lab = 'a' WHERE id = 1971});
my $rc;
($rc, $out, $err) = $node->psql('loop', q{SELECT hitl.wait('m', interval '8 s')});
is($rc, 0, 'a lone label after a quiet spell is trained without waiting hitl.retrain_delay')
  or diag($err);
is($out, $v + 1, 'one new version for it');
$v++;
sql(q{UPDATE t SET lab = 'b' WHERE id = 1972});
($rc, $out, $err) = $node->psql('loop', q{SELECT hitl.wait('m', interval '1 s')});
like($err, qr/timed out waiting for model "m"/,
	'a label right after a round waits for the burst to end');
sql(q{ALTER SYSTEM SET hitl.retrain_delay = '200ms'});
sql(q{SELECT pg_reload_conf()});
is(sql(q{SELECT hitl.wait('m')}), $v + 1, 'and is trained once the delay is over');
$v++;
is(sql(qq{SELECT n_labeled FROM hitl.model_versions WHERE model = 'm' AND version = $v}),
	'222', 'the version has both labels');

sql(q{ALTER SYSTEM RESET hitl.retrain_delay});
sql(q{SELECT pg_reload_conf()});
ok($node->poll_query_until('loop', 'SHOW hitl.retrain_delay', '200ms'),
	'hitl.retrain_delay back to 200ms');

# ---------------------------------------------------------------------------
# 7. SIGHUP: a new hitl.naptime is applied: an idle worker exits after it
# ---------------------------------------------------------------------------

ok(wait_until_quiet('loop'), 'the worker is asleep');
$worker = worker_pid('loop');
my $log_offset = -s $node->logfile;
sql(q{ALTER SYSTEM SET hitl.naptime = 1});
sql(q{SELECT pg_reload_conf()});
ok($node->poll_query_until('loop', 'SHOW hitl.naptime', '1s'), 'hitl.naptime is 1s');
# with a naptime of 1 s the idle worker exits (with 300 s it would not
# within this test)
ok( $node->poll_query_until(
		'loop', qq{SELECT count(*) FROM pg_stat_activity WHERE pid = $worker}, '0'),
	'the idle worker exits: it uses the new naptime');
is(sql(q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'hitl launcher'}),
	$launcher, 'the launcher survived the SIGHUP');
sql(q{ALTER SYSTEM RESET hitl.naptime});
sql(q{SELECT pg_reload_conf()});
ok($node->poll_query_until('loop', 'SHOW hitl.naptime', '5min'), 'hitl.naptime back to 300 s');

sql(q{UPDATE t SET lab = 'b' WHERE id = 1950});
is(sql(q{SELECT hitl.wait('m')}), $v + 1, 'the worker still trains after the reloads');
$v++;
unlike(slurp_file($node->logfile, $log_offset),
	qr/exited with exit code|terminated by signal/, 'no process exited meanwhile');

# ---------------------------------------------------------------------------
# 8. pg_cancel_backend
# ---------------------------------------------------------------------------

# of an idle worker: nothing to cancel, it stays
ok(wait_until_quiet('loop'), 'the worker is asleep');
$worker = worker_pid('loop');
is(sql(qq{SELECT pg_cancel_backend($worker)}), 't', 'pg_cancel_backend of the idle worker');
sql(q{UPDATE t SET lab = 'a' WHERE id = 1951});
is(sql(q{SELECT hitl.wait('m')}), $v + 1, 'the worker still works after that');
$v++;
{
	is(worker_pid('loop'), $worker, 'the same worker process as before the cancel');
	unlike(slurp_file($node->logfile, $log_offset),
		qr/\(PID $worker\) exited with exit code/, 'it did not exit');
}

# of a worker in the middle of a long scoring: a table of 300,000 rows in a
# database of its own
$node->safe_psql('postgres', 'CREATE DATABASE big');
$node->safe_psql('big', 'CREATE EXTENSION hitl');
$node->safe_psql(
	'big', q{
CREATE TABLE big (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO big
SELECT i, (i % 1000) / 100.0 + (i % 7) / 10.0, (i * 3) % 11,
	   CASE WHEN i % 300 = 0 THEN CASE WHEN i % 1000 < 500 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 300000) i;
SELECT hitl.create_model('big', 'big', 'lab', ARRAY['x', 'y']);
});
$node->safe_psql('big', $WORKER_DOING);
ok( $node->poll_query_until(
		'big', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND datname = 'big'},
		'1'),
	'a worker runs for database big');
my $big_worker = worker_pid('big');
my $bv = sql(q{SELECT hitl.wait('big')}, 'big');

# swapping every label flips every prediction: the rescoring writes all rows
$log_offset = -s $node->logfile;
sql(q{UPDATE big SET lab = CASE lab WHEN 'a' THEN 'b' ELSE 'a' END WHERE lab IS NOT NULL}, 'big');
is(sql(q{SELECT pg_cancel_backend(worker_doing('scoring model big'))}, 'big'),
	't', 'pg_cancel_backend of the worker while it is scoring model big');
ok($node->wait_for_log(qr/LOG:  hitl: work on model "big" was canceled/, $log_offset),
	'the worker logs that the work was canceled');
is(worker_pid('big'), $big_worker, 'the worker is still running');
is( sql(
		q{SELECT status <> 'failed', last_error IS NULL, failures, failed_at IS NULL
		  FROM hitl.models WHERE name = 'big'},
		'big'),
	't|t|0|t',
	'the model is not marked failed (no error, no failure)');
is(sql(q{SELECT hitl.wait('big')}, 'big'), $bv + 1, 'hitl.wait: the worker finishes the scoring');
is(model_row('big', 'big'), 'scored|' . ($bv + 1) . '|' . ($bv + 1), 'the model is scored');
is(sql(q{SELECT count(*) FROM big t WHERE lab_prediction IS DISTINCT FROM hitl.predict('big', t)}, 'big'),
	'0', 'every one of the 300,000 rows has the new prediction');
# (a parallel worker of the scoring canceled before it attached may log
# its exit: the scoring's shared memory was gone; not the hitl worker's)
unlike(slurp_file($node->logfile, $log_offset),
	qr/hitl: model "big" of database "big" failed|"hitl (?:worker|launcher)[^"]*" \(PID \d+\) exited with exit code/,
	'no failure logged, no exit of a hitl process');

# the worker holds no long lock on the table while it scores: ALTER TABLE
# gets its ACCESS EXCLUSIVE lock between two batches.  (First the worker
# finishes with the version above: its cross-validation after the scoring,
# and the rescoring that follows when that moved the calibration.)
ok( $node->poll_query_until(
		'big', q{SELECT NOT (v.metrics ? 'cv_pending') AND NOT EXISTS (SELECT FROM pg_stat_activity a
			  WHERE a.backend_type = 'hitl worker' AND a.datname = 'big' AND a.state = 'active'
				AND a.query ~ '^(scoring|cross-validating) model big')
		  FROM hitl.models m JOIN hitl.model_versions v ON v.model = m.name AND v.version = m.current_version
		  WHERE m.name = 'big'}),
	'the worker is done with that version');
sql(q{UPDATE big SET lab = CASE lab WHEN 'a' THEN 'b' ELSE 'a' END WHERE lab IS NOT NULL}, 'big');
ok(sql(q{SELECT worker_doing('scoring model big')}, 'big'), 'the worker is scoring model big again');
sql(q{ALTER TABLE big ADD COLUMN note text}, 'big');
is(sql(q{SELECT scored_version < current_version FROM hitl.models WHERE name = 'big'}, 'big'),
	't', 'ALTER TABLE ADD COLUMN got its lock before the scoring ended (between two batches)');
is(sql(q{SELECT hitl.wait('big')}, 'big'), $bv + 2, 'the worker finishes the scoring after it');
is( sql(
		q{SELECT status, failures, (SELECT count(*) FROM big t WHERE lab_prediction IS DISTINCT FROM hitl.predict('big', t))
		  FROM hitl.models WHERE name = 'big'}, 'big'),
	'scored|0|0', 'with no failure, every row scored');

# ---------------------------------------------------------------------------
# 9. Without shared_preload_libraries: CREATE EXTENSION warns
# ---------------------------------------------------------------------------

my $plain = PostgreSQL::Test::Cluster->new('no_preload');
$plain->init;
$plain->start;
($ret, $out, $err) = $plain->psql('postgres', 'CREATE EXTENSION hitl');
is($ret, 0, 'CREATE EXTENSION hitl works without preloading');
like($err,
	qr/WARNING:  automatic retraining is off: hitl is not in shared_preload_libraries/,
	'WARNING: automatic retraining is off');
like($err, qr/HINT:  Add hitl to shared_preload_libraries/, 'HINT names shared_preload_libraries');
is($plain->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'hitl%'}),
	'0', 'no hitl launcher nor worker');
$plain->safe_psql(
	'postgres', q{
CREATE TABLE t (id int PRIMARY KEY, x float8, lab text);
INSERT INTO t SELECT i, i, CASE WHEN i <= 20 THEN CASE WHEN i < 10 THEN 'lo' ELSE 'hi' END END
FROM generate_series(1, 50) i;
SELECT hitl.create_model('m', 't', 'lab', ARRAY['x']);
});
my $plain_log = $plain->safe_psql('postgres', q{SELECT count(*) FROM hitl.label_log WHERE model = 'm'});
$plain->safe_psql('postgres', q{UPDATE t SET lab = 'hi' WHERE id = 30});
is($plain->safe_psql('postgres', q{SELECT count(*) FROM hitl.label_log WHERE model = 'm'}),
	$plain_log + 1, 'labels are still logged');
is($plain->safe_psql('postgres', q{SELECT hitl.train('m')}), '2', 'hitl.train works');
($ret, $out, $err) = $plain->psql('postgres', qq{\\set VERBOSITY verbose\nSELECT hitl.wait('m', '1 s')});
like($err, qr/ERROR:  55000: hitl's background workers are not running/,
	'hitl.wait says that no workers run (55000)');
$plain->stop;

$node->stop;

done_testing();
