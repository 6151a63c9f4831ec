# A model disabled with hitl.alter_model(..., enabled => false) is left
# alone by the worker: its labels are logged but not trained on, while the
# other models of the database go on; enabled again, it is trained on every
# label written meanwhile.  Disabling needs the right to change the model.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('worker_disabled');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'hitl'\nhitl.naptime = 300\nhitl.retrain_delay = 0\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION hitl');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('postgres', $query);
}

foreach my $name ('on_m', 'off_m')
{
	sql(qq{
CREATE TABLE t_$name (id int PRIMARY KEY, x float8, lab text);
INSERT INTO t_$name SELECT i, i % 10, CASE WHEN i <= 40 THEN CASE WHEN i % 10 < 5 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 200) i;
SELECT hitl.create_model('$name', 't_$name', 'lab', ARRAY['x']);
});
}

# a role with nothing cannot disable a model
sql(q{CREATE ROLE nobody LOGIN});
my ($ret, $out, $err) = $node->psql('postgres',
	q{SET ROLE nobody; SELECT hitl.alter_model('off_m', enabled => false)});
like($err, qr/permission denied/, 'a role with no privilege cannot disable a model');

sql(q{SELECT hitl.alter_model('off_m', enabled => false)});
is(sql(q{SELECT enabled FROM hitl.models WHERE name = 'off_m'}), 'f', 'off_m is disabled');

sql(q{UPDATE t_off_m SET lab = 'a' WHERE id = 41; UPDATE t_on_m SET lab = 'a' WHERE id = 41});
is(sql(q{SELECT hitl.wait('on_m')}), '2', 'the enabled model is retrained on the new label');
is(sql(q{SELECT processed_labels FROM hitl.models WHERE name = 'on_m'}), '1',
	'its log entry is processed');
is(sql(q{SELECT current_version, processed_labels FROM hitl.models WHERE name = 'off_m'}),
	'1|0', 'the disabled model is not retrained, its new label not processed');
is(sql(q{SELECT count(*) FROM hitl.label_log WHERE model = 'off_m' AND (row_key->>'id')::int = 41}),
	'1', 'but its label is logged');
is(sql(q{SELECT hitl.train('off_m')}), '2', 'hitl.train still trains a disabled model');
sql(q{UPDATE t_off_m SET lab = 'b' WHERE id = 42});

sql(q{SELECT hitl.alter_model('off_m', enabled => true)});
is(sql(q{SELECT hitl.wait('off_m')}), '3', 'enabled again, it is trained on the labels written meanwhile');
is(sql(q{SELECT processed_labels FROM hitl.models WHERE name = 'off_m'}), '2',
	'and every log entry is processed');

$node->stop;
done_testing();
