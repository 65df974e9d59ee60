/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: the dynamic-security plugin's command list for a batch
 * of devices, and the judgement of the plugin's answer to it. Pure: no MQTT (dynsec.h sends
 * and receives). */
#ifndef ORCH_DYNSEC_BATCH_H
#define ORCH_DYNSEC_BATCH_H

#include <stddef.h>

#include "fota/error.h"
#include "fota/limits.h"

/* Devices granted by one command list: one round trip for them all, a message of about
 * 4 KiB per device with 8 groups, well under the broker's message_size_limit. */
#define ORCH_DYNSEC_BATCH 32
/* The plugin's answer lists one short object per command; a device with 8 groups sends about
 * 60. A larger answer is refused before parsing. */
#define ORCH_DYNSEC_MAX_RESPONSE_BYTES (ORCH_DYNSEC_BATCH * 64 * 1024)

/* What the plugin is to do for one device. */
struct orch_dynsec_grant {
	const char *device;
	const char *old_groups, *new_groups; /* comma-joined, may be NULL */
};

struct orch_dynsec_batch;

/* The longest tag of a batch (orch_dynsec_batch_new). */
#define ORCH_DYNSEC_TAG_MAX 64

/*
 * The command list for n (at most ORCH_DYNSEC_BATCH) grants, topics under prefix: each group
 * of the batch once (its role with read ACLs, its dynsec group), then per device its own role,
 * its client in that role and its new groups, out of the old groups it no longer has, and a
 * getClient to check the result. Command k carries correlationData "<tag>-<k>", which the
 * plugin echoes in its answer: every client allowed on $CONTROL gets every answer on the one
 * response topic, and the tag (unique per list: random in dynsec.c) tells ours from those to
 * another list (another orchestrator process, mosquitto_ctrl). g must outlive the batch.
 * Free with orch_dynsec_batch_free.
 */
fota_err orch_dynsec_batch_new(const char *prefix, const char *tag,
			       const struct orch_dynsec_grant *g, size_t n,
			       struct orch_dynsec_batch **out, struct fota_error *err);

/* The list as the JSON text to publish on $CONTROL/dynamic-security/v1 (malloc'ed; NULL out of
 * memory). */
char *orch_dynsec_batch_text(const struct orch_dynsec_batch *b);

/* How many commands the list holds: the answer must hold as many. */
size_t orch_dynsec_batch_commands(const struct orch_dynsec_batch *b);

/*
 * Judges the plugin's answer (len bytes, untrusted): one strict JSON object of at most
 * ORCH_DYNSEC_MAX_RESPONSE_BYTES whose "responses" answer every command in order, each with
 * the command's correlationData; a command
 * that creates may fail only because what it creates exists; each device's getClient must
 * show its own role and exactly its new groups among ours (fota-group-*). FOTA_OK when the
 * plugin did all of it; otherwise err names the device and says why. *granted: how many
 * devices, from the first, the answer shows granted as wanted (all of them on FOTA_OK).
 */
fota_err orch_dynsec_batch_judge(const struct orch_dynsec_batch *b, const char *response,
				 size_t len, size_t *granted, struct fota_error *err);

void orch_dynsec_batch_free(struct orch_dynsec_batch *b);

#endif
