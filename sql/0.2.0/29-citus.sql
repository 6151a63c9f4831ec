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

/* ------------------------------------------------------------------------
 * Models on distributed tables
 *
 * A model can be built on a hash-distributed table.  The model is on the
 * coordinator; its table's rows are in shards on the worker nodes, and
 * Citus creates the model's label triggers on every shard, where they fire
 * (citus.enable_unsafe_triggers, which hitl sets for its own statements).
 * So that they, and the scoring that runs where the rows are, know the
 * model, each worker node holds a mirror of it: the row of hitl.models and
 * the version being scored, sent by the coordinator when the model is
 * made and before each scoring (hitl._citus_mirror).  A worker node's
 * hitl worker leaves mirrors alone.
 *
 * The label triggers on a shard write the worker node's hitl.label_log.
 * The coordinator takes those entries into its own log
 * (hitl._citus_pull_labels): its hitl worker does so every
 * hitl.citus_poll_interval while a distributed model exists, and
 * hitl.wait before it waits.  The worker node deletes an entry once the
 * coordinator has committed it (hitl.citus_label_pulls keeps what each
 * node gave, until the next pull), so that no entry is lost or taken
 * twice when a pull fails halfway.
 * ------------------------------------------------------------------------ */

/*
 * The distribution column of a hash-distributed table, or NULL (another
 * kind of Citus table, or a plain table, or no Citus).
 */
CREATE FUNCTION hitl._citus_distribution_column(source regclass) RETURNS name
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	col name;
BEGIN
	IF source IS NULL
	   OR NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')
	   OR to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
		RETURN NULL;
	END IF;
	EXECUTE $q$
		SELECT pg_catalog.column_to_column_name(p.logicalrelid, p.partkey)
		FROM pg_catalog.pg_dist_partition p
		WHERE p.logicalrelid = $1 AND p.partmethod = 'h'$q$
		INTO col USING source;
	RETURN col;
END
$$;
COMMENT ON FUNCTION hitl._citus_distribution_column(regclass) IS
	'internal: the distribution column of a hash-distributed Citus table, NULL for any other table (and without Citus)';

/*
 * The distributed table of which the relation is a shard on this node, or
 * NULL.  A shard is named <table>_<shard id> (the table's name shortened
 * when that is too long), in the table's schema, placed on this node, and
 * owned by the table's owner.
 */
CREATE FUNCTION hitl._citus_shard_parent(rel regclass) RETURNS regclass
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
/* Citus hides its shards from pg_class in a client's session */
SET citus.override_table_visibility = off
AS $$
DECLARE
	parent regclass;
	shard bigint;
BEGIN
	IF NOT hitl._citus_shard(rel) THEN
		RETURN NULL;
	END IF;
	shard := substring((SELECT c.relname FROM pg_class c WHERE c.oid = rel) FROM '_([0-9]+)$')::bigint;
	/*
	 * A name is not enough: any role that may create a table in the schema
	 * can name one like a shard.  The shard must be placed on this node, be
	 * named as Citus names it, and be an ordinary table of the distributed
	 * table's owner.
	 */
	EXECUTE $q$
		SELECT s.logicalrelid FROM pg_catalog.pg_dist_shard s
		JOIN pg_catalog.pg_class p ON p.oid = s.logicalrelid
		JOIN pg_catalog.pg_class c ON c.oid = $2
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE s.shardid = $1 AND c.relnamespace = p.relnamespace
		  AND c.relkind = 'r' AND c.relowner = p.relowner
		  AND pg_catalog.shard_name(s.logicalrelid, s.shardid)
			  IN (pg_catalog.quote_ident(c.relname), pg_catalog.format('%I.%I', n.nspname, c.relname))
		  AND EXISTS (SELECT 1 FROM pg_catalog.pg_dist_placement pl
					  WHERE pl.shardid = s.shardid
						AND pl.groupid = (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g))$q$
		INTO parent USING shard, rel;
	RETURN parent;
END
$$;
COMMENT ON FUNCTION hitl._citus_shard_parent(regclass) IS
	'internal: the Citus table of which the relation is a shard on this node, or NULL';

/*
 * Is the calling session's role the one the coordinator's hitl connects
 * as, the owner of hitl's tables (or a superuser)?  Only it keeps the
 * mirrors and takes the label entries of a worker node: the coordinator
 * sends them from its own SECURITY DEFINER functions, and Citus connects
 * as their owner.  session_user, as the functions that ask are SECURITY
 * DEFINER themselves.
 */
CREATE FUNCTION hitl._citus_may_mirror() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_has_role(session_user,
					   (SELECT c.relowner FROM pg_class c WHERE c.oid = 'hitl.models'::regclass),
					   'MEMBER')
$$;
COMMENT ON FUNCTION hitl._citus_may_mirror() IS
	'internal: is the session''s role the owner of hitl''s tables (or a superuser), as whom a Citus coordinator''s hitl keeps the mirrors of the worker nodes';

/*
 * Is the table one Citus distributes by hash, by Citus' metadata alone (the
 * table itself is not opened: a transaction of the coordinator's may hold
 * a lock on it on this node)?  False without Citus.
 */
CREATE FUNCTION hitl._citus_hash_distributed(source regclass) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	found boolean;
BEGIN
	IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
		RETURN false;
	END IF;
	EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = $1 AND p.partmethod = ''h'')'
		INTO found USING source;
	RETURN found;
END
$$;
COMMENT ON FUNCTION hitl._citus_hash_distributed(regclass) IS
	'internal: whether Citus distributes the table by hash, from pg_dist_partition alone (false without Citus)';

/*
 * Is a model on this table a mirror: is this a worker node and the table
 * one Citus distributes by hash?  hitl's event triggers leave mirrors
 * alone: the DDL Citus passes on from the coordinator is checked there,
 * and a mirror changed by it would block the coordinator's next mirroring.
 */
CREATE FUNCTION hitl._citus_is_mirror(source regclass) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT hitl._citus_worker_node() AND hitl._citus_hash_distributed(source)
$$;
COMMENT ON FUNCTION hitl._citus_is_mirror(regclass) IS
	'internal: true on a Citus worker node for a hash-distributed table, whose models there are mirrors of the coordinator''s';

/*
 * On a worker node: make the mirror of a model what the coordinator sent,
 * its row of hitl.models and its current version (or none), replacing what
 * was there.  Rows are copied as they are (no trigger of hitl's tables
 * fires), and the backends' model caches are invalidated after.
 */
CREATE FUNCTION hitl._citus_mirror_receive(model jsonb, version jsonb) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m hitl.models;
	v hitl.model_versions;
BEGIN
	IF NOT hitl._citus_worker_node() THEN
		RAISE EXCEPTION 'hitl._citus_mirror_receive() runs on Citus worker nodes only'
			USING ERRCODE = 'feature_not_supported';
	END IF;
	IF NOT hitl._citus_may_mirror() THEN
		RAISE EXCEPTION 'permission denied for the mirrors of this node'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only the owner of hitl''s tables, as whom the coordinator connects, keeps the mirrors of a worker node.';
	END IF;
	m := jsonb_populate_record(NULL::hitl.models, model);
	/* the coordinator's transaction may hold a lock on the table here */
	IF NOT hitl._citus_hash_distributed(m.source) THEN
		RAISE EXCEPTION 'table % of model "%" is not a distributed table on this node', m.source, m.name
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	IF version IS NOT NULL THEN
		v := jsonb_populate_record(NULL::hitl.model_versions, version);
		IF v.model IS DISTINCT FROM m.name THEN
			RAISE EXCEPTION 'version of model "%" sent with model "%"', v.model, m.name
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END IF;
	/* a model of this node's own of that name is not replaced */
	IF EXISTS (SELECT 1 FROM hitl.models mm WHERE mm.name = m.name
			   AND NOT hitl._citus_hash_distributed(mm.source)) THEN
		RAISE EXCEPTION 'model "%" of this worker node is not a mirror', m.name
			USING ERRCODE = 'duplicate_object',
				  HINT = 'Drop the model of the same name on the worker node.';
	END IF;
	PERFORM set_config('session_replication_role', 'replica', true);
	/* the first mirror of the name: no entry of another model's stays under it */
	IF NOT EXISTS (SELECT 1 FROM hitl.models mm WHERE mm.name = m.name) THEN
		DELETE FROM hitl.label_log l WHERE l.model = m.name;
	END IF;
	DELETE FROM hitl.model_versions mv WHERE mv.model = m.name;
	DELETE FROM hitl.models mm WHERE mm.name = m.name;
	INSERT INTO hitl.models SELECT (m).*;
	IF version IS NOT NULL THEN
		INSERT INTO hitl.model_versions SELECT (v).*;
	END IF;
	PERFORM set_config('session_replication_role', 'origin', true);
	/* the statement triggers that invalidate the model caches */
	UPDATE hitl.models mm SET name = mm.name WHERE false;
	UPDATE hitl.model_versions mv SET model = mv.model WHERE false;
END
$$;
COMMENT ON FUNCTION hitl._citus_mirror_receive(jsonb, jsonb) IS
	'internal: on a Citus worker node, replaces the mirror of a model (its row and current version) with what the coordinator sent';

/* Wake the database's worker at commit, for a round that rescores no table unasked */
CREATE FUNCTION hitl._wake_work() RETURNS void
	AS 'MODULE_PATHNAME', 'hitl_wake_work' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION hitl._wake_work() IS
	'internal: wakes this database''s hitl worker at commit, for a round that rescores only the models that ask for it';

/*
 * On the coordinator: send the model's row and its current version to every
 * worker node, as the owner of hitl's tables (Citus connects as it).
 * Raises the first node's error when one fails.  hitl calls it once it has
 * checked that the caller may change the model.
 */
CREATE FUNCTION hitl._citus_mirror(model text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m jsonb;
	v jsonb;
	failed record;
BEGIN
	SELECT to_jsonb(mm) INTO m FROM hitl.models mm WHERE mm.name = model;
	IF m IS NULL THEN
		RAISE EXCEPTION 'model "%" does not exist', model USING ERRCODE = 'undefined_object';
	END IF;
	SELECT to_jsonb(mv) INTO v FROM hitl.model_versions mv
	WHERE mv.model = _citus_mirror.model AND mv.version = (m ->> 'current_version')::integer;
	EXECUTE $q$
		SELECT r.nodename, r.nodeport, r.result
		FROM pg_catalog.run_command_on_workers($1) r
		WHERE NOT r.success ORDER BY r.nodename, r.nodeport LIMIT 1$q$
		INTO failed
		USING format('SELECT hitl._citus_mirror_receive(%L::jsonb, %L::jsonb)', m, v);
	IF failed IS NOT NULL THEN
		RAISE EXCEPTION 'could not send model "%" to Citus worker node %:%', model, failed.nodename, failed.nodeport
			USING ERRCODE = 'connection_failure', DETAIL = failed.result;
	END IF;
	/* the database's worker takes the model's labels from the nodes from now on */
	PERFORM hitl._wake_work();
END
$$;
COMMENT ON FUNCTION hitl._citus_mirror(text) IS
	'internal: sends a model on a distributed table (its row and current version) to every Citus worker node';
REVOKE ALL ON FUNCTION hitl._citus_mirror(text) FROM PUBLIC;

/*
 * The coordinator's mirroring for create_model, which runs as its caller:
 * for a role that may change the model (42501 otherwise), as the owner of
 * hitl's tables.
 */
CREATE FUNCTION hitl._citus_send_model(model text) RETURNS void
	AS 'MODULE_PATHNAME', 'hitl_citus_send_model' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION hitl._citus_send_model(text) IS
	'internal: sends a model on a distributed table to the Citus worker nodes, for a role that may change it';

/*
 * What each worker node gave at the last pull of a model's label entries,
 * by node group: the node deletes them at the next pull, once this row
 * (written with the entries, in one transaction) says they are in the
 * coordinator's log.
 */
CREATE TABLE hitl.citus_label_pulls (
	model				text NOT NULL,
	node_group			integer NOT NULL,
	taken				bigint[] NOT NULL,
	PRIMARY KEY (model, node_group)
);
COMMENT ON TABLE hitl.citus_label_pulls IS
	'the label log entries each Citus worker node gave at the last pull of a model''s entries (deleted there at the next pull)';
REVOKE ALL ON hitl.citus_label_pulls FROM PUBLIC;
/* dumped with the label log, so that a restored coordinator takes no entry twice */
SELECT pg_catalog.pg_extension_config_dump('hitl.citus_label_pulls', '');

/*
 * On a worker node: delete the model's entries that the coordinator has
 * committed (done, by node group), and return the next ones, at most
 * max_entries, leaving out those it took earlier in the same pull (skip),
 * as {"group": <node group>, "entries": [...]}.  With count_only, only
 * {"group", "count"} of the entries not done, deleting nothing.
 */
CREATE FUNCTION hitl._citus_take_labels(model text, done jsonb, skip jsonb, max_entries integer,
										count_only boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	grp integer;
	mine bigint[];
	skipped bigint[];
	entries jsonb;
	n bigint;
BEGIN
	IF NOT hitl._citus_worker_node() THEN
		RAISE EXCEPTION 'hitl._citus_take_labels() runs on Citus worker nodes only'
			USING ERRCODE = 'feature_not_supported';
	END IF;
	IF NOT hitl._citus_may_mirror() THEN
		RAISE EXCEPTION 'permission denied for the label log of model "%" on this node', model
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only the owner of hitl''s tables, as whom the coordinator connects, takes the entries of a worker node.';
	END IF;
	EXECUTE 'SELECT groupid FROM pg_catalog.pg_dist_local_group' INTO grp;
	mine := ARRAY(SELECT jsonb_array_elements_text(coalesce(done -> grp::text, '[]'))::bigint);
	skipped := ARRAY(SELECT jsonb_array_elements_text(coalesce(skip -> grp::text, '[]'))::bigint);
	IF count_only THEN
		SELECT count(*) INTO n FROM hitl.label_log l
		WHERE l.model = _citus_take_labels.model AND l.id <> ALL (mine);
		RETURN jsonb_build_object('group', grp, 'count', n)::text;
	END IF;
	DELETE FROM hitl.label_log l WHERE l.model = _citus_take_labels.model AND l.id = ANY (mine);
	SELECT coalesce(jsonb_agg(to_jsonb(e) ORDER BY e.id), '[]') INTO entries
	FROM (SELECT * FROM hitl.label_log l
		  WHERE l.model = _citus_take_labels.model AND l.id <> ALL (skipped)
		  ORDER BY l.id LIMIT max_entries) e;
	RETURN jsonb_build_object('group', grp, 'entries', entries)::text;
END
$$;
COMMENT ON FUNCTION hitl._citus_take_labels(text, jsonb, jsonb, integer, boolean) IS
	'internal: on a Citus worker node, deletes the label log entries of a model the coordinator has and returns the next ones';

/*
 * On the coordinator: take the label log entries of a model from the
 * worker nodes into hitl.label_log, in batches of 10,000 per node, and
 * return how many came.  A node deletes the entries of the last pull that
 * committed, and only those: a pull that fails leaves its entries there
 * for the next one.  Pulls of one model are serialised (an advisory lock
 * of the transaction).  It runs as the owner of hitl's tables, who alone
 * writes the log, and Citus connects to the nodes as that role.
 */
CREATE FUNCTION hitl._citus_pull_labels(model text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	done jsonb;
	skip jsonb := '{}';
	answer record;
	got jsonb;
	grp text;
	n bigint;
	total bigint := 0;
	cols text;
BEGIN
	IF hitl._citus_distribution_column((SELECT mm.source FROM hitl.models mm WHERE mm.name = model)) IS NULL THEN
		RETURN 0;
	END IF;
	PERFORM pg_advisory_xact_lock(hashtext('hitl._citus_pull_labels'), hashtext(model));
	SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
	FROM pg_attribute a
	WHERE a.attrelid = 'hitl.label_log'::regclass AND a.attnum > 0 AND NOT a.attisdropped
	  AND a.attname NOT IN ('id', 'txid');
	SELECT coalesce(jsonb_object_agg(p.node_group::text, to_jsonb(p.taken)), '{}') INTO done
	FROM hitl.citus_label_pulls p WHERE p.model = _citus_pull_labels.model;
	PERFORM set_config('hitl_citus.pulling_labels', 'on', true);
	LOOP
		n := 0;
		FOR answer IN
			EXECUTE 'SELECT r.nodename, r.nodeport, r.success, r.result FROM pg_catalog.run_command_on_workers($1) r'
			USING format('SELECT hitl._citus_take_labels(%L, %L::jsonb, %L::jsonb, 10000)', model, done, skip)
		LOOP
			IF NOT answer.success THEN
				RAISE EXCEPTION 'could not take the labels of model "%" from Citus worker node %:%',
								model, answer.nodename, answer.nodeport
					USING ERRCODE = 'connection_failure', DETAIL = answer.result;
			END IF;
			got := answer.result::jsonb;
			grp := got ->> 'group';
			CONTINUE WHEN jsonb_array_length(got -> 'entries') = 0;
			EXECUTE format('INSERT INTO hitl.label_log (%s) SELECT %s FROM jsonb_populate_recordset(NULL::hitl.label_log, $1) ORDER BY id',
						   cols, cols)
				USING got -> 'entries';
			skip := jsonb_set(skip, ARRAY[grp],
							  coalesce(skip -> grp, '[]') || (SELECT jsonb_agg(e -> 'id') FROM jsonb_array_elements(got -> 'entries') e));
			n := n + jsonb_array_length(got -> 'entries');
		END LOOP;
		total := total + n;
		EXIT WHEN n = 0;
	END LOOP;
	/* what was done is deleted now on the nodes that answered; what was taken, next time */
	DELETE FROM hitl.citus_label_pulls p WHERE p.model = _citus_pull_labels.model;
	INSERT INTO hitl.citus_label_pulls (model, node_group, taken)
	SELECT model, k::integer, ARRAY(SELECT jsonb_array_elements_text(v)::bigint)
	FROM jsonb_each(skip) AS s(k, v);
	PERFORM set_config('hitl_citus.pulling_labels', 'off', true);
	RETURN total;
END
$$;
COMMENT ON FUNCTION hitl._citus_pull_labels(text) IS
	'internal: takes the label log entries of a model on a distributed table from the Citus worker nodes into hitl.label_log; returns how many came';
REVOKE ALL ON FUNCTION hitl._citus_pull_labels(text) FROM PUBLIC;

/*
 * A row's scores under a version of a model, as the scoring of a
 * distributed table writes them: Citus runs hitl._score_row on the node
 * that holds the row, in the UPDATE it sends to each shard.  It is
 * IMMUTABLE, which Citus asks of a function of a row in an UPDATE: for a
 * model and a version the scores depend only on the row (a version never
 * changes), and a node whose mirror holds another version raises 55000
 * instead of scoring with it.
 */
CREATE TYPE hitl.row_score AS (prediction text, confidence float8, uncertainty float8);
COMMENT ON TYPE hitl.row_score IS
	'internal: the scores of one row (hitl._score_row)';

CREATE FUNCTION hitl._score_row(model text, version integer, "row" record) RETURNS hitl.row_score
	AS 'MODULE_PATHNAME', 'hitl_score_row' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION hitl._score_row(text, integer, record) IS
	'internal: prediction, confidence and uncertainty of a row of a model''s table under a version, on the node that holds the row';

/*
 * create_model's check of what a model on a distributed table can be:
 * number and array features, one annotator per row, and a strategy that
 * ranks rows by their own scores (the queue is the merge of the shards'
 * most uncertain rows).  Nothing for another table.
 */
CREATE FUNCTION hitl._citus_check_model(source regclass, has_text boolean, strategy text,
										options jsonb) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	what text;
BEGIN
	IF hitl._citus_worker_node() THEN
		RAISE EXCEPTION 'models are made on the Citus coordinator, not on a worker node'
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'A worker node holds mirrors of the coordinator''s models on distributed tables, under their names.',
				  HINT = 'Connect to the coordinator to make the model.';
	END IF;
	IF hitl._citus_distribution_column(source) IS NULL THEN
		RETURN;
	END IF;
	what := CASE
		WHEN has_text THEN 'text features'
		WHEN strategy NOT IN ('margin', 'least_confidence', 'entropy') THEN format('strategy %L', strategy)
		WHEN coalesce((options ->> 'annotators_per_row')::integer, 1) > 1 THEN 'several annotators per row'
		WHEN options ? 'auto_label_precision' THEN 'auto-labeling (option auto_label_precision)'
		END;
	IF what IS NOT NULL THEN
		RAISE EXCEPTION 'a model on distributed table % cannot have %', source, what
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'On a distributed table, hitl scores rows where they are, with number and array features, one annotator per row, and the strategies margin, least_confidence and entropy.',
				  HINT = 'Build this model on a plain table (undistribute_table() makes one of it).';
	END IF;
END
$$;
COMMENT ON FUNCTION hitl._citus_check_model(regclass, boolean, text, jsonb) IS
	'internal: create_model''s check of a model on a distributed table (no text features, one annotator per row, a strategy of the rows'' own scores)';

/*
 * What hitl.wait waits for on a model of a distributed table: the entries
 * of the coordinator's log and those the worker nodes hold that it has not
 * taken yet.  The log is counted, and what each node gave at the last pull
 * read, in one snapshot, so that a pull committing meanwhile is counted
 * once.
 */
CREATE FUNCTION hitl._citus_wait_target(model text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	logged bigint;
	done jsonb;
	answer record;
BEGIN
	SELECT (SELECT count(*) FROM hitl.label_log l WHERE l.model = _citus_wait_target.model),
		   (SELECT coalesce(jsonb_object_agg(p.node_group::text, to_jsonb(p.taken)), '{}')
			FROM hitl.citus_label_pulls p WHERE p.model = _citus_wait_target.model)
	INTO logged, done;
	FOR answer IN
		EXECUTE 'SELECT r.nodename, r.nodeport, r.success, r.result FROM pg_catalog.run_command_on_workers($1) r'
		USING format('SELECT hitl._citus_take_labels(%L, %L::jsonb, ''{}''::jsonb, 0, true)', model, done)
	LOOP
		IF NOT answer.success THEN
			RAISE EXCEPTION 'could not count the labels of model "%" on Citus worker node %:%',
							model, answer.nodename, answer.nodeport
				USING ERRCODE = 'connection_failure', DETAIL = answer.result;
		END IF;
		logged := logged + (answer.result::jsonb ->> 'count')::bigint;
	END LOOP;
	RETURN logged;
END
$$;
COMMENT ON FUNCTION hitl._citus_wait_target(text) IS
	'internal: the label log entries of a model on a distributed table, on the coordinator and not yet taken from the worker nodes';
REVOKE ALL ON FUNCTION hitl._citus_wait_target(text) FROM PUBLIC;

/*
 * On a worker node: remove the mirror of a model dropped on the
 * coordinator, with the label log entries its triggers left there.
 */
CREATE FUNCTION hitl._citus_forget_receive(model text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m hitl.models;
BEGIN
	IF NOT hitl._citus_worker_node() THEN
		RAISE EXCEPTION 'hitl._citus_forget_receive() runs on Citus worker nodes only'
			USING ERRCODE = 'feature_not_supported';
	END IF;
	IF NOT hitl._citus_may_mirror() THEN
		RAISE EXCEPTION 'permission denied for the mirrors of this node'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only the owner of hitl''s tables, as whom the coordinator connects, keeps the mirrors of a worker node.';
	END IF;
	SELECT * INTO m FROM hitl.models mm WHERE mm.name = model;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	PERFORM set_config('session_replication_role', 'replica', true);
	DELETE FROM hitl.label_log l WHERE l.model = m.name;
	DELETE FROM hitl.model_versions mv WHERE mv.model = m.name;
	DELETE FROM hitl.models mm WHERE mm.name = m.name;
	PERFORM set_config('session_replication_role', 'origin', true);
	UPDATE hitl.models mm SET name = mm.name WHERE false;
END
$$;
COMMENT ON FUNCTION hitl._citus_forget_receive(text) IS
	'internal: on a Citus worker node, removes the mirror of a dropped model and its label log entries';

/*
 * On the coordinator, for a model being dropped (the trigger of
 * hitl.models that deletes its log): remove its mirrors from the worker
 * nodes, and what the last pull took.  The worker nodes are told at once,
 * not at commit: should the drop roll back, the model gets its mirrors
 * again at its next scoring, and until then its label triggers refuse
 * changes (0A000) rather than lose them.
 */
CREATE FUNCTION hitl._citus_forget(model text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	failed record;
BEGIN
	DELETE FROM hitl.citus_label_pulls p WHERE p.model = _citus_forget.model;
	EXECUTE $q$
		SELECT r.nodename, r.nodeport, r.result
		FROM pg_catalog.run_command_on_workers($1) r
		WHERE NOT r.success ORDER BY r.nodename, r.nodeport LIMIT 1$q$
		INTO failed
		USING format('SELECT hitl._citus_forget_receive(%L)', model);
	IF failed IS NOT NULL THEN
		RAISE WARNING 'the mirror of model "%" stays on Citus worker node %:%', model, failed.nodename, failed.nodeport
			USING DETAIL = failed.result,
				  HINT = 'It is harmless: no trigger uses it.  Run SELECT hitl._citus_forget_receive(...) there to remove it.';
	END IF;
END
$$;
COMMENT ON FUNCTION hitl._citus_forget(text) IS
	'internal: removes the mirrors of a dropped model from the Citus worker nodes';
REVOKE ALL ON FUNCTION hitl._citus_forget(text) FROM PUBLIC;

/*
 * The review view of a model whose table Citus distributed after the model
 * was made joins the queue to the table row by row, which Citus refuses:
 * before the first scoring on the distributed table it is made again in
 * the form for distributed tables (same columns, so its owner and grants
 * stay), and so are its audit views (the audit queue alone: no machine
 * labels and one annotator per row), as the caller, who must be allowed to
 * (a member of the model's or the table's owner).
 */
CREATE FUNCTION hitl._citus_adopt_review_view(model text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	view_oid oid;
	view_schema name;
BEGIN
	SELECT to_regclass(format('%I.%I', m.view_schema, m.view_name)), m.view_schema
	INTO view_oid, view_schema
	FROM hitl.models m WHERE m.name = model;
	IF view_oid IS NOT NULL
	   AND position('candidates AS MATERIALIZED' IN pg_get_viewdef(view_oid)) = 0 THEN
		PERFORM hitl._create_review_view(model);
		/* and the audit views: the audit queue's made again, the others go */
		PERFORM hitl._drop_audit_view(view_schema, model);
		PERFORM hitl._create_audit_view(model);
	END IF;
END
$$;
COMMENT ON FUNCTION hitl._citus_adopt_review_view(text) IS
	'internal: makes the review view of a model again in the form for distributed tables when Citus distributed its table after the model was made';


/*
 * The unlabeled review candidates of one model, for hitl.review_queue: as
 * in 0.1.0, and for a distributed table the candidates joined to the
 * shards on their nodes, as the review view does (Citus does not run the
 * correlated EXISTS of a plain table).
 */
CREATE OR REPLACE FUNCTION hitl._model_queue(model text)
RETURNS TABLE (row_key jsonb, prediction text, confidence float8, uncertainty float8, rank integer)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m hitl.models;
BEGIN
	SELECT * INTO m FROM hitl.models WHERE name = model;
	/* has_table_privilege is NULL when the table was dropped */
	IF NOT FOUND OR NOT coalesce(has_table_privilege(m.source, 'SELECT'), false) THEN
		RETURN;
	END IF;
	IF hitl._citus_distribution_column(m.source) IS NOT NULL THEN
		RETURN QUERY EXECUTE format(
			'WITH candidates AS MATERIALIZED (
				SELECT q.row_key, q.prediction, q.confidence, q.uncertainty, q.rank
				FROM (SELECT * FROM hitl.queue q WHERE q.model = %L OFFSET 0) q
				JOIN %s t ON %s AND t.%I IS NULL)
			 SELECT * FROM candidates ORDER BY rank',
			model, m.source, hitl._key_match(m.source, m.key_columns, 't', 'q.row_key'), m.label_column);
		RETURN;
	END IF;
	RETURN QUERY EXECUTE format(
		'SELECT q.row_key, q.prediction, q.confidence, q.uncertainty, q.rank
		 FROM hitl.queue q
		 WHERE q.model = $1
		   AND EXISTS (SELECT 1 FROM %s t WHERE %s AND t.%I IS NULL)
		 ORDER BY q.rank',
		m.source, hitl._key_match(m.source, m.key_columns, 't', 'q.row_key'), m.label_column)
	USING model;
END
$$;
