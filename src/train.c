/*
 * train.c
 *		hitl.train() and train_model(): load and lock the model, pick the
 *		training of its kind, try an incremental update first when asked.
 *
 * This file only dispatches (see train.h for the family): the kinds of
 * training are in train_dense.c, train_text.c, train_nbayes.c and
 * train_incremental.c, what they share in train_common.c.  A naive Bayes
 * model asked to train incrementally (the worker always asks) applies the
 * label changes since its current version; when that cannot give what a
 * full training would, it trains from scratch, the version's metrics say
 * why ("fallback") and so does a DEBUG1 message.
 *
 * With weight_by_consensus, every kind weighs the rows by their consensus
 * confidence, read at each training (train.h): a naive Bayes model then
 * always trains from scratch, a row's weight being able to change while
 * its label does not.
 *
 * The worker defers cross-validation (TrainCvWhen in train.h): the version
 * it trains scores first, and train_crossvalidate_current() gives it its
 * own figures after.
 *
 * Every new version, whichever way it was trained, gets its stopping
 * signal (train_stopping.c) once recorded; the worker's, once scored, so
 * that the fresh queue does not wait for it.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "progress.h"
#include "spi_check.h"
#include "train.h"

/* The training of a model's kind */
static TrainFamilyFn
pick_family(const HitlModel *model)
{
	if (model_is_nbayes(model))
		return train_nbayes;
	if (model->text_config != NULL)
		return train_text;
	return train_dense;
}

/*
 * Train the named model as when says, filling *run (in cxt); returns the
 * version (see train_model).
 */
static int
train_run(const char *name, bool incremental, TrainCvWhen when, TrainRun *run,
		  MemoryContext cxt)
{
	int			version = 0;

	memset(run, 0, sizeof(*run));
	INSTR_TIME_SET_CURRENT(run->start);
	run->cv_when = when;
	run->model = catalog_load_model(name, cxt);
	catalog_lock_model(run->model);
	/* reload: another training may have committed while we waited */
	run->model = catalog_load_model(name, cxt);
	run->weighted = train_read_weighted(run->model);
	/* the current version, loaded (and checked) once for both paths */
	if (model_is_sparse(run->model) || when == TRAIN_CV_ONLY)
		run->prev = train_load_current(run->model, cxt);
	/* only a version whose cross-validation waits gets one */
	if (when == TRAIN_CV_ONLY && (run->prev == NULL || !run->prev->cv_pending))
		return run->model->current_version;
	hitl_progress_begin(name, run->model->source, run->model->owner);
	run->layout = features_resolve(run->model);
	features_detect_dims(run->layout, run->model);

	if (incremental && model_is_nbayes(run->model))
	{
		version = train_incremental(run);
		if (version == 0)
			ereport(DEBUG1,
					(errmsg_internal("hitl: model \"%s\": incremental update not possible: %s",
									 run->model->name, train_fallback_name(run->fallback))));
		/* no change, but hitl.train on a pending version: cross-validate it */
		else if (when == TRAIN_CV_INLINE && run->prev != NULL && run->prev->cv_pending &&
				 version == run->prev->version)
			version = 0;
	}
	/* naive Bayes from scratch: by aggregates when it can be */
	if (version == 0 && model_is_nbayes(run->model))
		version = train_nbayes_sums(run);
	if (version <= 0)
		version = pick_family(run->model) (run);
	/*
	 * a new version: its stopping signal (from 0.2.0's SQL on); the
	 * worker's, after the version's scoring (train_stop_signal_after)
	 */
	if (version > run->model->current_version && when != TRAIN_CV_DEFER &&
		catalog_stop_signal_installed())
		train_stop_signal(run->model, version, -1);
	hitl_progress_end();
	return version;
}

/* What a training leaves, copied out of its memory context */
typedef struct TrainOutcome
{
	int			version;		/* as train_model returns it */
	int			prev_version;	/* the current version before, 0 if none */
	bool		cv_recorded;	/* TRAIN_CV_ONLY: figures put in place */
	bool		recalibrated;	/* ... moving the calibration temperature */
} TrainOutcome;

/* train_run() in a memory context of its own, deleted after */
static void
train_in_context(const char *name, bool incremental, TrainCvWhen when, TrainOutcome *out)
{
	MemoryContext cxt;
	MemoryContext old;
	TrainRun	run;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "hitl train",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	out->version = train_run(name, incremental, when, &run, cxt);
	MemoryContextSwitchTo(old);
	out->prev_version = run.prev != NULL ? run.prev->version : 0;
	out->cv_recorded = run.cv_recorded;
	out->recalibrated = run.recalibrated;
	MemoryContextDelete(cxt);
}

/*
 * Train a new version of a model and record it.
 */
int
train_model(const char *name, bool incremental, TrainCvWhen when)
{
	TrainOutcome out;

	train_in_context(name, incremental, when, &out);
	return out.version;
}

/*
 * The deferred cross-validation of a model's current version.
 */
bool
train_crossvalidate_current(const char *name, bool *recorded, bool *recalibrated)
{
	TrainOutcome out;

	train_in_context(name, false, TRAIN_CV_ONLY, &out);
	*recorded = out.cv_recorded;
	*recalibrated = out.recalibrated;
	return out.prev_version != 0 && out.version != out.prev_version;
}

bool
train_stop_signal_after(const char *name, int version, int compared)
{
	ModelProgress p;
	MemoryContext cxt;
	MemoryContext old;

	if (!catalog_stop_signal_installed() || !catalog_read_progress(name, false, false, &p) ||
		version > p.current_version || compared >= version)
		return false;
	cxt = AllocSetContextCreate(CurrentMemoryContext, "hitl stop signal after",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	train_stop_signal(catalog_load_model(name, cxt), version, Max(compared, 0));
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return true;
}

PG_FUNCTION_INFO_V1(hitl_train);

/*
 * hitl.train(model text, incremental boolean) returns integer
 */
Datum
hitl_train(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		incremental = PG_GETARG_BOOL(1);
	int			version;

	hitl_spi_check(SPI_connect(), SPI_OK_CONNECT, "SPI_connect");
	version = train_model(name, incremental, TRAIN_CV_INLINE);
	SPI_finish();
	PG_RETURN_INT32(version);
}
