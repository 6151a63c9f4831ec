-- Naive Bayes trained by aggregates (hitl._nb_sums, hitl._nb_eval) against a
-- table owner's label types: the classes are the labels' texts byte for
-- byte, as when the rows are read (a case-insensitive collation or a cast
-- that gives two values one text merges no group and loses no row), and a
-- cast to text that gives NULL is refused with 22004 on every path instead
-- of ending the server process.  Also _nb_eval's model argument with a NaN
-- or infinite element.  Runs outside a transaction block; drops its role at
-- the end.

SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hitl;
DROP ROLE IF EXISTS nbrv_owner;
CREATE ROLE nbrv_owner;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO nbrv_owner', current_database()); END $$;

SELECT plan(17);

SET ROLE nbrv_owner;
CREATE SCHEMA nbrv;

-- a label column under a case-insensitive collation: 'Spam' and 'spam' are
-- two classes when the rows are read (nondeterministic collations need a
-- server built with ICU, which a probe tells: skipped without; pg_collation
-- lists ICU collations on servers built without it too)
DO $$ BEGIN CREATE COLLATION pg_temp.icu_probe (provider = icu, locale = 'und');
EXCEPTION WHEN OTHERS THEN NULL; END $$;
SELECT EXISTS (SELECT FROM pg_collation WHERE collname = 'icu_probe') AS has_icu \gset
\if :has_icu
CREATE COLLATION nbrv.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE nbrv.ci_rows (id int PRIMARY KEY, label text COLLATE nbrv.ci, x1 float8, x2 int);
INSERT INTO nbrv.ci_rows
	SELECT i, (ARRAY['spam', 'Spam', 'ham'])[1 + i % 3], i % 7, (i % 5) * (i % 3)
	FROM generate_series(1, 60) i;
SELECT is(hitl.create_model('nbrv_ci', 'nbrv.ci_rows', 'label', ARRAY['x1', 'x2']::name[],
							algorithm => 'naive_bayes', options => '{"cv_folds": 0}'), 1,
		  'a model on a case-insensitive label column is trained');
SELECT is((SELECT metrics->'aggregates' FROM hitl.model_versions WHERE model = 'nbrv_ci' AND version = 1),
		  'true'::jsonb, 'by the aggregates');
SELECT is((SELECT classes FROM hitl.model_versions WHERE model = 'nbrv_ci' AND version = 1),
		  '{Spam,ham,spam}'::text[], 'labels that the collation finds equal stay apart');
SELECT is((SELECT class_counts FROM hitl.model_versions WHERE model = 'nbrv_ci' AND version = 1),
		  '{20,20,20}'::float8[], 'each with its rows');
SET hitl.train_by_aggregates = off;
SELECT is(hitl.train('nbrv_ci'), 1, 'reading the rows finds the same data: the version stands');
RESET hitl.train_by_aggregates;
\else
SELECT skip('a nondeterministic collation needs a server built with ICU', 5);
\endif

-- an enum whose cast to text (its owner's) gives two values one text
CREATE TYPE nbrv.lbl AS ENUM ('a', 'b', 'c');
CREATE FUNCTION nbrv.lbl_text(nbrv.lbl) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$SELECT CASE WHEN $1 = 'c' THEN 'b' ELSE $1::name::text END$$;
CREATE CAST (nbrv.lbl AS text) WITH FUNCTION nbrv.lbl_text(nbrv.lbl);
CREATE TABLE nbrv.enum_rows (id int PRIMARY KEY, label nbrv.lbl, x1 float8, x2 int);
INSERT INTO nbrv.enum_rows
	SELECT i, (ARRAY['a', 'b', 'c'])[1 + i % 3]::nbrv.lbl, i % 7, (i % 5) * (i % 3)
	FROM generate_series(1, 60) i;
SELECT is(hitl.create_model('nbrv_enum', 'nbrv.enum_rows', 'label', ARRAY['x1', 'x2']::name[],
							algorithm => 'naive_bayes', options => '{"cv_folds": 0}'), 1,
		  'a model on an enum with a cast of its owner is trained');
SELECT is((SELECT ARRAY[metrics->>'aggregates', classes::text, class_counts::text, n_labeled::text]
		   FROM hitl.model_versions WHERE model = 'nbrv_enum' AND version = 1),
		  ARRAY['true', '{a,b}', '{20,40}', '60'],
		  'by the aggregates: the two values of one text are one class, with all its rows');
SET hitl.train_by_aggregates = off;
SELECT is(hitl.train('nbrv_enum'), 1, 'reading the rows finds the same data: the version stands');
RESET hitl.train_by_aggregates;

-- the cast now gives NULL for a non-NULL label
CREATE OR REPLACE FUNCTION nbrv.lbl_text(nbrv.lbl) RETURNS text LANGUAGE sql IMMUTABLE
	AS $$SELECT CASE WHEN $1 = 'c' THEN NULL ELSE $1::name::text END$$;
SELECT throws_ok($$SELECT hitl.train('nbrv_enum')$$, '22004', NULL,
				 'a label NULL as text is refused by the aggregates'' training');
SET hitl.train_by_aggregates = off;
SELECT throws_ok($$SELECT hitl.train('nbrv_enum')$$, '22004', NULL,
				 'and when the rows are read');
RESET hitl.train_by_aggregates;
SELECT throws_ok($$SELECT hitl.create_model('nbrv_enum_lr', 'nbrv.enum_rows', 'label',
											ARRAY['x1', 'x2']::name[],
											prediction_column => 'lr_prediction',
											confidence_column => 'lr_confidence',
											uncertainty_column => 'lr_uncertainty')$$,
				 '22004', NULL, 'and by logistic regression');

-- _nb_eval's model: [classes, features, alpha, dimension, rows, sums]
SELECT throws_ok($$SELECT hitl._nb_eval(0, '{1}', '{2,1,1,Infinity,1,1,1,1}')$$, '22000', NULL,
				 '_nb_eval: an infinite dimension is refused');
SELECT throws_ok($$SELECT hitl._nb_eval(0, '{1}', '{2,1,1,1,1,1,NaN,1}')$$, '22000', NULL,
				 '_nb_eval: a NaN sum is refused, not read as 0');
SELECT is(hitl._nb_eval(0, '{1}', '{2,1,1,1,1,1,1,1}'), '{4,2,0,1,0.6931471805599453,1,0,0,0}'::float8[],
		  '_nb_eval: a valid model scores the row');

-- a model given as a parameter is built once per execution, not once per
-- plan: the same statement run again with another model scores with it
CREATE FUNCTION pg_temp.eval_two(model float8[]) RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
	r float8[];
BEGIN
	SELECT hitl._nb_eval(c, x, model) INTO r
	FROM (VALUES (0, '{1}'::float8[]), (1, '{0}'::float8[])) v(c, x);
	RETURN r;
END
$$;
SELECT is(pg_temp.eval_two('{2,1,1,1,1,1,1,1}'),
		  (SELECT hitl._nb_eval(c, x, '{2,1,1,1,1,1,1,1}')
		   FROM (VALUES (0, '{1}'::float8[]), (1, '{0}'::float8[])) v(c, x)),
		  '_nb_eval: a model passed as a parameter scores as the constant does');
SELECT is(pg_temp.eval_two('{2,1,1,1,5,1,9,1}'),
		  (SELECT hitl._nb_eval(c, x, '{2,1,1,1,5,1,9,1}')
		   FROM (VALUES (0, '{1}'::float8[]), (1, '{0}'::float8[])) v(c, x)),
		  '_nb_eval: the same statement with another model parameter scores with that model');

-- more classes than _nb_eval's confusion counts hold (4,096 x 4,096 at most):
-- the rows are read instead
CREATE TABLE nbrv.many (id int PRIMARY KEY, label text, x1 float8);
INSERT INTO nbrv.many SELECT i, 'c' || (i % 4100), i % 7 FROM generate_series(1, 8200) i;
SELECT is(hitl.create_model('nbrv_many', 'nbrv.many', 'label', ARRAY['x1']::name[],
							algorithm => 'naive_bayes', options => '{"cv_folds": 0}'), 1,
		  'a model of 4,100 classes is trained by reading its rows');

SELECT * FROM finish();

RESET ROLE;
SET client_min_messages = warning;
SELECT hitl.drop_model(name) FROM hitl.models WHERE name = 'nbrv_ci';
SELECT hitl.drop_model('nbrv_enum');
SELECT hitl.drop_model('nbrv_many');
DROP SCHEMA nbrv CASCADE;
DROP OWNED BY nbrv_owner;
DO $$ BEGIN EXECUTE format('REVOKE CREATE ON DATABASE %I FROM nbrv_owner', current_database()); END $$;
DROP ROLE nbrv_owner;
