-- hitl.predict() and hitl.predict_proba(): agreement with the scores written
-- by hitl.score, probabilities, ad-hoc rows, errors, and a new version seen
-- at once by the same session.

BEGIN;
SELECT plan(32);

CREATE EXTENSION hitl;

-- Statlog vehicle silhouettes (846 rows, 18 features, 4 classes); a third
-- of the rows keep their label.
CREATE TABLE vehicle_raw (
	comp int, circ int, d_circ int, rad_ra int, pr_axis_ra int, max_l_ra int,
	scat_ra int, elong int, pr_axis_rect int, max_l_rect int, sc_var_maxis int,
	sc_var_minis int, ra_gyr int, skew_maxis int, skew_minis int, kurt_minis int,
	kurt_maxis int, holl_ra int, class text);
\copy vehicle_raw FROM 'test/data/vehicle.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE vehicle AS SELECT row_number() OVER () AS id, * FROM vehicle_raw;
ALTER TABLE vehicle ADD PRIMARY KEY (id);
CREATE TABLE truth AS SELECT id, class FROM vehicle;
UPDATE vehicle SET class = NULL WHERE id % 3 <> 1;

SELECT is((SELECT count(*) FROM vehicle), 846::bigint, 'vehicle data loaded');
SELECT is(hitl.create_model('vm', 'vehicle', 'class',
		ARRAY['comp', 'circ', 'd_circ', 'rad_ra', 'pr_axis_ra', 'max_l_ra', 'scat_ra', 'elong',
			  'pr_axis_rect', 'max_l_rect', 'sc_var_maxis', 'sc_var_minis', 'ra_gyr',
			  'skew_maxis', 'skew_minis', 'kurt_minis', 'kurt_maxis', 'holl_ra']),
		  1, 'model on 282 labeled rows');
SELECT is((SELECT classes FROM hitl.model_versions WHERE model = 'vm'), ARRAY['bus', 'opel', 'saab', 'van'],
		  'four classes');

CREATE TEMP TABLE p1 AS
	SELECT v.id, v.class_prediction AS stored_prediction, v.class_confidence AS stored_confidence,
		   hitl.predict('vm', v) AS prediction, hitl.predict_proba('vm', v) AS proba
	FROM vehicle v;

-- predict agrees with what hitl.score wrote
SELECT is((SELECT count(*) FROM p1 WHERE prediction IS DISTINCT FROM stored_prediction), 0::bigint,
		  'predict() = stored prediction on every row');
SELECT is((SELECT count(*) FROM p1
		   WHERE abs((proba->>stored_prediction)::float8 - stored_confidence) > 1e-12), 0::bigint,
		  'predict_proba() of the predicted class = stored confidence on every row');
SELECT is((SELECT count(*) FROM p1
		   WHERE prediction <> (SELECT key FROM jsonb_each_text(proba) ORDER BY value::float8 DESC LIMIT 1)),
		  0::bigint, 'predict() is the most probable class of predict_proba()');
SELECT is((SELECT count(*) FROM p1
		   WHERE abs((SELECT sum(value::float8) FROM jsonb_each_text(proba)) - 1) > 1e-9), 0::bigint,
		  'probabilities sum to 1');
SELECT is((SELECT count(*) FROM p1
		   WHERE (SELECT array_agg(key ORDER BY key) FROM jsonb_object_keys(proba) key)
				 <> ARRAY['bus', 'opel', 'saab', 'van']), 0::bigint,
		  'one key per class, no other');
SELECT is((SELECT count(*) FROM p1, jsonb_each(proba) e
		   WHERE jsonb_typeof(e.value) <> 'number' OR NOT (e.value::text::float8 BETWEEN 0 AND 1)), 0::bigint,
		  'every probability is a number in [0, 1]');
SELECT cmp_ok((SELECT count(*)::float8 / 846 FROM p1 JOIN truth USING (id) WHERE prediction = class),
			  '>', 0.6::float8, 'predictions are mostly right on the whole data');

-- ad-hoc rows: only the features count
SELECT is((SELECT hitl.predict('vm', ROW(-1, v.comp, v.circ, v.d_circ, v.rad_ra, v.pr_axis_ra, v.max_l_ra,
		  v.scat_ra, v.elong, v.pr_axis_rect, v.max_l_rect, v.sc_var_maxis, v.sc_var_minis, v.ra_gyr,
		  v.skew_maxis, v.skew_minis, v.kurt_minis, v.kurt_maxis, v.holl_ra, 'van', 'van', 0.1, 0.2)::vehicle)
		   FROM vehicle v WHERE id = 5),
		  (SELECT stored_prediction FROM p1 WHERE id = 5),
		  'a row built with ROW() predicts like the stored row of the same features');
SELECT is((SELECT jsonb_object_keys(hitl.predict_proba('vm', ROW(0, NULL, NULL, NULL, NULL, NULL, NULL,
		  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::vehicle))
		   LIMIT 1) IS NOT NULL, true,
		  'a row of NULL features gets probabilities (imputed with the means)');
SELECT ok((SELECT hitl.predict('vm', ROW(0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::vehicle)
		   = ANY (ARRAY['bus', 'opel', 'saab', 'van'])),
		  'and a predicted class');
SELECT is(hitl.predict('vm', NULL::vehicle), NULL, 'a NULL row gives NULL');

-- in parallel workers (each loads the model itself)
CREATE FUNCTION plan_of(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query;
END
$$;
-- force_parallel_mode is debug_parallel_query from 16: set whichever exists
DO $$
BEGIN
	PERFORM set_config(name, 'on', true) FROM pg_settings
	 WHERE name IN ('force_parallel_mode', 'debug_parallel_query');
END
$$;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SELECT ok((SELECT bool_or(p ~ 'Workers Launched: [1-9]') FROM plan_of(
			  $$SELECT count(*) FROM vehicle v WHERE hitl.predict('vm', v) IS NOT NULL$$) p),
		  'predict() runs in parallel workers');
CREATE TEMP TABLE p_parallel AS
	SELECT v.id, hitl.predict('vm', v) AS prediction, hitl.predict_proba('vm', v) AS proba FROM vehicle v;
DO $$
BEGIN
	PERFORM set_config(name, 'off', true) FROM pg_settings
	 WHERE name IN ('force_parallel_mode', 'debug_parallel_query');
END
$$;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SELECT is((SELECT count(*) FROM p_parallel pp JOIN p1 USING (id)
		   WHERE pp.prediction <> p1.prediction OR pp.proba <> p1.proba), 0::bigint,
		  'and gives exactly the answers of the leader');

-- errors
CREATE TABLE other (id int PRIMARY KEY, comp int);
INSERT INTO other VALUES (1, 90);
SELECT throws_ok($$SELECT hitl.predict('vm', o) FROM other o$$, '42804', NULL,
				 'a row of another table: 42804');
SELECT throws_ok($$SELECT hitl.predict_proba('vm', o) FROM other o$$, '42804', NULL,
				 'predict_proba with a row of another table: 42804');
SELECT throws_ok($$SELECT hitl.predict('vm', ROW(1, 2, 3))$$, '42804', NULL,
				 'an anonymous record: 42804');
SELECT throws_ok($$SELECT hitl.predict('no_such_model', v) FROM vehicle v WHERE id = 1$$, '42704', NULL,
				 'unknown model: 42704');
CREATE TABLE waiting (id int PRIMARY KEY, x float8, lab text);
INSERT INTO waiting VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 3, NULL);
SELECT hitl.create_model('wm', 'waiting', 'lab', ARRAY['x']) AS wm_version \gset
SELECT throws_ok($$SELECT hitl.predict('wm', w) FROM waiting w$$, '55000',
				 'model "wm" has not been trained yet', 'untrained model: 55000');
SELECT throws_ok($$SELECT hitl.predict_proba('wm', w) FROM waiting w$$, '55000', NULL,
				 'predict_proba of an untrained model: 55000');

-- a new version is used at once by this session: swap two classes' labels
UPDATE vehicle SET class = CASE class WHEN 'van' THEN 'bus' WHEN 'bus' THEN 'van' ELSE class END
WHERE class IN ('van', 'bus');
SELECT is(hitl.train('vm'), 2, 'hitl.train records version 2');
SELECT cmp_ok((SELECT count(*) FROM vehicle v WHERE hitl.predict('vm', v) <> v.class_prediction),
			  '>', 200::bigint, 'before rescoring, predict() already answers with version 2');
SELECT is((SELECT count(*) FROM vehicle v JOIN p1 USING (id)
		   WHERE p1.prediction IN ('van', 'bus') AND hitl.predict('vm', v) = p1.prediction), 0::bigint,
		  'every van is now a bus and every bus a van');
SELECT cmp_ok(hitl.score('vm'), '>', 200::bigint, 'hitl.score rewrites the rows that changed');
SELECT is((SELECT count(*) FROM vehicle v WHERE hitl.predict('vm', v) IS DISTINCT FROM v.class_prediction),
		  0::bigint, 'after rescoring, predict() = stored prediction again');
SELECT is((SELECT count(*) FROM vehicle v
		   WHERE abs((hitl.predict_proba('vm', v)->>v.class_prediction)::float8 - v.class_confidence)
				 > (SELECT (options->>'score_tolerance')::float8 FROM hitl.models WHERE name = 'vm') + 1e-12),
		  0::bigint, 'and predict_proba() = stored confidence (within score_tolerance)');
SELECT is((SELECT count(*) FROM vehicle v
		   WHERE v.class_prediction IN ('van', 'bus') AND v.class_prediction =
				 (SELECT stored_prediction FROM p1 WHERE p1.id = v.id)), 0::bigint,
		  'the stored predictions of vans and buses were swapped too');

-- pointing the model back at version 1 is seen at once as well
UPDATE hitl.models SET current_version = 1 WHERE name = 'vm';
SELECT is((SELECT count(*) FROM vehicle v JOIN p1 USING (id) WHERE hitl.predict('vm', v) <> p1.prediction),
		  0::bigint, 'current_version set back to 1: predict() answers with version 1');
SELECT is((SELECT count(*) FROM vehicle v JOIN p1 USING (id)
		   WHERE hitl.predict_proba('vm', v) <> p1.proba), 0::bigint,
		  'with exactly the probabilities of version 1');

-- and so is a dropped model
SELECT hitl.drop_model('vm') \gset
SELECT throws_ok($$SELECT hitl.predict('vm', v) FROM vehicle v WHERE id = 1$$, '42704', NULL,
				 'after drop_model, predict() fails: 42704');

SELECT * FROM finish();
ROLLBACK;
