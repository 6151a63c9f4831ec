/*
 * worker_version.h
 *		What the database worker does around a version it trains: its log
 *		line, and its stopping signal, computed once the version is scored.
 */
#ifndef HITL_WORKER_VERSION_H
#define HITL_WORKER_VERSION_H

#include "postgres.h"

/*
 * One LOG line per version the worker trained (nothing per row): model,
 * database, version, labels, training time and cross-validated accuracy;
 * with cross-validation after scoring, a second line when it is done
 * (crossvalidated: previous is then the version before the
 * cross-validation).  In a unit of work.
 */
extern void worker_log_new_version(const char *name, const char *dbname,
								   int previous, bool crossvalidated);

/*
 * Remember that the model's version (just trained by the worker) is to get
 * its stopping signal once scored, compared with version compared (the one
 * whose predictions the table held when it was trained, 0: none).
 */
extern void worker_stop_signal_later(const char *name, int version, int compared);

/* Has the model versions waiting for their stopping signal? */
extern bool worker_stop_signal_waits(const char *name);

/*
 * In a unit of work, as the model's owner, after its scoring: the stopping
 * signal of each of its versions that waits for one (each forgotten before
 * it is computed: one that fails is not tried again).
 */
extern void worker_stop_signal_now(const char *name);

#endif
