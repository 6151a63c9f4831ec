# The worker writes one LOG line per version it trains, naming the model,
# its database, the version, the labels, the training time and the
# cross-validated accuracy (or that there is none, or that it comes after
# the scoring), then one when the cross-validation it deferred is done, and
# nothing per row: a scoring of 2,000 rows adds no line.  A retraining that
# makes no new version (nothing it learns from changed) logs nothing.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/lib";
use HitlTest qw(worker_node);

my $node = worker_node('worker_log_line', 'shop');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('shop', $query);
}

sql(q{
CREATE TABLE t (id int PRIMARY KEY, x float8, lab text);
INSERT INTO t SELECT i, i % 10, CASE WHEN i <= 60 THEN CASE WHEN i % 10 < 5 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 2000) i;
SELECT hitl.create_model('m', 't', 'lab', ARRAY['x'], options => '{"cv_folds": 3}');
CREATE TABLE u (id int PRIMARY KEY, x float8, lab text);
INSERT INTO u SELECT i, i % 10, CASE WHEN i <= 60 THEN CASE WHEN i % 10 < 5 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 200) i;
SELECT hitl.create_model('nocv', 'u', 'lab', ARRAY['x'], options => '{"cv_folds": 0}');
});

my $offset = -s $node->logfile;
sql(q{UPDATE t SET lab = 'a' WHERE id = 61});
is(sql(q{SELECT hitl.wait('m')}), '2', 'the worker trains version 2 after a label');
ok( $node->poll_query_until(
		'shop',
		q{SELECT NOT (metrics ? 'cv_pending') FROM hitl.model_versions WHERE model = 'm' AND version = 2}),
	'and cross-validates it after its scoring');
my $log = slurp_file($node->logfile, $offset);
my @lines = $log =~ /^.*hitl: model "m" of database "shop": version \d+ trained.*$/mg;
is(scalar @lines, 1, 'one LOG line for the version');
like(
	$lines[0] // '',
	qr/LOG:  hitl: model "m" of database "shop": version 2 trained on 61 labels in \d+ ms, cross-validated after its scoring$/,
	'it names the model, the database, the version, the labels, the time, and that cross-validation follows');
my @cv = $log =~ /^.*hitl: model "m" of database "shop": version \d+ cross-validated after.*$/mg;
is(scalar @cv, 1, 'one LOG line for its cross-validation');
like(
	$cv[0] // '',
	qr/LOG:  hitl: model "m" of database "shop": version 2 cross-validated after its scoring in \d+ ms, cv accuracy (0|1)\.\d{4}$/,
	'it names the version, the time and the accuracy');
my $acc = sql(q{SELECT round((metrics->>'cv_accuracy')::numeric, 4) FROM hitl.model_versions WHERE model = 'm' AND version = 2});
like($cv[0] // '', qr/cv accuracy \Q$acc\E$/, 'the accuracy is the version\'s cv_accuracy');
is(sql(q{SELECT count(*) FROM t WHERE lab_prediction IS NOT NULL}), '2000', 'the 2,000 rows are scored');
my @all = $log =~ /^.*hitl: model "m".*$/mg;
is(scalar @all, 2, 'and the scoring logs nothing of its own, nothing per row');

$offset = -s $node->logfile;
sql(q{UPDATE u SET lab = 'b' WHERE id = 61});
is(sql(q{SELECT hitl.wait('nocv')}), '2', 'a model without cross-validation is retrained');
$log = slurp_file($node->logfile, $offset);
like($log, qr/LOG:  hitl: model "nocv" of database "shop": version 2 trained on 61 labels in \d+ ms, not cross-validated$/m,
	'its line says it was not cross-validated');

# a label set to the value it had logs nothing new and trains no version
$offset = -s $node->logfile;
# (in one transaction: the worker must not train between the two)
sql(q{BEGIN; UPDATE u SET lab = 'b' WHERE id = 61; UPDATE u SET lab = NULL WHERE id = 50; UPDATE u SET lab = 'a' WHERE id = 50; COMMIT});
is(sql(q{SELECT hitl.wait('nocv')}), '2', 'a label changed and changed back makes no new version');
$log = slurp_file($node->logfile, $offset);
unlike($log, qr/hitl: model "nocv"/, 'and no line');

done_testing();
