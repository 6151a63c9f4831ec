-- hitl.create_model(): output columns, review view, catalog rows, first
-- training and scoring, the review queue, too few labels, label types.

BEGIN;
SELECT plan(73);

CREATE EXTENSION hitl;

-- 200 rows, the first 60 labeled with one of three classes that follow b;
-- one output column exists already, with the right type.
CREATE TABLE items (
	id serial PRIMARY KEY,
	a numeric,
	b integer,
	flag boolean,
	emb float8[],
	kind text,
	kind_confidence double precision
);
INSERT INTO items (a, b, flag, emb, kind)
SELECT (i % 17)::numeric / 3, (i * 7) % 23, i % 3 = 0, ARRAY[sin(i), cos(i)],
	   CASE WHEN i <= 60 THEN
		   CASE WHEN (i * 7) % 23 < 8 THEN 'x' WHEN (i * 7) % 23 < 16 THEN 'y' ELSE 'z' END
	   END
FROM generate_series(1, 200) i;

CREATE TEMP TABLE attnum_before AS
	SELECT attnum FROM pg_attribute
	WHERE attrelid = 'items'::regclass AND attname = 'kind_confidence';

SELECT is(hitl.create_model('im', 'items', 'kind', ARRAY['a', 'b', 'flag', 'emb']),
		  1, 'create_model with enough labels trains version 1 and returns it');

-- output columns
SELECT col_type_is('items', 'kind_prediction', 'text', 'prediction column has the label''s type');
SELECT col_type_is('items', 'kind_confidence', 'double precision', 'confidence column is double precision');
SELECT col_type_is('items', 'kind_uncertainty', 'double precision', 'uncertainty column is double precision');
SELECT columns_are('items',
	ARRAY['id', 'a', 'b', 'flag', 'emb', 'kind', 'kind_confidence',
		  'kind_prediction', 'kind_uncertainty'],
	'exactly the missing output columns were added');
SELECT is((SELECT attnum FROM pg_attribute
		   WHERE attrelid = 'items'::regclass AND attname = 'kind_confidence'),
		  (SELECT attnum FROM attnum_before),
		  'the existing confidence column was reused, not re-created');

-- the review view, in the table's schema
SELECT has_view('public', 'im_review_queue', 'review view <model>_review_queue exists in the table''s schema');
SELECT columns_are('public', 'im_review_queue',
	ARRAY['id', 'a', 'b', 'flag', 'emb', 'kind', 'kind_confidence',
		  'kind_prediction', 'kind_uncertainty', 'rank', 'evaluation'],
	'review view has the source table''s columns plus rank and evaluation');
SELECT col_type_is('public', 'im_review_queue', 'rank', 'integer', 'rank is an integer');

-- hitl.models
SELECT results_eq(
	$$SELECT status, current_version, scored_version, label_column::text COLLATE "default",
			 feature_columns::text[] COLLATE "default", key_columns::text[] COLLATE "default",
			 prediction_column::text COLLATE "default", confidence_column::text COLLATE "default",
			 uncertainty_column::text COLLATE "default", added_columns::text[] COLLATE "default",
			 review_view, algorithm, strategy, owner = current_user
	  FROM hitl.models WHERE name = 'im'$$,
	$$VALUES ('scored', 1, 1, 'kind', ARRAY['a', 'b', 'flag', 'emb'], ARRAY['id'],
			  'kind_prediction', 'kind_confidence', 'kind_uncertainty',
			  ARRAY['kind_prediction', 'kind_uncertainty'],
			  'public.im_review_queue', 'logistic', 'margin', true)$$,
	'hitl.models row: status, versions, columns, view, defaults');
SELECT is((SELECT source FROM hitl.models WHERE name = 'im'), 'items'::regclass, 'source is the table');
SELECT is((SELECT options->>'min_labels' FROM hitl.models WHERE name = 'im'), '10', 'options default min_labels 10');
SELECT ok((SELECT options ?& ARRAY['C', 'min_labels', 'max_iter', 'tol', 'cv_folds',
								   'score_tolerance', 'queue_size']
			 AND NOT options ? 'batch_size'
		   FROM hitl.models WHERE name = 'im'),
		  'options hold every option with its default, batch_size following hitl.batch_size');
SELECT is((SELECT (options->>'queue_size')::int FROM hitl.models WHERE name = 'im'), 1000, 'options default queue_size 1000');
SELECT ok((SELECT trained_at IS NOT NULL AND scored_at IS NOT NULL AND last_error IS NULL
		   FROM hitl.models WHERE name = 'im'),
		  'trained_at and scored_at set, no error');

-- hitl.model_versions
SELECT results_eq(
	$$SELECT version, n_labeled, algorithm, classes, feature_names, feature_dims,
			 cardinality(feature_means), cardinality(feature_scales), cardinality(coefficients)
	  FROM hitl.model_versions WHERE model = 'im'$$,
	$$VALUES (1, 60, 'logistic', ARRAY['x', 'y', 'z'], ARRAY['a', 'b', 'flag', 'emb[1]', 'emb[2]'],
			  ARRAY[0, 0, 0, 2], 5, 5, 3 * (5 + 1))$$,
	'one version: classes, features (the array expanded), 3 x (5 + 1) coefficients');
SELECT ok((SELECT metrics ?& ARRAY['n_labeled', 'n_classes', 'n_features', 'iterations',
								   'converged', 'warm_start', 'objective', 'train_accuracy',
								   'train_macro_f1', 'train_log_loss', 'cv_folds',
								   'cv_accuracy', 'cv_macro_f1', 'cv_log_loss']
		   FROM hitl.model_versions WHERE model = 'im'),
		  'metrics hold training and cross-validation figures');
SELECT results_eq(
	$$SELECT (metrics->>'n_labeled')::int, (metrics->>'n_classes')::int,
			 (metrics->>'n_features')::int, (metrics->>'cv_folds')::int,
			 metrics->>'converged', metrics->>'warm_start'
	  FROM hitl.model_versions WHERE model = 'im'$$,
	$$VALUES (60, 3, 5, 5, 'true', 'false')$$,
	'metrics: counts, 5 folds, converged, cold start');
SELECT ok((SELECT (metrics->>'cv_accuracy')::float8 BETWEEN 0.5 AND 1
			  AND (metrics->>'train_accuracy')::float8 BETWEEN 0.8 AND 1
		   FROM hitl.model_versions WHERE model = 'im'),
		  'accuracies are plausible for classes that follow a feature');
SELECT ok((SELECT bool_and(c <> 'NaN'::float8) FROM hitl.model_versions, unnest(coefficients) c
		   WHERE model = 'im'),
		  'coefficients are numbers');

-- scores of every row
SELECT is((SELECT count(*) FROM items WHERE kind_prediction IS NULL OR kind_confidence IS NULL
		   OR kind_uncertainty IS NULL), 0::bigint, 'every row, labeled or not, got scores');
SELECT is((SELECT count(*) FROM items WHERE kind_prediction NOT IN ('x', 'y', 'z')), 0::bigint,
		  'predictions are classes');
SELECT is((SELECT count(*) FROM items
		   WHERE NOT kind_confidence BETWEEN 1.0 / 3 - 1e-12 AND 1), 0::bigint,
		  'confidence in [1/k, 1]');
SELECT is((SELECT count(*) FROM items WHERE NOT kind_uncertainty BETWEEN 0 AND 1), 0::bigint,
		  'uncertainty in [0, 1]');
SELECT is((SELECT count(DISTINCT kind_prediction) FROM items), 3::bigint, 'all three classes are predicted');
SELECT cmp_ok((SELECT count(*) FROM items WHERE kind IS NOT NULL AND kind = kind_prediction),
			  '>=', 50::bigint, 'labeled rows are mostly predicted right');
-- margin: uncertainty is 1 - (p1 - p2), confidence is p1
SELECT is((SELECT count(*) FROM (
			  SELECT i.kind_confidence AS c, i.kind_uncertainty AS u,
					 (SELECT array_agg(value::float8 ORDER BY value::float8 DESC)
					  FROM jsonb_each_text(hitl.predict_proba('im', i))) AS p
			  FROM items i) s
		   WHERE abs(c - p[1]) > 1e-12 OR abs(u - (1 - (p[1] - p[2]))) > 1e-12),
		  0::bigint, 'confidence = top probability, uncertainty = 1 - margin');

-- hitl.queue and the review views
SELECT is((SELECT count(*) FROM hitl.queue WHERE model = 'im'), 140::bigint,
		  'queue holds every unlabeled row (queue_size 1000 > 140)');
SELECT is((SELECT count(*) FROM hitl.queue q JOIN items i ON i.id = (q.row_key->>'id')::int
		   WHERE q.model = 'im' AND i.kind IS NULL), 140::bigint,
		  'queue rows are unlabeled rows of the table');
SELECT is((SELECT array_agg(rank ORDER BY rank) FROM hitl.queue WHERE model = 'im'),
		  (SELECT array_agg(g) FROM generate_series(1, 140) g),
		  'ranks are 1..n');
SELECT is((SELECT count(*) FROM hitl.queue a JOIN hitl.queue b USING (model)
		   WHERE model = 'im' AND a.rank < b.rank AND a.uncertainty < b.uncertainty
			 AND NOT a.evaluation AND NOT b.evaluation),
		  0::bigint, 'queue is ordered by uncertainty, highest first, but for the evaluation rows');
SELECT is((SELECT count(*) FROM hitl.queue WHERE model = 'im' AND evaluation), 7::bigint,
		  'the default evaluation_rate 0.05: 7 of the 140 are evaluation rows, drawn at random');
SELECT is((SELECT count(*) FROM hitl.queue q JOIN items i ON i.id = (q.row_key->>'id')::int
		   WHERE q.model = 'im' AND (q.prediction <> i.kind_prediction
			   OR q.confidence <> i.kind_confidence OR q.uncertainty <> i.kind_uncertainty
			   OR q.version <> 1)),
		  0::bigint, 'queue rows carry the scores written to the table');
SELECT results_eq(
	$$SELECT id, kind_uncertainty, rank FROM im_review_queue$$,
	$$SELECT i.id, i.kind_uncertainty, q.rank FROM hitl.queue q
	  JOIN items i ON i.id = (q.row_key->>'id')::int
	  WHERE q.model = 'im' ORDER BY q.rank$$,
	'review view lists the queue''s rows in rank order');
SELECT is((SELECT max(kind_uncertainty) FROM items WHERE kind IS NULL),
		  (SELECT kind_uncertainty FROM im_review_queue WHERE rank = 1),
		  'rank 1 is the most uncertain unlabeled row');
SELECT results_eq(
	$$SELECT (row_key->>'id')::int, prediction, rank FROM hitl.review_queue WHERE model = 'im'$$,
	$$SELECT id, kind_prediction, rank FROM im_review_queue$$,
	'hitl.review_queue shows the same rows');

-- labeling a queued row takes it out of the views at once
CREATE TEMP TABLE top AS SELECT id FROM im_review_queue WHERE rank = 1;
UPDATE items SET kind = 'y' WHERE id = (SELECT id FROM top);
SELECT is((SELECT count(*) FROM im_review_queue WHERE id = (SELECT id FROM top)), 0::bigint,
		  'a row labeled by a user leaves the review view immediately');
SELECT is((SELECT count(*) FROM im_review_queue), 139::bigint, 'the other queued rows stay');
SELECT is((SELECT count(*) FROM hitl.review_queue
		   WHERE model = 'im' AND (row_key->>'id')::int = (SELECT id FROM top)), 0::bigint,
		  'and leaves hitl.review_queue immediately');

-- a second model on the same table with custom output columns and options
SELECT is(hitl.create_model('im2', 'items', 'kind', ARRAY['a', 'b'],
							prediction_column => 'p2', confidence_column => 'c2',
							uncertainty_column => 'u2', strategy => 'least_confidence',
							options => '{"C": 0.5, "queue_size": 7, "cv_folds": 0}'),
		  1, 'create_model with custom output columns');
SELECT col_type_is('items', 'p2', 'text', 'custom prediction column has the label''s type');
SELECT col_type_is('items', 'c2', 'double precision', 'custom confidence column');
SELECT col_type_is('items', 'u2', 'double precision', 'custom uncertainty column');
SELECT is((SELECT added_columns::text[] FROM hitl.models WHERE name = 'im2'),
		  ARRAY['p2', 'c2', 'u2'], 'added_columns lists the custom columns');
SELECT is((SELECT count(*) FROM items WHERE p2 IS NULL OR c2 IS NULL OR u2 IS NULL), 0::bigint,
		  'custom columns are filled');
SELECT is((SELECT count(*) FROM items WHERE abs(u2 - (1 - c2)) > 1e-12), 0::bigint,
		  'least_confidence: uncertainty = 1 - confidence');
SELECT results_eq(
	$$SELECT (options->>'C')::numeric, (options->>'queue_size')::int, (options->>'min_labels')::int
	  FROM hitl.models WHERE name = 'im2'$$,
	$$VALUES (0.5, 7, 10)$$,
	'given options are kept, the others get their defaults');
SELECT is((SELECT count(*) FROM im2_review_queue), 7::bigint, 'queue_size bounds the review view');
SELECT is((SELECT metrics ? 'cv_accuracy' FROM hitl.model_versions WHERE model = 'im2'), false,
		  'cv_folds 0: no cross-validation');
SELECT is((SELECT cardinality(coefficients) FROM hitl.model_versions WHERE model = 'im2'),
		  3 * (2 + 1), 'coefficients: 3 x (2 + 1)');

-- too few labels: the model waits
CREATE TABLE few (id bigint PRIMARY KEY, x float8, lab text);
INSERT INTO few SELECT i, i, CASE WHEN i <= 9 THEN (ARRAY['a', 'b'])[1 + i % 2] END
FROM generate_series(1, 50) i;
SELECT is(hitl.create_model('fm', 'few', 'lab', ARRAY['x']), NULL::integer,
		  'create_model with 9 labels returns no version');
SELECT results_eq(
	$$SELECT status, current_version, scored_version FROM hitl.models WHERE name = 'fm'$$,
	$$VALUES ('waiting_for_labels', NULL::int, NULL::int)$$,
	'model is waiting_for_labels, without versions');
SELECT is((SELECT count(*) FROM hitl.model_versions WHERE model = 'fm'), 0::bigint, 'no version recorded');
SELECT is((SELECT count(*) FROM few WHERE lab_prediction IS NOT NULL), 0::bigint, 'nothing scored');
SELECT has_view('public', 'fm_review_queue', 'a waiting model has its (empty) review view');
SELECT is((SELECT count(*) FROM fm_review_queue), 0::bigint, 'and it is empty');
-- one more label: training works
UPDATE few SET lab = 'a' WHERE id = 10;
SELECT is(hitl.train('fm'), 1, 'with the 10th label, hitl.train records version 1');

-- label types: integer, boolean, enum
CREATE TYPE mood AS ENUM ('sad', 'meh', 'glad');
CREATE TABLE lt (id int PRIMARY KEY, x float8, y float8, li integer, lb boolean, le mood);
INSERT INTO lt
SELECT i, i % 10, (i * 3) % 7,
	   CASE WHEN i <= 40 THEN (i % 10) / 4 END,
	   CASE WHEN i <= 40 THEN i % 10 >= 5 END,
	   CASE WHEN i <= 40 THEN ((ARRAY['sad', 'meh', 'glad'])[(i % 10) / 4 + 1])::mood END
FROM generate_series(1, 100) i;
SELECT is(hitl.create_model('mi', 'lt', 'li', ARRAY['x', 'y']), 1, 'model on an integer label');
SELECT is(hitl.create_model('mb', 'lt', 'lb', ARRAY['x', 'y']), 1, 'model on a boolean label');
SELECT is(hitl.create_model('me', 'lt', 'le', ARRAY['x', 'y']), 1, 'model on an enum label');
SELECT col_type_is('lt', 'li_prediction', 'integer', 'integer label: integer prediction');
SELECT col_type_is('lt', 'lb_prediction', 'boolean', 'boolean label: boolean prediction');
SELECT col_type_is('lt', 'le_prediction', 'mood', 'enum label: prediction of the enum type');
SELECT results_eq(
	$$SELECT model, classes, cardinality(coefficients) FROM hitl.model_versions
	  WHERE model IN ('mi', 'mb', 'me') ORDER BY model$$,
	$$VALUES ('mb', ARRAY['false', 'true'], 1 * (2 + 1)),
			 ('me', ARRAY['sad', 'meh', 'glad'], 3 * (2 + 1)),
			 ('mi', ARRAY['0', '1', '2'], 3 * (2 + 1))$$,
	'classes in the label type''s order (enum order); 2 classes need one coefficient vector');
SELECT is((SELECT count(*) FROM lt WHERE li_prediction IS NULL OR lb_prediction IS NULL
		   OR le_prediction IS NULL), 0::bigint, 'all three label types are scored');
SELECT is((SELECT count(*) FROM lt WHERE id <= 40
		   AND (li_prediction <> li OR lb_prediction <> lb OR le_prediction <> le)), 0::bigint,
		  'separable labels are predicted exactly, in their own types');
SELECT is((SELECT count(*) FROM lt WHERE lb_confidence < 0.5 OR le_confidence < 1.0 / 3), 0::bigint,
		  'confidence at least 1/k for 2 and 3 classes');

-- names that need quoting, in a schema of their own
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."My Table" ("user" int PRIMARY KEY, "order" float8, "x y" integer, "Select" text);
INSERT INTO "Odd Schema"."My Table"
SELECT i, i % 10, i % 3, CASE WHEN i <= 30 THEN CASE WHEN i % 10 < 5 THEN 'lo' ELSE 'hi' END END
FROM generate_series(1, 60) i;
SELECT is(hitl.create_model('Odd Model', '"Odd Schema"."My Table"', 'Select', ARRAY['order', 'x y']), 1,
		  'quoted schema, table, column and model names work');
SELECT is((SELECT review_view FROM hitl.models WHERE name = 'Odd Model'),
		  '"Odd Schema"."Odd Model_review_queue"', 'the review view is named after the model, in the table''s schema');
SELECT is((SELECT count(*) FROM "Odd Schema"."Odd Model_review_queue"), 30::bigint, 'and lists the unlabeled rows');
SELECT col_type_is('Odd Schema', 'My Table', 'Select_prediction', 'text', 'output columns derived from a quoted label name');

-- a table with a column named rank, like the review view's own column
CREATE TABLE players (id int PRIMARY KEY, rank integer, x float8, lab text);
INSERT INTO players SELECT i, i, i % 10, CASE WHEN i <= 30 THEN CASE WHEN i % 10 < 5 THEN 'lo' ELSE 'hi' END END
FROM generate_series(1, 60) i;
SELECT lives_ok($$SELECT hitl.create_model('pl', 'players', 'lab', ARRAY['x'])$$,
				'create_model on a table that has a column named rank');
SELECT has_column('pl_review_queue', 'queue_rank', 'whose review view names its rank column queue_rank');

SELECT * FROM finish();
ROLLBACK;
