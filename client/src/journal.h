/* SPDX-License-Identifier: Apache-2.0 */
/* Private header: the agent's durable state in one small JSON file, replaced atomically. */
#ifndef FOTA_CLIENT_JOURNAL_H
#define FOTA_CLIENT_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "fota/digest.h"
#include "fota/error.h"
#include "fota/limits.h"

struct journal_group {
	char name[FOTA_MAX_SEGMENT_LEN + 1];
	uint64_t directive_seq; /* highest directive seen for the group (anti-replay) */
	bool settled;		/* that directive reached a final outcome */
};

/* A boot id as the kernel spells it (a UUID), with room for other sources. */
#define JOURNAL_BOOT_ID_LEN 64

/* Where an A/B switch stands; each phase is saved before the step that leaves it. */
enum journal_phase {
	JOURNAL_PHASE_NONE = 0,
	JOURNAL_PHASE_ARMING,	    /* image verified in the slot, trial boot being armed */
	JOURNAL_PHASE_SWITCHED,	    /* trial boot armed, reboot pending */
	JOURNAL_PHASE_TESTING,	    /* running the new slot, deadline set */
	JOURNAL_PHASE_ROLLING_BACK, /* decided to go back; reason recorded */
};

/* An image on probation: installed in a slot but not confirmed yet. */
struct journal_probation {
	enum journal_phase phase;
	char group[FOTA_MAX_SEGMENT_LEN + 1];
	char campaign[FOTA_MAX_NAME_LEN + 1];
	char image_id[FOTA_IMAGE_ID_HEX_LEN + 1];
	char sha256[FOTA_SHA256_HEX_LEN + 1];
	char version[FOTA_MAX_VERSION_LEN + 1];
	uint64_t sequence;
	char slot[2];	   /* "A" or "B": the slot on trial */
	char from_slot[2]; /* the confirmed slot to go back to */
	uint32_t confirm_timeout_s;
	/* The probation clock (probation.h): the boot the time is counted in, and the boot
	 * clock (CLOCK_BOOTTIME ms) at the agent's first start on the trial slot in that boot. */
	char boot_id[JOURNAL_BOOT_ID_LEN + 1]; /* "" unset */
	int64_t since_ms;
	uint32_t boot_attempts;		      /* agent starts on the trial slot */
	char reason[FOTA_MAX_REASON_LEN + 1]; /* why it is rolling back */
};

/* The final outcome of the last A/B update, kept until a new job starts: a cut right after the
 * commit must not lose the report, and after the reboot that follows a rollback the status
 * must still say what happened. */
struct journal_outcome {
	bool kept;	 /* an outcome is recorded */
	bool reported;	 /* the broker has it */
	char state[24];	 /* fota_state_name */
	char result[32]; /* fota_result_name */
	char reason[FOTA_MAX_REASON_LEN + 1];
	char campaign[FOTA_MAX_NAME_LEN + 1];
	char image_id[FOTA_IMAGE_ID_HEX_LEN + 1];
};

/* The group assignment applied last (fota-assignment/1): from then on its groups, not the
 * configuration's, are the ones the agent follows. */
struct journal_assignment {
	uint64_t seq; /* 0: none applied, the configuration's groups hold */
	int n_groups;
	char groups[CLIENT_MAX_GROUPS][FOTA_MAX_SEGMENT_LEN + 1];
};

struct journal {
	char installed_version[FOTA_MAX_VERSION_LEN + 1];
	uint64_t installed_sequence;
	char installed_sha256[FOTA_SHA256_HEX_LEN + 1]; /* "" when factory image */
	char installed_campaign[FOTA_MAX_NAME_LEN + 1];
	char slot[2]; /* ab-slot: the confirmed slot ("" until the first switch) */
	struct journal_probation probation;
	struct journal_outcome outcome;
	struct journal_group groups[CLIENT_MAX_GROUPS];
	int n_groups;
	struct journal_assignment assignment;
};

/* Loads <state_dir>/journal.json; a missing file gives the factory state; an unreadable one
 * is moved aside (.broken) and the factory state is used, with a warning in err->msg. */
fota_err journal_load(struct journal *j, const char *state_dir, const char *factory_version,
		      struct fota_error *err);
fota_err journal_save(const struct journal *j, const char *state_dir, struct fota_error *err);
/* What journal_load reads from the file's len bytes at buf: true with the state, or false
 * with the factory state when they are no journal this agent can use. */
bool journal_parse(struct journal *j, const char *factory_version, const uint8_t *buf, size_t len);
/* The file journal_save writes, as text (malloc'ed; NULL out of memory). */
char *journal_text(const struct journal *j);
const char *journal_phase_name(enum journal_phase p);
/* The entry for a group, created if absent. NULL when the table is full. */
struct journal_group *journal_group(struct journal *j, const char *name);
/* Forgets the entries of groups not in names[0..n): a group the device left. */
void journal_keep_groups(struct journal *j, const char (*names)[FOTA_MAX_SEGMENT_LEN + 1], int n);

/* One line of history.jsonl: what happened to which update, and why. */
struct journal_event {
	int64_t ts; /* Unix seconds */
	const char *campaign;
	const char *image_id; /* hex */
	const char *version;
	uint64_t sequence;
	const char *outcome; /* installed, switched, confirmed, rolled_back, failed, ... */
	const char *reason;  /* "" when there is none */
};

/* Appends e to <state_dir>/history.jsonl as one JSON object on one line, written by the JSON
 * library so that no string can end its member or the line early; bytes that are not UTF-8
 * become '?'. One write, then fdatasync. */
fota_err journal_history(const char *state_dir, const struct journal_event *e,
			 struct fota_error *err);

#endif
