# The worker of a database works on its models one after the other, each
# as its owner: the triggers of a model's table run inside it when it
# writes scores.  A plain role whose trigger sleeps (or loops) held the
# database's worker, and no other role's model was retrained or rescored
# meanwhile.  Now each model's work has a budget, hitl.work_timeout (2 s
# here): past it the work is canceled and counts as the model's failure,
# retried with a back-off, while the other models go on.  The worker is
# seen inside the trigger through pg_stat_activity.  (A trigger that
# catches the cancel and goes on sleeping still holds the worker: known.)

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('review_worker_stall');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'hitl'\nhitl.naptime = 1\nhitl.work_timeout = '2s'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE ws');
$node->safe_psql('ws', 'CREATE EXTENSION hitl');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('ws', $query);
}

# a table and a model of a role
sub make_model
{
	my ($role, $model) = @_;
	sql(qq{
SET ROLE $role;
CREATE TABLE public.$model (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO public.$model
SELECT i, i % 7, (i * 13) % 11, CASE WHEN i <= 20 THEN CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 40) i;
SELECT hitl.create_model('$model', 'public.$model', 'lab', ARRAY['x', 'y'],
						 options => '{"cv_folds": 0}');
});
	return;
}

sql(q{
CREATE ROLE alice LOGIN;
CREATE ROLE mallory LOGIN;
GRANT CREATE ON SCHEMA public TO alice, mallory;
});
make_model('alice', 'am');
make_model('mallory', 'aa_mm');

# mallory's trigger sleeps, once, when his table's scores are written
sql(q{
SET ROLE mallory;
CREATE SEQUENCE public.once;
CREATE FUNCTION public.stall() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF nextval('public.once') = 1 THEN
		PERFORM pg_sleep(600);
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER stall AFTER UPDATE OF lab_confidence ON public.aa_mm
	FOR EACH STATEMENT EXECUTE FUNCTION public.stall();
UPDATE public.aa_mm SET lab = 'a' WHERE id = 21;
});
ok( $node->poll_query_until(
		'ws', q{SELECT EXISTS (SELECT 1 FROM pg_stat_activity
				WHERE backend_type = 'hitl worker' AND wait_event = 'PgSleep')}),
	'the worker sleeps in mallory\'s trigger');

sql(q{SET ROLE alice; UPDATE public.am SET lab = 'a' WHERE id = 21});
is(sql(q{SELECT hitl.wait('am', '120 s')}), '2', 'alice\'s model is retrained while mallory\'s trigger would sleep');
is(sql(q{SELECT scored_version FROM hitl.models WHERE name = 'am'}), '2', 'and scored');
ok( $node->poll_query_until(
		'ws', q{SELECT coalesce(last_error LIKE '%took longer than hitl.work_timeout%', false)
				FROM hitl.models WHERE name = 'aa_mm'}),
	'mallory\'s model failed: its work took longer than hitl.work_timeout');
# the trigger sleeps only once: the retry succeeds
is(sql(q{SELECT hitl.wait('aa_mm', '120 s')}), '2', 'mallory\'s model is rescored at its retry');
is(sql(q{SELECT status || '|' || failures FROM hitl.models WHERE name = 'aa_mm'}), 'scored|0',
	'and recovers');

$node->stop;
done_testing();
