-- hitl's coefficients against scikit-learn's, computed independently and
-- stored under test/fixtures (see test/fixtures/make_fixtures.py): the same
-- split (every fourth row is held out), standardization and objective.

CREATE TABLE veh_fix AS
	SELECT id, comp, circ, d_circ, rad_ra, pr_axis_ra, max_l_ra, scat_ra, elong,
		   pr_axis_rect, max_l_rect, sc_var_maxis, sc_var_minis, ra_gyr,
		   skew_maxis, skew_minis, kurt_minis, kurt_maxis, holl_ra,
		   CASE WHEN id % 4 <> 0 THEN class END AS class,
		   CASE WHEN id % 4 <> 0 THEN class = 'van' END AS is_van
	FROM vehicle;
ALTER TABLE veh_fix ADD PRIMARY KEY (id);

CREATE TEMP TABLE fixture (model text, idx int, value float8, PRIMARY KEY (model, idx));
CREATE TEMP TABLE fixture_in (idx int, value float8);
\copy fixture_in FROM 'test/fixtures/vehicle_multiclass.csv' WITH (FORMAT csv, HEADER true)
INSERT INTO fixture SELECT 'fix_multi', idx, value FROM fixture_in;
TRUNCATE fixture_in;
\copy fixture_in FROM 'test/fixtures/vehicle_binary.csv' WITH (FORMAT csv, HEADER true)
INSERT INTO fixture SELECT 'fix_binary', idx, value FROM fixture_in;

CREATE TEMP TABLE fixture_metrics (metric text, value float8);
\copy fixture_metrics FROM 'test/fixtures/vehicle_multiclass_metrics.csv' WITH (FORMAT csv, HEADER true)
UPDATE fixture_metrics SET metric = 'fix_multi.' || metric;
CREATE TEMP TABLE fixture_metrics_in (metric text, value float8);
\copy fixture_metrics_in FROM 'test/fixtures/vehicle_binary_metrics.csv' WITH (FORMAT csv, HEADER true)
INSERT INTO fixture_metrics SELECT 'fix_binary.' || metric, value FROM fixture_metrics_in;

SELECT hitl.create_model('fix_multi', 'veh_fix', 'class', vehicle_features(),
						 options => '{"C": 1, "tol": 1e-10, "cv_folds": 0}');
SELECT hitl.create_model('fix_binary', 'veh_fix', 'is_van', vehicle_features(),
						 options => '{"C": 0.5, "tol": 1e-10, "cv_folds": 0}');

SELECT model, classes, n_labeled, cardinality(coefficients) AS n_coef,
	   (metrics->>'converged')::boolean AS converged
FROM hitl.model_versions WHERE model LIKE 'fix_%' ORDER BY model;

-- every coefficient within 1e-6 of scikit-learn's
SELECT f.model, count(*) AS compared,
	   max(abs(f.value - c.value)) < 1e-6 AS coefficients_match
FROM fixture f
JOIN (SELECT v.model, u.o - 1 AS idx, u.value
	  FROM hitl.model_versions v, unnest(v.coefficients) WITH ORDINALITY AS u(value, o)) c
  ON c.model = f.model AND c.idx = f.idx
GROUP BY f.model ORDER BY f.model;

-- held-out accuracy within 0.5 point and log-loss within 1% of scikit-learn's
CREATE TEMP TABLE held_out AS
SELECT 'fix_multi' AS model, v.class AS truth, hitl.predict('fix_multi', f) AS pred,
	   hitl.predict_proba('fix_multi', f) AS proba
FROM veh_fix f JOIN vehicle v USING (id) WHERE f.id % 4 = 0
UNION ALL
SELECT 'fix_binary', (v.class = 'van')::text, hitl.predict('fix_binary', f),
	   hitl.predict_proba('fix_binary', f)
FROM veh_fix f JOIN vehicle v USING (id) WHERE f.id % 4 = 0;

WITH m AS (
	SELECT model, count(*) AS n,
		   avg((pred = truth)::int::float8) AS accuracy,
		   avg(-ln(greatest(least((proba->>truth)::float8, 1 - 1e-15), 1e-15))) AS log_loss
	FROM held_out GROUP BY model)
SELECT m.model, m.n,
	   round(m.accuracy::numeric, 4) AS accuracy,
	   round(m.log_loss::numeric, 4) AS log_loss,
	   abs(m.accuracy - a.value) <= 0.005 AS accuracy_within_half_point,
	   abs(m.log_loss / l.value - 1) <= 0.01 AS log_loss_within_one_percent
FROM m
JOIN fixture_metrics a ON a.metric = m.model || '.test_accuracy'
JOIN fixture_metrics l ON l.metric = m.model || '.test_log_loss'
ORDER BY m.model;

SELECT hitl.drop_model('fix_multi', drop_columns => true);
SELECT hitl.drop_model('fix_binary', drop_columns => true);
DROP TABLE veh_fix;
