/* SPDX-License-Identifier: Apache-2.0 */
/* The "script" install backend: hand the verified image to a vendor hook, bounded in time. */
#include <stdio.h>
#include <string.h>

#include "fota/digest.h"
#include "fota/limits.h"
#include "health.h"
#include "installer.h"

#define PARAM_PREFIX "FOTA_INSTALL_PARAM_"
/* Name, version, sha256, size, the params and a NULL. */
#define HOOK_ENV_MAX (4 + FOTA_MAX_PARAMS + 1)
#define HOOK_ENV_LEN (sizeof(PARAM_PREFIX) + FOTA_MAX_NAME_LEN + 1 + FOTA_MAX_PARAM_LEN + 1)

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Manifest keys are identifiers with '-' and '.' allowed; environment names are not. */
static void env_key(const char *key, char *out, size_t len)
{
	size_t i;

	for (i = 0; key[i] && i < len - 1; i++) {
		char c = key[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (c == '-' || c == '.')
			c = '_';
		out[i] = c;
	}
	out[i] = '\0';
}

fota_err install_script(const char *hook, const char *image_path, const struct fota_manifest *m,
			unsigned timeout_ms, struct fota_error *err)
{
	char keys[FOTA_MAX_PARAMS][FOTA_MAX_NAME_LEN + 1], hex[FOTA_SHA256_HEX_LEN + 1];
	char how[96];
	const char *env[HOOK_ENV_MAX], *argv[3];
	struct run_result res;
	struct run_spec spec;
	size_t n = 0;
	fota_err rc;

	if (hook == NULL || hook[0] == '\0')
		return fota_error_set(err, FOTA_ERR_INVAL, "install script: no hook configured");
	{
		char vars[HOOK_ENV_MAX][HOOK_ENV_LEN];

		fota_hex_encode(fota_manifest_image_sha256(m), FOTA_SHA256_LEN, hex);
		snprintf(vars[n++], HOOK_ENV_LEN, "FOTA_IMAGE_NAME=%s", m->name);
		snprintf(vars[n++], HOOK_ENV_LEN, "FOTA_IMAGE_VERSION=%s", m->version);
		snprintf(vars[n++], HOOK_ENV_LEN, "FOTA_IMAGE_SHA256=%s", hex);
		snprintf(vars[n++], HOOK_ENV_LEN, "FOTA_IMAGE_SIZE=%llu",
			 (unsigned long long)fota_manifest_image_size(m));
		for (size_t i = 0; i < m->n_install_params && i < FOTA_MAX_PARAMS; i++) {
			const struct fota_param *p = &m->install_params[i];

			env_key(p->key, keys[i], sizeof(keys[i]));
			for (size_t j = 0; j < i; j++)
				if (strcmp(keys[i], keys[j]) == 0)
					return fota_error_set(
					    err, FOTA_ERR_FIELD,
					    "install script: params '%s' and '%s' both map to "
					    "%s%s",
					    m->install_params[j].key, p->key, PARAM_PREFIX,
					    keys[i]);
			/* Precisions state the bounds the manifest parser already enforced. */
			snprintf(vars[n++], HOOK_ENV_LEN, PARAM_PREFIX "%.*s=%.*s",
				 FOTA_MAX_NAME_LEN, keys[i], FOTA_MAX_PARAM_LEN, p->value);
		}
		for (size_t i = 0; i < n; i++)
			env[i] = vars[i];
		env[n] = NULL;

		argv[0] = hook;
		argv[1] = image_path;
		argv[2] = NULL;
		memset(&spec, 0, sizeof(spec));
		spec.argv = argv;
		spec.env = env;
		spec.timeout_ms = timeout_ms ? timeout_ms : INSTALL_SCRIPT_DEFAULT_TIMEOUT_MS;
		rc = health_run(&spec, &res, err);
	}
	if (rc == FOTA_ERR_TIMEOUT) {
		rc = fota_error_set(err, FOTA_ERR_TIMEOUT,
				    "install hook '%.64s' timed out after %u ms (limit %u ms), "
				    "process group killed",
				    base_name(hook), res.elapsed_ms, spec.timeout_ms);
	} else if (rc != FOTA_OK) {
		fota_error_prefix(err, "install hook could not start");
	} else if (res.end != RUN_EXITED || res.status != 0) {
		run_result_describe(&res, how, sizeof(how));
		rc =
		    fota_error_set(err, FOTA_ERR_STATE, "install hook '%.64s' %s%s%.140s",
				   base_name(hook), how, res.err_last[0] ? ": " : "", res.err_last);
	}
	run_result_clear(&res);
	return rc;
}
