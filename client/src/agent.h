/* SPDX-License-Identifier: Apache-2.0 */
/* Private header: the device agent's state machine. */
#ifndef FOTA_CLIENT_AGENT_H
#define FOTA_CLIENT_AGENT_H

#include <signal.h>

#include "config.h"
#include "fota/error.h"

struct agent;

fota_err agent_new(const struct client_config *cfg, struct agent **out, struct fota_error *err);
void agent_free(struct agent *a);
/* agent_free for a process that exits next: the broker session is closed with
 * fota_mqtt_close_for_exit (Paho's threads are left to the exit), the rest freed. */
void agent_free_for_exit(struct agent *a);
/* Connects (retrying with backoff until stop is set) and runs until stop is set.
 * Returns FOTA_OK on a requested stop. */
fota_err agent_run(struct agent *a, volatile sig_atomic_t *stop, struct fota_error *err);

#endif
