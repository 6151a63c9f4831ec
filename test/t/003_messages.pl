# Messages a client sees besides errors (pgTAP cannot capture them): the
# NOTICE of a model created before there are enough labels, and the WARNING
# of a training that did not converge.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('messages');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION hitl');
$node->safe_psql(
	'postgres', q{
CREATE TABLE t (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO t SELECT i, i % 10, (i * 7) % 13,
	CASE WHEN i <= 9 THEN CASE WHEN i % 10 < 5 THEN 'lo' ELSE 'hi' END END
FROM generate_series(1, 100) i;
});

# too few labels: a NOTICE, and the model waits
my ($ret, $out, $err) =
  $node->psql('postgres', q{SELECT hitl.create_model('m', 't', 'lab', ARRAY['x', 'y'])});
is($ret, 0, 'create_model with 9 labels succeeds');
is($out, '', 'and returns no version');
like($err, qr/NOTICE:  model "m" is waiting for labels/, 'NOTICE: the model is waiting for labels');
like(
	$err,
	qr/DETAIL:  9 rows of 2 classes are labeled; training needs 10 labels of at least 2 classes\./,
	'DETAIL: how many labels there are and how many are needed');
is($node->safe_psql('postgres', q{SELECT status, current_version IS NULL FROM hitl.models}),
	'waiting_for_labels|t', 'status waiting_for_labels, no version');

# one class only, with enough labels: still waiting, saying why
($ret, $out, $err) = $node->psql(
	'postgres', q{
CREATE TABLE one (id int PRIMARY KEY, x float8, lab text);
INSERT INTO one SELECT i, i, CASE WHEN i <= 20 THEN 'only' END FROM generate_series(1, 30) i;
SELECT hitl.create_model('one', 'one', 'lab', ARRAY['x']);
});
is($ret, 0, 'create_model with a single class succeeds');
like($err, qr/NOTICE:  model "one" is waiting for labels/, 'NOTICE for a single labeled class');
like($err, qr/DETAIL:  20 rows of 1 class are labeled/, 'DETAIL counts the classes');

# enough labels: no NOTICE
$node->safe_psql('postgres', q{UPDATE t SET lab = 'hi' WHERE id = 10});
($ret, $out, $err) = $node->psql('postgres', q{SELECT hitl.train('m'); SELECT hitl.score('m')});
is($ret, 0, 'train and score once there are 10 labels');
is($out, "1\n100", 'version 1, 100 rows written');
is($err, '', 'silently');

# a training cut short by max_iter: a WARNING, and the version is recorded
$node->safe_psql('postgres',
	q{UPDATE hitl.models SET options = options || '{"max_iter": 1, "tol": 1e-12}' WHERE name = 'm'});
$node->safe_psql('postgres', q{UPDATE t SET lab = 'lo' WHERE id IN (11, 12, 13, 14)});
($ret, $out, $err) = $node->psql('postgres', q{SELECT hitl.train('m')});
is($ret, 0, 'training with max_iter 1 succeeds');
is($out, '2', 'and records version 2');
like($err, qr/WARNING:  model "m" did not converge in 1 iterations/, 'WARNING: did not converge');
is( $node->safe_psql(
		'postgres', q{SELECT metrics->>'converged', metrics->>'iterations' FROM hitl.model_versions WHERE version = 2}),
	'false|1', 'metrics say so');

$node->stop;

done_testing();
