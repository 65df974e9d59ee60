/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: which payload of a campaign's image (the full one or the
 * delta its manifest offers) a broadcast carries, from the versions the devices report. */
#ifndef ORCH_PAYLOAD_CHOICE_H
#define ORCH_PAYLOAD_CHOICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/error.h"
#include "fota/digest.h"
#include "fota/limits.h"

#include "config.h"
#include "campaign.h"
#include "store.h"

struct orch_payload_choice {
	bool has_delta; /* the image's manifest offers a delta payload */
	char delta_id[FOTA_IMAGE_ID_HEX_LEN + 1];
	char base_id[FOTA_IMAGE_ID_HEX_LEN + 1];
	bool base_known; /* the base image is stored, so its version is known */
	char base_version[FOTA_MAX_VERSION_LEN + 1];
	uint32_t waiting; /* admitted devices that do not hold the image yet */
	uint32_t on_base; /* of those, the ones whose registry version is the base's */
	bool delta;	  /* broadcast the delta; the others take the full payload by repair */
	char payload_id[FOTA_IMAGE_ID_HEX_LEN + 1]; /* what to broadcast */
};

/* The rule, pure for tests: the delta goes out when most (more than half) of the waiting
 * devices run its base. */
bool orch_delta_pays(uint32_t on_base, uint32_t waiting);

/* Applies the rule to c's admitted devices that still need the image
 * (orch_cdev_needs_image), each on the base when the version the registry holds for it (the
 * version it last reported) is the stored base image's version. */
fota_err orch_payload_choose(const struct orch_config *cfg, struct orch_store *st,
			     const struct orch_campaign *c, struct orch_payload_choice *out,
			     struct fota_error *err);

/* One line for logs and the `payload` campaign event, e.g. "delta 1a2b... broadcast: 4 of 5
 * waiting devices run its base 0490... (version 2.0.0); the others take the full payload by
 * repair". */
void orch_payload_choice_describe(const struct orch_payload_choice *p, char *out, size_t size);

/* The detail of c's latest `payload` event into out ("" when there is none). */
fota_err orch_payload_last(struct orch_store *st, const char *campaign, char *out, size_t size,
			   struct fota_error *err);

#endif
