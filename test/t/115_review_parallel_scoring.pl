# Parallel scoring (src/score_parallel.c), what a single session cannot
# show in pgTAP:
#
# - hitl.max_parallel_scoring may be set by anyone up to 1024: a scoring must
#   not size its shared memory (a 1 MB message queue per worker) and its
#   block ranges for more workers than max_parallel_workers can ever give
#   it.  The scoring's DEBUG1 line tells how many it planned.
# - A SERIALIZABLE scoring reads the whole table: as a sequential scan does,
#   it must hold a predicate lock on the table (TID range scans take none),
#   or a transaction that writes a row the scoring read is not seen as a
#   conflict.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('review_parallel_scoring');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'hitl'\nhitl.max_workers = 0\nmax_worker_processes = 16\nmax_parallel_workers = 3\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE ps');
$node->safe_psql('ps', 'CREATE EXTENSION hitl');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('ps', $query);
}

# 40,000 rows (about 250 blocks), a fifth labeled
sql(q{
CREATE TABLE t (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO t SELECT i, (i * 37 % 101) / 10.0, (i * 53 % 97) / 10.0,
	CASE WHEN i % 5 = 0 THEN CASE WHEN (i * 37 % 101) < 50 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 40000) i;
SELECT hitl.create_model('m', 't', 'lab', '{x,y}',
						 options => '{"cv_folds": 0, "score_tolerance": 0, "queue_size": 50}');
});

my $wrong_rows = q{
SELECT count(*) FROM t
WHERE t.lab_prediction IS DISTINCT FROM hitl.predict('m', t)
   OR abs(t.lab_confidence - (hitl.predict_proba('m', t) ->> hitl.predict('m', t))::float8) > 1e-9
};

# ------------------------------------------------------------------------
# hitl.max_parallel_scoring = 1024 plans no more than max_parallel_workers
# ------------------------------------------------------------------------

my ($out, $err) = ('', '');
$node->psql(
	'ps', q{
UPDATE t SET lab_prediction = NULL;
SET min_parallel_table_scan_size = 0;
SET hitl.max_parallel_scoring = 1024;
SET client_min_messages = debug1;
SELECT hitl.score('m');
},
	stdout => \$out,
	stderr => \$err,
	on_error_die => 1);
like($err, qr/scored by \d+ parallel workers beside its backend/, 'the scoring ran in parallel');
my ($planned, $range) = $err =~ /\((\d+) planned\), \d+ blocks in ranges of (\d+)/;
is($planned, 3, 'hitl.max_parallel_scoring = 1024 planned as many workers as max_parallel_workers');
cmp_ok($range, '>', 1, 'and ranges of more than a block each');
is(sql($wrong_rows), '0', 'every row scored');

# ------------------------------------------------------------------------
# SERIALIZABLE: the scan holds a predicate lock on the table
# ------------------------------------------------------------------------

# every score is in place: the scoring reads the table and writes nothing
# (the writes' own reads would lock what they read)
is( sql(q{
BEGIN ISOLATION LEVEL SERIALIZABLE;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL hitl.max_parallel_scoring = 2;
SELECT hitl.score('m');
SELECT count(*) FROM pg_locks
 WHERE mode = 'SIReadLock' AND locktype = 'relation' AND relation = 't'::regclass
   AND pid = pg_backend_pid();
COMMIT;
}), "0\n1", 'a serializable parallel scoring that writes nothing holds a predicate lock on its table');

# A write skew: the scoring reads row 7's features and writes the queue;
# another serializable transaction reads the queue as it was, then changes
# row 7's features.  Each read what the other wrote: one must fail.
my $scorer = $node->background_psql('ps', on_error_stop => 0);
$scorer->query_safe(q{
BEGIN ISOLATION LEVEL SERIALIZABLE;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL hitl.max_parallel_scoring = 2;
SELECT hitl.score('m');
});
my $other = $node->background_psql('ps', on_error_stop => 0);
$other->query_safe(q{
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT count(*) FROM hitl.queue WHERE model = 'm';
UPDATE t SET x = x + 1 WHERE id = 7;
});
# (stderr gathers what a session printed there, the errors included)
$other->query(q{COMMIT});
$scorer->query(q{COMMIT});
like($other->{stderr} . $scorer->{stderr}, qr/could not serialize access/,
	'a transaction that read the queue and changed a row the scoring read conflicts with it');
$scorer->quit;
$other->quit;

$node->stop;
done_testing();
