# HitlDump.pm
#		What the dump and restore tests share (test/t/041_dump_restore_worker.pl
#		on one server, test/across/*.pl from one server to another): a
#		database with three models (numeric logistic, text naive Bayes, text
#		logistic) trained twice by the worker, its state as SQL reads it, a
#		pg_dump -Fc / pg_restore of it, and the checks that follow.
package HitlDump;

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

use Exporter 'import';
our @EXPORT_OK = qw(make_models model_state dump_restore check_restored check_worker_takes_over);

# postgresql.conf lines of every node of these tests: the worker is loaded,
# trains at once on a label, and leaves an idle database alone.
our $NODE_CONF = "shared_preload_libraries = 'hitl'\nhitl.naptime = 300\nhitl.retrain_delay = 0\n";

# What identifies the restored state: hitl's tables, the predictions and
# probabilities of each model, and the predictions stored in the table.
my %STATE_SQL = (
	models => q{SELECT name, label_column, feature_columns, algorithm, options, status,
	  current_version, scored_version, processed_labels FROM hitl.models ORDER BY name},
	versions => q{SELECT model, version, n_labeled, classes, coefficients, vocabulary,
	  counts, metrics FROM hitl.model_versions ORDER BY model, version},
	queue => q{SELECT model, rank, row_key, prediction, confidence, uncertainty, version
	  FROM hitl.queue ORDER BY model, rank},
	log => q{SELECT id, model, row_key, old_label, new_label, role, model_version
	  FROM hitl.label_log ORDER BY id},
	num => q{SELECT string_agg(hitl.predict('num', t), ',' ORDER BY id) FROM nums t},
	nb => q{SELECT string_agg(hitl.predict_proba('nb', t)::text, ',' ORDER BY id) FROM docs t},
	txt => q{SELECT string_agg(hitl.predict_proba('txt', t)::text, ',' ORDER BY id) FROM docs t},
	stored => q{SELECT md5(string_agg(concat_ws('|', id, topic_prediction, topic_confidence,
	  topic2_prediction, topic2_confidence), ',' ORDER BY id)) FROM docs},
);

# The topic of document i, and the class of number row i (SQL expressions).
my $TOPIC = q{CASE id % 3 WHEN 0 THEN 'sport' WHEN 1 THEN 'cooking' ELSE 'computing' END};
my $HIGH_LOW = q{CASE WHEN (id * 37) % 100 >= 50 THEN 'high' ELSE 'low' END};

# make_models(node, db[, version]): in database db, hitl (at that version,
# else the default), tables nums (300 rows, 40 labeled) and docs (300 texts,
# 30 labeled), the models num (numeric logistic), nb (naive Bayes on text)
# and txt (logistic on text), then more labels, which the worker trains
# version 2 of each on.
sub make_models
{
	my ($node, $db, $version) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $create = 'CREATE EXTENSION hitl' . (defined $version ? " VERSION '$version'" : '');
	my $topic_i = $TOPIC =~ s/\bid\b/i/gr;
	my $high_low_i = $HIGH_LOW =~ s/\bid\b/i/gr;
	$node->safe_psql($db, qq{
$create;
CREATE TABLE nums (id int PRIMARY KEY, a float8, b integer, label text);
INSERT INTO nums
SELECT i, (i * 37) % 100, i % 9, CASE WHEN i <= 40 THEN $high_low_i END
FROM generate_series(1, 300) i;
CREATE TABLE docs (id int PRIMARY KEY, body text, topic text, topic2 text);
INSERT INTO docs
SELECT i, CASE i % 3 WHEN 0 THEN 'the goal in the match was scored late by the team'
				   WHEN 1 THEN 'bake the bread with flour butter and salt in the oven'
				   ELSE 'the compiler and the kernel of the computer crashed' END || ' ' || i,
	   CASE WHEN i <= 30 THEN $topic_i END,
	   CASE WHEN i <= 30 THEN $topic_i END
FROM generate_series(1, 300) i;
SELECT hitl.create_model('num', 'nums', 'label', ARRAY['a', 'b']);
SELECT hitl.create_model('nb', 'docs', 'topic', ARRAY['body'], algorithm => 'naive_bayes');
SELECT hitl.create_model('txt', 'docs', 'topic2', ARRAY['body'], options => '{"cv_folds": 0}');
});
	label($node, $db, 41, 60, 31, 45);
	foreach my $m (qw(num nb txt))
	{
		is($node->safe_psql($db, qq{SELECT hitl.wait('$m')}), '2', "the worker trains version 2 of $m");
	}
	# hitl.wait returns once the version's scores are written; the worker
	# then cross-validates it and may rescore (a new temperature): what is
	# compared after the dump is the state once that is done (hitl.wait of
	# 0.1.0's SQL has no cross_validated argument)
	ok( $node->poll_query_until(
			$db, q{
SELECT NOT EXISTS (SELECT FROM hitl.model_versions v JOIN hitl.models m
				   ON m.name = v.model AND v.version = m.current_version
				   WHERE v.metrics ? 'cv_pending' OR m.scored_version IS DISTINCT FROM m.current_version)
   AND NOT EXISTS (SELECT FROM pg_stat_activity
				   WHERE backend_type = 'hitl worker' AND datname = current_database() AND state = 'active')}),
		'and is done with them (cross-validated, rescored)');
	return;
}

# label(node, db, first num, last num, first doc, last doc): label those rows
sub label
{
	my ($node, $db, $n1, $n2, $d1, $d2) = @_;
	$node->safe_psql($db, qq{
UPDATE nums SET label = $HIGH_LOW WHERE id BETWEEN $n1 AND $n2;
UPDATE docs SET topic = $TOPIC, topic2 = $TOPIC WHERE id BETWEEN $d1 AND $d2;
});
	return;
}

# model_state(node, db): a hash of what %STATE_SQL reads in db
sub model_state
{
	my ($node, $db) = @_;
	return { map { $_ => $node->safe_psql($db, $STATE_SQL{$_}) } keys %STATE_SQL };
}

# dump_restore(dumper, source node, source db, target node, target db, file
# [, leave out]): pg_dump -Fc of the source database with the pg_dump of node
# dumper (the newer server's, as a DBA upgrading does), then pg_restore of
# the file (the target node's) into the target database, which must exist.
# With leave out (a regex), the entries of the archive's list (pg_restore -l)
# it matches, which must be one, are not restored (pg_restore -L). Asserts
# that both succeed, pg_restore with nothing on stderr.
sub dump_restore
{
	my ($dumper, $src, $src_db, $dst, $dst_db, $file, $leave_out) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $pg_restore = $dst->installed_command('pg_restore');
	$dumper->command_ok(
		[ $dumper->installed_command('pg_dump'), '--no-sync', '-Fc', '-f', $file, '-d', $src->connstr($src_db) ],
		"pg_dump of database $src_db");
	my @list;
	if (defined $leave_out)
	{
		my ($entries, $err);
		IPC::Run::run([ $pg_restore, '-l', $file ], '>', \$entries, '2>', \$err)
		  or die "pg_restore -l $file: $err";
		my @all = split /^/m, $entries;
		my @kept = grep { !/$leave_out/ } @all;
		is(@all - @kept, 1, "one entry of the archive is left out ($leave_out)");
		PostgreSQL::Test::Utils::append_to_file("$file.list", join('', @kept));
		@list = ('-L', "$file.list");
	}
	my ($stdout, $stderr);
	my $ok = IPC::Run::run([ $pg_restore, '--exit-on-error', @list, '-d', $dst->connstr($dst_db), $file ],
		'>', \$stdout, '2>', \$stderr);
	ok($ok, "pg_restore into database $dst_db succeeds") or diag($stderr);
	is($stderr, '', 'with nothing on stderr (no error, no warning)');
	return;
}

# check_restored(node, db, state before): every part of the state is the
# same, hitl's tables hold each version once, and the restore of the log is
# recorded for the three models.
sub check_restored
{
	my ($node, $db, $before) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $after = model_state($node, $db);
	foreach my $k (sort keys %STATE_SQL)
	{
		is($after->{$k}, $before->{$k}, "restored: same $k");
	}
	is($node->safe_psql($db,
			q{SELECT count(*) FROM (SELECT model, version FROM hitl.model_versions
			  GROUP BY 1, 2 HAVING count(*) > 1) d}),
		'0', 'no version twice');
	is($node->safe_psql($db, q{SELECT string_agg(model, ',' ORDER BY model) FROM hitl.restored_logs}),
		',nb,num,txt', 'the restore is recorded for the three models (and for any entries: the empty name)');
	return;
}

# check_worker_takes_over(node, db): the worker of the restored database
# trains version 3 of each model on new labels, naive Bayes from scratch
# (its restored log entries are not to be applied again: metrics "fallback":
# "restored"), and the next label updates naive Bayes incrementally again.
sub check_worker_takes_over
{
	my ($node, $db) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	label($node, $db, 61, 70, 46, 50);
	foreach my $m (qw(num nb txt))
	{
		is($node->safe_psql($db, qq{SELECT hitl.wait('$m')}), '3', "the worker trains version 3 of $m");
	}
	is($node->safe_psql($db, q{SELECT n_labeled FROM hitl.model_versions WHERE model = 'nb' AND version = 3}),
		'50', 'naive Bayes version 3 learned from the 50 labels');
	is($node->safe_psql($db,
			q{SELECT metrics->>'fallback' FROM hitl.model_versions WHERE model = 'nb' AND version = 3}),
		'restored', 'trained from scratch, not updated incrementally across the restore, and it says why');
	is($node->safe_psql($db,
			q{SELECT count(*) FROM docs WHERE topic_prediction IS DISTINCT FROM hitl.predict('nb', docs)}),
		'0', 'and rescored with it');

	$node->safe_psql($db, q{UPDATE docs SET topic = 'sport' WHERE id = 51});
	is($node->safe_psql($db, q{SELECT hitl.wait('nb')}), '4', 'naive Bayes version 4');
	is($node->safe_psql($db,
			q{SELECT metrics->>'incremental', metrics ? 'fallback' FROM hitl.model_versions
			  WHERE model = 'nb' AND version = 4}),
		'true|f', 'an incremental update again');
	return;
}

1;
