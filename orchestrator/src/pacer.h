/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: token bucket shared by broadcast and repairs. */
#ifndef ORCH_PACER_H
#define ORCH_PACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct orch_pacer;

/* rate 0 = unpaced. burst is the most bytes sent back to back after an idle spell. Returns
 * NULL on allocation failure. */
struct orch_pacer *orch_pacer_new(uint64_t rate_bytes_per_s, uint64_t burst_bytes);
void orch_pacer_free(struct orch_pacer *p); /* NULL is a no-op */

/* Blocks until n bytes may go out. Thread-safe: callers reserve in arrival order, so the
 * broadcast and the repair worker share one budget. Returns false if a stop was requested
 * while waiting. */
bool orch_pacer_take(struct orch_pacer *p, size_t n);

uint64_t orch_pacer_rate(const struct orch_pacer *p);

#endif
