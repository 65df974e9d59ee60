/* SPDX-License-Identifier: Apache-2.0 */
/* The running daemon: one object that opens the MQTT session, pacer, repair server, fleet
 * view, broadcaster and campaign engine in order, runs the campaign ticks and closes it all. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/atomic_file.h"
#include "fota/signer.h"
#include "fota/state_lock.h"
#include "fota/status.h"
#include "fota/timeutil.h"

#include "assigner.h"
#include "broadcast_store.h"
#include "broadcaster.h"
#include "broker.h"
#include "config_diff.h"
#include "daemon.h"
#include "endpoints.h"
#include "http.h"
#include "known_devices.h"
#include "log.h"
#include "log_budget.h"
#include "pacer.h"
#include "stop.h"

/* How often the campaigns are advanced; statuses are written to the store in between. */
#define CAMPAIGN_TICK_MS 250
#define INGEST_POLL_MS 50
/* Retained statuses arrive right after the subscription; this covers thousands of them. */
#define RETAINED_SYNC_MS 2000
/* Repairs are bursts of at most FOTA_MAX_REQUEST_CHUNKS frames; the bucket holds a window's
 * worth so one device cannot monopolise the link. */
#define REPAIR_FRAME_BYTES (64u * 1024u + 32u)
/* How often `serve` looks for group assignments to renew (and once at start). */
#define ASSIGNMENT_RENEW_CHECK_MS (3600 * 1000)

struct orch_daemon {
	struct orch_config cfg; /* a copy: repair and engine keep pointers into it */
	struct orch_daemon_opts opts;
	struct orch_routes routes;
	struct orch_publisher pub;
	struct fota_mqtt *mqtt;
	struct orch_pacer *pacer;
	struct orch_repair *repair;
	struct orch_broadcaster *bcast;
	struct orch_fleet *fleet;
	struct orch_store *store;
	struct orch_engine *engine;
	struct orch_assigner *assigner; /* with campaigns */
	struct fota_signer *signer;
	struct orch_endpoints *endpoints; /* NULL: no [http] listen */
	int lock_fd;
	int64_t started_ms;
	/* Written by orch_daemon_start after what the phase makes readable is set up; the HTTP
	 * thread reads the session, engine and repair server only once it is RUNNING. */
	_Atomic enum orch_daemon_phase phase;
	_Atomic bool stop;
};

const char *orch_daemon_step_name(enum orch_daemon_step step, const char *cmd)
{
	switch (step) {
	case ORCH_DAEMON_STEP_KEY:
		return "load orchestrator key";
	case ORCH_DAEMON_STEP_CONFIG:
		return "configuration";
	case ORCH_DAEMON_STEP_CONNECT:
		return "connect to broker";
	case ORCH_DAEMON_STEP_SUBSCRIBE:
		return "subscribe";
	case ORCH_DAEMON_STEP_HTTP:
		return "http";
	default:
		return cmd;
	}
}

static void on_raw_status(void *ctx, const char *device, const uint8_t *payload, size_t len)
{
	orch_engine_submit_status(ctx, device, payload, len);
}

/* Status-change lines per second: a fleet in step changes state by the thousand a second, and
 * a line each would cost ingestion a write per status (the audit trail keeps every change). */
#define STATUS_LINES_PER_S 50

/* MQTT thread: one line per change of state or result (not every progress report), at most
 * STATUS_LINES_PER_S a second; the first line after a busier second says how many were not
 * written. */
static void log_status(void *ctx, const struct fota_status *prev, const struct fota_status *cur)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct orch_log_budget budget = {.per_s = STATUS_LINES_PER_S,
						.second_start_ms = INT64_MIN};
	unsigned long held;
	bool write;

	(void)ctx;
	if (prev && prev->state == cur->state && prev->result == cur->result &&
	    strcmp(prev->campaign, cur->campaign) == 0)
		return;
	pthread_mutex_lock(&lock);
	write = orch_log_budget_take(&budget, fota_time_mono_ms(), &held);
	pthread_mutex_unlock(&lock);
	if (!write)
		return;
	if (held)
		orch_log("%lu status changes not logged one by one (more than %d a second; the "
			 "audit trail has each)",
			 held, STATUS_LINES_PER_S);
	orch_log("%s: %s%s%s%s%s (campaign %s, image %s, version %s)", cur->device,
		 prev ? fota_state_name(prev->state) : "", prev ? " -> " : "",
		 fota_state_name(cur->state),
		 cur->result != FOTA_RESULT_NONE && cur->result != FOTA_RESULT_SUCCESS ? ": " : "",
		 cur->result != FOTA_RESULT_NONE && cur->result != FOTA_RESULT_SUCCESS
		     ? (cur->reason[0] ? cur->reason : fota_result_name(cur->result))
		     : "",
		 cur->campaign[0] ? cur->campaign : "-", cur->image_id[0] ? cur->image_id : "-",
		 cur->version[0] ? cur->version : "-");
}

/* Mosquitto does not send retained messages to shared subscriptions, so after a restart the
 * statuses devices sent while no orchestrator ran would never arrive: read them once through
 * a short private session. Replays are harmless, the store drops unchanged states. */
static void sync_retained(const struct orch_config *cfg, struct orch_engine *engine)
{
	struct orch_config c = *cfg;
	struct orch_routes r;
	struct fota_error err = {0};
	struct fota_mqtt *m = NULL;

	snprintf(c.client_id, sizeof(c.client_id), "%.*s-sync", FOTA_MAX_SEGMENT_LEN - 5,
		 cfg->client_id);
	orch_routes_init(&r, c.prefix);
	r.quiet = true;
	orch_routes_set_status_hook(&r, on_raw_status, engine);
	if (orch_broker_connect(&c, &r, &m, &err) ||
	    orch_broker_subscribe(m, &c, "status", false, &err))
		orch_fail("read retained statuses", &err);
	else
		orch_sleep_ms(RETAINED_SYNC_MS);
	orch_routes_clear(&r);
	fota_mqtt_free(m);
	orch_routes_destroy(&r);
}

/* The statuses of the devices active campaigns wait for, replayed by exact topic: a broker that
 * replays retained messages only to exact topics (RabbitMQ) otherwise never tells a restarted
 * daemon what devices reported while it was away. On other brokers these are replays the
 * store drops as unchanged. */
static void replay_waited_for(const struct orch_config *cfg, struct orch_store *store,
			      struct fota_mqtt *mqtt)
{
	struct orch_known k;
	struct fota_error err = {0};

	if (orch_known_devices(store, true, &k, &err) ||
	    orch_broker_replay_statuses(mqtt, cfg, k.ids, k.n, &err))
		orch_fail("replay retained statuses", &err);
	orch_known_free(&k);
}

bool orch_daemon_shared(const struct orch_daemon *d)
{
	return d->opts.shared;
}

struct orch_daemon *orch_daemon_new(const struct orch_config *cfg,
				    const struct orch_daemon_opts *opts)
{
	struct orch_daemon *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->cfg = *cfg;
	d->opts = *opts;
	d->lock_fd = -1;
	orch_routes_init(&d->routes, d->cfg.prefix);
	return d;
}

/* The state directory, its lock, the events log and the store: everything on disk. */
/* The repair server's question (orch_repair_ahead_fn): whether a broadcast of the image to one
 * of the groups the device last reported still runs, or ended within its grace period, and
 * from which chunk on it brings them all. A device not heard yet, or that reports no groups,
 * gets every chunk it asks for. */
static uint32_t broadcast_ahead(void *ctx, const char *device,
				const uint8_t image_id[FOTA_IMAGE_ID_LEN], bool *ended)
{
	struct orch_daemon *d = ctx;
	char hex[FOTA_IMAGE_ID_HEX_LEN + 1];
	struct fota_status st;
	uint32_t lowest = UINT32_MAX, next;
	bool this_ended;

	*ended = false;
	if (!orch_fleet_get(d->fleet, device, &st, NULL))
		return UINT32_MAX;
	fota_hex_encode(image_id, FOTA_IMAGE_ID_LEN, hex);
	for (size_t i = 0; i < st.n_groups && i < FOTA_MAX_STATUS_GROUPS; i++)
		if (orch_broadcaster_ahead(d->bcast, st.groups[i], hex, &next, &this_ended) &&
		    next < lowest) {
			lowest = next;
			*ended = this_ended;
		}
	return lowest;
}

static fota_err open_state(struct orch_daemon *d, enum orch_daemon_step *step,
			   struct fota_error *err)
{
	orch_fleet_cb cb = d->opts.on_status ? d->opts.on_status : log_status;

	*step = ORCH_DAEMON_STEP_SETUP;
	if (!d->opts.campaigns && !d->opts.serving)
		return FOTA_OK;
	if (fota_mkdirs(d->cfg.state_dir, 0755, err))
		return err->code;
	/* Two daemons on one store would both run every campaign and fight over the broker. */
	if (d->opts.campaigns && fota_state_lock(d->cfg.state_dir, &d->lock_fd, err)) {
		if (err->code == FOTA_ERR_STATE)
			*step = ORCH_DAEMON_STEP_LOCK;
		return err->code;
	}
	if (d->opts.serving && orch_fleet_new(&d->cfg, cb, d->opts.status_ctx, &d->fleet, err))
		return err->code;
	if (!d->opts.campaigns)
		return FOTA_OK;
	if (orch_open_store(&d->cfg, &d->store, err))
		return err->code;
	/* Without the key the daemon still records status; campaigns then wait, visibly. */
	if (d->cfg.orch_key[0] && fota_signer_load(d->cfg.orch_key, NULL, &d->signer, err)) {
		*step = ORCH_DAEMON_STEP_KEY;
		return err->code;
	}
	if (!d->signer)
		orch_warn("no orchestrator key: campaigns are not published (--orch-key)");
	return FOTA_OK;
}

fota_err orch_daemon_start(struct orch_daemon *d, enum orch_daemon_step *step,
			   struct fota_error *err)
{
	uint64_t burst = d->opts.burst_bytes ? d->opts.burst_bytes
					     : (uint64_t)d->cfg.window * REPAIR_FRAME_BYTES;
	fota_err rc = open_state(d, step, err);

	if (rc)
		return rc;
	*step = ORCH_DAEMON_STEP_CONFIG;
	if (orch_broker_check_files(&d->cfg, err) ||
	    (d->opts.campaigns && orch_http_check(&d->cfg, err)))
		return err->code;
	d->phase = ORCH_DAEMON_CONNECTING;
	/* Before the broker, so that a supervisor sees the process alive (/healthz) and not ready
	 * (/readyz) while the broker is awaited. */
	*step = ORCH_DAEMON_STEP_HTTP;
	if (d->opts.campaigns && d->cfg.http_listen[0] && orch_endpoints_new(d, &d->endpoints, err))
		return err->code;
	/* A broker that is not up yet (a boot, a compose stack) is waited for, as the agent
	 * does; only settings that can never work end the daemon. */
	*step = ORCH_DAEMON_STEP_CONNECT;
	rc = d->opts.patient ? orch_broker_connect_patiently(&d->cfg, &d->routes, &d->mqtt, err)
			     : orch_broker_connect(&d->cfg, &d->routes, &d->mqtt, err);
	if (rc)
		return rc;
	d->phase = ORCH_DAEMON_SUBSCRIBING;
	*step = ORCH_DAEMON_STEP_SETUP;
	d->pacer = orch_pacer_new(d->cfg.rate_bytes_per_s, burst);
	if (!d->pacer)
		return fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
	d->pub.mqtt = d->mqtt;
	d->pub.pacer = d->pacer;
	d->pub.prefix = d->cfg.prefix;
	if (d->opts.serving && orch_repair_new(&d->cfg, &d->pub, &d->repair, err))
		return err->code;
	if (d->opts.campaigns) {
		/* Campaign broadcasts share the pacer with repairs and run in their own thread so
		 * that status ingestion and the campaign steps never wait for them. */
		if (orch_broadcaster_new(&d->cfg, &d->pub, &d->bcast, err) ||
		    orch_engine_new(&d->cfg, d->store, &d->pub, d->signer, &d->engine, err))
			return err->code;
		orch_engine_set_broadcaster(d->engine, d->bcast);
		if (d->repair && d->fleet)
			orch_repair_set_ahead(d->repair, broadcast_ahead, d);
		d->assigner = orch_assigner_new(&d->cfg, d->mqtt, &d->routes, d->signer);
		if (!d->assigner)
			return fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
		orch_engine_set_assigner(d->engine, d->assigner);
		/* Broadcasts a killed daemon left unfinished go on where the broker's
		 * acknowledgements ended; their directives are out already, so nothing else would
		 * send them. */
		orch_broadcasts_resume(d->store, d->bcast);
		orch_routes_set_status_hook(&d->routes, on_raw_status, d->engine);
	}
	if (!d->opts.serving)
		goto started;
	orch_routes_set(&d->routes, d->repair, d->fleet);
	if (d->opts.shared) {
		char why[FOTA_ERROR_MSG_MAX + 160];

		if (!orch_broker_shared_probe(d->mqtt, &d->routes, &d->cfg, why, sizeof(why))) {
			orch_log("serve --shared: the broker does not support shared subscriptions "
				 "(%s); running as a single instance",
				 why);
			d->opts.shared = false;
		}
	}
	*step = ORCH_DAEMON_STEP_SUBSCRIBE;
	if (orch_broker_subscribe_serving(d->mqtt, &d->cfg, d->opts.shared, err))
		return err->code;
	if (d->opts.shared && d->engine)
		sync_retained(&d->cfg, d->engine);
	if (d->engine)
		replay_waited_for(&d->cfg, d->store, d->mqtt);
started:
	d->started_ms = fota_time_mono_ms();
	/* Last: /readyz and /metrics read the parts above from here on. */
	d->phase = ORCH_DAEMON_RUNNING;
	return FOTA_OK;
}

void orch_daemon_reload(struct orch_daemon *d)
{
	struct orch_config_change ch[32];
	struct fota_error err = {0};
	struct orch_config *n = calloc(1, sizeof(*n));
	size_t i, count;

	if (!n) {
		orch_error("reload: out of memory; the running configuration stays");
		return;
	}
	/* The same file and the same flags as at start: flags still win over the file. */
	orch_config_init(n);
	n->config_path = d->cfg.config_path;
	memcpy(n->overrides, d->cfg.overrides, sizeof(n->overrides));
	n->n_overrides = d->cfg.n_overrides;
	if (orch_config_load(n, &err)) {
		orch_fail("reload: configuration (the running one stays)", &err);
		goto out;
	}
	count = orch_config_diff(&d->cfg, n, ch, sizeof(ch) / sizeof(ch[0]));
	/* The new level first, so that what follows is logged by the rule just asked for. */
	if (d->cfg.log_level != n->log_level) {
		d->cfg.log_level = n->log_level;
		orch_log_set_level(n->log_level);
	}
	if (count == 0)
		orch_notice("reload: configuration unchanged");
	for (i = 0; i < count && i < sizeof(ch) / sizeof(ch[0]); i++)
		orch_notice("reload: [%s] %s: %s -> %s%s", ch[i].section, ch[i].key, ch[i].from,
			    ch[i].to, ch[i].runtime ? "" : " (takes effect after a restart)");
out:
	free(n);
}

void orch_daemon_run(struct orch_daemon *d)
{
	int64_t last_tick = 0, last_renew = 0;

	do {
		int64_t now = fota_time_mono_ms();

		if (orch_reload) {
			orch_reload = 0;
			orch_daemon_reload(d);
		}

		/* Campaign steps read what was ingested; ingestion keeps up in between. */
		if (d->engine && now - last_tick >= CAMPAIGN_TICK_MS) {
			orch_engine_run_once(d->engine);
			last_tick = now;
		}
		/* Assignments expire (ORCH_ASSIGNMENT_DAYS); devices keep theirs valid only if
		 * someone renews them. */
		if (d->assigner && (!last_renew || now - last_renew >= ASSIGNMENT_RENEW_CHECK_MS)) {
			orch_assigner_renew(d->assigner, d->store, fota_time_now());
			last_renew = now;
		}
	} while (!d->stop && orch_sleep_ms(INGEST_POLL_MS));
	if (d->engine) {
		orch_routes_set_status_hook(&d->routes, NULL, NULL);
		orch_engine_run_once(d->engine);
	}
}

void orch_daemon_stop(struct orch_daemon *d)
{
	d->stop = true;
}

void orch_daemon_get_stats(struct orch_daemon *d, struct orch_daemon_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->phase = d->phase;
	if (out->phase != ORCH_DAEMON_RUNNING)
		return;
	if (d->started_ms)
		out->uptime_ms = fota_time_mono_ms() - d->started_ms;
	if (d->mqtt) {
		out->broker_connected = fota_mqtt_is_connected(d->mqtt);
		out->lost_publishes = fota_mqtt_failed_publishes(d->mqtt);
	}
	if (d->engine)
		orch_engine_get_stats(d->engine, &out->engine);
	if (d->repair)
		orch_repair_get_stats(d->repair, &out->repair);
	if (d->bcast)
		orch_broadcaster_get_stats(d->bcast, &out->broadcast);
}

void orch_daemon_log_stats(struct orch_daemon *d)
{
	struct orch_daemon_stats s;
	const struct orch_engine_stats *es = &s.engine;

	orch_daemon_get_stats(d, &s);
	if (d->engine)
		orch_log("status ingestion: %llu statuses in %.1f s, %.0f/s capacity (store "
			 "busy %.2f s), peak %llu/s, %llu dropped; %llu directives published",
			 (unsigned long long)es->statuses, (double)s.uptime_ms / 1000.0,
			 es->busy_ms > 0 ? (double)es->statuses * 1000.0 / (double)es->busy_ms
					 : 0.0,
			 (double)es->busy_ms / 1000.0, (unsigned long long)es->peak_per_s,
			 (unsigned long long)es->dropped, (unsigned long long)es->directives);
	if (d->repair)
		orch_log("stopping: %llu repairs served, %llu rejected, %llu dropped, %llu frames "
			 "sent; %llu requests cut by %llu chunks a running broadcast brought, %llu "
			 "requests by %llu chunks an ended broadcast brought in its grace period",
			 (unsigned long long)s.repair.served, (unsigned long long)s.repair.rejected,
			 (unsigned long long)s.repair.dropped, (unsigned long long)s.repair.frames,
			 (unsigned long long)(s.repair.ahead_requests - s.repair.grace_requests),
			 (unsigned long long)(s.repair.ahead_chunks - s.repair.grace_chunks),
			 (unsigned long long)s.repair.grace_requests,
			 (unsigned long long)s.repair.grace_chunks);
}

const struct orch_publisher *orch_daemon_publisher(struct orch_daemon *d)
{
	return d->mqtt ? &d->pub : NULL;
}

struct fota_mqtt *orch_daemon_mqtt(struct orch_daemon *d)
{
	return d->mqtt;
}

struct orch_assigner *orch_daemon_assigner(struct orch_daemon *d)
{
	/* Other threads (HTTP) may ask while orch_daemon_start still sets it up. */
	return d->phase == ORCH_DAEMON_RUNNING ? d->assigner : NULL;
}

struct orch_fleet *orch_daemon_fleet(struct orch_daemon *d)
{
	return d->fleet;
}

const struct orch_config *orch_daemon_config(const struct orch_daemon *d)
{
	return &d->cfg;
}

void orch_daemon_free(struct orch_daemon *d)
{
	if (!d)
		return;
	/* The listener reads the fleet and the statistics: it stops first. Then detach so the
	 * MQTT thread stops delivering into what is freed below; the workers may still
	 * publish, so the session outlives them. */
	orch_endpoints_free(d->endpoints);
	orch_routes_clear(&d->routes);
	orch_broadcaster_free(d->bcast);
	orch_repair_free(d->repair);
	if (d->opts.exit_after)
		fota_mqtt_close_for_exit(d->mqtt);
	else
		fota_mqtt_free(d->mqtt);
	orch_fleet_free(d->fleet);
	orch_engine_free(d->engine);
	orch_assigner_free(d->assigner);
	orch_store_close(d->store);
	fota_signer_free(d->signer);
	orch_routes_destroy(&d->routes);
	orch_pacer_free(d->pacer);
	fota_state_unlock(d->lock_fd);
	free(d);
}
