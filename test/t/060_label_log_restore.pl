# Restored label logs are never re-applied: a database with a naive Bayes
# text model, its versions and its label log is dumped from a cluster whose
# transaction ids are far ahead and restored into a new cluster; labels
# written there are applied incrementally, and every incremental version
# equals a full training.  Restored log ids stay below new ones.  And a
# renamed enum class makes an incremental update train from scratch, with a
# WARNING naming the model and the class.  An upgrade from 0.1.0 gives
# existing models the new triggers.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $old = PostgreSQL::Test::Cluster->new('old');
$old->init;
$old->start;

# burn transaction ids, so that the old cluster's lie far ahead of a new one's
$old->safe_psql('postgres', q{
CREATE PROCEDURE burn(n int) LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1 .. n LOOP
		PERFORM pg_current_xact_id();
		COMMIT;
	END LOOP;
END
$$;
CALL burn(20000);
});

# two naive Bayes text models on one table: inc is updated incrementally,
# full trained from scratch each time, for comparison
$old->safe_psql('postgres', q{
CREATE EXTENSION hitl;
CREATE TABLE docs (id int PRIMARY KEY, body text, label text);
INSERT INTO docs
SELECT i,
	   CASE i % 3 WHEN 0 THEN 'goal match team score ' || i
				  WHEN 1 THEN 'oven bake flour sugar ' || i
				  ELSE 'cpu code compile kernel ' || i END,
	   CASE WHEN i <= 45 THEN (ARRAY['sport', 'cooking', 'computing'])[i % 3 + 1] END
FROM generate_series(1, 90) i;
SELECT hitl.create_model('inc', 'docs', 'label', '{body}', algorithm => 'naive_bayes',
						 prediction_column => 'inc_p', confidence_column => 'inc_c',
						 uncertainty_column => 'inc_u', options => '{"cv_folds": 0}');
SELECT hitl.create_model('full', 'docs', 'label', '{body}', algorithm => 'naive_bayes',
						 prediction_column => 'full_p', confidence_column => 'full_c',
						 uncertainty_column => 'full_u', options => '{"cv_folds": 0}');
});

# Train inc incrementally and full from scratch; "incremental|same" where
# same is t when both versions hold the same statistics (a function, dumped
# with the database, whose second statement sees the versions)
$old->safe_psql('postgres', q{
CREATE FUNCTION compare() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	inc_version int := hitl.train('inc', incremental => true);
	full_version int := hitl.train('full');
BEGIN
	RETURN (SELECT concat_ws('|', i.metrics->>'incremental',
			i.n_labeled = f.n_labeled AND i.classes = f.classes AND i.class_counts = f.class_counts
			AND i.vocabulary = f.vocabulary AND i.count_index = f.count_index
			AND (SELECT max(abs(a - b)) FROM unnest(i.counts, f.counts) u(a, b)) <= 1e-9)
			FROM hitl.model_versions i, hitl.model_versions f
			WHERE i.model = 'inc' AND i.version = inc_version
			  AND f.model = 'full' AND f.version = full_version);
END
$$;
});
my $compare = 'SELECT compare()';

# labels in the old cluster: new ones, then a swap (class totals unchanged)
$old->safe_psql('postgres', q{
UPDATE docs SET label = (ARRAY['sport', 'cooking', 'computing'])[id % 3 + 1] WHERE id BETWEEN 46 AND 48;
});
is($old->safe_psql('postgres', $compare), 'true|t', 'old cluster: an incremental update equals a full training');
$old->safe_psql('postgres', q{
UPDATE docs SET label = CASE id WHEN 1 THEN 'sport' ELSE 'cooking' END WHERE id IN (1, 3);
});
is($old->safe_psql('postgres', $compare), 'true|t', 'old cluster: a swap of two labels too');
# entries no version includes yet: a label set, two others swapped
$old->safe_psql('postgres', q{
UPDATE docs SET label = 'computing' WHERE id = 50;
UPDATE docs SET label = CASE id WHEN 2 THEN 'cooking' ELSE 'computing' END WHERE id IN (2, 4);
});
my $old_xid = $old->safe_psql('postgres', 'SELECT pg_current_xact_id()');
my $old_log = $old->safe_psql('postgres', q{SELECT count(*), max(id) FROM hitl.label_log});
is($old_log, '16|16', 'old cluster: eight log entries per model');

my $dump = $old->basedir . '/hitl.dump';
$old->command_ok([ 'pg_dump', '--no-sync', '-Fc', '-f', $dump, '-d', $old->connstr('postgres') ],
	'pg_dump of the database');
$old->stop;

# a new cluster, far behind in transaction ids
my $new = PostgreSQL::Test::Cluster->new('new');
$new->init;
$new->start;
cmp_ok($new->safe_psql('postgres', 'SELECT pg_current_xact_id()'), '<', $old_xid - 15000,
	'the new cluster\'s transaction ids are far behind the old one\'s');
$new->safe_psql('postgres', 'CREATE DATABASE restored');
$new->command_ok([ 'pg_restore', '--exit-on-error', '-d', $new->connstr('restored'), $dump ],
	'pg_restore into the new cluster');

is( $new->safe_psql('restored', q{SELECT count(*), max(id), count(*) FILTER (WHERE txid IS NULL) FROM hitl.label_log}),
	'16|16|16', 'the restored log entries are there, with no transaction id of the other cluster');
is($new->safe_psql('restored', q{SELECT array_agg(model ORDER BY model) FROM hitl.restored_logs}),
	'{"",full,inc}', 'the restore is recorded for both models, and for any model');

# labels written in the new cluster, then incremental updates
$new->safe_psql('restored', q{
UPDATE docs SET label = (ARRAY['sport', 'cooking', 'computing'])[id % 3 + 1] WHERE id BETWEEN 51 AND 53;
});
is( $new->safe_psql('restored', q{SELECT count(*), count(DISTINCT id), max(id) FROM hitl.label_log}),
	'22|22|22', 'pg_dump kept the identity sequence: new log entries get ids after the restored ones');
is($new->safe_psql('restored', $compare), 'false|t',
	'first update after the restore: its restored version is not trusted, it trains from scratch');
$new->safe_psql('restored', q{
UPDATE docs SET label = (ARRAY['sport', 'cooking', 'computing'])[id % 3 + 1] WHERE id BETWEEN 54 AND 55;
UPDATE docs SET label = CASE id WHEN 5 THEN 'cooking' ELSE 'computing' END WHERE id IN (5, 7);
});
is($new->safe_psql('restored', $compare), 'true|t',
	'the next update applies only the new changes, never the restored ones: it equals a full training');
$new->safe_psql('restored', q{
UPDATE docs SET label = NULL WHERE id = 9;
UPDATE docs SET label = 'sport' WHERE id = 56;
});
is($new->safe_psql('restored', $compare), 'true|t', 'and so does the one after');
is( $new->safe_psql('restored', q{SELECT count(*) FROM hitl.label_log WHERE txid IS NULL}),
	'16', 'the restored entries keep no transaction id');

# ---------------------------------------------------------------------------
# a renamed enum class
# ---------------------------------------------------------------------------

$new->safe_psql('restored', q{
CREATE TYPE verdict AS ENUM ('no', 'yes');
CREATE TABLE en (id int PRIMARY KEY, a int, b int, lab verdict);
INSERT INTO en
SELECT i, i % 5, (i * 3) % 7, CASE WHEN i <= 30 THEN CASE WHEN i % 5 < 2 THEN 'no' ELSE 'yes' END END::verdict
FROM generate_series(1, 60) i;
SELECT hitl.create_model('en', 'en', 'lab', '{a,b}', algorithm => 'naive_bayes', options => '{"cv_folds": 0}');
ALTER TYPE verdict RENAME VALUE 'yes' TO 'accepted';
UPDATE en SET lab = 'accepted' WHERE id = 31;
});
my ($stdout, $stderr);
$new->psql('restored', q{SELECT hitl.train('en', incremental => true)},
	stdout => \$stdout, stderr => \$stderr, on_error_die => 1);
is($stdout, '2', 'an incremental update after an enum value was renamed records version 2');
like($stderr, qr/WARNING:  class "yes" of model "en" is no longer a value of its label type/,
	'with a WARNING naming the class and the model');
is( $new->safe_psql('restored', q{SELECT metrics->>'incremental', classes FROM hitl.model_versions
								   WHERE model = 'en' AND version = 2}),
	'false|{no,accepted}', 'trained from scratch, on the renamed class');
cmp_ok($new->safe_psql('restored', q{SELECT hitl.score('en')}), '>', 0, 'and scoring works');

# ---------------------------------------------------------------------------
# an upgrade from 0.1.0 gives existing models the new update triggers and
# takes INSERT on the log from PUBLIC
# ---------------------------------------------------------------------------

$new->safe_psql('postgres', 'CREATE DATABASE upgraded');
$new->safe_psql('upgraded', q{
CREATE EXTENSION hitl VERSION '0.1.0';
CREATE TABLE t (id int PRIMARY KEY, x float8, pending text, lab text);
INSERT INTO t SELECT i, i % 10, NULL, CASE WHEN i <= 20 THEN CASE WHEN i % 10 < 5 THEN 'lo' ELSE 'hi' END END
FROM generate_series(1, 40) i;
SELECT hitl.create_model('m', 't', 'lab', '{x}', options => '{"cv_folds": 0}');
CREATE FUNCTION take_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.pending IS NOT NULL THEN
		NEW.lab := NEW.pending;
		NEW.pending := NULL;
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER a_pending BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION take_pending();
ALTER EXTENSION hitl UPDATE;
UPDATE t SET pending = 'hi' WHERE id = 21;
});
is( $new->safe_psql('upgraded', q{SELECT extversion FROM pg_extension WHERE extname = 'hitl'}),
	'0.2.0', 'the extension was updated to 0.2.0');
is( $new->safe_psql('upgraded', q{SELECT count(*) FROM pg_trigger WHERE tgrelid = 't'::regclass
								  AND tgname LIKE 'hitl_m_label_%' AND tgattr = ''}),
	'5', 'the model\'s five triggers have no column list any more');
is($new->safe_psql('upgraded', q{SELECT row_key, old_label, new_label FROM hitl.label_log}),
	'{"id": 21}||hi', 'a label set by a BEFORE trigger is logged after the upgrade');
is( $new->safe_psql('upgraded', q{SELECT has_any_column_privilege('public', 'hitl.label_log', 'INSERT')}),
	'f', 'PUBLIC may no longer insert into the log');

$new->stop;

done_testing();
