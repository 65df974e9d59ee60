/* SPDX-License-Identifier: Apache-2.0 */
/* What a device subscribes to, computed in one place from its groups and its current job. */
#ifndef FOTA_SUBSCRIPTIONS_H
#define FOTA_SUBSCRIPTIONS_H

#include <stddef.h>

#include "fota/error.h"
#include "fota/limits.h"

/* Groups one device may belong to, each worth two filters, plus the job's table, the
 * device's own chunks and its group assignment. */
#define FOTA_SUBSCRIPTIONS_MAX_GROUPS FOTA_MAX_LIST_ITEMS
#define FOTA_SUBSCRIPTIONS_MAX (3 * FOTA_SUBSCRIPTIONS_MAX_GROUPS + 4)

struct fota_subscriptions {
	size_t n;
	char filter[FOTA_SUBSCRIPTIONS_MAX][FOTA_MAX_TOPIC_LEN + 1];
};

/* The device's filters. Retained documents are subscribed by their exact topic, since some
 * brokers (RabbitMQ) replay retained messages only to a subscription that names the topic:
 * each group's directive, the table of the image being received (job_group and
 * job_image_hex, both NULL when there is no job). Wildcards for each group's broadcast chunks
 * (nothing retained) and each group's tables (so the live table arrives in publish order,
 * before the chunks; on brokers that replay retained messages to wildcards it also brings the
 * retained ones, which the agent keeps only for its directive). Then the device's own unicast
 * chunks and, exactly, its retained group assignment. Groups that repeat are subscribed once. */
fota_err fota_subscriptions_device(const char *prefix, const char *device,
				   const char *const *groups, size_t n_groups,
				   const char *job_group, const char *job_image_hex,
				   struct fota_subscriptions *out, struct fota_error *err);

/* The filters as a list of pointers into s (for fota_mqtt_subscribe_exactly). */
void fota_subscriptions_list(const struct fota_subscriptions *s,
			     const char *list[FOTA_SUBSCRIPTIONS_MAX]);

#endif
