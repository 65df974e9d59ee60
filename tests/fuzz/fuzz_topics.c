/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes topic parsing (input = prefix NUL topic); a parsed topic must rebuild to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fota/topics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 2);
	const char *prefix, *topic;
	char again[FOTA_MAX_TOPIC_LEN + 1];
	struct fota_topic t;
	struct fota_error err;
	size_t plen;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	buf[size + 1] = '\0';
	/* Without an embedded NUL the whole input is a topic under the default prefix. */
	plen = strlen(buf);
	if (plen < size) {
		prefix = buf;
		topic = buf + plen + 1;
	} else {
		prefix = NULL;
		topic = buf;
	}
	fota_topic_segment_valid(topic);
	if (fota_topic_parse(prefix, topic, &t, &err) == FOTA_OK) {
		if (fota_topic_build(prefix, &t, again, sizeof(again), &err) != FOTA_OK ||
		    strcmp(again, topic) != 0)
			abort();
	}
	free(buf);
	return 0;
}
