# A dump restored with pg_restore --no-owner into a cluster without the role
# that owns the models keeps every model, version, queue row and label log
# row; each model is given to the owner of its table (with --no-owner, the
# restoring role) with a WARNING naming the model and the missing role, and
# works as before: same predictions, training, drop_model and create_model.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $old = PostgreSQL::Test::Cluster->new('restore_old');
$old->init;
$old->start;

# a role owning two models: a numeric logistic one and a naive Bayes text one
$old->safe_psql(
	'postgres', q{
CREATE ROLE alice LOGIN;
CREATE SCHEMA app AUTHORIZATION alice;
CREATE EXTENSION hitl;
SET ROLE alice;
CREATE TABLE app.nums (id int PRIMARY KEY, a float8, b integer, label text);
INSERT INTO app.nums
SELECT i, (i * 37) % 100, i % 9,
	   CASE WHEN i <= 40 THEN CASE WHEN (i * 37) % 100 >= 50 THEN 'high' ELSE 'low' END END
FROM generate_series(1, 120) i;
CREATE TABLE app.docs (id int PRIMARY KEY, body text, topic text);
INSERT INTO app.docs
SELECT i, CASE i % 3 WHEN 0 THEN 'the goal in the match was scored late by the team'
				  WHEN 1 THEN 'bake the bread with flour butter and salt in the oven'
				  ELSE 'the compiler and the kernel of the computer crashed' END || ' ' || i,
	   CASE WHEN i <= 30 THEN CASE i % 3 WHEN 0 THEN 'sport' WHEN 1 THEN 'cooking' ELSE 'computing' END END
FROM generate_series(1, 90) i;
SELECT hitl.create_model('num', 'app.nums', 'label', ARRAY['a', 'b']);
SELECT hitl.create_model('txt', 'app.docs', 'topic', ARRAY['body'], algorithm => 'naive_bayes');
-- more labels: label log rows and second versions
UPDATE app.nums SET label = CASE WHEN (id * 37) % 100 >= 50 THEN 'high' ELSE 'low' END
WHERE id BETWEEN 41 AND 60;
UPDATE app.docs SET topic = CASE id % 3 WHEN 0 THEN 'sport' WHEN 1 THEN 'cooking' ELSE 'computing' END
WHERE id BETWEEN 31 AND 45;
SELECT hitl.train('num'), hitl.score('num');
SELECT hitl.train('txt'), hitl.score('txt');
});

# What must come back, as text
my %state_sql = (
	models => q{SELECT name, source, label_column, feature_columns, key_columns, algorithm,
	  strategy, options, status, current_version, scored_version, review_view
	  FROM hitl.models ORDER BY name},
	versions => q{SELECT model, version, n_labeled, classes, feature_names, feature_dims,
	  coefficients, vocabulary, class_counts, count_index, counts, metrics
	  FROM hitl.model_versions ORDER BY model, version},
	queue => q{SELECT * FROM hitl.queue ORDER BY model, rank},
	log => q{SELECT id, model, row_key, old_label, new_label, role, model_version, prediction
	  FROM hitl.label_log ORDER BY id},
	predictions => q{SELECT string_agg(hitl.predict('num', t), ',' ORDER BY id) FROM app.nums t},
	text_predictions =>
	  q{SELECT string_agg(hitl.predict_proba('txt', t)::text, ',' ORDER BY id) FROM app.docs t},
	review => q{SELECT string_agg(id::text, ',' ORDER BY rank) FROM app.num_review_queue},
);

sub state_of
{
	my ($node, $db) = @_;
	my %s;
	$s{$_} = $node->safe_psql($db, $state_sql{$_}) foreach keys %state_sql;
	return \%s;
}

my $before = state_of($old, 'postgres');
like($before->{models}, qr/^num\|.*\ntxt\|/s, 'two models before the dump');
is($old->safe_psql('postgres', q{SELECT count(*) FROM hitl.model_versions}), '4', 'two versions each');
cmp_ok($old->safe_psql('postgres', q{SELECT count(*) FROM hitl.label_log}), '>=', 35,
	'label log rows');

my $dump = $old->basedir . '/hitl.dump';
$old->command_ok([ 'pg_dump', '--no-sync', '-Fc', '-f', $dump, '-d', $old->connstr('postgres') ],
	'pg_dump of the database');

# a cluster without alice
my $new = PostgreSQL::Test::Cluster->new('restore_new');
$new->init;
$new->start;
$new->safe_psql('postgres', 'CREATE DATABASE restored');
is($new->safe_psql('postgres', q{SELECT count(*) FROM pg_roles WHERE rolname = 'alice'}), '0',
	'the new cluster has no role alice');

my ($stdout, $stderr);
my $ok = IPC::Run::run(
	[ 'pg_restore', '--no-owner', '--verbose', '-d', $new->connstr('restored'), $dump ],
	'>', \$stdout, '2>', \$stderr);
ok($ok, 'pg_restore --no-owner succeeds') or diag($stderr);
unlike($stderr, qr/error:/, 'without errors');

my $restorer = $new->safe_psql('restored', 'SELECT current_user');
foreach my $model (qw(num txt))
{
	like($stderr,
		qr/WARNING:  role "alice" owning hitl model "$model" does not exist: the model now belongs to role "$restorer"/,
		"a WARNING names model $model, the missing role and the new owner");
}

my $after = state_of($new, 'restored');
foreach my $k (sort keys %state_sql)
{
	is($after->{$k}, $before->{$k}, "restored: same $k");
}
is($new->safe_psql('restored', q{SELECT string_agg(owner::text, ',' ORDER BY name) FROM hitl.models}),
	"$restorer,$restorer", 'both models belong to the restoring role');
is($new->safe_psql('restored', q{SELECT count(*) FROM hitl.review_queue}),
	$old->safe_psql('postgres', q{SELECT count(*) FROM hitl.review_queue}),
	'hitl.review_queue lists the same rows');

# the restored models keep working
$new->safe_psql('restored',
	q{UPDATE app.nums SET label = CASE WHEN (id * 37) % 100 >= 50 THEN 'high' ELSE 'low' END
	  WHERE id BETWEEN 61 AND 80});
is($new->safe_psql('restored', q{SELECT hitl.train('num')}), '3', 'training on new labels: version 3');
cmp_ok($new->safe_psql('restored', q{SELECT hitl.score('num')}), '>', 0, 'scoring writes');
is($new->safe_psql('restored',
		q{SELECT count(*) FROM hitl.label_log WHERE model = 'num' AND new_label IS NOT NULL AND model_version = 2}),
	'20', 'the new labels are logged against the restored version');
$new->safe_psql('restored',
	q{UPDATE app.docs SET topic = CASE id % 3 WHEN 0 THEN 'sport' WHEN 1 THEN 'cooking' ELSE 'computing' END
	  WHERE id BETWEEN 46 AND 60});
is($new->safe_psql('restored', q{SELECT hitl.train('txt')}), '3', 'the text model trains version 3');
is($new->safe_psql('restored', q{SELECT hitl.predict('txt', t) FROM app.docs t WHERE id = 90}), 'sport',
	'and predicts');
$new->safe_psql('restored', q{SELECT hitl.drop_model('num')});
is($new->safe_psql('restored', q{SELECT count(*) FROM hitl.models WHERE name = 'num'}), '0',
	'drop_model works');
is($new->safe_psql('restored', q{SELECT to_regclass('app.num_review_queue') IS NULL}), 't',
	'and drops the review view');
is($new->safe_psql('restored', q{SELECT hitl.create_model('num', 'app.nums', 'label', ARRAY['a', 'b'])}),
	'1', 'create_model of the same name works again');

$new->stop;
$old->stop;

done_testing();
