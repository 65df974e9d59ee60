/* SPDX-License-Identifier: Apache-2.0 */
/* The agent loop's wake-up latch (wakeup.c): a signal sent while nobody waits is kept. */
#include <check.h>
#include <pthread.h>
#include <unistd.h>

#include "testutil.h"
#include "wakeup.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The lost wake-up the latch exists for: the signal comes while the loop is busy elsewhere
 * (not waiting), and the next wait must return at once instead of sleeping its timeout. A
 * bare condition variable times out here and the wait returns false. */
START_TEST(test_signal_before_wait)
{
	struct wakeup w;

	ck_assert_int_eq(wakeup_init(&w), 0);
	pthread_mutex_lock(&lock);
	wakeup_signal(&w);
	pthread_mutex_unlock(&lock);

	pthread_mutex_lock(&lock);
	ck_assert(wakeup_wait(&w, &lock, 30000));
	/* Consumed: the next wait sees no signal and runs out. */
	ck_assert(!wakeup_wait(&w, &lock, 20));
	pthread_mutex_unlock(&lock);
	wakeup_destroy(&w);
}
END_TEST

START_TEST(test_timeout_without_signal)
{
	struct wakeup w;

	ck_assert_int_eq(wakeup_init(&w), 0);
	pthread_mutex_lock(&lock);
	ck_assert(!wakeup_wait(&w, &lock, 20));
	ck_assert(!w.pending);
	pthread_mutex_unlock(&lock);
	wakeup_destroy(&w);
}
END_TEST

static void *signal_later(void *arg)
{
	struct wakeup *w = arg;

	usleep(20 * 1000);
	pthread_mutex_lock(&lock);
	wakeup_signal(w);
	pthread_mutex_unlock(&lock);
	return NULL;
}

/* A signal from another thread during the wait ends it, well before its long timeout. */
START_TEST(test_signal_during_wait)
{
	struct wakeup w;
	pthread_t t;

	ck_assert_int_eq(wakeup_init(&w), 0);
	pthread_mutex_lock(&lock);
	ck_assert_int_eq(pthread_create(&t, NULL, signal_later, &w), 0);
	ck_assert(wakeup_wait(&w, &lock, 60000));
	pthread_mutex_unlock(&lock);
	pthread_join(t, NULL);
	wakeup_destroy(&w);
}
END_TEST

static Suite *wakeup_suite(void)
{
	Suite *s = suite_create("wakeup");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_signal_before_wait);
	tcase_add_test(tc, test_timeout_without_signal);
	tcase_add_test(tc, test_signal_during_wait);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(wakeup_suite());
}
