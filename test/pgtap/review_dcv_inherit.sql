-- A naive Bayes version updated incrementally copies its base's
-- cross-validated figures (catalog_with_base_figures: the keys matching
-- '^(cv_|per_class$|...)').  "cv_pending" and "cv_deferred_ms" match '^cv_'
-- too: an update of a version whose cross-validation is pending is itself
-- marked pending (and no deferred cross-validation can resolve it: an
-- incremental version has no data_hash, so TRAIN_CV_ONLY finds that it does
-- not "stand" and does nothing), and an update of a version cross-validated
-- after its scoring claims a "cv_deferred_ms" of its own.
--
-- Like incremental_fallback.sql, this file runs outside a transaction
-- block: an incremental update reads the label changes committed since its
-- version (run it in a database of its own, dropped after).

SELECT plan(8);

CREATE EXTENSION hitl;

CREATE TABLE t (id int PRIMARY KEY, x1 float8, x2 float8, lab text);
INSERT INTO t SELECT i, (i * 37 % 101) / 10.0, (i * 53 % 97) / 10.0,
	CASE WHEN i <= 120 THEN CASE WHEN (i * 37 % 101) < 50 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 400) i;
SELECT is(hitl.create_model('nb', 't', 'lab', '{x1,x2}', algorithm => 'naive_bayes',
							options => '{"cv_folds": 4}'), 1, 'version 1 is trained');

-- version 1 as the worker leaves a full training (a fallback) whose
-- cross-validation is still to come
UPDATE hitl.model_versions SET metrics = metrics || '{"cv_pending": true, "accuracy_from": 0}'
 WHERE model = 'nb' AND version = 1;

-- README: "hitl.train on a version still pending, with the same labels,
-- cross-validates it the same way"; with incremental => true (as a naive
-- Bayes model is trained by hitl.train(m, true)) the update finds no change
-- and returns before
SELECT is(hitl.train('nb', incremental => true), 1, 'the same labels: version 1 stays');
SELECT is((SELECT metrics ? 'cv_pending' FROM hitl.model_versions
			WHERE model = 'nb' AND version = 1), false,
		  'and hitl.train(nb, incremental => true) cross-validates it');
UPDATE hitl.model_versions SET metrics = metrics || '{"cv_pending": true, "accuracy_from": 0}'
 WHERE model = 'nb' AND version = 1;

UPDATE t SET lab = 'a' WHERE id = 121;
SELECT is(hitl.train('nb', incremental => true), 2, 'a label: version 2');
SELECT is((SELECT metrics->>'incremental' FROM hitl.model_versions
			WHERE model = 'nb' AND version = 2), 'true', 'updated incrementally');
SELECT is((SELECT metrics ? 'cv_pending' FROM hitl.model_versions
			WHERE model = 'nb' AND version = 2), false,
		  'an incremental update is not a version whose cross-validation is to come');

-- version 2 as if cross-validated after its scoring
UPDATE hitl.model_versions SET metrics = metrics - 'cv_pending' || '{"cv_deferred_ms": 12.5}'
 WHERE model = 'nb' AND version = 2;
UPDATE t SET lab = 'b' WHERE id = 122;
SELECT is(hitl.train('nb', incremental => true), 3, 'another label: version 3');
SELECT is((SELECT metrics ? 'cv_deferred_ms' FROM hitl.model_versions
			WHERE model = 'nb' AND version = 3), false,
		  'version 3 had no cross-validation after its scoring: no cv_deferred_ms');

SELECT * FROM finish();
