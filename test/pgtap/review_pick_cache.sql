-- hitl._pick() and hitl._pick_any() read their arrays once per expression
-- only when the arrays are the same for all its calls (constants or query
-- parameters, as a batch UPDATE's are): arrays that differ from one row to
-- the next (VALUES, a join) or from one evaluation of a PL/pgSQL expression
-- to the next are read again, never answered from another call's arrays.
-- Arrays of any shape a role may pass give a value or an error, never a
-- crash.

BEGIN;
SELECT plan(12);

CREATE EXTENSION hitl;
CREATE ROLE pick_user;
SET ROLE pick_user;

SELECT results_eq(
	$$SELECT hitl._pick_any(t, v, k) FROM (VALUES
		  (1, ARRAY['(0,1)']::tid[], ARRAY['first'], '(0,1)'::tid),
		  (2, ARRAY['(0,1)', '(0,2)']::tid[], ARRAY['second', 'x'], '(0,2)'::tid),
		  (3, ARRAY['(0,2)', '(0,1)']::tid[], ARRAY['y', 'third'], '(0,1)'::tid)) s(i, t, v, k)
	  ORDER BY i$$,
	ARRAY['first', 'x', 'third'],
	'_pick_any: each row of VALUES is answered from its own arrays');
SELECT results_eq(
	$$SELECT hitl._pick(t, v, k) FROM (VALUES
		  (1, ARRAY['(0,1)']::tid[], ARRAY[1.0]::float8[], '(0,1)'::tid),
		  (2, ARRAY['(0,1)', '(0,2)']::tid[], ARRAY[2.0, 3.0]::float8[], '(0,1)'::tid)) s(i, t, v, k)
	  ORDER BY i$$,
	ARRAY[1.0, 2.0]::float8[],
	'_pick: each row of VALUES is answered from its own arrays');
SELECT results_eq(
	$$SELECT hitl._pick_any(ARRAY['(0,1)', '(0,2)']::tid[], v, '(0,2)')
	  FROM (VALUES (1, ARRAY[10, 20]), (2, ARRAY[30, 40])) s(i, v) ORDER BY i$$,
	ARRAY[20, 40],
	'_pick_any: a constant tid array with values that change per row');

CREATE FUNCTION pg_temp.pick_loop() RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
	a tid[];
	v text[];
	got text[] := '{}';
	i int;
BEGIN
	FOR i IN 1..3 LOOP
		a := ARRAY[format('(0,%s)', i)::tid];
		v := ARRAY['val' || i];
		got := got || hitl._pick_any(a, v, format('(0,%s)', i)::tid);
	END LOOP;
	-- the same variables, changed in place
	a := ARRAY['(0,1)'::tid, '(0,2)'];
	v := ARRAY['x', 'y'];
	FOR i IN 1..2 LOOP
		a[2] := format('(0,%s)', i + 1)::tid;
		v[2] := 'y' || i;
		got := got || hitl._pick_any(a, v, format('(0,%s)', i + 1)::tid);
	END LOOP;
	RETURN got;
END
$$;
SELECT is(pg_temp.pick_loop(), ARRAY['val1', 'val2', 'val3', 'y1', 'y2'],
		  '_pick_any in a PL/pgSQL loop: each evaluation is answered from its arrays');

PREPARE pick(tid[], text[], tid) AS SELECT hitl._pick_any($1, $2, t.k)
	FROM (VALUES ('(0,1)'::tid), ('(0,3)'), ('(0,2)')) t(k);
SELECT results_eq('EXECUTE pick(ARRAY[''(0,2)'', ''(0,1)'']::tid[], ARRAY[''b'', ''a''], ''(0,1)'')',
				  ARRAY['a', NULL, 'b'], '_pick_any: parameters, read once, every row found');

-- shapes a caller may pass
SELECT is(hitl._pick_any('{{"(0,1)","(0,2)"},{"(0,3)","(0,4)"}}'::tid[], ARRAY['a', 'b', 'c', 'd'], '(0,4)'),
		  'd', '_pick_any: a two-dimensional tid array pairs in storage order');
SELECT is(hitl._pick_any('[5:6]={"(0,1)","(0,2)"}'::tid[], '[-3:-2]={x,y}'::text[], '(0,2)'),
		  'y', '_pick_any: lower bounds other than 1');
SELECT is(hitl._pick_any('{}'::tid[], '{}'::text[], '(0,1)'), NULL, '_pick_any: empty arrays');
SELECT is(hitl._pick_any(ARRAY['(0,1)']::tid[], ARRAY[ROW(1, 'x')], '(0,1)')::text,
		  '(1,x)', '_pick_any: a composite value');
SELECT throws_ok($$SELECT hitl._pick_any('{"(0,1)",NULL}'::tid[], ARRAY['a', 'b'], '(0,1)')$$,
				 '22004', 'hitl._pick arrays must not contain nulls', '_pick_any: a NULL tid is refused');
SELECT throws_ok($$SELECT hitl._pick_any(ARRAY['(0,1)']::tid[], ARRAY['a', 'b'], '(0,1)')$$,
				 '2202E', 'hitl._pick needs arrays of the same length', '_pick_any: lengths differ');
SELECT throws_ok($$SELECT hitl._pick_any(ARRAY['(0,1)']::tid[], histogram_bounds, '(0,1)') FROM pg_stats$$,
				 '42804', NULL, '_pick_any: an anyarray column cannot be passed');

RESET ROLE;
SELECT * FROM finish();
ROLLBACK;
