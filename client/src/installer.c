/* SPDX-License-Identifier: Apache-2.0 */
/* The installer table: one entry per install method, so the agent has no per-method branches. */
#include <stddef.h>
#include <string.h>

#include "installer.h"

static const char *file_missing(const struct client_config *cfg)
{
	return cfg->install_target[0] ? NULL
				      : "config: [install] target is required for method file";
}

static const char *file_where(const struct client_config *cfg)
{
	return cfg->install_target;
}

static const char *file_base(const struct client_config *cfg, enum bootctl_slot booted)
{
	(void)booted;
	return cfg->install_target;
}

static fota_err file_install(const struct install_request *r, struct fota_error *err)
{
	return install_file(r->image_path, r->cfg->install_target, err);
}

static const char *slot_missing(const struct client_config *cfg)
{
	return cfg->slot_a[0] && cfg->slot_b[0] && cfg->bootctl_env[0]
		   ? NULL
		   : "config: [install] slot_a, slot_b and bootctl_env are required for method "
		     "ab-slot";
}

static const char *slot_where(const struct client_config *cfg)
{
	(void)cfg;
	return "the inactive slot";
}

static const char *slot_base(const struct client_config *cfg, enum bootctl_slot booted)
{
	return booted == BOOTCTL_SLOT_A ? cfg->slot_a : cfg->slot_b;
}

static fota_err slot_install(const struct install_request *r, struct fota_error *err)
{
	return install_slot(r->m, r->image_path, r->bc, r->slot, err);
}

static const char *script_missing(const struct client_config *cfg)
{
	return cfg->script_hook[0] ? NULL
				   : "config: [install] script is required for method script";
}

static const char *script_where(const struct client_config *cfg)
{
	return cfg->script_hook;
}

static const char *script_base(const struct client_config *cfg, enum bootctl_slot booted)
{
	(void)cfg;
	(void)booted;
	return NULL;
}

static fota_err script_install(const struct install_request *r, struct fota_error *err)
{
	return install_script(r->cfg->script_hook, r->image_path, r->m,
			      r->cfg->script_timeout_s * 1000u, err);
}

static const struct installer installers[] = {
    {"file", false, false, file_missing, file_where, file_base, file_install},
    {"ab-slot", true, true, slot_missing, slot_where, slot_base, slot_install},
    {"script", false, false, script_missing, script_where, script_base, script_install},
};

const struct installer *installer_find(const char *method)
{
	for (size_t i = 0; i < sizeof(installers) / sizeof(installers[0]); i++)
		if (strcmp(installers[i].method, method) == 0)
			return &installers[i];
	return NULL;
}
