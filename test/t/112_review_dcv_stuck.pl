# A version whose cross-validation the worker deferred must not stay
# pending for good when what it learned from changes without a label (the
# worker retrains on labels only): the deferred cross-validation
# (TRAIN_CV_ONLY) finds the training's hash changed and trains a new
# version that cross-validates at once.  Here a feature of a labeled row
# changes while the worker scores the new version (a trigger of the table,
# fired by the scoring's UPDATE, stands for a user's concurrent UPDATE; so
# would an alter_model of cv_folds); then, for a text model, a row is
# inserted (the idf changes).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/lib";
use HitlTest qw(worker_node three_class_table docs_table poll_true);

my $node = worker_node('review_dcv_stuck', 'shop');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('shop', $query);
}

sql(three_class_table('t'));
sql(q{
SELECT hitl.create_model('m', 't', 'lab', ARRAY['x1', 'x2'], options => '{"cv_folds": 5}');
CREATE TABLE flag (done bool);
INSERT INTO flag VALUES (false);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF (SELECT backend_type FROM pg_stat_activity WHERE pid = pg_backend_pid()) = 'hitl worker'
	   AND NOT (SELECT done FROM public.flag) THEN
		UPDATE public.flag SET done = true;
		UPDATE public.t SET x1 = x1 + 1 WHERE id = 5;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER touch AFTER UPDATE ON t FOR EACH STATEMENT EXECUTE FUNCTION touch();
});
is(sql(q{SELECT current_version, scored_version FROM hitl.models WHERE name = 'm'}), '1|1',
	'version 1 is trained and scored');

sql(q{UPDATE t SET lab = 'a' WHERE id = 301});
# (by the time hitl.wait looks, the worker may already have replaced
# version 2 by version 3: the cross-validation step follows at once)
cmp_ok(sql(q{SELECT hitl.wait('m', '120 s')}), '>=', 2, 'the worker trains and scores version 2');
is(sql(q{SELECT done FROM flag}), 't', 'a labeled row\'s feature changed during the scoring');

my $idle = q{SELECT done AND NOT EXISTS (SELECT FROM pg_stat_activity
	WHERE backend_type = 'hitl worker' AND datname = 'shop' AND state = 'active') FROM flag};
ok($node->poll_query_until('shop', $idle), 'the worker is done with the model');

# the table changes: the worker rescores, and looks at the pending version again
sql(q{INSERT INTO t VALUES (3001, 1, 1, NULL)});
ok(poll_true($node, 'shop', q{SELECT lab_prediction IS NOT NULL FROM t WHERE id = 3001}, 150),
	'the worker rescores after an insert');
ok($node->poll_query_until('shop', $idle), 'and is done again');

is( sql(
		q{SELECT v.metrics ? 'cv_pending', v.metrics ? 'accuracy_from'
		  FROM hitl.models m JOIN hitl.model_versions v ON v.model = m.name AND v.version = m.current_version
		  WHERE m.name = 'm'}),
	'f|f', 'the current version has figures of its own');
is(sql(q{SELECT current_version FROM hitl.models WHERE name = 'm'}), '3',
	'a new version, trained on the changed rows and cross-validated at once, replaced version 2');

# ---- a text model: a row inserted while the worker scores the new version
# changes the idf (n_documents), and so the training's hash
sql(docs_table('docs', 300, 120));
sql(q{
SELECT hitl.create_model('tm', 'docs', 'lab', ARRAY['body'], options => '{"cv_folds": 4, "score_tolerance": 0}');
CREATE TABLE flag2 (done bool);
INSERT INTO flag2 VALUES (false);
CREATE FUNCTION add_doc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF (SELECT backend_type FROM pg_stat_activity WHERE pid = pg_backend_pid()) = 'hitl worker'
	   AND NOT (SELECT done FROM public.flag2) THEN
		UPDATE public.flag2 SET done = true;
		INSERT INTO public.docs VALUES (1000, 'goal match oven', NULL);
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER add_doc AFTER UPDATE ON docs FOR EACH STATEMENT EXECUTE FUNCTION add_doc();
});
sql(q{UPDATE docs SET lab = 'sport' WHERE id = 121});
cmp_ok(sql(q{SELECT hitl.wait('tm', '120 s')}), '>=', 2, 'the worker trains and scores version 2 of tm');
my $idle2 = q{SELECT done AND NOT EXISTS (SELECT FROM pg_stat_activity
	WHERE backend_type = 'hitl worker' AND datname = 'shop' AND state = 'active') FROM flag2};
ok($node->poll_query_until('shop', $idle2), 'a row was inserted during the scoring, the worker is done');
ok(poll_true($node, 'shop', q{SELECT lab_prediction IS NOT NULL FROM docs WHERE id = 1000}, 150),
	'the worker scores the new row');
ok($node->poll_query_until('shop', $idle2), 'and is done again');
is( sql(
		q{SELECT v.metrics ? 'cv_pending', m.current_version
		  FROM hitl.model_versions v JOIN hitl.models m ON m.name = v.model AND v.version = m.current_version
		  WHERE v.model = 'tm'}),
	'f|3', 'a version 3 of tm, trained with the new row and cross-validated at once, has figures of its own');

done_testing();
