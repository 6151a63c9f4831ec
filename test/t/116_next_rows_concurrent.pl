# Four annotators label at the same time through hitl.next_rows: each of
# four sessions, as a role of its own, asks for 10 rows 40 times and labels
# them, committing each batch, all four at once.  No row may be given to
# two annotators, none labeled twice, none lost; each batch is full while
# the queue has rows.  One more session holds a batch in an open
# transaction: the others pass over those rows once it commits.  A row an
# annotator is updating is passed over, not waited for.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('next_rows_concurrent');
$node->init;
$node->start;

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('postgres', $query);
}

# 5,000 rows, the first 200 labeled; a queue of 2,000 rows, not rescored
# (no worker: hitl is not preloaded)
sql(q{
CREATE EXTENSION hitl;
CREATE TABLE t (id int PRIMARY KEY, x float8, y float8, lab text, truth text);
INSERT INTO t SELECT i, i % 10 + (i % 7) / 10.0, (i * 3) % 11, NULL,
	CASE WHEN i % 10 < 5 THEN 'a' ELSE 'b' END
FROM generate_series(1, 5000) i;
UPDATE t SET lab = truth WHERE id <= 200;
SELECT hitl.create_model('m', 't', 'lab', ARRAY['x', 'y'], options => '{"queue_size": 2000}');
CREATE TABLE got (role name, row_key jsonb, batch int);
});
my @roles = map { "annotator$_" } 1 .. 4;
foreach my $r (@roles, 'holder')
{
	sql(qq{CREATE ROLE $r; GRANT SELECT, UPDATE (lab) ON t TO $r; GRANT INSERT, SELECT ON got TO $r});
}
cmp_ok(sql(q{SELECT count(*) FROM hitl.queue WHERE model = 'm'}), '>=', 1900, 'the queue holds about 2,000 rows');

# the holder takes 10 rows and keeps its transaction open
my $holder = $node->background_psql('postgres');
$holder->query_safe(q{SET ROLE holder});
$holder->query_safe(q{BEGIN});
$holder->query_safe(q{INSERT INTO got SELECT current_user, row_key, 0 FROM hitl.next_rows('m', 10)});

my $loop = q{
DO $$
BEGIN
	FOR i IN 1 .. 40 LOOP
		INSERT INTO got SELECT current_user, n.row_key, i FROM hitl.next_rows('m', 10) n;
		UPDATE t SET lab = t.truth
		FROM got g
		WHERE g.role = current_user AND g.batch = i AND g.row_key = jsonb_build_object('id', t.id);
		COMMIT;
	END LOOP;
END
$$;
};

# the four annotators start together; the first batch of each waits for
# the holder's rows (their reservations are not committed yet)
my @sessions;
foreach my $r (@roles)
{
	my $s = $node->background_psql('postgres');
	$s->query_safe(qq{SET ROLE $r});
	$s->query_until(qr/started/, "\\echo started\n$loop\n\\echo done\n");
	push @sessions, $s;
}
ok( $node->poll_query_until(
		'postgres', q{
SELECT count(*) >= 4 FROM pg_stat_activity
WHERE wait_event_type = 'Lock' AND query LIKE '%hitl.next_rows%'}),
	'the annotators wait for the rows the holder reserved');
$holder->query_safe(q{COMMIT});
$holder->quit;

$_->query_until(qr/done/, '') foreach @sessions;
$_->quit foreach @sessions;

is(sql(q{SELECT count(*) FROM got WHERE batch > 0}), '1600',
	'every batch of every annotator was full: 1,600 rows given');
is(sql(q{SELECT count(DISTINCT row_key) FROM got}), '1610', 'no row was given twice');
is( sql(
		q{SELECT count(*) FROM got g JOIN got h ON g.row_key = h.row_key AND g.role = 'holder'
		  WHERE h.role <> 'holder'}),
	'0', 'none of the holder\'s rows went to an annotator');
is( sql(
		q{SELECT count(*), count(DISTINCT row_key) FROM hitl.label_log
		  WHERE model = 'm' AND role LIKE 'annotator%'}),
	'1600|1600', 'each row given was labeled once, by the annotator it was given to');
is( sql(
		q{SELECT count(*) FROM hitl.label_log l JOIN got g ON g.row_key = l.row_key
		  WHERE l.model = 'm' AND l.role <> g.role}),
	'0', 'no label by another role');
is(sql(q{SELECT count(*) FROM t WHERE id > 200 AND lab IS NOT NULL}), '1600', 'no label lost');
is( sql(
		q{SELECT role, count(*) FROM hitl.reservations WHERE model = 'm' GROUP BY role ORDER BY role}),
	"annotator1|10\nannotator2|10\nannotator3|10\nannotator4|10\nholder|10",
	'each role holds its last batch');

# the holder's rows, unlabeled, come back to it first
is( sql(
		q{SET ROLE holder;
		  SELECT count(*) FROM hitl.next_rows('m', 10) n JOIN got g ON g.row_key = n.row_key AND g.role = 'holder'}),
	'10', 'the holder gets its own rows again');

# A row an annotator is updating is passed over, not waited for: with three
# answers per row, annotator1 answers the queue's second row in an open
# transaction; annotator2's call must not wait for it (waiting there, while
# holding the first row and the model's turn, deadlocked with annotator1's
# next UPDATE of the first row)
sql(q{SELECT hitl.alter_model('m', options => '{"annotators_per_row": 3}');
	  DELETE FROM hitl.reservations WHERE model = 'm'});
my ($r1, $r2) = split /\n/,
  sql(q{SELECT (q.row_key->>'id') FROM hitl.queue q JOIN t ON t.id = (q.row_key->>'id')::int
		WHERE q.model = 'm' AND t.lab IS NULL ORDER BY q.rank LIMIT 2});
my $answering = $node->background_psql('postgres');
$answering->query_safe(qq{SET ROLE annotator1; BEGIN; UPDATE t SET lab = truth WHERE id = $r2});
my $offered = $node->psql('postgres',
	q{SET lock_timeout = '10s'; SET ROLE annotator2;
	  SELECT string_agg(row_key->>'id', ',' ORDER BY rank) FROM hitl.next_rows('m', 3)},
	stdout => \my $got, stderr => \my $err);
is($offered, 0, 'a call while another annotator updates a row of the queue does not wait for it')
  or diag($err);
unlike(",$got,", qr/,$r2,/, 'and does not offer that row');
like(",$got,", qr/,$r1,/, 'the row before it is offered');
$answering->query_safe(qq{UPDATE t SET lab = truth WHERE id = $r1; COMMIT});
$answering->quit;
is( sql(qq{SELECT count(*) FROM hitl.answers WHERE model = 'm' AND row_key IN ('{"id": $r1}', '{"id": $r2}')}),
	'2', 'the answering session then answers the first row too, without a deadlock');

done_testing();
