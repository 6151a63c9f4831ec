/*
 * confident.h
 *		Confident learning: which labels are likely wrong, judged by the
 *		out-of-fold class probabilities of the labeled rows.
 *
 * Plain C, no PostgreSQL types.
 *
 * A model is not equally sure of every class, so one fixed cut would flag
 * the rows of hard classes and miss those of easy ones.  Each class j gets
 * its own threshold instead: t_j, the mean out-of-fold probability of j
 * over the rows labeled j (how sure the model is of that class when it is
 * the label).  A row labeled y is suspect when the probability of its own
 * label stays below t_y while another class c reaches t_c: the model,
 * without having seen the row, finds it as typical of c as c's own rows
 * are, and not typical of y.  Suspects are ranked by the probability of
 * their label, lowest (most suspicious) first; the class the model would
 * give is the out-of-fold prediction (the most probable class).
 */
#ifndef HITL_CONFIDENT_H
#define HITL_CONFIDENT_H

#include <stdbool.h>

/*
 * The per-class thresholds (k of them) of n rows (proba row-major n x k,
 * labels y in 0 .. k - 1).  A class no row is labeled with gets threshold
 * 2: no row reaches it.
 */
extern void confident_thresholds(int n, int k, const double *proba, const int *y,
								 double *thresholds);

/*
 * Flag the suspect rows in suspect[] (n of them) under the thresholds;
 * returns how many.
 */
extern int	confident_suspects(int n, int k, const double *proba, const int *y,
							   const double *thresholds, bool *suspect);

#endif
