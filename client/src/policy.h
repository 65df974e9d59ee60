/* SPDX-License-Identifier: Apache-2.0 */
/* Private header: the vendor policy hook that may defer a download or an install. */
#ifndef FOTA_CLIENT_POLICY_H
#define FOTA_CLIENT_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "fota/manifest.h"

/* Exit code of the hook that means "not now" (sysexits EX_TEMPFAIL); see docs/client.md. */
#define POLICY_EXIT_DEFER 75

/*
 * Asks cfg's [policy] hook whether action ("download" or "install") may run now: the hook
 * runs as "hook ACTION" (no shell) with FOTA_ACTION, FOTA_IMAGE_NAME, FOTA_IMAGE_VERSION,
 * FOTA_IMAGE_SIZE and FOTA_IMAGE_SEQUENCE in its environment. Exit 0 allows. Any other end
 * (exit code, signal, timeout, a hook that cannot start) defers, with the reason in reason:
 * a policy that cannot answer must not let a device install while it is busy or on battery.
 * No hook configured always allows.
 */
bool policy_allows(const struct client_config *cfg, const char *action,
		   const struct fota_manifest *m, char *reason, size_t reason_len);

#endif
