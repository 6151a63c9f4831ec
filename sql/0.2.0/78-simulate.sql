/* ------------------------------------------------------------------------
 * 78 Simulating a campaign: hitl.simulate
 *
 * hitl.simulate replays an active-learning campaign on a table's labeled
 * rows: a stratified held-out test set, a pool whose labels are hidden
 * but for a stratified seed, and for each strategy and repeat a batch of
 * pool rows labeled each round by what the strategy picks, the model
 * (logistic or naive_bayes, on numbers and embeddings) retrained as the
 * worker trains it (src/simulate_math.c), until the budget.  It reads the table as its caller, with a plain SELECT (the
 * table's privileges and row-level security apply), and never writes it.
 *
 * Its results are rows of hitl.simulations (one per call) and
 * hitl.simulation_curves (one per strategy, repeat and round), which
 * hitl._simulate_run writes as the owner of hitl's tables, in the calling
 * role's name; PUBLIC reads them, as hitl's other tables, with SELECT
 * alone, and row-level security shows a role the simulations of the roles
 * it is a member of.  pg_dump keeps them.
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
	kappa				double precision,
	PRIMARY KEY (simulation, strategy, repeat, round)
);
COMMENT ON TABLE hitl.simulation_curves IS
	'the learning curves of a simulation: per strategy, repeat (from 1) and round (from 0), the labels used and the held-out metrics of the model trained on them';
COMMENT ON COLUMN hitl.simulation_curves.ece IS 'expected calibration error, 15 bins';
COMMENT ON COLUMN hitl.simulation_curves.seconds IS
	'time of the round: training, evaluation and picking the next batch';
COMMENT ON COLUMN hitl.simulation_curves.kappa IS
	'the stopping signal: Cohen''s kappa between this round''s and the previous round''s predictions on the pool rows still unlabeled; NULL at round 0 (or when undefined: both predict one class)';

SELECT pg_catalog.pg_extension_config_dump('hitl.simulations', '');
SELECT pg_catalog.pg_extension_config_dump('hitl.simulations_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('hitl.simulation_curves', '');

ALTER TABLE hitl.simulations ENABLE ROW LEVEL SECURITY;
ALTER TABLE hitl.simulation_curves ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON hitl.simulations, hitl.simulation_curves FROM PUBLIC;
GRANT SELECT ON hitl.simulations, hitl.simulation_curves TO PUBLIC;

CREATE POLICY simulations_read ON hitl.simulations FOR SELECT
	USING (hitl._member_of(role));
COMMENT ON POLICY simulations_read ON hitl.simulations IS
	'a simulation is seen by the members of the role that ran it';
CREATE POLICY simulation_curves_read ON hitl.simulation_curves FOR SELECT
	USING (simulation IN (SELECT s.id FROM hitl.simulations s));
COMMENT ON POLICY simulation_curves_read ON hitl.simulation_curves IS
	'the curves of the simulations the role sees';
/* A relation's name, qualified by its schema, whatever the search_path */
CREATE FUNCTION hitl._simulation_source_name(source regclass) RETURNS text
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
	FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	WHERE c.oid = source
$$;
COMMENT ON FUNCTION hitl._simulation_source_name(regclass) IS
	'internal: a relation''s name qualified by its schema';

/*
 * Whether reading source as the caller runs no code of a role the caller
 * does not trust: a role trusts itself, the roles it is granted (by
 * membership: a superuser trusts only its own grants, and superusers), and
 * superusers.  A plain SELECT of a table runs only built-in code but for
 * the functions of its row-level security policies; a view runs whatever
 * its query calls.  So the source must be a table, partitioned table or
 * materialized view, or belong to a role the caller trusts; and when
 * row-level security applies to the caller, no policy it is subject to may
 * use a function, an operator or another relation of a role it does not
 * trust.  (A superuser bypasses row-level security.)
 */
CREATE FUNCTION hitl._simulation_trusts(source regclass) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH RECURSIVE rel AS (
		SELECT c.relkind, c.relowner FROM pg_catalog.pg_class c WHERE c.oid = source
	), mine (oid) AS (
		/* the caller and the roles it is granted, by membership (not by
		 * being a superuser, to whom pg_has_role says yes for every role) */
		SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER
		UNION
		SELECT a.roleid FROM pg_catalog.pg_auth_members a JOIN mine ON a.member = mine.oid
	), trusted AS (
		SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolsuper
		UNION
		SELECT oid FROM mine
	)
	SELECT CASE
		WHEN rel.relowner IN (SELECT oid FROM trusted) THEN true
		WHEN rel.relkind NOT IN ('r', 'p', 'm') THEN false
		WHEN NOT pg_catalog.row_security_active(source) THEN true
		ELSE NOT EXISTS (
			SELECT FROM pg_catalog.pg_policy p
			JOIN pg_catalog.pg_depend d
				ON d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass AND d.objid = p.oid
			LEFT JOIN pg_catalog.pg_proc f
				ON d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND f.oid = d.refobjid
			LEFT JOIN pg_catalog.pg_operator o
				ON d.refclassid = 'pg_catalog.pg_operator'::pg_catalog.regclass AND o.oid = d.refobjid
			LEFT JOIN pg_catalog.pg_class c
				ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = d.refobjid
				AND c.oid <> source
			WHERE p.polrelid = source AND p.polcmd IN ('r', '*')
			  AND (0::pg_catalog.oid = ANY (p.polroles)
				   OR EXISTS (SELECT FROM pg_catalog.unnest(p.polroles) pr (oid)
							  WHERE pr.oid IN (SELECT oid FROM mine)))
			  AND coalesce(f.proowner, o.oprowner, c.relowner) NOT IN (SELECT oid FROM trusted))
	END
	FROM rel
$$;
COMMENT ON FUNCTION hitl._simulation_trusts(regclass) IS
	'internal: whether reading a simulation''s source as the caller runs only code of roles it trusts (itself, its roles, superusers): a table whose applicable row-level security policies use only such code, or a relation of such a role';

/*
 * The query that reads a simulation's data, as the caller: the label
 * column as it is (the engine reads it through its type's output
 * function and sorts the rows by that text's bytes, so no cast of the
 * table owner's making runs), then each feature column as float8 (a
 * number), float8[] (an embedding) or text in the "C" collation (a text
 * column); the rows ordered by the features, so that a table gives the
 * same data whatever its physical order.  Every name is qualified, so the
 * query reads the same relation with the same types whatever the
 * caller's search_path.  The columns are checked, and the source must be
 * one the caller trusts (hitl._simulation_trusts).
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
	texts constant regtype[] := ARRAY['text', 'character varying']::regtype[];
	cols text := '';
	ord text := '';
	col name;
	typ regtype;
	i integer := 1;
BEGIN
	IF source IS NULL OR label_column IS NULL THEN
		RAISE EXCEPTION 'the arguments of hitl.simulate may not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT hitl._simulation_trusts(source) THEN
		RAISE EXCEPTION 'hitl.simulate does not read % as you: it would run code of a role you do not trust', source
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'A view, or a table whose row-level security policies call functions or operators, runs their code as the role reading it.  Simulate on a table of your own (CREATE TABLE ... AS SELECT), or as a member of the role that owns them.';
	END IF;
	IF hitl._column_type(source, label_column) IS NULL THEN
		RAISE EXCEPTION 'column "%" of relation % does not exist', label_column, source
			USING ERRCODE = 'undefined_column';
	END IF;
	IF coalesce(cardinality(feature_columns), 0) = 0 THEN
		RAISE EXCEPTION 'feature_columns must name at least one column'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF (SELECT count(DISTINCT c) <> count(*) FROM unnest(feature_columns) c) THEN
		RAISE EXCEPTION 'feature_columns names a column twice'
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
			cols := cols || format(', %I::pg_catalog.float8', col);
		ELSIF typ = ANY (arrays) THEN
			cols := cols || format(', %I::pg_catalog.float8[]', col);
		ELSIF typ = ANY (texts) THEN
			cols := cols || format(', %I::pg_catalog.text COLLATE pg_catalog."C"', col);
		ELSE
			RAISE EXCEPTION 'feature column "%" is of type %', col, typ
				USING ERRCODE = 'datatype_mismatch',
					  HINT = 'hitl.simulate takes numbers (smallint to numeric), arrays of them (embeddings), and text or varchar columns.';
		END IF;
		i := i + 1;
		ord := ord || CASE WHEN i = 2 THEN ' ORDER BY ' ELSE ', ' END || i;
	END LOOP;
	RETURN format('SELECT %I%s FROM %s WHERE %I IS NOT NULL%s',
				  label_column, cols, hitl._simulation_source_name(source), label_column, ord);
END
$$;
COMMENT ON FUNCTION hitl._simulation_query(regclass, name, name[]) IS
	'internal: the query that reads a simulation''s labeled rows, its columns checked';

/*
 * What the engine needs besides the campaign's arguments: the query, and
 * the model options resolved as hitl.create_model resolves them (with the
 * text options, and the text defaults of max_iter and tol, when a feature
 * column is text).
 */
CREATE FUNCTION hitl._simulation_plan(source regclass, label_column name, feature_columns name[],
									  algorithm text, options jsonb,
									  OUT query text, OUT resolved jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	col name;
	has_text boolean := false;
BEGIN
	IF algorithm IS NULL OR algorithm NOT IN ('logistic', 'naive_bayes') THEN
		RAISE EXCEPTION 'unknown algorithm "%"', algorithm
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Known algorithms: logistic, naive_bayes.';
	END IF;
	query := hitl._simulation_query(source, label_column, feature_columns);
	FOREACH col IN ARRAY feature_columns LOOP
		has_text := has_text OR hitl._base_type(hitl._column_type(source, col))
			IN ('text'::regtype, 'character varying'::regtype);
	END LOOP;
	resolved := hitl._resolve_options(coalesce(options, '{}'), algorithm, has_text);
END
$$;
COMMENT ON FUNCTION hitl._simulation_plan(regclass, name, name[], text, jsonb) IS
	'internal: a simulation''s query and its model options, resolved';

/* The engine (src/simulate.c): see there */
CREATE FUNCTION hitl._simulate_run(source regclass, label_column name, feature_columns name[],
								   strategies text[], algorithm text, initial_labels integer,
								   batch_size integer, budget integer, repeats integer,
								   test_fraction double precision, options jsonb, seed integer)
RETURNS bigint
AS 'MODULE_PATHNAME', 'hitl_simulate_run' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION hitl._simulate_run(regclass, name, name[], text[], text, integer, integer,
									   integer, integer, double precision, jsonb, integer) IS
	'internal: reads the table''s labeled rows as the caller (the query of hitl._simulation_plan), replays the campaign and records it in the caller''s name (as the owner of hitl''s tables); returns its id.  Its progress is shown as model ''simulation <id>''';

CREATE FUNCTION hitl._simulation_split(source regclass, label_column name, feature_columns name[],
									   strategies text[], algorithm text, initial_labels integer,
									   batch_size integer, budget integer, repeats integer,
									   test_fraction double precision, options jsonb,
									   seed integer, repeat integer)
RETURNS TABLE (row_number integer, part text, label text, features double precision[])
AS 'MODULE_PATHNAME', 'hitl_simulation_split' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION hitl._simulation_split(regclass, name, name[], text[], text, integer,
										   integer, integer, integer, double precision, jsonb,
										   integer, integer) IS
	'internal: the held-out test rows, seed rows and pool rows of one repeat of a simulation on numbers and embeddings, for comparing with another implementation';

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
BEGIN
	IF source IS NULL OR label_column IS NULL OR strategies IS NULL OR algorithm IS NULL
	   OR initial_labels IS NULL OR batch_size IS NULL OR budget IS NULL OR repeats IS NULL
	   OR test_fraction IS NULL OR seed IS NULL THEN
		RAISE EXCEPTION 'the arguments of hitl.simulate may not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF algorithm NOT IN ('logistic', 'naive_bayes') THEN
		RAISE EXCEPTION 'unknown algorithm "%"', algorithm
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Known algorithms: logistic, naive_bayes.';
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
	IF 'committee' = ANY (strategies) AND algorithm = 'naive_bayes' THEN
		RAISE EXCEPTION 'strategy "committee" needs algorithm logistic'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Naive Bayes models have no committee: use another strategy.';
	END IF;
	RETURN hitl._simulate_run(source, label_column, feature_columns, strategies, algorithm,
							  initial_labels, batch_size, budget, repeats, test_fraction,
							  coalesce(options, '{}'), seed);
END
$$;
COMMENT ON FUNCTION hitl.simulate(regclass, name, name[], text[], text, integer, integer,
								  integer, integer, double precision, jsonb, integer) IS
	'replays an active-learning campaign on the labeled rows of a table for each strategy and repeat, and returns the id of the simulation (hitl.simulations, hitl.simulation_curves, hitl.simulation_summary)';

/*
 * Simulations under way: hitl._progress's reports named 'simulation <id>'
 * (shown, as those of trainings, to the members of the role running it
 * and the readers of its table); rows_done counts the rounds done of
 * rows_total (strategies x repeats x rounds).
 */
CREATE VIEW hitl.simulation_progress WITH (security_invoker = true) AS
	SELECT substr(p.model, 12)::bigint AS simulation, p.phase, p.rows_done AS rounds_done,
		   p.rows_total AS rounds_total, p.started_at, p.pid
	FROM hitl._progress() p
	WHERE p.model ~ '^simulation [0-9]+$';
COMMENT ON VIEW hitl.simulation_progress IS
	'simulations under way (with hitl in shared_preload_libraries): the rounds done of all of them (strategies x repeats x rounds), while training';
GRANT SELECT ON hitl.simulation_progress TO PUBLIC;

/*
 * Per simulation and strategy, over the repeats: the area under the
 * learning curve (accuracy against labels, by trapezoids, divided by the
 * labels from the seed to the budget: the mean accuracy over the
 * campaign), the labels at which a repeat first reaches 95% and 99% of
 * the full-data accuracy (the mean over the repeats that reach it, NULL
 * when none does, and how many do), and the final accuracy.
 *
 * Where the stopping rule would have stopped (as hitl.models.stop_suggested
 * turns true; hitl._stop_rule, 77): a repeat stops at the first round
 * whose kappa and those of every round over the last stop_window labels
 * (option, absent: 100) are all above the option stop_kappa (absent:
 * 0.99), the rounds' labels and kappas up to it given to the rule;
 * stop_labels and stop_accuracy are the means over the repeats that stop
 * (stopped of them), accuracy_given_up the mean of their final accuracy
 * at the budget less their accuracy at the stop.
 */
CREATE VIEW hitl.simulation_summary WITH (security_invoker = true) AS
WITH points AS (
	SELECT c.*, lag(c.labels) OVER w AS prev_labels, lag(c.accuracy) OVER w AS prev_accuracy,
		   array_agg(c.labels) OVER w AS labels_so_far, array_agg(c.kappa) OVER w AS kappas_so_far
	FROM hitl.simulation_curves c
	WINDOW w AS (PARTITION BY c.simulation, c.strategy, c.repeat ORDER BY c.round)
), stops AS (
	SELECT p.*, s.full_accuracy,
		   coalesce(hitl._stop_rule(p.labels_so_far, p.kappas_so_far, s.options), false) AS stop
	FROM points p JOIN hitl.simulations s ON s.id = p.simulation
), per_repeat AS (
	SELECT p.simulation, p.strategy, p.repeat,
		   coalesce(sum((p.labels - p.prev_labels) * (p.accuracy + p.prev_accuracy) / 2)
					/ nullif(max(p.labels) - min(p.labels), 0), avg(p.accuracy)) AS aulc,
		   min(p.labels) FILTER (WHERE p.accuracy >= 0.95 * p.full_accuracy) AS labels_95,
		   min(p.labels) FILTER (WHERE p.accuracy >= 0.99 * p.full_accuracy) AS labels_99,
		   (array_agg(p.accuracy ORDER BY p.round DESC))[1] AS final_accuracy,
		   (array_agg(p.labels ORDER BY p.round) FILTER (WHERE p.stop))[1] AS stop_labels,
		   (array_agg(p.accuracy ORDER BY p.round) FILTER (WHERE p.stop))[1] AS stop_accuracy
	FROM stops p
	GROUP BY p.simulation, p.strategy, p.repeat
)
SELECT simulation, strategy, count(*)::integer AS repeats,
	   avg(aulc) AS aulc, stddev_samp(aulc) AS aulc_stddev,
	   avg(labels_95)::double precision AS labels_95, count(labels_95)::integer AS reached_95,
	   avg(labels_99)::double precision AS labels_99, count(labels_99)::integer AS reached_99,
	   avg(final_accuracy) AS final_accuracy, stddev_samp(final_accuracy) AS final_accuracy_stddev,
	   avg(stop_labels)::double precision AS stop_labels, count(stop_labels)::integer AS stopped,
	   avg(stop_accuracy) AS stop_accuracy, avg(final_accuracy - stop_accuracy) AS accuracy_given_up
FROM per_repeat
GROUP BY simulation, strategy;
COMMENT ON VIEW hitl.simulation_summary IS
	'per simulation and strategy, over its repeats: area under the learning curve (mean and standard deviation), labels needed to reach 95% and 99% of the full-data accuracy (mean over the repeats that reach it, and their count), final accuracy; where the stopping rule (kappa above stop_kappa at every round over the last stop_window labels) would have stopped: labels and accuracy there (mean over the repeats that stop, and their count) and the accuracy given up against the budget';
COMMENT ON COLUMN hitl.simulation_summary.stop_labels IS
	'labels at the first round whose kappa and those of every round over the last stop_window labels (100 when absent) are above option stop_kappa (0.99 when absent), the mean over the repeats that stop';
COMMENT ON COLUMN hitl.simulation_summary.stopped IS 'the repeats in which the stopping rule stops';
COMMENT ON COLUMN hitl.simulation_summary.stop_accuracy IS
	'held-out accuracy at the stop, the mean over the repeats that stop';
COMMENT ON COLUMN hitl.simulation_summary.accuracy_given_up IS
	'final accuracy at the budget less the accuracy at the stop, the mean over the repeats that stop';
GRANT SELECT ON hitl.simulation_summary TO PUBLIC;

/* Text for an SVG document: &, < and > escaped */
CREATE FUNCTION hitl._svg_text(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT replace(replace(replace(t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')
$$;
COMMENT ON FUNCTION hitl._svg_text(text) IS 'internal: text escaped for an SVG (XML) document';

/*
 * The learning curves of a simulation as an SVG document: per strategy,
 * the mean held-out accuracy over the repeats against the labels, in a
 * band from the lowest to the highest repeat; the full-data accuracy as a
 * dashed line; axes with ticks, and a legend with each strategy's AULC.
 */
CREATE FUNCTION hitl.simulation_svg(simulation bigint) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	colors constant text[] := ARRAY['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd',
									'#8c564b', '#e377c2', '#17becf'];
	w constant integer := 800;
	h constant integer := 440;
	l constant integer := 64;		/* plot area: left, right, top, bottom */
	r constant integer := 560;
	t constant integer := 40;
	b constant integer := 380;
	sim hitl.simulations;
	x0 numeric;
	x1 numeric;
	y0 numeric;
	y1 numeric;
	fy numeric;
	svg text;
	s record;
	i integer := 0;
	k integer;
BEGIN
	SELECT * INTO sim FROM hitl.simulations WHERE id = simulation;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'simulation % does not exist', simulation
			USING ERRCODE = 'undefined_object',
				  HINT = 'A role sees the simulations of the roles it is a member of.';
	END IF;
	SELECT min(c.labels), max(c.labels), min(c.accuracy)::numeric, max(c.accuracy)::numeric
	INTO x0, x1, y0, y1 FROM hitl.simulation_curves c WHERE c.simulation = sim.id;
	IF x0 IS NULL THEN
		RAISE EXCEPTION 'simulation % has no curves', simulation
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	y0 := floor(least(y0, coalesce(sim.full_accuracy::numeric, y0)) * 10) / 10;
	y1 := least(1.0, ceil(greatest(y1, coalesce(sim.full_accuracy::numeric, y1)) * 10) / 10);
	IF y1 <= y0 THEN y1 := y0 + 0.1; END IF;
	IF x1 <= x0 THEN x1 := x0 + 1; END IF;
	svg := format('<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="sans-serif" font-size="12">', w, h, w, h)
		|| format('<rect width="%s" height="%s" fill="white"/>', w, h)
		|| format('<text x="%s" y="22" font-size="15">%s</text>', l,
				  hitl._svg_text(format('Simulation %s on %s: held-out accuracy (mean of %s repeats, band min to max)',
										sim.id, sim.source, sim.repeats)));
	/* axes, grid and ticks */
	svg := svg || format('<g stroke="#333"><line x1="%s" y1="%s" x2="%s" y2="%s"/><line x1="%s" y1="%s" x2="%s" y2="%s"/></g>',
						 l, b, r, b, l, t, l, b);
	FOR k IN 0..5 LOOP
		svg := svg || format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#ddd"/><text x="%s" y="%s" text-anchor="end">%s</text>',
							 l, round(b - k * (b - t) / 5.0, 1), r, round(b - k * (b - t) / 5.0, 1),
							 l - 6, round(b - k * (b - t) / 5.0 + 4, 1),
							 to_char(y0 + k * (y1 - y0) / 5, 'FM0.00'))
			|| format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333"/><text x="%s" y="%s" text-anchor="middle">%s</text>',
					  round(l + k * (r - l) / 5.0, 1), b, round(l + k * (r - l) / 5.0, 1), b + 5,
					  round(l + k * (r - l) / 5.0, 1), b + 19, round(x0 + k * (x1 - x0) / 5));
	END LOOP;
	svg := svg || format('<text x="%s" y="%s" text-anchor="middle">labels</text>', (l + r) / 2, b + 38)
		|| format('<text x="16" y="%s" text-anchor="middle" transform="rotate(-90 16 %s)">accuracy</text>',
				  (t + b) / 2, (t + b) / 2);
	IF sim.full_accuracy IS NOT NULL THEN
		fy := round(b - (sim.full_accuracy::numeric - y0) / (y1 - y0) * (b - t), 1);
		svg := svg || format('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#555" stroke-dasharray="6 4"/>',
							 l, fy, r, fy)
			|| format('<text x="%s" y="%s" fill="#555">all pool rows labeled: %s</text>', l + 6, fy - 5,
					  to_char(sim.full_accuracy, 'FM0.000'));
	END IF;
	/* per strategy: band, mean line, legend */
	FOR s IN
		WITH pts AS (
			SELECT c.strategy, c.round,
				   l + (avg(c.labels) - x0) / (x1 - x0) * (r - l) AS px,
				   b - (avg(c.accuracy)::numeric - y0) / (y1 - y0) * (b - t) AS pmean,
				   b - (min(c.accuracy)::numeric - y0) / (y1 - y0) * (b - t) AS plow,
				   b - (max(c.accuracy)::numeric - y0) / (y1 - y0) * (b - t) AS phigh
			FROM hitl.simulation_curves c WHERE c.simulation = sim.id
			GROUP BY c.strategy, c.round)
		SELECT p.strategy,
			   string_agg(round(p.px, 1) || ',' || round(p.pmean, 1), ' ' ORDER BY p.round) AS mean_line,
			   string_agg(round(p.px, 1) || ',' || round(p.phigh, 1), ' ' ORDER BY p.round)
			   || ' ' || string_agg(round(p.px, 1) || ',' || round(p.plow, 1), ' ' ORDER BY p.round DESC) AS band,
			   (SELECT m.aulc FROM hitl.simulation_summary m
				WHERE m.simulation = sim.id AND m.strategy = p.strategy) AS aulc
		FROM pts p GROUP BY p.strategy
		ORDER BY array_position(sim.strategies, p.strategy), p.strategy
	LOOP
		i := i + 1;
		svg := svg || format('<polygon points="%s" fill="%s" fill-opacity="0.18" stroke="none"/>',
							 s.band, colors[1 + (i - 1) % cardinality(colors)])
			|| format('<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>',
					  s.mean_line, colors[1 + (i - 1) % cardinality(colors)])
			|| format('<rect x="%s" y="%s" width="14" height="4" fill="%s"/><text x="%s" y="%s">%s</text>',
					  r + 12, t + 20 * i - 4, colors[1 + (i - 1) % cardinality(colors)], r + 32, t + 20 * i,
					  hitl._svg_text(format('%s (AULC %s)', s.strategy, to_char(s.aulc, 'FM0.000'))));
	END LOOP;
	RETURN svg || '</svg>';
END
$$;
COMMENT ON FUNCTION hitl.simulation_svg(bigint) IS
	'an SVG document of a simulation''s learning curves: mean accuracy per strategy against labels, a band from the lowest to the highest repeat, the full-data accuracy, axes and a legend';

CREATE FUNCTION hitl.drop_simulation(simulation bigint) RETURNS void
AS 'MODULE_PATHNAME', 'hitl_drop_simulation' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION hitl.drop_simulation(bigint) IS
	'deletes a simulation and its curves; for the members of the role that ran it';
