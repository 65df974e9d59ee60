/* SPDX-License-Identifier: Apache-2.0 */
/* The per-second budget of status-change log lines: every event within it, the rest counted
 * and named by the first line of a later second. */
#include <check.h>

#include "log_budget.h"
#include "testutil.h"

START_TEST(test_within_budget_every_event_is_a_line)
{
	struct orch_log_budget b;
	unsigned long held = 99;

	orch_log_budget_init(&b, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert(orch_log_budget_take(&b, 1000 + i, &held));
		ck_assert_uint_eq(held, 0);
	}
	/* A new second, a new budget. */
	for (int i = 0; i < 3; i++)
		ck_assert(orch_log_budget_take(&b, 2000 + i, &held));
	ck_assert_uint_eq(held, 0);
}
END_TEST

START_TEST(test_beyond_budget_counted_and_named_later)
{
	struct orch_log_budget b;
	unsigned long held = 0;

	orch_log_budget_init(&b, 2);
	ck_assert(orch_log_budget_take(&b, 0, &held));
	ck_assert(orch_log_budget_take(&b, 10, &held));
	for (int i = 0; i < 5; i++)
		ck_assert(!orch_log_budget_take(&b, 20 + i, &held));
	/* Still the same second: counted. */
	ck_assert(!orch_log_budget_take(&b, 999, &held));
	/* The next second's first line names the 6 not written. */
	ck_assert(orch_log_budget_take(&b, 1000, &held));
	ck_assert_uint_eq(held, 6);
	ck_assert(orch_log_budget_take(&b, 1001, &held));
	ck_assert_uint_eq(held, 0);
}
END_TEST

static Suite *log_budget_suite(void)
{
	Suite *s = suite_create("log_budget");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_within_budget_every_event_is_a_line);
	tcase_add_test(tc, test_beyond_budget_counted_and_named_later);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(log_budget_suite());
}
