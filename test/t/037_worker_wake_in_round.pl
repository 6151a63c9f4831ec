# A label committed while the worker is in a round is not lost, even when
# something in the round waits on the worker's latch and resets it (a lock
# wait, a condition variable, pg_sleep in a trigger of the model's table).
#
# The table has a statement trigger that sleeps in the first batch of the
# worker's scoring
# (pg_sleep waits on the latch, and resets it when woken).  A label
# committed during that sleep wakes the worker: its flag stays in the slot,
# but the latch it set is taken by pg_sleep.  The worker must still see it
# after the round and retrain, well before hitl.naptime (300 s).  A worker
# that sleeps after its round without taking its wake-ups again leaves the
# label untrained until then, and hitl.wait below times out.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/lib";
use HitlTest qw(worker_node);

my $node = worker_node('worker_wake_in_round', 'shop');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('shop', $query);
}

sql(q{
CREATE TABLE t (id int PRIMARY KEY, x float8, lab text);
INSERT INTO t SELECT i, i % 10, CASE WHEN i <= 60 THEN CASE WHEN i % 10 < 5 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 2000) i;
SELECT hitl.create_model('m', 't', 'lab', ARRAY['x'], options => '{"cv_folds": 0, "score_tolerance": 0, "batch_size": 100}');
CREATE TABLE nap (armed bool NOT NULL);
INSERT INTO nap VALUES (false);
CREATE FUNCTION nap_in_worker() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT FROM pg_stat_activity
			   WHERE pid = pg_backend_pid() AND backend_type = 'hitl worker')
	   AND (SELECT armed FROM public.nap) THEN
		UPDATE public.nap SET armed = false;
		PERFORM pg_sleep(3);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER nap_in_worker AFTER UPDATE ON t
	FOR EACH STATEMENT EXECUTE FUNCTION nap_in_worker();
});
is(sql(q{SELECT current_version FROM hitl.models WHERE name = 'm'}), '1', 'model m has version 1');

# a label: the worker trains version 2 and scores it, sleeping in the trigger
sql(q{UPDATE nap SET armed = true});
sql(q{UPDATE t SET lab = 'a' WHERE id = 61});
ok( $node->poll_query_until(
		'shop',
		q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND wait_event = 'PgSleep'}),
	'the worker sleeps in the trigger during its scoring');

# another label while it sleeps (row 1, labeled long ago, is not among the
# first batch's rows, which are the queue's): its wake sets the latch that
# pg_sleep resets
sql(q{UPDATE t SET lab = 'b' WHERE id = 1});
is(sql(q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND wait_event = 'PgSleep'}),
	'1', 'the second label was committed while the worker slept');

my ($ret, $out, $err) = $node->psql('shop', q{SELECT hitl.wait('m', '60 s')});
is($err, '', 'hitl.wait returns without an error (no timeout)');
is($out, '3', 'the worker trained version 3 after its round');
is(sql(q{SELECT n_labeled FROM hitl.model_versions WHERE model = 'm' AND version = 3}),
	'61', 'version 3 is trained on 61 labels');
is(sql(q{SELECT count(*) FROM hitl.label_log WHERE model = 'm' AND new_label = 'b' AND row_key->>'id' = '1'}),
	'1', 'the second label is in the label log');
is(sql(q{SELECT processed_labels = (SELECT count(*) FROM hitl.label_log WHERE model = 'm') FROM hitl.models WHERE name = 'm'}),
	't', 'every label log entry is processed');

# nothing per round is left behind: the worker sleeps when there is nothing to do
ok( $node->poll_query_until(
		'shop',
		q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND wait_event = 'Extension'}),
	'then the worker sleeps, waiting for work');
my $c1 = sql(q{SELECT xact_commit FROM pg_stat_database WHERE datname = 'shop'});
sleep(2);
my $c2 = sql(q{SELECT xact_commit FROM pg_stat_database WHERE datname = 'shop'});
cmp_ok($c2 - $c1, '<', 20, 'and runs no round meanwhile (no loop of wake-ups)');

done_testing();
