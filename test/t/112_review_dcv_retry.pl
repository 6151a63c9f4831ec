# A deferred cross-validation that fails is done again.  The worker
# records a new version with its base's figures and "cv_pending", scores it,
# then cross-validates it.  When that cross-validation cannot take a lock it
# needs within the worker's lock_timeout (a user transaction holds
# hitl.oof_predictions), or when it is canceled, the model's work is tried
# again soon, and the retry cross-validates the pending version though
# nothing is left to rescore; a worker killed in it is replaced and does it.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/lib";
use HitlTest qw(worker_node three_class_table hold_oof_store signal_worker_on_oof poll_true);

my $node = worker_node('review_dcv_retry', 'shop');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('shop', $query);
}

my $waiting = q{SELECT EXISTS (SELECT FROM pg_locks l JOIN pg_stat_activity a USING (pid)
	WHERE a.backend_type = 'hitl worker' AND NOT l.granted
	  AND l.relation = 'hitl.oof_predictions'::regclass)};

# ---- 1. the cross-validation's lock wait times out
sql(three_class_table('t'));
sql(q{SELECT hitl.create_model('m', 't', 'lab', ARRAY['x1', 'x2'], options => '{"cv_folds": 5}')});

my $locker = hold_oof_store($node, 'shop');
sql(q{UPDATE t SET lab = 'a' WHERE id = 301});
is(sql(q{SELECT hitl.wait('m', '120 s')}), '2', 'the worker trains and scores version 2');
ok($node->poll_query_until('shop', $waiting), 'its cross-validation waits for the lock');
ok($node->poll_query_until('shop', "SELECT NOT ($waiting)"), 'and gives up after lock_timeout');
$locker->query_safe('COMMIT');
$locker->quit;

# the README: "retried after a second"; give it fifteen times that
ok(poll_true($node, 'shop', q{SELECT NOT (metrics ? 'cv_pending') FROM hitl.model_versions
	WHERE model = 'm' AND version = 2}, 75),
	'the worker cross-validates version 2 once the lock is gone');
is(sql(q{SELECT metrics ? 'accuracy_from' FROM hitl.model_versions WHERE model = 'm' AND version = 2}),
	'f', 'version 2 no longer shows version 1\'s figures');

# ---- 2. the cross-validation is canceled (pg_cancel_backend)
sql(three_class_table('u'));
sql(q{SELECT hitl.create_model('m2', 'u', 'lab', ARRAY['x1', 'x2'], options => '{"cv_folds": 5}')});
$locker = hold_oof_store($node, 'shop');
my $offset = -s $node->logfile;
sql(q{UPDATE u SET lab = 'a' WHERE id = 301});
is(sql(q{SELECT hitl.wait('m2', '120 s')}), '2', 'the worker trains and scores version 2 of m2');
# cancel the worker as soon as it waits in the cross-validation
is(sql(signal_worker_on_oof('pg_cancel_backend')), 'pg_cancel_backend', 'the worker is canceled in its cross-validation');
$locker->query_safe('COMMIT');
$locker->quit;
ok(poll_true($node, 'shop', q{SELECT NOT (metrics ? 'cv_pending') FROM hitl.model_versions
	WHERE model = 'm2' AND version = 2}, 75),
	'"it is done again in a moment": version 2 of m2 is cross-validated');
like(slurp_file($node->logfile, $offset), qr/work on model "m2" was canceled/,
	'(the log said it was canceled)');

# ---- 3. (holds) the worker is terminated in the cross-validation: the
# worker that replaces it looks at every model, rescores and cross-validates
sql(three_class_table('w'));
sql(q{SELECT hitl.create_model('m3', 'w', 'lab', ARRAY['x1', 'x2'], options => '{"cv_folds": 5}')});
$locker = hold_oof_store($node, 'shop');
sql(q{UPDATE w SET lab = 'a' WHERE id = 301});
is(sql(q{SELECT hitl.wait('m3', '120 s')}), '2', 'the worker trains and scores version 2 of m3');
is(sql(signal_worker_on_oof('pg_terminate_backend')), 'pg_terminate_backend', 'the worker is terminated in its cross-validation');
$locker->query_safe('COMMIT');
$locker->quit;
ok(poll_true($node, 'shop', q{SELECT NOT (metrics ? 'cv_pending') FROM hitl.model_versions
	WHERE model = 'm3' AND version = 2}, 75),
	'the next worker cross-validates version 2 of m3');

done_testing();
