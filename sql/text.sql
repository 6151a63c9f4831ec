-- Text feature columns and naive Bayes: the terms a model hashes, the
-- options of text models and their errors, and two models (naive Bayes and
-- logistic) on a small labeled text table.  The naive Bayes model is
-- recomputed here from scratch in SQL, from to_tsvector and a MurmurHash3
-- written in PL/pgSQL, and must agree with what hitl stores and predicts.

-- hitl.text_terms: lexemes in document order (repeats kept), then bigrams
SELECT hitl.text_terms('The quick brown foxes jumped over the lazy dogs');
SELECT hitl.text_terms('The quick brown foxes jumped over the lazy dogs', 'english');
-- bigrams pair consecutive lexemes; stop words removed by the dictionary are skipped
SELECT hitl.text_terms('The quick brown foxes jumped over the lazy dogs', 'english', true);
SELECT hitl.text_terms('the quick brown foxes', bigrams => true);
-- the lexemes are to_tsvector's, in document order
SELECT hitl.text_terms('Matches and teams: the team matched!', 'english') AS terms,
	   to_tsvector('english', 'Matches and teams: the team matched!') AS tsvector;
-- non-letters, numbers, compound words, e-mail addresses and URLs: the parser's tokens
SELECT hitl.text_terms('café crème 42 foo-bar user@example.com http://example.org/x');
-- nothing to hash
SELECT hitl.text_terms('') AS empty, hitl.text_terms('  ,;!? -- ') AS punctuation,
	   hitl.text_terms('the a of', 'english', true) AS stop_words_only,
	   hitl.text_terms(NULL) IS NULL AS null_gives_null;
-- an unknown configuration
SELECT * FROM err($$SELECT hitl.text_terms('x', 'no_such_config')$$);

-- MurmurHash3_x86_32 with seed 0, on the UTF-8 bytes of a term, signed, as
-- scikit-learn's murmurhash3_32; 32-bit arithmetic in bigints.
CREATE FUNCTION mul32(a bigint, b bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
	SELECT ((a * (b & 65535)) + (((a * (b >> 16)) & 65535) << 16)) & 4294967295
$$;
CREATE FUNCTION rotl32(x bigint, r int) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
	SELECT ((x << r) | (x >> (32 - r))) & 4294967295
$$;
CREATE FUNCTION murmur3(term text) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	b bytea := convert_to(term, 'UTF8');
	n int := length(b);
	tail int := length(b) & 3;
	h bigint := 0;
	k bigint;
BEGIN
	FOR i IN 0 .. n / 4 - 1 LOOP
		k := get_byte(b, 4 * i)::bigint | (get_byte(b, 4 * i + 1)::bigint << 8)
			 | (get_byte(b, 4 * i + 2)::bigint << 16) | (get_byte(b, 4 * i + 3)::bigint << 24);
		k := mul32(rotl32(mul32(k, 3432918353), 15), 461845907);
		h := rotl32(h # k, 13);
		h := (mul32(h, 5) + 3864292196) & 4294967295;
	END LOOP;
	k := 0;
	IF tail >= 3 THEN k := k # (get_byte(b, n - tail + 2)::bigint << 16); END IF;
	IF tail >= 2 THEN k := k # (get_byte(b, n - tail + 1)::bigint << 8); END IF;
	IF tail >= 1 THEN
		k := k # get_byte(b, n - tail)::bigint;
		h := h # mul32(rotl32(mul32(k, 3432918353), 15), 461845907);
	END IF;
	h := h # n;
	h := mul32(h # (h >> 16), 2246822507);
	h := mul32(h # (h >> 13), 3266489909);
	h := h # (h >> 16);
	RETURN (CASE WHEN h >= 2147483648 THEN h - 4294967296 ELSE h END)::int;
END
$$;
-- scikit-learn's test values, and the usual one
SELECT murmur3('foo') AS foo, murmur3('The quick brown fox jumps over the lazy dog') AS fox,
	   murmur3('') AS empty;
-- a term's bucket and sign, as scikit-learn's HashingVectorizer
CREATE FUNCTION bucket_of(term text, buckets int) RETURNS int LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN murmur3(term) = -2147483648 THEN (2147483647 - (buckets - 1)) % buckets
				ELSE abs(murmur3(term)) % buckets END
$$;

-- Articles of three topics, each with its own words and words they share;
-- 46 of 60 are labeled.
CREATE TABLE articles (id int PRIMARY KEY, body text, words int, topic text);
INSERT INTO articles
SELECT g,
	   format('%s %s the %s %s %s', w[1 + g % 8], w[1 + (g * 3) % 8], w[1 + (g * 5) % 8],
			  c[1 + g % 8], c[1 + (g * 7) % 8]),
	   5, CASE WHEN g <= 46 THEN topic END
FROM generate_series(1, 60) g,
	 LATERAL (SELECT (ARRAY['sport', 'cooking', 'computing'])[1 + g % 3] AS topic) t,
	 LATERAL (SELECT CASE topic
		WHEN 'sport' THEN ARRAY['goal', 'match', 'team', 'score', 'league', 'coach', 'player', 'stadium']
		WHEN 'cooking' THEN ARRAY['recipe', 'bake', 'flour', 'spicy', 'oven', 'sauce', 'garlic', 'butter']
		ELSE ARRAY['kernel', 'compile', 'server', 'cpu', 'database', 'query', 'network', 'debug'] END) w(w),
	 LATERAL (SELECT ARRAY['a', 'great', 'new', 'today', 'week', 'with', 'and', 'night']) c(c);
SELECT id, body, topic FROM articles WHERE id IN (1, 2, 3, 47) ORDER BY id;

-- Errors of text options, and of naive Bayes
SELECT * FROM err($$SELECT hitl.create_model('tx', 'articles', 'topic', '{body}', options => '{"text_config": "no_such_config"}')$$);
SELECT * FROM err($$SELECT hitl.create_model('tx', 'articles', 'topic', '{body}', options => '{"text_config": 1}')$$);
SELECT * FROM err($$SELECT hitl.create_model('tx', 'articles', 'topic', '{body}', options => '{"bigrams": "yes"}')$$);
SELECT * FROM err($$SELECT hitl.create_model('tx', 'articles', 'topic', '{body}', options => '{"buckets": 1000}')$$);
SELECT * FROM err($$SELECT hitl.create_model('tx', 'articles', 'topic', '{body}', options => '{"buckets": 8}')$$);
SELECT * FROM err($$SELECT hitl.create_model('tx', 'articles', 'topic', '{body}', options => '{"buckets": 33554432}')$$);
SELECT * FROM err($$SELECT hitl.create_model('tx', 'articles', 'topic', '{body}', options => '{"buckets": 64.5}')$$);
SELECT * FROM err($$SELECT hitl.create_model('tx', 'articles', 'topic', '{body}', options => '{"max_text_bytes": 1023}')$$);
SELECT * FROM err($$SELECT hitl.create_model('tx', 'articles', 'topic', '{body}', options => '{"max_text_bytes": 1073741824}')$$);
-- text options on a model without text columns
SELECT * FROM err($$SELECT hitl.create_model('tx', 'articles', 'topic', '{words}', options => '{"bigrams": true}')$$);
SELECT * FROM err($$SELECT hitl.create_model('tx', 'articles', 'topic', '{words}', options => '{"buckets": 1024}')$$);
SELECT * FROM err($$SELECT hitl.create_model('tx', 'articles', 'topic', '{words}', algorithm => 'naive_bayes', options => '{"text_config": "english"}')$$);
-- options of the other algorithm
SELECT * FROM err($$SELECT hitl.create_model('tx', 'articles', 'topic', '{body}', options => '{"alpha": 0.5}')$$);
SELECT * FROM err($$SELECT hitl.create_model('tx', 'articles', 'topic', '{body}', algorithm => 'naive_bayes', options => '{"C": 0.5}')$$);
SELECT * FROM err($$SELECT hitl.create_model('tx', 'articles', 'topic', '{body}', algorithm => 'naive_bayes', options => '{"max_iter": 5}')$$);
SELECT * FROM err($$SELECT hitl.create_model('tx', 'articles', 'topic', '{body}', algorithm => 'naive_bayes', options => '{"alpha": 0}')$$);
SELECT * FROM err($$SELECT hitl.create_model('tx', 'articles', 'topic', '{body}', algorithm => 'bayes')$$);
-- a negative feature in a naive Bayes model, found when training
UPDATE articles SET words = -1 WHERE id = 7;
SELECT * FROM err($$SELECT hitl.create_model('tx', 'articles', 'topic', '{body,words}', algorithm => 'naive_bayes')$$);
UPDATE articles SET words = 5 WHERE id = 7;
-- char(n) is not a text column
ALTER TABLE articles ADD COLUMN code char(4);
SELECT * FROM err($$SELECT hitl.create_model('tx', 'articles', 'topic', '{code}')$$);
ALTER TABLE articles DROP COLUMN code;
-- nothing was created
SELECT count(*) AS models FROM hitl.models WHERE source = 'articles'::regclass;

-- Naive Bayes on the text: the options with their defaults filled in
SELECT hitl.create_model('tx_nb', 'articles', 'topic', '{body}', algorithm => 'naive_bayes',
						 prediction_column => 'nb_topic', confidence_column => 'nb_confidence',
						 uncertainty_column => 'nb_uncertainty');
SELECT algorithm, options FROM hitl.models WHERE name = 'tx_nb';
SELECT version, n_labeled, classes, feature_names, feature_dims, coefficients, n_documents,
	   cardinality(vocabulary) AS vocabulary, class_counts, cardinality(counts) AS counts,
	   label_snapshot IS NOT NULL AS has_snapshot
FROM hitl.model_versions WHERE model = 'tx_nb';
SELECT key, value FROM hitl.model_versions, jsonb_each(metrics)
WHERE model = 'tx_nb' AND key NOT LIKE '%log_loss' ORDER BY key;

-- Recomputed from scratch: terms (to_tsvector, each occurrence), buckets,
-- document frequencies over all 60 rows, tf-idf, L2 norm, then per topic
-- the rows and the sums of each bucket
CREATE TEMP TABLE x AS
WITH occurrences AS (
	SELECT a.id, bucket_of(l.lexeme, 262144) AS bucket, cardinality(l.positions) AS n
	FROM articles a, unnest(to_tsvector('simple', a.body)) l),
counts AS (SELECT id, bucket, sum(n) AS c FROM occurrences GROUP BY id, bucket),
df AS (SELECT bucket, count(*) AS df FROM counts GROUP BY bucket),
w AS (
	SELECT id, bucket, (1 + ln(c)) * (ln((1.0 + (SELECT count(*) FROM articles)) / (1 + df)) + 1) AS w
	FROM counts JOIN df USING (bucket))
SELECT id, bucket, w / sqrt(sum(w * w) OVER (PARTITION BY id)) AS x FROM w;
CREATE TEMP TABLE nb_sums AS
	SELECT a.topic, x.bucket, sum(x.x) AS s FROM x JOIN articles a USING (id)
	WHERE a.topic IS NOT NULL GROUP BY a.topic, x.bucket;
-- the vocabulary is the buckets of the labeled rows; the idf covers every row
SELECT v.vocabulary = (SELECT array_agg(DISTINCT bucket ORDER BY bucket) FROM nb_sums) AS vocabulary,
	   v.idf_buckets = (SELECT array_agg(DISTINCT bucket ORDER BY bucket) FROM x) AS idf_buckets,
	   v.n_documents = (SELECT count(*) FROM articles) AS n_documents,
	   v.class_counts = ARRAY(SELECT count(*)::float8 FROM articles WHERE topic IS NOT NULL
							  GROUP BY topic ORDER BY topic) AS class_counts
FROM hitl.model_versions v WHERE model = 'tx_nb';
SELECT max(abs(i.idf - (ln((1.0 + 60) / (1 + d.df)) + 1))) < 1e-12 AS idf_match, count(*) AS buckets
FROM hitl.model_versions v, unnest(v.idf_buckets, v.idf) i(bucket, idf),
	 LATERAL (SELECT count(DISTINCT id) AS df FROM x WHERE x.bucket = i.bucket) d
WHERE model = 'tx_nb';
-- the stored sums, position-major (position * classes + class), are those sums
SELECT count(*) AS stored, count(*) = max(cardinality(v.counts)) AS all_matched,
	   max(abs(c.count - s.s)) < 1e-12 AS sums_match,
	   count(*) = (SELECT count(*) FROM nb_sums) AS none_missing,
	   bool_and(c.index > coalesce(c.prev, -1)) AS ascending
FROM hitl.model_versions v,
	 LATERAL (SELECT ix AS index, cnt AS count, lag(ix) OVER (ORDER BY o) AS prev,
					 v.vocabulary[ix / 3 + 1] AS bucket, v.classes[ix % 3 + 1] AS topic
			  FROM unnest(v.count_index, v.counts) WITH ORDINALITY u(ix, cnt, o)) c
	 JOIN nb_sums s ON s.topic = c.topic AND s.bucket = c.bucket
WHERE model = 'tx_nb';
-- every row's probabilities: multinomial naive Bayes, alpha 1, over all
-- 262144 buckets, calibrated with the version's temperature T (the joint
-- log-likelihoods divided by T)
CREATE TEMP TABLE expected_nb AS
WITH topics AS (
	SELECT topic, count(*)::float8 AS rows, (SELECT sum(s) FROM nb_sums n WHERE n.topic = a.topic) AS total
	FROM articles a WHERE topic IS NOT NULL GROUP BY topic),
jll AS (
	SELECT a.id, t.topic,
		   ln(t.rows / (SELECT count(topic) FROM articles)) + coalesce((SELECT sum(x.x * ln((coalesce(s.s, 0) + 1) / (t.total + 262144)))
									   FROM x LEFT JOIN nb_sums s ON s.topic = t.topic AND s.bucket = x.bucket
									   WHERE x.id = a.id), 0) AS jll
	FROM articles a, topics t)
SELECT id, topic, e / sum(e) OVER (PARTITION BY id) AS p
FROM (SELECT id, topic,
			 exp((jll - max(jll) OVER (PARTITION BY id))
				 / (SELECT (metrics->'calibration'->>'temperature')::float8
					FROM hitl.model_versions WHERE model = 'tx_nb' AND version = 1)) AS e
	  FROM jll) s;
SELECT count(DISTINCT e.id) AS rows, max(abs((hitl.predict_proba('tx_nb', a) ->> e.topic)::float8 - e.p)) < 1e-12
	   AS probabilities_match
FROM expected_nb e JOIN articles a USING (id);

-- what it predicts, and what it wrote
SELECT a.id, a.body, a.topic, a.nb_topic, round(a.nb_confidence::numeric, 4) AS confidence,
	   round(a.nb_uncertainty::numeric, 4) AS uncertainty
FROM articles a WHERE id IN (1, 2, 3, 47, 48, 49) ORDER BY id;
SELECT count(*) AS rows, count(nb_topic) AS predicted,
	   count(*) FILTER (WHERE nb_topic = (ARRAY['sport', 'cooking', 'computing'])[1 + id % 3]) AS right
FROM articles;

-- Logistic regression on the same text (signed counts, L-BFGS)
SELECT hitl.create_model('tx_lr', 'articles', 'topic', '{body}',
						 prediction_column => 'lr_topic', confidence_column => 'lr_confidence',
						 uncertainty_column => 'lr_uncertainty', options => '{"text_config": "English"}');
SELECT algorithm, options FROM hitl.models WHERE name = 'tx_lr';
SELECT version, n_labeled, classes, n_documents, cardinality(vocabulary) AS vocabulary,
	   cardinality(coefficients) AS coefficients, class_counts, counts,
	   (metrics->>'converged')::boolean AS converged, (metrics->>'incremental')::boolean AS incremental,
	   metrics->>'n_features' AS n_features, metrics->>'train_accuracy' AS train_accuracy,
	   metrics->>'cv_accuracy' AS cv_accuracy
FROM hitl.model_versions WHERE model = 'tx_lr';
-- english stems: the vocabulary is that of the stemmed lexemes
SELECT v.vocabulary = (SELECT array_agg(DISTINCT bucket_of(l.lexeme, 262144) ORDER BY bucket_of(l.lexeme, 262144))
					   FROM articles a, unnest(to_tsvector('english', a.body)) l
					   WHERE a.topic IS NOT NULL) AS english_vocabulary
FROM hitl.model_versions v WHERE model = 'tx_lr';
SELECT a.id, a.topic, a.lr_topic, round(a.lr_confidence::numeric, 2) AS confidence
FROM articles a WHERE id IN (1, 2, 3, 47, 48, 49) ORDER BY id;
SELECT count(*) FILTER (WHERE lr_topic = (ARRAY['sport', 'cooking', 'computing'])[1 + id % 3]) AS right,
	   count(*) FILTER (WHERE lr_topic = nb_topic) AS agree_with_nb
FROM articles;

-- Incremental naive Bayes: two label changes, applied to version 1's
-- statistics, give what a full training gives
UPDATE articles SET topic = 'sport' WHERE id = 48;
UPDATE articles SET topic = NULL WHERE id = 46;
SELECT hitl.train('tx_nb', incremental => true) AS version;
SELECT version, n_labeled, class_counts, metrics
FROM hitl.model_versions WHERE model = 'tx_nb' AND version = 2;
-- nothing new: the current version
SELECT hitl.train('tx_nb', true) AS version;
SELECT hitl.train('tx_nb') AS full_version;
SELECT i.class_counts = f.class_counts AS class_counts, i.vocabulary = f.vocabulary AS vocabulary,
	   i.count_index = f.count_index AS count_index,
	   (SELECT max(abs(a - b)) FROM unnest(i.counts, f.counts) u(a, b)) < 1e-12 AS counts,
	   (f.metrics->>'incremental')::boolean AS full_is_incremental
FROM hitl.model_versions i, hitl.model_versions f
WHERE i.model = 'tx_nb' AND i.version = 2 AND f.model = 'tx_nb' AND f.version = 3;
-- Rows without text: NULL, empty, punctuation, stop words only (for english).
-- Naive Bayes gives the class priors, logistic the softmax of its intercepts.
INSERT INTO articles (id, body, words) VALUES
	(101, NULL, 0), (102, '', 0), (103, ' ... !!! ', 0), (104, 'the and of', 0);
SELECT hitl.score('tx_nb') AS nb_written;
SELECT hitl.score('tx_lr') AS lr_written;
SELECT a.id, a.nb_topic, round(a.nb_confidence::numeric, 6) AS nb_confidence,
	   (SELECT jsonb_object_agg(key, round(value::numeric, 6)) FROM jsonb_each_text(hitl.predict_proba('tx_nb', a))) AS nb_proba,
	   a.lr_topic, round(a.lr_confidence::numeric, 4) AS lr_confidence
FROM articles a WHERE id > 100 ORDER BY id;
-- the priors: 15 rows of computing and of cooking, 16 of sport
SELECT v.classes, v.class_counts FROM hitl.model_versions v JOIN hitl.models m
	ON m.name = v.model AND m.current_version = v.version WHERE v.model = 'tx_nb';
-- the intercepts, last of each class's coefficients (divided by the
-- temperature of the version's calibration)
SELECT max(abs((hitl.predict_proba('tx_lr', a) ->> v.classes[c])::float8
			   - exp(v.coefficients[c * (m + 1)] / t.t)
				 / (SELECT sum(exp(v.coefficients[j * (m + 1)] / t.t)) FROM generate_series(1, 3) j))) < 1e-12
	   AS softmax_of_intercepts
FROM articles a, hitl.model_versions v, generate_series(1, 3) c,
	 LATERAL (SELECT cardinality(v.vocabulary) AS m) mm,
	 LATERAL (SELECT coalesce((v.metrics->'calibration'->>'temperature')::float8, 1) AS t) t
WHERE a.id > 100 AND v.model = 'tx_lr';
-- the stop words row is empty for tx_lr (english) but not for tx_nb (simple)
SELECT hitl.text_terms(body, 'english') AS english, hitl.text_terms(body) AS simple
FROM articles WHERE id = 104;

-- Bigrams and the sign of a term: with 16 buckets, two terms of one bucket
-- add up when their hashes have the same sign and cancel otherwise, so a
-- logistic model's vocabulary (the buckets its labeled rows use) has the
-- bucket only in the first case.  Naive Bayes counts without signs.
CREATE TABLE pairs (id int PRIMARY KEY, body text, label text);
CREATE TEMP TABLE words AS
	SELECT w, bucket_of(w, 16) AS bucket, murmur3(w) >= 0 AS positive
	FROM (SELECT 'w' || g AS w FROM generate_series(1, 40) g) s;
CREATE TEMP TABLE two AS
	SELECT s.same_sign,
		   (SELECT array[a.w, b.w] FROM words a JOIN words b ON a.bucket = b.bucket AND a.w < b.w
			WHERE a.positive <> b.positive AND a.bucket <> bucket_of(s.same_sign[1], 16)
			ORDER BY a.w, b.w LIMIT 1) AS opposite_sign
	FROM (SELECT array[a.w, b.w] AS same_sign
		  FROM words a JOIN words b ON a.bucket = b.bucket AND a.w < b.w
		  WHERE a.positive = b.positive ORDER BY a.w, b.w LIMIT 1) s;
SELECT * FROM two;
-- rows 1, 2: each pair alone; the other rows only hold words of other buckets
INSERT INTO pairs
SELECT 1, array_to_string(same_sign, ' '), 'p' FROM two
UNION ALL SELECT 2, array_to_string(opposite_sign, ' '), 'q' FROM two
UNION ALL
SELECT 2 + g, w.w, (ARRAY['p', 'q'])[1 + g % 2]
FROM (SELECT w, row_number() OVER (ORDER BY w) AS g FROM words
	  WHERE bucket NOT IN (SELECT bucket_of(same_sign[1], 16) FROM two
						   UNION SELECT bucket_of(opposite_sign[1], 16) FROM two)) w
WHERE g <= 10;
SELECT hitl.create_model('pairs_lr', 'pairs', 'label', '{body}', options => '{"buckets": 16, "cv_folds": 0}');
SELECT hitl.create_model('pairs_nb', 'pairs', 'label', '{body}', algorithm => 'naive_bayes',
						 prediction_column => 'nb_label', confidence_column => 'nb_confidence',
						 uncertainty_column => 'nb_uncertainty', options => '{"buckets": 16, "cv_folds": 0}');
SELECT v.model, bucket_of(same_sign[1], 16) = ANY (v.vocabulary) AS same_sign_bucket_used,
	   bucket_of(opposite_sign[1], 16) = ANY (v.vocabulary) AS opposite_sign_bucket_used,
	   v.vocabulary = (SELECT array_agg(DISTINCT bucket_of(t, 16) ORDER BY bucket_of(t, 16))
					   FROM pairs p, unnest(hitl.text_terms(p.body)) t
					   WHERE v.model = 'pairs_nb' OR p.id <> 2) AS vocabulary
FROM two, hitl.model_versions v WHERE v.model LIKE 'pairs%' ORDER BY v.model;
-- bigrams: a model with bigrams has the buckets of the word pairs too
SELECT hitl.create_model('pairs_bi', 'pairs', 'label', '{body}', algorithm => 'naive_bayes',
						 prediction_column => 'bi_label', confidence_column => 'bi_confidence',
						 uncertainty_column => 'bi_uncertainty',
						 options => '{"bigrams": true, "buckets": 16777216, "cv_folds": 0}');
SELECT v.vocabulary = (SELECT array_agg(DISTINCT bucket_of(t, 16777216) ORDER BY bucket_of(t, 16777216))
					   FROM pairs p, unnest(hitl.text_terms(p.body, 'simple', true)) t) AS vocabulary,
	   cardinality(v.vocabulary) AS buckets
FROM hitl.model_versions v WHERE v.model = 'pairs_bi';

-- Naive Bayes with numeric features beside the text: raw values, NULL as 0,
-- and a negative value refused when scoring
SELECT hitl.create_model('tx_mixed', 'articles', 'topic', '{body,words}', algorithm => 'naive_bayes',
						 prediction_column => 'mx_topic', confidence_column => 'mx_confidence',
						 uncertainty_column => 'mx_uncertainty', options => '{"cv_folds": 0}');
SELECT feature_names, feature_dims, cardinality(vocabulary) AS vocabulary,
	   metrics->>'n_dense_features' AS dense, metrics->>'n_features' AS features
FROM hitl.model_versions WHERE model = 'tx_mixed';
UPDATE articles SET words = NULL WHERE id = 50;
SELECT hitl.predict_proba('tx_mixed', a) = hitl.predict_proba('tx_mixed', jsonb_populate_record(a, '{"words": 0}'))
	   AS null_is_zero
FROM articles a WHERE id = 50;
UPDATE articles SET words = -3 WHERE id = 51;
SELECT * FROM err($$SELECT hitl.score('tx_mixed')$$);
SELECT * FROM err($$SELECT hitl.predict('tx_mixed', a) FROM articles a WHERE id = 51$$);
UPDATE articles SET words = 5 WHERE id IN (50, 51);

-- The review view of a text model: unlabeled rows, most uncertain first
SELECT id, body, nb_topic, round(nb_uncertainty::numeric, 4) AS uncertainty, rank
FROM tx_nb_review_queue ORDER BY rank LIMIT 3;

-- logistic models ignore incremental: a full training
SELECT hitl.train('tx_lr', true) AS version;
SELECT (metrics->>'incremental')::boolean AS incremental, (metrics->>'warm_start')::boolean AS warm_start
FROM hitl.model_versions WHERE model = 'tx_lr' AND version = 2;
