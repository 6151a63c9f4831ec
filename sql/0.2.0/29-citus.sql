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

/*
 * Is the relation a shard of a Citus table, on this node?  A model's label
 * triggers go with its table's shards when Citus distributes the table
 * (citus.enable_unsafe_triggers on), and fire there, where hitl.models has
 * no row of the model: they refuse the change (0A000) instead of leaving it
 * out of the label log.
 */
CREATE FUNCTION hitl._citus_shard(rel regclass) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	known boolean;
BEGIN
	IF rel IS NULL
	   OR NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')
	   OR to_regprocedure('pg_catalog.relation_is_a_known_shard(pg_catalog.regclass)') IS NULL THEN
		RETURN false;
	END IF;
	EXECUTE 'SELECT pg_catalog.relation_is_a_known_shard($1)' INTO known USING rel;
	RETURN coalesce(known, false);
END
$$;
COMMENT ON FUNCTION hitl._citus_shard(regclass) IS
	'internal: true for a shard of a Citus table on this node (pg_catalog.relation_is_a_known_shard), false otherwise (and without Citus)';

/*
 * Is this database a Citus worker node (its group is not the
 * coordinator's)?  Citus runs a function of a distributed table's rows on
 * the worker nodes, where hitl has no models: hitl.predict and the like
 * then say so (0A000) rather than that the model does not exist.
 */
CREATE FUNCTION hitl._citus_worker_node() RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	worker boolean;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')
	   OR to_regclass('pg_catalog.pg_dist_local_group') IS NULL THEN
		RETURN false;
	END IF;
	EXECUTE 'SELECT groupid <> 0 FROM pg_catalog.pg_dist_local_group' INTO worker;
	RETURN coalesce(worker, false);
END
$$;
COMMENT ON FUNCTION hitl._citus_worker_node() IS
	'internal: true on a Citus worker node (pg_dist_local_group''s group is not 0), false otherwise (and without Citus)';

/*
 * Raise 0A000 (the message of hitl.train's) for a model whose table Citus
 * distributed after the model was made: for the functions written in SQL
 * that would read or write its rows (hitl.slice_metrics,
 * hitl.refresh_term_cache), as the C ones check it themselves.
 */
CREATE FUNCTION hitl._check_not_citus(model text) RETURNS void
AS 'MODULE_PATHNAME', 'hitl_check_not_citus'
LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION hitl._check_not_citus(text) IS
	'internal: raise 0A000 when Citus distributed the table of the model after it was made';
