# The term cache through pg_dump and pg_restore: a text model on a built-in
# configuration keeps its cached counts (dumped with the table, its trigger
# with the table's triggers) and reads them after the restore; one on a
# configuration of the user's, which gets other OIDs in the new database,
# has its values refused and its rows parsed, with the same predictions,
# until hitl.refresh_term_cache rebuilds them; and the restored trigger
# keeps new rows' values.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('term_cache_restore');
$node->init;
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION hitl;
CREATE TEXT SEARCH CONFIGURATION public.my_config (COPY = pg_catalog.english);
CREATE TABLE docs (id int PRIMARY KEY, body text, topic text);
INSERT INTO docs
SELECT i, CASE i % 3 WHEN 0 THEN 'the goal in the match was scored late by the team'
				  WHEN 1 THEN 'bake the bread with flour butter and salt in the oven'
				  ELSE 'the compiler and the kernel of the computer crashed' END || ' ' || i,
	   CASE WHEN i <= 30 THEN CASE i % 3 WHEN 0 THEN 'sport' WHEN 1 THEN 'cooking' ELSE 'computing' END END
FROM generate_series(1, 90) i;
SELECT hitl.create_model('plain', 'docs', 'topic', ARRAY['body'], algorithm => 'naive_bayes',
						 prediction_column => 'p1', confidence_column => 'c1', uncertainty_column => 'u1');
SELECT hitl.create_model('mine', 'docs', 'topic', ARRAY['body'], algorithm => 'naive_bayes',
						 prediction_column => 'p2', confidence_column => 'c2', uncertainty_column => 'u2',
						 options => '{"text_config": "public.my_config"}');
});

my $proba = q{SELECT string_agg(hitl.predict_proba('plain', d)::text || hitl.predict_proba('mine', d)::text,
						 ',' ORDER BY id) FROM docs d};
my $values = q{SELECT md5(string_agg(hitl_terms_plain::text || hitl_terms_mine::text, ',' ORDER BY id)) FROM docs};
my $proba_before = $node->safe_psql('postgres', $proba);
my $values_before = $node->safe_psql('postgres', $values);

my $dump = $node->basedir . '/term_cache.dump';
$node->command_ok([ 'pg_dump', '--no-sync', '-Fc', '-f', $dump, '-d', $node->connstr('postgres') ],
	'pg_dump of the database');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('restored'), $dump ], 'pg_restore');

sub sql { return $node->safe_psql('restored', $_[0]); }

is(sql($values), $values_before, 'the cached values come back as they were');
is(sql(q{SELECT count(*) FROM pg_trigger WHERE tgrelid = 'docs'::regclass
		 AND tgfoid = 'hitl._term_cache_trigger()'::regprocedure}), '2', 'and both triggers');
is(sql($proba), $proba_before, 'the models predict as before');

is(sql(q{SELECT hitl.score('plain') >= 0, (SELECT cached || '/' || parsed FROM hitl._term_cache_last())}),
	't|90/0', 'built-in configuration: the restored values are read');
is(sql(q{SELECT hitl.score('mine') >= 0, (SELECT cached || '/' || parsed FROM hitl._term_cache_last())}),
	't|0/90', 'configuration of the user\'s (other OIDs): every row is parsed');
is(sql(q{SELECT count(*) FROM docs d
		 WHERE d.c2 IS DISTINCT FROM (SELECT max(p.value::float8) FROM jsonb_each_text(hitl.predict_proba('mine', d)) p)}),
	'0', 'with the scores of the uncached path');
is(sql(q{SELECT hitl.refresh_term_cache('mine', true)}), '90', 'refresh_term_cache rebuilds its values');
is(sql(q{SELECT hitl.score('mine') >= 0, (SELECT cached || '/' || parsed FROM hitl._term_cache_last())}),
	't|90/0', 'which are read from then on');

sql(q{INSERT INTO docs (id, body) VALUES (91, 'the team scored a goal')});
is(sql(q{SELECT hitl_terms_plain IS NOT NULL AND hitl_terms_mine IS NOT NULL FROM docs WHERE id = 91}), 't',
	'the restored triggers fill a new row');
is(sql(q{SELECT hitl.score('plain') >= 0, (SELECT cached || '/' || parsed FROM hitl._term_cache_last())}),
	't|91/0', 'whose value is read');

$node->stop;
done_testing();
