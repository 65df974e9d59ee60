/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: the process-wide stop and reload requests that signals
 * raise and long-running loops honour. */
#ifndef ORCH_STOP_H
#define ORCH_STOP_H

#include <signal.h>
#include <stdbool.h>

/* Set by SIGINT/SIGTERM; long-running loops poll it. */
extern volatile sig_atomic_t orch_stop;

/* Set by SIGHUP once orch_reload_on_sighup() was called; the daemon rereads its configuration
 * and clears it. */
extern volatile sig_atomic_t orch_reload;

/* From now on SIGHUP sets orch_reload instead of ending the process (only the daemon). */
void orch_reload_on_sighup(void);

/* Sleeps up to ms, returning early (false) once orch_stop is set. */
bool orch_sleep_ms(long ms);

#endif
