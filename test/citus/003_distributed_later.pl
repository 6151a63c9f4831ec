# A model made on a plain table whose table Citus distributes afterwards.
# Citus refuses to distribute a table with hitl's label triggers unless
# citus.enable_unsafe_triggers is on; with it on, the label triggers of the
# shards refuse the rows Citus copies into them, as the worker nodes do not
# know the model yet.  When it was distributed empty and its rows loaded
# without the shards' triggers, the label triggers refuse changes (0A000)
# until the model is scored on the coordinator, which sends it to the
# worker nodes and makes its review view one for a distributed table;
# from then on it works as a model made on the distributed table: labels
# reach the model through the worker, hitl.predict runs on the worker
# nodes, its audit queue reads the shards.  hitl.auto_label, the
# annotators' functions, hitl.slice_metrics and hitl.refresh_term_cache
# refuse it with 0A000, hitl.alter_model works, and hitl.drop_model drops
# it, its label triggers and its mirrors.

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

# before the model is scored on the distributed table, its label triggers
# refuse the changes they would log: the worker nodes do not know it
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
		qr/ERROR:  (?:0A000|XX000): hitl model "m" cannot log changes to Citus shard items_\d+/,
		"$what on the distributed table: refused by the shard's label trigger");
	like($err, qr/This node has no mirror of the model/, "$what: it says why");
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

# the functions that need a plain table refuse it
foreach my $call (
	q{SELECT hitl.auto_label('m')},
	q{SELECT * FROM hitl.next_rows('m', 3)},
	q{SELECT hitl.skip('m', '{"id": 400}', 'unsure')},
	q{SELECT * FROM hitl.slice_metrics('m', 'x2')},
	q{SELECT hitl.refresh_term_cache('m')})
{
	like(
		error_of($call),
		qr/ERROR:  0A000: table public\.items of model "m" is a Citus distributed table: hitl does not support this there yet/,
		"$call: 0A000 naming Citus");
}
is( $coord->safe_psql(
		'postgres',
		q{SELECT (SELECT count(*) FROM hitl.reservations) || '|' || (SELECT count(*) FROM hitl.skips)}),
	'0|0', 'nothing was reserved or skipped');
$coord->safe_psql('postgres', q{SELECT hitl.alter_model('m', options => '{"queue_size": 20}')});
is( $coord->safe_psql('postgres', q{SELECT options->>'queue_size' FROM hitl.models WHERE name = 'm'}),
	'20', 'hitl.alter_model still changes the model\'s options');

# a scoring on the coordinator sends the model to the worker nodes, scores
# the shards' rows where they are and makes the review view and queue
is($coord->safe_psql('postgres', q{SELECT hitl.train('m')}), '1',
	'hitl.train: the same rows and labels, the same version');
$coord->safe_psql('postgres', q{SELECT hitl.score('m')});
is( $coord->safe_psql(
		'postgres',
		q{SELECT status || ' ' || scored_version || ' '
				 || (SELECT count(*) FROM items WHERE lab_prediction IS NOT NULL)
				 || ' ' || (SELECT count(*) FROM hitl.queue WHERE model = 'm')
		  FROM hitl.models WHERE name = 'm'}),
	'scored 1 1000 20', 'hitl.score: every row scored, 20 candidates queued');
foreach my $w (@workers)
{
	is( $w->safe_psql(
			'postgres',
			q{SELECT current_version || ' ' || (SELECT count(*) FROM hitl.model_versions)
			  FROM hitl.models WHERE name = 'm'}),
		'1 1', $w->name . ': the mirror of the model and its version');
}
is( $coord->safe_psql(
		'postgres',
		q{SELECT string_agg(rank::text, ',' ORDER BY rank) FROM (SELECT rank FROM m_review_queue LIMIT 5) r}),
	'1,2,3,4,5', 'the review view reads the shards, in the order of the queue');
is( $coord->safe_psql(
		'postgres',
		q{SELECT string_agg(relname, ' ' ORDER BY relname) FROM pg_class
		  WHERE relname IN ('m_audit_queue', 'm_auto_label_audit', 'm_adjudication_queue')}),
	'm_audit_queue', 'of the audit views, the audit queue stays, made again for the distributed table');
is( $coord->safe_psql(
		'postgres',
		q{SELECT count(*) = (SELECT count(*) FROM hitl.audit WHERE model = 'm') FROM m_audit_queue}),
	't', 'it reads the shards: one row per suspect');

# labels now reach the model: logged on the shards' nodes, taken by the worker
my $top = $coord->safe_psql('postgres', q{SELECT id FROM m_review_queue LIMIT 1});
$coord->safe_psql('postgres', qq{UPDATE items SET lab = 'a' WHERE id = $top});
is($coord->safe_psql('postgres', q{SELECT hitl.wait('m', '120 s')}), '2',
	'a label on the distributed table: version 2 through the worker');
is( $coord->safe_psql(
		'postgres', q{SELECT row_key::text || ' ' || new_label FROM hitl.label_log ORDER BY id DESC LIMIT 1}),
	qq({"id": $top} a), 'the change is in the coordinator\'s label log');
is($coord->safe_psql('postgres', qq{SELECT count(*) FROM m_review_queue WHERE id = $top}),
	'0', 'and the row left the review view');
is( $coord->safe_psql(
		'postgres',
		q{SELECT count(*) FROM items i WHERE hitl.predict('m', i) IS DISTINCT FROM i.lab_prediction}),
	'0', 'hitl.predict on the worker nodes agrees with the scores');

# hitl.drop_model drops the model, its label triggers and its mirrors
$coord->safe_psql('postgres', q{SELECT hitl.drop_model('m', true)});
is($coord->safe_psql('postgres', q{SELECT count(*) FROM hitl.models}),
	'0', 'the model is dropped');
is( $coord->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_trigger WHERE tgrelid = 'items'::regclass AND NOT tgisinternal}),
	'0', 'with its label triggers');
foreach my $w (@workers)
{
	# (Citus hides its shards from pg_class unless told otherwise.)  The
	# shards were made with the plain table's TRUNCATE label trigger, whose
	# DROP TRIGGER Citus does not pass on to them: it stays, and only wakes
	# a worker.
	is( $w->safe_psql(
			'postgres',
			q{SET citus.override_table_visibility = off;
			  SELECT (SELECT count(*) > 0 FROM pg_class WHERE relname ~ '^items_[0-9]+$' AND relkind = 'r')
					 || ' ' || (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
								WHERE c.relname ~ '^items_[0-9]+$' AND NOT t.tgisinternal
								  AND t.tgname !~ '^hitl_m_label_trunc_[0-9]+$')}),
		'true 0', $w->name . ': no label trigger left on its shards but the TRUNCATE one');
	is( $w->safe_psql(
			'postgres',
			q{SELECT (SELECT count(*) FROM hitl.models) + (SELECT count(*) FROM hitl.model_versions)
				   + (SELECT count(*) FROM hitl.label_log)}),
		'0', $w->name . ': no mirror and no label entry left');
}

is( $coord->safe_psql(
		'postgres',
		q{UPDATE items SET lab = 'a' WHERE id = 500; INSERT INTO items VALUES (5000, 1, 1, 'b');
		  SELECT count(*) FROM items WHERE (id = 500 AND lab = 'a') OR id = 5000}),
	'2', 'without the model, labels and rows change as on any distributed table');

done_testing();
