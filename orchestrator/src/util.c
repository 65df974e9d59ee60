/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers every subcommand shares: logging, error-to-exit-code mapping, interruptible sleep. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "cmd.h"

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
