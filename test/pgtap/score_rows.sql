-- Scoring writes each row by its ctid and checks its primary key: keys of
-- several kinds (a domain with a CHECK, text with a collation of its own,
-- uuid, two columns) are all found, every row gets its own
-- scores, and the key is compared in its base type: the domain's CHECK
-- never runs while scoring.

BEGIN;
SELECT plan(17);

CREATE EXTENSION hitl;

-- counts the evaluations of the domain's CHECK
CREATE SEQUENCE check_calls;
CREATE FUNCTION counted(v bigint) RETURNS boolean LANGUAGE sql AS
	$$ SELECT v > 0 AND nextval('check_calls') > 0 $$;
CREATE DOMAIN counted_id AS bigint CHECK (counted(VALUE));

-- 600 rows per table: class a when x < 0, b otherwise; a third labeled
CREATE FUNCTION fill(tab text, key_expr text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format($f$
		INSERT INTO %I
		SELECT %s, (CASE WHEN i %% 2 = 0 THEN 1 ELSE -1 END) * (0.5 + (i %% 7) / 3.0), (i * 5) %% 11,
			   CASE WHEN i %% 3 = 0 THEN CASE WHEN i %% 2 = 0 THEN 'b' ELSE 'a' END END
		FROM generate_series(1, 600) i ORDER BY (i * 37) %% 600$f$, tab, key_expr);
END $$;

CREATE TABLE t_domain (id counted_id PRIMARY KEY, x float8, y float8, lab text);
CREATE TABLE t_text (id text COLLATE "C" PRIMARY KEY, x float8, y float8, lab text);
CREATE TABLE t_uuid (id uuid PRIMARY KEY, x float8, y float8, lab text);
CREATE TABLE t_pair (region varchar(10) COLLATE "POSIX", n counted_id, x float8, y float8, lab text,
					 PRIMARY KEY (region, n));
SELECT fill('t_domain', 'i'), fill('t_text', $$'row ' || i$$), fill('t_uuid', 'md5(i::text)::uuid'),
	   fill('t_pair', $$CASE WHEN i % 2 = 0 THEN 'east' ELSE 'west' END, i$$) \gset

-- rows whose stored scores are not those of the model's current version
CREATE FUNCTION wrong_rows(model text, tab text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	EXECUTE format($f$
		SELECT count(*) FROM %1$I t
		WHERE t.lab_prediction IS DISTINCT FROM hitl.predict(%2$L, t)
		   OR abs(t.lab_confidence - (hitl.predict_proba(%2$L, t) ->> hitl.predict(%2$L, t))::float8) > 1e-9
	$f$, tab, model) INTO n;
	RETURN n;
END $$;

-- queue entries whose row is not an unlabeled row with those scores
CREATE FUNCTION wrong_queue(model text, tab text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	EXECUTE format($f$
		SELECT count(*) FROM hitl.queue q
		LEFT JOIN %1$I t ON to_jsonb(t) @> q.row_key
		WHERE q.model = %2$L
		  AND (t IS NULL OR t.lab IS NOT NULL OR q.prediction IS DISTINCT FROM t.lab_prediction
			   OR abs(q.confidence - t.lab_confidence) > 1e-9)
	$f$, tab, model) INTO n;
	RETURN n;
END $$;

-- swap the labels and train: the next scoring rewrites every row
CREATE FUNCTION swap_and_train(model text, tab text) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format($f$UPDATE %I SET lab = CASE lab WHEN 'a' THEN 'b' ELSE 'a' END
					  WHERE lab IS NOT NULL$f$, tab);
	RETURN hitl.train(model);
END $$;

SELECT count(hitl.create_model(tab, tab, 'lab', ARRAY['x', 'y'],
			  options => '{"batch_size": 100, "score_tolerance": 0, "cv_folds": 0, "queue_size": 20}')) AS created
FROM unnest(ARRAY['t_domain', 't_text', 't_uuid', 't_pair']) tab \gset

SELECT is(wrong_rows(tab, tab), 0::bigint, tab || ': create_model scored every row')
FROM unnest(ARRAY['t_domain', 't_text', 't_uuid', 't_pair']) tab;

SELECT count(swap_and_train(tab, tab)) AS trained
FROM unnest(ARRAY['t_domain', 't_text', 't_uuid', 't_pair']) tab \gset
SELECT setval('check_calls', 1, false) \gset

SELECT is(hitl.score(tab), 600::bigint, tab || ': hitl.score finds and writes all 600 rows by ctid and key')
FROM unnest(ARRAY['t_domain', 't_text', 't_uuid', 't_pair']) tab;

SELECT is(wrong_rows(tab, tab), 0::bigint, tab || ': every row holds its own scores')
FROM unnest(ARRAY['t_domain', 't_text', 't_uuid', 't_pair']) tab;

SELECT is(wrong_queue(tab, tab), 0::bigint, tab || ': every queue entry is a row with its scores')
FROM unnest(ARRAY['t_domain', 't_text', 't_uuid', 't_pair']) tab;

SELECT is(nextval('check_calls'), 1::bigint,
		  'the domain''s CHECK never ran while scoring: keys are compared in the base type');

SELECT finish();
ROLLBACK;
