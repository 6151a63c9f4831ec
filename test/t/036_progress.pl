# hitl.progress shows, from any session, the trainings and scorings under
# way: a user's hitl.score and the worker's alike, with their phase, rows
# done and total, start and pid.  A finished or cancelled scoring leaves no
# row, and a role that cannot see the model sees no row for it.
#
# A statement-level BEFORE UPDATE trigger on the table sleeps a little per
# UPDATE, i.e. per batch of scores written, so that each scoring lasts a
# few seconds; no assertion depends on how long.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('progress');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'hitl'\nhitl.naptime = 1\nhitl.enabled = off\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE pr');
$node->safe_psql('pr', 'CREATE EXTENSION hitl');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('pr', $query);
}

sql(q{
CREATE ROLE alice LOGIN;
CREATE ROLE mallory LOGIN;
GRANT CREATE ON SCHEMA public TO alice;
SET ROLE alice;
CREATE TABLE public.t (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO public.t
SELECT i, i % 10 + (i % 7) / 10.0, (i * 3) % 11,
	   CASE WHEN i <= 200 THEN CASE WHEN i % 10 < 5 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 3000) i;
ANALYZE public.t;
SELECT hitl.create_model('pm', 'public.t', 'lab', ARRAY['x', 'y'],
						 options => '{"cv_folds": 0, "batch_size": 100}');
CREATE TABLE public.ctl (pause float8);
INSERT INTO public.ctl VALUES (0);
CREATE FUNCTION public.slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_sleep((SELECT pause FROM public.ctl));
	RETURN NULL;
END $$;
CREATE TRIGGER slow BEFORE UPDATE ON public.t
	FOR EACH STATEMENT EXECUTE FUNCTION public.slow();
});
is(sql(q{SELECT status FROM hitl.models WHERE name = 'pm'}), 'scored', 'the model is scored');
is(sql(q{SELECT count(*) FROM hitl.progress}), '0', 'no work under way: the view is empty');

# Make every row's scores stale, so that a scoring writes them all, slowly
sub stale_scores
{
	sql(q{SET ROLE alice;
UPDATE public.ctl SET pause = 0;
UPDATE public.t SET lab_prediction = NULL, lab_confidence = NULL, lab_uncertainty = NULL;
UPDATE public.ctl SET pause = 0.2;});
}

# Poll hitl.progress until it shows a row for pm from pid; returns the row
sub progress_of
{
	my ($pid, $role) = @_;
	my $set = $role ? "SET ROLE $role;" : '';
	$node->poll_query_until('pr',
		qq{$set SELECT count(*) = 1 FROM hitl.progress WHERE model = 'pm' AND pid = $pid})
	  or return '';
	return sql(qq{$set SELECT phase, rows_done >= 0, rows_done <= rows_total, rows_total > 0,
				  started_at <= now(), pid = $pid
				  FROM hitl.progress WHERE model = 'pm'});
}

# 1. A user's hitl.score, seen from another session
stale_scores();
my $bg = $node->background_psql('pr', on_error_stop => 0);
$bg->query_safe(q{SET ROLE alice});
my $bgpid = $bg->query_safe(q{SELECT pg_backend_pid()});
$bg->query_until(qr/started/, "\\echo started\nSELECT hitl.score('pm');\n\\echo finished\n");
my $row = progress_of($bgpid);
like($row, qr/^(scoring|writing)\|t\|t\|t\|t\|t$/,
	'a user\'s scoring shows: phase scoring or writing, 0 <= rows_done <= rows_total, rows_total > 0, started_at <= now(), its pid');
$node->poll_query_until('pr', qq{SELECT phase = 'writing' AND rows_done > 0
							   FROM hitl.progress WHERE pid = $bgpid})
  or diag('the writing phase was not seen');
like(sql(qq{SELECT phase || ' ' || rows_total FROM hitl.progress WHERE pid = $bgpid}),
	qr/^(writing 3000)?$/, 'writing: rows_total is the number of rows to write');

# mallory sees the table of functions, not alice's model
is($node->safe_psql('pr', q{SET ROLE mallory; SELECT count(*) FROM hitl.progress}),
	'0', 'a role that cannot see the model sees no row');
is($node->safe_psql('pr', q{SET ROLE mallory; SELECT count(*) FROM hitl._progress()}),
	'0', 'nor through hitl._progress()');
is($node->safe_psql('pr', q{SET ROLE mallory; SELECT count(*) FROM hitl.models}),
	'0', '(mallory does not see the model)');

$bg->query_until(qr/finished/, '');
ok($node->poll_query_until('pr', q{SELECT count(*) = 0 FROM hitl.progress}),
	'after the scoring the view has no row');
is(sql(q{SELECT count(*) FROM hitl._progress()}), '0', 'and no slot is left in use');
is(sql(q{SELECT count(*) FROM public.t WHERE lab_prediction IS NULL}), '0',
	'the scoring wrote every row');

# 2. A scoring cancelled mid-way leaves no row
stale_scores();
$bg->query_until(qr/started/, "\\echo started\nSELECT hitl.score('pm');\n\\echo finished\n");
$row = progress_of($bgpid);
like($row, qr/^(scoring|writing)\|t\|t\|t\|t\|t$/, 'the second scoring shows');
sql(qq{SELECT pg_cancel_backend($bgpid)});
$bg->query_until(qr/finished/, '');
like($bg->{stderr}, qr/canceling statement due to user request/, 'the scoring was cancelled');
is(sql(q{SELECT count(*) FROM hitl.progress}), '0', 'after the cancel the view has no row');
is(sql(q{SELECT count(*) FROM hitl._progress()}), '0', 'and no slot is left in use');
$bg->{stderr} = '';
is($bg->query_safe(q{SELECT count(*) FROM hitl.progress}), '0',
	'nor does the cancelled session see one of its own');
$bg->quit;

# 3. The worker's scoring, with its pid
# (the worker rescores after a new label: a new version moves every score)
sql(q{ALTER SYSTEM SET hitl.enabled = on; SELECT pg_reload_conf();});
stale_scores();
sql(q{SET ROLE alice; UPDATE public.ctl SET pause = 0; UPDATE public.t SET lab = 'a' WHERE id = 201;
UPDATE public.ctl SET pause = 0.2;});
my $worker_pid;
ok( $node->poll_query_until('pr',
		q{SELECT count(*) = 1 FROM hitl.progress p JOIN pg_stat_activity a ON a.pid = p.pid
		  WHERE a.backend_type = 'hitl worker' AND p.model = 'pm'}),
	'the worker\'s scoring shows');
$worker_pid = sql(q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'hitl worker'});
$row = progress_of($worker_pid);
like($row, qr/^(reading|training|scoring|writing)\|t\|t\|t\|t\|t$/,
	'the worker\'s row: its phase, 0 <= rows_done <= rows_total, rows_total > 0, started_at <= now(), the worker\'s pid');
is($node->safe_psql('pr', q{SET ROLE mallory; SELECT count(*) FROM hitl.progress}),
	'0', 'mallory does not see the worker\'s work on alice\'s model');
is($node->safe_psql('pr', q{SET ROLE mallory; SELECT count(*) FROM hitl._progress()}),
	'0', 'nor through hitl._progress()');
is(sql(q{SELECT hitl.wait('pm', '180 s')}), '2', 'the worker trains and scores version 2');
is(sql(q{SELECT count(*) FROM public.t WHERE lab_prediction IS NULL}), '0',
	'the worker wrote every row');
ok($node->poll_query_until('pr', q{SELECT count(*) = 0 FROM hitl.progress}),
	'after the worker\'s scoring the view has no row');
is(sql(q{SELECT count(*) FROM hitl._progress()}), '0', 'and no slot is left in use');

$node->stop;
done_testing();
