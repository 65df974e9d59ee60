/* SPDX-License-Identifier: Apache-2.0 */
/* Private header: status reports, queued from any thread and published from the main loop. */
#ifndef FOTA_CLIENT_REPORTER_H
#define FOTA_CLIENT_REPORTER_H

#include <pthread.h>
#include <stdbool.h>

#include "config.h"
#include "fota/mqtt.h"
#include "fota/status.h"

#define REPORTER_QUEUE 32

/* Publishing waits for PUBACKs, which Paho's receive thread delivers: doing it from a message
 * callback would block that very thread. So callbacks only queue; the main loop publishes. */
struct reporter {
	pthread_mutex_t lock;
	struct fota_status queue[REPORTER_QUEUE];
	unsigned head, len;
	unsigned dropped;
	char topic[FOTA_MAX_TOPIC_LEN];
	const char *state_dir;
	/* progress throttle */
	int64_t last_progress_ms;
	uint32_t last_progress_pct;
	uint32_t every_pct, every_ms;
};

fota_err reporter_init(struct reporter *r, const struct client_config *cfg, struct fota_error *err);
void reporter_destroy(struct reporter *r);
/* Queues a state change (always sent; the oldest entry is dropped when full, never blocks). */
void reporter_push(struct reporter *r, const struct fota_status *s);
/* Queues a progress report if at least every_pct percent or every_ms passed since the last. */
void reporter_progress(struct reporter *r, const struct fota_status *s, int64_t now_ms);
/* Main loop: publishes everything queued (retained, QoS 1). Keeps entries that failed. */
void reporter_flush(struct reporter *r, struct fota_mqtt *mqtt);
/* The last-will payload: {"device":..,"state":"offline"}; *out malloc'd. */
fota_err reporter_will(const struct client_config *cfg, char **out, size_t *len,
		       struct fota_error *err);

#endif
