/* SPDX-License-Identifier: Apache-2.0 */
/* Device agent configuration: defaults, INI file (inih), overrides and validation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config.h"
#include "fota/ini_hint.h"
#include "fota/mqtt_check.h"
#include "fota/topics.h"
#include "installer.h"

void client_config_defaults(struct client_config *c)
{
	memset(c, 0, sizeof(*c));
	c->keepalive_s = 30;
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/fota");
	snprintf(c->trust, sizeof(c->trust), "/etc/fota/trust");
	snprintf(c->prefix, sizeof(c->prefix), "%s", FOTA_DEFAULT_PREFIX);
	snprintf(c->install_method, sizeof(c->install_method), "file");
	snprintf(c->factory_version, sizeof(c->factory_version), "0");
	snprintf(c->bootctl, sizeof(c->bootctl), "uboot");
	snprintf(c->bootctl_env, sizeof(c->bootctl_env), "/etc/fw_env.config");
	snprintf(c->booted_slot, sizeof(c->booted_slot), "/proc/cmdline");
	snprintf(c->boot_id, sizeof(c->boot_id), "/proc/sys/kernel/random/boot_id");
	snprintf(c->reboot_command, sizeof(c->reboot_command), "/sbin/reboot");
	c->script_timeout_s = 600;
	c->max_boot_attempts = 3;
	c->release_threshold = 1;
	c->orchestrator_threshold = 1;
	c->policy_timeout_s = 10;
	c->policy_retry_s = 60;
	/* 32 chunks of 64 KiB: 2 MiB per repair window keeps the orchestrator's and the
	 * broker's per-device backlog small and bounds re-download after a crash. */
	c->window = 32;
	c->gap_ms = 1000;
	c->stall_timeout_s = 300;
	c->max_retries = 20;
	/* 8 MiB whatever the chunk size: each sync is an fdatasync, a bitmap write and two fsyncs
	 * on the receive thread, and at 1 MiB they were most of a 64 MiB download's time on a
	 * virtual disk; a power cut costs at most 8 MiB of received data, fetched again. */
	c->sync_bytes = 8u * 1024 * 1024;
	c->sync_chunks = 0;
	c->progress_percent = 10;
	c->progress_interval_s = 5;
}

static int copy_str(char *dst, size_t size, const char *value)
{
	size_t n = strlen(value);

	if (n >= size)
		return -1;
	memcpy(dst, value, n + 1);
	return 0;
}

static int parse_u32(const char *value, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	/* Digits only: strtoul would take a sign or leading blanks, and negate "-N". */
	if (*value < '0' || *value > '9')
		return -1;
	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_groups(struct client_config *c, const char *value)
{
	char buf[CLIENT_PATH_MAX];
	char *save = NULL, *tok;

	if (copy_str(buf, sizeof(buf), value) != 0)
		return -1;
	c->n_groups = 0;
	for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if (c->n_groups == CLIENT_MAX_GROUPS || !fota_topic_segment_valid(tok))
			return -1;
		copy_str(c->groups[c->n_groups++], sizeof(c->groups[0]), tok);
	}
	return c->n_groups > 0 ? 0 : -1;
}

/* Returns 0 when set, -1 for a bad value, -2 for an unknown key. */
static int apply(struct client_config *c, const char *section, const char *name, const char *value)
{
	uint32_t u;

#define IS(s, n) (strcmp(section, s) == 0 && strcmp(name, n) == 0)
#define STR(field) copy_str(c->field, sizeof(c->field), value)
	if (IS("broker", "uri"))
		return STR(uri);
	if (IS("broker", "ca"))
		return STR(ca);
	if (IS("broker", "cert"))
		return STR(cert);
	if (IS("broker", "key"))
		return STR(key);
	if (IS("broker", "keepalive")) {
		if (parse_u32(value, 5, 3600, &u) != 0)
			return -1;
		c->keepalive_s = (int)u;
		return 0;
	}
	if (IS("device", "id"))
		return fota_topic_segment_valid(value) ? STR(id) : -1;
	if (IS("device", "groups"))
		return parse_groups(c, value);
	if (IS("device", "vendor"))
		return STR(vendor);
	if (IS("device", "model"))
		return STR(model);
	if (IS("device", "hw_revision"))
		return STR(hw_revision);
	if (IS("device", "version"))
		return STR(factory_version);
	if (IS("paths", "state_dir"))
		return STR(state_dir);
	if (IS("paths", "trust"))
		return STR(trust);
	if (IS("paths", "prefix"))
		return fota_topic_prefix_valid(value) ? STR(prefix) : -1;
	if (IS("install", "method"))
		return installer_find(value) ? STR(install_method) : -1;
	if (IS("install", "target"))
		return STR(install_target);
	if (IS("install", "slot_a"))
		return STR(slot_a);
	if (IS("install", "slot_b"))
		return STR(slot_b);
	if (IS("install", "bootctl"))
		return strcmp(value, "uboot") == 0 || strcmp(value, "grub") == 0 ||
			       strcmp(value, "file") == 0
			   ? STR(bootctl)
			   : -1;
	if (IS("install", "bootctl_env") || IS("install", "fw_env_config"))
		return STR(bootctl_env);
	if (IS("install", "bootctl_tool_dir"))
		return STR(bootctl_tool_dir);
	if (IS("install", "booted_slot"))
		return STR(booted_slot);
	if (IS("install", "boot_id"))
		return STR(boot_id);
	if (IS("install", "reboot_command"))
		return STR(reboot_command);
	if (IS("install", "health_command"))
		return STR(health_command);
	if (IS("install", "script"))
		return STR(script_hook);
	if (IS("install", "script_timeout_s"))
		return parse_u32(value, 1, 86400, &c->script_timeout_s);
	if (IS("install", "max_boot_attempts"))
		return parse_u32(value, 1, 100, &c->max_boot_attempts);
	if (IS("trust", "release_threshold"))
		return parse_u32(value, 1, FOTA_MAX_SIGNATURES, &c->release_threshold);
	if (IS("trust", "orchestrator_threshold"))
		return parse_u32(value, 1, FOTA_MAX_SIGNATURES, &c->orchestrator_threshold);
	if (IS("policy", "hook"))
		return STR(policy_hook);
	if (IS("policy", "timeout_s"))
		return parse_u32(value, 1, 3600, &c->policy_timeout_s);
	if (IS("policy", "retry_s"))
		return parse_u32(value, 1, 86400, &c->policy_retry_s);
	if (IS("transfer", "window"))
		return parse_u32(value, 1, FOTA_MAX_REQUEST_CHUNKS, &c->window);
	if (IS("transfer", "gap_ms"))
		return parse_u32(value, 50, 600000, &c->gap_ms);
	if (IS("transfer", "stall_timeout_s"))
		return parse_u32(value, 1, 86400 * 7, &c->stall_timeout_s);
	if (IS("transfer", "max_retries"))
		return parse_u32(value, 1, 10000, &c->max_retries);
	if (IS("transfer", "sync_bytes"))
		return parse_u32(value, 4096, 64u * 1024 * 1024, &c->sync_bytes);
	if (IS("transfer", "sync_chunks"))
		return parse_u32(value, 0, 4096, &c->sync_chunks);
	if (IS("transfer", "progress_percent"))
		return parse_u32(value, 1, 100, &c->progress_percent);
	if (IS("transfer", "progress_interval_s"))
		return parse_u32(value, 1, 3600, &c->progress_interval_s);
#undef IS
#undef STR
	return -2;
}

struct load_ctx {
	struct client_config *c;
	struct fota_error *err;
	const char *path;
	int failed;
};

/* Debian's inih passes no line number to handlers; ini_parse_file returns the line of the
 * first rejected key, which load() puts in front of the message. */
static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *lc = user;
	int rc;

	if (lc->failed)
		return 0;
	rc = apply(lc->c, section, name, value);
	if (rc == 0)
		return 1;
	lc->failed = 1;
	fota_error_set(lc->err, FOTA_ERR_FIELD, "%s [%s] %s = '%s'",
		       rc == -2 ? "unknown key" : "bad value for", section, name, value);
	return 0;
}

fota_err client_config_load(struct client_config *c, const char *path, struct fota_error *err)
{
	struct load_ctx lc = {c, err, path, 0};
	FILE *f = fopen(path, "r");
	int rc;

	if (f == NULL)
		return fota_error_set(err, FOTA_ERR_IO, "cannot open config %s: %s", path,
				      strerror(errno));
	rc = ini_parse_file(f, on_ini, &lc);
	fclose(f);
	if (rc > 0) {
		char why[FOTA_ERROR_MSG_MAX];

		/* The first bad line, whatever the handler thought of later keys. */
		if (fota_ini_syntax_hint(path, rc, why, sizeof(why)))
			return fota_error_set(err, FOTA_ERR_PARSE, "%s:%d: %s", path, rc, why);
	}
	if (lc.failed) {
		char where[CLIENT_PATH_MAX + 32];

		snprintf(where, sizeof(where), "%s:%d", path, rc);
		return fota_error_prefix(err, where);
	}
	if (rc != 0)
		return fota_error_set(err, FOTA_ERR_PARSE, "%s:%d: not valid INI syntax", path, rc);
	return FOTA_OK;
}

fota_err client_config_set(struct client_config *c, const char *assignment, struct fota_error *err)
{
	char buf[CLIENT_PATH_MAX + 64];
	char *dot, *eq;
	int rc;

	if (copy_str(buf, sizeof(buf), assignment) != 0)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "--set value too long");
	dot = strchr(buf, '.');
	eq = strchr(buf, '=');
	if (dot == NULL || eq == NULL || dot > eq)
		return fota_error_set(err, FOTA_ERR_INVAL,
				      "--set wants section.key=value, got '%s'", assignment);
	*dot = '\0';
	*eq = '\0';
	rc = apply(c, buf, dot + 1, eq + 1);
	if (rc != 0)
		return fota_error_set(err, FOTA_ERR_FIELD, "--set: %s [%s] %s = '%s'",
				      rc == -2 ? "unknown key" : "bad value for", buf, dot + 1,
				      eq + 1);
	return FOTA_OK;
}

fota_err client_config_validate(const struct client_config *c, struct fota_error *err)
{
	const struct installer *inst;
	const char *missing;

	if (c->uri[0] == '\0')
		return fota_error_set(err, FOTA_ERR_FIELD, "config: [broker] uri is required");
	if (c->id[0] == '\0')
		return fota_error_set(err, FOTA_ERR_FIELD, "config: [device] id is required");
	if (c->n_groups == 0)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "config: [device] groups needs at least one group");
	if (c->vendor[0] == '\0' || c->model[0] == '\0')
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "config: [device] vendor and model are required");
	inst = installer_find(c->install_method);
	if (inst == NULL)
		return fota_error_set(err, FOTA_ERR_FIELD, "config: [install] method '%s' unknown",
				      c->install_method);
	if ((missing = inst->config_missing(c)) != NULL)
		return fota_error_set(err, FOTA_ERR_FIELD, "%s", missing);
	if ((c->cert[0] == '\0') != (c->key[0] == '\0'))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "config: [broker] cert and key go together");
	if (c->sync_chunks > c->window)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "config: [transfer] sync_chunks %u > window %u would let a "
				      "crash lose more than one window",
				      c->sync_chunks, c->window);
	return FOTA_OK;
}

void client_config_mqtt(const struct client_config *c, struct fota_mqtt_config *mc)
{
	memset(mc, 0, sizeof(*mc));
	mc->uri = c->uri;
	mc->client_id = c->id;
	mc->ca_file = c->ca[0] ? c->ca : NULL;
	mc->cert_file = c->cert[0] ? c->cert : NULL;
	mc->key_file = c->key[0] ? c->key : NULL;
}

fota_err client_config_check_broker(const struct client_config *c, struct fota_error *err)
{
	struct fota_mqtt_config mc = {0};
	char cn[FOTA_MAX_SEGMENT_LEN + 2];
	fota_err rc;

	client_config_mqtt(c, &mc);
	rc = fota_mqtt_check(&mc, cn, sizeof(cn), err);
	if (rc != FOTA_OK)
		return fota_error_prefix(err, "config: [broker]");
	if (mc.cert_file && cn[0] && strcmp(cn, c->id) != 0)
		return fota_error_set(
		    err, FOTA_ERR_FIELD,
		    "config: [device] id '%s' differs from the CN '%s' of "
		    "certificate %s: the broker would drop everything this device "
		    "publishes",
		    c->id, cn, c->cert);
	return FOTA_OK;
}
