# A model on a distributed table used by unprivileged roles, and attacked
# by one.  alice owns the table and the model; bob may read and update the
# table and labels it; mallory has no privilege on it.  Citus passes CREATE
# ROLE on to the worker nodes, so all three can log in to every node.
#
# 1. What alice and bob do: create_model on the table alice distributed,
#    labels by plain UPDATEs logged under each one's name and taken from
#    the worker nodes, the review view, hitl.score as bob.
# 2. What mallory tries, on a worker node and on the coordinator, while
#    label entries wait on the worker nodes (the coordinator's pulls are
#    held back by the lock they take): hitl's internal functions for the
#    mirrors and the label entries, with crafted arguments, direct writes
#    to hitl's tables, hitl.predict and hitl._score_row, hitl's own
#    functions on the mirror, the label trigger on a table of her own.
#    Each fails with 42501 (0A000 where the function runs on worker nodes
#    only) and changes nothing: not the mirrors, their versions, the
#    entries waiting on the worker nodes, the coordinator's log or the
#    scores.  Then the entries that waited arrive, and a new label too.
# 3. A table named as a shard of alice's table, in the table's schema,
#    where mallory may create tables (as every role may in the schema
#    public of a database made before PostgreSQL 15): on the coordinator,
#    where no shard is, and on the worker node that does not hold that
#    shard: the label trigger refuses its rows (0A000), as the table is no
#    shard placed on that node, and nothing is logged.
# 4. hitl.drop_model as alice leaves no trigger on the shards and no
#    mirror.
# 5. A model mallory would make on a worker node, under the name alice uses
#    next on the coordinator: refused (0A000), models are made on the
#    coordinator; alice's model works there.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use HitlCitus qw(citus_cluster);

my ($coord, @workers) = citus_cluster('roles');

# $sql as $role on $node: its output (dies on an error)
sub as_role
{
	my ($node, $role, $sql) = @_;
	return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]);
}

# $sql as $role on $node: psql's error output (VERBOSITY verbose), '' when
# none
sub error_as
{
	my ($node, $role, $sql) = @_;
	my ($stdout, $stderr);
	$node->psql(
		'postgres', "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout,
		stderr => \$stderr,
		extra_params => [ '-U', $role ]);
	return $stderr;
}

# The SQLSTATE of the first error of $sql as $role on $node, or 'none'
sub sqlstate_as
{
	my ($node, $role, $sql) = @_;
	my $err = error_as($node, $role, $sql);
	return $err =~ /ERROR:  ([0-9A-Z]{5}):/ ? $1 : 'none';
}

# ---------------------------------------------------------------------
# set-up: the roles, alice's table and model
# ---------------------------------------------------------------------
$coord->safe_psql(
	'postgres', q{
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
CREATE ROLE mallory LOGIN;
GRANT CREATE ON SCHEMA public TO alice;
CREATE SCHEMA mal AUTHORIZATION mallory;
});
foreach my $w (@workers)
{
	is( $w->safe_psql(
			'postgres',
			q{SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles
			  WHERE rolname IN ('alice', 'bob', 'mallory') AND rolcanlogin AND NOT rolsuper}),
		'alice,bob,mallory',
		$w->name . ': the three roles are there, unprivileged');
}

# 1,000 rows, the first 300 labeled a or b from a noisy rule of x1
as_role(
	$coord, 'alice', q{
SET client_min_messages = warning;
CREATE TABLE items (id int PRIMARY KEY, x1 float8, x2 float8, lab text);
INSERT INTO items
SELECT i, (i * 37 % 2003) / 200.0, (i * 53 % 97) / 10.0,
	   CASE WHEN i <= 300 THEN CASE WHEN (i * 37 % 2003) / 200.0 + (i % 7) / 3.0 > 6 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 1000) i;
SELECT create_distributed_table('items', 'id');
GRANT SELECT, UPDATE ON items TO bob;
});
is( $coord->safe_psql(
		'postgres',
		q{SELECT c.relowner::regrole || ' ' || p.partmethod::text FROM pg_class c
		  JOIN pg_dist_partition p ON p.logicalrelid = c.oid WHERE c.oid = 'items'::regclass}),
	'alice h',
	'alice owns the table, which Citus distributes by hash');

my $OPTIONS = q{'{"score_tolerance": 0, "evaluation_rate": 0}'};
is( as_role(
		$coord, 'alice',
		qq{SELECT hitl.create_model('m', 'items', 'lab', ARRAY['x1', 'x2'], options => $OPTIONS)}),
	'1',
	'create_model as alice on her distributed table: version 1');
is($coord->safe_psql('postgres', q{SELECT owner FROM hitl.models WHERE name = 'm'}),
	'alice', 'the model is alice\'s');
foreach my $w (@workers)
{
	is( $w->safe_psql('postgres',
			q{SELECT string_agg(concat_ws(' ', name, owner, source, current_version), ';') FROM hitl.models}),
		'm alice items 1',
		$w->name . ': the mirror of alice\'s model, at version 1');
}
as_role($coord, 'alice', q{GRANT SELECT ON m_review_queue TO bob});

# the current version of m
sub version_of_m
{
	return $coord->safe_psql('postgres', q{SELECT current_version FROM hitl.models WHERE name = 'm'});
}

# the ids of $n rows whose shards are on $node, above $above (each caller
# takes a range of its own, of rows no one labeled)
sub rows_on
{
	my ($node, $n, $above) = @_;
	return split /,/,
	  $coord->safe_psql(
		'postgres', sprintf(
			q{SELECT string_agg(g::text, ',' ORDER BY g) FROM (
			  SELECT g FROM generate_series(%d, 1000) g
			  JOIN citus_shards s ON s.table_name = 'items'::regclass
			   AND s.shardid = get_shard_id_for_distribution_column('items', g)
			  WHERE s.nodeport = %d ORDER BY g LIMIT %d) r}, $above + 1, $node->port, $n));
}

# $role labels row $id; the entry reaches the coordinator's log under that
# role and a new version has it
sub label_arrives
{
	my ($role, $id, $what) = @_;
	my $before = version_of_m();
	as_role($coord, $role, qq{UPDATE items SET lab = 'a' WHERE id = $id});
	my $v = as_role($coord, 'alice', q{SELECT hitl.wait('m', '60 s')});
	cmp_ok($v, '>', $before, "$what: a label of $role makes a new version");
	is( $coord->safe_psql(
			'postgres',
			qq{SELECT count(*) FROM hitl.label_log
			   WHERE model = 'm' AND row_key = '{"id": $id}' AND role = '$role' AND new_label = 'a'}),
		'1',
		"$what: its entry is in the coordinator's log once, under $role");
}

# ---------------------------------------------------------------------
# 1. alice and bob
# ---------------------------------------------------------------------
my @on_w1 = rows_on($workers[0], 4, 300);
my @on_w2 = rows_on($workers[1], 4, 300);
is(scalar(@on_w1) + scalar(@on_w2), 8, 'four unlabeled rows on each worker node');
as_role($coord, 'alice', qq{UPDATE items SET lab = 'a' WHERE id = $on_w1[0]});
as_role($coord, 'bob', qq{UPDATE items SET lab = 'b' WHERE id = $on_w2[0]});
my $v = as_role($coord, 'alice', q{SELECT hitl.wait('m', '60 s')});
cmp_ok($v, '>=', 2, 'hitl.wait as alice: a new version with the two labels');
is( $coord->safe_psql(
		'postgres',
		q{SELECT string_agg((row_key ->> 'id') || ':' || role || ':' || new_label, ' ' ORDER BY id)
		  FROM hitl.label_log WHERE model = 'm'}),
	"$on_w1[0]:alice:a $on_w2[0]:bob:b",
	'the coordinator\'s log has both entries, under alice and bob');
is( $coord->safe_psql(
		'postgres',
		q{SELECT n_labeled FROM hitl.model_versions v JOIN hitl.models m
		  ON m.name = v.model AND m.current_version = v.version WHERE m.name = 'm'}),
	'302', 'the current version learned from 302 labels');
foreach my $w (@workers)
{
	ok($w->poll_query_until('postgres', q{SELECT count(*) = 0 FROM hitl.label_log}),
		$w->name . ': its label log is emptied by the next pull');
}
is(as_role($coord, 'bob', q{SELECT count(*) FROM hitl.label_log WHERE model = 'm'}),
	'2', 'bob reads the model\'s log');
cmp_ok(as_role($coord, 'bob', q{SELECT count(*) FROM m_review_queue}),
	'>', 0, 'bob reads the review view alice granted him');
like(as_role($coord, 'bob', q{SELECT hitl.score('m')}),
	qr/^\d+$/, 'hitl.score as bob, who may update the table');
is(sqlstate_as($coord, 'mallory', q{SELECT count(*) FROM m_review_queue}),
	'42501', 'mallory may not read the review view');
is(as_role($coord, 'mallory', q{SELECT count(*) FROM hitl.models}),
	'0', 'nor see the model in hitl.models');
is(as_role($coord, 'mallory', q{SELECT count(*) FROM hitl.label_log}),
	'0', 'nor its log');

# ---------------------------------------------------------------------
# 2. mallory, while entries wait on the worker nodes
# ---------------------------------------------------------------------
# The coordinator takes a model's entries under a lock of its own; held
# here, the entries alice logs now stay on the worker nodes
my $holder = $coord->background_psql('postgres');
$holder->query_safe(q{SELECT pg_advisory_lock(hashtext('hitl._citus_pull_labels'), hashtext('m'))});
as_role($coord, 'alice', qq{UPDATE items SET lab = 'b' WHERE id IN ($on_w1[1], $on_w2[1])});
foreach my $w (@workers)
{
	is( $w->safe_psql('postgres',
			q{SELECT count(*) || ' ' || string_agg(DISTINCT model || ':' || role, ',') FROM hitl.label_log}),
		'1 m:alice', $w->name . ': alice\'s entry waits there');
}

my ($v_before) = version_of_m();
my @groups = map { $_->safe_psql('postgres', q{SELECT groupid FROM pg_dist_local_group}) } @workers;
my @pending_ids = map { $_->safe_psql('postgres', q{SELECT string_agg(id::text, ',') FROM hitl.label_log}) } @workers;

# What mallory's attempts must leave as it is: on each worker node the
# mirror, its version and the entries waiting; on the coordinator the
# model, its versions, its log and the table's scores
my $WORKER_STATE = q{
SELECT (SELECT string_agg(concat_ws(' ', name, owner, source, status, current_version, enabled, md5(options::text)), ';')
		FROM hitl.models)
	   || ' | ' || (SELECT md5(string_agg(v::text, ';' ORDER BY v.model, v.version)) FROM hitl.model_versions v)
	   || ' | ' || (SELECT string_agg(concat_ws(' ', id, model, role, row_key, old_label, new_label), ';' ORDER BY id)
					FROM hitl.label_log)};
my $COORD_STATE = q{
SELECT (SELECT concat_ws(' ', name, owner, source, status, current_version, processed_labels) FROM hitl.models WHERE name = 'm')
	   || ' | ' || (SELECT md5(string_agg(v::text, ';' ORDER BY v.version)) FROM hitl.model_versions v WHERE v.model = 'm')
	   || ' | ' || (SELECT count(*) FROM hitl.label_log WHERE model = 'm')
	   || ' | ' || (SELECT md5(string_agg(concat_ws(',', id, lab, lab_prediction, lab_confidence, lab_uncertainty), ';' ORDER BY id))
					FROM items)};
my @worker_state = map { $_->safe_psql('postgres', $WORKER_STATE) } @workers;
my $coord_state = $coord->safe_psql('postgres', $COORD_STATE);

# a row of the table's type, made up: no privilege on the table needed
my $ROW = q{ROW(1, 1.0, 1.0, NULL, NULL, NULL, NULL)::public.items};

# -- on a worker node
my $w1 = $workers[0];
my %on_worker = (
	'hitl._citus_mirror_receive: alice\'s model name pointed at another table' =>
	  q{SELECT hitl._citus_mirror_receive(jsonb_build_object('name', 'm', 'source', 'pg_catalog.pg_authid',
	     'owner', 'mallory', 'label_column', 'rolpassword', 'feature_columns', ARRAY['oid']), NULL)},
	'hitl._citus_mirror_receive: the model given to mallory' =>
	  q{SELECT hitl._citus_mirror_receive(jsonb_build_object('name', 'm', 'source', 'public.items', 'owner', 'mallory'), NULL)},
	'hitl._citus_mirror_receive: coefficients of her own for the current version' =>
	  qq{SELECT hitl._citus_mirror_receive(jsonb_build_object('name', 'm', 'source', 'public.items', 'owner', 'alice',
	     'current_version', $v_before),
	     jsonb_build_object('model', 'm', 'version', $v_before, 'coefficients', ARRAY[0, 100, -100]))},
	'hitl._citus_take_labels: alice\'s waiting entries' =>
	  q{SELECT hitl._citus_take_labels('m', '{}', '{}', 1000)},
	'hitl._citus_take_labels: alice\'s waiting entries deleted as done' =>
	  sprintf(q{SELECT hitl._citus_take_labels('m', '{"%s": [%s]}', '{}', 0)}, $groups[0], $pending_ids[0]),
	'hitl._citus_take_labels: a crafted done of another type' =>
	  sprintf(q{SELECT hitl._citus_take_labels('m', '{"%s": "*"}', '{"%s": {"a": 1}}', -1)}, $groups[0], $groups[0]),
	'hitl._citus_take_labels: counting alice\'s entries' =>
	  q{SELECT hitl._citus_take_labels('m', '{}', '{}', 0, true)},
	'hitl._citus_forget_receive: alice\'s mirror and entries' =>
	  q{SELECT hitl._citus_forget_receive('m')},
	'INSERT into the node\'s label log' =>
	  q{INSERT INTO hitl.label_log (model, row_key, new_label, role) VALUES ('m', '{"id": 999}', 'a', 'alice')},
	'DELETE from the node\'s label log' =>
	  q{DELETE FROM hitl.label_log},
	'UPDATE of the node\'s mirror' =>
	  q{UPDATE hitl.models SET owner = 'mallory'},
	'INSERT into the node\'s hitl.models' =>
	  q{INSERT INTO hitl.models (name) VALUES ('x')},
	'UPDATE of the node\'s versions' =>
	  q{UPDATE hitl.model_versions SET coefficients = coefficients},
	'hitl.predict over the shards' =>
	  q{SELECT hitl.predict('m', t) FROM items t LIMIT 1},
	'hitl.predict of a made-up row' =>
	  qq{SELECT hitl.predict('m', $ROW)},
	'hitl._score_row of a made-up row' =>
	  qq{SELECT hitl._score_row('m', $v_before, $ROW)},
	'hitl.drop_model of the mirror' =>
	  q{SELECT hitl.drop_model('m', true)},
	'hitl.alter_model of the mirror' =>
	  q{SELECT hitl.alter_model('m', enabled => false)},
	'hitl.train of the mirror' =>
	  q{SELECT hitl.train('m')});
foreach my $what (sort keys %on_worker)
{
	is(sqlstate_as($w1, 'mallory', $on_worker{$what}), '42501', $w1->name . ": $what: 42501");
}
is(as_role($w1, 'mallory', q{SELECT count(*) FROM hitl.label_log}),
	'0', $w1->name . ': mallory sees none of the entries waiting there');
is(as_role($w1, 'mallory', q{SELECT count(*) FROM hitl.models}),
	'0', $w1->name . ': nor the mirror');

# -- on the coordinator
my %on_coord = (
	'hitl._citus_mirror' => q{SELECT hitl._citus_mirror('m')},
	'hitl._citus_pull_labels' => q{SELECT hitl._citus_pull_labels('m')},
	'hitl._citus_wait_target' => q{SELECT hitl._citus_wait_target('m')},
	'hitl._citus_forget' => q{SELECT hitl._citus_forget('m')},
	'hitl._citus_send_model' => q{SELECT hitl._citus_send_model('m')},
	'hitl._score_row over the table' => qq{SELECT hitl._score_row('m', $v_before, t) FROM items t LIMIT 1},
	'hitl._score_row of a made-up row' => qq{SELECT hitl._score_row('m', $v_before, $ROW)},
	'hitl.predict of a made-up row' => qq{SELECT hitl.predict('m', $ROW)},
	'hitl.score' => q{SELECT hitl.score('m')},
	'hitl.train' => q{SELECT hitl.train('m')},
	'hitl.wait' => q{SELECT hitl.wait('m', '1 s')},
	'hitl.alter_model' => q{SELECT hitl.alter_model('m', enabled => false)},
	'hitl.drop_model' => q{SELECT hitl.drop_model('m', true)},
	'INSERT into the label log' =>
	  q{INSERT INTO hitl.label_log (model, row_key, new_label, role) VALUES ('m', '{"id": 999}', 'a', 'alice')},
	'INSERT into hitl.citus_label_pulls' =>
	  qq{INSERT INTO hitl.citus_label_pulls VALUES ('m', $groups[0], ARRAY[$pending_ids[0]]::bigint[])},
	'UPDATE of alice\'s table' => q{UPDATE items SET lab = 'a' WHERE id = 999});
foreach my $what (sort keys %on_coord)
{
	is(sqlstate_as($coord, 'mallory', $on_coord{$what}), '42501', "coordinator: $what: 42501");
}
# the functions of the worker nodes are refused on the coordinator first
foreach my $call (
	q{SELECT hitl._citus_mirror_receive(jsonb_build_object('name', 'm', 'source', 'public.items', 'owner', 'mallory'), NULL)},
	q{SELECT hitl._citus_take_labels('m', '{}', '{}', 1000)},
	q{SELECT hitl._citus_forget_receive('m')})
{
	like(error_as($coord, 'mallory', $call),
		qr/ERROR:  0A000: hitl\._citus_\w+\(\) runs on Citus worker nodes only/,
		"coordinator: $call: 0A000");
}

# bob may use the model, but not with a row of another type or another
# version than the current one
like(error_as($coord, 'bob', qq{SELECT hitl._score_row('m', $v_before, c) FROM pg_class c LIMIT 1}),
	qr/ERROR:  42804: row is of type pg_class, not of the type of table (public\.)?items/,
	'hitl._score_row as bob with a row of pg_class: 42804');
like(error_as($coord, 'bob', sprintf(q{SELECT hitl._score_row('m', %d, t) FROM items t LIMIT 1}, $v_before + 1)),
	qr/ERROR:  55000: model "m" is at version $v_before on this node, not @{[$v_before + 1]}/,
	'hitl._score_row as bob with a version that is not the current one: 55000');

# mallory's own table with hitl's label trigger for alice's model: it logs
# nothing
is( error_as(
		$coord, 'mallory', q{
CREATE TABLE mal.t (id int PRIMARY KEY, lab text, lab_prediction text, lab_confidence float8);
CREATE TRIGGER t_ins AFTER INSERT ON mal.t REFERENCING NEW TABLE AS n FOR EACH STATEMENT
	EXECUTE FUNCTION hitl._label_trigger('m');
INSERT INTO mal.t VALUES (999, 'a', NULL, NULL);
}),
	'', 'mallory puts hitl\'s label trigger for alice\'s model on a table of her own');

# nothing changed
foreach my $i (0, 1)
{
	is($workers[$i]->safe_psql('postgres', $WORKER_STATE), $worker_state[$i],
		$workers[$i]->name . ': the mirror, its version and the waiting entries are as they were');
}
is($coord->safe_psql('postgres', $COORD_STATE), $coord_state,
	'coordinator: the model, its versions, its log and the scores are as they were');
is($coord->safe_psql('postgres', q{SELECT count(*) FROM hitl.label_log WHERE role = 'mallory'}),
	'0', 'coordinator: no entry under mallory\'s name');

# and the entries that waited arrive once the pulls go on
$holder->query_safe(q{SELECT pg_advisory_unlock(hashtext('hitl._citus_pull_labels'), hashtext('m'))});
$holder->quit;
$v = as_role($coord, 'alice', q{SELECT hitl.wait('m', '60 s')});
cmp_ok($v, '>', $v_before, 'hitl.wait as alice: a new version with the entries that waited');
is( $coord->safe_psql(
		'postgres',
		qq{SELECT count(*) || ' ' || count(DISTINCT row_key) FROM hitl.label_log
		   WHERE model = 'm' AND role = 'alice' AND new_label = 'b' AND (row_key ->> 'id')::int IN ($on_w1[1], $on_w2[1])}),
	'2 2', 'both entries that waited arrived, once each, under alice');
label_arrives('alice', $on_w1[2], 'after mallory\'s attempts');
label_arrives('bob', $on_w2[2], 'after mallory\'s attempts');

# ---------------------------------------------------------------------
# 3. a table named as a shard of alice's table
# ---------------------------------------------------------------------
# mallory may create tables in the table's schema, as every role could in
# public before PostgreSQL 15
$coord->safe_psql('postgres', q{GRANT CREATE ON SCHEMA public TO mallory});
is($_->safe_psql('postgres', q{SELECT has_schema_privilege('mallory', 'public', 'CREATE')}),
	't', $_->name . ': mallory may create tables in public') foreach @workers;

# a shard of the second worker node, named on the first one and on the
# coordinator, which do not hold it
my $shard = $coord->safe_psql('postgres',
	sprintf(q{SELECT min(shardid) FROM citus_shards WHERE table_name = 'items'::regclass AND nodeport = %d},
		$workers[1]->port));
like($shard, qr/^\d+$/, "shard $shard is on the second worker node");
my $FAKE = qq{
SET citus.override_table_visibility = off;
CREATE TABLE public.items_$shard (id int, x1 float8, x2 float8, lab text,
	lab_prediction text, lab_confidence float8, lab_uncertainty float8);
CREATE TRIGGER t_ins AFTER INSERT ON public.items_$shard REFERENCING NEW TABLE AS n FOR EACH STATEMENT
	EXECUTE FUNCTION hitl._label_trigger('m');
INSERT INTO public.items_$shard VALUES (7, 1, 1, 'forged', NULL, NULL), (8, 1, 1, 'b', NULL, NULL);
};
# (the pulls held back again, so that what the node logged stays there)
$holder = $coord->background_psql('postgres');
$holder->query_safe(q{SELECT pg_advisory_lock(hashtext('hitl._citus_pull_labels'), hashtext('m'))});
my $forged_err = error_as($w1, 'mallory', $FAKE);
like($forged_err, qr/ERROR:  0A000: hitl model "m" cannot log changes to Citus shard items_$shard/,
	$w1->name . ': the label trigger on the table named as a shard refuses its rows (not a shard placed here)');
is($w1->safe_psql('postgres', q{SELECT count(*) FROM hitl.label_log WHERE role = 'mallory'}),
	'0', $w1->name . ': no entry under mallory\'s name from the table named as a shard');
$holder->query_safe(q{SELECT pg_advisory_unlock(hashtext('hitl._citus_pull_labels'), hashtext('m'))});
$holder->quit;
$forged_err = error_as($coord, 'mallory', $FAKE);
like($forged_err, qr/ERROR:  0A000: hitl model "m" cannot log changes to Citus shard items_$shard/,
	'coordinator: the label trigger on the table named as a shard refuses its rows');
is($coord->safe_psql('postgres', q{SELECT count(*) FROM hitl.label_log WHERE role = 'mallory'}),
	'0', 'coordinator: no entry under mallory\'s name from the table named as a shard there');
label_arrives('alice', $on_w1[3], 'after the table named as a shard');
is($coord->safe_psql('postgres', q{SELECT count(*) FROM hitl.label_log WHERE model = 'm' AND role = 'mallory'}),
	'0', 'coordinator: no entry under mallory\'s name in the log of alice\'s model');

# ---------------------------------------------------------------------
# 4. hitl.drop_model as alice
# ---------------------------------------------------------------------
# the triggers of the shards placed on $node, past Citus' hiding of shards
# (not of the table named as a shard: hitl.drop_model leaves mallory's
# triggers alone)
sub shard_triggers
{
	my ($node) = @_;
	return $node->safe_psql(
		'postgres',
		q{SET citus.override_table_visibility = off;
		  SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
		  JOIN pg_dist_shard s ON c.relname = 'items_' || s.shardid
		  JOIN pg_dist_placement p ON p.shardid = s.shardid
		   AND p.groupid = (SELECT groupid FROM pg_dist_local_group)
		  WHERE s.logicalrelid = 'items'::regclass AND c.relnamespace = 'public'::regnamespace
			AND NOT t.tgisinternal});
}
cmp_ok(shard_triggers($_), '>', 0, $_->name . ': the shards have label triggers before the drop')
  foreach @workers;
is(error_as($coord, 'alice', q{SELECT hitl.drop_model('m', true)}), '', 'hitl.drop_model as alice works');
is($coord->safe_psql('postgres', q{SELECT count(*) FROM hitl.models}), '0', 'the model is gone');
is($coord->safe_psql('postgres', q{SELECT count(*) FROM pg_trigger WHERE tgrelid = 'items'::regclass AND NOT tgisinternal}),
	'0', 'no trigger left on the table');
foreach my $w (@workers)
{
	is(shard_triggers($w), '0', $w->name . ': no trigger left on the shards');
	is( $w->safe_psql(
			'postgres',
			q{SELECT (SELECT count(*) FROM hitl.models) || ' ' || (SELECT count(*) FROM hitl.model_versions)
					 || ' ' || (SELECT count(*) FROM hitl.label_log WHERE model = 'm')}),
		'0 0 0', $w->name . ': no mirror, version or entry of the model left');
}

# ---------------------------------------------------------------------
# 5. a model of mallory's on a worker node, of the name alice uses next
# ---------------------------------------------------------------------
my $w2 = $workers[1];
like(
	error_as(
		$w2, 'mallory', q{
SET client_min_messages = warning;
SET citus.enable_ddl_propagation = off;
CREATE TABLE mal.mine (id int PRIMARY KEY, x1 float8, lab text);
INSERT INTO mal.mine SELECT i, i, CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END FROM generate_series(1, 40) i;
SELECT hitl.create_model('m', 'mal.mine', 'lab', ARRAY['x1']);
}),
	qr/ERROR:  0A000: models are made on the Citus coordinator, not on a worker node/,
	$w2->name . ': mallory cannot make a model "m" of her own on a worker node');
is($w2->safe_psql('postgres', q{SELECT count(*) FROM hitl.models}),
	'0', $w2->name . ': no model there');

is( as_role(
		$coord, 'alice',
		qq{SELECT hitl.create_model('m', 'items', 'lab', ARRAY['x1', 'x2'], options => $OPTIONS)}),
	'1',
	'create_model "m" as alice again on the coordinator: version 1');
is($w2->safe_psql('postgres', q{SELECT concat_ws(' ', name, owner, source) FROM hitl.models}),
	'm alice items', $w2->name . ': the node holds the mirror of alice\'s model');
my @more = rows_on($workers[0], 1, 700);
label_arrives('alice', $more[0], 'the model made again');
is($coord->safe_psql('postgres', q{SELECT count(*) FROM hitl.label_log WHERE model = 'm' AND role = 'mallory'}),
	'0', 'coordinator: no entry of mallory\'s in the log of alice\'s model');

done_testing();
