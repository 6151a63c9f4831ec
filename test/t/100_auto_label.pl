# hitl.auto_label against sessions that hold or label rows at the same time:
# it skips the rows they hold (SKIP LOCKED), never waits for them, and never
# overwrites a human label.  The NOTICE when no threshold qualifies.  The
# worker's option auto_label_precision: after a retraining the worker
# auto-labels as the model's owner.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('auto_label');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'hitl'\nhitl.naptime = 1\n");
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION hitl');

# 900 rows in 3 classes; the model is disabled (the worker leaves it), its
# first 180 rows labeled by people
$node->safe_psql(
	'postgres', q{
CREATE ROLE labeler LOGIN;
CREATE TABLE pts (id int PRIMARY KEY, x float8, y float8, lab text, truth text);
INSERT INTO pts
SELECT g, c * 2 + 1.2 * sin(g * 1.3), c + 1.1 * cos(g * 0.7), NULL, l
FROM generate_series(1, 900) g, LATERAL (SELECT g % 3 AS c) s,
	 LATERAL (SELECT (ARRAY['a', 'b', 'c'])[c + 1] AS l) s2;
GRANT SELECT, UPDATE ON pts TO labeler;
SELECT hitl.create_model('m', 'pts', 'lab', '{x,y}');
SELECT hitl.alter_model('m', enabled => false);
UPDATE pts SET lab = truth WHERE id <= 180;
SELECT hitl.train('m');
SELECT hitl.score('m');
});

my $th = $node->safe_psql('postgres', q{SELECT hitl._auto_label_threshold('m', 0.95)});
ok($th ne '', "a threshold qualifies ($th)");

# three rows auto_label would label; their predictions
my @rows = split /\n/,
  $node->safe_psql('postgres',
	"SELECT id || '|' || lab_prediction FROM pts WHERE lab IS NULL AND lab_confidence >= $th ORDER BY id LIMIT 3");
is(scalar @rows, 3, 'three candidate rows');
my ($a_id, $a_pred) = split /\|/, $rows[0];
my ($b_id, $b_pred) = split /\|/, $rows[1];
my ($c_id, $c_pred) = split /\|/, $rows[2];
my $other = sub { my $p = shift; return $p eq 'a' ? 'b' : 'a' };

# session 1 labels row A (not yet committed); session 2 holds row B
my $s1 = $node->background_psql('postgres');
$s1->query_safe('SET ROLE labeler');
$s1->query_safe('BEGIN');
$s1->query_safe("UPDATE pts SET lab = '" . $other->($a_pred) . "' WHERE id = $a_id");
my $s2 = $node->background_psql('postgres');
$s2->query_safe('SET ROLE labeler');
$s2->query_safe('BEGIN');
$s2->query_safe("SELECT id FROM pts WHERE id = $b_id FOR UPDATE");

my $expected = $node->safe_psql('postgres',
	"SELECT count(*) - 2 FROM pts WHERE lab IS NULL AND lab_confidence >= $th");
my ($ret, $out, $err) = $node->psql('postgres',
	"SET statement_timeout = '60s'; SELECT hitl.auto_label('m', 0.95, 0.05)");
is($ret, 0, 'auto_label does not wait for the rows other sessions hold');
is($out, $expected, 'it labels every candidate but the two held rows');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM hitl.auto_labels WHERE row_key IN ('{\"id\": $a_id}', '{\"id\": $b_id}')"),
	'0',
	'the held rows are not machine-labeled');
is($node->safe_psql('postgres', "SELECT lab FROM pts WHERE id = $c_id"),
	$c_pred, 'a free candidate gets its prediction');

# session 2 labels its row while the first label commits
$s2->query_safe("UPDATE pts SET lab = '" . $other->($b_pred) . "' WHERE id = $b_id");
$s1->query_safe('COMMIT');
$s2->query_safe('COMMIT');
is( $node->safe_psql('postgres', "SELECT lab FROM pts WHERE id IN ($a_id, $b_id) ORDER BY id"),
	$other->($a_pred) . "\n" . $other->($b_pred),
	'both human labels stand');
is( $node->safe_psql(
		'postgres',
		"SELECT string_agg(source || ' ' || role, ',' ORDER BY id) FROM hitl.label_log"
		  . " WHERE row_key IN ('{\"id\": $a_id}', '{\"id\": $b_id}')"),
	'human labeler,human labeler',
	'logged as human labels of the role that wrote them');

# a person re-labels row C (a machine label): it becomes human
$node->safe_psql('postgres', "UPDATE pts SET lab = '" . $other->($c_pred) . "' WHERE id = $c_id");
is($node->safe_psql('postgres', "SELECT count(*) FROM hitl.auto_labels WHERE row_key = '{\"id\": $c_id}'"),
	'0', 'a human update of a machine label makes it human');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM pts p WHERE p.id <= 180 AND p.lab IS DISTINCT FROM p.truth"),
	'0', 'no label written by people before is changed');

# no threshold: a NOTICE says why
($ret, $out, $err) = $node->psql('postgres', q{SELECT hitl.auto_label('m', 0.999)});
is($out, '0', 'a target no threshold reaches labels nothing');
like($err, qr/NOTICE:  model "m" auto-labels nothing: no confidence threshold reaches precision 0.999/,
	'the NOTICE says no threshold reaches the target');
like($err, qr/HINT:  Label more rows, or lower target_precision\./, 'and what to do');

# a label committed after the auto-labeling's snapshot, before its lock: in
# REPEATABLE READ the lock finds the row changed and the transaction fails,
# the human label stands (in READ COMMITTED the lock re-reads the row, whose
# label is no longer NULL, and leaves it)
my @again = split /\n/,
  $node->safe_psql('postgres',
	"SELECT a.row_key->>'id' FROM hitl.auto_labels a WHERE a.model = 'm' ORDER BY 1 LIMIT 2");
$node->safe_psql('postgres', "UPDATE pts SET lab = NULL WHERE id IN ($again[0], $again[1])");
my $d_pred = $node->safe_psql('postgres', "SELECT lab_prediction FROM pts WHERE id = $again[0]");
my $s3 = $node->background_psql('postgres', on_error_stop => 0);
$s3->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
$s3->query_safe('SELECT count(*) FROM pts');
$node->safe_psql('postgres', "UPDATE pts SET lab = '" . $other->($d_pred) . "' WHERE id = $again[0]");
my ($res, $failed) = $s3->query(q{SELECT hitl.auto_label('m', 0.95, 0)});
ok($failed, 'auto_label in a REPEATABLE READ transaction older than a human label fails');
like($s3->{stderr}, qr/could not serialize access due to concurrent update/, 'with a serialization failure');
$s3->{stderr} = '';
$s3->query_safe('ROLLBACK');
is($node->safe_psql('postgres', "SELECT lab FROM pts WHERE id = $again[0]"),
	$other->($d_pred), 'the human label stands');
is($node->safe_psql('postgres', q{SELECT hitl.auto_label('m', 0.95, 0)}),
	'1', 'a new auto-labeling labels the other row only');
is($node->safe_psql('postgres', "SELECT lab FROM pts WHERE id = $again[0]"),
	$other->($d_pred), 'and leaves the human label');
# the session whose auto-labeling failed logs its own labels as human (the
# flag was reset with the error)
my $e_label = $node->safe_psql('postgres', "SELECT lab FROM pts WHERE id = $again[1]");
$s3->query_safe("UPDATE pts SET lab = '" . $other->($e_label) . "' WHERE id = $again[1]");
is( $node->safe_psql(
		'postgres',
		"SELECT source FROM hitl.label_log WHERE row_key = '{\"id\": $again[1]}' ORDER BY id DESC LIMIT 1"),
	'human',
	'after a failed auto-labeling, the session\'s labels are human again');
$s3->quit;

# the worker: a model with auto_label_precision, owned by a role of its own
$node->safe_psql(
	'postgres', q{
CREATE ROLE owner_w LOGIN;
CREATE TABLE wpts (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO wpts
SELECT g, c * 2 + 1.2 * sin(g * 1.3), c + 1.1 * cos(g * 0.7), NULL
FROM generate_series(1, 900) g, LATERAL (SELECT g % 3 AS c) s;
ALTER TABLE wpts OWNER TO owner_w;
GRANT CREATE ON SCHEMA public TO owner_w;
});
$node->safe_psql(
	'postgres', q{
SET ROLE owner_w;
SELECT hitl.create_model('w', 'wpts', 'lab', '{x,y}', options => '{"auto_label_precision": 0.95}');
});
# people label 180 rows; the worker retrains, scores, then auto-labels
$node->safe_psql('postgres',
	q{UPDATE wpts SET lab = (ARRAY['a', 'b', 'c'])[id % 3 + 1] WHERE id <= 180});
ok( $node->poll_query_until(
		'postgres', q{SELECT count(*) > 0 FROM hitl.auto_labels WHERE model = 'w'}),
	'the worker auto-labels the model after its retraining');
is( $node->safe_psql(
		'postgres',
		q{SELECT string_agg(DISTINCT role::text, ',') FROM hitl.label_log WHERE model = 'w' AND source = 'model'}),
	'owner_w',
	'as the model\'s owner');
is( $node->safe_psql(
		'postgres', q{SELECT count(*) FROM wpts WHERE id <= 180 AND lab <> (ARRAY['a', 'b', 'c'])[id % 3 + 1]}),
	'0', 'people\'s labels are untouched');
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM hitl.auto_labels a JOIN wpts p ON a.row_key = jsonb_build_object('id', p.id)
		  WHERE p.lab IS DISTINCT FROM a.label}),
	'0', 'each machine label is in the table');

# without the option (absent by default) the worker does not auto-label
$node->safe_psql(
	'postgres', q{
CREATE TABLE npts (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO npts SELECT id, x, y, NULL FROM wpts;
ALTER TABLE npts OWNER TO owner_w;
SET ROLE owner_w;
SELECT hitl.create_model('nw', 'npts', 'lab', '{x,y}');
});
$node->safe_psql('postgres',
	q{UPDATE npts SET lab = (ARRAY['a', 'b', 'c'])[id % 3 + 1] WHERE id <= 180});
ok( $node->poll_query_until(
		'postgres',
		q{SELECT m.status = 'scored' AND m.scored_version = m.current_version AND v.n_labeled = 180
		  FROM hitl.models m JOIN hitl.model_versions v ON v.model = m.name
		  AND v.version = m.current_version WHERE m.name = 'nw'}),
	'the worker trains and scores a model without the option');
is($node->safe_psql('postgres', q{SELECT count(*) FROM npts WHERE lab IS NOT NULL}),
	'180', 'and labels nothing of it');

$s1->quit;
$s2->quit;
$node->stop;
done_testing();
