-- The label log hardened: nobody writes it but hitl's triggers (no forged
-- entry, no lock); what hitl.label_log, hitl.queue, hitl.review_queue and
-- hitl.label_stats show holds the source table's row-level security, at no
-- cost per row for tables without it; labels set by a BEFORE trigger or a
-- generated column are logged, and a renamed enum class makes naive Bayes
-- train from scratch.
--
-- Like text.sql, this file runs outside a transaction block: incremental
-- naive Bayes reads the label changes committed since its version.  Its
-- roles are dropped at the end (the database is dropped after the file).

SELECT plan(67);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

SELECT 'hitl_tap_lo_owner_' || pg_backend_pid() AS owner,
	   'hitl_tap_lo_labeler_' || pg_backend_pid() AS labeler,
	   'hitl_tap_lo_ta_' || pg_backend_pid() AS ta,
	   'hitl_tap_lo_tb_' || pg_backend_pid() AS tb \gset
CREATE ROLE :"owner";
CREATE ROLE :"labeler";
CREATE ROLE :"ta";
CREATE ROLE :"tb";
CREATE SCHEMA tap_lo AUTHORIZATION :"owner";
GRANT USAGE ON SCHEMA tap_lo TO :"labeler", :"ta", :"tb";

-- ------------------------------------------------------------------------
-- 4. Nobody writes the log but hitl's triggers
-- ------------------------------------------------------------------------

SELECT ok(NOT has_table_privilege('public', 'hitl.label_log', 'INSERT')
		  AND NOT has_any_column_privilege('public', 'hitl.label_log', 'INSERT')
		  AND NOT has_table_privilege('public', 'hitl.label_log', 'UPDATE')
		  AND NOT has_table_privilege('public', 'hitl.label_log', 'DELETE')
		  AND NOT has_table_privilege('public', 'hitl.label_log', 'TRUNCATE')
		  AND has_table_privilege('public', 'hitl.label_log', 'SELECT'),
		  'PUBLIC may read the log and write none of it, not even one column');
SELECT is((SELECT array_agg(polname::text ORDER BY polname) FROM pg_policy
		   WHERE polrelid = 'hitl.label_log'::regclass),
		  ARRAY['label_log_read'], 'the log has a read policy and no other');
SELECT ok(NOT has_table_privilege('public', 'hitl.restored_logs', 'INSERT, UPDATE, DELETE, TRUNCATE')
		  AND has_table_privilege('public', 'hitl.restored_logs', 'SELECT'),
		  'PUBLIC may read the record of restored logs and write none of it');

-- a naive Bayes model on numeric counts; the labeler may read the table and
-- update its label column only
CREATE TABLE tap_lo.votes (id int PRIMARY KEY, a int, b int, lab text);
INSERT INTO tap_lo.votes
SELECT i, i % 5, (i * 3) % 7, CASE WHEN i <= 30 THEN CASE WHEN i % 5 < 2 THEN 'x' ELSE 'y' END END
FROM generate_series(1, 60) i;
ALTER TABLE tap_lo.votes OWNER TO :"owner";
GRANT SELECT, UPDATE (lab) ON tap_lo.votes TO :"labeler";
SET ROLE :"owner";
SELECT is(hitl.create_model('lo_nb', 'tap_lo.votes', 'lab', '{a,b}', algorithm => 'naive_bayes',
							options => '{"cv_folds": 0}'), 1, 'the owner creates a naive Bayes model');
RESET ROLE;

SET ROLE :"labeler";
SELECT throws_ok(format($$INSERT INTO hitl.label_log (model, row_key, old_label, new_label, role)
						  VALUES ('lo_nb', '{"id": 1}', 'x', 'y', %L)$$, :'owner'),
				 '42501', NULL, 'the labeler cannot INSERT a log entry in the owner''s name: 42501');
SELECT throws_ok($$UPDATE hitl.label_log SET new_label = 'y'$$, '42501', NULL,
				 'nor UPDATE the log: 42501');
SELECT throws_ok($$DELETE FROM hitl.label_log$$, '42501', NULL, 'nor DELETE from it: 42501');
SELECT throws_ok($$TRUNCATE hitl.label_log$$, '42501', NULL, 'nor TRUNCATE it: 42501');
SELECT throws_ok($$LOCK hitl.label_log IN ROW EXCLUSIVE MODE$$, '42501', NULL,
				 'nor LOCK it IN ROW EXCLUSIVE MODE: 42501');
SELECT throws_ok($$LOCK hitl.label_log IN ACCESS EXCLUSIVE MODE$$, '42501', NULL,
				 'nor IN ACCESS EXCLUSIVE MODE, which would stall every labeler: 42501');
-- the forged swap: two entries that keep the class totals, which an
-- incremental update used to apply
SELECT throws_ok($$INSERT INTO hitl.label_log (model, row_key, old_label, new_label, role)
				   VALUES ('lo_nb', '{"id": 1}', 'x', 'y', 'someone'), ('lo_nb', '{"id": 3}', 'y', 'x', 'someone')$$,
				 '42501', NULL, 'a forged swap cannot be written: 42501');
SELECT lives_ok($$UPDATE tap_lo.votes SET lab = 'y' WHERE id = 31$$, 'the labeler labels a row');
RESET ROLE;
SELECT results_eq(format($$SELECT row_key, old_label, new_label, role::text COLLATE "default", txid IS NOT NULL
						  FROM hitl.label_log WHERE model = 'lo_nb'$$),
				  format($$VALUES ('{"id": 31}'::jsonb, NULL::text, 'y'::text, %L::text, true)$$, :'labeler'),
				  'his UPDATE is logged, with his role and transaction, and nothing else is');

-- the label triggers are attached only for roles that may change the model
DROP TRIGGER hitl_lo_nb_label_trunc ON tap_lo.votes;
SET ROLE :"labeler";
SELECT throws_ok($$SELECT hitl._attach_label_triggers('lo_nb')$$, '42501',
				 'permission denied to attach the label triggers of model "lo_nb"',
				 'a role with UPDATE on the label column only may not attach a model''s triggers: 42501');
SELECT throws_ok($$SELECT hitl._create_label_triggers('lo_nb')$$, '42501', NULL,
				 'nor call what creates them: 42501');
RESET ROLE;
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'tap_lo.votes'::regclass
		   AND tgname LIKE 'hitl_lo_nb_label_%'), 4::bigint, 'so the missing trigger is still missing');
SET ROLE :"owner";
SELECT lives_ok($$SELECT hitl._attach_label_triggers('lo_nb')$$, 'the owner attaches them');
RESET ROLE;
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'tap_lo.votes'::regclass
		   AND tgname LIKE 'hitl_lo_nb_label_%'), 5::bigint, 'and the model has its five triggers again');

-- incremental naive Bayes after the labeler's change equals a full training
-- (a second model on the same table is trained from scratch)
SET ROLE :"owner";
SELECT is(hitl.create_model('lo_full', 'tap_lo.votes', 'lab', '{a,b}', algorithm => 'naive_bayes',
							prediction_column => 'full_p', confidence_column => 'full_c',
							uncertainty_column => 'full_u', options => '{"cv_folds": 0}'), 1,
		  'a model trained from scratch each time, for comparison');
RESET ROLE;

-- Train model m incrementally and lo_full from scratch: the same statistics?
CREATE FUNCTION tap_lo.inc_equals_full(m text, full_model text, incremental boolean, what text)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	inc_version int := hitl.train(m, incremental => true);
	full_version int := hitl.train(full_model);
	i hitl.model_versions;
	f hitl.model_versions;
BEGIN
	SELECT * INTO i FROM hitl.model_versions WHERE model = m AND version = inc_version;
	SELECT * INTO f FROM hitl.model_versions WHERE model = full_model AND version = full_version;
	RETURN NEXT is(i.metrics->>'incremental', incremental::text,
				   what || CASE WHEN incremental THEN ': applied incrementally' ELSE ': trained from scratch' END);
	RETURN NEXT is(ARRAY[i.n_labeled::text] || i.classes || i.class_counts::text[] || i.count_index::text[],
				   ARRAY[f.n_labeled::text] || f.classes || f.class_counts::text[] || f.count_index::text[],
				   what || ': labels, classes, class counts and count positions as a full training');
	RETURN NEXT cmp_ok((SELECT max(abs(a - b)) FROM unnest(i.counts, f.counts) u(a, b)), '<=', 1e-9::float8,
					   what || ': sums within 1e-9 of a full training');
END
$$;
SELECT * FROM tap_lo.inc_equals_full('lo_nb', 'lo_full', true, 'the labeler''s change');

-- ------------------------------------------------------------------------
-- 5. Row-level security of a source table holds in what hitl shows
-- ------------------------------------------------------------------------

-- two tenants, each limited to its rows by a policy; a key of a domain type
-- whose CHECK counts its calls (it must not run when the log is read)
CREATE SEQUENCE tap_lo.domain_checks;
GRANT USAGE ON SEQUENCE tap_lo.domain_checks TO PUBLIC;
CREATE FUNCTION tap_lo.counted(v int) RETURNS boolean LANGUAGE sql AS
	$$SELECT nextval('tap_lo.domain_checks') > 0 AND v > 0$$;
CREATE DOMAIN tap_lo.doc_id AS int CHECK (tap_lo.counted(VALUE));
CREATE TABLE tap_lo.docs (id tap_lo.doc_id PRIMARY KEY, tenant name NOT NULL, x float8, lab text);
INSERT INTO tap_lo.docs
SELECT i, CASE WHEN i % 2 = 0 THEN :'ta' ELSE :'tb' END, i % 10,
	   CASE WHEN i <= 20 THEN CASE WHEN i % 10 < 5 THEN 'lo' ELSE 'hi' END END
FROM generate_series(1, 80) i;
ALTER TABLE tap_lo.docs OWNER TO :"owner";
ALTER TABLE tap_lo.docs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON tap_lo.docs USING (tenant = current_user);
GRANT SELECT, UPDATE ON tap_lo.docs TO :"ta", :"tb";
-- and a table without row-level security, read by the same roles
CREATE TABLE tap_lo.plain (id int PRIMARY KEY, x float8, lab text);
INSERT INTO tap_lo.plain
SELECT i, i % 10, CASE WHEN i <= 20 THEN CASE WHEN i % 10 < 5 THEN 'lo' ELSE 'hi' END END
FROM generate_series(1, 40) i;
ALTER TABLE tap_lo.plain OWNER TO :"owner";
GRANT SELECT, UPDATE ON tap_lo.plain TO :"ta", :"tb";

SET ROLE :"owner";
SELECT is(ARRAY[hitl.create_model('lo_rls', 'tap_lo.docs', 'lab', '{x}', options => '{"cv_folds": 0}'),
				hitl.create_model('lo_plain', 'tap_lo.plain', 'lab', '{x}', options => '{"cv_folds": 0}')],
		  ARRAY[1, 1], 'the owner creates a model on each table');
UPDATE tap_lo.docs SET lab = 'hi' WHERE id IN (22, 23);
GRANT SELECT ON tap_lo.lo_rls_review_queue TO :"ta", :"tb";
RESET ROLE;
SET ROLE :"ta";
UPDATE tap_lo.docs SET lab = 'lo' WHERE id IN (24, 26, 25);
UPDATE tap_lo.plain SET lab = 'lo' WHERE id = 24;
RESET ROLE;
SET ROLE :"tb";
UPDATE tap_lo.docs SET lab = 'hi' WHERE id IN (27, 29);
RESET ROLE;

SET ROLE :"ta";
SELECT results_eq($$SELECT (row_key->>'id')::int, role::text COLLATE "default" FROM hitl.label_log WHERE model = 'lo_rls' ORDER BY id$$,
				  format($$VALUES (22, %L), (24, %L), (26, %L)$$, :'owner', :'ta', :'ta'),
				  'tenant A sees the log entries of its own rows only (also the owner''s on them)');
SELECT results_eq($$SELECT count(*), count(*) FILTER (WHERE (row_key->>'id')::int % 2 = 1) FROM hitl.queue
				   WHERE model = 'lo_rls'$$,
				  $$VALUES (30::bigint, 0::bigint)$$,
				  'tenant A sees the queue entries of its own rows only');
SELECT results_eq($$SELECT count(*), count(*) FILTER (WHERE (row_key->>'id')::int % 2 = 1) FROM hitl.review_queue
				   WHERE model = 'lo_rls'$$,
				  $$VALUES (27::bigint, 0::bigint)$$, 'and those still unlabeled in hitl.review_queue');
SELECT results_eq($$SELECT count(*), count(*) FILTER (WHERE tenant <> current_user) FROM tap_lo.lo_rls_review_queue$$,
				  $$VALUES (27::bigint, 0::bigint)$$,
				  'and in the owner''s review view of the model, which the owner granted it');
SELECT results_eq($$SELECT role COLLATE "default", labels FROM hitl.label_stats WHERE model = 'lo_rls' ORDER BY role$$,
				  format($$VALUES (%L, 1::bigint), (%L, 2::bigint)$$,
						 least(:'owner', :'ta'), greatest(:'owner', :'ta')),
				  'hitl.label_stats counts only the entries of its rows');
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'lo_plain'), 1::bigint,
		  'the log of a table without row-level security is shown as before');
RESET ROLE;

SET ROLE :"tb";
SELECT results_eq($$SELECT (row_key->>'id')::int, role::text COLLATE "default" FROM hitl.label_log WHERE model = 'lo_rls' ORDER BY id$$,
				  format($$VALUES (23, %L), (27, %L), (29, %L)$$, :'owner', :'tb', :'tb'),
				  'tenant B sees the log entries of its own rows only');
SELECT results_eq($$SELECT count(*), count(*) FILTER (WHERE (row_key->>'id')::int % 2 = 0) FROM hitl.queue
				   WHERE model = 'lo_rls'$$,
				  $$VALUES (30::bigint, 0::bigint)$$,
				  'and the queue entries of its own rows only');
SELECT results_eq($$SELECT count(*), count(*) FILTER (WHERE (row_key->>'id')::int % 2 = 0) FROM hitl.review_queue
				   WHERE model = 'lo_rls'$$,
				  $$VALUES (27::bigint, 0::bigint)$$, 'and those still unlabeled in hitl.review_queue');
SELECT results_eq($$SELECT count(*), count(*) FILTER (WHERE tenant <> current_user) FROM tap_lo.lo_rls_review_queue$$,
				  $$VALUES (27::bigint, 0::bigint)$$,
				  'and in the owner''s review view of the model, which the owner granted it');
SELECT results_eq($$SELECT role COLLATE "default", labels FROM hitl.label_stats WHERE model = 'lo_rls' ORDER BY role$$,
				  format($$VALUES (%L, 1::bigint), (%L, 2::bigint)$$,
						 least(:'owner', :'tb'), greatest(:'owner', :'tb')),
				  'and its own counts in hitl.label_stats');
RESET ROLE;

SET ROLE :"owner";
SELECT results_eq($$SELECT count(*) FROM hitl.label_log WHERE model = 'lo_rls'$$, $$VALUES (6::bigint)$$,
				  'the owner sees every entry');
SELECT results_eq($$SELECT count(*) FROM hitl.queue WHERE model = 'lo_rls'$$, $$VALUES (60::bigint)$$,
				  'and every queue entry');
SELECT results_eq($$SELECT sum(labels) FROM hitl.label_stats WHERE model = 'lo_rls'$$, $$VALUES (6::numeric)$$,
				  'and every label in hitl.label_stats');
RESET ROLE;
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'lo_rls'), 6::bigint, 'so does a superuser');

-- the plain case costs no call per row; a table with row-level security
-- costs one per entry of its model
SET track_functions = 'all';
BEGIN;
CREATE TEMP TABLE calls AS
	SELECT coalesce((SELECT calls FROM pg_stat_xact_user_functions
					 WHERE funcid = 'hitl._source_row_visible'::regproc), 0) AS n;
SET LOCAL ROLE :"ta";
SELECT is((SELECT count(*) FROM hitl.label_log l JOIN hitl.queue q USING (model)
		   WHERE model = 'lo_plain'), 20::bigint, 'tenant A reads the plain model''s log and queue');
RESET ROLE;
SELECT is(coalesce((SELECT calls FROM pg_stat_xact_user_functions
					WHERE funcid = 'hitl._source_row_visible'::regproc), 0) - (SELECT n FROM calls),
		  0::bigint, 'without calling the row check once');
SELECT last_value AS domain_checks FROM tap_lo.domain_checks \gset
SET LOCAL ROLE :"ta";
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'lo_rls'), 3::bigint,
		  'tenant A reads the log of the model with row-level security');
SELECT is((SELECT count(*) FROM hitl.queue WHERE model = 'lo_rls'), 30::bigint, 'and its queue');
RESET ROLE;
SELECT is((SELECT last_value FROM tap_lo.domain_checks), :'domain_checks'::bigint,
		  'the CHECK of the key''s domain did not run for the reader');
SELECT is(coalesce((SELECT calls FROM pg_stat_xact_user_functions
					WHERE funcid = 'hitl._source_row_visible'::regproc), 0) - (SELECT n FROM calls),
		  66::bigint, 'with one row check per entry of that model');
COMMIT;
RESET track_functions;

-- ------------------------------------------------------------------------
-- 7. Label changes made by BEFORE triggers and generated columns are
-- logged; a renamed enum class is detected
-- ------------------------------------------------------------------------

SELECT ok(pg_get_triggerdef(t.oid) LIKE '%AFTER UPDATE ON tap_lo.votes FOR EACH ROW WHEN ((old.lab IS DISTINCT FROM new.lab))%',
		  'the row trigger fires on every UPDATE that changes the label, named in it or not')
FROM pg_trigger t WHERE t.tgrelid = 'tap_lo.votes'::regclass AND t.tgname = 'hitl_lo_nb_label_row';
SELECT ok(pg_get_triggerdef(t.oid) LIKE '%AFTER UPDATE ON tap_lo.votes FOR EACH STATEMENT%',
		  'and the statement trigger on every UPDATE')
FROM pg_trigger t WHERE t.tgrelid = 'tap_lo.votes'::regclass AND t.tgname = 'hitl_lo_nb_label_upd';

-- a BEFORE trigger that sets labels from another column: two labels
-- swapped, the class totals stay, so only the log tells
ALTER TABLE tap_lo.votes ADD COLUMN pending text;
CREATE FUNCTION tap_lo.take_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.pending IS NOT NULL THEN
		NEW.lab := NEW.pending;
		NEW.pending := NULL;
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER a_pending BEFORE UPDATE ON tap_lo.votes FOR EACH ROW EXECUTE FUNCTION tap_lo.take_pending();
SELECT max(id) AS mark FROM hitl.label_log \gset
UPDATE tap_lo.votes SET pending = CASE id WHEN 1 THEN 'y' ELSE 'x' END WHERE id IN (1, 3);
SELECT results_eq(format($$SELECT (row_key->>'id')::int, old_label, new_label FROM hitl.label_log
						  WHERE model = 'lo_nb' AND id > %s ORDER BY 1$$, :mark),
				  $$VALUES (1, 'x', 'y'), (3, 'y', 'x')$$,
				  'labels set by a BEFORE trigger (the UPDATE names another column) are logged');
SELECT * FROM tap_lo.inc_equals_full('lo_nb', 'lo_full', true, 'labels swapped by a BEFORE trigger');
DROP TRIGGER a_pending ON tap_lo.votes;

-- a generated label column, its input set directly and by a BEFORE trigger
CREATE TABLE tap_lo.gen (id int PRIMARY KEY, a int, b int, score int, raw int,
						 lab text GENERATED ALWAYS AS (CASE WHEN score > 0 THEN 'y' WHEN score <= 0 THEN 'x' END) STORED);
INSERT INTO tap_lo.gen (id, a, b, score)
SELECT i, i % 5, (i * 3) % 7, CASE WHEN i <= 30 THEN CASE WHEN i % 5 < 2 THEN 0 ELSE 1 END END
FROM generate_series(1, 60) i;
CREATE FUNCTION tap_lo.score_from_raw() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.raw IS NOT NULL THEN
		NEW.score := NEW.raw;
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER a_raw BEFORE UPDATE ON tap_lo.gen FOR EACH ROW EXECUTE FUNCTION tap_lo.score_from_raw();
SELECT is(ARRAY[hitl.create_model('lo_gen', 'tap_lo.gen', 'lab', '{a,b}', algorithm => 'naive_bayes',
								  options => '{"cv_folds": 0}'),
				hitl.create_model('lo_gen_full', 'tap_lo.gen', 'lab', '{a,b}', algorithm => 'naive_bayes',
								  prediction_column => 'full_p', confidence_column => 'full_c',
								  uncertainty_column => 'full_u', options => '{"cv_folds": 0}')],
		  ARRAY[1, 1], 'two naive Bayes models on a generated label column');
UPDATE tap_lo.gen SET score = 1 WHERE id = 31;
UPDATE tap_lo.gen SET raw = 0 WHERE id = 2;
UPDATE tap_lo.gen SET raw = 1 WHERE id = 1;
SELECT results_eq($$SELECT (row_key->>'id')::int, old_label, new_label FROM hitl.label_log
				   WHERE model = 'lo_gen' ORDER BY id$$,
				  $$VALUES (31, NULL, 'y'), (2, 'y', 'x'), (1, 'x', 'y')$$,
				  'a generated label is logged when its input changes, also when a BEFORE trigger sets it');
SELECT * FROM tap_lo.inc_equals_full('lo_gen', 'lo_gen_full', true, 'generated labels');

-- an enum label whose value is renamed: no row changes, every label of the
-- class does
CREATE TYPE tap_lo.verdict AS ENUM ('x', 'y');
CREATE TABLE tap_lo.en (id int PRIMARY KEY, a int, b int, lab tap_lo.verdict);
INSERT INTO tap_lo.en
SELECT i, i % 5, (i * 3) % 7, CASE WHEN i <= 30 THEN CASE WHEN i % 5 < 2 THEN 'x' ELSE 'y' END END::tap_lo.verdict
FROM generate_series(1, 60) i;
SELECT is(ARRAY[hitl.create_model('lo_en', 'tap_lo.en', 'lab', '{a,b}', algorithm => 'naive_bayes',
								  options => '{"cv_folds": 0}'),
				hitl.create_model('lo_en_full', 'tap_lo.en', 'lab', '{a,b}', algorithm => 'naive_bayes',
								  prediction_column => 'full_p', confidence_column => 'full_c',
								  uncertainty_column => 'full_u', options => '{"cv_folds": 0}')],
		  ARRAY[1, 1], 'two naive Bayes models on an enum label');
SELECT is(hitl.create_model('lo_en_lr', 'tap_lo.en', 'lab', '{a,b}', prediction_column => 'lr_p',
							confidence_column => 'lr_c', uncertainty_column => 'lr_u'),
		  1, 'and a logistic model');
ALTER TYPE tap_lo.verdict RENAME VALUE 'y' TO 'yes';
-- scoring right after the rename, before any training: it trains from scratch
SELECT lives_ok($$SELECT hitl.score('lo_en_lr')$$,
				'scoring a model whose class was renamed away trains it again, not fails');
SELECT is((SELECT v.classes FROM hitl.model_versions v JOIN hitl.models m
		   ON m.name = v.model AND v.version = m.current_version WHERE m.name = 'lo_en_lr'),
		  ARRAY['x', 'yes'], 'and its new version has the renamed class');
SELECT is((SELECT count(*) FROM tap_lo.en WHERE lr_p IS NULL OR lr_p::text NOT IN ('x', 'yes')),
		  0::bigint, 'and every row is scored with the type''s values');
UPDATE tap_lo.en SET lab = 'yes' WHERE id = 31;
SELECT * FROM tap_lo.inc_equals_full('lo_en', 'lo_en_full', false, 'an enum value renamed');
SELECT is((SELECT classes FROM hitl.model_versions v JOIN hitl.models m
		   ON m.name = v.model AND v.version = m.current_version WHERE m.name = 'lo_en'),
		  ARRAY['x', 'yes'], 'the new version knows the renamed class');
SELECT cmp_ok(hitl.score('lo_en'), '>', 0::bigint, 'and scoring works again');

-- ------------------------------------------------------------------------
-- A dropped model's log goes
-- ------------------------------------------------------------------------

SET ROLE :"owner";
SELECT lives_ok($$SELECT hitl.drop_model('lo_nb')$$, 'the owner drops a model');
RESET ROLE;
SELECT is((SELECT count(*) FROM hitl.label_log WHERE model = 'lo_nb'), 0::bigint,
		  'and its log went with it');

SELECT * FROM finish();

SET client_min_messages = warning;
SELECT hitl.drop_model(name) FROM hitl.models;
DROP SCHEMA tap_lo CASCADE;
DROP OWNED BY :"owner", :"labeler", :"ta", :"tb";
DROP ROLE :"owner", :"labeler", :"ta", :"tb";
