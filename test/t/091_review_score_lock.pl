# Scorings of one model are serialised by a transaction-level lock.  It was
# an advisory lock (class 0x6869746c, hashtext of the model's name) that any
# role could take with pg_advisory_lock(), and so stop every scoring of
# another role's model, its owner's hitl.score and the worker's alike.  It
# now lies where pg_advisory_lock() cannot reach (objsubid 3), and
# hitl._hold_scoring(), which takes it, is only for the roles that may
# change the model.  The owner's scoring is seen not waiting through
# pg_blocking_pids(), without any time limit.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('review_score_lock');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'hitl'\nhitl.naptime = 1\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE sl');
$node->safe_psql('sl', 'CREATE EXTENSION hitl');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('sl', $query);
}

sql(q{
CREATE ROLE alice LOGIN;
CREATE ROLE mallory LOGIN;
GRANT CREATE ON SCHEMA public TO alice;
SET ROLE alice;
CREATE TABLE public.t (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO public.t
SELECT i, i % 7, (i * 13) % 11, CASE WHEN i <= 20 THEN CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 40) i;
SELECT hitl.create_model('am', 'public.t', 'lab', ARRAY['x', 'y'], options => '{"cv_folds": 0}');
});
is(sql(q{SELECT scored_version FROM hitl.models WHERE name = 'am'}), '1', 'alice\'s model is scored');

# mallory, who cannot even read alice's table, takes the scoring lock
my $mallory = $node->background_psql('sl');
$mallory->query_safe(q{SET ROLE mallory});
my $mpid = $mallory->query_safe(q{SELECT pg_backend_pid()});
$mallory->query_safe(q{SELECT pg_advisory_lock(1751741548, hashtext('am'))});

# alice scores her model: it either finishes or waits for mallory
my $alice = $node->background_psql('sl', on_error_stop => 0);
$alice->query_safe(q{SET ROLE alice});
my $apid = $alice->query_safe(q{SELECT pg_backend_pid()});
$alice->query_until(qr/started/, "\\echo started\nSELECT hitl.score('am');\n\\echo finished\n");
ok( $node->poll_query_until(
		'sl', qq{SELECT $mpid = ANY (pg_blocking_pids($apid))
				 OR EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $apid AND state = 'idle'
							AND query LIKE '%hitl.score%')}),
	'alice\'s scoring finished or waits');
is(sql(qq{SELECT $mpid = ANY (pg_blocking_pids($apid))}), 'f',
	'alice\'s scoring does not wait for a lock mallory holds');

# the worker, woken by a label, waits as well
sql(q{SET ROLE alice; UPDATE public.t SET lab = 'a' WHERE id = 22});
ok( $node->poll_query_until(
		'sl', qq{SELECT EXISTS (SELECT 1 FROM pg_stat_activity a
				 WHERE a.backend_type = 'hitl worker' AND $mpid = ANY (pg_blocking_pids(a.pid)))
				 OR (SELECT scored_version = 2 FROM hitl.models WHERE name = 'am')}),
	'the worker scored the model or waits');
is( sql(qq{SELECT count(*) FROM pg_stat_activity a
		 WHERE a.backend_type = 'hitl worker' AND $mpid = ANY (pg_blocking_pids(a.pid))}),
	'0', 'the worker does not wait for a lock mallory holds');
is(sql(q{SELECT hitl.wait('am', '120 s')}), '2', 'the worker scores version 2 while mallory holds his lock');

# nor can mallory take the scoring's own lock
my ($ret, $out, $err) = $node->psql('sl', q{SET ROLE mallory; SELECT hitl._hold_scoring('am')});
like($err, qr/permission denied for model "am"/, 'mallory cannot hold off the scorings of alice\'s model');
is($node->safe_psql('sl', q{SET ROLE alice; BEGIN; SELECT hitl._hold_scoring('am'); COMMIT}), '',
	'alice can');

# legitimate use once mallory lets go
$mallory->query_safe(q{SELECT pg_advisory_unlock_all()});
$mallory->quit;
$alice->query_until(qr/finished/, '');
$alice->quit;
is(sql(q{SELECT scored_version FROM hitl.models WHERE name = 'am'}), '2', 'the model is scored');

$node->stop;
done_testing();
