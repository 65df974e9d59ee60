/* SPDX-License-Identifier: Apache-2.0 */
/* Orchestrator settings: INI file via inih, then command-line flags on top. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "fota/ini_hint.h"
#include "fota/topics.h"

#include "config.h"

const char orch_config_help[] =
    "Shared options (each also settable in the config file, flags win):\n"
    "  --config FILE        INI file (default $FOTA_ORCHESTRATOR_CONFIG, else\n"
    "                       " ORCH_DEFAULT_CONFIG " if present)\n"
    "  --broker URI         [broker] uri, e.g. ssl://broker:8883 (default " ORCH_DEFAULT_URI ")\n"
    "  --ca FILE            [broker] ca: CA bundle that signed the broker certificate\n"
    "  --cert FILE          [broker] cert: client certificate (its CN is the broker user)\n"
    "  --key FILE           [broker] key: client private key\n"
    "  --client-id ID       [broker] client_id: commands connect as ID-<pid> (default\n"
    "                       " ORCH_DEFAULT_CLIENT_ID ")\n"
    "  --serve-client-id ID [broker] serve_client_id: the id `serve` connects as, exactly\n"
    "                       (default: the client_id-<pid> of every command)\n"
    "  --keepalive S        [broker] keepalive seconds (default 30)\n"
    "  --broker-access A    [broker] access: acl_file (default) or dynsec, the broker's\n"
    "                       dynamic-security plugin the orchestrator keeps in step\n"
    "  --state-dir DIR      [orchestrator] state_dir (default " ORCH_DEFAULT_STATE_DIR ")\n"
    "  --store URI          [orchestrator] store: postgresql://USER@HOST/DB (libpq URI) or\n"
    "                       sqlite:PATH (default: SQLite in the state directory)\n"
    "  --prefix P           [orchestrator] prefix: topic prefix (default " FOTA_DEFAULT_PREFIX ")\n"
    "  --release-key PEM    [orchestrator] release_key: signs manifests (image add)\n"
    "  --orch-key PEM       [orchestrator] orchestrator_key: signs directives (publish)\n"
    "  --device-ca FILE     [orchestrator] device_ca: CA bundle device certificates must\n"
    "                       chain to (device add --cert; default: [broker] ca)\n"
    "  --rate BYTES_PER_S   [orchestrator] rate_bytes_per_s: a cap, K/M/G suffixes\n"
    "                       (default 0: no cap, acknowledgements set the pace)\n"
    "  --window N           [orchestrator] window: QoS 1 frames in flight (default 8)\n"
    "  --log-level L        [orchestrator] log_level: error, warning, notice, info or debug\n"
    "                       (default info; `serve` rereads it on SIGHUP)\n"
    "  --http-listen H:P    [http] listen: `serve`'s /metrics, /healthz and /readyz on\n"
    "                       HOST:PORT (default: off); TLS is required off loopback\n"
    "  --http-cert FILE     [http] cert: the HTTPS server certificate (PEM)\n"
    "  --http-key FILE      [http] key: its private key\n"
    "  --http-ca FILE       [http] ca: CA bundle that must have signed client certificates\n"
    "  --json               machine-readable output on stdout\n"
    "  --help               this text\n";

struct key_map {
	int opt;
	const char *section;
	const char *key;
};

static const struct key_map key_map[] = {
    {ORCH_OPT_BROKER, "broker", "uri"},
    {ORCH_OPT_CA, "broker", "ca"},
    {ORCH_OPT_CERT, "broker", "cert"},
    {ORCH_OPT_KEY, "broker", "key"},
    {ORCH_OPT_CLIENT_ID, "broker", "client_id"},
    {ORCH_OPT_SERVE_CLIENT_ID, "broker", "serve_client_id"},
    {ORCH_OPT_KEEPALIVE, "broker", "keepalive"},
    {ORCH_OPT_BROKER_ACCESS, "broker", "access"},
    {ORCH_OPT_STATE_DIR, "orchestrator", "state_dir"},
    {ORCH_OPT_STORE, "orchestrator", "store"},
    {ORCH_OPT_PREFIX, "orchestrator", "prefix"},
    {ORCH_OPT_RELEASE_KEY, "orchestrator", "release_key"},
    {ORCH_OPT_ORCH_KEY, "orchestrator", "orchestrator_key"},
    {ORCH_OPT_DEVICE_CA, "orchestrator", "device_ca"},
    {ORCH_OPT_RATE, "orchestrator", "rate_bytes_per_s"},
    {ORCH_OPT_WINDOW, "orchestrator", "window"},
    {ORCH_OPT_LOG_LEVEL, "orchestrator", "log_level"},
    {ORCH_OPT_HTTP_LISTEN, "http", "listen"},
    {ORCH_OPT_HTTP_CERT, "http", "cert"},
    {ORCH_OPT_HTTP_KEY, "http", "key"},
    {ORCH_OPT_HTTP_CA, "http", "ca"},
};

void orch_config_init(struct orch_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->uri, sizeof(cfg->uri), "%s", ORCH_DEFAULT_URI);
	snprintf(cfg->client_id, sizeof(cfg->client_id), "%s", ORCH_DEFAULT_CLIENT_ID);
	cfg->keepalive_s = 30;
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", ORCH_DEFAULT_STATE_DIR);
	snprintf(cfg->prefix, sizeof(cfg->prefix), "%s", FOTA_DEFAULT_PREFIX);
	cfg->rate_bytes_per_s = ORCH_DEFAULT_RATE;
	cfg->window = ORCH_DEFAULT_WINDOW;
	cfg->log_level = ORCH_LOG_DEFAULT;
}

bool orch_config_flag(struct orch_config *cfg, int opt, const char *arg)
{
	switch (opt) {
	case ORCH_OPT_CONFIG:
		cfg->config_path = arg;
		return true;
	case ORCH_OPT_JSON:
		cfg->json = true;
		return true;
	case ORCH_OPT_HELP:
		cfg->help = true;
		return true;
	default:
		break;
	}
	if (opt <= ORCH_OPT_CONFIG || opt >= ORCH_OPT_JSON)
		return false;
	/* Overflow cannot happen with sane command lines; the last slot keeps the latest. */
	if (cfg->n_overrides == ORCH_MAX_OVERRIDES)
		cfg->n_overrides--;
	cfg->overrides[cfg->n_overrides].opt = opt;
	cfg->overrides[cfg->n_overrides].arg = arg;
	cfg->n_overrides++;
	return true;
}

fota_err orch_parse_u64(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out,
			struct fota_error *err)
{
	char *end = NULL;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return fota_error_set(err, FOTA_ERR_FIELD, "%s: '%s' is not a number", what,
				      s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return fota_error_set(err, FOTA_ERR_FIELD, "%s: '%s' is not a number", what, s);
	if (v < min || v > max)
		return fota_error_set(err, FOTA_ERR_FIELD, "%s: %llu is outside %llu..%llu", what,
				      v, (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return FOTA_OK;
}

fota_err orch_parse_size(const char *s, uint64_t *out, struct fota_error *err)
{
	char num[32];
	size_t n = s ? strlen(s) : 0;
	uint64_t mult = 1, v = 0;
	fota_err rc;

	if (n == 0 || n >= sizeof(num))
		return fota_error_set(err, FOTA_ERR_FIELD, "size '%s' is not a number", s ? s : "");
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 'K':
	case 'k':
		mult = 1024;
		break;
	case 'M':
	case 'm':
		mult = 1024 * 1024;
		break;
	case 'G':
	case 'g':
		mult = 1024 * 1024 * 1024;
		break;
	default:
		break;
	}
	if (mult != 1)
		num[n - 1] = '\0';
	rc = orch_parse_u64("size", num, 0, UINT64_MAX / mult, &v, err);
	if (rc)
		return rc;
	*out = v * mult;
	return FOTA_OK;
}

static fota_err set_str(char *dst, size_t size, const char *key, const char *value,
			struct fota_error *err)
{
	if (strlen(value) >= size)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "%s is longer than %zu characters",
				      key, size - 1);
	memcpy(dst, value, strlen(value) + 1);
	return FOTA_OK;
}

const char *orch_config_device_ca(const struct orch_config *cfg)
{
	return cfg->device_ca[0] ? cfg->device_ca : cfg->ca;
}

fota_err orch_config_set(struct orch_config *cfg, const char *section, const char *key,
			 const char *value, struct fota_error *err)
{
	uint64_t v = 0;
	fota_err rc;

	if (strcmp(section, "broker") == 0) {
		if (strcmp(key, "uri") == 0)
			return set_str(cfg->uri, sizeof(cfg->uri), key, value, err);
		if (strcmp(key, "ca") == 0)
			return set_str(cfg->ca, sizeof(cfg->ca), key, value, err);
		if (strcmp(key, "cert") == 0)
			return set_str(cfg->cert, sizeof(cfg->cert), key, value, err);
		if (strcmp(key, "key") == 0)
			return set_str(cfg->key, sizeof(cfg->key), key, value, err);
		if (strcmp(key, "client_id") == 0 || strcmp(key, "serve_client_id") == 0) {
			bool serve = key[0] == 's';

			if (!fota_topic_segment_valid(value))
				return fota_error_set(err, FOTA_ERR_FIELD,
						      "%s '%s' must be 1..64 of [A-Za-z0-9._-]",
						      key, value);
			return serve ? set_str(cfg->serve_client_id, sizeof(cfg->serve_client_id),
					       key, value, err)
				     : set_str(cfg->client_id, sizeof(cfg->client_id), key, value,
					       err);
		}
		if (strcmp(key, "access") == 0) {
			if (strcmp(value, "acl_file") != 0 && strcmp(value, "dynsec") != 0)
				return fota_error_set(err, FOTA_ERR_FIELD,
						      "access '%s' is not acl_file or dynsec",
						      value);
			cfg->dynsec = strcmp(value, "dynsec") == 0;
			return FOTA_OK;
		}
		if (strcmp(key, "keepalive") == 0) {
			rc = orch_parse_u64("keepalive", value, 1, 3600, &v, err);
			if (rc == FOTA_OK)
				cfg->keepalive_s = (int)v;
			return rc;
		}
	} else if (strcmp(section, "orchestrator") == 0) {
		if (strcmp(key, "state_dir") == 0)
			return set_str(cfg->state_dir, sizeof(cfg->state_dir), key, value, err);
		if (strcmp(key, "store") == 0)
			return set_str(cfg->store, sizeof(cfg->store), key, value, err);
		if (strcmp(key, "prefix") == 0) {
			if (!fota_topic_prefix_valid(value))
				return fota_error_set(err, FOTA_ERR_FIELD,
						      "prefix '%s' must be 1..64 characters of "
						      "[A-Za-z0-9._-] segments joined by '/'",
						      value);
			return set_str(cfg->prefix, sizeof(cfg->prefix), key, value, err);
		}
		if (strcmp(key, "release_key") == 0)
			return set_str(cfg->release_key, sizeof(cfg->release_key), key, value, err);
		if (strcmp(key, "orchestrator_key") == 0)
			return set_str(cfg->orch_key, sizeof(cfg->orch_key), key, value, err);
		if (strcmp(key, "device_ca") == 0)
			return set_str(cfg->device_ca, sizeof(cfg->device_ca), key, value, err);
		if (strcmp(key, "rate_bytes_per_s") == 0) {
			rc = orch_parse_size(value, &v, err);
			if (rc)
				return fota_error_prefix(err, "rate_bytes_per_s");
			cfg->rate_bytes_per_s = v;
			return FOTA_OK;
		}
		if (strcmp(key, "window") == 0) {
			rc = orch_parse_u64("window", value, 1, ORCH_MAX_WINDOW, &v, err);
			if (rc == FOTA_OK)
				cfg->window = (unsigned)v;
			return rc;
		}
		if (strcmp(key, "log_level") == 0)
			return orch_log_level_parse(value, &cfg->log_level, err);
	} else if (strcmp(section, "http") == 0) {
		if (strcmp(key, "listen") == 0)
			return set_str(cfg->http_listen, sizeof(cfg->http_listen), key, value, err);
		if (strcmp(key, "cert") == 0)
			return set_str(cfg->http_cert, sizeof(cfg->http_cert), key, value, err);
		if (strcmp(key, "key") == 0)
			return set_str(cfg->http_key, sizeof(cfg->http_key), key, value, err);
		if (strcmp(key, "ca") == 0)
			return set_str(cfg->http_ca, sizeof(cfg->http_ca), key, value, err);
	} else {
		return fota_error_set(err, FOTA_ERR_FIELD, "unknown section [%s]", section);
	}
	return fota_error_set(err, FOTA_ERR_FIELD, "unknown option '%s' in [%s]", key, section);
}

struct ini_ctx {
	struct orch_config *cfg;
	struct fota_error *err;
	bool failed;
};

static int on_ini_line(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *ctx = user;

	if (ctx->failed)
		return 0;
	if (orch_config_set(ctx->cfg, section, name, value, ctx->err) != FOTA_OK) {
		ctx->failed = true;
		return 0;
	}
	return 1;
}

static fota_err load_file(struct orch_config *cfg, const char *path, struct fota_error *err)
{
	struct ini_ctx ctx = {.cfg = cfg, .err = err, .failed = false};
	struct fota_error inner = {0};
	char prefix[PATH_MAX + 32];
	int rc;

	ctx.err = &inner;
	rc = ini_parse(path, on_ini_line, &ctx);
	if (rc == -1)
		return fota_error_set(err, FOTA_ERR_IO, "cannot open config %s: %s", path,
				      strerror(errno));
	if (rc == -2)
		return fota_error_set(err, FOTA_ERR_NOMEM, "config %s: out of memory", path);
	if (rc > 0) {
		char why[FOTA_ERROR_MSG_MAX];

		snprintf(prefix, sizeof(prefix), "config %s line %d", path, rc);
		/* The first bad line, whatever the handler thought of later keys. */
		if (fota_ini_syntax_hint(path, rc, why, sizeof(why)))
			return fota_error_set(err, FOTA_ERR_PARSE, "%s: %s", prefix, why);
		if (!ctx.failed)
			return fota_error_set(err, FOTA_ERR_PARSE,
					      "%s: not 'key = value' or "
					      "'[section]'",
					      prefix);
		*err = inner;
		return fota_error_prefix(err, prefix);
	}
	return FOTA_OK;
}

/* One id per process, whatever the configuration says: a second connection with the same id
 * pushes the first off the broker, and the shipped configuration names one fixed id. The
 * configured id is cut so that "-<pid>" always fits. */
static void unique_client_id(struct orch_config *cfg)
{
	char suffix[24];
	int n = snprintf(suffix, sizeof(suffix), "-%ld", (long)getpid());
	char base[sizeof(cfg->client_id)];

	memcpy(base, cfg->client_id, sizeof(base));
	snprintf(cfg->client_id, sizeof(cfg->client_id), "%.*s%s",
		 (int)(sizeof(cfg->client_id) - 1) - n, base, suffix);
}

fota_err orch_config_load(struct orch_config *cfg, struct fota_error *err)
{
	const char *path = cfg->config_path;
	size_t i, k;
	fota_err rc;

	if (!path) {
		path = getenv("FOTA_ORCHESTRATOR_CONFIG");
		if (path && !*path)
			path = NULL;
	}
	if (!path && access(ORCH_DEFAULT_CONFIG, F_OK) == 0)
		path = ORCH_DEFAULT_CONFIG;
	if (path) {
		rc = load_file(cfg, path, err);
		if (rc)
			return rc;
	}
	for (i = 0; i < cfg->n_overrides; i++) {
		const struct orch_override *o = &cfg->overrides[i];

		for (k = 0; k < sizeof(key_map) / sizeof(key_map[0]); k++) {
			if (key_map[k].opt != o->opt)
				continue;
			rc = orch_config_set(cfg, key_map[k].section, key_map[k].key, o->arg, err);
			if (rc)
				return rc;
		}
	}
	if (!cfg->state_dir[0])
		return fota_error_set(err, FOTA_ERR_FIELD, "state_dir is empty");
	unique_client_id(cfg);
	return FOTA_OK;
}

fota_err orch_state_path(const struct orch_config *cfg, char *buf, size_t size,
			 struct fota_error *err, const char *fmt, ...)
{
	char tail[PATH_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tail, sizeof(tail), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tail))
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "path under %s too long",
				      cfg->state_dir);
	n = snprintf(buf, size, "%s/%s", cfg->state_dir, tail);
	if (n < 0 || (size_t)n >= size)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "path %s/%s too long", cfg->state_dir,
				      tail);
	return FOTA_OK;
}
