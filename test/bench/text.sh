#!/usr/bin/env bash
#
# test/bench/text.sh: text models (hashed tf-idf) against scikit-learn on the
# same features, in one run:
#
#   (a) fortunes   test/data/fortunes.csv, 14,998 rows, 43 classes; ids not
#                  divisible by 4 are labeled (11,249), the others held out
#                  (label NULL, 3,749).  naive_bayes and logistic, unigrams
#                  and bigrams.
#   (b) synthetic  a 1,000,000-row text table generated in SQL (setseed):
#                  8 classes, 10-30 words a row from a Zipf-like vocabulary
#                  of 5,000 words, 30% of them from a class's own Zipf order;
#                  id % 10 = 0 labeled (100,000), the rest held out.
#                  naive_bayes and logistic, unigrams.
#   (c) memory     peak memory of a fresh backend during hitl.train: VmHWM
#                  of /proc/<pid>/status before and after, and its private
#                  memory (RssAnon) sampled every 5 ms; 100,000 vs 1,000,000
#                  rows (10% labeled both) and buckets 2^18 vs 2^20.
#                  scikit-learn's peak RSS from /usr/bin/time -v.
#   (d) incremental  hitl.train(m, true) after one label UPDATE against a
#                  full hitl.train(m) on the same labels, naive Bayes, on
#                  fortunes and on the 1,000,000 rows.
#
# hitl: models with {"cv_folds": 0} (one fit, as scikit-learn's fit), every
# timed hitl.train a cold start (the model is dropped, output columns
# included, and created again without training).  Times: train_ms of
# hitl.model_versions, psql's wall time of hitl.train, of hitl.score right
# after (it writes every row) and of a second hitl.score (nothing changed:
# every row read, tokenized and predicted, nothing written).  Test accuracy
# from the prediction column hitl.score wrote.
#
# scikit-learn (test/bench/text_sklearn.py): the terms hitl hashes, exported
# with hitl.text_terms(), hashed by HashingVectorizer (MurmurHash3 seed 0,
# the same buckets and signs), tf = sign(c)(1 + ln|c|), TfidfTransformer
# fitted on every row, then MultinomialNB(alpha=1) / LogisticRegression(C=1,
# max_iter=1000) fitted on the training rows.  Vectorizing is timed apart
# from fit and predict.  Logistic regression is fitted on the buckets the
# training rows use (hitl's parameters; the other columns would keep zero
# weights, so the optimum is the same); HITL_BENCH_TEXT_FULL_WIDTH=1 also
# fits it on all 2^18 columns (fortunes; several minutes more).
#
# Usage: bash test/bench/text.sh          (9 to 16 minutes on 2 cores)
#   HITL_BENCH_TEXT_REPS (3: hitl and scikit-learn naive Bayes on fortunes,
#   and the incremental updates), HITL_BENCH_TEXT_LR_REPS (1: logistic on
#   fortunes), HITL_BENCH_TEXT_ROWS (1000000), HITL_BENCH_TEXT_FULL_WIDTH (0),
#   HITL_BENCH_TEXT_FORTUNES (the fortunes models: "nb-unigrams nb-bigrams
#   logistic-unigrams logistic-bigrams").

set -euo pipefail
# shellcheck source=test/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REPS=${HITL_BENCH_TEXT_REPS:-3}
LR_REPS=${HITL_BENCH_TEXT_LR_REPS:-1}
ROWS=${HITL_BENCH_TEXT_ROWS:-1000000}
FULL_WIDTH=${HITL_BENCH_TEXT_FULL_WIDTH:-0}
read -r -a FORTUNES_CONFIGS <<<"${HITL_BENCH_TEXT_FORTUNES:-nb-unigrams nb-bigrams logistic-unigrams logistic-bigrams}"
SMALL=$((ROWS / 10))
B18=262144
B20=1048576
FORTUNES="$BENCH_DIR/../data/fortunes.csv"

# /usr/bin/time -v gives scikit-learn's peak RSS
hitl_ensure_deps --bench time || bench_die "missing packages"
bench_up hitl_bench_text
[[ -x /usr/bin/time ]] || bench_die "/usr/bin/time not found (apt-get install time)"
bench_header "hitl benchmark: text models, hitl vs scikit-learn $("$BENCH_PYTHON" -c 'import sklearn; print(sklearn.__version__)') on the same features"
echo "reproduce: bash test/bench/text.sh"
echo

R="$BENCH_WORK/results"
mkdir -p "$R"
chmod 777 "$R"

text_py() {
	"$BENCH_PYTHON" "$BENCH_DIR/text_sklearn.py" "$@"
}

# fresh_model MODEL TABLE ALGO OPTIONS: drop every model (and its output
# columns), then create MODEL without training it (min_labels out of
# reach), and set min_labels back so that hitl.train trains it
fresh_model() {
	local model=$1 table=$2 algo=$3 opts=$4
	bench_sql "SELECT hitl.drop_model(name, true) FROM hitl.models" \
		"SELECT hitl.create_model('$model', '$table', 'label', ARRAY['body'], algorithm => '$algo',
			options => '$opts'::jsonb || '{\"min_labels\": 1000000000}')" \
		"UPDATE hitl.models SET options = options || '{\"min_labels\": 10}' WHERE name = '$model'" \
		"VACUUM ANALYZE $table" "CHECKPOINT" >/dev/null || bench_die "creating model $model failed"
}

# version_info MODEL: train_ms, nnz, vocabulary, iterations of its current version
version_info() {
	bench_sql "SELECT round(v.train_ms::numeric, 1), v.metrics->>'nnz', v.metrics->>'vocabulary',
		coalesce(v.metrics->>'iterations', '-')
		FROM hitl.models m JOIN hitl.model_versions v ON v.model = m.name AND v.version = m.current_version
		WHERE m.name = '$1'"
}

STATUS_SQL="SELECT (regexp_match(s, 'VmHWM:\\s+(\\d+)'))[1], (regexp_match(s, 'RssAnon:\\s+(\\d+)'))[1],
	(regexp_match(s, 'RssShmem:\\s+(\\d+)'))[1] FROM pg_read_file('/proc/self/status') AS s"

# mem_train MODEL LABEL OUT.json: hitl.train(MODEL) in a fresh session, with
# the backend's memory read before and after and sampled while it trains;
# sets MEM_WALL (psql's time of hitl.train, ms)
mem_train() {
	local model=$1 label=$2 out=$3 pidfile="$BENCH_WORK/backend.pid" log="$BENCH_WORK/mem.log"
	local sampler before after row
	rm -f "$pidfile" "$out.rss"
	text_py rss-sample "$pidfile" "$out.rss" &
	sampler=$!
	hitl_psql -At -F ' ' >"$log" <<SQL || { wait "$sampler" || true; bench_die "training $model failed"; }
SET client_min_messages = warning;
\o $pidfile
SELECT pg_backend_pid();
\o
SELECT pg_sleep(0.3);
SELECT 'before', * FROM ($STATUS_SQL) s;
\timing on
SELECT hitl.train('$model');
\timing off
SELECT 'after', * FROM ($STATUS_SQL) s;
SQL
	wait "$sampler" || bench_die "the memory sampler failed"
	before="$(sed -n 's/^before //p' "$log")"
	after="$(sed -n 's/^after //p' "$log")"
	MEM_WALL="$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$log" | tail -n 1)"
	[[ -n $before && -n $after && -n $MEM_WALL ]] || bench_die "no memory figures for $model: $(cat "$log")"
	row="$(version_info "$model")"
	IFS='|' read -r MEM_TRAIN_MS MEM_NNZ _ _ <<<"$row"
	read -r hb ab sb <<<"$before"
	read -r ha _ sa <<<"$after"
	"$BENCH_PYTHON" - "$out.rss" "$out" "$label" "$MEM_NNZ" "$MEM_WALL" "$MEM_TRAIN_MS" \
		"$hb" "$ha" "$ab" "$sb" "$sa" <<'PY'
import json, sys
rss, out, label, nnz, wall, train_ms, hb, ha, ab, sb, sa = sys.argv[1:]
peak = json.load(open(rss))
json.dump({"label": label, "nnz": float(nnz), "wall_ms": float(wall), "train_ms": float(train_ms),
           "hwm_before": int(hb), "hwm_after": int(ha), "anon_before": int(ab),
           "shmem_before": int(sb), "shmem_after": int(sa),
           "anon_peak": max(peak["RssAnon"], int(ab)), "samples": peak["samples"]},
          open(out, "w"), indent=1)
PY
	printf '   memory of %s: VmHWM %s -> %s kB, RssShmem %s -> %s kB, RssAnon %s kB -> peak %s kB (%s samples); hitl.train %s ms (train_ms %s), nnz %s\n' \
		"$label" "$hb" "$ha" "$sb" "$sa" "$ab" \
		"$("$BENCH_PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["anon_peak"])' "$out")" \
		"$("$BENCH_PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["samples"])' "$out")" \
		"$MEM_WALL" "$MEM_TRAIN_MS" "$MEM_NNZ"
}

# sk_memory NAME ALGO OUT.json: scikit-learn's peak RSS fitting set NAME,
# and of a process that only loads it; added to OUT.json
sk_memory() {
	local name=$1 algo=$2 out=$3 fit_rss load_rss width=full
	[[ $algo == logistic ]] && width=vocabulary
	/usr/bin/time -v -o "$BENCH_WORK/time.fit" "$BENCH_PYTHON" "$BENCH_DIR/text_sklearn.py" fitonly "$algo" "$BENCH_WORK/$name" "$width" >/dev/null ||
		bench_die "scikit-learn fit of $name failed"
	/usr/bin/time -v -o "$BENCH_WORK/time.load" "$BENCH_PYTHON" "$BENCH_DIR/text_sklearn.py" load "$BENCH_WORK/$name" >/dev/null ||
		bench_die "loading $name failed"
	fit_rss="$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$BENCH_WORK/time.fit")"
	load_rss="$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$BENCH_WORK/time.load")"
	"$BENCH_PYTHON" - "$out" "$fit_rss" "$load_rss" <<'PY'
import json, sys
out, fit_rss, load_rss = sys.argv[1:]
m = json.load(open(out))
m["sk_rss"], m["sk_rss_load"] = int(fit_rss), int(load_rss)
json.dump(m, open(out, "w"), indent=1)
PY
	echo "   scikit-learn $algo on $name: peak RSS $fit_rss kB (only loading the matrix: $load_rss kB)"
}

# export_terms TABLE TESTCOND BIGRAMS FILE: id, truth, is_test, terms (JSON)
export_terms() {
	local t0=$SECONDS
	hitl_psql -c "\\copy (SELECT id, truth, $2, to_json(hitl.text_terms(body, 'simple', $3)) FROM $1 ORDER BY id) TO pstdout WITH (FORMAT csv)" >"$4" ||
		bench_die "exporting the terms of $1 failed"
	echo "   exported the terms of $1 (bigrams $3): $((SECONDS - t0)) s, $(du -m "$4" | cut -f1) MB"
}

# vectorize TERMS SPEC...: scikit-learn's vectorizing; sets VEC_MS[name]
declare -A VEC_MS
vectorize() {
	local terms=$1 name load_ms vec_ms nrows nnz
	shift
	text_py vectorize "$terms" "$BENCH_WORK" "$@" >"$BENCH_WORK/vectorize.out" || bench_die "vectorizing failed"
	while read -r name load_ms vec_ms nrows nnz; do
		VEC_MS[$name]=$vec_ms
		echo "   scikit-learn vectorized $name: $nrows rows, $nnz non-zeros, $vec_ms ms (reading the terms file: $load_ms ms)"
	done <"$BENCH_WORK/vectorize.out"
}

# hitl_run PART CONFIG TABLE ALGO OPTIONS REPS TESTCOND [MEMLABEL MEMOUT]:
# cold trains, scorings, accuracy and the test rows' predictions; with
# MEMLABEL, the (single) training is measured by mem_train into MEMOUT
hitl_run() {
	local part=$1 cfg=$2 table=$3 algo=$4 opts=$5 reps=$6 test=$7 memlabel=${8:-} memout=${9:-}
	local model="text_${algo}" rep row tr=() wall=() sc=() sc0=() acc ms nnz vocab iters written
	echo "-- hitl $part $cfg: $algo $opts, $reps cold train(s)"
	for ((rep = 1; rep <= reps; rep++)); do
		fresh_model "$model" "$table" "$algo" "$opts"
		if [[ -n $memlabel ]]; then
			mem_train "$model" "$memlabel" "$memout"
			wall+=("$MEM_WALL")
		else
			bench_time "SELECT hitl.train('$model')"
			wall+=("$BENCH_MS")
		fi
		row="$(version_info "$model")"
		IFS='|' read -r ms nnz vocab iters <<<"$row"
		tr+=("$ms")
		bench_time "SELECT hitl.score('$model')"
		sc+=("$BENCH_MS")
		written=$BENCH_OUT
		bench_time "SELECT hitl.score('$model')"
		sc0+=("$BENCH_MS")
		[[ $BENCH_OUT == 0 ]] || echo "   (the second hitl.score wrote $BENCH_OUT rows)"
		printf '   rep %d: train_ms %s, hitl.train %s ms, hitl.score %s ms (%s rows written), again %s ms; iterations %s, vocabulary %s, nnz %s\n' \
			"$rep" "$ms" "${wall[-1]}" "${sc[-1]}" "$written" "${sc0[-1]}" "$iters" "$vocab" "$nnz"
	done
	acc="$(bench_sql "SELECT avg((label_prediction = truth)::int) FROM $table WHERE $test")"
	hitl_psql -c "\\copy (SELECT id, label_prediction FROM $table WHERE $test ORDER BY id) TO pstdout WITH (FORMAT csv)" \
		>"$BENCH_WORK/pred-$part-$cfg.csv" || bench_die "exporting predictions failed"
	echo "   test accuracy $acc"
	text_py record "$R/hitl-$part-$cfg.json" "train_ms=${tr[*]}" "train_wall_ms=${wall[*]}" \
		"score_ms=${sc[*]}" "score_nochange_ms=${sc0[*]}" "accuracy=$acc" "nnz=$nnz" \
		"vocabulary=$vocab" "iterations=$iters"
}

# sk_run PART CONFIG SET ALGO REPS [WIDTH]: scikit-learn's fit and predict
sk_run() {
	local part=$1 cfg=$2 set=$3 algo=$4 reps=$5 width=${6:-} out
	[[ -n $width ]] || { [[ $algo == logistic ]] && width=vocabulary || width=full; }
	out="$R/sk-$part-$cfg.json"
	[[ $width == full && $algo == logistic ]] && out="$R/skfull-$part-$cfg.json"
	echo "-- scikit-learn $part $cfg ($set, $width width, $reps fit(s))"
	printf '   '
	text_py fit "$algo" "$BENCH_WORK/$set" "$reps" "$width" "$out" "$BENCH_WORK/pred-$part-$cfg.csv" ||
		bench_die "scikit-learn on $set failed"
	"$BENCH_PYTHON" - "$out" "${VEC_MS[$set]}" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["vectorize_ms"] = float(sys.argv[2])
json.dump(m, open(sys.argv[1], "w"), indent=1)
PY
}

# ---------------------------------------------------------------------------
# (a) fortunes

echo "== (a) fortunes =="
bench_sql "DROP TABLE IF EXISTS bench_fortunes CASCADE" \
	"CREATE TABLE bench_fortunes (id bigint PRIMARY KEY, truth text NOT NULL, body text NOT NULL, label text)" \
	"ALTER TABLE bench_fortunes SET (autovacuum_enabled = false)" >/dev/null
hitl_psql -c "\\copy bench_fortunes (id, truth, body) FROM pstdin WITH (FORMAT csv, HEADER true)" <"$FORTUNES" ||
	bench_die "loading fortunes failed"
bench_sql "UPDATE bench_fortunes SET label = truth WHERE id % 4 <> 0" "VACUUM (FREEZE, ANALYZE) bench_fortunes" >/dev/null
echo "   $(bench_sql "SELECT count(*) || ' rows, ' || count(label) || ' labeled, ' || count(DISTINCT truth) || ' classes' FROM bench_fortunes")"
export_terms bench_fortunes "id % 4 = 0" false "$BENCH_WORK/fortunes-uni.csv"
export_terms bench_fortunes "id % 4 = 0" true "$BENCH_WORK/fortunes-bi.csv"
vectorize "$BENCH_WORK/fortunes-uni.csv" "f-uni-nb:0:$B18:0" "f-uni-lr:1:$B18:0"
vectorize "$BENCH_WORK/fortunes-bi.csv" "f-bi-nb:0:$B18:0" "f-bi-lr:1:$B18:0"

for cfg in "${FORTUNES_CONFIGS[@]}"; do
	case $cfg in
	nb-*) algo=naive_bayes reps=$REPS ;;
	*) algo=logistic reps=$LR_REPS ;;
	esac
	case $cfg in
	*-unigrams) bigrams=false set=f-uni ;;
	*) bigrams=true set=f-bi ;;
	esac
	[[ $algo == naive_bayes ]] && set=$set-nb || set=$set-lr
	hitl_run fortunes "$cfg" bench_fortunes "$algo" "{\"cv_folds\": 0, \"bigrams\": $bigrams}" "$reps" "id % 4 = 0"
	sk_run fortunes "$cfg" "$set" "$algo" "$reps"
	if [[ $FULL_WIDTH == 1 && $algo == logistic ]]; then
		sk_run fortunes "$cfg" "$set" "$algo" 1 full
	fi
	echo
done

# ---------------------------------------------------------------------------
# (b) the synthetic table, and (c) memory

echo "== (b) synthetic text, $ROWS rows =="
t0=$SECONDS
bench_sql "DROP TABLE IF EXISTS bench_text, bench_text_small CASCADE" \
	"CREATE TABLE bench_text (id bigint PRIMARY KEY, truth text NOT NULL, body text NOT NULL, label text)" \
	"ALTER TABLE bench_text SET (autovacuum_enabled = false)" >/dev/null
# The synthetic texts: test/bench/text_rows.sql (8 classes, 10-30 words a row)
hitl_psql -q -v table=bench_text -v rows="$ROWS" <"$BENCH_DIR/text_rows.sql" >/dev/null ||
	bench_die "generating the synthetic table failed"
hitl_psql -q >/dev/null <<SQL || bench_die "generating the synthetic table failed"
UPDATE bench_text SET label = truth WHERE id % 10 = 0;
CREATE TABLE bench_text_small (LIKE bench_text INCLUDING ALL);
ALTER TABLE bench_text_small SET (autovacuum_enabled = false);
INSERT INTO bench_text_small SELECT * FROM bench_text WHERE id <= $SMALL;
VACUUM (FREEZE, ANALYZE) bench_text, bench_text_small;
SQL
echo "   generated in $((SECONDS - t0)) s: $(bench_sql "SELECT count(*) || ' rows, ' || count(label) || ' labeled, ' || count(DISTINCT truth) || ' classes, ' || round(avg(array_length(regexp_split_to_array(body, ' '), 1)), 1) || ' words a row, ' || pg_size_pretty(pg_table_size('bench_text')) FROM bench_text")"
echo "   first rows: $(bench_sql "SELECT string_agg(truth || ': ' || left(body, 60), ' | ' ORDER BY id) FROM bench_text WHERE id <= 2")"
text_py record "$R/synthetic.json" "rows=$ROWS" "labeled=$(bench_sql "SELECT count(label) FROM bench_text")"
export_terms bench_text "id % 10 <> 0" false "$BENCH_WORK/synthetic.csv"
vectorize "$BENCH_WORK/synthetic.csv" "s-nb:0:$B18:0" "s-lr:1:$B18:0" "s-nb-b20:0:$B20:0" "s-lr-b20:1:$B20:0" \
	"s-small-nb:0:$B18:$SMALL" "s-small-lr:1:$B18:$SMALL"
rm -f "$BENCH_WORK/synthetic.csv"

for cfg in nb-unigrams logistic-unigrams; do
	case $cfg in
	nb-*) algo=naive_bayes short=nb ;;
	*) algo=logistic short=lr ;;
	esac
	mem="$R/mem-$short-1-rows$ROWS-b18.json"
	hitl_run synthetic "$cfg" bench_text "$algo" '{"cv_folds": 0}' 1 "id % 10 <> 0" "$short, $ROWS rows, 2^18" "$mem"
	sk_run synthetic "$cfg" "s-$short" "$algo" 1
	sk_memory "s-$short" "$algo" "$mem"
	echo
done

echo "== (c) memory: $SMALL vs $ROWS rows, buckets 2^18 vs 2^20 =="
for algo in naive_bayes logistic; do
	[[ $algo == naive_bayes ]] && short=nb || short=lr
	echo "-- $algo, $SMALL rows, 2^18"
	fresh_model "text_$algo" bench_text_small "$algo" '{"cv_folds": 0}'
	mem_train "text_$algo" "$short, $SMALL rows, 2^18" "$R/mem-$short-0-rows$SMALL-b18.json"
	sk_memory "s-small-$short" "$algo" "$R/mem-$short-0-rows$SMALL-b18.json"
	bench_sql "SELECT hitl.drop_model(name, true) FROM hitl.models" >/dev/null
	echo "-- $algo, $ROWS rows, 2^20"
	fresh_model "text_$algo" bench_text "$algo" "{\"cv_folds\": 0, \"buckets\": $B20}"
	mem_train "text_$algo" "$short, $ROWS rows, 2^20" "$R/mem-$short-2-rows$ROWS-b20.json"
	sk_memory "s-$short-b20" "$algo" "$R/mem-$short-2-rows$ROWS-b20.json"
	bench_sql "SELECT hitl.drop_model(name, true) FROM hitl.models" >/dev/null
done
echo

# ---------------------------------------------------------------------------
# (d) incremental naive Bayes

# incremental NAME TABLE POOLCOND: REPS labeled rows of the pool left
# unlabeled, a naive Bayes model trained on the rest; then per rep, one of
# them labeled, hitl.train(m, true), and a full hitl.train(m)
incremental() {
	local name=$1 table=$2 pool=$3 ids id rep=0 model=text_nb_inc v_inc v_full row
	local it=() iw=() ft=() fw=() same=true labeled
	echo "-- incremental naive Bayes on $table"
	ids="$(bench_sql "SELECT string_agg(id::text, ' ' ORDER BY id) FROM (SELECT id FROM $table WHERE $pool ORDER BY id DESC LIMIT $REPS) h")"
	bench_sql "UPDATE $table SET label = NULL WHERE id IN (${ids// /,})" >/dev/null
	fresh_model "$model" "$table" naive_bayes '{"cv_folds": 0}'
	bench_sql "SELECT hitl.train('$model')" >/dev/null
	for id in $ids; do
		rep=$((rep + 1))
		bench_sql "UPDATE $table SET label = truth WHERE id = $id" >/dev/null
		bench_time "SELECT hitl.train('$model', true)"
		v_inc=$BENCH_OUT
		iw+=("$BENCH_MS")
		row="$(bench_sql "SELECT round(train_ms::numeric, 2), metrics->>'incremental', metrics->>'changes', n_labeled FROM hitl.model_versions WHERE model = '$model' AND version = $v_inc")"
		IFS='|' read -r ms inc changes labeled <<<"$row"
		[[ $inc == true && $changes == 1 ]] || bench_die "version $v_inc of $model is not an incremental update of 1 change ($row)"
		it+=("$ms")
		bench_time "SELECT hitl.train('$model')"
		v_full=$BENCH_OUT
		fw+=("$BENCH_MS")
		ft+=("$(bench_sql "SELECT round(train_ms::numeric, 2) FROM hitl.model_versions WHERE model = '$model' AND version = $v_full")")
		# the same statistics both ways
		row="$(bench_sql "SELECT a.class_counts = b.class_counts AND a.count_index = b.count_index
			AND a.n_labeled = b.n_labeled AND a.vocabulary = b.vocabulary
			AND (SELECT max(abs(x - y)) FROM unnest(a.counts, b.counts) AS u(x, y)) < 1e-9
			FROM hitl.model_versions a, hitl.model_versions b
			WHERE a.model = '$model' AND a.version = $v_inc AND b.model = '$model' AND b.version = $v_full")"
		[[ $row == t ]] || same=false
		printf '   rep %d (row %s): incremental train_ms %s (%s ms wall), full train_ms %s (%s ms wall), %s labeled rows, same counts: %s\n' \
			"$rep" "$id" "$ms" "${iw[-1]}" "${ft[-1]}" "${fw[-1]}" "$labeled" "$row"
	done
	text_py record "$R/inc-$name.json" "table=$name" "labeled=$labeled" "inc_train_ms=${it[*]}" \
		"inc_wall_ms=${iw[*]}" "full_train_ms=${ft[*]}" "full_wall_ms=${fw[*]}" "same_counts=$same"
	bench_sql "SELECT hitl.drop_model(name, true) FROM hitl.models" \
		"UPDATE $table SET label = truth WHERE id IN (${ids// /,})" >/dev/null
	[[ $same == true ]] || bench_die "an incremental update differs from the full training on $table"
}

echo "== (d) incremental naive Bayes =="
incremental fortunes bench_fortunes "id % 4 <> 0"
incremental synthetic bench_text "id % 10 = 0"
echo

missed=0
text_py summary "$R" || missed=1
bench_done
[[ $missed == 0 ]] || bench_die "an accuracy difference above 1.5 pp"
