-- A model whose owner role does not exist when its row is restored is given
-- to the owner of its table, not to the role restoring it (a superuser): the
-- worker would otherwise score it as that superuser, and the triggers of
-- the table would run with a superuser's rights.  The restore is played by
-- a superuser inserting the model's row, as pg_restore does.
--
-- Roles are dropped at the end (the database is dropped after the file).

SELECT plan(5);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

SELECT 'hitl_tap_ro_owner_' || pg_backend_pid() AS owner,
	   'hitl_tap_ro_ghost_' || pg_backend_pid() AS ghost \gset
CREATE ROLE :"owner";
CREATE SCHEMA tap_ro AUTHORIZATION :"owner";

SET ROLE :"owner";
CREATE TABLE tap_ro.t (id int PRIMARY KEY, x float8, y float8, lab text);
INSERT INTO tap_ro.t
SELECT i, i % 7, (i * 13) % 11, CASE WHEN i <= 20 THEN CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 40) i;
SELECT is(hitl.create_model('ro', 'tap_ro.t', 'lab', '{x,y}', options => '{"cv_folds": 0}'), 1,
		  'the owner creates a model');
RESET ROLE;

-- the model's row as a dump holds it, owned by a role this cluster lacks
CREATE TEMP TABLE dumped AS SELECT * FROM hitl.models WHERE name = 'ro';
UPDATE dumped SET owner = :'ghost';
SELECT hitl.drop_model('ro');
SELECT lives_ok($$INSERT INTO hitl.models SELECT * FROM dumped$$, 'the row is restored');
SELECT is((SELECT owner::text FROM hitl.models WHERE name = 'ro'), :'owner',
		  'the model belongs to the owner of its table');
SELECT isnt((SELECT owner::text FROM hitl.models WHERE name = 'ro'), current_user::text,
			'not to the superuser restoring it');

-- legitimate use: the table's owner uses the model
SET ROLE :"owner";
SELECT lives_ok($$SELECT hitl.drop_model('ro')$$,
				'the owner of the table, now the model''s owner, may drop it');
RESET ROLE;

SELECT * FROM finish();

SET client_min_messages = warning;
SELECT hitl.drop_model(name) FROM hitl.models;
DROP SCHEMA tap_ro CASCADE;
DROP OWNED BY :"owner";
DROP ROLE :"owner";
