/* SPDX-License-Identifier: Apache-2.0 */
/* Bootloader emulator: applies the U-Boot bootcount / GRUB script decision to a boot env. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootctl.h"
#include "fota/atomic_file.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: fota_bootsim --adapter uboot|grub|file --env PATH [--tool-dir DIR]\n"
		"                    [--booted FILE] [--boot-id FILE] boot\n"
		"       fota_bootsim ... init [--slot A|B] [--bootlimit N]\n"
		"       fota_bootsim ... show\n"
		"boot: what the bootloader does at power-on; prints the slot it starts,\n"
		"      writes it to --booted and a fresh random boot id to --boot-id (as the\n"
		"      kernel's /proc/sys/kernel/random/boot_id changes at every boot)\n");
}

/*
 * The decision a vendor's boot script makes (docs/install.md has the U-Boot and grub.cfg
 * versions): on probation every boot counts; past bootlimit the other slot is started and
 * probation ends. Like U-Boot's bootcount_limit, bootlimit 0 never falls back, and bootcount
 * stays as it was so the agent can tell why it is back on the old slot.
 */
static fota_err boot(struct bootctl *bc, enum bootctl_slot *chosen, struct fota_error *err)
{
	struct bootctl_var v[3] = {
	    {.name = BOOTCTL_VAR_SLOT},
	    {.name = BOOTCTL_VAR_UPGRADE},
	    {.name = BOOTCTL_VAR_COUNT},
	};
	struct bootctl_state st;
	fota_err rc;

	rc = bootctl_read(bc, &st, err);
	if (rc != FOTA_OK)
		return rc;
	*chosen = st.primary;
	if (!st.upgrade_available)
		return FOTA_OK;
	st.bootcount++;
	if (st.bootlimit && st.bootcount > st.bootlimit) {
		*chosen = bootctl_other(st.primary);
		st.upgrade_available = false;
	}
	snprintf(v[0].value, sizeof(v[0].value), "%s", bootctl_slot_name(*chosen));
	snprintf(v[1].value, sizeof(v[1].value), "%d", st.upgrade_available ? 1 : 0);
	snprintf(v[2].value, sizeof(v[2].value), "%u", st.bootcount);
	return bootctl_set(bc, v, 3, err);
}

/* A new boot id in the kernel's form (a random UUID), written to path. */
static fota_err new_boot_id(const char *path, struct fota_error *err)
{
	unsigned char r[16];
	char id[40];
	FILE *f = fopen("/dev/urandom", "rb");

	if (f == NULL || fread(r, 1, sizeof(r), f) != sizeof(r)) {
		if (f)
			fclose(f);
		return fota_error_set(err, FOTA_ERR_IO, "cannot read /dev/urandom");
	}
	fclose(f);
	snprintf(id, sizeof(id),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x\n", r[0],
		 r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
		 r[14], r[15]);
	return fota_atomic_write(path, id, strlen(id), 0644, err);
}

int main(int argc, char **argv)
{
	struct bootctl_params p = {0};
	struct fota_error err = {0};
	struct bootctl *bc = NULL;
	struct bootctl_state st;
	enum bootctl_slot slot = BOOTCTL_SLOT_A;
	const char *booted = NULL, *boot_id = NULL, *cmd = NULL, *slot_arg = "A";
	unsigned long bootlimit = BOOTCTL_DEFAULT_BOOTLIMIT;
	int status = 1;
	fota_err rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--adapter") == 0 && val)
			p.adapter = argv[++i];
		else if (strcmp(a, "--env") == 0 && val)
			p.env = argv[++i];
		else if (strcmp(a, "--tool-dir") == 0 && val)
			p.tool_dir = argv[++i];
		else if (strcmp(a, "--booted") == 0 && val)
			booted = argv[++i];
		else if (strcmp(a, "--boot-id") == 0 && val)
			boot_id = argv[++i];
		else if (strcmp(a, "--slot") == 0 && val)
			slot_arg = argv[++i];
		else if (strcmp(a, "--bootlimit") == 0 && val)
			bootlimit = strtoul(argv[++i], NULL, 10);
		else if (a[0] != '-' && cmd == NULL)
			cmd = a;
		else {
			usage();
			return 2;
		}
	}
	if (cmd == NULL) {
		usage();
		return 2;
	}
	rc = bootctl_open(&p, &bc, &err);
	if (rc != FOTA_OK)
		goto out;
	if (strcmp(cmd, "boot") == 0) {
		char line[4];

		rc = boot(bc, &slot, &err);
		if (rc != FOTA_OK)
			goto out;
		printf("%s\n", bootctl_slot_name(slot));
		snprintf(line, sizeof(line), "%s\n", bootctl_slot_name(slot));
		if (booted)
			rc = fota_atomic_write(booted, line, 2, 0644, &err);
		if (rc == FOTA_OK && boot_id)
			rc = new_boot_id(boot_id, &err);
	} else if (strcmp(cmd, "init") == 0) {
		rc = bootctl_slot_parse(slot_arg, &slot, &err);
		if (rc == FOTA_OK)
			rc = bootctl_init(bc, slot, (unsigned)bootlimit, &err);
	} else if (strcmp(cmd, "show") == 0) {
		rc = bootctl_read(bc, &st, &err);
		if (rc == FOTA_OK)
			printf("boot_slot=%s upgrade_available=%d bootcount=%u bootlimit=%u\n",
			       bootctl_slot_name(st.primary), st.upgrade_available ? 1 : 0,
			       st.bootcount, st.bootlimit);
	} else {
		usage();
		status = 2;
		goto out;
	}
out:
	if (rc != FOTA_OK)
		fprintf(stderr, "fota_bootsim: %s\n", err.msg);
	else if (status != 2)
		status = 0;
	bootctl_free(bc);
	return status;
}
