/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: directives, table and chunk frames onto the broker. */
#ifndef ORCH_PUBLISHER_H
#define ORCH_PUBLISHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/directive.h"
#include "fota/error.h"
#include "fota/mqtt.h"
#include "fota/signer.h"

#include "config.h"
#include "image_store.h"
#include "pacer.h"
#include "store.h"

/* How long one QoS 1 publish may wait for a window slot (or a reconnect). */
#define ORCH_PUBLISH_TIMEOUT_MS 30000

struct orch_publisher {
	struct fota_mqtt *mqtt;
	struct orch_pacer *pacer;
	const char *prefix;
};

/* Bytes a caller must provide to orch_publish_chunk for img. */
size_t orch_frame_buf_size(const struct orch_image *img);

/* The table frame (type table, index 0, payload = chunk_count * 32 bytes), QoS 1. */
fota_err orch_publish_table(const struct orch_publisher *pub, const char *topic,
			    const struct orch_image *img, bool retained, struct fota_error *err);

/* The retained tables a campaign for img in group starts with, on each payload's table topic:
 * the image's, then, when its manifest offers a delta (image.delta), the delta payload's from
 * the store, so that a device fetching the delta finds its table as it subscribes. A delta
 * payload missing from the store is logged, not an error: devices fall back to the image. */
fota_err orch_publish_tables(const struct orch_publisher *pub, const struct orch_config *cfg,
			     const char *group, const struct orch_image *img,
			     struct fota_error *err);

/* One data frame, read from disk into buf and paced; QoS 1, not retained. tally (may be NULL)
 * counts whether the broker acknowledged it. sent_us (may be NULL) gets orch_flow_now_us()
 * of the moment after pacing and right before the publish call: where a round trip starts,
 * since Paho writes the frame in the caller's thread and its PUBACK may come back before the
 * call returns. */
fota_err orch_publish_chunk(const struct orch_publisher *pub, const char *topic,
			    const struct orch_image *img, uint32_t index, uint8_t *buf,
			    size_t *frame_len, int64_t *sent_us, struct fota_mqtt_tally *tally,
			    struct fota_error *err);

struct orch_broadcast_stats {
	uint32_t first;	 /* index it started at (0 unless resumed) */
	uint32_t chunks; /* published */
	uint32_t acked;	 /* acknowledged by the broker: chunks first .. first + acked - 1 */
	uint64_t bytes;	 /* frame bytes, headers included */
	int64_t elapsed_ms;
	/* The acknowledgement clock (flow_window.h): its cap, where it ended, how often it
	 * halved. */
	unsigned window_max, window_end, window_shrinks;
};

/* Every chunk of img once on the group's chunks topic, memory bounded by one frame. Progress
 * goes to stderr at most once a second when progress is true. */
fota_err orch_broadcast(const struct orch_publisher *pub, const char *group,
			const struct orch_image *img, bool progress,
			struct orch_broadcast_stats *stats, struct fota_error *err);

/* Asked before every chunk of orch_broadcast_until; true ends the broadcast there. */
typedef bool (*orch_broadcast_stop_fn)(void *ctx);

/* orch_broadcast from chunk `first` on, without progress output, that ends
 *  - (FOTA_ERR_STATE, "stopped at chunk i of n") as soon as stop(stop_ctx) says so: a paused
 *    campaign stops its broadcast;
 *  - (FOTA_ERR_MQTT, "broker connection lost ...") when the broker connection was lost while
 *    it ran: subscribers that reconnect missed an unknown part, so they repair instead.
 * Before it returns it waits (up to ORCH_PUBLISH_TIMEOUT_MS) for the broker's answers, so
 * stats->acked is what the broker acknowledged; *tally shows it to other threads meanwhile
 * (fota_mqtt_tally_get). */
fota_err orch_broadcast_until(const struct orch_publisher *pub, const char *group,
			      const struct orch_image *img, uint32_t first,
			      orch_broadcast_stop_fn stop, void *stop_ctx,
			      struct fota_mqtt_tally *tally, struct orch_broadcast_stats *stats,
			      struct fota_error *err);

/* The group's next directive sequence from the store (orch_store_ops.directive_seq_next): made
 * durable before it is used, so a crash can never make two directives share a sequence.
 * FOTA_ERR_FIELD if group is not a topic segment. */
fota_err orch_directive_next_seq(struct orch_store *st, const char *group, uint64_t *seq,
				 struct fota_error *err);

/* Signs d with the orchestrator key and publishes it retained, QoS 1, on the group's
 * directive topic; records the group's campaign, image and sequence in the store (a failure
 * to record is logged: the directive is out). */
fota_err orch_publish_directive(const struct orch_publisher *pub, struct orch_store *st,
				struct fota_signer *signer, const struct fota_directive *d,
				const char *image_id, struct fota_error *err);

#endif
