-- hitl.train on a version whose cross-validation was deferred puts the
-- version's own figures in place, its calibration temperature among them.
-- The version was scored with the temperature it copied from its base
-- (as the worker scores it before its cross-validation).  When the
-- temperature moved, the model no longer counts as scored with that
-- version (scored_version NULL, status trained) until hitl.score (or the
-- worker) writes confidences that hitl.predict_proba agrees with.

BEGIN;
SELECT plan(5);

CREATE EXTENSION hitl;

CREATE TABLE t (id int PRIMARY KEY, x float8, lab text);
INSERT INTO t SELECT i, (i * 37 % 101) / 10.0,
	CASE WHEN i <= 120 THEN CASE WHEN (i * 37 % 101 + i % 7) < 53 THEN 'a' ELSE 'b' END END
FROM generate_series(1, 400) i;
SELECT is(hitl.create_model('m', 't', 'lab', '{x}',
							options => '{"cv_folds": 4, "score_tolerance": 0}'), 1,
		  'version 1 is trained');
CREATE TEMP TABLE own AS
	SELECT coalesce((metrics->'calibration'->>'temperature')::float8, 1) AS temperature
	  FROM hitl.model_versions WHERE model = 'm' AND version = 1;

-- as the worker leaves a version it trained: its base's figures (here a
-- base calibrated at temperature 2.5), cv_pending, scored with them
UPDATE hitl.model_versions
   SET metrics = jsonb_set(metrics, '{calibration}',
						   '{"method": "temperature", "temperature": 2.5}')
				 || '{"cv_pending": true, "accuracy_from": 0}'
 WHERE model = 'm' AND version = 1;
SELECT cmp_ok(hitl.score('m'), '>', 0::bigint, 'the table is scored with temperature 2.5');

SELECT is(hitl.train('m'), 1, 'hitl.train on the same labels cross-validates version 1 in place');
SELECT is((SELECT coalesce((metrics->'calibration'->>'temperature')::float8, 1)
			 FROM hitl.model_versions WHERE model = 'm' AND version = 1),
		  (SELECT temperature FROM own), 'with its own temperature');

-- the stored confidences against the version's: equal, or the model is
-- marked for a rescoring
SELECT ok((SELECT scored_version IS DISTINCT FROM current_version
				  OR (SELECT count(*) FROM t
					   WHERE abs(lab_confidence - (SELECT max(p.value::float8)
													 FROM jsonb_each_text(hitl.predict_proba('m', t)) p))
							 > 1e-9) = 0
			 FROM hitl.models WHERE name = 'm'),
		  'the table''s confidences are those of the version''s calibration, or the model is no longer marked scored');

SELECT * FROM finish();
ROLLBACK;
