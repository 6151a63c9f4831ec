-- Text feature columns and naive Bayes as contracts: hitl.text_terms, the
-- options and their errors, incremental naive Bayes against full training
-- over a sequence of committed label changes (and its fallbacks), texts
-- without terms, mixed text and numeric models, very long texts and texts
-- cut inside a character, negative counts, the review view and scoring.
--
-- Unlike the other files this one runs outside a transaction block: an
-- incremental update reads the label changes committed since its version
-- (the database is dropped after the file).  The incremental-update cases
-- that once went wrong are at the end.

SELECT plan(192);

CREATE EXTENSION hitl;

-- ------------------------------------------------------------------------
-- hitl.text_terms
-- ------------------------------------------------------------------------

SELECT has_function('hitl', 'text_terms', ARRAY['text', 'regconfig', 'boolean'],
					'hitl.text_terms(text, regconfig, boolean) exists');
SELECT function_returns('hitl', 'text_terms', ARRAY['text', 'regconfig', 'boolean'], 'text[]',
						'and returns text[]');
SELECT is(hitl.text_terms('b a b  A'), ARRAY['b', 'a', 'b', 'a'],
		  'lexemes in document order, repeats kept, lower-cased (simple by default)');
SELECT is(hitl.text_terms('b a b', bigrams => true), ARRAY['b', 'a', 'b', 'b a', 'a b'],
		  'bigrams follow the lexemes, joined by one space');
SELECT is(hitl.text_terms('The cats were running', 'english'), ARRAY['cat', 'run'],
		  'english: stop words dropped, words stemmed');
SELECT is(hitl.text_terms('cats of the running dogs', 'english', true),
		  ARRAY['cat', 'run', 'dog', 'cat run', 'run dog'],
		  'english bigrams pair the lexemes left once stop words are gone');
SELECT is(hitl.text_terms('only'), ARRAY['only'], 'one word: no bigram');
SELECT is(hitl.text_terms('only', bigrams => true), ARRAY['only'], 'one word with bigrams: no bigram');
SELECT is(hitl.text_terms(''), '{}'::text[], 'an empty text has no terms');
SELECT is(hitl.text_terms(' ;;; !? '), '{}'::text[], 'punctuation has no terms');
SELECT is(hitl.text_terms(NULL), NULL, 'NULL gives NULL');
SELECT is(hitl.text_terms('ünïcödé wörds 語'), ARRAY['ünïcödé', 'wörds', '語'],
		  'non-ASCII letters are part of words');
SELECT is((SELECT array_agg(lexeme ORDER BY p) FROM (
			   SELECT l.lexeme, unnest(l.positions) AS p
			   FROM unnest(to_tsvector('english', 'Running runners ran; the runner runs fast!')) l) s),
		  hitl.text_terms('Running runners ran; the runner runs fast!', 'english'),
		  'the lexemes are to_tsvector''s, by position');
SELECT throws_ok($$SELECT hitl.text_terms('x', 'no_such_config')$$, '42704',
				 'text search configuration "no_such_config" does not exist',
				 'an unknown configuration: 42704');

-- ------------------------------------------------------------------------
-- Options and errors of text and naive Bayes models
-- ------------------------------------------------------------------------

CREATE TABLE docs (id int PRIMARY KEY, body text, label text);
INSERT INTO docs
SELECT g,
	   format('%s %s the %s %s %s', w[1 + g % 8], w[1 + (g * 3) % 8], w[1 + (g * 5) % 8],
			  c[1 + g % 8], c[1 + (g * 7) % 8]),
	   CASE WHEN g <= 45 THEN topic END
FROM generate_series(1, 60) g,
	 LATERAL (SELECT (ARRAY['sport', 'cooking', 'computing'])[1 + g % 3] AS topic) t,
	 LATERAL (SELECT CASE topic
		WHEN 'sport' THEN ARRAY['goal', 'match', 'team', 'score', 'league', 'coach', 'player', 'stadium']
		WHEN 'cooking' THEN ARRAY['recipe', 'bake', 'flour', 'spicy', 'oven', 'sauce', 'garlic', 'butter']
		ELSE ARRAY['kernel', 'compile', 'server', 'cpu', 'database', 'query', 'network', 'debug'] END) w(w),
	 LATERAL (SELECT ARRAY['a', 'great', 'new', 'today', 'week', 'with', 'and', 'night']) c(c);
-- an unlabeled row whose words no other row has (used at the end)
UPDATE docs SET body = 'zebra unicorn' WHERE id = 51;
ALTER TABLE docs ADD COLUMN n int DEFAULT 1;

SELECT throws_ok($$SELECT hitl.create_model('bad', 'docs', 'label', '{body}', options => '{"text_config": "no_such_config"}')$$,
				 '42704', 'text search configuration "no_such_config" does not exist',
				 'unknown text_config: 42704');
SELECT throws_ok($$SELECT hitl.create_model('bad', 'docs', 'label', '{body}', options => '{"buckets": 1000}')$$,
				 '22023', 'invalid value 1000 for option "buckets"', 'buckets not a power of two: 22023');
SELECT throws_ok($$SELECT hitl.create_model('bad', 'docs', 'label', '{body}', options => '{"buckets": 8}')$$,
				 '22023', 'invalid value 8 for option "buckets"', 'buckets below 16: 22023');
SELECT throws_ok($$SELECT hitl.create_model('bad', 'docs', 'label', '{body}', options => '{"buckets": 33554432}')$$,
				 '22023', 'invalid value 33554432 for option "buckets"', 'buckets above 2^24: 22023');
SELECT throws_ok($$SELECT hitl.create_model('bad', 'docs', 'label', '{body}', options => '{"buckets": -16}')$$,
				 '22023', 'invalid value -16 for option "buckets"', 'negative buckets: 22023');
SELECT lives_ok($$SELECT hitl.create_model('b16', 'docs', 'label', '{body}', options => '{"buckets": 16, "cv_folds": 0}');
				  SELECT hitl.drop_model('b16', drop_columns => true)$$,
				'16 buckets are allowed');
SELECT throws_ok($$SELECT hitl.create_model('bad', 'docs', 'label', '{body}', options => '{"max_text_bytes": 100}')$$,
				 '22023', 'invalid value 100 for option "max_text_bytes"', 'max_text_bytes below 1024: 22023');
SELECT throws_ok($$SELECT hitl.create_model('bad', 'docs', 'label', '{n}', options => '{"bigrams": true}')$$,
				 '22023', 'option "bigrams" applies only to models with text feature columns',
				 'bigrams without a text column: 22023');
SELECT throws_ok($$SELECT hitl.create_model('bad', 'docs', 'label', '{n}', algorithm => 'naive_bayes', options => '{"max_text_bytes": 4096}')$$,
				 '22023', 'option "max_text_bytes" applies only to models with text feature columns',
				 'max_text_bytes without a text column: 22023');
SELECT throws_ok($$SELECT hitl.create_model('bad', 'docs', 'label', '{body}', algorithm => 'naive_bayes', options => '{"C": 2}')$$,
				 '22023', 'option "C" does not apply to algorithm naive_bayes', 'C with naive_bayes: 22023');
SELECT throws_ok($$SELECT hitl.create_model('bad', 'docs', 'label', '{body}', options => '{"alpha": 2}')$$,
				 '22023', 'option "alpha" does not apply to algorithm logistic', 'alpha with logistic: 22023');
SELECT throws_ok($$SELECT hitl.create_model('bad', 'docs', 'label', '{body}', algorithm => 'naive_bayes', options => '{"alpha": -1}')$$,
				 '22023', 'invalid value -1 for option "alpha"', 'a negative alpha: 22023');
UPDATE docs SET n = -2 WHERE id = 7;
SELECT throws_ok($$SELECT hitl.create_model('bad', 'docs', 'label', '{body,n}', algorithm => 'naive_bayes')$$,
				 '22023', 'feature column "n" is negative in row {"id": 7}',
				 'a negative numeric feature of a labeled row, when training naive Bayes: 22023');
SELECT lives_ok($$SELECT hitl.create_model('lr_neg', 'docs', 'label', '{body,n}', options => '{"cv_folds": 0}');
				  SELECT hitl.drop_model('lr_neg', drop_columns => true)$$,
				'logistic takes negative features');
UPDATE docs SET n = 1 WHERE id = 7;
SELECT is((SELECT count(*) FROM hitl.models), 0::bigint, 'no model was left behind');

SELECT hitl.create_model('canon', 'docs', 'label', '{body}', options => '{"text_config": "pg_catalog.English", "cv_folds": 0}') \gset
SELECT is((SELECT options->>'text_config' FROM hitl.models WHERE name = 'canon'), 'english',
		  'text_config is stored by its canonical name');
SELECT is((SELECT options - 'text_config' FROM hitl.models WHERE name = 'canon'),
		  '{"C": 1.0, "tol": 1e-6, "bigrams": false, "buckets": 262144, "cv_folds": 0, "max_iter": 1000,
			"min_labels": 10, "queue_size": 1000, "max_text_bytes": 1048576, "score_tolerance": 0.01}'::jsonb,
		  'a logistic text model''s defaults: max_iter 1000, tol 1e-6 and the text options');
SELECT hitl.drop_model('canon', drop_columns => true) \gset

-- ------------------------------------------------------------------------
-- Incremental naive Bayes equals full training: model inc is always trained
-- with incremental => true, model full from scratch after each step
-- ------------------------------------------------------------------------

SELECT hitl.create_model('inc', 'docs', 'label', '{body}', algorithm => 'naive_bayes',
						 prediction_column => 'inc_p', confidence_column => 'inc_c',
						 uncertainty_column => 'inc_u', options => '{"cv_folds": 0}') \gset
SELECT hitl.create_model('full', 'docs', 'label', '{body}', algorithm => 'naive_bayes',
						 prediction_column => 'full_p', confidence_column => 'full_c',
						 uncertainty_column => 'full_u', options => '{"cv_folds": 0}') \gset

-- the current versions of inc and full hold the same statistics and predict the same
CREATE FUNCTION same_as_full(what text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	i hitl.model_versions;
	f hitl.model_versions;
BEGIN
	SELECT v.* INTO i FROM hitl.model_versions v JOIN hitl.models m
		ON m.name = v.model AND m.current_version = v.version WHERE m.name = 'inc';
	SELECT v.* INTO f FROM hitl.model_versions v JOIN hitl.models m
		ON m.name = v.model AND m.current_version = v.version WHERE m.name = 'full';
	RETURN NEXT is(ARRAY[i.n_labeled::text] || i.classes || i.class_counts::text[],
				   ARRAY[f.n_labeled::text] || f.classes || f.class_counts::text[],
				   what || ': n_labeled, classes and class_counts as a full training');
	RETURN NEXT is(i.vocabulary, f.vocabulary, what || ': the same vocabulary');
	RETURN NEXT is(i.count_index, f.count_index, what || ': the same count_index');
	RETURN NEXT cmp_ok((SELECT max(abs(a - b)) FROM unnest(i.counts, f.counts) u(a, b)),
					   '<=', 1e-9::float8, what || ': counts within 1e-9');
	RETURN NEXT cmp_ok((SELECT max(abs(p.value::float8 - q.value::float8))
						FROM docs d, jsonb_each_text(hitl.predict_proba('inc', d)) p
						JOIN jsonb_each_text(hitl.predict_proba('full', d)) q USING (key)),
					   '<=', 1e-9::float8, what || ': predict_proba within 1e-9 on every row');
END
$$;

-- train inc incrementally and full from scratch, and compare
CREATE FUNCTION step(what text, changes int) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	base int := (SELECT current_version FROM hitl.models WHERE name = 'inc');
	v int := hitl.train('inc', incremental => true);
	m jsonb := (SELECT metrics FROM hitl.model_versions WHERE model = 'inc' AND version = v);
BEGIN
	PERFORM hitl.train('full');
	RETURN NEXT is(ARRAY[v, (m->>'changes')::int, (m->>'base_version')::int],
				   ARRAY[base + 1, changes, base],
				   what || ': a new version, with the changes and the version they apply to');
	RETURN NEXT is(m->'incremental', 'true'::jsonb, what || ': applied incrementally');
	RETURN QUERY SELECT * FROM same_as_full(what);
END
$$;

-- a fallback: a new version trained from scratch
CREATE FUNCTION fallback(what text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	base int := (SELECT current_version FROM hitl.models WHERE name = 'inc');
	v int := hitl.train('inc', incremental => true);
BEGIN
	PERFORM hitl.train('full');
	RETURN NEXT is(ARRAY[v::text, (SELECT metrics->>'incremental' FROM hitl.model_versions
								   WHERE model = 'inc' AND version = v)],
				   ARRAY[(base + 1)::text, 'false'], what || ': a new version, trained from scratch');
	RETURN QUERY SELECT * FROM same_as_full(what);
END
$$;

SELECT * FROM same_as_full('created');
SELECT is((SELECT metrics->>'incremental' FROM hitl.model_versions WHERE model = 'inc'), 'false',
		  'create_model trains from scratch');

-- new labels
UPDATE docs SET label = 'sport' WHERE id = 48;
UPDATE docs SET label = 'cooking' WHERE id IN (46, 49);
SELECT * FROM step('three new labels', 3);
-- changed labels
UPDATE docs SET label = 'computing' WHERE id = 1;
UPDATE docs SET label = 'sport' WHERE id = 2;
SELECT * FROM step('two changed labels', 2);
-- cleared labels
UPDATE docs SET label = NULL WHERE id IN (3, 4);
SELECT * FROM step('two cleared labels', 2);
-- several changes of one row in one transaction, back to its first label
BEGIN;
UPDATE docs SET label = 'sport' WHERE id = 5;
UPDATE docs SET label = 'cooking' WHERE id = 5;
UPDATE docs SET label = NULL WHERE id = 5;
UPDATE docs SET label = 'computing' WHERE id = 5;
COMMIT;
SELECT * FROM step('four changes of one row', 4);
-- changes of several rows in one transaction, one statement changing two
BEGIN;
UPDATE docs SET label = 'computing' WHERE id = 6;
UPDATE docs SET label = 'sport' WHERE id = 50;
UPDATE docs SET label = NULL WHERE id = 7;
UPDATE docs SET label = CASE id WHEN 10 THEN 'sport' ELSE 'cooking' END WHERE id IN (10, 11);
COMMIT;
SELECT * FROM step('five changes in one transaction', 5);
-- and in several transactions, touching the same rows again
UPDATE docs SET label = 'sport' WHERE id = 7;
UPDATE docs SET label = NULL WHERE id = 7;
UPDATE docs SET label = 'cooking' WHERE id = 48;
UPDATE docs SET label = 'cooking' WHERE id = 3;
SELECT * FROM step('four changes in four transactions', 4);

-- nothing new: the current version, no new one
SELECT is(hitl.train('inc', true), (SELECT current_version FROM hitl.models WHERE name = 'inc'),
		  'no change: train(incremental) returns the current version');
SELECT is((SELECT count(*) FROM hitl.model_versions WHERE model = 'inc'), 7::bigint,
		  'and records no version');
-- a label changed and changed back is still a change
UPDATE docs SET label = 'cooking' WHERE id = 9;
UPDATE docs SET label = 'sport' WHERE id = 9;
SELECT * FROM step('a label changed back', 2);

-- fallbacks
UPDATE docs SET label = 'travel' WHERE id = 12;
SELECT * FROM fallback('a new class');
UPDATE docs SET label = 'computing' WHERE id = 12;
SELECT * FROM fallback('a class without rows');
DELETE FROM docs WHERE id = 13;
SELECT * FROM fallback('a labeled row deleted');
SELECT max(id) AS before_swaps FROM hitl.label_log WHERE model = 'inc' \gset
UPDATE docs SET label = CASE label WHEN 'sport' THEN 'cooking' WHEN 'cooking' THEN 'sport' ELSE label END;
UPDATE docs SET label = CASE label WHEN 'sport' THEN 'cooking' WHEN 'cooking' THEN 'sport' ELSE label END;
-- and one label more, so that a full training has something new to learn
UPDATE docs SET label = 'cooking' WHERE id = 9;
SELECT cmp_ok((SELECT count(*) FROM hitl.label_log WHERE model = 'inc' AND id > :before_swaps),
			  '>', (SELECT count(*) FROM docs WHERE label IS NOT NULL),
			  'two label swaps: more changes than labeled rows');
SELECT * FROM fallback('more changes than labeled rows');
-- a logistic model trains from scratch, incremental or not
SELECT hitl.create_model('lr', 'docs', 'label', '{body}', prediction_column => 'lr_p',
						 confidence_column => 'lr_c', uncertainty_column => 'lr_u',
						 options => '{"cv_folds": 0}') \gset
UPDATE docs SET label = 'sport' WHERE id = 52;
SELECT hitl.train('lr', true) AS lr_version \gset
SELECT is((SELECT metrics->>'incremental' FROM hitl.model_versions WHERE model = 'lr' AND version = :lr_version),
		  'false', 'logistic: train(incremental) trains from scratch');

-- ------------------------------------------------------------------------
-- Texts without terms: naive Bayes gives the priors, logistic the intercepts
-- ------------------------------------------------------------------------

CREATE TABLE blank (id int PRIMARY KEY, body varchar(200), label text);
INSERT INTO blank SELECT g, (ARRAY['red apple', 'green apple', 'blue sky', 'grey sky', 'red sky'])[1 + g % 5],
	CASE WHEN g <= 24 THEN (ARRAY['fruit', 'fruit', 'weather', 'weather', 'weather'])[1 + g % 5] END
FROM generate_series(1, 30) g;
INSERT INTO blank VALUES (101, NULL, NULL), (102, '', NULL), (103, '  ?! ... ', NULL),
	(104, 'the of and', NULL), (105, 'The', 'fruit');
SELECT hitl.create_model('bl_nb', 'blank', 'label', '{body}', algorithm => 'naive_bayes',
						 prediction_column => 'nb_p', confidence_column => 'nb_c',
						 uncertainty_column => 'nb_u', options => '{"text_config": "english"}') \gset
SELECT hitl.create_model('bl_lr', 'blank', 'label', '{body}', prediction_column => 'lr_p',
						 confidence_column => 'lr_c', uncertainty_column => 'lr_u',
						 options => '{"text_config": "english"}') \gset
SELECT is((SELECT class_counts FROM hitl.model_versions WHERE model = 'bl_nb'), ARRAY[10, 15]::float8[],
		  'blank: 10 fruit rows (one without terms) and 15 weather rows');
-- (calibrated with the version's temperature t: priors to the power 1/t,
-- the intercept divided by t)
SELECT is((SELECT max(abs((hitl.predict_proba('bl_nb', b) ->> v.classes[c])::float8
						  - v.class_counts[c] ^ (1 / t.t)
							/ (v.class_counts[1] ^ (1 / t.t) + v.class_counts[2] ^ (1 / t.t))))
		   FROM blank b, hitl.model_versions v, generate_series(1, 2) c,
				LATERAL (SELECT coalesce((v.metrics->'calibration'->>'temperature')::float8, 1) AS t) t
		   WHERE b.id IN (101, 102, 103, 104, 105) AND v.model = 'bl_nb') <= 1e-12, true,
		  'naive Bayes: a NULL, empty, punctuation or stop-words text gets the class priors (1e-12)');
SELECT is((SELECT max(abs((hitl.predict_proba('bl_lr', b) ->> 'weather')::float8
						  - 1 / (1 + exp(-v.coefficients[cardinality(v.coefficients)] / t.t))))
		   FROM blank b, hitl.model_versions v,
				LATERAL (SELECT coalesce((v.metrics->'calibration'->>'temperature')::float8, 1) AS t) t
		   WHERE b.id IN (101, 102, 103, 104, 105) AND v.model = 'bl_lr') <= 1e-12, true,
		  'logistic (two classes): the same rows get the sigmoid of the intercept (1e-12)');
SELECT is((SELECT count(*) FROM blank WHERE nb_p IS NULL OR lr_p IS NULL OR nb_c IS NULL OR lr_u IS NULL),
		  0::bigint, 'hitl.score wrote a prediction, confidence and uncertainty into every row');
SELECT is((SELECT count(*) FROM blank b
		   WHERE nb_p IS DISTINCT FROM hitl.predict('bl_nb', b) OR lr_p IS DISTINCT FROM hitl.predict('bl_lr', b)),
		  0::bigint, 'the stored predictions are those of hitl.predict');
SELECT is((SELECT count(*) FROM bl_nb_review_queue), (SELECT count(*) FROM blank WHERE label IS NULL),
		  'the review view of a text model lists every unlabeled row');
SELECT is((SELECT bool_and(nb_u >= coalesce(next_u, 0)) FROM (
			   SELECT nb_u, lead(nb_u) OVER (ORDER BY rank) AS next_u FROM bl_nb_review_queue) q), true,
		  'most uncertain first');
SELECT is((SELECT array_agg(id ORDER BY id) FROM bl_nb_review_queue WHERE rank <= 4),
		  ARRAY[101, 102, 103, 104], 'the rows without terms (priors 10:15) are the most uncertain');

-- ------------------------------------------------------------------------
-- Text beside numeric columns, for both algorithms
-- ------------------------------------------------------------------------

CREATE TABLE mixed (id int PRIMARY KEY, title text, summary varchar, pages float8, hardcover boolean,
					emb float8[], genre text);
INSERT INTO mixed
SELECT g, (ARRAY['dragon quest', 'murder mystery', 'space voyage'])[1 + g % 3],
	   (ARRAY['a sword and a castle', 'a detective and a body', 'a ship and a planet'])[1 + (g + g / 7) % 3],
	   (g % 3) * 0.5 + (g % 2) * 0.1, g % 4 = 0, ARRAY[(g % 3) * 0.2, 0.1 * (g % 2)]::float8[],
	   CASE WHEN g <= 40 THEN (ARRAY['fantasy', 'crime', 'scifi'])[1 + g % 3] END
FROM generate_series(1, 50) g;
SELECT hitl.create_model('mx_lr', 'mixed', 'genre', '{title,pages,summary,hardcover,emb}',
						 prediction_column => 'lr_p', confidence_column => 'lr_c', uncertainty_column => 'lr_u') \gset
SELECT hitl.create_model('mx_nb', 'mixed', 'genre', '{title,pages,summary,hardcover,emb}',
						 algorithm => 'naive_bayes', prediction_column => 'nb_p',
						 confidence_column => 'nb_c', uncertainty_column => 'nb_u') \gset
SELECT results_eq($$SELECT model, (metrics->>'n_dense_features')::int, feature_names FROM hitl.model_versions
					WHERE model LIKE 'mx%' ORDER BY model$$,
				  $$VALUES ('mx_lr', 4, ARRAY['pages', 'hardcover', 'emb[1]', 'emb[2]']),
						   ('mx_nb', 4, ARRAY['pages', 'hardcover', 'emb[1]', 'emb[2]'])$$,
				  'mixed: four dense features beside the text, for both');
SELECT is((SELECT count(*) FROM mixed m WHERE lr_p IS DISTINCT FROM hitl.predict('mx_lr', m)
		   OR nb_p IS DISTINCT FROM hitl.predict('mx_nb', m)), 0::bigint,
		  'mixed: stored predictions are those of hitl.predict');
SELECT cmp_ok((SELECT count(*) FROM mixed WHERE genre = nb_p AND genre = lr_p), '>=', 36::bigint,
			  'mixed: both fit the labels');
-- naive Bayes reads dense values raw, a NULL as 0; logistic standardizes and imputes the mean
SELECT is((SELECT hitl.predict_proba('mx_nb', jsonb_populate_record(m, '{"pages": null, "emb": [null, 2]}'))
				  = hitl.predict_proba('mx_nb', jsonb_populate_record(m, '{"pages": 0, "emb": [0, 2]}'))
		   FROM mixed m WHERE id = 45), true,
		  'naive Bayes: a NULL numeric feature counts as 0');
SELECT is((SELECT max(abs(p.value::float8 - q.value::float8))
		   FROM mixed m, hitl.model_versions v,
				jsonb_each_text(hitl.predict_proba('mx_lr', jsonb_populate_record(m, '{"pages": null}'))) p
				JOIN jsonb_each_text(hitl.predict_proba('mx_lr', jsonb_populate_record(m,
					jsonb_build_object('pages', v.feature_means[1])))) q USING (key)
		   WHERE m.id = 45 AND v.model = 'mx_lr') <= 1e-12, true,
		  'logistic: a NULL numeric feature counts as its mean');
SELECT is((SELECT hitl.predict_proba('mx_nb', jsonb_populate_record(m, '{"pages": 5}'))
				  <> hitl.predict_proba('mx_nb', m)
		   FROM mixed m WHERE id = 45), true, 'naive Bayes: the numeric features count');
UPDATE mixed SET emb = ARRAY[-1, 2] WHERE id = 46;
SELECT throws_ok($$SELECT hitl.score('mx_nb')$$, '22023',
				 'feature column "emb" is negative in row {"id": 46}',
				 'naive Bayes: a negative array element found when scoring: 22023');
SELECT lives_ok($$SELECT hitl.score('mx_lr')$$, 'logistic scores it');
UPDATE mixed SET emb = ARRAY[1, 2] WHERE id = 46;

-- ------------------------------------------------------------------------
-- Long texts: only max_text_bytes of a value are read
-- ------------------------------------------------------------------------

CREATE TABLE long (id int PRIMARY KEY, body text, label text);
INSERT INTO long SELECT g, CASE WHEN g % 2 = 0 THEN 'goal match team' ELSE 'kernel server cpu' END,
	CASE WHEN g % 2 = 0 THEN 'sport' ELSE 'computing' END
FROM generate_series(1, 12) g;
-- 5.6 MB: 2,200 bytes of sport, then computing
INSERT INTO long VALUES (100, repeat('goal match ', 200) || repeat('kernel server ', 400000), NULL);
SELECT hitl.create_model('long_cut', 'long', 'label', '{body}', algorithm => 'naive_bayes',
						 prediction_column => 'cut_p', confidence_column => 'cut_c', uncertainty_column => 'cut_u',
						 options => '{"max_text_bytes": 1024, "cv_folds": 0}') \gset
SELECT hitl.create_model('long_all', 'long', 'label', '{body}', algorithm => 'naive_bayes',
						 prediction_column => 'all_p', confidence_column => 'all_c', uncertainty_column => 'all_u',
						 options => '{"cv_folds": 0}') \gset
SELECT is((SELECT octet_length(body) FROM long WHERE id = 100), 5602200, 'a 5.6 MB text');
SELECT is((SELECT array[cut_p, all_p] FROM long WHERE id = 100), ARRAY['sport', 'computing'],
		  'scored: from its first 1024 bytes sport, from its first MB computing');
SELECT is((SELECT hitl.predict_proba('long_cut', l)
		   = hitl.predict_proba('long_cut', jsonb_populate_record(l, jsonb_build_object('body', left(l.body, 1024))))
		   FROM long l WHERE id = 100), true,
		  'max_text_bytes 1024: the prediction of its first 1024 bytes');
SELECT is((SELECT hitl.predict_proba('long_all', l)
		   = hitl.predict_proba('long_all', jsonb_populate_record(l, jsonb_build_object('body', left(l.body, 1048576))))
		   FROM long l WHERE id = 100), true,
		  'by default: the prediction of its first 1048576 bytes');
-- cut inside a multi-byte character: the character is dropped, no error
CREATE TABLE cut (id int PRIMARY KEY, body text, label text);
INSERT INTO cut VALUES
	-- what the long rows below must be cut to, and words one character off
	-- (longer words would be cut as well)
	(1, repeat('語', 341), 'x'), (2, 'a' || repeat('é', 511), 'x'), (3, repeat('é', 512), 'x'),
	(4, 'ab' || repeat('𠀀', 255), 'x'),
	(11, repeat('語', 340), 'y'), (12, 'a' || repeat('é', 510), 'y'), (13, repeat('é', 511), 'y'),
	(14, 'ab' || repeat('𠀀', 254), 'y'),
	-- 3000 bytes cut at 1024 inside a 3-byte character; 1201 bytes cut inside a
	-- 2-byte one; 1200 bytes cut at a boundary; 1202 bytes cut inside a 4-byte one
	(21, repeat('語', 1000), NULL), (22, 'a' || repeat('é', 600), NULL), (23, repeat('é', 600), NULL),
	(24, 'ab' || repeat('𠀀', 300), NULL);
SELECT lives_ok($$SELECT hitl.create_model('cut', 'cut', 'label', '{body}', algorithm => 'naive_bayes',
											 options => '{"max_text_bytes": 1024, "min_labels": 2, "cv_folds": 0}')$$,
				'texts cut inside multi-byte characters train');
SELECT lives_ok($$SELECT hitl.score('cut')$$, 'and score');
SELECT is((SELECT array_agg(label_prediction ORDER BY id) FROM cut WHERE id > 20), ARRAY['x', 'x', 'x', 'x'],
		  'each long row is read as its longest prefix of whole characters within 1024 bytes');
SELECT is((SELECT count(*) FROM cut l JOIN cut p ON p.id = l.id - 20
		   WHERE hitl.predict_proba('cut', l) = hitl.predict_proba('cut', p)), 4::bigint,
		  'with exactly the probabilities of that prefix');

-- ------------------------------------------------------------------------
-- Incremental updates that once went wrong
-- ------------------------------------------------------------------------

-- (1) A cleared label: the incremental vocabulary drops the buckets of a
-- row no labeled row has any more, as a full training does.
SELECT hitl.train('inc') \gset
SELECT hitl.train('full') \gset
UPDATE docs SET label = 'cooking' WHERE id = 51;
SELECT * FROM step('the only row with some words labeled', 1);
UPDATE docs SET label = NULL WHERE id = 51;
SELECT * FROM step('the only row with some words cleared', 1);

-- (2) A labeled row inserted: the table's row count moved, so the idf
-- changes, and only a training from scratch gives what a full training gives
SELECT hitl.train('inc') \gset
SELECT hitl.train('full') \gset
INSERT INTO docs (id, body, label) VALUES (200, 'goal match team week', 'sport');
SELECT * FROM fallback('a labeled row inserted');

-- (3) A training in the transaction that changed labels: no snapshot can
-- tell the changes it includes from those the transaction may still make,
-- so its version has no label_snapshot and the next update trains from
-- scratch (never applying a change twice, nor missing one).
SELECT hitl.train('inc') \gset
SELECT hitl.train('full') \gset
BEGIN;
UPDATE docs SET label = 'sport' WHERE id = 20;
SELECT hitl.train('inc') AS in_transaction \gset
COMMIT;
SELECT hitl.train('full') \gset
SELECT * FROM same_as_full('a full training in the transaction of a label change');
SELECT is((SELECT label_snapshot IS NULL FROM hitl.model_versions
		   WHERE model = 'inc' AND version = :in_transaction), true,
		  'a training in the transaction of a label change records no label snapshot');
SELECT hitl.train('inc', true) AS after_commit \gset
SELECT is((SELECT metrics->>'incremental' FROM hitl.model_versions
		   WHERE model = 'inc' AND version = :after_commit), 'false',
		  'after that transaction commits, the next update trains from scratch');
SELECT * FROM same_as_full('the incremental update after that commit');

-- (3b) A label changed after a training in the same transaction: that
-- training's snapshot lists the transaction as running, so the change is
-- applied by the next update (not lost)
SELECT hitl.train('inc') \gset
SELECT hitl.train('full') \gset
BEGIN;
SELECT hitl.train('inc') AS before_change \gset
UPDATE docs SET label = 'computing' WHERE id = 21;
COMMIT;
SELECT * FROM step('a label changed after a training in its transaction', 1);

-- (4) Naive Bayes on numeric columns only (no text terms at all)
CREATE TABLE counts (id int PRIMARY KEY, a int, b float8, c boolean, label text);
INSERT INTO counts SELECT g, g % 5, (g % 3) * 1.5, g % 2 = 0, CASE WHEN g <= 30 THEN (ARRAY['x', 'y'])[1 + (g % 5) / 3] END
FROM generate_series(1, 40) g;
SELECT lives_ok($$SELECT hitl.create_model('cinc', 'counts', 'label', '{a,b,c}', algorithm => 'naive_bayes',
											  prediction_column => 'ci_p', confidence_column => 'ci_c',
											  uncertainty_column => 'ci_u', options => '{"cv_folds": 0}')$$,
				'numeric naive Bayes: create_model trains');
SELECT hitl.create_model('cfull', 'counts', 'label', '{a,b,c}', algorithm => 'naive_bayes',
						 prediction_column => 'cf_p', confidence_column => 'cf_c',
						 uncertainty_column => 'cf_u', options => '{"cv_folds": 0}') \gset
UPDATE counts SET label = 'x' WHERE id IN (33, 34);
UPDATE counts SET label = NULL WHERE id = 1;
UPDATE counts SET label = 'y' WHERE id = 2;
SELECT hitl.train('cinc', true) AS cinc_version \gset
SELECT is((SELECT metrics->>'incremental' FROM hitl.model_versions
		   WHERE model = 'cinc' AND version = :cinc_version), 'true',
		  'numeric naive Bayes: applied incrementally');
SELECT hitl.train('cfull') \gset
SELECT results_eq(
	$$SELECT class_counts, count_index, vocabulary, counts::numeric(30, 9)[] FROM hitl.model_versions v
	  JOIN hitl.models m ON m.name = v.model AND m.current_version = v.version WHERE m.name = 'cinc'$$,
	$$SELECT class_counts, count_index, vocabulary, counts::numeric(30, 9)[] FROM hitl.model_versions v
	  JOIN hitl.models m ON m.name = v.model AND m.current_version = v.version WHERE m.name = 'cfull'$$,
	'numeric naive Bayes: the statistics of a full training');
SELECT is((SELECT count(*) FROM counts t
		   WHERE (SELECT max(abs(p.value::float8 - q.value::float8))
				  FROM jsonb_each_text(hitl.predict_proba('cinc', t)) p
				  JOIN jsonb_each_text(hitl.predict_proba('cfull', t)) q USING (key)) > 1e-9), 0::bigint,
		  'numeric naive Bayes: the predictions of a full training');

-- A version whose label snapshot lies in the future came from another
-- cluster (a dump restored): its transaction ids mean nothing, so the
-- update trains from scratch
UPDATE hitl.model_versions SET label_snapshot = '900000000:900000000:'
WHERE model = 'cinc' AND version = (SELECT current_version FROM hitl.models WHERE name = 'cinc');
UPDATE counts SET label = 'x' WHERE id = 3;
SELECT hitl.train('cinc', true) AS cinc_version \gset
SELECT is((SELECT metrics->>'incremental' FROM hitl.model_versions
		   WHERE model = 'cinc' AND version = :cinc_version), 'false',
		  'a label snapshot from the future: trained from scratch');
SELECT cmp_ok((SELECT pg_snapshot_xmax(label_snapshot)::text::bigint FROM hitl.model_versions
			   WHERE model = 'cinc' AND version = :cinc_version), '<', 900000000::bigint,
			  'and the new version has a snapshot of this cluster');

-- Labels changed without a log entry (triggers off, as on a logical
-- replica): the labels per class no longer add up, so the update trains
-- from scratch and counts them
SET session_replication_role = replica;
UPDATE counts SET label = 'y' WHERE id = 4;
RESET session_replication_role;
SELECT hitl.train('cinc', true) AS cinc_version \gset
SELECT is((SELECT metrics->>'incremental' FROM hitl.model_versions
		   WHERE model = 'cinc' AND version = :cinc_version), 'false',
		  'a label changed without a log entry: trained from scratch');
SELECT is((SELECT class_counts FROM hitl.model_versions WHERE model = 'cinc' AND version = :cinc_version),
		  (SELECT array_agg(n ORDER BY label) FROM (SELECT label, count(*)::float8 AS n FROM counts
												   WHERE label IS NOT NULL GROUP BY 1) c),
		  'and its class counts are the table''s');

-- A version row made up by hand is refused, not indexed with
UPDATE hitl.model_versions SET count_index[1] = 1000000000
WHERE model = 'cinc' AND version = :cinc_version;
SELECT throws_ok($$SELECT hitl.predict('cinc', t) FROM counts t LIMIT 1$$, 'XX001',
				 format('version %s of model "cinc" has invalid naive Bayes sums', :cinc_version),
				 'a version with sums out of range: an error, not a crash');
SELECT hitl.train('cinc') \gset

-- The algorithm cannot change, and option changes are checked
SELECT throws_ok($$UPDATE hitl.models SET algorithm = 'logistic' WHERE name = 'cinc'$$,
				 '0A000', 'the algorithm of model "cinc" cannot change',
				 'the algorithm of a model cannot change');
SELECT throws_ok($$UPDATE hitl.models SET options = options || '{"alpha": -1}' WHERE name = 'cinc'$$,
				 '22023', 'invalid value -1 for option "alpha"',
				 'an option changed out of its range is refused');
SELECT throws_ok($$UPDATE hitl.models SET options = options || '{"max_text_bytes": 2048}' WHERE name = 'inc'$$,
				 '0A000', 'the text options of model "inc" cannot change',
				 'max_text_bytes cannot change either');

-- The text options define the feature space: they cannot change; others can
SELECT throws_ok($$UPDATE hitl.models SET options = options || '{"buckets": 1024}' WHERE name = 'inc'$$,
				 '0A000', 'the text options of model "inc" cannot change',
				 'buckets of a trained text model cannot change');
SELECT throws_ok($$UPDATE hitl.models SET options = options || '{"text_config": "english"}' WHERE name = 'inc'$$,
				 '0A000', 'the text options of model "inc" cannot change',
				 'nor can its text search configuration');
SELECT lives_ok($$UPDATE hitl.models SET options = options || '{"alpha": 0.5}' WHERE name = 'inc'$$,
				'alpha can change (the next training uses it)');

SELECT * FROM finish();
