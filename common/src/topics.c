/* SPDX-License-Identifier: Apache-2.0 */
/* The MQTT topic scheme: every topic string the system uses is built and parsed here. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fota/topics.h"

static const char *const leaves[] = {
    [FOTA_TOPIC_GROUP_DIRECTIVE] = "directive",
    [FOTA_TOPIC_GROUP_CHUNKS] = "chunks",
    [FOTA_TOPIC_GROUP_TABLE] = "table",
    [FOTA_TOPIC_DEVICE_STATUS] = "status",
    [FOTA_TOPIC_DEVICE_REQUEST] = "request",
    [FOTA_TOPIC_DEVICE_CHUNKS] = "chunks",
    [FOTA_TOPIC_DEVICE_ASSIGNMENT] = "assignment",
    [FOTA_TOPIC_DEVICE_KEY] = "key",
};

static bool segment_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* Segment rules over [s, s + n): the same for a NUL-terminated name and a slice of a topic. */
static bool segment_valid_n(const char *s, size_t n)
{
	if (n == 0 || n > FOTA_MAX_SEGMENT_LEN)
		return false;
	/* "." and ".." are harmless to MQTT but become path traversal wherever ids name files. */
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!segment_char(s[i]))
			return false;
	}
	return true;
}

bool fota_topic_segment_valid(const char *s)
{
	return s != NULL && segment_valid_n(s, strnlen(s, FOTA_MAX_SEGMENT_LEN + 1));
}

bool fota_topic_prefix_valid(const char *prefix)
{
	size_t n, start = 0;

	if (prefix == NULL)
		return false;
	n = strnlen(prefix, FOTA_MAX_PREFIX_LEN + 1);
	if (n == 0 || n > FOTA_MAX_PREFIX_LEN)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || prefix[i] == '/') {
			if (!segment_valid_n(prefix + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

static bool image_id_valid_n(const char *s, size_t n)
{
	if (n != FOTA_IMAGE_ID_HEX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

/* NULL means the default so callers without configuration need not spell it. */
static fota_err check_prefix(const char **prefix, struct fota_error *err)
{
	if (*prefix == NULL)
		*prefix = FOTA_DEFAULT_PREFIX;
	if (!fota_topic_prefix_valid(*prefix))
		return fota_error_set(err, FOTA_ERR_INVAL,
				      "topic prefix '%.80s' is not 1..%d chars of segments "
				      "[A-Za-z0-9._-] joined by '/'",
				      *prefix, FOTA_MAX_PREFIX_LEN);
	return FOTA_OK;
}

static fota_err emit(char *buf, size_t size, struct fota_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static fota_err emit(char *buf, size_t size, struct fota_error *err, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (buf == NULL || size == 0)
		return fota_error_set(err, FOTA_ERR_INVAL, "no topic buffer");
	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		buf[0] = '\0';
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "topic needs %d bytes, buffer has %zu",
				      n + 1, size);
	}
	return FOTA_OK;
}

fota_err fota_topic_build(const char *prefix, const struct fota_topic *t, char *buf, size_t size,
			  struct fota_error *err)
{
	fota_err rc = check_prefix(&prefix, err);

	if (rc != FOTA_OK)
		return rc;
	if (t == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, "no topic");
	switch (t->kind) {
	case FOTA_TOPIC_GROUP_DIRECTIVE:
	case FOTA_TOPIC_GROUP_CHUNKS:
	case FOTA_TOPIC_GROUP_TABLE:
		if (!fota_topic_segment_valid(t->group))
			return fota_error_set(err, FOTA_ERR_INVAL, "invalid group name '%.64s'",
					      t->group);
		if (t->kind == FOTA_TOPIC_GROUP_DIRECTIVE)
			return emit(buf, size, err, "%s/groups/%s/directive", prefix, t->group);
		if (!image_id_valid_n(t->image_id, strnlen(t->image_id, sizeof(t->image_id))))
			return fota_error_set(err, FOTA_ERR_INVAL,
					      "image id '%.16s' is not %d lower-case hex digits",
					      t->image_id, FOTA_IMAGE_ID_HEX_LEN);
		return emit(buf, size, err, "%s/groups/%s/images/%s/%s", prefix, t->group,
			    t->image_id, leaves[t->kind]);
	case FOTA_TOPIC_DEVICE_STATUS:
	case FOTA_TOPIC_DEVICE_REQUEST:
	case FOTA_TOPIC_DEVICE_CHUNKS:
	case FOTA_TOPIC_DEVICE_ASSIGNMENT:
	case FOTA_TOPIC_DEVICE_KEY:
		if (!fota_topic_segment_valid(t->device))
			return fota_error_set(err, FOTA_ERR_INVAL, "invalid device id '%.64s'",
					      t->device);
		return emit(buf, size, err, "%s/devices/%s/%s", prefix, t->device, leaves[t->kind]);
	}
	return fota_error_set(err, FOTA_ERR_INVAL, "unknown topic kind %d", (int)t->kind);
}

#define MAX_LEVELS 5

/* A topic level as a slice of the topic string. */
struct level {
	const char *s;
	size_t n;
};

static bool level_is(const struct level *l, const char *word)
{
	return l->n == strlen(word) && memcmp(l->s, word, l->n) == 0;
}

fota_err fota_topic_parse(const char *prefix, const char *topic, struct fota_topic *out,
			  struct fota_error *err)
{
	struct level lv[MAX_LEVELS];
	size_t plen, tlen, nlv = 0;
	const char *p;
	fota_err rc = check_prefix(&prefix, err);

	if (rc != FOTA_OK)
		return rc;
	if (topic == NULL || out == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, "no topic");
	memset(out, 0, sizeof(*out));
	tlen = strnlen(topic, FOTA_MAX_TOPIC_LEN + 1);
	if (tlen > FOTA_MAX_TOPIC_LEN)
		return fota_error_set(err, FOTA_ERR_PARSE, "topic longer than %d bytes",
				      FOTA_MAX_TOPIC_LEN);
	plen = strlen(prefix);
	if (tlen <= plen || memcmp(topic, prefix, plen) != 0 || topic[plen] != '/')
		return fota_error_set(err, FOTA_ERR_PARSE, "topic '%.80s' is not under '%s/'",
				      topic, prefix);
	/* Split the rest into at most MAX_LEVELS levels; one more means the topic is too deep. */
	p = topic + plen + 1;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (nlv == MAX_LEVELS)
			return fota_error_set(err, FOTA_ERR_PARSE, "topic '%.80s' has extra levels",
					      topic);
		lv[nlv].s = p;
		lv[nlv].n = n;
		nlv++;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	if (nlv >= 3 && level_is(&lv[0], "groups")) {
		if (!segment_valid_n(lv[1].s, lv[1].n))
			return fota_error_set(err, FOTA_ERR_PARSE,
					      "topic '%.80s' has an invalid group", topic);
		memcpy(out->group, lv[1].s, lv[1].n);
		if (nlv == 3 && level_is(&lv[2], "directive")) {
			out->kind = FOTA_TOPIC_GROUP_DIRECTIVE;
			return FOTA_OK;
		}
		if (nlv == 5 && level_is(&lv[2], "images")) {
			if (!image_id_valid_n(lv[3].s, lv[3].n))
				return fota_error_set(err, FOTA_ERR_PARSE,
						      "topic '%.80s' has an invalid image id",
						      topic);
			memcpy(out->image_id, lv[3].s, lv[3].n);
			if (level_is(&lv[4], "chunks")) {
				out->kind = FOTA_TOPIC_GROUP_CHUNKS;
				return FOTA_OK;
			}
			if (level_is(&lv[4], "table")) {
				out->kind = FOTA_TOPIC_GROUP_TABLE;
				return FOTA_OK;
			}
		}
	} else if (nlv == 3 && level_is(&lv[0], "devices")) {
		if (!segment_valid_n(lv[1].s, lv[1].n))
			return fota_error_set(err, FOTA_ERR_PARSE,
					      "topic '%.80s' has an invalid device id", topic);
		memcpy(out->device, lv[1].s, lv[1].n);
		for (int k = FOTA_TOPIC_DEVICE_STATUS; k <= FOTA_TOPIC_DEVICE_KEY; k++) {
			if (level_is(&lv[2], leaves[k])) {
				out->kind = (enum fota_topic_kind)k;
				return FOTA_OK;
			}
		}
	}
	memset(out, 0, sizeof(*out));
	return fota_error_set(err, FOTA_ERR_PARSE, "topic '%.80s' is not in the scheme", topic);
}

/* The prefix (defaulted) and group every group filter starts from. */
static fota_err check_group_filter(const char **prefix, const char *group, struct fota_error *err)
{
	fota_err rc = check_prefix(prefix, err);

	if (rc != FOTA_OK)
		return rc;
	if (!fota_topic_segment_valid(group))
		return fota_error_set(err, FOTA_ERR_INVAL, "invalid group name '%.80s'",
				      group ? group : "(null)");
	return FOTA_OK;
}

fota_err fota_topic_group_filter(const char *prefix, const char *group, char *buf, size_t size,
				 struct fota_error *err)
{
	fota_err rc = check_group_filter(&prefix, group, err);

	if (rc != FOTA_OK)
		return rc;
	return emit(buf, size, err, "%s/groups/%s/#", prefix, group);
}

fota_err fota_topic_group_images_filter(const char *prefix, const char *group,
					enum fota_topic_kind kind, char *buf, size_t size,
					struct fota_error *err)
{
	fota_err rc = check_group_filter(&prefix, group, err);

	if (rc != FOTA_OK)
		return rc;
	if (kind != FOTA_TOPIC_GROUP_CHUNKS && kind != FOTA_TOPIC_GROUP_TABLE)
		return fota_error_set(err, FOTA_ERR_INVAL,
				      "an image filter is for chunks or table topics");
	return emit(buf, size, err, "%s/groups/%s/images/+/%s", prefix, group,
		    kind == FOTA_TOPIC_GROUP_CHUNKS ? "chunks" : "table");
}

fota_err fota_topic_devices_filter(const char *prefix, const char *leaf, char *buf, size_t size,
				   struct fota_error *err)
{
	fota_err rc = check_prefix(&prefix, err);

	if (rc != FOTA_OK)
		return rc;
	for (int k = FOTA_TOPIC_DEVICE_STATUS; k <= FOTA_TOPIC_DEVICE_CHUNKS; k++) {
		if (leaf != NULL && strcmp(leaf, leaves[k]) == 0)
			return emit(buf, size, err, "%s/devices/+/%s", prefix, leaf);
	}
	return fota_error_set(err, FOTA_ERR_INVAL,
			      "device topic leaf '%.20s' is not status, request or chunks",
			      leaf ? leaf : "(null)");
}

size_t fota_topic_payload_limit(enum fota_topic_kind kind)
{
	switch (kind) {
	case FOTA_TOPIC_GROUP_DIRECTIVE:
		return FOTA_MAX_DIRECTIVE_BYTES;
	case FOTA_TOPIC_GROUP_CHUNKS:
	case FOTA_TOPIC_GROUP_TABLE:
	case FOTA_TOPIC_DEVICE_CHUNKS:
		/* A later frame version may carry a longer header (FOTA_MAX_FRAME_HEADER_LEN). */
		return FOTA_MAX_FRAME_BYTES + (FOTA_MAX_FRAME_HEADER_LEN - FOTA_FRAME_HEADER_LEN);
	case FOTA_TOPIC_DEVICE_STATUS:
		return FOTA_MAX_STATUS_BYTES;
	case FOTA_TOPIC_DEVICE_REQUEST:
		return FOTA_MAX_REQUEST_BYTES;
	case FOTA_TOPIC_DEVICE_ASSIGNMENT:
		return FOTA_MAX_ASSIGNMENT_BYTES;
	case FOTA_TOPIC_DEVICE_KEY:
		return FOTA_MAX_KEY_DOC_BYTES;
	}
	return 0;
}

fota_err fota_topic_payload_check(const struct fota_topic *t, const char *topic, size_t len,
				  struct fota_error *err)
{
	size_t limit = fota_topic_payload_limit(t->kind);

	if (len <= limit)
		return FOTA_OK;
	return fota_error_set(err, FOTA_ERR_TOO_BIG,
			      "message of %zu bytes on '%.100s' exceeds our limit of %zu bytes for "
			      "a %s message",
			      len, topic, limit, leaves[t->kind]);
}
