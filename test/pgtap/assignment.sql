-- Rows for annotators at the same time: hitl.next_rows reserves review
-- queue rows for the calling role (one role per row until the reservation
-- expires), gives the caller its batch again first, releases what it no
-- longer holds, never gives labeled or invisible rows; hitl.skip keeps a
-- row from the role that skipped it, and from everyone at skip_limit; the
-- options, the errors and the privileges.  (Concurrent sessions: test/t/
-- 116_next_rows_concurrent.pl.)
--
-- The file runs outside a transaction block; its roles are dropped at the end.

SELECT plan(46);

CREATE EXTENSION hitl;
SET client_min_messages = warning;

CREATE TABLE tk (id int PRIMARY KEY, x float8, y float8, lab text, team text);
INSERT INTO tk SELECT i, i % 10 + (i % 7) / 10.0, (i * 3) % 11,
	CASE WHEN i <= 100 THEN CASE WHEN i % 10 < 5 THEN 'a' ELSE 'b' END END,
	CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END
FROM generate_series(1, 1000) i;
SELECT hitl.create_model('am', 'tk', 'lab', ARRAY['x', 'y'], options => '{"queue_size": 200}') \gset

CREATE ROLE tap_ann1;
CREATE ROLE tap_ann2;
CREATE ROLE tap_ann3;
CREATE ROLE tap_reader;
GRANT SELECT, UPDATE (lab) ON tk TO tap_ann1, tap_ann2, tap_ann3;
GRANT SELECT ON tk TO tap_reader;

-- the queue in rank order, the unlabeled rows only, as the view gives it
CREATE TEMP VIEW ranked AS
SELECT q.rank, q.row_key FROM hitl.queue q JOIN tk t ON q.row_key = jsonb_build_object('id', t.id)
WHERE q.model = 'am' AND t.lab IS NULL ORDER BY q.rank;
GRANT SELECT ON ranked TO PUBLIC;

-- 1. one role: the top of the queue, the same batch again
SET ROLE tap_ann1;
CREATE TEMP TABLE b1 AS SELECT * FROM hitl.next_rows('am', 5);
GRANT SELECT ON b1 TO PUBLIC;
SELECT is((SELECT array_agg(row_key ORDER BY rank) FROM b1),
		  (SELECT array_agg(row_key) FROM (SELECT row_key FROM ranked LIMIT 5) s),
		  'next_rows gives the first 5 rows of the queue');
SELECT ok((SELECT bool_and(reserved_until > now() + interval '599 s'
						   AND reserved_until <= clock_timestamp() + interval '600 s') FROM b1),
		  'each reserved for 600 s (the default reservation_timeout)');
SELECT is((SELECT array_agg(row_key ORDER BY rank) FROM hitl.next_rows('am', 5)),
		  (SELECT array_agg(row_key ORDER BY rank) FROM b1), 'asked again, the same rows');
SELECT is((SELECT count(*) FROM hitl.reservations WHERE model = 'am' AND role = 'tap_ann1'), 5::bigint,
		  'the role holds 5 reservations');
SELECT is((SELECT array_agg(b.rank ORDER BY b.rank) FROM b1 b JOIN hitl.queue q ON q.model = 'am' AND q.row_key = b.row_key
		   WHERE q.prediction = b.prediction AND q.confidence = b.confidence AND q.uncertainty = b.uncertainty
			 AND q.rank = b.rank), ARRAY[1, 2, 3, 4, 5],
		  'with their rank, prediction, confidence and uncertainty from the queue');
RESET ROLE;

-- 2. a second role gets the next rows, never the first role's
SET ROLE tap_ann2;
CREATE TEMP TABLE b2 AS SELECT * FROM hitl.next_rows('am', 5);
GRANT SELECT ON b2 TO PUBLIC;
SELECT is((SELECT array_agg(row_key ORDER BY rank) FROM b2),
		  (SELECT array_agg(row_key) FROM (SELECT row_key FROM ranked OFFSET 5 LIMIT 5) s),
		  'a second role gets rows 6 to 10');
SELECT is((SELECT count(*) FROM b1 JOIN b2 USING (row_key)), 0::bigint, 'none of the first role''s');
RESET ROLE;

-- 3. a smaller batch releases the rest; a larger one keeps its rows first
SET ROLE tap_ann1;
SELECT is((SELECT array_agg(row_key ORDER BY rank) FROM hitl.next_rows('am', 2)),
		  (SELECT array_agg(row_key) FROM (SELECT row_key FROM ranked LIMIT 2) s),
		  'a batch of 2: its two first rows');
SELECT is((SELECT count(*) FROM hitl.reservations WHERE model = 'am' AND role = 'tap_ann1'), 2::bigint,
		  'the three others are released');
SELECT is((SELECT array_agg(row_key ORDER BY rank) FROM hitl.next_rows('am', 6)),
		  (SELECT array_agg(row_key) FROM (SELECT row_key FROM ranked LIMIT 5) s)
		  || (SELECT array_agg(row_key) FROM (SELECT row_key FROM ranked OFFSET 10 LIMIT 1) s),
		  'a batch of 6: rows 1 to 5 again and row 11, not the other role''s');
RESET ROLE;

-- 4. a labeled row leaves the batch; an expired reservation is anyone's
SET ROLE tap_ann1;
UPDATE tk SET lab = 'a' WHERE jsonb_build_object('id', id) = (SELECT row_key FROM b1 ORDER BY rank LIMIT 1);
SELECT is((SELECT count(*) FROM hitl.next_rows('am', 6) n JOIN b1 USING (row_key)), 4::bigint,
		  'the labeled row is not given again');
SELECT is((SELECT count(*) FROM hitl.reservations r JOIN b1 USING (row_key)
		   WHERE r.model = 'am' AND r.row_key = (SELECT row_key FROM b1 ORDER BY rank LIMIT 1)), 0::bigint,
		  'and its reservation is released');
RESET ROLE;
UPDATE hitl.reservations SET expires_at = clock_timestamp() - interval '1 s'
WHERE model = 'am' AND role = 'tap_ann2';
SET ROLE tap_ann3;
SELECT is((SELECT array_agg(row_key ORDER BY rank) FROM hitl.next_rows('am', 5)),
		  (SELECT array_agg(row_key ORDER BY rank) FROM b2),
		  'the rows of an expired reservation go to the next role');
RESET ROLE;
SET ROLE tap_ann2;
SELECT is((SELECT count(*) FROM hitl.next_rows('am', 5) n JOIN b2 USING (row_key)), 0::bigint,
		  'and no longer to the role whose reservation expired');
RESET ROLE;

-- 5. skip: gone from the role's batches, others still get it; two skips: gone for all
SET ROLE tap_ann1;
SELECT row_key AS top1 FROM hitl.next_rows('am', 1) \gset
SELECT lives_ok(format($$SELECT hitl.skip('am', %L, 'cannot tell')$$, :'top1'), 'a role skips a row');
SELECT is((SELECT count(*) FROM hitl.next_rows('am', 20) WHERE row_key = :'top1'), 0::bigint,
		  'the row leaves the role''s batches');
SELECT is((SELECT reason FROM hitl.skips WHERE model = 'am' AND row_key = :'top1' AND role = 'tap_ann1'),
		  'cannot tell', 'the skip is logged with its reason');
SELECT lives_ok(format($$SELECT hitl.skip('am', %L)$$, :'top1'), 'skipping again replaces the reason');
SELECT is((SELECT reason FROM hitl.skips WHERE model = 'am' AND row_key = :'top1' AND role = 'tap_ann1'),
		  NULL, 'with NULL');
RESET ROLE;
SET ROLE tap_ann3;
SELECT is((SELECT count(*) FROM hitl.next_rows('am', 20) WHERE row_key = :'top1'), 1::bigint,
		  'another role still gets the row');
SELECT lives_ok(format($$SELECT hitl.skip('am', %L, 'no idea')$$, :'top1'), 'and skips it too');
SELECT is((SELECT count(*) FROM hitl.reservations WHERE model = 'am' AND row_key = :'top1'), 0::bigint,
		  'skipping releases the reservation');
RESET ROLE;
SET ROLE tap_ann2;
SELECT is((SELECT count(*) FROM hitl.next_rows('am', 200) WHERE row_key = :'top1'), 0::bigint,
		  'skipped by 2 roles (skip_limit): no role gets it');
RESET ROLE;
SELECT lives_ok($$SELECT hitl.alter_model('am', options => '{"skip_limit": 3}')$$, 'skip_limit 3');
SET ROLE tap_ann2;
SELECT is((SELECT count(*) FROM hitl.next_rows('am', 200) WHERE row_key = :'top1'), 1::bigint,
		  'with skip_limit 3, the third role gets it again');
RESET ROLE;

-- 6. reservation_timeout
SELECT lives_ok($$SELECT hitl.alter_model('am', options => '{"reservation_timeout": 30}')$$,
				'reservation_timeout 30');
SET ROLE tap_ann1;
SELECT ok((SELECT bool_and(reserved_until <= clock_timestamp() + interval '30 s'
						   AND reserved_until > now() + interval '29 s') FROM hitl.next_rows('am', 3)),
		  'reservations then last 30 s');
RESET ROLE;

-- 7. row-level security: a role gets only the rows it sees
DELETE FROM hitl.reservations WHERE model = 'am';
ALTER TABLE tk ENABLE ROW LEVEL SECURITY;
CREATE POLICY tk_all ON tk TO tap_ann1, tap_ann2, tap_reader USING (true);
CREATE POLICY tk_even ON tk TO tap_ann3 USING (team = 'even');
SET ROLE tap_ann3;
SELECT is((SELECT count(*) FROM hitl.next_rows('am', 50) n
		   WHERE NOT EXISTS (SELECT 1 FROM tk WHERE jsonb_build_object('id', tk.id) = n.row_key)), 0::bigint,
		  'under row-level security, no row the role does not see');
SELECT is((SELECT count(*) FROM hitl.next_rows('am', 50)), 50::bigint, 'and still 50 rows');
SELECT is((SELECT count(*) FROM hitl.reservations r WHERE r.model = 'am'
		   AND NOT EXISTS (SELECT 1 FROM tk WHERE jsonb_build_object('id', tk.id) = r.row_key)), 0::bigint,
		  'the reservations of rows it does not see are hidden from it');
SELECT throws_ok($$SELECT hitl.skip('am', '{"id": 999}')$$, 'P0002', NULL,
				 'skipping a row it does not see: P0002');
RESET ROLE;
ALTER TABLE tk DISABLE ROW LEVEL SECURITY;

-- 8. errors
SELECT throws_ok($$SELECT * FROM hitl.next_rows('am', 0)$$, '22023', 'n must be from 1 to 1000, not 0',
				 'n 0: 22023');
SELECT throws_ok($$SELECT * FROM hitl.next_rows('am', 1001)$$, '22023', NULL, 'n 1001: 22023');
SELECT throws_ok($$SELECT * FROM hitl.next_rows('am', NULL)$$, '22004', NULL, 'a NULL n: 22004');
SELECT throws_ok($$SELECT * FROM hitl.next_rows('nosuch', 5)$$, '42704', NULL, 'no such model: 42704');
SELECT throws_ok($$SELECT hitl.skip('am', NULL)$$, '22004', NULL, 'a NULL key: 22004');
SELECT throws_ok($$SELECT hitl.skip('am', '{"id": 1}')$$, '55000', 'row {"id": 1} of model "am" is labeled',
				 'skipping a labeled row: 55000');
SELECT throws_ok($$SELECT hitl.skip('am', '{"id": 5000}')$$, 'P0002', NULL, 'skipping no row: P0002');
SELECT throws_ok($$SELECT hitl.alter_model('am', options => '{"skip_limit": 0}')$$, '22023',
				 'invalid value 0 for option "skip_limit"', 'skip_limit 0: 22023');
SELECT throws_ok($$SELECT hitl.alter_model('am', options => '{"skip_limit": 2.5}')$$, '22023', NULL,
				 'skip_limit 2.5: 22023');
SELECT throws_ok($$SELECT hitl.alter_model('am', options => '{"reservation_timeout": 0}')$$, '22023',
				 'invalid value 0 for option "reservation_timeout"', 'reservation_timeout 0: 22023');

-- 9. privileges: reading is not enough, and hitl's tables are not writable
SET ROLE tap_reader;
SELECT throws_ok($$SELECT * FROM hitl.next_rows('am', 5)$$, '42501',
				 'permission denied to take rows of model "am"', 'a role without UPDATE on the label: 42501');
SELECT throws_ok($$SELECT hitl.skip('am', '{"id": 999}')$$, '42501',
				 'permission denied to skip rows of model "am"', 'nor skip: 42501');
RESET ROLE;
SET ROLE tap_ann1;
SELECT throws_ok($$INSERT INTO hitl.reservations VALUES ('am', '{"id": 999}', 'tap_ann1', now(), now() + interval '1 d')$$,
				 '42501', NULL, 'an annotator cannot write hitl.reservations directly');
SELECT throws_ok($$UPDATE hitl.reservations SET role = 'tap_ann1'$$, '42501', NULL,
				 'nor take another role''s reservations');
RESET ROLE;

-- 10. a dropped model takes its reservations and skips with it
SELECT hitl.drop_model('am');
SELECT is((SELECT count(*) FROM hitl.reservations) + (SELECT count(*) FROM hitl.skips), 0::bigint,
		  'drop_model leaves no reservation or skip');

SELECT * FROM finish();

DROP VIEW ranked;
DROP TABLE tk CASCADE;
DROP OWNED BY tap_ann1, tap_ann2, tap_ann3, tap_reader;
DROP ROLE tap_ann1, tap_ann2, tap_ann3, tap_reader;
