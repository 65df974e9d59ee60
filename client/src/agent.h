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
/* Connects (retrying with backoff until stop is set) and runs until stop is set.
 * Returns FOTA_OK on a requested stop. */
fota_err agent_run(struct agent *a, volatile sig_atomic_t *stop, struct fota_error *err);

#endif
