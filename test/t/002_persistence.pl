# Model state lives in tables: models, versions and the review queue survive
# a restart, a crash (immediate stop) and a pg_dump / restore, and the
# restored copy keeps working.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('persistence');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION hitl');

# 300 rows, three classes, a numeric, an integer and an embedding feature;
# 60 labeled at first.
$node->safe_psql(
	'postgres', q{
CREATE TABLE items (
	id int PRIMARY KEY, a numeric, b integer, emb float8[], kind text);
INSERT INTO items
SELECT i, (i % 17) / 3.0, (i * 7) % 23, ARRAY[sin(i), cos(i)],
	   CASE WHEN i <= 60 THEN
		   CASE WHEN (i * 7) % 23 < 8 THEN 'x' WHEN (i * 7) % 23 < 16 THEN 'y' ELSE 'z' END
	   END
FROM generate_series(1, 300) i;
SELECT hitl.create_model('pm', 'items', 'kind', ARRAY['a', 'b', 'emb'],
						 options => '{"queue_size": 50, "score_tolerance": 0}');
UPDATE items SET kind = CASE WHEN (id * 7) % 23 < 8 THEN 'x' WHEN (id * 7) % 23 < 16 THEN 'y' ELSE 'z' END
WHERE id BETWEEN 61 AND 90;
SELECT hitl.train('pm');
SELECT hitl.score('pm');
});

# Everything that must survive, as text
my %state_sql = (
	model => q{SELECT name, source, label_column, feature_columns, key_columns,
	  prediction_column, confidence_column, uncertainty_column, added_columns,
	  review_view, algorithm, strategy, options, owner, status, current_version,
	  scored_version, created_at, trained_at, scored_at FROM hitl.models ORDER BY name},
	versions => q{SELECT model, version, trained_at, algorithm, n_labeled, classes,
	  feature_names, feature_dims, feature_means, feature_scales, coefficients, metrics,
	  train_ms FROM hitl.model_versions ORDER BY model, version},
	queue => q{SELECT * FROM hitl.queue ORDER BY model, rank},
	view => q{SELECT id, kind_prediction, kind_confidence, rank FROM pm_review_queue},
	scores => q{SELECT md5(string_agg(format('%s %s %s %s %s', id, kind, kind_prediction,
	  kind_confidence, kind_uncertainty), ',' ORDER BY id)) FROM items},
);

sub state_of
{
	my ($db) = @_;
	my %s;
	$s{$_} = $node->safe_psql($db, $state_sql{$_}) foreach keys %state_sql;
	return \%s;
}

# Every row's stored prediction and confidence agree with predict()
my $predict_check = q{
SELECT count(*) FROM items t
WHERE hitl.predict('pm', t) IS DISTINCT FROM t.kind_prediction
   OR abs((hitl.predict_proba('pm', t) ->> t.kind_prediction)::float8 - t.kind_confidence) > 1e-4
};

sub compare_state
{
	my ($before, $after, $what) = @_;
	foreach my $k (sort keys %state_sql)
	{
		is($after->{$k}, $before->{$k}, "$what: same $k");
	}
}

my $s0 = state_of('postgres');
like($s0->{model}, qr/\|scored\|2\|2\|/, 'model scored with version 2');
is($node->safe_psql('postgres', 'SELECT count(*) FROM hitl.model_versions'), '2', 'two versions');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pm_review_queue'), '50', 'the review view lists 50 rows');
is($node->safe_psql('postgres', $predict_check), '0', 'predict() agrees with the stored scores');

# ---------------------------------------------------------------------------
# restart
# ---------------------------------------------------------------------------

$node->restart;
compare_state($s0, state_of('postgres'), 'after a restart');
is($node->safe_psql('postgres', $predict_check), '0', 'after a restart: predict() works and agrees');
is($node->safe_psql('postgres', q{SELECT count(*) FROM hitl.review_queue WHERE model = 'pm'}),
	'50', 'after a restart: hitl.review_queue works');
is($node->safe_psql('postgres', q{SELECT hitl.score('pm')}), '0',
	'after a restart: nothing to rescore');

# ---------------------------------------------------------------------------
# crash: labels, a new version and its scores committed just before
# ---------------------------------------------------------------------------

$node->safe_psql(
	'postgres', q{
UPDATE items SET kind = CASE WHEN (id * 7) % 23 < 8 THEN 'x' WHEN (id * 7) % 23 < 16 THEN 'y' ELSE 'z' END
WHERE id BETWEEN 91 AND 120;
});
is($node->safe_psql('postgres', q{SELECT hitl.train('pm')}), '3', 'version 3 trained');
$node->safe_psql('postgres', q{SELECT hitl.score('pm')});
my $s1 = state_of('postgres');
like($s1->{model}, qr/\|scored\|3\|3\|/, 'model scored with version 3');

$node->stop('immediate');
$node->start;
compare_state($s1, state_of('postgres'), 'after a crash');
is($node->safe_psql('postgres', 'SELECT count(*) FROM items WHERE kind IS NOT NULL'), '120',
	'after a crash: every committed label is there');
is($node->safe_psql('postgres', $predict_check), '0', 'after a crash: predict() works and agrees');
# (another C: training on the same labels records a version only when
# something it learns from changed)
$node->safe_psql('postgres', q{SELECT hitl.alter_model('pm', options => '{"C": 0.9}')});
is($node->safe_psql('postgres', q{SELECT hitl.train('pm')}), '4', 'after a crash: training goes on (version 4)');
is($node->safe_psql('postgres', q{SELECT metrics->>'warm_start' FROM hitl.model_versions WHERE version = 4}),
	'true', 'warm-started from the version that survived');
$node->safe_psql('postgres', q{SELECT hitl.score('pm')});
is($node->safe_psql('postgres', $predict_check), '0', 'and scoring too');

# ---------------------------------------------------------------------------
# pg_dump, and a restore into a fresh database
# ---------------------------------------------------------------------------

my $s2 = state_of('postgres');
my $dump = $node->basedir . '/hitl.sql';
$node->command_ok([ 'pg_dump', '--no-sync', '-f', $dump, '-d', $node->connstr('postgres') ],
	'pg_dump of the database');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok(
	[
		'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction',
		'-d', $node->connstr('restored'), '-f', $dump
	],
	'restore into a fresh database, without errors');

my $r = state_of('restored');
foreach my $k (qw(model versions queue view scores))
{
	is($r->{$k}, $s2->{$k}, "restored: same $k");
}
is($node->safe_psql('restored', q{SELECT source = 'public.items'::regclass FROM hitl.models}),
	't', 'restored: the model points at the restored table');
is($node->safe_psql('restored', $predict_check), '0', 'restored: predict() works and agrees');
is($node->safe_psql('restored', q{SELECT hitl.train('pm')}), '4',
	'restored: hitl.train on the restored labels gives the restored version back');
$node->safe_psql('restored', q{SELECT hitl.alter_model('pm', options => '{"C": 0.8}')});
is($node->safe_psql('restored', q{SELECT hitl.train('pm')}), '5', 'restored: hitl.train records version 5');
is( $node->safe_psql(
		'restored', q{SELECT n_labeled, metrics->>'warm_start' FROM hitl.model_versions WHERE version = 5}),
	'120|true', 'restored: on the restored labels, warm-started from the restored version');

# a long-lived session caches version 5; it must see version 6 once another
# session commits it
my $proba_sql = q{SELECT hitl.predict_proba('pm', t) FROM items t WHERE id = 1};
my $cached = $node->background_psql('restored');
my $proba_v5 = $cached->query_safe($proba_sql);
is($proba_v5, $node->safe_psql('restored', $proba_sql), 'restored: another session predicts with version 5');
$node->safe_psql('restored',
	q{UPDATE items SET kind = 'z' WHERE id IN (SELECT id FROM pm_review_queue WHERE rank <= 5)});
is($node->safe_psql('restored', q{SELECT hitl.train('pm')}), '6', 'restored: training on new labels');
my $proba_v6 = $node->safe_psql('restored', $proba_sql);
isnt($proba_v6, $proba_v5, 'restored: version 6 gives other probabilities');
is($cached->query_safe($proba_sql), $proba_v6,
	'the session that cached version 5 predicts with version 6 at its next query');
$cached->quit;
cmp_ok($node->safe_psql('restored', q{SELECT hitl.score('pm')}), '>', 0, 'restored: hitl.score writes');
is($node->safe_psql('restored', $predict_check), '0', 'restored: predict() agrees with the new scores');
is($node->safe_psql('restored', 'SELECT count(*) FROM pm_review_queue'), '50',
	'restored: the review view lists the new queue');
is($node->safe_psql('postgres', 'SELECT max(version) FROM hitl.model_versions'), '4',
	'the original database is untouched');

$node->stop;

done_testing();
