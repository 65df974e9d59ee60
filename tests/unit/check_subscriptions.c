/* SPDX-License-Identifier: Apache-2.0 */
/* A device's subscription set: exact topics for every retained document, wildcards only for
 * broadcast chunks, the job's table only while there is a job, refusals. */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "fota/subscriptions.h"
#include "testutil.h"

/* True when the filter holds an MQTT wildcard. */
static bool wild(const char *f)
{
	return strchr(f, '+') != NULL || strchr(f, '#') != NULL;
}

START_TEST(test_no_job)
{
	const char *groups[] = {"lab", "eu"};
	struct fota_subscriptions s;
	struct fota_error err = {0};

	ck_assert_int_eq(
	    fota_subscriptions_device("fota/v1", "dev-1", groups, 2, NULL, NULL, &s, &err),
	    FOTA_OK);
	ck_assert_uint_eq(s.n, 9);
	ck_assert_str_eq(s.filter[0], "fota/v1/groups/lab/directive");
	ck_assert_str_eq(s.filter[1], "fota/v1/groups/lab/images/+/chunks");
	ck_assert_str_eq(s.filter[2], "fota/v1/groups/lab/images/+/table");
	ck_assert_str_eq(s.filter[3], "fota/v1/groups/eu/directive");
	ck_assert_str_eq(s.filter[4], "fota/v1/groups/eu/images/+/chunks");
	ck_assert_str_eq(s.filter[5], "fota/v1/groups/eu/images/+/table");
	ck_assert_str_eq(s.filter[6], "fota/v1/devices/dev-1/chunks");
	ck_assert_str_eq(s.filter[7], "fota/v1/devices/dev-1/assignment");
	ck_assert_str_eq(s.filter[8], "fota/v1/devices/dev-1/key");
}
END_TEST

START_TEST(test_job_table_exact)
{
	const char *groups[] = {"lab"};
	struct fota_subscriptions s;
	struct fota_error err = {0};

	ck_assert_int_eq(fota_subscriptions_device("acme/fota", "dev-1", groups, 1, "lab",
						   "0123456789abcdef", &s, &err),
			 FOTA_OK);
	ck_assert_uint_eq(s.n, 7);
	ck_assert_str_eq(s.filter[2], "acme/fota/groups/lab/images/+/table");
	ck_assert_str_eq(s.filter[3], "acme/fota/groups/lab/images/0123456789abcdef/table");
	/* Every retained document (directive, the job's table, assignment, key) is also named
	 * exactly; the only wildcards are a group's chunks and its live tables. */
	for (size_t i = 0; i < s.n; i++) {
		if (strstr(s.filter[i], "/directive") || strstr(s.filter[i], "/assignment") ||
		    strstr(s.filter[i], "/key"))
			ck_assert_msg(!wild(s.filter[i]), "%s", s.filter[i]);
		if (wild(s.filter[i]))
			ck_assert_msg(strstr(s.filter[i], "/images/+/chunks") ||
					  strstr(s.filter[i], "/images/+/table"),
				      "%s", s.filter[i]);
	}
}
END_TEST

START_TEST(test_repeated_group_once)
{
	const char *groups[] = {"lab", "lab"};
	struct fota_subscriptions s;

	ck_assert_int_eq(
	    fota_subscriptions_device("fota/v1", "dev-1", groups, 2, NULL, NULL, &s, NULL),
	    FOTA_OK);
	ck_assert_uint_eq(s.n, 6);
}
END_TEST

START_TEST(test_refusals)
{
	const char *bad_group[] = {"a+b"};
	const char *many[FOTA_SUBSCRIPTIONS_MAX_GROUPS + 1];
	const char *groups[] = {"lab"};
	struct fota_subscriptions s;
	struct fota_error err = {0};

	for (int i = 0; i < TU_N(many); i++)
		many[i] = "lab";
	ck_assert_int_eq(
	    fota_subscriptions_device("fota/v1", "dev-1", bad_group, 1, NULL, NULL, &s, &err),
	    FOTA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "a+b"));
	ck_assert_int_eq(
	    fota_subscriptions_device("fota/v1", "dev-1", many, TU_N(many), NULL, NULL, &s, &err),
	    FOTA_ERR_TOO_BIG);
	ck_assert_int_eq(
	    fota_subscriptions_device("fota/v1", "dev/1", groups, 1, NULL, NULL, &s, &err),
	    FOTA_ERR_INVAL);
	ck_assert_int_eq(
	    fota_subscriptions_device("fota/v1", "dev-1", groups, 1, "lab", "#", &s, &err),
	    FOTA_ERR_INVAL);
}
END_TEST

START_TEST(test_list)
{
	const char *groups[] = {"lab"};
	const char *list[FOTA_SUBSCRIPTIONS_MAX];
	struct fota_subscriptions s;

	ck_assert_int_eq(
	    fota_subscriptions_device("fota/v1", "dev-1", groups, 1, NULL, NULL, &s, NULL),
	    FOTA_OK);
	fota_subscriptions_list(&s, list);
	ck_assert_ptr_eq(list[0], s.filter[0]);
	ck_assert_ptr_eq(list[2], s.filter[2]);
}
END_TEST

static Suite *subscriptions_suite(void)
{
	Suite *s = suite_create("subscriptions");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_no_job);
	tcase_add_test(tc, test_job_table_exact);
	tcase_add_test(tc, test_repeated_group_once);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_list);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(subscriptions_suite());
}
