# What hitl does with the tables of a Citus coordinator.  create_model
# refuses a reference table, a Citus local table and a distributed table
# without a distribution column with 0A000 before it changes anything (a
# hash-distributed table takes a model: 005_distributed_models.pl); on a
# plain table of the coordinator it works as on one node.  hitl.simulate
# only reads its table: on a distributed table it gives the curves it gives
# on a plain copy of the same rows.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use HitlCitus qw(citus_cluster);

my ($coord, @workers) = citus_cluster('tables');

# 1,000 rows, the first 300 labeled a or b from a noisy rule of x1; x1 is
# distinct on every row, so every table gives its rows in one order
sub items_sql
{
	my ($table) = @_;
	return qq{
CREATE TABLE $table (id int PRIMARY KEY, x1 float8, x2 float8, lab text);
INSERT INTO $table
SELECT i, (i * 37 % 1009) / 100.0, (i * 53 % 97) / 10.0,
	   CASE WHEN i <= 300 THEN CASE WHEN (i * 37 % 1009) / 100.0 + (i % 7) / 3.0 > 6 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 1000) i;
};
}

$coord->safe_psql('postgres',
		items_sql('items')
	  . items_sql('single')
	  . items_sql('refs')
	  . items_sql('locals')
	  . items_sql('plain') . q{
SELECT create_distributed_table('items', 'id');
SELECT create_distributed_table('single', NULL);
SELECT create_reference_table('refs');
SELECT citus_add_local_table_to_metadata('locals');
});

is( $coord->safe_psql(
		'postgres',
		q{SELECT string_agg(t || ':' || coalesce(hitl._citus_table_kind(t::regclass), '-'), ' ' ORDER BY t)
		  FROM unnest(ARRAY['items', 'locals', 'plain', 'refs']) t}),
	'items:distributed locals:local plain:- refs:reference',
	'hitl._citus_table_kind tells the tables apart');

# create_model on the tables of Citus' that hitl does not build models on:
# 0A000 with its message and hint.  (A hash-distributed table takes a model:
# test/citus/005_distributed_models.pl.)
foreach my $case (
	[ 'refs', 'reference', 'is a Citus reference table' ],
	[ 'locals', 'local', 'is a Citus local table' ],
	[ 'single', 'distributed', 'is distributed by Citus without a hash distribution column' ])
{
	my ($table, $kind, $said) = @$case;
	my ($stdout, $stderr);
	my $rc = $coord->psql(
		'postgres',
		"\\set VERBOSITY verbose\nSET citus.enable_unsafe_triggers = on;\n"
		  . "SELECT hitl.create_model('m_$table', '$table', 'lab', ARRAY['x1', 'x2'])",
		stdout => \$stdout,
		stderr => \$stderr);
	isnt($rc, 0, "create_model on the $kind table $table fails");
	like(
		$stderr,
		qr/ERROR:  0A000: table public\.$table \Q$said\E: hitl does not support it/,
		"$table: 0A000, naming Citus and the kind of table");
	like(
		$stderr,
		qr/HINT:  Build the model on a plain table \(undistribute_table\(\) makes one of it\) or on a hash-distributed one; hitl\.simulate reads any table\./,
		"$table: the hint");
}

# nothing was left behind: no model, no output column, no trigger, no view
is($coord->safe_psql('postgres', q{SELECT count(*) FROM hitl.models}),
	'0', 'no model was registered');
is( $coord->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_attribute
		  WHERE attrelid IN ('single'::regclass, 'refs'::regclass, 'locals'::regclass)
			AND attnum > 0 AND NOT attisdropped}),
	'12', 'the tables keep their own four columns each');
is( $coord->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_trigger
		  WHERE tgrelid IN ('single'::regclass, 'refs'::regclass, 'locals'::regclass)
			AND NOT tgisinternal}),
	'0', 'no trigger on them');
is( $coord->safe_psql('postgres',
		q{SELECT count(*) FROM pg_class WHERE relname LIKE 'm\_%' AND relkind = 'v'}),
	'0', 'no review view');
# (Citus hides its shards from pg_class unless told otherwise)
my ($shards, $shard_columns) = (0, 0);
foreach my $w (@workers)
{
	my ($n, $cols) = split /\|/,
	  $w->safe_psql(
		'postgres',
		q{SET citus.override_table_visibility = off;
		  SELECT (SELECT count(*) FROM pg_class WHERE relname ~ '^single_[0-9]+$' AND relkind = 'r'),
				 (SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
				  WHERE c.relname ~ '^single_[0-9]+$' AND a.attname LIKE 'lab\_%')});
	$shards += $n;
	$shard_columns += $cols;
}
is("$shards $shard_columns", '1 0', 'the single shard has no output column');

# a plain table of the coordinator: a model as on one node
is( $coord->safe_psql(
		'postgres',
		q{SELECT hitl.create_model('m_plain', 'plain', 'lab', ARRAY['x1', 'x2'])}),
	'1', 'create_model on a plain table of the coordinator trains version 1');
is( $coord->safe_psql(
		'postgres',
		q{SELECT status || ' ' || (SELECT count(*) FROM plain WHERE lab_prediction IS NOT NULL)
		  FROM hitl.models WHERE name = 'm_plain'}),
	'scored 1000', 'and scores every row');
cmp_ok($coord->safe_psql('postgres', q{SELECT count(*) FROM hitl.queue}),
	'>', 0, 'its review queue is filled');

# hitl.simulate on the distributed table and on a plain copy of its rows
$coord->safe_psql('postgres', q{CREATE TABLE copied AS SELECT * FROM items});
is($coord->safe_psql('postgres', q{SELECT hitl._citus_table_kind('copied')}),
	'', 'the copy is a plain table');
my $sim = q{SELECT hitl.simulate('%s', 'lab', ARRAY['x1', 'x2'], '{random,margin,entropy}',
	initial_labels => 10, batch_size => 10, budget => 120, repeats => 2, seed => 7)};
my $sim_dist = $coord->safe_psql('postgres', sprintf($sim, 'items'));
my $sim_copy = $coord->safe_psql('postgres', sprintf($sim, 'copied'));
like($sim_dist, qr/^\d+$/, 'hitl.simulate runs on the distributed table');

my $curve = q{
SELECT string_agg(concat_ws(' ', strategy, repeat, round, labels, accuracy, macro_f1, log_loss, ece, kappa),
				  E'\n' ORDER BY strategy, repeat, round)
FROM hitl.simulation_curves WHERE simulation = %d};
my $curve_dist = $coord->safe_psql('postgres', sprintf($curve, $sim_dist));
is( $coord->safe_psql(
		'postgres',
		sprintf(
			q{SELECT count(*) || ' ' || max(labels) || ' ' || count(DISTINCT strategy)
			  FROM hitl.simulation_curves WHERE simulation = %d}, $sim_dist)),
	'72 120 3',
	'its curves: 3 strategies x 2 repeats x 12 rounds, up to the budget');
is($curve_dist, $coord->safe_psql('postgres', sprintf($curve, $sim_copy)),
	'the same curves as on the plain copy');
is( $coord->safe_psql(
		'postgres',
		sprintf(
			q{SELECT count(DISTINCT full_accuracy) FROM hitl.simulations WHERE id IN (%d, %d)},
			$sim_dist, $sim_copy)),
	'1', 'the same full-data accuracy');

done_testing();
