/* SPDX-License-Identifier: Apache-2.0 */
/* Private header: the agent's durable state in one small JSON file, replaced atomically. */
#ifndef FOTA_CLIENT_JOURNAL_H
#define FOTA_CLIENT_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "fota/digest.h"
#include "fota/error.h"

struct journal_group {
	char name[FOTA_MAX_SEGMENT_LEN + 1];
	uint64_t directive_seq; /* highest directive seen for the group (anti-replay) */
	bool settled;           /* that directive reached a final outcome */
};

struct journal {
	char installed_version[FOTA_MAX_VERSION_LEN + 1];
	uint64_t installed_sequence;
	char installed_sha256[FOTA_SHA256_HEX_LEN + 1]; /* "" when factory image */
	struct journal_group groups[CLIENT_MAX_GROUPS];
	int n_groups;
};

/* Loads <state_dir>/journal.json; a missing file gives the factory state; an unreadable one
 * is moved aside (.broken) and the factory state is used, with a warning in err->msg. */
fota_err journal_load(struct journal *j, const char *state_dir, const char *factory_version,
		      struct fota_error *err);
fota_err journal_save(const struct journal *j, const char *state_dir, struct fota_error *err);
/* The entry for a group, created if absent. NULL when the table is full. */
struct journal_group *journal_group(struct journal *j, const char *name);

/* Appends one JSON line to <state_dir>/history.jsonl (best effort, fsync'd). */
void journal_history(const char *state_dir, const char *json_line);

#endif
