/*
 * autolabel.h
 *		Auto-labeling at a precision target (autolabel.c) and its store
 *		(catalog_oof.c: hitl.oof_predictions and hitl.auto_labels).
 */
#ifndef HITL_AUTOLABEL_H
#define HITL_AUTOLABEL_H

#include "postgres.h"

#include "catalog.h"

struct TrainCvInput;
struct TrainCv;

/* catalog_oof.c */
extern void oof_record(const HitlModel *model, const struct TrainCvInput *in,
					   const struct TrainCv *cv, int version);
extern int	oof_read_pairs(const char *model, double **confidence, bool **right,
						   int *version);
extern void catalog_auto_labels_add(const char *model, int version, Datum keys,
									Datum labels, Datum audited);
extern bool catalog_auto_labels_any(const char *model);
extern bool catalog_trains_on_auto_labels(const char *model);

/* Does hitl hold that table (a database not yet updated from 0.1.0 does not)? */
extern bool hitl_table_exists(const char *name);
extern void catalog_auto_labels_forget(const char *model, int n, Datum *keys);
extern void catalog_auto_labels_confirmed(const char *model, Datum row_key);
extern char *autolabel_exclusion_sql(const HitlModel *model, const char *key_sql);

/*
 * autolabel.c: is hitl.auto_label writing labels now (in this backend)?
 * Then *version is the version that decides them.
 */
extern bool autolabel_writing(int *version);

/*
 * The worker's auto-labeling of a model after a retraining, at its option
 * auto_label_precision (nothing when absent), as the model's owner.
 * Runs in an open transaction with SPI connected.
 */
extern void autolabel_for_worker(const char *model, Oid owner);

#endif
