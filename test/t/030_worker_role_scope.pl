# The worker runs each model's work the way core runs maintenance for a
# table's owner: what the owner's code sets (a session-level search_path,
# set by a trigger on his table when the worker writes its scores) is taken
# back when that work ends, and never reaches the next model nor the
# worker's own queries, which run as the bootstrap superuser.  Here an
# unprivileged owner plants a now() of his own in a schema he puts first
# on the search_path; it would make him superuser if the worker ever called
# it with its own rights.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('worker_role_scope');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'hitl'\nhitl.naptime = 300\n");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE scope');
$node->safe_psql('scope', 'CREATE EXTENSION hitl');

sub sql
{
	my ($query) = @_;
	return $node->safe_psql('scope', $query);
}

# mallory: no privilege but CREATE on public and a schema of his own
sql(q{
CREATE ROLE mallory LOGIN;
CREATE ROLE carol LOGIN;
GRANT CREATE ON SCHEMA public TO mallory, carol;
CREATE SCHEMA evil AUTHORIZATION mallory;
});

# What mallory plants, as mallory: a log of where his code ran, a now()
# that makes him superuser when it runs with a superuser's rights, and a
# trigger that puts his schema first on the session's search_path
sql(q{
SET ROLE mallory;
CREATE TABLE evil.seen (what text, cur name, sess name, super boolean, path text);
GRANT INSERT ON evil.seen TO PUBLIC;
GRANT USAGE ON SCHEMA evil TO PUBLIC;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
DECLARE
	su boolean := (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user);
BEGIN
	INSERT INTO evil.seen VALUES ('now', current_user, session_user, su,
								  pg_catalog.current_setting('search_path'));
	IF su THEN
		EXECUTE 'ALTER ROLE mallory SUPERUSER';
	END IF;
	RETURN pg_catalog.transaction_timestamp();
END
$$;
GRANT EXECUTE ON FUNCTION evil.now() TO PUBLIC;
CREATE FUNCTION evil.leak() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO evil.seen VALUES ('trigger', current_user, session_user, false,
								  pg_catalog.current_setting('search_path'));
	PERFORM pg_catalog.set_config('search_path', 'evil, pg_catalog', false);
	RETURN NULL;
END
$$;
CREATE TABLE public.tm (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO public.tm
SELECT i, i % 10 + (i % 7) / 10.0, (i * 3) % 11,
	   CASE WHEN i <= 100 THEN CASE WHEN i % 10 < 5 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 500) i;
SELECT hitl.create_model('mm', 'public.tm', 'lab', ARRAY['x', 'y'], options => '{"score_tolerance": 0}');
CREATE TRIGGER leak AFTER UPDATE OF lab_confidence ON public.tm
	FOR EACH STATEMENT EXECUTE FUNCTION evil.leak();
RESET ROLE;
});

# carol's model, worked on after mallory's: a trigger records the
# search_path and role her scores are written with
sql(q{
CREATE TABLE public.seen_by_carol (cur name, path text);
GRANT INSERT ON public.seen_by_carol TO carol;
SET ROLE carol;
CREATE TABLE public.tc (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO public.tc
SELECT i, i % 10 + (i % 7) / 10.0, (i * 3) % 11,
	   CASE WHEN i <= 100 THEN CASE WHEN i % 10 < 5 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 500) i;
SELECT hitl.create_model('mc', 'public.tc', 'lab', ARRAY['x', 'y'], options => '{"score_tolerance": 0}');
RESET ROLE;
CREATE FUNCTION public.record_carol() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.seen_by_carol VALUES (current_user, pg_catalog.current_setting('search_path'));
	RETURN NULL;
END
$$;
CREATE TRIGGER record_carol AFTER UPDATE OF lab_confidence ON public.tc
	FOR EACH STATEMENT EXECUTE FUNCTION public.record_carol();
});
is(sql(q{SELECT string_agg(format('%s %s v%s', name, owner, current_version), ', ' ORDER BY name) FROM hitl.models}),
	'mc carol v1, mm mallory v1', 'mallory owns mm, carol mc');

# 1. The worker retrains and rescores mallory's model: his trigger fires
sql(q{UPDATE tm SET lab = CASE lab WHEN 'a' THEN 'b' ELSE 'a' END WHERE lab IS NOT NULL});
is(sql(q{SELECT hitl.wait('mm')}), '2', 'the worker trains and scores mm version 2');
cmp_ok(sql(q{SELECT count(*) FROM evil.seen WHERE what = 'trigger' AND sess <> 'mallory'}),
	'>=', 1, "mallory's trigger ran in the worker and set the search_path");
is(sql(q{SELECT string_agg(DISTINCT cur, ',') FROM evil.seen WHERE what = 'trigger' AND sess <> 'mallory'}),
	'mallory', 'as mallory');

# 2. Then carol's model, and the worker's own queries of the next rounds
sql(q{UPDATE tc SET lab = CASE lab WHEN 'a' THEN 'b' ELSE 'a' END WHERE lab IS NOT NULL});
is(sql(q{SELECT hitl.wait('mc')}), '2', 'the worker trains and scores mc version 2');
sql(q{UPDATE tm SET lab = 'a' WHERE id = 101});
is(sql(q{SELECT hitl.wait('mm')}), '3', 'and mm version 3');
sql(q{UPDATE tc SET lab = 'b' WHERE id = 101});
is(sql(q{SELECT hitl.wait('mc')}), '3', 'and mc version 3');

is(sql(q{SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'}), 'f', 'mallory is not superuser');
is( sql(
		q{SELECT count(*) FROM evil.seen WHERE what = 'now' AND (super OR cur <> 'mallory')}),
	'0', "mallory's now() never ran with anyone's rights but his");
is( sql(q{SELECT coalesce(string_agg(DISTINCT format('%s %s', cur, path), ', '), 'none') FROM seen_by_carol}),
	'carol pg_catalog, pg_temp',
	"carol's scores are written as carol, with the safe search_path, not mallory's");

# 3. Both models are trained and scored normally
is( sql(
		q{SELECT string_agg(format('%s %s %s %s', name, status, current_version = scored_version, failures), ', ' ORDER BY name)
		  FROM hitl.models}),
	'mc scored t 0, mm scored t 0', 'both models are scored with their current version, no failure');
is(sql(q{SELECT count(*) FROM tm t WHERE lab_prediction IS DISTINCT FROM hitl.predict('mm', t)}),
	'0', 'every row of tm has its scores');
is(sql(q{SELECT count(*) FROM tc t WHERE lab_prediction IS DISTINCT FROM hitl.predict('mc', t)}),
	'0', 'every row of tc has its scores');
unlike(slurp_file($node->logfile), qr/hitl: model "m[mc]".* failed/, 'no failure in the server log');

$node->stop;

done_testing();
