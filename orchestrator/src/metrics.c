/* SPDX-License-Identifier: Apache-2.0 */
/* The Prometheus text exposition (version 0.0.4) of the daemon: its counters, the fleet view
 * and what the store holds about devices, campaigns and broadcasts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/status.h"
#include "fota/timeutil.h"

#include "campaign.h"
#include "metrics.h"

/* Distinct installed versions reported as their own series; more fold into "other" so a
 * misbehaving fleet cannot blow up the exposition. */
#define MAX_VERSIONS 64

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newline escaped as the format requires. */
static void label(FILE *f, const char *v)
{
	fputc('"', f);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
	fputc('"', f);
}

struct versions {
	char name[MAX_VERSIONS + 1][FOTA_MAX_VERSION_LEN + 1];
	uint64_t count[MAX_VERSIONS + 1];
	size_t n;
	uint64_t registered;
};

static int add_device(void *ctx, const struct orch_device *d)
{
	struct versions *v = ctx;
	const char *ver = d->version[0] ? d->version : "unknown";
	size_t i;

	v->registered++;
	for (i = 0; i < v->n; i++) {
		if (strcmp(v->name[i], ver) == 0) {
			v->count[i]++;
			return 0;
		}
	}
	if (v->n == MAX_VERSIONS) {
		v->count[MAX_VERSIONS]++;
		return 0;
	}
	snprintf(v->name[v->n], sizeof(v->name[0]), "%s", ver);
	v->count[v->n++] = 1;
	return 0;
}

struct names {
	char (*id)[FOTA_MAX_NAME_LEN + 1];
	size_t n, cap;
};

static int add_name(void *ctx, const char *name)
{
	struct names *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = realloc(l->id, cap * sizeof(*l->id));

		if (!p)
			return -1;
		l->id = p;
		l->cap = cap;
	}
	snprintf(l->id[l->n++], sizeof(l->id[0]), "%s", name);
	return 0;
}

struct stage_counts {
	const struct orch_campaign *c;
	struct orch_counts stage[ORCH_MAX_STAGES];
};

/* The same per-stage tally as `campaign status`. */
static int add_cdev(void *ctx, const struct orch_cdev *d)
{
	struct stage_counts *s = ctx;
	uint32_t i = d->stage < ORCH_MAX_STAGES ? d->stage : ORCH_MAX_STAGES - 1;

	orch_counts_add(&s->stage[i], s->c, d);
	return 0;
}

struct bcasts {
	uint64_t by_state[4]; /* active, success, stopped, failed */
	uint64_t chunks_acked;
};

static const char *const bcast_states[] = {ORCH_BCAST_ACTIVE, "success", "stopped", "failed"};

static int add_bcast(void *ctx, const struct orch_bcast_rec *b)
{
	struct bcasts *k = ctx;

	for (size_t i = 0; i < sizeof(bcast_states) / sizeof(bcast_states[0]); i++)
		if (strcmp(b->state, bcast_states[i]) == 0)
			k->by_state[i]++;
	k->chunks_acked += b->next_chunk;
	return 0;
}

static void daemon_metrics(FILE *f, const struct orch_daemon_stats *ds)
{
	header(f, "fota_uptime_seconds", "gauge", "Seconds since serve started serving.");
	fprintf(f, "fota_uptime_seconds %.3f\n", (double)ds->uptime_ms / 1000.0);
	header(f, "fota_broker_connected", "gauge", "1 while the MQTT session is connected.");
	fprintf(f, "fota_broker_connected %d\n", ds->broker_connected ? 1 : 0);
	header(f, "fota_mqtt_lost_publishes_total", "counter",
	       "QoS 1 publishes a lost broker connection dropped.");
	fprintf(f, "fota_mqtt_lost_publishes_total %llu\n", (unsigned long long)ds->lost_publishes);
	header(f, "fota_status_ingested_total", "counter",
	       "Device status messages written to the store.");
	fprintf(f, "fota_status_ingested_total %llu\n", (unsigned long long)ds->engine.statuses);
	header(f, "fota_status_dropped_total", "counter",
	       "Status messages dropped: ingest queue full or unparsable.");
	fprintf(f, "fota_status_dropped_total %llu\n", (unsigned long long)ds->engine.dropped);
	header(f, "fota_status_ingest_peak_per_second", "gauge",
	       "Most statuses ingested within one second since start.");
	fprintf(f, "fota_status_ingest_peak_per_second %llu\n",
		(unsigned long long)ds->engine.peak_per_s);
	header(f, "fota_status_queue_length", "gauge",
	       "Device status messages waiting to be written to the store.");
	fprintf(f, "fota_status_queue_length %llu\n", (unsigned long long)ds->engine.queued);
	header(f, "fota_status_queue_oldest_seconds", "gauge",
	       "How long the oldest waiting status message has waited (ingest lag).");
	fprintf(f, "fota_status_queue_oldest_seconds %.3f\n",
		(double)ds->engine.oldest_ms / 1000.0);
	header(f, "fota_store_status_write_seconds_total", "counter",
	       "Time spent writing status batches to the store.");
	fprintf(f, "fota_store_status_write_seconds_total %.3f\n",
		(double)ds->engine.busy_ms / 1000.0);
	header(f, "fota_directives_published_total", "counter",
	       "Signed campaign directives published.");
	fprintf(f, "fota_directives_published_total %llu\n",
		(unsigned long long)ds->engine.directives);
	header(f, "fota_broadcast_chunks_sent_total", "counter",
	       "Chunk frames campaign broadcasts published, counted as each broadcast ends.");
	fprintf(f, "fota_broadcast_chunks_sent_total %llu\n",
		(unsigned long long)ds->broadcast.chunks);
	header(f, "fota_broadcast_bytes_sent_total", "counter",
	       "Bytes of those chunk frames, frame headers included.");
	fprintf(f, "fota_broadcast_bytes_sent_total %llu\n",
		(unsigned long long)ds->broadcast.bytes);
	header(f, "fota_repair_requests_total", "counter", "Repair requests by outcome.");
	fprintf(f,
		"fota_repair_requests_total{outcome=\"served\"} %llu\n"
		"fota_repair_requests_total{outcome=\"merged\"} %llu\n"
		"fota_repair_requests_total{outcome=\"rejected\"} %llu\n"
		"fota_repair_requests_total{outcome=\"dropped\"} %llu\n",
		(unsigned long long)ds->repair.served, (unsigned long long)ds->repair.merged,
		(unsigned long long)ds->repair.rejected, (unsigned long long)ds->repair.dropped);
	header(f, "fota_repair_frames_sent_total", "counter",
	       "Frames (chunks and tables) the repair server sent.");
	fprintf(f, "fota_repair_frames_sent_total %llu\n", (unsigned long long)ds->repair.frames);
	header(f, "fota_repair_chunks_left_to_broadcast_total", "counter",
	       "Chunks asked for by repair and not sent unicast: a running broadcast to the "
	       "device's group still brought them, or one within its grace period after its end.");
	fprintf(f, "fota_repair_chunks_left_to_broadcast_total %llu\n",
		(unsigned long long)ds->repair.ahead_chunks);
	header(f, "fota_repair_chunks_left_to_ended_broadcast_total", "counter",
	       "Of those, the chunks cut within a broadcast's grace period after its end.");
	fprintf(f, "fota_repair_chunks_left_to_ended_broadcast_total %llu\n",
		(unsigned long long)ds->repair.grace_chunks);
}

static void fleet_metrics(FILE *f, struct orch_fleet *fleet)
{
	uint64_t by_state[FOTA_STATE__COUNT] = {0};
	struct fota_status *all = NULL;
	size_t i, n = orch_fleet_snapshot(fleet, &all);

	if (n == (size_t)-1)
		n = 0;
	for (i = 0; i < n; i++)
		if ((unsigned)all[i].state < FOTA_STATE__COUNT)
			by_state[all[i].state]++;
	free(all);
	header(f, "fota_devices", "gauge", "Devices by the state of their latest status.");
	for (i = 0; i < FOTA_STATE__COUNT; i++)
		fprintf(f, "fota_devices{state=\"%s\"} %llu\n", fota_state_name((enum fota_state)i),
			(unsigned long long)by_state[i]);
}

static fota_err campaign_metrics(FILE *f, struct orch_store *st, struct fota_error *err)
{
	uint64_t by_state[ORCH_CAMPAIGN__COUNT] = {0};
	struct names l = {0};
	struct orch_campaign c;
	struct stage_counts *sc = NULL;
	fota_err rc;
	size_t i;

	rc = st->ops->campaign_each(st, false, add_name, &l, err);
	if (rc)
		goto out;
	sc = calloc(l.n ? l.n : 1, sizeof(*sc));
	if (!sc) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "metrics: out of memory");
		goto out;
	}
	header(f, "fota_campaign_stage_devices", "gauge",
	       "Devices of a campaign's stage: admitted, confirmed, failed (or rolled back).");
	for (i = 0; i < l.n; i++) {
		memset(&c, 0, sizeof(c));
		rc = st->ops->campaign_get(st, l.id[i], &c, err);
		if (rc == FOTA_OK) {
			sc[i].c = &c;
			rc = st->ops->cdev_each(st, c.id, add_cdev, &sc[i], err);
		}
		if (rc) {
			orch_campaign_clear(&c);
			goto out;
		}
		if ((unsigned)c.state < ORCH_CAMPAIGN__COUNT)
			by_state[c.state]++;
		for (uint32_t s = 0; s < c.n_stages && s < ORCH_MAX_STAGES; s++) {
			const struct orch_counts *k = &sc[i].stage[s];
			static const char *const what[] = {"admitted", "confirmed", "failed"};
			uint32_t v[] = {k->admitted, k->confirmed, k->failed};

			for (size_t w = 0; w < 3; w++) {
				fputs("fota_campaign_stage_devices{campaign=", f);
				label(f, c.id);
				fprintf(f, ",stage=\"%u\",outcome=\"%s\"} %u\n", s + 1, what[w],
					v[w]);
			}
		}
		orch_campaign_clear(&c);
	}
	header(f, "fota_campaigns", "gauge", "Campaigns by state.");
	for (i = 0; i < ORCH_CAMPAIGN__COUNT; i++)
		fprintf(f, "fota_campaigns{state=\"%s\"} %llu\n",
			orch_cstate_name((enum orch_cstate)i), (unsigned long long)by_state[i]);
out:
	free(sc);
	free(l.id);
	return rc;
}

static fota_err store_metrics(FILE *f, struct orch_store *st, struct fota_error *err)
{
	struct versions *v = calloc(1, sizeof(*v));
	struct bcasts b = {0};
	fota_err rc;
	size_t i;

	if (!v)
		return fota_error_set(err, FOTA_ERR_NOMEM, "metrics: out of memory");
	rc = st->ops->device_each(st, NULL, add_device, v, err);
	if (rc)
		goto out;
	header(f, "fota_devices_registered", "gauge", "Devices in the registry.");
	fprintf(f, "fota_devices_registered %llu\n", (unsigned long long)v->registered);
	header(f, "fota_devices_by_version", "gauge",
	       "Registered devices by installed version (\"other\" past 64 versions).");
	for (i = 0; i < v->n; i++) {
		fputs("fota_devices_by_version{version=", f);
		label(f, v->name[i]);
		fprintf(f, "} %llu\n", (unsigned long long)v->count[i]);
	}
	if (v->count[MAX_VERSIONS])
		fprintf(f, "fota_devices_by_version{version=\"other\"} %llu\n",
			(unsigned long long)v->count[MAX_VERSIONS]);
	rc = campaign_metrics(f, st, err);
	if (rc)
		goto out;
	rc = st->ops->bcast_each(st, false, add_bcast, &b, err);
	if (rc)
		goto out;
	header(f, "fota_broadcasts", "gauge",
	       "Campaign broadcasts recorded in the store, by state.");
	for (i = 0; i < sizeof(bcast_states) / sizeof(bcast_states[0]); i++)
		fprintf(f, "fota_broadcasts{state=\"%s\"} %llu\n", bcast_states[i],
			(unsigned long long)b.by_state[i]);
	header(f, "fota_broadcast_chunks_acknowledged", "gauge",
	       "Chunks of the recorded broadcasts the broker acknowledged.");
	fprintf(f, "fota_broadcast_chunks_acknowledged %llu\n", (unsigned long long)b.chunks_acked);
out:
	free(v);
	return rc;
}

fota_err orch_metrics_render(struct orch_store *st, struct orch_fleet *fleet,
			     const struct orch_daemon_stats *ds, char **out, size_t *len,
			     struct fota_error *err)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	int64_t t0 = fota_time_mono_ms();
	fota_err rc = FOTA_OK;

	*out = NULL;
	if (!f)
		return fota_error_set(err, FOTA_ERR_NOMEM, "metrics: out of memory");
	daemon_metrics(f, ds);
	if (fleet)
		fleet_metrics(f, fleet);
	if (st)
		rc = store_metrics(f, st, err);
	header(f, "fota_metrics_store_read_seconds", "gauge",
	       "Time this scrape spent reading the store.");
	fprintf(f, "fota_metrics_store_read_seconds %.3f\n",
		(double)(fota_time_mono_ms() - t0) / 1000.0);
	if (fclose(f) != 0 && rc == FOTA_OK)
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "metrics: out of memory");
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = size;
	return FOTA_OK;
}
