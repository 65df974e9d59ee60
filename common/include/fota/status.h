/* SPDX-License-Identifier: Apache-2.0 */
/* Device agent states, result codes (mapped to LwM2M Object 5) and the status message. */
#ifndef FOTA_STATUS_H
#define FOTA_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/digest.h"
#include "fota/error.h"
#include "fota/limits.h"

enum fota_state {
	FOTA_STATE_IDLE = 0,
	FOTA_STATE_DOWNLOADING,
	FOTA_STATE_DOWNLOADED,
	FOTA_STATE_VERIFYING,
	FOTA_STATE_INSTALLING,
	FOTA_STATE_REBOOTING,
	FOTA_STATE_TESTING,
	FOTA_STATE_CONFIRMED,
	FOTA_STATE_ROLLED_BACK,
	FOTA_STATE_FAILED,
	FOTA_STATE_DEFERRED, /* a vendor policy said "not now"; not a failure */
	FOTA_STATE_OFFLINE,  /* only ever sent as the broker's last will */
	FOTA_STATE__COUNT
};

enum fota_result {
	FOTA_RESULT_NONE = 0,
	FOTA_RESULT_SUCCESS,
	FOTA_RESULT_NO_SPACE,
	FOTA_RESULT_NO_MEMORY,
	FOTA_RESULT_CONNECTION_LOST,
	FOTA_RESULT_INTEGRITY,	 /* chunk or image hash mismatch */
	FOTA_RESULT_SIGNATURE,	 /* bad/unknown/wrong-role signature, threshold not met */
	FOTA_RESULT_UNSUPPORTED, /* incompatible device, unsupported compression/method */
	FOTA_RESULT_EXPIRED,	 /* manifest or directive past expires */
	FOTA_RESULT_ROLLBACK,	 /* sequence not newer than installed */
	FOTA_RESULT_INVALID,	 /* malformed or oversize document */
	FOTA_RESULT_STALLED,	 /* no progress within the stall timeout */
	FOTA_RESULT_INSTALL_FAILED,
	FOTA_RESULT_HEALTH_CHECK_FAILED,
	FOTA_RESULT_ABORTED, /* campaign aborted, staged data dropped */
	FOTA_RESULT__COUNT
};

const char *fota_state_name(enum fota_state s);
fota_err fota_state_parse(const char *name, enum fota_state *out, struct fota_error *err);
const char *fota_result_name(enum fota_result r);
fota_err fota_result_parse(const char *name, enum fota_result *out, struct fota_error *err);
/* LwM2M Object 5 resource 5 "Update Result" (0..9) closest to r. */
int fota_result_lwm2m(enum fota_result r);
/* Result code for a verification/parse error code (signature -> SIGNATURE, ...). */
enum fota_result fota_result_from_err(fota_err code);
/* True for states after which the agent waits for a new directive. */
bool fota_state_is_final(enum fota_state s);

#define FOTA_MAX_STATUS_GROUPS 8

/* One status message on fota/v1/devices/{id}/status (JSON, see docs/protocol.md). */
struct fota_status {
	char device[FOTA_MAX_SEGMENT_LEN + 1];
	enum fota_state state;
	enum fota_result result;
	char reason[FOTA_MAX_REASON_LEN + 1];
	char campaign[FOTA_MAX_NAME_LEN + 1];
	char image_id[FOTA_IMAGE_ID_HEX_LEN + 1]; /* "" when none */
	char version[FOTA_MAX_VERSION_LEN + 1];	  /* installed (running) version */
	char model[FOTA_MAX_NAME_LEN + 1];
	char hw_revision[FOTA_MAX_VERSION_LEN + 1];
	uint64_t sequence;	 /* installed manifest sequence */
	uint64_t bytes_received; /* this transfer, including repairs and duplicates */
	uint64_t image_size;
	uint32_t chunks_present;
	uint32_t chunk_count;
	int64_t timestamp;
	/* The device's groups, so the orchestrator's registry learns them from the device
	 * itself ("groups":[...], optional; at most FOTA_MAX_STATUS_GROUPS valid names). */
	char groups[FOTA_MAX_STATUS_GROUPS][FOTA_MAX_SEGMENT_LEN + 1];
	size_t n_groups;
	/* Directives that did not verify since the agent started ("unverified", optional, 0 =
	 * absent): they belong to no campaign, so this counter is the only trace they leave. */
	uint64_t unverified;
};

/* *out malloc'd, NUL-terminated (caller frees). */
fota_err fota_status_to_json(const struct fota_status *s, char **out, struct fota_error *err);
/* Bounded by FOTA_MAX_STATUS_BYTES; unknown members ignored. */
fota_err fota_status_parse(const uint8_t *json, size_t len, struct fota_status *out,
			   struct fota_error *err);

#endif
