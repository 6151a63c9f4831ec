/* ------------------------------------------------------------------------
 * 71 The term cache of text models (src/termcache.h has the design)
 *
 * A text model keeps each row's hashed term counts in a bytea column of
 * its table, "hitl_terms_<model>", written by a BEFORE INSERT OR UPDATE OF
 * <text columns>, <that column> row trigger of the same name.  Scoring and
 * training read the counts instead of parsing the text when the value's
 * hashes match the text and the configuration, and parse otherwise.
 * create_model adds both (when its caller owns the table) and fills the
 * rows already there; drop_model removes both.
 * ------------------------------------------------------------------------ */

CREATE FUNCTION hitl._term_cache_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME', 'hitl_term_cache_trigger' LANGUAGE C;
COMMENT ON FUNCTION hitl._term_cache_trigger() IS
	'internal: the trigger that keeps a text model''s cached term counts in its table';

/* The name of a model's cache column and of its trigger */
CREATE FUNCTION hitl._term_cache_name(model text) RETURNS name
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ('hitl_terms_' || model)::name $$;
COMMENT ON FUNCTION hitl._term_cache_name(text) IS
	'internal: the name of a text model''s term cache column and trigger';

/* Does the table have the model's term cache trigger (hitl's, by its function)? */
CREATE FUNCTION hitl._has_term_cache(model text, source regclass) RETURNS boolean
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT 1 FROM pg_trigger t
				   WHERE t.tgrelid = source AND t.tgname = hitl._term_cache_name(model)
					 AND t.tgfoid = 'hitl._term_cache_trigger()'::regprocedure)
$$;
COMMENT ON FUNCTION hitl._has_term_cache(text, regclass) IS
	'internal: whether a table has a text model''s term cache trigger';

/*
 * Add a text model's cache column and trigger, and with fill fill the rows
 * already there (an UPDATE setting the column fires the trigger, and the
 * table's other UPDATE triggers: so only for a caller who owns the table,
 * never for a superuser acting on another role's table, as
 * hitl.upgrade_models does without fill).  Does nothing for a model without
 * text, or when the caller does not own the table (the model then parses
 * every row, as without a cache).
 */
CREATE FUNCTION hitl._create_term_cache(model text, fill boolean DEFAULT true) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m hitl.models;
	col name := hitl._term_cache_name(model);
	cfg text;
	texts name[];
	args text;
BEGIN
	SELECT * INTO m FROM hitl.models WHERE name = model;
	IF NOT FOUND OR m.options->>'text_config' IS NULL THEN
		RETURN;
	END IF;
	IF NOT pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = m.source), 'USAGE') THEN
		RAISE NOTICE 'model "%" has no term cache: only the owner of its table can add one', model;
		RETURN;
	END IF;
	IF m.options->>'buckets' IS NULL OR m.options->>'max_text_bytes' IS NULL THEN
		RAISE NOTICE 'model "%" has no term cache: its options lack buckets or max_text_bytes', model;
		RETURN;
	END IF;
	IF EXISTS (SELECT 1 FROM pg_attribute a
			   WHERE a.attrelid = m.source AND a.attname = col AND NOT a.attisdropped) THEN
		IF NOT fill THEN
			RAISE WARNING 'model "%" gets no term cache: column "%" of table % exists', model, col,
				m.source::text;
			RETURN;
		END IF;
		RAISE EXCEPTION 'column "%" of table % already exists', col, m.source::text
			USING ERRCODE = 'duplicate_column',
				  HINT = 'hitl keeps a text model''s term counts in that column: rename it, or give the model another name.';
	END IF;
	/* the configuration by schema and name: the trigger resolves no search_path */
	SELECT format('%I.%I', n.nspname, c.cfgname) INTO STRICT cfg
	FROM pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace
	WHERE c.oid = (m.options->>'text_config')::regconfig;
	SELECT array_agg(f.col ORDER BY f.ord) INTO texts
	FROM unnest(m.feature_columns) WITH ORDINALITY AS f(col, ord)
	JOIN pg_attribute a ON a.attrelid = m.source AND a.attname = f.col
	WHERE pg_catalog.format_type(a.atttypid, NULL) IN ('text', 'character varying')
	   OR (SELECT t.typbasetype FROM pg_type t WHERE t.oid = a.atttypid)
			IN ('text'::regtype, 'character varying'::regtype);
	IF texts IS NULL THEN
		RETURN;
	END IF;
	SELECT string_agg(quote_literal(x), ', ') INTO args
	FROM unnest(ARRAY[model, cfg,
					  coalesce((m.options->>'bigrams')::boolean, false)::text,
					  (m.options->>'buckets'), (m.algorithm = 'logistic')::text,
					  (m.options->>'max_text_bytes'), col::text] || texts::text[]) AS x;
	EXECUTE format('ALTER TABLE %s ADD COLUMN %I bytea', m.source, col);
	EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', m.source, col,
				   format('hashed term counts of model %s, kept by hitl (see hitl.refresh_term_cache)', model));
	EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OF %s ON %s FOR EACH ROW'
				   ' EXECUTE FUNCTION hitl._term_cache_trigger(%s)',
				   col, (SELECT string_agg(quote_ident(c), ', ') FROM unnest(texts || col) AS c),
				   m.source, args);
	/* fill: setting the column fires the trigger, which computes the value */
	IF fill THEN
		EXECUTE format('UPDATE %s SET %I = NULL', m.source, col);
	END IF;
END
$$;
COMMENT ON FUNCTION hitl._create_term_cache(text, boolean) IS
	'internal: adds a text model''s term cache column and trigger, and with fill fills the column (a step of create_model and of hitl.upgrade_models)';

/*
 * Fill the cached term counts of the rows that have none (all_rows: of
 * every row, after a change of the text search configuration or its
 * dictionaries, or a restore).  Rows whose value does not match are parsed
 * at each scoring until then, never read stale.  A text model without a
 * cache (created by 0.1.0, or by a role that does not own the table) gets
 * one when the caller owns the table.  Returns the rows written.
 */
CREATE FUNCTION hitl.refresh_term_cache(model text, all_rows boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m hitl.models;
	col name := hitl._term_cache_name(model);
	n bigint;
BEGIN
	SELECT * INTO m FROM hitl.models WHERE name = model;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'model "%" does not exist', model
			USING ERRCODE = 'undefined_object',
				  HINT = 'See hitl.models for the models you can use.';
	END IF;
	PERFORM hitl._check_not_citus(model);
	IF NOT hitl._has_term_cache(model, m.source) THEN
		IF m.options->>'text_config' IS NULL
			OR NOT pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = m.source), 'USAGE') THEN
			RETURN 0;
		END IF;
		/* adds the column and the trigger, and fills every row */
		PERFORM hitl._create_term_cache(model);
		EXECUTE format('SELECT count(*) FROM %s', m.source) INTO n;
		RETURN n;
	END IF;
	EXECUTE format('UPDATE %s SET %I = NULL%s', m.source, col,
				   CASE WHEN all_rows THEN '' ELSE format(' WHERE %I IS NULL', col) END);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION hitl.refresh_term_cache(text, boolean) IS
	'fill a text model''s cached term counts where missing (all_rows: everywhere, after a text search configuration change or a restore)';

/* Drop a model's cache trigger (its column goes with drop_model's columns) */
CREATE FUNCTION hitl._drop_term_cache_trigger(model text, source regclass) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF hitl._has_term_cache(model, source) THEN
		EXECUTE format('DROP TRIGGER %I ON %s', hitl._term_cache_name(model), source);
	END IF;
END
$$;
COMMENT ON FUNCTION hitl._drop_term_cache_trigger(text, regclass) IS
	'internal: drops a text model''s term cache trigger (a step of drop_model)';

/* What the last scan of this session read from the cache, and parsed */
CREATE FUNCTION hitl._term_cache_last(OUT cached bigint, OUT parsed bigint)
	AS 'MODULE_PATHNAME', 'hitl_term_cache_last' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION hitl._term_cache_last() IS
	'internal: rows of this session''s last scoring or training scan whose term counts were read from the cache (cached) and parsed (parsed)';
