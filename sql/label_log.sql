-- The label log: the triggers a model puts on its table, what they write to
-- hitl.label_log (inserts, label updates, deletes; rollbacks; scoring),
-- hitl.label_stats, privileges, and the event triggers that mark a model
-- broken when its table or columns change.

CREATE TABLE ll (id int PRIMARY KEY, x float8, lab text);
INSERT INTO ll
SELECT i, i % 10, CASE WHEN i <= 20 THEN CASE WHEN i % 10 < 5 THEN 'lo' ELSE 'hi' END END
FROM generate_series(1, 40) i;
SELECT hitl.create_model('ll', 'll', 'lab', ARRAY['x'], options => '{"cv_folds": 0}');

-- the triggers, named after the model
SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger
WHERE tgrelid = 'll'::regclass ORDER BY tgname;
-- creating, training and scoring the model logged nothing
SELECT count(*) AS logged FROM hitl.label_log WHERE model = 'll';

-- The rows of the log of model ll, numbered, without the moving parts
CREATE FUNCTION ll_log(first bigint DEFAULT 0)
RETURNS TABLE (n bigint, row_key jsonb, old_label text, new_label text, by_me boolean,
			   model_version integer, prediction text, confidence numeric)
LANGUAGE sql AS $$
	SELECT row_number() OVER (ORDER BY id), row_key, old_label, new_label, role = current_user,
		   model_version, prediction, round(confidence::numeric, 4)
	FROM hitl.label_log WHERE model = 'll' AND id > first ORDER BY id
$$;
-- the scores of every row before labels change
CREATE TABLE ll_scores AS SELECT id, lab_prediction, lab_confidence FROM ll;

-- a label set, a label changed: old and new label, who, the model version,
-- and the prediction and confidence the row had then
UPDATE ll SET lab = 'hi' WHERE id = 21;
UPDATE ll SET lab = 'lo' WHERE id = 6;
SELECT * FROM ll_log();
SELECT count(*) AS as_scored FROM hitl.label_log l
JOIN ll_scores s ON s.id = (l.row_key->>'id')::int
WHERE l.model = 'll' AND l.prediction = s.lab_prediction AND l.confidence = s.lab_confidence;
-- txid is the writing transaction's, at its statement's start
SELECT bool_and(txid IS NOT NULL AND at <= now() + interval '1 minute') AS stamped,
	   count(DISTINCT txid) AS transactions FROM hitl.label_log WHERE model = 'll';

-- a multi-row UPDATE: one row per changed label, from one statement
SELECT max(id) AS before_multi FROM hitl.label_log \gset
UPDATE ll SET lab = CASE WHEN x < 5 THEN 'lo' ELSE 'hi' END WHERE id BETWEEN 22 AND 30;
SELECT count(*) AS logged, count(DISTINCT at) AS statements, count(DISTINCT txid) AS transactions,
	   max(id) - min(id) + 1 AS consecutive_ids,
	   array_agg((row_key->>'id')::int ORDER BY id) AS ids
FROM hitl.label_log WHERE model = 'll' AND id > :before_multi;

-- nothing is logged for UPDATEs that leave the label as it was, set other
-- columns, or write scores
SELECT max(id) AS before_quiet FROM hitl.label_log \gset
UPDATE ll SET lab = lab;
UPDATE ll SET lab = 'hi' WHERE id = 21;
UPDATE ll SET x = x WHERE id <= 5;
SELECT hitl.train('ll') AS version;
SELECT hitl.score('ll') > 0 AS scored;
SELECT count(*) AS logged FROM hitl.label_log WHERE id > :before_quiet;

-- after training, the next change records version 2 and the new scores
UPDATE ll_scores s SET lab_prediction = l.lab_prediction, lab_confidence = l.lab_confidence
FROM ll l WHERE l.id = s.id;
UPDATE ll SET lab = 'lo' WHERE id = 31;
SELECT l.model_version, l.new_label, l.prediction = s.lab_prediction AS as_scored_prediction,
	   l.confidence = s.lab_confidence AS as_scored_confidence
FROM hitl.label_log l JOIN ll_scores s ON s.id = (l.row_key->>'id')::int
WHERE l.model = 'll' AND l.id > :before_quiet;

-- inserted rows: logged when they carry a label, with the prediction and
-- confidence they were inserted with; COPY too
SELECT max(id) AS before_insert FROM hitl.label_log \gset
INSERT INTO ll (id, x, lab) VALUES (41, 3, 'lo'), (42, 7, NULL);
INSERT INTO ll (id, x, lab, lab_prediction, lab_confidence) VALUES (43, 1, 'hi', 'lo', 0.95);
INSERT INTO ll (id, x) SELECT i, i % 10 FROM generate_series(44, 49) i;
COPY ll (id, x, lab) FROM stdin;
50	5	hi
51	6	\N
52	1	lo
\.
SELECT * FROM ll_log(:before_insert);

-- deleted rows: logged when they had a label
SELECT max(id) AS before_delete FROM hitl.label_log \gset
DELETE FROM ll WHERE id IN (41, 42, 44, 50);
SELECT * FROM ll_log(:before_delete);

-- a rolled-back change leaves nothing; a rolled-back savepoint takes only
-- its own changes
SELECT max(id) AS before_rollback FROM hitl.label_log \gset
BEGIN;
UPDATE ll SET lab = 'hi' WHERE id = 32;
INSERT INTO ll (id, x, lab) VALUES (60, 1, 'lo');
DELETE FROM ll WHERE id = 1;
ROLLBACK;
SELECT count(*) AS logged FROM hitl.label_log WHERE id > :before_rollback;
BEGIN;
UPDATE ll SET lab = 'hi' WHERE id = 32;
SAVEPOINT s;
UPDATE ll SET lab = 'hi' WHERE id = 33;
INSERT INTO ll (id, x, lab) VALUES (61, 1, 'lo');
ROLLBACK TO s;
UPDATE ll SET lab = 'lo' WHERE id = 34;
COMMIT;
DO $$
BEGIN
	UPDATE ll SET lab = 'hi' WHERE id = 35;
	BEGIN
		UPDATE ll SET lab = 'hi' WHERE id = 36;
		RAISE EXCEPTION 'undo 36';
	EXCEPTION WHEN raise_exception THEN
		NULL;
	END;
	UPDATE ll SET lab = 'lo' WHERE id = 37;
END
$$;
SELECT array_agg((row_key->>'id')::int ORDER BY id) AS logged_ids
FROM hitl.label_log WHERE id > :before_rollback;

-- two models on one table: each logs the change, with its own prediction
SELECT hitl.create_model('ll2', 'll', 'lab', ARRAY['x'], prediction_column => 'p2',
						 confidence_column => 'c2', uncertainty_column => 'u2',
						 strategy => 'entropy', options => '{"cv_folds": 0, "C": 0.01}');
UPDATE ll SET p2 = 'hi', c2 = 0.5 WHERE id = 38;
SELECT max(id) AS before_two FROM hitl.label_log \gset
UPDATE ll SET lab = 'lo' WHERE id = 38;
SELECT model, row_key, old_label, new_label, prediction,
	   prediction = (SELECT lab_prediction FROM ll WHERE id = 38) AS ll_prediction,
	   round(confidence::numeric, 4) AS confidence
FROM hitl.label_log WHERE id > :before_two ORDER BY model;
-- dropping a model removes its triggers and its log, not the other's
SELECT hitl.drop_model('ll2', drop_columns => true);
SELECT count(*) AS ll2_triggers FROM pg_trigger WHERE tgname LIKE 'hitl_ll2_%';
SELECT model, count(*) FROM hitl.label_log WHERE model IN ('ll', 'll2') GROUP BY model;

-- a model name too long for a trigger name gets the md5 of its name
SELECT hitl.create_model('a_model_name_of_fifty_bytes_for_the_trigger_names', 'll', 'lab',
						 ARRAY['x'], prediction_column => 'p3', confidence_column => 'c3',
						 uncertainty_column => 'u3', options => '{"cv_folds": 0}') AS version;
SELECT tgname FROM pg_trigger WHERE tgname LIKE 'hitl_' || md5('a_model_name_of_fifty_bytes_for_the_trigger_names') || '%'
ORDER BY tgname;
SELECT hitl.drop_model('a_model_name_of_fifty_bytes_for_the_trigger_names', true);

-- ------------------------------------------------------------------------
-- Privileges, and hitl.label_stats on a hand-checked example
-- ------------------------------------------------------------------------

CREATE ROLE regress_hitl_labeler;
CREATE ROLE regress_hitl_updater;
CREATE ROLE regress_hitl_outsider;

CREATE TABLE st (id int PRIMARY KEY, x float8, lab text);
INSERT INTO st SELECT i, i, NULL FROM generate_series(1, 10) i;
SELECT hitl.create_model('st', 'st', 'lab', ARRAY['x']);
GRANT SELECT, UPDATE ON st TO regress_hitl_labeler;
-- predictions as a scoring writes them (no label in the SET list: no log);
-- rows 9 and 10 have none
UPDATE st SET lab_prediction = CASE WHEN id <= 5 THEN 'cat' ELSE 'dog' END,
			  lab_confidence = CASE WHEN id IN (1, 6, 7) THEN 0.95 ELSE 0.6 END
WHERE id <= 8;
SELECT count(*) AS logged FROM hitl.label_log WHERE model = 'st';

-- the current role: 1 agrees, 2 and 6 override (6 confidently), 9 has no
-- prediction; removing the label of 2 is logged but is no label
UPDATE st SET lab = 'cat' WHERE id = 1;
UPDATE st SET lab = 'dog' WHERE id = 2;
UPDATE st SET lab = 'cat' WHERE id IN (6, 9);
UPDATE st SET lab = NULL WHERE id = 2;
-- the labeler (SELECT and UPDATE on the table, not its owner): 3 and 8
-- agree, 7 overrides confidently, 4 overrides then agrees
SET ROLE regress_hitl_labeler;
UPDATE st SET lab = 'cat' WHERE id = 3;
UPDATE st SET lab = 'dog' WHERE id = 8;
UPDATE st SET lab = 'cat' WHERE id = 7;
UPDATE st SET lab = 'dog' WHERE id = 4;
UPDATE st SET lab = 'cat' WHERE id = 4;
-- it sees the model, so its log and statistics
SELECT count(*) AS visible_log FROM hitl.label_log WHERE model = 'st';
SELECT count(*) AS visible_stats FROM hitl.label_stats WHERE model = 'st';
RESET ROLE;
SELECT model, CASE WHEN role = current_user THEN 'me' ELSE role END AS role,
	   labels, agreements, overrides, confident_disagreements,
	   round(agreement_rate::numeric, 4) AS agreement_rate, last_labeled_at IS NOT NULL AS dated
FROM hitl.label_stats WHERE model = 'st' ORDER BY 2;
SELECT row_key, old_label, new_label, role, prediction, confidence
FROM hitl.label_log WHERE model = 'st' AND role = 'regress_hitl_labeler' ORDER BY id;
-- the view's columns are plain types
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 'hitl.label_stats'::regclass AND attnum > 0 ORDER BY attnum;

-- a role with UPDATE only (it cannot even read the table, nor see the
-- model) labels every row, and is recorded; directly and through a view
CREATE TABLE up (id int PRIMARY KEY, x float8, lab text);
INSERT INTO up SELECT i, i, NULL FROM generate_series(1, 3) i;
SELECT hitl.create_model('up', 'up', 'lab', ARRAY['x']);
CREATE VIEW up_view AS SELECT * FROM up;
GRANT UPDATE ON up TO regress_hitl_updater;
GRANT SELECT, UPDATE ON up_view TO regress_hitl_outsider;
SET ROLE regress_hitl_updater;
UPDATE up SET lab = 'a';
SELECT count(*) AS visible_log FROM hitl.label_log WHERE model = 'up';
RESET ROLE;
REVOKE UPDATE ON up FROM regress_hitl_updater;
SET ROLE regress_hitl_outsider;
UPDATE up_view SET lab = 'b' WHERE id = 2;
RESET ROLE;
SELECT row_key, old_label, new_label, role FROM hitl.label_log WHERE model = 'up' ORDER BY id;

-- the log is written by the triggers only: no role inserts, updates or
-- deletes log rows
SET ROLE regress_hitl_outsider;
SELECT count(*) AS visible_log FROM hitl.label_log;
SELECT * FROM err($$INSERT INTO hitl.label_log (model, row_key, role) VALUES ('st', '{"id": 1}', 'x')$$);
SELECT * FROM err($$UPDATE hitl.label_log SET new_label = 'x'$$);
SELECT * FROM err($$DELETE FROM hitl.label_log$$);
RESET ROLE;
SET ROLE regress_hitl_labeler;
SELECT * FROM err($$INSERT INTO hitl.label_log (id, model, row_key, role) OVERRIDING SYSTEM VALUE
					 VALUES (1000000, 'st', '{"id": 1}', 'x')$$);
SELECT * FROM err($$INSERT INTO hitl.label_log (model, row_key, role, at) VALUES ('st', '{"id": 1}', 'x', now())$$);
RESET ROLE;

SELECT hitl.drop_model('up');
SELECT hitl.drop_model('st');
SELECT count(*) AS logged FROM hitl.label_log WHERE model IN ('st', 'up');
DROP VIEW up_view;
DROP TABLE up, st;
DROP ROLE regress_hitl_labeler, regress_hitl_updater, regress_hitl_outsider;

-- ------------------------------------------------------------------------
-- Tables and columns changing under a model
-- ------------------------------------------------------------------------

CREATE FUNCTION make_ev(t text) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, x float8, y float8, lab text)', t);
	EXECUTE format($q$INSERT INTO %I SELECT i, i %% 10, i, CASE WHEN i <= 20 THEN
					 CASE WHEN i %% 10 < 5 THEN 'lo' ELSE 'hi' END END
					 FROM generate_series(1, 40) i$q$, t);
	RETURN hitl.create_model(t, t, 'lab', ARRAY['x'], options => '{"cv_folds": 0}');
END
$$;
SELECT make_ev('ev');

-- DDL on other tables, or on other columns of the model's table: nothing
CREATE TABLE other (a int);
ALTER TABLE other RENAME COLUMN a TO b;
ALTER TABLE other ADD COLUMN c int;
ALTER TABLE other DROP COLUMN c;
ALTER TABLE other RENAME TO other2;
DROP TABLE other2;
ALTER TABLE ev ADD COLUMN note text;
ALTER TABLE ev RENAME COLUMN note TO remark;
ALTER TABLE ev DROP COLUMN remark;
CREATE INDEX ON ev (y);
SELECT name, status, last_error FROM hitl.models WHERE name = 'ev';

-- renaming the table is harmless: hitl knows it by OID
ALTER TABLE ev RENAME TO ev_renamed;
UPDATE ev_renamed SET lab = 'hi' WHERE id = 30;
SELECT row_key, new_label FROM hitl.label_log WHERE model = 'ev';
SELECT hitl.train('ev') AS version;
SELECT hitl.score('ev') > 0 AS scored;
SELECT name, source, status, last_error FROM hitl.models WHERE name = 'ev';
SELECT count(*) AS queued FROM ev_review_queue;
ALTER TABLE ev_renamed RENAME TO ev;

-- renaming the label column breaks the model: its triggers go, and it says why
ALTER TABLE ev RENAME COLUMN lab TO label;
SELECT name, status, last_error, failed_at IS NOT NULL AS failed_at FROM hitl.models WHERE name = 'ev';
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'ev'::regclass AND NOT tgisinternal;
UPDATE ev SET label = 'lo' WHERE id = 31;
SELECT count(*) AS logged FROM hitl.label_log WHERE model = 'ev';
-- later DDL leaves the first reason in place
ALTER TABLE ev RENAME COLUMN x TO x2;
SELECT last_error FROM hitl.models WHERE name = 'ev';
SELECT hitl.drop_model('ev');
SELECT count(*) AS logged FROM hitl.label_log WHERE model = 'ev';

-- renaming a key column, a feature column
SELECT make_ev('ev_key');
ALTER TABLE ev_key RENAME COLUMN id TO ident;
SELECT make_ev('ev_feature');
ALTER TABLE ev_feature RENAME COLUMN x TO x2;
SELECT name, status, last_error FROM hitl.models WHERE name LIKE 'ev_%' ORDER BY name;

-- dropping a feature column: refused while the review view needs it; with
-- CASCADE the view goes and the model is broken
SELECT make_ev('ev_drop');
SELECT * FROM err('ALTER TABLE ev_drop DROP COLUMN x');
ALTER TABLE ev_drop DROP COLUMN x CASCADE;
SELECT name, status, last_error FROM hitl.models WHERE name = 'ev_drop';
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'ev_drop'::regclass AND NOT tgisinternal;

-- dropping the table (CASCADE, for the view): the model is kept, broken,
-- until dropped; its log goes with it
SELECT make_ev('ev_table');
UPDATE ev_table SET lab = 'hi' WHERE id = 25;
DROP TABLE ev_table CASCADE;
SELECT name, status, last_error FROM hitl.models WHERE name = 'ev_table';
SELECT count(*) AS logged FROM hitl.label_log WHERE model = 'ev_table';
SELECT hitl.drop_model(name) FROM hitl.models WHERE name LIKE 'ev_%' ORDER BY name;
SELECT count(*) AS logged FROM hitl.label_log WHERE model LIKE 'ev%';
DROP TABLE ev, ev_key, ev_feature, ev_drop;
DROP FUNCTION make_ev(text);

-- ------------------------------------------------------------------------
-- A table updated through its parent: the row trigger of the partition
-- fires, its statement trigger does not; the changes are written at commit
-- ------------------------------------------------------------------------

CREATE TABLE pt (id int PRIMARY KEY, x float8, lab text, lab_prediction text,
				 lab_confidence float8, lab_uncertainty float8) PARTITION BY RANGE (id);
CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (0) TO (1000);
INSERT INTO pt (id, x, lab)
SELECT i, i % 10, CASE WHEN i <= 20 THEN CASE WHEN i % 10 < 5 THEN 'lo' ELSE 'hi' END END
FROM generate_series(1, 40) i;
SELECT hitl.create_model('pt1', 'pt1', 'lab', ARRAY['x'], options => '{"cv_folds": 0}');
BEGIN;
UPDATE pt SET lab = 'hi' WHERE id IN (21, 22);
SELECT count(*) AS before_commit FROM hitl.label_log WHERE model = 'pt1';
COMMIT;
SELECT row_key, old_label, new_label FROM hitl.label_log WHERE model = 'pt1' ORDER BY id;
SELECT hitl.drop_model('pt1');
DROP TABLE pt;

-- the log of the first model, then none
SELECT count(*) > 0 AS logged FROM hitl.label_log WHERE model = 'll';
SELECT hitl.drop_model('ll', drop_columns => true);
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'll'::regclass AND NOT tgisinternal;
SELECT count(*) AS logged FROM hitl.label_log WHERE model = 'll';
DROP TABLE ll, ll_scores;
DROP FUNCTION ll_log(bigint);
