-- The term cache of text models (src/termcache.h): create_model adds and
-- fills the column and trigger, and after every kind of write (INSERT,
-- UPDATE of the text, UPDATE of other columns, DELETE, TRUNCATE, COPY,
-- rollback) each row's cached counts are those of its text; a value that
-- no longer matches (trigger disabled, value copied from another row, text
-- search configuration altered) is parsed again, never read; scoring from
-- the cache gives the very probabilities of the uncached path
-- (hitl.predict_proba parses the row); training reads it; drop_model
-- removes what create_model added.

BEGIN;
SELECT plan(64);

CREATE EXTENSION hitl;

CREATE TEXT SEARCH CONFIGURATION public.tc_config (COPY = pg_catalog.simple);

CREATE TABLE docs (id int PRIMARY KEY, body text, title varchar, n int, label text);
INSERT INTO docs
SELECT g, CASE WHEN g % 2 = 0 THEN 'dogs barking loudly at the postman ' ELSE 'cats purring softly on the mats ' END
		  || 'item ' || g % 17 || CASE WHEN g % 5 = 0 THEN ' running runs ran' ELSE '' END,
	   CASE WHEN g % 7 <> 0 THEN 'title ' || g % 3 END, g,
	   CASE WHEN g % 3 = 0 THEN CASE WHEN g % 2 = 0 THEN 'dog' ELSE 'cat' END END
FROM generate_series(1, 120) g;

-- rows whose cached value is not what the trigger computes from their text now
CREATE FUNCTION pg_temp.stale_rows(model text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	col name := 'hitl_terms_' || model;
	n bigint;
BEGIN
	EXECUTE format('CREATE TEMP TABLE snap AS SELECT id, %I AS v FROM docs', col);
	EXECUTE format('UPDATE docs SET %I = NULL', col);
	EXECUTE format('SELECT count(*) FROM docs d JOIN snap s USING (id) WHERE d.%I IS DISTINCT FROM s.v', col)
		INTO n;
	DROP TABLE snap;
	RETURN n;
END
$$;

-- rows whose scores (written by hitl.score, tolerance 0) differ from the
-- uncached path's, bit for bit
CREATE FUNCTION pg_temp.differing_scores(model text) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
	RETURN (SELECT count(*) FROM docs d
	WHERE d.label_confidence IS DISTINCT FROM
		  (SELECT max(p.value::float8) FROM jsonb_each_text(hitl.predict_proba(model, d)) p)
	   OR d.label_prediction IS DISTINCT FROM hitl.predict(model, d));
END
$$;

-- ------------------------------------------------------------------------
-- create_model adds and fills the cache
-- ------------------------------------------------------------------------

SELECT is(hitl.create_model('nb', 'docs', 'label', '{body,title,n}', algorithm => 'naive_bayes',
							options => '{"text_config": "public.tc_config", "score_tolerance": 0, "cv_folds": 0, "min_labels": 2}'),
		  1, 'a naive Bayes model on two text columns and a number');
SELECT col_type_is('docs', 'hitl_terms_nb', 'bytea', 'the model added its cache column');
SELECT has_trigger('docs', 'hitl_terms_nb', 'and its cache trigger');
SELECT is((SELECT count(*) FROM docs WHERE hitl_terms_nb IS NULL), 0::bigint,
		  'the rows already there were filled');
SELECT is(pg_temp.stale_rows('nb'), 0::bigint, 'each is the counts of its text');
SELECT is((SELECT cached FROM hitl._term_cache_last()), 120::bigint,
		  'the first training read every row''s counts from the cache');
SELECT is((SELECT parsed FROM hitl._term_cache_last()), 0::bigint, 'and parsed none');

SELECT is(hitl.score('nb'), 0::bigint, 'scoring again writes nothing');
SELECT is((SELECT (cached, parsed) FROM hitl._term_cache_last()), (120::bigint, 0::bigint),
		  'scoring read 120 rows from the cache and parsed none');
SELECT is(pg_temp.differing_scores('nb'), 0::bigint,
		  'scores from the cache are bit-identical to the uncached path''s');

-- ------------------------------------------------------------------------
-- every kind of write keeps it right
-- ------------------------------------------------------------------------

INSERT INTO docs (id, body, title, n) VALUES (1001, 'a dog barking', 'new', 1), (1002, NULL, NULL, 2);
SELECT is(pg_temp.stale_rows('nb'), 0::bigint, 'INSERT: the new rows have their counts');
SELECT isnt((SELECT hitl_terms_nb FROM docs WHERE id = 1002), NULL, 'a row without text has a value too');

UPDATE docs SET body = 'cats cats cats purring' WHERE id IN (2, 4, 6);
SELECT is(pg_temp.stale_rows('nb'), 0::bigint, 'UPDATE of the text: new counts');
UPDATE docs SET title = NULL WHERE id = 1;
SELECT is(pg_temp.stale_rows('nb'), 0::bigint, 'UPDATE of a text to NULL: new counts');

CREATE TEMP TABLE before_other AS SELECT id, hitl_terms_nb FROM docs;
UPDATE docs SET n = n + 1 WHERE id <= 60;
SELECT is((SELECT count(*) FROM docs d JOIN before_other b USING (id)
		   WHERE d.hitl_terms_nb IS DISTINCT FROM b.hitl_terms_nb), 0::bigint,
		  'UPDATE of other columns: the values are kept as they were');
SELECT is(pg_temp.stale_rows('nb'), 0::bigint, 'and still match their text');

UPDATE docs d SET hitl_terms_nb = o.hitl_terms_nb FROM docs o WHERE d.id = 1 AND o.id = 2;
SELECT is(pg_temp.stale_rows('nb'), 0::bigint,
		  'a value written into the column is replaced by the trigger');

DELETE FROM docs WHERE id IN (3, 5, 1002);
SELECT is(pg_temp.stale_rows('nb'), 0::bigint, 'DELETE');

SAVEPOINT sp;
UPDATE docs SET body = 'rolled back' WHERE id = 7;
ROLLBACK TO SAVEPOINT sp;
SELECT is((SELECT body FROM docs WHERE id = 7), 'cats purring softly on the mats item 7', 'rollback: the text is back');
SELECT is(pg_temp.stale_rows('nb'), 0::bigint, 'and so is its value');

SELECT is(hitl.score('nb') > 0, true, 'scoring after the writes writes the rows that changed');
SELECT is((SELECT (cached, parsed) FROM hitl._term_cache_last()), (119::bigint, 0::bigint),
		  'reading every row from the cache');
SELECT is(pg_temp.differing_scores('nb'), 0::bigint, 'bit-identical to the uncached path');

-- ------------------------------------------------------------------------
-- values that do not match are parsed, never read
-- ------------------------------------------------------------------------

ALTER TABLE docs DISABLE TRIGGER hitl_terms_nb;
UPDATE docs SET body = 'dogs dogs barking postman' WHERE id IN (7, 9, 11);
UPDATE docs d SET hitl_terms_nb = o.hitl_terms_nb FROM docs o WHERE d.id = 13 AND o.id = 14;
UPDATE docs SET hitl_terms_nb = '\x00010203'::bytea WHERE id = 15;
UPDATE docs SET hitl_terms_nb = NULL WHERE id = 17;
ALTER TABLE docs ENABLE TRIGGER hitl_terms_nb;
SELECT is(pg_temp.differing_scores('nb') > 0, true, 'texts changed behind the trigger''s back move scores');
SELECT is(hitl.score('nb') > 0, true, 'the next scoring writes them');
SELECT is((SELECT (cached, parsed) FROM hitl._term_cache_last()), (113::bigint, 6::bigint),
		  'edited texts, a copied value, a damaged one and a missing one are parsed');
SELECT is(pg_temp.differing_scores('nb'), 0::bigint, 'so every score is the uncached path''s');
SELECT is(hitl.refresh_term_cache('nb'), 1::bigint, 'refresh_term_cache fills the missing value');
SELECT is(hitl.refresh_term_cache('nb', true), 119::bigint, 'and with all_rows every value');
SELECT is(hitl.score('nb'), 0::bigint, 'then scoring writes nothing');
SELECT is((SELECT (cached, parsed) FROM hitl._term_cache_last()), (119::bigint, 0::bigint),
		  'and reads every row from the cache');

-- values whose header is right (the row's own fingerprint and text hash)
-- and whose entries are damaged, as a role that may write the column can
-- make them: parsed, never read
ALTER TABLE docs DISABLE TRIGGER hitl_terms_nb;
CREATE TEMP TABLE forged AS
SELECT id, hitl_terms_nb AS v, substr(hitl_terms_nb, 1, 24) AS h FROM docs WHERE id BETWEEN 31 AND 38;
UPDATE docs d SET label_prediction = NULL, label_confidence = NULL,
	hitl_terms_nb = CASE d.id
		-- the last entry cut short; a byte after the entries
		WHEN 31 THEN substr(f.v, 1, length(f.v) - 1)
		WHEN 32 THEN f.v || '\x00'::bytea
		-- more entries than the value has bytes for; a negative number of them
		WHEN 33 THEN overlay(f.v PLACING '\xffffff7f'::bytea FROM 5 FOR 4)
		WHEN 34 THEN overlay(f.v PLACING '\xffffffff'::bytea FROM 5 FOR 4)
		-- one entry: a bucket past the model's; a number past 32 bits; a zero count
		WHEN 35 THEN overlay(f.h PLACING '\x01000000'::bytea FROM 5 FOR 4) || '\xffffffff0f02'::bytea
		WHEN 36 THEN overlay(f.h PLACING '\x01000000'::bytea FROM 5 FOR 4) || '\x80808080800102'::bytea
		WHEN 37 THEN overlay(f.h PLACING '\x01000000'::bytea FROM 5 FOR 4) || '\x0500'::bytea
		-- two entries of the same bucket
		WHEN 38 THEN overlay(f.h PLACING '\x02000000'::bytea FROM 5 FOR 4) || '\x05020002'::bytea
	END
FROM forged f WHERE f.id = d.id;
ALTER TABLE docs ENABLE TRIGGER hitl_terms_nb;
SELECT is(hitl.score('nb'), 8::bigint, 'the rows whose values have damaged entries are scored');
SELECT is((SELECT (cached, parsed) FROM hitl._term_cache_last()), (111::bigint, 8::bigint),
		  'each damaged value is parsed, never read');
SELECT is(pg_temp.differing_scores('nb'), 0::bigint, 'so their scores are the uncached path''s');
UPDATE docs SET hitl_terms_nb = NULL WHERE id BETWEEN 31 AND 38;
SELECT is(pg_temp.stale_rows('nb'), 0::bigint, 'an update of their column makes their values again');

-- a value with the row's own header claiming 2^27 entries, more than the
-- model has buckets (each entry has one of its own), followed by 2^28
-- bytes of entries that compress to 3 MB: refused before room is made for
-- that many terms (which is more than a bag may hold)
ALTER TABLE docs DISABLE TRIGGER hitl_terms_nb;
UPDATE docs SET label_prediction = NULL, label_confidence = NULL,
	hitl_terms_nb = overlay(substr(hitl_terms_nb, 1, 24) PLACING '\x00000008'::bytea FROM 5 FOR 4)
		|| convert_to(repeat(chr(1), 268435456), 'UTF8')
WHERE id = 39;
ALTER TABLE docs ENABLE TRIGGER hitl_terms_nb;
SELECT is(hitl.score('nb'), 1::bigint, 'a row whose value claims more entries than buckets is scored');
SELECT is((SELECT (cached, parsed) FROM hitl._term_cache_last()), (118::bigint, 1::bigint),
		  'its value is parsed, never read');
SELECT is(pg_temp.differing_scores('nb'), 0::bigint, 'so its score is the uncached path''s');
UPDATE docs SET hitl_terms_nb = NULL WHERE id = 39;

-- the text search configuration changes: every value is refused
ALTER TEXT SEARCH CONFIGURATION public.tc_config ALTER MAPPING FOR asciiword WITH english_stem;
SELECT is(hitl.score('nb') > 0, true, 'after ALTER TEXT SEARCH CONFIGURATION scores move');
SELECT is((SELECT (cached, parsed) FROM hitl._term_cache_last()), (0::bigint, 119::bigint),
		  'every row was parsed with the new configuration');
SELECT is(pg_temp.differing_scores('nb'), 0::bigint, 'as the uncached path parses it');
SELECT is(hitl.train('nb'), 2, 'a training after the change');
SELECT is((SELECT cached FROM hitl._term_cache_last()), 0::bigint, 'reads no stale value');
SELECT is(hitl.refresh_term_cache('nb', true), 119::bigint, 'refresh_term_cache rebuilds the values');
SELECT is(pg_temp.stale_rows('nb'), 0::bigint, 'with the new configuration');
SELECT lives_ok($$SELECT hitl.score('nb')$$, 'scoring');
SELECT is((SELECT (cached, parsed) FROM hitl._term_cache_last()), (119::bigint, 0::bigint),
		  'reads them again');

-- ------------------------------------------------------------------------
-- TRUNCATE and COPY; training reads the cache
-- ------------------------------------------------------------------------

TRUNCATE docs;
COPY docs (id, body, title, n, label) FROM STDIN;
1	dogs barking loudly	a	1	dog
2	cats purring softly	b	2	cat
3	dogs barking at the postman	\N	3	dog
4	cats on the mats	c	4	cat
5	a dog and a cat	d	5	\N
6	\N	e	6	\N
\.
SELECT is(pg_temp.stale_rows('nb'), 0::bigint, 'TRUNCATE then COPY: the copied rows have their counts');
SELECT is(hitl.train('nb'), 3, 'a training on the copied rows');
SELECT is((SELECT (cached, parsed) FROM hitl._term_cache_last()), (10::bigint, 0::bigint),
		  'reads the idf pass (6 rows) and the labeled rows (4) from the cache');
SELECT lives_ok($$SELECT hitl.score('nb')$$, 'scoring the copied rows');
SELECT is(pg_temp.differing_scores('nb'), 0::bigint, 'bit-identical to the uncached path');

-- ------------------------------------------------------------------------
-- a logistic model on the same table, with bigrams: its own cache
-- ------------------------------------------------------------------------

INSERT INTO docs (id, body, title, n, label)
SELECT g, CASE WHEN g % 2 = 0 THEN 'dogs barking ' ELSE 'cats purring ' END || 'x' || g % 5, 't', g,
	   CASE WHEN g % 2 = 0 THEN 'dog' ELSE 'cat' END
FROM generate_series(10, 40) g;
SELECT is(hitl.create_model('lr', 'docs', 'label', '{body}', prediction_column => 'lp',
							confidence_column => 'lc', uncertainty_column => 'lu',
							options => '{"bigrams": true, "score_tolerance": 0, "cv_folds": 0}'),
		  1, 'a logistic model on the same table');
SELECT is((SELECT count(*) FROM docs WHERE hitl_terms_lr IS NULL), 0::bigint, 'has its own filled column');
SELECT isnt((SELECT hitl_terms_lr FROM docs WHERE id = 1), (SELECT hitl_terms_nb FROM docs WHERE id = 1),
			'of other counts (signed, bigrams)');
SELECT is((SELECT count(*) FROM docs d
		   WHERE d.lc IS DISTINCT FROM
				 (SELECT max(p.value::float8) FROM jsonb_each_text(hitl.predict_proba('lr', d)) p)),
		  0::bigint, 'its scores from the cache are bit-identical to the uncached path''s');

-- a text model without a cache (made by 0.1.0, or by a role not owning the
-- table) gets one from refresh_term_cache
DROP TRIGGER hitl_terms_lr ON docs;
ALTER TABLE docs DROP COLUMN hitl_terms_lr;
CREATE TEMP TABLE refreshed AS SELECT hitl.refresh_term_cache('lr') AS n;
SELECT is((SELECT n FROM refreshed), (SELECT count(*) FROM docs),
		  'refresh_term_cache adds a missing cache and fills every row');
SELECT is(pg_temp.stale_rows('lr'), 0::bigint, 'with the counts of their text');

-- a configuration dropped: writes go on, the rows get no value
SAVEPOINT before_drop;
DROP TEXT SEARCH CONFIGURATION public.tc_config;
SELECT lives_ok($$INSERT INTO docs (id, body, n) VALUES (2001, 'dogs', 1)$$,
				'with the configuration dropped, rows can still be written');
SELECT is((SELECT hitl_terms_nb FROM docs WHERE id = 2001), NULL, 'and get no cached value');
ROLLBACK TO SAVEPOINT before_drop;

-- ------------------------------------------------------------------------
-- drop_model removes the column and the trigger
-- ------------------------------------------------------------------------

SELECT lives_ok($$SELECT hitl.drop_model('nb')$$, 'drop_model(nb)');
SELECT hasnt_column('docs', 'hitl_terms_nb', 'its cache column is gone');
SELECT hasnt_trigger('docs', 'hitl_terms_nb', 'and its trigger');
SELECT has_column('docs', 'hitl_terms_lr', 'the other model''s cache stays');

SELECT * FROM finish();
ROLLBACK;
