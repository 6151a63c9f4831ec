/*
 * settings.h
 *		hitl's settings (settings.c).
 */
#ifndef HITL_SETTINGS_H
#define HITL_SETTINGS_H

extern bool hitl_enabled;
extern int	hitl_naptime;		/* seconds */
extern int	hitl_citus_poll_interval;	/* milliseconds */
extern int	hitl_retrain_delay; /* milliseconds */
extern int	hitl_batch_size;
extern int	hitl_work_timeout;	/* milliseconds, 0: none */
extern int	hitl_max_workers;
extern int	hitl_max_parallel_scoring;	/* workers beside a scoring's backend */
extern bool hitl_train_by_aggregates;	/* naive Bayes by parallel aggregates */

/* Define them (called by _PG_init) */
extern void settings_define(void);

#endif
