-- Shared set-up of the pg_regress suites (the extension is created by
-- pg_regress --load-extension=hitl).

-- Runs a statement and shows how it failed: SQLSTATE, message, detail, hint.
CREATE FUNCTION err(stmt text) RETURNS TABLE (state text, message text, detail text, hint text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	state := '-----';
	message := 'no error';
	RETURN NEXT;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
		detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
	RETURN NEXT;
END
$$;

-- Statlog vehicle silhouettes: 846 rows, 18 features, 4 classes; id is the
-- 1-based row number of the file.
CREATE TABLE vehicle_raw (
	comp int, circ int, d_circ int, rad_ra int, pr_axis_ra int, max_l_ra int,
	scat_ra int, elong int, pr_axis_rect int, max_l_rect int, sc_var_maxis int,
	sc_var_minis int, ra_gyr int, skew_maxis int, skew_minis int, kurt_minis int,
	kurt_maxis int, holl_ra int, class text);
\copy vehicle_raw FROM 'test/data/vehicle.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE vehicle AS SELECT row_number() OVER () AS id, * FROM vehicle_raw;
ALTER TABLE vehicle ADD PRIMARY KEY (id);
DROP TABLE vehicle_raw;
SELECT count(*), count(DISTINCT class) FROM vehicle;

-- the feature columns, for create_model calls
CREATE FUNCTION vehicle_features() RETURNS name[] LANGUAGE sql IMMUTABLE AS $$
	SELECT ARRAY['comp', 'circ', 'd_circ', 'rad_ra', 'pr_axis_ra', 'max_l_ra',
				 'scat_ra', 'elong', 'pr_axis_rect', 'max_l_rect', 'sc_var_maxis',
				 'sc_var_minis', 'ra_gyr', 'skew_maxis', 'skew_minis', 'kurt_minis',
				 'kurt_maxis', 'holl_ra']::name[]
$$;
