# ALTER EXTENSION hitl UPDATE from the released 0.1.0: a numeric logistic
# model and a naive Bayes text model, created and labeled under 0.1.0 by an
# unprivileged owner, keep their versions, label log, triggers and review
# views, and go on working under the current version: the worker retrains
# both on new labels (incrementally for naive Bayes), predictions are those
# of the versions, and the hardening holds (no write on hitl's tables).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'hitl'\nhitl.naptime = 300\nhitl.retrain_delay = 0\n");
$node->start;

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('postgres', $query);
}

sql(q{CREATE EXTENSION hitl VERSION '0.1.0'});
is(sql(q{SELECT extversion FROM pg_extension WHERE extname = 'hitl'}), '0.1.0', 'hitl 0.1.0 installed');

sql(q{
CREATE ROLE olga LOGIN;
CREATE ROLE lab LOGIN;
GRANT CREATE ON SCHEMA public TO olga;
SET ROLE olga;
CREATE TABLE nums (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO nums SELECT i, i % 10 + (i % 7) / 10.0, (i * 3) % 11,
	CASE WHEN i <= 60 THEN CASE WHEN i % 10 < 5 THEN 'lo' ELSE 'hi' END END
FROM generate_series(1, 300) i;
CREATE TABLE docs (id int PRIMARY KEY, body text, topic text);
INSERT INTO docs SELECT i, (ARRAY['refund charge card', 'crash error start', 'parcel delivery late'])[1 + i % 3]
	|| ' ' || i, CASE WHEN i <= 30 THEN (ARRAY['billing', 'bug', 'delivery'])[1 + i % 3] END
FROM generate_series(1, 120) i;
SELECT hitl.create_model('num', 'nums', 'lab', ARRAY['x', 'y']);
SELECT hitl.create_model('nb', 'docs', 'topic', ARRAY['body'], algorithm => 'naive_bayes');
GRANT SELECT, UPDATE ON nums, docs TO lab;
GRANT SELECT ON num_review_queue, nb_review_queue TO lab;
});
# labels under 0.1.0, through the triggers, by another role
$node->safe_psql('postgres', q{SET ROLE lab; UPDATE nums SET lab = 'lo' WHERE id = 61; UPDATE docs SET topic = 'bug' WHERE id = 31});
is(sql(q{SELECT hitl.wait('num') || '|' || hitl.wait('nb')}), '2|2', 'under 0.1.0 the worker retrains both');
my $versions_before = sql(q{SELECT string_agg(model || version || ':' || n_labeled, ',' ORDER BY model, version) FROM hitl.model_versions});
my $log_before = sql(q{SELECT count(*) || '|' || string_agg(role::text, ',' ORDER BY id) FROM hitl.label_log});
my $predict_before = sql(q{SELECT string_agg(hitl.predict('num', t), ',' ORDER BY id) FROM nums t});
my $proba_before = sql(q{SELECT string_agg(hitl.predict_proba('nb', d)::text, ',' ORDER BY id) FROM docs d});

sql(q{ALTER EXTENSION hitl UPDATE});
is(sql(q{SELECT extversion FROM pg_extension WHERE extname = 'hitl'}), '0.2.0', 'updated to 0.2.0');
is(sql(q{SELECT string_agg(c.relname || ':' || pg_get_userbyid(c.relowner), ',' ORDER BY c.relname)
		   FROM pg_class c WHERE c.relname IN ('num_audit_queue', 'nb_audit_queue')}),
	'nb_audit_queue:olga,num_audit_queue:olga', 'the models carried over get their audit views, their owner\'s');


is(sql(q{SELECT string_agg(model || version || ':' || n_labeled, ',' ORDER BY model, version) FROM hitl.model_versions}),
	$versions_before, 'every version is kept');
is(sql(q{SELECT count(*) || '|' || string_agg(role::text, ',' ORDER BY id) FROM hitl.label_log}),
	$log_before, 'the label log is kept, with its roles');
is(sql(q{SELECT string_agg(name || ':' || owner || ':' || enabled, ',' ORDER BY name) FROM hitl.models}),
	'nb:olga:true,num:olga:true', 'the models keep their owner (now a role name) and are enabled');
is(sql(q{SELECT string_agg(hitl.predict('num', t), ',' ORDER BY id) FROM nums t}), $predict_before,
	'the numeric model predicts as before');
is(sql(q{SELECT string_agg(hitl.predict_proba('nb', d)::text, ',' ORDER BY id) FROM docs d}), $proba_before,
	'the naive Bayes model gives the same probabilities');
is(sql(q{SELECT count(*) FROM pg_trigger WHERE tgrelid IN ('nums'::regclass, 'docs'::regclass) AND NOT tgisinternal
		 AND tgfoid = 'hitl._label_trigger()'::regprocedure}),
	'10', 'five label triggers on each table');
is(sql(q{SELECT string_agg(tgname, ',') FROM pg_trigger WHERE tgrelid IN ('nums'::regclass, 'docs'::regclass)
		 AND tgfoid = 'hitl._term_cache_trigger()'::regprocedure}),
	'hitl_terms_nb', 'the text model gets its term cache trigger');
is(sql(q{SELECT count(*) || '|' || count(hitl_terms_nb) FROM docs}), '120|0',
	'and its column, left empty by the update');
is($node->safe_psql('postgres', q{SET ROLE olga; SELECT hitl.refresh_term_cache('nb')}), '120',
	'the table\'s owner fills it');
is(sql(q{SELECT pg_get_viewdef('num_review_queue') ~ 'rank'}), 't', 'the review views are there');
is($node->safe_psql('postgres', q{SET ROLE lab; SELECT count(*) > 0 FROM num_review_queue}), 't',
	'and still granted to the labeler');
is(sql(q{SELECT string_agg(c.relname || ':' || pg_get_userbyid(c.relowner), ',' ORDER BY c.relname)
		 FROM pg_class c WHERE c.relname IN ('num_review_queue', 'nb_review_queue')}),
	'nb_review_queue:olga,num_review_queue:olga', 'owned by the model owner');

# labeling, retraining and scoring go on
$node->safe_psql('postgres', q{SET ROLE lab; UPDATE nums SET lab = 'hi' WHERE id = 62; UPDATE docs SET topic = 'delivery' WHERE id = 32});
is(sql(q{SELECT hitl.wait('num') || '|' || hitl.wait('nb')}), '3|3', 'the worker retrains both after the update');
is(sql(q{SELECT metrics->>'incremental' FROM hitl.model_versions WHERE model = 'nb' AND version = 3}), 'true',
	'naive Bayes incrementally, from a version trained under 0.1.0');
is(sql(q{SELECT count(*) FROM hitl.label_log WHERE role = 'lab'}), '4', "the labeler's labels are logged");
is(sql(q{SELECT count(*) FROM nums t WHERE t.lab_prediction IS DISTINCT FROM hitl.predict('num', t)}), '0',
	"every stored prediction is the current version's");

# 0.1.0 granted writes on its tables to PUBLIC; the update takes them back
is(sql(q{SELECT string_agg(t, ',' ORDER BY t) FROM (
			SELECT DISTINCT c.relname || ':' || a.privilege_type AS t
			FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
			WHERE c.relnamespace = 'hitl'::regnamespace AND c.relkind = 'r' AND a.grantee = 0) g}),
	'answer_log:SELECT,answers:SELECT,audit:SELECT,auto_labels:SELECT,consensus:SELECT,consensus_fits:SELECT,label_confirmations:SELECT,label_log:SELECT,model_versions:SELECT,models:SELECT,oof_predictions:SELECT,queue:SELECT,reservations:SELECT,restored_logs:SELECT,simulation_curves:SELECT,simulations:SELECT,skips:SELECT',
	'after the update PUBLIC holds SELECT alone on hitl\'s tables');
is(sql(q{SELECT count(*) FROM pg_class c JOIN pg_attribute t ON t.attrelid = c.oid
		 CROSS JOIN LATERAL aclexplode(t.attacl) a
		 WHERE c.relnamespace = 'hitl'::regnamespace AND c.relkind = 'r' AND a.grantee = 0}),
	'0', 'and nothing on their columns (0.1.0 granted INSERT on columns of the label log)');

# the hardening holds for models made under 0.1.0
my ($ret, $out, $err) = $node->psql('postgres', q{SET ROLE lab; UPDATE hitl.models SET processed_labels = 1000000});
like($err, qr/permission denied/, 'a labeler cannot write hitl.models any more');
($ret, $out, $err) = $node->psql('postgres',
	q{SET ROLE lab; INSERT INTO hitl.label_log (model, row_key, new_label, role) VALUES ('num', '{"id": 1}', 'lo', 'olga')});
like($err, qr/permission denied/, 'nor forge a label log entry');
is($node->safe_psql('postgres', q{SET ROLE lab; SELECT hitl.alter_model('num', options => '{"C": 0.5}')}), '',
	'but may change its options through hitl.alter_model');
$node->safe_psql('postgres', q{SET ROLE olga; SELECT hitl.drop_model('num'); SELECT hitl.drop_model('nb')});
is(sql(q{SELECT count(*) FROM hitl.models}), '0', 'the owner drops them');

$node->stop;
done_testing();
