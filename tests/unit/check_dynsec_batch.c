/* SPDX-License-Identifier: Apache-2.0 */
/* The dynamic-security plugin's command list for a batch of devices, and the judgement of its
 * answer: a full answer grants every device; an error other than "already exists", a device
 * left in a group of ours it should not hold, answers out of order or missing, bytes after the
 * object, a NUL byte or a response over the limit are each refused with the reason, naming the
 * device, and the devices before it count as granted. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dynsec_batch.h"
#include "testutil.h"

static const struct orch_dynsec_grant grants[] = {
    {.device = "dev-1", .old_groups = "old", .new_groups = "lab,eu"},
    {.device = "dev-2", .old_groups = NULL, .new_groups = "lab"},
    {.device = "dev-3", .old_groups = "lab", .new_groups = NULL},
};
enum { N_GRANTS = sizeof(grants) / sizeof(grants[0]) };

static const struct orch_dynsec_grant *grant_of(const char *device)
{
	for (size_t i = 0; i < N_GRANTS; i++)
		if (strcmp(grants[i].device, device) == 0)
			return &grants[i];
	return NULL;
}

/* How an answer is to differ from the plugin's answer to a batch done as asked. */
struct twist {
	const char *error_on;	 /* this command fails with error_text */
	const char *error_text;	 /* "... already exists" is no failure */
	const char *extra_group; /* dev-2's getClient shows this group too */
	bool swap;		 /* the first two answers name each other's command */
	bool drop_last;		 /* the last answer is missing */
	bool other_list;	 /* the answers carry another list's correlation data */
};

/* The answer to b: every command answered in order, each getClient showing the device with its
 * role and exactly the groups of its grant, twisted as t says. */
static char *answer(const struct orch_dynsec_batch *b, const struct twist *t)
{
	char *text = orch_dynsec_batch_text(b), *out;
	cJSON *sent = cJSON_Parse(text), *root = cJSON_CreateObject();
	cJSON *list = cJSON_AddArrayToObject(root, "responses"), *cmd;

	cJSON_ArrayForEach(cmd, cJSON_GetObjectItem(sent, "commands"))
	{
		const char *name = cJSON_GetObjectItem(cmd, "command")->valuestring;
		cJSON *a = cJSON_CreateObject();

		cJSON_AddStringToObject(a, "command", name);
		cJSON_AddStringToObject(
		    a, "correlationData",
		    t && t->other_list ? "another-0"
				       : cJSON_GetObjectItem(cmd, "correlationData")->valuestring);
		if (t && t->error_on && strcmp(name, t->error_on) == 0)
			cJSON_AddStringToObject(a, "error", t->error_text);
		if (strcmp(name, "getClient") == 0) {
			const char *user = cJSON_GetObjectItem(cmd, "username")->valuestring;
			const struct orch_dynsec_grant *g = grant_of(user);
			cJSON *client =
			    cJSON_AddObjectToObject(cJSON_AddObjectToObject(a, "data"), "client");
			cJSON *roles = cJSON_AddArrayToObject(client, "roles");
			cJSON *groups = cJSON_AddArrayToObject(client, "groups"), *o;
			char name_buf[128];

			cJSON_AddStringToObject(client, "username", user);
			snprintf(name_buf, sizeof(name_buf), "fota-device-%s", user);
			cJSON_AddItemToArray(roles, o = cJSON_CreateObject());
			cJSON_AddStringToObject(o, "rolename", name_buf);
			/* A group that is not ours is none of the judge's business. */
			cJSON_AddItemToArray(groups, o = cJSON_CreateObject());
			cJSON_AddStringToObject(o, "groupname", "operators");
			for (const char *p = g->new_groups; p && *p; p += *p ? 1 : 0) {
				size_t len = strcspn(p, ",");

				snprintf(name_buf, sizeof(name_buf), "fota-group-%.*s", (int)len,
					 p);
				cJSON_AddItemToArray(groups, o = cJSON_CreateObject());
				cJSON_AddStringToObject(o, "groupname", name_buf);
				p += len;
			}
			if (t && t->extra_group && strcmp(user, "dev-2") == 0) {
				cJSON_AddItemToArray(groups, o = cJSON_CreateObject());
				cJSON_AddStringToObject(o, "groupname", t->extra_group);
			}
		}
		cJSON_AddItemToArray(list, a);
	}
	if (t && t->swap) { /* the first two answers name each other's command */
		cJSON *c0 = cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "command");
		cJSON *c1 = cJSON_GetObjectItem(cJSON_GetArrayItem(list, 1), "command");
		char *tmp = c0->valuestring;

		c0->valuestring = c1->valuestring;
		c1->valuestring = tmp;
	}
	if (t && t->drop_last)
		cJSON_DeleteItemFromArray(list, cJSON_GetArraySize(list) - 1);
	out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	cJSON_Delete(sent);
	free(text);
	return out;
}

static struct orch_dynsec_batch *batch(void)
{
	struct orch_dynsec_batch *b = NULL;
	struct fota_error err = {0};

	ck_assert_int_eq(orch_dynsec_batch_new("fota/v1", "t1", grants, N_GRANTS, &b, &err),
			 FOTA_OK);
	return b;
}

/* judge(t, &granted, &err): the batch's judgement of an answer twisted as t says. */
static fota_err judge(const struct twist *t, size_t *granted, struct fota_error *err)
{
	struct orch_dynsec_batch *b = batch();
	char *text = answer(b, t);
	fota_err rc = orch_dynsec_batch_judge(b, text, strlen(text), granted, err);

	free(text);
	orch_dynsec_batch_free(b);
	return rc;
}

/* Each group once, however many devices have it; a getClient per device to check. */
START_TEST(test_command_list)
{
	struct orch_dynsec_batch *b = batch();
	char *text = orch_dynsec_batch_text(b);
	const char *p = text;
	int lab = 0;

	while ((p = strstr(p, "\"createGroup\",\"groupname\":\"fota-group-lab\"")) != NULL) {
		lab++;
		p++;
	}
	ck_assert_int_eq(lab, 1);
	ck_assert_ptr_nonnull(strstr(text, "fota/v1/devices/dev-3/status"));
	ck_assert_ptr_nonnull(
	    strstr(text, "\"removeGroupClient\",\"groupname\":\"fota-group-old\""));
	ck_assert_ptr_nonnull(
	    strstr(text, "\"removeGroupClient\",\"groupname\":\"fota-group-lab\""));
	free(text);
	orch_dynsec_batch_free(b);
}
END_TEST

START_TEST(test_full_answer_grants_all)
{
	struct fota_error err = {0};
	size_t granted = 0;

	ck_assert_int_eq(judge(NULL, &granted, &err), FOTA_OK);
	ck_assert_uint_eq(granted, N_GRANTS);
}
END_TEST

/* A create refused because what it creates exists is what a second grant meets. */
START_TEST(test_already_exists_is_no_failure)
{
	struct twist t = {.error_on = "createRole", .error_text = "Role already exists"};
	struct fota_error err = {0};
	size_t granted = 0;

	ck_assert_int_eq(judge(&t, &granted, &err), FOTA_OK);
	ck_assert_uint_eq(granted, N_GRANTS);
}
END_TEST

START_TEST(test_other_error_is_named)
{
	struct twist t = {.error_on = "createGroup", .error_text = "Internal error"};
	struct fota_error err = {0};
	size_t granted = 9;

	ck_assert_int_eq(judge(&t, &granted, &err), FOTA_ERR_MQTT);
	ck_assert_uint_eq(granted, 0);
	ck_assert_str_eq(err.msg,
			 "device dev-1: dynsec: createGroup fota-group-lab: Internal error");
}
END_TEST

/* dev-2 left in a group of ours it should not hold: dev-1, before it, is granted. */
START_TEST(test_stray_group_fails_the_device)
{
	struct twist t = {.extra_group = "fota-group-stray"};
	struct fota_error err = {0};
	size_t granted = 0;

	ck_assert_int_eq(judge(&t, &granted, &err), FOTA_ERR_MQTT);
	ck_assert_uint_eq(granted, 1);
	ck_assert_str_eq(err.msg, "device dev-2: dynsec: client dev-2 does not hold exactly its "
				  "role and groups lab afterwards");
}
END_TEST

START_TEST(test_out_of_order)
{
	struct twist t = {.swap = true};
	struct fota_error err = {0};
	size_t granted = 9;

	ck_assert_int_eq(judge(&t, &granted, &err), FOTA_ERR_MQTT);
	ck_assert_uint_eq(granted, 0);
	ck_assert_msg(strstr(err.msg, "does not answer the commands sent, in order"), "%s",
		      err.msg);
}
END_TEST

/* An answer to another command list on the same response topic is not ours to judge. */
START_TEST(test_other_list)
{
	struct twist t = {.other_list = true};
	struct fota_error err = {0};
	size_t granted = 9;

	ck_assert_int_eq(judge(&t, &granted, &err), FOTA_ERR_MQTT);
	ck_assert_uint_eq(granted, 0);
	ck_assert_str_eq(err.msg,
			 "device dev-1: dynsec: the broker's response answers another "
			 "command list (correlationData 'another-0' where 't1-0' was sent)");
}
END_TEST

/* Every command carries the batch's tag and its index. */
START_TEST(test_tagged)
{
	struct orch_dynsec_batch *b = batch();
	char *text = orch_dynsec_batch_text(b), want[32];

	snprintf(want, sizeof(want), "\"correlationData\":\"t1-%zu\"",
		 orch_dynsec_batch_commands(b) - 1);
	ck_assert_ptr_nonnull(strstr(text, "\"correlationData\":\"t1-0\""));
	ck_assert_ptr_nonnull(strstr(text, want));
	free(text);
	orch_dynsec_batch_free(b);
}
END_TEST

START_TEST(test_missing_answer)
{
	struct orch_dynsec_batch *b = batch();
	struct twist t = {.drop_last = true};
	struct fota_error err = {0};
	size_t granted = 9;
	char want[128];

	snprintf(want, sizeof(want),
		 "dynsec: the broker's response does not answer the %zu commands",
		 orch_dynsec_batch_commands(b));
	ck_assert_int_eq(judge(&t, &granted, &err), FOTA_ERR_MQTT);
	ck_assert_uint_eq(granted, 0);
	ck_assert_str_eq(err.msg, want);
	orch_dynsec_batch_free(b);
}
END_TEST

/* Bytes after the object, or a NUL byte in it, are refused, not cut off. */
START_TEST(test_strict_json)
{
	struct orch_dynsec_batch *b = batch();
	struct fota_error err = {0};
	char *text = answer(b, NULL);
	size_t len = strlen(text), granted = 9;
	char *more = malloc(len + 8);

	memcpy(more, text, len);
	memcpy(more + len, "{\"x\":1}", 7);
	ck_assert_int_eq(orch_dynsec_batch_judge(b, more, len + 7, &granted, &err), FOTA_ERR_PARSE);
	ck_assert_uint_eq(granted, 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "dynsec: the broker's response"));
	memcpy(more, text, len);
	more[len - 1] = '\0'; /* the closing brace: a NUL in its place, the length kept */
	ck_assert_int_eq(orch_dynsec_batch_judge(b, more, len, &granted, &err), FOTA_ERR_PARSE);
	free(more);
	free(text);
	orch_dynsec_batch_free(b);
}
END_TEST

START_TEST(test_over_the_limit)
{
	struct orch_dynsec_batch *b = batch();
	struct fota_error err = {0};
	size_t len = ORCH_DYNSEC_MAX_RESPONSE_BYTES + 1, granted = 9;
	char *big = malloc(len);

	memset(big, ' ', len);
	ck_assert_int_eq(orch_dynsec_batch_judge(b, big, len, &granted, &err), FOTA_ERR_TOO_BIG);
	ck_assert_uint_eq(granted, 0);
	ck_assert_str_eq(err.msg, "dynsec: the broker's response: 2097153 bytes, limit 2097152");
	free(big);
	orch_dynsec_batch_free(b);
}
END_TEST

START_TEST(test_batch_limit)
{
	struct orch_dynsec_grant many[ORCH_DYNSEC_BATCH + 1];
	struct orch_dynsec_batch *b = NULL;
	struct fota_error err = {0};

	for (size_t i = 0; i < ORCH_DYNSEC_BATCH + 1; i++)
		many[i] = grants[1];
	ck_assert_int_eq(
	    orch_dynsec_batch_new("fota/v1", "t1", many, ORCH_DYNSEC_BATCH + 1, &b, &err),
	    FOTA_ERR_INVAL);
	ck_assert_ptr_null(b);
	ck_assert_ptr_nonnull(strstr(err.msg, "at most 32"));
	ck_assert_int_eq(orch_dynsec_batch_new("fota/v1", "t1", many, ORCH_DYNSEC_BATCH, &b, &err),
			 FOTA_OK);
	orch_dynsec_batch_free(b);
}
END_TEST

static Suite *dynsec_batch_suite(void)
{
	Suite *s = suite_create("dynsec_batch");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_command_list);
	tcase_add_test(tc, test_full_answer_grants_all);
	tcase_add_test(tc, test_already_exists_is_no_failure);
	tcase_add_test(tc, test_other_error_is_named);
	tcase_add_test(tc, test_stray_group_fails_the_device);
	tcase_add_test(tc, test_out_of_order);
	tcase_add_test(tc, test_missing_answer);
	tcase_add_test(tc, test_other_list);
	tcase_add_test(tc, test_tagged);
	tcase_add_test(tc, test_strict_json);
	tcase_add_test(tc, test_over_the_limit);
	tcase_add_test(tc, test_batch_limit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(dynsec_batch_suite());
}
