/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the rules by which `serve` sends a device its group assignment: when a
 * campaign finds it not following its registry groups, and when one is due for renewal. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "assign.h"
#include "store.h"

#define NOW 1800000000

static struct orch_device dev(const char *groups, const char *reported, const char *assigned,
			      int64_t published, int64_t last_seen)
{
	struct orch_device d;

	memset(&d, 0, sizeof(d));
	strcpy(d.id, "gw-1");
	strcpy(d.groups, groups);
	strcpy(d.reported, reported);
	strcpy(d.assigned, assigned);
	d.assignment_seq = published ? 4 : 0;
	d.assignment_published = published;
	d.assignment_expires = published ? published + 365 * 86400 : 0;
	d.last_seen = last_seen;
	return d;
}

START_TEST(test_same_groups)
{
	ck_assert(orch_assign_same_groups("canary,lab", "lab,canary"));
	ck_assert(orch_assign_same_groups("", ""));
	ck_assert(!orch_assign_same_groups("lab", "lab,canary"));
	ck_assert(!orch_assign_same_groups("lab,canary", "lab"));
	ck_assert(!orch_assign_same_groups("lab", "la"));
}
END_TEST

START_TEST(test_needed)
{
	struct orch_device d;

	/* Follows its registry groups (in any order): nothing to send. */
	d = dev("canary,lab", "lab,canary", "", 0, NOW);
	ck_assert(!orch_assign_needed(&d, NOW));
	/* Never published (`device add` had no key or no broker): send. */
	d = dev("canary,lab", "lab", "", 0, NOW);
	ck_assert(orch_assign_needed(&d, NOW));
	/* Never reported at all: send, the retained copy waits for it. */
	d = dev("canary", "", "", 0, 0);
	ck_assert(orch_assign_needed(&d, NOW));
	/* Published for older groups: send. */
	d = dev("canary,lab", "lab", "lab", NOW - 10, NOW);
	ck_assert(orch_assign_needed(&d, NOW));
	/* Published with these groups, on its way: wait... */
	d = dev("canary,lab", "lab", "canary,lab", NOW - 10, NOW);
	ck_assert(!orch_assign_needed(&d, NOW));
	/* ...also long after, while the device is silent (the retained copy waits)... */
	d = dev("canary,lab", "lab", "canary,lab", NOW - 3600, NOW - 7200);
	ck_assert(!orch_assign_needed(&d, NOW));
	/* ...but a device that reported since and still does not follow it gets it again. */
	d = dev("canary,lab", "lab", "canary,lab", NOW - ORCH_ASSIGNMENT_RETRY_S, NOW - 1);
	ck_assert(orch_assign_needed(&d, NOW));
	d = dev("canary,lab", "lab", "canary,lab", NOW - ORCH_ASSIGNMENT_RETRY_S + 1, NOW - 1);
	ck_assert(!orch_assign_needed(&d, NOW));
}
END_TEST

START_TEST(test_due)
{
	struct orch_device d = dev("lab", "lab", "lab", NOW, NOW);

	ck_assert(!orch_assign_due(&d, NOW));
	d.assignment_expires = NOW + (int64_t)ORCH_ASSIGNMENT_RENEW_DAYS * 86400 + 1;
	ck_assert(!orch_assign_due(&d, NOW));
	d.assignment_expires = NOW + (int64_t)ORCH_ASSIGNMENT_RENEW_DAYS * 86400;
	ck_assert(orch_assign_due(&d, NOW));
	d.assignment_expires = NOW - 1;
	ck_assert(orch_assign_due(&d, NOW));
	/* Never published: nothing to renew. */
	d = dev("lab", "", "", 0, 0);
	ck_assert(!orch_assign_due(&d, NOW));
}
END_TEST

static Suite *assign_suite(void)
{
	Suite *s = suite_create("assign");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, test_same_groups);
	tcase_add_test(tc, test_needed);
	tcase_add_test(tc, test_due);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(assign_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
