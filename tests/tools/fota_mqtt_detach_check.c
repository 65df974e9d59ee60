/* SPDX-License-Identifier: Apache-2.0 */
/* Checks fota_mqtt_detach against a real broker (tests/integration/mqtt_detach.sh). One
 * connection subscribes with a slow callback while a second one publishes to the same topic and
 * counts its own copies: once detach has returned, no call reaches the first one's callback
 * (none starts, none is still running), although the broker goes on delivering. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fota/mqtt.h"

/* A callback this slow is likely to be running when detach is called. */
#define CALLBACK_MS 2
/* How long the broker goes on delivering after the detach. */
#define AFTER_DETACH_MS 1000

struct counter {
	atomic_uint calls;
	atomic_uint late;	 /* calls that started or ended after detach returned */
	atomic_bool detach_done; /* set by the main thread once fota_mqtt_detach returned */
};

struct publisher {
	struct fota_mqtt *m;
	const char *topic;
	atomic_bool stop;
	atomic_uint sent;
};

static void on_message(void *ctx, const char *topic, const uint8_t *payload, size_t len)
{
	struct counter *c = ctx;
	struct timespec nap = {0, CALLBACK_MS * 1000000L};

	(void)topic;
	(void)payload;
	(void)len;
	if (atomic_load(&c->detach_done))
		atomic_fetch_add(&c->late, 1);
	atomic_fetch_add(&c->calls, 1);
	nanosleep(&nap, NULL);
	if (atomic_load(&c->detach_done))
		atomic_fetch_add(&c->late, 1);
}

static void *publish_main(void *arg)
{
	struct publisher *p = arg;
	struct timespec nap = {0, 1000000L};

	while (!atomic_load(&p->stop)) {
		struct fota_error err = {0};

		if (fota_mqtt_publish(p->m, p->topic, "x", 1, 0, false, 1000, &err) == FOTA_OK)
			atomic_fetch_add(&p->sent, 1);
		nanosleep(&nap, NULL);
	}
	return NULL;
}

static struct fota_mqtt *open_session(const char *uri, const char *ca, const char *cert,
				      const char *key, const char *id, struct counter *c,
				      const char *topic)
{
	struct fota_mqtt_config cfg = {0};
	struct fota_mqtt_callbacks cb = {on_message, NULL, NULL, c};
	struct fota_error err = {0};
	struct fota_mqtt *m = NULL;

	cfg.uri = uri;
	cfg.client_id = id;
	cfg.ca_file = ca;
	cfg.cert_file = cert;
	cfg.key_file = key;
	if (fota_mqtt_new(&cfg, &cb, &m, &err) != FOTA_OK ||
	    fota_mqtt_connect(m, 10000, &err) != FOTA_OK ||
	    fota_mqtt_subscribe(m, topic, 0, &err) != FOTA_OK) {
		fprintf(stderr, "fota_mqtt_detach_check: %s: %s\n", id, err.msg);
		fota_mqtt_free(m);
		return NULL;
	}
	return m;
}

/* Waits up to 10 s until c has counted at least n calls. */
static bool wait_calls(struct counter *c, unsigned n)
{
	struct timespec nap = {0, 10000000L};

	for (int i = 0; i < 1000; i++) {
		if (atomic_load(&c->calls) >= n)
			return true;
		nanosleep(&nap, NULL);
	}
	return false;
}

int main(int argc, char **argv)
{
	struct counter detached = {0}, witness = {0};
	struct publisher pub = {0};
	struct fota_mqtt *sub, *wit;
	struct timespec nap = {AFTER_DETACH_MS / 1000, (AFTER_DETACH_MS % 1000) * 1000000L};
	unsigned at_detach, witness_at_detach;
	pthread_t thread;
	int failed = 0;

	if (argc != 6) {
		fprintf(stderr, "usage: fota_mqtt_detach_check URI CA CERT KEY TOPIC\n");
		return 2;
	}
	sub = open_session(argv[1], argv[2], argv[3], argv[4], "detach-check-sub", &detached,
			   argv[5]);
	wit =
	    open_session(argv[1], argv[2], argv[3], argv[4], "detach-check-pub", &witness, argv[5]);
	if (sub == NULL || wit == NULL)
		return 1;
	pub.m = wit;
	pub.topic = argv[5];
	if (pthread_create(&thread, NULL, publish_main, &pub) != 0) {
		fprintf(stderr, "fota_mqtt_detach_check: cannot start the publisher\n");
		return 1;
	}
	if (!wait_calls(&detached, 50)) {
		fprintf(stderr, "FAIL: only %u messages reached the subscriber before the detach\n",
			atomic_load(&detached.calls));
		failed = 1;
	}
	fota_mqtt_detach(sub);
	atomic_store(&detached.detach_done, true);
	at_detach = atomic_load(&detached.calls);
	witness_at_detach = atomic_load(&witness.calls);
	nanosleep(&nap, NULL);
	atomic_store(&pub.stop, true);
	pthread_join(thread, NULL);

	printf("before the detach: %u calls; in the %d ms after it: %u more calls, %u late, "
	       "while the witness received %u\n",
	       at_detach, AFTER_DETACH_MS, atomic_load(&detached.calls) - at_detach,
	       atomic_load(&detached.late), atomic_load(&witness.calls) - witness_at_detach);
	if (atomic_load(&witness.calls) - witness_at_detach < 50) {
		fprintf(stderr, "FAIL: the broker delivered too little after the detach to tell\n");
		failed = 1;
	}
	if (atomic_load(&detached.calls) != at_detach || atomic_load(&detached.late) != 0) {
		fprintf(stderr, "FAIL: the callback ran after fota_mqtt_detach returned\n");
		failed = 1;
	}
	fota_mqtt_free(sub);
	fota_mqtt_free(wit);
	return failed;
}
