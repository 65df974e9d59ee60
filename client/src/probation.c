/* SPDX-License-Identifier: Apache-2.0 */
/* The decisions of an A/B trial: no I/O, no clock reads; see probation.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "probation.h"

static void set_reason(struct probation_decision *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_reason(struct probation_decision *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
}

/* The environment still says anything but "the running slot, no probation, no count". */
static bool env_needs_reset(const struct probation_facts *f)
{
	return f->env_ok &&
	       (f->env.primary != f->running || f->env.upgrade_available || f->env.bootcount != 0);
}

/* The old slot runs. */
static void on_old_slot(const struct probation_facts *f, struct probation_decision *d)
{
	const char *trial = bootctl_slot_name(f->trial), *running = bootctl_slot_name(f->running);

	if (f->phase == JOURNAL_PHASE_ROLLING_BACK) {
		/* The decision was made and recorded; a cut may have come before the environment
		 * was written back. */
		d->action = PROBATION_ROLLED_BACK;
		d->reset_env = env_needs_reset(f);
		set_reason(d, "%s", f->reason ? f->reason : "");
		return;
	}
	if (f->env_ok && !f->env.upgrade_available && f->env.bootcount > 0) {
		d->action = PROBATION_ROLLED_BACK;
		d->reset_env = true;
		set_reason(d, "bootloader fell back to slot %s after %u boot attempts of slot %s",
			   running, f->env.bootcount, trial);
		return;
	}
	if (f->env_ok && f->env.upgrade_available && f->env.primary == f->trial) {
		d->action = PROBATION_REBOOT;
		return;
	}
	if (f->phase == JOURNAL_PHASE_ARMING) {
		/* Only this phase means "maybe never armed": slot B is only data. */
		d->action = PROBATION_DROP;
		return;
	}
	if (!f->env_ok) {
		d->action = PROBATION_WAIT;
		return;
	}
	d->action = PROBATION_ROLLED_BACK;
	d->reset_env = env_needs_reset(f);
	set_reason(d,
		   "trial of slot %s ended unconfirmed: the boot environment boots slot %s again",
		   trial, running);
}

/* The trial slot runs. */
static void on_trial_slot(const struct probation_facts *f, struct probation_decision *d)
{
	const char *trial = bootctl_slot_name(f->trial);
	int64_t budget_ms, spent_ms;
	uint32_t confirm_s =
	    f->confirm_timeout_s ? f->confirm_timeout_s : PROBATION_DEFAULT_CONFIRM_S;

	if (f->phase == JOURNAL_PHASE_ROLLING_BACK) {
		d->action = PROBATION_ROLL_BACK; /* the switch back did not happen yet */
		set_reason(d, "%s", f->reason ? f->reason : "");
		return;
	}
	if (f->env_ok && !f->env.upgrade_available && f->env.primary == f->trial) {
		/* Confirmed in the environment; the journal was cut before it said so. */
		d->action = PROBATION_COMMIT;
		return;
	}
	/* Probation time is counted per boot on the boot clock: a clock that NTP or an operator
	 * sets cannot shorten or stretch it. A new boot starts a new count, and uses one of the
	 * boot attempts. */
	d->save_clock = true;
	d->boot_attempts = f->boot_attempts + 1;
	d->since_ms = f->same_boot && f->since_ms <= f->now_ms ? f->since_ms : f->now_ms;
	if (d->boot_attempts > f->max_boot_attempts) {
		d->action = PROBATION_ROLL_BACK;
		set_reason(d, "agent started %u times on slot %s without confirming it (limit %u)",
			   d->boot_attempts, trial, f->max_boot_attempts);
		return;
	}
	budget_ms = (int64_t)confirm_s * 1000;
	spent_ms = f->now_ms - d->since_ms;
	if (spent_ms >= budget_ms) {
		d->action = PROBATION_ROLL_BACK;
		set_reason(d,
			   "confirm timeout of %u s passed before slot %s passed its health check",
			   confirm_s, trial);
		return;
	}
	d->action = PROBATION_TEST;
	d->check_ms = budget_ms - spent_ms;
}

void probation_decide(const struct probation_facts *f, struct probation_decision *d)
{
	memset(d, 0, sizeof(*d));
	if (f->running == f->trial)
		on_trial_slot(f, d);
	else
		on_old_slot(f, d);
}

void probation_after_check(enum health_status hs, const char *err_msg, struct probation_decision *d)
{
	memset(d, 0, sizeof(*d));
	if (hs == HEALTH_PASSED) {
		d->action = PROBATION_COMMIT;
		return;
	}
	d->action = PROBATION_ROLL_BACK;
	set_reason(d, "%.170s%s", err_msg ? err_msg : "",
		   hs == HEALTH_TIMED_OUT ? " (confirm timeout)" : "");
}

const char *probation_action_name(enum probation_action a)
{
	static const char *const names[] = {"drop",	 "wait",   "reboot", "rolled_back",
					    "roll_back", "commit", "test"};

	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}
