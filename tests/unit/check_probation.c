/* SPDX-License-Identifier: Apache-2.0 */
/* The A/B trial decisions (probation.c), row by row of the table in docs/install.md. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "probation.h"
#include "testutil.h"

#define A BOOTCTL_SLOT_A
#define B BOOTCTL_SLOT_B
#define NOW 5000000 /* boot clock now, ms */
#define ENV(slot, up, count)                                                                       \
	true,                                                                                      \
	{                                                                                          \
		slot, up, count, 3                                                                 \
	}
#define NO_ENV                                                                                     \
	false,                                                                                     \
	{                                                                                          \
		A, false, 0, 0                                                                     \
	}

struct row {
	const char *what;
	enum journal_phase phase;
	enum bootctl_slot running;
	bool env_ok;
	struct bootctl_state env;
	uint32_t boot_attempts;
	uint32_t confirm_timeout_s;
	bool same_boot;
	int64_t since_ms;
	/* expected */
	enum probation_action action;
	bool reset_env;
	const char *reason; /* exact; NULL: empty */
	int64_t check_ms;   /* TEST only */
	uint32_t attempts;  /* on the trial slot, unless the phase is rolling_back */
	int64_t since;	    /* on the trial slot, unless the phase is rolling_back */
};

#define RECORDED "health check 'check.sh' failed: exited with code 3"

static const struct row rows[] = {
    /* The trial slot runs. */
    {"first start on the trial slot: test with the whole confirm timeout", JOURNAL_PHASE_SWITCHED,
     B, ENV(B, true, 1), 0, 60, false, 0, PROBATION_TEST, false, NULL, 60000, 1, NOW},
    {"agent restarted in the same boot: test with what is left", JOURNAL_PHASE_TESTING, B,
     ENV(B, true, 1), 1, 60, true, NOW - 20000, PROBATION_TEST, false, NULL, 40000, 2, NOW - 20000},
    {"same boot, confirm timeout used up: roll back", JOURNAL_PHASE_TESTING, B, ENV(B, true, 1), 1,
     60, true, NOW - 60000, PROBATION_ROLL_BACK, false,
     "confirm timeout of 60 s passed before slot B passed its health check", 0, 2, NOW - 60000},
    {"a new boot of the trial slot starts a new count", JOURNAL_PHASE_TESTING, B, ENV(B, true, 2),
     1, 60, false, NOW + 999999, PROBATION_TEST, false, NULL, 60000, 2, NOW},
    {"a recorded start later than now cannot be this boot's", JOURNAL_PHASE_TESTING, B,
     ENV(B, true, 1), 1, 60, true, NOW + 1, PROBATION_TEST, false, NULL, 60000, 2, NOW},
    {"no confirm timeout in the record: the default", JOURNAL_PHASE_SWITCHED, B, ENV(B, true, 1), 0,
     0, false, 0, PROBATION_TEST, false, NULL, PROBATION_DEFAULT_CONFIRM_S * 1000LL, 1, NOW},
    {"past max_boot_attempts: roll back", JOURNAL_PHASE_TESTING, B, ENV(B, true, 3), 3, 60, false,
     0, PROBATION_ROLL_BACK, false,
     "agent started 4 times on slot B without confirming it (limit 3)", 0, 4, NOW},
    {"unreadable environment on the trial slot: test (mark_good will say)", JOURNAL_PHASE_SWITCHED,
     B, NO_ENV, 0, 60, false, 0, PROBATION_TEST, false, NULL, 60000, 1, NOW},
    {"confirmed in the environment, journal cut before: finish the commit", JOURNAL_PHASE_TESTING,
     B, ENV(B, false, 0), 1, 60, true, NOW, PROBATION_COMMIT, false, NULL, 0, 0, 0},
    {"decided to roll back, still on the trial slot: switch back", JOURNAL_PHASE_ROLLING_BACK, B,
     ENV(B, true, 1), 1, 60, true, NOW, PROBATION_ROLL_BACK, false, RECORDED, 0, 0, 0},
    /* The old slot runs. */
    {"bootloader fell back", JOURNAL_PHASE_SWITCHED, A, ENV(A, false, 4), 0, 60, false, 0,
     PROBATION_ROLLED_BACK, true, "bootloader fell back to slot A after 4 boot attempts of slot B",
     0, 0, 0},
    {"bootloader fell back after the agent ran on the trial slot", JOURNAL_PHASE_TESTING, A,
     ENV(A, false, 4), 2, 60, false, 0, PROBATION_ROLLED_BACK, true,
     "bootloader fell back to slot A after 4 boot attempts of slot B", 0, 0, 0},
    {"armed, the reboot never came", JOURNAL_PHASE_SWITCHED, A, ENV(B, true, 0), 0, 60, false, 0,
     PROBATION_REBOOT, false, NULL, 0, 0, 0},
    {"armed during phase arming, the reboot never came", JOURNAL_PHASE_ARMING, A, ENV(B, true, 0),
     0, 60, false, 0, PROBATION_REBOOT, false, NULL, 0, 0, 0},
    {"phase arming, not armed: drop", JOURNAL_PHASE_ARMING, A, ENV(A, false, 0), 0, 60, false, 0,
     PROBATION_DROP, false, NULL, 0, 0, 0},
    {"phase arming, environment unreadable: drop", JOURNAL_PHASE_ARMING, A, NO_ENV, 0, 60, false, 0,
     PROBATION_DROP, false, NULL, 0, 0, 0},
    {"phase switched, environment back on the old slot: ended unconfirmed", JOURNAL_PHASE_SWITCHED,
     A, ENV(A, false, 0), 0, 60, false, 0, PROBATION_ROLLED_BACK, false,
     "trial of slot B ended unconfirmed: the boot environment boots slot A again", 0, 0, 0},
    {"phase testing, environment back on the old slot: ended unconfirmed", JOURNAL_PHASE_TESTING, A,
     ENV(A, false, 0), 1, 60, false, 0, PROBATION_ROLLED_BACK, false,
     "trial of slot B ended unconfirmed: the boot environment boots slot A again", 0, 0, 0},
    {"phase switched, environment unreadable: keep the record", JOURNAL_PHASE_SWITCHED, A, NO_ENV,
     0, 60, false, 0, PROBATION_WAIT, false, NULL, 0, 0, 0},
    {"phase testing, environment unreadable: keep the record", JOURNAL_PHASE_TESTING, A, NO_ENV, 1,
     60, false, 0, PROBATION_WAIT, false, NULL, 0, 0, 0},
    {"rolling back, cut before bootcount was cleared: clear it, report the record",
     JOURNAL_PHASE_ROLLING_BACK, A, ENV(A, false, 4), 0, 60, false, 0, PROBATION_ROLLED_BACK, true,
     RECORDED, 0, 0, 0},
    {"rolling back, cut before the switch back was written (no reboot yet seen)",
     JOURNAL_PHASE_ROLLING_BACK, A, ENV(B, true, 2), 1, 60, false, 0, PROBATION_ROLLED_BACK, true,
     RECORDED, 0, 0, 0},
    {"rolling back, environment already clean: report the record", JOURNAL_PHASE_ROLLING_BACK, A,
     ENV(A, false, 0), 1, 60, false, 0, PROBATION_ROLLED_BACK, false, RECORDED, 0, 0, 0},
    {"rolling back, environment unreadable: report the record", JOURNAL_PHASE_ROLLING_BACK, A,
     NO_ENV, 1, 60, false, 0, PROBATION_ROLLED_BACK, false, RECORDED, 0, 0, 0},
};

START_TEST(test_row)
{
	const struct row *r = &rows[_i];
	struct probation_facts f = {0};
	struct probation_decision d;

	f.phase = r->phase;
	f.trial = B;
	f.running = r->running;
	f.env_ok = r->env_ok;
	f.env = r->env;
	f.reason = RECORDED;
	f.boot_attempts = r->boot_attempts;
	f.max_boot_attempts = 3;
	f.confirm_timeout_s = r->confirm_timeout_s;
	f.same_boot = r->same_boot;
	f.since_ms = r->since_ms;
	f.now_ms = NOW;
	probation_decide(&f, &d);
	ck_assert_msg(d.action == r->action, "%s: %s, want %s", r->what,
		      probation_action_name(d.action), probation_action_name(r->action));
	ck_assert_msg(d.reset_env == r->reset_env, "%s: reset_env %d", r->what, d.reset_env);
	ck_assert_msg(strcmp(d.reason, r->reason ? r->reason : "") == 0, "%s: reason '%s'", r->what,
		      d.reason);
	if (r->action == PROBATION_TEST)
		ck_assert_msg(d.check_ms == r->check_ms, "%s: check_ms %lld", r->what,
			      (long long)d.check_ms);
	if (r->running == B && r->phase != JOURNAL_PHASE_ROLLING_BACK &&
	    r->action != PROBATION_COMMIT) {
		ck_assert_msg(d.save_clock, "%s: the clock is saved on the trial slot", r->what);
		ck_assert_msg(d.boot_attempts == r->attempts, "%s: attempts %u", r->what,
			      d.boot_attempts);
		ck_assert_msg(d.since_ms == r->since, "%s: since %lld", r->what,
			      (long long)d.since_ms);
	} else {
		ck_assert_msg(!d.save_clock, "%s: nothing to save", r->what);
	}
}
END_TEST

/* The decision never looks at the wall clock: the same facts give the same answer. */
START_TEST(test_pure)
{
	struct probation_facts f = {0};
	struct probation_decision d1, d2;

	f.phase = JOURNAL_PHASE_TESTING;
	f.trial = B;
	f.running = B;
	f.env_ok = true;
	f.env.primary = B;
	f.env.upgrade_available = true;
	f.max_boot_attempts = 3;
	f.confirm_timeout_s = 60;
	f.same_boot = true;
	f.since_ms = NOW - 1000;
	f.now_ms = NOW;
	probation_decide(&f, &d1);
	probation_decide(&f, &d2);
	ck_assert_int_eq(memcmp(&d1, &d2, sizeof(d1)), 0);
	ck_assert_int_eq(d1.check_ms, 59000);
}
END_TEST

START_TEST(test_after_check)
{
	struct probation_decision d;

	probation_after_check(HEALTH_PASSED, "", &d);
	ck_assert_int_eq(d.action, PROBATION_COMMIT);
	ck_assert_str_eq(d.reason, "");
	probation_after_check(HEALTH_FAILED, RECORDED, &d);
	ck_assert_int_eq(d.action, PROBATION_ROLL_BACK);
	ck_assert_str_eq(d.reason, RECORDED);
	probation_after_check(HEALTH_TIMED_OUT, "health check 'check.sh' timed out after 5000 ms",
			      &d);
	ck_assert_int_eq(d.action, PROBATION_ROLL_BACK);
	ck_assert_str_eq(d.reason,
			 "health check 'check.sh' timed out after 5000 ms (confirm timeout)");
	probation_after_check(HEALTH_NOT_STARTED, "health check 'nope': not found", &d);
	ck_assert_int_eq(d.action, PROBATION_ROLL_BACK);
	ck_assert_str_eq(d.reason, "health check 'nope': not found");
}
END_TEST

static Suite *probation_suite(void)
{
	Suite *s = suite_create("probation");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_row, 0, (int)(sizeof(rows) / sizeof(rows[0])));
	tcase_add_test(tc, test_pure);
	tcase_add_test(tc, test_after_check);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(probation_suite());
}
