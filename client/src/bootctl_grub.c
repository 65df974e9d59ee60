/* SPDX-License-Identifier: Apache-2.0 */
/* GRUB environment block adapter: drives grub-editenv, replacing the block atomically. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootctl.h"
#include "fota/atomic_file.h"

/* "grub-editenv FILE list" creates a missing FILE and lists nothing: a lost env would look
 * like an empty one, so existence is checked first. */
static fota_err env_exists(const struct bootctl *bc, struct fota_error *err)
{
	struct stat st;

	if (stat(bc->env, &st) != 0)
		return fota_error_set(err, errno == ENOENT ? FOTA_ERR_NOT_FOUND : FOTA_ERR_IO,
				      "GRUB env %.128s: %s", bc->env, strerror(errno));
	return FOTA_OK;
}

static fota_err grub_dump(struct bootctl *bc, const char *const *names, size_t n, char **text,
			  struct fota_error *err)
{
	const char *argv[] = {"grub-editenv", bc->env, "list", NULL};
	fota_err rc;

	(void)names;
	(void)n;
	rc = env_exists(bc, err);
	if (rc != FOTA_OK)
		return rc;
	return bootctl__run(bc, argv, NULL, text, err);
}

static fota_err copy_to(const char *from, const char *to, struct fota_error *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	fota_err rc;
	int fd;

	rc = fota_read_file(from, BOOTCTL_MAX_ENV_BYTES, &buf, &len, err);
	if (rc != FOTA_OK)
		return rc;
	fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		rc = fota_error_set(err, FOTA_ERR_IO, "GRUB env: cannot write %.128s: %s", to,
				    strerror(errno));
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

static fota_err grub_store(struct bootctl *bc, const struct bootctl_var *vars, size_t n, bool fresh,
			   struct fota_error *err)
{
	const char *set_argv[24] = {"grub-editenv", NULL, "set"};
	const char *unset_argv[24] = {"grub-editenv", NULL, "unset"};
	char tmp[600], assign[16][BOOTCTL_MAX_NAME_LEN + BOOTCTL_MAX_VALUE_LEN + 2];
	size_t ns = 3, nu = 3;
	fota_err rc;

	if (snprintf(tmp, sizeof(tmp), "%s.fota-new", bc->env) >= (int)sizeof(tmp) || n > 16)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "GRUB env: path too long");
	/*
	 * grub-editenv truncates and rewrites its file in place, so a power cut in between
	 * leaves no env at all. Edit a copy instead and rename it over the original (fsync,
	 * rename, fsync dir): GRUB's load_env then sees the old block or the new one.
	 */
	unlink(tmp);
	if (fresh) {
		const char *create[] = {"grub-editenv", tmp, "create", NULL};

		rc = bootctl__run(bc, create, NULL, NULL, err);
	} else {
		rc = env_exists(bc, err);
		if (rc == FOTA_OK)
			rc = copy_to(bc->env, tmp, err);
	}
	if (rc != FOTA_OK)
		goto out;
	set_argv[1] = tmp;
	unset_argv[1] = tmp;
	for (size_t i = 0; i < n; i++) {
		if (vars[i].value[0] == '\0') {
			unset_argv[nu++] = vars[i].name;
			continue;
		}
		snprintf(assign[i], sizeof(assign[i]), "%s=%s", vars[i].name, vars[i].value);
		set_argv[ns++] = assign[i];
	}
	set_argv[ns] = NULL;
	unset_argv[nu] = NULL;
	if (ns > 3)
		rc = bootctl__run(bc, set_argv, NULL, NULL, err);
	if (rc == FOTA_OK && nu > 3)
		rc = bootctl__run(bc, unset_argv, NULL, NULL, err);
	if (rc == FOTA_OK)
		rc = fota_atomic_commit(tmp, bc->env, err);
out:
	if (rc != FOTA_OK)
		unlink(tmp);
	return rc;
}

const struct bootctl_ops bootctl_grub_ops = {
    .name = "grub",
    .dump = grub_dump,
    .store = grub_store,
};
