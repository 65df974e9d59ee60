/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: repair request queue and the worker that serves it. */
#ifndef ORCH_REPAIR_H
#define ORCH_REPAIR_H

#include <stddef.h>
#include <stdint.h>

#include "fota/error.h"

#include "config.h"
#include "publisher.h"

/* Requests waiting for the worker; beyond this they are dropped (the device asks again). */
#define ORCH_REPAIR_QUEUE_LEN 1024
/* Stored images the worker keeps open at once. */
#define ORCH_REPAIR_OPEN_IMAGES 4

struct orch_repair;

struct orch_repair_stats {
	uint64_t served;   /* requests answered */
	uint64_t rejected; /* invalid requests */
	uint64_t dropped;  /* queue full */
	uint64_t frames;   /* frames sent, tables included */
};

/* Starts the worker thread. cfg and pub must outlive the repair object. */
fota_err orch_repair_new(const struct orch_config *cfg, const struct orch_publisher *pub,
			 struct orch_repair **out, struct fota_error *err);
/* Stops the worker (finishing the request it is serving) and frees; NULL is a no-op. */
void orch_repair_free(struct orch_repair *r);

/* From the MQTT message callback: parses and enqueues without blocking on the network.
 * device comes from the topic, which the broker ACL ties to the sender. */
void orch_repair_submit(struct orch_repair *r, const char *device, const uint8_t *payload,
			size_t len);

void orch_repair_get_stats(struct orch_repair *r, struct orch_repair_stats *out);

#endif
