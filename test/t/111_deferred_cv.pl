# The worker writes a new version's scores, and so the fresh review queue,
# before it cross-validates that version.  While another session holds the
# out-of-fold store locked (so that no cross-validation can finish), a label
# still reaches a fresh queue through hitl.wait: the version is recorded with
# its base's figures and "cv_pending".  Once the lock goes, the worker gives
# the version its own figures in place (the same as a training of the same
# rows cross-validating at once), its out-of-fold store and audit queue, and
# "cv_deferred_ms"; no version is added for it.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/lib";
use HitlTest qw(worker_node three_class_table hold_oof_store);

my $node = worker_node('deferred_cv', 'shop');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('shop', $query);
}

# three classes from a noisy rule; 300 labeled rows of 3,000
sql(three_class_table('t'));
sql(q{SELECT hitl.create_model('m', 't', 'lab', ARRAY['x1', 'x2'], options => '{"cv_folds": 5, "C": 0.01}')});
is(sql(q{SELECT current_version, scored_version FROM hitl.models WHERE name = 'm'}), '1|1',
	'create_model trains and scores version 1');
my $v1_acc = sql(q{SELECT metrics->>'cv_accuracy' FROM hitl.model_versions WHERE model = 'm' AND version = 1});
isnt($v1_acc, '', 'version 1 is cross-validated at once (it has no base)');

# no cross-validation can finish while the out-of-fold store is locked
# against writes (it is read all the same)
my $locker = hold_oof_store($node, 'shop');

my $top = sql(q{SELECT id FROM m_review_queue LIMIT 1});
sql(qq{UPDATE t SET lab = 'a' WHERE id = $top});
is(sql(q{SELECT hitl.wait('m', '120 s')}), '2',
	'hitl.wait returns version 2 while no cross-validation can finish');
is(sql(q{SELECT current_version, scored_version FROM hitl.models WHERE name = 'm'}), '2|2',
	'the table holds version 2\'s scores');
is(sql(qq{SELECT count(*) FROM m_review_queue WHERE id = $top}), '0',
	'the labeled row has left the fresh queue');
is( sql(
		q{SELECT metrics ? 'cv_pending', metrics->>'accuracy_from', metrics->>'cv_accuracy',
				 metrics ? 'cv_deferred_ms'
		  FROM hitl.model_versions WHERE model = 'm' AND version = 2}),
	"t|1|$v1_acc|f",
	'version 2 carries version 1\'s figures, with cv_pending, until its own come');
is(sql(q{SELECT DISTINCT version FROM hitl.oof_predictions WHERE model = 'm'}), '1',
	'the out-of-fold store still holds version 1\'s rows');

my ($ret, $out, $err) = $node->psql('shop', q{SELECT hitl.wait('m', '2 s', cross_validated => true)});
like($err, qr/ERROR:  timed out waiting for model "m"/,
	'hitl.wait(cross_validated => true) waits for the cross-validation');

# A cross-validation that moves the calibration rewrites the stored
# confidences in its own transaction: while this trigger makes that
# rewrite fail, the figures do not stay either, and no session ever sees
# version 2's new calibration beside confidences of the old one.  Once the
# trigger is gone, the worker's retry does both.
sql(q{CREATE FUNCTION no_writes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'no writes now'; END $$;
CREATE TRIGGER no_writes BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION no_writes()});
my $stale = q{
SELECT count(*) FROM t
WHERE t.lab_prediction IS DISTINCT FROM hitl.predict('m', t)
   OR abs(t.lab_confidence - (hitl.predict_proba('m', t) ->> hitl.predict('m', t))::float8)
	  > (SELECT (options->>'score_tolerance')::float8 FROM hitl.models WHERE name = 'm') + 1e-12};

# the lock goes: the worker cross-validates version 2
$locker->query_safe('COMMIT');
$locker->quit;
ok( $node->poll_query_until(
		'shop', q{SELECT last_error LIKE '%no writes now%' FROM hitl.models WHERE name = 'm'}),
	'the rewrite of the confidences after the cross-validation fails on the trigger');
is( sql(
		q{SELECT v.metrics ? 'cv_pending', m.scored_version
		  FROM hitl.model_versions v JOIN hitl.models m ON m.name = v.model
		  WHERE v.model = 'm' AND v.version = 2}),
	't|2', 'the cross-validation is taken back with it: version 2 is pending, and scored');
is(sql($stale), '0', 'the stored confidences are those of version 2 as it stands');
($ret, $out, $err) = $node->psql('shop', q{SELECT hitl.wait('m', '1 s', cross_validated => true)});
isnt($ret, 0, 'hitl.wait(cross_validated => true) does not return meanwhile');

sql(q{DROP TRIGGER no_writes ON t});
is(sql(q{SELECT hitl.wait('m', '120 s', cross_validated => true)}), '2',
	'hitl.wait(cross_validated => true) returns version 2 once it is cross-validated');
is( sql(
		q{SELECT m.status, m.scored_version,
				 (v2.metrics->'calibration'->>'temperature') IS DISTINCT FROM
				 (v1.metrics->'calibration'->>'temperature')
		  FROM hitl.models m, hitl.model_versions v1, hitl.model_versions v2
		  WHERE m.name = 'm' AND v1.model = 'm' AND v1.version = 1
			AND v2.model = 'm' AND v2.version = 2}),
	'scored|2|t', 'the retry moved the calibration temperature, and the model is scored with it');
is(sql($stale), '0', 'every stored confidence is the calibrated one of version 2');
is(sql(q{SELECT metrics ? 'cv_pending' FROM hitl.model_versions WHERE model = 'm' AND version = 2}), 'f',
	'the worker then cross-validated version 2');
is( sql(
		q{SELECT metrics ? 'accuracy_from', (metrics->>'cv_deferred_ms')::float8 >= 0,
				 (metrics->>'n_labeled')::int
		  FROM hitl.model_versions WHERE model = 'm' AND version = 2}),
	'f|t|301',
	'its figures are its own (no accuracy_from), with cv_deferred_ms');
is(sql(q{SELECT count(*) FROM hitl.model_versions WHERE model = 'm'}), '2',
	'no version is added for the cross-validation');
is( sql(
		q{SELECT version, count(*) FROM hitl.oof_predictions WHERE model = 'm' GROUP BY version}),
	'2|301', 'the out-of-fold store holds version 2\'s 301 rows');

# the same rows trained with the cross-validation at once give the same figures
sql(three_class_table('u'));
sql(qq{UPDATE u SET lab = 'a' WHERE id = $top});
sql(q{SELECT hitl.create_model('same', 'u', 'lab', ARRAY['x1', 'x2'], options => '{"cv_folds": 5, "C": 0.01}')});
my $figures = q{SELECT round((metrics->>'cv_accuracy')::numeric, 6), round((metrics->>'cv_log_loss')::numeric, 4),
		metrics->'confusion', metrics->'per_class'->'a'->'support', round((metrics->'calibration'->>'temperature')::numeric, 4)
	FROM hitl.model_versions WHERE model = '%s' AND version = %d};
is(sql(sprintf($figures, 'm', 2)), sql(sprintf($figures, 'same', 1)),
	'the deferred figures equal those of a training that cross-validates at once');
is( sql(
		q{SELECT count(*) FROM hitl.audit_queue WHERE model = 'm'}),
	sql(q{SELECT count(*) FROM hitl.audit_queue WHERE model = 'same'}),
	'and the audit queue holds as many suspects');

# nothing pending: hitl.train learns nothing new
is(sql(q{SELECT hitl.train('m')}), '2', 'hitl.train then keeps version 2');

done_testing();
