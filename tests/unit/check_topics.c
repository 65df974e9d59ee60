/* SPDX-License-Identifier: Apache-2.0 */
/* Topic scheme: segment and prefix rules, build/parse round trips, refusals, filters. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/topics.h"
#include "testutil.h"

static const struct {
	const char *s;
	bool ok;
} segments[] = {
    {"gw-0001", true},
    {"A.b_c-9", true},
    {"x", true},
    {"...", true},
    {"0123456789012345678901234567890123456789012345678901234567890123", true},
    {"01234567890123456789012345678901234567890123456789012345678901234", false},
    {"", false},
    {".", false},
    {"..", false},
    {"a+b", false},
    {"a#", false},
    {"a/b", false},
    {"a b", false},
    {"caf\xc3\xa9", false},
    {"$SYS", false},
};

START_TEST(test_segment)
{
	ck_assert_msg(fota_topic_segment_valid(segments[_i].s) == segments[_i].ok, "'%s'",
		      segments[_i].s);
}
END_TEST

static const struct {
	const char *s;
	bool ok;
} prefixes[] = {
    {"fota/v1", true},
    {"fota", true},
    {"acme/prod/fota/v2", true},
    {"", false},
    {"/fota/v1", false},
    {"fota/v1/", false},
    {"fota//v1", false},
    {"fota/+/v1", false},
    {"fota/#", false},
    {"fota/../v1", false},
    {"$share/g/fota", false},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
};

START_TEST(test_prefix)
{
	ck_assert_msg(fota_topic_prefix_valid(prefixes[_i].s) == prefixes[_i].ok, "'%s'",
		      prefixes[_i].s);
}
END_TEST

static const struct {
	const char *prefix;
	struct fota_topic t;
	const char *topic;
} built[] = {
    {NULL, {.kind = FOTA_TOPIC_GROUP_DIRECTIVE, .group = "eu"}, "fota/v1/groups/eu/directive"},
    {"fota/v1",
     {.kind = FOTA_TOPIC_GROUP_CHUNKS, .group = "eu", .image_id = "0123456789abcdef"},
     "fota/v1/groups/eu/images/0123456789abcdef/chunks"},
    {"acme/fota",
     {.kind = FOTA_TOPIC_GROUP_TABLE, .group = "g.1", .image_id = "fedcba9876543210"},
     "acme/fota/groups/g.1/images/fedcba9876543210/table"},
    {"fota/v1",
     {.kind = FOTA_TOPIC_DEVICE_STATUS, .device = "gw-1"},
     "fota/v1/devices/gw-1/status"},
    {"fota/v1",
     {.kind = FOTA_TOPIC_DEVICE_REQUEST, .device = "gw_2"},
     "fota/v1/devices/gw_2/request"},
    {"x", {.kind = FOTA_TOPIC_DEVICE_CHUNKS, .device = "D3"}, "x/devices/D3/chunks"},
    {"fota/v1",
     {.kind = FOTA_TOPIC_DEVICE_ASSIGNMENT, .device = "gw-1"},
     "fota/v1/devices/gw-1/assignment"},
    {"fota/v1", {.kind = FOTA_TOPIC_DEVICE_KEY, .device = "gw-1"}, "fota/v1/devices/gw-1/key"},
};

START_TEST(test_build_parse)
{
	char buf[FOTA_MAX_TOPIC_LEN + 1];
	struct fota_topic back;
	struct fota_error err = {0};

	ck_assert_msg(fota_topic_build(built[_i].prefix, &built[_i].t, buf, sizeof(buf), &err) ==
			  FOTA_OK,
		      "%s", err.msg);
	ck_assert_str_eq(buf, built[_i].topic);
	ck_assert_msg(fota_topic_parse(built[_i].prefix, buf, &back, &err) == FOTA_OK, "%s",
		      err.msg);
	ck_assert_int_eq(back.kind, built[_i].t.kind);
	ck_assert_str_eq(back.group, built[_i].t.group);
	ck_assert_str_eq(back.device, built[_i].t.device);
	ck_assert_str_eq(back.image_id, built[_i].t.image_id);
}
END_TEST

static const char *const unparsable[] = {
    "",
    "fota/v1",
    "fota/v1/",
    "fota/v2/groups/eu/directive",
    "fota/v1x/groups/eu/directive",
    "other/fota/v1/groups/eu/directive",
    "fota/v1/groups/eu",
    "fota/v1/groups/eu/directive/extra",
    "fota/v1/groups//directive",
    "fota/v1/groups/+/directive",
    "fota/v1/groups/#",
    "fota/v1/groups/../directive",
    "fota/v1/groups/eu/images/0123456789abcdef",
    "fota/v1/groups/eu/images/0123456789ABCDEF/chunks",
    "fota/v1/groups/eu/images/0123456789abcde/chunks",
    "fota/v1/groups/eu/images/0123456789abcdef0/chunks",
    "fota/v1/groups/eu/images/0123456789abcdef/status",
    "fota/v1/groups/eu/images/0123456789abcdef/chunks/x",
    "fota/v1/groups/eu/status",
    "fota/v1/devices/gw-1",
    "fota/v1/devices/gw-1/directive",
    "fota/v1/devices/gw-1/status/",
    "fota/v1/devices/gw-1/status/x",
    "fota/v1/devices/gw 1/status",
    "fota/v1/devices/+/status",
    "fota/v1/Devices/gw-1/status",
    "fota/v1/devices/gw-1/a/b/c/d/e/f",
};

START_TEST(test_parse_refuses)
{
	struct fota_topic t;
	struct fota_error err = {0};

	ck_assert_msg(fota_topic_parse("fota/v1", unparsable[_i], &t, &err) == FOTA_ERR_PARSE,
		      "'%s' accepted", unparsable[_i]);
	ck_assert_str_ne(err.msg, "");
}
END_TEST

START_TEST(test_parse_limits)
{
	char topic[400];
	struct fota_topic t;
	struct fota_error err = {0};

	memset(topic, 'a', sizeof(topic) - 1);
	topic[sizeof(topic) - 1] = '\0';
	memcpy(topic, "fota/v1/devices/", 16);
	ck_assert_int_eq(fota_topic_parse("fota/v1", topic, &t, &err), FOTA_ERR_PARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "longer than 256"));
	ck_assert_int_eq(fota_topic_parse("fota/+", "fota/+/devices/a/status", &t, &err),
			 FOTA_ERR_INVAL);
	ck_assert_int_eq(fota_topic_parse("fota/v1", NULL, &t, &err), FOTA_ERR_INVAL);
}
END_TEST

START_TEST(test_build_refuses)
{
	char buf[FOTA_MAX_TOPIC_LEN + 1];
	struct fota_topic t = {.kind = FOTA_TOPIC_GROUP_DIRECTIVE, .group = "eu+"};
	struct fota_error err = {0};

	ck_assert_int_eq(fota_topic_build("fota/v1", &t, buf, sizeof(buf), &err), FOTA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "group"));
	t = (struct fota_topic){.kind = FOTA_TOPIC_DEVICE_STATUS, .device = ""};
	ck_assert_int_eq(fota_topic_build("fota/v1", &t, buf, sizeof(buf), &err), FOTA_ERR_INVAL);
	t = (struct fota_topic){
	    .kind = FOTA_TOPIC_GROUP_CHUNKS, .group = "eu", .image_id = "0123456789ABCDEF"};
	ck_assert_int_eq(fota_topic_build("fota/v1", &t, buf, sizeof(buf), &err), FOTA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "image id"));
	t = (struct fota_topic){.kind = (enum fota_topic_kind)42, .group = "eu"};
	ck_assert_int_eq(fota_topic_build("fota/v1", &t, buf, sizeof(buf), &err), FOTA_ERR_INVAL);
	t = (struct fota_topic){.kind = FOTA_TOPIC_GROUP_DIRECTIVE, .group = "eu"};
	ck_assert_int_eq(fota_topic_build("fota/v1/", &t, buf, sizeof(buf), &err), FOTA_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "prefix"));
	/* "fota/v1/groups/eu/directive" is 27 bytes plus NUL. */
	ck_assert_int_eq(fota_topic_build("fota/v1", &t, buf, 27, &err), FOTA_ERR_TOO_BIG);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(fota_topic_build("fota/v1", &t, buf, 28, &err), FOTA_OK);
	ck_assert_int_eq(fota_topic_build("fota/v1", NULL, buf, 28, &err), FOTA_ERR_INVAL);
}
END_TEST

START_TEST(test_filters)
{
	char buf[FOTA_MAX_TOPIC_LEN + 1];
	struct fota_error err = {0};

	ck_assert_int_eq(fota_topic_group_filter(NULL, "eu", buf, sizeof(buf), &err), FOTA_OK);
	ck_assert_str_eq(buf, "fota/v1/groups/eu/#");
	ck_assert_int_eq(fota_topic_devices_filter("acme/fota", "status", buf, sizeof(buf), &err),
			 FOTA_OK);
	ck_assert_str_eq(buf, "acme/fota/devices/+/status");
	ck_assert_int_eq(fota_topic_devices_filter("fota/v1", "request", buf, sizeof(buf), &err),
			 FOTA_OK);
	ck_assert_str_eq(buf, "fota/v1/devices/+/request");
	ck_assert_int_eq(fota_topic_devices_filter("fota/v1", "#", buf, sizeof(buf), &err),
			 FOTA_ERR_INVAL);
	ck_assert_int_eq(fota_topic_devices_filter("fota/v1", NULL, buf, sizeof(buf), &err),
			 FOTA_ERR_INVAL);
	ck_assert_int_eq(fota_topic_group_filter("fota/v1", "+", buf, sizeof(buf), &err),
			 FOTA_ERR_INVAL);
	ck_assert_int_eq(fota_topic_group_filter("fota/v1", NULL, buf, sizeof(buf), &err),
			 FOTA_ERR_INVAL);
	ck_assert_int_eq(fota_topic_group_filter("fota/v1", "eu", buf, 4, &err), FOTA_ERR_TOO_BIG);
	ck_assert_int_eq(fota_topic_group_images_filter(NULL, "eu", FOTA_TOPIC_GROUP_CHUNKS, buf,
							sizeof(buf), &err),
			 FOTA_OK);
	ck_assert_str_eq(buf, "fota/v1/groups/eu/images/+/chunks");
	ck_assert_int_eq(fota_topic_group_images_filter("fota/v1", "#", FOTA_TOPIC_GROUP_CHUNKS,
							buf, sizeof(buf), &err),
			 FOTA_ERR_INVAL);
}
END_TEST

static const struct {
	enum fota_topic_kind kind;
	size_t limit;
} payload_limits[] = {
    {FOTA_TOPIC_GROUP_DIRECTIVE, FOTA_MAX_DIRECTIVE_BYTES},
    {FOTA_TOPIC_GROUP_CHUNKS, FOTA_MAX_FRAME_BYTES + 224},
    {FOTA_TOPIC_GROUP_TABLE, FOTA_MAX_FRAME_BYTES + 224},
    {FOTA_TOPIC_DEVICE_CHUNKS, FOTA_MAX_FRAME_BYTES + 224},
    {FOTA_TOPIC_DEVICE_STATUS, FOTA_MAX_STATUS_BYTES},
    {FOTA_TOPIC_DEVICE_REQUEST, FOTA_MAX_REQUEST_BYTES},
    {FOTA_TOPIC_DEVICE_ASSIGNMENT, FOTA_MAX_ASSIGNMENT_BYTES},
    {FOTA_TOPIC_DEVICE_KEY, FOTA_MAX_KEY_DOC_BYTES},
};

/* Every kind has our own limit: at it a message passes, one byte over it is dropped with a
 * reason that names the topic, the size and the limit. */
START_TEST(test_payload_limits)
{
	struct fota_topic t = {.kind = payload_limits[_i].kind};
	struct fota_error err = {0};
	char size[32];

	ck_assert_uint_eq(fota_topic_payload_limit(t.kind), payload_limits[_i].limit);
	ck_assert_int_eq(fota_topic_payload_check(&t, "fota/v1/x", payload_limits[_i].limit, &err),
			 FOTA_OK);
	ck_assert_int_eq(
	    fota_topic_payload_check(&t, "fota/v1/x", payload_limits[_i].limit + 1, &err),
	    FOTA_ERR_TOO_BIG);
	snprintf(size, sizeof(size), "%zu bytes", payload_limits[_i].limit + 1);
	ck_assert_msg(strstr(err.msg, size) && strstr(err.msg, "fota/v1/x"), "%s", err.msg);
}
END_TEST

static Suite *topics_suite(void)
{
	Suite *s = suite_create("topics");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_segment, 0, TU_N(segments));
	tcase_add_loop_test(tc, test_prefix, 0, TU_N(prefixes));
	tcase_add_loop_test(tc, test_build_parse, 0, TU_N(built));
	tcase_add_loop_test(tc, test_parse_refuses, 0, TU_N(unparsable));
	tcase_add_test(tc, test_parse_limits);
	tcase_add_test(tc, test_build_refuses);
	tcase_add_test(tc, test_filters);
	tcase_add_loop_test(tc, test_payload_limits, 0, TU_N(payload_limits));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(topics_suite());
}
