/* SPDX-License-Identifier: Apache-2.0 */
/* Plain Paho baselines for bench/run.sh: chunked publisher, subscriber to disk, status flood. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>
#include <openssl/evp.h>

/*
 * Deliberately no libfota-common: these are what a user would write with Paho alone, so the
 * numbers show the cost of the FOTA protocol on top of the same library and broker.
 */

struct opts {
	const char *uri, *ca, *cert, *key, *id, *topic, *file, *out, *prefix;
	unsigned chunk, window, devices, rounds, qos;
	uint64_t bytes, messages;
	bool hash;
};

struct state {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned inflight;
	int connected; /* 0 pending, 1 ok, -1 failed */
	int subscribed;
	uint64_t rx_bytes, rx_msgs, failed;
	bool done;
	int out_fd;
	EVP_MD_CTX *whole; /* --hash: SHA-256 of the stream, in arrival order */
	const struct opts *o;
};

static struct state st = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER,
    .out_fd = -1,
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wall clock in ms: the harness compares end times of several processes. */
static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long peak_rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void signal_locked(void)
{
	pthread_cond_broadcast(&st.cond);
	pthread_mutex_unlock(&st.lock);
}

static void on_connect(void *ctx, MQTTAsync_successData *d)
{
	(void)ctx;
	(void)d;
	pthread_mutex_lock(&st.lock);
	st.connected = 1;
	signal_locked();
}

static void on_connect_fail(void *ctx, MQTTAsync_failureData *d)
{
	(void)ctx;
	fprintf(stderr, "paho_bench: connect failed: %s\n", d && d->message ? d->message : "?");
	pthread_mutex_lock(&st.lock);
	st.connected = -1;
	signal_locked();
}

static void on_sub(void *ctx, MQTTAsync_successData *d)
{
	(void)ctx;
	(void)d;
	pthread_mutex_lock(&st.lock);
	st.subscribed = 1;
	signal_locked();
}

static void on_sub_fail(void *ctx, MQTTAsync_failureData *d)
{
	(void)ctx;
	(void)d;
	pthread_mutex_lock(&st.lock);
	st.subscribed = -1;
	signal_locked();
}

static void on_sent(void *ctx, MQTTAsync_successData *d)
{
	(void)ctx;
	(void)d;
	pthread_mutex_lock(&st.lock);
	st.inflight--;
	signal_locked();
}

static void on_send_fail(void *ctx, MQTTAsync_failureData *d)
{
	(void)ctx;
	(void)d;
	pthread_mutex_lock(&st.lock);
	st.inflight--;
	st.failed++;
	signal_locked();
}

static void on_lost(void *ctx, char *cause)
{
	(void)ctx;
	fprintf(stderr, "paho_bench: connection lost: %s\n", cause ? cause : "?");
	pthread_mutex_lock(&st.lock);
	st.connected = -1;
	signal_locked();
}

/* --hash: the digest work a device's contract requires of every chunk, without the rest of
 * the protocol: one SHA-256 of the chunk (the signed table check) and the running SHA-256 of
 * the whole image (checked again before install). The baseline then differs from the agent
 * only by what is not verification. */
static void hash_chunk(const void *p, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n;

	if (EVP_Digest(p, len, md, &n, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(st.whole, p, len) != 1) {
		fputs("paho_bench: SHA-256 failed\n", stderr);
		exit(1);
	}
}

static int on_message(void *ctx, char *topic, int tlen, MQTTAsync_message *m)
{
	const char *p = m->payload;
	size_t left = (size_t)m->payloadlen;

	(void)ctx;
	(void)tlen;
	if (st.whole)
		hash_chunk(p, left);
	while (st.out_fd >= 0 && left > 0) {
		ssize_t n = write(st.out_fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("paho_bench: write");
			exit(1);
		}
		p += n;
		left -= (size_t)n;
	}
	pthread_mutex_lock(&st.lock);
	st.rx_bytes += (uint64_t)m->payloadlen;
	st.rx_msgs++;
	if ((st.o->bytes && st.rx_bytes >= st.o->bytes) ||
	    (st.o->messages && st.rx_msgs >= st.o->messages))
		st.done = true;
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	signal_locked();
	return 1;
}

static MQTTAsync connect_or_die(const struct opts *o)
{
	MQTTAsync c;
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
	MQTTAsync_SSLOptions so = MQTTAsync_SSLOptions_initializer;
	int rc;

	rc = MQTTAsync_create(&c, o->uri, o->id, MQTTCLIENT_PERSISTENCE_NONE, NULL);
	if (rc != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "paho_bench: create: %d\n", rc);
		exit(1);
	}
	MQTTAsync_setCallbacks(c, NULL, on_lost, on_message, NULL);
	so.trustStore = o->ca;
	so.keyStore = o->cert;
	so.privateKey = o->key;
	so.enableServerCertAuth = 1;
	co.ssl = &so;
	co.cleansession = 1;
	co.keepAliveInterval = 30;
	co.maxInflight = (int)(o->window ? o->window : 10);
	co.onSuccess = on_connect;
	co.onFailure = on_connect_fail;
	rc = MQTTAsync_connect(c, &co);
	if (rc != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "paho_bench: connect: %d\n", rc);
		exit(1);
	}
	pthread_mutex_lock(&st.lock);
	while (st.connected == 0)
		pthread_cond_wait(&st.cond, &st.lock);
	pthread_mutex_unlock(&st.lock);
	if (st.connected < 0)
		exit(1);
	return c;
}

/* Publishes one message (QoS 1 by default, --qos) once fewer than window are awaiting their
 * PUBACK (at QoS 0, Paho's confirmation that it wrote the message to the socket). */
static void publish(MQTTAsync c, const struct opts *o, const char *topic, const void *p, size_t n)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	int rc;

	pthread_mutex_lock(&st.lock);
	while (st.inflight >= o->window && st.connected > 0)
		pthread_cond_wait(&st.cond, &st.lock);
	if (st.connected < 0) {
		pthread_mutex_unlock(&st.lock);
		exit(1);
	}
	st.inflight++;
	pthread_mutex_unlock(&st.lock);
	ro.onSuccess = on_sent;
	ro.onFailure = on_send_fail;
	rc = MQTTAsync_send(c, topic, (int)n, p, (int)o->qos, 0, &ro);
	if (rc != MQTTASYNC_SUCCESS) {
		fprintf(stderr, "paho_bench: send: %d\n", rc);
		exit(1);
	}
}

static void drain(void)
{
	pthread_mutex_lock(&st.lock);
	while (st.inflight > 0 && st.connected > 0)
		pthread_cond_wait(&st.cond, &st.lock);
	pthread_mutex_unlock(&st.lock);
}

static void disconnect(MQTTAsync c)
{
	MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;

	d.timeout = 1000;
	MQTTAsync_disconnect(c, &d);
	usleep(50000);
	MQTTAsync_destroy(&c);
}

static int run_pub(const struct opts *o)
{
	char *buf = malloc(o->chunk);
	int fd = open(o->file, O_RDONLY);
	uint64_t total = 0;
	MQTTAsync c;
	double t0, dt;
	ssize_t n;

	if (!buf || fd < 0) {
		perror("paho_bench: pub");
		return 1;
	}
	c = connect_or_die(o);
	t0 = now_s();
	while ((n = read(fd, buf, o->chunk)) > 0) {
		publish(c, o, o->topic, buf, (size_t)n);
		total += (uint64_t)n;
	}
	drain();
	dt = now_s() - t0;
	printf("pub bytes=%llu seconds=%.3f mib_s=%.1f failed=%llu\n", (unsigned long long)total,
	       dt, (double)total / 1048576.0 / dt, (unsigned long long)st.failed);
	disconnect(c);
	close(fd);
	free(buf);
	return st.failed ? 1 : 0;
}

/* User + system CPU seconds of the process so far. */
static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int run_sub(const struct opts *o)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	MQTTAsync c;

	if (o->out) {
		st.out_fd = open(o->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (st.out_fd < 0) {
			perror("paho_bench: out");
			return 1;
		}
	}
	if (o->hash) {
		st.whole = EVP_MD_CTX_new();
		if (st.whole == NULL || EVP_DigestInit_ex(st.whole, EVP_sha256(), NULL) != 1) {
			fputs("paho_bench: SHA-256 unavailable\n", stderr);
			return 1;
		}
	}
	c = connect_or_die(o);
	ro.onSuccess = on_sub;
	ro.onFailure = on_sub_fail;
	MQTTAsync_subscribe(c, o->topic, 1, &ro);
	pthread_mutex_lock(&st.lock);
	while (st.subscribed == 0)
		pthread_cond_wait(&st.cond, &st.lock);
	if (st.subscribed < 0) {
		fprintf(stderr, "paho_bench: subscription to %s refused\n", o->topic);
		exit(1);
	}
	pthread_mutex_unlock(&st.lock);
	/* The CPU so far (start-up, TLS, subscribe): the harness subtracts it from done's. */
	printf("ready %lld cpu_s=%.3f\n", wall_ms(), cpu_s());
	fflush(stdout);
	pthread_mutex_lock(&st.lock);
	while (!st.done && st.connected > 0)
		pthread_cond_wait(&st.cond, &st.lock);
	pthread_mutex_unlock(&st.lock);
	if (st.out_fd >= 0) {
		fdatasync(st.out_fd);
		close(st.out_fd);
	}
	printf("done %lld bytes=%llu msgs=%llu rss_kb=%ld cpu_s=%.3f", wall_ms(),
	       (unsigned long long)st.rx_bytes, (unsigned long long)st.rx_msgs, peak_rss_kb(),
	       cpu_s());
	if (st.whole) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int n = 0;

		/* Printed so the harness can check the digest work was done, and done right. */
		EVP_DigestFinal_ex(st.whole, md, &n);
		fputs(" sha256=", stdout);
		for (unsigned int i = 0; i < n; i++)
			printf("%02x", md[i]);
		EVP_MD_CTX_free(st.whole);
		st.whole = NULL;
	}
	putchar('\n');
	fflush(stdout);
	disconnect(c);
	return st.done ? 0 : 1;
}

/* Status reports of `devices` simulated devices, `rounds` each, alternating states so that
 * every report is a change the orchestrator records. */
static int run_flood(const struct opts *o)
{
	static const char *const states[] = {"downloading", "downloaded"};
	char topic[256], payload[512];
	MQTTAsync c = connect_or_die(o);
	uint64_t sent = 0;
	double t0, dt;

	t0 = now_s();
	for (unsigned r = 0; r < o->rounds; r++) {
		for (unsigned d = 0; d < o->devices; d++) {
			int n;

			snprintf(topic, sizeof(topic), "%s/devices/sim-%05u/status", o->prefix, d);
			n = snprintf(
			    payload, sizeof(payload),
			    "{\"device\":\"sim-%05u\",\"state\":\"%s\",\"result\":\"none\","
			    "\"reason\":\"\",\"campaign\":\"bench\","
			    "\"image\":\"0011223344556677\",\"version\":\"1.0.0\","
			    "\"sequence\":1,\"bytes\":%u,\"size\":1048576,\"present\":0,"
			    "\"count\":16,\"ts\":\"2030-01-01T00:00:00Z\"}",
			    d, states[r % 2], r);
			publish(c, o, topic, payload, (size_t)n);
			sent++;
		}
	}
	drain();
	dt = now_s() - t0;
	printf("flood messages=%llu seconds=%.3f msg_s=%.0f failed=%llu end=%lld\n",
	       (unsigned long long)sent, dt, (double)sent / dt, (unsigned long long)st.failed,
	       wall_ms());
	disconnect(c);
	return 0;
}

static const char usage[] =
    "Usage: paho_bench pub|sub|flood --uri U --ca F --cert F --key F --id CLIENT_ID\n"
    "  pub:   --topic T --file F --chunk BYTES --window N [--qos 0|1]\n"
    "  sub:   --topic T (--bytes N | --messages N) [--out FILE] [--hash]\n"
    "         --hash: SHA-256 of each message and of the whole stream (a device's checks)\n"
    "  flood: --prefix P --devices N --rounds R --window N\n";

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"uri", required_argument, NULL, 'u'},     {"ca", required_argument, NULL, 'a'},
	    {"cert", required_argument, NULL, 'c'},    {"key", required_argument, NULL, 'k'},
	    {"id", required_argument, NULL, 'i'},      {"topic", required_argument, NULL, 't'},
	    {"file", required_argument, NULL, 'f'},    {"out", required_argument, NULL, 'o'},
	    {"chunk", required_argument, NULL, 's'},   {"window", required_argument, NULL, 'w'},
	    {"bytes", required_argument, NULL, 'b'},   {"messages", required_argument, NULL, 'm'},
	    {"devices", required_argument, NULL, 'd'}, {"rounds", required_argument, NULL, 'r'},
	    {"prefix", required_argument, NULL, 'p'},  {"qos", required_argument, NULL, 'q'},
	    {"hash", no_argument, NULL, 'H'},	       {NULL, 0, NULL, 0},
	};
	struct opts o = {.id = "paho-bench",
			 .chunk = 65536,
			 .window = 10,
			 .prefix = "fota/v1",
			 .devices = 1000,
			 .rounds = 1,
			 .qos = 1};
	const char *mode;
	int ch;

	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	mode = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'u':
			o.uri = optarg;
			break;
		case 'a':
			o.ca = optarg;
			break;
		case 'c':
			o.cert = optarg;
			break;
		case 'k':
			o.key = optarg;
			break;
		case 'i':
			o.id = optarg;
			break;
		case 't':
			o.topic = optarg;
			break;
		case 'f':
			o.file = optarg;
			break;
		case 'o':
			o.out = optarg;
			break;
		case 's':
			o.chunk = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'w':
			o.window = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'b':
			o.bytes = strtoull(optarg, NULL, 0);
			break;
		case 'm':
			o.messages = strtoull(optarg, NULL, 0);
			break;
		case 'd':
			o.devices = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'r':
			o.rounds = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'p':
			o.prefix = optarg;
			break;
		case 'q':
			o.qos = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'H':
			o.hash = true;
			break;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!o.uri || !o.ca || !o.cert || !o.key || !o.window || !o.chunk || o.qos > 1) {
		fputs(usage, stderr);
		return 2;
	}
	st.o = &o;
	if (strcmp(mode, "pub") == 0 && o.topic && o.file)
		return run_pub(&o);
	if (strcmp(mode, "sub") == 0 && o.topic && (o.bytes || o.messages))
		return run_sub(&o);
	if (strcmp(mode, "flood") == 0)
		return run_flood(&o);
	fputs(usage, stderr);
	return 2;
}
