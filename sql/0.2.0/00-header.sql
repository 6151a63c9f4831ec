/*
 * hitl 0.1.0 -> 0.2.0
 *
 * Built from the files of sql/0.2.0/, in the order of their names.  A
 * fresh CREATE EXTENSION hitl runs hitl--0.2.0.sql: hitl--0.1.0.sql, with
 * its write grant on hitl's tables to PUBLIC cut to SELECT, and then this
 * script (see the Makefile); ALTER EXTENSION hitl UPDATE runs this script
 * on a database holding 0.1.0 and its models.  Each file is one section, and each section uses only
 * what comes before it:
 *
 *	10 tables			columns that change, new tables (and what had to be
 *						dropped for the change)
 *	20 C functions		the module's functions, public and internal
 *	29 Citus			which tables Citus distributes (create_model
 *						refuses them)
 *	30 internal			hitl._* in SQL and PL/pgSQL: helpers, trigger
 *						functions, the steps of hitl.create_model
 *	40 policies/grants	row-level security and privileges of hitl's tables
 *						(after the functions: the policies call them)
 *	50 public			hitl.create_model, hitl.drop_model
 *	60 views			hitl.progress
 *	65-69				the oversight half: BI views (65), per-class
 *						metrics and hitl.confusion (66), hitl.explain (67),
 *						the audit queue (68), evaluation rows (69),
 *						auto-labeling (69b), slices (69c), and
 *						hitl.label_stats (69d, after the tables it reads)
 *	70 triggers			on hitl's tables
 *	80 existing models	0.1.0's models carried over (needs all the above)
 *
 * A function's own privileges and a view's grants are set next to it.
 */

\echo Use "ALTER EXTENSION hitl UPDATE TO '0.2.0'" to load this file. \quit
