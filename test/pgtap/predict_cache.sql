-- hitl.predict()'s per-backend model cache: a model whose loading fails
-- leaves nothing behind in the cache.  A text model whose text search
-- configuration was dropped cannot be loaded; once the configuration is
-- back, the same session predicts again, as a session that never tried.

BEGIN;
SELECT plan(7);

CREATE EXTENSION hitl;

CREATE TEXT SEARCH CONFIGURATION tap_cfg (COPY = pg_catalog.english);

CREATE TABLE notes (id int PRIMARY KEY, body text, label text);
INSERT INTO notes
SELECT g,
	   CASE g % 2 WHEN 0 THEN format('goal match team %s', g) ELSE format('oven flour sauce %s', g) END,
	   CASE WHEN g <= 30 THEN (ARRAY['sport', 'cooking'])[1 + g % 2] END
FROM generate_series(1, 40) g;

SELECT is(hitl.create_model('nc', 'notes', 'label', '{body}',
							options => '{"text_config": "public.tap_cfg", "cv_folds": 0}'),
		  1, 'a text model with its own text search configuration');
SELECT is((SELECT count(*) FROM notes WHERE label_prediction IS NULL), 0::bigint,
		  'every row scored');

DROP TEXT SEARCH CONFIGURATION tap_cfg;

SELECT throws_ok($$SELECT hitl.predict('nc', n) FROM notes n WHERE id = 35$$,
				 '42704', 'text search configuration "public.tap_cfg" does not exist',
				 'without its configuration the model cannot be loaded: 42704');
SELECT throws_ok($$SELECT hitl.predict('nc', n) FROM notes n WHERE id = 35$$,
				 '42704', 'text search configuration "public.tap_cfg" does not exist',
				 'a second call tries the load again, and fails the same way');

CREATE TEXT SEARCH CONFIGURATION tap_cfg (COPY = pg_catalog.english);

SELECT is((SELECT count(*) FROM notes n WHERE hitl.predict('nc', n) IS DISTINCT FROM n.label_prediction),
		  0::bigint, 'with the configuration back, predict() = the stored prediction on every row');
SELECT is((SELECT count(*) FROM notes n
		   WHERE abs((hitl.predict_proba('nc', n)->>n.label_prediction)::float8 - n.label_confidence) > 1e-12),
		  0::bigint, 'and predict_proba() of it = the stored confidence on every row');
SELECT is(hitl.predict('nc', ROW(0, 'goal match team', NULL, NULL, NULL, NULL, NULL)::notes), 'sport',
		  'an ad-hoc row is predicted');

SELECT * FROM finish();
ROLLBACK;
