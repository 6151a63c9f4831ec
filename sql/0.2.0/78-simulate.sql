/* ------------------------------------------------------------------------
 * 78 Simulating a campaign: hitl.simulate
 *
 * hitl.simulate replays an active-learning campaign on a table's labeled
 * rows: a stratified held-out test set, a pool whose labels are hidden
 * but for a stratified seed, and for each strategy and repeat a batch of
 * pool rows labeled each round by what the strategy picks, the model
 * retrained as the worker trains it (src/simulate_math.c), until the
 * budget.  It reads the table as its caller, with a plain SELECT (the
 * table's privileges and row-level security apply), and never writes it.
 *
 * Its results are rows of hitl.simulations (one per call) and
 * hitl.simulation_curves (one per strategy, repeat and round), which each
 * role writes and reads for itself only (row-level security: a role sees
 * the simulations of the roles it is a member of); pg_dump keeps them.
 * hitl.simulation_summary sums the curves up per strategy, and
 * hitl.simulation_svg draws them.
 * ------------------------------------------------------------------------ */

CREATE TABLE hitl.simulations (
	id					bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	role				name NOT NULL DEFAULT current_user,
	source				text NOT NULL,
	label_column		name NOT NULL,
	feature_columns		name[] NOT NULL,
	strategies			text[] NOT NULL,
	algorithm			text NOT NULL,
	initial_labels		integer NOT NULL,
	batch_size			integer NOT NULL,
	budget				integer NOT NULL,
	repeats				integer NOT NULL,
	test_fraction		double precision NOT NULL,
	options				jsonb NOT NULL,
	seed				integer NOT NULL,
	started_at			timestamptz NOT NULL DEFAULT clock_timestamp(),
	finished_at			timestamptz,
	full_accuracy		double precision
);
COMMENT ON TABLE hitl.simulations IS
	'each call of hitl.simulate: who ran it, on what, with which arguments, and when';
COMMENT ON COLUMN hitl.simulations.role IS 'the role that ran the simulation';
COMMENT ON COLUMN hitl.simulations.source IS 'the table simulated on, by its name at the time';
COMMENT ON COLUMN hitl.simulations.options IS 'the model options, resolved (hitl._resolve_options)';
COMMENT ON COLUMN hitl.simulations.full_accuracy IS
	'held-out accuracy of the model trained on the whole pool, the mean over repeats';

CREATE TABLE hitl.simulation_curves (
	simulation			bigint NOT NULL REFERENCES hitl.simulations (id) ON DELETE CASCADE,
	strategy			text NOT NULL,
	repeat				integer NOT NULL,
	round				integer NOT NULL,
	labels				integer NOT NULL,
	accuracy			double precision NOT NULL,
	macro_f1			double precision NOT NULL,
	log_loss			double precision NOT NULL,
	ece					double precision NOT NULL,
	seconds				double precision NOT NULL,
	PRIMARY KEY (simulation, strategy, repeat, round)
);
COMMENT ON TABLE hitl.simulation_curves IS
	'the learning curves of a simulation: per strategy, repeat (from 1) and round (from 0), the labels used and the held-out metrics of the model trained on them';
COMMENT ON COLUMN hitl.simulation_curves.ece IS 'expected calibration error, 15 bins';
COMMENT ON COLUMN hitl.simulation_curves.seconds IS
	'time of the round: training, evaluation and picking the next batch';

SELECT pg_catalog.pg_extension_config_dump('hitl.simulations', '');
SELECT pg_catalog.pg_extension_config_dump('hitl.simulations_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('hitl.simulation_curves', '');

ALTER TABLE hitl.simulations ENABLE ROW LEVEL SECURITY;
ALTER TABLE hitl.simulation_curves ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON hitl.simulations, hitl.simulation_curves FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON hitl.simulations, hitl.simulation_curves TO PUBLIC;
GRANT UPDATE (finished_at, full_accuracy) ON hitl.simulations TO PUBLIC;
GRANT USAGE ON SEQUENCE hitl.simulations_id_seq TO PUBLIC;

CREATE POLICY simulations_read ON hitl.simulations FOR SELECT
	USING (hitl._member_of(role));
COMMENT ON POLICY simulations_read ON hitl.simulations IS
	'a simulation is seen by the members of the role that ran it';
CREATE POLICY simulations_insert ON hitl.simulations FOR INSERT
	WITH CHECK (role = current_user);
COMMENT ON POLICY simulations_insert ON hitl.simulations IS
	'a role records its own simulations only';
CREATE POLICY simulations_update ON hitl.simulations FOR UPDATE
	USING (role = current_user) WITH CHECK (role = current_user);
COMMENT ON POLICY simulations_update ON hitl.simulations IS
	'a role finishes its own simulations only';
CREATE POLICY simulations_delete ON hitl.simulations FOR DELETE
	USING (hitl._member_of(role));
COMMENT ON POLICY simulations_delete ON hitl.simulations IS
	'the members of the role that ran a simulation may delete it';

CREATE POLICY simulation_curves_read ON hitl.simulation_curves FOR SELECT
	USING (simulation IN (SELECT s.id FROM hitl.simulations s));
COMMENT ON POLICY simulation_curves_read ON hitl.simulation_curves IS
	'the curves of the simulations the role sees';
CREATE POLICY simulation_curves_insert ON hitl.simulation_curves FOR INSERT
	WITH CHECK (simulation IN (SELECT s.id FROM hitl.simulations s
							   WHERE s.role = current_user AND s.finished_at IS NULL));
COMMENT ON POLICY simulation_curves_insert ON hitl.simulation_curves IS
	'a role writes the curves of its own unfinished simulations only';
CREATE POLICY simulation_curves_delete ON hitl.simulation_curves FOR DELETE
	USING (simulation IN (SELECT s.id FROM hitl.simulations s));
COMMENT ON POLICY simulation_curves_delete ON hitl.simulation_curves IS
	'the curves of the simulations the role may delete';

/* The engine (src/simulate.c): see there */
CREATE FUNCTION hitl._simulate_run(query text, strategies text[], initial_labels integer,
								   batch_size integer, budget integer, repeats integer,
								   test_fraction double precision, c double precision,
								   max_iter integer, tol double precision, seed integer,
								   source regclass)
RETURNS TABLE (strategy text, repeat integer, round integer, labels integer,
			   accuracy double precision, macro_f1 double precision,
			   log_loss double precision, ece double precision, seconds double precision)
AS 'MODULE_PATHNAME', 'hitl_simulate_run' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION hitl._simulate_run(text, text[], integer, integer, integer, integer,
									   double precision, double precision, integer,
									   double precision, integer, regclass) IS
	'internal: runs a simulation''s query as the caller and returns the points of its curves, and per repeat the full-data accuracy (in a row whose strategy is NULL)';

CREATE FUNCTION hitl._simulation_split(query text, strategies text[], initial_labels integer,
									   batch_size integer, budget integer, repeats integer,
									   test_fraction double precision, c double precision,
									   max_iter integer, tol double precision, seed integer,
									   repeat integer)
RETURNS TABLE (row_number integer, part text, label text, features double precision[])
AS 'MODULE_PATHNAME', 'hitl_simulation_split' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION hitl._simulation_split(text, text[], integer, integer, integer, integer,
										   double precision, double precision, integer,
										   double precision, integer, integer) IS
	'internal: the held-out test rows, seed rows and pool rows of one repeat of a simulation, for comparing with another implementation';

/*
 * The query that reads a simulation's data, as the caller: the label as
 * text, ordered by its bytes, then each feature column as float8 (a
 * number) or float8[] (an embedding); the feature columns checked.
 */
CREATE FUNCTION hitl._simulation_query(source regclass, label_column name, feature_columns name[])
RETURNS text LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	numbers constant regtype[] := ARRAY['smallint', 'integer', 'bigint', 'real',
										'double precision', 'numeric']::regtype[];
	arrays constant regtype[] := ARRAY['smallint[]', 'integer[]', 'bigint[]', 'real[]',
									   'double precision[]', 'numeric[]']::regtype[];
	cols text := '';
	ord text := '';
	col name;
	typ regtype;
	i integer := 1;
BEGIN
	IF hitl._column_type(source, label_column) IS NULL THEN
		RAISE EXCEPTION 'column "%" of relation % does not exist', label_column, source
			USING ERRCODE = 'undefined_column';
	END IF;
	IF coalesce(cardinality(feature_columns), 0) = 0 THEN
		RAISE EXCEPTION 'feature_columns must name at least one column'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	FOREACH col IN ARRAY feature_columns LOOP
		typ := hitl._base_type(hitl._column_type(source, col))::regtype;
		IF col IS NULL OR typ IS NULL THEN
			RAISE EXCEPTION 'column "%" of relation % does not exist', col, source
				USING ERRCODE = 'undefined_column';
		ELSIF col = label_column THEN
			RAISE EXCEPTION 'the label column "%" cannot be a feature column', col
				USING ERRCODE = 'invalid_parameter_value';
		ELSIF typ = ANY (numbers) THEN
			cols := cols || format(', %I::float8', col);
		ELSIF typ = ANY (arrays) THEN
			cols := cols || format(', %I::float8[]', col);
		ELSE
			RAISE EXCEPTION 'feature column "%" is of type %', col, typ
				USING ERRCODE = 'datatype_mismatch',
					  HINT = 'hitl.simulate takes numbers (smallint to numeric) and arrays of them (embeddings).';
		END IF;
		i := i + 1;
		ord := ord || ', ' || i;
	END LOOP;
	RETURN format('SELECT %I::text%s FROM %s WHERE %I IS NOT NULL ORDER BY %I::text COLLATE "C"%s',
				  label_column, cols, source, label_column, label_column, ord);
END
$$;
COMMENT ON FUNCTION hitl._simulation_query(regclass, name, name[]) IS
	'internal: the query that reads a simulation''s labeled rows, its columns checked';

CREATE FUNCTION hitl.simulate(source regclass, label_column name, feature_columns name[],
							  strategies text[] DEFAULT '{random,margin}',
							  algorithm text DEFAULT 'logistic',
							  initial_labels integer DEFAULT 20, batch_size integer DEFAULT 10,
							  budget integer DEFAULT 500, repeats integer DEFAULT 3,
							  test_fraction double precision DEFAULT 0.2,
							  options jsonb DEFAULT '{}', seed integer DEFAULT 0)
RETURNS bigint LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	opts jsonb;
	q text;
	sim bigint;
	full_acc double precision;
BEGIN
	IF source IS NULL OR label_column IS NULL OR strategies IS NULL OR algorithm IS NULL
	   OR initial_labels IS NULL OR batch_size IS NULL OR budget IS NULL OR repeats IS NULL
	   OR test_fraction IS NULL OR seed IS NULL THEN
		RAISE EXCEPTION 'the arguments of hitl.simulate may not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF algorithm = 'naive_bayes' THEN
		RAISE EXCEPTION 'hitl.simulate does not simulate naive_bayes models yet'
			USING ERRCODE = 'feature_not_supported', HINT = 'Use algorithm ''logistic''.';
	ELSIF algorithm <> 'logistic' THEN
		RAISE EXCEPTION 'unknown algorithm "%"', algorithm
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Known algorithms: logistic.';
	END IF;
	IF initial_labels < 2 THEN
		RAISE EXCEPTION 'initial_labels must be at least 2' USING ERRCODE = 'invalid_parameter_value';
	ELSIF batch_size < 1 THEN
		RAISE EXCEPTION 'batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
	ELSIF budget < initial_labels THEN
		RAISE EXCEPTION 'budget % is below initial_labels %', budget, initial_labels
			USING ERRCODE = 'invalid_parameter_value';
	ELSIF repeats NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'repeats must be from 1 to 1000' USING ERRCODE = 'invalid_parameter_value';
	ELSIF NOT (test_fraction > 0 AND test_fraction < 1) THEN
		RAISE EXCEPTION 'test_fraction must be above 0 and below 1'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	opts := hitl._resolve_options(coalesce(options, '{}'), algorithm);
	q := hitl._simulation_query(source, label_column, feature_columns);

	INSERT INTO hitl.simulations (source, label_column, feature_columns, strategies, algorithm,
								  initial_labels, batch_size, budget, repeats, test_fraction,
								  options, seed)
	VALUES (source::text, label_column, feature_columns, strategies, algorithm, initial_labels,
			batch_size, budget, repeats, test_fraction, opts, seed)
	RETURNING id INTO sim;

	WITH r AS MATERIALIZED (
		SELECT * FROM hitl._simulate_run(q, strategies, initial_labels, batch_size, budget,
										 repeats, test_fraction, (opts->>'C')::float8,
										 (opts->>'max_iter')::integer, (opts->>'tol')::float8,
										 seed, source)),
	curves AS (
		INSERT INTO hitl.simulation_curves
		SELECT sim, r.strategy, r.repeat, r.round, r.labels, r.accuracy, r.macro_f1, r.log_loss,
			   r.ece, r.seconds
		FROM r WHERE r.strategy IS NOT NULL)
	SELECT avg(r.accuracy) INTO full_acc FROM r WHERE r.strategy IS NULL;

	UPDATE hitl.simulations SET finished_at = clock_timestamp(), full_accuracy = full_acc
	WHERE id = sim;
	RETURN sim;
END
$$;
COMMENT ON FUNCTION hitl.simulate(regclass, name, name[], text[], text, integer, integer,
								  integer, integer, double precision, jsonb, integer) IS
	'replays an active-learning campaign on the labeled rows of a table for each strategy and repeat, and returns the id of the simulation (hitl.simulations, hitl.simulation_curves, hitl.simulation_summary)';

/*
 * Per simulation and strategy, over the repeats: the area under the
 * learning curve (accuracy against labels, by trapezoids, divided by the
 * labels from the seed to the budget: the mean accuracy over the
 * campaign), the labels at which a repeat first reaches 95% and 99% of
 * the full-data accuracy (the mean over the repeats that reach it, NULL
 * when none does, and how many do), and the final accuracy.
 */
CREATE VIEW hitl.simulation_summary WITH (security_invoker = true) AS
WITH points AS (
	SELECT c.*, lag(c.labels) OVER w AS prev_labels, lag(c.accuracy) OVER w AS prev_accuracy
	FROM hitl.simulation_curves c
	WINDOW w AS (PARTITION BY c.simulation, c.strategy, c.repeat ORDER BY c.round)
), per_repeat AS (
	SELECT p.simulation, p.strategy, p.repeat,
		   coalesce(sum((p.labels - p.prev_labels) * (p.accuracy + p.prev_accuracy) / 2)
					/ nullif(max(p.labels) - min(p.labels), 0), avg(p.accuracy)) AS aulc,
		   min(p.labels) FILTER (WHERE p.accuracy >= 0.95 * s.full_accuracy) AS labels_95,
		   min(p.labels) FILTER (WHERE p.accuracy >= 0.99 * s.full_accuracy) AS labels_99,
		   (array_agg(p.accuracy ORDER BY p.round DESC))[1] AS final_accuracy
	FROM points p JOIN hitl.simulations s ON s.id = p.simulation
	GROUP BY p.simulation, p.strategy, p.repeat
)
SELECT simulation, strategy, count(*)::integer AS repeats,
	   avg(aulc) AS aulc, stddev_samp(aulc) AS aulc_stddev,
	   avg(labels_95)::double precision AS labels_95, count(labels_95)::integer AS reached_95,
	   avg(labels_99)::double precision AS labels_99, count(labels_99)::integer AS reached_99,
	   avg(final_accuracy) AS final_accuracy, stddev_samp(final_accuracy) AS final_accuracy_stddev
FROM per_repeat
GROUP BY simulation, strategy;
COMMENT ON VIEW hitl.simulation_summary IS
	'per simulation and strategy, over its repeats: area under the learning curve (mean and standard deviation), labels needed to reach 95% and 99% of the full-data accuracy (mean over the repeats that reach it, and their count), final accuracy';
GRANT SELECT ON hitl.simulation_summary TO PUBLIC;
