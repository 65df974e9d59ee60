/* SPDX-License-Identifier: Apache-2.0 */
/* The process-wide stop request and the sleep that honours it. */
#include <time.h>

#include "stop.h"

volatile sig_atomic_t orch_stop;

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
