/*
 * hitl 0.1.0 -> 0.2.0
 *
 * Built from the files of sql/0.2.0/, in the order of their names; each
 * file holds one topic of the change.  A fresh CREATE EXTENSION hitl runs
 * hitl--0.1.0.sql and then this script.
 */

\echo Use "ALTER EXTENSION hitl UPDATE TO '0.2.0'" to load this file. \quit
