# The worker and the models of one database: each model's work runs as its
# owner; a model waiting for labels is trained once it has enough; a model
# that fails (its owner lost SELECT on the table) records and logs the
# error once, is retried with a back-off and recovers on its own, while a
# healthy model goes on; a broken model (feature column dropped) is left
# alone; labels written by concurrent sessions while the worker retrains
# and rescores are never lost nor overwritten, and no one deadlocks.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/lib";
use HitlTest qw($WORKER_DOING);
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('worker_models');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'hitl'\nhitl.naptime = 300\n");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE models');
$node->safe_psql('models', 'CREATE EXTENSION hitl');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('models', $query);
}

# Two roles, each owning a table of 1,000 rows (200 labeled) and a model on
# it.  A statement trigger records the role that writes the scores.
sql(q{
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
GRANT CREATE ON SCHEMA public TO alice, bob;
CREATE TABLE scorers (model text, role name);
GRANT INSERT ON scorers TO PUBLIC;
CREATE FUNCTION record_scorer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.scorers VALUES (TG_ARGV[0], current_user);
	RETURN NULL;
END
$$;
});
foreach my $r (['alice', 'ma', 'a_t'], ['bob', 'mb', 'b_t'])
{
	my ($role, $model, $table) = @$r;
	sql(qq{
CREATE TABLE $table (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO $table
SELECT i, i % 10 + (i % 7) / 10.0, (i * 3) % 11,
	   CASE WHEN i <= 200 THEN CASE WHEN i % 10 < 5 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 1000) i;
ALTER TABLE $table OWNER TO $role;
SET ROLE $role;
SELECT hitl.create_model('$model', '$table', 'lab', ARRAY['x', 'y'],
						 options => '{"score_tolerance": 0}');
RESET ROLE;
CREATE TRIGGER record_scorer AFTER UPDATE OF lab_confidence ON $table
	FOR EACH STATEMENT EXECUTE FUNCTION record_scorer('$model');
});
}
is(sql(q{SELECT string_agg(format('%s %s %s v%s', name, owner, status, current_version), ', ' ORDER BY name)
		 FROM hitl.models}),
	'ma alice scored v1, mb bob scored v1', 'alice owns model ma, bob model mb');
ok( $node->poll_query_until(
		'models', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND datname = 'models'},
		'1'),
	'a worker runs for the database');

sub model_state
{
	my ($model) = @_;
	return sql(qq{SELECT status, current_version, scored_version FROM hitl.models WHERE name = '$model'});
}

# ---------------------------------------------------------------------------
# 1. Each model's work runs as its owner
# ---------------------------------------------------------------------------

sql(q{UPDATE a_t SET lab = 'a' WHERE id = 201; UPDATE b_t SET lab = 'b' WHERE id = 201;});
is(sql(q{SELECT hitl.wait('ma')}), '2', 'the worker trains ma version 2');
is(sql(q{SELECT hitl.wait('mb')}), '2', 'and mb version 2');
is(sql(q{SELECT string_agg(DISTINCT format('%s %s', model, role), ', ') FROM scorers}),
	'ma alice, mb bob', 'the scores of ma are written as alice, those of mb as bob');

# ---------------------------------------------------------------------------
# 2. A model waiting for labels is trained once it has enough
# ---------------------------------------------------------------------------

sql(q{
CREATE TABLE w (id int PRIMARY KEY, x float8, lab text);
INSERT INTO w SELECT i, i, CASE WHEN i <= 6 THEN CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END END
FROM generate_series(1, 100) i;
SET client_min_messages = warning;
SELECT hitl.create_model('mw', 'w', 'lab', ARRAY['x']);
});
is(model_state('mw'), 'waiting_for_labels||', 'model mw waits for labels (6 of 10)');
sql(q{UPDATE w SET lab = 'odd' WHERE id = 7});
is(sql(q{SELECT coalesce(hitl.wait('mw')::text, 'NULL')}), 'NULL',
	'hitl.wait returns NULL while the model has too few labels');
is(model_state('mw'), 'waiting_for_labels||', 'still waiting (7 labels)');
is(sql(q{SELECT last_error IS NULL AND failures = 0 FROM hitl.models WHERE name = 'mw'}),
	't', 'which is no failure');
sql(q{UPDATE w SET lab = CASE WHEN id % 2 = 0 THEN 'even' ELSE 'odd' END WHERE id BETWEEN 8 AND 12});
is(sql(q{SELECT hitl.wait('mw')}), '1', 'with 12 labels the worker trains version 1');
is(model_state('mw'), 'scored|1|1', 'and scores it');
is(sql(q{SELECT count(*) FROM w WHERE lab_prediction IS NULL}), '0', 'every row has a prediction');
is(sql(q{SELECT count(*) FROM mw_review_queue}), '88', 'the 88 unlabeled rows are in its review view');

# ---------------------------------------------------------------------------
# 3. alice loses SELECT on her table: ma fails, mb goes on
# ---------------------------------------------------------------------------

# Poll a query until it returns $expected, for at most $secs seconds
sub poll_for
{
	my ($query, $expected, $secs) = @_;
	my $deadline = time + $secs;
	while (1)
	{
		return 1 if sql($query) eq $expected;
		return 0 if time > $deadline;
		usleep(100_000);
	}
}

# hitl.wait in a session of its own; returns (version or '', stderr, seconds)
sub wait_for
{
	my ($model, $timeout) = @_;
	my $t0 = time;
	my ($ret, $out, $err) =
	  $node->psql('models', qq{\\set VERBOSITY verbose\nSELECT hitl.wait('$model', '$timeout')});
	return ($out, $err, time - $t0);
}

my $offset = -s $node->logfile;
sql(q{REVOKE SELECT ON a_t FROM alice});
sql(q{UPDATE a_t SET lab = 'b' WHERE id = 202});

my ($version, $err, $took) = wait_for('ma', '8 s');
is($version, '', 'hitl.wait on the failing model fails');

my $todo_fatal =
  'a model failing with another error than 55000 kills the worker '
  . '(FATAL: BeginInternalSubTransaction: unexpected state SUBABORT) before its failure is recorded';
my $todo_retry = 'after a model failed, the worker sleeps hitl.naptime, not until its retry_at';
my $first_failure;
{

	like($err, qr/ERROR:  55000: model "ma" failed while waiting: permission denied for table a_t/,
		'55000: model "ma" failed while waiting: permission denied for table a_t');
	# (the failure, not the 8 s timeout: the message above says so)
	note(sprintf('hitl.wait returned after %.1f s', $took));

	is( sql(
			q{SELECT status, last_error, failures >= 1, failed_at IS NOT NULL,
					 retry_at = failed_at + make_interval(secs => 2 ^ failures)
			  FROM hitl.models WHERE name = 'ma'}),
		'failed|permission denied for table a_t|t|t|t',
		'hitl.models: status failed, last_error, failures, failed_at, retry_at 2^failures s later');
	is(model_state('ma'), 'failed|2|2', 'version 2 stays the current one');
	$first_failure = sql(q{SELECT coalesce(failed_at, now()) FROM hitl.models WHERE name = 'ma'});
}
{

	# from here nothing wakes the worker: it retries by itself, at retry_at
	ok(poll_for(q{SELECT failures >= 3 FROM hitl.models WHERE name = 'ma'}, 't', 15),
		'the worker retries ma by itself, twice within 15 s');
	is( sql(
			qq{SELECT status, failed_at - '$first_failure' >= interval '2 s',
					  retry_at = failed_at + make_interval(secs => 2 ^ failures)
			   FROM hitl.models WHERE name = 'ma'}),
		'failed|t|t', 'not before retry_at, and each retry twice as far as the one before');
}
{

	my @logged = slurp_file($node->logfile, $offset) =~
	  /LOG:  hitl: model "ma" of database "models" failed: permission denied for table a_t/g;
	is(scalar @logged, 1, 'the error is logged once, not at every retry');
	unlike(slurp_file($node->logfile, $offset),
		qr/FATAL|exited with exit code/, 'the worker did not exit');

	# the healthy model of the same database goes on
	sql(q{UPDATE b_t SET lab = 'a' WHERE id = 202});
	($version, $err) = wait_for('mb', '8 s');
	is($version, '3', 'meanwhile the worker trains mb version 3');
	is(model_state('mb'), 'scored|3|3', 'and scores it');
	sql(q{UPDATE b_t SET lab = 'b' WHERE id = 203});
	($version, $err) = wait_for('mb', '8 s');
	is($version, '4', 'and version 4');
	is(model_state('ma'), 'failed|2|2', 'while ma is still failed');
}
like(
	slurp_file($node->logfile, $offset),
	qr/HINT:  It is retried with a back-off \(failure 1\); see hitl\.models\.last_error\./,
	'the log says that the model is retried with a back-off');
unlike(slurp_file($node->logfile, $offset), qr/hitl: model "mb" of database "models" failed/, 'mb never failed');

# ---------------------------------------------------------------------------
# 4. SELECT granted back: ma recovers on its own
# ---------------------------------------------------------------------------

sql(q{GRANT SELECT ON a_t TO alice});
{

	# the next retry is due within 2^failures s (failures is about 3 here)
	ok( poll_for(
			q{SELECT status = 'scored' AND last_error IS NULL AND failures = 0 AND retry_at IS NULL
			  FROM hitl.models WHERE name = 'ma'}, 't', 30),
		'after GRANT SELECT, ma recovers by itself: scored, no error, failures reset');
}
is(sql(q{SELECT hitl.wait('ma')}), '3', 'hitl.wait: version 3');
is(sql(q{SELECT n_labeled FROM hitl.model_versions WHERE model = 'ma' AND version = 3}),
	'202', 'trained on the label written while it failed');
is( sql(
		q{SELECT status, last_error IS NULL, failures, retry_at IS NULL
		  FROM hitl.models WHERE name = 'ma'}),
	'scored|t|0|t', 'ma is scored, its failure is reset');
is(model_state('ma'), 'scored|3|3', 'with version 3');
$version = sql(q{SELECT hitl.wait('mb')});
is(sql(qq{SELECT n_labeled FROM hitl.model_versions WHERE model = 'mb' AND version = $version}),
	'203', 'mb has its two labels trained too');
{
	my @logged = slurp_file($node->logfile, $offset) =~ /hitl: model "ma" of database "models" failed/g;
	is(scalar @logged, 1, 'the failure of ma was logged once in all');
}

# ---------------------------------------------------------------------------
# 5. A model whose feature column is dropped is broken: the worker leaves
#    it alone, without an error loop
# ---------------------------------------------------------------------------

sql(q{
CREATE TABLE k (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO k SELECT i, i % 10, (i * 7) % 13, CASE WHEN i <= 40 THEN CASE WHEN i % 10 < 5 THEN 'lo' ELSE 'hi' END END
FROM generate_series(1, 200) i;
SELECT hitl.create_model('mk', 'k', 'lab', ARRAY['x', 'y']);
});
$offset = -s $node->logfile;
my ($ret, $out);
($ret, $out, $err) = $node->psql('models', 'ALTER TABLE k DROP COLUMN y CASCADE');
is($ret, 0, 'ALTER TABLE k DROP COLUMN y CASCADE: a feature of model mk (and its review view)');
like($err, qr/WARNING:  hitl model "mk" is broken: its feature column "y" of table public\.k was dropped/,
	'WARNING: the model is broken');
is( sql(q{SELECT status, last_error FROM hitl.models WHERE name = 'mk'}),
	'broken|its feature column "y" of table public.k was dropped',
	'hitl.models says so');
sql(q{UPDATE k SET lab = 'lo' WHERE id = 41});
($version, $err) = wait_for('mk', '5 s');
{
	is($version, '', 'hitl.wait on the broken model returns no version');
	like($err, qr/ERROR:  55000: model "mk" is broken/, 'it fails: 55000, model "mk" is broken');
}
sql(q{UPDATE a_t SET lab = 'a' WHERE id = 203});
is(sql(q{SELECT hitl.wait('ma')}), '4', 'the other models go on: ma version 4');
is( sql(q{SELECT status, failures, current_version FROM hitl.models WHERE name = 'mk'}),
	'broken|0|1', 'the worker left mk alone: no failure, no new version');
# (the LOG lines of each version trained and cross-validated are no error)
my @errors = grep { /ERROR:|hitl: model/ && !/model "mk" is broken/ && !/: version \d+ (trained on \d+ labels|cross-validated after its scoring)/ } split /\n/,
  slurp_file($node->logfile, $offset);
is(join("\n", @errors), '', 'nothing in the server log but the error of hitl.wait');

# ---------------------------------------------------------------------------
# 6. Four sessions label 50 rows each while the worker retrains and
#    rescores: no label lost, no deadlock
# ---------------------------------------------------------------------------

# 20,000 rows, 500 labeled; score_tolerance 0: each rescoring rewrites
# every row whose confidence moved, so the worker's writes and the labels
# compete for the same rows.  No retrain delay: the worker retrains while
# labels keep coming.
sql(q{
CREATE TABLE c (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO c
SELECT i, (i % 100) / 10.0 + (i % 7) / 10.0, (i * 3) % 11,
	   CASE WHEN i <= 500 THEN CASE WHEN i % 100 < 50 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 20000) i;
SELECT hitl.create_model('mc', 'c', 'lab', ARRAY['x', 'y'], options => '{"score_tolerance": 0}');
ALTER SYSTEM SET hitl.retrain_delay = 0;
SELECT pg_reload_conf();
});
sql($WORKER_DOING);
ok($node->poll_query_until('models', 'SHOW hitl.retrain_delay', '0'), 'hitl.retrain_delay is 0');
my $v = sql(q{SELECT hitl.wait('mc')});
my $log_before = sql(q{SELECT coalesce(max(id), 0) FROM hitl.label_log WHERE model = 'mc'});
$offset = -s $node->logfile;

# the label each session writes: a for ids divisible by 3, b otherwise
my $expected_label = q{CASE WHEN id % 3 = 0 THEN 'a' ELSE 'b' END};
my @sessions;
foreach my $k (0 .. 3)
{
	my $s = $node->background_psql('models', on_error_stop => 0);
	my $script = "\\echo started $k\n";
	# 25 transactions of two rows each, the higher id first
	for (my $j = 0; $j < 50; $j += 2)
	{
		my ($lo, $hi) = map { 5001 + $k * 50 + $j + $_ } 0, 1;
		$script .= sprintf(
			"BEGIN; UPDATE c SET lab = '%s' WHERE id = %d; UPDATE c SET lab = '%s' WHERE id = %d; COMMIT; SELECT pg_sleep(0.02);\n",
			$hi % 3 == 0 ? 'a' : 'b', $hi, $lo % 3 == 0 ? 'a' : 'b', $lo);
	}
	$script .= "\\echo finished $k\n";
	$s->query_until(qr/started $k/, $script);
	push @sessions, $s;
}
foreach my $k (0 .. 3)
{
	$sessions[$k]->query_until(qr/finished $k/, '');
	unlike($sessions[$k]->{stderr}, qr/ERROR|WARNING/, "session $k labeled its 50 rows without an error");
	$sessions[$k]->quit;
}

my $final = sql(q{SELECT hitl.wait('mc')});
cmp_ok($final - $v, '>', 1, sprintf('the worker trained %d versions meanwhile', $final - $v));
is( sql(
		qq{SELECT count(*), count(*) FILTER (WHERE lab IS NOT DISTINCT FROM $expected_label)
		   FROM c WHERE id BETWEEN 5001 AND 5200}),
	'200|200', 'every one of the 200 labels is there, as written');
is(sql(q{SELECT count(*) FROM c WHERE lab IS NOT NULL}), '700', '700 labels in all');
is( sql(
		qq{SELECT count(*), count(DISTINCT row_key),
				  count(*) FILTER (WHERE new_label = CASE WHEN (row_key->>'id')::int % 3 = 0 THEN 'a' ELSE 'b' END)
		   FROM hitl.label_log WHERE model = 'mc' AND id > $log_before}),
	'200|200|200', 'the label log has each change once, with its new label');
is(sql(qq{SELECT n_labeled FROM hitl.model_versions WHERE model = 'mc' AND version = $final}),
	'700', 'the last version is trained on all of them');
is( sql(
		q{SELECT status, last_error IS NULL, failures, current_version = scored_version
		  FROM hitl.models WHERE name = 'mc'}),
	'scored|t|0|t', 'the model is scored, with no failure');
my $log = slurp_file($node->logfile, $offset);
unlike($log, qr/deadlock detected/, 'no deadlock');
unlike($log, qr/ERROR:/, 'no error at all in the server log');

# ---------------------------------------------------------------------------
# 7. Labels written while the worker is scoring are not overwritten
# ---------------------------------------------------------------------------

# flip every label: the new version changes every prediction, so the
# scoring rewrites every row, including the ones labeled below
my $labeled_before = sql(q{SELECT count(*) FILTER (WHERE lab = 'a') || '|' || count(*) FILTER (WHERE lab = 'b') FROM c});
my $session_a = $node->background_psql('models');
my $session_b = $node->background_psql('models');
$session_a->query_safe('BEGIN');
sql(q{UPDATE c SET lab = CASE lab WHEN 'a' THEN 'b' ELSE 'a' END WHERE lab IS NOT NULL});
# A: labels row 19001 during the scoring, and keeps it locked a moment
my $pid = $session_a->query_safe(
	q{SELECT worker_doing('scoring model mc'); UPDATE c SET lab = 'a' WHERE id = 19001});
ok($pid, 'session A labeled row 19001 while the worker was scoring');
# B: labels row 19002 during the same scoring, and commits at once
is( $session_b->query_safe(
		q{SELECT worker_doing('scoring model mc') = } . $pid . q{; UPDATE c SET lab = 'b' WHERE id = 19002}),
	't', 'session B labeled row 19002 while the worker was scoring');
$session_a->query_safe('COMMIT');

my $after = sql(q{SELECT hitl.wait('mc')});
cmp_ok($after, '>', $final, "hitl.wait: version $after");
is(sql(q{SELECT lab FROM c WHERE id = 19001}), 'a', "session A's label is there");
is(sql(q{SELECT lab FROM c WHERE id = 19002}), 'b', "session B's label is there");
my ($a_count, $b_count) = split /\|/, $labeled_before;
is( sql(q{SELECT count(*) FILTER (WHERE lab = 'a') || '|' || count(*) FILTER (WHERE lab = 'b') FROM c}),
	($b_count + 1) . '|' . ($a_count + 1), 'every flipped label is there too');
is(sql(qq{SELECT n_labeled FROM hitl.model_versions WHERE model = 'mc' AND version = $after}),
	'702', 'the last version is trained on all 702 labels');
is( sql(
		q{SELECT count(*) FROM c t WHERE t.lab_prediction IS DISTINCT FROM hitl.predict('mc', t)
		  OR abs(t.lab_confidence - (hitl.predict_proba('mc', t) ->> hitl.predict('mc', t))::float8) > 1e-12}),
	'0', 'and every row, the two included, has its scores');
is(sql(q{SELECT status, failures FROM hitl.models WHERE name = 'mc'}), 'scored|0', 'no failure');
$session_a->quit;
$session_b->quit;

$node->stop;

done_testing();
