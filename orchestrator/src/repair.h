/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: repair requests and the worker that serves them fairly
 * (repair_sched.h). */
#ifndef ORCH_REPAIR_H
#define ORCH_REPAIR_H

#include <stddef.h>
#include <stdint.h>

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
};

/* Starts the worker thread. cfg and pub must outlive the repair object. */
fota_err orch_repair_new(const struct orch_config *cfg, const struct orch_publisher *pub,
			 struct orch_repair **out, struct fota_error *err);
/* Stops the worker (finishing the request it is serving) and frees; NULL is a no-op. */
void orch_repair_free(struct orch_repair *r);

/* From the MQTT message callback: parses and merges into the device's queue without blocking
 * on the network. device comes from the topic, which the broker ACL ties to the sender. */
void orch_repair_submit(struct orch_repair *r, const char *device, const uint8_t *payload,
			size_t len);

void orch_repair_get_stats(struct orch_repair *r, struct orch_repair_stats *out);

#endif
