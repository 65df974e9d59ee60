/* SPDX-License-Identifier: Apache-2.0 */
/* Comparing two configurations key by key, for the daemon's reload on SIGHUP. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config_diff.h"

enum kind { STR, INT, U64, UNSIGNED, LEVEL };

/* Every setting of the file, where it lives in struct orch_config and whether a running
 * daemon can change it. Only the log level can: the other settings shaped a session, a
 * thread or a file that is open. */
static const struct field {
	const char *section;
	const char *key;
	enum kind kind;
	size_t offset;
	bool runtime;
} fields[] = {
    {"broker", "uri", STR, offsetof(struct orch_config, uri), false},
    {"broker", "ca", STR, offsetof(struct orch_config, ca), false},
    {"broker", "cert", STR, offsetof(struct orch_config, cert), false},
    {"broker", "key", STR, offsetof(struct orch_config, key), false},
    {"broker", "serve_client_id", STR, offsetof(struct orch_config, serve_client_id), false},
    {"broker", "keepalive", INT, offsetof(struct orch_config, keepalive_s), false},
    {"orchestrator", "state_dir", STR, offsetof(struct orch_config, state_dir), false},
    {"orchestrator", "prefix", STR, offsetof(struct orch_config, prefix), false},
    {"orchestrator", "release_key", STR, offsetof(struct orch_config, release_key), false},
    {"orchestrator", "orchestrator_key", STR, offsetof(struct orch_config, orch_key), false},
    {"orchestrator", "device_ca", STR, offsetof(struct orch_config, device_ca), false},
    {"orchestrator", "rate_bytes_per_s", U64, offsetof(struct orch_config, rate_bytes_per_s),
     false},
    {"orchestrator", "window", UNSIGNED, offsetof(struct orch_config, window), false},
    {"orchestrator", "log_level", LEVEL, offsetof(struct orch_config, log_level), true},
    {"http", "listen", STR, offsetof(struct orch_config, http_listen), false},
    {"http", "cert", STR, offsetof(struct orch_config, http_cert), false},
    {"http", "key", STR, offsetof(struct orch_config, http_key), false},
    {"http", "ca", STR, offsetof(struct orch_config, http_ca), false},
};

static void format(const struct field *f, const struct orch_config *c, char *buf, size_t size)
{
	const char *p = (const char *)c + f->offset;

	switch (f->kind) {
	case STR:
		snprintf(buf, size, "%s", p);
		break;
	case INT:
		snprintf(buf, size, "%d", *(const int *)(const void *)p);
		break;
	case U64:
		snprintf(buf, size, "%" PRIu64, *(const uint64_t *)(const void *)p);
		break;
	case UNSIGNED:
		snprintf(buf, size, "%u", *(const unsigned *)(const void *)p);
		break;
	case LEVEL:
		snprintf(buf, size, "%s",
			 orch_log_level_name(*(const enum orch_log_level *)(const void *)p));
		break;
	}
}

size_t orch_config_diff(const struct orch_config *a, const struct orch_config *b,
			struct orch_config_change *out, size_t max)
{
	char va[PATH_MAX], vb[PATH_MAX];
	size_t i, n = 0;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field *f = &fields[i];

		format(f, a, va, sizeof(va));
		format(f, b, vb, sizeof(vb));
		if (strcmp(va, vb) == 0)
			continue;
		if (n < max) {
			out[n].section = f->section;
			out[n].key = f->key;
			snprintf(out[n].from, sizeof(out[n].from), "%.*s",
				 ORCH_CONFIG_VALUE_MAX - 1, va);
			snprintf(out[n].to, sizeof(out[n].to), "%.*s", ORCH_CONFIG_VALUE_MAX - 1,
				 vb);
			out[n].runtime = f->runtime;
		}
		n++;
	}
	return n;
}
