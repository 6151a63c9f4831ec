/*
 * train.h
 *		Training a model on the labeled rows of its table.
 */
#ifndef HITL_TRAIN_H
#define HITL_TRAIN_H

/*
 * Train a new version of the named model and record it; returns the version
 * number.  Runs inside an SPI connection opened by the caller.
 */
extern int	train_model(const char *name);

#endif
