# Four annotators, three answers per row, at the same time: four sessions,
# each as a role of its own, take 25 rows at a time through hitl.next_rows
# and answer them (each role errs on some rows of its own), committing each
# batch, until no row is left for them.  Every row of the review queue must
# end with exactly three answers, none given to a fourth annotator, no
# answer lost, and its label the majority of its answers or, on a tie,
# nothing, the row then in the adjudication view.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('annotators_concurrent');
$node->init;
$node->start;

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('postgres', $query);
}

# 5,000 rows, the first 150 labeled, three classes; a queue of all 4,850 others,
# not rescored (no worker: hitl is not preloaded)
sql(q{
CREATE EXTENSION hitl;
CREATE TABLE t (id int PRIMARY KEY, x float8, y float8, lab text, truth text);
INSERT INTO t SELECT i, i % 10 + (i % 7) / 10.0, (i * 3) % 11, NULL, (ARRAY['a', 'b', 'c'])[1 + i % 3]
FROM generate_series(1, 5000) i;
UPDATE t SET lab = truth WHERE id <= 150;
SELECT hitl.create_model('m', 't', 'lab', ARRAY['x', 'y'],
						 options => '{"queue_size": 5000, "evaluation_rate": 0, "annotators_per_row": 3}');
CREATE TABLE got (role name, row_key jsonb, batch int);
});
my @roles = map { "annotator$_" } 1 .. 4;
foreach my $i (1 .. 4)
{
	my $r = $roles[ $i - 1 ];
	sql(qq{CREATE ROLE $r; GRANT SELECT, UPDATE (lab) ON t TO $r; GRANT INSERT, SELECT ON got TO $r});
}
is(sql(q{SELECT count(*) FROM hitl.queue WHERE model = 'm'}), '4850', 'the queue holds the 4,850 unlabeled rows');

# each role errs on the rows whose id falls on one of its two residues
# modulo 7, odd roles with one wrong class, even roles with the other: a
# row two roles got wrong, answered by both, is a tie
my $loop = q{
DO $$
DECLARE
	n int;
	me int := right(current_user, 1)::int;
BEGIN
	FOR i IN 1 .. 1000 LOOP
		INSERT INTO got SELECT current_user, x.row_key, i FROM hitl.next_rows('m', 25) x;
		GET DIAGNOSTICS n = ROW_COUNT;
		EXIT WHEN n = 0;
		UPDATE t SET lab = CASE WHEN t.id % 7 IN (me, me + 1)
								THEN (ARRAY['a', 'b', 'c'])[1 + (t.id % 3 + 1 + me % 2) % 3]
								ELSE t.truth END
		FROM got g
		WHERE g.role = current_user AND g.batch = i AND g.row_key = jsonb_build_object('id', t.id);
		COMMIT;
	END LOOP;
END
$$;
};

my @sessions;
foreach my $r (@roles)
{
	my $s = $node->background_psql('postgres');
	$s->query_safe(qq{SET ROLE $r});
	$s->query_until(qr/started/, "\\echo started\n$loop\n\\echo done\n");
	push @sessions, $s;
}
$_->query_until(qr/done/, '') foreach @sessions;
$_->quit foreach @sessions;

my $queue = q{(SELECT q.row_key FROM hitl.queue q WHERE q.model = 'm')};
is( sql(
		qq{SELECT count(*) FROM $queue q
		   WHERE (SELECT count(*) FROM hitl.answers a WHERE a.model = 'm' AND a.row_key = q.row_key) <> 3}),
	'0', 'every row of the queue has exactly three answers');
is(sql(q{SELECT count(*) FROM hitl.answers WHERE model = 'm'}), '14550', '14,550 answers in all');
is( sql(q{SELECT count(*), count(DISTINCT (role, row_key)) FROM hitl.answer_log WHERE model = 'm'}),
	'14550|14550', 'each logged once: no answer replaced, none lost');
is( sql(
		q{SELECT count(*) FROM (SELECT g.row_key FROM got g GROUP BY g.row_key HAVING count(*) > 3) x}),
	'0', 'no row was given to a fourth annotator');
is( sql(
		q{SELECT count(*) FROM hitl.answers a JOIN got g ON g.row_key = a.row_key AND g.role = a.role
		  WHERE a.model = 'm'}),
	'14550', 'every answer is of a row given to its role');

# the label: the majority, or nothing on a tie
my $majority = q{
SELECT a.row_key,
	   (SELECT b.label FROM hitl.answers b WHERE b.model = 'm' AND b.row_key = a.row_key
		GROUP BY b.label HAVING count(*) >= 2) AS majority
FROM hitl.answers a WHERE a.model = 'm' GROUP BY a.row_key};
is( sql(
		qq{SELECT count(*) FROM ($majority) x JOIN t ON x.row_key = jsonb_build_object('id', t.id)
		   WHERE t.lab IS DISTINCT FROM x.majority}),
	'0', 'each row\'s label is the majority of its answers, or NULL');
my $ties = sql(qq{SELECT count(*) FROM ($majority) x WHERE x.majority IS NULL});
cmp_ok($ties, '>', 0, "some rows are ties ($ties)");
is(sql(q{SELECT count(*) FROM m_adjudication_queue}), $ties, 'they are the adjudication view');
is( sql(
		q{SELECT count(*) FROM hitl.label_log WHERE model = 'm' AND id > 0
		  AND row_key IN (SELECT row_key FROM hitl.answers)}),
	sql(qq{SELECT count(*) FROM ($majority) x WHERE x.majority IS NOT NULL}),
	'the label log holds one entry per row that got a consensus');

done_testing();
