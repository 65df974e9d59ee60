/* SPDX-License-Identifier: Apache-2.0 */
/* Campaign directive (what the orchestrator key signs): who may install which manifest, when. */
#ifndef FOTA_DIRECTIVE_H
#define FOTA_DIRECTIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fota/daily_window.h"
#include "fota/digest.h"
#include "fota/error.h"
#include "fota/limits.h"

#define FOTA_DIRECTIVE_SCHEMA "fota-directive/1"

enum fota_campaign_state {
	FOTA_CAMPAIGN_ACTIVE = 0,
	FOTA_CAMPAIGN_PAUSED,  /* keep what you have, start nothing new */
	FOTA_CAMPAIGN_ABORTED, /* drop staged data */
};

struct fota_directive {
	uint64_t directive_seq; /* rises with every change of a campaign */
	char campaign_id[FOTA_MAX_NAME_LEN + 1];
	char group[FOTA_MAX_SEGMENT_LEN + 1];
	int64_t created;
	int64_t expires;
	int64_t not_before; /* 0 = no window start */
	int64_t not_after;  /* 0 = no window end */
	/* A daily maintenance window in a named zone (window.daily, window.tz); .set false:
	 * none. A device starts work only inside it. */
	struct fota_daily_window daily;
	enum fota_campaign_state state;
	/* SHA-256 of the manifest envelope's decoded payload bytes. */
	uint8_t manifest_sha256[FOTA_SHA256_LEN];
	/* The signed manifest envelope (JWS JSON text), owned, NUL-terminated. */
	char *manifest_jws;
	size_t manifest_jws_len;
	/* Admission: everyone, or the listed devices plus a deterministic percentage. */
	bool admit_all;
	uint32_t admit_percent; /* 0..100 */
	char salt[FOTA_MAX_NAME_LEN + 1];
	char **admit_devices; /* owned */
	size_t n_admit_devices;
};

/* Parses and validates a directive payload. Caller must fota_directive_clear(out) afterwards,
 * also on failure. */
fota_err fota_directive_parse(const uint8_t *json, size_t len, struct fota_directive *out,
			      struct fota_error *err);
void fota_directive_clear(struct fota_directive *d);

/* *out malloc'd, NUL-terminated (caller frees). */
fota_err fota_directive_to_json(const struct fota_directive *d, char **out, struct fota_error *err);

/* 0..9999 from SHA-256(salt || 0x00 || device_id): stable per campaign and device. */
uint32_t fota_admission_bucket(const char *salt, const char *device_id);
/* Listed explicitly, or admit_all, or bucket < admit_percent * 100. */
bool fota_directive_admits(const struct fota_directive *d, const char *device_id);

const char *fota_campaign_state_name(enum fota_campaign_state s);

#endif
