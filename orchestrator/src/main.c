/* SPDX-License-Identifier: Apache-2.0 */
/* fota-orchestrator entry point: subcommand dispatch, signals, exit codes, logging. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"

static const char usage[] =
    "Usage: fota-orchestrator COMMAND [OPTIONS]\n"
    "\n"
    "Publishes signed update images to a fleet over MQTT and follows their progress.\n"
    "\n"
    "Commands:\n"
    "  image add FILE ...      hash, chunk, sign and store an image\n"
    "  image sign FILE ...     sign a manifest for FILE without a state directory\n"
    "  image import FILE ...   store an image whose manifest was signed elsewhere\n"
    "  image list              list stored images\n"
    "  publish IMAGE_ID ...    sign a directive for a group, broadcast the image, optionally\n"
    "                          serve repairs and wait for devices\n"
    "  serve                   run campaigns, answer repair requests, record device status\n"
    "                          (daemon)\n"
    "  campaign SUBCOMMAND     create/start/pause/resume/abort/status/list/wait/events\n"
    "                          staged rollouts (docs/campaigns.md)\n"
    "  device SUBCOMMAND       list/show/add/import the device registry\n"
    "  status                  show the fleet's latest status reports\n"
    "\n"
    "Shared options (--broker, --state-dir, --config, ...) go before or after COMMAND.\n"
    "Run 'fota-orchestrator COMMAND --help' for a command's options.\n"
    "\n"
    "Exit codes: 0 ok, 1 failure (e.g. a device failed), 2 usage or configuration error,\n"
    "3 timeout, 4 broker connection failure, 5 not found, 6 not allowed in this state.\n";

static void on_signal(int sig)
{
	(void)sig;
	orch_stop = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A broker closing the TLS socket must surface as an error, not kill the process. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Number of argv slots the shared option at argv[i] takes (1 or 2), 0 if it is not one. */
static int shared_option_len(char **argv, int i, int argc)
{
	static const struct option common[] = {ORCH_COMMON_LONGOPTS};
	const char *a = argv[i];
	size_t k, n;

	if (strncmp(a, "--", 2) != 0)
		return 0;
	a += 2;
	n = strcspn(a, "=");
	for (k = 0; common[k].name; k++) {
		if (strlen(common[k].name) != n || strncmp(common[k].name, a, n) != 0)
			continue;
		if (common[k].has_arg == no_argument || a[n] == '=')
			return 1;
		return i + 1 < argc ? 2 : 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;
	char **args = NULL;
	int first = 1, i, n = 0, ret;

	/* Shared options may precede the command ("fota-orchestrator --state-dir D image list"):
	 * move them behind the command's own arguments, where getopt_long finds them. */
	while (first < argc && strcmp(argv[first], "--help") != 0) {
		int len = shared_option_len(argv, first, argc);

		if (len == 0)
			break;
		first += len;
	}
	if (first >= argc) {
		fputs(usage, stderr);
		return ORCH_EXIT_USAGE;
	}
	cmd = argv[first];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage, stdout);
		return ORCH_EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("fota-orchestrator %s\n", FOTA_ORCH_VERSION);
		return ORCH_EXIT_OK;
	}
	install_signals();
	/* Under systemd each line carries its level as a journald priority. */
	orch_log_set_journal(orch_log_stderr_is_journal());
	orch_cli_remember(argc, argv);
	/* Subcommands see argv[0] = their own name, so getopt starts at their first option. */
	args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args) {
		orch_log("out of memory");
		return ORCH_EXIT_FAIL;
	}
	for (i = first; i < argc; i++)
		args[n++] = argv[i];
	for (i = 1; i < first; i++)
		args[n++] = argv[i];
	if (strcmp(cmd, "image") == 0)
		ret = orch_cmd_image(n, args);
	else if (strcmp(cmd, "publish") == 0)
		ret = orch_cmd_publish(n, args);
	else if (strcmp(cmd, "serve") == 0)
		ret = orch_cmd_serve(n, args);
	else if (strcmp(cmd, "status") == 0)
		ret = orch_cmd_status(n, args);
	else if (strcmp(cmd, "campaign") == 0)
		ret = orch_cmd_campaign(n, args);
	else if (strcmp(cmd, "device") == 0)
		ret = orch_cmd_device(n, args);
	else {
		orch_log("unknown command '%s' (try --help)", cmd);
		ret = ORCH_EXIT_USAGE;
	}
	free(args);
	return ret;
}
