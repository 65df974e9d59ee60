/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: the running daemon (MQTT session, pacer, repair server,
 * fleet view, broadcaster and campaign engine) as one object that `serve`, `publish --serve`
 * and tests start, stop and read statistics from. */
#ifndef ORCH_DAEMON_H
#define ORCH_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "fota/error.h"
#include "fota/mqtt.h"

#include "broadcaster.h"
#include "campaign.h"
#include "config.h"
#include "fleet.h"
#include "publisher.h"
#include "repair.h"
#include "store.h"

struct orch_daemon_opts {
	/* Run the campaigns of the state directory: state lock, store, engine, broadcaster, the
	 * orchestrator key and, with [http] listen, the HTTP endpoints (`serve`). */
	bool campaigns;
	/* Subscribe to the devices' requests and statuses: repair server and fleet view. */
	bool serving;
	bool shared;  /* $share/fota/... subscriptions; retained statuses are read once */
	bool patient; /* wait for a broker that is not up yet, until orch_stop */
	/* The process exits right after orch_daemon_free (a command, not `serve` under a test):
	 * the broker session is closed with fota_mqtt_close_for_exit. */
	bool exit_after;
	/* Pacer burst; 0: a window of full-size repair frames. */
	uint64_t burst_bytes;
	/* Every status change the fleet view sees (MQTT thread); NULL: one log line per change of
	 * state or result, naming device and campaign. */
	orch_fleet_cb on_status;
	void *status_ctx;
};

/* Which step of orch_daemon_start failed, for the caller's message and exit code. */
enum orch_daemon_step {
	ORCH_DAEMON_STEP_SETUP,	    /* state directory, store, events log, memory */
	ORCH_DAEMON_STEP_LOCK,	    /* another daemon holds the state directory (FOTA_ERR_STATE) */
	ORCH_DAEMON_STEP_KEY,	    /* the orchestrator key cannot be loaded */
	ORCH_DAEMON_STEP_CONFIG,    /* the [broker] files cannot work */
	ORCH_DAEMON_STEP_CONNECT,   /* broker; FOTA_ERR_STATE: stopped while waiting for it */
	ORCH_DAEMON_STEP_SUBSCRIBE, /* the broker refused a subscription */
	ORCH_DAEMON_STEP_HTTP,	    /* the [http] listener could not start */
};

/* What failed at step, as "<what>" of orch_fail; cmd names the SETUP step. */
const char *orch_daemon_step_name(enum orch_daemon_step step, const char *cmd);

/* How far orch_daemon_start got; the HTTP endpoints answer from ORCH_DAEMON_CONNECTING on. */
enum orch_daemon_phase {
	ORCH_DAEMON_NEW = 0,
	ORCH_DAEMON_CONNECTING,	 /* waiting for the broker to accept the session */
	ORCH_DAEMON_SUBSCRIBING, /* connected; subscribing and reading retained statuses */
	ORCH_DAEMON_RUNNING,	 /* orch_daemon_start returned */
};

struct orch_daemon_stats {
	enum orch_daemon_phase phase; /* the fields below stay 0 until ORCH_DAEMON_RUNNING */
	int64_t uptime_ms;	      /* since orch_daemon_start returned */
	bool broker_connected;
	uint64_t lost_publishes;	 /* QoS 1 publishes a broker connection loss dropped */
	struct orch_engine_stats engine; /* zero without campaigns */
	struct orch_repair_stats repair; /* zero without serving */
	struct orch_broadcaster_stats broadcast; /* zero without campaigns */
};

struct orch_daemon;

/* Copies cfg and opts; nothing is opened yet. NULL on allocation failure. */
struct orch_daemon *orch_daemon_new(const struct orch_config *cfg,
				    const struct orch_daemon_opts *opts);
/* Stops everything that runs and frees; NULL is a no-op. */
void orch_daemon_free(struct orch_daemon *d);

/* Whether it uses shared subscriptions: opts.shared, unless orch_daemon_start found that the
 * broker has none (it says so and runs as a single instance). */
bool orch_daemon_shared(const struct orch_daemon *d);

/* Opens what opts ask for, connects and subscribes; *step says what failed. With campaigns
 * and [http] listen, the HTTP endpoints answer before the broker connection is made (/healthz
 * answers, /readyz says what is awaited). */
fota_err orch_daemon_start(struct orch_daemon *d, enum orch_daemon_step *step,
			   struct fota_error *err);

/* Runs the campaigns (with opts.campaigns) until orch_daemon_stop or orch_stop, then takes in
 * what was queued and returns. */
void orch_daemon_run(struct orch_daemon *d);
/* Rereads the configuration file and flags it started with, applies what can change at
 * runtime ([orchestrator] log_level) and logs one notice line per changed key, saying when a
 * key takes effect only after a restart. orch_daemon_run calls it after SIGHUP
 * (orch_reload_on_sighup). */
void orch_daemon_reload(struct orch_daemon *d);
/* Asks orch_daemon_run to return; any thread. */
void orch_daemon_stop(struct orch_daemon *d);

/* Any thread, also while orch_daemon_start runs. */
void orch_daemon_get_stats(struct orch_daemon *d, struct orch_daemon_stats *out);
/* The statistics as the log lines `serve` ends with. */
void orch_daemon_log_stats(struct orch_daemon *d);

/* The parts a command drives itself after start (owned by the daemon; NULL if not opened). */
const struct orch_publisher *orch_daemon_publisher(struct orch_daemon *d);
struct fota_mqtt *orch_daemon_mqtt(struct orch_daemon *d);
struct orch_fleet *orch_daemon_fleet(struct orch_daemon *d);
/* Sends group assignments over the daemon's session (with campaigns; NULL until
 * orch_daemon_start has returned, and without campaigns). Any thread. */
struct orch_assigner *orch_daemon_assigner(struct orch_daemon *d);
const struct orch_config *orch_daemon_config(const struct orch_daemon *d);

#endif
