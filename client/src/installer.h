/* SPDX-License-Identifier: Apache-2.0 */
/* Private header: install backends behind one interface (file now; ab-slot and script next). */
#ifndef FOTA_CLIENT_INSTALLER_H
#define FOTA_CLIENT_INSTALLER_H

#include "fota/error.h"
#include "fota/manifest.h"

/* Atomically replaces target with the verified staged image; the previous target is kept as
 * "<target>.prev" for rollback. The staged file is consumed (renamed, or copied when it lives
 * on another file system). */
fota_err install_file(const char *staged, const char *target, struct fota_error *err);

#endif
