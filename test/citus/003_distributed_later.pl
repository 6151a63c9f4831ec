# A model made on a plain table whose table Citus distributes afterwards.
# Citus refuses to distribute a table with hitl's label triggers unless
# citus.enable_unsafe_triggers is on; with it on, the label triggers of the
# shards refuse the rows Citus copies into them.  When it was distributed
# empty and its rows loaded without the shards' triggers, hitl.train,
# hitl.score, hitl.auto_label, the annotators' functions (hitl.next_rows,
# hitl.skip, hitl.confirm_label), hitl.slice_metrics and
# hitl.refresh_term_cache refuse the model with 0A000 (its rows are in
# shards), hitl.alter_model still works, the label
# triggers, which went with the shards, refuse the changes they would log
# (0A000) rather than lose them, hitl.predict on the worker nodes says the
# model is not there (0A000), and hitl.drop_model drops it with that
# setting on.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use HitlCitus qw(citus_cluster);

my ($coord, @workers) = citus_cluster('later');

my $ROWS = q{
INSERT INTO items
SELECT i, (i * 37 % 1009) / 100.0, (i * 53 % 97) / 10.0,
	   CASE WHEN i <= 300 THEN CASE WHEN (i * 37 % 1009) / 100.0 + (i % 7) / 3.0 > 6 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 1000) i};
$coord->safe_psql('postgres',
	qq{CREATE TABLE items (id int PRIMARY KEY, x1 float8, x2 float8, lab text); $ROWS});
is( $coord->safe_psql(
		'postgres', q{SELECT hitl.create_model('m', 'items', 'lab', ARRAY['x1', 'x2'])}),
	'1', 'a model on the plain table: version 1');

# psql's error output of $sql on the coordinator (VERBOSITY verbose)
sub error_of
{
	my ($sql) = @_;
	my ($stdout, $stderr);
	$coord->psql('postgres', "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout, stderr => \$stderr);
	return $stderr;
}

like(
	error_of(q{SELECT create_distributed_table('items', 'id')}),
	qr/ERROR:  XX000: cannot distribute relation "items" because it has triggers/,
	'Citus refuses to distribute the table with its label triggers');

# with it on, Citus copies the rows into the shards, whose label triggers
# refuse them: the model is on the coordinator only
# (Citus passes the shard's error on as XX000, without its hint)
my $err = error_of(q{SET citus.enable_unsafe_triggers = on; SELECT create_distributed_table('items', 'id')});
like($err, qr/ERROR:  (?:0A000|XX000): hitl model "m" cannot log changes to Citus shard items_\d+/,
	'with citus.enable_unsafe_triggers on, the shards\' label triggers refuse the rows copied into them');
is($coord->safe_psql('postgres', q{SELECT coalesce(hitl._citus_table_kind('items'), 'plain') || ' ' || count(*) FROM items}),
	'plain 1000', 'the table stays a plain one, with its rows');

# an empty table is distributed with the model on it; the rows come back
# with the shards' triggers disabled (as a bulk load without them would)
$coord->safe_psql(
	'postgres', qq{
TRUNCATE items;
SET citus.enable_unsafe_triggers = on;
SELECT create_distributed_table('items', 'id');
SELECT run_command_on_shards('items', 'ALTER TABLE %s DISABLE TRIGGER USER');
$ROWS;
SELECT run_command_on_shards('items', 'ALTER TABLE %s ENABLE TRIGGER USER');
});
is($coord->safe_psql('postgres', q{SELECT hitl._citus_table_kind('items') || ' ' || count(*) FROM items}),
	'distributed 1000', 'an empty table is distributed, and its rows loaded again');

foreach my $call ('hitl.train', 'hitl.score', 'hitl.auto_label')
{
	$err = error_of("SELECT $call('m')");
	like(
		$err,
		qr/ERROR:  0A000: table public\.items of model "m" is a Citus distributed table: hitl does not support distributed tables yet/,
		"$call: 0A000 naming Citus");
	like(
		$err,
		qr/HINT:  Drop the model \(with citus\.enable_unsafe_triggers on, for its label triggers\) and build it on a plain table\./,
		"$call: the hint");
}
is( $coord->safe_psql('postgres', q{SELECT current_version FROM hitl.models WHERE name = 'm'}),
	'1', 'no version was recorded');

# so do the functions of annotators, and those in SQL that read or write
# the table's rows: no row is handed out whose label could not be logged
# (before, hitl.next_rows gave the rows of the last queue, hitl.skip and
# hitl.confirm_label recorded, and hitl.slice_metrics failed with Citus'
# own error about joins with local tables)
foreach my $call (
	q{SELECT * FROM hitl.next_rows('m', 3)},
	q{SELECT hitl.skip('m', '{"id": 400}', 'unsure')},
	q{SELECT hitl.confirm_label('m', '{"id": 3}')},
	q{SELECT * FROM hitl.slice_metrics('m', 'x2')},
	q{SELECT hitl.refresh_term_cache('m')})
{
	like(
		error_of($call),
		qr/ERROR:  0A000: table public\.items of model "m" is a Citus distributed table: hitl does not support distributed tables yet/,
		"$call: 0A000 naming Citus");
}
is( $coord->safe_psql(
		'postgres',
		q{SELECT (SELECT count(*) FROM hitl.reservations) || '|' || (SELECT count(*) FROM hitl.skips)
				 || '|' || (SELECT count(*) FROM hitl.label_confirmations)}),
	'0|0|0', 'nothing was reserved, skipped or confirmed');
$coord->safe_psql('postgres', q{SELECT hitl.alter_model('m', options => '{"queue_size": 20}')});
is( $coord->safe_psql('postgres', q{SELECT options->>'queue_size' FROM hitl.models WHERE name = 'm'}),
	'20', 'hitl.alter_model still changes the model\'s options');

# the label triggers went with the shards, to nodes where hitl has no
# model: a change they would log is refused there, not left out of the
# label log; an update of other columns goes through
my $logged = $coord->safe_psql('postgres', q{SELECT count(*) FROM hitl.label_log});
foreach my $change (
	[ 'a label UPDATE', q{UPDATE items SET lab = 'a' WHERE id = 500} ],
	[ 'an INSERT', q{INSERT INTO items VALUES (5000, 1, 1, 'a')} ],
	[ 'a DELETE', q{DELETE FROM items WHERE id = 7} ])
{
	my ($what, $sql) = @$change;
	$err = error_of($sql);
	like(
		$err,
		qr/ERROR:  0A000: hitl model "m" cannot log changes to Citus shard items_\d+/,
		"$what on the distributed table: 0A000 from the shard's label trigger");
	like($err, qr/HINT:  hitl does not support distributed tables yet: drop the model on the coordinator/,
		"$what: the hint");
}
is( $coord->safe_psql(
		'postgres',
		q{SELECT count(*) FILTER (WHERE id = 500 AND lab IS NULL) + count(*) FILTER (WHERE id = 7),
				 count(*) FILTER (WHERE id = 5000) FROM items}),
	'2|0', 'nothing changed: row 500 unlabeled, row 7 there, row 5000 not');
is($coord->safe_psql('postgres', q{SELECT count(*) FROM hitl.label_log}),
	$logged, 'and nothing was logged');
is($coord->safe_psql('postgres', q{UPDATE items SET x1 = x1 + 1 WHERE id = 500 RETURNING x1}),
	$coord->safe_psql('postgres', q{SELECT x1 FROM items WHERE id = 500}),
	'an UPDATE of another column goes through');

# a function of the distributed table's rows runs on the worker nodes,
# where hitl has no model
foreach my $call ('hitl.predict', 'hitl.predict_proba')
{
	$err = error_of("SELECT $call('m', i) FROM items i WHERE id = 3");
	like($err, qr/ERROR:  0A000: model "m" is not on this Citus worker node/,
		"$call on a distributed table's row: 0A000 from the worker node");
	like($err, qr/HINT:  hitl does not support distributed tables yet/, "$call: the hint");
}

# the model goes with hitl.drop_model, which drops the label triggers:
# Citus refuses that on a distributed table unless
# citus.enable_unsafe_triggers is on
like(
	error_of(q{SELECT hitl.drop_model('m')}),
	qr/ERROR:  XX000: triggers are not supported on distributed tables/,
	'hitl.drop_model: Citus refuses to drop the label triggers');
$coord->safe_psql('postgres',
	q{SET citus.enable_unsafe_triggers = on; SELECT hitl.drop_model('m', true)});
is($coord->safe_psql('postgres', q{SELECT count(*) FROM hitl.models}),
	'0', 'with citus.enable_unsafe_triggers on, the model is dropped');
is( $coord->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_trigger WHERE tgrelid = 'items'::regclass AND NOT tgisinternal}),
	'0', 'with its label triggers');
foreach my $w (@workers)
{
	is( $w->safe_psql(
			'postgres',
			q{SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
			  WHERE c.relname LIKE 'items%' AND NOT t.tgisinternal}),
		'0', $w->name . ': no label trigger left on the shards');
}

is( $coord->safe_psql(
		'postgres',
		q{UPDATE items SET lab = 'a' WHERE id = 500; INSERT INTO items VALUES (5000, 1, 1, 'b');
		  SELECT count(*) FROM items WHERE (id = 500 AND lab = 'a') OR id = 5000}),
	'2', 'without the model, labels and rows change as on any distributed table');

done_testing();
