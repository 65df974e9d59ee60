/* SPDX-License-Identifier: Apache-2.0 */
/* A wake-up latch: a condition variable with its predicate (wakeup.h). */
#include "wakeup.h"

#include <errno.h>
#include <time.h>

#include "fota/timeutil.h"

int wakeup_init(struct wakeup *w)
{
	w->pending = false;
	return fota_time_cond_init(&w->cond);
}

void wakeup_destroy(struct wakeup *w)
{
	pthread_cond_destroy(&w->cond);
}

void wakeup_signal(struct wakeup *w)
{
	w->pending = true;
	pthread_cond_signal(&w->cond);
}

bool wakeup_wait(struct wakeup *w, pthread_mutex_t *lock, unsigned timeout_ms)
{
	struct timespec deadline;
	int rc = 0;

	fota_time_mono_deadline(&deadline, timeout_ms);
	/* The loop also absorbs spurious wake-ups, which POSIX allows. */
	while (!w->pending && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&w->cond, lock, &deadline);
	if (!w->pending)
		return false;
	w->pending = false;
	return true;
}
