/* SPDX-License-Identifier: Apache-2.0 */
/* Private header: a wake-up that is not lost when nobody is waiting yet.
 *
 * A bare condition variable forgets a signal sent while its waiter is busy elsewhere (the
 * agent's loop publishing a status, or waiting for a SUBACK): the waiter then sleeps its
 * whole timeout with work queued. The latch keeps such a signal until the next wait. */
#ifndef FOTA_CLIENT_WAKEUP_H
#define FOTA_CLIENT_WAKEUP_H

#include <pthread.h>
#include <stdbool.h>

struct wakeup {
	pthread_cond_t cond; /* timed waits on CLOCK_MONOTONIC */
	bool pending;	     /* signalled since the last wait returned */
};

int wakeup_init(struct wakeup *w);
void wakeup_destroy(struct wakeup *w);
/* Caller holds the mutex it waits with. */
void wakeup_signal(struct wakeup *w);
/* Caller holds `lock`. Returns at once if signalled since the last wait, else waits up to
 * timeout_ms for a signal. True if signalled, false if the time ran out. Consumes the signal. */
bool wakeup_wait(struct wakeup *w, pthread_mutex_t *lock, unsigned timeout_ms);

#endif
