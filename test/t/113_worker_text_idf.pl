# The worker's retraining of a text logistic model takes the current
# version's idf instead of reading every row of the table again, while the
# table has as many rows as the idf was computed over ("idf_reused" in the
# version's metrics); rows added make it compute the idf afresh.  A text
# edited without a new row leaves the idf of the fast retraining a little
# stale: the cross-validation that follows the scoring computes it afresh,
# finds other data, and trains a version with the new idf.  Scores always
# come from the version's own parameters (hitl.predict agrees).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/lib";
use HitlTest qw(worker_node docs_table);

my $node = worker_node('worker_text_idf', 'shop');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('shop', $query);
}

sql(docs_table('docs', 600, 120));
sql(q{
SELECT hitl.create_model('tm', 'docs', 'lab', ARRAY['body'], options => '{"cv_folds": 3}');
});
my $idf = q{SELECT v.version, v.metrics ? 'idf_reused', v.n_documents, md5(v.idf::text)
	FROM hitl.models m JOIN hitl.model_versions v ON v.model = m.name AND v.version = m.current_version
	WHERE m.name = 'tm'};
my (undef, $reused1, $docs1, $idf1) = split /\|/, sql($idf);
is("$reused1|$docs1", 'f|600', 'version 1 computed its idf over the 600 rows');

# a label: the worker's retraining takes version 1's idf
sql(q{UPDATE docs SET lab = 'sport' WHERE id = 121});
is(sql(q{SELECT hitl.wait('tm', '120 s', cross_validated => true)}), '2', 'a label gives version 2');
my ($v, $reused, $docs, $idf2) = split /\|/, sql($idf);
is("$v|$reused|$docs", '2|t|600', 'its idf is version 1\'s (idf_reused), over the same 600 rows');
is($idf2, $idf1, 'the same idf');
is(sql(q{SELECT count(*) FROM docs t WHERE lab_prediction IS DISTINCT FROM hitl.predict('tm', t)}), '0',
	'the stored predictions are version 2\'s');

# a row added: the idf is computed again
sql(q{INSERT INTO docs VALUES (601, 'goal goal team', NULL)});
sql(q{UPDATE docs SET lab = 'cooking' WHERE id = 122});
is(sql(q{SELECT hitl.wait('tm', '120 s', cross_validated => true)}), '3', 'another label gives version 3');
($v, $reused, $docs) = split /\|/, sql($idf);
is("$v|$reused|$docs", '3|f|601', 'a row was added: its idf is computed over the 601 rows');

# a text edited, no row added: the fast retraining reuses the idf, then the
# cross-validation after the scoring sees other data and trains afresh
sql(q{UPDATE docs SET body = 'kernel kernel kernel query' WHERE id = 400});
sql(q{UPDATE docs SET lab = 'computing' WHERE id = 123});
my $after = sql(q{SELECT hitl.wait('tm', '120 s', cross_validated => true)});
cmp_ok($after, '>=', 4, 'a label after an edit gives version 4 (or later)');
is( sql(
		q{SELECT metrics ? 'idf_reused' FROM hitl.model_versions WHERE model = 'tm' AND version = 4}),
	't', 'version 4, the fast retraining, took version 3\'s idf');
is(sql(q{SELECT metrics ? 'cv_pending' FROM hitl.model_versions WHERE model = 'tm' AND version = 4}), 't',
	'and stays pending: its data are not those its cross-validation reads');
($v, $reused, $docs) = split /\|/, sql($idf);
is("$v|$reused|$docs", '5|f|601', 'version 5, trained by the cross-validation step, computed the idf afresh');
is( sql(
		q{SELECT metrics ? 'cv_pending' OR NOT metrics ? 'cv_accuracy'
		  FROM hitl.model_versions WHERE model = 'tm' AND version = 5}),
	'f', 'and is cross-validated');
is( sql(
		q{SELECT md5(v5.idf::text) <> md5(v4.idf::text)
		  FROM hitl.model_versions v4, hitl.model_versions v5
		  WHERE v4.model = 'tm' AND v4.version = 4 AND v5.model = 'tm' AND v5.version = 5}),
	't', 'with the edited text\'s document frequencies');
is(sql(q{SELECT hitl.wait('tm', '120 s')}), '5', 'the worker scores version 5');
is(sql(q{SELECT count(*) FROM docs t WHERE lab_prediction IS DISTINCT FROM hitl.predict('tm', t)}), '0',
	'the stored predictions are version 5\'s');

done_testing();
