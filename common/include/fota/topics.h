/* SPDX-License-Identifier: Apache-2.0 */
/* The topic scheme, built and parsed in this one place. Default prefix "fota/v1". */
#ifndef FOTA_TOPICS_H
#define FOTA_TOPICS_H

#include <stdbool.h>
#include <stddef.h>

#include "fota/digest.h"
#include "fota/error.h"
#include "fota/limits.h"

#define FOTA_DEFAULT_PREFIX "fota/v1"

enum fota_topic_kind {
	FOTA_TOPIC_GROUP_DIRECTIVE = 0, /* {prefix}/groups/{group}/directive */
	FOTA_TOPIC_GROUP_CHUNKS,	/* {prefix}/groups/{group}/images/{image_id}/chunks */
	FOTA_TOPIC_GROUP_TABLE,		/* {prefix}/groups/{group}/images/{image_id}/table */
	FOTA_TOPIC_DEVICE_STATUS,	/* {prefix}/devices/{device}/status */
	FOTA_TOPIC_DEVICE_REQUEST,	/* {prefix}/devices/{device}/request */
	FOTA_TOPIC_DEVICE_CHUNKS,	/* {prefix}/devices/{device}/chunks */
	FOTA_TOPIC_DEVICE_ASSIGNMENT,	/* {prefix}/devices/{device}/assignment */
	FOTA_TOPIC_DEVICE_KEY,		/* {prefix}/devices/{device}/key */
};

struct fota_topic {
	enum fota_topic_kind kind;
	char group[FOTA_MAX_SEGMENT_LEN + 1];	  /* group kinds */
	char device[FOTA_MAX_SEGMENT_LEN + 1];	  /* device kinds */
	char image_id[FOTA_IMAGE_ID_HEX_LEN + 1]; /* chunks/table kinds */
};

/* A group or device name: 1..64 of [A-Za-z0-9._-], not "." or "..". */
bool fota_topic_segment_valid(const char *s);
/* A prefix: 1..64 chars, segments as above joined by '/'. */
bool fota_topic_prefix_valid(const char *prefix);

fota_err fota_topic_build(const char *prefix, const struct fota_topic *t, char *buf, size_t size,
			  struct fota_error *err);
/* Fills out from a concrete topic; FOTA_ERR_PARSE for anything not in the scheme. */
fota_err fota_topic_parse(const char *prefix, const char *topic, struct fota_topic *out,
			  struct fota_error *err);

/* The largest payload our code accepts on a topic of this kind, whatever the broker lets
 * through (brokers differ: Mosquitto's message_size_limit, none in RabbitMQ 3.10's MQTT):
 * directive FOTA_MAX_DIRECTIVE_BYTES, chunks and table a frame with the longest header,
 * status FOTA_MAX_STATUS_BYTES, request FOTA_MAX_REQUEST_BYTES, assignment
 * FOTA_MAX_ASSIGNMENT_BYTES, key FOTA_MAX_KEY_DOC_BYTES. */
size_t fota_topic_payload_limit(enum fota_topic_kind kind);
/* FOTA_ERR_TOO_BIG, naming the topic, the size and the limit, when len exceeds the limit of
 * t's kind; receivers drop such a message before anything else looks at it. */
fota_err fota_topic_payload_check(const struct fota_topic *t, const char *topic, size_t len,
				  struct fota_error *err);

/* Subscription filters: "{prefix}/groups/{group}/#" and "{prefix}/devices/+/{leaf}". */
fota_err fota_topic_group_filter(const char *prefix, const char *group, char *buf, size_t size,
				 struct fota_error *err);
fota_err fota_topic_devices_filter(const char *prefix, const char *leaf, char *buf, size_t size,
				   struct fota_error *err);
/* "{prefix}/groups/{group}/images/+/chunks" (kind FOTA_TOPIC_GROUP_CHUNKS): every image's
 * broadcast of a group, where nothing is retained, so brokers that replay retained messages
 * only to exact topics lose nothing. "{prefix}/groups/{group}/images/+/table"
 * (FOTA_TOPIC_GROUP_TABLE): every table of a group as it is published, so that the live table
 * reaches the device in publish order, before its directive and chunks. */
fota_err fota_topic_group_images_filter(const char *prefix, const char *group,
					enum fota_topic_kind kind, char *buf, size_t size,
					struct fota_error *err);

#endif
