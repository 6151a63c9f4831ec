/*
 * agreement.h
 *		Agreement between annotators, chance-corrected: Cohen's kappa for a
 *		pair, Fleiss' kappa and Krippendorff's alpha (nominal) for a team.
 *
 * Plain C, no PostgreSQL types.  The answers come as in consensus.h: an
 * AnswerSet built (checked and sorted) by answer_set_build from triples
 * (item, annotator, class), or the triples themselves through
 * agreement_measure.  Each measure gives a value and the number of items
 * it was computed on; the value is NaN when the measure is undefined
 * (too few items, or every answer of one class, where chance agreement is
 * already total).
 *
 *	- Cohen's kappa of annotators a and b, over the items both answered:
 *	  (p_o - p_e) / (1 - p_e), p_o the share of those items on which they
 *	  agree and p_e = sum over c of (a's share of c) (b's share of c).
 *	  NaN with fewer than 2 common items or when p_e = 1.
 *	- Fleiss' kappa over the items with exactly r answers (r >= 2), N of
 *	  them: P_i = (sum_c n_ic^2 - r) / (r (r - 1)) the agreement on item i
 *	  (n_ic its answers of class c), P = mean of P_i, p_c = sum_i n_ic /
 *	  (N r), P_e = sum_c p_c^2, kappa = (P - P_e) / (1 - P_e).  Which
 *	  annotators gave the answers does not matter.  NaN without such items
 *	  or when P_e = 1.
 *	- Krippendorff's alpha, nominal, over the items with at least two
 *	  answers (an item with one answer has no pair): the coincidence matrix
 *	  o_cd = sum over items u of (number of ordered pairs of answers of u
 *	  valued c and d) / (m_u - 1), m_u the answers of u; n_c = sum_d o_cd,
 *	  n = sum_c n_c; alpha = 1 - (n - 1) sum_{c != d} o_cd / sum_{c != d}
 *	  n_c n_d.  NaN without such items or when every answer is one class.
 */
#ifndef HITL_AGREEMENT_H
#define HITL_AGREEMENT_H

#include "consensus.h"

typedef enum AgreementMeasure
{
	AGREEMENT_COHEN_KAPPA,
	AGREEMENT_FLEISS_KAPPA,
	AGREEMENT_KRIPPENDORFF_ALPHA
} AgreementMeasure;

/*
 * Cohen's kappa of annotators a and b (a != b, both in [0, m)); *common
 * gets the number of items both answered.  Returns CONSENSUS_OK,
 * CONSENSUS_BAD_ANNOTATOR or CONSENSUS_BAD_ARGUMENT (a = b).
 */
extern int	agreement_cohen_kappa(const AnswerSet *set, int a, int b, double *kappa,
								  long *common);

/*
 * Fleiss' kappa over the items with exactly r answers (2 <= r <= m);
 * *items gets their number.  Returns CONSENSUS_OK or CONSENSUS_BAD_ARGUMENT.
 */
extern int	agreement_fleiss_kappa(const AnswerSet *set, int r, double *kappa, long *items);

/* Krippendorff's alpha, nominal; *items gets the number of pairable items */
extern void agreement_krippendorff_alpha(const AnswerSet *set, double *alpha, long *items);

/*
 * One measure over triples: a and b are Cohen's annotators, r Fleiss'
 * answers per item, each ignored by the other measures.  Returns
 * CONSENSUS_OK or the status of the input (see answer_set_build) or of
 * the measure's arguments.
 */
extern int	agreement_measure(int n, int m, int k, const AnnotatorAnswer *answers,
							  int nanswers, AgreementMeasure measure, int a, int b, int r,
							  double *value, long *count);

#endif
