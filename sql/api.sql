-- The API on real data: create, train, score, predict, drop; label, feature
-- and key types; quoted names.

CREATE TABLE veh AS
	SELECT id, comp, circ, d_circ, rad_ra, pr_axis_ra, max_l_ra, scat_ra, elong,
		   pr_axis_rect, max_l_rect, sc_var_maxis, sc_var_minis, ra_gyr,
		   skew_maxis, skew_minis, kurt_minis, kurt_maxis, holl_ra,
		   CASE WHEN id % 4 <> 0 THEN class END AS class
	FROM vehicle;
ALTER TABLE veh ADD PRIMARY KEY (id);

-- trains and scores at once: there are 635 labels of 4 classes
SELECT hitl.create_model('veh', 'veh', 'class', vehicle_features());

SELECT name, source, label_column, cardinality(feature_columns) AS n_features,
	   key_columns, prediction_column, confidence_column, uncertainty_column,
	   added_columns, review_view, algorithm, strategy, status,
	   current_version, scored_version, owner = current_user AS mine
FROM hitl.models;
SELECT options FROM hitl.models;

SELECT version, n_labeled, classes, feature_names[1:3], feature_dims[1:3],
	   cardinality(coefficients) AS n_coef, cardinality(feature_means) AS n_means,
	   (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(metrics) k) AS metric_keys,
	   (metrics->>'cv_accuracy')::float8 BETWEEN 0.7 AND 0.85 AS cv_accuracy_plausible,
	   (metrics->>'warm_start')::boolean AS warm_start, train_ms > 0 AS timed
FROM hitl.model_versions;

-- every row scored; confidence in [1/4, 1], uncertainty in [0, 1]
SELECT count(*) AS rows, count(class_prediction) AS predicted,
	   min(class_confidence) >= 0.25 AND max(class_confidence) <= 1 AS confidence_ok,
	   min(class_uncertainty) >= 0 AND max(class_uncertainty) <= 1 AS uncertainty_ok
FROM veh;
-- the training accuracy the metrics report matches the written predictions
SELECT round(avg((class_prediction = class)::int)::numeric, 6)
	   = round((metrics->>'train_accuracy')::numeric, 6) AS train_accuracy_matches
FROM veh, hitl.model_versions WHERE class IS NOT NULL GROUP BY metrics;

-- predict and predict_proba agree with the written columns
SELECT count(*) FILTER (WHERE hitl.predict('veh', v) <> v.class_prediction) AS predict_mismatches,
	   count(*) FILTER (WHERE abs((hitl.predict_proba('veh', v)->>v.class_prediction)::float8
								   - v.class_confidence) > 1e-12) AS proba_mismatches
FROM veh v;
SELECT id, hitl.predict('veh', v), jsonb_object_keys(hitl.predict_proba('veh', v)) AS classes
FROM veh v WHERE id = 1;

-- retraining without new labels: the current version, no new one
SELECT hitl.train('veh');
SELECT count(*) FROM hitl.model_versions;
-- another tolerance: a warm-started version, nothing to rewrite
SELECT hitl.alter_model('veh', options => '{"tol": 1e-7}');
SELECT hitl.train('veh');
SELECT hitl.score('veh');
SELECT (metrics->>'warm_start')::boolean AS warm_start, (metrics->>'iterations')::int <= 1 AS quick
FROM hitl.model_versions WHERE version = 2;

-- new labels: a new version, and only changed rows are written
UPDATE veh SET class = vehicle.class FROM vehicle WHERE veh.id = vehicle.id AND veh.id % 8 = 0;
SELECT hitl.train('veh');
SELECT n_labeled FROM hitl.model_versions WHERE version = 3;
SELECT hitl.score('veh') BETWEEN 1 AND 845 AS some_rows_rewritten;
SELECT status, current_version, scored_version FROM hitl.models;
-- the labels were not touched by scoring
SELECT count(*) FILTER (WHERE class IS NOT NULL) AS labeled FROM veh;

-- drop_model keeps the output columns unless asked
SELECT hitl.drop_model('veh');
SELECT count(*) FROM hitl.models;
SELECT count(*) FROM hitl.model_versions;
SELECT count(*) FROM hitl.queue;
SELECT to_regclass('veh_review_queue');
SELECT count(class_prediction) FROM veh;
-- the existing output columns are reused by a new model, and not dropped with it
SELECT hitl.create_model('veh', 'veh', 'class', vehicle_features(), options => '{"cv_folds": 0}');
SELECT added_columns FROM hitl.models;
SELECT hitl.drop_model('veh', drop_columns => true);
SELECT count(class_prediction) FROM veh;
ALTER TABLE veh DROP COLUMN class_prediction, DROP COLUMN class_confidence, DROP COLUMN class_uncertainty;
-- ... and a model that added them drops them
SELECT hitl.create_model('veh', 'veh', 'class', vehicle_features(), options => '{"cv_folds": 0}');
SELECT added_columns FROM hitl.models;
SELECT hitl.drop_model('veh', drop_columns => true);
SELECT array_agg(attname ORDER BY attnum) FILTER (WHERE attname LIKE 'class%') AS class_columns
FROM pg_attribute WHERE attrelid = 'veh'::regclass AND attnum > 0 AND NOT attisdropped;
DROP TABLE veh;

-- feature types: integers, reals, numeric, boolean, arrays, NULLs; an
-- integer label; custom output columns; min_labels
CREATE TABLE mixed (id bigint PRIMARY KEY, i2 smallint, i8 bigint, r real, n numeric,
					b boolean, emb real[], label int);
INSERT INTO mixed
SELECT g, (g % 5)::smallint, g * 1000, (g % 3)::real, (g % 4) / 2.0, g % 2 = 0,
	   ARRAY[(g % 2), 1 - (g % 2), (g % 5) / 5.0]::real[],
	   CASE WHEN g <= 40 THEN g % 2 END
FROM generate_series(1, 100) g;
UPDATE mixed SET r = NULL, emb = NULL WHERE id IN (7, 8);
UPDATE mixed SET emb[2] = NULL WHERE id = 9;
SELECT hitl.create_model('mixed', 'mixed', 'label', '{i2,i8,r,n,b,emb}',
						 prediction_column => 'guess', confidence_column => 'sure',
						 uncertainty_column => 'unsure',
						 options => '{"min_labels": 20, "cv_folds": 4}');
SELECT feature_names, feature_dims, classes FROM hitl.model_versions WHERE model = 'mixed';
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 'mixed'::regclass AND attname IN ('guess', 'sure', 'unsure') ORDER BY attnum;
-- b and emb tell the label apart: every row is predicted right, NULL features included
SELECT count(*) FILTER (WHERE guess = id % 2) AS right, count(*) AS rows,
	   count(*) FILTER (WHERE sure = 'NaN' OR unsure = 'NaN') AS nans
FROM mixed;
SELECT id, guess, hitl.predict('mixed', m) FROM mixed m WHERE id IN (7, 8, 9) ORDER BY id;
SELECT hitl.drop_model('mixed');

-- boolean and enum labels; a composite key; quoted names in another schema
CREATE SCHEMA "Other Schema";
CREATE TYPE "Other Schema".mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE "Other Schema"."Feelings" (
	"Day" int, "Who" text, "Score" float8, "Is Happy" boolean,
	"The Mood" "Other Schema".mood, PRIMARY KEY ("Day", "Who"));
INSERT INTO "Other Schema"."Feelings"
SELECT g / 3, 'p' || g % 3, g % 10,
	   CASE WHEN g <= 30 THEN g % 10 >= 5 END,
	   CASE WHEN g <= 30 THEN (enum_range(NULL::"Other Schema".mood))[1 + (g % 10) / 4] END
FROM generate_series(0, 59) g;
SELECT hitl.create_model('Happy Days', '"Other Schema"."Feelings"', 'Is Happy', '{Score}');
SELECT hitl.create_model('moods', '"Other Schema"."Feelings"', 'The Mood', '{Score}',
						 strategy => 'entropy');
SELECT name, review_view, key_columns, prediction_column FROM hitl.models ORDER BY name;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = '"Other Schema"."Feelings"'::regclass
  AND attname IN ('Is Happy_prediction', 'The Mood_prediction') ORDER BY attnum;
SELECT "Day", "Who", "Is Happy_prediction", rank
FROM "Other Schema"."Happy Days_review_queue" ORDER BY rank LIMIT 3;
SELECT model, row_key, prediction, rank FROM hitl.review_queue WHERE rank <= 2 ORDER BY model, rank;
SELECT classes FROM hitl.model_versions WHERE model = 'moods';
SELECT hitl.drop_model('Happy Days', true);
SELECT hitl.drop_model('moods', true);
DROP SCHEMA "Other Schema" CASCADE;
