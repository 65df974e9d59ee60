/* SPDX-License-Identifier: Apache-2.0 */
/* Vendor policy hook: lets the device say "not now" (battery, busy, maintenance window). */
#include <stdio.h>
#include <string.h>

#include "health.h"
#include "policy.h"

bool policy_allows(const struct client_config *cfg, const char *action,
		   const struct fota_manifest *m, char *reason, size_t reason_len)
{
	char vars[5][FOTA_MAX_NAME_LEN + 48], how[96];
	const char *env[6], *argv[3];
	struct run_spec spec;
	struct run_result res;
	struct fota_error err = {0};
	bool ok = false;
	fota_err rc;

	reason[0] = '\0';
	if (cfg->policy_hook[0] == '\0')
		return true;
	snprintf(vars[0], sizeof(vars[0]), "FOTA_ACTION=%s", action);
	snprintf(vars[1], sizeof(vars[1]), "FOTA_IMAGE_NAME=%s", m->name);
	snprintf(vars[2], sizeof(vars[2]), "FOTA_IMAGE_VERSION=%s", m->version);
	snprintf(vars[3], sizeof(vars[3]), "FOTA_IMAGE_SIZE=%llu", (unsigned long long)m->size);
	snprintf(vars[4], sizeof(vars[4]), "FOTA_IMAGE_SEQUENCE=%llu",
		 (unsigned long long)m->sequence);
	for (int i = 0; i < 5; i++)
		env[i] = vars[i];
	env[5] = NULL;
	argv[0] = cfg->policy_hook;
	argv[1] = action;
	argv[2] = NULL;
	memset(&spec, 0, sizeof(spec));
	spec.argv = argv;
	spec.env = env;
	spec.timeout_ms = cfg->policy_timeout_s * 1000u;
	rc = health_run(&spec, &res, &err);
	if (rc == FOTA_OK && res.end == RUN_EXITED && res.status == 0) {
		ok = true;
	} else if (rc == FOTA_OK) {
		run_result_describe(&res, how, sizeof(how));
		/* The hook's own words (last stderr line) are the best reason to report. */
		snprintf(reason, reason_len, "%s deferred by policy hook: %.140s", action,
			 res.err_last[0] ? res.err_last : how);
	} else {
		snprintf(reason, reason_len, "%s deferred: policy hook: %.150s", action, err.msg);
	}
	run_result_clear(&res);
	return ok;
}
