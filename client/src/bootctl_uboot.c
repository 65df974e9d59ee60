/* SPDX-License-Identifier: Apache-2.0 */
/* U-Boot environment adapter: drives libubootenv's fw_printenv/fw_setenv with a config file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bootctl.h"

/* fw_printenv on a missing config says only "Configuration file wrong or corrupted". */
static fota_err config_exists(const struct bootctl *bc, struct fota_error *err)
{
	struct stat st;

	if (stat(bc->env, &st) != 0)
		return fota_error_set(err, errno == ENOENT ? FOTA_ERR_NOT_FOUND : FOTA_ERR_IO,
				      "U-Boot env config %.128s: %s", bc->env, strerror(errno));
	return FOTA_OK;
}

static fota_err uboot_dump(struct bootctl *bc, const char *const *names, size_t n, char **text,
			   struct fota_error *err)
{
	const char *argv[24] = {"fw_printenv", "-c", bc->env};
	size_t k = 3;
	fota_err rc;

	rc = config_exists(bc, err);
	if (rc != FOTA_OK)
		return rc;
	/* Only the names asked for: one read, and no multi-line script values to misparse.
	 * libubootenv prints "name=" for an unset name. */
	for (size_t i = 0; i < n && k < sizeof(argv) / sizeof(argv[0]) - 1; i++)
		argv[k++] = names[i];
	argv[k] = NULL;
	rc = bootctl__run(bc, argv, NULL, text, err);
	/* libubootenv's exit code (-EACCES) does not say why; its stderr does. */
	if (rc == FOTA_ERR_IO && err && strstr(err->msg, "Cannot read environment")) {
		char how[FOTA_ERROR_MSG_MAX];
		const char *ex = strstr(err->msg, "exited");

		snprintf(how, sizeof(how), "%s", ex ? ex : err->msg);
		fota_error_set(err, FOTA_ERR_IO,
			       "U-Boot env: no valid environment (blank, or CRC mismatch) via "
			       "%.100s: fw_printenv %.120s",
			       bc->env, how);
	}
	return rc;
}

static fota_err uboot_store(struct bootctl *bc, const struct bootctl_var *vars, size_t n,
			    bool fresh, struct fota_error *err)
{
	const char *fresh_argv[] = {"fw_setenv", "-c", bc->env, "-f", "/dev/null", "-s", "-", NULL};
	const char *argv[] = {"fw_setenv", "-c", bc->env, "-s", "-", NULL};
	char script[1024];
	size_t k = 0;
	fota_err rc;

	rc = config_exists(bc, err);
	if (rc != FOTA_OK)
		return rc;
	/*
	 * All variables in one script, so libubootenv writes the environment once: with a
	 * redundant environment that write goes to the inactive copy and the flag byte makes it
	 * current, so a power cut leaves the old or the new set, never a mix. libubootenv 0.3
	 * wants "name=value" lines ("name value" lines are silently ignored); "name=" unsets.
	 */
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(script + k, sizeof(script) - k, "%s=%s\n", vars[i].name,
				 vars[i].value);

		if (w < 0 || (size_t)w >= sizeof(script) - k)
			return fota_error_set(err, FOTA_ERR_TOO_BIG, "U-Boot env script too long");
		k += (size_t)w;
	}
	/* Without -f, fw_setenv refuses a blank or corrupt env (exit 243) instead of replacing
	 * it with an empty one: only provisioning may do that. */
	return bootctl__run(bc, fresh ? fresh_argv : argv, script, NULL, err);
}

const struct bootctl_ops bootctl_uboot_ops = {
    .name = "uboot",
    .dump = uboot_dump,
    .store = uboot_store,
};
