# pg_dump / pg_restore of a database with three models (numeric logistic,
# text naive Bayes, text logistic), their versions, queue and label log, into
# a new database of the same cluster, whose worker then takes over: hitl's
# tables come back once each (no error, no duplicate), the models predict
# the same, and the worker retrains on new labels; the naive Bayes model
# cannot update incrementally across the restore (its restored log entries
# are not to be applied again) and trains from scratch, its version saying
# why (metrics "fallback": "restored"). test/across/ does the same from one
# server to another; test/t/lib/HitlDump.pm holds what both do.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use HitlDump qw(make_models model_state dump_restore check_restored check_worker_takes_over);

my $node = PostgreSQL::Test::Cluster->new('dump_restore_worker');
$node->init;
$node->append_conf('postgresql.conf', $HitlDump::NODE_CONF);
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE src');
make_models($node, 'src');
my $before = model_state($node, 'src');

$node->safe_psql('postgres', 'CREATE DATABASE dst');
dump_restore($node, $node, 'src', $node, 'dst', $node->basedir . '/src.dump');
check_restored($node, 'dst', $before);

# the worker of the new database takes over
check_worker_takes_over($node, 'dst');
is($node->safe_psql('src', q{SELECT current_version FROM hitl.models ORDER BY name}), "2\n2\n2",
	'the source database is untouched');

done_testing();
