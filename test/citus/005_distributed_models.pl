# A model on a hash-distributed table, end to end, against a model on a
# plain copy of the same rows on the coordinator: the training and the
# scores (equal to 1e-9), the review view and queue, labels written on the
# shards and taken into the coordinator's log, hitl.predict where the rows
# are, two labelers on different worker nodes at once, a worker node
# restarted while a scoring waits on one of its shards, a shard moved to
# the other node between two trainings, what a model on a distributed table
# cannot do (0A000), and hitl.drop_model.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use HitlCitus qw(citus_cluster);

my ($coord, @workers) = citus_cluster('dmodels');

# A shard move has each node connect to itself, by default at localhost over
# TCP, where these nodes do not listen: by their sockets instead
foreach my $node ($coord, @workers)
{
	$node->safe_psql('postgres',
		sprintf(q{ALTER SYSTEM SET citus.local_hostname = '%s'; SELECT pg_reload_conf()}, $node->host));
}

# 2,000 rows, the first 300 labeled a or b from a noisy rule of x1; x1 is
# distinct on every row
sub items_sql
{
	my ($table) = @_;
	return qq{
CREATE TABLE $table (id int PRIMARY KEY, x1 float8, x2 float8, lab text);
INSERT INTO $table
SELECT i, (i * 37 % 2003) / 200.0, (i * 53 % 97) / 10.0,
	   CASE WHEN i <= 300 THEN CASE WHEN (i * 37 % 2003) / 200.0 + (i % 7) / 3.0 > 6 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 2000) i;
};
}

# the label the rule gives row id (for the rows labeled later)
my $RULE = q{CASE WHEN x1 + (id % 7) / 3.0 > 6 THEN 'a' ELSE 'b' END};

# every score is rewritten when it moves at all, and the plain model's
# queue has no rows drawn at random, as the distributed one has none
my $OPTIONS = q{'{"score_tolerance": 0, "evaluation_rate": 0}'};

$coord->safe_psql('postgres',
	"SET client_min_messages = warning;\n"
	  . items_sql('items')
	  . items_sql('plain')
	  . q{SELECT create_distributed_table('items', 'id');});

is( $coord->safe_psql(
		'postgres',
		qq{SELECT hitl.create_model('m', 'items', 'lab', ARRAY['x1', 'x2'], options => $OPTIONS)}),
	'1',
	'create_model on the distributed table trains version 1');
is( $coord->safe_psql(
		'postgres',
		qq{SELECT hitl.create_model('p', 'plain', 'lab', ARRAY['x1', 'x2'], options => $OPTIONS)}),
	'1',
	'and on the plain copy');

# psql's error output of $sql on $node (VERBOSITY verbose)
sub error_of
{
	my ($sql, $node) = @_;
	$node //= $coord;
	my ($stdout, $stderr);
	$node->psql('postgres', "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout, stderr => \$stderr);
	return $stderr;
}

# The rows whose scores differ between the two tables (a prediction, or a
# confidence or uncertainty by more than 1e-9, or a score missing)
my $DIFFERENT = q{
FROM items i JOIN plain p USING (id)
WHERE i.lab_prediction IS DISTINCT FROM p.lab_prediction
   OR i.lab_confidence IS NULL OR p.lab_confidence IS NULL
   OR i.lab_uncertainty IS NULL OR p.lab_uncertainty IS NULL
   OR abs(i.lab_confidence - p.lab_confidence) > 1e-9
   OR abs(i.lab_uncertainty - p.lab_uncertainty) > 1e-9};

sub score_differences
{
	my $n = $coord->safe_psql('postgres', "SELECT count(*) $DIFFERENT");
	# what differs, to see why
	if ($n ne '0')
	{
		diag("rows scored differently, a few:\n"
			  . $coord->safe_psql(
				'postgres',
				"SELECT id, i.lab_prediction, p.lab_prediction, i.lab_confidence, p.lab_confidence $DIFFERENT ORDER BY id LIMIT 5"
			  ));
		diag("the models: "
			  . $coord->safe_psql(
				'postgres',
				q{SELECT string_agg(concat_ws(' ', name, status, current_version, scored_version, last_error), '; ' ORDER BY name) FROM hitl.models}
			  ));
	}
	return $n;
}

# The largest difference between the current versions' coefficients,
# feature means and scales of m and p, or -1 when their lengths differ
sub version_difference
{
	return $coord->safe_psql(
		'postgres', q{
WITH v AS (
	SELECT mv.model, mv.coefficients || mv.feature_means || mv.feature_scales AS c
	FROM hitl.model_versions mv JOIN hitl.models mm
	  ON mm.name = mv.model AND mm.current_version = mv.version
	WHERE mv.model IN ('m', 'p'))
SELECT CASE WHEN cardinality(m.c) <> cardinality(p.c) OR cardinality(m.c) = 0 THEN -1
			ELSE (SELECT max(abs(a - b)) FROM unnest(m.c, p.c) u(a, b)) END
FROM v m, v p WHERE m.model = 'm' AND p.model = 'p'});
}

# the state of a model: "status current_version scored_version"
sub state_of
{
	my ($model) = @_;
	return $coord->safe_psql('postgres',
		qq{SELECT concat_ws(' ', status, current_version, scored_version) FROM hitl.models WHERE name = '$model'});
}

# Each model's worker cross-validates a version after it scored it, and
# writes the confidences again when its calibration moves them: compare
# the two models once both are done
sub settle
{
	foreach my $model ('m', 'p')
	{
		$coord->safe_psql('postgres', qq{SELECT hitl.wait('$model', '60 s', cross_validated => true)});
	}
}

# ---------------------------------------------------------------------
# 1. training and scoring
# ---------------------------------------------------------------------
settle();
is(state_of('m'), 'scored 1 1', 'm: scored with version 1');
is( $coord->safe_psql(
		'postgres',
		q{SELECT count(lab_prediction) || ' ' || count(lab_confidence) || ' ' || count(lab_uncertainty) FROM items}),
	'2000 2000 2000',
	'every row of the distributed table has its three scores');
is(score_differences(), '0', 'the scores are those of the plain model, row by row');
is( $coord->safe_psql(
		'postgres',
		q{SELECT string_agg(concat_ws(' ', algorithm, n_labeled, array_to_string(classes, ','), array_to_string(feature_names, ',')), ' | ' ORDER BY model)
		  FROM hitl.model_versions WHERE version = 1}),
	'logistic 300 a,b x1,x2 | logistic 300 a,b x1,x2',
	'both versions learned from the same 300 labels');
my $diff = version_difference();
cmp_ok($diff, '>=', 0, 'the versions have as many coefficients');
cmp_ok($diff, '<=', 1e-9, 'the coefficients, means and scales are the plain model\'s to 1e-9');
is($coord->safe_psql('postgres', q{SELECT hitl.score('m')}),
	'0', 'scoring again writes no row');
is(state_of('m'), 'scored 1 1', 'and leaves the model scored with version 1');

# ---------------------------------------------------------------------
# 2. the review view and the queue
# ---------------------------------------------------------------------
my $top_m = $coord->safe_psql('postgres',
	q{SELECT string_agg(id || ':' || rank, ' ') FROM (SELECT id, rank FROM m_review_queue LIMIT 20) v});
my $top_p = $coord->safe_psql('postgres',
	q{SELECT string_agg(id || ':' || rank, ' ') FROM (SELECT id, rank FROM p_review_queue LIMIT 20) v});
like($top_m, qr/^(\d+:\d+ ){19}\d+:\d+$/, 'the review view gives 20 rows');
is($top_m, $top_p, 'the same rows in the same order as the plain model\'s review view');
is($coord->safe_psql('postgres', q{SELECT string_agg(rank::text, ',') FROM (SELECT rank FROM m_review_queue LIMIT 5) v}),
	'1,2,3,4,5', 'LIMIT 5 on the review view gives ranks 1 to 5, in order');
is( $coord->safe_psql(
		'postgres',
		q{SELECT count(*) || ' ' || min(rank) || ' ' || max(rank) || ' ' || count(*) FILTER (WHERE version = 1)
		  FROM hitl.queue WHERE model = 'm'}),
	'1000 1 1000 1000',
	'hitl.queue holds queue_size (1000) rows of m, of version 1');
is( $coord->safe_psql(
		'postgres',
		q{SELECT count(*) FROM hitl.queue q JOIN hitl.queue r ON r.model = 'p' AND r.rank = q.rank
		  WHERE q.model = 'm' AND (q.row_key <> r.row_key OR q.prediction <> r.prediction
								   OR abs(q.uncertainty - r.uncertainty) > 1e-9)}),
	'0', 'the whole queue is the plain model\'s');

# ---------------------------------------------------------------------
# 3. labels logged on the worker nodes, taken by the coordinator
# ---------------------------------------------------------------------
my @top5 = split /,/,
  $coord->safe_psql('postgres',
	q{SELECT string_agg(id::text, ',') FROM (SELECT id FROM m_review_queue LIMIT 5) v});
is(scalar(@top5), 5, 'the five rows at the top of the review view');
my $top5 = join(',', @top5);
# one statement each, so that each model learns them in one version
$coord->safe_psql('postgres', qq{UPDATE $_ SET lab = $RULE WHERE id IN ($top5)}) foreach ('items', 'plain');
is($coord->safe_psql('postgres', q{SELECT hitl.wait('m', '60 s')}),
	'2', 'hitl.wait: version 2 has the five labels');
is($coord->safe_psql('postgres', q{SELECT hitl.wait('p', '60 s')}),
	'2', 'and so has the plain model\'s');

my $expected_log = $coord->safe_psql('postgres',
	qq{SELECT string_agg(id || '=' || $RULE, ' ' ORDER BY id) FROM plain WHERE id IN ($top5)});
my $log_sql = q{SELECT string_agg((row_key ->> 'id') || '=' || coalesce(old_label, '-') || '>' || new_label, ' '
				 ORDER BY (row_key ->> 'id')::int) FROM hitl.label_log WHERE model = '%s'};
my $log_m = $coord->safe_psql('postgres', sprintf($log_sql, 'm'));
is($log_m =~ s/=->/=/gr, $expected_log,
	'the coordinator\'s label log has the five entries, their keys and new labels');
is($log_m, $coord->safe_psql('postgres', sprintf($log_sql, 'p')),
	'as the plain model\'s log has');
foreach my $w (@workers)
{
	ok($w->poll_query_until('postgres', q{SELECT count(*) = 0 FROM hitl.label_log}),
		$w->name . ': the label log is emptied after the next pull');
}
is($coord->safe_psql('postgres', qq{SELECT count(*) FROM m_review_queue WHERE id IN ($top5)}),
	'0', 'the five rows left the review view');
is( $coord->safe_psql('postgres',
		q{SELECT string_agg(name || ':' || processed_labels, ' ' ORDER BY name) FROM hitl.models}),
	'm:5 p:5', 'processed_labels: 5');
is(state_of('m'), 'scored 2 2', 'm: scored with version 2');
settle();
is(score_differences(), '0', 'the scores are still the plain model\'s');
$diff = version_difference();
cmp_ok($diff, '>=', 0, 'version 2: as many coefficients');
cmp_ok($diff, '<=', 1e-9, 'version 2: the plain model\'s coefficients to 1e-9');

# ---------------------------------------------------------------------
# 4. hitl.predict where the rows are
# ---------------------------------------------------------------------
is( $coord->safe_psql(
		'postgres',
		q{SELECT count(*) || ' ' || count(*) FILTER (WHERE hitl.predict('m', t) IS NOT DISTINCT FROM t.lab_prediction)
		  FROM items t}),
	'2000 2000',
	'hitl.predict over the distributed table agrees with lab_prediction on every row');

# hitl.explain of a row, on its node; the review queue of every model; the
# strategies and options a distributed table does not take are refused by
# hitl.alter_model, which changes the others
is( $coord->safe_psql(
		'postgres',
		q{SELECT (SELECT string_agg(e.feature, ',' ORDER BY e.feature) FROM items i, hitl.explain('m', i) e WHERE i.id = 1500)
				 = (SELECT string_agg(e.feature, ',' ORDER BY e.feature) FROM plain i, hitl.explain('p', i) e WHERE i.id = 1500)}),
	't', 'hitl.explain of a row of the distributed table, on its node, as on the plain table');
is( $coord->safe_psql(
		'postgres',
		q{SELECT (SELECT string_agg(row_key::text, ' ' ORDER BY rank) FROM hitl.review_queue WHERE model = 'm')
				 = (SELECT string_agg(row_key::text, ' ' ORDER BY rank) FROM hitl.review_queue WHERE model = 'p')}),
	't', 'hitl.review_queue lists the same candidates for both models');
is( $coord->safe_psql(
		'postgres',
		q{SELECT count(*) > 0 AND count(*) = (SELECT count(*) FROM hitl.review_features WHERE model = 'p')
				 AND (SELECT string_agg(concat_ws(':', rank, key_value, feature, value_number), ' ' ORDER BY rank, feature_number)
					  FROM hitl.review_features WHERE model = 'm')
				   = (SELECT string_agg(concat_ws(':', rank, key_value, feature, value_number), ' ' ORDER BY rank, feature_number)
					  FROM hitl.review_features WHERE model = 'p')
		  FROM hitl.review_features WHERE model = 'm'}),
	't', 'hitl.review_features gives the same feature values of the same candidates for both models');
foreach my $case ([ q{strategy => 'diverse'}, q{strategy 'diverse'} ],
	[ q{options => '{"auto_label_precision": 0.9}'}, q{auto-labeling (option auto_label_precision)} ])
{
	my ($arg, $what) = @$case;
	like(
		error_of("SELECT hitl.alter_model('m', $arg)"),
		qr/ERROR:  0A000: a model on distributed table public\.items cannot have \Q$what\E/,
		"hitl.alter_model('m', $arg): 0A000");
}
$coord->safe_psql('postgres', q{SELECT hitl.alter_model('m', strategy => 'entropy')});
$coord->safe_psql('postgres', q{SELECT hitl.alter_model('m', strategy => 'margin')});
is($coord->safe_psql('postgres', q{SELECT strategy FROM hitl.models WHERE name = 'm'}),
	'margin', 'hitl.alter_model changes the strategy among those it takes');

# ---------------------------------------------------------------------
# 5. two labelers at once, on different worker nodes
# ---------------------------------------------------------------------
# unlabeled rows of each worker node's shards, three of each
sub rows_on
{
	my ($node, $n, $extra) = @_;
	$extra //= 'true';
	return $coord->safe_psql(
		'postgres', sprintf(
			q{SELECT string_agg(id::text, ',') FROM (
			  SELECT p.id FROM plain p
			  JOIN citus_shards s ON s.table_name = 'items'::regclass
			   AND s.shardid = get_shard_id_for_distribution_column('items', p.id)
			  WHERE p.lab IS NULL AND s.nodeport = %d AND %s
			  ORDER BY p.id LIMIT %d) r}, $node->port, $extra, $n));
}
my @ids_on = map { rows_on($_, 3, 'p.id > 1000') } @workers;
like($ids_on[$_], qr/^\d+,\d+,\d+$/, $workers[$_]->name . ': three unlabeled rows there')
  foreach (0, 1);

my @labelers = map { $coord->background_psql('postgres') } (0, 1);
$_->query_safe('BEGIN') foreach @labelers;
foreach my $i (0, 1)
{
	$labelers[$i]->query_safe(qq{UPDATE items SET lab = $RULE WHERE id IN ($ids_on[$i])});
}
# both transactions hold their labels uncommitted: none is taken yet
is($coord->safe_psql('postgres',
		qq{SELECT count(*) FROM hitl.label_log WHERE model = 'm' AND (row_key ->> 'id')::int IN ($ids_on[0], $ids_on[1])}),
	'0', 'uncommitted labels are not in the coordinator\'s log');
$_->query_safe('COMMIT') foreach @labelers;
$_->quit foreach @labelers;
$coord->safe_psql('postgres', qq{UPDATE plain SET lab = $RULE WHERE id IN ($ids_on[0], $ids_on[1])});

my $v5 = $coord->safe_psql('postgres', q{SELECT hitl.wait('m', '60 s')});
cmp_ok($v5, '>=', 3, 'hitl.wait: a new version with the two labelers\' labels');
is( $coord->safe_psql(
		'postgres',
		qq{SELECT count(*) || ' ' || count(DISTINCT row_key) || ' ' || count(*) FILTER (WHERE new_label IS NOT NULL)
		   FROM hitl.label_log WHERE model = 'm' AND (row_key ->> 'id')::int IN ($ids_on[0], $ids_on[1])}),
	'6 6 6',
	'each of the six labels arrived once');
is($coord->safe_psql('postgres', q{SELECT count(*) FROM hitl.label_log WHERE model = 'm'}),
	'11', 'the log of m has 11 entries in all');
is( $coord->safe_psql('postgres',
		q{SELECT n_labeled FROM hitl.model_versions v JOIN hitl.models m ON m.name = v.model AND m.current_version = v.version WHERE m.name = 'm'}),
	'311', 'the current version learned from 311 labels');
settle();
is(score_differences(), '0', 'the scores are the plain model\'s with the same labels');
$diff = version_difference();
cmp_ok($diff, '>=', 0, 'as many coefficients');
cmp_ok($diff, '<=', 1e-9, 'the plain model\'s coefficients to 1e-9');

# ---------------------------------------------------------------------
# 6. a worker node restarted while a scoring waits on one of its shards
# ---------------------------------------------------------------------
# a shard on the second worker node, locked there: the scoring's UPDATE
# waits for it on that node
my $locked_id = rows_on($workers[1], 1);
my $locked_shard_id = $coord->safe_psql('postgres',
	qq{SELECT get_shard_id_for_distribution_column('items', $locked_id)});
my $locked_shard = "items_$locked_shard_id";
# scores gone from a tenth of the rows, for the scoring to write them again
$coord->safe_psql('postgres',
	q{UPDATE items SET lab_prediction = NULL, lab_confidence = NULL, lab_uncertainty = NULL WHERE id % 10 = 3});

my $holder = $workers[1]->background_psql('postgres');
$holder->query_safe('BEGIN');
# (a shard is Citus' to change: this session takes a lock of it all the same)
$holder->query_safe('SET LOCAL citus.enable_manual_changes_to_shards = on');
$holder->query_safe("LOCK TABLE $locked_shard IN SHARE MODE");

my $scorer = $coord->background_psql('postgres', on_error_stop => 0);
$scorer->query_until(qr/scoring/, "\\echo scoring\nSELECT hitl.score('m');\n\\echo scored\n");
ok( $workers[1]->poll_query_until(
		'postgres',
		qq{SELECT EXISTS (SELECT 1 FROM pg_locks WHERE relation = '$locked_shard'::regclass AND NOT granted)}),
	'the scoring waits for the locked shard on the second worker node');

$workers[0]->restart;
is($workers[0]->safe_psql('postgres', q{SELECT 1}), '1', 'the first worker node is back');
$holder->query_safe('COMMIT');
$holder->quit;
# Citus ends the statement with the node's error, or passes on the node's
# FATAL and ends the coordinator's session too (as with any UPDATE of the
# shards)
$scorer->query_until(qr/scored/, '');
my $scorer_err = $scorer->{stderr};
eval { $scorer->quit };
note("the scoring during the restart: " . ($scorer_err eq '' ? 'no error' : $scorer_err));
like($scorer_err, qr/(ERROR|FATAL):  .*(connection|terminating)/, 'the scoring that waited during the restart fails');
note('the model then: ' . $coord->safe_psql('postgres',
	q{SELECT concat_ws(' | ', status, current_version, scored_version, failures, last_error) FROM hitl.models WHERE name = 'm'}));

# the scoring fails as a whole: no row of either node was written
is( $coord->safe_psql('postgres', q{SELECT count(*) FROM items WHERE lab_prediction IS NULL}),
	'200', 'the rows whose scores went are still without them');

is($coord->safe_psql('postgres', q{SELECT hitl.score('m')}),
	'200', 'with the node back, hitl.score writes those 200 rows');
my $current = $coord->safe_psql('postgres', q{SELECT current_version FROM hitl.models WHERE name = 'm'});
is(state_of('m'), "scored $current $current", 'the model is scored with its current version');
is($coord->safe_psql('postgres', q{SELECT last_error IS NULL FROM hitl.models WHERE name = 'm'}),
	't', 'with no error left on it');
is(score_differences(), '0', 'the scores are the plain model\'s again');

# ---------------------------------------------------------------------
# 7. a shard moved to the other worker node between two trainings
# ---------------------------------------------------------------------
# a shard on the first worker node holding labeled rows and unlabeled ones
my ($moved, $moved_labeled) = split /\|/, $coord->safe_psql(
	'postgres', sprintf(
		q{SELECT s.shardid, count(*) FROM plain p
		  JOIN citus_shards s ON s.table_name = 'items'::regclass
		   AND s.shardid = get_shard_id_for_distribution_column('items', p.id)
		  WHERE s.nodeport = %d AND p.lab IS NOT NULL
		  GROUP BY s.shardid ORDER BY s.shardid LIMIT 1}, $workers[0]->port));
cmp_ok($moved_labeled, '>', 0, "shard $moved on the first worker node holds labeled rows");
my $log_before = $coord->safe_psql('postgres', q{SELECT count(*) FROM hitl.label_log WHERE model = 'm'});
$coord->safe_psql(
	'postgres',
	sprintf(
		q{SELECT citus_move_shard_placement(%d, '%s', %d, '%s', %d, shard_transfer_mode => 'block_writes')},
		$moved, $workers[0]->host, $workers[0]->port, $workers[1]->host, $workers[1]->port));
is( $coord->safe_psql('postgres', qq{SELECT nodeport FROM citus_shards WHERE shardid = $moved}),
	$workers[1]->port, "shard $moved is on the second worker node now");
# the label log's triggers but TRUNCATE's, named after the shard (a shard made by
# the move also has the table's TRUNCATE trigger, which Citus leaves off
# the shards it makes when a trigger is created)
my $row_triggers = q{SELECT string_agg(regexp_replace(tgname, '_[0-9]+$', ''), ',' ORDER BY tgname)
	FROM pg_trigger WHERE tgrelid = 'items_%s'::regclass AND NOT tgisinternal AND tgtype & 32 = 0};
is($workers[1]->safe_psql('postgres', sprintf($row_triggers, $moved)),
	'hitl_m_label_del,hitl_m_label_ins,hitl_m_label_row,hitl_m_label_upd',
	'the moved shard has the label log\'s triggers of INSERT, DELETE and UPDATE');
is($workers[1]->safe_psql('postgres', sprintf($row_triggers, $locked_shard_id)),
	'hitl_m_label_del,hitl_m_label_ins,hitl_m_label_row,hitl_m_label_upd',
	'as a shard that stayed has');
# the move copied rows, labeled ones among them: no entry for them
foreach my $w (@workers)
{
	ok($w->poll_query_until('postgres', q{SELECT count(*) = 0 FROM hitl.label_log}),
		$w->name . ': no label log entry after the move');
}
is($coord->safe_psql('postgres', q{SELECT count(*) FROM hitl.label_log WHERE model = 'm'}),
	$log_before, 'the coordinator\'s log got no entry from the move');

my $moved_id = $coord->safe_psql('postgres',
	qq{SELECT min(id) FROM plain WHERE lab IS NULL AND get_shard_id_for_distribution_column('items', id) = $moved});
like($moved_id, qr/^\d+$/, "an unlabeled row of shard $moved");
$coord->safe_psql('postgres', qq{UPDATE $_ SET lab = $RULE WHERE id = $moved_id}) foreach ('items', 'plain');
my $v7 = $coord->safe_psql('postgres', q{SELECT hitl.wait('m', '60 s')});
cmp_ok($v7, '>', $current, 'hitl.wait: a new version after the label on the moved shard');
is( $coord->safe_psql(
		'postgres',
		qq{SELECT count(*) || ' ' || max(new_label) FROM hitl.label_log WHERE model = 'm' AND row_key = '{"id": $moved_id}'}),
	'1 ' . $coord->safe_psql('postgres', qq{SELECT lab FROM plain WHERE id = $moved_id}),
	'its entry arrived, once');
is( $coord->safe_psql('postgres',
		q{SELECT n_labeled FROM hitl.model_versions v JOIN hitl.models m ON m.name = v.model AND m.current_version = v.version WHERE m.name = 'm'}),
	'312', 'the new version learned from 312 labels');
is(state_of('m'), "scored $v7 $v7", 'and it is scored');
settle();
is(score_differences(), '0', 'the scores are those of the plain model with the same labels');
$diff = version_difference();
cmp_ok($diff, '>=', 0, 'as many coefficients');
cmp_ok($diff, '<=', 1e-9, 'the plain model\'s coefficients to 1e-9');
is( $coord->safe_psql(
		'postgres',
		q{SELECT string_agg(id::text, ',') FROM (SELECT id FROM m_review_queue LIMIT 20) v}),
	$coord->safe_psql(
		'postgres',
		q{SELECT string_agg(id::text, ',') FROM (SELECT id FROM p_review_queue LIMIT 20) v}),
	'the review view is the plain model\'s');

# ---------------------------------------------------------------------
# 8. what a model on a distributed table cannot do
# ---------------------------------------------------------------------
foreach my $call (
	q{SELECT hitl.auto_label('m')},
	q{SELECT * FROM hitl.next_rows('m', 3)},
	q{SELECT hitl.skip('m', '{"id": 1500}')},
	q{SELECT * FROM hitl.slice_metrics('m', 'x2')})
{
	like(
		error_of($call),
		qr/ERROR:  0A000: table public\.items of model "m" is a Citus distributed table: hitl does not support this there yet/,
		"$call: 0A000");
}

# hitl.confirm_label finds a labeled row on its shard
is(error_of(q{SELECT hitl.confirm_label('m', '{"id": 1}')}), '',
	'hitl.confirm_label of a labeled row works');
is( $coord->safe_psql('postgres',
		q{SELECT string_agg(row_key::text || label, ',') FROM hitl.label_confirmations WHERE model = 'm'}),
	'{"id": 1}' . $coord->safe_psql('postgres', q{SELECT lab FROM items WHERE id = 1}),
	'and records the confirmation of its label');
my $unlabeled = $coord->safe_psql('postgres', q{SELECT max(id) FROM plain WHERE lab IS NULL});
like(error_of(qq{SELECT hitl.confirm_label('m', '{"id": $unlabeled}')}),
	qr/ERROR:  55000: row \{"id": $unlabeled\} of model "m" is not labeled/,
	'hitl.confirm_label of an unlabeled row: 55000');

$coord->safe_psql(
	'postgres', q{
SET client_min_messages = warning;
CREATE TABLE docs (id int PRIMARY KEY, body text, x1 float8, lab text);
INSERT INTO docs SELECT i, 'word' || (i % 5), i, CASE WHEN i <= 20 THEN CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 100) i;
SELECT create_distributed_table('docs', 'id');
CREATE TABLE refs (id int PRIMARY KEY, x1 float8, lab text);
INSERT INTO refs SELECT id, x1, lab FROM plain;
SELECT create_reference_table('refs');
});
my $err = error_of(q{SELECT hitl.create_model('d_text', 'docs', 'lab', ARRAY['x1', 'body'])});
like($err, qr/ERROR:  0A000: a model on distributed table (public\.)?docs cannot have text features/,
	'create_model with a text feature on a distributed table: 0A000');
$err = error_of(q{SELECT hitl.create_model('d_diverse', 'docs', 'lab', ARRAY['x1'], strategy => 'diverse')});
like($err, qr/ERROR:  0A000: a model on distributed table (public\.)?docs cannot have strategy 'diverse'/,
	'create_model with strategy diverse on a distributed table: 0A000');
$err = error_of(q{SELECT hitl.create_model('r', 'refs', 'lab', ARRAY['x1'])});
like($err, qr/ERROR:  0A000: table (public\.)?refs is a Citus reference table: hitl does not support it/,
	'create_model on a reference table: 0A000');
is( $coord->safe_psql(
		'postgres',
		q{SELECT string_agg(name, ',' ORDER BY name) FROM hitl.models}),
	'm,p', 'none of them was registered');
is( $coord->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_attribute WHERE attrelid IN ('docs'::regclass, 'refs'::regclass) AND attnum > 0 AND NOT attisdropped}),
	'7', 'nor added columns to their tables');

# ---------------------------------------------------------------------
# 9. hitl.drop_model
# ---------------------------------------------------------------------
sub shard_triggers
{
	my ($node) = @_;
	# (Citus hides shards from pg_class unless told not to)
	return $node->safe_psql(
		'postgres',
		q{SET citus.override_table_visibility = off;
		  SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
		  WHERE c.relname ~ '^items_[0-9]+$' AND NOT t.tgisinternal});
}
cmp_ok(shard_triggers($_), '>', 0, $_->name . ': the shards have label triggers before the drop')
  foreach @workers;

$err = error_of(q{SELECT hitl.drop_model('m')});
is($err, '', 'hitl.drop_model on the coordinator works');
# the placement the move left on the first worker node goes
$coord->safe_psql('postgres', q{CALL citus_cleanup_orphaned_resources()});
foreach my $w (@workers)
{
	note($w->name . ': triggers left on the shards: '
		  . $w->safe_psql(
			'postgres',
			q{SET citus.override_table_visibility = off;
			  SELECT coalesce(string_agg(c.relname || '.' || t.tgname, ' ' ORDER BY c.relname, t.tgname), 'none')
			  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
			  WHERE c.relname ~ '^items_[0-9]+$' AND NOT t.tgisinternal}));
}
is($coord->safe_psql('postgres', q{SELECT string_agg(name, ',') FROM hitl.models}),
	'p', 'the model is gone from the coordinator');
is( $coord->safe_psql('postgres',
		q{SELECT count(*) FROM pg_trigger WHERE tgrelid = 'items'::regclass AND NOT tgisinternal}),
	'0', 'no trigger left on the distributed table');
# (the shard the move made included, whose TRUNCATE trigger came with it)
is(shard_triggers($_), '0', $_->name . ': no trigger left on the shards') foreach @workers;
is($coord->safe_psql('postgres', q{SELECT to_regclass('m_review_queue') IS NULL}),
	't', 'the review view is gone');

foreach my $w (@workers)
{
	is( $w->safe_psql(
			'postgres',
			q{SELECT (SELECT count(*) FROM hitl.models) || ' ' || (SELECT count(*) FROM hitl.model_versions)
					 || ' ' || (SELECT count(*) FROM hitl.label_log)}),
		'0 0 0', $w->name . ': the mirror of the model is gone, its versions and log with it');
}
# the labels of the table change as on any distributed table, and log
# nothing anywhere
is( $coord->safe_psql(
		'postgres', q{
UPDATE items SET lab = 'b' WHERE id IN (1700, 1701);
INSERT INTO items (id, x1, x2, lab) VALUES (5000, 1, 1, 'a');
DELETE FROM items WHERE id = 2;
SELECT count(*) FROM items WHERE (id IN (1700, 1701) AND lab = 'b') OR id = 5000}),
	'3', 'without the model, labels and rows change as on any distributed table');
is($_->safe_psql('postgres', q{SELECT count(*) FROM hitl.label_log}),
	'0', $_->name . ': nothing logged') foreach @workers;
is($coord->safe_psql('postgres', q{SELECT count(*) FROM hitl.label_log WHERE model = 'm'}),
	'0', 'nor on the coordinator');

# a model of the same name again: it replaces whatever the worker nodes kept
is( $coord->safe_psql(
		'postgres',
		qq{SELECT hitl.create_model('m', 'items', 'lab', ARRAY['x1', 'x2'], options => $OPTIONS)}),
	'1', 'a model of the same name on the table: version 1');
is( $coord->safe_psql('postgres', q{SELECT count(*) FROM items WHERE lab_prediction IS NULL}),
	'0', 'it scored every row');
$coord->safe_psql('postgres', q{UPDATE items SET lab = 'a' WHERE id = 1702});
is($coord->safe_psql('postgres', q{SELECT hitl.wait('m', '60 s')}),
	'2', 'its labels are taken from the worker nodes: version 2');
is( $coord->safe_psql('postgres',
		q{SELECT string_agg(row_key::text || new_label, ',') FROM hitl.label_log WHERE model = 'm'}),
	'{"id": 1702}a', 'its log has that label alone');

done_testing();
