/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the agent's configuration values: numbers are plain decimal digits, in range. */
#include <check.h>

#include "config.h"
#include "testutil.h"

static fota_err set(struct client_config *c, const char *assignment)
{
	struct fota_error err = {0};

	return client_config_set(c, assignment, &err);
}

START_TEST(test_numbers_in_range)
{
	struct client_config c;

	client_config_defaults(&c);
	ck_assert_int_eq(set(&c, "transfer.max_retries=7"), FOTA_OK);
	ck_assert_uint_eq(c.max_retries, 7);
	ck_assert_int_eq(set(&c, "transfer.max_retries=10000"), FOTA_OK);
	ck_assert_int_ne(set(&c, "transfer.max_retries=10001"), FOTA_OK);
	ck_assert_int_ne(set(&c, "transfer.max_retries=0"), FOTA_OK);
}
END_TEST

/* Durability is counted in bytes by default; sync_chunks is an extra, optional bound. */
START_TEST(test_sync_bytes)
{
	struct client_config c;

	client_config_defaults(&c);
	ck_assert_uint_eq(c.sync_bytes, 8u * 1024 * 1024);
	ck_assert_uint_eq(c.sync_chunks, 0);
	ck_assert_int_eq(set(&c, "transfer.sync_bytes=4096"), FOTA_OK);
	ck_assert_uint_eq(c.sync_bytes, 4096);
	ck_assert_int_ne(set(&c, "transfer.sync_bytes=4095"), FOTA_OK);
	ck_assert_int_ne(set(&c, "transfer.sync_bytes=67108865"), FOTA_OK);
	ck_assert_int_eq(set(&c, "transfer.sync_chunks=0"), FOTA_OK);
}
END_TEST

/* strtoul negates a leading minus: "-4294967295" would read as 1 on a 32-bit target. */
START_TEST(test_signs_and_junk_refused)
{
	static const char *bad[] = {
	    "transfer.max_retries=-4294967295",
	    "transfer.max_retries=-18446744073709551615",
	    "transfer.max_retries=-1",
	    "transfer.max_retries=+5",
	    "transfer.max_retries= 5",
	    "transfer.max_retries=5x",
	    "transfer.max_retries=",
	    "transfer.max_retries=99999999999999999999",
	};
	struct client_config c;

	client_config_defaults(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(set(&c, bad[i]) != FOTA_OK, "accepted %s", bad[i]);
		ck_assert_uint_eq(c.max_retries, 20); /* the default stays */
	}
}
END_TEST

static Suite *client_config_suite(void)
{
	Suite *s = suite_create("client_config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_numbers_in_range);
	tcase_add_test(tc, test_signs_and_junk_refused);
	tcase_add_test(tc, test_sync_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(client_config_suite());
}
