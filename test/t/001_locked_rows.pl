# hitl.score() against rows that other sessions hold: it neither waits for
# them nor overwrites what they write.  The locked rows keep their old scores
# (with a NOTICE), every other row gets its new ones, and the next scoring
# catches up.  Labels written meanwhile are never touched.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('locked_rows');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION hitl');

# 400 rows, the first 100 labeled: class a when x < 5, b otherwise
$node->safe_psql(
	'postgres', q{
CREATE TABLE leads (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO leads
SELECT i, i % 10 + (i % 7) / 10.0, (i * 3) % 11,
	   CASE WHEN i <= 100 THEN CASE WHEN i % 10 < 5 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 400) i;
SELECT hitl.create_model('m', 'leads', 'lab', ARRAY['x', 'y']);
});

is($node->safe_psql('postgres', q{SELECT status, current_version FROM hitl.models}),
	'scored|1', 'model trained and scored');

# Swap the labels a <-> b and retrain: the new version predicts the other
# class for every row, so every row's scores change.
sub swap_and_train
{
	my $version = $node->safe_psql(
		'postgres', q{
UPDATE leads SET lab = CASE lab WHEN 'a' THEN 'b' ELSE 'a' END WHERE lab IS NOT NULL;
SELECT hitl.train('m');
});
	return $version;
}

# Rows whose stored scores differ from the current version's
my $stale_rows = q{
SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM leads t
WHERE t.lab_prediction IS DISTINCT FROM hitl.predict('m', t)
   OR abs(t.lab_confidence - (hitl.predict_proba('m', t) ->> hitl.predict('m', t))::float8)
	  > (SELECT (options->>'score_tolerance')::float8 FROM hitl.models WHERE name = 'm') + 1e-12
};

# The scores of one row
sub scores_of
{
	my ($id) = @_;
	return $node->safe_psql('postgres',
		"SELECT lab_prediction, lab_confidence, lab_uncertainty FROM leads WHERE id = $id");
}

# hitl.score('m') in a session of its own; returns (exit status, rows
# written, stderr, seconds taken)
sub score
{
	my $t0 = time;
	my ($ret, $out, $err) = $node->psql('postgres', q{SELECT hitl.score('m')});
	return ($ret, $out, $err, time - $t0);
}

# The same under a statement_timeout
sub score_with_timeout
{
	my ($timeout) = @_;
	my $t0 = time;
	my ($ret, $out, $err) =
	  $node->psql('postgres', "SET statement_timeout = '$timeout'; SELECT hitl.score('m')");
	return ($ret, $out, $err, time - $t0);
}

my $locked_notice =
  qr/NOTICE:  1 rows of model "m" were locked by other sessions and keep their old scores/;

# ---------------------------------------------------------------------------
# 1. A row locked with SELECT ... FOR UPDATE
# ---------------------------------------------------------------------------

is(swap_and_train(), '2', 'version 2 trained on swapped labels');
is($node->safe_psql('postgres', "SELECT count(*) FROM leads t WHERE lab_prediction <> hitl.predict('m', t)"),
	'400', 'version 2 changes the prediction of every row');

my $old_300 = scores_of(300);
my $session_a = $node->background_psql('postgres');
$session_a->query_safe('BEGIN');
is($session_a->query_safe('SELECT id FROM leads WHERE id = 300 FOR UPDATE'),
	'300', 'session A locks row 300');

my ($ret, $written, $err, $secs) = score();
is($ret, 0, 'hitl.score finishes while row 300 is locked');
# (session A holds its lock until after this: a scoring that waited for it
# would never return)
note(sprintf('hitl.score took %.1f s', $secs));
cmp_ok($secs, '>', 1, 'it came back for the locked row for a while before giving up');
is($written, '399', 'it wrote every other row');
like($err, $locked_notice, 'NOTICE: 1 row kept its old scores');
like($err, qr/HINT:  They are scored again by the next hitl\.score\(\)\./, 'with a hint');

is(scores_of(300), $old_300, 'the locked row keeps its old scores');
is($node->safe_psql('postgres', $stale_rows), '300', 'every other row has the scores of version 2');
is($node->safe_psql('postgres', 'SELECT scored_version, status FROM hitl.models'),
	'2|scored', 'the model counts as scored with version 2');

$session_a->query_safe('COMMIT');
($ret, $written, $err) = score();
is($ret, 0, 'after A commits, hitl.score runs again');
is($written, '1', 'it writes the row that was locked, only');
unlike($err, qr/locked by other sessions/, 'without a NOTICE');
is($node->safe_psql('postgres', $stale_rows), '', 'now every row has the scores of version 2');
isnt(scores_of(300), $old_300, 'row 300 included');

# ---------------------------------------------------------------------------
# 2. A row whose label a user is writing (uncommitted UPDATE)
# ---------------------------------------------------------------------------

is(swap_and_train(), '3', 'version 3 trained on swapped labels');
my $old_301 = scores_of(301);
is($node->safe_psql('postgres', "SELECT count(*) FROM m_review_queue WHERE id = 301"),
	'1', 'row 301 is unlabeled and queued');

$session_a->query_safe('BEGIN');
$session_a->query_safe(q{UPDATE leads SET lab = 'b' WHERE id = 301});

($ret, $written, $err, $secs) = score();
is($ret, 0, 'hitl.score finishes while A is labeling row 301');
note(sprintf('hitl.score took %.1f s (A still holds its lock)', $secs));
is($written, '399', 'it wrote every other row');
like($err, $locked_notice, 'NOTICE: 1 row kept its old scores');
is($node->safe_psql('postgres', 'SELECT lab IS NULL FROM leads WHERE id = 301'),
	't', 'A\'s label is not visible before its commit');

$session_a->query_safe('COMMIT');
is($node->safe_psql('postgres', 'SELECT lab FROM leads WHERE id = 301'),
	'b', 'A\'s label is there after both committed');
is(scores_of(301), $old_301, 'and the row still has the old scores');
is($node->safe_psql('postgres', "SELECT count(*) FROM m_review_queue WHERE id = 301"),
	'0', 'the labeled row left the review view');

($ret, $written, $err) = score();
is($written, '1', 'the next hitl.score writes that row');
is($node->safe_psql('postgres', 'SELECT lab FROM leads WHERE id = 301'),
	'b', 'without touching its label');
is($node->safe_psql('postgres', $stale_rows), '', 'every row has the scores of version 3');

# ---------------------------------------------------------------------------
# 3. A label committed while hitl.score is writing
# ---------------------------------------------------------------------------

is(swap_and_train(), '4', 'version 4 trained on swapped labels');
my $old_302 = scores_of(302);

$session_a->query_safe('BEGIN');
$session_a->query_safe(q{UPDATE leads SET lab = 'a' WHERE id = 302});

my $session_b = $node->background_psql('postgres', on_error_stop => 0);
my $pid_b = $session_b->query_safe('SELECT pg_backend_pid()');
$session_b->query_until(qr/scoring/, qq{\\echo scoring\nSELECT hitl.score('m');\n\\echo scored\n});

# B writes its batches (and holds a row lock on the table) before it
# retries the row A holds: commit A's label then.
ok( $node->poll_query_until(
		'postgres', qq{
SELECT EXISTS (SELECT 1 FROM pg_locks
			   WHERE pid = $pid_b AND relation = 'leads'::regclass
				 AND mode = 'RowExclusiveLock' AND granted)
	OR NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $pid_b AND state = 'active')
}),
	'session B is writing scores');
$session_a->query_safe('COMMIT');

my $out_b = $session_b->query_until(qr/scored/, '');
like($out_b, qr/^399$/m, 'B\'s hitl.score finished, writing every row but 302');
is($node->safe_psql('postgres', 'SELECT lab FROM leads WHERE id = 302'),
	'a', 'the label committed during the scoring is intact');
is(scores_of(302), $old_302, 'and that row was not written by the scoring');
is($node->safe_psql('postgres', $stale_rows), '302', 'it is the only row left behind');

($ret, $written) = score();
is($written, '1', 'the next hitl.score writes it');
is($node->safe_psql('postgres', 'SELECT lab FROM leads WHERE id = 302'), 'a', 'label still intact');
is($node->safe_psql('postgres', $stale_rows), '', 'every row has the scores of version 4');
is( $node->safe_psql(
		'postgres', q{SELECT count(*) FROM leads WHERE lab IS NOT NULL AND id > 100}),
	'2', 'the two labels written by A are the only labels added');

# ---------------------------------------------------------------------------
# 4. A table lock held by a user (as CREATE INDEX takes one)
# ---------------------------------------------------------------------------

is(swap_and_train(), '5', 'version 5 trained on swapped labels');
$session_a->query_safe('BEGIN');
$session_a->query_safe('LOCK TABLE leads IN SHARE MODE');
# the statement_timeout only stops a scoring that waits for A
($ret, $written, $err, $secs) = score_with_timeout('5s');
is($ret, 0, sprintf("hitl.score does not wait for A's SHARE lock on the table (took %.1fs)", $secs));
like($err, qr/were locked by other sessions and keep their old scores/,
	'it says which rows keep their old scores');
$session_a->query_safe('COMMIT');
($ret, $written, $err) = score();
is($ret, 0, 'once A commits, hitl.score runs');
is($node->safe_psql('postgres', $stale_rows), '', 'every row has the scores of version 5');

$session_a->quit;
$session_b->quit;
$node->stop;

done_testing();
