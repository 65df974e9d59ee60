/* SPDX-License-Identifier: Apache-2.0 */
/* Paho MQTTAsync wrapper: mTLS, reconnect with jittered backoff, bounded QoS 1 in-flight window. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>

#include "fota/limits.h"
#include "fota/mqtt.h"
#include "fota/mqtt_check.h"
#include "fota/tcp_nodelay.h"
#include "fota/timeutil.h"

#define MAX_SUBSCRIPTIONS 40
#define MAX_INFLIGHT 64
/* Completions that arrive before sendMessage returned their token (callback raced ahead). */
#define EARLY_RING 64
/* A connection that lasted this long was accepted; one closed sooner (say, by a broker that
 * answers a refused subscribe or publish by disconnecting) keeps the backoff growing, so a
 * refusal is not retried at the minimum delay forever. */
#define STABLE_CONNECTION_MS 10000
/* How long past its own timeout a reconnect may stay unanswered before it is settled here: at
 * least this, and at least the connect timeout again. Settling starts a new MQTTAsync_connect
 * on the same handle, and Paho 1.3 rewrites the client's will and TLS options there without
 * its own lock: if its thread is still on the old attempt (a loaded machine where hundreds of
 * clients reconnect at once answers late), it reads freed memory. Paho answers every attempt
 * it still holds within its timeout unless its thread is starved, so twice the timeout leaves
 * the settling to the attempts Paho has truly forgotten. */
#define SILENT_CONNECT_MARGIN_MS 2000
/* How long a closing session waits for its unacknowledged publishes before the DISCONNECT,
 * and past that for Paho to report the DISCONNECT sent. */
#define DISCONNECT_TIMEOUT_MS 1000
#define DISCONNECT_MARGIN_MS 1000
/* How long fota_mqtt_free waits for Paho's stopped threads to end (see paho_threads_end). */
#define PAHO_THREADS_END_MS 2000

/* Paho clients of this process, created and not destroyed: Paho runs its threads as long as
 * one is left (fota_mqtt_close_for_exit leaves its client for good). */
static atomic_int live_clients;

struct subscription {
	char *filter;
	int qos;
};

struct slot {
	int in_use;
	MQTTAsync_token token;
	struct fota_mqtt_tally *tally;	    /* NULL: not counted */
	uint64_t seq;			    /* publishing order, to find the oldest unanswered */
	char topic[FOTA_MAX_TOPIC_LEN + 1]; /* named if the broker closes the connection */
};

struct early {
	MQTTAsync_token token;
	int failed;
};

struct fota_mqtt {
	MQTTAsync client;
	struct fota_mqtt_callbacks cb;
	/* Delivery to cb, apart from lock: the owner's callbacks take its own locks and call in
	 * here, so lock is never held across them. Under cb_lock: detached (fota_mqtt_detach
	 * was called: nothing more is delivered) and how many callbacks run now. */
	pthread_mutex_t cb_lock;
	pthread_cond_t cb_idle;
	bool detached;
	unsigned cb_running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t reconnect_thread;
	int reconnect_started;

	/* Owned copies of the configuration; connect options point into them. */
	char *uri, *client_id, *ca, *cert, *key, *will_topic;
	void *will_payload;
	size_t will_len;
	int will_retained;
	bool keep_nagle;
	int keepalive_s, connect_timeout_s;
	unsigned reconnect_min_ms, reconnect_max_ms;
	unsigned max_inflight;

	/* Connection state, under lock. */
	int connected;
	int ever_connected;
	int connecting;
	int lost; /* reconnect thread should act */
	int shutting_down;
	int disconnected; /* Paho reported the DISCONNECT of fota_mqtt_free sent (or failed) */
	int last_rc;	  /* last connect failure code */
	char last_error[200];
	unsigned backoff_ms;
	int64_t connected_ms;	    /* monotonic time of the last successful connect */
	int64_t connect_started_ms; /* of the attempt in progress, for the watchdog */
	char pending_filter[FOTA_MAX_TOPIC_LEN + 16]; /* of the synchronous subscribe */

	struct subscription subs[MAX_SUBSCRIPTIONS];
	size_t n_subs;
	/* Result of a synchronous subscribe: 1 waiting, 0 ok, -1 refused, -2 the connection
	 * closed before the SUBACK (how some brokers refuse), -3 the same while a publish was
	 * unanswered too (which of the two was refused is unknown). */
	int sub_pending;

	struct slot slots[MAX_INFLIGHT];
	unsigned inflight;
	struct early early[EARLY_RING];
	size_t n_early;
	uint64_t failed_publishes;
	unsigned generation; /* bumped when a connection is lost and every slot freed */
	uint64_t publish_seq;
	/* The oldest publish that failed on the current connection: Paho may fail the publishes
	 * in flight before it reports the connection lost. */
	char failed_topic[FOTA_MAX_TOPIC_LEN + 1];
	unsigned failed_generation;

	/* Renewed subscriptions in sending order, and how many SUBACKs came back: SUBACKs keep
	 * that order, so a broker that closes the connection instead of answering refused the
	 * first unanswered one. */
	char *resub[MAX_SUBSCRIPTIONS];
	size_t n_resub, resub_answered;
	/* A refusal (a young connection closed with an operation unanswered) was reported
	 * through on_lost: more are not, until a connection becomes stable (a broker that
	 * refuses by disconnecting would otherwise fill the log at every reconnect). */
	bool refusal_reported;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Before a call into the owner's callbacks: false once detached (the delivery is dropped). */
static bool dispatch_begin(struct fota_mqtt *m)
{
	bool go;

	pthread_mutex_lock(&m->cb_lock);
	go = !m->detached;
	if (go)
		m->cb_running++;
	pthread_mutex_unlock(&m->cb_lock);
	return go;
}

static void dispatch_end(struct fota_mqtt *m)
{
	pthread_mutex_lock(&m->cb_lock);
	if (--m->cb_running == 0)
		pthread_cond_broadcast(&m->cb_idle);
	pthread_mutex_unlock(&m->cb_lock);
}

void fota_mqtt_detach(struct fota_mqtt *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->cb_lock);
	m->detached = true;
	while (m->cb_running > 0)
		pthread_cond_wait(&m->cb_idle, &m->cb_lock);
	pthread_mutex_unlock(&m->cb_lock);
}

/* m->cond runs on CLOCK_MONOTONIC: a clock set back by days must not stall a publish. */
static void deadline_after(struct timespec *ts, int timeout_ms)
{
	fota_time_mono_deadline(ts, timeout_ms);
}

/* Waits on the condition; returns ETIMEDOUT once the deadline passed. Caller holds lock. */
static int wait_until(struct fota_mqtt *m, const struct timespec *deadline)
{
	return pthread_cond_timedwait(&m->cond, &m->lock, deadline);
}

static int ssl_error_cb(const char *str, size_t len, void *u)
{
	struct fota_mqtt *m = u;
	size_t n = len < sizeof(m->last_error) - 1 ? len : sizeof(m->last_error) - 1;

	/* Keep the first OpenSSL line of the attempt: it names the real cause. */
	pthread_mutex_lock(&m->lock);
	if (m->last_error[0] == '\0') {
		memcpy(m->last_error, str, n);
		m->last_error[n] = '\0';
		while (n > 0 && (m->last_error[n - 1] == '\n' || m->last_error[n - 1] == '\r'))
			m->last_error[--n] = '\0';
	}
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static void on_subscribe_ok(void *ctx, MQTTAsync_successData *resp);
static void on_subscribe_fail(void *ctx, MQTTAsync_failureData *resp);

/* Caller holds lock. */
static void forget_resubscriptions(struct fota_mqtt *m)
{
	for (size_t i = 0; i < m->n_resub; i++)
		free(m->resub[i]);
	m->n_resub = 0;
	m->resub_answered = 0;
}

static void on_resubscribe_answered(void *ctx, MQTTAsync_successData *resp)
{
	struct fota_mqtt *m = ctx;

	(void)resp;
	pthread_mutex_lock(&m->lock);
	if (m->resub_answered < m->n_resub)
		m->resub_answered++;
	pthread_mutex_unlock(&m->lock);
}

static void on_resubscribe_failed(void *ctx, MQTTAsync_failureData *resp)
{
	(void)resp;
	on_resubscribe_answered(ctx, NULL);
}

/* Paho thread: renew every remembered subscription without waiting for the SUBACKs. The
 * filters are copied under the lock, because the owner may change the list meanwhile, and
 * Paho is never called with the lock held. */
static void resubscribe_all(struct fota_mqtt *m)
{
	struct subscription copy[MAX_SUBSCRIPTIONS];
	size_t n = 0;

	pthread_mutex_lock(&m->lock);
	forget_resubscriptions(m);
	for (size_t i = 0; i < m->n_subs; i++) {
		copy[n].filter = strdup(m->subs[i].filter);
		copy[n].qos = m->subs[i].qos;
		if (copy[n].filter)
			n++;
	}
	pthread_mutex_unlock(&m->lock);
	for (size_t i = 0; i < n; i++) {
		MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;

		ro.context = m;
		ro.onSuccess = on_resubscribe_answered;
		ro.onFailure = on_resubscribe_failed;
		pthread_mutex_lock(&m->lock);
		m->resub[m->n_resub++] = copy[i].filter; /* owned by m from here */
		pthread_mutex_unlock(&m->lock);
		if (MQTTAsync_subscribe(m->client, copy[i].filter, copy[i].qos, &ro) !=
		    MQTTASYNC_SUCCESS) {
			pthread_mutex_lock(&m->lock);
			m->resub_answered =
			    m->n_resub; /* not sent: nothing to blame on the broker */
			pthread_mutex_unlock(&m->lock);
		}
	}
}

/* Each connection is a new socket: Nagle off on it before anything else is sent, so that a
 * small packet after another (a SUBSCRIBE after a PUBACK, a directive after its table) is not
 * held for the broker's delayed acknowledgement. Best effort: without it only latency grows. */
static void set_nodelay(struct fota_mqtt *m)
{
	struct fota_mqtt_uri u;

	if (!m->keep_nagle && fota_mqtt_uri_parse(m->uri, &u, NULL) == FOTA_OK)
		(void)fota_tcp_nodelay_peer_port((uint16_t)u.port);
}

static void on_connect_ok(void *ctx, MQTTAsync_successData *resp)
{
	struct fota_mqtt *m = ctx;
	int reconnected;

	(void)resp;
	pthread_mutex_lock(&m->lock);
	if (m->connected) {
		/* Already taken for this connection by the watchdog below. */
		pthread_mutex_unlock(&m->lock);
		return;
	}
	reconnected = m->ever_connected;
	m->connected = 1;
	m->connecting = 0;
	m->ever_connected = 1;
	m->connected_ms = fota_time_mono_ms();
	m->last_error[0] = '\0';
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	set_nodelay(m);
	if (reconnected)
		resubscribe_all(m);
	if (m->cb.on_connected && dispatch_begin(m)) {
		m->cb.on_connected(m->cb.ctx, reconnected != 0);
		dispatch_end(m);
	}
}

static void on_connect_fail(void *ctx, MQTTAsync_failureData *resp)
{
	struct fota_mqtt *m = ctx;

	pthread_mutex_lock(&m->lock);
	m->connecting = 0;
	m->last_rc = resp ? resp->code : -1;
	if (m->last_error[0] == '\0' && resp && resp->message)
		snprintf(m->last_error, sizeof(m->last_error), "%s", resp->message);
	if (m->ever_connected)
		m->lost = 1; /* the reconnect thread tries again after its backoff */
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

/* Caller holds lock. Appends 'topic' to the list in out unless it is there already. */
static void list_topic(char *out, size_t size, const char *topic, unsigned *n)
{
	size_t len = strlen(out), tlen = strlen(topic);

	for (const char *p = strstr(out, topic); p; p = strstr(p + 1, topic))
		if (p > out && p[-1] == '\'' && p[tlen] == '\'')
			return;
	if (++*n <= 3)
		snprintf(out + len, size - len, "%s'%s'", len ? ", " : "", topic);
}

/* Caller holds lock. The operations the broker left unanswered when it closed the
 * connection, which some brokers (RabbitMQ's MQTT plugin, say) do instead of acknowledging
 * and dropping a refused publish or subscription; "" when nothing was waiting. Every
 * unanswered one is named: which of them was refused, MQTT 3.1.1 does not say. Tells
 * whether a publish was among them, which makes a pending subscribe's refusal uncertain. */
static bool describe_unanswered(const struct fota_mqtt *m, char *why, size_t size)
{
	char topics[3 * (FOTA_MAX_TOPIC_LEN + 4) + 1] = "";
	const char *filter = NULL;
	unsigned n = 0;

	if (m->sub_pending == 1)
		filter = m->pending_filter;
	else if (m->resub_answered < m->n_resub)
		filter = m->resub[m->resub_answered]; /* SUBACKs come in order */
	if (m->failed_generation == m->generation + 1)
		list_topic(topics, sizeof(topics), m->failed_topic, &n);
	for (unsigned i = 0; i < m->max_inflight; i++)
		if (m->slots[i].in_use)
			list_topic(topics, sizeof(topics), m->slots[i].topic, &n);
	if (filter && n)
		snprintf(why, size,
			 "the broker closed the connection after SUBSCRIBE '%s' while PUBLISH to "
			 "%s%s was unanswered (one of them refused?)",
			 filter, topics, n > 3 ? " and more" : "");
	else if (filter)
		snprintf(why, size, "the broker closed the connection after SUBSCRIBE '%s'%s",
			 filter, m->sub_pending == 1 ? "" : " (renewed on reconnect; refused?)");
	else if (n)
		snprintf(why, size,
			 "the broker closed the connection while PUBLISH to %s%s was unanswered "
			 "(refused?)",
			 topics, n > 3 ? " and more" : "");
	else
		why[0] = '\0';
	return n > 0;
}

static void connection_lost(void *ctx, char *cause)
{
	struct fota_mqtt *m = ctx;
	char why[4 * (FOTA_MAX_TOPIC_LEN + 16) + 192];
	bool stable, publishing, repeated = false;

	pthread_mutex_lock(&m->lock);
	/* A connection Paho never confirmed (see settle_silent_connect) was never stable. */
	stable = m->connected && fota_time_mono_ms() - m->connected_ms >= STABLE_CONNECTION_MS;
	m->connected = 0;
	if (stable) {
		m->backoff_ms = m->reconnect_min_ms;
		m->refusal_reported = false;
	}
	/* Named only when the broker gave no reason and closed a young connection: a broker
	 * restart an hour into a broadcast also leaves publishes unanswered, and is no
	 * refusal. */
	publishing = describe_unanswered(m, why, sizeof(why));
	if (m->sub_pending == 1)
		m->sub_pending = publishing ? -3 : -2;
	if (why[0] != '\0' && !stable && (cause == NULL || *cause == '\0')) {
		repeated = m->refusal_reported;
		if (!repeated) {
			m->refusal_reported = true;
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 "; such closings are not reported again until a connection "
				 "lasts %d s",
				 STABLE_CONNECTION_MS / 1000);
			free(cause);
			cause = strdup(why);
		}
	}
	forget_resubscriptions(m);
	/* In-flight QoS 1 messages die with a clean session: free their slots and count
	 * them, so publishers are not stuck waiting for acknowledgements that will never
	 * come. */
	for (unsigned i = 0; i < m->max_inflight; i++) {
		if (m->slots[i].in_use) {
			m->slots[i].in_use = 0;
			m->failed_publishes++;
			if (m->slots[i].tally)
				m->slots[i].tally->lost++;
		}
	}
	m->inflight = 0;
	m->n_early = 0;
	m->generation++;
	m->lost = 1;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	if (m->cb.on_lost && !repeated && dispatch_begin(m)) {
		m->cb.on_lost(m->cb.ctx, cause ? cause : "connection lost");
		dispatch_end(m);
	}
	free(cause);
}

static int message_arrived(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
	struct fota_mqtt *m = ctx;

	(void)topic_len; /* Paho NUL-terminates topics that contain no NUL byte */
	if (m->cb.on_message && dispatch_begin(m)) {
		m->cb.on_message(m->cb.ctx, topic, msg->payload,
				 msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0);
		dispatch_end(m);
	}
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return 1;
}

static void count(struct fota_mqtt_tally *tally, int failed)
{
	if (!tally)
		return;
	if (failed)
		tally->lost++;
	else
		tally->acked++;
}

/* Caller holds lock. */
static void note_failed_publish(struct fota_mqtt *m, const char *topic)
{
	if (m->failed_generation == m->generation + 1)
		return; /* the oldest failure of this connection is already named */
	snprintf(m->failed_topic, sizeof(m->failed_topic), "%s", topic);
	m->failed_generation = m->generation + 1; /* + 1: zero means none */
}

/* Caller holds lock. Frees the slot of token or remembers it as completed early. */
static void complete_token(struct fota_mqtt *m, MQTTAsync_token token, int failed)
{
	for (unsigned i = 0; i < m->max_inflight; i++) {
		if (m->slots[i].in_use && m->slots[i].token == token) {
			if (failed)
				note_failed_publish(m, m->slots[i].topic);
			m->slots[i].in_use = 0;
			m->inflight--;
			if (failed)
				m->failed_publishes++;
			count(m->slots[i].tally, failed);
			pthread_cond_broadcast(&m->cond);
			return;
		}
	}
	if (m->n_early < EARLY_RING)
		m->early[m->n_early++] = (struct early){token, failed};
	if (failed)
		m->failed_publishes++;
	pthread_cond_broadcast(&m->cond);
}

static void on_publish_ok(void *ctx, MQTTAsync_successData *resp)
{
	struct fota_mqtt *m = ctx;

	pthread_mutex_lock(&m->lock);
	complete_token(m, resp->token, 0);
	pthread_mutex_unlock(&m->lock);
}

static void on_publish_fail(void *ctx, MQTTAsync_failureData *resp)
{
	struct fota_mqtt *m = ctx;

	pthread_mutex_lock(&m->lock);
	complete_token(m, resp ? resp->token : 0, 1);
	pthread_mutex_unlock(&m->lock);
}

static void on_subscribe_ok(void *ctx, MQTTAsync_successData *resp)
{
	struct fota_mqtt *m = ctx;

	pthread_mutex_lock(&m->lock);
	/* MQTT 3.1.1 reports a refused subscription as granted QoS 0x80. */
	if (m->sub_pending == 1)
		m->sub_pending = (resp && resp->alt.qos == 0x80) ? -1 : 0;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

static void on_subscribe_fail(void *ctx, MQTTAsync_failureData *resp)
{
	struct fota_mqtt *m = ctx;

	(void)resp;
	pthread_mutex_lock(&m->lock);
	if (m->sub_pending == 1)
		m->sub_pending = -1;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

/* Caller holds lock (released around the Paho call). Starts one connect attempt. */
static int start_connect(struct fota_mqtt *m)
{
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
	MQTTAsync_SSLOptions so = MQTTAsync_SSLOptions_initializer;
	MQTTAsync_willOptions wo = MQTTAsync_willOptions_initializer;
	int rc;

	co.keepAliveInterval = m->keepalive_s;
	/* Clean sessions: whatever a device missed while away is repaired on request, so the
	 * broker never has to hold a backlog for it. */
	co.cleansession = 1;
	co.connectTimeout = m->connect_timeout_s;
	co.maxInflight = (int)m->max_inflight;
	co.onSuccess = on_connect_ok;
	co.onFailure = on_connect_fail;
	co.context = m;
	if (m->ca || m->cert) {
		so.trustStore = m->ca;
		so.keyStore = m->cert;
		so.privateKey = m->key;
		so.enableServerCertAuth = 1;
		so.verify = 1;
		so.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
		so.ssl_error_cb = ssl_error_cb;
		so.ssl_error_context = m;
		co.ssl = &so;
	}
	if (m->will_topic) {
		wo.topicName = m->will_topic;
		wo.message = NULL;
		wo.payload.data = m->will_payload;
		wo.payload.len = (int)m->will_len;
		wo.retained = m->will_retained;
		wo.qos = 1;
		co.will = &wo;
	}
	m->connecting = 1;
	m->connect_started_ms = fota_time_mono_ms();
	m->last_error[0] = '\0';
	/* Never call into Paho holding our lock: its thread takes our lock in callbacks. */
	pthread_mutex_unlock(&m->lock);
	rc = MQTTAsync_connect(m->client, &co);
	pthread_mutex_lock(&m->lock);
	if (rc != MQTTASYNC_SUCCESS)
		m->connecting = 0;
	return rc;
}

/* Caller holds lock (released around the Paho call). Paho 1.3 can leave a reconnect
 * unanswered: the broker sent CONNACK (or the attempt died), yet neither onSuccess nor
 * onFailure ever comes, nor the connect timeout (seen against RabbitMQ after a few
 * connections it closed in answer to a refused publish). Past the timeout and a margin, the
 * attempt is settled by asking Paho whether it is connected. */
static void settle_silent_connect(struct fota_mqtt *m)
{
	int connected;

	pthread_mutex_unlock(&m->lock);
	connected = MQTTAsync_isConnected(m->client);
	pthread_mutex_lock(&m->lock);
	if (!m->connecting || m->connected)
		return; /* a callback came meanwhile */
	if (connected) {
		pthread_mutex_unlock(&m->lock);
		on_connect_ok(m, NULL);
		pthread_mutex_lock(&m->lock);
		return;
	}
	m->connecting = 0;
	m->lost = 1;
	snprintf(m->last_error, sizeof(m->last_error), "no answer to the connect within %d s",
		 m->connect_timeout_s);
}

static void *reconnect_main(void *arg)
{
	struct fota_mqtt *m = arg;

	pthread_mutex_lock(&m->lock);
	while (!m->shutting_down) {
		struct timespec deadline;
		unsigned delay, jitter;

		if (m->connecting && m->ever_connected) {
			int64_t margin = m->connect_timeout_s * 1000LL > SILENT_CONNECT_MARGIN_MS
					     ? m->connect_timeout_s * 1000LL
					     : SILENT_CONNECT_MARGIN_MS;
			int64_t due =
			    m->connect_started_ms + m->connect_timeout_s * 1000LL + margin;
			int64_t left = due - fota_time_mono_ms();

			if (left <= 0)
				settle_silent_connect(m);
			else {
				deadline_after(&deadline, (int)left);
				wait_until(m, &deadline);
			}
			continue;
		}
		if (!m->lost || m->connecting) {
			pthread_cond_wait(&m->cond, &m->lock);
			continue;
		}
		/* Full backoff with +/-25 % jitter so a fleet does not reconnect in lockstep. */
		delay = m->backoff_ms;
		jitter = delay / 2 ? (unsigned)rand() % (delay / 2) : 0;
		delay = delay - delay / 4 + jitter;
		deadline_after(&deadline, (int)delay);
		while (!m->shutting_down && wait_until(m, &deadline) != ETIMEDOUT)
			;
		if (m->shutting_down)
			break;
		m->lost = 0;
		if (m->backoff_ms < m->reconnect_max_ms)
			m->backoff_ms = m->backoff_ms * 2 > m->reconnect_max_ms
					    ? m->reconnect_max_ms
					    : m->backoff_ms * 2;
		if (start_connect(m) != MQTTASYNC_SUCCESS)
			m->lost = 1;
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

fota_err fota_mqtt_new(const struct fota_mqtt_config *cfg, const struct fota_mqtt_callbacks *cb,
		       struct fota_mqtt **out, struct fota_error *err)
{
	MQTTAsync_createOptions cro = MQTTAsync_createOptions_initializer;
	struct fota_mqtt *m = NULL;
	const char *uri;
	char *fixed = NULL;
	int rc;

	*out = NULL;
	if (cfg->uri == NULL || cfg->client_id == NULL || cfg->client_id[0] == '\0')
		return fota_error_set(err, FOTA_ERR_INVAL, "mqtt: broker uri and client id needed");
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "mqtt: out of memory");
	pthread_mutex_init(&m->lock, NULL);
	fota_time_cond_init(&m->cond);
	pthread_mutex_init(&m->cb_lock, NULL);
	pthread_cond_init(&m->cb_idle, NULL);
	if (cb)
		m->cb = *cb;
	/* Paho 1.3.11 knows "ssl://" but not every build knows "mqtts://". */
	uri = cfg->uri;
	if (strncmp(uri, "mqtts://", 8) == 0) {
		fixed = malloc(strlen(uri) + 1);
		if (fixed)
			sprintf(fixed, "ssl://%s", uri + 8);
		uri = fixed;
	} else if (strncmp(uri, "mqtt://", 7) == 0) {
		fixed = malloc(strlen(uri) + 1);
		if (fixed)
			sprintf(fixed, "tcp://%s", uri + 7);
		uri = fixed;
	}
	m->uri = fixed ? fixed : strdup(cfg->uri);
	m->client_id = strdup(cfg->client_id);
	m->ca = dup_or_null(cfg->ca_file);
	m->cert = dup_or_null(cfg->cert_file);
	m->key = dup_or_null(cfg->key_file);
	m->will_topic = dup_or_null(cfg->will_topic);
	if (cfg->will_topic && cfg->will_len) {
		m->will_payload = malloc(cfg->will_len);
		if (m->will_payload)
			memcpy(m->will_payload, cfg->will_payload, cfg->will_len);
		m->will_len = cfg->will_len;
	}
	m->will_retained = cfg->will_retained;
	m->keep_nagle = cfg->keep_nagle;
	m->keepalive_s = cfg->keepalive_s > 0 ? cfg->keepalive_s : 30;
	m->connect_timeout_s = cfg->connect_timeout_s > 0 ? cfg->connect_timeout_s : 10;
	m->max_inflight = cfg->max_inflight ? cfg->max_inflight : 8;
	if (m->max_inflight > MAX_INFLIGHT)
		m->max_inflight = MAX_INFLIGHT;
	m->reconnect_min_ms = cfg->reconnect_min_ms ? cfg->reconnect_min_ms : 500;
	m->reconnect_max_ms = cfg->reconnect_max_ms ? cfg->reconnect_max_ms : 30000;
	if (m->reconnect_max_ms < m->reconnect_min_ms)
		m->reconnect_max_ms = m->reconnect_min_ms;
	m->backoff_ms = m->reconnect_min_ms;
	if (m->uri == NULL || m->client_id == NULL || (cfg->ca_file && !m->ca) ||
	    (cfg->cert_file && !m->cert) || (cfg->key_file && !m->key) ||
	    (cfg->will_topic && (!m->will_topic || (cfg->will_len && !m->will_payload)))) {
		fota_mqtt_free(m);
		return fota_error_set(err, FOTA_ERR_NOMEM, "mqtt: out of memory");
	}
	srand((unsigned)fota_time_mono_ms() ^ (unsigned)(uintptr_t)m);

	cro.sendWhileDisconnected = 0;
	cro.MQTTVersion = MQTTVERSION_3_1_1;
	rc = MQTTAsync_createWithOptions(&m->client, m->uri, m->client_id,
					 MQTTCLIENT_PERSISTENCE_NONE, NULL, &cro);
	if (rc != MQTTASYNC_SUCCESS) {
		fota_mqtt_free(m);
		return fota_error_set(err, FOTA_ERR_MQTT, "mqtt: cannot create client for '%s': %s",
				      cfg->uri, MQTTAsync_strerror(rc));
	}
	atomic_fetch_add(&live_clients, 1);
	MQTTAsync_setCallbacks(m->client, m, connection_lost, message_arrived, NULL);
	if (pthread_create(&m->reconnect_thread, NULL, reconnect_main, m) != 0) {
		fota_mqtt_free(m);
		return fota_error_set(err, FOTA_ERR_NOMEM, "mqtt: cannot start reconnect thread");
	}
	m->reconnect_started = 1;
	*out = m;
	return FOTA_OK;
}

/* Whether a thread of Paho's (it names them "MQTTAsync_send" and "MQTTAsync_rcv") runs. */
static bool paho_thread_runs(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	bool found = false;

	if (d == NULL)
		return false;
	while (!found && (e = readdir(d)) != NULL) {
		char path[sizeof("/proc/self/task//comm") + sizeof(e->d_name)], name[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "re");
		if (f == NULL)
			continue; /* it has just ended */
		found = fgets(name, sizeof(name), f) && strncmp(name, "MQTTAsync_", 10) == 0;
		fclose(f);
	}
	closedir(d);
	return found;
}

/* MQTTAsync_destroy of the last client stops Paho's threads but returns once they marked
 * themselves stopped, not once they ended; they are detached, nobody can join them. One still
 * ending frees its per-thread OpenSSL state (random generators) then, and a process that
 * exits meanwhile runs OpenSSL's cleanup against it: that state leaks, or the thread reads what
 * the cleanup freed. Waits (bounded) until they are gone. */
static void paho_threads_end(void)
{
	struct timespec nap = {0, 2000000L};

	for (int waited = 0; waited < PAHO_THREADS_END_MS && paho_thread_runs(); waited += 2)
		nanosleep(&nap, NULL);
}

static void on_disconnect_done(struct fota_mqtt *m)
{
	pthread_mutex_lock(&m->lock);
	m->disconnected = 1;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

static void on_disconnected(void *ctx, MQTTAsync_successData *resp)
{
	(void)resp;
	on_disconnect_done(ctx);
}

static void on_disconnect_failed(void *ctx, MQTTAsync_failureData *resp)
{
	(void)resp;
	on_disconnect_done(ctx);
}

/* Stops reconnecting, then sends DISCONNECT (so the broker does not fire the last will) and
 * waits until Paho says it went out: its completion, not a poll of MQTTAsync_isConnected every
 * 20 ms, which a command paid for at every exit. */
static void close_session(struct fota_mqtt *m)
{
	MQTTAsync_disconnectOptions dopt = MQTTAsync_disconnectOptions_initializer;
	struct timespec deadline;

	pthread_mutex_lock(&m->lock);
	m->shutting_down = 1;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	if (m->reconnect_started)
		pthread_join(m->reconnect_thread, NULL);
	m->reconnect_started = 0;
	if (!m->client || !MQTTAsync_isConnected(m->client))
		return;
	dopt.timeout = DISCONNECT_TIMEOUT_MS;
	dopt.onSuccess = on_disconnected;
	dopt.onFailure = on_disconnect_failed;
	dopt.context = m;
	if (MQTTAsync_disconnect(m->client, &dopt) != MQTTASYNC_SUCCESS)
		return;
	deadline_after(&deadline, DISCONNECT_TIMEOUT_MS + DISCONNECT_MARGIN_MS);
	pthread_mutex_lock(&m->lock);
	while (!m->disconnected && wait_until(m, &deadline) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&m->lock);
}

void fota_mqtt_free(struct fota_mqtt *m)
{
	if (m == NULL)
		return;
	fota_mqtt_detach(m);
	close_session(m);
	if (m->client) {
		MQTTAsync_destroy(&m->client);
		if (atomic_fetch_sub(&live_clients, 1) == 1)
			paho_threads_end();
	}
	for (size_t i = 0; i < m->n_subs; i++)
		free(m->subs[i].filter);
	forget_resubscriptions(m);
	free(m->uri);
	free(m->client_id);
	free(m->ca);
	free(m->cert);
	free(m->key);
	free(m->will_topic);
	free(m->will_payload);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->cb_idle);
	pthread_mutex_destroy(&m->cb_lock);
	free(m);
}

void fota_mqtt_close_for_exit(struct fota_mqtt *m)
{
	if (m == NULL)
		return;
	/* MQTTAsync_destroy of the last client stops Paho's threads, and its receive thread
	 * notices only after its idle sleep of 100 ms: time a process that exits next spends for
	 * nothing. The client stays allocated, still reachable through Paho's list of clients,
	 * and m with it (it is the context of Paho's callbacks). Paho's threads live on until
	 * the exit, so nothing more may reach the owner's callbacks, whose context the caller
	 * frees next. */
	fota_mqtt_detach(m);
	close_session(m);
}

/* Paho says "no reason given (code -1)" or "TCP/TLS connect failure" whether the name did not
 * resolve or the port was closed. Find out which, with the resolver and a plain TCP connect;
 * false when the broker's port answers (then Paho's reason stands). */
static bool explain_unreachable(const char *uri, char *why, size_t size)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	struct fota_mqtt_uri u;
	char port[8];
	int rc, last_errno = 0;

	if (fota_mqtt_uri_parse(uri, &u, NULL) != FOTA_OK)
		return false;
	snprintf(port, sizeof(port), "%u", u.port);
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(u.host, port, &hints, &res);
	if (rc != 0) {
		snprintf(why, size, "cannot resolve broker host '%s': %s", u.host,
			 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return true;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t len = sizeof(last_errno);
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);

		if (fd < 0) {
			last_errno = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			close(fd);
			freeaddrinfo(res);
			return false;
		}
		last_errno = errno;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, 3000) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &last_errno, &len) == 0 &&
			    last_errno == 0) {
				close(fd);
				freeaddrinfo(res);
				return false;
			}
			if (last_errno == EINPROGRESS)
				last_errno = ETIMEDOUT;
		}
		close(fd);
	}
	freeaddrinfo(res);
	snprintf(why, size, "%s port %u: %s", u.host, u.port,
		 strerror(last_errno ? last_errno : EHOSTUNREACH));
	return true;
}

fota_err fota_mqtt_connect(struct fota_mqtt *m, int timeout_ms, struct fota_error *err)
{
	struct timespec deadline;
	fota_err rc = FOTA_OK;
	int prc;

	deadline_after(&deadline, timeout_ms);
	pthread_mutex_lock(&m->lock);
	prc = start_connect(m);
	if (prc != MQTTASYNC_SUCCESS) {
		rc = fota_error_set(err, FOTA_ERR_MQTT, "mqtt: cannot connect to %s: %s", m->uri,
				    MQTTAsync_strerror(prc));
		goto out;
	}
	while (m->connecting && !m->connected) {
		if (wait_until(m, &deadline) == ETIMEDOUT) {
			rc = fota_error_set(
			    err, FOTA_ERR_TIMEOUT, "mqtt: no connection to %s within %d ms%s%s",
			    m->uri, timeout_ms, m->last_error[0] ? ": " : "", m->last_error);
			goto out;
		}
	}
	if (!m->connected) {
		char paho[sizeof(m->last_error)], why[320];
		int code = m->last_rc;

		/* An OpenSSL line names a TLS cause already; otherwise ask the network. */
		snprintf(paho, sizeof(paho), "%s", m->last_error);
		pthread_mutex_unlock(&m->lock);
		if ((paho[0] == '\0' || strcmp(paho, "TCP/TLS connect failure") == 0) &&
		    explain_unreachable(m->uri, why, sizeof(why)))
			return fota_error_set(err, FOTA_ERR_MQTT, "mqtt: cannot connect to %s: %s",
					      m->uri, why);
		return fota_error_set(err, FOTA_ERR_MQTT,
				      "mqtt: cannot connect to %s: %s (code %d)", m->uri,
				      paho[0] ? paho : "no reason given", code);
	}
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

bool fota_mqtt_is_connected(struct fota_mqtt *m)
{
	bool c;

	pthread_mutex_lock(&m->lock);
	c = m->connected != 0;
	pthread_mutex_unlock(&m->lock);
	return c;
}

fota_err fota_mqtt_wait_connected(struct fota_mqtt *m, int timeout_ms, struct fota_error *err)
{
	struct timespec deadline;
	fota_err rc = FOTA_OK;

	deadline_after(&deadline, timeout_ms);
	pthread_mutex_lock(&m->lock);
	while (!m->connected && !m->shutting_down) {
		if (wait_until(m, &deadline) == ETIMEDOUT) {
			rc = fota_error_set(
			    err, FOTA_ERR_TIMEOUT, "mqtt: not connected to %s after %d ms%s%s",
			    m->uri, timeout_ms, m->last_error[0] ? ": " : "", m->last_error);
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* Caller holds lock. The index of a remembered filter, or -1. */
static int find_subscription(const struct fota_mqtt *m, const char *filter)
{
	for (size_t i = 0; i < m->n_subs; i++)
		if (strcmp(m->subs[i].filter, filter) == 0)
			return (int)i;
	return -1;
}

fota_err fota_mqtt_subscribe(struct fota_mqtt *m, const char *filter, int qos,
			     struct fota_error *err)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	struct timespec deadline;
	fota_err rc = FOTA_OK;
	int prc, known;

	pthread_mutex_lock(&m->lock);
	known = find_subscription(m, filter);
	if (known >= 0) {
		/* Remembered once, however often it is asked for (the dynamic-security client
		 * subscribes to its response topic for every device it grants). */
		m->subs[known].qos = qos;
	} else if (m->n_subs == MAX_SUBSCRIPTIONS) {
		rc = fota_error_set(err, FOTA_ERR_TOO_BIG, "mqtt: more than %d subscriptions",
				    MAX_SUBSCRIPTIONS);
		goto out;
	} else {
		m->subs[m->n_subs].filter = strdup(filter);
		if (m->subs[m->n_subs].filter == NULL) {
			rc = fota_error_set(err, FOTA_ERR_NOMEM, "mqtt: out of memory");
			goto out;
		}
		m->subs[m->n_subs].qos = qos;
		m->n_subs++;
	}
	if (!m->connected)
		goto out; /* subscribed on connect */
	ro.onSuccess = on_subscribe_ok;
	ro.onFailure = on_subscribe_fail;
	ro.context = m;
	m->sub_pending = 1;
	snprintf(m->pending_filter, sizeof(m->pending_filter), "%s", filter);
	pthread_mutex_unlock(&m->lock);
	prc = MQTTAsync_subscribe(m->client, filter, qos, &ro);
	pthread_mutex_lock(&m->lock);
	if (prc != MQTTASYNC_SUCCESS) {
		m->sub_pending = 0;
		rc = fota_error_set(err, FOTA_ERR_MQTT, "mqtt: subscribe '%s' failed: %s", filter,
				    MQTTAsync_strerror(prc));
		goto out;
	}
	deadline_after(&deadline, 10000);
	while (m->sub_pending == 1) {
		if (wait_until(m, &deadline) == ETIMEDOUT) {
			m->sub_pending = 0;
			rc = fota_error_set(err, FOTA_ERR_TIMEOUT, "mqtt: no SUBACK for '%s'",
					    filter);
			goto out;
		}
	}
	if (m->sub_pending == -3) {
		/* A publish was refused as likely as the subscription: kept, so that the
		 * reconnect renews it, and the caller learns the connection went. */
		rc = fota_error_set(err, FOTA_ERR_MQTT,
				    "mqtt: broker closed the connection after subscription '%s' "
				    "while a publish was unanswered too (which one it refused is "
				    "unknown; renewed on reconnect)",
				    filter);
		m->sub_pending = 0;
	} else if (m->sub_pending < 0) {
		int i = find_subscription(m, filter);

		/* Forgotten, so that reconnects do not repeat a refusal the caller has seen. */
		if (i >= 0) {
			free(m->subs[i].filter);
			m->subs[i] = m->subs[--m->n_subs];
		}
		rc = fota_error_set(err, FOTA_ERR_MQTT,
				    m->sub_pending == -1
					? "mqtt: broker refused subscription '%s' (ACL?)"
					: "mqtt: broker closed the connection in answer to "
					  "subscription '%s' (refused: ACL, or a filter it does "
					  "not support)",
				    filter);
		m->sub_pending = 0;
	}
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

fota_err fota_mqtt_unsubscribe(struct fota_mqtt *m, const char *filter, struct fota_error *err)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	int i, connected, prc;

	pthread_mutex_lock(&m->lock);
	i = find_subscription(m, filter);
	if (i >= 0) {
		free(m->subs[i].filter);
		m->subs[i] = m->subs[--m->n_subs];
	}
	connected = m->connected;
	pthread_mutex_unlock(&m->lock);
	if (i < 0 || !connected)
		return FOTA_OK;
	/* Not waited for: a late UNSUBACK changes nothing, and messages that still arrive for
	 * the filter are judged like any other. */
	ro.context = m;
	prc = MQTTAsync_unsubscribe(m->client, filter, &ro);
	if (prc != MQTTASYNC_SUCCESS)
		return fota_error_set(err, FOTA_ERR_MQTT, "mqtt: unsubscribe '%s' failed: %s",
				      filter, MQTTAsync_strerror(prc));
	return FOTA_OK;
}

fota_err fota_mqtt_subscribe_exactly(struct fota_mqtt *m, const char *const *filters, size_t n,
				     int qos, struct fota_error *err)
{
	char *stale[MAX_SUBSCRIPTIONS];
	size_t n_stale = 0;
	fota_err rc = FOTA_OK;

	if (n > MAX_SUBSCRIPTIONS)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "mqtt: %zu subscriptions, at most %d",
				      n, MAX_SUBSCRIPTIONS);
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n_subs; i++) {
		bool wanted = false;

		for (size_t k = 0; k < n && !wanted; k++)
			wanted = strcmp(m->subs[i].filter, filters[k]) == 0;
		if (!wanted && (stale[n_stale] = strdup(m->subs[i].filter)) != NULL)
			n_stale++;
	}
	pthread_mutex_unlock(&m->lock);
	/* Dropped first, so the list never holds more than the old and the new set's union. */
	for (size_t i = 0; i < n_stale; i++) {
		if (rc == FOTA_OK)
			rc = fota_mqtt_unsubscribe(m, stale[i], err);
		free(stale[i]);
	}
	for (size_t k = 0; k < n; k++) {
		struct fota_error one = {0};
		int have;

		pthread_mutex_lock(&m->lock);
		have = find_subscription(m, filters[k]);
		pthread_mutex_unlock(&m->lock);
		if (have < 0 && fota_mqtt_subscribe(m, filters[k], qos, &one) != FOTA_OK &&
		    rc == FOTA_OK) {
			rc = one.code;
			if (err)
				*err = one;
		}
	}
	return rc;
}

/* Caller holds lock. 1 if token completed before its publish returned; *failed says how. */
static int take_early(struct fota_mqtt *m, MQTTAsync_token token, int *failed)
{
	for (size_t i = 0; i < m->n_early; i++) {
		if (m->early[i].token == token) {
			*failed = m->early[i].failed;
			m->early[i] = m->early[--m->n_early];
			return 1;
		}
	}
	return 0;
}

fota_err fota_mqtt_publish(struct fota_mqtt *m, const char *topic, const void *payload, size_t len,
			   int qos, bool retained, int timeout_ms, struct fota_error *err)
{
	return fota_mqtt_publish_tallied(m, topic, payload, len, qos, retained, timeout_ms, NULL,
					 err);
}

fota_err fota_mqtt_publish_tallied(struct fota_mqtt *m, const char *topic, const void *payload,
				   size_t len, int qos, bool retained, int timeout_ms,
				   struct fota_mqtt_tally *tally, struct fota_error *err)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	struct timespec deadline;
	fota_err rc = FOTA_OK;
	unsigned slot = 0, gen;
	int prc, failed = 0;

	if (len > (size_t)0x7fffffff)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "mqtt: payload of %zu bytes", len);
	deadline_after(&deadline, timeout_ms);
	msg.payload = (void *)payload;
	msg.payloadlen = (int)len;
	msg.qos = qos;
	msg.retained = retained;
	ro.onSuccess = on_publish_ok;
	ro.onFailure = on_publish_fail;
	ro.context = m;

	pthread_mutex_lock(&m->lock);
	for (;;) {
		if (m->shutting_down) {
			rc = fota_error_set(err, FOTA_ERR_STATE, "mqtt: shutting down");
			goto out;
		}
		if (m->connected && (qos == 0 || m->inflight < m->max_inflight))
			break;
		if (wait_until(m, &deadline) == ETIMEDOUT) {
			rc = fota_error_set(err, FOTA_ERR_TIMEOUT,
					    m->connected ? "mqtt: publish to '%s' waited %d ms for "
							   "acknowledgements"
							 : "mqtt: publish to '%s': not connected "
							   "for %d ms",
					    topic, timeout_ms);
			goto out;
		}
	}
	if (qos > 0) {
		for (slot = 0; slot < m->max_inflight && m->slots[slot].in_use; slot++)
			;
		m->slots[slot].in_use = 1;
		m->slots[slot].token = 0;
		m->slots[slot].tally = tally;
		m->slots[slot].seq = ++m->publish_seq;
		snprintf(m->slots[slot].topic, sizeof(m->slots[slot].topic), "%s", topic);
		m->inflight++;
	}
	gen = m->generation;
	pthread_mutex_unlock(&m->lock);
	prc = MQTTAsync_sendMessage(m->client, topic, &msg, &ro);
	pthread_mutex_lock(&m->lock);
	if (gen != m->generation)
		qos = 0; /* the connection died meanwhile and freed every slot */
	if (prc != MQTTASYNC_SUCCESS) {
		if (qos > 0) {
			m->slots[slot].in_use = 0;
			m->inflight--;
		}
		rc = fota_error_set(err, FOTA_ERR_MQTT, "mqtt: publish to '%s' failed: %s", topic,
				    MQTTAsync_strerror(prc));
		goto out;
	}
	if (qos > 0) {
		if (take_early(m, ro.token, &failed)) {
			if (failed)
				note_failed_publish(m, m->slots[slot].topic);
			m->slots[slot].in_use = 0;
			m->inflight--;
			count(tally, failed);
		} else {
			m->slots[slot].token = ro.token;
		}
	}
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

fota_err fota_mqtt_flush(struct fota_mqtt *m, int timeout_ms, struct fota_error *err)
{
	struct timespec deadline;
	fota_err rc = FOTA_OK;

	deadline_after(&deadline, timeout_ms);
	pthread_mutex_lock(&m->lock);
	while (m->inflight > 0) {
		if (wait_until(m, &deadline) == ETIMEDOUT) {
			rc = fota_error_set(err, FOTA_ERR_TIMEOUT,
					    "mqtt: %u publishes unacknowledged after %d ms",
					    m->inflight, timeout_ms);
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

unsigned fota_mqtt_max_inflight(const struct fota_mqtt *m)
{
	return m->max_inflight; /* set once in fota_mqtt_new */
}

void fota_mqtt_tally_get(struct fota_mqtt *m, const struct fota_mqtt_tally *tally,
			 struct fota_mqtt_tally *out)
{
	pthread_mutex_lock(&m->lock);
	*out = *tally;
	pthread_mutex_unlock(&m->lock);
}

fota_err fota_mqtt_tally_wait(struct fota_mqtt *m, const struct fota_mqtt_tally *tally,
			      uint64_t sent, int timeout_ms, struct fota_error *err)
{
	struct timespec deadline;
	fota_err rc = FOTA_OK;

	deadline_after(&deadline, timeout_ms);
	pthread_mutex_lock(&m->lock);
	while (tally->acked + tally->lost < sent) {
		if (wait_until(m, &deadline) == ETIMEDOUT) {
			rc = fota_error_set(err, FOTA_ERR_TIMEOUT,
					    "mqtt: %llu publishes unacknowledged after %d ms",
					    (unsigned long long)(sent - tally->acked - tally->lost),
					    timeout_ms);
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

unsigned fota_mqtt_connections_lost(struct fota_mqtt *m)
{
	unsigned n;

	pthread_mutex_lock(&m->lock);
	n = m->generation;
	pthread_mutex_unlock(&m->lock);
	return n;
}

uint64_t fota_mqtt_failed_publishes(struct fota_mqtt *m)
{
	uint64_t n;

	pthread_mutex_lock(&m->lock);
	n = m->failed_publishes;
	pthread_mutex_unlock(&m->lock);
	return n;
}
