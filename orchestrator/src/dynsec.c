/* SPDX-License-Identifier: Apache-2.0 */
/* The dynamic-security plugin's clients, roles and groups, driven over $CONTROL: one command
 * list per batch of devices (dynsec_batch.c), answered by one response the plugin publishes. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "fota/digest.h"
#include "fota/timeutil.h"

#include "cmd.h"
#include "dynsec.h"

#define CONTROL_TOPIC "$CONTROL/dynamic-security/v1"
#define RESPONSE_TOPIC CONTROL_TOPIC "/response"
struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	const char *tag; /* the command list's correlation tag */
	char *response;	 /* a copy, NULL until it came */
	size_t len;
	unsigned others; /* responses to other command lists, passed over */
};

/* MQTT thread. The answer is the first response that carries our tag: every client allowed on
 * $CONTROL gets every response, and one to another command list (another orchestrator process,
 * mosquitto_ctrl) is passed over. Its size is the judge's to refuse (orch_dynsec_batch_judge);
 * the broker's message_size_limit bounds the copy. */
static void on_control(void *ctx, const char *topic, const uint8_t *payload, size_t len)
{
	struct waiter *w = ctx;

	if (strcmp(topic, RESPONSE_TOPIC) != 0)
		return;
	pthread_mutex_lock(&w->lock);
	if (memmem(payload, len, w->tag, strlen(w->tag)) == NULL) {
		w->others++;
	} else if (w->response == NULL && (w->response = malloc(len + 1)) != NULL) {
		memcpy(w->response, payload, len);
		w->response[len] = '\0';
		w->len = len;
		pthread_cond_signal(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
}

/* Sends text on the control topic and waits for the plugin's answer, the response that carries
 * tag, into *response (len bytes). */
static fota_err exchange(struct fota_mqtt *m, struct orch_routes *routes, const char *text,
			 const char *tag, char **response, size_t *len, struct fota_error *err)
{
	struct waiter w = {.tag = tag};
	struct timespec deadline;
	fota_err rc;

	pthread_mutex_init(&w.lock, NULL);
	fota_time_cond_init(&w.cond);
	orch_routes_set_control_hook(routes, on_control, &w);
	rc = fota_mqtt_subscribe(m, RESPONSE_TOPIC, 1, err);
	if (rc == FOTA_OK)
		rc = fota_mqtt_publish(m, CONTROL_TOPIC, text, strlen(text), 1, false,
				       ORCH_DYNSEC_TIMEOUT_MS, err);
	if (rc == FOTA_OK) {
		pthread_mutex_lock(&w.lock);
		fota_time_mono_deadline(&deadline, ORCH_DYNSEC_TIMEOUT_MS);
		while (w.response == NULL &&
		       pthread_cond_timedwait(&w.cond, &w.lock, &deadline) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&w.lock);
		if (w.response == NULL)
			rc = fota_error_set(
			    err, FOTA_ERR_TIMEOUT,
			    "dynsec: no response from the broker's dynamic-security "
			    "plugin within %d ms (is it loaded, and may this identity "
			    "use $CONTROL?; %u response(s) to other command lists passed over)",
			    ORCH_DYNSEC_TIMEOUT_MS, w.others);
	}
	orch_routes_set_control_hook(routes, NULL, NULL);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	*response = w.response;
	*len = w.len;
	return rc;
}

/* One command list for n (at most ORCH_DYNSEC_BATCH) devices, and the plugin's answer judged
 * (dynsec_batch.c). */
static fota_err grant_batch(struct fota_mqtt *m, struct orch_routes *routes,
			    const struct orch_config *cfg, const struct orch_dynsec_grant *g,
			    size_t n, struct fota_error *err)
{
	struct orch_dynsec_batch *b = NULL;
	char *text = NULL, *response = NULL, tag[2 * 8 + 1];
	uint8_t rnd[8];
	size_t len = 0, granted = 0;
	fota_err rc;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return fota_error_set(err, FOTA_ERR_CRYPTO,
				      "dynsec: no random bytes for the command list's tag");
	fota_hex_encode(rnd, sizeof(rnd), tag);
	rc = orch_dynsec_batch_new(cfg->prefix, tag, g, n, &b, err);
	if (rc == FOTA_OK && (text = orch_dynsec_batch_text(b)) == NULL)
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "dynsec: out of memory");
	if (rc == FOTA_OK) {
		rc = exchange(m, routes, text, tag, &response, &len, err);
		if (rc && n > 1)
			fota_error_prefix(err, "devices");
	}
	if (rc == FOTA_OK)
		rc = orch_dynsec_batch_judge(b, response, len, &granted, err);
	for (size_t i = 0; i < granted; i++)
		orch_log("broker access for %s: groups %s", g[i].device,
			 g[i].new_groups && g[i].new_groups[0] ? g[i].new_groups : "(none)");
	orch_dynsec_batch_free(b);
	free(response);
	free(text);
	return rc;
}

fota_err orch_dynsec_devices(struct fota_mqtt *m, struct orch_routes *routes,
			     const struct orch_config *cfg, const struct orch_dynsec_grant *g,
			     size_t n, struct fota_error *err)
{
	for (size_t i = 0; i < n; i += ORCH_DYNSEC_BATCH) {
		fota_err rc =
		    grant_batch(m, routes, cfg, g + i,
				n - i < ORCH_DYNSEC_BATCH ? n - i : ORCH_DYNSEC_BATCH, err);

		if (rc)
			return rc;
	}
	return FOTA_OK;
}

fota_err orch_dynsec_device(struct fota_mqtt *m, struct orch_routes *routes,
			    const struct orch_config *cfg, const char *device,
			    const char *old_groups, const char *new_groups, struct fota_error *err)
{
	const struct orch_dynsec_grant g = {
	    .device = device, .old_groups = old_groups, .new_groups = new_groups};

	return orch_dynsec_devices(m, routes, cfg, &g, 1, err);
}
