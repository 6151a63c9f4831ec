# pg_dump / pg_restore of a database with three models (numeric logistic,
# text naive Bayes, text logistic), their versions, queue and label log, into
# a new database of the same cluster, whose worker then takes over: hitl's
# tables come back once each (no error, no duplicate), the models predict
# the same, and the worker retrains on new labels; the naive Bayes model
# cannot update incrementally across the restore (its restored log entries
# are not to be applied again) and trains from scratch, its version saying
# why (metrics "fallback": "restored").

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump_restore_worker');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'hitl'\nhitl.naptime = 300\nhitl.retrain_delay = 0\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
CREATE EXTENSION hitl;
CREATE TABLE nums (id int PRIMARY KEY, a float8, b integer, label text);
INSERT INTO nums
SELECT i, (i * 37) % 100, i % 9,
	   CASE WHEN i <= 40 THEN CASE WHEN (i * 37) % 100 >= 50 THEN 'high' ELSE 'low' END END
FROM generate_series(1, 300) i;
CREATE TABLE docs (id int PRIMARY KEY, body text, topic text, topic2 text);
INSERT INTO docs
SELECT i, CASE i % 3 WHEN 0 THEN 'the goal in the match was scored late by the team'
				   WHEN 1 THEN 'bake the bread with flour butter and salt in the oven'
				   ELSE 'the compiler and the kernel of the computer crashed' END || ' ' || i,
	   CASE WHEN i <= 30 THEN CASE i % 3 WHEN 0 THEN 'sport' WHEN 1 THEN 'cooking' ELSE 'computing' END END,
	   CASE WHEN i <= 30 THEN CASE i % 3 WHEN 0 THEN 'sport' WHEN 1 THEN 'cooking' ELSE 'computing' END END
FROM generate_series(1, 300) i;
SELECT hitl.create_model('num', 'nums', 'label', ARRAY['a', 'b']);
SELECT hitl.create_model('nb', 'docs', 'topic', ARRAY['body'], algorithm => 'naive_bayes');
SELECT hitl.create_model('txt', 'docs', 'topic2', ARRAY['body'], options => '{"cv_folds": 0}');
UPDATE nums SET label = CASE WHEN (id * 37) % 100 >= 50 THEN 'high' ELSE 'low' END WHERE id BETWEEN 41 AND 60;
UPDATE docs SET topic = CASE id % 3 WHEN 0 THEN 'sport' WHEN 1 THEN 'cooking' ELSE 'computing' END,
				topic2 = CASE id % 3 WHEN 0 THEN 'sport' WHEN 1 THEN 'cooking' ELSE 'computing' END
WHERE id BETWEEN 31 AND 45;
});
foreach my $m (qw(num nb txt))
{
	is($node->safe_psql('src', qq{SELECT hitl.wait('$m')}), '2', "the worker trains version 2 of $m");
}

my %state_sql = (
	models => q{SELECT name, label_column, feature_columns, algorithm, options, status,
	  current_version, scored_version, processed_labels FROM hitl.models ORDER BY name},
	versions => q{SELECT model, version, n_labeled, classes, coefficients, vocabulary,
	  counts, metrics FROM hitl.model_versions ORDER BY model, version},
	queue => q{SELECT * FROM hitl.queue ORDER BY model, rank},
	log => q{SELECT id, model, row_key, old_label, new_label, role, model_version
	  FROM hitl.label_log ORDER BY id},
	num => q{SELECT string_agg(hitl.predict('num', t), ',' ORDER BY id) FROM nums t},
	nb => q{SELECT string_agg(hitl.predict_proba('nb', t)::text, ',' ORDER BY id) FROM docs t},
	txt => q{SELECT string_agg(hitl.predict_proba('txt', t)::text, ',' ORDER BY id) FROM docs t},
	stored => q{SELECT md5(string_agg(concat_ws('|', id, topic_prediction, topic_confidence,
	  topic2_prediction, topic2_confidence), ',' ORDER BY id)) FROM docs},
);
my %before = map { $_ => $node->safe_psql('src', $state_sql{$_}) } keys %state_sql;

my $dump = $node->basedir . '/src.dump';
$node->command_ok([ 'pg_dump', '--no-sync', '-Fc', '-f', $dump, '-d', $node->connstr('src') ],
	'pg_dump of the database');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
my ($stdout, $stderr);
my $ok = IPC::Run::run([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ],
	'>', \$stdout, '2>', \$stderr);
ok($ok, 'pg_restore succeeds') or diag($stderr);
is($stderr, '', 'with nothing on stderr (no error, no warning)');

foreach my $k (sort keys %state_sql)
{
	is($node->safe_psql('dst', $state_sql{$k}), $before{$k}, "restored: same $k");
}
is($node->safe_psql('dst',
		q{SELECT count(*) FROM (SELECT model, version FROM hitl.model_versions
		  GROUP BY 1, 2 HAVING count(*) > 1) d}),
	'0', 'no version twice');
is($node->safe_psql('dst', q{SELECT string_agg(model, ',' ORDER BY model) FROM hitl.restored_logs}),
	',nb,num,txt', 'the restore is recorded for the three models (and for any entries: the empty name)');

# the worker of the new database takes over
$node->safe_psql('dst', q{
UPDATE nums SET label = CASE WHEN (id * 37) % 100 >= 50 THEN 'high' ELSE 'low' END WHERE id BETWEEN 61 AND 70;
UPDATE docs SET topic = CASE id % 3 WHEN 0 THEN 'sport' WHEN 1 THEN 'cooking' ELSE 'computing' END,
				topic2 = CASE id % 3 WHEN 0 THEN 'sport' WHEN 1 THEN 'cooking' ELSE 'computing' END
WHERE id BETWEEN 46 AND 50;
});
foreach my $m (qw(num nb txt))
{
	is($node->safe_psql('dst', qq{SELECT hitl.wait('$m')}), '3', "the worker trains version 3 of $m");
}
is($node->safe_psql('dst', q{SELECT n_labeled FROM hitl.model_versions WHERE model = 'nb' AND version = 3}),
	'50', 'naive Bayes version 3 learned from the 50 labels');
is($node->safe_psql('dst', q{SELECT metrics->>'fallback' FROM hitl.model_versions WHERE model = 'nb' AND version = 3}),
	'restored', 'trained from scratch, not updated incrementally across the restore, and it says why');
is($node->safe_psql('dst', q{SELECT count(*) FROM docs WHERE topic_prediction IS DISTINCT FROM hitl.predict('nb', docs)}),
	'0', 'and rescored with it');
is($node->safe_psql('src', q{SELECT current_version FROM hitl.models ORDER BY name}), "2\n2\n2",
	'the source database is untouched');

# the next label after the restore is applied incrementally again
$node->safe_psql('dst', q{UPDATE docs SET topic = 'sport' WHERE id = 51});
is($node->safe_psql('dst', q{SELECT hitl.wait('nb')}), '4', 'naive Bayes version 4');
is($node->safe_psql('dst',
		q{SELECT metrics->>'incremental', metrics ? 'fallback' FROM hitl.model_versions WHERE model = 'nb' AND version = 4}),
	'true|f', 'an incremental update again');

done_testing();
