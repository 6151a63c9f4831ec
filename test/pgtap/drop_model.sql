-- hitl.drop_model(): what goes (catalog rows, queue, view, and with
-- drop_columns the columns create_model added) and what stays.

BEGIN;
SELECT plan(45);

CREATE EXTENSION hitl;

-- lab_uncertainty exists before any model: create_model reuses it
CREATE TABLE obs (id int PRIMARY KEY, x float8, y integer, lab text, lab_uncertainty float8, note text);
INSERT INTO obs (id, x, y, lab, note)
SELECT i, i % 10, (i * 3) % 7,
	   CASE WHEN i <= 40 THEN CASE WHEN i % 10 < 5 THEN 'lo' ELSE 'hi' END END,
	   'row ' || i
FROM generate_series(1, 120) i;

-- the model to drop, and another model of the same table with columns of its own
SELECT is(hitl.create_model('dm', 'obs', 'lab', ARRAY['x', 'y']), 1, 'model dm created');
SELECT is(hitl.create_model('keep', 'obs', 'lab', ARRAY['x'], prediction_column => 'kp',
							confidence_column => 'kc', uncertainty_column => 'ku'),
		  1, 'model keep created on the same table');
SELECT is((SELECT added_columns::text[] FROM hitl.models WHERE name = 'dm'),
		  ARRAY['lab_prediction', 'lab_confidence'], 'dm added two columns, reused lab_uncertainty');
SELECT hitl.alter_model('dm', options => '{"C": 0.5}');
SELECT is(hitl.train('dm'), 2, 'dm has a second version');
SELECT cmp_ok((SELECT count(*) FROM hitl.queue WHERE model = 'dm'), '>', 0::bigint, 'dm has queue rows');

-- drop_model with default arguments
SELECT lives_ok($$SELECT hitl.drop_model('dm')$$, 'drop_model(dm)');
SELECT is((SELECT count(*) FROM hitl.models WHERE name = 'dm'), 0::bigint, 'hitl.models row removed');
SELECT is((SELECT count(*) FROM hitl.model_versions WHERE model = 'dm'), 0::bigint, 'its versions removed');
SELECT is((SELECT count(*) FROM hitl.queue WHERE model = 'dm'), 0::bigint, 'its queue rows removed');
SELECT hasnt_view('public', 'dm_review_queue', 'its review view dropped');
SELECT is((SELECT count(*) FROM hitl.review_queue WHERE model = 'dm'), 0::bigint, 'hitl.review_queue shows nothing of it');
SELECT has_column('obs', 'lab_prediction', 'prediction column kept by default');
SELECT has_column('obs', 'lab_confidence', 'confidence column kept by default');
SELECT has_column('obs', 'lab_uncertainty', 'uncertainty column kept');
SELECT is((SELECT count(*) FROM obs WHERE lab_prediction IS NOT NULL AND lab_confidence IS NOT NULL
		   AND lab_uncertainty IS NOT NULL), 120::bigint, 'kept columns keep their values');
SELECT throws_ok($$SELECT hitl.train('dm')$$, '42704', NULL, 'a dropped model cannot be trained');
SELECT throws_ok($$SELECT hitl.predict('dm', o) FROM obs o WHERE id = 1$$, '42704', NULL,
				 'nor used by predict');

-- the other model of the table is untouched
SELECT results_eq($$SELECT status, current_version FROM hitl.models WHERE name = 'keep'$$,
				  $$VALUES ('scored', 1)$$, 'the other model is untouched');
SELECT is((SELECT count(*) FROM keep_review_queue), 80::bigint, 'its review view still works');

-- the name is free again; all three default columns now exist, so none is added
SELECT is(hitl.create_model('dm', 'obs', 'lab', ARRAY['x']), 1, 'a model of the same name can be created again');
SELECT is((SELECT added_columns FROM hitl.models WHERE name = 'dm'), '{}'::name[],
		  'existing output columns are reused: none added');
SELECT lives_ok($$SELECT hitl.drop_model('dm', drop_columns => true)$$,
				'drop_model with drop_columns and nothing added');
SELECT columns_are('obs',
	ARRAY['id', 'x', 'y', 'lab', 'lab_uncertainty', 'note', 'kp', 'kc', 'ku',
		  'lab_prediction', 'lab_confidence'],
	'drop_columns drops nothing the model did not add');

-- drop_columns removes exactly the columns the model added
SELECT is(hitl.create_model('dc', 'obs', 'lab', ARRAY['x', 'y'], prediction_column => 'dc_p',
							confidence_column => 'dc_c'),
		  1, 'model dc adds dc_p and dc_c, reuses lab_uncertainty');
SELECT is((SELECT added_columns::text[] FROM hitl.models WHERE name = 'dc'), ARRAY['dc_p', 'dc_c'],
		  'added_columns of dc');
SELECT lives_ok($$SELECT hitl.drop_model('dc', drop_columns => true)$$, 'drop_model(dc, drop_columns => true)');
SELECT hasnt_column('obs', 'dc_p', 'added prediction column dropped');
SELECT hasnt_column('obs', 'dc_c', 'added confidence column dropped');
SELECT columns_are('obs',
	ARRAY['id', 'x', 'y', 'lab', 'lab_uncertainty', 'note', 'kp', 'kc', 'ku',
		  'lab_prediction', 'lab_confidence'],
	'every other column stays, the pre-existing uncertainty column included');
SELECT is((SELECT count(*) FROM obs WHERE note = 'row ' || id AND lab_uncertainty IS NOT NULL), 120::bigint,
		  'the data of the remaining columns is intact');
SELECT hasnt_view('public', 'dc_review_queue', 'dc''s review view dropped');
SELECT is((SELECT count(*) FROM keep_review_queue), 80::bigint,
		  'the other model''s review view still works after columns were dropped');
SELECT lives_ok($$SELECT hitl.score('keep')$$, 'the other model still scores');

-- unknown model
SELECT throws_ok($$SELECT hitl.drop_model('no_such_model')$$, '42704',
				 'model "no_such_model" does not exist', 'unknown model: 42704');
SELECT throws_ok($$SELECT hitl.drop_model('no_such_model', drop_columns => true)$$, '42704', NULL,
				 'unknown model with drop_columns: 42704');

-- models whose table was dropped (DROP TABLE ... CASCADE takes the views along)
CREATE TABLE gone (id int PRIMARY KEY, x float8, lab text);
INSERT INTO gone SELECT i, i % 10, CASE WHEN i <= 30 THEN CASE WHEN i % 10 < 5 THEN 'lo' ELSE 'hi' END END
FROM generate_series(1, 60) i;
SELECT hitl.create_model('gone_a', 'gone', 'lab', ARRAY['x']) AS gone_a \gset
SELECT hitl.create_model('gone_b', 'gone', 'lab', ARRAY['x'], prediction_column => 'bp',
						 confidence_column => 'bc', uncertainty_column => 'bu') AS gone_b \gset
SET client_min_messages = warning;
DROP TABLE gone CASCADE;
RESET client_min_messages;
SELECT throws_ok($$SELECT hitl.score('gone_a')$$, '42P01', 'the table of model "gone_a" no longer exists',
				 'scoring a model whose table was dropped: 42P01');
SELECT throws_ok($$SELECT hitl.train('gone_a')$$, '42P01', NULL,
				 'training a model whose table was dropped: 42P01');
SELECT lives_ok($$SELECT count(*) FROM hitl.review_queue$$,
				'hitl.review_queue still works while a model''s table is gone');
SELECT lives_ok($$SELECT hitl.drop_model('gone_b', drop_columns => true)$$,
				'drop_model(drop_columns => true) of a model whose table was dropped');
SELECT lives_ok($$SELECT hitl.drop_model('gone_a')$$, 'drop_model of a model whose table was dropped');
SELECT is((SELECT count(*) FROM hitl.models WHERE name = 'gone_a'), 0::bigint, 'that model is gone');
SELECT is((SELECT count(*) FROM hitl.model_versions WHERE model = 'gone_a'), 0::bigint, 'with its versions');
DO $$ BEGIN PERFORM hitl.drop_model(name) FROM hitl.models WHERE name = 'gone_b'; END $$;

-- Two models cannot write the same output columns (and so drop_columns of
-- one never takes the other's columns away).
CREATE TABLE shared (id int PRIMARY KEY, x float8, lab text);
INSERT INTO shared SELECT i, i % 10, CASE WHEN i <= 30 THEN CASE WHEN i % 10 < 5 THEN 'lo' ELSE 'hi' END END
FROM generate_series(1, 60) i;
SELECT hitl.create_model('s1', 'shared', 'lab', ARRAY['x']) AS s1_version \gset
SELECT throws_ok($$SELECT hitl.create_model('s2', 'shared', 'lab', ARRAY['x'], strategy => 'entropy')$$,
				 '42701', 'column "lab_prediction" is written by model "s1"',
				 'a second model on the same label columns is refused: 42701');
SELECT lives_ok($$SELECT hitl.create_model('s2', 'shared', 'lab', ARRAY['x'], strategy => 'entropy',
										   prediction_column => 'p2', confidence_column => 'c2',
										   uncertainty_column => 'u2')$$,
				'with output columns of its own it is created');
SELECT hitl.drop_model('s1', drop_columns => true) \gset
SELECT lives_ok($$SELECT hitl.score('s2')$$,
				'after drop_model(s1, drop_columns => true), s2 still scores');

SELECT * FROM finish();
ROLLBACK;
