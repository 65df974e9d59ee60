/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: settings from the INI file, overridden by CLI flags. */
#ifndef ORCH_CONFIG_H
#define ORCH_CONFIG_H

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "fota/error.h"
#include "fota/limits.h"

#include "log.h"

#define ORCH_DEFAULT_CONFIG "/etc/fota/orchestrator.conf"
#define ORCH_DEFAULT_STATE_DIR "/var/lib/fota-orchestrator"
#define ORCH_DEFAULT_URI "ssl://localhost:8883"
/* The base of every MQTT client id: commands connect as "<base>-<pid>". The broker ACL looks
 * at the certificate's CN, never at the client id. */
#define ORCH_DEFAULT_CLIENT_ID "orchestrator"
/* No pace by default: broadcasts are clocked by the broker's acknowledgements
 * (flow_window.h); a rate, when set, is a cap on top. */
#define ORCH_DEFAULT_RATE 0ull
/* QoS 1 frames in flight; 8 x 64 KiB stays under Paho's ~2 MiB partial-write stall. */
#define ORCH_DEFAULT_WINDOW 8u
#define ORCH_MAX_WINDOW 64u
#define ORCH_MAX_OVERRIDES 64

/* Option ids shared by every subcommand; subcommand-local ids stay below 1000. */
enum orch_opt {
	ORCH_OPT_CONFIG = 1000,
	ORCH_OPT_BROKER,
	ORCH_OPT_CA,
	ORCH_OPT_CERT,
	ORCH_OPT_KEY,
	ORCH_OPT_CLIENT_ID,
	ORCH_OPT_KEEPALIVE,
	ORCH_OPT_STATE_DIR,
	ORCH_OPT_PREFIX,
	ORCH_OPT_RELEASE_KEY,
	ORCH_OPT_ORCH_KEY,
	ORCH_OPT_RATE,
	ORCH_OPT_WINDOW,
	ORCH_OPT_SERVE_CLIENT_ID,
	ORCH_OPT_LOG_LEVEL,
	ORCH_OPT_HTTP_LISTEN,
	ORCH_OPT_HTTP_CERT,
	ORCH_OPT_HTTP_KEY,
	ORCH_OPT_HTTP_CA,
	ORCH_OPT_STORE,
	ORCH_OPT_BROKER_ACCESS,
	ORCH_OPT_DEVICE_CA,
	ORCH_OPT_JSON,
	ORCH_OPT_HELP,
};

/* getopt_long entries for the shared options; a subcommand lists its own before these. */
/* clang-format off */
#define ORCH_COMMON_LONGOPTS \
	{"config", required_argument, NULL, ORCH_OPT_CONFIG}, \
	{"broker", required_argument, NULL, ORCH_OPT_BROKER}, \
	{"ca", required_argument, NULL, ORCH_OPT_CA}, \
	{"cert", required_argument, NULL, ORCH_OPT_CERT}, \
	{"key", required_argument, NULL, ORCH_OPT_KEY}, \
	{"client-id", required_argument, NULL, ORCH_OPT_CLIENT_ID}, \
	{"keepalive", required_argument, NULL, ORCH_OPT_KEEPALIVE}, \
	{"state-dir", required_argument, NULL, ORCH_OPT_STATE_DIR}, \
	{"prefix", required_argument, NULL, ORCH_OPT_PREFIX}, \
	{"release-key", required_argument, NULL, ORCH_OPT_RELEASE_KEY}, \
	{"orch-key", required_argument, NULL, ORCH_OPT_ORCH_KEY}, \
	{"device-ca", required_argument, NULL, ORCH_OPT_DEVICE_CA}, \
	{"rate", required_argument, NULL, ORCH_OPT_RATE}, \
	{"window", required_argument, NULL, ORCH_OPT_WINDOW}, \
	{"serve-client-id", required_argument, NULL, ORCH_OPT_SERVE_CLIENT_ID}, \
	{"log-level", required_argument, NULL, ORCH_OPT_LOG_LEVEL}, \
	{"http-listen", required_argument, NULL, ORCH_OPT_HTTP_LISTEN}, \
	{"http-cert", required_argument, NULL, ORCH_OPT_HTTP_CERT}, \
	{"http-key", required_argument, NULL, ORCH_OPT_HTTP_KEY}, \
	{"http-ca", required_argument, NULL, ORCH_OPT_HTTP_CA}, \
	{"store", required_argument, NULL, ORCH_OPT_STORE}, \
	{"broker-access", required_argument, NULL, ORCH_OPT_BROKER_ACCESS}, \
	{"json", no_argument, NULL, ORCH_OPT_JSON}, \
	{"help", no_argument, NULL, ORCH_OPT_HELP}, \
	{NULL, 0, NULL, 0}
/* clang-format on */

/* The help text for the shared options, appended to every subcommand's --help. */
extern const char orch_config_help[];

struct orch_override {
	int opt;
	const char *arg; /* points into argv */
};

struct orch_config {
	/* [broker] */
	char uri[512];
	char ca[PATH_MAX];
	char cert[PATH_MAX];
	char key[PATH_MAX];
	/* After orch_config_load: "<[broker] client_id>-<pid>", unique per process. */
	char client_id[FOTA_MAX_SEGMENT_LEN + 1];
	char serve_client_id[FOTA_MAX_SEGMENT_LEN + 1]; /* "" : serve uses client_id too */
	int keepalive_s;
	/* How the broker limits each device to its own and its groups' topics: false, by a static
	 * ACL file (access = acl_file); true, by Mosquitto's dynamic-security plugin, whose
	 * clients, roles and groups the orchestrator manages over $CONTROL (access = dynsec). */
	bool dynsec;
	/* [orchestrator] */
	char state_dir[PATH_MAX];
	/* The store's URI ("postgresql://..."); "" for <state_dir>/orchestrator.db. */
	char store[1024];
	char prefix[FOTA_MAX_PREFIX_LEN + 1];
	char release_key[PATH_MAX];
	char orch_key[PATH_MAX];
	/* CA bundle a device's registered certificate must chain to; "" : the broker's ca (use
	 * orch_config_device_ca). */
	char device_ca[PATH_MAX];
	uint64_t rate_bytes_per_s;
	unsigned window;
	enum orch_log_level log_level;
	/* [http]: serve's metrics and health endpoints; listen "" = off */
	char http_listen[256]; /* HOST:PORT or [IPv6]:PORT */
	char http_cert[PATH_MAX];
	char http_key[PATH_MAX];
	char http_ca[PATH_MAX]; /* verifies client certificates */
	/* CLI only */
	bool json;
	bool help;
	bool stateless; /* the command never touches state_dir (image sign): any user may run it */
	const char *config_path; /* NULL: $FOTA_ORCHESTRATOR_CONFIG, then the default if present */
	struct orch_override overrides[ORCH_MAX_OVERRIDES];
	size_t n_overrides;
};

void orch_config_init(struct orch_config *cfg);

/* Records a shared option seen by getopt_long; false if opt is not a shared option. Values are
 * applied by orch_config_load, after the file, so flags win. */
bool orch_config_flag(struct orch_config *cfg, int opt, const char *arg);

/* Reads the config file (if any), then applies the recorded flags and checks the result.
 * Makes client_id unique to this process by appending "-<pid>" to the configured one, so that
 * ad-hoc commands never push a daemon (or each other) off the broker. */
fota_err orch_config_load(struct orch_config *cfg, struct fota_error *err);

/* Sets one [section] key as the file would; used for files and flags alike. */
fota_err orch_config_set(struct orch_config *cfg, const char *section, const char *key,
			 const char *value, struct fota_error *err);

/* The CA bundle device certificates are checked against: [orchestrator] device_ca, else
 * [broker] ca (the CA that lets devices connect). */
const char *orch_config_device_ca(const struct orch_config *cfg);

/* "123", "64K", "64M", "1G" (binary multiples) into bytes. */
fota_err orch_parse_size(const char *s, uint64_t *out, struct fota_error *err);
/* Decimal unsigned integer in [min, max]; what names the value in the error. */
fota_err orch_parse_u64(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out,
			struct fota_error *err);

/* "<state_dir>/<fmt...>" into buf; FOTA_ERR_TOO_BIG if it does not fit. */
fota_err orch_state_path(const struct orch_config *cfg, char *buf, size_t size,
			 struct fota_error *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
