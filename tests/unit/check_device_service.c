/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the device services the CLI and the HTTP API share: the groups rule, setting
 * a device's groups in one transaction with its event, the device's JSON, and that without
 * an orchestrator key no assignment is published. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "device_service.h"
#include "store.h"

static char dir[] = "/tmp/check_device_service.XXXXXX";
static char path[sizeof(dir) + 32];
static struct orch_store *st;

static void setup(void)
{
	struct fota_error err = {0};
	struct orch_device d = {.last_seen = 1796000000, .online = true};

	ck_assert_ptr_nonnull(mkdtemp(strcpy(dir, "/tmp/check_device_service.XXXXXX")));
	snprintf(path, sizeof(path), "%s/o.db", dir);
	ck_assert_int_eq(orch_store_sqlite_open(path, &st, &err), FOTA_OK);
	snprintf(d.id, sizeof(d.id), "d1");
	snprintf(d.model, sizeof(d.model), "gw-100");
	snprintf(d.groups, sizeof(d.groups), "lab");
	ck_assert_int_eq(st->ops->device_put(st, &d, true, &err), FOTA_OK);
}

static void teardown(void)
{
	char p[sizeof(path) + 8];

	orch_store_close(st);
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	rmdir(dir);
}

static int count_events(void *ctx, const struct orch_event *e)
{
	char *detail = ctx;

	snprintf(detail, ORCH_MAX_EVENT_DETAIL, "%s", e->detail);
	ck_assert_str_eq(e->kind, "groups");
	ck_assert_str_eq(e->campaign, "");
	return 0;
}

START_TEST(test_groups_parse)
{
	struct fota_error err = {0};
	char out[256];

	ck_assert_int_eq(orch_device_groups_parse("a;b|c,,d", out, sizeof(out), &err), FOTA_OK);
	ck_assert_str_eq(out, "a,b,c,d");
	ck_assert_int_eq(orch_device_groups_parse("", out, sizeof(out), &err), FOTA_OK);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(orch_device_groups_parse("lab,a/b", out, sizeof(out), &err),
			 FOTA_ERR_FIELD);
	ck_assert_str_eq(err.msg, "'a/b' is not a group name ([A-Za-z0-9._-])");
	ck_assert_int_eq(orch_device_groups_parse("1,2,3,4,5,6,7,8,9", out, sizeof(out), &err),
			 FOTA_ERR_TOO_BIG);
}
END_TEST

START_TEST(test_set_groups)
{
	struct orch_assign_list changed = {0};
	struct fota_error err = {0};
	struct orch_device d;
	char detail[ORCH_MAX_EVENT_DETAIL] = "";

	ck_assert_int_eq(orch_device_set_groups(st, "d1", "north;beta", "rita (release-manager)",
						&d, &changed, &err),
			 FOTA_OK);
	/* As stored, everything but the groups kept. */
	ck_assert_str_eq(d.groups, "beta,north");
	ck_assert_str_eq(d.model, "gw-100");
	ck_assert_int_eq(d.last_seen, 1796000000);
	ck_assert(d.online);
	ck_assert_uint_eq(changed.n, 1);
	ck_assert_str_eq(changed.e[0].id, "d1");
	ck_assert_str_eq(changed.e[0].old_groups, "lab");
	ck_assert_int_eq(st->ops->event_each(st, NULL, "d1", count_events, detail, &err), FOTA_OK);
	ck_assert_str_eq(detail, "lab -> beta,north by rita (release-manager)");
	orch_assign_list_free(&changed);
}
END_TEST

/* A refusal changes nothing: no groups, no event, no assignment to send. */
START_TEST(test_set_groups_refused)
{
	struct orch_assign_list changed = {0};
	struct fota_error err = {0};
	struct orch_device d;
	char detail[ORCH_MAX_EVENT_DETAIL] = "";

	ck_assert_int_eq(orch_device_set_groups(st, "d1", "ok,a b", "x", &d, &changed, &err),
			 FOTA_ERR_FIELD);
	ck_assert_int_eq(orch_device_set_groups(st, "d9", "ok", "x", &d, &changed, &err),
			 FOTA_ERR_NOT_FOUND);
	ck_assert_uint_eq(changed.n, 0);
	ck_assert_int_eq(st->ops->device_get(st, "d1", &d, &err), FOTA_OK);
	ck_assert_str_eq(d.groups, "lab");
	ck_assert_int_eq(st->ops->event_each(st, NULL, NULL, count_events, detail, &err), FOTA_OK);
	ck_assert_str_eq(detail, "");
	orch_assign_list_free(&changed);
}
END_TEST

START_TEST(test_json)
{
	struct orch_device d = {.last_seen = 0};
	cJSON *o;

	snprintf(d.id, sizeof(d.id), "d2");
	o = orch_device_json(&d);
	ck_assert_str_eq(cJSON_GetObjectItem(o, "device")->valuestring, "d2");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "last_seen")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "last_seen_time")));
	cJSON_Delete(o);
	d.last_seen = 1796000000;
	o = orch_device_json(&d);
	ck_assert_int_eq((int64_t)cJSON_GetObjectItem(o, "last_seen")->valuedouble, 1796000000);
	ck_assert_str_eq(cJSON_GetObjectItem(o, "last_seen_time")->valuestring,
			 "2026-11-30T00:53:20Z");
	cJSON_Delete(o);
}
END_TEST

/* Without an orchestrator key only the registry changes: nothing is connected to. */
START_TEST(test_publish_without_key)
{
	struct orch_assign_list l = {0};
	struct orch_config cfg;
	struct fota_error err = {0};
	bool published = true;

	orch_config_init(&cfg);
	cfg.orch_key[0] = '\0';
	snprintf(cfg.uri, sizeof(cfg.uri), "ssl://127.0.0.1:1");
	ck_assert_int_eq(orch_assign_list_add(&l, "d1", "lab", &err), FOTA_OK);
	ck_assert_int_eq(
	    orch_device_assignments_publish(&cfg, st, &l, "-api", false, &published, &err),
	    FOTA_OK);
	ck_assert(!published);
	orch_assign_list_free(&l);
}
END_TEST

static Suite *device_service_suite(void)
{
	Suite *s = suite_create("device_service");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_groups_parse);
	tcase_add_test(tc, test_set_groups);
	tcase_add_test(tc, test_set_groups_refused);
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_publish_without_key);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(device_service_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
