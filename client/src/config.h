/* SPDX-License-Identifier: Apache-2.0 */
/* Private header: the device agent's configuration file (INI, see docs/client.md). */
#ifndef FOTA_CLIENT_CONFIG_H
#define FOTA_CLIENT_CONFIG_H

#include <stdint.h>

#include "fota/error.h"
#include "fota/limits.h"
#include "fota/mqtt.h"

#define CLIENT_MAX_GROUPS 8
#define CLIENT_PATH_MAX 512

struct client_config {
	/* [broker] */
	char uri[CLIENT_PATH_MAX];
	char ca[CLIENT_PATH_MAX];
	char cert[CLIENT_PATH_MAX];
	char key[CLIENT_PATH_MAX];
	int keepalive_s;
	/* [device] */
	char id[FOTA_MAX_SEGMENT_LEN + 1];
	char groups[CLIENT_MAX_GROUPS][FOTA_MAX_SEGMENT_LEN + 1];
	int n_groups;
	char vendor[FOTA_MAX_NAME_LEN + 1];
	char model[FOTA_MAX_NAME_LEN + 1];
	char hw_revision[FOTA_MAX_VERSION_LEN + 1];
	char factory_version[FOTA_MAX_VERSION_LEN + 1];
	/* [paths] */
	char state_dir[CLIENT_PATH_MAX];
	char trust[CLIENT_PATH_MAX];
	char prefix[FOTA_MAX_PREFIX_LEN + 1];
	/* [trust]: distinct keys of a role that must sign a document (1..FOTA_MAX_SIGNATURES) */
	uint32_t release_threshold;
	uint32_t orchestrator_threshold;
	/* [install] */
	char install_method[16]; /* file, ab-slot or script: must match the manifest's */
	char install_target[CLIENT_PATH_MAX]; /* file: the file replaced */
	char slot_a[CLIENT_PATH_MAX];	      /* ab-slot: block device or file of slot A */
	char slot_b[CLIENT_PATH_MAX];
	char bootctl[16];			/* uboot, grub or file */
	char bootctl_env[CLIENT_PATH_MAX];	/* grubenv / key=value file; uboot: fw_env.config */
	char bootctl_tool_dir[CLIENT_PATH_MAX]; /* "" : tools from PATH */
	char booted_slot[CLIENT_PATH_MAX];	/* /proc/cmdline (fota.slot=) or a file with A|B */
	char boot_id[CLIENT_PATH_MAX];		/* a file whose content changes at every boot */
	char reboot_command[CLIENT_PATH_MAX];	/* split on blanks, no shell */
	char health_command[CLIENT_PATH_MAX];	/* "" : probation passes once the agent runs */
	char script_hook[CLIENT_PATH_MAX];	/* script: the vendor hook */
	uint32_t script_timeout_s;
	uint32_t max_boot_attempts; /* agent starts on probation before it gives up */
	/* [policy] */
	char policy_hook[CLIENT_PATH_MAX]; /* "" : never defer */
	uint32_t policy_timeout_s;
	uint32_t policy_retry_s;
	/* [transfer] */
	uint32_t window;	  /* chunks per repair request */
	uint32_t gap_ms;	  /* quiet time before asking for missing chunks */
	uint32_t stall_timeout_s; /* no new chunk for this long: failed (stalled) */
	uint32_t max_retries;	  /* repair requests without progress before giving up */
	uint32_t sync_bytes;	  /* make received chunks durable every N payload bytes */
	uint32_t sync_chunks;	  /* and every N chunks; 0: bytes only */
	uint32_t progress_percent;
	uint32_t progress_interval_s;
};

void client_config_defaults(struct client_config *c);
/* Reads path over the defaults; errors name the file, line and key. */
fota_err client_config_load(struct client_config *c, const char *path, struct fota_error *err);
/* Checks required keys and ranges after overrides. */
fota_err client_config_validate(const struct client_config *c, struct fota_error *err);
/* The [broker] settings as far as they can be known without the network: URI scheme, CA,
 * certificate and key readable and matching (fota_mqtt_check), and the certificate's CN equal
 * to [device] id, without which the broker ACL silently drops what the device publishes. */
fota_err client_config_check_broker(const struct client_config *c, struct fota_error *err);
/* The [broker] settings as the MQTT layer takes them (identity, TLS files; other fields zero).
 * The strings point into c. */
void client_config_mqtt(const struct client_config *c, struct fota_mqtt_config *mc);
/* Applies "section.key=value" (command-line --set); same rules as the file. */
fota_err client_config_set(struct client_config *c, const char *assignment, struct fota_error *err);

#endif
