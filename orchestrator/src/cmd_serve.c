/* SPDX-License-Identifier: Apache-2.0 */
/* `serve`: the daemon that runs campaigns, answers repair requests and records status. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "fota/atomic_file.h"
#include "fota/state_lock.h"
#include "fota/status.h"

#include "fota/signer.h"
#include "fota/timeutil.h"

#include "broadcast_store.h"
#include "broadcaster.h"
#include "broker.h"
#include "campaign.h"
#include "cmd.h"
#include "config.h"
#include "fleet.h"
#include "pacer.h"
#include "publisher.h"
#include "repair.h"
#include "store.h"

/* How often the campaigns are advanced; statuses are written to the store in between. */
#define CAMPAIGN_TICK_MS 250
#define INGEST_POLL_MS 50
/* Retained statuses arrive right after the subscription; this covers thousands of them. */
#define RETAINED_SYNC_MS 2000

static void on_raw_status(void *ctx, const char *device, const uint8_t *payload, size_t len)
{
	orch_engine_submit_status(ctx, device, payload, len);
}

static const char serve_usage[] =
    "Usage: fota-orchestrator serve [--shared] [OPTIONS]\n"
    "\n"
    "Subscribes to every device's request and status topics, answers repair requests for\n"
    "any image in the store (paced by --rate), appends status changes to the store's audit\n"
    "log, keeps the device registry and runs every active campaign of\n"
    "<state_dir>/orchestrator.db (docs/campaigns.md), publishing their directives signed\n"
    "with the orchestrator key. A directive that admits several devices still needing the\n"
    "image also broadcasts it once on the group's chunks topic (same pacing as repairs).\n"
    "Runs until SIGINT or SIGTERM.\n"
    "\n"
    "  --shared               use shared subscriptions ($share/fota/...) so several\n"
    "                         orchestrators split requests and status between them\n"
    "\n";

enum { OPT_SHARED = 1 };

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
	orch_routes_init(&r, cfg->prefix);
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

/* MQTT thread: log state changes (not every progress report). */
static void on_status(void *ctx, const struct fota_status *prev, const struct fota_status *cur)
{
	(void)ctx;
	if (prev && prev->state == cur->state && prev->result == cur->result &&
	    strcmp(prev->campaign, cur->campaign) == 0)
		return;
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

int orch_cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"shared", no_argument, NULL, OPT_SHARED},
	    ORCH_COMMON_LONGOPTS,
	};
	struct orch_config cfg;
	struct fota_error err = {0};
	struct orch_routes routes;
	struct orch_publisher pub = {0};
	struct orch_repair_stats st = {0};
	struct fota_mqtt *mqtt = NULL;
	struct orch_pacer *pacer = NULL;
	struct orch_repair *repair = NULL;
	struct orch_broadcaster *bcast = NULL;
	struct orch_fleet *fleet = NULL;
	struct orch_store *store = NULL;
	struct orch_engine *engine = NULL;
	struct orch_engine_stats es = {0};
	struct fota_signer *signer = NULL;
	int64_t started_ms, last_tick = 0;
	bool shared = false;
	int opt, lock_fd = -1, ret = ORCH_EXIT_USAGE;

	orch_config_init(&cfg);
	orch_routes_init(&routes, cfg.prefix);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (orch_config_flag(&cfg, opt, optarg))
			continue;
		if (opt == OPT_SHARED) {
			shared = true;
			continue;
		}
		fputs(serve_usage, stderr);
		goto out;
	}
	if (orch_cli_help(&cfg, serve_usage)) {
		ret = ORCH_EXIT_OK;
		goto out;
	}
	if (optind != argc) {
		orch_log("serve: unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (orch_cli_load_config(&cfg, &err))
		goto out;
	routes.prefix = cfg.prefix;
	/* The daemon may have a fixed id of its own (monitoring, broker logs); it is alone on its
	 * state directory, and ad-hoc commands never take that id. */
	if (cfg.serve_client_id[0])
		memcpy(cfg.client_id, cfg.serve_client_id, sizeof(cfg.client_id));

	ret = ORCH_EXIT_FAIL;
	if (fota_mkdirs(cfg.state_dir, 0755, &err)) {
		orch_fail("serve", &err);
		goto out;
	}
	/* Two daemons on one store would both run every campaign and fight over the broker. */
	if (fota_state_lock(cfg.state_dir, &lock_fd, &err)) {
		orch_fail("serve", &err);
		if (err.code == FOTA_ERR_STATE)
			ret = ORCH_EXIT_USAGE;
		goto out;
	}
	if (orch_fleet_new(&cfg, on_status, NULL, &fleet, &err)) {
		orch_fail("serve", &err);
		goto out;
	}
	if (orch_open_store(&cfg, &store, &err)) {
		orch_fail("serve", &err);
		goto out;
	}
	/* Without the key the daemon still records status; campaigns then wait, visibly. */
	if (cfg.orch_key[0] && fota_signer_load(cfg.orch_key, NULL, &signer, &err)) {
		orch_fail("load orchestrator key", &err);
		ret = ORCH_EXIT_USAGE;
		goto out;
	}
	if (!signer)
		orch_log("no orchestrator key: campaigns are not published (--orch-key)");
	if (orch_broker_check_files(&cfg, &err)) {
		orch_fail("configuration", &err);
		ret = ORCH_EXIT_USAGE;
		goto out;
	}
	/* A broker that is not up yet (a boot, a compose stack) is waited for, as the agent
	 * does; only settings that can never work end the daemon. */
	if (orch_broker_connect_patiently(&cfg, &routes, &mqtt, &err)) {
		if (err.code == FOTA_ERR_STATE) {
			ret = ORCH_EXIT_OK; /* stopped on request while waiting */
			goto out;
		}
		orch_fail("connect to broker", &err);
		ret = orch_broker_exit(err.code);
		goto out;
	}
	/* Repairs are bursts of at most FOTA_MAX_REQUEST_CHUNKS frames; the bucket holds a
	 * window's worth so one device cannot monopolise the link. */
	pacer = orch_pacer_new(cfg.rate_bytes_per_s, (uint64_t)cfg.window * (64u * 1024u + 32u));
	if (!pacer) {
		orch_log("serve: out of memory");
		goto out;
	}
	pub.mqtt = mqtt;
	pub.pacer = pacer;
	pub.prefix = cfg.prefix;
	if (orch_repair_new(&cfg, &pub, &repair, &err)) {
		orch_fail("serve", &err);
		goto out;
	}
	/* Campaign broadcasts share the pacer with repairs, like `publish`, and run in their
	 * own thread so that status ingestion and the campaign steps never wait for them. */
	if (orch_broadcaster_new(&cfg, &pub, &bcast, &err) ||
	    orch_engine_new(&cfg, store, &pub, signer, &engine, &err)) {
		orch_fail("serve", &err);
		goto out;
	}
	orch_engine_set_broadcaster(engine, bcast);
	/* Broadcasts a killed daemon left unfinished go on where the broker's acknowledgements
	 * ended; their directives are out already, so nothing else would send them. */
	orch_broadcasts_resume(store, bcast);
	orch_routes_set(&routes, repair, fleet);
	orch_routes_set_status_hook(&routes, on_raw_status, engine);
	if (orch_broker_subscribe_serving(mqtt, &cfg, shared, &err)) {
		orch_fail("subscribe", &err);
		ret = ORCH_EXIT_BROKER;
		goto out;
	}
	if (shared)
		sync_retained(&cfg, engine);
	orch_log("serving %s on %s as %s%s", cfg.prefix, cfg.uri, cfg.client_id,
		 shared ? " (shared subscriptions)" : "");
	started_ms = fota_time_mono_ms();
	do {
		int64_t now = fota_time_mono_ms();

		/* Campaign steps read what was ingested; ingestion keeps up in between. */
		if (now - last_tick >= CAMPAIGN_TICK_MS) {
			orch_engine_run_once(engine);
			last_tick = now;
		}
	} while (orch_sleep_ms(INGEST_POLL_MS));
	orch_routes_set_status_hook(&routes, NULL, NULL);
	orch_engine_run_once(engine);
	orch_engine_get_stats(engine, &es);
	{
		double secs = (double)(fota_time_mono_ms() - started_ms) / 1000.0;

		orch_log("status ingestion: %llu statuses in %.1f s, %.0f/s capacity (store "
			 "busy %.2f s), peak %llu/s, %llu dropped; %llu directives published",
			 (unsigned long long)es.statuses, secs,
			 es.busy_ms > 0 ? (double)es.statuses * 1000.0 / (double)es.busy_ms : 0.0,
			 (double)es.busy_ms / 1000.0, (unsigned long long)es.peak_per_s,
			 (unsigned long long)es.dropped, (unsigned long long)es.directives);
	}
	orch_repair_get_stats(repair, &st);
	orch_log("stopping: %llu repairs served, %llu rejected, %llu dropped, %llu frames sent",
		 (unsigned long long)st.served, (unsigned long long)st.rejected,
		 (unsigned long long)st.dropped, (unsigned long long)st.frames);
	ret = ORCH_EXIT_OK;
out:
	orch_routes_clear(&routes);
	orch_broadcaster_free(bcast);
	orch_repair_free(repair);
	fota_mqtt_free(mqtt);
	orch_fleet_free(fleet);
	orch_engine_free(engine);
	orch_store_close(store);
	fota_signer_free(signer);
	orch_routes_destroy(&routes);
	orch_pacer_free(pacer);
	fota_state_unlock(lock_fd);
	return ret;
}
