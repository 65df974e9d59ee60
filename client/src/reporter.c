/* SPDX-License-Identifier: Apache-2.0 */
/* Status reporting: a small queue so every state change is published, in order, once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/timeutil.h"
#include "fota/topics.h"
#include "reporter.h"

fota_err reporter_init(struct reporter *r, const struct client_config *cfg, struct fota_error *err)
{
	struct fota_topic t = {.kind = FOTA_TOPIC_DEVICE_STATUS};

	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	snprintf(t.device, sizeof(t.device), "%s", cfg->id);
	r->state_dir = cfg->state_dir;
	r->every_pct = cfg->progress_percent;
	r->every_ms = cfg->progress_interval_s * 1000u;
	return fota_topic_build(cfg->prefix, &t, r->topic, sizeof(r->topic), err);
}

void reporter_destroy(struct reporter *r)
{
	pthread_mutex_destroy(&r->lock);
}

void reporter_push(struct reporter *r, const struct fota_status *s)
{
	pthread_mutex_lock(&r->lock);
	if (r->len == REPORTER_QUEUE) {
		/* Progress floods cannot push out state changes for long: the queue drains
		 * ten times a second. Keep the newest, count what was lost. */
		r->head = (r->head + 1) % REPORTER_QUEUE;
		r->len--;
		r->dropped++;
	}
	r->queue[(r->head + r->len) % REPORTER_QUEUE] = *s;
	r->queue[(r->head + r->len) % REPORTER_QUEUE].timestamp = fota_time_now();
	r->len++;
	pthread_mutex_unlock(&r->lock);
}

void reporter_progress(struct reporter *r, const struct fota_status *s, int64_t now_ms)
{
	uint32_t pct =
	    s->chunk_count ? (uint32_t)((uint64_t)s->chunks_present * 100 / s->chunk_count) : 0;

	if (pct < r->last_progress_pct)
		r->last_progress_pct = 0; /* a new transfer */
	if (pct - r->last_progress_pct < r->every_pct &&
	    now_ms - r->last_progress_ms < (int64_t)r->every_ms)
		return;
	r->last_progress_pct = pct;
	r->last_progress_ms = now_ms;
	reporter_push(r, s);
}

void reporter_flush(struct reporter *r, struct fota_mqtt *mqtt)
{
	for (;;) {
		struct fota_status s;
		struct fota_error err = {0};
		char *json = NULL;

		pthread_mutex_lock(&r->lock);
		if (r->len == 0) {
			pthread_mutex_unlock(&r->lock);
			return;
		}
		s = r->queue[r->head];
		pthread_mutex_unlock(&r->lock);

		if (fota_status_to_json(&s, &json, &err) == FOTA_OK &&
		    fota_mqtt_publish(mqtt, r->topic, json, strlen(json), 1, true, 2000, &err) !=
			FOTA_OK) {
			/* Not connected: keep it for the next round, in order. */
			free(json);
			return;
		}
		if (json == NULL)
			fprintf(stderr, "fota-client: cannot encode status: %s\n", err.msg);
		free(json);
		pthread_mutex_lock(&r->lock);
		r->head = (r->head + 1) % REPORTER_QUEUE;
		r->len--;
		pthread_mutex_unlock(&r->lock);
	}
}

fota_err reporter_will(const struct client_config *cfg, char **out, size_t *len,
		       struct fota_error *err)
{
	struct fota_status s;
	fota_err rc;

	memset(&s, 0, sizeof(s));
	snprintf(s.device, sizeof(s.device), "%s", cfg->id);
	s.state = FOTA_STATE_OFFLINE;
	rc = fota_status_to_json(&s, out, err);
	if (rc == FOTA_OK)
		*len = strlen(*out);
	return rc;
}
