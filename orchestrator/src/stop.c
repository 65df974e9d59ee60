/* SPDX-License-Identifier: Apache-2.0 */
/* The process-wide stop and reload requests and the sleep that honours a stop. */
#include <string.h>
#include <time.h>

#include "stop.h"

volatile sig_atomic_t orch_stop;
volatile sig_atomic_t orch_reload;

static void on_sighup(int sig)
{
	(void)sig;
	orch_reload = 1;
}

void orch_reload_on_sighup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sighup;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
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
