-- Naive Bayes trained from scratch by aggregates (hitl._nb_sums grouped by
-- label, then hitl._nb_eval for the train_ figures) against the same
-- training reading the rows (hitl.train_by_aggregates off): the same
-- classes, sums, figures and data hash, so that a training on unchanged
-- data by the other way stands; the same scores; classes in the label
-- type's order (a label of a nondeterministic collation keeps the classes
-- that reading keeps apart); the rows that are no feature vector, reported as reading
-- reports them; the models it does not serve; machine labels; the groups
-- of cv_group_column in the data hash; and the aggregates themselves,
-- against states worked out by hand, in parallel plans, with their errors.

BEGIN;
SELECT plan(126);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

-- the current version of a model
CREATE FUNCTION pg_temp.cur(m text) RETURNS hitl.model_versions LANGUAGE sql AS $$
	SELECT v.* FROM hitl.model_versions v JOIN hitl.models mm ON mm.name = v.model
	WHERE v.model = m AND v.version = mm.current_version
$$;

-- hitl.train with the setting on or off (for this transaction)
CREATE FUNCTION pg_temp.train(m text, agg boolean) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('hitl.train_by_aggregates', CASE WHEN agg THEN 'on' ELSE 'off' END, true);
	RETURN hitl.train(m);
END
$$;

-- the SQLSTATE and message of a training with the setting on or off
CREATE FUNCTION pg_temp.train_error(m text, agg boolean) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text;
	msg text;
BEGIN
	PERFORM pg_temp.train(m, agg);
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	RETURN st || ': ' || msg;
END
$$;

-- Every plan line of a query, as one text
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	line text;
	out text := '';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		out := out || line || E'\n';
	END LOOP;
	RETURN out;
END
$$;

-- ----------------------------------------------------------------------
-- 1. The same version either way
-- ----------------------------------------------------------------------

-- 300 rows, whole-number features of every type, NULLs, NULL elements;
-- 23 unlabeled; mix_b a copy of mix_a
CREATE TABLE mix_a (id int PRIMARY KEY, a int, b numeric, c float8, r real, f boolean,
					big bigint, e float8[], label text);
INSERT INTO mix_a
SELECT g, CASE WHEN g % 17 = 0 THEN NULL ELSE (g * 7) % 11 END,
	   CASE WHEN g % 19 = 0 THEN NULL ELSE ((g * 3) % 5)::numeric END,
	   ((g * 13) % 9)::float8, (g % 4)::real, CASE WHEN g % 23 = 0 THEN NULL ELSE g % 3 = 0 END,
	   (g % 6) * 1000,
	   CASE WHEN g % 29 = 0 THEN NULL WHEN g % 31 = 0 THEN ARRAY[1, NULL, 2]::float8[]
			ELSE ARRAY[g % 2, (g * 5) % 7, g % 3]::float8[] END,
	   CASE WHEN g % 13 = 0 THEN NULL ELSE (ARRAY['x', 'y', 'z'])[1 + (g * 7 + g / 5) % 3] END
FROM generate_series(1, 300) g;
CREATE TABLE mix_b (LIKE mix_a INCLUDING ALL);
INSERT INTO mix_b SELECT * FROM mix_a;

SET hitl.train_by_aggregates = on;
SELECT is(hitl.create_model('m_agg', 'mix_a', 'label', '{a,b,c,r,f,big,e}', algorithm => 'naive_bayes',
							options => '{"cv_folds": 0}'), 1, 'm_agg: trained by aggregates at creation');
SET hitl.train_by_aggregates = off;
SELECT is(hitl.create_model('m_mem', 'mix_b', 'label', '{a,b,c,r,f,big,e}', algorithm => 'naive_bayes',
							options => '{"cv_folds": 0}'), 1, 'm_mem: trained reading the rows at creation');
RESET hitl.train_by_aggregates;

SELECT is((pg_temp.cur('m_agg')).metrics->'aggregates', 'true'::jsonb, 'the aggregates'' version says "aggregates": true');
SELECT ok(NOT (pg_temp.cur('m_mem')).metrics ? 'aggregates', 'the version read row by row has no "aggregates"');
SELECT is((pg_temp.cur('m_agg')).classes, '{x,y,z}'::text[], 'aggregates: the classes');
SELECT is((pg_temp.cur('m_agg')).classes, (pg_temp.cur('m_mem')).classes, 'the same classes');
SELECT is((pg_temp.cur('m_agg')).n_labeled, 277, 'aggregates: n_labeled is the labeled rows');
SELECT is((pg_temp.cur('m_agg')).n_labeled, (pg_temp.cur('m_mem')).n_labeled, 'the same n_labeled');
SELECT is((pg_temp.cur('m_agg')).class_counts,
		  (SELECT array_agg(n::float8 ORDER BY label) FROM (SELECT label, count(*) n FROM mix_a
		   WHERE label IS NOT NULL GROUP BY label) s), 'aggregates: class_counts are the rows per class');
SELECT is((pg_temp.cur('m_agg')).class_counts, (pg_temp.cur('m_mem')).class_counts, 'the same class_counts');
SELECT is((pg_temp.cur('m_agg')).count_index, (pg_temp.cur('m_mem')).count_index, 'the same count_index');
SELECT is((pg_temp.cur('m_agg')).counts, (pg_temp.cur('m_mem')).counts, 'the same counts');
-- the sum of feature a over class y, checked by SQL: position 0, class 1
SELECT is((SELECT c FROM pg_temp.cur('m_agg') v, unnest(v.count_index, v.counts) u(i, c) WHERE i = 1),
		  (SELECT sum(a)::float8 FROM mix_a WHERE label = 'y'), 'a count is sum() of the feature over the class');
SELECT is((pg_temp.cur('m_agg')).feature_dims, (pg_temp.cur('m_mem')).feature_dims, 'the same feature_dims');
SELECT is((pg_temp.cur('m_agg')).metrics->'nnz', (pg_temp.cur('m_mem')).metrics->'nnz', 'the same nnz');
SELECT is(((pg_temp.cur('m_agg')).metrics->>'nnz')::bigint,
		  (SELECT sum((a <> 0)::int + (b <> 0)::int + (c <> 0)::int + (r <> 0)::int + (f)::int + (big <> 0)::int
					  + (SELECT count(*) FROM unnest(e) x WHERE x <> 0))
		   FROM (SELECT id, coalesce(a, 0) a, coalesce(b, 0) b, c, r, coalesce(f, false) f, big, e
				 FROM mix_a WHERE label IS NOT NULL) s)::bigint,
		  'nnz counts the non-zero values of the labeled rows');
SELECT is((pg_temp.cur('m_agg')).metrics->'train_accuracy', (pg_temp.cur('m_mem')).metrics->'train_accuracy',
		  'the same train_accuracy');
SELECT is((pg_temp.cur('m_agg')).metrics->'train_macro_f1', (pg_temp.cur('m_mem')).metrics->'train_macro_f1',
		  'the same train_macro_f1');
SELECT cmp_ok(abs(((pg_temp.cur('m_agg')).metrics->>'train_log_loss')::float8
				  - ((pg_temp.cur('m_mem')).metrics->>'train_log_loss')::float8), '<=', 1e-12::float8,
			  'train_log_loss within 1e-12');
SELECT is((pg_temp.cur('m_agg')).metrics->>'data_hash', (pg_temp.cur('m_mem')).metrics->>'data_hash',
		  'the same data_hash');
SELECT is((pg_temp.cur('m_agg')).metrics - '{aggregates,data_hash,train_log_loss}'::text[],
		  (pg_temp.cur('m_mem')).metrics - '{aggregates,data_hash,train_log_loss}'::text[],
		  'the same metrics otherwise');

-- 2. the same scores
SELECT is((SELECT count(*) FROM mix_a ra JOIN mix_b rb USING (id)
		   WHERE hitl.predict_proba('m_agg', ra) IS DISTINCT FROM hitl.predict_proba('m_mem', rb)),
		  0::bigint, 'predict_proba is the same on every row');
SELECT is((SELECT count(*) FROM mix_a WHERE label_prediction IS NULL), 0::bigint,
		  'every row scored');

-- stands: unchanged data, the other way
SELECT is(pg_temp.train('m_agg', false), 1, 'm_agg read row by row on unchanged data: version 1 stands');
SELECT is(pg_temp.train('m_mem', true), 1, 'm_mem by aggregates on unchanged data: version 1 stands');
SELECT is(pg_temp.train('m_agg', true), 1, 'm_agg by aggregates again: stands');

-- a change: a new version; changed back, the other way finds the first data hash
UPDATE mix_a SET a = a + 1 WHERE id = 5;
SELECT is(pg_temp.train('m_agg', true), 2, 'a feature changed: a new version by aggregates');
SELECT isnt((pg_temp.cur('m_agg')).metrics->>'data_hash',
			(SELECT metrics->>'data_hash' FROM hitl.model_versions WHERE model = 'm_agg' AND version = 1),
			'with another data hash');
UPDATE mix_a SET a = a - 1 WHERE id = 5;
SELECT is(pg_temp.train('m_agg', false), 3, 'changed back: a new version read row by row');
SELECT is((pg_temp.cur('m_agg')).metrics->>'data_hash',
		  (SELECT metrics->>'data_hash' FROM hitl.model_versions WHERE model = 'm_agg' AND version = 1),
		  'whose data hash is the first version''s');
SELECT is((pg_temp.cur('m_agg')).counts,
		  (SELECT counts FROM hitl.model_versions WHERE model = 'm_agg' AND version = 1),
		  'and whose counts are');
SELECT is(pg_temp.train('m_agg', true), 3, 'then by aggregates: it stands');
-- a label moved to another class: the hash of the classes' sums changes
UPDATE mix_a SET label = 'z' WHERE id = 1 AND label <> 'z';
UPDATE mix_a SET label = 'x' WHERE id = 2 AND label <> 'x';
UPDATE mix_b SET label = 'z' WHERE id = 1 AND label <> 'z';
UPDATE mix_b SET label = 'x' WHERE id = 2 AND label <> 'x';
SELECT is(pg_temp.train('m_agg', true), 4, 'labels changed: a new version by aggregates');
SELECT is(pg_temp.train('m_mem', false), 2, 'and of the copy read row by row');
SELECT is((pg_temp.cur('m_agg')).metrics->>'data_hash', (pg_temp.cur('m_mem')).metrics->>'data_hash',
		  'the same data hash after the labels changed');
SELECT is((pg_temp.cur('m_agg')).counts, (pg_temp.cur('m_mem')).counts, 'the same counts after the labels changed');

-- ----------------------------------------------------------------------
-- 3. Classes in the label type's order
-- ----------------------------------------------------------------------

CREATE TABLE ints (id int PRIMARY KEY, x int, y int, label int);
INSERT INTO ints SELECT g, g % 5, (g * 3) % 4, (ARRAY[10, 9, 100])[1 + g % 3] FROM generate_series(1, 60) g;
CREATE TABLE ints_b (LIKE ints INCLUDING ALL);
INSERT INTO ints_b SELECT * FROM ints;
SET hitl.train_by_aggregates = on;
SELECT hitl.create_model('ints_agg', 'ints', 'label', '{x,y}', algorithm => 'naive_bayes',
						 options => '{"cv_folds": 0}') \gset
SET hitl.train_by_aggregates = off;
SELECT hitl.create_model('ints_mem', 'ints_b', 'label', '{x,y}', algorithm => 'naive_bayes',
						 options => '{"cv_folds": 0}') \gset
SELECT is((pg_temp.cur('ints_agg')).classes, '{9,10,100}'::text[], 'integer labels: classes in numeric order');
SELECT ok((pg_temp.cur('ints_agg')).counts = (pg_temp.cur('ints_mem')).counts
		  AND (pg_temp.cur('ints_agg')).class_counts = (pg_temp.cur('ints_mem')).class_counts,
		  'integer labels: the same counts either way');
SELECT is((pg_temp.cur('ints_agg')).classes, (pg_temp.cur('ints_mem')).classes, 'integer labels: the same classes either way');

CREATE TYPE pg_temp.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE moods (id int PRIMARY KEY, x int, y float8, label pg_temp.mood);
INSERT INTO moods SELECT g, g % 5, (g * 3) % 4, (ARRAY['happy', 'sad', 'ok'])[1 + g % 3]::pg_temp.mood
FROM generate_series(1, 60) g;
CREATE TABLE moods_b (LIKE moods INCLUDING ALL);
INSERT INTO moods_b SELECT * FROM moods;
SET hitl.train_by_aggregates = on;
SELECT hitl.create_model('moods_agg', 'moods', 'label', '{x,y}', algorithm => 'naive_bayes',
						 options => '{"cv_folds": 0}') \gset
SET hitl.train_by_aggregates = off;
SELECT hitl.create_model('moods_mem', 'moods_b', 'label', '{x,y}', algorithm => 'naive_bayes',
						 options => '{"cv_folds": 0}') \gset
RESET hitl.train_by_aggregates;
SELECT is((pg_temp.cur('moods_agg')).classes, '{sad,ok,happy}'::text[], 'an enum label: classes in the enum''s order');
SELECT is((pg_temp.cur('moods_agg')).metrics->'aggregates', 'true'::jsonb, 'an enum label: trained by aggregates');
SELECT is((pg_temp.cur('moods_agg')).counts, (pg_temp.cur('moods_mem')).counts, 'an enum label: the same counts either way');
SELECT is((pg_temp.cur('moods_agg')).metrics->>'data_hash', (pg_temp.cur('moods_mem')).metrics->>'data_hash',
		  'an enum label: the same data hash either way');

-- values that are not whole numbers (real, numeric with a denormal part,
-- real[]) and a boolean label: the sums may differ in their last bits,
-- the data hash may not
CREATE TABLE fr (id int PRIMARY KEY, r real, n numeric, c float8, e real[], label boolean);
INSERT INTO fr SELECT g, (g % 7) * 0.1, (g % 5) * 0.3 + 1e-310, (g % 9) / 3.0, ARRAY[g % 3 * 0.7, 0.01]::real[],
	g % 3 = 0 FROM generate_series(1, 200) g;
CREATE TABLE fr_b (LIKE fr INCLUDING ALL);
INSERT INTO fr_b SELECT * FROM fr;
SET hitl.train_by_aggregates = on;
SELECT hitl.create_model('fr_agg', 'fr', 'label', '{r,n,c,e}', algorithm => 'naive_bayes',
						 options => '{"cv_folds": 0}') \gset
SET hitl.train_by_aggregates = off;
SELECT hitl.create_model('fr_mem', 'fr_b', 'label', '{r,n,c,e}', algorithm => 'naive_bayes',
						 options => '{"cv_folds": 0}') \gset
RESET hitl.train_by_aggregates;
SELECT is((pg_temp.cur('fr_agg')).classes, '{false,true}'::text[], 'a boolean label: false, then true');
SELECT is((pg_temp.cur('fr_agg')).metrics->'aggregates', 'true'::jsonb, 'fractions: trained by aggregates');
SELECT is((pg_temp.cur('fr_agg')).metrics->>'data_hash', (pg_temp.cur('fr_mem')).metrics->>'data_hash',
		  'fractions: the same data hash either way');
SELECT is(pg_temp.train('fr_agg', false), 1, 'fractions: read row by row, the aggregates'' version stands');
SELECT is(pg_temp.train('fr_mem', true), 1, 'fractions: by aggregates, the version read row by row stands');

-- a label of a case-insensitive collation: 'a' and 'A' are two classes
-- when the rows are read, so they are for the aggregates (nondeterministic
-- collations need a server built with ICU, which a probe tells: skipped
-- without; pg_collation lists ICU collations on servers built without it too)
DO $$ BEGIN CREATE COLLATION pg_temp.icu_probe (provider = icu, locale = 'und');
EXCEPTION WHEN OTHERS THEN NULL; END $$;
SELECT EXISTS (SELECT FROM pg_collation WHERE collname = 'icu_probe') AS has_icu \gset
\if :has_icu
CREATE COLLATION pg_temp.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE cl (id int PRIMARY KEY, x int, label text COLLATE pg_temp.ci);
INSERT INTO cl SELECT g, g % 5, (ARRAY['a', 'A', 'b'])[1 + g % 3] FROM generate_series(1, 60) g;
CREATE TABLE cl_b (LIKE cl INCLUDING ALL);
INSERT INTO cl_b SELECT * FROM cl;
SET hitl.train_by_aggregates = on;
SELECT hitl.create_model('cl_agg', 'cl', 'label', '{x}', algorithm => 'naive_bayes',
						 options => '{"cv_folds": 0}') \gset
SET hitl.train_by_aggregates = off;
SELECT hitl.create_model('cl_mem', 'cl_b', 'label', '{x}', algorithm => 'naive_bayes',
						 options => '{"cv_folds": 0}') \gset
RESET hitl.train_by_aggregates;
SELECT is((pg_temp.cur('cl_mem')).classes, '{A,a,b}'::text[], 'a case-insensitive label read row by row: three classes');
SELECT is((pg_temp.cur('cl_agg')).classes, (pg_temp.cur('cl_mem')).classes,
		  'a case-insensitive label: the same classes by aggregates');
SELECT is((pg_temp.cur('cl_agg')).class_counts, (pg_temp.cur('cl_mem')).class_counts,
		  'a case-insensitive label: the same class_counts by aggregates');
SELECT is((pg_temp.cur('cl_agg')).metrics->'train_accuracy', (pg_temp.cur('cl_mem')).metrics->'train_accuracy',
		  'a case-insensitive label: the same train_accuracy by aggregates');
\else
SELECT skip('a nondeterministic collation needs a server built with ICU', 4);
\endif

-- ----------------------------------------------------------------------
-- 4. Rows that are no feature vector: reported as reading reports them
-- ----------------------------------------------------------------------

CREATE TABLE bad (id int PRIMARY KEY, a int, b numeric, c float8, e float8[], e2 float8[], label text);
INSERT INTO bad SELECT g, g % 3, g % 4, g % 5, ARRAY[g % 2, g % 3]::float8[], ARRAY[g % 4, 1]::float8[],
	(ARRAY['p', 'q'])[1 + g % 2] FROM generate_series(1, 40) g;
SELECT hitl.create_model('bad_m', 'bad', 'label', '{a,b,c,e,e2}', algorithm => 'naive_bayes',
						 options => '{"cv_folds": 0}') \gset

-- each case changes a row of bad; the copy puts it back (no savepoint,
-- which would roll back pgTAP's record of the tests)
CREATE TEMP TABLE bad_copy AS SELECT * FROM bad;
CREATE FUNCTION pg_temp.put_back() RETURNS void LANGUAGE sql AS $$
	UPDATE bad SET a = o.a, b = o.b, c = o.c, e = o.e, e2 = o.e2, label = o.label
	FROM bad_copy o WHERE o.id = bad.id AND (bad.*) IS DISTINCT FROM (o.*)
$$;
UPDATE bad SET a = -1 WHERE id = 7;
SELECT is(pg_temp.train_error('bad_m', true), '22023: feature column "a" is negative in row {"id": 7}',
		  'a negative value: 22023 naming the row''s key');
SELECT is(pg_temp.train_error('bad_m', true), pg_temp.train_error('bad_m', false), 'a negative value: as read row by row');
SELECT pg_temp.put_back() \gset
UPDATE bad SET c = 'NaN' WHERE id = 7;
SELECT is(pg_temp.train_error('bad_m', true), '22000: feature column "c" is NaN or infinite in row {"id": 7}',
		  'NaN: 22000 naming the row''s key');
SELECT is(pg_temp.train_error('bad_m', true), pg_temp.train_error('bad_m', false), 'NaN: as read row by row');
SELECT pg_temp.put_back() \gset
UPDATE bad SET b = 1e309 WHERE id = 7;
SELECT is(pg_temp.train_error('bad_m', true),
		  '22000: feature column "b" is out of the range of double precision in row {"id": 7}',
		  'a numeric beyond double precision: 22000 naming the row''s key');
SELECT is(pg_temp.train_error('bad_m', true), pg_temp.train_error('bad_m', false),
		  'a numeric beyond double precision: as read row by row');
SELECT pg_temp.put_back() \gset
UPDATE bad SET b = 1e-400 WHERE id = 7;
SELECT is(pg_temp.train_error('bad_m', true), pg_temp.train_error('bad_m', false),
		  'a numeric below the smallest denormal: as read row by row');
SELECT pg_temp.put_back() \gset
UPDATE bad SET e = '{1,2,3}' WHERE id = 7;
SELECT is(pg_temp.train_error('bad_m', true), '2202E: feature column "e" holds arrays of different lengths',
		  'an array of another length in a class of longer rows: 2202E');
SELECT is(pg_temp.train_error('bad_m', true), pg_temp.train_error('bad_m', false),
		  'an array of another length: as read row by row');
SELECT pg_temp.put_back() \gset
UPDATE bad SET e = '{1}', label = 'r' WHERE id = 7;
SELECT is(pg_temp.train_error('bad_m', true), pg_temp.train_error('bad_m', false),
		  'an array of another length, the only row of its class: as read row by row');
SELECT pg_temp.put_back() \gset
UPDATE bad SET e = '{1,2,3}', e2 = '{1}' WHERE id = 7;
SELECT is(pg_temp.train_error('bad_m', true), '2202E: feature column "e" holds arrays of different lengths',
		  'two arrays of other lengths that add up to the right one: 2202E, as read row by row');
SELECT pg_temp.put_back() \gset
UPDATE bad SET c = 1e308 WHERE id IN (2, 4);
SELECT is(pg_temp.train_error('bad_m', true),
		  '22000: feature column "c" of model "bad_m" adds up beyond the range of double precision',
		  'a sum beyond double precision: 22000');
SELECT is(pg_temp.train_error('bad_m', true), pg_temp.train_error('bad_m', false),
		  'a sum beyond double precision: as read row by row');
SELECT pg_temp.put_back() \gset
SELECT is(pg_temp.train_error('bad_m', true), 'no error', 'the rows put back: it trains');
SELECT is((pg_temp.cur('bad_m')).metrics->'aggregates', 'true'::jsonb, 'by aggregates');

-- ----------------------------------------------------------------------
-- 5. Trainings it does not serve
-- ----------------------------------------------------------------------

SELECT hitl.create_model('m_cv', 'mix_a', 'label', '{a,b,c,r,f,big,e}', algorithm => 'naive_bayes',
						 prediction_column => 'cv_p', confidence_column => 'cv_c',
						 uncertainty_column => 'cv_u') \gset
SELECT is(pg_temp.train('m_cv', true) > 0, true, 'cv_folds 5 with hitl.train: trained');
SELECT ok(NOT (pg_temp.cur('m_cv')).metrics ? 'aggregates', 'cross-validating at once: not by aggregates');
SELECT is((pg_temp.cur('m_cv')).metrics->>'cv_folds', '5', 'it has its cross-validated figures');
SELECT ok((pg_temp.cur('m_cv')).metrics ? 'cv_accuracy', 'cv_accuracy among them');

CREATE TABLE texts (id int PRIMARY KEY, n int, body text, label text);
INSERT INTO texts SELECT g, g % 3, format('w%s w%s', g % 4, g % 7), (ARRAY['s', 't'])[1 + g % 2]
FROM generate_series(1, 40) g;
SELECT hitl.create_model('m_text', 'texts', 'label', '{n,body}', algorithm => 'naive_bayes',
						 options => '{"cv_folds": 0}') \gset
SELECT ok((pg_temp.cur('m_text')).version = 1 AND NOT (pg_temp.cur('m_text')).metrics ? 'aggregates',
		  'a model with text: not by aggregates');

SELECT hitl.create_model('m_weighted', 'ints', 'label', '{x,y}', algorithm => 'naive_bayes',
						 prediction_column => 'w_p', confidence_column => 'w_c', uncertainty_column => 'w_u',
						 options => '{"cv_folds": 0, "weight_by_consensus": true}') \gset
SELECT ok((pg_temp.cur('m_weighted')).metrics->'weighted' = 'true'::jsonb
		  AND NOT (pg_temp.cur('m_weighted')).metrics ? 'aggregates',
		  'weight_by_consensus: weighted, not by aggregates');

-- ----------------------------------------------------------------------
-- 6. Machine labels
-- ----------------------------------------------------------------------

INSERT INTO hitl.auto_labels (model, row_key, label, version)
SELECT m, jsonb_build_object('id', id), label, 1
FROM mix_a, unnest('{m_agg,m_mem}'::text[]) m WHERE id <= 20 AND label IS NOT NULL;
UPDATE mix_b SET label = a.label FROM mix_a a WHERE a.id = mix_b.id;
SELECT is(pg_temp.train('m_agg', true), 5, 'machine labels: a new version by aggregates');
SELECT is((pg_temp.cur('m_agg')).n_labeled, 277 - 19, 'machine labels left out of n_labeled');
SELECT is((pg_temp.cur('m_agg')).metrics->'aggregates', 'true'::jsonb, 'by aggregates with machine labels');
SELECT is(pg_temp.train('m_mem', false), 3, 'the copy read row by row');
SELECT is((pg_temp.cur('m_agg')).n_labeled, (pg_temp.cur('m_mem')).n_labeled, 'the same n_labeled');
SELECT is((pg_temp.cur('m_agg')).counts, (pg_temp.cur('m_mem')).counts, 'the same counts');
SELECT is((pg_temp.cur('m_agg')).metrics->>'data_hash', (pg_temp.cur('m_mem')).metrics->>'data_hash',
		  'the same data hash');
SELECT is(pg_temp.train('m_agg', false), 5, 'then read row by row: stands');

SELECT hitl.alter_model('m_agg', '{"train_on_auto_labels": true}') \gset
SELECT hitl.alter_model('m_mem', '{"train_on_auto_labels": true}') \gset
SELECT is(pg_temp.train('m_agg', true), 6, 'train_on_auto_labels: a new version by aggregates');
SELECT is((pg_temp.cur('m_agg')).n_labeled, 277, 'train_on_auto_labels: machine labels counted');
SELECT is(pg_temp.train('m_mem', false), 4, 'the copy read row by row');
SELECT is((pg_temp.cur('m_agg')).n_labeled, (pg_temp.cur('m_mem')).n_labeled, 'train_on_auto_labels: the same n_labeled');
SELECT is((pg_temp.cur('m_agg')).metrics->>'data_hash', (pg_temp.cur('m_mem')).metrics->>'data_hash',
		  'train_on_auto_labels: the same data hash');

-- ----------------------------------------------------------------------
-- 7. cv_group_column without cross-validation: the groups in the hash
-- ----------------------------------------------------------------------

CREATE TABLE grp (id int PRIMARY KEY, x int, y int, g text, label text);
INSERT INTO grp SELECT i, i % 5, (i * 3) % 4, CASE WHEN i % 7 = 0 THEN NULL ELSE 'g' || (i / 4) END,
	(ARRAY['u', 'v'])[1 + i % 2] FROM generate_series(1, 60) i;
CREATE TABLE grp_b (LIKE grp INCLUDING ALL);
INSERT INTO grp_b SELECT * FROM grp;
SELECT is(pg_temp.train_error('grp_agg', true), '42704: model "grp_agg" does not exist', 'helper sanity: unknown model');
SET hitl.train_by_aggregates = on;
SELECT hitl.create_model('grp_agg', 'grp', 'label', '{x,y}', algorithm => 'naive_bayes',
						 options => '{"cv_folds": 0, "cv_group_column": "g"}') \gset
SET hitl.train_by_aggregates = off;
SELECT hitl.create_model('grp_mem', 'grp_b', 'label', '{x,y}', algorithm => 'naive_bayes',
						 options => '{"cv_folds": 0, "cv_group_column": "g"}') \gset
RESET hitl.train_by_aggregates;
SELECT is((pg_temp.cur('grp_agg')).metrics->'aggregates', 'true'::jsonb, 'cv_group_column, cv_folds 0: by aggregates');
SELECT is((pg_temp.cur('grp_agg')).metrics->>'data_hash', (pg_temp.cur('grp_mem')).metrics->>'data_hash',
		  'cv_group_column: the same data hash either way');
UPDATE grp SET g = 'other' WHERE id = 5;
UPDATE grp_b SET g = 'other' WHERE id = 5;
SELECT is(pg_temp.train('grp_agg', true), 2, 'a group changed: a new version by aggregates');
SELECT is(pg_temp.train('grp_mem', false), 2, 'and read row by row');
SELECT isnt((pg_temp.cur('grp_agg')).metrics->>'data_hash',
			(SELECT metrics->>'data_hash' FROM hitl.model_versions WHERE model = 'grp_agg' AND version = 1),
			'another data hash');
SELECT is((pg_temp.cur('grp_agg')).metrics->>'data_hash', (pg_temp.cur('grp_mem')).metrics->>'data_hash',
		  'the same data hash either way after the change');
UPDATE grp SET g = NULL WHERE id = 5;
SELECT is(pg_temp.train('grp_agg', true), 3, 'a group set to NULL: a new version');
SELECT is(pg_temp.train('grp_agg', false), 3, 'read row by row: it stands');

-- ----------------------------------------------------------------------
-- 8. The aggregates
-- ----------------------------------------------------------------------

SELECT is((SELECT (hitl._nb_sums(x, 0))[1:5] || (hitl._nb_sums(x, 0))[10:12]
		   FROM (VALUES ('{1,0,2}'::float8[]), ('{0,0,3}'), ('{4,0,0}')) v(x)),
		  '{3,1,3, 3,4, 5,0,5}'::float8[],
		  '_nb_sums: [kind 3, k 1, d, rows, non-zero values, (limbs), sums]');
SELECT is((SELECT array_length(hitl._nb_sums(x, 0), 1) FROM (VALUES ('{1,0,2}'::float8[])) v(x)), 12,
		  '_nb_sums: 9 + d elements');
SELECT ok((SELECT bool_and(l >= 0 AND l < 65536 AND l = floor(l))
		   FROM unnest((SELECT (hitl._nb_sums(x, 0))[6:9] FROM (VALUES ('{1,0,2}'::float8[])) v(x))) l),
		  '_nb_sums: one row''s limbs are 16-bit whole numbers');
SELECT is((SELECT hitl._nb_sums(x, s ORDER BY i) FROM (VALUES (1, '{1,0,2}'::float8[], 7), (2, '{0,0,3}', 8),
		   (3, '{4,0,0}', 9), (4, '{1,1,1}', 7)) v(i, x, s)),
		  (SELECT hitl._nb_sums(x, s ORDER BY i DESC) FROM (VALUES (1, '{1,0,2}'::float8[], 7), (2, '{0,0,3}', 8),
		   (3, '{4,0,0}', 9), (4, '{1,1,1}', 7)) v(i, x, s)),
		  '_nb_sums: the same state in either order');
SELECT is(hitl._agg_combine(
			(SELECT hitl._nb_sums(x, s) FROM (VALUES ('{1,0,2}'::float8[], 7), ('{0,0,3}', 8)) v(x, s)),
			(SELECT hitl._nb_sums(x, s) FROM (VALUES ('{4,0,0}'::float8[], 9), ('{1,1,1}', 7)) v(x, s))),
		  (SELECT hitl._nb_sums(x, s) FROM (VALUES ('{1,0,2}'::float8[], 7), ('{0,0,3}', 8),
		   ('{4,0,0}', 9), ('{1,1,1}', 7)) v(x, s)),
		  '_agg_combine: two halves combined give the state of all');
SELECT isnt((SELECT hitl._nb_sums(x, 1) FROM (VALUES ('{1,0,2}'::float8[])) v(x)),
			(SELECT hitl._nb_sums(x, 2) FROM (VALUES ('{1,0,2}'::float8[])) v(x)),
			'_nb_sums: another seed, another hash');
SELECT isnt((SELECT hitl._nb_sums(x, 0) FROM (VALUES ('{1,0,2}'::float8[])) v(x)),
			(SELECT hitl._nb_sums(x, 0) FROM (VALUES ('{2,0,1}'::float8[])) v(x)),
			'_nb_sums: the same values in other positions, another hash');
SELECT is((SELECT hitl._nb_sums(x, 0) FROM (VALUES ('{-0,1}'::float8[])) v(x)),
		  (SELECT hitl._nb_sums(x, 0) FROM (VALUES ('{0,1}'::float8[])) v(x)),
		  '_nb_sums: -0 is 0');
SELECT is((SELECT hitl._nb_sums(x, 0) FROM (VALUES ('{}'::float8[]), ('{}')) v(x)), '{3,1,0,2,0}'::float8[]
		  || (SELECT (hitl._nb_sums(x, 0))[6:9] FROM (VALUES ('{}'::float8[]), ('{}')) v(x)),
		  '_nb_sums: rows without features');

-- parallel
CREATE TABLE public.nbs_rows (id int, label int, x float8[], g bigint);
INSERT INTO public.nbs_rows
SELECT i, i % 3, ARRAY[(i * 7) % 11, (i * 13) % 17, i % 5, (i / 3) % 4]::float8[], i % 10
FROM generate_series(1, 30000) i;
ANALYZE public.nbs_rows;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial AS
SELECT label, hitl._nb_sums(x, g) AS s FROM public.nbs_rows GROUP BY label;
SET max_parallel_workers_per_gather = 2;
SELECT matches(pg_temp.plan_of('SELECT label, hitl._nb_sums(x, g) FROM public.nbs_rows GROUP BY label'),
			   'Finalize.*Gather.*Partial.*Parallel Seq Scan',
			   '_nb_sums: a parallel plan');
SELECT is((SELECT array_agg(s ORDER BY label) FROM
			(SELECT label, hitl._nb_sums(x, g) s FROM public.nbs_rows GROUP BY label) p),
		  (SELECT array_agg(s ORDER BY label) FROM serial),
		  '_nb_sums: the parallel states equal the serial ones');
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SELECT is((SELECT array_agg(s[4:5] || s[10:13] ORDER BY label) FROM serial),
		  (SELECT array_agg(s ORDER BY label) FROM
			(SELECT label, ARRAY[count(*), sum(nz), sum(x[1]), sum(x[2]), sum(x[3]), sum(x[4])]::float8[] s
			 FROM (SELECT label, x, (SELECT count(*) FROM unnest(x) v WHERE v <> 0) nz FROM public.nbs_rows) r
			 GROUP BY label) g),
		  '_nb_sums: rows, non-zero values and sums as count(*) and sum() give them');

-- _nb_eval: k 2, d 2, alpha 1, dimension 2; class 0 sums {3,1}, class 1 {1,3}, one row each:
-- theta = {2/3, 1/3} and {1/3, 2/3}, equal priors.  Rows: {1,0} of 0: p0 2/3, right;
-- {0,1} of 0: p0 1/3, wrong; {2,0} of 1: p1 1/5, wrong; {0,0} of 1: 1/2 each, the first (0), wrong
SELECT is((SELECT e[1:4] || e[6:9] FROM (SELECT hitl._nb_eval(c, x, '{2,2,1,2, 1,1, 3,1, 1,3}')
		   FROM (VALUES (0, '{1,0}'::float8[]), (0, '{0,1}'), (1, '{2,0}'), (1, '{0,0}'), (NULL, '{5,5}')) v(c, x)) s(e)),
		  '{4,2,0,4, 1,1,2,0}'::float8[], '_nb_eval: [4, k, 0, rows, (loss), confusion true class-major]; NULL class skipped');
SELECT cmp_ok((SELECT abs((hitl._nb_eval(c, x, '{2,2,1,2, 1,1, 3,1, 1,3}'))[5] - ln(45))
			   FROM (VALUES (0, '{1,0}'::float8[]), (0, '{0,1}'), (1, '{2,0}'), (1, '{0,0}')) v(c, x)),
			  '<=', 1e-12::float8, '_nb_eval: the log-loss ln(3/2) + ln 3 + ln 5 + ln 2 = ln 45');
SELECT is((SELECT hitl._nb_eval(c, x, '{2,2,1,2, 1,1, 3,1, 1,3}')
		   FROM (VALUES (NULL::int, '{1,0}'::float8[])) v(c, x)), NULL, '_nb_eval: NULL over no labeled row');

-- errors
SELECT throws_ok($$SELECT hitl._nb_sums('{1}', NULL)$$, '22004', 'the seed must not be NULL', '_nb_sums: NULL seed');
SELECT throws_ok($$SELECT hitl._nb_sums('{1,-2}', 0)$$, '22023', 'element 2 of the features is negative',
				 '_nb_sums: a negative value');
SELECT throws_ok($$SELECT hitl._nb_sums('{NaN}', 0)$$, '22000', 'element 1 of the features is NaN or infinite',
				 '_nb_sums: NaN');
SELECT throws_ok($$SELECT hitl._nb_sums(x, 0) FROM (VALUES ('{1,2}'::float8[]), ('{1}')) v(x)$$, '2202E',
				 'hitl._nb_sums was given a row of 1 features after rows of 2', '_nb_sums: a row of another length');
SELECT throws_ok($$SELECT hitl._nb_sums(NULL, 0)$$, '22004', 'the features must not be NULL', '_nb_sums: NULL features');
SELECT throws_ok($$SELECT hitl._nb_sums_step(NULL, '{1}', 0)$$, '0A000',
				 'hitl._nb_sums''s transition function can only be called by the aggregate',
				 '_nb_sums_step outside an aggregate');
SELECT throws_ok($$SELECT hitl._nb_eval(0, '{1,0}', '{2,2,1,2, 1,1, 3,1}')$$, '22023',
				 'the array is not a naive Bayes model of hitl._nb_eval', '_nb_eval: a model of the wrong length');
SELECT throws_ok($$SELECT hitl._nb_eval(0, '{1,0}', '{1,2,1,2, 1, 3,1}')$$, '22023',
				 'the array is not a naive Bayes model of hitl._nb_eval', '_nb_eval: one class');
SELECT throws_ok($$SELECT hitl._nb_eval(0, '{1,0}', '{2,2,0,2, 1,1, 3,1, 1,3}')$$, '22023',
				 'the naive Bayes model of hitl._nb_eval is invalid', '_nb_eval: alpha 0');
SELECT throws_ok($$SELECT hitl._nb_eval(0, '{1,0}', '{2,2,1,2, 1,1, 3,-1, 1,3}')$$, '22023',
				 'the naive Bayes model of hitl._nb_eval is invalid', '_nb_eval: a negative sum');
SELECT throws_ok($$SELECT hitl._nb_eval(0, '{1,0}', NULL)$$, '22004', 'the model must not be NULL', '_nb_eval: NULL model');
SELECT throws_ok($$SELECT hitl._nb_eval(2, '{1,0}', '{2,2,1,2, 1,1, 3,1, 1,3}')$$, '22023',
				 'class 2 is out of range for 2 classes', '_nb_eval: a class out of range');
SELECT throws_ok($$SELECT hitl._nb_eval(0, '{1,0,1}', '{2,2,1,2, 1,1, 3,1, 1,3}')$$, '2202E',
				 'hitl._nb_eval was given a row of 3 features for a model of 2', '_nb_eval: a row of another length');
SELECT throws_ok($$SELECT hitl._nb_eval_step(NULL, 0, '{1,0}', '{2,2,1,2, 1,1, 3,1, 1,3}')$$, '0A000',
				 'hitl._nb_eval''s transition function can only be called by the aggregate',
				 '_nb_eval_step outside an aggregate');

SELECT ok(has_function_privilege('public', 'hitl._nb_sums(float8[], bigint)', 'EXECUTE')
		  AND has_function_privilege('public', 'hitl._nb_eval(integer, float8[], float8[])', 'EXECUTE'),
		  'PUBLIC may execute both');
SELECT is((SELECT array_agg(a.aggfnoid::text ORDER BY a.aggfnoid::text) FROM pg_aggregate a
		   JOIN pg_proc p ON p.oid = a.aggfnoid
		   WHERE p.proname IN ('_nb_sums', '_nb_eval') AND p.proparallel = 's'
			 AND a.aggcombinefn = 'hitl._agg_combine'::regproc),
		  '{hitl._nb_eval,hitl._nb_sums}'::text[], 'both parallel safe, combined by hitl._agg_combine');

SELECT * FROM finish();
ROLLBACK;
