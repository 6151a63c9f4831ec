-- weight_by_consensus: training weighs each labeled row by the confidence
-- of its consensus on its label (hitl.consensus), 1 without one; a row of
-- confidence 0 is left out as if unlabeled.  Every kind is checked the
-- same way: on one table, model *_u without the option, and with it *_1
-- (every row of confidence 1), *_0 (the first rows of confidence 0) and
-- *_h (the next rows of confidence 0.5); model *_r on a copy of the table
-- where the first rows are unlabeled.  Then
--   all weights 1 (*_1) = no option (*_u), to 1e-12;
--   confidence 0 (*_0) = the rows unlabeled (*_r), to 1e-8;
--   other weights (*_h) change the model.
-- Dense logistic by Newton (dn_*) and by L-BFGS (el_*), text logistic
-- (tx_*), naive Bayes (nb_*, its sums exactly), cross-validation included;
-- naive Bayes trains from scratch instead of updating.  The consensus rows
-- are written by the superuser; the models' owner, who trains, reads them.
--
-- Like text.sql, this file runs outside a transaction block: an
-- incremental update reads the label changes committed since its version
-- (the database is dropped after the file; the models are disabled, so
-- that the worker leaves them alone).

SELECT plan(45);

CREATE EXTENSION hitl;
DROP ROLE IF EXISTS tap_cw;
CREATE ROLE tap_cw;
GRANT CREATE ON SCHEMA public TO tap_cw;

SET ROLE tap_cw;
-- t: the label each row gets; lab is set once the consensus rows are in,
-- so that each model's first (cold-started) training already sees them
CREATE TABLE dn (id int PRIMARY KEY, a float8, b float8, t text, lab text);
INSERT INTO dn
SELECT i, sin(i * 1.3) * 3 + (i % 3), cos(i * 0.7) * 2 - (i % 5) / 2.0,
	   CASE WHEN i <= 150 THEN
		   CASE WHEN sin(i * 1.3) * 3 + (i % 3) + cos(i * 0.37) * 2 > 1.5 THEN 'p'
				WHEN cos(i * 0.7) + sin(i * 0.11) > 0.2 THEN 'q' ELSE 'r' END
	   END, NULL
  FROM generate_series(1, 180) i;

-- 1,400 dimensions and 3 classes: 4,203 coefficients, solved by L-BFGS
CREATE TABLE el (id int PRIMARY KEY, v float8[], t text, lab text);
INSERT INTO el
SELECT g, (SELECT array_agg(sin(g * 7.31 + j * 1.13) +
							CASE WHEN j / 20 = g % 3 THEN 0.4 ELSE 0 END ORDER BY j)
			 FROM generate_series(0, 1399) j),
	   CASE WHEN g <= 90 THEN (ARRAY['x', 'y', 'z'])[1 + (g * 7 + g / 5) % 3] END, NULL
  FROM generate_series(1, 100) g;

CREATE TABLE docs (id int PRIMARY KEY, body text, t text, lab text);
INSERT INTO docs
SELECT i, concat_ws(' ', (ARRAY['apple', 'pear', 'plum'])[1 + i % 3],
					'w' || (i * 7) % 11, 'v' || (i * 5) % 13,
					(ARRAY['red', 'green', 'blue'])[1 + (i * 11) % 4 % 3],
					CASE WHEN i % 4 = 0 THEN 'apple' END),
	   CASE WHEN i <= 150 THEN
		   CASE WHEN i % 7 = 0 THEN 'a' ELSE (ARRAY['a', 'b', 'c'])[1 + i % 3] END
	   END, NULL
  FROM generate_series(1, 180) i;

-- the copies, their first rows unlabeled (15, or 9 of el's 90)
CREATE TABLE dnr (LIKE dn INCLUDING ALL);
INSERT INTO dnr SELECT id, a, b, CASE WHEN id > 15 THEN t END, lab FROM dn;
CREATE TABLE elr (LIKE el INCLUDING ALL);
INSERT INTO elr SELECT id, v, CASE WHEN id > 9 THEN t END, lab FROM el;
CREATE TABLE docsr (LIKE docs INCLUDING ALL);
INSERT INTO docsr SELECT id, body, CASE WHEN id > 15 THEN t END, lab FROM docs;

-- the models, before any label: each one's first training is a cold start
CREATE TABLE spec (model text PRIMARY KEY, source text, features text[], algorithm text,
				   options jsonb, zero int, half int);
INSERT INTO spec
SELECT k.p || '_' || x.s, CASE WHEN x.s = 'r' THEN k.tbl || 'r' ELSE k.tbl END, k.f, k.a,
	   k.o || CASE WHEN x.s IN ('1', '0', 'h') THEN '{"weight_by_consensus": true}'
			  ELSE '{}' END::jsonb, k.zero, k.half
  FROM (VALUES ('dn', 'dn', '{a,b}'::text[], 'logistic', '{"cv_folds": 3, "tol": 1e-10}'::jsonb, 15, 40),
			   ('el', 'el', '{v}', 'logistic', '{"cv_folds": 3}', 9, 30),
			   ('tx', 'docs', '{body}', 'logistic', '{"cv_folds": 3, "buckets": 4096}', 15, 40),
			   ('nb', 'docs', '{body}', 'naive_bayes', '{"cv_folds": 3, "buckets": 4096}', 15, 40))
		   k(p, tbl, f, a, o, zero, half),
	   (VALUES ('u'), ('1'), ('0'), ('h'), ('r')) x(s);
SELECT hitl.create_model(model, source::regclass, 'lab', features,
						 prediction_column => model || '_p', confidence_column => model || '_c',
						 uncertainty_column => model || '_u', algorithm => algorithm,
						 options => options)
  FROM spec ORDER BY model;
SELECT hitl.alter_model(model, enabled => false) FROM spec;
RESET ROLE;

-- the consensus rows, written as hitl's own code would (here by the superuser)
CREATE FUNCTION agree(m text, tbl text, lo int, hi int, conf float8) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format($q$INSERT INTO hitl.consensus
					  SELECT %L, jsonb_build_object('id', id), t, %s, 'dawid_skene', 3, now()
						FROM %I WHERE t IS NOT NULL AND id BETWEEN %s AND %s$q$,
				   m, conf, tbl, lo, hi);
END $$;
SELECT agree(model, source, 1, 1000, 1.0) FROM spec WHERE model LIKE '%\_1';
SELECT agree(model, source, 1, zero, 0.0) FROM spec WHERE model LIKE '%\_0';
SELECT agree(model, source, zero + 1, half, 0.5) FROM spec WHERE model LIKE '%\_h';
-- a consensus on another label than the row's does not weigh it: row
-- zero + 1 of *_0 keeps weight 1
INSERT INTO hitl.consensus
SELECT model, jsonb_build_object('id', zero + 1), 'none of them', 0.0, 'majority', 3, now()
  FROM spec WHERE model LIKE '%\_0';
-- and without the option, consensus rows change nothing
SELECT agree(model, source, 1, half, 0.0) FROM spec WHERE model LIKE '%\_u';

SET ROLE tap_cw;
UPDATE dn SET lab = t;
UPDATE dnr SET lab = t;
UPDATE el SET lab = t;
UPDATE elr SET lab = t;
UPDATE docs SET lab = t;
UPDATE docsr SET lab = t;
SELECT is(array_agg(hitl.train(model) ORDER BY model), array_fill(1, ARRAY[20]),
		  'the owner trains the 20 models: version 1 each')
  FROM spec;
RESET ROLE;

CREATE VIEW v AS SELECT * FROM hitl.model_versions WHERE version = 1;
-- largest difference of two models' coefficients (infinity: other shapes)
CREATE FUNCTION diff(m1 text, m2 text) RETURNS float8 LANGUAGE sql AS $$
	SELECT CASE WHEN cardinality(a.coefficients) IS DISTINCT FROM cardinality(b.coefficients)
				  OR a.vocabulary IS DISTINCT FROM b.vocabulary THEN 'infinity'
				ELSE (SELECT max(abs(x - y)) FROM unnest(a.coefficients, b.coefficients) u(x, y)) END
	  FROM v a, v b WHERE a.model = m1 AND b.model = m2;
$$;
CREATE FUNCTION m(model text, key text) RETURNS text LANGUAGE sql AS $$
	SELECT metrics->>key FROM v WHERE v.model = m.model;
$$;

-- dense logistic regression, Newton
SELECT is(m('dn_u', 'weighted'), NULL, 'dn_u: no option, no "weighted" in the metrics');
SELECT results_eq($$SELECT m('dn_1', 'weighted'), m('dn_1', 'weight_sum')$$,
				  $$VALUES ('true', '150')$$, 'dn_1: "weighted": true, the 150 rows weigh 150');
SELECT cmp_ok(diff('dn_1', 'dn_u'), '<=', 1e-12::float8,
			  'dn: every weight 1 gives the unweighted coefficients');
SELECT is(m('dn_1', 'cv_log_loss'), m('dn_u', 'cv_log_loss'),
		  'dn: and the same cross-validated log loss');
SELECT results_eq($$SELECT n_labeled, metrics->>'weight_sum' FROM v WHERE model = 'dn_0'$$,
				  $$VALUES (135, '135')$$,
				  'dn_0: the 15 rows of confidence 0 are left out; the row whose consensus is on another label weighs 1');
SELECT is((SELECT n_labeled FROM v WHERE model = 'dn_r'), 135, 'dn_r: 135 labeled rows');
SELECT cmp_ok(diff('dn_0', 'dn_r'), '<=', 1e-8::float8,
			  'dn: confidence 0 gives the coefficients of the rows unlabeled');
SELECT results_eq($$SELECT metrics->'cv_accuracy', metrics->'confusion' FROM v WHERE model = 'dn_0'$$,
				  $$SELECT metrics->'cv_accuracy', metrics->'confusion' FROM v WHERE model = 'dn_r'$$,
				  'dn: and the same cross-validation');
SELECT is(m('dn_h', 'weight_sum')::float8, (150 - 25 * 0.5)::float8, 'dn_h: 25 rows of weight 0.5');
SELECT cmp_ok(diff('dn_h', 'dn_u'), '>', 1e-4::float8, 'dn: weights 0.5 change the coefficients');
SELECT is(m('dn_h', 'solver'), 'newton', 'dn_h: solved by Newton');
SELECT results_eq($$SELECT feature_means, feature_scales FROM v WHERE model = 'dn_h'$$,
				  $$SELECT feature_means, feature_scales FROM v WHERE model = 'dn_u'$$,
				  'dn: the weights do not enter the standardization');
SELECT cmp_ok(abs(m('dn_h', 'cv_log_loss')::float8 - m('dn_u', 'cv_log_loss')::float8), '>',
			  1e-6::float8, 'dn: the folds are fitted with the weights');
SELECT is((SELECT (metrics->'confusion')::text FROM v WHERE model = 'dn_h')
		  ~ '^\[\[[0-9]+(, [0-9]+)*\](, \[[0-9]+(, [0-9]+)*\])*\]$', true,
		  'dn_h: the out-of-fold confusion matrix still counts rows');

-- dense logistic regression, L-BFGS
SELECT is(m('el_1', 'solver'), 'lbfgs', 'el_1: solved by L-BFGS');
SELECT cmp_ok(diff('el_1', 'el_u'), '<=', 1e-12::float8,
			  'el: every weight 1 gives the unweighted coefficients');
SELECT results_eq($$SELECT n_labeled FROM v WHERE model IN ('el_0', 'el_r')$$,
				  $$VALUES (81), (81)$$, 'el_0 and el_r: 81 labeled rows');
SELECT cmp_ok(diff('el_0', 'el_r'), '<=', 1e-8::float8,
			  'el: confidence 0 gives the coefficients of the rows unlabeled');
SELECT cmp_ok(diff('el_h', 'el_u'), '>', 1e-4::float8, 'el: weights 0.5 change the coefficients');

-- text logistic regression
SELECT cmp_ok(diff('tx_1', 'tx_u'), '<=', 1e-12::float8,
			  'tx: every weight 1 gives the unweighted coefficients (and vocabulary)');
SELECT cmp_ok(diff('tx_0', 'tx_r'), '<=', 1e-8::float8,
			  'tx: confidence 0 gives the coefficients of the rows unlabeled');
SELECT results_eq($$SELECT n_labeled, metrics->'cv_accuracy', idf FROM v WHERE model = 'tx_0'$$,
				  $$SELECT n_labeled, metrics->'cv_accuracy', idf FROM v WHERE model = 'tx_r'$$,
				  'tx: the same rows, cross-validation and idf');
SELECT cmp_ok(diff('tx_h', 'tx_u'), '>', 1e-4::float8, 'tx: weights 0.5 change the coefficients');
SELECT is(m('tx_h', 'weight_sum')::float8, (150 - 25 * 0.5)::float8, 'tx_h: 25 rows of weight 0.5');

-- naive Bayes: its sums, exactly
SELECT results_eq($$SELECT class_counts, count_index, counts, vocabulary FROM v WHERE model = 'nb_1'$$,
				  $$SELECT class_counts, count_index, counts, vocabulary FROM v WHERE model = 'nb_u'$$,
				  'nb: every weight 1 gives exactly the unweighted sums');
SELECT results_eq($$SELECT class_counts, count_index, counts, vocabulary FROM v WHERE model = 'nb_0'$$,
				  $$SELECT class_counts, count_index, counts, vocabulary FROM v WHERE model = 'nb_r'$$,
				  'nb: confidence 0 gives exactly the sums of the rows unlabeled');
SELECT results_eq($$SELECT metrics->'cv_accuracy', metrics->'cv_log_loss' FROM v WHERE model = 'nb_0'$$,
				  $$SELECT metrics->'cv_accuracy', metrics->'cv_log_loss' FROM v WHERE model = 'nb_r'$$,
				  'nb: and the same cross-validation');
SELECT is((SELECT class_counts FROM v WHERE model = 'nb_h'),
		  (SELECT array_agg(u.class_counts[i] - 0.5 * (SELECT count(*) FROM docs
													   WHERE id BETWEEN 16 AND 40 AND t = u.classes[i])
							ORDER BY i)
			 FROM v u, generate_subscripts(u.classes, 1) i WHERE u.model = 'nb_u'),
		  'nb_h: each class counts its rows of weight 0.5 as halves');
SELECT isnt((SELECT counts FROM v WHERE model = 'nb_h'), (SELECT counts FROM v WHERE model = 'nb_u'),
			'nb_h: and its sums differ');
SELECT results_eq($$SELECT model, label_snapshot IS NULL FROM v WHERE model IN ('nb_u', 'nb_h') ORDER BY model$$,
				  $$VALUES ('nb_h', true), ('nb_u', false)$$,
				  'a weighted naive Bayes version records no label snapshot to update from');

-- weights are read at each training; without the option, none
SET ROLE tap_cw;
SELECT is(hitl.train('dn_u'), 1, 'dn_u: its consensus rows are not read: version 1 stands');
SELECT is(hitl.train('dn_h'), 1, 'dn_h: same rows, same weights: version 1 stands');
RESET ROLE;
UPDATE hitl.consensus SET confidence = 0.9 WHERE model IN ('dn_h', 'nb_h') AND row_key = '{"id": 20}';
SET ROLE tap_cw;
SELECT is(hitl.train('dn_h'), 2, 'dn_h: a confidence changed, the label did not: version 2');
SELECT results_eq($$SELECT metrics->>'weight_sum', metrics->>'warm_start' FROM hitl.model_versions
					WHERE model = 'dn_h' AND version = 2$$,
				  $$VALUES ('137.9', 'true')$$, 'dn_h version 2: weighs 137.9, warm-started');

-- a role that may train the model without being its owner (SELECT and
-- UPDATE on the table) reads the weights too
RESET ROLE;
DROP ROLE IF EXISTS tap_cw2;
CREATE ROLE tap_cw2;
GRANT SELECT, UPDATE ON dn TO tap_cw2;
SELECT agree('dn_0', 'dn', 30, 30, 0.25);
SET ROLE tap_cw2;
SELECT is(hitl.train('dn_0'), 2, 'dn_0: a role with SELECT and UPDATE on the table trains version 2');
RESET ROLE;
SELECT is((SELECT metrics->>'weight_sum' FROM hitl.model_versions WHERE model = 'dn_0' AND version = 2),
		  '134.25', 'with the confidence 0.25 it added: weight_sum 134.25');
SET ROLE tap_cw;

-- naive Bayes' incremental update
SELECT is(hitl.train('nb_h', true), 2, 'nb_h: the same change, an incremental training: version 2');
RESET ROLE;
SELECT results_eq($$SELECT metrics->>'fallback', metrics->>'incremental',
						   (SELECT sum(c) FROM unnest(class_counts) c)
					  FROM hitl.model_versions WHERE model = 'nb_h' AND version = 2$$,
				  $$VALUES ('weight_by_consensus', 'false', 137.9::float8)$$,
				  'nb_h version 2: trained from scratch (fallback weight_by_consensus), weighing 137.9');
SET ROLE tap_cw;
SELECT is(hitl.train('nb_1', true), 1, 'nb_1: nothing changed, incremental: version 1 stands');
SELECT hitl.alter_model('nb_h', options => '{"weight_by_consensus": false}');
SELECT is(hitl.train('nb_h', true), 3, 'nb_h, option off: version 3');
RESET ROLE;
SELECT results_eq($$SELECT metrics->>'fallback', metrics ? 'weighted', label_snapshot IS NULL
					  FROM hitl.model_versions WHERE model = 'nb_h' AND version = 3$$,
				  $$VALUES ('no_snapshot', false, false)$$,
				  'version 3: not updated from the weighted sums (no snapshot), unweighted, with a snapshot');
SELECT results_eq($$SELECT class_counts, count_index, counts FROM hitl.model_versions
					 WHERE model = 'nb_h' AND version = 3$$,
				  $$SELECT class_counts, count_index, counts FROM v WHERE model = 'nb_u'$$,
				  'and exactly the unweighted sums');
SET ROLE tap_cw;
UPDATE docs SET lab = 'b' WHERE id = 150;
SELECT is(hitl.train('nb_h', true), 4, 'a label changes: version 4');
RESET ROLE;
SELECT results_eq($$SELECT metrics->>'incremental', metrics->>'fallback' FROM hitl.model_versions
					 WHERE model = 'nb_h' AND version = 4$$,
				  $$VALUES ('true', NULL)$$, 'updated incrementally again');

SELECT * FROM finish();

SELECT hitl.drop_model(model) FROM spec;
DROP TABLE dn, dnr, el, elr, docs, docsr;
REVOKE CREATE ON SCHEMA public FROM tap_cw;
DROP OWNED BY tap_cw, tap_cw2;
DROP ROLE tap_cw, tap_cw2;
