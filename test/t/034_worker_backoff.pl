# The back-off of a failing model, as the worker records it: the retry of
# its nth failure in a row is due 2^n seconds after it, at most an hour
# later; hitl.models (failures, failed_at, retry_at), the log's hint and
# hitl.wait agree on it; a repeated error is logged once; and a model
# whose label log moved but which did not train (too few labels) has its
# failures forgotten and waits for labels.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('worker_backoff');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'hitl'\nhitl.naptime = 300\n");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE backoff');
$node->safe_psql('backoff', 'CREATE EXTENSION hitl');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('backoff', $query);
}

# A role owning a table of 100 rows (40 labeled) and a model on it
sql(q{
CREATE ROLE carol LOGIN;
GRANT CREATE ON SCHEMA public TO carol;
CREATE TABLE c_t (id int PRIMARY KEY, x float8, lab text);
INSERT INTO c_t
SELECT i, i % 10, CASE WHEN i <= 40 THEN CASE WHEN i % 10 < 5 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 100) i;
ALTER TABLE c_t OWNER TO carol;
SET ROLE carol;
SELECT hitl.create_model('mc', 'c_t', 'lab', ARRAY['x']);
RESET ROLE;
});
is(sql(q{SELECT status, current_version, failures FROM hitl.models WHERE name = 'mc'}),
	'scored|1|0', 'model mc is trained and scored, without failures');

# ---------------------------------------------------------------------------
# 1. Eleven failures in a row already: the twelfth is retried after an hour
# (2^12 s is more), not after 2^12 s
# ---------------------------------------------------------------------------

my $offset = -s $node->logfile;
sql(q{UPDATE hitl.models SET failures = 11 WHERE name = 'mc'});
sql(q{REVOKE SELECT ON c_t FROM carol});
sql(q{UPDATE c_t SET lab = 'b' WHERE id = 41});

ok($node->poll_query_until('backoff', q{SELECT failures FROM hitl.models WHERE name = 'mc'}, '12'),
	'the worker records the twelfth failure');
is( sql(
		q{SELECT status, last_error, retry_at - failed_at
		  FROM hitl.models WHERE name = 'mc'}),
	'failed|permission denied for table c_t|01:00:00',
	'hitl.models: failed, its error, and its retry an hour after the failure (the longest back-off)');
like(
	slurp_file($node->logfile, $offset),
	qr/LOG:  hitl: model "mc" of database "backoff" failed: permission denied for table c_t\n.*HINT:  It is retried with a back-off \(failure 12\); see hitl\.models\.last_error\./,
	'the log names the error and the failure number the row holds');

my ($ret, $out, $err) = $node->psql('backoff', q{SELECT hitl.wait('mc', '5 s')});
like($err, qr/timed out waiting for model "mc".*status failed, last error: permission denied for table c_t/s,
	'hitl.wait reports the status and the error the worker recorded');

# ---------------------------------------------------------------------------
# 2. Failures from 0: the retry of the nth failure is due 2^n s after it,
# and the same error is logged once
# ---------------------------------------------------------------------------

sql(q{UPDATE hitl.models SET failures = 0, retry_at = NULL WHERE name = 'mc'});
sql(q{UPDATE c_t SET lab = 'a' WHERE id = 42});
ok($node->poll_query_until('backoff', q{SELECT failures >= 2 FROM hitl.models WHERE name = 'mc'}, 't'),
	'from 0, the worker fails twice more (the first retry is due after 2 s)');
is( sql(
		q{SELECT retry_at - failed_at = make_interval(secs => 2 ^ failures)
		  FROM hitl.models WHERE name = 'mc'}),
	't', 'the retry is due 2^failures s after the last failure');
my @logged = slurp_file($node->logfile, $offset) =~
  /LOG:  hitl: model "mc" of database "backoff" failed: permission denied for table c_t/g;
is(scalar @logged, 1, 'the same error is logged once in all');

# ---------------------------------------------------------------------------
# 3. SELECT granted back: the model recovers, its failures forgotten
# ---------------------------------------------------------------------------

sql(q{GRANT SELECT ON c_t TO carol});
ok( $node->poll_query_until(
		'backoff',
		q{SELECT status = 'scored' AND failures = 0 AND retry_at IS NULL AND last_error IS NULL
		  FROM hitl.models WHERE name = 'mc'}, 't'),
	'after GRANT SELECT, mc is scored again, its failures forgotten');
is(sql(q{SELECT hitl.wait('mc')}), '2', 'hitl.wait: version 2, with both labels');
is(sql(q{SELECT n_labeled FROM hitl.model_versions WHERE model = 'mc' AND version = 2}),
	'42', 'trained on the labels written while it failed');

# ---------------------------------------------------------------------------
# 4. A model with too few labels: not a failure; it waits for labels
# ---------------------------------------------------------------------------

sql(q{
CREATE TABLE w (id int PRIMARY KEY, x float8, lab text);
INSERT INTO w SELECT i, i, CASE WHEN i <= 4 THEN CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END END
FROM generate_series(1, 50) i;
SET client_min_messages = warning;
SELECT hitl.create_model('mw', 'w', 'lab', ARRAY['x']);
});
sql(q{UPDATE hitl.models SET failures = 3, status = 'failed' WHERE name = 'mw'});
sql(q{UPDATE w SET lab = 'odd' WHERE id = 5});
is(sql(q{SELECT coalesce(hitl.wait('mw')::text, 'NULL')}), 'NULL',
	'hitl.wait returns NULL: too few labels to train');
is( sql(
		q{SELECT status, failures, retry_at IS NULL, processed_labels > 0,
				 processed_labels = (SELECT count(*) FROM hitl.label_log WHERE model = 'mw')
		  FROM hitl.models WHERE name = 'mw'}),
	'waiting_for_labels|0|t|t|t',
	'the model waits for labels, without failures, and its label log entries are processed');

unlike(slurp_file($node->logfile, $offset), qr/FATAL|exited with exit code/,
	'the worker did not exit');

done_testing();
