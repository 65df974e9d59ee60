/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the write turns of one database file: writers start in the order they asked,
 * a wait that runs out leaves the queue usable, and a second connection's BEGIN waits in the
 * queue (not in SQLite's busy handler) until the first commits. */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "store_turns.h"
#include "testutil.h"

/* Polls until n writers wait (at most about 10 s): the order of arrival is then known. */
static void await_waiting(struct orch_store_turns *t, unsigned n)
{
	for (int i = 0; i < 10000 && orch_store_turns_waiting(t) != n; i++)
		usleep(1000);
	ck_assert_uint_eq(orch_store_turns_waiting(t), n);
}

struct order {
	struct orch_store_turns *t;
	pthread_mutex_t lock;
	int seen[3], n;
};

struct writer {
	struct order *o;
	int id;
};

static void *take_and_note(void *arg)
{
	struct writer *w = arg;

	ck_assert(orch_store_turn_take(w->o->t, 10000));
	pthread_mutex_lock(&w->o->lock);
	w->o->seen[w->o->n++] = w->id;
	pthread_mutex_unlock(&w->o->lock);
	orch_store_turn_give(w->o->t);
	return NULL;
}

START_TEST(test_turns_go_in_the_order_asked)
{
	struct order o = {.t = orch_store_turns_get("/turns/in-order.db"), .n = 0};
	struct writer w[3];
	pthread_t th[3];

	pthread_mutex_init(&o.lock, NULL);
	ck_assert_ptr_nonnull(o.t);
	ck_assert(orch_store_turn_take(o.t, 1000));
	for (int i = 0; i < 3; i++) {
		w[i] = (struct writer){&o, i};
		ck_assert_int_eq(pthread_create(&th[i], NULL, take_and_note, &w[i]), 0);
		await_waiting(o.t, (unsigned)i + 1);
	}
	orch_store_turn_give(o.t);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(o.n, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(o.seen[i], i);
	pthread_mutex_destroy(&o.lock);
	orch_store_turns_put(o.t);
}
END_TEST

START_TEST(test_wait_that_runs_out_leaves_queue_usable)
{
	struct orch_store_turns *t = orch_store_turns_get("/turns/timeout.db");
	struct orch_store_turns *same = orch_store_turns_get("/turns/timeout.db");

	ck_assert_ptr_eq(t, same); /* one queue per file */
	ck_assert(orch_store_turn_take(t, 1000));
	ck_assert(!orch_store_turn_take(same, 20));
	ck_assert_uint_eq(orch_store_turns_waiting(t), 0);
	orch_store_turn_give(t);
	ck_assert(orch_store_turn_take(same, 0));
	orch_store_turn_give(same);
	orch_store_turns_put(same);
	orch_store_turns_put(t);
}
END_TEST

struct second {
	struct orch_store *st;
	fota_err begin_rc, commit_rc;
};

static void *begin_and_commit(void *arg)
{
	struct second *s = arg;
	struct fota_error err = {0};

	s->begin_rc = s->st->ops->begin(s->st, &err);
	s->commit_rc = s->begin_rc ? s->begin_rc : s->st->ops->commit(s->st, &err);
	return NULL;
}

START_TEST(test_second_connection_waits_in_the_queue)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], other[PATH_MAX + 32], real[PATH_MAX];
	struct orch_store *a = NULL, *b = NULL;
	struct orch_store_turns *t;
	struct fota_error err = {0};
	struct second s = {0};
	struct orch_device dev;
	pthread_t th;

	tu_tmpdir_make(dir, sizeof(dir), "check_store_turns");
	snprintf(path, sizeof(path), "%s/orchestrator.db", dir);
	snprintf(other, sizeof(other), "%s/./orchestrator.db", dir);
	ck_assert_msg(orch_store_open(path, &a, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_msg(orch_store_open(other, &b, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_ptr_nonnull(realpath(path, real));
	t = orch_store_turns_get(real);

	ck_assert_msg(a->ops->begin(a, &err) == FOTA_OK, "%s", err.msg);
	s.st = b;
	ck_assert_int_eq(pthread_create(&th, NULL, begin_and_commit, &s), 0);
	await_waiting(t, 1);
	memset(&dev, 0, sizeof(dev));
	snprintf(dev.id, sizeof(dev.id), "dev-1");
	ck_assert_msg(a->ops->device_put(a, &dev, false, &err) == FOTA_OK, "%s", err.msg);
	ck_assert_msg(a->ops->commit(a, &err) == FOTA_OK, "%s", err.msg);
	pthread_join(th, NULL);
	ck_assert_int_eq(s.begin_rc, FOTA_OK);
	ck_assert_int_eq(s.commit_rc, FOTA_OK);
	/* A rolled-back transaction hands the turn on too. */
	ck_assert_msg(b->ops->begin(b, &err) == FOTA_OK, "%s", err.msg);
	b->ops->rollback(b);
	ck_assert(orch_store_turn_take(t, 0));
	orch_store_turn_give(t);

	orch_store_turns_put(t);
	orch_store_close(b);
	orch_store_close(a);
	tu_tmpdir_remove(dir);
}
END_TEST

static Suite *store_turns_suite(void)
{
	Suite *s = suite_create("store_turns");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_turns_go_in_the_order_asked);
	tcase_add_test(tc, test_wait_that_runs_out_leaves_queue_usable);
	tcase_add_test(tc, test_second_connection_waits_in_the_queue);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(store_turns_suite());
}
