/* ------------------------------------------------------------------------
 * 77 The stopping rule
 *
 * Labeling may stop once the predictions held still over the last
 * stop_window labels (option, absent: 100): every version trained over
 * them agreed with its previous version's predictions beyond stop_kappa
 * (option, absent: 0.99), Cohen's kappa on the unlabeled rows.  This is
 * the stabilizing-predictions rule of Bloodgood and Vijay-Shanker (2009),
 * with its threshold of 0.99, over a window counted in labels rather than
 * in versions: a window of three versions is three batches of labels in
 * their experiments, but three labels when the worker trains after each
 * one.  The window of 100 is where the rule, replayed by hitl.simulate on
 * digits and vehicle with every strategy (batches of 10, budget 300),
 * gave up less than 1 point of held-out accuracy against the budget on
 * average (test/bench/stopping_rule.sh); three versions gave up up to 2.
 *
 * One function holds the rule, so that hitl.models.stop_suggested (79) and
 * hitl.simulation_summary (78), which replays it round by round, agree.
 * ------------------------------------------------------------------------ */

/*
 * The rule at the last version of a history: labels[i] the labels version
 * i was trained on, kappas[i] its kappa against the previous version's
 * predictions (NULL when it has none), oldest first.  The window is the
 * versions after the latest one trained on at most stop_window labels
 * fewer than the last (the base, whose predictions the window's first
 * kappa compared with).  NULL while there is no base (the labels since the
 * first version are fewer than stop_window); false when a kappa of the
 * window is at or below stop_kappa; else NULL when one is missing; true
 * when each is above it.
 */
CREATE FUNCTION hitl._stop_rule(labels integer[], kappas double precision[], options jsonb)
RETURNS boolean LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH h AS (
		SELECT u.l, u.k, u.i
		FROM unnest(_stop_rule.labels, _stop_rule.kappas) WITH ORDINALITY AS u(l, k, i)
	), last AS (
		SELECT h.l, h.i FROM h ORDER BY h.i DESC LIMIT 1
	), base AS (
		SELECT max(h.i) AS i
		FROM h, last
		WHERE h.i < last.i
		  AND h.l <= last.l - coalesce((options ->> 'stop_window')::integer, 100)
	)
	SELECT CASE
		WHEN base.i IS NULL THEN NULL
		WHEN bool_or(h.k <= coalesce((options ->> 'stop_kappa')::float8, 0.99)) THEN false
		WHEN count(h.k) = count(*) THEN true
		END
	FROM base JOIN h ON h.i > base.i
	GROUP BY base.i
$$;
COMMENT ON FUNCTION hitl._stop_rule(integer[], double precision[], jsonb) IS
	'internal: the stopping rule at the last of a history of versions (labels and kappas, oldest first): true when every kappa over the last stop_window labels is above stop_kappa';
/* PUBLIC keeps EXECUTE: hitl.simulation_summary calls it with its reader's rights */
