# A version the worker trains with its cross-validation deferred copies its
# base's figures, the confusion matrix among them.  A label of a new class
# gives a version with more classes, in another order (classes are ordered
# by the label's type): hitl.confusion, which indexes a version's
# "confusion" with the version's own classes, would then show the base's
# counts under other labels (and NULLs).  So a version whose classes differ
# from its base's is cross-validated before it is recorded, deferral or not.
# The cross-validation is held back here by a lock on hitl.oof_predictions,
# as test/t/111_deferred_cv.pl does: while it is, no version 2 comes.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/lib";
use HitlTest qw(worker_node three_class_table hold_oof_store);

my $node = worker_node('review_dcv_classes', 'shop');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('shop', $query);
}

sql(three_class_table('t'));
sql(q{
SELECT hitl.create_model('m', 't', 'lab', ARRAY['x1', 'x2'], options => '{"cv_folds": 5}');
});
is(sql(q{SELECT classes FROM hitl.model_versions WHERE model = 'm' AND version = 1}), '{a,b,c}',
	'version 1 has classes a, b, c');

my $locker = hold_oof_store($node, 'shop');

# a new class, "aa", sorted between a and b
sql(q{UPDATE t SET lab = 'aa' WHERE id IN (301, 302, 303, 304, 305, 306, 307, 308, 309, 310)});
my ($ret, $out, $err) = $node->psql('shop', q{SELECT hitl.wait('m', '3 s')});
like($err, qr/timed out waiting for model "m".*version 1 is trained/s,
	'no version 2 while its cross-validation cannot finish: a new class is not deferred');

$locker->query_safe('COMMIT');
$locker->quit;
is(sql(q{SELECT hitl.wait('m', '120 s')}), '2', 'then the worker records and scores version 2');
is( sql(q{SELECT classes, metrics ? 'cv_pending', metrics ? 'accuracy_from' FROM hitl.model_versions
		  WHERE model = 'm' AND version = 2}),
	'{a,aa,b,c}|f|f', 'version 2 has classes a, aa, b, c, and figures of its own');

# hitl.confusion of version 2 counts its own labeled rows, class by class
is( sql(
		q{SELECT string_agg(format('%s:%s', c.label, c.n), ' ' ORDER BY c.label)
		  FROM (SELECT label, sum(rows) AS n FROM hitl.confusion
				WHERE model = 'm' AND version = 2 GROUP BY label) c}),
	sql(q{SELECT string_agg(format('%s:%s', lab, n), ' ' ORDER BY lab)
		  FROM (SELECT lab, count(*) AS n FROM t WHERE lab IS NOT NULL GROUP BY lab) l}),
	'hitl.confusion shows each label\'s own rows');
is( sql(
		q{SELECT count(*) FROM hitl.confusion WHERE model = 'm' AND version = 2 AND rows IS NULL}),
	'0', 'and no NULL count');

done_testing();
