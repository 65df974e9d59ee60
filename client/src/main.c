/* SPDX-License-Identifier: Apache-2.0 */
/* fota-client: command line, signals, and the agent's lifetime. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/atomic_file.h"
#include "fota/state_lock.h"

#include "agent.h"
#include "config.h"

#ifndef FOTA_VERSION
#define FOTA_VERSION "0.1.0"
#endif

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: fota-client [--config FILE] [--set section.key=value]... [--check]\n"
		"\n"
		"Firmware update agent: receives signed updates for this device's groups over\n"
		"MQTT (mutual TLS), verifies every chunk before it touches storage, resumes\n"
		"across restarts and power loss, installs, and reports status.\n"
		"\n"
		"  -c, --config FILE   configuration file (default /etc/fota/client.conf)\n"
		"  -s, --set S.K=V     override one configuration key, e.g. device.id=gw-7\n"
		"      --check         validate the configuration and trust store, then exit\n"
		"  -h, --help          this help\n"
		"  -V, --version       print the version\n"
		"\n"
		"Exit status: 0 stopped on request, 1 runtime failure, 2 configuration error.\n"
		"See fota-client(8) and docs/client.md.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'}, {"set", required_argument, NULL, 's'},
	    {"check", no_argument, NULL, 'k'},	      {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	const char *config_path = "/etc/fota/client.conf";
	static struct client_config cfg;
	struct fota_error err = {0};
	struct agent *agent = NULL;
	struct sigaction sa;
	char **sets = calloc((size_t)argc, sizeof(char *));
	int n_sets = 0, check_only = 0, c, lock_fd = -1, status = 1;

	if (sets == NULL)
		return 1;
	while ((c = getopt_long(argc, argv, "c:s:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 's':
			sets[n_sets++] = optarg;
			break;
		case 'k':
			check_only = 1;
			break;
		case 'h':
			usage(stdout);
			free(sets);
			return 0;
		case 'V':
			printf("fota-client %s\n", FOTA_VERSION);
			free(sets);
			return 0;
		default:
			usage(stderr);
			free(sets);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "fota-client: unexpected argument '%s'\n", argv[optind]);
		free(sets);
		return 2;
	}
	client_config_defaults(&cfg);
	if (client_config_load(&cfg, config_path, &err) != FOTA_OK)
		goto config_error;
	for (int i = 0; i < n_sets; i++)
		if (client_config_set(&cfg, sets[i], &err) != FOTA_OK)
			goto config_error;
	if (client_config_validate(&cfg, &err) != FOTA_OK ||
	    client_config_check_broker(&cfg, &err) != FOTA_OK)
		goto config_error;
	free(sets);
	sets = NULL;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* One agent per state directory: two would share the journal and the device id, and push
	 * each other off the broker. --check only reads, so it runs beside the daemon. */
	if (!check_only && (fota_mkdirs(cfg.state_dir, 0700, &err) != FOTA_OK ||
			    fota_state_lock(cfg.state_dir, &lock_fd, &err) != FOTA_OK)) {
		fprintf(stderr, "fota-client: %s\n", err.msg);
		return 2;
	}
	if (agent_new(&cfg, &agent, &err) != FOTA_OK) {
		fprintf(stderr, "fota-client: %s\n", err.msg);
		fota_state_unlock(lock_fd);
		return 2;
	}
	if (check_only) {
		printf("fota-client: configuration and trust store OK\n");
		agent_free(agent);
		return 0;
	}
	if (agent_run(agent, &stop_requested, &err) == FOTA_OK)
		status = 0;
	else
		fprintf(stderr, "fota-client: %s\n", err.msg);
	/* Not agent_free: MQTTAsync_destroy stops Paho's threads, which nobody can join, and one
	 * still ending while the exit below runs OpenSSL's cleanup races it: its per-thread
	 * OpenSSL state (random generators) leaks, or it reads state being freed. */
	agent_free_for_exit(agent);
	fota_state_unlock(lock_fd);
	return status;

config_error:
	fprintf(stderr, "fota-client: %s\n", err.msg);
	free(sets);
	return 2;
}
