# A dump taken from PostgreSQL 15 and restored into 18, as a DBA moving to
# the new server does it: pg_dump -Fc from the 15 server, pg_restore into a
# new database of the 18 server (both with hitl in shared_preload_libraries).
#
# Which pg_dump: 18's, unless it would write column options 18 refuses.
# Debian's 15.20 keeps a pg_attver option on every column (pg_attribute.
# attoptions) and its own pg_dump leaves it out; 18.6's pg_dump does not know
# it and dumps it (ALTER TABLE ... ALTER COLUMN ... SET (pg_attver=...)),
# which 18 rejects ("unrecognized parameter"): no table of such a dump
# restores, hitl or not. The dump is then taken with 15's pg_dump, whose
# archives 18's pg_restore reads; a note says which pg_dump ran.
#
# 1. A database with three models (numeric logistic, text naive Bayes, text
#    logistic), their versions, queue and label log: the checks of
#    test/t/041_dump_restore_worker.pl (test/t/lib/HitlDump.pm), across the
#    two servers: hitl's tables come back once each, with no error, the
#    models predict the same, the worker of 18 retrains on new labels, naive
#    Bayes from scratch the first time ("fallback": "restored").
# 2. The same models made under hitl 0.1.0 on 15. pg_dump records no
#    extension version: the DBA creates hitl 0.1.0 in the new database,
#    restores the dump without its CREATE SCHEMA hitl (the extension made
#    it), and runs ALTER EXTENSION hitl UPDATE on 18; the models predict the
#    same, the worker retrains them on every label, and naive Bayes counts
#    what a full training counts.
# 3. That dump restored as it is into a new database: pg_restore creates hitl
#    at its default version, 0.2.0, and fills its tables with 0.1.0's rows,
#    so the update's carrying over of the models (sql/0.2.0/
#    80-existing-models.sql) never runs. The models predict, retrain and fall
#    back as in 1; what the update does to the models, hitl.upgrade_models()
#    does, run by the DBA once the restore is complete (superuser only):
#    then hitl.models, the label triggers and the review views are those of
#    the dump restored under 0.1.0 and updated, and drop_model drops the
#    review view.
#
# The two installs (each the parent of bin/ and lib/, hitl installed in
# both): HITL_OLD_INSTALL (15) and HITL_NEW_INSTALL (18), set by
# `bash test/run-tests.sh --across`. Run with 18's PostgreSQL::Test modules
# and test/t/lib on the include path.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use HitlDump qw(make_models model_state dump_restore check_restored check_worker_takes_over);

my ($old_install, $new_install) = @ENV{qw(HITL_OLD_INSTALL HITL_NEW_INSTALL)};
plan skip_all => 'HITL_OLD_INSTALL and HITL_NEW_INSTALL must name the 15 and 18 installs'
  unless $old_install && $new_install;

my $old = PostgreSQL::Test::Cluster->new('old', install_path => $old_install);
my $new = PostgreSQL::Test::Cluster->new('new', install_path => $new_install);
is($old->pg_version->major, '15', "the old server is 15 ($old_install)");
is($new->pg_version->major, '18', "the new server is 18 ($new_install)");
foreach my $node ($old, $new)
{
	$node->init;
	$node->append_conf('postgresql.conf', $HitlDump::NODE_CONF);
	$node->start;
}

# The node whose pg_dump dumps the old server: the new one's, unless its
# dump of a table of database db of the old server sets pg_attver.
sub dumper
{
	my ($db) = @_;
	my ($out, $err);
	IPC::Run::run([ $new->installed_command('pg_dump'), '--schema-only', '-t', 'public.nums',
			'-d', $old->connstr($db) ], '>', \$out, '2>', \$err)
	  or die "pg_dump --schema-only of the old server: $err";
	if ($out =~ /\bpg_attver=/)
	{
		note('the new pg_dump dumps the pg_attver column option of the old server, '
			  . 'which the new server refuses: the old server\'s pg_dump is used');
		return $old;
	}
	note('the new pg_dump is used');
	return $new;
}

sub extversion
{
	my ($db) = @_;
	return $new->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'hitl'});
}

# 1. the current version
$old->safe_psql('postgres', 'CREATE DATABASE src');
make_models($old, 'src');
my $before = model_state($old, 'src');
my $dumper = dumper('src');
$new->safe_psql('postgres', 'CREATE DATABASE dst');
dump_restore($dumper, $old, 'src', $new, 'dst', $new->basedir . '/src.dump');
check_restored($new, 'dst', $before);
check_worker_takes_over($new, 'dst');
is($old->safe_psql('src', q{SELECT current_version FROM hitl.models ORDER BY name}), "2\n2\n2",
	'the source database on 15 is untouched');

# 2. hitl 0.1.0: restored under 0.1.0, then updated
$old->safe_psql('postgres', 'CREATE DATABASE v010');
make_models($old, 'v010', '0.1.0');
$before = model_state($old, 'v010');
$new->safe_psql('postgres', 'CREATE DATABASE v010');
$new->safe_psql('v010', q{CREATE EXTENSION hitl VERSION '0.1.0'});
dump_restore($dumper, $old, 'v010', $new, 'v010', $new->basedir . '/v010.dump', qr/ SCHEMA - hitl /);
is(extversion('v010'), '0.1.0', 'restored under 0.1.0');
$new->safe_psql('v010', 'ALTER EXTENSION hitl UPDATE');
is(extversion('v010'), '0.2.0', 'updated to 0.2.0 on 18');
my $after = model_state($new, 'v010');
foreach my $k (sort keys %$before)
{
	is($after->{$k}, $before->{$k}, "restored under 0.1.0 and updated: same $k");
}
is($new->safe_psql('v010', q{SELECT string_agg(name || ':' || review_view, ',' ORDER BY name) FROM hitl.models}),
	'nb:public.nb_review_queue,num:public.num_review_queue,txt:public.txt_review_queue',
	'the update carried the models over (their review views)');
$new->safe_psql('v010', q{UPDATE docs SET topic = 'sport', topic2 = 'sport' WHERE id = 51;
	UPDATE nums SET label = 'high' WHERE id = 61});
foreach my $m (qw(num nb txt))
{
	is($new->safe_psql('v010', qq{SELECT hitl.wait('$m')}), '3', "the worker trains version 3 of $m");
}
is($new->safe_psql('v010', q{SELECT string_agg(model || ':' || n_labeled, ',' ORDER BY model)
		FROM hitl.model_versions WHERE version = 3}),
	'nb:46,num:61,txt:46', 'on every label, the new one included');
is($new->safe_psql('v010', q{SELECT count(*) FROM docs WHERE topic_prediction IS DISTINCT FROM hitl.predict('nb', docs)
		OR topic2_prediction IS DISTINCT FROM hitl.predict('txt', docs)}),
	'0', 'and rescored with them');
# No restore was recorded (0.1.0 had no hitl.restored_logs): naive Bayes may
# update incrementally, the restored log entries keeping their transaction
# ids of 15, consistent with the label snapshots of the restored versions.
my $nb_sums = q{SELECT class_counts, count_index, counts FROM hitl.model_versions WHERE model = 'nb' AND version = };
is($new->safe_psql('v010', q{SELECT hitl.train('nb')}), '4', 'a full training of naive Bayes');
is($new->safe_psql('v010', $nb_sums . '3'), $new->safe_psql('v010', $nb_sums . '4'),
	'counts the same rows per class and the same sums as version 3');

# 3. the 0.1.0 dump restored as it is (hitl 0.2.0 created by pg_restore)
$new->safe_psql('postgres', 'CREATE DATABASE v010_as_is');
dump_restore($dumper, $old, 'v010', $new, 'v010_as_is', $new->basedir . '/v010_as_is.dump');
is(extversion('v010_as_is'), '0.2.0', 'restored as it is: hitl 0.2.0');
check_restored($new, 'v010_as_is', $before);
check_worker_takes_over($new, 'v010_as_is');
my %carried = (
	models => q{SELECT name, owner, enabled, view_schema, view_name, review_view FROM hitl.models ORDER BY name},
	triggers => q{SELECT pg_get_triggerdef(oid) FROM pg_trigger
		WHERE tgrelid IN ('nums'::regclass, 'docs'::regclass) AND NOT tgisinternal ORDER BY tgname},
	views => q{SELECT c.relname, pg_get_viewdef(c.oid) FROM pg_class c
		WHERE c.relname ~ '^(nb|num|txt)_review_queue$' ORDER BY 1},
);
# what ALTER EXTENSION UPDATE does to the models, the DBA does once the
# restore is complete: hitl.upgrade_models()
is($new->safe_psql('v010_as_is', q{SELECT count(*) FROM hitl.models WHERE view_schema IS NULL}),
	'3', 'as it is: the three models are still in 0.1.0\'s form');
$new->safe_psql('v010_as_is', q{CREATE ROLE not_dba LOGIN});
my ($rc, $out, $err) = $new->psql('v010_as_is', q{SET ROLE not_dba; SELECT hitl.upgrade_models()});
like($err, qr/permission denied for function upgrade_models/, 'hitl.upgrade_models() is not for every role');
is($new->safe_psql('v010_as_is', q{SELECT hitl.upgrade_models()}), '3', 'hitl.upgrade_models() brings the three over');
is($new->safe_psql('v010_as_is', q{SELECT hitl.upgrade_models()}), '0', 'and, run again, nothing more');
foreach my $k (sort keys %carried)
{
	is($new->safe_psql('v010_as_is', $carried{$k}), $new->safe_psql('v010', $carried{$k}),
		"then the same $k as restored under 0.1.0 and updated");
}
my $num_log = q{SELECT count(*) FROM hitl.label_log WHERE model = 'num'};
my $logged = $new->safe_psql('v010_as_is', $num_log);
$new->safe_psql('v010_as_is',
	q{UPDATE nums SET label = CASE label WHEN 'high' THEN 'low' ELSE 'high' END WHERE id = 299});
is($new->safe_psql('v010_as_is', $num_log), $logged + 1, 'its label triggers log a label change once');
$new->safe_psql('v010_as_is', q{SELECT hitl.drop_model('num')});
is($new->safe_psql('v010_as_is', q{SELECT count(*) FROM pg_class WHERE relname = 'num_review_queue'}), '0',
	'drop_model drops the review view');

done_testing();
