/* SPDX-License-Identifier: Apache-2.0 */
/* Private header: install backends behind one interface (file, ab-slot, script). */
#ifndef FOTA_CLIENT_INSTALLER_H
#define FOTA_CLIENT_INSTALLER_H

#include <stdbool.h>

#include "bootctl.h"
#include "config.h"
#include "fota/error.h"
#include "fota/manifest.h"

/* A vendor hook gets this long unless configured otherwise. */
#define INSTALL_SCRIPT_DEFAULT_TIMEOUT_MS (10u * 60u * 1000u)

/* Atomically replaces target with the verified staged image; the previous target is kept as
 * "<target>.prev" for rollback. The new target keeps the old one's owner, group and mode
 * (a first install keeps the staged file's). The staged file is consumed (renamed, or copied when
 * it lives on another file system). */
fota_err install_file(const char *staged, const char *target, struct fota_error *err);

/*
 * The "ab-slot" backend. The transfer wrote the image straight into slot_path (the inactive
 * slot: a file or a block device, the checkpoint's data_path), or the decode chain wrote the
 * decoded image there: the first image-size bytes (fota_manifest_image_size) are made durable,
 * read back from the medium and hashed against the image digest (fota_manifest_image_sha256),
 * and only then is slot armed for one trial boot (bootctl_try_slot). A mismatch is
 * FOTA_ERR_DIGEST and leaves the boot environment untouched.
 */
fota_err install_slot(const struct fota_manifest *m, const char *slot_path, struct bootctl *bc,
		      enum bootctl_slot slot, struct fota_error *err);

/*
 * The "script" backend: runs hook (a path, no shell) as "hook IMAGE" with FOTA_IMAGE_NAME,
 * FOTA_IMAGE_VERSION, FOTA_IMAGE_SHA256 (hex) and FOTA_IMAGE_SIZE of the (decoded) image and, per
 * install parameter, FOTA_INSTALL_PARAM_<KEY> (upper case, '-' and '.' as '_') in its environment.
 * Exit 0 within timeout_ms (0: the default) means installed. Otherwise FOTA_ERR_STATE with "install
 * hook 'NAME' exited with code N: <last stderr line>" or "... killed by signal N", FOTA_ERR_TIMEOUT
 * (its process group killed), FOTA_ERR_NOT_FOUND / FOTA_ERR_IO when it cannot start.
 */
fota_err install_script(const char *hook, const char *image_path, const struct fota_manifest *m,
			unsigned timeout_ms, struct fota_error *err);

/* What one install step gets: the image to install (already decoded, see decode.h) and where
 * it goes. */
struct install_request {
	const struct client_config *cfg;
	const struct fota_manifest *m;
	const char *image_path; /* the decoded image: a file under the state dir, or the slot */
	struct bootctl *bc;	/* ab-slot only */
	enum bootctl_slot slot; /* ab-slot only: the inactive slot, image_path */
};

/*
 * One entry per install method ([install] method and the manifest's install.method). The agent
 * asks the entry, never the method's name, what to do.
 */
struct installer {
	const char *method;
	/* The image is written into the target itself (the inactive slot), not staged under
	 * the state dir: a plain payload's chunks land there directly and a decoded one is
	 * decoded there. */
	bool writes_target;
	/* Installing arms a trial boot: the agent journals the arming before the step, the
	 * switch after it, and reboots; probation decides. Otherwise installed = confirmed. */
	bool trial_boot;
	/* NULL when cfg has what the method needs, else the message saying what is missing. */
	const char *(*config_missing)(const struct client_config *cfg);
	/* Where the image ends up, for the log. */
	const char *(*where)(const struct client_config *cfg);
	/* Where the installed image is, the base a delta payload applies to (read only): the
	 * target file, or the booted slot. NULL when the method keeps none (a script). */
	const char *(*base)(const struct client_config *cfg, enum bootctl_slot booted);
	fota_err (*install)(const struct install_request *r, struct fota_error *err);
};

/* The entry for method, NULL when no installer has that name. */
const struct installer *installer_find(const char *method);

#endif
