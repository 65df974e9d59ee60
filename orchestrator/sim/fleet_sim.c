/* SPDX-License-Identifier: Apache-2.0 */
/* fota-fleet-sim: many simulated devices in one process, each with its own MQTT connection,
 * certificate and state machine, speaking the real protocol (signed directives verified against
 * the trust store, admission, chunk table, repair requests, status reports). */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "fota/acceptance.h"
#include "fota/chunk.h"
#include "fota/chunk_table.h"
#include "fota/directive.h"
#include "fota/envelope.h"
#include "fota/manifest.h"
#include "fota/mqtt.h"
#include "fota/repair_gap.h"
#include "fota/request.h"
#include "fota/status.h"
#include "fota/timeutil.h"
#include "fota/topics.h"
#include "fota/trust.h"

/* Chunks asked for per repair request: the device's window. */
#define SIM_WINDOW 32u
/* The floor of the repair gap (the agent's default gap_ms): the agent's rules of repair_gap.h
 * then decide when a device asks, so that a broadcast slowed down by a loaded broker is waited
 * for instead of fetched twice. */
#define SIM_GAP_MS 1000
#define SIM_PROGRESS_MS 1000
/* Open files beyond one socket per device: certificates being read, the trust store, stdio. */
#define SIM_SPARE_FILES 64
#define SIM_MAX_WORKERS 16
/* Threads connecting devices in parallel at start: at most this many TLS handshakes are in
 * flight at once, so that a loaded machine answers each of them within its timeout. */
#define SIM_CONNECTORS 32
/* Default connection attempts started per second (--connect-rate). */
#define SIM_CONNECT_RATE 50
/* Default seconds a connect attempt may take (--connect-timeout). */
#define SIM_CONNECT_TIMEOUT_S 30
/* A device whose connect failed tries again after this, doubled per failure up to the max. */
#define SIM_CONNECT_RETRY_MS 1000
#define SIM_CONNECT_RETRY_MAX_MS 16000

static const char usage[] =
    "Usage: fota-fleet-sim --broker URI --ca FILE --certs DIR --trust DIR --group G\n"
    "                      (--devices \"ID ID...\" | --count N [--id-prefix P]) [OPTIONS]\n"
    "\n"
    "Runs N simulated devices, each connecting with DIR/ID.crt and DIR/ID.key (CN = ID).\n"
    "\n"
    "  --fail-health-file F   devices listed in F (one id a line, re-read at every health\n"
    "                         check) fail it and report failed/health_check_failed\n"
    "  --offline \"ID...\"|N    these devices, or the last N, never connect (register them\n"
    "                         with `device add` or `device import` to make them silent\n"
    "                         members of the group)\n"
    "  --chunk-delay-ms N     pause between a device's repair requests; a broadcast then\n"
    "                         delivers only --window chunks per N ms (slow links)\n"
    "  --step-ms N            time spent in each install state (default 100)\n"
    "  --model M --hw H --vendor V --version V   what the devices report (default\n"
    "                         acme/gw-100/B/1.0.0)\n"
    "  --method M             install method the devices use (default file)\n"
    "  --summary FILE         JSON summary written at exit\n"
    "  --exit-when ST         exit once every connected device is in state ST\n"
    "  --timeout S            give up after S seconds (exit 3)\n"
    "  --workers N            threads running device state machines (default 4)\n"
    "  --window N             chunks per repair request (default 32)\n"
    "  --connect-rate N       connection attempts started per second at start (default 50);\n"
    "                         a failed attempt is retried with backoff until it succeeds\n"
    "  --connect-timeout S    seconds one connection attempt may take (default 30)\n"
    "\n";

enum phase { PH_IDLE, PH_DOWNLOADING, PH_INSTALLING, PH_DONE };

struct device {
	char id[FOTA_MAX_SEGMENT_LEN + 1];
	struct fota_mqtt *mqtt;
	bool offline;
	pthread_mutex_t lock;
	uint8_t *table_raw; /* latest retained table frame payload of the group */
	size_t table_len;
	uint8_t table_id[FOTA_IMAGE_ID_LEN];
	/* The group's directive (the agent's journal entry) and one kept until its window opens. */
	uint64_t seen_seq;
	bool settled;
	uint8_t *deferred;
	size_t deferred_len;
	int64_t deferred_at;
	struct fota_tz_cache zones; /* the zone of the last daily window judged */
	/* The job. */
	uint64_t job_seq;
	bool window_hold;
	enum phase phase;
	bool paused;
	char campaign[FOTA_MAX_NAME_LEN + 1];
	struct fota_manifest m;
	uint8_t image_id[FOTA_IMAGE_ID_LEN];
	char image_hex[FOTA_IMAGE_ID_HEX_LEN + 1];
	struct fota_chunk_table table;
	bool have_table;
	uint8_t *present;
	uint32_t n_present;
	uint64_t bytes;	      /* of the current job, as the status reports it */
	uint64_t bytes_total; /* over every job: the summary's bytes_received */
	int64_t last_req_ms, last_progress_ms, step_ms;
	int64_t last_bcast_ms; /* last frame of the job's image on the group chunks topic */
	uint32_t bcast_next;   /* one above the highest chunk the broadcast brought; 0: none */
	int64_t last_new_ms;   /* when a chunk last counted */
	struct repair_gap gap; /* quiet time before asking, from the frames' pace */
	int64_t table_ms;      /* when its table opened: its broadcast is due from then */
	int64_t link_start_ms; /* --chunk-delay-ms: the slow link's current period */
	uint32_t link_taken;   /* broadcast chunks it carried in that period */
	uint32_t req_present, req_asked;
	unsigned retries; /* requests since the last new chunk: the agent's backoff */
	int install_step;
	char will[FOTA_MAX_STATUS_BYTES];
	/* What it runs and reports. */
	char version[FOTA_MAX_VERSION_LEN + 1];
	uint64_t sequence;
	uint8_t installed_sha256[FOTA_SHA256_LEN];
	bool has_installed;
	unsigned long unverified; /* directives that did not verify */
	enum fota_state state;
	enum fota_result result;
	char reason[FOTA_MAX_REASON_LEN + 1];
	unsigned long directives_ignored;
	/* What the broker holds as the device's retained status: the last one it acknowledged,
	 * or the last will after a connection loss. The summary and --exit-when use this. */
	enum fota_state acked_state;
	enum fota_result acked_result;
	char acked_campaign[FOTA_MAX_NAME_LEN + 1];
	bool resend_status;	      /* reconnected: the will replaced the retained status */
	unsigned long status_retries; /* status publishes that failed and were sent again */
	/* Messages queued under the lock and published after it is released: Paho delivers
	 * every client's acknowledgements and frames on one shared thread, which takes this
	 * lock in on_frame(), so publishing (and waiting for a PUBACK) while holding it stalled
	 * every simulated device at once until keepalives expired. */
	struct outmsg {
		char topic[FOTA_MAX_TOPIC_LEN + 1];
		char *json;
		bool retained; /* a status: kept and sent again until the broker acknowledges it */
		enum fota_state state;
		enum fota_result result;
		char campaign[FOTA_MAX_NAME_LEN + 1];
	} out[8];
	size_t n_out;
};

struct sim {
	const char *broker, *ca, *certs;
	const char *prefix, *group, *fail_file, *vendor, *model, *hw, *method;
	struct fota_trust *trust;
	struct device *devs;
	size_t n;
	unsigned workers;
	long chunk_delay_ms, step_ms;
	uint32_t window;
	volatile sig_atomic_t stop;
	/* Start: connection attempts paced to connect_rate per second, and how many devices
	 * are connected (printed as they come, so that a caller can tell progress from a
	 * stall). */
	long connect_rate, connect_timeout_s;
	pthread_mutex_t pace_lock;
	int64_t next_attempt_ms;
	size_t n_connected;
	unsigned long connect_failures;
};

static struct sim *g_sim; /* for the signal handler only */

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "fota-fleet-sim: %s\n", line);
}

static void on_signal(int sig)
{
	(void)sig;
	if (g_sim)
		g_sim->stop = 1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* --- status ------------------------------------------------------------------------------------
 */

static char *status_json(struct sim *sim, struct device *d)
{
	struct fota_status s;
	char *json = NULL;

	memset(&s, 0, sizeof(s));
	snprintf(s.device, sizeof(s.device), "%s", d->id);
	s.state = d->state;
	s.result = d->result;
	snprintf(s.reason, sizeof(s.reason), "%s", d->reason);
	snprintf(s.campaign, sizeof(s.campaign), "%s", d->campaign);
	if (d->phase != PH_IDLE || d->state != FOTA_STATE_IDLE)
		snprintf(s.image_id, sizeof(s.image_id), "%s", d->image_hex);
	snprintf(s.version, sizeof(s.version), "%s", d->version);
	snprintf(s.model, sizeof(s.model), "%s", sim->model);
	snprintf(s.hw_revision, sizeof(s.hw_revision), "%s", sim->hw);
	s.sequence = d->sequence;
	s.bytes_received = d->bytes;
	s.image_size = d->m.size;
	s.chunks_present = d->n_present;
	s.chunk_count = d->m.chunk_count;
	s.timestamp = fota_time_now();
	s.unverified = d->unverified;
	/* The status also names the device's groups, so the orchestrator's registry learns
	 * them from the device itself. */
	snprintf(s.groups[0], sizeof(s.groups[0]), "%s", sim->group);
	s.n_groups = 1;
	if (fota_status_to_json(&s, &json, NULL))
		return NULL;
	return json;
}

#define OUTBOX_LEN (sizeof(((struct device *)0)->out) / sizeof(((struct device *)0)->out[0]))

/* Caller holds d->lock; takes ownership of json. A full outbox makes room by dropping its
 * oldest status, as the agent's reporter does: the retained status is the last one anyway.
 * False (json freed) when nothing could be dropped. */
static bool queue_out(struct device *d, const char *topic, char *json, bool retained)
{
	struct outmsg *m;

	if (d->n_out == OUTBOX_LEN) {
		size_t i;

		for (i = 0; i < d->n_out && !d->out[i].retained; i++)
			;
		if (i == d->n_out) {
			free(json);
			return false;
		}
		free(d->out[i].json);
		memmove(&d->out[i], &d->out[i + 1], (d->n_out - i - 1) * sizeof(d->out[0]));
		d->n_out--;
	}
	m = &d->out[d->n_out++];
	snprintf(m->topic, sizeof(m->topic), "%s", topic);
	m->json = json;
	m->retained = retained;
	m->state = d->state;
	m->result = d->result;
	snprintf(m->campaign, sizeof(m->campaign), "%s", d->campaign);
	return true;
}

/* Publishes what was queued; called with d->lock released. A status the broker did not
 * acknowledge goes back to the front of the outbox, with everything after it, and is sent
 * again at the device's next step, as the agent's reporter keeps what failed; a repair
 * request is not kept (the device asks again when its retry timer expires). */
static void flush_out(struct device *d)
{
	struct outmsg batch[OUTBOX_LEN];
	size_t n, i, keep = 0;

	pthread_mutex_lock(&d->lock);
	n = d->n_out;
	memcpy(batch, d->out, n * sizeof(batch[0]));
	d->n_out = 0;
	pthread_mutex_unlock(&d->lock);
	for (i = 0; i < n; i++) {
		bool sent =
		    fota_mqtt_publish(d->mqtt, batch[i].topic, batch[i].json, strlen(batch[i].json),
				      1, batch[i].retained, 10000, NULL) == FOTA_OK;

		if (sent && batch[i].retained) {
			pthread_mutex_lock(&d->lock);
			d->acked_state = batch[i].state;
			d->acked_result = batch[i].result;
			snprintf(d->acked_campaign, sizeof(d->acked_campaign), "%s",
				 batch[i].campaign);
			pthread_mutex_unlock(&d->lock);
		}
		if (sent || !batch[i].retained) {
			if (!sent)
				logf_("%s: message on %s not sent", d->id, batch[i].topic);
			free(batch[i].json);
			continue;
		}
		logf_("%s: status on %s not acknowledged; sending it again", d->id, batch[i].topic);
		batch[keep++] = batch[i];
		/* Later statuses wait behind it so that the broker keeps the newest one. */
		for (i++; i < n; i++)
			batch[keep++] = batch[i];
	}
	if (keep == 0)
		return;
	pthread_mutex_lock(&d->lock);
	d->status_retries++;
	/* Whatever was queued meanwhile goes after the kept ones, as far as there is room. */
	for (i = 0; i < d->n_out; i++) {
		if (keep < OUTBOX_LEN)
			batch[keep++] = d->out[i];
		else
			free(d->out[i].json);
	}
	memcpy(d->out, batch, keep * sizeof(batch[0]));
	d->n_out = keep;
	pthread_mutex_unlock(&d->lock);
}

static void report(struct sim *sim, struct device *d, enum fota_state st, enum fota_result r,
		   const char *reason)
{
	struct fota_topic t = {.kind = FOTA_TOPIC_DEVICE_STATUS};
	char topic[FOTA_MAX_TOPIC_LEN + 1];
	char *json;

	d->state = st;
	d->result = r;
	snprintf(d->reason, sizeof(d->reason), "%s", reason ? reason : "");
	snprintf(t.device, sizeof(t.device), "%s", d->id);
	json = status_json(sim, d);
	if (!json || fota_topic_build(sim->prefix, &t, topic, sizeof(topic), NULL) ||
	    !queue_out(d, topic, json, true))
		logf_("%s: status %s not sent", d->id, fota_state_name(st));
	d->last_progress_ms = fota_time_mono_ms();
}

/* --- job ---------------------------------------------------------------------------------------
 */

static void end_job(struct device *d)
{
	fota_chunk_table_clear(&d->table);
	free(d->present);
	d->present = NULL;
	d->have_table = false;
	d->n_present = 0;
	d->bytes = 0; /* bytes_total keeps counting */
	d->bcast_next = 0;
	d->phase = PH_IDLE;
	d->paused = false;
	d->window_hold = false;
}

static void try_table(struct device *d)
{
	if (d->phase != PH_DOWNLOADING || d->have_table || !d->table_raw ||
	    memcmp(d->table_id, d->image_id, FOTA_IMAGE_ID_LEN) != 0)
		return;
	if (fota_chunk_table_from_bytes(d->table_raw, d->table_len, d->m.chunk_count,
					d->m.table_sha256, &d->table, NULL) == FOTA_OK) {
		d->present = calloc(d->m.chunk_count, 1);
		d->have_table = d->present != NULL;
		d->table_ms = fota_time_mono_ms();
	}
}

/* Worker, device lock held. A refused directive, reported for its campaign. */
static void sim_refuse(struct sim *sim, struct device *d, const struct fota_acceptance *acc)
{
	logf_("%s: %s", d->id, acc->reason);
	if (d->phase != PH_IDLE &&
	    (!acc->has_directive || strcmp(d->campaign, acc->directive.campaign_id) != 0))
		return; /* a bad directive for another campaign must not kill a good job */
	end_job(d);
	/* As the agent does: the refusal names the directive's campaign, or none. */
	snprintf(d->campaign, sizeof(d->campaign), "%s",
		 acc->has_directive ? acc->directive.campaign_id : "");
	report(sim, d, FOTA_STATE_FAILED, acc->result, acc->reason);
}

/* Worker, device lock held. The agent's decision (fota_acceptance_judge), applied to a
 * simulated device the way the agent applies it. */
static void handle_directive(struct sim *sim, struct device *d, const uint8_t *jws, size_t len)
{
	struct fota_acceptance acc;
	struct fota_acceptance_device dev;
	const struct fota_directive *dir = &acc.directive;

	memset(&dev, 0, sizeof(dev));
	dev.id = d->id;
	dev.group = sim->group;
	dev.vendor = sim->vendor;
	dev.model = sim->model;
	dev.hw_revision = sim->hw;
	dev.install_method = sim->method;
	dev.current_version = d->version;
	dev.installed_sequence = d->sequence;
	dev.installed_sha256 = d->has_installed ? d->installed_sha256 : NULL;
	dev.seen_seq = d->seen_seq;
	dev.settled = d->settled;
	dev.job_active = d->phase != PH_IDLE;
	dev.job_seq = d->job_seq;
	dev.job_group = sim->group;
	dev.job_sha256 = d->m.sha256;
	dev.now = fota_time_now();
	dev.zone = fota_tz_cache_get;
	dev.zone_ctx = &d->zones;
	fota_acceptance_judge(sim->trust, jws, len, &dev, &acc);
	if (acc.record) {
		d->seen_seq = dir->directive_seq;
		d->settled = acc.settle;
		if (acc.verdict != FOTA_VERDICT_DEFER) {
			free(d->deferred);
			d->deferred = NULL;
		}
	}
	switch (acc.verdict) {
	case FOTA_VERDICT_IGNORE:
	case FOTA_VERDICT_INSTALLED:
	case FOTA_VERDICT__COUNT:
		break;
	case FOTA_VERDICT_NOT_ADMITTED:
		d->directives_ignored++;
		break;
	case FOTA_VERDICT_UNVERIFIED:
		logf_("%s: %s", d->id, acc.reason);
		d->unverified++;
		break;
	case FOTA_VERDICT_REFUSE:
		sim_refuse(sim, d, &acc);
		break;
	case FOTA_VERDICT_ABORT:
		if (d->phase != PH_IDLE && strcmp(d->campaign, dir->campaign_id) == 0) {
			end_job(d);
			report(sim, d, FOTA_STATE_IDLE, FOTA_RESULT_ABORTED,
			       "campaign aborted: staged data dropped");
		}
		break;
	case FOTA_VERDICT_HOLD:
		if (d->phase != PH_IDLE) {
			d->paused = true;
			d->job_seq = dir->directive_seq;
		}
		break;
	case FOTA_VERDICT_DEFER:
		if (d->deferred != jws) {
			free(d->deferred);
			d->deferred = malloc(len);
			if (d->deferred)
				memcpy(d->deferred, jws, len);
			d->deferred_len = len;
		}
		d->deferred_at = acc.retry_at;
		if (d->phase != PH_IDLE) {
			d->paused = true;
			d->window_hold = true;
		} else {
			snprintf(d->campaign, sizeof(d->campaign), "%s", dir->campaign_id);
		}
		if (d->state != FOTA_STATE_DEFERRED || strcmp(d->reason, acc.reason) != 0)
			report(sim, d, FOTA_STATE_DEFERRED, FOTA_RESULT_NONE, acc.reason);
		break;
	case FOTA_VERDICT_CONTINUE:
		d->paused = false;
		d->job_seq = dir->directive_seq;
		snprintf(d->campaign, sizeof(d->campaign), "%s", dir->campaign_id);
		if (d->window_hold) {
			d->window_hold = false;
			report(sim, d, FOTA_STATE_DOWNLOADING, FOTA_RESULT_NONE, "");
		}
		break;
	case FOTA_VERDICT_START:
		end_job(d);
		d->m = acc.manifest;
		memcpy(d->image_id, d->m.sha256, FOTA_IMAGE_ID_LEN);
		fota_hex_encode(d->image_id, FOTA_IMAGE_ID_LEN, d->image_hex);
		snprintf(d->campaign, sizeof(d->campaign), "%s", dir->campaign_id);
		d->job_seq = dir->directive_seq;
		d->phase = PH_DOWNLOADING;
		d->last_req_ms = 0;
		d->retries = 0;
		d->last_bcast_ms = 0;
		d->bcast_next = 0;
		d->last_new_ms = fota_time_mono_ms();
		repair_gap_init(&d->gap, SIM_GAP_MS);
		try_table(d);
		report(sim, d, FOTA_STATE_DOWNLOADING, FOTA_RESULT_NONE, "");
		break;
	}
	fota_acceptance_clear(&acc);
}

static bool listed_in_file(const char *path, const char *id)
{
	char line[128];
	bool found = false;
	FILE *f;

	if (!path || !(f = fopen(path, "r")))
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, " \t\r\n")] = '\0';
		found = strcmp(line, id) == 0;
	}
	fclose(f);
	return found;
}

/* Asks for the table, or for missing chunks below limit; false when there are none. */
static bool request_missing(struct sim *sim, struct device *d, int64_t now, uint32_t limit)
{
	struct fota_request r;
	struct fota_topic t = {.kind = FOTA_TOPIC_DEVICE_REQUEST};
	char topic[FOTA_MAX_TOPIC_LEN + 1];
	char *json = NULL;
	uint32_t i, asked = 0;

	memset(&r, 0, sizeof(r));
	memcpy(r.image_id, d->image_id, FOTA_IMAGE_ID_LEN);
	r.want_table = !d->have_table;
	for (i = 0; d->have_table && i < d->m.chunk_count && i < limit && asked < sim->window;
	     i++) {
		if (d->present[i])
			continue;
		if (r.n_ranges &&
		    r.ranges[r.n_ranges - 1].first + r.ranges[r.n_ranges - 1].count == i)
			r.ranges[r.n_ranges - 1].count++;
		else if (r.n_ranges < FOTA_MAX_REQUEST_RANGES)
			r.ranges[r.n_ranges++] = (struct fota_range){i, 1};
		else
			break;
		asked++;
	}
	d->last_req_ms = now;
	if (d->have_table && asked == 0)
		return false;
	snprintf(t.device, sizeof(t.device), "%s", d->id);
	if (fota_request_to_json(&r, &json, NULL) == FOTA_OK &&
	    fota_topic_build(sim->prefix, &t, topic, sizeof(topic), NULL) == FOTA_OK)
		queue_out(d, topic, json, false);
	else
		free(json);
	d->req_present = d->n_present;
	d->req_asked = asked;
	d->retries++;
	repair_gap_break(&d->gap); /* the answer's first interval is the round trip */
	return true;
}

/* Worker: one step of one device. */
static void step(struct sim *sim, struct device *d)
{
	uint8_t *pending;
	size_t plen;
	int64_t now = fota_time_mono_ms();

	pthread_mutex_lock(&d->lock);
	if (d->resend_status) {
		/* Reconnected: the broker published the last will over the retained status. */
		char reason[FOTA_MAX_REASON_LEN + 1];

		d->resend_status = false;
		snprintf(reason, sizeof(reason), "%s", d->reason);
		report(sim, d, d->state, d->result, reason);
	}
	if (d->deferred && fota_time_now() >= d->deferred_at) {
		/* The window opened: judge the kept directive again. */
		pending = d->deferred;
		plen = d->deferred_len;
		d->deferred = NULL;
		handle_directive(sim, d, pending, plen);
		free(pending);
	}
	try_table(d);
	if (d->phase == PH_DOWNLOADING && !d->paused) {
		if (d->have_table && d->n_present == d->m.chunk_count) {
			report(sim, d, FOTA_STATE_DOWNLOADED, FOTA_RESULT_NONE, "");
			d->phase = PH_INSTALLING;
			d->install_step = 0;
			d->step_ms = now;
		} else {
			/* The agent's rules (repair_gap.h): wait for the broadcast's start; while
			 * it is under way, the chunks above the highest one it brought are on
			 * their way, and nothing is asked while chunks still come. */
			int64_t gap = repair_gap_ms(&d->gap);
			uint32_t limit =
			    repair_gap_limit(&d->gap, d->bcast_next, d->last_bcast_ms, now);

			if (d->have_table &&
			    (repair_gap_await_broadcast(&d->gap, d->bcast_next, d->table_ms, now) ||
			     now - d->last_new_ms < gap)) {
				/* retry timer starts when the chunks stop */
			} else if (d->last_req_ms == 0 ||
				   now - d->last_req_ms >=
				       repair_gap_backoff_ms((uint32_t)gap, d->retries) ||
				   (d->have_table &&
				    d->n_present - d->req_present >= d->req_asked &&
				    now - d->last_req_ms >= sim->chunk_delay_ms)) {
				request_missing(sim, d, now, limit);
			}
		}
		if (d->phase == PH_DOWNLOADING && now - d->last_progress_ms >= SIM_PROGRESS_MS)
			report(sim, d, FOTA_STATE_DOWNLOADING, FOTA_RESULT_NONE, "");
	} else if (d->phase == PH_INSTALLING && !d->paused && now - d->step_ms >= sim->step_ms) {
		d->step_ms = now;
		switch (d->install_step++) {
		case 0:
			report(sim, d, FOTA_STATE_INSTALLING, FOTA_RESULT_NONE, "");
			break;
		case 1:
			report(sim, d, FOTA_STATE_TESTING, FOTA_RESULT_NONE, "");
			break;
		default:
			if (listed_in_file(sim->fail_file, d->id)) {
				end_job(d);
				d->settled = true;
				report(sim, d, FOTA_STATE_FAILED, FOTA_RESULT_HEALTH_CHECK_FAILED,
				       "health check failed: simulated failure");
			} else {
				snprintf(d->version, sizeof(d->version), "%s", d->m.version);
				d->sequence = d->m.sequence;
				memcpy(d->installed_sha256, d->m.sha256, FOTA_SHA256_LEN);
				d->has_installed = true;
				d->settled = true;
				end_job(d);
				report(sim, d, FOTA_STATE_CONFIRMED, FOTA_RESULT_SUCCESS, "");
			}
			break;
		}
	}
	pthread_mutex_unlock(&d->lock);
	flush_out(d);
}

/* --- MQTT thread --------------------------------------------------------------------------------
 */

static void on_frame(struct device *d, const uint8_t *p, size_t len, bool broadcast)
{
	struct fota_frame f;

	if (fota_frame_decode(p, len, &f, NULL))
		return;
	pthread_mutex_lock(&d->lock);
	if (f.type == FOTA_FRAME_TABLE) {
		uint8_t *copy = malloc(f.payload_len ? f.payload_len : 1);

		if (copy) {
			memcpy(copy, f.payload, f.payload_len);
			free(d->table_raw);
			d->table_raw = copy;
			d->table_len = f.payload_len;
			memcpy(d->table_id, f.image_id, FOTA_IMAGE_ID_LEN);
		}
		/* Opened at once, as the agent does: the chunks right behind it then count
		 * instead of waiting for a worker's next step. */
		try_table(d);
	} else if (d->phase == PH_DOWNLOADING && d->have_table &&
		   memcmp(f.image_id, d->image_id, FOTA_IMAGE_ID_LEN) == 0 &&
		   f.index < d->m.chunk_count) {
		int64_t now = fota_time_mono_ms();

		if (broadcast) {
			d->last_bcast_ms = now;
			/* A slow link (--window chunks per --chunk-delay-ms) loses what a
			 * broadcast sends beyond its capacity; the device repairs it. */
			if (g_sim->chunk_delay_ms > 0) {
				if (now - d->link_start_ms >= g_sim->chunk_delay_ms) {
					d->link_start_ms = now;
					d->link_taken = 0;
				}
				if (d->link_taken >= g_sim->window)
					goto out;
				d->link_taken++;
			}
		}
		d->bytes += f.payload_len;
		d->bytes_total += f.payload_len;
		/* Checked against the signed table before it counts, as the agent does; only a
		 * verified frame says anything about the link. */
		if (!fota_chunk_table_check(&d->table, f.index, f.payload, f.payload_len))
			goto out;
		repair_gap_frame(&d->gap, now);
		if (broadcast && f.index >= d->bcast_next)
			d->bcast_next = f.index + 1;
		if (!d->present[f.index]) {
			d->present[f.index] = 1;
			d->n_present++;
			d->last_new_ms = now;
			d->retries = 0;
		}
	}
out:
	pthread_mutex_unlock(&d->lock);
}

static void on_connected(void *ctx, bool reconnected)
{
	struct device *d = ctx;

	if (!reconnected)
		return;
	pthread_mutex_lock(&d->lock);
	d->acked_state = FOTA_STATE_OFFLINE;
	d->acked_result = FOTA_RESULT_NONE;
	d->resend_status = true;
	pthread_mutex_unlock(&d->lock);
}

static void on_message(void *ctx, const char *topic, const uint8_t *payload, size_t len)
{
	struct device *d = ctx;
	struct fota_topic t;

	if (fota_topic_parse(g_sim->prefix, topic, &t, NULL))
		return;
	if (t.kind == FOTA_TOPIC_GROUP_DIRECTIVE) {
		/* Judged on arrival, as the agent does: the broadcast frames behind it on this
		 * connection then find the job (and the table kept from before) and count. A
		 * worker judging it later would drop every frame that came first. Nothing here
		 * waits: report() only queues, a worker publishes. Oversize ones too (the broker
		 * bounds them): the judge refuses them unread. */
		pthread_mutex_lock(&d->lock);
		handle_directive(g_sim, d, payload, len);
		pthread_mutex_unlock(&d->lock);
	} else if (t.kind == FOTA_TOPIC_GROUP_TABLE || t.kind == FOTA_TOPIC_GROUP_CHUNKS ||
		   t.kind == FOTA_TOPIC_DEVICE_CHUNKS) {
		on_frame(d, payload, len, t.kind == FOTA_TOPIC_GROUP_CHUNKS);
	}
}

/* Connects, subscribes and sends the birth message of one device. */
static bool connect_one(struct sim *sim, struct device *d)
{
	struct fota_error err = {0};
	struct fota_mqtt_config mc;
	struct fota_mqtt_callbacks cb = {
	    .on_message = on_message, .on_connected = on_connected, .ctx = d};
	char crt[4096], key[4096], will_topic[FOTA_MAX_TOPIC_LEN + 1],
	    filter[FOTA_MAX_TOPIC_LEN + 1];
	struct fota_topic t = {.kind = FOTA_TOPIC_DEVICE_STATUS};
	struct fota_status ws;
	char *wj = NULL;

	snprintf(crt, sizeof(crt), "%s/%s.crt", sim->certs, d->id);
	snprintf(key, sizeof(key), "%s/%s.key", sim->certs, d->id);
	snprintf(t.device, sizeof(t.device), "%s", d->id);
	fota_topic_build(sim->prefix, &t, will_topic, sizeof(will_topic), NULL);
	memset(&mc, 0, sizeof(mc));
	mc.uri = sim->broker;
	mc.client_id = d->id;
	mc.ca_file = sim->ca;
	mc.cert_file = crt;
	mc.key_file = key;
	mc.keepalive_s = 60;
	mc.connect_timeout_s = (int)sim->connect_timeout_s;
	mc.max_inflight = 8;
	mc.reconnect_min_ms = 500;
	mc.reconnect_max_ms = 5000;
	memset(&ws, 0, sizeof(ws));
	snprintf(ws.device, sizeof(ws.device), "%s", d->id);
	ws.state = FOTA_STATE_OFFLINE;
	snprintf(ws.version, sizeof(ws.version), "%s", d->version);
	ws.timestamp = fota_time_now();
	if (fota_status_to_json(&ws, &wj, &err) == FOTA_OK)
		snprintf(d->will, sizeof(d->will), "%s", wj);
	free(wj);
	mc.will_topic = will_topic;
	mc.will_payload = d->will;
	mc.will_len = strlen(d->will);
	mc.will_retained = true;
	/* Thousands of connections in one process: a descriptor scan per connect would cost
	 * more than the latency it saves (tcp_nodelay.h). */
	mc.keep_nagle = true;
	/* The wait covers Paho's own connect timeout and a margin: the attempt is settled by
	 * Paho (success or failure) before the handle is freed and a new one made. */
	if (fota_mqtt_new(&mc, &cb, &d->mqtt, &err) ||
	    fota_mqtt_connect(d->mqtt, (int)sim->connect_timeout_s * 1000 + 5000, &err) ||
	    fota_topic_group_filter(sim->prefix, sim->group, filter, sizeof(filter), &err) ||
	    fota_mqtt_subscribe(d->mqtt, filter, 1, &err)) {
		logf_("%s: %s", d->id, err.msg);
		goto fail;
	}
	t.kind = FOTA_TOPIC_DEVICE_CHUNKS;
	if (fota_topic_build(sim->prefix, &t, filter, sizeof(filter), &err) ||
	    fota_mqtt_subscribe(d->mqtt, filter, 1, &err)) {
		logf_("%s: %s", d->id, err.msg);
		goto fail;
	}
	/* Birth message: who it is, what it runs, its groups. */
	pthread_mutex_lock(&d->lock);
	report(sim, d, FOTA_STATE_IDLE, FOTA_RESULT_NONE, "");
	pthread_mutex_unlock(&d->lock);
	flush_out(d);
	return true;
fail:
	/* A fresh client for the next attempt: never a second connect on a handle whose
	 * attempt Paho may still be working on (see fota_mqtt_connect in mqtt.c). */
	fota_mqtt_free(d->mqtt);
	d->mqtt = NULL;
	return false;
}

struct connector {
	struct sim *sim;
	unsigned index, stride;
	size_t connected;
};

/* Waits for the next attempt's turn: at most connect_rate attempts start per second. */
static void pace_attempt(struct sim *sim)
{
	int64_t now, at;

	pthread_mutex_lock(&sim->pace_lock);
	now = fota_time_mono_ms();
	at = sim->next_attempt_ms > now ? sim->next_attempt_ms : now;
	sim->next_attempt_ms = at + 1000 / sim->connect_rate;
	pthread_mutex_unlock(&sim->pace_lock);
	while (!sim->stop && fota_time_mono_ms() < at)
		sleep_ms(at - fota_time_mono_ms() < 50 ? at - fota_time_mono_ms() : 50);
}

/* Paho handles each client's handshake on its own schedule; connecting several devices at
 * once overlaps those waits instead of paying them one after another. A connect that fails
 * (a loaded broker answers late, refuses for a moment) is tried again with a doubling,
 * jittered backoff until it succeeds or the simulator stops: one slow handshake must not end
 * the run. */
static void *connector(void *p)
{
	struct connector *c = p;
	struct sim *sim = c->sim;
	size_t i;

	for (i = c->index; i < sim->n && !sim->stop; i += c->stride) {
		long backoff = SIM_CONNECT_RETRY_MS;

		if (sim->devs[i].offline)
			continue;
		for (;;) {
			pace_attempt(sim);
			if (sim->stop)
				break;
			if (connect_one(sim, &sim->devs[i])) {
				c->connected++;
				__atomic_add_fetch(&sim->n_connected, 1, __ATOMIC_RELAXED);
				break;
			}
			__atomic_add_fetch(&sim->connect_failures, 1, __ATOMIC_RELAXED);
			sleep_ms(backoff / 2 + rand() % (backoff / 2 + 1));
			backoff = backoff * 2 > SIM_CONNECT_RETRY_MAX_MS ? SIM_CONNECT_RETRY_MAX_MS
									 : backoff * 2;
		}
	}
	return NULL;
}

/* --- main --------------------------------------------------------------------------------------
 */

struct worker_arg {
	struct sim *sim;
	unsigned index;
};

static void *worker(void *p)
{
	struct worker_arg *a = p;
	struct sim *sim = a->sim;
	size_t i;

	while (!sim->stop) {
		for (i = a->index; i < sim->n; i += sim->workers)
			if (!sim->devs[i].offline)
				step(sim, &sim->devs[i]);
		sleep_ms(10);
	}
	return NULL;
}

static bool all_in(struct sim *sim, enum fota_state st)
{
	size_t i;
	bool ok = true;

	for (i = 0; ok && i < sim->n; i++) {
		struct device *d = &sim->devs[i];

		if (d->offline)
			continue;
		pthread_mutex_lock(&d->lock);
		ok = d->acked_state == st && d->phase == PH_IDLE && d->n_out == 0;
		pthread_mutex_unlock(&d->lock);
	}
	return ok;
}

static void write_summary(struct sim *sim, const char *path, double secs)
{
	cJSON *o = cJSON_CreateObject(), *devs = cJSON_CreateObject(),
	      *counts = cJSON_CreateObject();
	unsigned long by[FOTA_STATE__COUNT] = {0};
	char *text;
	size_t i;
	FILE *f;

	for (i = 0; i < sim->n; i++) {
		struct device *d = &sim->devs[i];
		cJSON *x = cJSON_CreateObject();

		pthread_mutex_lock(&d->lock);
		/* What the broker acknowledged holding, not what the device meant to send. */
		cJSON_AddStringToObject(x, "state",
					d->offline ? "offline" : fota_state_name(d->acked_state));
		cJSON_AddStringToObject(x, "result", fota_result_name(d->acked_result));
		cJSON_AddStringToObject(x, "campaign", d->acked_campaign);
		cJSON_AddNumberToObject(x, "statuses_unsent", (double)d->n_out);
		cJSON_AddNumberToObject(x, "status_retries", (double)d->status_retries);
		cJSON_AddStringToObject(x, "version", d->version);
		cJSON_AddNumberToObject(x, "directives_not_admitted",
					(double)d->directives_ignored);
		cJSON_AddNumberToObject(x, "directives_unverified", (double)d->unverified);
		cJSON_AddNumberToObject(x, "bytes_received", (double)d->bytes_total);
		if (!d->offline)
			by[d->acked_state]++;
		pthread_mutex_unlock(&d->lock);
		cJSON_AddItemToObject(devs, d->id, x);
	}
	for (i = 0; i < FOTA_STATE__COUNT; i++)
		if (by[i])
			cJSON_AddNumberToObject(counts, fota_state_name((enum fota_state)i),
						(double)by[i]);
	cJSON_AddNumberToObject(o, "seconds", secs);
	cJSON_AddItemToObject(o, "counts", counts);
	cJSON_AddItemToObject(o, "devices", devs);
	text = cJSON_Print(o);
	f = path ? fopen(path, "w") : NULL;
	if (f && text) {
		fputs(text, f);
		fputc('\n', f);
	}
	if (f)
		fclose(f);
	free(text);
	cJSON_Delete(o);
}

static bool in_list(const char *list, const char *id)
{
	size_t n = strlen(id);
	const char *p = list;

	while (p && (p = strstr(p, id))) {
		bool start = p == list || p[-1] == ' ' || p[-1] == ',';
		bool end = p[n] == '\0' || p[n] == ' ' || p[n] == ',';

		if (start && end)
			return true;
		p += n;
	}
	return false;
}

/* Each connected device holds a TLS socket. The soft open-files limit (often 1,024) is raised
 * to the hard one, which is as far as an unprivileged process may go; it says so, and warns
 * when even that is too low for n devices. */
static void raise_open_files(size_t n)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)n + SIM_SPARE_FILES;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			logf_("open files: soft limit raised from %llu to the hard limit %llu",
			      (unsigned long long)was, (unsigned long long)rl.rlim_cur);
		else
			rl.rlim_cur = was;
	}
	if (rl.rlim_cur < want)
		logf_("open files: %zu devices need about %llu, the limit is %llu (hard %llu); "
		      "raise the hard limit (ulimit -Hn as root, LimitNOFILE=) or connections will "
		      "fail",
		      n, (unsigned long long)want, (unsigned long long)rl.rlim_cur,
		      (unsigned long long)rl.rlim_max);
}

int main(int argc, char **argv)
{
	enum {
		O_BROKER = 1,
		O_CA,
		O_CERTS,
		O_TRUST,
		O_GROUP,
		O_DEVICES,
		O_COUNT,
		O_ID_PREFIX,
		O_FAIL,
		O_OFFLINE,
		O_DELAY,
		O_STEP,
		O_MODEL,
		O_HW,
		O_VENDOR,
		O_VERSION,
		O_SUMMARY,
		O_EXIT_WHEN,
		O_TIMEOUT,
		O_WORKERS,
		O_PREFIX,
		O_WINDOW,
		O_METHOD,
		O_CONNECT_RATE,
		O_CONNECT_TIMEOUT,
		O_HELP,
	};
	static const struct option longopts[] = {
	    {"broker", required_argument, NULL, O_BROKER},
	    {"ca", required_argument, NULL, O_CA},
	    {"certs", required_argument, NULL, O_CERTS},
	    {"trust", required_argument, NULL, O_TRUST},
	    {"group", required_argument, NULL, O_GROUP},
	    {"devices", required_argument, NULL, O_DEVICES},
	    {"count", required_argument, NULL, O_COUNT},
	    {"id-prefix", required_argument, NULL, O_ID_PREFIX},
	    {"fail-health-file", required_argument, NULL, O_FAIL},
	    {"offline", required_argument, NULL, O_OFFLINE},
	    {"chunk-delay-ms", required_argument, NULL, O_DELAY},
	    {"step-ms", required_argument, NULL, O_STEP},
	    {"model", required_argument, NULL, O_MODEL},
	    {"hw", required_argument, NULL, O_HW},
	    {"vendor", required_argument, NULL, O_VENDOR},
	    {"version", required_argument, NULL, O_VERSION},
	    {"summary", required_argument, NULL, O_SUMMARY},
	    {"exit-when", required_argument, NULL, O_EXIT_WHEN},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"workers", required_argument, NULL, O_WORKERS},
	    {"prefix", required_argument, NULL, O_PREFIX},
	    {"window", required_argument, NULL, O_WINDOW},
	    {"method", required_argument, NULL, O_METHOD},
	    {"connect-rate", required_argument, NULL, O_CONNECT_RATE},
	    {"connect-timeout", required_argument, NULL, O_CONNECT_TIMEOUT},
	    {"help", no_argument, NULL, O_HELP},
	    {NULL, 0, NULL, 0},
	};
	struct sim sim = {.prefix = FOTA_DEFAULT_PREFIX,
			  .vendor = "acme",
			  .model = "gw-100",
			  .hw = "B",
			  .method = "file",
			  .workers = 4,
			  .step_ms = 100,
			  .window = SIM_WINDOW,
			  .connect_rate = SIM_CONNECT_RATE,
			  .connect_timeout_s = SIM_CONNECT_TIMEOUT_S};
	struct fota_error err = {0};
	const char *broker = NULL, *ca = NULL, *certs = NULL, *trust = NULL, *devices = NULL;
	const char *id_prefix = "sim-", *offline = "", *version = "1.0.0", *summary = NULL;
	enum fota_state exit_when = FOTA_STATE__COUNT;
	long count = 0, timeout_s = 0;
	size_t n_offline = 0;
	pthread_t th[SIM_MAX_WORKERS];
	struct worker_arg wa[SIM_MAX_WORKERS];
	struct sigaction sa;
	int64_t t0;
	size_t i, connected = 0;
	int opt, ret = 1;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case O_BROKER:
			broker = optarg;
			break;
		case O_CA:
			ca = optarg;
			break;
		case O_CERTS:
			certs = optarg;
			break;
		case O_TRUST:
			trust = optarg;
			break;
		case O_GROUP:
			sim.group = optarg;
			break;
		case O_DEVICES:
			devices = optarg;
			break;
		case O_COUNT:
			count = strtol(optarg, NULL, 10);
			break;
		case O_ID_PREFIX:
			id_prefix = optarg;
			break;
		case O_FAIL:
			sim.fail_file = optarg;
			break;
		case O_OFFLINE:
			offline = optarg;
			break;
		case O_DELAY:
			sim.chunk_delay_ms = strtol(optarg, NULL, 10);
			break;
		case O_STEP:
			sim.step_ms = strtol(optarg, NULL, 10);
			break;
		case O_MODEL:
			sim.model = optarg;
			break;
		case O_HW:
			sim.hw = optarg;
			break;
		case O_VENDOR:
			sim.vendor = optarg;
			break;
		case O_VERSION:
			version = optarg;
			break;
		case O_SUMMARY:
			summary = optarg;
			break;
		case O_EXIT_WHEN:
			if (fota_state_parse(optarg, &exit_when, &err)) {
				logf_("--exit-when: %s", err.msg);
				return 2;
			}
			break;
		case O_TIMEOUT:
			timeout_s = strtol(optarg, NULL, 10);
			break;
		case O_WORKERS:
			sim.workers = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case O_PREFIX:
			sim.prefix = optarg;
			break;
		case O_WINDOW:
			sim.window = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case O_METHOD:
			sim.method = optarg;
			break;
		case O_CONNECT_RATE:
			sim.connect_rate = strtol(optarg, NULL, 10);
			break;
		case O_CONNECT_TIMEOUT:
			sim.connect_timeout_s = strtol(optarg, NULL, 10);
			break;
		case O_HELP:
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!broker || !certs || !trust || !sim.group || (!devices && count <= 0) ||
	    sim.workers == 0 || sim.workers > SIM_MAX_WORKERS || sim.window == 0 ||
	    sim.window > FOTA_MAX_REQUEST_CHUNKS || sim.connect_rate <= 0 ||
	    sim.connect_rate > 1000 || sim.connect_timeout_s <= 0) {
		fputs(usage, stderr);
		return 2;
	}
	sim.broker = broker;
	sim.ca = ca;
	sim.certs = certs;
	sim.trust = fota_trust_new();
	if (!sim.trust || fota_trust_load(sim.trust, trust, &err)) {
		logf_("trust store %s: %s", trust, err.msg);
		return 2;
	}
	/* Devices from the list or numbered. */
	if (devices) {
		const char *p = devices;

		while (*p) {
			size_t len = strcspn(p, " ,");

			if (len)
				count++;
			p += len;
			p += strspn(p, " ,");
		}
	}
	sim.n = (size_t)count;
	/* "--offline N": a count rather than a list of ids. */
	if (offline[0] && offline[strspn(offline, "0123456789")] == '\0') {
		n_offline = strtoul(offline, NULL, 10);
		if (n_offline > sim.n) {
			logf_("--offline %s: more than the %zu devices", offline, sim.n);
			return 2;
		}
	}
	sim.devs = calloc(sim.n, sizeof(*sim.devs));
	if (!sim.devs)
		return 1;
	{
		const char *p = devices;

		for (i = 0; i < sim.n; i++) {
			struct device *d = &sim.devs[i];

			if (devices) {
				size_t len;

				p += strspn(p, " ,");
				len = strcspn(p, " ,");
				snprintf(d->id, sizeof(d->id), "%.*s", (int)len, p);
				p += len;
			} else {
				snprintf(d->id, sizeof(d->id), "%s%zu", id_prefix, i + 1);
			}
			pthread_mutex_init(&d->lock, NULL);
			snprintf(d->version, sizeof(d->version), "%s", version);
			d->offline = n_offline ? i >= sim.n - n_offline : in_list(offline, d->id);
		}
	}
	raise_open_files(sim.n);
	g_sim = &sim;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	t0 = fota_time_mono_ms();
	pthread_mutex_init(&sim.pace_lock, NULL);
	{
		struct connector cs[SIM_CONNECTORS];
		pthread_t ct[SIM_CONNECTORS];
		size_t online = 0, shown = 0;
		unsigned k;

		for (i = 0; i < sim.n; i++)
			online += !sim.devs[i].offline;
		for (k = 0; k < SIM_CONNECTORS; k++) {
			cs[k] =
			    (struct connector){.sim = &sim, .index = k, .stride = SIM_CONNECTORS};
			pthread_create(&ct[k], NULL, connector, &cs[k]);
		}
		/* Progress once a second, for a caller that waits as long as devices keep
		 * connecting rather than for a fixed time. */
		while (!sim.stop) {
			size_t now_connected = __atomic_load_n(&sim.n_connected, __ATOMIC_RELAXED);

			if (now_connected != shown) {
				shown = now_connected;
				printf("connected %zu of %zu\n", shown, online);
				fflush(stdout);
			}
			if (now_connected == online)
				break;
			sleep_ms(1000);
		}
		for (k = 0; k < SIM_CONNECTORS; k++) {
			pthread_join(ct[k], NULL);
			connected += cs[k].connected;
		}
		if (sim.stop)
			goto out;
	}
	logf_("%zu devices connected in %.1f s (%zu offline, %lu attempts failed and retried)",
	      connected, (double)(fota_time_mono_ms() - t0) / 1000.0, sim.n - connected,
	      sim.connect_failures);
	printf("ready %zu\n", connected);
	fflush(stdout);
	for (i = 0; i < sim.workers; i++) {
		wa[i].sim = &sim;
		wa[i].index = (unsigned)i;
		pthread_create(&th[i], NULL, worker, &wa[i]);
	}
	ret = 0;
	while (!sim.stop) {
		sleep_ms(100);
		if (exit_when != FOTA_STATE__COUNT && all_in(&sim, exit_when))
			break;
		if (timeout_s > 0 && fota_time_mono_ms() - t0 > timeout_s * 1000) {
			logf_("timed out after %ld s", timeout_s);
			ret = 3;
			break;
		}
	}
	sim.stop = 1;
	for (i = 0; i < sim.workers; i++)
		pthread_join(th[i], NULL);
out:
	write_summary(&sim, summary, (double)(fota_time_mono_ms() - t0) / 1000.0);
	for (i = 0; i < sim.n; i++) {
		fota_mqtt_free(sim.devs[i].mqtt);
		pthread_mutex_destroy(&sim.devs[i].lock);
		free(sim.devs[i].deferred);
		free(sim.devs[i].table_raw);
		fota_tz_cache_clear(&sim.devs[i].zones);
		end_job(&sim.devs[i]);
	}
	free(sim.devs);
	fota_trust_free(sim.trust);
	return ret;
}
