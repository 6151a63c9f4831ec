# A model's owner is a role name, matched exactly.  The worker used to fall
# back on a role whose quoted name (quote_ident) equals the stored owner, a
# rule meant for a 0.1.0 database whose owner column is a regrole: with a
# role named "Admin" (quotes included) renamed after it created a model,
# the worker trained and scored that model as the superuser Admin, and the
# triggers on the model's table ran as Admin.  Here eve, with CREATEROLE
# only, tries it: the worker must leave the model alone (its owner role is
# gone) and never run her code as a superuser, while a model whose owner
# exists is still trained and scored as that owner.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('review_owner_name');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'hitl'\nhitl.naptime = 1\n");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE own');
$node->safe_psql('own', 'CREATE EXTENSION hitl');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('own', $query);
}

# a superuser whose name needs quoting, eve with CREATEROLE, carol plain
sql(q{
CREATE ROLE "Admin" SUPERUSER;
CREATE ROLE eve LOGIN CREATEROLE;
CREATE ROLE carol LOGIN;
GRANT CREATE ON SCHEMA public TO carol;
CREATE TABLE public.seen (model text, cur name, super boolean);
GRANT INSERT ON public.seen TO PUBLIC;
CREATE FUNCTION public.record_scoring() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.seen
	SELECT TG_ARGV[0], current_user,
		   (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user);
	RETURN NULL;
END
$$;
});

# a table and model of a role, with a trigger recording who scores it
sub make_model
{
	my ($role, $table, $model) = @_;
	sql(qq{
SET ROLE $role;
CREATE TABLE public.$table (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO public.$table
SELECT i, i % 7, (i * 13) % 11, CASE WHEN i <= 20 THEN CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 40) i;
SELECT hitl.create_model('$model', 'public.$table', 'lab', ARRAY['x', 'y'],
						 options => '{"cv_folds": 0}');
CREATE TRIGGER record AFTER UPDATE ON public.$table
	FOR EACH STATEMENT EXECUTE FUNCTION public.record_scoring('$model');
RESET ROLE;
});
	return;
}

# eve makes a role named "Admin", quotes included, and a model owned by it
sql(q{
SET ROLE eve;
CREATE ROLE """Admin""";
GRANT """Admin""" TO eve;
RESET ROLE;
GRANT CREATE ON SCHEMA public TO """Admin""";
});
make_model('"""Admin"""', 'ev', 'em');
is(sql(q{SELECT owner FROM hitl.models WHERE name = 'em'}), '"Admin"',
	'the model belongs to the role named "Admin"');
make_model('carol', 'ct', 'cm');

# she renames that role: no role has the model's owner name any more
sql(q{SET ROLE eve; ALTER ROLE """Admin""" RENAME TO eve2;});
sql(q{TRUNCATE public.seen});

# labels change on both tables, each changed by its owner
sql(q{SET ROLE eve2; UPDATE public.ev SET lab = 'a' WHERE id = 22});
sql(q{SET ROLE carol; UPDATE public.ct SET lab = 'a' WHERE id = 22});
is(sql(q{SELECT hitl.wait('cm', '120 s')}), '2', 'the worker trains carol\'s model again');
# one more round of the worker, after which em has been looked at too
sql(q{SET ROLE carol; UPDATE public.ct SET lab = 'b' WHERE id = 24});
is(sql(q{SELECT hitl.wait('cm', '120 s')}), '3', 'and once more');

is(sql(q{SELECT count(*) FROM public.seen WHERE super}), '0',
	'no trigger ran as a superuser');
is(sql(q{SELECT count(*) FROM public.seen WHERE model = 'em' AND cur <> 'eve2'}), '0',
	'the model whose owner role is gone is not scored');
is(sql(q{SELECT string_agg(DISTINCT cur::text, ',') FROM public.seen WHERE model = 'cm'}), 'carol',
	'carol\'s model is scored as carol');
is(sql(q{SELECT current_version FROM hitl.models WHERE name = 'em'}), '1',
	'the model whose owner role is gone keeps its version');
is($node->safe_psql('own', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'eve2'}), 'f',
	'eve\'s role is not a superuser');

$node->stop;
done_testing();
