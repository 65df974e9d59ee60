/* SPDX-License-Identifier: Apache-2.0 */
/* Plain key=value boot environment, replaced atomically: for tests and bootloader-less rigs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootctl.h"
#include "fota/atomic_file.h"

/* Every line is empty, a '#' comment or name=value; anything else means the file is not
 * what we wrote, and guessing at a boot decision is worse than stopping. */
static fota_err check_lines(const struct bootctl *bc, const char *text, size_t len,
			    struct fota_error *err)
{
	size_t line = 1;

	if (memchr(text, '\0', len))
		return fota_error_set(err, FOTA_ERR_PARSE, "boot env %.128s: NUL byte", bc->env);
	for (const char *p = text; *p; line++) {
		const char *end = strchr(p, '\n'), *q = p;

		if (end == NULL)
			end = p + strlen(p);
		if (p != end && *p != '#') {
			while (q < end && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
					   (*q >= '0' && *q <= '9') || *q == '_'))
				q++;
			if (q == p || q == end || *q != '=')
				return fota_error_set(err, FOTA_ERR_PARSE,
						      "boot env %.128s line %zu: not name=value",
						      bc->env, line);
		}
		p = *end ? end + 1 : end;
	}
	return FOTA_OK;
}

static fota_err load(const struct bootctl *bc, char **text, struct fota_error *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	fota_err rc;

	rc = fota_read_file(bc->env, BOOTCTL_MAX_ENV_BYTES, &buf, &len, err);
	if (rc != FOTA_OK) {
		fota_error_prefix(err, "boot env");
		return rc;
	}
	rc = check_lines(bc, (const char *)buf, len, err);
	if (rc != FOTA_OK) {
		free(buf);
		return rc;
	}
	*text = (char *)buf;
	return FOTA_OK;
}

static fota_err file_dump(struct bootctl *bc, const char *const *names, size_t n, char **text,
			  struct fota_error *err)
{
	(void)names;
	(void)n;
	return load(bc, text, err);
}

static const struct bootctl_var *find(const struct bootctl_var *vars, size_t n, const char *line)
{
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(vars[i].name);

		if (strncmp(line, vars[i].name, l) == 0 && line[l] == '=')
			return &vars[i];
	}
	return NULL;
}

static fota_err file_store(struct bootctl *bc, const struct bootctl_var *vars, size_t n, bool fresh,
			   struct fota_error *err)
{
	char *old = NULL, *out = NULL, *line, *save = NULL;
	bool done[16] = {false};
	size_t k = 0, cap;
	fota_err rc = FOTA_OK;

	if (n > 16)
		return fota_error_set(err, FOTA_ERR_INVAL, "boot env: too many variables");
	if (!fresh) {
		rc = load(bc, &old, err);
		if (rc != FOTA_OK)
			return rc;
	}
	cap = (old ? strlen(old) : 0) + n * (BOOTCTL_MAX_NAME_LEN + BOOTCTL_MAX_VALUE_LEN + 2) + 1;
	out = malloc(cap);
	if (out == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "boot env: out of memory");
		goto out;
	}
	out[0] = '\0';
	/* Keep everything else as it was, in order; replace ours in place. */
	for (line = old ? strtok_r(old, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		const struct bootctl_var *v = find(vars, n, line);

		if (v == NULL) {
			k += (size_t)snprintf(out + k, cap - k, "%s\n", line);
			continue;
		}
		if (done[v - vars])
			continue;
		done[v - vars] = true;
		if (v->value[0])
			k += (size_t)snprintf(out + k, cap - k, "%s=%s\n", v->name, v->value);
	}
	for (size_t i = 0; i < n; i++)
		if (!done[i] && vars[i].value[0])
			k += (size_t)snprintf(out + k, cap - k, "%s=%s\n", vars[i].name,
					      vars[i].value);
	rc = fota_atomic_write(bc->env, out, k, 0644, err);
out:
	free(old);
	free(out);
	return rc;
}

const struct bootctl_ops bootctl_file_ops = {
    .name = "file",
    .dump = file_dump,
    .store = file_store,
};
