#!/usr/bin/env bash
#
# test/bench/annotators.sh: label throughput of a team of four annotators
# with three answers per row (annotators_per_row k = 3) against one
# (k = 1), issue 13.  Four LOGIN roles, each a pgbench process of its own
# (-U <role> -c 1 -M prepared), all four at once, SECONDS seconds per run,
# on a table of lib.sh's bench_label_table (5 float8 features, four
# classes, 1% labeled, the truth of every row in bench_annotators_truth,
# which the model never reads).  Each role may SELECT the table and the
# truth and UPDATE the label column, nothing more.
#
# Two variants, each with k = 1 and then k = 3, each run on a fresh copy
# of the table and a model of its own ({"cv_folds": 0,
# "annotators_per_row": k}, trained and scored by create_model, the worker
# idle before pgbench starts).  A step (test/bench/annotators_step.sql):
#
#   queue  hitl.next_rows(model, 10), then one UPDATE answering those rows,
#          each statement a transaction of its own (as the README asks of
#          next_rows); ROWS rows
#   plain  the same UPDATE of 10 rows picked by key range (every row by k
#          different roles, none by more), without next_rows: what the
#          answer trigger costs alone; PLAIN_ROWS rows, so that no role
#          runs out of rows
#
# The label of an answer is the row's hidden truth, 10% of the answers
# wrong (deterministic per row and role); a step that finds no row waits
# 100 ms.  Each UPDATE also notes its rows in bench_annotators_done (the
# same cost in every run), which the sanity checks compare with hitl's
# tables.  A step that fails on a deadlock is run again (pgbench
# --max-tries), and counted.
#
# hitl.enabled = on with the default settings (retrain_delay 200ms): the
# worker retrains and rescores while the annotators label, as in use; the
# queue it rebuilds is the one next_rows reads (queue_size 1000 by default).
#
# Printed per run: steps (one next_rows + one UPDATE, or one UPDATE) per
# second, answers per second (rows the UPDATEs changed) and by quarter of
# the run, rows finished per second (rows whose label column holds a
# label, the consensus for k = 3), p50/p95 of a step (pgbench's
# per-transaction logs, the four roles together), the mean of each
# statement (--report-per-command), steps that found no row, steps
# retried, what the annotators' sessions and the worker were doing
# (pg_stat_activity sampled every 100 ms), the versions the worker trained
# during the run and after it, and the worker's CPU during the run
# (/proc/<pid>/stat).  Then the ratios k3 / k1 measured side by side in
# this run, and a sanity line per run: no row has more than k answers,
# every UPDATEd row is one answer logged, by its role (hitl.answer_log for
# k = 3, hitl.label_log for k = 1), and how many labels are right.  Exits
# non-zero when a sanity check fails.
#
# Usage: PG_BIN=... bash test/bench/annotators.sh (about 3 minutes)
#   HITL_BENCH_ANNOTATORS_SECONDS (default 20), HITL_BENCH_ANNOTATORS_ROWS
#   (20000), HITL_BENCH_ANNOTATORS_PLAIN_ROWS (300000),
#   HITL_BENCH_ANNOTATORS_VARIANTS ("queue plain").  Not run by
#   test/bench/run.sh.

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECONDS_PER_RUN=${HITL_BENCH_ANNOTATORS_SECONDS:-20}
ROWS=${HITL_BENCH_ANNOTATORS_ROWS:-20000}
PLAIN_ROWS=${HITL_BENCH_ANNOTATORS_PLAIN_ROWS:-300000}
read -r -a VARIANTS <<<"${HITL_BENCH_ANNOTATORS_VARIANTS:-queue plain}"
BATCH=10
TABLE=bench_annotators
ROLES=(bench_annotator1 bench_annotator2 bench_annotator3 bench_annotator4)
TICK=$(getconf CLK_TCK)
# a step that fails on a deadlock or a serialization failure is run again
# (from its first statement), as an application would; pgbench counts them
MAX_TRIES=10

bench_up_worker hitl_bench_annotators
bench_header "hitl benchmark: four annotators at once, annotators_per_row 3 against 1 (pgbench)"
echo "reproduce: PG_BIN=$PG_BIN bash test/bench/annotators.sh"
echo "pgbench: ${#ROLES[@]} processes at once, one per LOGIN role (-c 1 -j 1 -M prepared), $SECONDS_PER_RUN s per run; $BATCH rows a step; $ROWS rows (queue), $PLAIN_ROWS (plain)"
echo

roles_sql() {
	local r out=""
	for r in "${ROLES[@]}"; do
		out+="$1 $r$2;"
	done
	printf '%s' "$out"
}
bench_sql "$(roles_sql "DROP ROLE IF EXISTS" "")" "$(roles_sql "CREATE ROLE" " LOGIN")" >/dev/null ||
	bench_die "could not create the annotator roles"
drop_roles() {
	bench_sql "DROP TABLE IF EXISTS $TABLE, ${TABLE}_truth, ${TABLE}_done, ${TABLE}_idle CASCADE" \
		"$(roles_sql "DROP ROLE IF EXISTS" "")" >/dev/null 2>&1 || true
}
hitl_on_exit drop_roles

cp "$BENCH_DIR/annotators_step.sql" "$BENCH_WORK/"
chmod 644 "$BENCH_WORK/annotators_step.sql"

# prepare K MODEL ROWS: a fresh table, its receipts, the grants, and a model
prepare() {
	local k=$1 model=$2 rows=$3 grantees
	grantees="$(IFS=,; echo "${ROLES[*]}")"
	bench_sql "SELECT hitl.drop_model(name) FROM hitl.models" >/dev/null ||
		bench_die "dropping the models failed"
	bench_label_table "$TABLE" "$rows"
	bench_sql "DROP TABLE IF EXISTS ${TABLE}_done, ${TABLE}_idle, ${TABLE}_waits" \
		"CREATE TABLE ${TABLE}_waits (who text NOT NULL, what text NOT NULL)" \
		"CREATE TABLE ${TABLE}_done (role name NOT NULL, id bigint NOT NULL,
			at timestamptz NOT NULL DEFAULT clock_timestamp())" \
		"CREATE TABLE ${TABLE}_idle (role name NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())" \
		"GRANT SELECT, UPDATE (label) ON $TABLE TO $grantees" \
		"GRANT SELECT ON ${TABLE}_truth TO $grantees" \
		"GRANT INSERT ON ${TABLE}_done, ${TABLE}_idle TO $grantees" \
		"SELECT hitl.create_model('$model', '$TABLE', 'label', ARRAY['x1','x2','x3','x4','x5'],
			options => '{\"cv_folds\": 0, \"annotators_per_row\": $k}')" \
		"VACUUM ANALYZE $TABLE" >/dev/null || bench_die "create_model failed"
	bench_quiesce "$model"
	bench_sql "CHECKPOINT" >/dev/null
}

# worker_pid: the pid of the database's worker, or nothing
worker_pid() {
	bench_sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'hitl worker' AND datname = current_database()"
}

# worker_ticks PID: CPU clock ticks (user + system) of that process, 0 if gone
worker_ticks() {
	local pid=$1
	if [[ -n $pid && -r /proc/$pid/stat ]]; then
		# the fields after the command name (which may hold spaces)
		sed 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }'
	else
		echo 0
	fi
}

# sample: during a run, every 100 ms, what the annotators' sessions and the
# worker are doing (pg_stat_activity: on CPU, waiting on what, or idle, that
# is between two statements), and in which statement of the step, into
# ${TABLE}_waits
sample() {
	bench_sql "DO \$\$
		BEGIN
			FOR i IN 1 .. $((SECONDS_PER_RUN * 10)) LOOP
				INSERT INTO ${TABLE}_waits
				SELECT CASE WHEN a.backend_type = 'hitl worker' THEN 'worker' ELSE 'annotators' END,
					   CASE WHEN a.state IS DISTINCT FROM 'active' THEN coalesce(a.state, 'idle')
							ELSE CASE WHEN a.query LIKE '%hitl.next_rows%' THEN 'next_rows '
									  WHEN a.query LIKE '%UPDATE bench_annotators %' THEN 'UPDATE '
									  ELSE '' END
								 || coalesce(a.wait_event_type || ':' || a.wait_event, 'CPU') END
				FROM pg_stat_activity a
				WHERE a.datname = current_database()
				  AND (a.usename::text LIKE 'bench\\_annotator%' OR a.backend_type = 'hitl worker');
				COMMIT;
				PERFORM pg_sleep(0.1);
			END LOOP;
		END
		\$\$" >/dev/null
}

# waits WHO: the shares of WHO's samples, the largest first
waits() {
	bench_sql "SELECT coalesce(string_agg(format('%s %s%%', w.what, w.pct), ', ' ORDER BY w.n DESC, w.what), 'no sample')
		FROM (SELECT what, count(*) AS n,
					 round(100.0 * count(*) / sum(count(*)) OVER ())::int AS pct
			  FROM ${TABLE}_waits WHERE who = '$1' GROUP BY what) w
		WHERE w.pct >= 2"
}

# pgbench_sum_of LINE FILES: sum of pgbench's "LINE: <n>" over the processes
pgbench_sum_of() {
	local line=$1
	shift
	awk -v l="$line: " 'index($0, l) == 1 { s += substr($0, length(l) + 1) + 0 } END { print s + 0 }' "$@"
}

# pgbench_sum FILES: the steps that succeeded
pgbench_sum() {
	pgbench_sum_of "number of transactions actually processed" "$@"
}

# statement_ms FILES PATTERN: mean latency (ms) of the statement that
# matches PATTERN in --report-per-command, weighted over the processes
# (by their step counts: each process ran each statement once a step, but
# the branch of \if)
statement_ms() {
	local pattern=$1 f n sum=0 cnt=0 ms
	shift
	for f in "$@"; do
		n="$(pgbench_sum "$f")"
		ms="$(awk -v p="$pattern" '/statement latencies in milliseconds/ { on = 1; next }
			on && index($0, p) { print $1; exit }' "$f")"
		[[ -n $ms ]] || continue
		sum="$(awk -v s="$sum" -v m="$ms" -v n="$n" 'BEGIN { print s + m * n }')"
		cnt=$((cnt + n))
	done
	awk -v s="$sum" -v c="$cnt" 'BEGIN { if (c > 0) printf "%.2f", s / c; else print "-" }'
}

# run VARIANT K: one run; prints its line and appends it to $BENCH_WORK/results
run() {
	local variant=$1 k=$2 model tag t0 v0 v1 v2 wp0 wp1 w0 w1 log0 i pids=() rc=0 outs=() rows sampler
	model="team_${variant}_k$k"
	tag="$variant-k$k"
	rows=$ROWS
	[[ $variant == queue ]] || rows=$PLAIN_ROWS
	prepare "$k" "$model" "$rows"
	v0="$(bench_sql "SELECT count(*) FROM hitl.model_versions WHERE model = '$model'")"
	log0="$(bench_sql "SELECT coalesce(max(id), 0) FROM hitl.label_log")"
	wp0="$(worker_pid)"
	w0="$(worker_ticks "$wp0")"
	t0="$(bench_sql "SELECT clock_timestamp()")"
	sample &
	sampler=$!
	for i in "${!ROLES[@]}"; do
		outs+=("$BENCH_WORK/pgbench-$tag-$i.out")
		hitl_as_user "$PG_BIN/pgbench" -n -M prepared -U "${ROLES[$i]}" -c 1 -j 1 \
			-T "$SECONDS_PER_RUN" -f "$BENCH_WORK/annotators_step.sql" \
			-D queue="$([[ $variant == queue ]] && echo 1 || echo 0)" -D model="$model" -D batch="$BATCH" \
			-D k="$k" -D r="$i" -D rows="$rows" -D i=-1 -D ids=0 \
			--max-tries="$MAX_TRIES" --report-per-command -l --log-prefix="$BENCH_WORK/log-$tag-$i" \
			>"${outs[$i]}" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || {
			rc=1
			cat "${outs[$i]}" >&2
		}
	done
	wait "$sampler" || rc=1
	[[ $rc == 0 ]] || bench_die "pgbench failed ($tag)"
	# a worker that started during the run (none was running) counts whole
	wp1="$(worker_pid)"
	[[ $wp1 == "$wp0" ]] || w0=0
	w1="$(worker_ticks "$wp1")"
	v1="$(bench_sql "SELECT count(*) FROM hitl.model_versions WHERE model = '$model'")"
	bench_quiesce "$model"
	v2="$(bench_sql "SELECT count(*) FROM hitl.model_versions WHERE model = '$model'")"

	local steps answers finished correct idle span p50 p95 n_log nr_ms up_ms failed retried retries
	local logged distinct over maxper matched ties
	steps="$(pgbench_sum "${outs[@]}")"
	read -r answers finished correct idle span < <(bench_sql "
		SELECT (SELECT count(*) FROM ${TABLE}_done),
			   count(*) FILTER (WHERE t.label IS NOT NULL),
			   count(*) FILTER (WHERE t.label = tr.label),
			   (SELECT count(*) FROM ${TABLE}_idle),
			   CASE WHEN '$variant' = 'plain' AND EXISTS (SELECT 1 FROM ${TABLE}_idle)
					THEN (SELECT extract(epoch FROM max(d.at) - '$t0'::timestamptz) FROM ${TABLE}_done d)
					ELSE $SECONDS_PER_RUN END
		FROM $TABLE t JOIN ${TABLE}_truth tr USING (id) WHERE t.id % 100 <> 0" | tr '|' ' ')
	# the steps that succeeded (a failed one's time is "failed")
	awk '$3 ~ /^[0-9]+$/' "$BENCH_WORK/log-$tag-"* >"$BENCH_WORK/steps-$tag"
	read -r n_log p50 p95 _ _ < <(bench_py latency "$BENCH_WORK/steps-$tag")
	[[ $n_log == "$steps" ]] || bench_die "pgbench logged $n_log steps, reported $steps ($tag)"
	failed="$(pgbench_sum_of "number of failed transactions" "${outs[@]}")"
	retried="$(pgbench_sum_of "number of transactions retried" "${outs[@]}")"
	retries="$(pgbench_sum_of "total number of retries" "${outs[@]}")"
	if [[ $variant == queue ]]; then
		nr_ms="$(statement_ms "SELECT count(*) AS n" "${outs[@]}")"
	else
		nr_ms="-"
	fi
	up_ms="$(statement_ms "WITH u AS" "${outs[@]}")"

	# the sanity checks: answers per row, answers logged, receipts matched
	if ((k > 1)); then
		read -r logged distinct over maxper matched ties < <(bench_sql "
			SELECT (SELECT count(*) FROM hitl.answer_log l WHERE l.model = '$model'),
				   (SELECT count(DISTINCT (l.role, l.row_key)) FROM hitl.answer_log l WHERE l.model = '$model'),
				   (SELECT count(*) FROM (SELECT 1 FROM hitl.answers a WHERE a.model = '$model'
										  GROUP BY a.row_key HAVING count(*) > $k) x),
				   (SELECT coalesce(max(c), 0) FROM (SELECT count(*) AS c FROM hitl.answers a
													 WHERE a.model = '$model' GROUP BY a.row_key) x),
				   (SELECT count(*) FROM ${TABLE}_done d JOIN hitl.answers a
					ON a.model = '$model' AND a.row_key = jsonb_build_object('id', d.id) AND a.role = d.role),
				   (SELECT count(*) FROM (SELECT a.row_key FROM hitl.answers a WHERE a.model = '$model'
										  GROUP BY a.row_key HAVING count(*) = $k) x
					JOIN $TABLE t ON x.row_key = jsonb_build_object('id', t.id) WHERE t.label IS NULL)" | tr '|' ' ')
	else
		read -r logged distinct over maxper matched ties < <(bench_sql "
			WITH l AS (SELECT * FROM hitl.label_log l WHERE l.model = '$model' AND l.id > $log0)
			SELECT (SELECT count(*) FROM l), (SELECT count(DISTINCT (l.role, l.row_key)) FROM l),
				   (SELECT count(*) FROM (SELECT 1 FROM l GROUP BY l.row_key HAVING count(*) > 1) x),
				   (SELECT coalesce(max(c), 0) FROM (SELECT count(*) AS c FROM l GROUP BY l.row_key) x),
				   (SELECT count(*) FROM ${TABLE}_done d JOIN l
					ON l.row_key = jsonb_build_object('id', d.id) AND l.role = d.role),
				   0" | tr '|' ' ')
	fi
	local ok=ok
	[[ $over == 0 && $logged == "$answers" && $distinct == "$answers" && $matched == "$answers" ]] || ok=FAILED
	# one line a run: the summary's columns (see below)
	printf '%s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s\n' "$variant" "$k" "$steps" \
		"$answers" "$finished" "$correct" "$idle" "$span" "$p50" "$p95" "$nr_ms" "$up_ms" \
		"$((v1 - v0))" "$((v2 - v1))" "$(((w1 - w0) * 100 / TICK))" "$ok" "$retried" "$retries" \
		"$failed" "$SECONDS_PER_RUN" >>"$BENCH_WORK/results"
	printf '   %-5s k=%d: %6d steps, %6d answers (%.0f/s over %.1f s), %5d rows finished, p50 %s ms, p95 %s ms; %d idle steps; %d steps retried (%d retries), %d failed; versions %d during, %d after\n' \
		"$variant" "$k" "$steps" "$answers" "$(awk -v a="$answers" -v s="$span" 'BEGIN { print a / s }')" "$span" \
		"$finished" "$p50" "$p95" "$idle" "$retried" "$retries" "$failed" "$((v1 - v0))" "$((v2 - v1))"
	printf '   sanity %s: max %d answers a row (k = %d), %d rows over k; %d UPDATEd rows, %d answers logged (%d distinct role/row), %d matched by role; %d ties; labels right: %d of %d\n' \
		"$ok" "$maxper" "$k" "$over" "$answers" "$logged" "$distinct" "$matched" "$ties" "$correct" "$finished"
	echo "   answers/s by quarter of the run: $(bench_sql "
		SELECT string_agg(coalesce(round(q.n / ($SECONDS_PER_RUN / 4.0))::text, '0'), ' ' ORDER BY b.b)
		FROM generate_series(1, 4) b (b)
		LEFT JOIN (SELECT least(4, 1 + floor(extract(epoch FROM d.at - '$t0'::timestamptz) * 4 / $SECONDS_PER_RUN))::int AS b,
						  count(*) AS n
				   FROM ${TABLE}_done d GROUP BY 1) q ON q.b = b.b")"
	echo "   annotators' sessions (samples every 100 ms): $(waits annotators)"
	echo "   the worker: $(waits worker); CPU $(awk -v t="$(((w1 - w0) * 100 / TICK))" -v s="$SECONDS_PER_RUN" 'BEGIN { printf "%.0f", t / s }')% of one core"
}

: >"$BENCH_WORK/results"
for variant in "${VARIANTS[@]}"; do
	echo "== annotators: $variant (hitl.enabled = on, hitl.retrain_delay = $(bench_sql "SHOW hitl.retrain_delay")) =="
	run "$variant" 1
	run "$variant" 3
	echo
done
bench_sql "SELECT hitl.drop_model(name) FROM hitl.models" >/dev/null

echo "== annotators: summary (4 roles at once, $SECONDS_PER_RUN s runs, $ROWS / $PLAIN_ROWS rows; ratios measured side by side in this run) =="
printf '%-6s %2s %8s %10s %10s %8s %8s %10s %8s %5s %8s %9s %11s %s\n' variant k "steps/s" "answers/s" \
	"finished/s" "p50 ms" "p95 ms" "next_rows" "UPDATE" idle retried versions "worker cpu" sanity
awk '{ printf "%-6s %2s %8.1f %10.1f %10.1f %8.1f %8.1f %10s %8s %5s %8s %9s %10.0f%% %s\n",
	$1, $2, $3 / $8, $4 / $8, $5 / $8, $9, $10, $11, $12, $7, $17 "/" $19, $13 "/" $14, $15 / $20, $16 }' \
	"$BENCH_WORK/results"
echo "(steps/s: one next_rows and one UPDATE, or one UPDATE; answers: rows the UPDATEs changed; finished: rows"
echo " whose label column holds a label after the run, the consensus for k = 3; next_rows and UPDATE: mean ms of"
echo " each statement; idle: steps that found no row; retried: steps run again after a deadlock / steps that"
echo " failed 10 times; versions: trained by the worker during / after the run;"
echo " worker cpu: the worker's CPU time during the run over the run's time, of one core)"
for variant in "${VARIANTS[@]}"; do
	awk -v v="$variant" '$1 == v && $2 == 1 { a1 = $4 / $8; f1 = $5 / $8; s1 = $3 / $8 }
		$1 == v && $2 == 3 { a3 = $4 / $8; f3 = $5 / $8; s3 = $3 / $8 }
		END { if (a1 > 0 && f1 > 0)
			printf "%s: k3 / k1 answers/s %.3f, rows finished/s %.3f; time per answer %.2f ms (k = 3) and %.2f ms (k = 1), four roles at once\n",
				v, a3 / a1, f3 / f1, 1000 / a3, 1000 / a1 }' "$BENCH_WORK/results"
done
if [[ " ${VARIANTS[*]} " == *" queue "* && " ${VARIANTS[*]} " == *" plain "* ]]; then
	awk '{ r[$1 "-" $2] = $4 / $8 }
		END { printf "queue / plain answers/s (what next_rows costs): %.3f (k = 1), %.3f (k = 3)\n",
			r["queue-1"] / r["plain-1"], r["queue-3"] / r["plain-3"] }' "$BENCH_WORK/results"
fi

failed="$(awk '$16 != "ok"' "$BENCH_WORK/results")"
bench_done
[[ -z $failed ]] || bench_die "a sanity check failed: $failed"
