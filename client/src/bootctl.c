/* SPDX-License-Identifier: Apache-2.0 */
/* Boot control: adapter factory, the A/B state machine on top of raw variables, tool runner. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootctl.h"
#include "fota/atomic_file.h"
#include "health.h"

static const struct bootctl_ops *const adapters[] = {
    &bootctl_uboot_ops,
    &bootctl_grub_ops,
    &bootctl_file_ops,
};

const char *bootctl_slot_name(enum bootctl_slot s)
{
	return s == BOOTCTL_SLOT_B ? "B" : "A";
}

enum bootctl_slot bootctl_other(enum bootctl_slot s)
{
	return s == BOOTCTL_SLOT_A ? BOOTCTL_SLOT_B : BOOTCTL_SLOT_A;
}

fota_err bootctl_slot_parse(const char *s, enum bootctl_slot *out, struct fota_error *err)
{
	if (s && strcmp(s, "A") == 0)
		*out = BOOTCTL_SLOT_A;
	else if (s && strcmp(s, "B") == 0)
		*out = BOOTCTL_SLOT_B;
	else
		return fota_error_set(err, FOTA_ERR_FIELD, "slot '%.32s' is not A or B",
				      s ? s : "");
	return FOTA_OK;
}

fota_err bootctl_open(const struct bootctl_params *p, struct bootctl **out, struct fota_error *err)
{
	const struct bootctl_ops *ops = NULL;
	struct bootctl *bc;

	*out = NULL;
	for (size_t i = 0; p->adapter && i < sizeof(adapters) / sizeof(adapters[0]); i++)
		if (strcmp(p->adapter, adapters[i]->name) == 0)
			ops = adapters[i];
	if (ops == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL,
				      "boot control adapter '%.32s' unknown (uboot, grub, file)",
				      p->adapter ? p->adapter : "");
	if (p->env == NULL || p->env[0] == '\0')
		return fota_error_set(err, FOTA_ERR_INVAL,
				      "boot control adapter %s needs an environment path",
				      ops->name);
	bc = calloc(1, sizeof(*bc));
	if (bc == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "boot control: out of memory");
	bc->ops = ops;
	bc->timeout_ms = p->timeout_ms ? p->timeout_ms : BOOTCTL_TOOL_TIMEOUT_MS;
	if (snprintf(bc->env, sizeof(bc->env), "%s", p->env) >= (int)sizeof(bc->env) ||
	    snprintf(bc->tool_dir, sizeof(bc->tool_dir), "%s", p->tool_dir ? p->tool_dir : "") >=
		(int)sizeof(bc->tool_dir)) {
		free(bc);
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "boot control: path too long");
	}
	*out = bc;
	return FOTA_OK;
}

void bootctl_free(struct bootctl *bc)
{
	free(bc);
}

const char *bootctl_adapter_name(const struct bootctl *bc)
{
	return bc->ops->name;
}

fota_err bootctl__run(struct bootctl *bc, const char *const *argv, const char *input, char **out,
		      struct fota_error *err)
{
	const char *args[16];
	char tool[1024], cmd[160], how[96];
	struct run_result res;
	struct run_spec spec;
	size_t n = 0, k = 0;
	fota_err rc;

	if (bc->tool_dir[0]) {
		snprintf(tool, sizeof(tool), "%s/%s", bc->tool_dir, argv[0]);
		args[0] = tool;
	} else {
		args[0] = argv[0];
	}
	for (n = 1; argv[n] && n < sizeof(args) / sizeof(args[0]) - 1; n++)
		args[n] = argv[n];
	args[n] = NULL;
	/* The command as a user would retype it, for the error message. */
	cmd[0] = '\0';
	for (size_t i = 0; i < n && i < 4 && k < sizeof(cmd); i++)
		k += (size_t)snprintf(cmd + k, sizeof(cmd) - k, "%s%s", i ? " " : "",
				      i == 3 ? "..." : argv[i]);
	memset(&spec, 0, sizeof(spec));
	spec.argv = args;
	spec.input = input;
	spec.input_len = input ? strlen(input) : 0;
	spec.capture_stdout = out != NULL;
	spec.timeout_ms = bc->timeout_ms;
	rc = health_run(&spec, &res, err);
	if (rc == FOTA_ERR_NOT_FOUND || (rc != FOTA_OK && res.end == RUN_NOT_STARTED)) {
		fota_error_prefix(err, "boot control tool missing");
		goto out;
	}
	if (rc != FOTA_OK)
		goto out;
	if (res.end != RUN_EXITED || res.status != 0) {
		run_result_describe(&res, how, sizeof(how));
		rc = fota_error_set(err, FOTA_ERR_IO, "%.100s %s%s%.120s", cmd, how,
				    res.err_all[0] ? ": " : "", res.err_all);
		goto out;
	}
	if (out) {
		*out = res.out;
		res.out = NULL;
	}
out:
	run_result_clear(&res);
	return rc;
}

static bool token_ok(const char *s, size_t max, bool allow_empty)
{
	size_t n = strlen(s);

	if (n > max || (n == 0 && !allow_empty))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

fota_err bootctl_get(struct bootctl *bc, struct bootctl_var *vars, size_t n, struct fota_error *err)
{
	const char *names[16];
	char *text = NULL, *line, *save = NULL;
	bool *seen = NULL;
	fota_err rc;

	if (n == 0 || n > sizeof(names) / sizeof(names[0]))
		return fota_error_set(err, FOTA_ERR_INVAL, "boot control: %zu variables", n);
	for (size_t i = 0; i < n; i++) {
		if (!token_ok(vars[i].name, BOOTCTL_MAX_NAME_LEN, false))
			return fota_error_set(err, FOTA_ERR_INVAL,
					      "boot variable name '%.64s' not allowed",
					      vars[i].name);
		names[i] = vars[i].name;
		vars[i].value[0] = '\0';
	}
	rc = bc->ops->dump(bc, names, n, &text, err);
	if (rc != FOTA_OK)
		goto out;
	seen = calloc(n, sizeof(*seen));
	if (seen == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "boot control: out of memory");
		goto out;
	}
	/* Values of other variables may span lines (U-Boot scripts); only a line that starts
	 * with one of our names and '=' counts, and the first one wins. */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		if (eq == NULL)
			continue;
		*eq = '\0';
		for (size_t i = 0; i < n; i++) {
			if (seen[i] || strcmp(line, vars[i].name) != 0)
				continue;
			seen[i] = true;
			if (strlen(eq + 1) > BOOTCTL_MAX_VALUE_LEN) {
				rc = fota_error_set(err, FOTA_ERR_FIELD,
						    "boot variable %s in %.128s: value longer than "
						    "%d characters",
						    vars[i].name, bc->env, BOOTCTL_MAX_VALUE_LEN);
				goto out;
			}
			snprintf(vars[i].value, sizeof(vars[i].value), "%s", eq + 1);
		}
	}
out:
	free(seen);
	free(text);
	return rc;
}

/* One store, then a read back: some tools report success for a write they did not do
 * (fw_setenv -s with a line it cannot parse). */
static fota_err write_vars(struct bootctl *bc, const struct bootctl_var *vars, size_t n, bool fresh,
			   struct fota_error *err)
{
	struct bootctl_var back[16];
	fota_err rc;

	if (n == 0 || n > sizeof(back) / sizeof(back[0]))
		return fota_error_set(err, FOTA_ERR_INVAL, "boot control: %zu variables", n);
	for (size_t i = 0; i < n; i++) {
		/* Tokens only: nothing can smuggle a second assignment into a tool's input. */
		if (!token_ok(vars[i].name, BOOTCTL_MAX_NAME_LEN, false) ||
		    !token_ok(vars[i].value, BOOTCTL_MAX_VALUE_LEN, true))
			return fota_error_set(err, FOTA_ERR_INVAL,
					      "boot variable %.64s=%.32s not allowed", vars[i].name,
					      vars[i].value);
	}
	rc = bc->ops->store(bc, vars, n, fresh, err);
	if (rc != FOTA_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
		back[i].name = vars[i].name;
	rc = bootctl_get(bc, back, n, err);
	if (rc != FOTA_OK) {
		fota_error_prefix(err, "boot control: reading back after write");
		return rc;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(back[i].value, vars[i].value) != 0)
			return fota_error_set(err, FOTA_ERR_IO,
					      "boot control: wrote %s=%s to %.128s but it reads "
					      "back '%s'",
					      vars[i].name, vars[i].value, bc->env, back[i].value);
	return FOTA_OK;
}

fota_err bootctl_set(struct bootctl *bc, const struct bootctl_var *vars, size_t n,
		     struct fota_error *err)
{
	return write_vars(bc, vars, n, false, err);
}

static fota_err parse_uint(const struct bootctl *bc, const char *name, const char *v, unsigned dflt,
			   unsigned max, unsigned *out, struct fota_error *err)
{
	unsigned long x = 0;

	if (v[0] == '\0') {
		*out = dflt;
		return FOTA_OK;
	}
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9' || x > max)
			return fota_error_set(err, FOTA_ERR_FIELD,
					      "boot variable %s='%s' in %.128s is not a number "
					      "up to %u",
					      name, v, bc->env, max);
		x = x * 10 + (unsigned long)(*p - '0');
	}
	if (x > max)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "boot variable %s='%s' in %.128s is not a number up to %u",
				      name, v, bc->env, max);
	*out = (unsigned)x;
	return FOTA_OK;
}

fota_err bootctl_read(struct bootctl *bc, struct bootctl_state *st, struct fota_error *err)
{
	struct bootctl_var v[4] = {
	    {.name = BOOTCTL_VAR_SLOT},
	    {.name = BOOTCTL_VAR_UPGRADE},
	    {.name = BOOTCTL_VAR_COUNT},
	    {.name = BOOTCTL_VAR_LIMIT},
	};
	unsigned upgrade = 0;
	fota_err rc;

	memset(st, 0, sizeof(*st));
	rc = bootctl_get(bc, v, 4, err);
	if (rc != FOTA_OK)
		return rc;
	if (v[0].value[0] == '\0')
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "boot variable boot_slot is not set in %.128s (not "
				      "provisioned?)",
				      bc->env);
	if (bootctl_slot_parse(v[0].value, &st->primary, NULL) != FOTA_OK)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "boot variable boot_slot='%s' in %.128s is not A or B",
				      v[0].value, bc->env);
	rc = parse_uint(bc, v[1].name, v[1].value, 0, 1, &upgrade, err);
	if (rc == FOTA_OK)
		rc = parse_uint(bc, v[2].name, v[2].value, 0, BOOTCTL_MAX_COUNT, &st->bootcount,
				err);
	if (rc == FOTA_OK)
		rc = parse_uint(bc, v[3].name, v[3].value, 0, BOOTCTL_MAX_COUNT, &st->bootlimit,
				err);
	st->upgrade_available = upgrade == 1;
	return rc;
}

static fota_err set_state(struct bootctl *bc, enum bootctl_slot slot, bool upgrade,
			  unsigned bootlimit, bool with_limit, bool fresh, struct fota_error *err)
{
	struct bootctl_var v[4] = {
	    {.name = BOOTCTL_VAR_SLOT},
	    {.name = BOOTCTL_VAR_UPGRADE},
	    {.name = BOOTCTL_VAR_COUNT},
	    {.name = BOOTCTL_VAR_LIMIT},
	};
	size_t n = with_limit ? 4 : 3;

	snprintf(v[0].value, sizeof(v[0].value), "%s", bootctl_slot_name(slot));
	snprintf(v[1].value, sizeof(v[1].value), "%d", upgrade ? 1 : 0);
	snprintf(v[2].value, sizeof(v[2].value), "0");
	snprintf(v[3].value, sizeof(v[3].value), "%u", bootlimit);
	return write_vars(bc, v, n, fresh, err);
}

fota_err bootctl_init(struct bootctl *bc, enum bootctl_slot primary, unsigned bootlimit,
		      struct fota_error *err)
{
	return set_state(bc, primary, false, bootlimit, true, true, err);
}

fota_err bootctl_try_slot(struct bootctl *bc, enum bootctl_slot slot, struct fota_error *err)
{
	struct bootctl_state st;
	fota_err rc;

	rc = bootctl_read(bc, &st, err);
	if (rc != FOTA_OK) {
		fota_error_prefix(err, "cannot arm a trial boot");
		return rc;
	}
	if (st.primary == slot && !st.upgrade_available)
		return fota_error_set(err, FOTA_ERR_STATE,
				      "cannot arm a trial boot of slot %s: it is the confirmed "
				      "primary slot (the running system)",
				      bootctl_slot_name(slot));
	if (st.bootlimit == 0)
		return fota_error_set(err, FOTA_ERR_STATE,
				      "cannot arm a trial boot of slot %s: bootlimit is 0 or unset "
				      "in %.128s, so the bootloader could never fall back",
				      bootctl_slot_name(slot), bc->env);
	return set_state(bc, slot, true, 0, false, false, err);
}

fota_err bootctl_mark_good(struct bootctl *bc, enum bootctl_slot slot, struct fota_error *err)
{
	struct bootctl_state st;
	fota_err rc;

	rc = bootctl_read(bc, &st, err);
	if (rc != FOTA_OK) {
		fota_error_prefix(err, "cannot confirm slot");
		return rc;
	}
	if (st.primary != slot)
		return fota_error_set(err, FOTA_ERR_STATE,
				      "cannot mark slot %s good: the bootloader boots slot %s "
				      "(it fell back, or %s was never tried)",
				      bootctl_slot_name(slot), bootctl_slot_name(st.primary),
				      bootctl_slot_name(slot));
	if (!st.upgrade_available && st.bootcount == 0)
		return FOTA_OK; /* already confirmed: spare the flash a write */
	return set_state(bc, slot, false, 0, false, false, err);
}

fota_err bootctl_rollback(struct bootctl *bc, enum bootctl_slot to_slot, struct fota_error *err)
{
	return set_state(bc, to_slot, false, 0, false, false, err);
}

fota_err bootctl_boot_id(const char *path, char *out, size_t size, struct fota_error *err)
{
	uint8_t *buf = NULL;
	size_t len = 0, n;
	fota_err rc;

	out[0] = '\0';
	rc = fota_read_file(path, 4096, &buf, &len, err);
	if (rc != FOTA_OK) {
		fota_error_prefix(err, "cannot read the boot id");
		return rc;
	}
	n = strcspn((char *)buf, "\n\r\t ");
	if (n == 0 || n >= size)
		rc = fota_error_set(
		    err, FOTA_ERR_FIELD,
		    "cannot read the boot id: %.128s holds %s (limit %zu characters)", path,
		    n ? "a longer first word" : "no word", size - 1);
	else {
		memcpy(out, buf, n);
		out[n] = '\0';
	}
	free(buf);
	return rc;
}

fota_err bootctl_booted_slot(const char *path, enum bootctl_slot *out, struct fota_error *err)
{
	uint8_t *buf = NULL;
	char *s, *e, *hit;
	size_t len = 0;
	fota_err rc;

	rc = fota_read_file(path, 4096, &buf, &len, err);
	if (rc != FOTA_OK) {
		fota_error_prefix(err, "cannot tell the booted slot");
		return rc;
	}
	s = (char *)buf;
	while (*s == ' ' || *s == '\n' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	if (bootctl_slot_parse(s, out, NULL) == FOTA_OK)
		goto out;
	/* A kernel command line: the word fota.slot=X anywhere. */
	for (hit = strstr(s, "fota.slot="); hit; hit = strstr(hit + 1, "fota.slot=")) {
		if (hit != s && hit[-1] != ' ')
			continue;
		if ((hit[10] == 'A' || hit[10] == 'B') &&
		    (hit[11] == '\0' || hit[11] == ' ' || hit[11] == '\n')) {
			*out = hit[10] == 'A' ? BOOTCTL_SLOT_A : BOOTCTL_SLOT_B;
			goto out;
		}
	}
	rc = fota_error_set(err, FOTA_ERR_FIELD,
			    "cannot tell the booted slot: %.128s holds neither A, B nor "
			    "fota.slot=A|B",
			    path);
out:
	free(buf);
	return rc;
}
