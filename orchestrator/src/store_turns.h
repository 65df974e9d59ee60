/* SPDX-License-Identifier: Apache-2.0 */
/* Writers of one database file in this process take turns in the order they asked.
 *
 * SQLite lets one connection write at a time and makes the others poll with growing sleeps
 * (up to 100 ms each). Two busy writers in one daemon (the campaign engine and the audit
 * trail's writer) then keep each other waiting long after the lock is free. A turn is taken
 * before a write transaction begins and given back when it ends, so the next writer starts as
 * soon as the previous one commits. Other processes still meet the busy handler. */
#ifndef FOTA_ORCH_STORE_TURNS_H
#define FOTA_ORCH_STORE_TURNS_H

#include <stdbool.h>

struct orch_store_turns;

/* The queue of the file at path (one per file and process), or NULL when out of memory. */
struct orch_store_turns *orch_store_turns_get(const char *path);
void orch_store_turns_put(struct orch_store_turns *t);

/* Waits for this caller's turn, at most timeout_ms; false when the wait ran out (the caller
 * goes on without a turn, as if there were no queue). */
bool orch_store_turn_take(struct orch_store_turns *t, int timeout_ms);
/* Ends the caller's turn: the longest waiter's begins. */
void orch_store_turn_give(struct orch_store_turns *t);
/* How many wait for a turn now. */
unsigned orch_store_turns_waiting(struct orch_store_turns *t);

#endif
