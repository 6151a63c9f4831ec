# hitl: PGXS build
EXTENSION = hitl
EXTVERSION = 0.2.0

MODULE_big = hitl
OBJS = \
	src/hitl.o \
	src/settings.o \
	src/catalog.o \
	src/catalog_versions.o \
	src/catalog_admin.o \
	src/rowkey.o \
	src/dataset.o \
	src/keyorder.o \
	src/train.o \
	src/train_common.o \
	src/train_dense.o \
	src/train_sparseset.o \
	src/train_text.o \
	src/train_nbayes.o \
	src/train_nbsums.o \
	src/train_incremental.o \
	src/train_stopping.o \
	src/score.o \
	src/score_dist.o \
	src/score_scan.o \
	src/score_parallel.o \
	src/score_rows.o \
	src/score_lock.o \
	src/score_write.o \
	src/progress.o \
	src/queue.o \
	src/catalog_queue.o \
	src/catalog_evaluation.o \
	src/proportion.o \
	src/autolabel.o \
	src/catalog_oof.o \
	src/model_cache.o \
	src/predict_sql.o \
	src/shared.o \
	src/launcher.o \
	src/give_way.o \
	src/worker.o \
	src/worker_version.o \
	src/wait.o \
	src/subxact.o \
	src/security.o \
	src/numeric_alloc.o \
	src/scaler.o \
	src/logreg.o \
	src/logreg_lbfgs.o \
	src/logreg_solve.o \
	src/lbfgs.o \
	src/metrics.o \
	src/strategy_math.o \
	src/queue_diverse.o \
	src/score_committee.o \
	src/crossval.o \
	src/crossval_sparse.o \
	src/folds.o \
	src/calibrate.o \
	src/train_crossval.o \
	src/confident.o \
	src/audit.o \
	src/assign.o \
	src/rowaccess.o \
	src/catalog_audit.o \
	src/catalog_labels.o \
	src/label_info.o \
	src/label_log.o \
	src/label_buffer.o \
	src/label_trigger.o \
	src/answer.o \
	src/annotator_stats.o \
	src/consensus.o \
	src/consensus_row.o \
	src/consensus_refresh.o \
	src/agreement.o \
	src/label_rowcheck.o \
	src/texthash.o \
	src/tfidf.o \
	src/textfeat.o \
	src/termcache.o \
	src/termcache_trigger.o \
	src/nbayes.o \
	src/nbayes_update.o \
	src/vocab.o \
	src/sparse_logreg.o \
	src/sparserow.o \
	src/classifier.o \
	src/catalog_changes.o \
	src/catalog_citus.o \
	src/explain.o \
	src/explain_math.o \
	src/slice_sql.o \
	src/simulate_math.o \
	src/simulate_pick.o \
	src/simulate_sparse.o \
	src/simulate_text.o \
	src/simulate.o \
	src/agg_math.o \
	src/agg_state.o \
	src/agg_nbayes.o \
	src/agg_nbtrain.o \
	src/agg_logreg.o

# Released install scripts are frozen; each later version is an upgrade
# script, built from the topic files of sql/<version>/.  The install script
# of the current version, which CREATE EXTENSION runs, is the 0.1.0 script
# and the upgrade in one file, but for 0.1.0's write grant on hitl's tables
# to PUBLIC, which the upgrade revokes: it grants SELECT alone, so that no
# new install ever holds the grant (the same objects and privileges as
# 0.1.0 updated: test/t/081_upgrade_same_objects.pl).
#
# The 0.1.0 install script itself is not installed, so that no server can
# make a database at 0.1.0 (CREATE EXTENSION hitl VERSION '0.1.0') with that
# grant: a database already at 0.1.0 needs only the upgrade script, and a
# dump of one is restored under the current version (hitl.upgrade_models).
# The upgrade tests make 0.1.0 databases from it: `make install-0.1.0`
# installs it for them (test/run-tests.sh does; the package does not).
DATA_built = sql/$(EXTENSION)--0.1.0--0.2.0.sql sql/$(EXTENSION)--0.2.0.sql
EXTRA_CLEAN = sql/$(EXTENSION)--0.1.0--0.2.0.sql sql/$(EXTENSION)--0.2.0.sql test/unit/test_numerics \
	test/unit/test_sparse test/unit/test_text test/unit/test_train test/unit/test_folds \
	test/unit/test_calibrate test/unit/test_oversight test/unit/test_solver \
	test/unit/test_consensus test/unit/test_weights \
	test/unit/test_simulate test/unit/test_simulate_text test/unit/test_strategy test/unit/test_aggregates

# pg_regress suites live in sql/ and expected/
REGRESS = setup api errors queue numeric_fixture label_log text numbers explain oversight \
	simulate
REGRESS_OPTS = --inputdir=. --load-extension=hitl

SHLIB_LINK += -llapack -lblas -lm
PG_CFLAGS += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--0.1.0--0.2.0.sql: $(sort $(wildcard sql/0.2.0/*.sql))
	cat $^ > $@

# a GRANT to PUBLIC of any privilege to write (0.1.0 has exactly one)
PUBLIC_WRITE_GRANT = ^GRANT [A-Z, ]*(INSERT|UPDATE|DELETE|TRUNCATE)[A-Z, ]* ON (.*) TO PUBLIC;$$
sql/$(EXTENSION)--0.2.0.sql: sql/$(EXTENSION)--0.1.0.sql sql/$(EXTENSION)--0.1.0--0.2.0.sql
	test "$$(grep -cE '$(PUBLIC_WRITE_GRANT)' $<)" = 1
	sed -E 's/$(PUBLIC_WRITE_GRANT)/GRANT SELECT ON \2 TO PUBLIC;/' $< > $@.tmp
	cat sql/$(EXTENSION)--0.1.0--0.2.0.sql >> $@.tmp
	! grep -qE '$(PUBLIC_WRITE_GRANT)' $@.tmp
	mv $@.tmp $@

# the frozen 0.1.0 install script, for the upgrade tests alone (see DATA_built)
.PHONY: install-0.1.0
install-0.1.0:
	$(MKDIR_P) '$(DESTDIR)$(datadir)/$(datamoduledir)'
	$(INSTALL_DATA) sql/$(EXTENSION)--0.1.0.sql '$(DESTDIR)$(datadir)/$(datamoduledir)/'


# Plain-C tests of the numerics (no server involved)
NUMERIC_SRCS = src/scaler.c src/logreg.c src/logreg_lbfgs.c src/logreg_solve.c src/lbfgs.c src/metrics.c src/crossval.c src/numeric_alloc.c
test/unit/test_numerics: test/unit/test_numerics.c test/unit/tap.c $(NUMERIC_SRCS)
	$(CC) -O2 -Wall -Wextra -Werror -DHITL_STANDALONE -Isrc -Itest/unit -o $@ $^ -llapack -lblas -lm

test/unit/test_sparse: test/unit/test_sparse.c test/unit/tap.c src/sparse_logreg.c src/lbfgs.c src/logreg.c src/metrics.c src/numeric_alloc.c
	$(CC) -O2 -Wall -Wextra -Werror -DHITL_STANDALONE -Isrc -Itest/unit -o $@ $^ -llapack -lblas -lm

test/unit/test_text: test/unit/test_text.c test/unit/tap.c src/texthash.c src/tfidf.c src/nbayes.c src/metrics.c src/numeric_alloc.c src/explain_math.c
	$(CC) -O2 -Wall -Wextra -Werror -DHITL_STANDALONE -Isrc -Itest/unit -o $@ $^ -lm

test/unit/test_train: test/unit/test_train.c test/unit/tap.c src/vocab.c src/nbayes.c src/nbayes_update.c src/crossval_sparse.c src/sparse_logreg.c src/lbfgs.c src/logreg.c src/metrics.c src/numeric_alloc.c
	$(CC) -O2 -Wall -Wextra -Werror -DHITL_STANDALONE -Isrc -Itest/unit -o $@ $^ -llapack -lblas -lm

test/unit/test_solver: test/unit/test_solver.c test/unit/tap.c src/logreg_solve.c src/logreg_lbfgs.c src/lbfgs.c src/logreg.c src/metrics.c src/numeric_alloc.c
	$(CC) -O2 -Wall -Wextra -Werror -DHITL_STANDALONE -Isrc -Itest/unit -o $@ $^ -llapack -lblas -lm

test/unit/test_weights: test/unit/test_weights.c test/unit/tap.c src/logreg_solve.c src/logreg_lbfgs.c src/lbfgs.c src/logreg.c src/sparse_logreg.c src/nbayes.c src/metrics.c src/numeric_alloc.c
	$(CC) -O2 -Wall -Wextra -Werror -DHITL_STANDALONE -Isrc -Itest/unit -o $@ $^ -llapack -lblas -lm

test/unit/test_calibrate: test/unit/test_calibrate.c test/unit/tap.c src/calibrate.c src/metrics.c src/numeric_alloc.c
	$(CC) -O2 -Wall -Wextra -Werror -DHITL_STANDALONE -Isrc -Itest/unit -o $@ $^ -lm

test/unit/test_oversight: test/unit/test_oversight.c test/unit/tap.c src/proportion.c src/confident.c src/numeric_alloc.c
	$(CC) -O2 -Wall -Wextra -Werror -DHITL_STANDALONE -Isrc -Itest/unit -o $@ $^ -lm

test/unit/test_folds: test/unit/test_folds.c test/unit/tap.c src/folds.c src/metrics.c src/numeric_alloc.c
	$(CC) -O2 -Wall -Wextra -Werror -DHITL_STANDALONE -Isrc -Itest/unit -o $@ $^ -lm

test/unit/test_consensus: test/unit/test_consensus.c test/unit/tap.c src/consensus.c src/agreement.c src/folds.c src/numeric_alloc.c
	$(CC) -O2 -Wall -Wextra -Werror -DHITL_STANDALONE -Isrc -Itest/unit -o $@ $^ -lm

test/unit/test_simulate: test/unit/test_simulate.c test/unit/tap.c src/simulate_math.c src/simulate_pick.c src/simulate_sparse.c src/sparse_logreg.c src/strategy_math.c src/nbayes.c src/calibrate.c src/scaler.c src/logreg_solve.c src/logreg_lbfgs.c src/lbfgs.c src/logreg.c src/metrics.c src/numeric_alloc.c
	$(CC) -O2 -Wall -Wextra -Werror -DHITL_STANDALONE -Isrc -Itest/unit -o $@ $^ -llapack -lblas -lm

test/unit/test_simulate_text: test/unit/test_simulate_text.c test/unit/tap.c src/simulate_math.c src/simulate_pick.c src/simulate_sparse.c src/sparse_logreg.c src/strategy_math.c src/nbayes.c src/calibrate.c src/scaler.c src/logreg_solve.c src/logreg_lbfgs.c src/lbfgs.c src/logreg.c src/metrics.c src/numeric_alloc.c
	$(CC) -O2 -Wall -Wextra -Werror -DHITL_STANDALONE -Isrc -Itest/unit -o $@ $^ -llapack -lblas -lm

test/unit/test_strategy: test/unit/test_strategy.c test/unit/tap.c src/strategy_math.c src/numeric_alloc.c
	$(CC) -O2 -Wall -Wextra -Werror -DHITL_STANDALONE -Isrc -Itest/unit -o $@ $^ -lm

test/unit/test_aggregates: test/unit/test_aggregates.c test/unit/tap.c src/agg_math.c src/nbayes.c src/logreg_lbfgs.c src/lbfgs.c src/logreg.c src/metrics.c src/numeric_alloc.c
	$(CC) -O2 -Wall -Wextra -Werror -DHITL_STANDALONE -Isrc -Itest/unit -o $@ $^ -llapack -lblas -lm

.PHONY: unit
unit: test/unit/test_numerics test/unit/test_sparse test/unit/test_text test/unit/test_train \
	test/unit/test_folds test/unit/test_calibrate test/unit/test_oversight test/unit/test_solver \
	test/unit/test_consensus test/unit/test_weights \
	test/unit/test_simulate test/unit/test_simulate_text test/unit/test_strategy \
	test/unit/test_aggregates
	./test/unit/test_numerics test/data test/fixtures
	./test/unit/test_sparse test/fixtures
	./test/unit/test_text
	./test/unit/test_train
	./test/unit/test_folds
	./test/unit/test_calibrate
	./test/unit/test_oversight
	./test/unit/test_solver test/fixtures
	./test/unit/test_consensus test/fixtures
	./test/unit/test_weights test/fixtures
	./test/unit/test_simulate
	./test/unit/test_simulate_text
	./test/unit/test_strategy
	./test/unit/test_aggregates
