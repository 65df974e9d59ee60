/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private header: the decisions of an A/B trial (docs/install.md, "What the agent does when it
 * starts with a probation record"), as pure functions. The agent gathers the facts (journal,
 * boot environment, running slot, boot id, clock), asks here, and does the I/O.
 */
#ifndef FOTA_CLIENT_PROBATION_H
#define FOTA_CLIENT_PROBATION_H

#include <stdbool.h>
#include <stdint.h>

#include "bootctl.h"
#include "fota/limits.h"
#include "health.h"
#include "journal.h"

/* confirm_timeout_s of a record that has none. */
#define PROBATION_DEFAULT_CONFIRM_S 300u

/* What the agent knows at start about a pending trial. */
struct probation_facts {
	enum journal_phase phase; /* never JOURNAL_PHASE_NONE */
	enum bootctl_slot trial;  /* the slot on probation */
	enum bootctl_slot running;
	bool env_ok; /* the boot environment could be read; env is meaningless otherwise */
	struct bootctl_state env;
	const char *reason;	    /* the recorded reason (phase rolling_back) */
	uint32_t boot_attempts;	    /* agent starts on the trial slot recorded so far */
	uint32_t max_boot_attempts; /* client config */
	uint32_t confirm_timeout_s; /* 0: PROBATION_DEFAULT_CONFIRM_S */
	/* The probation clock: CLOCK_BOOTTIME milliseconds, which only mean something within the
	 * boot that measured them. */
	bool same_boot;	  /* the recorded boot id is this boot's */
	int64_t since_ms; /* recorded: boot clock at the first agent start in that boot */
	int64_t now_ms;	  /* boot clock now */
};

enum probation_action {
	PROBATION_DROP,	       /* never armed: forget the record, the directive comes again */
	PROBATION_WAIT,	       /* cannot tell: keep the record, new directives wait */
	PROBATION_REBOOT,      /* armed, the reboot never came: report rebooting, reboot */
	PROBATION_ROLLED_BACK, /* the old slot runs, the trial is over: record, report */
	PROBATION_ROLL_BACK,   /* the trial slot runs and must not stay: record, switch, reboot */
	PROBATION_COMMIT,      /* the trial slot passed: mark it good, report confirmed */
	PROBATION_TEST,	       /* run the health check within check_ms */
};

struct probation_decision {
	enum probation_action action;
	/* ROLLED_BACK: the environment still names the trial or counts boots; write
	 * boot_slot=running upgrade_available=0 bootcount=0 once the reason is journalled. */
	bool reset_env;
	/* ROLL_BACK and ROLLED_BACK: what to report and journal. */
	char reason[FOTA_MAX_REASON_LEN + 1];
	/* On the trial slot (phase testing): the record to save before acting. */
	bool save_clock;
	uint32_t boot_attempts;
	int64_t since_ms;
	/* TEST: what is left of confirm_timeout_s. */
	int64_t check_ms;
};

/* The start-up decision, row by row of the table in docs/install.md. */
void probation_decide(const struct probation_facts *f, struct probation_decision *d);

/* The health check ended with hs (err_msg: health_check's message): COMMIT on
 * HEALTH_PASSED, else ROLL_BACK with the check's reason. */
void probation_after_check(enum health_status hs, const char *err_msg,
			   struct probation_decision *d);

const char *probation_action_name(enum probation_action a);

#endif
