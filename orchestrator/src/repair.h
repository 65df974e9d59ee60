/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: repair requests and the worker that serves them fairly
 * (repair_sched.h). */
#ifndef ORCH_REPAIR_H
#define ORCH_REPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/digest.h"
#include "fota/error.h"

#include "config.h"
#include "publisher.h"

/* Stored images the worker keeps open at once. */
#define ORCH_REPAIR_OPEN_IMAGES 4

struct orch_repair;

struct orch_repair_stats {
	uint64_t served;   /* requests that queued something new */
	uint64_t merged;   /* requests for nothing that was not queued already */
	uint64_t rejected; /* invalid requests */
	uint64_t dropped;  /* requests whose new chunks were all over the device's caps */
	uint64_t frames;   /* frames sent, tables included */
	/* Requests cut because a broadcast to the device's group still brings some of their
	 * chunks, and those chunks (never sent unicast: the broadcast brings them, and the device
	 * asks again for any it then still misses). */
	uint64_t ahead_requests;
	uint64_t ahead_chunks;
	/* Of those, the ones cut within the grace period after the broadcast ended. */
	uint64_t grace_requests;
	uint64_t grace_chunks;
};

/* The first chunk of image_id from which a broadcast queued or running to one of the device's
 * groups still brings every chunk, or one that ended within its grace period brought them
 * (*ended set); UINT32_MAX when there is none. Called on the MQTT thread, without the repair
 * lock. */
typedef uint32_t (*orch_repair_ahead_fn)(void *ctx, const char *device,
					 const uint8_t image_id[FOTA_IMAGE_ID_LEN], bool *ended);

/* Starts the worker thread. cfg and pub must outlive the repair object. */
fota_err orch_repair_new(const struct orch_config *cfg, const struct orch_publisher *pub,
			 struct orch_repair **out, struct fota_error *err);
/* Stops the worker (finishing the request it is serving) and frees; NULL is a no-op. */
void orch_repair_free(struct orch_repair *r);

/* From the MQTT message callback: parses and merges into the device's queue without blocking
 * on the network. device comes from the topic, which the broker ACL ties to the sender. */
void orch_repair_submit(struct orch_repair *r, const char *device, const uint8_t *payload,
			size_t len);

/* Set once, before requests arrive: from then on a request is cut to the chunks below what the
 * device's group broadcast still brings (docs/orchestrator.md, "Repair protocol"). */
void orch_repair_set_ahead(struct orch_repair *r, orch_repair_ahead_fn fn, void *ctx);

void orch_repair_get_stats(struct orch_repair *r, struct orch_repair_stats *out);

#endif
