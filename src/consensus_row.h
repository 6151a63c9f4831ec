/*
 * consensus_row.h
 *		One row's consensus from its answers, under a model's consensus
 *		options and its current Dawid-Skene fit (hitl.consensus_fits), and
 *		its record in hitl.consensus.
 *
 * Used by the answer trigger (answer.c), for the row it answers, and by
 * the refresh of a model's fit (consensus_refresh.c), for every row.
 */
#ifndef HITL_CONSENSUS_ROW_H
#define HITL_CONSENSUS_ROW_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* Below this many rows with k answers, the absent option means majority */
#define CONSENSUS_AUTO_MIN_ROWS 20
#define CONSENSUS_DEFAULT_THRESHOLD 0.8

/* The option "consensus" */
typedef enum ConsensusMethod
{
	CONSENSUS_AUTOMATIC,		/* absent */
	CONSENSUS_MAJORITY,
	CONSENSUS_DAWID_SKENE
} ConsensusMethod;

/* A model's consensus options, and its fit when it has one */
typedef struct ConsensusRule
{
	int			per_row;		/* annotators_per_row */
	ConsensusMethod method;
	double		threshold;		/* consensus_threshold */
	/* the fit: nclasses 0 without one */
	TimestampTz fitted_at;
	int			nclasses;
	char	  **classes;		/* sorted by strcmp */
	int			nroles;
	char	  **roles;			/* sorted by strcmp */
	double	   *prior;			/* nclasses */
	double	   *confusion;		/* (nroles + 1) x k x k: the pooled matrix last */
	int			full_rows;
} ConsensusRule;

/* One role's answer on a row */
typedef struct RoleAnswer
{
	char	   *role;
	char	   *label;
	bool		adjudication;
	TimestampTz at;
} RoleAnswer;

/* A row's consensus */
typedef struct RowConsensus
{
	char	   *label;			/* NULL: none (a tie, or below the threshold) */
	double		confidence;
	const char *method;			/* "majority", "dawid_skene" or "adjudication" */
} RowConsensus;

/*
 * The model's consensus options and current fit (SPI connected); NULL when
 * the model is gone.  The fit's arrays are kept for the backend's life
 * and read again only when the fit changed: do not free.
 */
extern ConsensusRule *consensus_rule(const char *model);

/* Whether the rule takes Dawid-Skene's posterior (else majority vote) */
extern bool consensus_uses_fit(const ConsensusRule *rule);

/*
 * The consensus of a row from its n answers: false when it has none yet
 * (fewer than per_row answers, and no adjudication).  An adjudication
 * settles the row (the latest, when there are several); else Dawid-Skene's
 * label when the rule takes the fit and every answer's label is one of
 * the fit's classes, with its posterior as confidence, the label only
 * when that reaches the threshold; else majority vote, with the winning
 * share as confidence, no label on a tie.
 */
extern bool consensus_decide(const ConsensusRule *rule, int n, const RoleAnswer *answers,
							 RowConsensus *out);

/* Record a row's consensus in hitl.consensus (SPI connected) */
extern void consensus_store(const char *model, Datum row_key, const RowConsensus *c,
							int answers);

#endif							/* HITL_CONSENSUS_ROW_H */
