# hitl.auto_label writes in batches of batch_size rows: a person's UPDATE of
# a row it has not reached yet does not wait for the whole auto-labeling.
# The auto-labeling is paused in its first batch by a trigger on the table
# that waits for an advisory lock the test holds; meanwhile a second session
# labels the last candidate row.  Its UPDATE completes while auto_label is
# paused, its label is kept, and auto_label's count excludes it; every
# machine label is logged once, as the model's.
#
# The auto-labeling session plans its joins as merge joins: one statement
# over all candidates then locks every one of them (sorting them) before it
# writes the first, as a hash join too big for work_mem does on a large
# table (it reads, and locks, all of its outer side in its first batch).
# Each batch locks only its own rows, whatever the plan.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use POSIX qw(ceil);

my $node = PostgreSQL::Test::Cluster->new('auto_label_batches');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'hitl'\n");
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION hitl');

# 900 rows in 3 classes, the first 180 labeled by people; the model is
# disabled (the worker leaves it)
$node->safe_psql(
	'postgres', q{
CREATE TABLE pts (id int PRIMARY KEY, x float8, y float8, lab text, truth text);
INSERT INTO pts
SELECT g, c * 2 + 1.2 * sin(g * 1.3), c + 1.1 * cos(g * 0.7), NULL, l
FROM generate_series(1, 900) g, LATERAL (SELECT g % 3 AS c) s,
	 LATERAL (SELECT (ARRAY['a', 'b', 'c'])[c + 1] AS l) s2;
SELECT hitl.create_model('m', 'pts', 'lab', '{x,y}');
SELECT hitl.alter_model('m', enabled => false);
UPDATE pts SET lab = truth WHERE id <= 180;
SELECT hitl.train('m');
SELECT hitl.score('m');
});

my $th = $node->safe_psql('postgres', q{SELECT hitl._auto_label_threshold('m', 0.95)});
ok($th ne '', "a threshold qualifies ($th)");
my $cands = "lab IS NULL AND lab_prediction IS NOT NULL AND lab_confidence >= $th";
my $n_cands = $node->safe_psql('postgres', "SELECT count(*) FROM pts WHERE $cands");
cmp_ok($n_cands, '>', 300, "more than three batches of 100 candidates ($n_cands)");

# the first candidate in the table's physical order pauses the
# auto-labeling (the first batch); the last one is labeled by a person
my $first = $node->safe_psql('postgres', "SELECT id FROM pts WHERE $cands ORDER BY ctid LIMIT 1");
my ($last, $last_pred) = split /\|/,
  $node->safe_psql('postgres',
	"SELECT id || '|' || lab_prediction FROM pts WHERE $cands ORDER BY ctid DESC LIMIT 1");
my $human = $last_pred eq 'a' ? 'b' : 'a';

$node->safe_psql(
	'postgres', qq{
CREATE FUNCTION pause_at_first() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF NEW.id = $first AND OLD.lab IS NULL AND NEW.lab IS NOT NULL THEN
		PERFORM pg_advisory_xact_lock_shared(4711);
	END IF;
	RETURN NEW;
END \$\$;
CREATE TRIGGER pause_at_first BEFORE UPDATE ON pts
	FOR EACH ROW EXECUTE FUNCTION pause_at_first();
});

# the test holds the lock the trigger waits for
my $holder = $node->background_psql('postgres');
$holder->query_safe('SELECT pg_advisory_lock(4711)');

# the auto-labeling, in batches of 100 rows
my $al = $node->background_psql('postgres');
my $al_pid = $al->query_safe('SELECT pg_backend_pid()');
$al->query_safe('SET hitl.batch_size = 100');
$al->query_safe('SET enable_hashjoin = off');
$al->query_safe('SET enable_nestloop = off');
$al->query_until(qr/labeling/,
	qq{\\echo labeling\nSELECT 'count=' || hitl.auto_label('m', 0.95, 0.05);\n\\echo labeled\n});
ok( $node->poll_query_until(
		'postgres', qq{
SELECT EXISTS (SELECT 1 FROM pg_locks
			   WHERE pid = $al_pid AND locktype = 'advisory' AND objid = 4711 AND NOT granted)}),
	'auto_label is paused at the first candidate row');

# a person labels the last candidate row meanwhile: the UPDATE completes
# (its label committed) rather than waiting on a lock auto_label holds
my $person = $node->background_psql('postgres');
my $person_pid = $person->query_safe('SELECT pg_backend_pid()');
# (the UPDATE may be over at once: "updated" can come in the same read as
# "updating", which query_until then consumes with it)
my $person_out = $person->query_until(qr/updating/,
	qq{\\echo updating\nUPDATE pts SET lab = '$human' WHERE id = $last;\n\\echo updated\n});
ok( $node->poll_query_until(
		'postgres', qq{
SELECT (SELECT lab IS NOT NULL FROM pts WHERE id = $last)
	OR EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $person_pid AND wait_event_type = 'Lock')}),
	'the person\'s UPDATE either completed or waits on a lock');
is( $node->safe_psql(
		'postgres', qq{SELECT count(*) FROM pg_stat_activity WHERE pid = $person_pid AND wait_event_type = 'Lock'}),
	'0',
	'the person\'s UPDATE of a row not yet reached does not wait on the auto-labeling');
is($node->safe_psql('postgres', "SELECT lab FROM pts WHERE id = $last"),
	$human, 'its label is committed while auto_label is still paused');
is( $node->safe_psql(
		'postgres',
		qq{SELECT count(*) FROM pg_locks WHERE pid = $al_pid AND locktype = 'advisory' AND NOT granted}),
	'1', 'auto_label is still paused');
$person->query_until(qr/updated/, '') unless $person_out =~ /updated/;

# auto_label goes on
$holder->query_safe('SELECT pg_advisory_unlock(4711)');
my $out = $al->query_until(qr/labeled/, '');
my ($count) = $out =~ /count=(\d+)/;
is($count, $n_cands - 1, 'auto_label labels every candidate but the person\'s row');
is($node->safe_psql('postgres', "SELECT lab FROM pts WHERE id = $last"),
	$human, 'the person\'s label is kept');
is($node->safe_psql('postgres', "SELECT lab = lab_prediction FROM pts WHERE id = $first"),
	't', 'the row it paused at has its prediction');
is( $node->safe_psql(
		'postgres', "SELECT count(*) FROM hitl.auto_labels WHERE row_key = '{\"id\": $last}'"),
	'0', 'the person\'s row is not a machine label');
is( $node->safe_psql(
		'postgres',
		"SELECT string_agg(source, ',') FROM hitl.label_log WHERE row_key = '{\"id\": $last}'"),
	'human', 'and is logged once, as a human label');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) || ' ' || count(DISTINCT row_key) || ' ' || count(*) FILTER (WHERE decided_version = (SELECT current_version FROM hitl.models WHERE name = 'm'))
FROM hitl.label_log WHERE model = 'm' AND source = 'model'}),
	"$count $count $count",
	'each machine label is logged once, as the model\'s, with the deciding version');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) || ' ' || count(*) FILTER (WHERE audited)
FROM hitl.auto_labels a JOIN pts p ON a.row_key = jsonb_build_object('id', p.id)
WHERE a.model = 'm' AND p.lab = a.label AND p.lab = p.lab_prediction}),
	"$count " . ceil(0.05 * $count),
	'hitl.auto_labels holds every machine label, the audited share drawn from all of them');
is( $node->safe_psql(
		'postgres', "SELECT count(*) FROM pts WHERE $cands"),
	'0', 'no candidate is left unlabeled');
is($node->safe_psql('postgres', "SELECT count(*) FROM pts WHERE id <= 180 AND lab IS DISTINCT FROM truth"),
	'0', 'no label written by people before is changed');

$holder->quit;
$al->quit;
$person->quit;
$node->stop;
done_testing();
