/*
 * give_way.h
 *		Moving hitl's workers out of the way of commands (give_way.c).
 */
#ifndef HITL_GIVE_WAY_H
#define HITL_GIVE_WAY_H

/*
 * Install the utility hook that stops a database's worker during commands
 * on the database, and makes it give way to commands on a model's table
 * (called when the launcher is registered, while preloading).
 */
extern void hitl_give_way_hook_install(void);

#endif
