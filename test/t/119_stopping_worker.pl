# The stopping signal of the versions the worker trains: each compares its
# predictions with those the previous version's scoring wrote (kappa, rows
# compared, that version), gets its out-of-fold trend once its deferred
# cross-validation comes, and hitl.models.stop_suggested follows: with
# stop_window 3 (labels; a version a label), true after three versions
# agreeing with their previous one, false once the predictions move.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/lib";
use HitlTest qw(worker_node);

my $node = worker_node('stopping_worker', 'shop');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('shop', $query);
}

# rows left of 0 are 'a', right of it 'b'; 1 row in 20 labeled
sql(q{CREATE TABLE pts (id int PRIMARY KEY, x float8, label text)});
sql(q{INSERT INTO pts SELECT g, g - 500.5,
		CASE WHEN g % 20 = 0 THEN CASE WHEN g < 500 THEN 'a' ELSE 'b' END END
	  FROM generate_series(1, 1000) g});
sql(q{SELECT hitl.create_model('w', 'pts', 'label', '{x}',
		options => '{"cv_folds": 3, "stop_window": 3}')});

# a label far from the boundary: the worker trains and scores a version
# whose predictions are the previous one's
my $version = 1;
for my $id (3, 997, 7)
{
	my $lab = $id < 500 ? 'a' : 'b';
	sql(qq{UPDATE pts SET label = '$lab' WHERE id = $id});
	$version++;
	is(sql(q{SELECT hitl.wait('w', '120 s', cross_validated => true)}), $version,
		"the worker trains version $version");
	my $unlabeled = sql(q{SELECT count(*) FROM pts WHERE label IS NULL});
	is( sql(
			qq{SELECT metrics->>'stop_kappa_previous', metrics->>'stop_kappa_rows',
					  metrics->>'stop_kappa_version', metrics ? 'cv_deferred_ms'
			   FROM hitl.model_versions WHERE model = 'w' AND version = $version}),
		"1|$unlabeled|" . ($version - 1) . '|t',
		"version $version: kappa 1 against version " . ($version - 1)
		  . "'s predictions on the $unlabeled unlabeled rows, its cross-validation deferred");
	is( sql(
			qq{SELECT (a.metrics->>'stop_cv_accuracy_change')::numeric
					  = round((a.metrics->>'cv_accuracy')::numeric - (b.metrics->>'cv_accuracy')::numeric, 10),
					  a.metrics->>'stop_cv_base'
			   FROM hitl.model_versions a, hitl.model_versions b
			   WHERE a.model = 'w' AND a.version = $version AND b.model = 'w' AND b.version = a.version - 1}),
		't|' . ($version - 1),
		"version $version: its out-of-fold trend, once its deferred cross-validation came");
	is(sql(q{SELECT coalesce(stop_suggested::text, 'null') FROM hitl.models WHERE name = 'w'}),
		$version < 4 ? 'null' : 'true',
		"after version $version, stop_suggested is " . ($version < 4 ? 'NULL' : 'true'));
}

# rows right of the boundary labeled 'a': the predictions move
sql(q{UPDATE pts SET label = 'a' WHERE id BETWEEN 501 AND 560 AND label IS NULL});
is(sql(q{SELECT hitl.wait('w', '120 s', cross_validated => true)}), '5',
	'the worker trains version 5');
is( sql(
		q{SELECT (metrics->>'stop_kappa_previous')::float8 < 0.99
		  FROM hitl.model_versions WHERE model = 'w' AND version = 5}),
	't', 'version 5: kappa below 0.99');
is(sql(q{SELECT stop_suggested FROM hitl.models WHERE name = 'w'}),
	'f', 'the predictions moved: stop_suggested is false');

done_testing();
