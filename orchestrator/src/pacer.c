/* SPDX-License-Identifier: Apache-2.0 */
/* Token bucket pacing: keeps broker queues and slow subscribers within their limits. */
#include <pthread.h>
#include <stdlib.h>

#include "fota/timeutil.h"

#include "stop.h"
#include "pacer.h"

struct orch_pacer {
	pthread_mutex_t lock;
	uint64_t rate; /* bytes per second, 0 = unpaced */
	double burst;  /* bucket size in bytes */
	double tokens; /* may go negative: bytes reserved but not yet earned */
	int64_t last_ms;
};

struct orch_pacer *orch_pacer_new(uint64_t rate_bytes_per_s, uint64_t burst_bytes)
{
	struct orch_pacer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->rate = rate_bytes_per_s;
	p->burst = (double)(burst_bytes ? burst_bytes : 1);
	p->tokens = p->burst;
	p->last_ms = fota_time_mono_ms();
	return p;
}

void orch_pacer_free(struct orch_pacer *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}

uint64_t orch_pacer_rate(const struct orch_pacer *p)
{
	return p->rate;
}

bool orch_pacer_take(struct orch_pacer *p, size_t n)
{
	int64_t now;
	double wait_s;

	if (!p || p->rate == 0)
		return !orch_stop;
	pthread_mutex_lock(&p->lock);
	now = fota_time_mono_ms();
	p->tokens += (double)(now - p->last_ms) * (double)p->rate / 1000.0;
	if (p->tokens > p->burst)
		p->tokens = p->burst;
	p->last_ms = now;
	/* Reserve now, sleep outside the lock: a second caller queues behind this reservation
	 * instead of both waking at once and overshooting the rate. */
	p->tokens -= (double)n;
	wait_s = p->tokens < 0 ? -p->tokens / (double)p->rate : 0.0;
	pthread_mutex_unlock(&p->lock);
	if (wait_s > 0)
		return orch_sleep_ms((long)(wait_s * 1000.0 + 0.5));
	return !orch_stop;
}
