# A rewrite of a model's table while it is being scored in committed
# batches: VACUUM FULL, CLUSTER, TRUNCATE and a reload of the same rows in
# another physical order, ALTER TABLE that rewrites.  Batches write by ctid,
# and a rewrite moves every row: every write must still reach the row it
# scored, the rows the rewrite moved must be scored again, and the model
# counts as scored only when every row holds its own scores.
#
# The scoring is paused between two of its batches, deterministically: it
# takes its lock (hitl._hold_scoring takes the same) again at the start of
# every transaction, so a session that waits for that lock gets it at the
# next commit, and the scoring waits, holding no lock on the table, until
# that session's transaction ends.  Two sessions hold the lock in turn:
# the one that does not hold it queues for it behind the waiting scoring
# before the other lets go, so each release lets exactly one unit of work
# through however slowly this script runs (a release followed by a new
# request of the same session let the scoring run ahead through many
# batches on a loaded machine).  Each round lets a few batches through,
# rewrites the table meanwhile, then lets the scoring finish.
#
# Both paths that commit between batches: CALL hitl.score_in_batches, and
# the background worker (hitl preloaded) with hitl.wait.  The worker waits
# for a lock for 500 ms at most, then starts its work over a second later:
# a round may see it start its scoring over rather than go on.  Every
# round ends right either way but one: a scoring started over while every
# row is deleted finishes as soon as it is let through, before the rows
# come back without triggers, so the round of DELETE and reload runs on
# CALL alone.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# hold the scoring's lock in a transaction of a holder, and let it go
my $HOLD = q{BEGIN; SELECT hitl._hold_scoring('m')};
my $RELEASE = q{COMMIT};
my $SCORE_LOCK = q{locktype = 'advisory' AND classid = 1751741548};
my $NROWS = 20000;

# A table of 20,000 rows inserted in a scrambled order.  x decides the
# class (a when x < 0, b otherwise) and alternates in sign from one id to
# the next, so a row holding another row's scores is wrong about its class
# half of the time and wrong about its confidence almost always.  Rows with
# id % 10 in (0, 1) are labeled.
sub make_table
{
	my ($node, $db) = @_;
	$node->safe_psql(
		$db, qq{
CREATE TABLE t (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO t
SELECT i, (CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END) * (0.2 + (i % 17) / 4.0),
	   (i * 7) % 13,
	   CASE WHEN i % 10 IN (0, 1) THEN CASE WHEN i % 2 = 0 THEN 'b' ELSE 'a' END END
FROM generate_series(1, $NROWS) i
ORDER BY (i * 7919) % $NROWS;
});
}

# Rows whose stored scores are not those of the current version
my $wrong_rows = q{
SELECT count(*) FROM t
WHERE t.lab_prediction IS DISTINCT FROM hitl.predict('m', t)
   OR t.lab_confidence IS NULL
   OR abs(t.lab_confidence - (hitl.predict_proba('m', t) ->> hitl.predict('m', t))::float8) > 1e-9
};

# Queue entries that do not point at a row with those scores
my $wrong_queue = q{
SELECT count(*) FROM hitl.queue q LEFT JOIN t ON t.id = (q.row_key->>'id')::int
WHERE q.model = 'm'
  AND (t.id IS NULL OR t.lab IS NOT NULL
	   OR q.prediction IS DISTINCT FROM hitl.predict('m', t)
	   OR abs(q.confidence - (hitl.predict_proba('m', t) ->> hitl.predict('m', t))::float8) > 1e-9)
};

# Swap the labels a <-> b: the next version predicts the other class for
# every row, so a scoring rewrites all of them
my $swap = q{UPDATE t SET lab = CASE lab WHEN 'a' THEN 'b' ELSE 'a' END WHERE lab IS NOT NULL};

# Each rewrite, run by a session of its own; NEXT
# lets the scoring go through one more batch meanwhile.  A third element is
# run before the scoring starts.
my @rewrites = (
	[ 'VACUUM FULL', ['VACUUM FULL t'] ],
	[ 'CLUSTER', ['CLUSTER t USING t_pkey'] ],
	[
		'TRUNCATE and a reload in another order',
		[
			q{CREATE TEMP TABLE t_copy AS SELECT * FROM t},
			# without the label log's triggers: the labels are the same
			q{BEGIN; SET LOCAL session_replication_role = replica; TRUNCATE t;
			  INSERT INTO t SELECT * FROM t_copy ORDER BY md5(id::text); COMMIT},
			q{DROP TABLE t_copy}
		]
	],
	[ 'ALTER TABLE rewriting the table', ['ALTER TABLE t ADD COLUMN extra float8 DEFAULT random()'] ],
	[ 'VACUUM FULL', ['VACUUM FULL t'] ],

	# The same storage, other rows at the same ctids: every row deleted,
	# then (once the scoring's snapshot no longer holds them back) vacuumed
	# away, and the rows inserted again in another order.  No relfilenode
	# changes: only the key check sees it.  The table is compacted first, so
	# that the reload fills every ctid the scan met.
	[
		'DELETE, VACUUM and a reload into the same ctids',
		[
			q{CREATE TEMP TABLE t_copy AS SELECT * FROM t},
			q{BEGIN; SET LOCAL session_replication_role = replica; DELETE FROM t; COMMIT},
			'NEXT',
			q{VACUUM t},
			q{BEGIN; SET LOCAL session_replication_role = replica;
			  INSERT INTO t SELECT * FROM t_copy ORDER BY md5(id::text); COMMIT},
			q{DROP TABLE t_copy}
		],
		['VACUUM FULL t']
	],
);

# Run a round's statements in a session of their own, while the holders
# hold the scoring's lock
sub run_rewrite
{
	my ($node, $db, $holders, $pid, $sqls) = @_;
	my $rewriter = $node->background_psql($db);
	for my $sql (@$sqls)
	{
		if ($sql eq 'NEXT')
		{
			let_through($node, $db, $holders, $pid, 1);
		}
		else
		{
			$rewriter->query_safe($sql);
		}
	}
	$rewriter->quit;
	return;
}

# Two holders: sessions of $db with their backends' pids; the first holds
# the scoring's lock from the start of a round
sub holders
{
	my ($node, $db) = @_;
	my @h;
	for (1 .. 2)
	{
		my $s = $node->background_psql($db);
		my $pid = $s->query_safe('SELECT pg_backend_pid()');
		$pid =~ s/\s+//g;
		push @h, { session => $s, pid => $pid };
	}
	return \@h;
}

sub holders_quit
{
	my ($holders) = @_;
	$_->{session}->quit for @$holders;
	return;
}

# The scoring's backend once it waits for its lock, which a holder holds
sub scorer_waiting
{
	my ($node, $db) = @_;
	my $q = "SELECT pid FROM pg_locks WHERE $SCORE_LOCK AND NOT granted";
	$node->poll_query_until($db, "SELECT EXISTS ($q)") or die 'no scoring waits for its lock';
	return $node->safe_psql($db, $q);
}

# The scoring of backend $pid waits for its lock, held by the first of
# $holders: let it go through $units units of work (the scan and the
# queue, then one batch each).  For each, the other holder queues for the
# lock behind the scoring before the first lets go, so it gets the lock at
# the scoring's next commit, and the holders swap.  Returns with the
# scoring waiting between two units, holding no lock on the table.
sub let_through
{
	my ($node, $db, $holders, $pid, $units) = @_;
	for my $i (1 .. $units)
	{
		my ($cur, $next) = @$holders;
		$next->{session}->query_until(qr/queued/, "\\echo queued\n$HOLD;\n");
		$node->poll_query_until(
			$db, qq{SELECT EXISTS (SELECT 1 FROM pg_locks
				WHERE pid = $next->{pid} AND $SCORE_LOCK AND NOT granted)})
		  or die 'the next holder does not queue for the lock';
		$cur->{session}->query_safe($RELEASE);
		$node->poll_query_until(
			$db, qq{SELECT EXISTS (SELECT 1 FROM pg_locks
					WHERE pid = $next->{pid} AND $SCORE_LOCK AND granted)
				AND EXISTS (SELECT 1 FROM pg_locks
					WHERE pid = $pid AND $SCORE_LOCK AND NOT granted)})
		  or die 'the scoring stopped';
		# the end of the HOLD sent above
		$next->{session}->query_safe('SELECT 1');
		@$holders = ($next, $cur);
	}
	return;
}

# Rows written so far by the scoring: rows predicted as the current version
# predicts
sub rows_scored
{
	my ($node, $db) = @_;
	return $node->safe_psql($db, q{SELECT count(*) FROM t WHERE lab_prediction = hitl.predict('m', t)});
}

# ---------------------------------------------------------------------------
# 1. CALL hitl.score_in_batches
# ---------------------------------------------------------------------------

my $node = PostgreSQL::Test::Cluster->new('score_rewrite');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION hitl');
make_table($node, 'postgres');
is( $node->safe_psql(
		'postgres',
		q{SELECT hitl.create_model('m', 't', 'lab', ARRAY['x', 'y'],
			  options => '{"batch_size": 100, "score_tolerance": 0, "cv_folds": 0, "queue_size": 50}')}),
	'1', 'model m trained on 4,000 labels of 20,000 rows');
is($node->safe_psql('postgres', $wrong_rows), '0', 'create_model scored every row');

my $holders = holders($node, 'postgres');
my $version = 1;
for my $r (@rewrites)
{
	my ($what, $sqls, $setup) = @$r;
	$node->safe_psql('postgres', $_) for @{ $setup // [] };
	$version++;
	is($node->safe_psql('postgres', "$swap; SELECT hitl.train('m')"),
		$version, "$what: version $version predicts the other class");

	$holders->[0]{session}->query_safe($HOLD);
	my $scorer = $node->background_psql('postgres', on_error_stop => 0);
	$scorer->query_until(qr/started/, "\\echo started\nCALL hitl.score_in_batches('m');\n\\echo finished\n");
	my $pid = scorer_waiting($node, 'postgres');

	# the scan and the queue, then 5 batches
	let_through($node, 'postgres', $holders, $pid, 6);
	my $done = rows_scored($node, 'postgres');
	ok($done > 0 && $done < $NROWS, "$what: paused with $done rows of $NROWS written");
	run_rewrite($node, 'postgres', $holders, $pid, $sqls);
	$holders->[0]{session}->query_safe($RELEASE);

	my $out = $scorer->query_until(qr/finished/, '');
	like($out, qr/^\(?\d+\)?$/m, "$what: the scoring finished");
	$scorer->quit;
	like($scorer->{stderr}, qr/NOTICE:  the table of model "m" was rewritten during its scoring, which starts over/,
		"$what: the scoring saw it and started over");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM t'), $NROWS, "$what: every row is there");
	is($node->safe_psql('postgres', $wrong_rows), '0',
		"$what: every row holds its own scores of version $version");
	is($node->safe_psql('postgres', $wrong_queue), '0',
		"$what: every queue entry is an unlabeled row with those scores");
	is($node->safe_psql('postgres', q{SELECT count(*) FROM hitl.queue WHERE model = 'm'}),
		'50', "$what: the queue is full");
	is( $node->safe_psql(
			'postgres', q{SELECT status, current_version, scored_version FROM hitl.models WHERE name = 'm'}),
		"scored|$version|$version", "$what: the model is scored with version $version");
}
holders_quit($holders);

# a rewrite without a scoring under way changes nothing
is($node->safe_psql('postgres', 'CALL hitl.score_in_batches(\'m\')'), '0',
	'a scoring after the rounds has nothing left to write');
$node->stop;

# ---------------------------------------------------------------------------
# 2. The background worker
# ---------------------------------------------------------------------------

my $wnode = PostgreSQL::Test::Cluster->new('score_rewrite_worker');
$wnode->init;
$wnode->append_conf('postgresql.conf', "shared_preload_libraries = 'hitl'\nhitl.naptime = 300\n");
$wnode->start;
$wnode->safe_psql('postgres', 'CREATE DATABASE w');
$wnode->safe_psql('w', 'CREATE EXTENSION hitl');
make_table($wnode, 'w');
is( $wnode->safe_psql(
		'w',
		q{SELECT hitl.create_model('m', 't', 'lab', ARRAY['x', 'y'],
			  options => '{"batch_size": 100, "score_tolerance": 0, "cv_folds": 0, "queue_size": 50}')}),
	'1', 'worker: model m trained');
$version = $wnode->safe_psql('w', q{SELECT hitl.wait('m')});
is($wnode->safe_psql('w', $wrong_rows), '0', 'worker: every row scored');

$holders = holders($wnode, 'w');
for my $r (@rewrites[ 0 .. 2 ])
{
	my ($what, $sqls, $setup) = @$r;
	$wnode->safe_psql('w', $_) for @{ $setup // [] };

	# the label change wakes the worker: it trains a version, then rescores
	$holders->[0]{session}->query_safe($HOLD);
	$wnode->safe_psql('w', $swap);
	my $pid = scorer_waiting($wnode, 'w');
	is($wnode->safe_psql('w', "SELECT backend_type FROM pg_stat_activity WHERE pid = $pid"),
		'hitl worker', "worker, $what: the worker is scoring");
	let_through($wnode, 'w', $holders, $pid, 6);
	my $done = rows_scored($wnode, 'w');
	ok($done > 0 && $done < $NROWS, "worker, $what: paused with $done rows of $NROWS written");
	run_rewrite($wnode, 'w', $holders, $pid, $sqls);
	$holders->[0]{session}->query_safe($RELEASE);

	my $v = $wnode->safe_psql('w', q{SELECT hitl.wait('m', '120 s')});
	cmp_ok($v, '>', $version, "worker, $what: hitl.wait returns a newer version ($v)");
	$version = $v;
	is($wnode->safe_psql('w', 'SELECT count(*) FROM t'), $NROWS, "worker, $what: every row is there");
	is($wnode->safe_psql('w', $wrong_rows), '0', "worker, $what: every row holds its own scores");
	is($wnode->safe_psql('w', $wrong_queue), '0', "worker, $what: every queue entry is right");
	is( $wnode->safe_psql(
			'w', q{SELECT status, current_version, scored_version FROM hitl.models WHERE name = 'm'}),
		"scored|$version|$version", "worker, $what: the model is scored with version $version");
}
holders_quit($holders);
$wnode->stop;

done_testing();
