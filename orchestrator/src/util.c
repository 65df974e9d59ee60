/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers every subcommand shares: logging, error-to-exit-code mapping, interruptible sleep,
 * the --help and configuration steps of option handling, JSON output. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cmd.h"
#include "config.h"

volatile sig_atomic_t orch_stop;

void orch_fail(const char *what, const struct fota_error *err)
{
	if (err && err->msg[0])
		orch_log("%s: %s", what, err->msg);
	else if (err)
		orch_log("%s: %s", what, fota_strerror(err->code));
	else
		orch_log("%s", what);
}

void orch_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "fota-orchestrator: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}

int orch_exit_for(fota_err code)
{
	switch (code) {
	case FOTA_OK:
		return ORCH_EXIT_OK;
	case FOTA_ERR_MQTT:
		return ORCH_EXIT_BROKER;
	case FOTA_ERR_TIMEOUT:
		return ORCH_EXIT_TIMEOUT;
	case FOTA_ERR_NOT_FOUND:
		return ORCH_EXIT_NOT_FOUND;
	case FOTA_ERR_STATE:
		return ORCH_EXIT_STATE;
	default:
		return ORCH_EXIT_FAIL;
	}
}

bool orch_sleep_ms(long ms)
{
	struct timespec ts;

	while (ms > 0 && !orch_stop) {
		long step = ms > 100 ? 100 : ms;

		ts.tv_sec = 0;
		ts.tv_nsec = step * 1000000L;
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return !orch_stop;
}

bool orch_cli_help(const struct orch_config *cfg, const char *usage)
{
	if (!cfg->help)
		return false;
	fputs(usage, stdout);
	fputs(orch_config_help, stdout);
	return true;
}

fota_err orch_cli_load_config(struct orch_config *cfg, struct fota_error *err)
{
	fota_err rc = orch_config_load(cfg, err);

	if (rc)
		orch_fail("configuration", err);
	return rc;
}

void orch_print_json(const struct cJSON *o, const char *fallback)
{
	char *text = cJSON_Print(o);

	if (text || fallback)
		printf("%s\n", text ? text : fallback);
	free(text);
}
