/* ------------------------------------------------------------------------
 * 73 Assignment: rows for annotators who work at the same time
 *
 * hitl.next_rows reserves the most useful unlabeled rows of a model's
 * review queue for the calling role (hitl.reservations, one role per row
 * at a time, for the option reservation_timeout), so that two people
 * labeling at once are not given the same rows; hitl.skip lets a person
 * pass on a row (hitl.skips, with a reason), which then leaves that
 * person's batches, and everyone's once skip_limit roles skipped it.
 * Both need UPDATE on the label column, as labeling does, and write
 * hitl's tables as their owner (src/assign.c).
 * ------------------------------------------------------------------------ */

CREATE TABLE hitl.reservations (
	model				text NOT NULL REFERENCES hitl.models (name) ON DELETE CASCADE,
	row_key				jsonb NOT NULL,
	role				name NOT NULL,
	reserved_at			timestamptz NOT NULL,
	expires_at			timestamptz NOT NULL,
	PRIMARY KEY (model, row_key, role)
);
CREATE INDEX reservations_role ON hitl.reservations (model, role);
COMMENT ON TABLE hitl.reservations IS
	'rows of a model''s review queue reserved by hitl.next_rows for the roles that asked, until expires_at: one role per row, or as many as the row still lacks answers (annotators_per_row)';
COMMENT ON COLUMN hitl.reservations.row_key IS
	'the row''s primary key as jsonb';
COMMENT ON COLUMN hitl.reservations.role IS
	'the role the row is reserved for';
COMMENT ON COLUMN hitl.reservations.expires_at IS
	'when the reservation ends: reserved_at plus the model''s option reservation_timeout';

CREATE TABLE hitl.skips (
	model				text NOT NULL REFERENCES hitl.models (name) ON DELETE CASCADE,
	row_key				jsonb NOT NULL,
	role				name NOT NULL,
	reason				text CHECK (length(reason) <= 1000),
	skipped_at			timestamptz NOT NULL,
	PRIMARY KEY (model, row_key, role)
);
COMMENT ON TABLE hitl.skips IS
	'rows an annotator passed on through hitl.skip: who, when and why (a role skipping a row again replaces its reason)';
COMMENT ON COLUMN hitl.skips.row_key IS
	'the row''s primary key as jsonb';
COMMENT ON COLUMN hitl.skips.role IS
	'the role that skipped the row';
COMMENT ON COLUMN hitl.skips.reason IS
	'the reason given, or NULL';

SELECT pg_catalog.pg_extension_config_dump('hitl.skips', '');

/*
 * One row per model, locked by hitl.next_rows until the caller's
 * transaction ends: callers of one model take their rows one after the
 * other, so that two never wait on each other's reservations (a deadlock
 * when each holds a row the other wants).
 */
CREATE TABLE hitl.assignment_locks (
	model				text PRIMARY KEY REFERENCES hitl.models (name) ON DELETE CASCADE
);
COMMENT ON TABLE hitl.assignment_locks IS
	'internal: the row of a model that hitl.next_rows locks, so that its callers reserve rows one after the other';
ALTER TABLE hitl.assignment_locks ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON hitl.assignment_locks FROM PUBLIC;

/* Read by everyone, row-level security deciding which rows; written by hitl's C code */
ALTER TABLE hitl.reservations ENABLE ROW LEVEL SECURITY;
ALTER TABLE hitl.skips ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON hitl.reservations, hitl.skips FROM PUBLIC;
GRANT SELECT ON hitl.reservations, hitl.skips TO PUBLIC;

CREATE POLICY reservations_read ON hitl.reservations FOR SELECT
	USING (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
							  WHERE NOT pg_catalog.row_security_active(m.source::oid)))
		   OR (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
								  WHERE pg_catalog.row_security_active(m.source::oid)))
			   AND hitl._source_row_visible(model, row_key)));
COMMENT ON POLICY reservations_read ON hitl.reservations IS
	'the reservations of a model are visible to the roles that see the model, each only when the role may see its row';

CREATE POLICY skips_read ON hitl.skips FOR SELECT
	USING (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
							  WHERE NOT pg_catalog.row_security_active(m.source::oid)))
		   OR (model = ANY (ARRAY(SELECT m.name FROM hitl.models m
								  WHERE pg_catalog.row_security_active(m.source::oid)))
			   AND hitl._source_row_visible(model, row_key)));
COMMENT ON POLICY skips_read ON hitl.skips IS
	'the skips of a model are visible to the roles that see the model, each only when the role may see its row';

CREATE FUNCTION hitl.next_rows(model text, n integer DEFAULT 10)
RETURNS TABLE (row_key jsonb, rank integer, prediction text, confidence float8,
			   uncertainty float8, reserved_until timestamptz)
	AS 'MODULE_PATHNAME', 'hitl_next_rows'
	LANGUAGE C CALLED ON NULL INPUT VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl.next_rows(text, integer) IS
	'reserve up to n unlabeled rows of the model''s review queue for the calling role, rows it already holds first, and return them in queue order; its other reservations of the model are released';

CREATE FUNCTION hitl.skip(model text, row_key jsonb, reason text DEFAULT NULL) RETURNS void
	AS 'MODULE_PATHNAME', 'hitl_skip'
	LANGUAGE C CALLED ON NULL INPUT VOLATILE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION hitl.skip(text, jsonb, text) IS
	'pass on an unlabeled row: logged in hitl.skips with the reason, it leaves the calling role''s batches of hitl.next_rows, and everyone''s once skip_limit roles skipped it';
