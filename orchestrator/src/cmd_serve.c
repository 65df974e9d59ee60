/* SPDX-License-Identifier: Apache-2.0 */
/* `serve`: the daemon that runs campaigns, answers repair requests and records status. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "cmd.h"
#include "config.h"
#include "daemon.h"

static const char serve_usage[] =
    "Usage: fota-orchestrator serve [--shared] [OPTIONS]\n"
    "\n"
    "Subscribes to every device's request and status topics, answers repair requests for\n"
    "any image in the store (--rate caps them), appends status changes to the store's audit\n"
    "log, keeps the device registry and runs every active campaign of\n"
    "<state_dir>/orchestrator.db (docs/campaigns.md), publishing their directives signed\n"
    "with the orchestrator key. A directive that admits several devices still needing the\n"
    "image also broadcasts it once on the group's chunks topic (same pacing as repairs).\n"
    "Runs until SIGINT or SIGTERM; SIGHUP rereads the configuration and applies log_level.\n"
    "\n"
    "  --shared               use shared subscriptions ($share/fota/...) so several\n"
    "                         orchestrators split requests and status between them\n"
    "\n";

enum { OPT_SHARED = 1 };

/* The exit code when the daemon could not start (docs/orchestrator.md). */
static int exit_for_step(enum orch_daemon_step step, fota_err code)
{
	switch (step) {
	case ORCH_DAEMON_STEP_LOCK:
	case ORCH_DAEMON_STEP_KEY:
	case ORCH_DAEMON_STEP_CONFIG:
		return ORCH_EXIT_USAGE;
	case ORCH_DAEMON_STEP_CONNECT:
		return orch_broker_exit(code);
	case ORCH_DAEMON_STEP_SUBSCRIBE:
		return ORCH_EXIT_BROKER;
	case ORCH_DAEMON_STEP_HTTP:
		return code == FOTA_ERR_FIELD ? ORCH_EXIT_USAGE : ORCH_EXIT_FAIL;
	default:
		return ORCH_EXIT_FAIL;
	}
}

int orch_cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"shared", no_argument, NULL, OPT_SHARED},
	    ORCH_COMMON_LONGOPTS,
	};
	struct orch_config cfg;
	struct orch_daemon_opts opts = {.campaigns = true, .serving = true, .patient = true};
	struct fota_error err = {0};
	struct orch_daemon *srv = NULL;
	enum orch_daemon_step step;
	int opt, ret = ORCH_EXIT_USAGE;

	orch_config_init(&cfg);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (orch_config_flag(&cfg, opt, optarg))
			continue;
		if (opt == OPT_SHARED) {
			opts.shared = true;
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
		orch_error("serve: unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (orch_cli_load_config(&cfg, &err))
		goto out;
	/* The daemon may have a fixed id of its own (monitoring, broker logs); it is alone on its
	 * state directory, and ad-hoc commands never take that id. */
	if (cfg.serve_client_id[0])
		memcpy(cfg.client_id, cfg.serve_client_id, sizeof(cfg.client_id));

	ret = ORCH_EXIT_FAIL;
	srv = orch_daemon_new(&cfg, &opts);
	if (!srv) {
		orch_error("serve: out of memory");
		goto out;
	}
	if (orch_daemon_start(srv, &step, &err)) {
		if (step == ORCH_DAEMON_STEP_CONNECT && err.code == FOTA_ERR_STATE) {
			ret = ORCH_EXIT_OK; /* stopped on request while waiting */
			goto out;
		}
		orch_fail(orch_daemon_step_name(step, "serve"), &err);
		ret = exit_for_step(step, err.code);
		goto out;
	}
	orch_log("serving %s on %s as %s%s", cfg.prefix, cfg.uri, cfg.client_id,
		 orch_daemon_shared(srv) ? " (shared subscriptions)" : "");
	orch_reload_on_sighup();
	orch_daemon_run(srv);
	orch_daemon_log_stats(srv);
	ret = ORCH_EXIT_OK;
out:
	orch_daemon_free(srv);
	return ret;
}
