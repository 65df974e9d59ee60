/* SPDX-License-Identifier: Apache-2.0 */
/* Write turns per database file: a FIFO of waiters, each woken by the turn handed to it. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_turns.h"

struct waiter {
	pthread_cond_t cond;
	bool granted;
	struct waiter *next;
};

struct orch_store_turns {
	char *path;
	unsigned refs;
	bool taken;
	struct waiter *head, *tail; /* waiting, oldest first */
	struct orch_store_turns *next;
};

/* One lock for the registry and every queue: held only for a few instructions at a time. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct orch_store_turns *files;

struct orch_store_turns *orch_store_turns_get(const char *path)
{
	struct orch_store_turns *t;

	pthread_mutex_lock(&lock);
	for (t = files; t && strcmp(t->path, path) != 0; t = t->next)
		;
	if (!t && (t = calloc(1, sizeof(*t))) != NULL) {
		t->path = strdup(path);
		if (!t->path) {
			free(t);
			t = NULL;
		} else {
			t->next = files;
			files = t;
		}
	}
	if (t)
		t->refs++;
	pthread_mutex_unlock(&lock);
	return t;
}

void orch_store_turns_put(struct orch_store_turns *t)
{
	struct orch_store_turns **p;

	if (!t)
		return;
	pthread_mutex_lock(&lock);
	if (--t->refs == 0) {
		for (p = &files; *p != t; p = &(*p)->next)
			;
		*p = t->next;
		free(t->path);
		free(t);
	}
	pthread_mutex_unlock(&lock);
}

static void unlink_waiter(struct orch_store_turns *t, struct waiter *w)
{
	struct waiter **p, *prev = NULL;

	for (p = &t->head; *p && *p != w; p = &(*p)->next)
		prev = *p;
	if (!*p)
		return;
	*p = w->next;
	if (t->tail == w)
		t->tail = prev;
}

bool orch_store_turn_take(struct orch_store_turns *t, int timeout_ms)
{
	struct waiter w = {.granted = false, .next = NULL};
	struct timespec until;
	pthread_condattr_t attr;
	bool got;

	pthread_mutex_lock(&lock);
	if (!t->taken && !t->head) {
		t->taken = true;
		pthread_mutex_unlock(&lock);
		return true;
	}
	/* Monotonic: a wall-clock step (NTP at boot) must not stretch or cut the wait. */
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cond, &attr);
	pthread_condattr_destroy(&attr);
	if (t->tail)
		t->tail->next = &w;
	else
		t->head = &w;
	t->tail = &w;
	while (!w.granted && pthread_cond_timedwait(&w.cond, &lock, &until) != ETIMEDOUT)
		;
	got = w.granted;
	if (!got)
		unlink_waiter(t, &w);
	pthread_mutex_unlock(&lock);
	pthread_cond_destroy(&w.cond);
	return got;
}

void orch_store_turn_give(struct orch_store_turns *t)
{
	struct waiter *w;

	pthread_mutex_lock(&lock);
	w = t->head;
	if (w) {
		/* Handed over, still taken: nobody can slip in between. */
		t->head = w->next;
		if (!t->head)
			t->tail = NULL;
		w->granted = true;
		pthread_cond_signal(&w->cond);
	} else {
		t->taken = false;
	}
	pthread_mutex_unlock(&lock);
}

unsigned orch_store_turns_waiting(struct orch_store_turns *t)
{
	unsigned n = 0;

	pthread_mutex_lock(&lock);
	for (struct waiter *w = t->head; w; w = w->next)
		n++;
	pthread_mutex_unlock(&lock);
	return n;
}
