# The worker refits the consensus of a model with several annotators per
# row when answers come, and writes the labels the fit changes: one
# reliable annotator outvoted by two unreliable ones who agree on a wrong
# label (ids 0 modulo 5) gets the row by Dawid-Skene, once the fit has
# seen 20 rows with three answers; the model is trained on the corrected
# labels.  The worker refits again once the new answers reach 1/20 of
# those the fit saw.  A new option consensus ('majority') is applied by
# the worker's next pass, without a call.  The worker has a long naptime:
# what happens below happens because the answers and the option change
# woke it.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('consensus_worker');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'hitl'\nhitl.naptime = 300\n");
$node->start;

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('postgres', $query);
}

sql(q{
CREATE EXTENSION hitl;
CREATE TABLE t (id int PRIMARY KEY, x float8, y float8, lab text, truth text);
INSERT INTO t SELECT i, i % 3 + (i % 7) / 10.0, (i * 3) % 11, NULL, (ARRAY['a', 'b', 'c'])[1 + i % 3]
FROM generate_series(1, 2000) i;
CREATE FUNCTION next_class(label text) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$ SELECT CASE label WHEN 'a' THEN 'b' WHEN 'b' THEN 'c' ELSE 'a' END $$;
SELECT hitl.create_model('m', 't', 'lab', ARRAY['x', 'y'],
						 options => '{"evaluation_rate": 0, "annotators_per_row": 3, "cv_folds": 0}');
CREATE ROLE c1;
CREATE ROLE c2;
CREATE ROLE c3;
GRANT SELECT, UPDATE (lab) ON t TO c1, c2, c3;
});

# three transactions, one per role, on rows 1 to 60
sql(q{
SET ROLE c1;
UPDATE t SET lab = truth WHERE id <= 60;
SET ROLE c2;
UPDATE t SET lab = CASE WHEN id % 5 IN (0, 1) THEN next_class(truth) ELSE truth END WHERE id <= 60;
SET ROLE c3;
UPDATE t SET lab = CASE WHEN id % 5 IN (0, 2) THEN next_class(truth) ELSE truth END WHERE id <= 60;
});

my $fitted = q{SELECT f.last_answer = (SELECT max(id) FROM hitl.answer_log WHERE model = 'm')
			   FROM hitl.consensus_fits f WHERE f.model = 'm'};
ok($node->poll_query_until('postgres', $fitted), 'the worker refits the consensus after the answers');
is( sql(q{SELECT rows, full_rows, answers, classes, roles FROM hitl.consensus_fits WHERE model = 'm'}),
	'60|60|180|{a,b,c}|{c1,c2,c3}', 'the fit: 60 rows, 180 answers, three classes and roles');
is(sql(q{SELECT count(*) FROM t WHERE id <= 60 AND lab = truth}),
	'60', 'every answered row holds the reliable annotator\'s label');
is( sql(q{SELECT count(*), min(role) FROM hitl.label_log WHERE model = 'm' AND row_key IN
		  (SELECT jsonb_build_object('id', id) FROM t WHERE id <= 60 AND id % 5 = 0)
		  AND new_label = (SELECT truth FROM t WHERE jsonb_build_object('id', t.id) = row_key)}),
	'12|' . sql(q{SELECT current_user}),
	'the 12 corrections are in the label log, by the model\'s owner');
is(sql(q{SELECT count(*) FROM hitl.consensus WHERE model = 'm' AND method = 'dawid_skene'}),
	'60', 'hitl.consensus: 60 rows by Dawid-Skene');

# the model trains on the corrected labels
sql(q{SELECT hitl.wait('m', timeout => '120 s')});
ok( $node->poll_query_until(
		'postgres',
		q{SELECT v.n_labeled = 60 FROM hitl.model_versions v JOIN hitl.models m
		  ON m.name = v.model AND v.version = m.current_version WHERE m.name = 'm'}),
	'the current version is trained on the 60 consensus labels');

# a refit waits for new answers worth 1/20 of those the fit saw (180 / 20 =
# 9): three answers on row 61 are decided by the trigger under the fit
my $answer = q{
SET ROLE c1;
UPDATE t SET lab = truth WHERE id BETWEEN %1$d AND %2$d;
SET ROLE c2;
UPDATE t SET lab = truth WHERE id BETWEEN %1$d AND %2$d;
SET ROLE c3;
UPDATE t SET lab = truth WHERE id BETWEEN %1$d AND %2$d;
};
my $last = sql(q{SELECT last_answer FROM hitl.consensus_fits WHERE model = 'm'});
sql(sprintf($answer, 61, 61));
sql(q{SELECT hitl.wait('m', timeout => '120 s')});
is(sql(q{SELECT last_answer FROM hitl.consensus_fits WHERE model = 'm'}),
	$last, 'three new answers: no refit');
is( sql(q{SELECT t.lab = t.truth AND c.method = 'dawid_skene' FROM t, hitl.consensus c
		  WHERE t.id = 61 AND c.model = 'm' AND c.row_key = '{"id": 61}'}),
	't', 'row 61 is decided by the trigger under the fit');
sql(sprintf($answer, 62, 63));
ok($node->poll_query_until('postgres', $fitted), 'nine answers in all: the worker refits');
is(sql(q{SELECT answers FROM hitl.consensus_fits WHERE model = 'm'}), '189', 'on 189 answers');

# a new rule of consensus: applied by the worker, woken by alter_model
sql(q{SELECT hitl.alter_model('m', options => '{"consensus": "majority"}')});
ok( $node->poll_query_until(
		'postgres',
		q{SELECT cardinality(f.classes) = 0 FROM hitl.consensus_fits f WHERE f.model = 'm'}),
	'the worker applies consensus = majority');
is(sql(q{SELECT count(*) FROM t WHERE id <= 63 AND lab = truth}),
	'51', 'majority vote: the 12 outvoted rows take the two annotators\' label');
is(sql(q{SELECT count(*) FROM hitl.consensus WHERE model = 'm' AND method = 'majority'}),
	'63', 'hitl.consensus: 63 rows by majority');

my $log = slurp_file($node->logfile);
unlike($log, qr/ERROR|PANIC|TRAP/, 'no error in the server log');

done_testing();
