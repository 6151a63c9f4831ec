# Parallel scoring: a table of at least min_parallel_table_scan_size (0
# here) is scanned by block ranges taken in turn by the scoring's backend
# and up to hitl.max_parallel_scoring parallel workers.  A scoring in
# parallel must write exactly what a serial one writes and store the same
# review queue, for numeric and text models, text and two-column keys; with
# fewer or no workers to be had, the others scan what is left; an error in
# a worker's rows is the serial scoring's error and nothing is written;
# temp tables and enable_tidscan = off stay serial; the background worker
# scores in parallel too; the roles that may score get the same results and
# the others the same error; a cancel ends the parallel workers with the
# scoring.
#
# Each scoring runs with client_min_messages = debug1, whose line "model
# "M" scored by N parallel workers beside its backend (P planned)" says
# whether the scan was parallel and how many workers it had: the tests
# check it, so that a scoring that silently stayed serial fails them.  A
# worker launched may still find no range left (a fast scan can be over
# before it starts): where it matters, debug_print_plan shows in the
# server log which processes planned a range's scan.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/lib";
use HitlTest qw(worker_node);

my $NROWS = 25000;

my $node = PostgreSQL::Test::Cluster->new('parallel_scoring');
$node->init;
# no autovacuum: a row updated goes to the end of the table (section 3)
$node->append_conf('postgresql.conf',
	"min_parallel_table_scan_size = 0\nautovacuum = off\nmax_worker_processes = 16\nmax_parallel_workers = 8\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION hitl');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('postgres', $query);
}

# Run $query in a session of its own with client_min_messages = debug1,
# hitl.max_parallel_scoring = $workers and the statements of $pre (run as
# they are, after the settings); errors in verbose form, with their
# SQLSTATE.  Returns psql's exit code, its output, its errors, and the
# [launched, planned] workers of each DEBUG line of model $model.
sub scoring
{
	my ($model, $workers, $query, $pre) = @_;
	my ($out, $err) = ('', '');
	my $ret = $node->psql(
		'postgres',
		"\\set VERBOSITY verbose\nSET client_min_messages = debug1;\n"
		  . "SET hitl.max_parallel_scoring = $workers;\n"
		  . ($pre // '')
		  . "\n$query",
		stdout => \$out,
		stderr => \$err,
		on_error_stop => 1);
	return ($ret, $out, $err, parallel_lines($model, $err));
}

# The first error in psql's errors $err, without psql's prefix
sub error_line
{
	my ($err) = @_;
	return $err =~ /^(?:psql:[^:]*:\d+: )?(ERROR:  .*)$/m ? $1 : '(no error)';
}

# The first error in $err with its DETAIL and HINT lines
sub error_report
{
	my ($err) = @_;
	return $err =~ /^(?:psql:[^:]*:\d+: )?(ERROR:  .*(?:\n(?:DETAIL|HINT):  .*)*)/m ? $1 : '(no error)';
}

# The [launched, planned] of each line of model $model in $text
sub parallel_lines
{
	my ($model, $text) = @_;
	my @lines;
	while ($text =~
		/hitl: model "\Q$model\E" scored by (\d+) parallel workers beside its backend \((\d+) planned\), \d+ blocks in ranges of \d+/g)
	{
		push @lines, [ $1, $2 ];
	}
	return \@lines;
}

# The models: their table, key columns and output columns
my %models = (
	num => { table => 'nk', keys => ['k'], cols => [qw(lab_prediction lab_confidence lab_uncertainty)] },
	tnb => { table => 'docs', keys => [qw(id part)], cols => [qw(nb_pred nb_conf nb_unc)] },
	tlr => { table => 'docs', keys => [qw(id part)], cols => [qw(lab_prediction lab_confidence lab_uncertainty)] },
);

sub clear_outputs
{
	my ($m) = @_;
	my $d = $models{$m};
	sql("UPDATE $d->{table} SET " . join(', ', map { "$_ = NULL" } @{ $d->{cols} }));
	return;
}

# Rows of model $m's table whose output columns differ from those saved in
# saved_$m (or whose key is only on one side)
sub differing
{
	my ($m, $saved) = @_;
	my $d = $models{$m};
	$saved //= "saved_$m";
	my $keys = join(', ', @{ $d->{keys} });
	my $k1 = $d->{keys}[0];
	my $t = join(', ', map { "t.$_" } @{ $d->{cols} });
	my $s = join(', ', map { "s.$_" } @{ $d->{cols} });
	return sql(
		"SELECT count(*) FROM $d->{table} t FULL JOIN $saved s USING ($keys)
		 WHERE t.$k1 IS NULL OR s.$k1 IS NULL OR ($t) IS DISTINCT FROM ($s)");
}

# Rows with all three output columns of model $m set
sub scored_rows
{
	my ($m) = @_;
	my $d = $models{$m};
	return sql("SELECT count(*) FROM $d->{table} WHERE "
		  . join(' AND ', map { "$_ IS NOT NULL" } @{ $d->{cols} }));
}

# The entries of model $m's queue that are not in saved queue $saved, and
# those of $saved not in the queue (whole rows, rank and evaluation flag
# included)
sub queue_diff
{
	my ($m, $saved) = @_;
	return sql(
		"SELECT (SELECT count(*) FROM (SELECT * FROM hitl.queue WHERE model = '$m'
									   EXCEPT ALL SELECT * FROM $saved) a)
			|| '|' || (SELECT count(*) FROM (SELECT * FROM $saved
									   EXCEPT ALL SELECT * FROM hitl.queue WHERE model = '$m') b)");
}

# The processes other than $leader that planned a scan of block ranges in
# the server log from $offset on (debug_print_plan): the parallel workers
# that scanned at least one range
sub range_scanners
{
	my ($offset, $leader) = @_;
	my (%pids, $pid);
	for my $line (split /\n/, slurp_file($node->logfile, $offset))
	{
		$pid = $1 if $line =~ /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+ \[(\d+)\]/;
		$pids{$pid} = 1 if defined $pid && $line =~ /\{TIDRANGESCAN/;
	}
	delete $pids{$leader};
	return scalar keys %pids;
}

# A parallel scoring of model $m with debug_print_plan on: scoring()'s
# results, and the number of parallel workers that scanned ranges
sub scoring_traced
{
	my ($m, $query, $pre) = @_;
	my $offset = -s $node->logfile;
	my @r = scoring($m, 2, $query,
		"SET debug_print_plan = on;\nSELECT pg_backend_pid() AS leader \\gset\n\\warn leader :leader\n"
		  . ($pre // ''));
	my ($leader) = $r[2] =~ /^leader (\d+)$/m;
	return (@r, range_scanners($offset, $leader // 0));
}

# ---------------------------------------------------------------------------
# The tables and models
# ---------------------------------------------------------------------------

# numbers, a text primary key; (x1, x2) repeat every 9,797 rows, so that
# rows tie in uncertainty and the queue's ties are broken by place.  Its
# scan is fast: the backend may well scan every range before a worker has
# started (the text models without cached terms below keep the workers
# busy).
sql(qq{
CREATE TABLE nk (k text PRIMARY KEY, x1 float8, x2 float8, lab text);
INSERT INTO nk SELECT 'row-' || i, (i * 37 % 101) / 10.0, (i * 53 % 97) / 10.0,
	CASE WHEN i % 20 = 0 THEN CASE WHEN (i * 37 % 101 + i * 7 % 13) % 3 = 0 THEN 'a'
		WHEN (i * 37 % 101) < 50 THEN 'b' ELSE 'c' END END
FROM generate_series(1, $NROWS) i;
});
is( sql(
		q{SELECT hitl.create_model('num', 'nk', 'lab', ARRAY['x1', 'x2'],
			  options => '{"cv_folds": 0, "score_tolerance": 0, "queue_size": 200}')}),
	'1', 'numeric logistic model num on 25,000 rows keyed by text');

# texts of 30 words on three topics and a number, a key (int, text)
sql(qq{
CREATE TABLE docs (id int, part text, body text, len float8, lab text, PRIMARY KEY (id, part));
INSERT INTO docs
SELECT g / 3, (ARRAY['x', 'y', 'z'])[1 + g % 3],
	   repeat(format('%s %s the %s %s %s ', w[1 + t * 8 + g % 8], w[1 + t * 8 + (g * 3) % 8],
					 w[1 + t * 8 + (g * 5) % 8], w[1 + (g * 7) % 24], w[1 + (g / 5) % 24]), 5),
	   g % 13,
	   CASE WHEN g % 25 = 0 THEN (ARRAY['sport', 'cooking', 'computing'])[1 + t] END
FROM generate_series(0, $NROWS - 1) g, LATERAL (SELECT (g * 7 % 11) % 3 AS t) s,
	 (SELECT ARRAY['goal', 'match', 'team', 'score', 'league', 'coach', 'player', 'stadium',
				   'recipe', 'bake', 'flour', 'spicy', 'oven', 'sauce', 'garlic', 'butter',
				   'kernel', 'compile', 'server', 'cpu', 'database', 'query', 'network',
				   'debug'] AS w) words;
});
is( sql(
		q{SELECT hitl.create_model('tnb', 'docs', 'lab', ARRAY['body'], prediction_column => 'nb_pred',
			  confidence_column => 'nb_conf', uncertainty_column => 'nb_unc', algorithm => 'naive_bayes',
			  options => '{"cv_folds": 0, "score_tolerance": 0, "queue_size": 200}')}),
	'1', 'text naive Bayes model tnb on 25,000 rows keyed by (int, text)');
is( sql(
		q{SELECT hitl.create_model('tlr', 'docs', 'lab', ARRAY['body', 'len'],
			  options => '{"cv_folds": 0, "score_tolerance": 0, "queue_size": 200}')}),
	'1', 'text logistic model tlr on the same table, with a number');
# tlr's rows without their cached terms: its scans parse every text, and
# last long enough for the parallel workers to take ranges
sql(q{BEGIN; SET LOCAL session_replication_role = replica; UPDATE docs SET hitl_terms_tlr = NULL; COMMIT});

# ---------------------------------------------------------------------------
# 1. The same results, serial and in parallel
# ---------------------------------------------------------------------------

my %cache = (tnb => "$NROWS rows read their term counts from the cache, 0 were parsed",
	tlr => "0 rows read their term counts from the cache, $NROWS were parsed");
for my $m (qw(num tnb tlr))
{
	my $d = $models{$m};
	my $score = "SELECT hitl.score('$m')";

	clear_outputs($m);
	my ($ret, $out, $err, $par) = scoring($m, 0, $score);
	is("$ret|$out", "0|$NROWS", "$m: the serial scoring writes every row");
	is(scalar @$par, 0, "$m: with hitl.max_parallel_scoring = 0 no parallel scan is reported");
	sql("CREATE TABLE saved_$m AS SELECT " . join(', ', @{ $d->{keys} }, @{ $d->{cols} }) . " FROM $d->{table}");
	is(scored_rows($m), $NROWS, "$m: every row has its three scores");

	clear_outputs($m);
	my $scanners;
	($ret, $out, $err, $par, $scanners) = scoring_traced($m, $score);
	is("$ret|$out", "0|$NROWS", "$m: the parallel scoring writes every row too");
	is_deeply($par, [ [ 2, 2 ] ], "$m: it launched the 2 parallel workers it planned");
	is(differing($m), '0', "$m: every row holds the serial scoring's scores");
	note("$m: $scanners parallel workers scanned ranges of blocks");
	cmp_ok($scanners, '>=', 1, "$m: the parallel workers scanned ranges of blocks") if $m eq 'tlr';
	like($err, qr/hitl: \Q$cache{$m}\E/, "$m: the term cache counts of every process are added up")
	  if $cache{$m};

	# the queue: two rescorings that write nothing, on the same layout
	($ret, $out) = scoring($m, 0, $score);
	is("$ret|$out", '0|0', "$m: a serial rescoring writes nothing");
	sql("CREATE TABLE queue_$m AS SELECT * FROM hitl.queue WHERE model = '$m'");
	is( sql("SELECT count(*), count(*) FILTER (WHERE evaluation), count(DISTINCT row_key), max(rank)
			 FROM queue_$m"),
		'200|10|200|200', "$m: its queue holds 200 rows, 10 of them evaluation rows");
	($ret, $out, $err, $par) = scoring($m, 2, $score);
	is("$ret|$out", '0|0', "$m: a parallel rescoring writes nothing");
	is_deeply($par, [ [ 2, 2 ] ], "$m: with 2 parallel workers");
	is(queue_diff($m, "queue_$m"), '0|0', "$m: and stores the same queue, rank for rank");
}

# CALL hitl.score_in_batches in parallel
clear_outputs('tlr');
my ($ret, $out, $err, $par) = scoring('tlr', 2, q{CALL hitl.score_in_batches('tlr')});
is("$ret|$out", "0|$NROWS", 'score_in_batches in parallel writes every row');
is_deeply($par, [ [ 2, 2 ] ], 'with 2 parallel workers');
is(differing('tlr'), '0', 'every row holds the serial scoring\'s scores');

# ---------------------------------------------------------------------------
# 2. Fewer workers available: none planned beyond max_parallel_workers
# ---------------------------------------------------------------------------

# a rescoring that writes nothing, on the layout of a serial one's queue
sql(q{DROP TABLE queue_tlr});
scoring('tlr', 0, q{SELECT hitl.score('tlr')});
sql(q{CREATE TABLE queue_tlr AS SELECT * FROM hitl.queue WHERE model = 'tlr'});
($ret, $out, $err, $par) = scoring('tlr', 2, q{SELECT hitl.score('tlr')}, 'SET max_parallel_workers = 0;');
is("$ret|$out", '0|0', 'max_parallel_workers = 0: the rescoring writes nothing');
is_deeply($par, [], 'it plans no worker: none could be given');
is(queue_diff('tlr', 'queue_tlr'), '0|0', 'the backend alone stores the serial scoring\'s queue');

for my $avail (0, 1)
{
	clear_outputs('tlr');
	my $scanners;
	($ret, $out, $err, $par, $scanners) =
	  scoring_traced('tlr', q{SELECT hitl.score('tlr')}, "SET max_parallel_workers = $avail;");
	is("$ret|$out", "0|$NROWS", "max_parallel_workers = $avail: every row is written");
	# no more planned than max_parallel_workers could give
	is_deeply($par, $avail ? [ [ $avail, $avail ] ] : [],
		"it plans and launches $avail of the 2 workers hitl.max_parallel_scoring allows");
	is($scanners, $avail, "$avail parallel workers scanned ranges (the one launched did)");
	is(differing('tlr'), '0', "max_parallel_workers = $avail: the serial scoring's scores");
}

# ---------------------------------------------------------------------------
# 3. A row whose features cannot be read, in the last blocks
# ---------------------------------------------------------------------------

clear_outputs('tlr');
# the row at the end of the table, updated: it stays in the last blocks
my ($bad_id, $bad_part) = split /\|/, sql(q{SELECT id, part FROM docs ORDER BY ctid DESC LIMIT 1});
my $bad = qq{id = $bad_id AND part = '$bad_part'};
my $len = sql(qq{SELECT len FROM docs WHERE $bad});
sql(qq{UPDATE docs SET len = 'NaN' WHERE $bad});
is( sql(
		qq{SELECT (ctid::text::point)[0] >= pg_relation_size('docs') / current_setting('block_size')::int - 2
		   FROM docs WHERE $bad}),
	't', "the row ($bad_id, $bad_part) with a NaN is in the table's last two blocks");

my $row = qq{\{"id": $bad_id, "part": "$bad_part"\}};
my $message = qq{ERROR:  22000: feature column "len" is NaN or infinite in row $row};
($ret, $out, $err) = scoring('tlr', 0, q{SELECT hitl.score('tlr')});
is($ret, 3, 'serial: the scoring fails');
is(error_line($err), $message, 'serial: 22000 naming the column and the row');
my $serial_error = error_report($err);
like($serial_error, qr/\nDETAIL:  Features must be finite numbers.*\nHINT:  /, 'serial: with its detail and hint');
is(scored_rows('tlr'), '0', 'serial: nothing was written');

# which process meets the row depends on the order they take ranges in
my $in_worker = 0;
for my $try (1 .. 3)
{
	($ret, $out, $err, $par) = scoring('tlr', 2, q{SELECT hitl.score('tlr')});
	is($ret, 3, "parallel ($try): the scoring fails");
	is(error_report($err), $serial_error,
		"parallel ($try): the serial scoring's SQLSTATE, message, detail and hint");
	is(scored_rows('tlr'), '0', "parallel ($try): nothing was written");
	$in_worker++ if $err =~ /^CONTEXT:  parallel worker$/m;
}
note("the row was met by a parallel worker in $in_worker of 3 scorings");
is(sql(q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker'}),
	'0', 'no parallel worker is left');

# caught in a subtransaction: the parallel scoring is cleaned up with it,
# and the next one, after the row is fixed, runs in the same transaction
($ret, $out, $err, $par) = scoring(
	'tlr', 2, qq{DO \$\$
BEGIN
	BEGIN
		PERFORM hitl.score('tlr');
	EXCEPTION WHEN data_exception THEN
		RAISE NOTICE 'caught: %', SQLERRM;
	END;
	UPDATE docs SET len = $len WHERE $bad;
	RAISE NOTICE 'scored: %', hitl.score('tlr');
END
\$\$});
is($ret, 0, 'a parallel scoring\'s error caught in an exception block');
like($err, qr/^(?:psql:<stdin>:\d+: )?NOTICE:  00000: caught: feature column "len" is NaN or infinite in row \Q$row\E$/m,
	'the block caught the row\'s error');
like($err, qr/^(?:psql:<stdin>:\d+: )?NOTICE:  00000: scored: $NROWS$/m,
	'the row fixed, the same transaction scores every row');
is_deeply($par, [ [ 2, 2 ] ], 'in parallel, with its 2 workers');
is(differing('tlr'), '0', 'the serial scoring\'s scores');
is(sql(q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker'}),
	'0', 'no parallel worker is left');

# ---------------------------------------------------------------------------
# 4. Not parallel: a temporary table, enable_tidscan off; no partitioned table
# ---------------------------------------------------------------------------

# a temporary table lives in its session: one psql
($ret, $out, $err, $par) = scoring(
	'tmp', 2, q{
CREATE TEMP TABLE tt (id int PRIMARY KEY, x1 float8, x2 float8, lab text);
INSERT INTO tt SELECT i, (i * 37 % 101) / 10.0, (i * 53 % 97) / 10.0,
	CASE WHEN i % 20 = 0 THEN CASE WHEN (i * 37 % 101) < 50 THEN 'b' ELSE 'c' END END
FROM generate_series(1, 20000) i;
SELECT hitl.create_model('tmp', 'tt', 'lab', ARRAY['x1', 'x2'], options => '{"cv_folds": 0, "score_tolerance": 0}');
UPDATE tt SET lab_prediction = NULL, lab_confidence = NULL, lab_uncertainty = NULL;
SELECT hitl.score('tmp');
SELECT count(*) FROM tt t
WHERE t.lab_prediction IS DISTINCT FROM hitl.predict('tmp', t)
   OR abs(t.lab_confidence - (hitl.predict_proba('tmp', t) ->> hitl.predict('tmp', t))::float8) > 1e-12;
});
is("$ret|$out", "0|1\n20000\n0", 'a temporary table: every row scored as hitl.predict scores it');
is(scalar @$par, 0, 'a temporary table is scored without parallel workers');

clear_outputs('num');
($ret, $out, $err, $par) = scoring('num', 2, q{SELECT hitl.score('num')}, 'SET enable_tidscan = off;');
is("$ret|$out", "0|$NROWS", 'enable_tidscan = off: every row is written');
is(scalar @$par, 0, 'enable_tidscan = off: no parallel scan');
is(differing('num'), '0', 'enable_tidscan = off: the serial scoring\'s scores');

sql(q{CREATE TABLE pt (id int PRIMARY KEY, x1 float8, lab text) PARTITION BY RANGE (id);
	  CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (0) TO (100000)});
($ret, $out, $err) = scoring('pt', 2, q{SELECT hitl.create_model('mpt', 'pt', 'lab', ARRAY['x1'])});
is(error_line($err), 'ERROR:  42809: "public.pt" is not an ordinary table',
	'a partitioned table cannot be a model\'s source (42809): nothing to score in parallel');

# ---------------------------------------------------------------------------
# Two models of one table scored in one statement
# ---------------------------------------------------------------------------

# Two scorings of one table in one statement (serial scorings did it too,
# before the fix): the second scan read with the statement's snapshot, so
# it saw the row versions the first model's writes had replaced; its writes
# by ctid reached no row (0 written), its queue found none of its
# candidates, and the model was marked scored with every row's scores left
# as they were.  A scoring that does not commit now reads in a snapshot of
# its own that sees what its transaction wrote so far.
clear_outputs('tnb');
clear_outputs('tlr');
($ret, $out, $err, $par) = scoring('tlr', 2,
	q{SELECT name, hitl.score(name) FROM hitl.models WHERE source = 'docs'::regclass ORDER BY name});
is($ret, 0, 'both models of docs scored in one statement');
is(scored_rows('tlr'), $NROWS, 'the first, tlr, wrote every row');
is($out, "tlr|$NROWS\ntnb|$NROWS", 'each scoring writes every row');
is(scored_rows('tnb'), $NROWS, 'the second, tnb, wrote every row');
is(sql(q{SELECT count(*) FROM hitl.queue WHERE model = 'tnb'}), '200', 'and stored its queue');
is(differing('tnb'), '0', 'the serial scoring\'s scores');
clear_outputs('tnb');
($ret, $out) = scoring('tnb', 2, q{SELECT hitl.score('tnb')});
is("$ret|$out", "0|$NROWS", 'in a statement of its own, tnb writes every row too');
is(differing('tnb'), '0', 'the serial scoring\'s scores');

# ---------------------------------------------------------------------------
# 6. Roles: a member of the owner, a role with UPDATE; a role without
# ---------------------------------------------------------------------------

# tlr's table and model given to alice; bob is a member of alice, dave may
# update the table, carol may only read it
sql(q{
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN IN ROLE alice;
CREATE ROLE dave LOGIN;
CREATE ROLE carol LOGIN;
ALTER TABLE docs OWNER TO alice;
SELECT hitl.alter_model('tlr', owner => 'alice');
GRANT SELECT, UPDATE ON docs TO dave;
GRANT SELECT ON docs TO carol;
});
for my $role (qw(bob dave))
{
	clear_outputs('tlr');
	($ret, $out, $err, $par) = scoring('tlr', 2, q{SELECT hitl.score('tlr')}, "SET ROLE $role;");
	is("$ret|$out", "0|$NROWS", "$role scores the model in parallel");
	is_deeply($par, [ [ 2, 2 ] ], "$role: with 2 parallel workers");
	is(differing('tlr'), '0', "$role: the serial scoring's scores");
}
clear_outputs('tlr');
for my $workers (0, 2)
{
	($ret, $out, $err, $par) = scoring('tlr', $workers, q{SELECT hitl.score('tlr')}, 'SET ROLE carol;');
	is( "$ret|" . error_report($err),
		qq{3|ERROR:  42501: permission denied to score model "tlr"\n}
		  . q{HINT:  Scoring needs UPDATE on the model's table, or membership in the model's owner role.},
		"carol (SELECT only), max_parallel_scoring = $workers: 42501");
}
is(scored_rows('tlr'), '0', 'carol wrote nothing');

# ---------------------------------------------------------------------------
# 7. A cancel during a parallel scan
# ---------------------------------------------------------------------------

# tlr's scan parses every text (its outputs are still cleared)
my $scorer = $node->background_psql('postgres', on_error_stop => 0);
$scorer->query_safe(q{SET hitl.max_parallel_scoring = 2});
my $pid = $scorer->query_safe(q{SELECT pg_backend_pid()});
$scorer->query_until(qr/started/, "\\set VERBOSITY verbose\n\\echo started\nSELECT hitl.score('tlr');\n\\echo finished\n");
my $seen = sql(qq{DO \$\$
DECLARE
	n int;
BEGIN
	FOR i IN 1 .. 30000 LOOP
		PERFORM pg_stat_clear_snapshot();
		SELECT count(*) INTO n FROM pg_stat_activity
		WHERE backend_type = 'parallel worker' AND leader_pid = $pid;
		IF n > 0 THEN
			PERFORM pg_cancel_backend($pid);
			RETURN;
		END IF;
		PERFORM pg_sleep(0.001);
	END LOOP;
	RAISE EXCEPTION 'no parallel worker of the scoring was seen';
END
\$\$; SELECT 'cancelled'});
is($seen, 'cancelled', 'the scoring\'s parallel workers were seen running, and its backend cancelled');
$scorer->query_until(qr/finished/, '');
is(error_line($scorer->{stderr}), 'ERROR:  57014: canceling statement due to user request',
	'the scoring fails with 57014');
note(($scorer->{stderr} =~ /^CONTEXT:  SQL statement "SELECT t\.ctid, .* WHERE t\.ctid >= \$1/m)
	? 'the cancel came in the middle of a block range'
	: 'the cancel came after the backend\'s last range');
is(sql(qq{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker'}),
	'0', 'no parallel worker is left');
is(scored_rows('tlr'), '0', 'nothing was written');
$scorer->{stderr} = '';
is($scorer->query_safe(q{SELECT hitl.score('tlr')}), $NROWS, 'the same session scores the model again');
$scorer->quit;
is(differing('tlr'), '0', 'every row holds the serial scoring\'s scores');
clear_outputs('tlr');
($ret, $out, $err, $par) = scoring('tlr', 2, q{SELECT hitl.score('tlr')});
is("$ret|$out", "0|$NROWS", 'another scoring in parallel writes every row');
is_deeply($par, [ [ 2, 2 ] ], 'with 2 parallel workers');
is(differing('tlr'), '0', 'the serial scoring\'s scores');
$node->stop;

# ---------------------------------------------------------------------------
# 5. The background worker scores in parallel
# ---------------------------------------------------------------------------

my $wnode = worker_node('parallel_scoring_worker', 'w',
	"min_parallel_table_scan_size = 0\nlog_min_messages = debug1\nautovacuum = off\n");
# the model of a role that cannot log in: the worker scores as that role
$wnode->safe_psql(
	'w', qq{
CREATE ROLE wowner NOLOGIN;
GRANT CREATE ON SCHEMA public TO wowner;
SET ROLE wowner;
CREATE TABLE big (id int PRIMARY KEY, x1 float8, x2 float8, lab text);
INSERT INTO big SELECT i, (i * 37 % 101) / 10.0, (i * 53 % 97) / 10.0,
	CASE WHEN i % 20 = 0 THEN CASE WHEN (i * 37 % 101 + i * 7 % 13) % 3 = 0 THEN 'a'
		WHEN (i * 37 % 101) < 50 THEN 'b' ELSE 'c' END END
FROM generate_series(1, 20000) i;
});
is( $wnode->safe_psql(
		'w', q{SET ROLE wowner;
			   SELECT hitl.create_model('big', 'big', 'lab', ARRAY['x1', 'x2'], options => '{"cv_folds": 0}')}),
	'1', 'worker: model big of role wowner trained');
is($wnode->safe_psql('w', q{SELECT hitl.wait('big')}), '1', 'worker: version 1 is scored');
my $offset = -s $wnode->logfile;
$wnode->safe_psql('w', q{UPDATE big SET lab = 'a' WHERE id IN (1, 2, 3)});
is($wnode->safe_psql('w', q{SELECT hitl.wait('big', '120 s')}), '2', 'worker: a label gives version 2');
is( $wnode->safe_psql(
		'w', q{
SELECT m.status, m.current_version = m.scored_version,
	   (SELECT count(*) FROM big t WHERE t.lab_prediction IS DISTINCT FROM hitl.predict('big', t))
FROM hitl.models m WHERE m.name = 'big'}),
	'scored|t|0', 'worker: every row holds version 2\'s scores');
my $lines = parallel_lines('big', slurp_file($wnode->logfile, $offset));
cmp_ok(scalar @$lines, '>=', 1, 'worker: its scoring logged a parallel scan');
cmp_ok((sort { $b <=> $a } map { $_->[0] } @$lines)[0] // 0,
	'>=', 1, 'worker: with at least one parallel worker launched');
$wnode->stop;

done_testing();
