/* ------------------------------------------------------------------------
 * Tables that Citus distributes
 *
 * On a Citus coordinator a table can be distributed (its rows in shards on
 * the worker nodes), a reference table (a copy on every node) or a Citus
 * local table (on the coordinator, in Citus' metadata).  hitl's models do
 * not work on them yet: the label triggers would fire on the shards, on the
 * worker nodes, and rows are scored and queued by ctid, which holds only
 * within one shard.  create_model refuses such a table before it changes
 * anything.  hitl does not depend on Citus: without the citus extension in
 * the database no table is Citus', and its catalog is read only then.
 * ------------------------------------------------------------------------ */

/*
 * What Citus makes of a table: 'distributed', 'reference' or 'local',
 * or NULL when Citus is not in the database or the table is not in its
 * metadata (pg_dist_partition: partmethod 'h' hash, 'r' range or 'a'
 * append for distributed tables; 'n' for the others, with replication
 * model 't' for reference tables, and a colocation group for the
 * single-shard distributed tables of schema-based sharding).
 */
CREATE FUNCTION hitl._citus_table_kind(source regclass) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	kind text;
BEGIN
	IF source IS NULL
	   OR NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')
	   OR to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
		RETURN NULL;
	END IF;
	EXECUTE $q$
		SELECT CASE WHEN p.partmethod IN ('h', 'r', 'a') THEN 'distributed'
					WHEN p.repmodel = 't' THEN 'reference'
					WHEN p.colocationid <> 0 THEN 'distributed'
					ELSE 'local' END
		FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = $1$q$
		INTO kind USING source;
	RETURN kind;
END
$$;
COMMENT ON FUNCTION hitl._citus_table_kind(regclass) IS
	'internal: ''distributed'', ''reference'' or ''local'' for a table in Citus'' metadata, NULL otherwise (and without Citus)';
