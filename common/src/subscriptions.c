/* SPDX-License-Identifier: Apache-2.0 */
/* The device's subscription set: exact topics for retained documents, wildcards elsewhere. */
#include <string.h>

#include "fota/subscriptions.h"
#include "fota/topics.h"

/* Appends unless already present (a group listed twice). */
static void add(struct fota_subscriptions *s, const char *filter)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->filter[i], filter) == 0)
			return;
	memcpy(s->filter[s->n++], filter, strlen(filter) + 1);
}

fota_err fota_subscriptions_device(const char *prefix, const char *device,
				   const char *const *groups, size_t n_groups,
				   const char *job_group, const char *job_image_hex,
				   struct fota_subscriptions *out, struct fota_error *err)
{
	char buf[FOTA_MAX_TOPIC_LEN + 1];
	struct fota_topic t;
	fota_err rc;

	memset(out, 0, sizeof(*out));
	if (n_groups > FOTA_SUBSCRIPTIONS_MAX_GROUPS)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "%zu groups, at most %d", n_groups,
				      FOTA_SUBSCRIPTIONS_MAX_GROUPS);
	for (size_t i = 0; i < n_groups; i++) {
		memset(&t, 0, sizeof(t));
		t.kind = FOTA_TOPIC_GROUP_DIRECTIVE;
		if (!fota_topic_segment_valid(groups[i]))
			return fota_error_set(err, FOTA_ERR_INVAL, "invalid group name '%.80s'",
					      groups[i] ? groups[i] : "(null)");
		memcpy(t.group, groups[i], strlen(groups[i]) + 1);
		rc = fota_topic_build(prefix, &t, buf, sizeof(buf), err);
		if (rc != FOTA_OK)
			return rc;
		add(out, buf);
		rc = fota_topic_group_images_filter(prefix, groups[i], FOTA_TOPIC_GROUP_CHUNKS, buf,
						    sizeof(buf), err);
		if (rc != FOTA_OK)
			return rc;
		add(out, buf);
		/* The live table, in publish order before its directive and chunks: without it a
		 * broadcast with no repair server behind it (plain publish) loses the chunks that
		 * arrive while the exact table subscription below is still being made. */
		rc = fota_topic_group_images_filter(prefix, groups[i], FOTA_TOPIC_GROUP_TABLE, buf,
						    sizeof(buf), err);
		if (rc != FOTA_OK)
			return rc;
		add(out, buf);
	}
	if (job_group && job_image_hex) {
		memset(&t, 0, sizeof(t));
		t.kind = FOTA_TOPIC_GROUP_TABLE;
		if (!fota_topic_segment_valid(job_group) ||
		    strlen(job_image_hex) != FOTA_IMAGE_ID_HEX_LEN)
			return fota_error_set(err, FOTA_ERR_INVAL,
					      "invalid job group '%.80s' or image id '%.80s'",
					      job_group, job_image_hex);
		memcpy(t.group, job_group, strlen(job_group) + 1);
		memcpy(t.image_id, job_image_hex, FOTA_IMAGE_ID_HEX_LEN + 1);
		rc = fota_topic_build(prefix, &t, buf, sizeof(buf), err);
		if (rc != FOTA_OK)
			return rc;
		add(out, buf);
	}
	memset(&t, 0, sizeof(t));
	t.kind = FOTA_TOPIC_DEVICE_CHUNKS;
	if (!fota_topic_segment_valid(device))
		return fota_error_set(err, FOTA_ERR_INVAL, "invalid device id '%.80s'",
				      device ? device : "(null)");
	memcpy(t.device, device, strlen(device) + 1);
	rc = fota_topic_build(prefix, &t, buf, sizeof(buf), err);
	if (rc != FOTA_OK)
		return rc;
	add(out, buf);
	t.kind = FOTA_TOPIC_DEVICE_ASSIGNMENT;
	rc = fota_topic_build(prefix, &t, buf, sizeof(buf), err);
	if (rc != FOTA_OK)
		return rc;
	add(out, buf);
	t.kind = FOTA_TOPIC_DEVICE_KEY;
	rc = fota_topic_build(prefix, &t, buf, sizeof(buf), err);
	if (rc != FOTA_OK)
		return rc;
	add(out, buf);
	return FOTA_OK;
}

void fota_subscriptions_list(const struct fota_subscriptions *s,
			     const char *list[FOTA_SUBSCRIPTIONS_MAX])
{
	for (size_t i = 0; i < s->n; i++)
		list[i] = s->filter[i];
}
