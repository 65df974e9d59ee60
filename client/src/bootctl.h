/* SPDX-License-Identifier: Apache-2.0 */
/* Private header: boot-control adapters (U-Boot env, GRUB env, key=value file), one interface. */
#ifndef FOTA_CLIENT_BOOTCTL_H
#define FOTA_CLIENT_BOOTCTL_H

#include <stdbool.h>
#include <stddef.h>

#include "fota/error.h"

/*
 * Boot variables (docs/install.md), the same names for every adapter:
 *   boot_slot          A or B: the slot the bootloader boots
 *   upgrade_available  1 while boot_slot is on probation, else 0
 *   bootcount          boots of boot_slot while on probation (the bootloader increments it)
 *   bootlimit          once bootcount > bootlimit the bootloader boots the other slot and
 *                      clears upgrade_available; 0 or unset disables the fallback
 */
#define BOOTCTL_VAR_SLOT "boot_slot"
#define BOOTCTL_VAR_UPGRADE "upgrade_available"
#define BOOTCTL_VAR_COUNT "bootcount"
#define BOOTCTL_VAR_LIMIT "bootlimit"

#define BOOTCTL_DEFAULT_BOOTLIMIT 3u
#define BOOTCTL_TOOL_TIMEOUT_MS 10000u
/* Largest env file the key=value adapter reads; GRUB's block is 1 KiB. */
#define BOOTCTL_MAX_ENV_BYTES (64 * 1024)
/* Values are short tokens: slot names and small counters. */
#define BOOTCTL_MAX_VALUE_LEN 31
#define BOOTCTL_MAX_NAME_LEN 63
#define BOOTCTL_MAX_COUNT 1000000u

enum bootctl_slot { BOOTCTL_SLOT_A = 0, BOOTCTL_SLOT_B = 1 };

struct bootctl_state {
	enum bootctl_slot primary; /* boot_slot */
	bool upgrade_available;
	unsigned bootcount;
	unsigned bootlimit;
};

struct bootctl_params {
	const char *adapter;  /* "uboot", "grub" or "file" */
	const char *env;      /* uboot: fw_env.config; grub: the grubenv file; file: key=value */
	const char *tool_dir; /* NULL: fw_printenv, fw_setenv, grub-editenv found on PATH */
	unsigned timeout_ms;  /* per tool run; 0: BOOTCTL_TOOL_TIMEOUT_MS */
};

struct bootctl;

/* Checks the adapter name and that the env path is set; touches no file yet. */
fota_err bootctl_open(const struct bootctl_params *p, struct bootctl **out, struct fota_error *err);
void bootctl_free(struct bootctl *bc); /* NULL is a no-op */
const char *bootctl_adapter_name(const struct bootctl *bc);

/*
 * Provisioning only: writes a fresh environment (boot_slot=primary, upgrade_available=0,
 * bootcount=0, bootlimit). For U-Boot this also turns a blank or corrupt env into a valid one
 * (fw_setenv -f /dev/null), so the agent never calls it on its own.
 */
fota_err bootctl_init(struct bootctl *bc, enum bootctl_slot primary, unsigned bootlimit,
		      struct fota_error *err);

/* Reads the four variables. Missing boot_slot or a malformed value is FOTA_ERR_FIELD; a
 * missing env FOTA_ERR_NOT_FOUND; a tool that fails (corrupt env, CRC) FOTA_ERR_IO with its
 * exit code and stderr; a missing tool FOTA_ERR_NOT_FOUND. */
fota_err bootctl_read(struct bootctl *bc, struct bootctl_state *st, struct fota_error *err);

/* Arms one probation boot of slot: boot_slot=slot, upgrade_available=1, bootcount=0, in one
 * write. Refused (FOTA_ERR_STATE) if slot is the confirmed primary, i.e. the running system,
 * or if bootlimit is 0 (nothing would bring a bad slot back). */
fota_err bootctl_try_slot(struct bootctl *bc, enum bootctl_slot slot, struct fota_error *err);

/* Confirms slot: upgrade_available=0, bootcount=0. FOTA_ERR_STATE if the bootloader no
 * longer boots slot (it fell back already): confirming then would be a lie. */
fota_err bootctl_mark_good(struct bootctl *bc, enum bootctl_slot slot, struct fota_error *err);

/* Makes to_slot primary again: boot_slot=to_slot, upgrade_available=0, bootcount=0. */
fota_err bootctl_rollback(struct bootctl *bc, enum bootctl_slot to_slot, struct fota_error *err);

/* Raw access for the bootloader emulator and diagnostics. value "" means unset. */
struct bootctl_var {
	const char *name;
	char value[BOOTCTL_MAX_VALUE_LEN + 1];
};
fota_err bootctl_get(struct bootctl *bc, struct bootctl_var *vars, size_t n,
		     struct fota_error *err);
/* Sets all vars in one write of the environment, then reads them back to prove it. */
fota_err bootctl_set(struct bootctl *bc, const struct bootctl_var *vars, size_t n,
		     struct fota_error *err);

const char *bootctl_slot_name(enum bootctl_slot s);
enum bootctl_slot bootctl_other(enum bootctl_slot s);
/* "A" or "B" exactly, else FOTA_ERR_FIELD. */
fota_err bootctl_slot_parse(const char *s, enum bootctl_slot *out, struct fota_error *err);

/* Which slot runs now: path holds "A"/"B" (what fota_bootsim --booted writes) or a kernel
 * command line with fota.slot=A|B (/proc/cmdline). */
fota_err bootctl_booted_slot(const char *path, enum bootctl_slot *out, struct fota_error *err);

/* This boot's id: the first line of path (the kernel's /proc/sys/kernel/random/boot_id, a
 * UUID that changes at every boot), blanks trimmed; at most size - 1 characters. */
fota_err bootctl_boot_id(const char *path, char *out, size_t size, struct fota_error *err);

/* For the adapters only (bootctl_*.c). */
struct bootctl_ops {
	const char *name;
	/* Writes "name=value\n" lines for (at least) the requested names into *text
	 * (malloc'd, NUL-terminated); an unset name may be absent or empty. */
	fota_err (*dump)(struct bootctl *bc, const char *const *names, size_t n, char **text,
			 struct fota_error *err);
	/* One write setting every var; fresh: create or reset the env first (provisioning). */
	fota_err (*store)(struct bootctl *bc, const struct bootctl_var *vars, size_t n, bool fresh,
			  struct fota_error *err);
};

struct bootctl {
	const struct bootctl_ops *ops;
	char env[512];
	char tool_dir[512];
	unsigned timeout_ms;
};

extern const struct bootctl_ops bootctl_uboot_ops;
extern const struct bootctl_ops bootctl_grub_ops;
extern const struct bootctl_ops bootctl_file_ops;

/* Runs tool (from tool_dir or PATH) with argv[1..], optional stdin; on failure err names the
 * command line, its exit code or signal and its stderr. *out (if out) gets stdout. */
fota_err bootctl__run(struct bootctl *bc, const char *const *argv, const char *input, char **out,
		      struct fota_error *err);

#endif
