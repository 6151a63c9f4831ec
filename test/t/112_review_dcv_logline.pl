# The worker logs "version N cross-validated after its scoring" once, when
# it did that cross-validation, and not again at each later rescoring of the
# model (here after a row is inserted).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/lib";
use HitlTest qw(worker_node three_class_table);

my $node = worker_node('review_dcv_logline', 'shop');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('shop', $query);
}

sql(three_class_table('t'));
sql(q{
SELECT hitl.create_model('m', 't', 'lab', ARRAY['x1', 'x2'], options => '{"cv_folds": 5}');
});
my $offset = -s $node->logfile;
sql(q{UPDATE t SET lab = 'a' WHERE id = 301});
is(sql(q{SELECT hitl.wait('m', '120 s')}), '2', 'the worker trains and scores version 2');
my $idle = q{SELECT NOT (v.metrics ? 'cv_pending') AND NOT EXISTS (SELECT FROM pg_stat_activity
	WHERE backend_type = 'hitl worker' AND datname = 'shop' AND state = 'active')
	FROM hitl.model_versions v WHERE v.model = 'm' AND v.version = 2};
ok($node->poll_query_until('shop', $idle), 'and cross-validates it');

# rows come: the worker rescores, three times
for my $id (3001 .. 3003)
{
	sql(qq{INSERT INTO t VALUES ($id, 1, 1, NULL)});
	ok($node->poll_query_until('shop',
			qq{SELECT lab_prediction IS NOT NULL FROM t WHERE id = $id}),
		"the worker scores row $id");
	ok($node->poll_query_until('shop', $idle), 'and is done');
}

my @cv = slurp_file($node->logfile, $offset) =~
  /^.*hitl: model "m" of database "shop": version 2 cross-validated after its scoring.*$/mg;
is(scalar @cv, 1, 'one LOG line for the one cross-validation of version 2');

done_testing();
