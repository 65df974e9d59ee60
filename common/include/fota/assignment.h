/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Group assignment: the orchestrator's signed statement of which groups one device belongs to,
 * retained on the device's own topic. Same envelope and trust rules as a directive
 * (orchestrator role), its own sequence and expiry.
 */
#ifndef FOTA_ASSIGNMENT_H
#define FOTA_ASSIGNMENT_H

#include <stddef.h>
#include <stdint.h>

#include "fota/error.h"
#include "fota/limits.h"

#define FOTA_ASSIGNMENT_SCHEMA "fota-assignment/1"

struct fota_trust;

struct fota_assignment {
	uint64_t assignment_seq; /* 1.., rises with every assignment of the device */
	char device[FOTA_MAX_SEGMENT_LEN + 1];
	int64_t created; /* Unix seconds */
	int64_t expires;
	size_t n_groups; /* 0..FOTA_MAX_ASSIGNED_GROUPS: none is a valid answer */
	char groups[FOTA_MAX_ASSIGNED_GROUPS][FOTA_MAX_SEGMENT_LEN + 1];
};

/* Strict parse of the JSON document (at most FOTA_MAX_ASSIGNMENT_BYTES); every error names
 * the field and why. Group names are topic segments, without duplicates. */
fota_err fota_assignment_parse(const uint8_t *json, size_t len, struct fota_assignment *out,
			       struct fota_error *err);

/* The document for a, validated by the same rules; *out is malloc'd. */
fota_err fota_assignment_to_json(const struct fota_assignment *a, char **out,
				 struct fota_error *err);

/*
 * A device's decision on an envelope that came on its assignment topic: FOTA_OK when it is to
 * be applied (*out filled), otherwise an error whose message says why it is ignored:
 * FOTA_ERR_SIGNATURE (does not verify with orchestrator-role keys), a parse error, FOTA_ERR_FIELD
 * (names another device), FOTA_ERR_ROLLBACK (assignment_seq not above last_seq), FOTA_ERR_EXPIRED
 * (expires at or before now).
 */
fota_err fota_assignment_accept(const struct fota_trust *trust, const uint8_t *jws, size_t len,
				const char *device, uint64_t last_seq, int64_t now,
				struct fota_assignment *out, struct fota_error *err);

#endif
