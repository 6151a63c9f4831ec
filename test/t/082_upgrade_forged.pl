# What 0.1.0 let any role write into hitl.models cannot be turned against
# another role when a superuser brings the models over (ALTER EXTENSION
# hitl UPDATE, or hitl.upgrade_models() after a 0.1.0 dump was restored):
#
# 1. a forged model row whose review view name is another role's view: the
#    view is left alone (not replaced by a view over that role's table,
#    readable as before by whoever it was granted to);
# 2. a forged model whose label triggers would have the names of another
#    model's (a model name equal to the md5 of a long name): the other
#    model's triggers are left alone, and its labels are still logged;
# 3. a view built by a user on a review view: the update still commits
#    (revoking 0.1.0's grants), leaving that model as it was with a
#    WARNING; hitl.upgrade_models() then replaces its review view in
#    place, and the user's view goes on working.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade_forged');
$node->init;
$node->append_conf('postgresql.conf', "hitl.naptime = 300\n");
$node->start;

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('postgres', $query);
}

my $victim = 'bobs_model_with_a_name_over_forty_six_bytes_xyz';
sql(q{CREATE EXTENSION hitl VERSION '0.1.0'});
sql(qq{
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
CREATE SCHEMA b AUTHORIZATION bob;
GRANT USAGE ON SCHEMA b TO alice;
CREATE SCHEMA a AUTHORIZATION alice;
SET ROLE bob;
CREATE TABLE b.bt (id int PRIMARY KEY, secret float8, label text);
INSERT INTO b.bt SELECT g, g, CASE WHEN g <= 20 THEN (ARRAY['p', 'q'])[1 + g % 2] END FROM generate_series(1, 50) g;
GRANT SELECT (id), UPDATE ON b.bt TO alice;
CREATE VIEW b.x_review_queue AS SELECT 'nothing to see'::text AS note;
GRANT SELECT ON b.x_review_queue TO PUBLIC;
CREATE TABLE b.bt2 (id int PRIMARY KEY, x float8, label text);
INSERT INTO b.bt2 SELECT g, g % 10, CASE WHEN g <= 20 THEN CASE WHEN g % 10 < 5 THEN 'lo' ELSE 'hi' END END
FROM generate_series(1, 60) g;
SELECT hitl.create_model('$victim', 'b.bt2', 'label', ARRAY['x']);
GRANT SELECT, UPDATE ON b.bt2 TO alice;
RESET ROLE;
SET ROLE alice;
CREATE TABLE a.t3 (id int PRIMARY KEY, x float8, label text);
INSERT INTO a.t3 SELECT g, g % 10, CASE WHEN g <= 20 THEN CASE WHEN g % 10 < 5 THEN 'lo' ELSE 'hi' END END
FROM generate_series(1, 60) g;
SELECT hitl.create_model('m3', 'a.t3', 'label', ARRAY['x']);
CREATE VIEW a.my_dashboard AS SELECT id, rank FROM a.m3_review_queue;
});
my $bobs_view = sql(q{SELECT pg_get_viewdef('b.x_review_queue'::regclass)});

# 0.1.0 lets alice write hitl.models and hitl.queue: two forged models
my ($rc, $out, $err) = $node->psql('postgres', qq{
SET ROLE alice;
INSERT INTO hitl.models (name, source, label_column, feature_columns, key_columns, prediction_column,
	confidence_column, uncertainty_column, review_view, owner)
VALUES ('x', 'b.bt', 'label', '{secret}', '{id}', 'p', 'c', 'u', 'whatever', 'alice'),
	   (md5('$victim'), 'b.bt2', 'label', '{x}', '{id}', 'p2', 'c2', 'u2', 'whatever', 'alice');
INSERT INTO hitl.queue (model, row_key, prediction, confidence, uncertainty, rank, version)
SELECT 'x', jsonb_build_object('id', g), 'p', 0.5, 0.5, g, 1 FROM generate_series(1, 5) g;
});
is($rc, 0, 'under 0.1.0, alice writes two forged model rows') or diag($err);

($rc, $out, $err) = $node->psql('postgres', q{ALTER EXTENSION hitl UPDATE});
is($rc, 0, 'ALTER EXTENSION hitl UPDATE commits') or diag($err);
is(sql(q{SELECT extversion FROM pg_extension WHERE extname = 'hitl'}), '0.2.0', 'hitl is at 0.2.0');
is(sql(q{SELECT has_table_privilege('alice', 'hitl.models', 'INSERT')}), 'f',
	'and alice may no longer write hitl.models');
like($err, qr/WARNING:  hitl model "x" was left in its 0\.1\.0 form: b\.x_review_queue is not its review view/,
	'1. the forged model x is left alone, with a WARNING');
is(sql(q{SELECT pg_get_viewdef('b.x_review_queue'::regclass)}), $bobs_view, "bob's view is unchanged");
is(sql(q{SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'b.x_review_queue'::regclass}), 'bob',
	'and still his');
is($node->safe_psql('postgres', q{SET ROLE alice; SELECT * FROM b.x_review_queue}), 'nothing to see',
	'alice reads through it what bob put there, not his table');

my $log = qq{SELECT count(*) FROM hitl.label_log WHERE model = '$victim'};
my $before = sql($log);
$node->safe_psql('postgres', q{SET ROLE bob; UPDATE b.bt2 SET label = 'hi' WHERE id = 30});
is(sql($log), $before + 1, "2. bob's model still logs his labels: its triggers were left to it");
is( sql(
		qq{SELECT count(*) FROM pg_trigger WHERE tgrelid = 'b.bt2'::regclass
		   AND tgargs = convert_to('$victim', 'UTF8') || '\\x00'::bytea}),
	'5', 'its five label triggers are there');

like($err, qr/WARNING:  hitl model "m3" could not be brought to this version: .*depend/,
	'3. the model whose review view a user view is built on stays as it was, with a WARNING');
is(sql(q{SELECT view_schema IS NULL FROM hitl.models WHERE name = 'm3'}), 't', 'in its 0.1.0 form');
is(sql(q{SELECT hitl.upgrade_models()}), '1', 'hitl.upgrade_models() then brings it over');
is(sql(q{SELECT view_schema || '.' || view_name FROM hitl.models WHERE name = 'm3'}), 'a.m3_review_queue',
	'its review view is recorded');
is($node->safe_psql('postgres', q{SET ROLE alice; SELECT count(*) > 0 FROM a.my_dashboard}), 't',
	"alice's view on it goes on working");
is(sql(q{SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'a.m3_review_queue'::regclass}), 'alice',
	'the review view keeps its owner');
is(sql(q{SELECT hitl.upgrade_models()}), '0', 'run again, nothing is left but the forged x, left alone again');

done_testing();
