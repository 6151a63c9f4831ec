# Auto-labeling in the worker takes its threshold from the out-of-fold
# store of the version that scored, and hitl.auto_labels.version is "the
# version whose prediction and threshold decided it".  So the worker does
# not auto-label while the current version's cross-validation is pending
# (here its deferred cross-validation could not resolve it at once: a
# labeled row's feature changed while the worker scored, see
# 112_review_dcv_stuck.pl); it does once the version has its own store.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/lib";
use HitlTest qw(worker_node);

my $node = worker_node('review_dcv_autolabel', 'shop');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('shop', $query);
}

# an easy rule: the model is sure of most rows
sql(q{
CREATE TABLE t (id int PRIMARY KEY, x1 float8, x2 float8, lab text);
INSERT INTO t SELECT i, (i * 37 % 101) / 10.0, (i * 53 % 97) / 10.0,
	CASE WHEN i <= 300 THEN CASE WHEN (i * 37 % 101) < 50 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 3000) i;
SELECT hitl.create_model('m', 't', 'lab', ARRAY['x1', 'x2'], options => '{"cv_folds": 5}');
CREATE TABLE flag (done bool);
INSERT INTO flag VALUES (false);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF (SELECT backend_type FROM pg_stat_activity WHERE pid = pg_backend_pid()) = 'hitl worker'
	   AND NOT (SELECT done FROM public.flag) THEN
		UPDATE public.flag SET done = true;
		UPDATE public.t SET x2 = x2 + 0.5 WHERE id = 5;
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER touch AFTER UPDATE ON t FOR EACH STATEMENT EXECUTE FUNCTION touch();
SELECT hitl.alter_model('m', options => '{"auto_label_precision": 0.9}');
});
ok(defined sql(q{SELECT hitl._auto_label_threshold('m', 0.9)}), 'version 1 has a threshold for 0.9');

sql(q{UPDATE t SET lab = 'a' WHERE id = 301});
# (hitl.wait may already see version 3, which the cross-validation step
# trains on the row the trigger changed)
cmp_ok(sql(q{SELECT hitl.wait('m', '120 s')}), '>=', 2, 'the worker trains and scores version 2');
ok( $node->poll_query_until(
		'shop', q{SELECT EXISTS (SELECT FROM hitl.auto_labels WHERE model = 'm')}),
	'and auto-labels');
is( sql(
		q{SELECT count(*) FROM hitl.auto_labels a
		  WHERE a.model = 'm' AND NOT EXISTS (SELECT FROM hitl.oof_predictions o
			  WHERE o.model = 'm' AND o.version = a.version)
			AND NOT EXISTS (SELECT FROM hitl.model_versions v
			  WHERE v.model = 'm' AND v.version = a.version AND NOT v.metrics ? 'cv_pending'
				AND v.metrics ? 'cv_deferred_ms')}),
	'0', 'every machine label was decided by a version with the out-of-fold store of its own');
diag(sql(q{SELECT a.version, count(*), (SELECT string_agg(DISTINCT o.version::text, ',') FROM hitl.oof_predictions o WHERE o.model = 'm')
	FROM hitl.auto_labels a WHERE a.model = 'm' GROUP BY 1}));

done_testing();
