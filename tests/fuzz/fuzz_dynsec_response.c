/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the judgement of the dynamic-security plugin's answer (orch_dynsec_batch_judge), the
 * one network input of the orchestrator that comes from the broker rather than from a device:
 * whatever the bytes, a batch of three devices is either granted whole, or refused with a
 * reason and fewer devices counted granted. */
#include <stdint.h>
#include <stdlib.h>

#include "dynsec_batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The grants and tag of the seed answers in corpus/fuzz_dynsec_response: shared and own groups,
 * a group left, a device with none. */
static const struct orch_dynsec_grant grants[] = {
    {.device = "dev-1", .old_groups = "old", .new_groups = "lab,eu"},
    {.device = "dev-2", .old_groups = NULL, .new_groups = "lab"},
    {.device = "dev-3", .old_groups = "lab", .new_groups = NULL},
};
enum { N_GRANTS = sizeof(grants) / sizeof(grants[0]) };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct orch_dynsec_batch *b;
	struct fota_error err = {0};
	size_t granted = 99;
	fota_err rc;

	if (b == NULL &&
	    orch_dynsec_batch_new("fota/v1", "fuzz", grants, N_GRANTS, &b, &err) != FOTA_OK)
		abort();
	rc = orch_dynsec_batch_judge(b, (const char *)data, size, &granted, &err);
	if (rc == FOTA_OK) {
		if (granted != N_GRANTS)
			abort();
	} else if ((rc != FOTA_ERR_PARSE && rc != FOTA_ERR_TOO_BIG && rc != FOTA_ERR_MQTT &&
		    rc != FOTA_ERR_NOMEM) ||
		   granted >= N_GRANTS || !err.msg[0]) {
		abort();
	}
	return 0;
}
