# A fresh CREATE EXTENSION hitl and an ALTER EXTENSION hitl UPDATE from the
# released 0.1.0 give the same objects.  Two databases of one cluster: in
# one, hitl installed at once; in the other, hitl 0.1.0 with models made and
# labeled by an unprivileged owner, then updated.  Compared, as read from
# the catalogs: hitl's functions (arguments, result, language, security,
# strictness, volatility, config, ACL, body, comment), its tables, views and
# sequences (kind, row-level security, ACL, options, comment), their columns
# (type, default, ACL, comment), policies, constraints, indexes, triggers,
# views' definitions, event triggers, the schema's ACL and the extension's
# members.  Then the same models made under 0.2.0 in the fresh database
# look like those carried over: label triggers, review views (definition,
# owner, grants), output columns and the models' rows (but their
# score_tolerance: 0.2.0's default is 0.01, models made by 0.1.0 keep 0.001).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('same_objects');
$node->init;
$node->start;

# One line per object, as kind TAB description (white space, new lines
# included, made one space); the sort makes both sides comparable.
my $CATALOG = q{
SELECT kind || E'\t' || regexp_replace(line, '\s+', ' ', 'g') FROM (
SELECT 'function' AS kind,
	p.oid::regprocedure || ' kind=' || p.prokind::text
	|| ' returns=' || coalesce(pg_get_function_result(p.oid), '')
	|| ' args=' || pg_get_function_arguments(p.oid) || ' lang=' || l.lanname
	|| ' secdef=' || p.prosecdef || ' strict=' || p.proisstrict
	|| ' volatile=' || p.provolatile::text || ' parallel=' || p.proparallel::text
	|| ' config=' || coalesce(p.proconfig::text, '')
	|| ' acl=' || coalesce(p.proacl::text, 'default') || ' body=' || md5(p.prosrc)
	|| ' bin=' || coalesce(p.probin, '')
	|| ' comment=' || coalesce(obj_description(p.oid, 'pg_proc'), 'NONE') AS line
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.pronamespace = 'hitl'::regnamespace
UNION ALL
SELECT 'relation', c.oid::regclass || ' kind=' || c.relkind::text || ' rls=' || c.relrowsecurity
	|| ' force=' || c.relforcerowsecurity || ' acl=' || coalesce(c.relacl::text, 'default')
	|| ' options=' || coalesce(c.reloptions::text, '')
	|| ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), 'NONE')
FROM pg_class c WHERE c.relnamespace = 'hitl'::regnamespace
UNION ALL
SELECT 'column', c.oid::regclass || '.' || quote_ident(a.attname) || ' #' || a.attnum
	|| ' ' || format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull
	|| ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
	|| ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
	|| ' acl=' || coalesce(a.attacl::text, '')
	|| ' comment=' || coalesce(col_description(c.oid, a.attnum), 'NONE')
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relnamespace = 'hitl'::regnamespace
UNION ALL
SELECT 'policy', quote_ident(pol.polname) || ' on ' || pol.polrelid::regclass
	|| ' cmd=' || pol.polcmd::text || ' permissive=' || pol.polpermissive
	|| ' roles=' || (SELECT string_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END,
									   ',' ORDER BY 1)
					 FROM unnest(pol.polroles) r)
	|| ' using=' || coalesce(pg_get_expr(pol.polqual, pol.polrelid), '')
	|| ' check=' || coalesce(pg_get_expr(pol.polwithcheck, pol.polrelid), '')
	|| ' comment=' || coalesce(obj_description(pol.oid, 'pg_policy'), 'NONE')
FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid
WHERE c.relnamespace = 'hitl'::regnamespace
UNION ALL
SELECT 'view', c.oid::regclass || ' ' || pg_get_viewdef(c.oid)
FROM pg_class c WHERE c.relnamespace = 'hitl'::regnamespace AND c.relkind = 'v'
UNION ALL
SELECT 'constraint', quote_ident(k.conname) || ' on ' || k.conrelid::regclass || ' '
	|| pg_get_constraintdef(k.oid)
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
WHERE c.relnamespace = 'hitl'::regnamespace
UNION ALL
SELECT 'index', pg_get_indexdef(x.indexrelid)
FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
WHERE c.relnamespace = 'hitl'::regnamespace
UNION ALL
SELECT 'trigger', pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE c.relnamespace = 'hitl'::regnamespace AND NOT t.tgisinternal
UNION ALL
SELECT 'event trigger', quote_ident(e.evtname) || ' on ' || e.evtevent
	|| ' runs ' || e.evtfoid::regprocedure || ' enabled=' || e.evtenabled::text
	|| ' tags=' || coalesce(e.evttags::text, '')
FROM pg_event_trigger e
UNION ALL
SELECT 'schema', n.nspname || ' acl=' || coalesce(n.nspacl::text, 'default')
	|| ' comment=' || coalesce(obj_description(n.oid, 'pg_namespace'), 'NONE')
FROM pg_namespace n WHERE n.nspname = 'hitl'
UNION ALL
SELECT 'member', pg_describe_object(d.classid, d.objid, d.objsubid)
FROM pg_depend d JOIN pg_extension x ON x.oid = d.refobjid
WHERE d.refclassid = 'pg_extension'::regclass AND x.extname = 'hitl' AND d.deptype = 'e'
) s ORDER BY kind COLLATE "C", line COLLATE "C"
};

# What a model puts on its owner's side, and its row in hitl.models
my $MODELS = q{
SELECT kind || E'\t' || regexp_replace(line, '\s+', ' ', 'g') FROM (
SELECT 'label trigger' AS kind, pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text AS line
FROM pg_trigger t WHERE t.tgrelid IN ('pts'::regclass, 'notes'::regclass) AND NOT t.tgisinternal
UNION ALL
SELECT 'review view', c.oid::regclass || ' owner=' || pg_get_userbyid(c.relowner)
	|| ' acl=' || coalesce(c.relacl::text, 'default')
	|| ' ' || pg_get_viewdef(c.oid)
FROM pg_class c WHERE c.relname IN ('pm_review_queue', 'nm_review_queue')
UNION ALL
SELECT 'table column', a.attrelid::regclass || '.' || quote_ident(a.attname) || ' '
	|| format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
WHERE a.attrelid IN ('pts'::regclass, 'notes'::regclass) AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'model', concat_ws(' ', m.name, m.owner, m.source::regclass, m.label_column,
						  m.feature_columns, m.key_columns, m.prediction_column,
						  m.confidence_column, m.uncertainty_column, m.added_columns,
						  m.review_view, m.view_schema, m.view_name, m.algorithm, m.strategy,
						  m.options - 'score_tolerance', m.enabled, m.status)
FROM hitl.models m
UNION ALL
SELECT 'score_tolerance', m.name || ' ' || (m.options->>'score_tolerance')
FROM hitl.models m
) s ORDER BY kind COLLATE "C", line COLLATE "C"
};

# A numeric logistic model with an integer label on a bigint key, and a
# naive Bayes one on text with a text key, their review views granted to a
# labeler who labels a row of each.
my $MAKE_MODELS = q{
SET ROLE olga;
CREATE TABLE pts (id bigint PRIMARY KEY, a float8, b integer, grade integer);
INSERT INTO pts SELECT g, (g % 13) / 4.0, g % 5, CASE WHEN g <= 40 THEN g % 13 / 7 END
FROM generate_series(1, 150) g;
CREATE TABLE notes (code text PRIMARY KEY, txt text, tag text);
INSERT INTO notes SELECT 'n' || g, (ARRAY['late train delay', 'cheap fare ticket'])[1 + g % 2] || ' ' || g,
	CASE WHEN g <= 24 THEN (ARRAY['transit', 'price'])[1 + g % 2] END
FROM generate_series(1, 80) g;
SELECT hitl.create_model('pm', 'pts', 'grade', ARRAY['a', 'b'], strategy => 'entropy');
SELECT hitl.create_model('nm', 'notes', 'tag', ARRAY['txt'], algorithm => 'naive_bayes',
						 prediction_column => 'tag_guess');
GRANT SELECT, UPDATE ON pts, notes TO lab;
GRANT SELECT ON pm_review_queue, nm_review_queue TO lab;
SET ROLE lab;
UPDATE pts SET grade = 1 WHERE id = 41;
UPDATE notes SET tag = 'price' WHERE code = 'n25';
};

# kind => [lines], from one of the queries above
sub objects
{
	my ($db, $query) = @_;
	my %by_kind;
	for my $row (split /\n/, $node->safe_psql($db, $query))
	{
		my ($kind, $line) = split /\t/, $row, 2;
		push @{ $by_kind{$kind} }, $line;
	}
	return \%by_kind;
}

# Both lists of one kind hold the same lines; the differences are shown
sub same_lines
{
	my ($what, $fresh, $updated) = @_;
	my (%in_fresh, %in_updated);
	$in_fresh{$_}++ for @$fresh;
	$in_updated{$_}++ for @$updated;
	my @only_fresh = grep { !$in_updated{$_} } @$fresh;
	my @only_updated = grep { !$in_fresh{$_} } @$updated;
	ok(@$fresh > 0 && @$fresh == @$updated && !@only_fresh && !@only_updated,
		"$what: the same (" . scalar(@$fresh) . " in a fresh install)")
	  or diag(join("\n",
			"fresh install: " . scalar(@$fresh) . ", updated: " . scalar(@$updated),
			(map { "only in the fresh install: $_" } @only_fresh),
			(map { "only after the update: $_" } @only_updated)));
}

$node->safe_psql('postgres', q{
CREATE ROLE olga LOGIN;
CREATE ROLE lab LOGIN;
CREATE DATABASE fresh;
CREATE DATABASE updated;
});

$node->safe_psql('fresh', q{CREATE EXTENSION hitl});
$node->safe_psql('updated', qq{
CREATE EXTENSION hitl VERSION '0.1.0';
GRANT CREATE ON SCHEMA public TO olga;
$MAKE_MODELS
});
is($node->safe_psql('updated', q{SELECT count(*) FROM hitl.label_log}), '2',
	'under 0.1.0: two models, and a label of each logged');
$node->safe_psql('updated', q{ALTER EXTENSION hitl UPDATE});
is($node->safe_psql('fresh', q{SELECT extversion FROM pg_extension WHERE extname = 'hitl'}) . '|'
	  . $node->safe_psql('updated', q{SELECT extversion FROM pg_extension WHERE extname = 'hitl'}),
	'0.2.0|0.2.0', 'both databases hold hitl 0.2.0');

my $fresh = objects('fresh', $CATALOG);
my $updated = objects('updated', $CATALOG);
for my $kind ('function', 'relation', 'column', 'policy', 'view', 'constraint', 'index',
	'trigger', 'event trigger', 'schema', 'member')
{
	same_lines("every $kind", $fresh->{$kind} // [], $updated->{$kind} // []);
}
is(join(',', sort keys %$updated), join(',', sort keys %$fresh), 'and no other kind of object on either side');

# the comparison sees what matters
like(join("\n", @{ $fresh->{function} }),
	qr/^hitl\.create_model\(text,regclass,name,name\[\],name,name,name,text,text,jsonb\) .* secdef=false .* config=\{"search_path=pg_catalog, pg_temp"\} acl=default /m,
	'create_model is compared with its security, config and ACL');
like(join("\n", @{ $fresh->{relation} }), qr/^hitl\.models kind=r rls=true force=false acl=\{[^}]*=r\//m,
	'tables are compared with their ACL');

# the same models, made under 0.2.0, look like those carried over
$node->safe_psql('fresh', qq{
GRANT CREATE ON SCHEMA public TO olga;
$MAKE_MODELS
});
my $made = objects('fresh', $MODELS);
my $carried = objects('updated', $MODELS);
same_lines('label triggers of a model made under 0.2.0 and of one carried over',
	$made->{'label trigger'} // [], $carried->{'label trigger'} // []);
same_lines('review views (definition, owner, grants)',
	$made->{'review view'} // [], $carried->{'review view'} // []);
same_lines('columns of the models\' tables', $made->{'table column'} // [], $carried->{'table column'} // []);
same_lines('rows of hitl.models (but score_tolerance)', $made->{model} // [], $carried->{model} // []);
# the default score_tolerance is 0.01 from 0.2.0 on; models made by 0.1.0,
# whose options hold its default 0.001, keep it
is(join(',', @{ $made->{score_tolerance} // [] }), 'nm 0.01,pm 0.01',
	'models made under 0.2.0 have score_tolerance 0.01');
is(join(',', @{ $carried->{score_tolerance} // [] }), 'nm 0.001,pm 0.001',
	'models carried over keep the score_tolerance 0.001 they were made with');

$node->stop;
done_testing();
