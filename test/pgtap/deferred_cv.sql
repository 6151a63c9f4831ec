-- A version whose cross-validation the worker deferred ("cv_pending" in its
-- metrics, its base's figures copied with "accuracy_from") gets its own
-- figures from hitl.train when the labels did not change since: in place,
-- no version added, with "cv_deferred_ms" and the out-of-fold store of that
-- version.  When labels changed, hitl.train records a new version
-- cross-validated at once.  (test/t/111_deferred_cv.pl has the worker's
-- side: the queue is fresh before the cross-validation.)

BEGIN;
SELECT plan(9);

CREATE EXTENSION hitl;

CREATE TABLE t (id int PRIMARY KEY, x float8, lab text);
INSERT INTO t SELECT i, (i * 37 % 101) / 10.0,
	CASE WHEN i <= 120 THEN CASE WHEN (i * 37 % 101) < 50 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 400) i;
SELECT is(hitl.create_model('m', 't', 'lab', '{x}', options => '{"cv_folds": 4}'), 1,
		  'version 1 is trained');
CREATE TEMP TABLE before AS
	SELECT metrics FROM hitl.model_versions WHERE model = 'm' AND version = 1;

-- as a worker's training leaves it when interrupted before its cross-validation
UPDATE hitl.model_versions
   SET metrics = metrics - 'cv_accuracy' - 'confusion' || '{"cv_pending": true, "accuracy_from": 0}'
 WHERE model = 'm' AND version = 1;
DELETE FROM hitl.oof_predictions WHERE model = 'm';

SELECT is(hitl.train('m'), 1, 'hitl.train on the same labels keeps version 1');
SELECT is((SELECT count(*) FROM hitl.model_versions WHERE model = 'm'), 1::bigint,
		  'and adds no version');
SELECT is((SELECT metrics ? 'cv_pending' OR metrics ? 'accuracy_from'
			 FROM hitl.model_versions WHERE model = 'm' AND version = 1), false,
		  'the version is no longer pending, and its figures are its own');
SELECT is((SELECT (v.metrics->>'cv_accuracy', v.metrics->'confusion', v.metrics->'calibration')::text
			 FROM hitl.model_versions v WHERE model = 'm' AND version = 1),
		  (SELECT (metrics->>'cv_accuracy', metrics->'confusion', metrics->'calibration')::text FROM before),
		  'they are the figures of its first training');
SELECT ok((SELECT (metrics->>'cv_deferred_ms')::float8 >= 0
			 FROM hitl.model_versions WHERE model = 'm' AND version = 1),
		  'with cv_deferred_ms');
SELECT is((SELECT count(*) FROM hitl.oof_predictions WHERE model = 'm' AND version = 1), 120::bigint,
		  'the out-of-fold store holds the version''s 120 rows');

-- pending again, but a label changed: a new version, cross-validated at once
UPDATE hitl.model_versions SET metrics = metrics || '{"cv_pending": true}'
 WHERE model = 'm' AND version = 1;
UPDATE t SET lab = 'a' WHERE id = 121;
SELECT is(hitl.train('m'), 2, 'with a new label hitl.train records version 2');
SELECT is((SELECT metrics ? 'cv_pending' OR NOT metrics ? 'cv_accuracy'
			 FROM hitl.model_versions WHERE model = 'm' AND version = 2), false,
		  'cross-validated at once');

SELECT * FROM finish();
ROLLBACK;
